//! Lowering: a checked `Model` becomes the `Ir`. This is where scikit-learn's
//! semantics are written down (SEMANTICS.md), once, for every dialect.
//!
//! Statistics of a step are learned on the output of the steps before it, as
//! in a scikit-learn Pipeline. Where that output is the raw column after an
//! imputation, the moments (count, mean, population variance, min, max,
//! max |x|) follow exactly from the raw column's moments and the fill value,
//! so they cost no extra scan. Anything else (a percentile after imputation,
//! a scaler after a scaler) is learned on a staged relation: one level more.

use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;

use crate::check::{
    CheckedStep, Feature, Frequency, Model, OneHotStep, OrdinalStep, dropped_category,
};
use crate::fitted::{Category, Fitted, HASH_PARAM, Value};
use crate::ir::build::*;
use crate::ir::{
    Agg, ApplyItem, ApplyPlan, Attr, Cond, Expr, FitPlan, Ir, Let, Output, Param, ParamDef,
    ParamId, StepRecord, Vocabulary,
};
use crate::ir::{Deferred, DeferredEncoder};
use crate::naming;
use crate::spec::{ColumnType, Drop, ImputeStrategy, OneHotUnknown, OrdinalUnknown, Scalar};

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
        "rows the statistics are learned from",
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

#[derive(Default)]
struct Fit {
    params: Vec<Param>,
    vocabularies: Vec<Vocabulary>,
    steps: Vec<StepRecord>,
    lets: Vec<Rc<Let>>,
    /// Aggregates by level and meaning, and derived parameters by name: each
    /// is learned once, found without a scan of every parameter.
    aggregates: HashMap<(usize, String), ParamId>,
    derived: HashMap<String, ParamId>,
}

impl Fit {
    fn push(&mut self, param: Param) -> ParamId {
        self.params.push(param);
        self.params.len() - 1
    }

    /// An aggregate parameter; the same aggregate at the same level is learned once.
    fn aggregate(
        &mut self,
        name: String,
        level: usize,
        agg: Agg,
        value_type: ColumnType,
        doc: &str,
    ) -> ParamId {
        let key = (level, agg.to_string());
        if let Some(&i) = self.aggregates.get(&key) {
            return i;
        }
        self.aggregates.insert(key, self.params.len());
        self.push(Param {
            name,
            level,
            def: ParamDef::Aggregate(agg),
            value_type,
            doc: doc.to_string(),
        })
    }

    /// `expr` computed once per row and read by name, unless it is simple.
    fn shared(&mut self, expr: Expr) -> Expr {
        if expr.is_simple() {
            return expr;
        }
        let params = expr.params();
        let l = Rc::new(Let {
            id: self.lets.len(),
            expr,
            params,
        });
        self.lets.push(l.clone());
        Expr::Let(l)
    }

    /// The level an expression can be evaluated at: after every parameter it reads.
    fn level_of(&self, e: &Expr) -> usize {
        e.params()
            .into_iter()
            .map(|id| self.params[id].level)
            .max()
            .unwrap_or(0)
    }

    /// A named parameter holding `expr`, unless `expr` already is one.
    fn derived(&mut self, name: String, expr: Expr, value_type: ColumnType, doc: &str) -> Expr {
        if let Expr::Param(_) = expr {
            return expr;
        }
        if let Some(&i) = self.derived.get(&name)
            && matches!(&self.params[i].def, ParamDef::Derived(e) if *e == expr)
        {
            return Expr::Param(i);
        }
        self.derived.insert(name.clone(), self.params.len());
        let level = self.level_of(&expr);
        Expr::Param(self.push(Param {
            name,
            level,
            def: ParamDef::Derived(expr),
            value_type,
            doc: doc.to_string(),
        }))
    }
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
        let mut row = match self.feature.column_type {
            ColumnType::Numeric => Expr::ToDouble(Box::new(column)),
            ColumnType::String => column,
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
                        // scikit-learn's _is_constant_feature: var <= n*eps*var + (n*mean*eps)^2, evaluated in that order.
                        let bound = add(product(mul(n.clone(), num(EPS)), var.clone()), {
                            let t = mul(mul(n, mean), num(EPS));
                            product(t.clone(), t)
                        });
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

    /// A moment of the values `row` takes, derived through imputations where exact.
    fn moment(&mut self, lineage: &Lineage, row: &Expr, m: Moment) -> Expr {
        match lineage {
            Lineage::Raw | Lineage::Opaque if m == Moment::Var => {
                // Two passes, as numpy and scikit-learn: the variance of the
                // values minus their mean, learned once the mean is. In one
                // pass an engine loses digits when the mean is large against
                // the spread (epoch milliseconds: 1e-9 relative error).
                let mean = self.moment(lineage, row, Moment::Mean);
                let centred = sub(row.clone(), mean);
                let level = self.stage_level(&Lineage::Opaque, &centred);
                self.stat(level, "var", Agg::VarPop(centred))
            }
            Lineage::Raw | Lineage::Opaque => {
                let level = self.stage_level(lineage, row);
                let (label, agg) = match m {
                    Moment::Count => ("n", Agg::Count(row.clone())),
                    Moment::Mean => ("mean", Agg::Mean(row.clone())),
                    Moment::Var => ("var", Agg::VarPop(row.clone())),
                    Moment::Min => ("min", Agg::Min(row.clone())),
                    Moment::Max => ("max", Agg::Max(row.clone())),
                    Moment::MaxAbs => ("max_abs", Agg::Max(Expr::Abs(Box::new(row.clone())))),
                };
                self.stat(level, label, agg)
            }
            Lineage::Imputed {
                prev,
                prev_row,
                fill,
            } => {
                let (prev, prev_row, fill) = ((**prev).clone(), prev_row.clone(), fill.clone());
                let rows = Expr::Param(self.rows);
                let n = self.named_moment(&prev, &prev_row, Moment::Count);
                // m: how many values the imputation filled.
                let missing = sub(rows.clone(), n.clone());
                let none_missing = Cond::Le(missing.clone(), num(0.0));
                // A fitted fill value can be NULL (an all-missing column); a constant cannot.
                let nothing_filled = match fill {
                    Expr::Param(_) => {
                        Cond::Or(Box::new(Cond::IsNull(fill.clone())), Box::new(none_missing))
                    }
                    _ => none_missing,
                };
                match m {
                    Moment::Count => match fill {
                        Expr::Param(_) => case(vec![(Cond::IsNull(fill), n)], rows),
                        _ => rows,
                    },
                    Moment::Mean => {
                        // Chan et al.'s combination, written around delta = fill - mean so that
                        // mean imputation (delta = 0) gives the raw mean exactly.
                        let mean = self.named_moment(&prev, &prev_row, Moment::Mean);
                        let delta = sub(fill.clone(), mean.clone());
                        case(
                            vec![(nothing_filled, mean), (Cond::Le(n, num(0.0)), fill)],
                            add(
                                self.named_moment(&prev, &prev_row, Moment::Mean),
                                div(mul(delta, missing), rows),
                            ),
                        )
                    }
                    Moment::Var => {
                        let mean = self.named_moment(&prev, &prev_row, Moment::Mean);
                        let var = self.named_moment(&prev, &prev_row, Moment::Var);
                        let delta = sub(fill.clone(), mean);
                        let m2 = add(
                            mul(n.clone(), var.clone()),
                            div(
                                mul(product(delta.clone(), delta), mul(n.clone(), missing)),
                                rows.clone(),
                            ),
                        );
                        case(
                            vec![(nothing_filled, var), (Cond::Le(n, num(0.0)), num(0.0))],
                            div(m2, rows),
                        )
                    }
                    Moment::Min | Moment::Max | Moment::MaxAbs => {
                        let raw = self.named_moment(&prev, &prev_row, m);
                        let fill_value = if m == Moment::MaxAbs {
                            Expr::Abs(Box::new(fill))
                        } else {
                            fill
                        };
                        let beats = if m == Moment::Min {
                            Cond::Lt(fill_value.clone(), raw.clone())
                        } else {
                            Cond::Gt(fill_value.clone(), raw.clone())
                        };
                        case(
                            vec![
                                (nothing_filled, raw.clone()),
                                (
                                    Cond::Or(Box::new(Cond::IsNull(raw.clone())), Box::new(beats)),
                                    fill_value,
                                ),
                            ],
                            raw,
                        )
                    }
                }
            }
        }
    }

    /// A moment of an earlier stage, as a named parameter when it is itself
    /// derived through an imputation: each formula is then written once and
    /// referred to by name, so chained imputations grow the fit linearly
    /// (inlined, every level would repeat the one before it several times).
    fn named_moment(&mut self, lineage: &Lineage, row: &Expr, m: Moment) -> Expr {
        let Lineage::Imputed { .. } = lineage else {
            return self.moment(lineage, row, m);
        };
        let label = match m {
            Moment::Count => "n",
            Moment::Mean => "mean",
            Moment::Var => "var",
            Moment::Min => "min",
            Moment::Max => "max",
            Moment::MaxAbs => "max_abs",
        };
        // The name says which moment after how many imputations of this
        // feature: derived once, then found by name (deriving it again would
        // derive every earlier moment again, exponentially).
        let name = self.name(&format!("i{}_{label}", lineage.imputations()));
        if let Some(&id) = self.fit.derived.get(&name) {
            return Expr::Param(id);
        }
        let value = self.moment(lineage, row, m);
        self.fit.derived(
            name,
            value,
            ColumnType::Numeric,
            "a moment after imputation",
        )
    }

    fn percentile(&mut self, lineage: &Lineage, row: &Expr, p: f64) -> Expr {
        let level = self.stage_level(lineage, row);
        let label = format!("p{}", percent_label(p));
        self.stat(level, &label, Agg::Percentile(row.clone(), p))
    }

    fn most_frequent(&mut self, lineage: &Lineage, row: &Expr) -> Expr {
        let level = self.stage_level(lineage, row);
        let ty = self.feature.column_type;
        let name = self.stat_name(level, "mode");
        Expr::Param(self.fit.aggregate(
            name,
            level,
            Agg::MostFrequent(row.clone()),
            ty,
            "most frequent value",
        ))
    }

    /// Raw values are read at level 0; anything computed from parameters, one level after them.
    fn stage_level(&self, lineage: &Lineage, row: &Expr) -> usize {
        match lineage {
            Lineage::Raw => 0,
            _ if row.params().is_empty() => 0,
            _ => self.fit.level_of(row) + 1,
        }
    }

    fn stat_name(&self, level: usize, label: &str) -> String {
        if level == 0 {
            self.name(label)
        } else {
            self.name(&format!("l{level}_{label}"))
        }
    }

    fn stat(&mut self, level: usize, label: &str, agg: Agg) -> Expr {
        let name = self.stat_name(level, label);
        let doc = format!("{agg}");
        Expr::Param(
            self.fit
                .aggregate(name, level, agg, ColumnType::Numeric, &doc),
        )
    }

    /// A numeric parameter of step `step`, named `<column>__s<step>_<label>`.
    fn statistic(&mut self, step: usize, label: &str, value: Expr, doc: &str) -> Expr {
        let name = self.name(&format!("s{step}_{label}"));
        self.fit.derived(name, value, ColumnType::Numeric, doc)
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

    /// Learns the categories of `row` (and their counts) from data; returns the vocabulary's name.
    fn vocabulary(&mut self, row: &Expr) -> String {
        let level = self.stage_level(&Lineage::Opaque, row);
        let step = self.feature.steps.len();
        let name = self.name(&format!("s{step}_categories"));
        self.fit.vocabularies.push(Vocabulary {
            name: name.clone(),
            feature: self.feature.column.clone(),
            level,
            expr: row.clone(),
            value_type: self.feature.column_type,
        });
        name
    }

    fn one_hot(&mut self, oh: &OneHotStep, row: &Expr, docs: &[String]) -> Vec<ApplyItem> {
        let feature = self.feature;
        let column = &feature.column;
        let needs_data = oh.categories.is_none() || oh.groups_infrequent();
        let layout = if needs_data {
            let vocabulary = self.vocabulary(row);
            match self
                .fitted
                .and_then(|f| f.vocabularies.get(&vocabulary).map(|v| (f, v)))
            {
                None => {
                    let reason = if oh.categories.is_none() {
                        "its one_hot categories are learned from the data"
                    } else {
                        "min_frequency / max_categories decide from the data which categories are infrequent"
                    };
                    let deferred = Deferred {
                        vocabulary,
                        row: row.clone(),
                        encoder: DeferredEncoder::OneHot(oh.clone()),
                    };
                    return vec![self.learned(reason, Some(deferred))];
                }
                Some((fitted, entries)) => {
                    let rows = fitted.number(ROWS_PARAM).unwrap_or(0.0);
                    match OneHotLayout::fitted(oh, entries, rows) {
                        Ok(layout) => layout,
                        Err(reason) => return vec![self.learned(&reason, None)],
                    }
                }
            }
        } else {
            OneHotLayout::given(oh, oh.categories.as_deref().unwrap_or_default())
        };
        let drop_idx = match layout.dropped {
            Dropped::None => None,
            Dropped::Category(i) => layout
                .categories
                .iter()
                .position(|c| *c == layout.frequent[i]),
            Dropped::Infrequent => layout
                .categories
                .iter()
                .position(|c| Some(c) == layout.infrequent.first()),
        };
        self.record(
            feature.steps.len(),
            "OneHotEncoder",
            vec![
                ("categories_", Attr::Values(layout.categories.clone())),
                ("drop_idx_", Attr::Index(drop_idx)),
                (
                    "infrequent_categories_",
                    if layout.infrequent.is_empty() {
                        Attr::Null
                    } else {
                        Attr::Values(layout.infrequent.clone())
                    },
                ),
            ],
        );
        let known: Vec<Option<Scalar>> = layout
            .frequent
            .iter()
            .chain(&layout.infrequent)
            .cloned()
            .collect();
        let is_known = member(row, &known);
        // With handle_unknown: error, one value checks the row against every
        // known category once and stops the query on an unknown one; the
        // columns then read it (a check in each column would repeat the whole
        // category list in every one).
        let checked;
        let row = match (oh.handle_unknown, &is_known) {
            (OneHotUnknown::Error, Some(known)) => {
                checked = self.fit.shared(case(
                    vec![(known.clone(), row.clone())],
                    self.fail(row, self.feature.column_type),
                ));
                &checked
            }
            _ => row,
        };
        let prefix = if docs.is_empty() {
            String::new()
        } else {
            format!("{}; then ", docs.join("; then "))
        };
        let output = |name: String, arms: Vec<(Cond, Expr)>, otherwise: Expr, what: String| {
            ApplyItem::Output(Output {
                name,
                expr: case(arms, otherwise),
                doc: format!("`{column}`: {prefix}1 where the value is {what}, else 0"),
                span: feature.span.clone(),
            })
        };
        let mut items = Vec::new();
        for (i, c) in layout.frequent.iter().enumerate() {
            if layout.dropped == Dropped::Category(i) {
                continue;
            }
            let arms = vec![(
                member(row, std::slice::from_ref(c)).expect("one category"),
                num(1.0),
            )];
            let otherwise = num(0.0);
            let suffix = c
                .as_ref()
                .map_or_else(|| naming::MISSING_SUFFIX.to_string(), |c| oh.suffix(c));
            let what = c
                .as_ref()
                .map_or_else(|| "missing".to_string(), naming::category_text);
            items.push(output(
                naming::one_hot_column(column, &suffix),
                arms,
                otherwise,
                what,
            ));
        }
        if !layout.infrequent.is_empty() && layout.dropped != Dropped::Infrequent {
            let mut arms = vec![(
                member(row, &layout.infrequent).expect("non-empty"),
                num(1.0),
            )];
            let otherwise = match oh.handle_unknown {
                // The row was checked above.
                OneHotUnknown::Error => num(0.0),
                OneHotUnknown::InfrequentIfExist => {
                    arms.push((is_known.clone().expect("non-empty"), num(0.0)));
                    num(1.0)
                }
                OneHotUnknown::Ignore => num(0.0),
            };
            let what = format!(
                "infrequent ({}){}",
                layout
                    .infrequent
                    .iter()
                    .map(|c| c.as_ref().map_or("missing".into(), naming::category_text))
                    .collect::<Vec<_>>()
                    .join(", "),
                if oh.handle_unknown == OneHotUnknown::InfrequentIfExist {
                    " or unknown"
                } else {
                    ""
                }
            );
            items.push(output(
                naming::infrequent_column(column),
                arms,
                otherwise,
                what,
            ));
        }
        items
    }

    /// Stops the query, naming the unknown category; typed as `as_type`, so it
    /// can stand where a value of that type does.
    fn fail(&self, row: &Expr, as_type: ColumnType) -> Expr {
        let fail = Expr::Fail {
            message: format!("prep: unknown category in column {}: ", self.feature.column),
            value: Box::new(row.clone()),
        };
        match as_type {
            ColumnType::Numeric => Expr::ToDouble(Box::new(fail)),
            ColumnType::String => Expr::ToText(Box::new(fail)),
        }
    }

    fn learned(&self, reason: &str, deferred: Option<Deferred>) -> ApplyItem {
        ApplyItem::Learned {
            feature: self.feature.column.clone(),
            reason: reason.to_string(),
            span: self.feature.span.clone(),
            deferred,
        }
    }

    fn ordinal(&mut self, ord: &OrdinalStep, row: &Expr, docs: &[String]) -> ApplyItem {
        let feature = self.feature;
        let column = &feature.column;
        let learned: Vec<Scalar>;
        let mut missing_seen = false;
        let categories = match &ord.categories {
            Some(given) => given,
            None => {
                let vocabulary = self.vocabulary(row);
                let Some(entries) = self.fitted.and_then(|f| f.vocabularies.get(&vocabulary))
                else {
                    let deferred = Deferred {
                        vocabulary,
                        row: row.clone(),
                        encoder: DeferredEncoder::Ordinal(ord.clone()),
                    };
                    return self.learned(
                        "its ordinal categories are learned from the data",
                        Some(deferred),
                    );
                };
                // The missing value is a category of scikit-learn's, sorted last, but it is
                // always encoded as encoded_missing_value: it needs no code of its own.
                learned = entries.iter().filter_map(|c| scalar_of(&c.value)).collect();
                missing_seen = entries.iter().any(|c| c.value == Value::Null);
                &learned
            }
        };
        let mut categories_: Vec<Option<Scalar>> = categories.iter().cloned().map(Some).collect();
        if missing_seen {
            categories_.push(None);
        }
        self.record(
            feature.steps.len(),
            "OrdinalEncoder",
            vec![("categories_", Attr::Values(categories_))],
        );
        let code = |v: Option<f64>| v.map_or(Expr::Null, num);
        // As scikit-learn: a missing value gets encoded_missing_value only when
        // it is among the categories (seen in training); otherwise it is unknown.
        let mut arms = Vec::new();
        if missing_seen {
            arms.push((Cond::IsNull(row.clone()), code(ord.encoded_missing_value)));
        }
        arms.extend(
            categories
                .iter()
                .enumerate()
                .map(|(i, c)| (Cond::Eq(row.clone(), literal(c)), num(i as f64))),
        );
        let otherwise = match ord.handle_unknown {
            // In place of a code.
            OrdinalUnknown::Error => self.fail(row, ColumnType::Numeric),
            OrdinalUnknown::UseEncodedValue => code(ord.unknown_value),
        };
        let prefix = if docs.is_empty() {
            String::new()
        } else {
            format!("{}; then ", docs.join("; then "))
        };
        ApplyItem::Output(Output {
            name: column.clone(),
            expr: case(arms, otherwise),
            doc: format!(
                "`{column}`: {prefix}position of the value in [{}], from 0",
                categories
                    .iter()
                    .map(naming::category_text)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            span: self.feature.span.clone(),
        })
    }
}

/// Which output column `drop` removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dropped {
    None,
    /// The column of `frequent[i]`.
    Category(usize),
    /// The infrequent column.
    Infrequent,
}

/// The output columns of a one-hot encoder: its frequent categories in
/// order (`None` is the missing value), then one column for the infrequent ones.
struct OneHotLayout {
    /// scikit-learn's `categories_`.
    categories: Vec<Option<Scalar>>,
    frequent: Vec<Option<Scalar>>,
    infrequent: Vec<Option<Scalar>>,
    dropped: Dropped,
}

impl OneHotLayout {
    fn given(oh: &OneHotStep, categories: &[Scalar]) -> OneHotLayout {
        let dropped = dropped_category(oh, categories)
            .and_then(|d| categories.iter().position(|c| c == d))
            .map_or(Dropped::None, Dropped::Category);
        let all: Vec<Option<Scalar>> = categories.iter().cloned().map(Some).collect();
        OneHotLayout {
            categories: all.clone(),
            frequent: all,
            infrequent: Vec::new(),
            dropped,
        }
    }

    /// scikit-learn's OneHotEncoder.fit on the learned counts: categories
    /// (given, or learned in sorted order with the missing value last),
    /// infrequent grouping (`_identify_infrequent`), then `drop`.
    fn fitted(oh: &OneHotStep, entries: &[Category], rows: f64) -> Result<OneHotLayout, String> {
        let categories: Vec<(Option<Scalar>, f64)> = match &oh.categories {
            Some(given) => given
                .iter()
                .map(|c| {
                    let count = entries
                        .iter()
                        .filter(|e| scalar_of(&e.value).as_ref() == Some(c))
                        .map(|e| e.frequency)
                        .sum();
                    (Some(c.clone()), count)
                })
                .collect(),
            None => entries
                .iter()
                .map(|e| (scalar_of(&e.value), e.frequency))
                .collect(),
        };
        if categories.is_empty() {
            return Err("no categories were seen in the training rows".into());
        }
        let counts: Vec<f64> = categories.iter().map(|(_, n)| *n).collect();
        let mut infrequent: Vec<bool> = match oh.min_frequency {
            Some(Frequency::Count(min)) => counts.iter().map(|&n| n < min as f64).collect(),
            Some(Frequency::Fraction(f)) => counts.iter().map(|&n| n < rows * f).collect(),
            None => vec![false; counts.len()],
        };
        let n_current = counts.len() - infrequent.iter().filter(|&&x| x).count() + 1;
        if let Some(max) = oh.max_categories.map(|m| m as usize)
            && max < n_current
        {
            let keep = max - 1;
            if keep == 0 {
                infrequent.iter_mut().for_each(|x| *x = true);
            } else {
                // A stable sort by count: ties keep the category order, so the
                // later categories among equals stay frequent.
                let mut order: Vec<usize> = (0..counts.len()).collect();
                order.sort_by(|&a, &b| counts[a].total_cmp(&counts[b]));
                for &i in &order[..order.len() - keep] {
                    infrequent[i] = true;
                }
            }
        }
        let (mut frequent, mut rare) = (Vec::new(), Vec::new());
        for ((c, _), is_rare) in categories.iter().zip(&infrequent) {
            if *is_rare {
                rare.push(c.clone())
            } else {
                frequent.push(c.clone())
            }
        }
        let n_out = frequent.len() + usize::from(!rare.is_empty());
        // 'first' and 'if_binary' drop the first column after grouping: the first
        // frequent category, or the infrequent column when every category is infrequent.
        let first_column = if frequent.is_empty() {
            Dropped::Infrequent
        } else {
            Dropped::Category(0)
        };
        let dropped = match &oh.drop {
            None => Dropped::None,
            Some(Drop::IfBinary) if n_out != 2 => Dropped::None,
            Some(Drop::First | Drop::IfBinary) => first_column,
            Some(Drop::Category(c)) => {
                if rare.contains(&Some(c.clone())) {
                    return Err(format!(
                        "the category {} to drop is infrequent",
                        naming::category_text(c)
                    ));
                }
                match frequent.iter().position(|f| f.as_ref() == Some(c)) {
                    Some(i) => Dropped::Category(i),
                    None => {
                        return Err(format!(
                            "the category {} to drop was not seen in the training rows",
                            naming::category_text(c)
                        ));
                    }
                }
            }
        };
        Ok(OneHotLayout {
            categories: categories.into_iter().map(|(c, _)| c).collect(),
            frequent,
            infrequent: rare,
            dropped,
        })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::OneHotUnknown;

    fn one_hot(
        min_frequency: Option<Frequency>,
        max_categories: Option<u32>,
        drop: Option<Drop>,
    ) -> OneHotStep {
        OneHotStep {
            categories: None,
            drop,
            handle_unknown: OneHotUnknown::Ignore,
            min_frequency,
            max_categories,
            names: Default::default(),
            span: None,
        }
    }

    fn entries(counts: &[(&str, f64)]) -> Vec<Category> {
        counts
            .iter()
            .map(|(v, n)| Category {
                value: Value::Text(v.to_string()),
                frequency: *n,
            })
            .collect()
    }

    fn text(v: &[&str]) -> Vec<Option<Scalar>> {
        v.iter()
            .map(|s| Some(Scalar::String(s.to_string())))
            .collect()
    }

    #[test]
    fn max_categories_breaks_ties_like_scikit_learn() {
        // SEMANTICS.md: a, b, c, d seen twice each, max_categories=3: c and d are kept.
        let layout = OneHotLayout::fitted(
            &one_hot(None, Some(3), None),
            &entries(&[("a", 2.0), ("b", 2.0), ("c", 2.0), ("d", 2.0)]),
            8.0,
        )
        .unwrap();
        assert_eq!(layout.frequent, text(&["c", "d"]));
        assert_eq!(layout.infrequent, text(&["a", "b"]));
    }

    #[test]
    fn min_frequency_counts_and_fractions() {
        let counts = entries(&[("a", 1.0), ("b", 5.0), ("c", 4.0)]);
        let by_count = OneHotLayout::fitted(
            &one_hot(Some(Frequency::Count(2)), None, None),
            &counts,
            10.0,
        )
        .unwrap();
        assert_eq!(by_count.infrequent, text(&["a"]));
        let by_fraction = OneHotLayout::fitted(
            &one_hot(Some(Frequency::Fraction(0.45)), None, None),
            &counts,
            10.0,
        )
        .unwrap();
        assert_eq!(by_fraction.frequent, text(&["b"]));
        assert_eq!(by_fraction.infrequent, text(&["a", "c"]));
    }

    #[test]
    fn drop_first_drops_the_first_column_after_grouping() {
        // scikit-learn 1.9: categories a (infrequent), b, c; drop='first' drops b.
        let counts = entries(&[("a", 1.0), ("b", 5.0), ("c", 4.0)]);
        let layout = OneHotLayout::fitted(
            &one_hot(Some(Frequency::Count(2)), None, Some(Drop::First)),
            &counts,
            10.0,
        )
        .unwrap();
        assert_eq!(layout.dropped, Dropped::Category(0));
        assert_eq!(layout.frequent[0], Some(Scalar::String("b".into())));
        // Dropping an infrequent category by name is refused, as scikit-learn does.
        let named = one_hot(
            Some(Frequency::Count(2)),
            None,
            Some(Drop::Category(Scalar::String("a".into()))),
        );
        assert!(OneHotLayout::fitted(&named, &counts, 10.0).is_err());
    }
}
