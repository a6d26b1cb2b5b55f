//! RobustScaler: `scale: robust` or
//! `scale: {robust: {with_centering, with_scaling, quantile_range}}`.

use serde::Serialize;

use super::{Context, Step, span};
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::ir::build::*;
use crate::ir::{ApplyItem, Attr};
use crate::lowering::{FeatureLowering, FeatureValue, Lineage, attr, handle_zero_scale};
use crate::spec::RobustOptions;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Robust {
    pub with_centering: bool,
    pub with_scaling: bool,
    /// Percentiles, 0 to 100.
    pub q_min: f64,
    pub q_max: f64,
}

impl Step for Robust {
    type Options = RobustOptions;

    fn check(o: &RobustOptions, _: &Context, diags: &mut Diagnostics) -> Option<Robust> {
        let [q_min, q_max] = o.quantile_range.as_ref().map_or([25.0, 75.0], |r| r.value);
        if !(0.0 <= q_min && q_min <= q_max && q_max <= 100.0) {
            diags.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    format!("quantile_range [{q_min}, {q_max}] is invalid"),
                )
                .at(o.quantile_range.as_ref().and_then(span))
                .hint("give two percentiles with 0 <= q_min <= q_max <= 100, e.g. `[25, 75]`"),
            );
            return None;
        }
        Some(Robust {
            with_centering: o.with_centering,
            with_scaling: o.with_scaling,
            q_min,
            q_max,
        })
    }

    fn sklearn_options(&self) -> serde_json::Value {
        serde_json::json!({
            "with_centering": self.with_centering,
            "with_scaling": self.with_scaling,
            "quantile_range": [self.q_min, self.q_max],
        })
    }

    fn lower(
        &self,
        f: &mut FeatureLowering,
        k: usize,
        value: &mut FeatureValue,
    ) -> Option<Vec<ApplyItem>> {
        let FeatureValue { row, lineage, docs } = value;
        let Robust {
            with_centering,
            with_scaling,
            q_min,
            q_max,
        } = *self;
        // Both the median and the percentiles are of the values before centring.
        let values = row.clone();
        f.record(
            k,
            "RobustScaler",
            vec![("center_", Attr::Null), ("scale_", Attr::Null)],
        );
        if with_centering {
            let center = f.percentile(lineage, &values, 0.5);
            let center = f.statistic(k, "center", center, "median (center_)");
            f.record_more(vec![("center_", attr(&center))]);
            *row = sub(row.clone(), center);
        }
        if with_scaling {
            let lo = f.percentile(lineage, &values, q_min / 100.0);
            let hi = f.percentile(lineage, &values, q_max / 100.0);
            let scale = f.statistic(
                k,
                "scale",
                handle_zero_scale(sub(hi, lo)),
                "interquantile range (scale_)",
            );
            f.record_more(vec![("scale_", attr(&scale))]);
            *row = div(row.clone(), scale);
        }
        docs.push(format!(
            "robust-scaled (median, percentiles {q_min}-{q_max})"
        ));
        *lineage = Lineage::Opaque;
        None
    }
}
