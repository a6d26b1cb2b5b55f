//! The YAML spec: typed with serde (the JSON Schema is derived from the same
//! types with schemars), with source locations kept through `Spanned`.
//! Validation beyond shape lives in `check.rs`.

use std::marker::PhantomData;

use schemars::JsonSchema;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use crate::diagnostic::Span;

mod across;
mod bins;
pub mod dbt;
pub mod drift;
mod encoders;
mod ordered_map;
mod row_steps;
pub use across::{Degree, Norm, NormalizeOptions, PolynomialOptions};
use across::{NormalizeForm, norm_shorthand};
pub use bins::{BinEncode, BinStrategy, BinsOptions, QuantileMethod};
pub use encoders::{Drop, OneHot, OneHotUnknown, Ordinal, OrdinalUnknown};
pub use ordered_map::OrderedMap;
pub use row_steps::{
    BinarizeOptions, CyclicalOptions, DatePart, Function, OutputDistribution, PowerMethod,
    PowerOptions, QuantileOptions, SplineExtrapolation, SplineKnots, SplineMissing, SplineOptions,
};
use row_steps::{FunctionForm, name_shorthand};
mod yaml;
pub use yaml::parse;

/// A preprocessing spec: where the rows come from and, per feature column, its steps.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "prep spec", extend("additionalProperties" = false))]
pub struct Spec {
    /// Name of the feature set. Names the generated models and the fitted-parameters relation.
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// Free text, copied into generated documentation.
    #[serde(default)]
    pub description: Option<String>,
    /// Who owns these features (a team or a person).
    #[serde(default)]
    pub owner: Option<String>,
    /// dbt grants of the generated models, e.g. `{select: [reporter]}`.
    #[serde(default)]
    #[schemars(with = "Option<std::collections::BTreeMap<String, Vec<String>>>")]
    pub grants: Option<OrderedMap<Vec<Spanned<String>>>>,
    /// The relation the rows come from.
    #[schemars(with = "Source")]
    pub source: Spanned<Source>,
    /// Columns that identify a row; copied to the output unchanged.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub keys: Vec<Spanned<String>>,
    /// Other columns copied to the output unchanged.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub passthrough: Vec<Spanned<String>>,
    /// Which rows the statistics are learned from.
    #[serde(default)]
    pub fit: Option<Fit>,
    /// Feature columns, in output order: column name to its steps (or `{type, steps}`).
    #[serde(default)]
    pub features: OrderedMap<Feature>,
    /// Several columns that share the same steps, written once.
    #[serde(default)]
    pub groups: Vec<Group>,
    /// Add a column `prep_spec_hash` to the features: the hash of the spec
    /// whose fitted statistics scored each row (it is checked against the
    /// stored statistics' before any row is scored).
    #[serde(default)]
    pub provenance: bool,
    /// The output is written to Delta tables with column mapping on
    /// (`delta.columnMapping.mode = 'name'`), which hold any column name:
    /// prep then does not refuse names with ` ,;{}()=` on databricks.
    #[serde(default)]
    pub delta_column_mapping: bool,
    /// Learn what drift and skew are measured against (see README, "Drift").
    #[serde(default)]
    pub drift: Option<drift::DriftSpec>,
    /// The dbt package's contract, data types and exposure (README, "dbt package").
    #[serde(default)]
    pub dbt: Option<dbt::DbtSpec>,
}

/// Where the rows come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Source {
    /// A dbt model: `{ref: customer_activity}`.
    Ref(String),
    /// A dbt source: `{source: {name: raw, table: customers}}`.
    Source { name: String, table: String },
    /// A plain relation name, optionally qualified: `{table: analytics.customer_activity}`.
    Table(String),
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Fit {
    /// A SQL boolean expression over source columns; only matching rows are used to learn statistics.
    #[serde(rename = "where", default)]
    #[schemars(with = "Option<String>")]
    pub filter: Option<Spanned<String>>,
}

/// The type a feature's steps work in: numbers or texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    Numeric,
    String,
}

/// A column's declared type. Without one, prep infers it from the steps.
/// A boolean column is read as scikit-learn reads a bool column: 0 and 1 for
/// numeric steps, the categories `False` and `True` for encoders and imputers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeclaredType {
    Numeric,
    String,
    Boolean,
}

impl DeclaredType {
    /// The type as the spec writes it.
    pub fn name(self) -> &'static str {
        match self {
            DeclaredType::Numeric => "numeric",
            DeclaredType::String => "string",
            DeclaredType::Boolean => "boolean",
        }
    }
}

/// Steps of one feature column: a list, or `{type: numeric|string|boolean, steps: [...]}`.
#[derive(Debug, JsonSchema)]
#[schemars(untagged)]
pub enum Feature {
    Steps(#[schemars(with = "Vec<Step>")] Vec<Spanned<Step>>),
    Typed(TypedFeature),
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TypedFeature {
    #[serde(rename = "type", default)]
    #[schemars(with = "Option<DeclaredType>")]
    pub column_type: Option<Spanned<DeclaredType>>,
    #[schemars(with = "Vec<Step>")]
    pub steps: Vec<Spanned<Step>>,
}

impl Feature {
    pub fn steps(&self) -> &[Spanned<Step>] {
        match self {
            Feature::Steps(s) => s,
            Feature::Typed(t) => &t.steps,
        }
    }

    pub fn column_type(&self) -> Option<&Spanned<DeclaredType>> {
        match self {
            Feature::Steps(_) => None,
            Feature::Typed(t) => t.column_type.as_ref(),
        }
    }
}

impl<'de> Deserialize<'de> for Feature {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Feature;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of steps, or a map with `type` and `steps`")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Feature, A::Error> {
                Deserialize::deserialize(de::value::SeqAccessDeserializer::new(seq))
                    .map(Feature::Steps)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Feature, A::Error> {
                Deserialize::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(Feature::Typed)
            }
        }
        d.deserialize_any(V)
    }
}

/// Columns sharing one list of steps.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Group {
    #[schemars(with = "Vec<String>")]
    pub columns: Vec<Spanned<String>>,
    #[serde(rename = "type", default)]
    #[schemars(with = "Option<DeclaredType>")]
    pub column_type: Option<Spanned<DeclaredType>>,
    #[schemars(with = "Vec<Step>")]
    pub steps: Vec<Spanned<Step>>,
}

impl Step {
    /// Every category or fill value in the step, with its place where it has one.
    pub fn scalars_mut(&mut self) -> Vec<(&mut Scalar, Option<Span>)> {
        fn at<T>(s: &Spanned<T>) -> Option<Span> {
            Span::from_location(&s.referenced)
        }
        fn given(c: &mut Categories) -> Vec<(&mut Scalar, Option<Span>)> {
            match c {
                Categories::Auto => Vec::new(),
                Categories::Given(values) => values
                    .iter_mut()
                    .filter_map(|v| {
                        let place = at(v);
                        v.value.as_mut().map(|s| (s, place))
                    })
                    .collect(),
            }
        }
        match self {
            Step::Impute(i) => (i.fill_value.iter_mut())
                .map(|v| {
                    let place = at(v);
                    (&mut v.value, place)
                })
                .collect(),
            Step::Scale(_)
            | Step::Binarize(_)
            | Step::Function(_)
            | Step::Bins(_)
            | Step::Cyclical(_)
            | Step::DateParts(_)
            | Step::Spline(_)
            | Step::Quantile(_)
            | Step::Power(_)
            | Step::Normalize(_)
            | Step::Polynomial(_) => Vec::new(),
            Step::OneHot(o) => {
                let mut out = Vec::new();
                if let Some(d) = &mut o.drop {
                    let place = at(d);
                    if let Drop::Category(c) = &mut d.value {
                        out.push((c, place));
                    }
                }
                out.extend(given(&mut o.categories));
                out
            }
            Step::Ordinal(o) => given(&mut o.categories),
        }
    }
}

/// One preprocessing step; each mirrors a scikit-learn transformer and its option names.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// SimpleImputer: `impute: median` or `impute: {strategy: constant, fill_value: 0}`.
    Impute(
        #[serde(deserialize_with = "impute_shorthand")]
        #[schemars(with = "ImputeForm")]
        Impute,
    ),
    /// StandardScaler, MinMaxScaler, MaxAbsScaler, RobustScaler: `scale: standard` or `scale: {min_max: {...}}`.
    Scale(
        #[serde(deserialize_with = "variant_shorthand")]
        #[schemars(with = "ScalerForm")]
        Scaler,
    ),
    /// OneHotEncoder.
    OneHot(OneHot),
    /// OrdinalEncoder.
    Ordinal(Ordinal),
    /// Binarizer: `binarize: {threshold: 0.0}`, 1 where the value is above the threshold, else 0.
    Binarize(BinarizeOptions),
    /// FunctionTransformer with a NumPy function: `function: log` or `function: {clip: [lo, hi]}`.
    Function(
        #[serde(deserialize_with = "name_shorthand")]
        #[schemars(with = "FunctionForm")]
        Function,
    ),
    /// KBinsDiscretizer: `bins: {n_bins: 5, strategy: quantile, encode: ordinal}`.
    Bins(BinsOptions),
    /// `cyclical: {period: 24}`: columns `<column>_sin` and `<column>_cos`.
    Cyclical(CyclicalOptions),
    /// The parts of a date or timestamp column, each an output column
    /// `<column>_<part>`: `date_parts: [year, month, day_of_week]`.
    DateParts(#[schemars(with = "Vec<DatePart>")] Vec<Spanned<DatePart>>),
    /// SplineTransformer: `spline: {n_knots: 5, degree: 3}`, columns `<column>_sp_<j>`.
    Spline(SplineOptions),
    /// QuantileTransformer: `quantile: {n_quantiles: 1000, output_distribution: uniform}`.
    Quantile(QuantileOptions),
    /// PowerTransformer: `power: {method: yeo-johnson, standardize: true}`.
    Power(PowerOptions),
    /// Normalizer, across the columns of a group: `normalize: l2` (`l1`, `max`).
    Normalize(
        #[serde(deserialize_with = "norm_shorthand")]
        #[schemars(with = "NormalizeForm")]
        NormalizeOptions,
    ),
    /// PolynomialFeatures, across the columns of a group: `polynomial: {degree: 2}`.
    Polynomial(PolynomialOptions),
}

impl Step {
    /// Whether the step works across a row's columns (one per group).
    pub fn is_across(&self) -> bool {
        matches!(self, Step::Normalize(_) | Step::Polynomial(_))
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Step::Impute(_) => "impute",
            Step::Scale(_) => "scale",
            Step::OneHot(_) => "one_hot",
            Step::Ordinal(_) => "ordinal",
            Step::Binarize(_) => "binarize",
            Step::Function(_) => "function",
            Step::Bins(_) => "bins",
            Step::Cyclical(_) => "cyclical",
            Step::DateParts(_) => "date_parts",
            Step::Spline(_) => "spline",
            Step::Quantile(_) => "quantile",
            Step::Power(_) => "power",
            Step::Normalize(_) => "normalize",
            Step::Polynomial(_) => "polynomial",
        }
    }
}

/// Schema of `impute:`: a strategy name, or the options.
#[derive(JsonSchema)]
#[schemars(untagged)]
#[allow(dead_code)]
enum ImputeForm {
    Strategy(ImputeStrategy),
    Options(Box<Impute>),
}

/// Schema of `scale:`: a scaler name, or `{scaler: options}`.
#[derive(JsonSchema)]
#[schemars(untagged)]
#[allow(dead_code)]
enum ScalerForm {
    Name(ScalerName),
    Options(Scaler),
}

#[derive(JsonSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
enum ScalerName {
    Standard,
    MinMax,
    MaxAbs,
    Robust,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Impute {
    pub strategy: ImputeStrategy,
    /// For `strategy: constant`. Defaults to 0 for numbers and "missing_value" for strings.
    #[serde(default, alias = "value")]
    #[schemars(with = "Option<Scalar>")]
    pub fill_value: Option<Spanned<Scalar>>,
    /// Fill a column with no value in the training rows with 0 (or the
    /// constant) instead of leaving it missing; default false.
    #[serde(default)]
    #[schemars(with = "bool")]
    pub keep_empty_features: Option<Spanned<bool>>,
    /// Also write `missingindicator_<column>`: 1 where the value is missing,
    /// else 0; the column exists only where the training rows have a
    /// missing value (scikit-learn's `features='missing-only'`); default false.
    #[serde(default)]
    #[schemars(with = "bool")]
    pub add_indicator: Option<Spanned<bool>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImputeStrategy {
    Mean,
    Median,
    MostFrequent,
    Constant,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Scaler {
    Standard(StandardOptions),
    MinMax(MinMaxOptions),
    MaxAbs(MaxAbsOptions),
    Robust(RobustOptions),
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StandardOptions {
    #[serde(default = "yes")]
    pub with_mean: bool,
    #[serde(default = "yes")]
    pub with_std: bool,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MinMaxOptions {
    /// `[min, max]` of the output; default `[0, 1]`.
    #[serde(default)]
    #[schemars(with = "Option<[f64; 2]>")]
    pub feature_range: Option<Spanned<[f64; 2]>>,
    #[serde(default)]
    pub clip: bool,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MaxAbsOptions {}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RobustOptions {
    #[serde(default = "yes")]
    pub with_centering: bool,
    #[serde(default = "yes")]
    pub with_scaling: bool,
    /// Percentiles `[q_min, q_max]` in (0, 100); default `[25, 75]`.
    #[serde(default)]
    #[schemars(with = "Option<[f64; 2]>")]
    pub quantile_range: Option<Spanned<[f64; 2]>>,
    /// Divide the scale by Φ⁻¹(q_max) − Φ⁻¹(q_min), so that normally
    /// distributed values get a unit variance; default false.
    #[serde(default)]
    #[schemars(with = "bool")]
    pub unit_variance: Option<Spanned<bool>>,
}

fn yes() -> bool {
    true
}

/// A category or fill value: a number or a string (quote numbers to make them
/// strings), or a boolean for a `type: boolean` feature.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Scalar {
    Number(f64),
    String(String),
    /// Read as the text scikit-learn gives it (`True`, `False`): `check`
    /// turns it into that text, so later stages never see one.
    Bool(bool),
}

impl Scalar {
    /// A boolean as the category scikit-learn names it (`str(True)`).
    pub fn bool_text(b: bool) -> &'static str {
        if b { "True" } else { "False" }
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number or a string")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar::Number(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar::Number(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar::Number(v as f64))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar::String(v.to_string()))
            }
            // Only a `type: boolean` feature takes booleans: `check` says so, with the place.
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar::Bool(v))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
                Err(E::custom(
                    "YAML reads this value as null (`null`, `~` or nothing): quote it (\"null\") to make it a text (only a category list takes the missing value, last)",
                ))
            }
            fn visit_none<E: de::Error>(self) -> Result<Scalar, E> {
                self.visit_unit()
            }
        }
        d.deserialize_any(V)
    }
}

impl std::fmt::Display for Scalar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scalar::Number(n) => write!(f, "{n}"),
            Scalar::String(s) => write!(f, "{s:?}"),
            Scalar::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// `auto` (learned from the data, sorted) or the list of categories, in output order.
#[derive(Debug, Clone, Default, JsonSchema)]
#[schemars(untagged)]
pub enum Categories {
    #[default]
    #[schemars(with = "AutoCategories")]
    Auto,
    /// The categories; the missing value (`null`) may come last, as scikit-learn allows.
    Given(#[schemars(with = "Vec<Option<Scalar>>")] Vec<Spanned<Option<Scalar>>>),
}

#[derive(JsonSchema)]
#[allow(dead_code)]
#[serde(rename_all = "snake_case")]
enum AutoCategories {
    Auto,
}

impl<'de> Deserialize<'de> for Categories {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Categories;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("`auto` or a list of categories")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Categories, E> {
                if s == "auto" {
                    Ok(Categories::Auto)
                } else {
                    Err(E::invalid_value(de::Unexpected::Str(s), &self))
                }
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Categories, A::Error> {
                Deserialize::deserialize(de::value::SeqAccessDeserializer::new(seq))
                    .map(Categories::Given)
            }
        }
        d.deserialize_any(V)
    }
}

/// `impute: median` is short for `impute: {strategy: median}`.
fn impute_shorthand<'de, D: Deserializer<'de>>(d: D) -> Result<Impute, D::Error> {
    shorthand(d, |s| serde_json::json!({ "strategy": s }))
}

/// `scale: standard` is short for `scale: {standard: {}}`.
fn variant_shorthand<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    shorthand(d, |s| serde_json::json!({ s: {} }))
}

/// A value written either as a full map or as one word that `expand` turns into that map.
fn shorthand<'de, D, T>(d: D, expand: fn(&str) -> serde_json::Value) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct V<T>(fn(&str) -> serde_json::Value, PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
        type Value = T;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a name or a map of options")
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<T, E> {
            T::deserialize((self.0)(s)).map_err(|e| E::custom(e.to_string()))
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            T::deserialize(de::value::MapAccessDeserializer::new(map))
        }
    }
    d.deserialize_any(V(expand, PhantomData))
}

/// The JSON Schema of a spec, for editors (`# yaml-language-server: $schema=...`).
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Spec);
    serde_json::to_string_pretty(&schema).expect("a schema always serialises") + "\n"
}
