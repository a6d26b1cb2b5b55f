//! RobustScaler: `scale: robust` or
//! `scale: {robust: {with_centering, with_scaling, quantile_range}}`.

use serde::Serialize;

use super::{Context, Step, span};
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::ir::build::*;
use crate::ir::{ApplyItem, Attr};
use crate::lowering::{FeatureLowering, FeatureValue, Lineage, attr, handle_zero_scale};
use crate::normal;
use crate::spec::RobustOptions;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Robust {
    pub with_centering: bool,
    pub with_scaling: bool,
    /// Percentiles, 0 to 100.
    pub q_min: f64,
    pub q_max: f64,
    /// Left out of the spec's hash when false, so specs without it keep theirs.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unit_variance: bool,
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
        let unit_variance = o.unit_variance.as_ref().is_some_and(|u| u.value);
        // Φ⁻¹ of 0 or 100 is infinite, and equal percentiles give no spread.
        if unit_variance && !(0.0 < q_min && q_min < q_max && q_max < 100.0) {
            diags.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    format!("unit_variance with quantile_range [{q_min}, {q_max}] divides by an infinite or zero spread"),
                )
                .at(o.unit_variance.as_ref().and_then(span))
                .hint("use percentiles strictly between 0 and 100, the first below the second"),
            );
            return None;
        }
        Some(Robust {
            with_centering: o.with_centering,
            with_scaling: o.with_scaling,
            q_min,
            q_max,
            unit_variance,
        })
    }

    fn sklearn_options(&self) -> serde_json::Value {
        let mut options = serde_json::json!({
            "with_centering": self.with_centering,
            "with_scaling": self.with_scaling,
            "quantile_range": [self.q_min, self.q_max],
        });
        // Only when set: fitted files written before the option stay as they were.
        if self.unit_variance {
            options["unit_variance"] = true.into();
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
        let Robust {
            with_centering,
            with_scaling,
            q_min,
            q_max,
            unit_variance,
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
            let mut spread = handle_zero_scale(sub(hi, lo));
            if unit_variance {
                // scikit-learn divides after a zero spread became 1.
                let adjust = normal::ppf(q_max / 100.0) - normal::ppf(q_min / 100.0);
                spread = div(spread, num(adjust));
            }
            let scale = f.statistic(k, "scale", spread, "interquantile range (scale_)");
            f.record_more(vec![("scale_", attr(&scale))]);
            *row = div(row.clone(), scale);
        }
        docs.push(format!(
            "robust-scaled (median, percentiles {q_min}-{q_max}{})",
            if unit_variance { ", unit variance" } else { "" }
        ));
        *lineage = Lineage::Opaque;
        None
    }
}
