//! StandardScaler: `scale: standard` or `scale: {standard: {with_mean, with_std}}`.

use serde::Serialize;

use super::{Context, Step};
use crate::diagnostic::Diagnostics;
use crate::ir::build::*;
use crate::ir::{ApplyItem, Attr, Cond, Expr};
use crate::lowering::{EPS, FeatureLowering, FeatureValue, Lineage, Moment, attr};
use crate::spec::StandardOptions;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Standard {
    pub with_mean: bool,
    pub with_std: bool,
}

impl Step for Standard {
    type Options = StandardOptions;

    fn check(o: &StandardOptions, _: &Context, _: &mut Diagnostics) -> Option<Standard> {
        Some(Standard {
            with_mean: o.with_mean,
            with_std: o.with_std,
        })
    }

    fn sklearn_options(&self) -> serde_json::Value {
        serde_json::json!({"with_mean": self.with_mean, "with_std": self.with_std})
    }

    fn lower(
        &self,
        f: &mut FeatureLowering,
        k: usize,
        value: &mut FeatureValue,
    ) -> Option<Vec<ApplyItem>> {
        let attributes = self.standardize(f, k, value);
        f.record(k, "StandardScaler", attributes);
        None
    }
}

impl Standard {
    /// The scaler on `value`: its statistics learned, the value centred and
    /// scaled, its sentence said; returns scikit-learn's fitted attributes
    /// (PowerTransformer's standardisation is this scaler).
    pub(super) fn standardize(
        &self,
        f: &mut FeatureLowering,
        k: usize,
        value: &mut FeatureValue,
    ) -> Vec<(&'static str, Attr)> {
        let FeatureValue { row, lineage, docs } = value;
        let n = f.moment(lineage, row, Moment::Count);
        let n = f.statistic(k, "n", n, "non-missing values seen (n_samples_seen_)");
        let mean = f.moment(lineage, row, Moment::Mean);
        let var = f.moment(lineage, row, Moment::Var);
        let mean = f.statistic(k, "mean", mean, "mean (mean_)");
        let var = f.statistic(k, "var", var, "population variance (var_)");
        let Standard {
            with_mean,
            with_std,
        } = *self;
        let mean_attr = if with_mean || with_std {
            attr(&mean)
        } else {
            Attr::Null
        };
        let var_attr = if with_std { attr(&var) } else { Attr::Null };
        let mut attributes = vec![
            ("mean_", mean_attr),
            ("var_", var_attr),
            ("n_samples_seen_", attr(&n)),
        ];
        if with_mean {
            *row = sub(row.clone(), mean.clone());
        }
        if with_std {
            let bound = constant_bound(f, (k, ""), n, mean, &var);
            let scale = case(
                vec![(Cond::Le(var.clone(), bound), num(1.0))],
                Expr::Sqrt(Box::new(var)),
            );
            let doc = "standard deviation, 1 for constant features (scale_)";
            let scale = f.statistic(k, "scale", scale, doc);
            attributes.push(("scale_", attr(&scale)));
            *row = div(row.clone(), scale);
        }
        docs.push(format!(
            "standardised{}{}",
            if with_mean {
                ", centred on the training mean"
            } else {
                ""
            },
            if with_std {
                ", divided by the training population standard deviation"
            } else {
                ""
            }
        ));
        *lineage = Lineage::Opaque;
        attributes
    }
}

/// The variance at or below which scikit-learn's _is_constant_feature
/// calls a feature constant: n*eps*var + (n*mean*eps)^2, evaluated in that
/// order. Both factors are named: a guarded product repeats its operands.
/// The working values are named `<label>n_eps` and `<label>mean_eps`.
pub(super) fn constant_bound(
    f: &mut FeatureLowering,
    (k, label): (usize, &str),
    n: Expr,
    mean: Expr,
    var: &Expr,
) -> Expr {
    let n_eps = mul(n.clone(), num(EPS));
    let n_eps = f.working(k, &format!("{label}n_eps"), n_eps, "n * eps");
    let mean_eps = mul(mul(n, mean), num(EPS));
    let mean_eps = f.working(k, &format!("{label}mean_eps"), mean_eps, "n * mean * eps");
    add(
        product(n_eps, var.clone()),
        product(mean_eps.clone(), mean_eps),
    )
}
