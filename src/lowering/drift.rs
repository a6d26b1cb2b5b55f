//! What the fit learns for drift (see `drift.rs`): per numeric feature the
//! moments, range, quantile bin edges and how many training values fall
//! below each edge; per text or boolean feature its categories with their
//! counts. All of the input column as stored, before any step.

use crate::ir::build::*;
use crate::ir::{Agg, Cond, Expr, ParamId, Vocabulary};
use crate::ir::{DriftFeature, DriftPlan, Learned};
use crate::spec::ColumnType;
use crate::spec::drift::Drift;

use super::{FeatureInfo, FeatureLowering, Fit, Lineage, Moment};

/// Adds what `drift` measures against to the fit of `features` (each with its parameter prefix).
pub(crate) fn lower(
    fit: &mut Fit,
    drift: &Drift,
    features: &[(FeatureInfo, String)],
    rows: ParamId,
) -> DriftPlan {
    // A date's drift is not measured (yet): its parts are numbers prep
    // could compare, the date itself is not.
    let features = (features.iter())
        .filter(|(info, _)| !info.temporal)
        .map(|(info, prefix)| {
            let mut f = FeatureLowering {
                fit: &mut *fit,
                fitted: None,
                feature: info,
                prefix: prefix.clone(),
                rows,
            };
            if info.column_type == ColumnType::Numeric && !info.boolean {
                numeric(&mut f, drift.bins)
            } else {
                categorical(&mut f)
            }
        })
        .collect();
    DriftPlan {
        drift: drift.clone(),
        rows,
        features,
    }
}

fn numeric(f: &mut FeatureLowering, bins: usize) -> DriftFeature {
    let value = f.feature.read();
    let raw = Lineage::Raw;
    let id = |f: &mut FeatureLowering, label: &str, e: Expr| {
        let name = f.name(&format!("drift_{label}"));
        f.fit.param_id(name, e, "learned for drift")
    };
    let moment = |f: &mut FeatureLowering, m| f.moment(&raw, &value, m);
    let count = moment(f, Moment::Count);
    let count = id(f, "n", count);
    let [mean, var, min, max] =
        [Moment::Mean, Moment::Var, Moment::Min, Moment::Max].map(|m| moment(f, m));
    let [mean, var, min, max] = [("mean", mean), ("var", var), ("min", min), ("max", max)]
        .map(|(label, e)| id(f, label, e));
    let edges: Vec<ParamId> = (1..bins)
        .map(|k| {
            let edge = f.percentile(&raw, &value, k as f64 / bins as f64);
            id(f, &format!("edge{k}"), edge)
        })
        .collect();
    let below = (edges.iter().enumerate())
        .map(|(k, &edge)| {
            let under = Cond::Lt(value.clone(), Expr::Param(edge));
            let agg = Agg::Count(case(vec![(under, num(1.0))], Expr::Null));
            let name = f.name(&format!("l1_drift_below{}", k + 1));
            let doc = format!("training values below drift bin edge {}", k + 1);
            f.fit
                .aggregate(name, 1, agg, ColumnType::Numeric, Some(&doc))
        })
        .collect();
    DriftFeature {
        feature: f.feature.column.clone(),
        value,
        count,
        learned: Learned::Numeric {
            mean,
            var,
            min,
            max,
            edges,
            below,
        },
    }
}

/// Text, and booleans as their `True`/`False` categories.
fn categorical(f: &mut FeatureLowering) -> DriftFeature {
    let value = f.feature.read_as(ColumnType::String);
    let count = f.fit.aggregate(
        f.name("drift_n"),
        0,
        Agg::Count(value.clone()),
        ColumnType::Numeric,
        Some("non-missing training values, learned for drift"),
    );
    // An encoder of the column as stored learns the same categories.
    let same = |v: &&Vocabulary| v.level == 0 && v.expr == value && v.quantiles.is_none();
    let vocabulary = match f.fit.vocabularies.iter().find(same) {
        Some(v) => v.name.clone(),
        None => {
            let name = f.name("drift_categories");
            f.fit.vocabularies.push(Vocabulary {
                name: name.clone(),
                feature: f.feature.column.clone(),
                level: 0,
                expr: value.clone(),
                quantiles: None,
                value_type: ColumnType::String,
            });
            name
        }
    };
    DriftFeature {
        feature: f.feature.column.clone(),
        value,
        count,
        learned: Learned::Categorical { vocabulary },
    }
}
