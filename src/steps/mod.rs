//! The preprocessing steps, one file each. A step's file holds everything
//! about it: the check of its options (resolved to the values scikit-learn
//! would use, or refused with their place) and its lowering (the statistics
//! it learns, the per-row expression, scikit-learn's fitted attributes, and
//! its output described in words). This file is the registry: the list of
//! steps and the one place that dispatches on them. CONTRIBUTING.md says how
//! to add one.

mod binarize;
mod bins;
mod categories;
mod cyclical;
mod date_parts;
mod function;
mod impute;
mod max_abs;
mod min_max;
mod normalize;
mod numpy;
mod one_hot;
mod ordinal;
mod polynomial;
mod power;
mod quantile;
mod robust;
mod scipy;
mod spline;
mod standard;

use serde::Serialize;
use serde_saphyr::Spanned;

use crate::diagnostic::{Code, Diagnostic, Diagnostics, Span};
pub use crate::encoding::{Frequency, OneHotStep, OrdinalStep};
use crate::ir::{ApplyItem, Expr};
use crate::lowering::{FeatureLowering, FeatureValue, Fit};
use crate::spec::{self, ColumnType, Scaler};
pub use binarize::Binarize;
pub use bins::Bins;
pub(crate) use categories::scalar_type;
pub use cyclical::Cyclical;
pub use date_parts::DateParts;
pub use function::Function;
pub use impute::Impute;
pub use max_abs::MaxAbs;
pub use min_max::MinMax;
pub use normalize::Normalize;
pub use polynomial::Polynomial;
pub use power::Power;
pub use quantile::Quantile;
pub use robust::Robust;
pub use spline::Spline;
pub use standard::Standard;

/// Every step, as the spec writes it and as scikit-learn names it: the
/// README's step table and the Python suite's coverage list are checked
/// against this list.
pub const STEPS: [(&str, &str); 17] = [
    ("impute", "SimpleImputer"),
    ("scale: standard", "StandardScaler"),
    ("scale: min_max", "MinMaxScaler"),
    ("scale: max_abs", "MaxAbsScaler"),
    ("scale: robust", "RobustScaler"),
    ("one_hot", "OneHotEncoder"),
    ("ordinal", "OrdinalEncoder"),
    ("binarize", "Binarizer"),
    ("function", "FunctionTransformer"),
    ("bins", "KBinsDiscretizer"),
    ("cyclical", "FunctionTransformer"),
    ("date_parts", "FunctionTransformer"),
    ("spline", "SplineTransformer"),
    ("quantile", "QuantileTransformer"),
    ("power", "PowerTransformer"),
    ("normalize", "Normalizer"),
    ("polynomial", "PolynomialFeatures"),
];

/// A step of a feature, checked: one variant per step. It is part of the
/// spec's content hash (serialised as JSON): a step's serialised form must
/// not change, or every fitted file stops matching its spec.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum CheckedStep {
    Impute(Impute),
    Standard(Standard),
    MinMax(MinMax),
    /// A unit variant, as it always was (see above).
    MaxAbs,
    Robust(Robust),
    OneHot(OneHotStep),
    Ordinal(OrdinalStep),
    Binarize(Binarize),
    Function(Function),
    Bins(Bins),
    Cyclical(Cyclical),
    DateParts(DateParts),
    Spline(Spline),
    Quantile(Quantile),
    Power(Power),
}

/// What every step is.
pub(crate) trait Step: Sized {
    /// The step's options as the spec writes them.
    type Options;

    /// The options resolved to the values scikit-learn would use; `None`
    /// when they cannot be, with each problem (and its place) in `diags`.
    fn check(options: &Self::Options, cx: &Context, diags: &mut Diagnostics) -> Option<Self>;

    /// Lowers the step, the `k`-th of its feature: the statistics it learns
    /// (as parameters of the fit), the feature's new per-row value,
    /// scikit-learn's fitted attributes and the output described in words.
    /// An encoder returns the feature's output columns (the steps after it
    /// run on each of them: `lower::item_after`).
    fn lower(
        &self,
        f: &mut FeatureLowering,
        k: usize,
        value: &mut FeatureValue,
    ) -> Option<Vec<ApplyItem>>;

    /// The keyword arguments of scikit-learn's transformer for this step,
    /// as JSON (`prep_sklearn` builds the transformer with them).
    fn sklearn_options(&self) -> serde_json::Value;

    /// What the feature's output is known to satisfy after this step, given
    /// what it satisfied `before` (dbt tests it). `fit_filtered`: the fit
    /// learns on rows `fit.where` keeps, not on every row the tests see.
    /// By default a step keeps non-NULL values non-NULL and promises no range.
    fn facts(&self, before: OutputFacts, fit_filtered: bool) -> OutputFacts {
        let _ = fit_filtered;
        OutputFacts {
            not_null: before.not_null,
            range: None,
        }
    }
}

/// What a feature's output is known to satisfy on the rows of its source.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct OutputFacts {
    pub not_null: bool,
    /// Every value within `[min, max]`.
    pub range: Option<(f64, f64)>,
}

/// What the output of a feature with `steps` is known to satisfy.
pub fn output_facts(steps: &[CheckedStep], fit_filtered: bool) -> OutputFacts {
    output_facts_after(OutputFacts::default(), steps, fit_filtered)
}

/// What a value known to satisfy `before` satisfies after `steps`.
pub fn output_facts_after(
    before: OutputFacts,
    steps: &[CheckedStep],
    fit_filtered: bool,
) -> OutputFacts {
    (steps.iter()).fold(before, |before, s| s.facts(before, fit_filtered))
}

/// What a step scikit-learn refuses NaN in gives a missing value `x`: a
/// value that stops the query, naming the column and the step.
pub(crate) fn missing_stops(f: &FeatureLowering, x: &Expr, step: &str, transformer: &str) -> Expr {
    missing_stops_in(&f.feature.column, x, step, transformer)
}

/// `missing_stops` for a value of column `column`.
pub(crate) fn missing_stops_in(column: &str, x: &Expr, step: &str, transformer: &str) -> Expr {
    Expr::ToDouble(Box::new(Expr::Fail {
        message: format!(
            "prep: a missing value of column {column} reaches {step} (scikit-learn's {transformer} refuses NaN: impute it first): "
        ),
        value: Box::new(x.clone()),
    }))
}

/// The place of a spec value, if it has one.
pub(crate) fn span<T>(s: &Spanned<T>) -> Option<Span> {
    Span::from_location(&s.referenced)
}

/// What a step's check knows of its feature.
pub(crate) struct Context<'a> {
    pub column: &'a str,
    pub ty: ColumnType,
    /// The step's place in the spec.
    pub at: Option<Span>,
}

impl Context<'_> {
    /// Whether the column is numeric; if not, says that `what` needs it.
    pub fn needs_numeric(&self, what: &str, diags: &mut Diagnostics) -> bool {
        let ok = self.ty == ColumnType::Numeric;
        if !ok {
            diags.push(
                Diagnostic::new(
                    Code::StepConflict,
                    format!(
                        "`{what}` needs a numeric column, but `{}` is a string column",
                        self.column
                    ),
                )
                .at(self.at.clone())
                .hint("encode strings with `one_hot` or `ordinal`; if the column holds numbers, declare `type: numeric`"),
            );
        }
        ok
    }
}

impl Context<'_> {
    /// A whole-number option `name` (`default` where not given) within
    /// `range`; out of it, refused where it is written (or at the step).
    pub fn whole_number(
        &self,
        name: &str,
        given: Option<&Spanned<i64>>,
        default: i64,
        range: std::ops::RangeInclusive<i64>,
        diags: &mut Diagnostics,
    ) -> Option<i64> {
        let n = given.map_or(default, |n| n.value);
        if range.contains(&n) {
            return Some(n);
        }
        diags.push(
            Diagnostic::new(Code::InvalidValue, format!("{name} is {n}"))
                .at(given.and_then(span).or(self.at.clone()))
                .hint(format!(
                    "give a whole number from {} to {}",
                    range.start(),
                    range.end()
                )),
        );
        None
    }
}

/// Checks one step of column `column` (of type `ty`).
pub(crate) fn check_step(
    column: &str,
    ty: ColumnType,
    step: &Spanned<spec::Step>,
    diags: &mut Diagnostics,
) -> Option<CheckedStep> {
    let cx = Context {
        column,
        ty,
        at: span(step),
    };
    match &step.value {
        spec::Step::Impute(o) => Impute::check(o, &cx, diags).map(CheckedStep::Impute),
        spec::Step::Scale(scaler) => {
            if !cx.needs_numeric("scale", diags) {
                return None;
            }
            match scaler {
                Scaler::Standard(o) => Standard::check(o, &cx, diags).map(CheckedStep::Standard),
                Scaler::MinMax(o) => MinMax::check(o, &cx, diags).map(CheckedStep::MinMax),
                Scaler::MaxAbs(o) => MaxAbs::check(o, &cx, diags).map(|_| CheckedStep::MaxAbs),
                Scaler::Robust(o) => Robust::check(o, &cx, diags).map(CheckedStep::Robust),
            }
        }
        spec::Step::OneHot(o) => OneHotStep::check(o, &cx, diags).map(CheckedStep::OneHot),
        spec::Step::Ordinal(o) => OrdinalStep::check(o, &cx, diags).map(CheckedStep::Ordinal),
        spec::Step::Binarize(o) => Binarize::check(o, &cx, diags).map(CheckedStep::Binarize),
        spec::Step::Function(o) => Function::check(o, &cx, diags).map(CheckedStep::Function),
        spec::Step::Bins(o) => Bins::check(o, &cx, diags).map(CheckedStep::Bins),
        spec::Step::Cyclical(o) => Cyclical::check(o, &cx, diags).map(CheckedStep::Cyclical),
        spec::Step::DateParts(o) => DateParts::check(o, &cx, diags).map(CheckedStep::DateParts),
        spec::Step::Spline(o) => Spline::check(o, &cx, diags).map(CheckedStep::Spline),
        spec::Step::Quantile(o) => Quantile::check(o, &cx, diags).map(CheckedStep::Quantile),
        spec::Step::Power(o) => Power::check(o, &cx, diags).map(CheckedStep::Power),
        // Checked with their whole group (`check_across`).
        spec::Step::Normalize(_) | spec::Step::Polynomial(_) => None,
    }
}

impl CheckedStep {
    /// Lowers the step (see `Step::lower`).
    pub(crate) fn lower(
        &self,
        f: &mut FeatureLowering,
        k: usize,
        value: &mut FeatureValue,
    ) -> Option<Vec<ApplyItem>> {
        let (items, options) = match self {
            CheckedStep::Impute(s) => (s.lower(f, k, value), s.sklearn_options()),
            CheckedStep::Standard(s) => (s.lower(f, k, value), s.sklearn_options()),
            CheckedStep::MinMax(s) => (s.lower(f, k, value), s.sklearn_options()),
            CheckedStep::MaxAbs => (MaxAbs.lower(f, k, value), MaxAbs.sklearn_options()),
            CheckedStep::Robust(s) => (s.lower(f, k, value), s.sklearn_options()),
            CheckedStep::OneHot(s) => (s.lower(f, k, value), s.sklearn_options()),
            CheckedStep::Ordinal(s) => (s.lower(f, k, value), s.sklearn_options()),
            CheckedStep::Binarize(s) => (s.lower(f, k, value), s.sklearn_options()),
            CheckedStep::Function(s) => (s.lower(f, k, value), s.sklearn_options()),
            CheckedStep::Bins(s) => (s.lower(f, k, value), s.sklearn_options()),
            CheckedStep::Cyclical(s) => (s.lower(f, k, value), s.sklearn_options()),
            CheckedStep::DateParts(s) => (s.lower(f, k, value), s.sklearn_options()),
            CheckedStep::Spline(s) => (s.lower(f, k, value), s.sklearn_options()),
            CheckedStep::Quantile(s) => (s.lower(f, k, value), s.sklearn_options()),
            CheckedStep::Power(s) => (s.lower(f, k, value), s.sklearn_options()),
        };
        f.record_options(k, options);
        items
    }

    /// What the output satisfies after the step (see `Step::facts`).
    fn facts(&self, before: OutputFacts, fit_filtered: bool) -> OutputFacts {
        match self {
            CheckedStep::Impute(s) => s.facts(before, fit_filtered),
            CheckedStep::Standard(s) => s.facts(before, fit_filtered),
            CheckedStep::MinMax(s) => s.facts(before, fit_filtered),
            CheckedStep::MaxAbs => MaxAbs.facts(before, fit_filtered),
            CheckedStep::Robust(s) => s.facts(before, fit_filtered),
            CheckedStep::OneHot(s) => s.facts(before, fit_filtered),
            CheckedStep::Ordinal(s) => s.facts(before, fit_filtered),
            CheckedStep::Binarize(s) => s.facts(before, fit_filtered),
            CheckedStep::Function(s) => s.facts(before, fit_filtered),
            CheckedStep::Bins(s) => s.facts(before, fit_filtered),
            CheckedStep::Cyclical(s) => s.facts(before, fit_filtered),
            CheckedStep::DateParts(s) => s.facts(before, fit_filtered),
            CheckedStep::Spline(s) => s.facts(before, fit_filtered),
            CheckedStep::Quantile(s) => s.facts(before, fit_filtered),
            CheckedStep::Power(s) => s.facts(before, fit_filtered),
        }
    }

    /// Whether the step encodes: its columns are the feature's outputs.
    pub fn is_encoder(&self) -> bool {
        match self {
            CheckedStep::OneHot(_)
            | CheckedStep::Ordinal(_)
            | CheckedStep::Cyclical(_)
            | CheckedStep::DateParts(_)
            | CheckedStep::Spline(_) => true,
            CheckedStep::Bins(b) => b.encode != crate::spec::BinEncode::Ordinal,
            // With its missing indicator, an imputer has two outputs, and
            // the steps after it run on each (as scikit-learn's do).
            CheckedStep::Impute(i) => i.add_indicator,
            _ => false,
        }
    }
}

/// A step across a row's columns, checked: one per group (or feature, a
/// group of one), after each column's own steps and before its outputs'.
/// Part of the spec's content hash, as `CheckedStep`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum CheckedAcross {
    Normalize(Normalize),
    Polynomial(Polynomial),
}

/// What every step across columns is, once checked. Each also has
/// `fn check(options, &AcrossContext, diags) -> Option<Self>`: its options
/// resolved to scikit-learn's values, or `None` with the problems in
/// `diags` (called by name in `check_across`, so that this trait stays one
/// the registry can hold as `&dyn AcrossStep`).
pub(crate) trait AcrossStep {
    /// The output columns' names, from the input columns' (known before any fit).
    fn outputs(&self, columns: &[String]) -> Vec<String>;

    /// The outputs' per-row values, from the inputs' (never missing: a
    /// missing input stops the query before), each with its description.
    fn lower(&self, fit: &mut Fit, inputs: &[Expr], columns: &[String]) -> Vec<(Expr, String)>;

    /// scikit-learn's transformer, and its keyword arguments as JSON.
    fn transformer(&self) -> &'static str;
    fn sklearn_options(&self) -> serde_json::Value;

    /// What every output is known to satisfy.
    fn facts(&self) -> OutputFacts;
}

/// What a check of a step across columns knows: its columns and its place.
pub(crate) struct AcrossContext<'a> {
    pub columns: &'a [String],
    pub at: Option<Span>,
}

/// Checks a step across `columns`; `None` if it is not one or is refused.
pub(crate) fn check_across(
    columns: &[String],
    step: &Spanned<spec::Step>,
    diags: &mut Diagnostics,
) -> Option<CheckedAcross> {
    let cx = AcrossContext {
        columns,
        at: span(step),
    };
    match &step.value {
        spec::Step::Normalize(o) => Normalize::check(o, &cx, diags).map(CheckedAcross::Normalize),
        spec::Step::Polynomial(o) => {
            Polynomial::check(o, &cx, diags).map(CheckedAcross::Polynomial)
        }
        _ => None,
    }
}

impl CheckedAcross {
    fn step(&self) -> &dyn AcrossStep {
        match self {
            CheckedAcross::Normalize(s) => s,
            CheckedAcross::Polynomial(s) => s,
        }
    }

    pub fn outputs(&self, columns: &[String]) -> Vec<String> {
        self.step().outputs(columns)
    }

    pub(crate) fn lower(
        &self,
        fit: &mut Fit,
        inputs: &[Expr],
        columns: &[String],
    ) -> Vec<(Expr, String)> {
        self.step().lower(fit, inputs, columns)
    }

    /// The step as the spec writes it.
    pub fn kind(&self) -> &'static str {
        match self {
            CheckedAcross::Normalize(_) => "normalize",
            CheckedAcross::Polynomial(_) => "polynomial",
        }
    }

    pub fn transformer(&self) -> &'static str {
        self.step().transformer()
    }

    pub fn sklearn_options(&self) -> serde_json::Value {
        self.step().sklearn_options()
    }

    pub fn facts(&self) -> OutputFacts {
        self.step().facts()
    }
}
