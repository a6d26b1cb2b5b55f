//! Options of the steps that transform each value on its own (Binarizer,
//! FunctionTransformer, cyclical encoding).

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use serde_saphyr::Spanned;

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BinarizeOptions {
    /// Values above it (strictly) become 1, the others 0; default 0.
    #[serde(default)]
    pub threshold: f64,
}

/// A NumPy function applied to each value (FunctionTransformer).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Function {
    Log,
    Log1p,
    Sqrt,
    Exp,
    Abs,
    Sign,
    Square,
    /// `np.clip(x, lo, hi)`.
    Clip([f64; 2]),
}

/// Schema of `function:`: a function name, or `{clip: [lo, hi]}`.
#[derive(JsonSchema)]
#[schemars(untagged)]
#[allow(dead_code)]
pub(super) enum FunctionForm {
    Name(FunctionName),
    Clip { clip: [f64; 2] },
}

#[derive(JsonSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub(super) enum FunctionName {
    Log,
    Log1p,
    Sqrt,
    Exp,
    Abs,
    Sign,
    Square,
}

/// `function: log` is the variant `log` itself.
pub(super) fn name_shorthand<'de, D: Deserializer<'de>>(d: D) -> Result<Function, D::Error> {
    super::shorthand(d, |s| serde_json::json!(s))
}

/// `cyclical: {period: 24}`: sine and cosine of the value's angle on a
/// circle of `period` (hours of a day, days of a week, months).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CyclicalOptions {
    /// The length of one turn, in the value's unit (positive).
    pub period: f64,
}

/// `power: {method: yeo-johnson, standardize: true}`: PowerTransformer, a
/// power transform whose λ maximises the likelihood of the training values.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PowerOptions {
    /// `yeo-johnson` (the default: any values).
    #[serde(default)]
    pub method: PowerMethod,
    /// Standardise the transformed values (zero mean, unit variance, as
    /// StandardScaler); default true.
    #[serde(default = "yes")]
    pub standardize: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PowerMethod {
    #[default]
    YeoJohnson,
}

/// A part of a date or timestamp (`date_parts: [year, month, ...]`), as
/// pandas' `Series.dt` reads it: the calendar's numbers, `day_of_week` 0 for
/// Monday to 6 for Sunday (`dt.dayofweek`, Python's `weekday()`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DatePart {
    Year,
    Month,
    Day,
    DayOfWeek,
    DayOfYear,
    Hour,
    Minute,
}

impl DatePart {
    /// The part as the spec writes it (and its output column's suffix).
    pub fn name(self) -> &'static str {
        match self {
            DatePart::Year => "year",
            DatePart::Month => "month",
            DatePart::Day => "day",
            DatePart::DayOfWeek => "day_of_week",
            DatePart::DayOfYear => "day_of_year",
            DatePart::Hour => "hour",
            DatePart::Minute => "minute",
        }
    }

    /// The values the part takes, where they are bounded (not the year).
    pub fn range(self) -> Option<(f64, f64)> {
        match self {
            DatePart::Year => None,
            DatePart::Month => Some((1.0, 12.0)),
            DatePart::Day => Some((1.0, 31.0)),
            DatePart::DayOfWeek => Some((0.0, 6.0)),
            DatePart::DayOfYear => Some((1.0, 366.0)),
            DatePart::Hour => Some((0.0, 23.0)),
            DatePart::Minute => Some((0.0, 59.0)),
        }
    }
}

/// `spline: {n_knots: 5, degree: 3, ...}`: SplineTransformer, a B-spline
/// basis of the value, one column `<column>_sp_<j>` per basis function.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SplineOptions {
    /// Knots of the base interval, from the training minimum to the maximum (at least 2); default 5.
    #[serde(default = "five")]
    pub n_knots: i64,
    /// The polynomial degree of the pieces; default 3.
    #[serde(default = "three")]
    pub degree: i64,
    /// Where the base knots are: `uniform` (the default: equally spaced over
    /// the training range) or `quantile` (the training percentiles at equally
    /// spaced ranks, numpy's linear interpolation).
    #[serde(default)]
    pub knots: SplineKnots,
    /// Outside the training range: `constant` (the default), `linear`, `continue`, `error`,
    /// or `periodic` (the basis repeats over the training span).
    #[serde(default)]
    pub extrapolation: SplineExtrapolation,
    /// Keep the last basis function (the basis sums to 1); default true.
    #[serde(default = "yes")]
    pub include_bias: bool,
    /// A missing value: `error` (the default: it stops the query) or `zeros` (every column 0).
    #[serde(default)]
    pub handle_missing: SplineMissing,
}

fn five() -> i64 {
    5
}

fn three() -> i64 {
    3
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SplineKnots {
    #[default]
    Uniform,
    Quantile,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SplineExtrapolation {
    Error,
    #[default]
    Constant,
    Linear,
    Continue,
    Periodic,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SplineMissing {
    #[default]
    Error,
    Zeros,
}

/// `quantile: {n_quantiles: 1000, output_distribution: uniform}`:
/// QuantileTransformer, the value's place among the training quantiles.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuantileOptions {
    /// How many quantiles to learn (at least 1; at most the number of fit
    /// rows, as scikit-learn caps it); default 1000.
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub n_quantiles: Option<Spanned<i64>>,
    /// `uniform` (the default: values in [0, 1]) or `normal` (the standard
    /// normal's quantile of that, clipped at 1e-7 from each end).
    #[serde(default)]
    pub output_distribution: OutputDistribution,
    /// scikit-learn fits on a random sample of this many rows when there are
    /// more (default 10000; `null`: every row). prep always fits on every
    /// row: with more rows than this, its quantiles are the exact ones, not
    /// a sample's.
    #[serde(default)]
    #[schemars(with = "Option<Option<u64>>")]
    pub subsample: Option<Spanned<Option<i64>>>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutputDistribution {
    #[default]
    Uniform,
    Normal,
}
