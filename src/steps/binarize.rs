//! Binarizer: `binarize: {threshold: 0.0}`.

use serde::Serialize;

use super::{Context, OutputFacts, Step};
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::ir::build::*;
use crate::ir::{ApplyItem, Cond};
use crate::lowering::{FeatureLowering, FeatureValue, Lineage};
use crate::spec::BinarizeOptions;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Binarize {
    pub threshold: f64,
}

impl Step for Binarize {
    type Options = BinarizeOptions;

    fn check(o: &BinarizeOptions, cx: &Context, diags: &mut Diagnostics) -> Option<Binarize> {
        if !cx.needs_numeric("binarize", diags) {
            return None;
        }
        if !o.threshold.is_finite() {
            diags.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    format!("the binarize threshold is {}", o.threshold),
                )
                .at(cx.at.clone())
                .hint("give a finite number, e.g. `binarize: {threshold: 0.5}`"),
            );
            return None;
        }
        Some(Binarize {
            threshold: o.threshold,
        })
    }

    fn sklearn_options(&self) -> serde_json::Value {
        serde_json::json!({"threshold": self.threshold})
    }

    /// 1 above the threshold (strictly), else 0. scikit-learn's Binarizer
    /// refuses a missing value, so the query stops on one, naming the column.
    fn lower(
        &self,
        f: &mut FeatureLowering,
        k: usize,
        value: &mut FeatureValue,
    ) -> Option<Vec<ApplyItem>> {
        let FeatureValue { row, lineage, docs } = value;
        let x = f.fit.shared(row.clone());
        let fail = super::missing_stops(f, &x, "binarize", "Binarizer");
        *row = case(
            vec![
                (Cond::IsNull(x.clone()), fail),
                (Cond::Gt(x, num(self.threshold)), num(1.0)),
            ],
            num(0.0),
        );
        f.record(k, "Binarizer", Vec::new());
        docs.push(format!(
            "1 where it is above {}, else 0",
            crate::text::float_text(self.threshold)
        ));
        *lineage = Lineage::Opaque;
        None
    }

    /// 0 or 1, never NULL (a missing value stops the query).
    fn facts(&self, _: OutputFacts, _: bool) -> OutputFacts {
        OutputFacts {
            not_null: true,
            range: Some((0.0, 1.0)),
        }
    }
}
