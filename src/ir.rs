//! The dialect-free intermediate representation.
//!
//! A `FitPlan` lists what is learned from data: named parameters, each either
//! an aggregate over the fit rows (possibly after earlier steps: a "level")
//! or an expression over other parameters. An `ApplyPlan` lists per-row
//! output expressions that read those parameters. Nothing here knows how a
//! warehouse spells anything: it speaks of "population variance of x after
//! step 1", never of `STDDEV_POP`.

/// Expression helpers, to keep the lowering readable.
pub mod build;
mod display;
mod drift_plan;
mod grid;
mod present;
mod quantiles;

use std::sync::Arc;

use crate::diagnostic::Span;
use crate::spec::{ColumnType, DatePart, Scalar, Source};
pub use drift_plan::{DriftFeature, DriftPlan, Learned};
pub use grid::{GRID_POINTS, GRID_REFINEMENTS, Grid, GridField, Spacing};
pub use present::Present;
pub use quantiles::{QuantileField, quantile_buckets};

pub type ParamId = usize;

/// A scalar expression, evaluated per row (it may read columns) or once (only parameters).
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A source column as stored.
    Column(String),
    /// A fitted parameter.
    Param(ParamId),
    Number(f64),
    Text(String),
    Null,
    ToDouble(Box<Expr>),
    ToText(Box<Expr>),
    /// A date or timestamp column read as a timestamp without time zone.
    ToTimestamp(Box<Expr>),
    /// A part of a timestamp, as a number (`DatePart` says which and how).
    DatePart(DatePart, Box<Expr>),
    Add(Box<Expr>, Box<Expr>),
    Sub(Box<Expr>, Box<Expr>),
    Mul(Box<Expr>, Box<Expr>),
    /// A product of statistics that can be tiny (a variance, a squared
    /// difference): where its result underflows it is zero, as in numpy.
    Product(Box<Expr>, Box<Expr>),
    /// Division; NULL where the divisor is zero.
    Div(Box<Expr>, Box<Expr>),
    Sqrt(Box<Expr>),
    Abs(Box<Expr>),
    /// The natural logarithm of a positive value (the caller guards the domain).
    Ln(Box<Expr>),
    /// e to the power of a value below the overflow (the caller guards it).
    Exp(Box<Expr>),
    /// The largest integer not above a value (as a double).
    Floor(Box<Expr>),
    /// Sine and cosine of an angle in radians.
    Sin(Box<Expr>),
    Cos(Box<Expr>),
    /// The 1-based position of the row's value in ascending order among the
    /// non-missing values of the fit rows (equal values in any order; NULL
    /// rows are numbered apart). A window function: it only ever appears in
    /// a let of the fit, read by an aggregate's argument.
    Rank(Box<Expr>),
    Coalesce(Box<Expr>, Box<Expr>),
    Case(Vec<(Cond, Expr)>, Box<Expr>),
    /// Stops the query with a message that ends with the text of `value`.
    Fail {
        message: String,
        value: Box<Expr>,
    },
    /// A per-row value computed once and read by name (a step's output that
    /// later expressions read several times): output grows linearly with
    /// chained steps instead of repeating each step in the next.
    Let(Arc<Let>),
    /// A value of the learned quantiles `table` (a `Vocabulary` with
    /// `quantiles`) around `x`: read from the interval `x` falls in (joined
    /// where the let holding it is computed, on its `bucket` and its range),
    /// or from the table's ends.
    Quantile {
        table: String,
        field: QuantileField,
        x: Box<Expr>,
        /// The bucket of the interval `x` falls in (see `quantile_buckets`),
        /// a value computed before; NULL for the ends' fields.
        bucket: Box<Expr>,
        /// A parameter learned at the table's level (what the row reads
        /// from the table is known one level after it, as a parameter's).
        learned_with: Box<Expr>,
    },
}

/// A named per-row value (see `Expr::Let`). Lets are compared by identity.
#[derive(Debug)]
pub struct Let {
    pub id: usize,
    pub expr: Expr,
    /// The parameters `expr` reads, through other lets too.
    pub params: Vec<ParamId>,
}

impl PartialEq for Let {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    IsNull(Expr),
    /// A boolean column is true (is false); both are unknown for NULL.
    IsTrue(Expr),
    IsFalse(Expr),
    Eq(Expr, Expr),
    In(Expr, Vec<Expr>),
    Lt(Expr, Expr),
    Le(Expr, Expr),
    Gt(Expr, Expr),
    Or(Box<Cond>, Box<Cond>),
}

/// An aggregate over the rows of a fit level. NULLs are ignored, as scikit-learn ignores NaN.
#[derive(Debug, Clone, PartialEq)]
pub enum Agg {
    CountRows,
    Count(Expr),
    Mean(Expr),
    VarPop(Expr),
    Min(Expr),
    Max(Expr),
    /// Exact percentile with linear interpolation (numpy "linear", SQL PERCENTILE_CONT); `p` in [0, 1].
    Percentile(Expr, f64),
    /// The most frequent value; ties go to the smallest (code-point order for text).
    MostFrequent(Expr),
    /// The fit's id, as text: `<spec hash, 12 digits>:<rows>:<checksum>`,
    /// where the checksum is the sum of a hash of each row's `columns`: the
    /// same rows in any order give the same id, and a changed, added or
    /// removed row (almost surely) another.
    FitId {
        spec: String,
        columns: Vec<Expr>,
    },
    /// One field of a power transform's likelihood on a grid of λ (see
    /// `Grid`); the fields of one grid are learned in one scan.
    Likelihood(Arc<Grid>, GridField),
}

impl Agg {
    pub fn argument(&self) -> Option<&Expr> {
        match self {
            Agg::CountRows | Agg::FitId { .. } | Agg::Likelihood(..) => None,
            Agg::Count(e)
            | Agg::Mean(e)
            | Agg::VarPop(e)
            | Agg::Min(e)
            | Agg::Max(e)
            | Agg::MostFrequent(e) => Some(e),
            Agg::Percentile(e, _) => Some(e),
        }
    }

    /// The per-row values a level's stage computes for the aggregate (the
    /// fit id hashes its columns where it is computed, at level 0).
    pub fn arguments(&self) -> Vec<&Expr> {
        match self {
            Agg::Likelihood(grid, _) => grid.arguments().to_vec(),
            _ => self.argument().into_iter().collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ParamDef {
    Aggregate(Agg),
    Derived(Expr),
}

/// One fitted value, a column of the fitted-parameters relation.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: String,
    /// 0: learned on the fit rows as they are; n: on rows that need parameters of level n-1 first.
    pub level: usize,
    pub def: ParamDef,
    pub value_type: ColumnType,
    pub doc: String,
    /// False for a working value of the fit: named only so that a formula
    /// using it several times writes it once (a guarded product repeats each
    /// operand three times on some dialects). It is computed in the fit query
    /// but is not one of the fitted parameters: not exported, not read back.
    pub stored: bool,
}

impl Param {
    /// The fitted parameters, in plan order: what the fit query exports and
    /// a fitted file holds.
    pub fn stored(params: &[Param]) -> impl Iterator<Item = &Param> {
        params.iter().filter(|p| p.stored)
    }
}

/// The categories of an expression learned from data, each with its count
/// (several rows of the fitted parameters, all under one name). The missing
/// value is a category too, as in scikit-learn.
#[derive(Debug, Clone, PartialEq)]
pub struct Vocabulary {
    pub name: String,
    pub feature: String,
    pub level: usize,
    pub expr: Expr,
    pub value_type: ColumnType,
    /// Not categories but quantiles of `expr` (scikit-learn's
    /// QuantileTransformer): at most this many, each row a quantile (its
    /// number) with its reference (in the frequency's place).
    pub quantiles: Option<usize>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct FitPlan {
    /// In dependency order: a parameter only refers to earlier ones.
    pub params: Vec<Param>,
    pub vocabularies: Vec<Vocabulary>,
}

impl FitPlan {
    pub fn levels(&self) -> usize {
        let params = self.params.iter().map(|p| p.level + 1);
        params
            .chain(self.vocabularies.iter().map(|v| v.level + 1))
            .max()
            .unwrap_or(0)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    pub name: String,
    pub expr: Expr,
    pub doc: String,
    /// Where the feature is declared, for diagnostics.
    pub span: Option<Span>,
    /// A text column (an imputed string, the provenance columns); every
    /// other output is a double.
    pub text: bool,
}

impl Output {
    /// Whether this is an output of the feature of source `column`: its
    /// description starts with the column's name.
    pub fn is_of(&self, column: &str) -> bool {
        self.doc.starts_with(&format!("`{column}`"))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ApplyItem {
    Output(Output),
    /// Output columns that exist only once categories are learned.
    Learned {
        feature: String,
        reason: String,
        span: Option<Span>,
        deferred: Option<Deferred>,
    },
}

impl ApplyItem {
    /// The per-row expression the apply evaluates: an output's, or the value
    /// a learned encoder encodes (none where it needs its categories first).
    pub fn applied_expr(&self) -> Option<&Expr> {
        match self {
            ApplyItem::Output(o) => Some(&o.expr),
            ApplyItem::Learned { deferred, .. } => deferred.as_ref().map(|d| &d.row),
        }
    }
}

/// An encoder whose columns can be written where its learned categories are
/// read at run time (the dbt package reads them when a model compiles).
#[derive(Debug, Clone, PartialEq)]
pub struct Deferred {
    /// The vocabulary (fit parameter) holding the categories.
    pub vocabulary: String,
    /// The value the encoder sees (after the earlier steps).
    pub row: Expr,
    pub encoder: DeferredEncoder,
}

#[derive(Debug, Clone, PartialEq)]
pub enum DeferredEncoder {
    OneHot(crate::encoding::OneHotStep),
    Ordinal(crate::encoding::OrdinalStep),
    /// KBinsDiscretizer's one-hot encoding: a column per learned bin, from
    /// 0 to the fitted number of bins (at most `n_bins`) minus one.
    Bins {
        n_bins: usize,
    },
    /// One column, the Learned item's `feature`, that exists only where the
    /// parameter named `vocabulary` is above 0 (SimpleImputer's missing
    /// indicator: where the training rows have a missing value); `row` is
    /// its value, `doc` its description.
    Present {
        doc: String,
    },
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApplyPlan {
    /// Keys then passthrough columns, copied as they are.
    pub passthrough: Vec<String>,
    /// Where each of them is written in the spec.
    pub passthrough_spans: Vec<Option<Span>>,
    pub items: Vec<ApplyItem>,
    /// The output's table holds any column name (Delta's column mapping):
    /// the dialect's `column_name_refuse` does not apply.
    pub any_column_name: bool,
}

/// A value of a fitted scikit-learn transformer, as prep holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum Attr {
    Param(ParamId),
    Number(f64),
    Text(String),
    /// scikit-learn's None.
    Null,
    /// A list of categories; `None` is the missing value.
    Values(Vec<Option<Scalar>>),
    /// An index into a list, or None.
    Index(Option<usize>),
    /// A list of values (bin edges).
    List(Vec<Attr>),
    /// The learned quantiles of `table` in order (or, with `references`,
    /// their references).
    Quantiles {
        table: String,
        references: bool,
    },
}

/// The attributes scikit-learn's fitted transformer of one step would have
/// (`prep export-sklearn`).
#[derive(Debug, Clone, PartialEq)]
pub struct StepRecord {
    pub feature: String,
    /// 1-based position among the feature's steps.
    pub step: usize,
    pub transformer: &'static str,
    pub attributes: Vec<(&'static str, Attr)>,
    /// scikit-learn's constructor arguments, as JSON.
    pub options: serde_json::Value,
    /// The feature reads a BOOLEAN column: its `True`/`False` texts are
    /// scikit-learn's booleans.
    pub boolean: bool,
    /// A step across columns: the columns it reads (each after its own
    /// steps, recorded before it); empty for a step of one feature.
    pub columns: Vec<String>,
    /// A step after an encoder or a step across columns, on one of its
    /// outputs (`feature` names the output; recorded after that step, the
    /// outputs in order).
    pub after: bool,
}

/// Everything the renderer needs.
#[derive(Debug, Clone)]
pub struct Ir {
    pub name: String,
    pub source: Source,
    /// Where `source:` is written in the spec.
    pub source_span: Option<Span>,
    pub fit_filter: Option<String>,
    /// Where `fit.where` is written in the spec.
    pub fit_filter_span: Option<Span>,
    pub fit: FitPlan,
    pub apply: ApplyPlan,
    pub steps: Vec<StepRecord>,
    /// Every let, each after the lets it reads.
    pub lets: Vec<Arc<Let>>,
    /// What drift is measured against, with `drift:` in the spec.
    pub drift: Option<DriftPlan>,
}

/// The parameter that carries the spec's content hash.
pub const HASH_PARAM: &str = "prep_spec_hash";

/// The parameter that identifies a fit: the spec and the rows it learned from.
pub const FIT_ID_PARAM: &str = "prep_fit_id";

/// The parameter the dbt package's fit adds: when the statistics were learned.
pub const FITTED_AT: &str = "prep_fitted_at";

impl Ir {
    /// The content hash of the spec this IR was lowered from.
    pub fn spec_hash(&self) -> Option<&str> {
        self.fit
            .params
            .iter()
            .find(|p| p.name == HASH_PARAM)
            .and_then(|p| match &p.def {
                ParamDef::Derived(Expr::Text(h)) => Some(h.as_str()),
                _ => None,
            })
    }

    /// Every name and text value in the IR (to pick identifiers that collide with none).
    pub fn texts(&self) -> Vec<String> {
        let walk = |e: &Expr, out: &mut Vec<String>| {
            e.for_each(&mut |x| match x {
                Expr::Column(s) | Expr::Text(s) | Expr::Fail { message: s, .. } => {
                    out.push(s.clone())
                }
                _ => {}
            })
        };
        let mut out = vec![self.name.clone()];
        out.extend(self.fit_filter.iter().cloned());
        out.extend(self.apply.passthrough.iter().cloned());
        match &self.source {
            Source::Ref(s) | Source::Table(s) => out.push(s.clone()),
            Source::Source { name, table } => out.extend([name.clone(), table.clone()]),
        }
        for p in &self.fit.params {
            out.push(p.name.clone());
            match &p.def {
                ParamDef::Aggregate(Agg::FitId { columns, .. }) => {
                    columns.iter().for_each(|e| walk(e, &mut out))
                }
                ParamDef::Aggregate(a) => a.arguments().into_iter().for_each(|e| walk(e, &mut out)),
                ParamDef::Derived(e) => walk(e, &mut out),
            }
        }
        for item in &self.apply.items {
            match item {
                ApplyItem::Output(o) => {
                    out.push(o.name.clone());
                    walk(&o.expr, &mut out);
                }
                ApplyItem::Learned { feature, .. } => out.push(feature.clone()),
            }
        }
        for l in &self.lets {
            walk(&l.expr, &mut out);
        }
        out
    }
}

impl Expr {
    /// Calls `f` on this expression and every expression inside it, conditions included.
    pub fn for_each(&self, f: &mut impl FnMut(&Expr)) {
        f(self);
        match self {
            // A let is a leaf: its definition is walked once, with `Ir::lets`.
            Expr::Column(_)
            | Expr::Param(_)
            | Expr::Number(_)
            | Expr::Text(_)
            | Expr::Null
            | Expr::Let(_) => {}
            Expr::ToDouble(a)
            | Expr::ToText(a)
            | Expr::ToTimestamp(a)
            | Expr::DatePart(_, a)
            | Expr::Sqrt(a)
            | Expr::Abs(a)
            | Expr::Ln(a)
            | Expr::Exp(a)
            | Expr::Floor(a)
            | Expr::Sin(a)
            | Expr::Cos(a)
            | Expr::Rank(a) => a.for_each(f),
            Expr::Fail { value, .. } => value.for_each(f),
            Expr::Quantile {
                x,
                bucket,
                learned_with,
                ..
            } => {
                x.for_each(f);
                bucket.for_each(f);
                learned_with.for_each(f);
            }
            Expr::Add(a, b)
            | Expr::Sub(a, b)
            | Expr::Mul(a, b)
            | Expr::Product(a, b)
            | Expr::Div(a, b)
            | Expr::Coalesce(a, b) => {
                a.for_each(f);
                b.for_each(f);
            }
            Expr::Case(arms, otherwise) => {
                for (c, v) in arms {
                    c.for_each(f);
                    v.for_each(f);
                }
                otherwise.for_each(f);
            }
        }
    }

    /// The parameters this expression reads (through lets too).
    pub fn params(&self) -> Vec<ParamId> {
        let mut out = Vec::new();
        self.for_each(&mut |e| match e {
            Expr::Param(p) => out.push(*p),
            Expr::Let(l) => out.extend(&l.params),
            _ => {}
        });
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The parameters this expression reads itself, not through a let.
    pub fn direct_params(&self) -> Vec<ParamId> {
        let mut out = Vec::new();
        self.for_each(&mut |e| {
            if let Expr::Param(p) = e {
                out.push(*p);
            }
        });
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The lets this expression reads directly.
    pub fn lets(&self) -> Vec<Arc<Let>> {
        let mut out: Vec<Arc<Let>> = Vec::new();
        self.for_each(&mut |e| {
            if let Expr::Let(l) = e
                && !out.contains(l)
            {
                out.push(l.clone());
            }
        });
        out
    }

    /// A value that costs nothing to repeat: no need to name it with a let.
    pub fn is_simple(&self) -> bool {
        match self {
            Expr::Column(_)
            | Expr::Param(_)
            | Expr::Number(_)
            | Expr::Text(_)
            | Expr::Null
            | Expr::Let(_) => true,
            Expr::ToDouble(e) | Expr::ToText(e) | Expr::ToTimestamp(e) => {
                matches!(**e, Expr::Column(_))
            }
            _ => false,
        }
    }
}

impl Cond {
    pub fn for_each(&self, f: &mut impl FnMut(&Expr)) {
        match self {
            Cond::IsNull(a) | Cond::IsTrue(a) | Cond::IsFalse(a) => a.for_each(f),
            Cond::Eq(a, b) | Cond::Lt(a, b) | Cond::Le(a, b) | Cond::Gt(a, b) => {
                a.for_each(f);
                b.for_each(f);
            }
            Cond::In(a, list) => {
                a.for_each(f);
                list.iter().for_each(|e| e.for_each(f));
            }
            Cond::Or(a, b) => {
                a.for_each(f);
                b.for_each(f);
            }
        }
    }
}
