//! The dbt test of `handle_unknown: warn`: per spec whose one-hot encoders
//! warn, the categories they did not learn in the spec's source, counted by
//! `<package>.unknown_<spec>(relation)` and run at every build as a test of
//! severity `warn` (scikit-learn's `transform` warns; SQL cannot).

use minijinja::{Environment, context};

use super::{PackageNames, PackageSpec, header, render};
use crate::check::Model;
use crate::emit::Artifact;
use crate::ir::{ApplyItem, Attr, DeferredEncoder, Expr, Ir};
use crate::lowering::read_column;
use crate::render::{Known, UnknownCheck};
use crate::spec::{ColumnType, OneHotUnknown};
use crate::steps::CheckedStep;

/// One check per feature whose one-hot encoder says `handle_unknown: warn`.
pub(super) fn checks(model: &Model, ir: &Ir) -> Vec<UnknownCheck> {
    (model.features.iter())
        .filter_map(|f| {
            let k = f.steps.iter().position(|s| {
                matches!(s, CheckedStep::OneHot(oh) if oh.handle_unknown == OneHotUnknown::Warn)
            })?;
            let CheckedStep::OneHot(oh) = &f.steps[k] else {
                return None;
            };
            let imputed = (f.steps[..k].iter()).any(|s| matches!(s, CheckedStep::Impute(_)));
            let (known, listed_missing) = match &oh.categories {
                Some(given) => (Known::Listed(given.clone()), oh.missing_listed),
                None => known_learned(ir, &f.column)?,
            };
            let text = f.column_type == ColumnType::String || f.boolean;
            let read = read_column(&f.column, f.column_type, f.boolean);
            Some(UnknownCheck {
                feature: f.column.clone(),
                // A text compared as a text, whatever the column's type
                // (an integer column encoded as categories).
                value: if text {
                    Expr::ToText(Box::new(read))
                } else {
                    read
                },
                text,
                known,
                missing_known: imputed || listed_missing,
            })
        })
        .collect()
}

/// A learned encoder's categories: its vocabulary in the fitted parameters,
/// or, in a package pinned to fitted values, the categories it learned
/// (with whether the missing value is one of them).
fn known_learned(ir: &Ir, column: &str) -> Option<(Known, bool)> {
    let vocabulary = (ir.apply.items.iter()).find_map(|item| match item {
        ApplyItem::Learned {
            feature,
            deferred: Some(d),
            ..
        } if feature == column && matches!(d.encoder, DeferredEncoder::OneHot(_)) => {
            Some(d.vocabulary.clone())
        }
        _ => None,
    });
    if let Some(vocabulary) = vocabulary {
        return Some((Known::Vocabulary(vocabulary), false));
    }
    let record = (ir.steps.iter())
        .find(|s| s.feature == column && !s.after && s.transformer == "OneHotEncoder")?;
    let (_, Attr::Values(categories)) =
        (record.attributes.iter()).find(|(n, _)| *n == "categories_")?
    else {
        return None;
    };
    let missing = categories.iter().any(Option::is_none);
    Some((
        Known::Listed(categories.iter().flatten().cloned().collect()),
        missing,
    ))
}

/// The package's test of the spec's source, of severity `warn`.
pub(super) fn test_file(
    env: &Environment,
    spec: &PackageSpec,
    names: &PackageNames,
    source: &str,
) -> Artifact {
    let name = &spec.ir.name;
    Artifact {
        file_name: format!(
            "tests/{}__unknown_categories.sql",
            names.features_model(name)
        ),
        contents: render(
            env,
            "unknown_test.sql",
            context! {
                header => header(&format!("categories spec {} did not learn", spec.file)),
                name, source, package => &names.package,
            },
        ),
    }
}
