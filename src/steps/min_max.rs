//! MinMaxScaler: `scale: min_max` or `scale: {min_max: {feature_range, clip}}`.

use serde::Serialize;

use super::{Context, OutputFacts, Step, span};
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::ir::build::*;
use crate::ir::{ApplyItem, Attr, Cond};
use crate::lowering::{FeatureLowering, FeatureValue, Lineage, Moment, attr, handle_zero_scale};
use crate::spec::MinMaxOptions;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MinMax {
    pub min: f64,
    pub max: f64,
    pub clip: bool,
}

impl Step for MinMax {
    type Options = MinMaxOptions;

    fn check(o: &MinMaxOptions, _: &Context, diags: &mut Diagnostics) -> Option<MinMax> {
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
        Some(MinMax {
            min,
            max,
            clip: o.clip,
        })
    }

    fn sklearn_options(&self) -> serde_json::Value {
        serde_json::json!({"feature_range": [self.min, self.max], "clip": self.clip})
    }

    fn lower(
        &self,
        f: &mut FeatureLowering,
        k: usize,
        value: &mut FeatureValue,
    ) -> Option<Vec<ApplyItem>> {
        let FeatureValue { row, lineage, docs } = value;
        let MinMax { min, max, clip } = *self;
        let data_min = f.moment(lineage, row, Moment::Min);
        let data_max = f.moment(lineage, row, Moment::Max);
        let data_min = f.statistic(k, "data_min", data_min, "training minimum (data_min_)");
        let data_max = f.statistic(k, "data_max", data_max, "training maximum (data_max_)");
        let range = f.statistic(
            k,
            "data_range",
            sub(data_max.clone(), data_min.clone()),
            "data_max_ - data_min_ (data_range_)",
        );
        let scale = f.statistic(
            k,
            "scale",
            div(num(max - min), handle_zero_scale(range.clone())),
            "(max - min) / data range (scale_)",
        );
        let offset = f.statistic(
            k,
            "min",
            sub(num(min), mul(data_min.clone(), scale.clone())),
            "offset (min_)",
        );
        f.record(
            k,
            "MinMaxScaler",
            vec![
                ("data_min_", attr(&data_min)),
                ("data_max_", attr(&data_max)),
                ("data_range_", attr(&range)),
                ("scale_", attr(&scale)),
                ("min_", attr(&offset)),
                ("n_samples_seen_", Attr::Param(f.rows)),
            ],
        );
        *row = add(mul(row.clone(), scale), offset);
        if clip {
            // The clipped value reads the scaled one three times.
            let scaled = f.fit.shared(row.clone());
            *row = case(
                vec![
                    (Cond::Lt(scaled.clone(), num(min)), num(min)),
                    (Cond::Gt(scaled.clone(), num(max)), num(max)),
                ],
                scaled,
            );
        }
        docs.push(format!(
            "scaled to [{min}, {max}] by the training minimum and maximum{}",
            if clip { ", clipped" } else { "" }
        ));
        *lineage = Lineage::Opaque;
        None
    }

    /// Within the feature range: on every row when clipped, else on the
    /// training rows (every row the tests see, unless `fit.where` narrows them).
    fn facts(&self, before: OutputFacts, fit_filtered: bool) -> OutputFacts {
        OutputFacts {
            not_null: before.not_null,
            range: (self.clip || !fit_filtered).then_some((self.min, self.max)),
        }
    }
}
