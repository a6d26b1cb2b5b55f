//! Drift and skew: how far the values of a relation (scoring rows, a newer
//! training set) are from the rows a fit learned from, per feature, in the
//! measures BigQuery ML's `ML.VALIDATE_DATA_DRIFT` uses and a few more.
//!
//! Every measure compares the feature's input column as stored (before any
//! step), so a change upstream is seen even where an imputation would hide
//! it. With `drift:` in the spec the fit also learns what the measures need
//! (`lowering/drift.rs`, into `ir::DriftPlan`; this module is the spec's
//! `drift:` and what each measure is); the drift query compares any
//! relation with them (`render/drift.rs`).
//!
//! Numeric features (the shares are of the non-missing values):
//! - `js_divergence`: Jensen–Shannon divergence, base 2 (0 to 1), between
//!   the shares of the training and the compared values in the training
//!   quantile bins: `bins` bins split at the training percentiles
//!   `k/bins` (linear interpolation, as numpy), a value `x` in bin `k` when
//!   `edge_(k-1) <= x < edge_k`.
//! - `mean_shift`: (mean - training mean) / training standard deviation.
//! - `std_shift`: standard deviation / training standard deviation - 1.
//! - `out_of_range`: the share of values below the training minimum or above
//!   the training maximum.
//!
//! Text and boolean features (missing values aside, as a category each value):
//! - `l_infinity`: the largest difference between a category's training and
//!   compared share (categories never seen in training included).
//! - `unseen`: the share of values that are no training category.
//!
//! Every feature: `missing_share`: the share of missing values minus the
//! training one (NaN is missing, as in scikit-learn).
//!
//! A measure drifts when its absolute value is above its threshold; it is
//! undefined (NULL) when either side has no value to measure (a constant
//! training column has no standard deviation to shift by).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use serde_saphyr::Spanned;

use crate::diagnostic::{Code, Diagnostic, Diagnostics, Span};

/// `drift:` in a spec.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DriftSpec {
    /// Training quantile bins of each numeric feature, for its Jensen–Shannon
    /// divergence (2 to 100; default 10).
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub bins: Option<Spanned<u32>>,
    /// Above which absolute value a measure counts as drift (defaults in the README).
    #[serde(default)]
    pub thresholds: SpecThresholds,
}

/// Thresholds by measure; a measure not given keeps its default.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SpecThresholds {
    #[schemars(with = "Option<f64>")]
    pub js_divergence: Option<Spanned<f64>>,
    #[schemars(with = "Option<f64>")]
    pub mean_shift: Option<Spanned<f64>>,
    #[schemars(with = "Option<f64>")]
    pub std_shift: Option<Spanned<f64>>,
    #[schemars(with = "Option<f64>")]
    pub out_of_range: Option<Spanned<f64>>,
    #[schemars(with = "Option<f64>")]
    pub l_infinity: Option<Spanned<f64>>,
    #[schemars(with = "Option<f64>")]
    pub unseen: Option<Spanned<f64>>,
    #[schemars(with = "Option<f64>")]
    pub missing_share: Option<Spanned<f64>>,
}

/// One measure of drift.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    JsDivergence,
    MeanShift,
    StdShift,
    OutOfRange,
    LInfinity,
    Unseen,
    MissingShare,
}

impl Measure {
    pub const NUMERIC: [Measure; 5] = [
        Measure::JsDivergence,
        Measure::MeanShift,
        Measure::StdShift,
        Measure::OutOfRange,
        Measure::MissingShare,
    ];
    pub const ALL: [Measure; 7] = [
        Measure::JsDivergence,
        Measure::MeanShift,
        Measure::StdShift,
        Measure::OutOfRange,
        Measure::LInfinity,
        Measure::Unseen,
        Measure::MissingShare,
    ];
    pub const CATEGORICAL: [Measure; 3] =
        [Measure::LInfinity, Measure::Unseen, Measure::MissingShare];

    /// Its name in the spec and in the drift table.
    pub fn name(self) -> &'static str {
        match self {
            Measure::JsDivergence => "js_divergence",
            Measure::MeanShift => "mean_shift",
            Measure::StdShift => "std_shift",
            Measure::OutOfRange => "out_of_range",
            Measure::LInfinity => "l_infinity",
            Measure::Unseen => "unseen",
            Measure::MissingShare => "missing_share",
        }
    }

    /// Defaults: BigQuery ML's 0.3 would let a whole-deviation mean shift
    /// pass (its Jensen–Shannon divergence over ten bins is about 0.2), so
    /// prep's are stricter; every one can be set in the spec.
    pub fn default_threshold(self) -> f64 {
        match self {
            Measure::JsDivergence | Measure::LInfinity => 0.1,
            Measure::MeanShift | Measure::StdShift => 0.5,
            Measure::OutOfRange | Measure::Unseen | Measure::MissingShare => 0.05,
        }
    }

    fn given(self, t: &SpecThresholds) -> Option<&Spanned<f64>> {
        match self {
            Measure::JsDivergence => t.js_divergence.as_ref(),
            Measure::MeanShift => t.mean_shift.as_ref(),
            Measure::StdShift => t.std_shift.as_ref(),
            Measure::OutOfRange => t.out_of_range.as_ref(),
            Measure::LInfinity => t.l_infinity.as_ref(),
            Measure::Unseen => t.unseen.as_ref(),
            Measure::MissingShare => t.missing_share.as_ref(),
        }
    }
}

const DEFAULT_BINS: u32 = 10;
const MAX_BINS: u32 = 100;

/// A checked `drift:` section. `bins` is part of the spec's content hash
/// (the fit learns the bins); the thresholds are not: they only judge the
/// measures, so changing one needs no new fit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Drift {
    pub bins: usize,
    /// Every measure's threshold, in `Measure::ALL` order.
    #[serde(skip)]
    pub thresholds: Vec<(Measure, f64)>,
}

impl Drift {
    pub fn threshold(&self, m: Measure) -> f64 {
        (self.thresholds.iter())
            .find(|(measure, _)| *measure == m)
            .map_or(m.default_threshold(), |t| t.1)
    }
}

/// Checks `drift:`: bins in range, thresholds finite and not negative.
pub fn check(spec: &DriftSpec, diags: &mut Diagnostics) -> Drift {
    let bins = spec.bins.as_ref().map_or(DEFAULT_BINS, |b| b.value);
    if let Some(b) = &spec.bins
        && !(2..=MAX_BINS).contains(&b.value)
    {
        diags.push(
            Diagnostic::new(Code::InvalidValue, format!("`drift.bins` is {bins}"))
                .at(Span::from_location(&b.referenced))
                .hint(format!(
                    "use 2 to {MAX_BINS} training quantile bins (default {DEFAULT_BINS})"
                )),
        );
    }
    let thresholds = (Measure::ALL.into_iter())
        .map(|m| {
            let value = match m.given(&spec.thresholds) {
                Some(t) if !(t.value.is_finite() && t.value >= 0.0) => {
                    diags.push(
                        Diagnostic::new(
                            Code::InvalidValue,
                            format!("`drift.thresholds.{}` is {}", m.name(), t.value),
                        )
                        .at(Span::from_location(&t.referenced))
                        .hint("a threshold is a finite number, 0 or more"),
                    );
                    m.default_threshold()
                }
                Some(t) => t.value,
                None => m.default_threshold(),
            };
            (m, value)
        })
        .collect();
    Drift {
        bins: bins as usize,
        thresholds,
    }
}

#[cfg(test)]
mod tests {
    fn hash(drift: &str) -> String {
        let spec = format!(
            "name: s\nsource: {{table: t}}\nfeatures:\n  x: [{{scale: standard}}]\n{drift}"
        );
        crate::check_text(&spec, "s.yml").unwrap().content_hash()
    }

    #[test]
    fn bins_change_the_spec_hash_thresholds_do_not() {
        let four = hash("drift: {bins: 4}\n");
        assert_eq!(
            four,
            hash("drift: {bins: 4, thresholds: {mean_shift: 2}}\n")
        );
        assert_ne!(four, hash("drift: {bins: 5}\n"));
        assert_ne!(hash(""), hash("drift: {}\n"));
    }
}
