//! The options of the encoders once checked: what `check` produces from a
//! spec's `one_hot` and `ordinal`, what lowering lays out and what the IR
//! carries for encoders whose categories are learned.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::diagnostic::Span;
use crate::naming;
use crate::spec::{self, OneHotUnknown, OrdinalUnknown, Scalar};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OneHotStep {
    /// `None`: learned from data.
    pub categories: Option<Vec<Scalar>>,
    /// The given categories end with the missing value (a column of its
    /// own). Left out of the spec's hash when false, as before it existed.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub missing_listed: bool,
    pub drop: Option<spec::Drop>,
    pub handle_unknown: OneHotUnknown,
    pub min_frequency: Option<Frequency>,
    pub max_categories: Option<u32>,
    /// Suffix overrides from `names:`, by category text.
    pub names: BTreeMap<String, String>,
    #[serde(skip)]
    pub span: Option<Span>,
}

impl OneHotStep {
    /// Infrequent grouping needs category counts from the data, even for given categories.
    pub fn groups_infrequent(&self) -> bool {
        self.min_frequency.is_some() || self.max_categories.is_some()
    }

    /// The output suffix of a category.
    pub fn suffix(&self, category: &Scalar) -> String {
        self.names
            .get(&naming::category_text(category))
            .cloned()
            .unwrap_or_else(|| naming::category_suffix(category))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Frequency {
    Count(u64),
    Fraction(f64),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrdinalStep {
    pub categories: Option<Vec<Scalar>>,
    /// The given categories end with the missing value: it gets
    /// `encoded_missing_value`. Left out of the spec's hash when false.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub missing_listed: bool,
    pub handle_unknown: OrdinalUnknown,
    /// `None` is NaN, written as NULL.
    pub unknown_value: Option<f64>,
    pub encoded_missing_value: Option<f64>,
    /// Left out of the spec's hash when absent, so specs without them keep theirs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_frequency: Option<Frequency>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_categories: Option<u32>,
    #[serde(skip)]
    pub span: Option<Span>,
}

impl OrdinalStep {
    /// Infrequent grouping needs category counts from the data.
    pub fn groups_infrequent(&self) -> bool {
        self.min_frequency.is_some() || self.max_categories.is_some()
    }
}

/// The category whose column `drop` removes, for known categories.
pub fn dropped_category<'a>(oh: &OneHotStep, categories: &'a [Scalar]) -> Option<&'a Scalar> {
    match &oh.drop {
        None => None,
        Some(spec::Drop::First) => categories.first(),
        Some(spec::Drop::IfBinary) => {
            (categories.len() + usize::from(oh.missing_listed) == 2).then(|| categories.first())?
        }
        Some(spec::Drop::Category(c)) => categories.iter().find(|x| *x == c),
    }
}
