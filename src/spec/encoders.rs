//! Options of the encoders, `one_hot` and `ordinal`, with scikit-learn's
//! names and defaults.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use super::{Categories, OrderedMap, Scalar};

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OneHot {
    #[serde(default)]
    pub categories: Categories,
    /// `first`, `if_binary`, or `{category: value}`; absent or null keeps every column.
    #[serde(default)]
    #[schemars(with = "Option<Drop>")]
    pub drop: Option<Spanned<Drop>>,
    #[serde(default)]
    pub handle_unknown: OneHotUnknown,
    /// Categories seen fewer times become infrequent: a count (integer) or a fraction of rows (0 < f < 1).
    #[serde(default)]
    #[schemars(with = "Option<f64>")]
    pub min_frequency: Option<Spanned<f64>>,
    /// Keep at most this many output columns per feature, counting the infrequent column.
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub max_categories: Option<Spanned<u32>>,
    /// Output column suffix per category, replacing the derived one: `{"Pro Plus": pro_plus}`.
    #[serde(default)]
    pub names: OrderedMap<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Drop {
    First,
    IfBinary,
    Category(Scalar),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OneHotUnknown {
    #[default]
    Error,
    Ignore,
    InfrequentIfExist,
    /// scikit-learn warns and encodes as `infrequent_if_exist`: so does prep,
    /// and the rows holding an unknown category are reported (a dbt test of
    /// severity `warn`; a warning from `prep preview` and `prep report`).
    Warn,
}

impl OneHotUnknown {
    /// Whether an unknown category goes to the infrequent column (if any).
    pub fn groups_unknown(self) -> bool {
        matches!(self, OneHotUnknown::InfrequentIfExist | OneHotUnknown::Warn)
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ordinal {
    #[serde(default)]
    pub categories: Categories,
    #[serde(default)]
    pub handle_unknown: OrdinalUnknown,
    /// Code for unknown categories with `handle_unknown: use_encoded_value`; `.nan` means NULL.
    #[serde(default)]
    #[schemars(with = "Option<f64>")]
    pub unknown_value: Option<Spanned<f64>>,
    /// Code for missing values; default `.nan` (NULL).
    #[serde(default)]
    #[schemars(with = "Option<f64>")]
    pub encoded_missing_value: Option<Spanned<f64>>,
    /// As in `one_hot`: infrequent categories share the code after the frequent ones.
    #[serde(default)]
    #[schemars(with = "Option<f64>")]
    pub min_frequency: Option<Spanned<f64>>,
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub max_categories: Option<Spanned<u32>>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrdinalUnknown {
    #[default]
    Error,
    UseEncodedValue,
}
