//! SimpleImputer: `impute: mean | median | most_frequent` or
//! `impute: {strategy: constant, fill_value: ...}`.

use serde::Serialize;

use super::categories::{scalar_problem, scalar_type, type_name};
use super::{Context, OutputFacts, Step, span};
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::ir::build::{case, coalesce, num, sub};
use crate::ir::{ApplyItem, Attr, Cond, Expr, Output, Present};
use crate::lowering::{FeatureLowering, FeatureValue, Lineage, Moment, attr, describe, literal};
use crate::naming;
use crate::spec::{self, ColumnType, ImputeStrategy, Scalar};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Impute {
    pub strategy: ImputeStrategy,
    /// The constant to fill with (`strategy: constant` only; its default resolved).
    pub fill_value: Option<Scalar>,
    /// A learned fill value of a column with no training value is 0.
    /// Left out of the spec's hash when false, so specs without it keep theirs.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub keep_empty_features: bool,
    /// Also a missing indicator column (see `indicator`); left out of the
    /// spec's hash when false, as `keep_empty_features`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub add_indicator: bool,
}

impl Step for Impute {
    type Options = spec::Impute;

    fn check(o: &spec::Impute, cx: &Context, diags: &mut Diagnostics) -> Option<Impute> {
        if matches!(o.strategy, ImputeStrategy::Mean | ImputeStrategy::Median)
            && !cx.needs_numeric(&format!("impute: {}", strategy_name(o.strategy)), diags)
        {
            return None;
        }
        let (column, ty) = (cx.column, cx.ty);
        let fill_value = match (&o.strategy, &o.fill_value) {
            (ImputeStrategy::Constant, Some(v)) => {
                if let Some(problem) = scalar_problem(&v.value) {
                    diags.push(
                        Diagnostic::new(
                            Code::InvalidValue,
                            format!("fill value {} cannot be written as SQL: {problem}", v.value),
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
        Some(Impute {
            strategy: o.strategy,
            fill_value,
            keep_empty_features: keep_empty_features(o, cx, diags)?,
            add_indicator: o.add_indicator.as_ref().is_some_and(|a| a.value),
        })
    }

    fn sklearn_options(&self) -> serde_json::Value {
        let mut options = serde_json::json!({"strategy": strategy_name(self.strategy)});
        if let Some(fill) = &self.fill_value {
            options["fill_value"] = crate::sklearn::scalar_json(Some(fill));
        }
        if self.keep_empty_features {
            options["keep_empty_features"] = true.into();
        }
        if self.add_indicator {
            options["add_indicator"] = true.into();
        }
        options
    }

    fn lower(
        &self,
        f: &mut FeatureLowering,
        k: usize,
        value: &mut FeatureValue,
    ) -> Option<Vec<ApplyItem>> {
        let FeatureValue { row, lineage, docs } = value;
        let (input, input_lineage) = (row.clone(), lineage.clone());
        let fill = match (self.strategy, &self.fill_value) {
            (ImputeStrategy::Constant, Some(v)) => literal(v),
            (ImputeStrategy::Mean, _) => f.moment(lineage, row, crate::lowering::Moment::Mean),
            (ImputeStrategy::Median, _) => f.percentile(lineage, row, 0.5),
            (ImputeStrategy::MostFrequent, _) => f.most_frequent(lineage, row),
            (ImputeStrategy::Constant, None) => {
                unreachable!("check resolves the default fill value")
            }
        };
        // scikit-learn's statistic of a column with no value is then 0.
        let fill = match self.keep_empty_features {
            true if self.strategy != ImputeStrategy::Constant => coalesce(fill, Expr::Number(0.0)),
            _ => fill,
        };
        // A constant stays a literal; a learned fill value is a named parameter.
        let fill = match fill {
            Expr::Number(_) | Expr::Text(_) => fill,
            _ => {
                let name = f.name(&format!("s{k}_fill"));
                let ty = f.feature.column_type;
                (f.fit).derived(name, fill, ty, "imputation fill value (statistics_)")
            }
        };
        docs.push(format!(
            "missing values replaced by {} ({})",
            strategy_doc(self.strategy),
            describe(&fill, f.fit)
        ));
        *lineage = Lineage::Imputed {
            prev: Box::new(lineage.clone()),
            prev_row: row.clone(),
            fill: fill.clone(),
        };
        f.record(k, "SimpleImputer", vec![("statistics_", attr(&fill))]);
        *row = coalesce(row.clone(), fill);
        if !self.add_indicator {
            return None;
        }
        let indicator = indicator(f, k, &input, &input_lineage);
        let column = &f.feature.column;
        let imputed = ApplyItem::Output(Output {
            name: column.clone(),
            expr: row.clone(),
            doc: format!("`{column}`: {}", docs.join("; then ")),
            span: f.feature.span.clone(),
            text: f.feature.column_type == ColumnType::String,
        });
        Some(vec![imputed, indicator])
    }

    /// Nothing is missing after an imputation.
    fn facts(&self, _: OutputFacts, _: bool) -> OutputFacts {
        OutputFacts {
            not_null: true,
            range: None,
        }
    }
}

/// scikit-learn's missing indicator (`MissingIndicator(features='missing-only')`):
/// a column `missingindicator_<column>`, 1 where `input` (the value before
/// the imputation) is missing, else 0, that exists only where the training
/// rows have a missing value: a learned column, written or not once the
/// fitted values are known (`lower::resolve_present`; the dbt package
/// decides when its model compiles).
fn indicator(f: &mut FeatureLowering, k: usize, input: &Expr, lineage: &Lineage) -> ApplyItem {
    let present = f.moment(lineage, input, Moment::Count);
    let missing = sub(Expr::Param(f.rows), present);
    let doc = "missing values in the training rows (the indicator column exists where above 0)";
    let id = f
        .fit
        .param_id(f.name(&format!("s{k}_missing")), missing, doc);
    f.record_more(vec![("n_missing_", Attr::Param(id))]);
    let column = &f.feature.column;
    let name = naming::missing_indicator(column);
    let expr = case(vec![(Cond::IsNull(input.clone()), num(1.0))], num(0.0));
    let doc = format!(
        "`{column}`: 1 where the value is missing, else 0 (scikit-learn's missing indicator)"
    );
    let parameter = f.fit.params[id].name.clone();
    let output = Output {
        name,
        expr,
        doc,
        span: f.feature.span.clone(),
        text: false,
    };
    Present {
        output,
        parameter,
        reason: "it exists only where the training rows have a missing value".into(),
    }
    .item()
}

/// `keep_empty_features`, or `None` where it cannot be: scikit-learn fills
/// an empty text column's most frequent value with the number 0, which no
/// text column can hold.
fn keep_empty_features(o: &spec::Impute, cx: &Context, diags: &mut Diagnostics) -> Option<bool> {
    let Some(keep) = o.keep_empty_features.as_ref().filter(|k| k.value) else {
        return Some(false);
    };
    if o.strategy == ImputeStrategy::MostFrequent && cx.ty == ColumnType::String {
        diags.push(
            Diagnostic::new(
                Code::StepConflict,
                format!(
                    "`keep_empty_features` fills the string column `{}` with the number 0 in scikit-learn",
                    cx.column
                ),
            )
            .at(span(keep))
            .hint("use `strategy: constant` with a text `fill_value` to fill an empty text column"),
        );
        return None;
    }
    Some(true)
}

fn strategy_name(s: ImputeStrategy) -> &'static str {
    match s {
        ImputeStrategy::Mean => "mean",
        ImputeStrategy::Median => "median",
        ImputeStrategy::MostFrequent => "most_frequent",
        ImputeStrategy::Constant => "constant",
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
