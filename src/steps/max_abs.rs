//! MaxAbsScaler: `scale: max_abs`.

use serde::Serialize;

use super::{Context, Step};
use crate::diagnostic::Diagnostics;
use crate::ir::build::div;
use crate::ir::{ApplyItem, Attr};
use crate::lowering::{FeatureLowering, FeatureValue, Lineage, Moment, attr, handle_zero_scale};
use crate::spec::MaxAbsOptions;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MaxAbs;

impl Step for MaxAbs {
    type Options = MaxAbsOptions;

    fn check(_: &MaxAbsOptions, _: &Context, _: &mut Diagnostics) -> Option<MaxAbs> {
        Some(MaxAbs)
    }

    fn sklearn_options(&self) -> serde_json::Value {
        serde_json::json!({})
    }

    fn lower(
        &self,
        f: &mut FeatureLowering,
        k: usize,
        value: &mut FeatureValue,
    ) -> Option<Vec<ApplyItem>> {
        let FeatureValue { row, lineage, docs } = value;
        let max_abs = f.moment(lineage, row, Moment::MaxAbs);
        let max_abs = f.statistic(k, "max_abs", max_abs, "largest absolute value (max_abs_)");
        let scale = f.statistic(k, "scale", handle_zero_scale(max_abs.clone()), "scale_");
        f.record(
            k,
            "MaxAbsScaler",
            vec![
                ("max_abs_", attr(&max_abs)),
                ("scale_", attr(&scale)),
                ("n_samples_seen_", Attr::Param(f.rows)),
            ],
        );
        *row = div(row.clone(), scale);
        docs.push("divided by the training maximum absolute value".into());
        *lineage = Lineage::Opaque;
        None
    }
}
