//! OrdinalEncoder: `ordinal: {categories, handle_unknown, unknown_value,
//! encoded_missing_value, min_frequency, max_categories}`. Its lowering is in `lower/encoders.rs`.

use serde_saphyr::Spanned;

use super::categories::{check_categories, check_grouping, frequency_json};
use super::{Context, OrdinalStep, OutputFacts, Step, span};
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::ir::ApplyItem;
use crate::lowering::{FeatureLowering, FeatureValue};
use crate::spec::{self, OrdinalUnknown};

impl Step for OrdinalStep {
    type Options = spec::Ordinal;

    fn check(o: &spec::Ordinal, cx: &Context, diags: &mut Diagnostics) -> Option<OrdinalStep> {
        let given = check_categories(cx.column, cx.ty, &o.categories, diags)?;
        let missing_listed = given.as_ref().is_some_and(|(_, missing)| *missing);
        let categories = given.map(|(values, _)| values);
        let nan_to_none = |v: &Spanned<f64>| (!v.value.is_nan()).then_some(v.value);
        let unknown_value = o.unknown_value.as_ref().and_then(nan_to_none);
        match (o.handle_unknown, &o.unknown_value) {
            (OrdinalUnknown::UseEncodedValue, None) => {
                diags.push(
                    Diagnostic::new(
                        Code::InvalidValue,
                        "`handle_unknown: use_encoded_value` needs `unknown_value`",
                    )
                    .at(cx.at.clone())
                    .hint("add `unknown_value: -1` (or `.nan` for NULL)"),
                );
                return None;
            }
            (OrdinalUnknown::Error, Some(v)) => {
                diags.push(
                    Diagnostic::new(
                        Code::StepConflict,
                        "`unknown_value` is only used with `handle_unknown: use_encoded_value`",
                    )
                    .at(span(v))
                    .hint("set `handle_unknown: use_encoded_value`, or remove `unknown_value`"),
                );
                return None;
            }
            _ => {}
        }
        // scikit-learn counts the missing value among the categories here.
        if let (Some(v), Some(cats)) = (unknown_value, &categories)
            && v >= 0.0
            && v < (cats.len() + usize::from(missing_listed)) as f64
            && v.fract() == 0.0
        {
            diags.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    format!("unknown_value {v} is already the code of a category"),
                )
                .at(o.unknown_value.as_ref().and_then(span))
                .hint("use a code outside 0..n-1, e.g. -1, or `.nan`"),
            );
            return None;
        }
        let (min_frequency, max_categories) =
            check_grouping(&o.min_frequency, &o.max_categories, diags)?;
        Some(OrdinalStep {
            categories,
            missing_listed,
            handle_unknown: o.handle_unknown,
            unknown_value,
            encoded_missing_value: o.encoded_missing_value.as_ref().and_then(nan_to_none),
            min_frequency,
            max_categories,
            span: cx.at.clone(),
        })
    }

    /// `unknown_value` and `encoded_missing_value` are JSON null for NaN.
    fn sklearn_options(&self) -> serde_json::Value {
        let categories =
            crate::sklearn::categories_option(self.categories.as_deref(), self.missing_listed);
        let mut options = serde_json::json!({
            "categories": categories,
            "handle_unknown": self.handle_unknown,
            "encoded_missing_value": self.encoded_missing_value,
        });
        if self.handle_unknown == OrdinalUnknown::UseEncodedValue {
            options["unknown_value"] = self.unknown_value.into();
        }
        // Only when set: fitted files written before the options stay as they were.
        if self.groups_infrequent() {
            options["min_frequency"] = frequency_json(self.min_frequency);
            options["max_categories"] = self.max_categories.into();
        }
        options
    }

    fn lower(
        &self,
        f: &mut FeatureLowering,
        _: usize,
        value: &mut FeatureValue,
    ) -> Option<Vec<ApplyItem>> {
        // An encoder reads the value once per category.
        let row = f.fit.shared(value.row.clone());
        Some(vec![f.ordinal(self, &row, &value.docs)])
    }

    /// An unknown or missing value can be NULL (`unknown_value: .nan`).
    fn facts(&self, _: OutputFacts, _: bool) -> OutputFacts {
        OutputFacts::default()
    }
}
