//! Options of the steps that work across a row's columns (Normalizer,
//! PolynomialFeatures), one per group (or feature, a group of one): the
//! steps before it run on each column alone and the steps after it on each
//! of its outputs, as in a scikit-learn Pipeline inside a ColumnTransformer.

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

/// Normalizer's `norm`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Norm {
    /// The sum of absolute values.
    L1,
    /// The Euclidean length (scikit-learn's default).
    #[default]
    L2,
    /// The largest absolute value.
    Max,
}

/// `normalize: l2` or `normalize: {norm: l2}`: each row's values divided by
/// their norm (Normalizer).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NormalizeOptions {
    /// `l1`, `l2` (default) or `max`.
    #[serde(default)]
    pub norm: Norm,
}

/// `normalize: l2` is short for `normalize: {norm: l2}`.
pub(super) fn norm_shorthand<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<NormalizeOptions, D::Error> {
    super::shorthand(d, |s| serde_json::json!({ "norm": s }))
}

/// Schema of `normalize:`: a norm's name, or the options.
#[derive(JsonSchema)]
#[schemars(untagged)]
#[allow(dead_code)]
pub(super) enum NormalizeForm {
    Name(Norm),
    Options(NormalizeOptions),
}

/// PolynomialFeatures' `degree`: the highest degree, or `[min, max]`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Degree {
    Max(i64),
    Range([i64; 2]),
}

impl Default for Degree {
    fn default() -> Self {
        Degree::Max(2)
    }
}

/// `polynomial: {degree: 2}`: every product of the columns up to `degree`
/// (PolynomialFeatures), in scikit-learn's order.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolynomialOptions {
    /// The highest degree (default 2), or `[min_degree, max_degree]`.
    #[serde(default)]
    pub degree: Degree,
    /// Only products of distinct columns (no powers); default false.
    #[serde(default)]
    pub interaction_only: bool,
    /// A first column of ones, named `1` (default true, as scikit-learn's).
    #[serde(default = "yes")]
    pub include_bias: bool,
}

fn yes() -> bool {
    true
}
