//! `features:` and `groups:`: each column once, its steps checked, the steps
//! across a group's columns checked with the whole group, and every output
//! name unique.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_saphyr::Spanned;

use super::{Feature, NameSet, check_feature, outputs_of};
use crate::diagnostic::{Code, Diagnostic, Diagnostics, Span};
use crate::spec::{DeclaredType, Spec, Step};
use crate::steps::{CheckedAcross, check_across, span};

/// A step across the columns of a group (or of a feature, a group of one):
/// its input columns are features of the model whose own steps run first,
/// and they have no output of their own.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Combination {
    pub columns: Vec<String>,
    pub step: CheckedAcross,
    #[serde(skip)]
    pub span: Option<Span>,
}

impl Combination {
    /// Its output columns, in order.
    pub fn outputs(&self) -> Vec<String> {
        self.step.outputs(&self.columns)
    }
}

/// Columns declared with one list of steps: a feature, or a group.
type Declaration<'a> = (
    Vec<&'a Spanned<String>>,
    Option<&'a Spanned<DeclaredType>>,
    &'a [Spanned<Step>],
);

pub(super) fn check_features(
    spec: &Spec,
    names: &mut NameSet,
    diags: &mut Diagnostics,
) -> (Vec<Feature>, Vec<Combination>) {
    let mut features = Vec::new();
    let mut combinations = Vec::new();
    let declarations = (spec.features.0.iter())
        .map(|(name, f)| -> Declaration { (vec![name], f.column_type(), f.steps()) })
        .chain((spec.groups.iter()).map(|g| {
            (
                g.columns.iter().collect(),
                g.column_type.as_ref(),
                g.steps.as_slice(),
            )
        }));
    let mut declared: BTreeMap<&str, Option<Span>> = BTreeMap::new();
    for (columns, column_type, steps) in declarations {
        let mut inputs = Vec::new();
        for column in &columns {
            if let Some(first) = declared.get(column.value.as_str()) {
                let place =
                    (first.as_ref()).map_or(String::new(), |s| format!(" (line {})", s.line));
                diags.push(
                    Diagnostic::new(
                        Code::NameCollision,
                        format!("feature `{}` is already defined{place}", column.value),
                    )
                    .at(span(column))
                    .hint("a column has one list of steps: merge the two definitions"),
                );
                continue;
            }
            declared.insert(&column.value, span(column));
            inputs.extend(check_feature(column, column_type, steps, diags));
        }
        let across = steps.last().filter(|s| s.value.is_across());
        match across {
            None => {
                for feature in &inputs {
                    let what = format!("an output of feature `{}`", feature.column);
                    for output in outputs_of(feature) {
                        names.add(&output, feature.span.clone(), &what, diags);
                    }
                }
            }
            Some(step) if inputs.len() == columns.len() => {
                let names_in: Vec<String> = inputs.iter().map(|f| f.column.clone()).collect();
                if let Some(checked) = check_across(&names_in, step, diags) {
                    let combination = Combination {
                        columns: names_in,
                        step: checked,
                        span: span(step),
                    };
                    let what = format!("an output of `{}`", step.value.kind());
                    for output in combination.outputs() {
                        names.add(&output, combination.span.clone(), &what, diags);
                    }
                    combinations.push(combination);
                }
            }
            // A column of the group was refused: the step is not checked.
            Some(_) => {}
        }
        features.extend(inputs);
    }
    if features.is_empty() && diags.is_empty() {
        diags.push(
            Diagnostic::new(Code::InvalidValue, "the spec has no features")
                .hint("add `features:` with at least one column and its steps, e.g. `age: [{impute: median}]`"),
        );
    }
    (features, combinations)
}
