//! Rendering the IR as SQL for one dialect: the fit query (one row of fitted
//! parameters), the apply query (features from any relation with the source
//! columns, reading that row), or both in one statement.

mod apply;
pub mod ast;
mod chunks;
mod drift;
mod fan_out;
pub mod filter;
mod fit;
mod grid;
mod long_form;
pub mod print;
mod quantiles;
pub mod quote;
mod ranked;
mod row_hash;
mod unknown;

use std::collections::BTreeMap;
use std::sync::Arc;

use sqlparser::ast::{BinaryOperator, Expr, Ident};

use crate::diagnostic::{Code, Diagnostic};
use crate::dialect::{Dialect, FloatUnderflow, Func};
use crate::fitted::{Fitted, Value};
use crate::ir::{self, Agg, Ir, ParamId};
use crate::spec::{ColumnType, Source};
pub use apply::DeferredItem;
use ast::{Relation, SelectBuilder};
pub use drift::{DRIFT_COLUMNS, DriftParams};
pub use unknown::{Known, UnknownCheck};

/// Alias of the row being read, in the fit and in the apply query.
const ROW: &str = "prep_src";
/// Alias of the fitted-parameters row in the apply query.
const PARAMS: &str = "prep_params";
/// The CTE holding the rows `fit.where` keeps.
const FIT_ROWS: &str = "prep_fit_rows";
pub use crate::ir::FITTED_AT;
use crate::plan::{ANALYTIC, GRID, RANKED};
/// The CTE holding the one row of fitted parameters.
const FITTED: &str = "prep_fitted";

/// How the source relation is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceStyle {
    /// Plain relation names.
    Plain,
    /// A placeholder, replaced by `{{ ref(..) }}` / `{{ source(..) }}` after printing.
    Placeholder,
}

pub use crate::plan::Scan;

pub struct Renderer<'a> {
    d: &'a Dialect,
    ir: &'a Ir,
    source: SourceStyle,
    /// Fitted values to write as literals instead of reading a parameters relation.
    bound: Option<&'a Fitted>,
    /// A relation to read instead of the spec's source (the embedded engine's data).
    reading: Option<String>,
    /// Every name and value of the spec (placeholders must avoid them).
    texts: Arc<Vec<String>>,
    /// Identifiers printed where dbt calls go, chosen to appear in no name or value of the spec.
    pub source_placeholder: String,
    pub params_placeholder: String,
    /// Lets are columns `<let_prefix><id>`; the prefix appears in no name or value of the spec.
    let_prefix: String,
    /// Each numeric column's read (NaN as missing), printed once: a wide
    /// spec reads every column several times (see `nan_read`).
    reads: std::cell::RefCell<std::collections::HashMap<String, String>>,
    /// Where the dialect's row cannot hold every parameter: the chunks
    /// holding them (see `plan::chunks`).
    chunked: Option<Arc<chunks::Chunked>>,
}

fn unused_name(texts: &[String], base: &str) -> String {
    (0..)
        .map(|i| {
            if i == 0 {
                format!("__{base}__")
            } else {
                format!("__{base}_{i}__")
            }
        })
        .find(|p| !texts.iter().any(|t| t.contains(p.as_str())))
        .expect("some suffix is unused")
}

/// Where the apply query reads the fitted parameters.
pub enum ParamsRelation<'a> {
    Named(&'a str),
    Placeholder,
}

/// The one-row relations a query reads fitted parameters from.
enum ParamsFrom {
    /// One relation, read as `PARAMS`.
    One(Relation),
    /// The chunks (see `plan::chunks`), each read by its own name: those
    /// holding a parameter read, and these (by index) in any case.
    Chunks(std::collections::BTreeSet<usize>),
}

/// Where parameter references point while rendering an expression.
#[derive(Clone, Copy)]
enum ParamScope {
    /// Columns of the parameters row, qualified with `PARAMS` (apply,
    /// stages), or with the name of the chunk holding each.
    Row,
    /// Inside the fit's parameter rows: bare columns of the relations read.
    Fit,
}

impl<'a> Renderer<'a> {
    pub fn new(d: &'a Dialect, ir: &'a Ir, source: SourceStyle) -> Self {
        let texts = Arc::new(ir.texts());
        let source_placeholder = unused_name(&texts, "prep_source_relation");
        let params_placeholder = unused_name(&texts, "prep_params_relation");
        let let_prefix = unused_name(&texts, "prep_value");
        Renderer {
            d,
            ir,
            source,
            bound: None,
            reading: None,
            texts,
            source_placeholder,
            params_placeholder,
            let_prefix,
            reads: Default::default(),
            chunked: chunks::Chunked::of(ir, d).map(Arc::new),
        }
    }

    fn let_name(&self, id: usize) -> String {
        format!("{}{}", self.let_prefix, id + 1)
    }

    /// `base`, read as `ROW`, with every let that `exprs` read (directly or
    /// through other lets) added as a column: one CTE per depth of lets
    /// (`<prefix>_<depth>`, pushed to `ctes`), each computing its lets once
    /// per row from the one before it. Lets in `computed` are already columns
    /// of `base`; the ones computed here are added to it.
    #[allow(clippy::too_many_arguments)]
    fn with_lets(
        &self,
        base: Relation,
        params: Option<&ParamsFrom>,
        exprs: &[&ir::Expr],
        computed: &mut std::collections::BTreeSet<usize>,
        ctes: &mut print::Ctes,
        prefix: &str,
        keep: Option<&[String]>,
    ) -> (Relation, Option<String>) {
        let mut needed: BTreeMap<usize, Arc<ir::Let>> = BTreeMap::new();
        let mut todo: Vec<Arc<ir::Let>> = exprs.iter().flat_map(|e| e.lets()).collect();
        while let Some(l) = todo.pop() {
            if !computed.contains(&l.id) && needed.insert(l.id, l.clone()).is_none() {
                todo.extend(l.expr.lets());
            }
        }
        // A let reads only lets made before it: ascending ids give their depths.
        let mut depth: BTreeMap<usize, usize> = BTreeMap::new();
        for (id, l) in &needed {
            let below = l
                .expr
                .lets()
                .iter()
                .filter_map(|r| depth.get(&r.id).copied())
                .max();
            depth.insert(*id, 1 + below.unwrap_or(0));
        }
        computed.extend(needed.keys());
        let mut relation = base;
        let mut last = None;
        let deepest = depth.values().copied().max().unwrap_or(0);
        for level in 1..=deepest {
            let later = (needed.iter())
                .filter(|(id, _)| depth[*id] > level)
                .map(|(_, l)| &l.expr);
            let carried = |id: usize| depth.get(&id).is_some_and(|d| *d < level);
            let mut b = self.stage_start(keep, later.chain(exprs.iter().copied()), carried);
            for (id, l) in &needed {
                if depth[id] == level {
                    b = b.item(
                        self.expr(&l.expr, ParamScope::Row),
                        Some(self.id(&self.let_name(*id))),
                    );
                }
            }
            b = b.from(relation, Some(self.id(ROW)));
            let here: Vec<&ir::Expr> = (needed.iter())
                .filter(|(id, _)| depth[*id] == level)
                .map(|(_, l)| &l.expr)
                .collect();
            b = self.stage_joins(b, params, &here);
            // Where the engine cannot be told to materialize a stage, the
            // dialect's fence (a filter it cannot see through) keeps it from
            // being inlined into the next.
            if let (true, Some(fence)) = (level < deepest, self.d.stage_fence()) {
                b = b.filter(fence.clone());
            }
            let name = format!("{prefix}_{level}");
            // PostgreSQL inlines a stage into its reader, copying each let's
            // expression into every place that reads it: through a chain of
            // stages the copies multiply (a row norm over four columns took
            // 2,000 times min_max's apply). Every stage but the last is
            // computed once per row where the dialect can say so, which
            // leaves at most one copying step (the last stage into the
            // outputs), linear; a single stage (most specs) is not written
            // out to a table first.
            ctes.push_as(
                self.id(&name),
                b.build(),
                self.d.materialized && level < deepest,
            );
            relation = Relation::Table(vec![self.id(&name)]);
            last = Some(name);
        }
        (relation, last)
    }

    /// A stage's SELECT before the lets it computes: with `keep` (the source
    /// columns its caller reads), only what is `read` after it (the source
    /// columns and the lets already `carried`): a stage written out
    /// (materialized) copies every column it holds for every row. Without,
    /// every column.
    fn stage_start<'e>(
        &self,
        keep: Option<&[String]>,
        read: impl Iterator<Item = &'e ir::Expr>,
        carried: impl Fn(usize) -> bool,
    ) -> SelectBuilder {
        let Some(keep) = keep else {
            return SelectBuilder::default().wildcard_of(self.id(ROW));
        };
        let (columns, lets) = read_after(read, keep);
        let names = columns.into_iter().chain(
            lets.into_iter()
                .filter(|id| carried(*id))
                .map(|id| self.let_name(id)),
        );
        // A column read by name keeps its name on every engine: no alias.
        names.fold(SelectBuilder::default(), |b, name| {
            b.item(ast::column(self.d, Some(ROW), &name), None)
        })
    }

    /// A stage computing `lets` reading what they read besides its rows.
    fn stage_joins(
        &self,
        mut b: SelectBuilder,
        params: Option<&ParamsFrom>,
        lets: &[&ir::Expr],
    ) -> SelectBuilder {
        // A stage joins the parameters only if it reads one itself: an
        // engine that inlines the parameters' relation where it is read
        // (the fit itself, with `--inline`) copies it once per join.
        let reads: Vec<ParamId> = lets.iter().flat_map(|e| e.direct_params()).collect();
        match params {
            Some(ParamsFrom::One(_)) if reads.is_empty() => {}
            Some(p) => b = self.join_params(b, p, reads),
            None => {}
        }
        // A value read from learned quantiles: its interval and the
        // table's ends, joined in the stage that computes it.
        self.join_quantiles(b, lets)
    }

    /// An identifier `__<base>__` (with a number when needed) that appears in no
    /// name or value of the spec, to print where text is put in after printing.
    pub fn placeholder(&self, base: &str) -> String {
        unused_name(&self.texts, base)
    }

    /// Reads `relation` instead of the spec's source.
    pub fn reading(mut self, relation: &str) -> Self {
        self.reading = Some(relation.to_string());
        self
    }

    /// Writes every fitted parameter as a literal (from a fitted-parameters file).
    pub fn bind(mut self, fitted: &'a Fitted) -> Self {
        self.bound = Some(fitted);
        self
    }

    fn id(&self, name: &str) -> Ident {
        ast::ident(self.d, name)
    }

    fn double(&self, e: Expr) -> Expr {
        ast::cast(e, &self.d.double_type)
    }

    fn source_relation(&self) -> Relation {
        if let Some(relation) = &self.reading {
            return Relation::Table(vec![self.id(relation)]);
        }
        Relation::Table(match (&self.ir.source, self.source) {
            // A plain table needs no dbt call: it is named the same way in both styles.
            (Source::Table(name), _) => name.split('.').map(|p| self.id(p)).collect(),
            (_, SourceStyle::Placeholder) => vec![Ident::new(&self.source_placeholder)],
            (Source::Ref(name), SourceStyle::Plain) => vec![self.id(name)],
            (Source::Source { name, table }, SourceStyle::Plain) => {
                vec![self.id(name), self.id(table)]
            }
        })
    }

    /// `fit.where`, written for this dialect by prep (see `filter.rs`).
    fn fit_filter(&self) -> Result<Option<Expr>, Diagnostic> {
        let Some(sql) = &self.ir.fit_filter else {
            return Ok(None);
        };
        filter::for_dialect(self.d, sql).map(Some).map_err(|e| {
            Diagnostic::new(
                Code::InvalidFilter,
                format!("`fit.where` cannot be written for {}: {e}", self.d.name),
            )
            .at(self.ir.fit_filter_span.clone())
            .hint("write one boolean expression over source columns, with numbers and 'quoted' strings")
        })
    }

    // ---- expressions -------------------------------------------------------

    fn expr(&self, e: &ir::Expr, scope: ParamScope) -> Expr {
        use ir::Expr as E;
        let r = |x: &ir::Expr| self.expr(x, scope);
        match e {
            E::Column(c) => ast::column(self.d, Some(ROW), c),
            E::Let(l) => ast::column(self.d, Some(ROW), &self.let_name(l.id)),
            E::Param(p) => self.param(*p, scope),
            E::Number(v) if v.is_finite() => ast::double(*v, self.d),
            E::Number(_) | E::Null => ast::null(),
            E::Text(s) => ast::string(self.d, s),
            E::ToDouble(x) => match &**x {
                E::Column(name) => self.nan_read(name),
                _ => self.double(r(x)),
            },
            E::ToText(x) => ast::cast(r(x), &self.d.string_type),
            E::ToTimestamp(x) => ast::cast(r(x), &self.d.timestamp_type),
            E::DatePart(part, x) => {
                self.double(ast::call(self.d, Func::DatePart(*part), [("X", r(x))]))
            }
            E::Add(a, b) => ast::binary(BinaryOperator::Plus, r(a), r(b)),
            E::Sub(a, b) => ast::binary(BinaryOperator::Minus, r(a), r(b)),
            E::Mul(a, b) => ast::binary(BinaryOperator::Multiply, r(a), r(b)),
            E::Product(a, b) => self.product(r(a), r(b)),
            E::Div(a, b) => ast::call(self.d, Func::SafeDivide, [("A", r(a)), ("B", r(b))]),
            E::Sqrt(x) => self.sqrt(r(x)),
            E::Abs(x) => ast::call(self.d, Func::Abs, [("X", r(x))]),
            E::Ln(x) => ast::call(self.d, Func::Ln, [("X", r(x))]),
            E::Exp(x) => ast::call(self.d, Func::Exp, [("X", r(x))]),
            E::Floor(x) => ast::call(self.d, Func::Floor, [("X", r(x))]),
            E::Sin(x) => ast::call(self.d, Func::Sin, [("X", r(x))]),
            E::Cos(x) => ast::call(self.d, Func::Cos, [("X", r(x))]),
            E::Rank(x) => ast::call(self.d, Func::RowNumber, [("X", r(x))]),
            E::Coalesce(a, b) => ast::call(self.d, Func::Coalesce, [("X", r(a)), ("Y", r(b))]),
            E::Case(arms, otherwise) => ast::case(
                arms.iter()
                    .map(|(c, v)| (self.cond(c, scope), r(v)))
                    .collect(),
                r(otherwise),
            ),
            E::Fail { message, value } => self.fail(message, r(value)),
            E::Quantile { table, field, .. } => self.quantile_field(table, *field),
        }
    }

    /// The square root of a variance. SQRT of a tiny negative rounding error
    /// would raise on some engines: it is 0; NULL (nothing learned) stays
    /// NULL, as NaN does in numpy.
    fn sqrt(&self, v: Expr) -> Expr {
        ast::case(
            vec![(
                ast::binary(BinaryOperator::Lt, v.clone(), ast::double(0.0, self.d)),
                ast::double(0.0, self.d),
            )],
            ast::call(self.d, Func::Sqrt, [("X", v)]),
        )
    }

    /// A numeric column read with NaN as missing, as scikit-learn reads it.
    /// Its text is the same at every read: printed at the first and then
    /// carried verbatim (one node instead of a small tree per read), unless
    /// the dialect spells it over several lines, which only the statement's
    /// printer can indent.
    fn nan_read(&self, name: &str) -> Expr {
        if let Some(text) = self.reads.borrow().get(name) {
            return ast::printed(text.clone());
        }
        let column = self.expr(&ir::Expr::Column(name.to_owned()), ParamScope::Row);
        let nan = self.double(ast::string(self.d, "NaN"));
        let read = ast::call(
            self.d,
            Func::NanToNull,
            [("X", self.double(column)), ("NAN", nan)],
        );
        let text = format!("{read:#}");
        if text.contains('\n') {
            return read;
        }
        self.reads
            .borrow_mut()
            .insert(name.to_owned(), text.clone());
        ast::printed(text)
    }

    /// Stops the query with `message` followed by the text of `value`.
    fn fail(&self, message: &str, value: Expr) -> Expr {
        let text = ast::call(
            self.d,
            Func::Coalesce,
            [
                ("X", ast::cast(value, &self.d.string_type)),
                ("Y", ast::string(self.d, "NULL")),
            ],
        );
        let msg = ast::call(
            self.d,
            Func::Concat,
            [("X", ast::string(self.d, message)), ("Y", text)],
        );
        ast::call(self.d, Func::RaiseError, [("MSG", msg)])
    }

    /// `a * b`, or, where the dialect raises on underflow, zero for the
    /// products too small for a double (ln|a| + ln|b| below ln of the
    /// smallest subnormal), as numpy gives. A square tests its operand once
    /// (x + x < -744 exactly when x < -372: doubling is exact).
    fn product(&self, a: Expr, b: Expr) -> Expr {
        let times = ast::binary(BinaryOperator::Multiply, a.clone(), b.clone());
        if self.d.float_underflow == FloatUnderflow::Zero {
            return times;
        }
        let zero = || ast::double(0.0, self.d);
        let is_zero = |x: Expr| ast::binary(BinaryOperator::Eq, x, zero());
        let ln_abs = |x: Expr| {
            ast::call(
                self.d,
                Func::Ln,
                [("X", ast::call(self.d, Func::Abs, [("X", x)]))],
            )
        };
        let (any_zero, tiny) = if a == b {
            let tiny = ast::binary(
                BinaryOperator::Lt,
                ln_abs(a.clone()),
                ast::double(-372.0, self.d),
            );
            (is_zero(a), tiny)
        } else {
            let tiny = ast::binary(
                BinaryOperator::Lt,
                ast::binary(BinaryOperator::Plus, ln_abs(a.clone()), ln_abs(b.clone())),
                ast::double(-744.0, self.d),
            );
            (
                ast::binary(BinaryOperator::Or, is_zero(a), is_zero(b)),
                tiny,
            )
        };
        ast::case(vec![(any_zero, zero()), (tiny, zero())], times)
    }

    fn cond(&self, c: &ir::Cond, scope: ParamScope) -> Expr {
        use ir::Cond as C;
        let r = |x: &ir::Expr| self.expr(x, scope);
        match c {
            C::IsNull(x) => ast::is_null(r(x)),
            C::IsTrue(x) => ast::call(self.d, Func::IsTrue, [("X", r(x))]),
            C::IsFalse(x) => ast::call(self.d, Func::IsFalse, [("X", r(x))]),
            C::Eq(a, b) => ast::binary(BinaryOperator::Eq, r(a), r(b)),
            C::In(a, list) => ast::in_list(r(a), list.iter().map(r).collect()),
            C::Lt(a, b) => ast::binary(BinaryOperator::Lt, r(a), r(b)),
            C::Le(a, b) => ast::binary(BinaryOperator::LtEq, r(a), r(b)),
            C::Gt(a, b) => ast::binary(BinaryOperator::Gt, r(a), r(b)),
            C::Or(a, b) => {
                ast::binary(BinaryOperator::Or, self.cond(a, scope), self.cond(b, scope))
            }
        }
    }

    fn param(&self, id: ParamId, scope: ParamScope) -> Expr {
        let p = &self.ir.fit.params[id];
        match scope {
            ParamScope::Row => match self.bound {
                None => ast::column(self.d, Some(self.params_alias(id)), &p.name),
                Some(fitted) => self.literal(fitted.parameters.get(&p.name), p.value_type),
            },
            ParamScope::Fit => ast::column(self.d, None, &p.name),
        }
    }

    /// A fitted value as a literal of the parameter's type. Floats are written
    /// in their shortest round-trip form, so they read back as the same f64.
    fn literal(&self, value: Option<&Value>, value_type: ColumnType) -> Expr {
        match (value, value_type) {
            (Some(Value::Number(n)), _) if n.is_finite() => ast::double(*n, self.d),
            (Some(Value::Text(t)), ColumnType::String) => ast::string(self.d, t),
            (_, ColumnType::Numeric) => self.double(ast::null()),
            (_, ColumnType::String) => ast::cast(ast::null(), &self.d.string_type),
        }
    }

    fn aggregate(&self, agg: &Agg, arg: Expr) -> Expr {
        let call = |f, x: Expr| ast::call(self.d, f, [("X", x)]);
        match agg {
            Agg::CountRows => self.double(ast::call(self.d, Func::CountRows, [])),
            Agg::Count(_) => self.double(call(Func::Count, arg)),
            Agg::Mean(_) => call(Func::Avg, arg),
            Agg::VarPop(_) => call(Func::VarPop, arg),
            Agg::Min(_) => call(Func::Min, arg),
            Agg::Max(_) => call(Func::Max, arg),
            Agg::Percentile(_, p) => ast::call(
                self.d,
                Func::Percentile,
                [("X", arg), ("P", ast::fraction(*p))],
            ),
            Agg::MostFrequent(_) => unreachable!("modes are rendered as queries"),
            Agg::Likelihood(..) => unreachable!("grids are rendered as queries"),
            Agg::FitId { spec, columns } => {
                let columns = (columns.iter()).map(|c| self.expr(c, ParamScope::Row));
                let hash = row_hash::row_hash(self.d, columns.collect());
                let checksum = ast::call(self.d, Func::Checksum, [("X", hash)]);
                let rows = ast::call(self.d, Func::CountRows, []);
                let text = |e| ast::cast(e, &self.d.string_type);
                let concat = |x, y| ast::call(self.d, Func::Concat, [("X", x), ("Y", y)]);
                let spec = ast::string(self.d, &format!("{spec}:"));
                let rows = concat(concat(spec, text(rows)), ast::string(self.d, ":"));
                concat(rows, text(checksum))
            }
        }
    }
}

/// The source columns (`keep`, then the ones `exprs` read, each once, in
/// order) and the lets that `exprs` read directly.
fn read_after<'a>(
    exprs: impl Iterator<Item = &'a ir::Expr>,
    keep: &[String],
) -> (Vec<String>, std::collections::BTreeSet<usize>) {
    let mut columns: Vec<String> = keep.to_vec();
    let mut lets = std::collections::BTreeSet::new();
    for e in exprs {
        e.for_each(&mut |x| match x {
            ir::Expr::Column(c) if !columns.contains(c) => columns.push(c.clone()),
            ir::Expr::Let(l) => {
                lets.insert(l.id);
            }
            _ => {}
        });
    }
    (columns, lets)
}
