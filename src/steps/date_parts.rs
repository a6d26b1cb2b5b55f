//! The parts of a date or timestamp: `date_parts: [year, month, day,
//! day_of_week, day_of_year, hour, minute]`, one output column
//! `<column>_<part>` each, the numbers pandas' `Series.dt` gives (`year`,
//! `month`, `day`, `dayofweek`: 0 for Monday to 6 for Sunday, `dayofyear`,
//! `hour`, `minute`). Not a scikit-learn transformer: scikit-learn's own
//! examples extract them with pandas before a pipeline; prep's
//! `export-sklearn` rebuilds it as a FunctionTransformer that does that.
//!
//! The column is read as a timestamp without time zone (the dialect file's
//! `types.timestamp`): a date is its midnight, a value with a time zone is
//! read in the session's. A missing value is missing in every part.

use serde::Serialize;

use super::{Context, OutputFacts, Step};
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::ir::{ApplyItem, Expr, Output};
use crate::lowering::{FeatureLowering, FeatureValue};
use crate::naming;
use crate::spec::DatePart;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DateParts {
    pub parts: Vec<DatePart>,
}

impl Step for DateParts {
    type Options = Vec<serde_saphyr::Spanned<DatePart>>;

    fn check(o: &Self::Options, cx: &Context, diags: &mut Diagnostics) -> Option<DateParts> {
        if o.is_empty() {
            diags.push(
                Diagnostic::new(Code::InvalidValue, "`date_parts` lists no part")
                    .at(cx.at.clone())
                    .hint(
                        "list the parts to extract, e.g. `date_parts: [year, month, day_of_week]`",
                    ),
            );
            return None;
        }
        let mut parts = Vec::new();
        for part in o {
            if parts.contains(&part.value) {
                diags.push(
                    Diagnostic::new(
                        Code::InvalidValue,
                        format!("`date_parts` lists `{}` twice", part.value.name()),
                    )
                    .at(super::span(part).or_else(|| cx.at.clone()))
                    .hint("list each part once: it names one output column"),
                );
                return None;
            }
            parts.push(part.value);
        }
        Some(DateParts { parts })
    }

    fn sklearn_options(&self) -> serde_json::Value {
        let parts: Vec<&str> = self.parts.iter().map(|p| p.name()).collect();
        serde_json::json!({"func": "date_parts", "kw_args": {"parts": parts}})
    }

    /// Ends its feature: one output column per part. It reads the column as
    /// stored (it is the feature's first step: `check_feature` says so).
    fn lower(
        &self,
        f: &mut FeatureLowering,
        k: usize,
        _: &mut FeatureValue,
    ) -> Option<Vec<ApplyItem>> {
        let feature = f.feature;
        let column = &feature.column;
        let at = f
            .fit
            .shared(Expr::ToTimestamp(Box::new(Expr::Column(column.clone()))));
        f.record(k, "FunctionTransformer", Vec::new());
        let outputs = (self.parts.iter())
            .map(|&part| {
                ApplyItem::Output(Output {
                    name: naming::one_hot_column(column, part.name()),
                    expr: Expr::DatePart(part, Box::new(at.clone())),
                    doc: format!("`{column}`: {}", describe(part)),
                    span: feature.span.clone(),
                    text: false,
                })
            })
            .collect();
        Some(outputs)
    }

    /// Missing where the date is; within the parts' ranges unless the year
    /// is one of them.
    fn facts(&self, before: OutputFacts, _: bool) -> OutputFacts {
        let ranges: Option<Vec<(f64, f64)>> = self.parts.iter().map(|p| p.range()).collect();
        OutputFacts {
            not_null: before.not_null,
            range: ranges.map(|r| {
                (r.iter()).fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (a, b)| {
                    (lo.min(*a), hi.max(*b))
                })
            }),
        }
    }
}

fn describe(part: DatePart) -> &'static str {
    match part {
        DatePart::Year => "the year",
        DatePart::Month => "the month, 1 to 12",
        DatePart::Day => "the day of the month, 1 to 31",
        DatePart::DayOfWeek => "the day of the week, 0 (Monday) to 6 (Sunday)",
        DatePart::DayOfYear => "the day of the year, 1 to 366",
        DatePart::Hour => "the hour, 0 to 23",
        DatePart::Minute => "the minute, 0 to 59",
    }
}
