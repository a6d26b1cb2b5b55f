//! Options of `bins` (KBinsDiscretizer), with scikit-learn's names and defaults.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BinsOptions {
    /// How many bins, at least 2; default 5.
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub n_bins: Option<Spanned<i64>>,
    /// Where the edges are: `uniform` (equal widths between the minimum and
    /// the maximum), `quantile` (the default: equal counts), or `kmeans`
    /// (refused: see the README).
    #[serde(default)]
    #[schemars(with = "Option<BinStrategy>")]
    pub strategy: Option<Spanned<BinStrategy>>,
    /// `onehot` (the default) or `onehot-dense`: a column `<column>_<i>` per
    /// bin the fit kept; `ordinal`: the bin's index, 0 to n_bins - 1.
    #[serde(default)]
    #[schemars(with = "Option<BinEncode>")]
    pub encode: Option<Spanned<BinEncode>>,
    /// numpy's percentile method for `strategy: quantile`; default
    /// `averaged_inverted_cdf` (scikit-learn 1.9's).
    #[serde(default)]
    pub quantile_method: Option<QuantileMethod>,
    /// scikit-learn fits on a random sample of this many rows when there are
    /// more (default 200000; `null`: every row). prep always fits on every
    /// row: with more rows than this, its edges are the exact ones, not a
    /// sample's.
    #[serde(default)]
    pub subsample: Option<Option<u64>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BinStrategy {
    Uniform,
    Quantile,
    Kmeans,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum BinEncode {
    #[serde(rename = "ordinal")]
    Ordinal,
    #[serde(rename = "onehot")]
    Onehot,
    #[serde(rename = "onehot-dense")]
    OnehotDense,
}

/// numpy's percentile methods prep computes exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuantileMethod {
    AveragedInvertedCdf,
    InvertedCdf,
    Linear,
}
