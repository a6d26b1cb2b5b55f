//! The checks of each step's options: resolved to the values scikit-learn
//! would use, or reported with their place.

use serde_saphyr::Spanned;

use super::{CheckedStep, Frequency, OneHotStep, OrdinalStep, span};
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::spec::{
    self, Categories, ColumnType, ImputeStrategy, OrdinalUnknown, Scalar, Scaler, Step,
};

/// Why a value cannot be a literal (numbers must be finite: no warehouse has a literal for NaN or infinity).
fn scalar_problem(s: &Scalar) -> Option<String> {
    match s {
        Scalar::String(t) => crate::text::string_problem(t),
        Scalar::Number(n) if !n.is_finite() => Some(format!("{n} is not a finite number")),
        Scalar::Number(_) | Scalar::Bool(_) => None,
    }
}

pub(super) fn scalar_type(s: &Scalar) -> ColumnType {
    match s {
        Scalar::Number(_) => ColumnType::Numeric,
        Scalar::String(_) | Scalar::Bool(_) => ColumnType::String,
    }
}

fn type_name(t: ColumnType) -> &'static str {
    match t {
        ColumnType::Numeric => "numeric",
        ColumnType::String => "string",
    }
}

pub(super) fn check_step(
    column: &str,
    ty: ColumnType,
    step: &Spanned<Step>,
    diags: &mut Diagnostics,
) -> Option<CheckedStep> {
    let at = span(step);
    let needs_numeric = |what: &str, diags: &mut Diagnostics| {
        let ok = ty == ColumnType::Numeric;
        if !ok {
            diags.push(
                Diagnostic::new(Code::StepConflict, format!("`{what}` needs a numeric column, but `{column}` is a string column"))
                    .at(at.clone())
                    .hint("encode strings with `one_hot` or `ordinal`; if the column holds numbers, declare `type: numeric`"),
            );
        }
        ok
    };
    match &step.value {
        Step::Impute(imp) => {
            if matches!(imp.strategy, ImputeStrategy::Mean | ImputeStrategy::Median)
                && !needs_numeric(&format!("impute: {}", strategy_name(imp.strategy)), diags)
            {
                return None;
            }
            let fill_value = match (&imp.strategy, &imp.fill_value) {
                (ImputeStrategy::Constant, Some(v)) => {
                    if let Some(problem) = scalar_problem(&v.value) {
                        diags.push(
                            Diagnostic::new(
                                Code::InvalidValue,
                                format!(
                                    "fill value {} cannot be written as SQL: {problem}",
                                    v.value
                                ),
                            )
                            .at(span(v))
                            .hint("remove the character from the fill value"),
                        );
                        return None;
                    }
                    if scalar_type(&v.value) != ty {
                        diags.push(
                            Diagnostic::new(
                                Code::StepConflict,
                                format!(
                                    "fill value {} is {}, but `{column}` is a {} column",
                                    v.value,
                                    type_name(scalar_type(&v.value)),
                                    type_name(ty)
                                ),
                            )
                            .at(span(v))
                            .hint(match ty {
                                ColumnType::String => {
                                    "quote the value to make it a string, e.g. `fill_value: \"0\"`"
                                }
                                ColumnType::Numeric => {
                                    "use a number, or declare the column `type: string`"
                                }
                            }),
                        );
                        return None;
                    }
                    Some(v.value.clone())
                }
                (ImputeStrategy::Constant, None) => Some(match ty {
                    ColumnType::Numeric => Scalar::Number(0.0),
                    ColumnType::String => Scalar::String("missing_value".into()),
                }),
                (_, Some(v)) => {
                    diags.push(
                        Diagnostic::new(
                            Code::StepConflict,
                            "`fill_value` is only used with `strategy: constant`",
                        )
                        .at(span(v))
                        .hint("remove `fill_value`, or set `strategy: constant`"),
                    );
                    return None;
                }
                (_, None) => None,
            };
            Some(CheckedStep::Impute {
                strategy: imp.strategy,
                fill_value,
            })
        }
        Step::Scale(scaler) => {
            if !needs_numeric("scale", diags) {
                return None;
            }
            Some(match scaler {
                Scaler::Standard(o) => CheckedStep::Standard {
                    with_mean: o.with_mean,
                    with_std: o.with_std,
                },
                Scaler::MinMax(o) => {
                    let [min, max] = o.feature_range.as_ref().map_or([0.0, 1.0], |r| r.value);
                    // Written so that NaN bounds are refused too.
                    let ordered = min < max;
                    if !ordered {
                        diags.push(
                            Diagnostic::new(
                                Code::InvalidValue,
                                format!("feature_range [{min}, {max}] is empty"),
                            )
                            .at(o.feature_range.as_ref().and_then(span))
                            .hint("the first bound must be smaller than the second, e.g. `[0, 1]`"),
                        );
                        return None;
                    }
                    CheckedStep::MinMax {
                        min,
                        max,
                        clip: o.clip,
                    }
                }
                Scaler::MaxAbs(_) => CheckedStep::MaxAbs,
                Scaler::Robust(o) => {
                    let [q_min, q_max] =
                        o.quantile_range.as_ref().map_or([25.0, 75.0], |r| r.value);
                    if !(0.0 <= q_min && q_min <= q_max && q_max <= 100.0) {
                        diags.push(
                            Diagnostic::new(Code::InvalidValue, format!("quantile_range [{q_min}, {q_max}] is invalid"))
                                .at(o.quantile_range.as_ref().and_then(span))
                                .hint("give two percentiles with 0 <= q_min <= q_max <= 100, e.g. `[25, 75]`"),
                        );
                        return None;
                    }
                    CheckedStep::Robust {
                        with_centering: o.with_centering,
                        with_scaling: o.with_scaling,
                        q_min,
                        q_max,
                    }
                }
            })
        }
        Step::OneHot(oh) => {
            let categories = check_categories(column, ty, &oh.categories, diags)?;
            let drop = oh.drop.as_ref().map(|d| d.value.clone());
            if let (Some(spec::Drop::Category(c)), Some(cats)) = (&drop, &categories)
                && !cats.contains(c)
            {
                diags.push(
                    Diagnostic::new(
                        Code::InvalidValue,
                        format!("drop category {c} is not one of the categories"),
                    )
                    .at(oh.drop.as_ref().and_then(span))
                    .hint("drop one of the listed categories, or use `drop: first`"),
                );
                return None;
            }
            let min_frequency = match &oh.min_frequency {
                None => None,
                Some(f) if f.value > 0.0 && f.value < 1.0 => Some(Frequency::Fraction(f.value)),
                Some(f) if f.value >= 1.0 && f.value.fract() == 0.0 => {
                    Some(Frequency::Count(f.value as u64))
                }
                Some(f) => {
                    diags.push(
                        Diagnostic::new(Code::InvalidValue, format!("min_frequency {} is neither a count nor a fraction", f.value))
                            .at(span(f))
                            .hint("give a whole number of rows (>= 1) or a fraction of rows between 0 and 1"),
                    );
                    return None;
                }
            };
            if let Some(m) = &oh.max_categories
                && m.value < 1
            {
                diags.push(
                    Diagnostic::new(Code::InvalidValue, "max_categories must be at least 1")
                        .at(span(m))
                        .hint("it counts the output columns kept, including the infrequent one"),
                );
                return None;
            }
            let names = oh
                .names
                .0
                .iter()
                .map(|(k, v)| (k.value.clone(), v.clone()))
                .collect();
            Some(CheckedStep::OneHot(OneHotStep {
                categories,
                drop,
                handle_unknown: oh.handle_unknown,
                min_frequency,
                max_categories: oh.max_categories.as_ref().map(|m| m.value),
                names,
                span: at,
            }))
        }
        Step::Ordinal(o) => {
            let categories = check_categories(column, ty, &o.categories, diags)?;
            let nan_to_none = |v: &Spanned<f64>| (!v.value.is_nan()).then_some(v.value);
            let unknown_value = o.unknown_value.as_ref().and_then(nan_to_none);
            match (o.handle_unknown, &o.unknown_value) {
                (OrdinalUnknown::UseEncodedValue, None) => {
                    diags.push(
                        Diagnostic::new(
                            Code::InvalidValue,
                            "`handle_unknown: use_encoded_value` needs `unknown_value`",
                        )
                        .at(at)
                        .hint("add `unknown_value: -1` (or `.nan` for NULL)"),
                    );
                    return None;
                }
                (OrdinalUnknown::Error, Some(v)) => {
                    diags.push(
                        Diagnostic::new(
                            Code::StepConflict,
                            "`unknown_value` is only used with `handle_unknown: use_encoded_value`",
                        )
                        .at(span(v))
                        .hint("set `handle_unknown: use_encoded_value`, or remove `unknown_value`"),
                    );
                    return None;
                }
                _ => {}
            }
            if let (Some(v), Some(cats)) = (unknown_value, &categories)
                && v >= 0.0
                && v < cats.len() as f64
                && v.fract() == 0.0
            {
                diags.push(
                    Diagnostic::new(
                        Code::InvalidValue,
                        format!("unknown_value {v} is already the code of a category"),
                    )
                    .at(o.unknown_value.as_ref().and_then(span))
                    .hint("use a code outside 0..n-1, e.g. -1, or `.nan`"),
                );
                return None;
            }
            Some(CheckedStep::Ordinal(OrdinalStep {
                categories,
                handle_unknown: o.handle_unknown,
                unknown_value,
                encoded_missing_value: o.encoded_missing_value.as_ref().and_then(nan_to_none),
                span: at,
            }))
        }
    }
}

fn strategy_name(s: ImputeStrategy) -> &'static str {
    match s {
        ImputeStrategy::Mean => "mean",
        ImputeStrategy::Median => "median",
        ImputeStrategy::MostFrequent => "most_frequent",
        ImputeStrategy::Constant => "constant",
    }
}

/// `Some(None)`: learned; `Some(Some(list))`: given and valid; `None`: invalid (reported).
fn check_categories(
    column: &str,
    ty: ColumnType,
    categories: &Categories,
    diags: &mut Diagnostics,
) -> Option<Option<Vec<Scalar>>> {
    let Categories::Given(given) = categories else {
        return Some(None);
    };
    let before = diags.0.len();
    if given.is_empty() {
        diags.push(
            Diagnostic::new(
                Code::InvalidValue,
                format!("the category list of `{column}` is empty"),
            )
            .hint("list the categories, or write `categories: auto` to learn them"),
        );
    }
    let mut seen = std::collections::HashSet::new();
    for (i, c) in given.iter().enumerate() {
        // Equal values are one key (0.0 and -0.0 too).
        let key = match &c.value {
            Scalar::Number(n) => Err((n + 0.0).to_bits()),
            Scalar::String(t) => Ok(t.as_str()),
            Scalar::Bool(b) => Ok(Scalar::bool_text(*b)),
        };
        if let Some(problem) = scalar_problem(&c.value) {
            diags.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    format!("category {} cannot be written as SQL: {problem}", c.value),
                )
                .at(span(c))
                .hint("remove the character from the category"),
            );
        } else if scalar_type(&c.value) != ty {
            diags.push(
                Diagnostic::new(
                    Code::StepConflict,
                    format!(
                        "category {} is {}, but `{column}` is a {} column",
                        c.value,
                        type_name(scalar_type(&c.value)),
                        type_name(ty)
                    ),
                )
                .at(span(c))
                .hint("categories must have the column's type: quote numbers in a string column"),
            );
        } else if !seen.insert(key) {
            diags.push(
                Diagnostic::new(
                    Code::NameCollision,
                    format!("category {} is listed twice", c.value),
                )
                .at(span(c))
                .hint("remove the repeated category"),
            );
        } else if let (Scalar::Number(n), Some(Scalar::Number(p))) =
            (&c.value, given[..i].last().map(|p| &p.value))
            && n < p
        {
            diags.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    format!("numeric categories must be sorted, but {n} comes after {p}"),
                )
                .at(span(c))
                .hint("list numeric categories in ascending order, as scikit-learn requires"),
            );
        }
    }
    (diags.0.len() == before).then(|| Some(given.iter().map(|c| c.value.clone()).collect()))
}
