//! Cyclical encoding: `cyclical: {period: 24}`, the sine and cosine of the
//! value's angle on a circle of `period` — scikit-learn's recipe for time
//! features, `FunctionTransformer(lambda x: np.sin(x / period * 2 * np.pi))`
//! and its cosine, computed in the same order. Two columns, `<column>_sin`
//! and `<column>_cos`; a missing value stays missing in both.

use serde::Serialize;

use super::{Context, OutputFacts, Step};
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::ir::build::*;
use crate::ir::{ApplyItem, Expr, Output};
use crate::lowering::{FeatureLowering, FeatureValue, steps_before};
use crate::naming;
use crate::spec::CyclicalOptions;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cyclical {
    pub period: f64,
}

impl Step for Cyclical {
    type Options = CyclicalOptions;

    fn check(o: &CyclicalOptions, cx: &Context, diags: &mut Diagnostics) -> Option<Cyclical> {
        if !cx.needs_numeric("cyclical", diags) {
            return None;
        }
        if !(o.period.is_finite() && o.period > 0.0) {
            diags.push(
                Diagnostic::new(Code::InvalidValue, format!("the cyclical period is {}", o.period))
                    .at(cx.at.clone())
                    .hint("give the length of one turn, a positive number, e.g. `cyclical: {period: 24}` for hours"),
            );
            return None;
        }
        Some(Cyclical { period: o.period })
    }

    fn sklearn_options(&self) -> serde_json::Value {
        serde_json::json!({"func": "cyclical", "kw_args": {"period": self.period}})
    }

    /// Ends its feature: two output columns.
    fn lower(
        &self,
        f: &mut FeatureLowering,
        k: usize,
        value: &mut FeatureValue,
    ) -> Option<Vec<ApplyItem>> {
        let x = f.fit.shared(value.row.clone());
        // x / period * 2 * pi, in that order, as the recipe writes it.
        let angle = mul(
            mul(div(x, num(self.period)), num(2.0)),
            num(std::f64::consts::PI),
        );
        let angle = f.fit.shared(angle);
        f.record(k, "FunctionTransformer", Vec::new());
        let feature = f.feature;
        let column = &feature.column;
        let before = steps_before(&value.docs);
        let period = crate::text::float_text(self.period);
        let output = |suffix: &str, expr: Expr| {
            ApplyItem::Output(Output {
                name: naming::one_hot_column(column, suffix),
                expr,
                doc: format!("`{column}`: {before}{suffix} of 2π·value/{period}"),
                span: feature.span.clone(),
                text: false,
            })
        };
        Some(vec![
            output("sin", Expr::Sin(Box::new(angle.clone()))),
            output("cos", Expr::Cos(Box::new(angle))),
        ])
    }

    /// Within [-1, 1]; missing where the value is.
    fn facts(&self, before: OutputFacts, _: bool) -> OutputFacts {
        OutputFacts {
            not_null: before.not_null,
            range: Some((-1.0, 1.0)),
        }
    }
}
