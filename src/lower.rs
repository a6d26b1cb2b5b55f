//! Lowering: a checked `Model` becomes the `Ir`. This is where scikit-learn's
//! semantics are written down (SEMANTICS.md), once, for every dialect.
//!
//! Statistics of a step are learned on the output of the steps before it, as
//! in a scikit-learn Pipeline. Where that output is the raw column after an
//! imputation, the moments (count, mean, population variance, min, max,
//! max |x|) follow exactly from the raw column's moments and the fill value,
//! so they cost no extra scan. Anything else (a percentile after imputation,
//! a scaler after a scaler) is learned on a staged relation: one level more.

use std::collections::BTreeSet;

use crate::check::{CheckedStep, Feature, Model};
use crate::fitted::{Fitted, HASH_PARAM, Value};
use crate::ir::build::*;
use crate::ir::{
    Agg, ApplyItem, ApplyPlan, Attr, Cond, Expr, FitPlan, Ir, Output, ParamId, StepRecord,
};
use crate::naming;

mod encoders;
mod fit_plan;
use fit_plan::Fit;
mod moments;
mod one_hot_layout;
use crate::spec::{ColumnType, ImputeStrategy, Scalar};

/// float64 machine epsilon, as numpy's `np.finfo(np.float64).eps`.
pub const EPS: f64 = f64::EPSILON;

/// The parameter that counts the fit rows.
pub const ROWS_PARAM: &str = "prep_rows";

/// Lowers a checked spec. With `fitted` values, categories learned from data
/// are known, so every output column is; without, such features are
/// `ApplyItem::Learned`. The fit plan is the same either way.
pub fn lower(model: &Model, fitted: Option<&Fitted>) -> Ir {
    let mut fit = Fit::default();
    let rows = fit.aggregate(
        ROWS_PARAM.to_string(),
        0,
        Agg::CountRows,
        ColumnType::Numeric,
        Some("rows the statistics are learned from"),
    );
    fit.derived(
        HASH_PARAM.to_string(),
        Expr::Text(model.content_hash()),
        ColumnType::String,
        "content hash of the spec these parameters were fitted for",
    );
    let mut prefixes = BTreeSet::new();
    let mut items = Vec::new();
    for (index, feature) in model.features.iter().enumerate() {
        let prefix = param_prefix(&feature.column, index, &mut prefixes);
        let mut lowering = FeatureLowering {
            fit: &mut fit,
            fitted,
            feature,
            prefix,
            rows,
        };
        items.extend(lowering.lower());
    }
    Ir {
        name: model.name.clone(),
        source: model.source.clone(),
        source_span: model.source_span.clone(),
        fit_filter: model.fit_filter.as_ref().map(|f| f.sql.clone()),
        fit_filter_span: model.fit_filter.as_ref().and_then(|f| f.span.clone()),
        fit: FitPlan {
            params: fit.params,
            vocabularies: fit.vocabularies,
        },
        steps: fit.steps,
        lets: fit.lets,
        apply: ApplyPlan {
            passthrough: model
                .keys
                .iter()
                .chain(&model.passthrough)
                .cloned()
                .collect(),
            passthrough_spans: model.copied_spans.clone(),
            items,
        },
    }
}

/// Parameter names are `<prefix>__<label>`: the column made safe and short
/// (identifier limits apply to them too), made unique with its position.
fn param_prefix(column: &str, index: usize, taken: &mut BTreeSet<String>) -> String {
    let base: String = naming::sanitize(column).chars().take(40).collect();
    let mut prefix = base.clone();
    let mut n = 0;
    while !taken.insert(naming::fold(&prefix)) {
        // Taken (by another column that sanitizes alike): numbered until free.
        prefix = if n == 0 {
            format!("{base}_{index}")
        } else {
            format!("{base}_{index}_{n}")
        };
        n += 1;
    }
    prefix
}

/// What is known about the values a step sees, to derive their moments.
#[derive(Clone)]
enum Lineage {
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
}

impl Lineage {
    /// How many imputations lead to these values.
    fn imputations(&self) -> usize {
        match self {
            Lineage::Imputed { prev, .. } => 1 + prev.imputations(),
            Lineage::Raw | Lineage::Opaque => 0,
        }
    }
}

/// The moments that follow algebraically through an imputation.
#[derive(Clone, Copy, PartialEq)]
enum Moment {
    Count,
    Mean,
    Var,
    Min,
    Max,
    MaxAbs,
}

struct FeatureLowering<'a> {
    fit: &'a mut Fit,
    fitted: Option<&'a Fitted>,
    feature: &'a Feature,
    prefix: String,
    rows: ParamId,
}

impl FeatureLowering<'_> {
    fn name(&self, label: &str) -> String {
        format!("{}__{label}", self.prefix)
    }

    fn lower(&mut self) -> Vec<ApplyItem> {
        let column = Expr::Column(self.feature.column.clone());
        let mut row = match (self.feature.column_type, self.feature.boolean) {
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
        };
        let mut lineage = Lineage::Raw;
        let mut docs: Vec<String> = Vec::new();
        let steps = self.feature.steps.clone();
        for (k, step) in steps.iter().enumerate() {
            let k = k + 1;
            let label = |l: &str| format!("s{k}_{l}");
            // After a scaler, later statistics are learned on a staged
            // relation: each stage reads the value of the one before by name
            // instead of recomputing every earlier step.
            if let Lineage::Opaque = lineage {
                row = self.fit.shared(row);
            }
            match step {
                CheckedStep::Impute {
                    strategy,
                    fill_value,
                } => {
                    let fill = match (strategy, fill_value) {
                        (ImputeStrategy::Constant, Some(v)) => literal(v),
                        (ImputeStrategy::Mean, _) => self.moment(&lineage, &row, Moment::Mean),
                        (ImputeStrategy::Median, _) => self.percentile(&lineage, &row, 0.5),
                        (ImputeStrategy::MostFrequent, _) => self.most_frequent(&lineage, &row),
                        (ImputeStrategy::Constant, None) => {
                            unreachable!("check resolves the default fill value")
                        }
                    };
                    // A constant stays a literal; a learned fill value is a named parameter.
                    let fill = match fill {
                        Expr::Number(_) | Expr::Text(_) => fill,
                        _ => {
                            let name = self.name(&label("fill"));
                            let ty = self.feature.column_type;
                            self.fit
                                .derived(name, fill, ty, "imputation fill value (statistics_)")
                        }
                    };
                    docs.push(format!(
                        "missing values replaced by {} ({})",
                        strategy_doc(*strategy),
                        describe(&fill, self.fit)
                    ));
                    lineage = Lineage::Imputed {
                        prev: Box::new(lineage),
                        prev_row: row.clone(),
                        fill: fill.clone(),
                    };
                    self.record(k, "SimpleImputer", vec![("statistics_", attr(&fill))]);
                    row = coalesce(row, fill);
                }
                CheckedStep::Standard {
                    with_mean,
                    with_std,
                } => {
                    let n = self.moment(&lineage, &row, Moment::Count);
                    let n = self.statistic(k, "n", n, "non-missing values seen (n_samples_seen_)");
                    let mean = self.moment(&lineage, &row, Moment::Mean);
                    let var = self.moment(&lineage, &row, Moment::Var);
                    let mean = self.statistic(k, "mean", mean, "mean (mean_)");
                    let var = self.statistic(k, "var", var, "population variance (var_)");
                    let (with_mean, with_std) = (*with_mean, *with_std);
                    self.record(
                        k,
                        "StandardScaler",
                        vec![
                            (
                                "mean_",
                                if with_mean || with_std {
                                    attr(&mean)
                                } else {
                                    Attr::Null
                                },
                            ),
                            ("var_", if with_std { attr(&var) } else { Attr::Null }),
                            ("n_samples_seen_", attr(&n)),
                        ],
                    );
                    if with_mean {
                        row = sub(row, mean.clone());
                    }
                    if with_std {
                        let bound = self.constant_bound(k, n, mean, &var);
                        let scale = case(
                            vec![(Cond::Le(var.clone(), bound), num(1.0))],
                            Expr::Sqrt(Box::new(var)),
                        );
                        let scale = self.statistic(
                            k,
                            "scale",
                            scale,
                            "standard deviation, 1 for constant features (scale_)",
                        );
                        self.record_more(vec![("scale_", attr(&scale))]);
                        row = div(row, scale);
                    }
                    docs.push(format!(
                        "standardised{}{}",
                        if with_mean {
                            ", centred on the training mean"
                        } else {
                            ""
                        },
                        if with_std {
                            ", divided by the training population standard deviation"
                        } else {
                            ""
                        }
                    ));
                    lineage = Lineage::Opaque;
                }
                CheckedStep::MinMax { min, max, clip } => {
                    let data_min = self.moment(&lineage, &row, Moment::Min);
                    let data_max = self.moment(&lineage, &row, Moment::Max);
                    let data_min =
                        self.statistic(k, "data_min", data_min, "training minimum (data_min_)");
                    let data_max =
                        self.statistic(k, "data_max", data_max, "training maximum (data_max_)");
                    let range = self.statistic(
                        k,
                        "data_range",
                        sub(data_max.clone(), data_min.clone()),
                        "data_max_ - data_min_ (data_range_)",
                    );
                    let scale = self.statistic(
                        k,
                        "scale",
                        div(num(max - min), handle_zero_scale(range.clone())),
                        "(max - min) / data range (scale_)",
                    );
                    let offset = self.statistic(
                        k,
                        "min",
                        sub(num(*min), mul(data_min.clone(), scale.clone())),
                        "offset (min_)",
                    );
                    self.record(
                        k,
                        "MinMaxScaler",
                        vec![
                            ("data_min_", attr(&data_min)),
                            ("data_max_", attr(&data_max)),
                            ("data_range_", attr(&range)),
                            ("scale_", attr(&scale)),
                            ("min_", attr(&offset)),
                            ("n_samples_seen_", Attr::Param(self.rows)),
                        ],
                    );
                    row = add(mul(row, scale), offset);
                    if *clip {
                        // The clipped value reads the scaled one three times.
                        row = self.fit.shared(row);
                        row = case(
                            vec![
                                (Cond::Lt(row.clone(), num(*min)), num(*min)),
                                (Cond::Gt(row.clone(), num(*max)), num(*max)),
                            ],
                            row,
                        );
                    }
                    docs.push(format!(
                        "scaled to [{min}, {max}] by the training minimum and maximum{}",
                        if *clip { ", clipped" } else { "" }
                    ));
                    lineage = Lineage::Opaque;
                }
                CheckedStep::MaxAbs => {
                    let max_abs = self.moment(&lineage, &row, Moment::MaxAbs);
                    let max_abs =
                        self.statistic(k, "max_abs", max_abs, "largest absolute value (max_abs_)");
                    let scale =
                        self.statistic(k, "scale", handle_zero_scale(max_abs.clone()), "scale_");
                    self.record(
                        k,
                        "MaxAbsScaler",
                        vec![
                            ("max_abs_", attr(&max_abs)),
                            ("scale_", attr(&scale)),
                            ("n_samples_seen_", Attr::Param(self.rows)),
                        ],
                    );
                    row = div(row, scale);
                    docs.push("divided by the training maximum absolute value".into());
                    lineage = Lineage::Opaque;
                }
                CheckedStep::Robust {
                    with_centering,
                    with_scaling,
                    q_min,
                    q_max,
                } => {
                    // Both the median and the percentiles are of the values before centring.
                    let values = row.clone();
                    self.record(
                        k,
                        "RobustScaler",
                        vec![("center_", Attr::Null), ("scale_", Attr::Null)],
                    );
                    if *with_centering {
                        let center = self.percentile(&lineage, &values, 0.5);
                        let center = self.statistic(k, "center", center, "median (center_)");
                        self.record_more(vec![("center_", attr(&center))]);
                        row = sub(row, center);
                    }
                    if *with_scaling {
                        let lo = self.percentile(&lineage, &values, q_min / 100.0);
                        let hi = self.percentile(&lineage, &values, q_max / 100.0);
                        let scale = self.statistic(
                            k,
                            "scale",
                            handle_zero_scale(sub(hi, lo)),
                            "interquantile range (scale_)",
                        );
                        self.record_more(vec![("scale_", attr(&scale))]);
                        row = div(row, scale);
                    }
                    docs.push(format!(
                        "robust-scaled (median, percentiles {q_min}-{q_max})"
                    ));
                    lineage = Lineage::Opaque;
                }
                // Encoders read the value once per category.
                CheckedStep::OneHot(oh) => {
                    let row = self.fit.shared(row);
                    return self.one_hot(oh, &row, &docs);
                }
                CheckedStep::Ordinal(ord) => {
                    let row = self.fit.shared(row);
                    let item = self.ordinal(ord, &row, &docs);
                    return vec![item];
                }
            }
        }
        let doc = format!("`{}`: {}", self.feature.column, docs.join("; then "));
        vec![ApplyItem::Output(Output {
            name: self.feature.column.clone(),
            expr: row,
            doc,
            span: self.feature.span.clone(),
        })]
    }

    /// A numeric parameter of step `step`, named `<column>__s<step>_<label>`.
    fn statistic(&mut self, step: usize, label: &str, value: Expr, doc: &str) -> Expr {
        let name = self.name(&format!("s{step}_{label}"));
        self.fit.derived(name, value, ColumnType::Numeric, doc)
    }

    /// The variance at or below which scikit-learn's _is_constant_feature
    /// calls a feature constant: n*eps*var + (n*mean*eps)^2, evaluated in that
    /// order. Both factors are named: a guarded product repeats its operands.
    fn constant_bound(&mut self, step: usize, n: Expr, mean: Expr, var: &Expr) -> Expr {
        let n_eps = self.working(step, "n_eps", mul(n.clone(), num(EPS)), "n * eps");
        let mean_eps = mul(mul(n, mean), num(EPS));
        let mean_eps = self.working(step, "mean_eps", mean_eps, "n * mean * eps");
        add(
            product(n_eps, var.clone()),
            product(mean_eps.clone(), mean_eps),
        )
    }

    /// A working value of step `step`'s fit, not stored (see `Param::stored`).
    fn working(&mut self, step: usize, label: &str, value: Expr, doc: &str) -> Expr {
        let name = self.name(&format!("s{step}_{label}"));
        self.fit.working(name, value, doc)
    }

    /// What scikit-learn's fitted transformer of step `step` holds, by attribute name.
    fn record(
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
            boolean: self.feature.boolean,
        });
    }

    /// Sets attributes of the step recorded last (replacing ones of the same name).
    fn record_more(&mut self, attributes: Vec<(&'static str, Attr)>) {
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
fn member(row: &Expr, values: &[Option<Scalar>]) -> Option<Cond> {
    let listed: Vec<Expr> = values.iter().flatten().map(literal).collect();
    let listed = match listed.len() {
        0 => None,
        1 => Some(Cond::Eq(
            row.clone(),
            listed.into_iter().next().expect("one"),
        )),
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

fn scalar_of(v: &Value) -> Option<Scalar> {
    match v {
        Value::Number(n) => Some(Scalar::Number(*n)),
        Value::Text(t) => Some(Scalar::String(t.clone())),
        Value::Null => None,
    }
}

/// A value of the fit as a scikit-learn attribute.
fn attr(e: &Expr) -> Attr {
    match e {
        Expr::Param(p) => Attr::Param(*p),
        Expr::Number(n) => Attr::Number(*n),
        Expr::Text(t) => Attr::Text(t.clone()),
        _ => Attr::Null,
    }
}

/// scikit-learn's _handle_zeros_in_scale: a scale below 10 * eps becomes 1.
fn handle_zero_scale(scale: Expr) -> Expr {
    case(
        vec![(Cond::Lt(scale.clone(), num(10.0 * EPS)), num(1.0))],
        scale,
    )
}

fn literal(v: &Scalar) -> Expr {
    match v {
        Scalar::Number(n) => num(*n),
        Scalar::String(s) => Expr::Text(s.clone()),
        Scalar::Bool(b) => Expr::Text(Scalar::bool_text(*b).into()),
    }
}

fn percent_label(p: f64) -> String {
    let pct = p * 100.0;
    if pct.fract() == 0.0 {
        format!("{}", pct as i64)
    } else {
        naming::sanitize(&format!("{pct}"))
    }
}

fn strategy_doc(s: ImputeStrategy) -> &'static str {
    match s {
        ImputeStrategy::Mean => "the training mean",
        ImputeStrategy::Median => "the training median",
        ImputeStrategy::MostFrequent => "the most frequent training value",
        ImputeStrategy::Constant => "a constant",
    }
}

fn describe(e: &Expr, fit: &Fit) -> String {
    match e {
        Expr::Param(p) => format!("parameter `{}`", fit.params[*p].name),
        other => other.to_string(),
    }
}
