//! What a step's lowering works with: the fit plan being built, what is
//! known of a feature's values, and the ways to learn a statistic from them.
//! Each step's own lowering is in `steps/`; `lower` runs them for a model.
//!
//! Statistics of a step are learned on the output of the steps before it, as
//! in a scikit-learn Pipeline. Where that output is the raw column after an
//! imputation, the moments (count, mean, population variance, min, max,
//! max |x|) follow exactly from the raw column's moments and the fill value,
//! so they cost no extra scan. Anything else (a percentile after imputation,
//! a scaler after a scaler) is learned on a staged relation: one level more.

use crate::diagnostic::Span;
use crate::fitted::{Fitted, Value};
use crate::ir::build::*;
use crate::ir::{Attr, Cond, Expr, ParamId, StepRecord};
use crate::naming;
use crate::spec::{ColumnType, Scalar};

pub(crate) mod drift;
mod encoders;
pub(crate) mod fit_plan;
mod moments;
mod one_hot_layout;
pub(crate) use fit_plan::Fit;

/// float64 machine epsilon, as numpy's `np.finfo(np.float64).eps`.
pub const EPS: f64 = f64::EPSILON;

/// The parameter that counts the fit rows.
pub const ROWS_PARAM: &str = "prep_rows";

/// The feature a lowering is for.
pub(crate) struct FeatureInfo {
    pub column: String,
    pub column_type: ColumnType,
    /// A BOOLEAN source column.
    pub boolean: bool,
    /// A date or timestamp source column (`check::Feature::temporal`).
    pub temporal: bool,
    pub span: Option<Span>,
    /// The position of its encoder (its last step when none; steps after an
    /// encoder run on each of its outputs).
    pub last_step: usize,
    /// The value is one output of an encoder or of a step across columns,
    /// on which the steps after it run (`StepRecord::after`).
    pub after: bool,
}

impl FeatureInfo {
    /// The column as the feature's first step sees it.
    pub(crate) fn read(&self) -> Expr {
        self.read_as(self.column_type)
    }

    /// The column read as a number or as a text (a boolean as 1/0 or `True`/`False`).
    pub(crate) fn read_as(&self, column_type: ColumnType) -> Expr {
        read_column(&self.column, column_type, self.boolean)
    }
}

/// Source column `column` read as a number or as a text (a BOOLEAN column,
/// `boolean`, as 1/0 or `True`/`False`), as scikit-learn reads it.
pub(crate) fn read_column(column: &str, column_type: ColumnType, boolean: bool) -> Expr {
    let column = Expr::Column(column.to_string());
    match (column_type, boolean) {
        (ColumnType::Numeric, false) => Expr::ToDouble(Box::new(column)),
        (ColumnType::String, false) => column,
        // A bool column as scikit-learn reads it: 1.0/0.0, or the
        // categories it names True/False; NULL stays missing.
        (ty, true) => {
            let [yes, no] = match ty {
                ColumnType::Numeric => [num(1.0), num(0.0)],
                ColumnType::String => {
                    [true, false].map(|b| Expr::Text(Scalar::bool_text(b).into()))
                }
            };
            Expr::Case(
                vec![
                    (Cond::IsTrue(column.clone()), yes),
                    (Cond::IsFalse(column), no),
                ],
                Box::new(Expr::Null),
            )
        }
    }
}

/// What is known about the values a step sees, to derive their moments.
#[derive(Clone)]
pub(crate) enum Lineage {
    /// The column as stored (cast to double when numeric).
    Raw,
    /// `prev` with NULLs replaced by `fill`.
    Imputed {
        prev: Box<Lineage>,
        prev_row: Expr,
        fill: Expr,
    },
    /// Anything else: learned on a staged relation.
    Opaque,
    /// Learned on a staged relation, values known to lie near `centre` (a
    /// per-row expression of earlier parameters: the transform of the
    /// training mean, say): their variance is taken about it, in the scan
    /// of their mean, not a level after it (the variance of `x - centre`
    /// is `x`'s; centred, an engine summing squares keeps its digits).
    Near(Expr),
}

impl Lineage {
    /// How many imputations lead to these values.
    fn imputations(&self) -> usize {
        match self {
            Lineage::Imputed { prev, .. } => 1 + prev.imputations(),
            Lineage::Raw | Lineage::Opaque | Lineage::Near(_) => 0,
        }
    }
}

/// The moments that follow algebraically through an imputation.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Moment {
    Count,
    Mean,
    Var,
    Min,
    Max,
    MaxAbs,
}

/// The lowering of one feature: its steps add to the fit plan `fit`.
pub(crate) struct FeatureLowering<'a> {
    pub(crate) fit: &'a mut Fit,
    pub(crate) fitted: Option<&'a Fitted>,
    pub(crate) feature: &'a FeatureInfo,
    /// Parameter names are `<prefix>__<label>`.
    pub(crate) prefix: String,
    /// The parameter counting the fit rows.
    pub(crate) rows: ParamId,
}

/// A feature's value as its steps are lowered: the per-row expression, what
/// is known of the values (to derive their moments), and what each step did,
/// in words.
pub(crate) struct FeatureValue {
    pub(crate) row: Expr,
    pub(crate) lineage: Lineage,
    pub(crate) docs: Vec<String>,
}

impl FeatureLowering<'_> {
    /// The same lowering, borrowed again (to lower another value with it).
    pub(crate) fn reborrow(&mut self) -> FeatureLowering<'_> {
        FeatureLowering {
            fit: self.fit,
            fitted: self.fitted,
            feature: self.feature,
            prefix: self.prefix.clone(),
            rows: self.rows,
        }
    }

    pub(crate) fn name(&self, label: &str) -> String {
        format!("{}__{label}", self.prefix)
    }

    /// A numeric parameter of step `step`, named `<column>__s<step>_<label>`.
    pub(crate) fn statistic(&mut self, step: usize, label: &str, value: Expr, doc: &str) -> Expr {
        let name = self.name(&format!("s{step}_{label}"));
        self.fit.derived(name, value, ColumnType::Numeric, doc)
    }

    /// A working value of step `step`'s fit, not stored (see `Param::stored`).
    pub(crate) fn working(&mut self, step: usize, label: &str, value: Expr, doc: &str) -> Expr {
        let name = self.name(&format!("s{step}_{label}"));
        self.fit.working(name, value, doc)
    }

    /// What scikit-learn's fitted transformer of step `step` holds, by attribute name.
    pub(crate) fn record(
        &mut self,
        step: usize,
        transformer: &'static str,
        attributes: Vec<(&'static str, Attr)>,
    ) {
        self.fit.steps.push(StepRecord {
            feature: self.feature.column.clone(),
            step,
            transformer,
            attributes,
            options: serde_json::Value::Null,
            boolean: self.feature.boolean,
            columns: Vec::new(),
            after: self.feature.after,
        });
    }

    /// Sets scikit-learn's constructor options of step `k` of the feature
    /// (a step records its attributes only once the fitted values are known).
    pub(crate) fn record_options(&mut self, k: usize, options: serde_json::Value) {
        let feature = &self.feature.column;
        let mine = |r: &&mut StepRecord| r.step == k && r.feature == *feature;
        if let Some(record) = self.fit.steps.iter_mut().rev().find(mine) {
            record.options = options;
        }
    }

    /// Sets attributes of the step recorded last (replacing ones of the same name).
    pub(crate) fn record_more(&mut self, attributes: Vec<(&'static str, Attr)>) {
        let record = self.fit.steps.last_mut().expect("a step was recorded");
        for (name, value) in attributes {
            match record.attributes.iter_mut().find(|(n, _)| *n == name) {
                Some(slot) => slot.1 = value,
                None => record.attributes.push((name, value)),
            }
        }
    }
}

/// `row` is one of `values` (`None` stands for the missing value); `None` when `values` is empty.
pub(crate) fn member(row: &Expr, values: &[Option<Scalar>]) -> Option<Cond> {
    let mut listed: Vec<Expr> = values.iter().flatten().map(literal).collect();
    let listed = match listed.len() {
        0 => None,
        1 => listed.pop().map(|one| Cond::Eq(row.clone(), one)),
        _ => Some(Cond::In(row.clone(), listed)),
    };
    let missing = values
        .iter()
        .any(Option::is_none)
        .then(|| Cond::IsNull(row.clone()));
    match (listed, missing) {
        (Some(a), Some(b)) => Some(Cond::Or(Box::new(a), Box::new(b))),
        (a, b) => a.or(b),
    }
}

pub(crate) fn scalar_of(v: &Value) -> Option<Scalar> {
    match v {
        Value::Number(n) => Some(Scalar::Number(*n)),
        Value::Text(t) => Some(Scalar::String(t.clone())),
        Value::Null => None,
    }
}

/// A value of the fit as a scikit-learn attribute.
pub(crate) fn attr(e: &Expr) -> Attr {
    match e {
        Expr::Param(p) => Attr::Param(*p),
        Expr::Number(n) => Attr::Number(*n),
        Expr::Text(t) => Attr::Text(t.clone()),
        _ => Attr::Null,
    }
}

/// scikit-learn's _handle_zeros_in_scale: a scale below 10 * eps becomes 1.
pub(crate) fn handle_zero_scale(scale: Expr) -> Expr {
    case(
        vec![(Cond::Lt(scale.clone(), num(10.0 * EPS)), num(1.0))],
        scale,
    )
}

/// What the steps before did, in words, to start an output's description
/// with (empty when none did anything).
pub(crate) fn steps_before(docs: &[String]) -> String {
    if docs.is_empty() {
        String::new()
    } else {
        format!("{}; then ", docs.join("; then "))
    }
}

pub(crate) fn literal(v: &Scalar) -> Expr {
    match v {
        Scalar::Number(n) => num(*n),
        Scalar::String(s) => Expr::Text(s.clone()),
        Scalar::Bool(b) => Expr::Text(Scalar::bool_text(*b).into()),
    }
}

pub(crate) fn percent_label(p: f64) -> String {
    let pct = p * 100.0;
    if pct.fract() == 0.0 {
        format!("{}", pct as i64)
    } else {
        naming::sanitize(&format!("{pct}"))
    }
}

pub(crate) fn describe(e: &Expr, fit: &Fit) -> String {
    match e {
        Expr::Param(p) => format!("parameter `{}`", fit.params[*p].name),
        other => other.to_string(),
    }
}
