//! OneHotEncoder: `one_hot: {categories, drop, handle_unknown,
//! min_frequency, max_categories, names}`. Its lowering (the layout of
//! output columns, infrequent grouping, learned categories) is in
//! `lower/encoders.rs` and `lower/one_hot_layout.rs`.

use super::categories::{check_categories, check_grouping, frequency_json};
use super::{Context, OneHotStep, OutputFacts, Step, span};
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::ir::ApplyItem;
use crate::lowering::{FeatureLowering, FeatureValue};
use crate::spec;

impl Step for OneHotStep {
    type Options = spec::OneHot;

    fn check(oh: &spec::OneHot, cx: &Context, diags: &mut Diagnostics) -> Option<OneHotStep> {
        let given = check_categories(cx.column, cx.ty, &oh.categories, diags)?;
        let missing_listed = given.as_ref().is_some_and(|(_, missing)| *missing);
        let categories = given.map(|(values, _)| values);
        let drop = oh.drop.as_ref().map(|d| d.value.clone());
        if let (Some(spec::Drop::Category(c)), Some(cats)) = (&drop, &categories)
            && !cats.contains(c)
        {
            diags.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    format!("drop category {c} is not one of the categories"),
                )
                .at(oh.drop.as_ref().and_then(span))
                .hint("drop one of the listed categories, or use `drop: first`"),
            );
            return None;
        }
        let (min_frequency, max_categories) =
            check_grouping(&oh.min_frequency, &oh.max_categories, diags)?;
        let names = oh
            .names
            .0
            .iter()
            .map(|(k, v)| (k.value.clone(), v.clone()))
            .collect();
        Some(OneHotStep {
            categories,
            missing_listed,
            drop,
            handle_unknown: oh.handle_unknown,
            min_frequency,
            max_categories,
            names,
            span: cx.at.clone(),
        })
    }

    fn sklearn_options(&self) -> serde_json::Value {
        let categories =
            crate::sklearn::categories_option(self.categories.as_deref(), self.missing_listed);
        let drop = match &self.drop {
            None => serde_json::Value::Null,
            Some(spec::Drop::First) => "first".into(),
            Some(spec::Drop::IfBinary) => "if_binary".into(),
            Some(spec::Drop::Category(c)) => {
                serde_json::json!([crate::sklearn::scalar_json(Some(c))])
            }
        };
        let min_frequency = frequency_json(self.min_frequency);
        serde_json::json!({
            "categories": categories,
            "drop": drop,
            "handle_unknown": self.handle_unknown,
            "min_frequency": min_frequency,
            "max_categories": self.max_categories,
            "sparse_output": false,
        })
    }

    fn lower(
        &self,
        f: &mut FeatureLowering,
        _: usize,
        value: &mut FeatureValue,
    ) -> Option<Vec<ApplyItem>> {
        // An encoder reads the value once per category.
        let row = f.fit.shared(value.row.clone());
        Some(f.one_hot(self, &row, &value.docs))
    }

    /// Every output is 0 or 1, never NULL.
    fn facts(&self, _: OutputFacts, _: bool) -> OutputFacts {
        OutputFacts {
            not_null: true,
            range: None,
        }
    }
}
