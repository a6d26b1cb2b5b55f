//! `features:` and `groups:`: each column once, its steps checked, the steps
//! across a group's columns checked with the whole group, and every output
//! name unique.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_saphyr::Spanned;

use super::{Feature, NameSet, check_feature, outputs_of};
use crate::diagnostic::{Code, Diagnostic, Diagnostics, Span};
use crate::spec::ColumnType;
use crate::spec::{DeclaredType, Spec, Step};
use crate::steps::{CheckedAcross, CheckedStep, check_across, check_step, span};

/// A step across the columns of a group (or of a feature, a group of one):
/// its input columns are features of the model whose own steps run first,
/// and they have no output of their own.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Combination {
    pub columns: Vec<String>,
    pub step: CheckedAcross,
    /// The steps after it, run on each of its outputs alone (a scaler after
    /// a polynomial). Left out of the content hash when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<CheckedStep>,
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
        // A step across columns ends each column's own steps (it is checked
        // there only for its column's type); the steps after it are its
        // outputs', checked with the group below.
        let across = steps.iter().position(|s| s.value.is_across());
        let own = &steps[..across.map_or(steps.len(), |p| p + 1)];
        let mut inputs = Vec::new();
        for column in &columns {
            if declared_once(&mut declared, column, diags) {
                inputs.extend(check_feature(column, column_type, own, diags));
            }
        }
        match across.map(|p| (&steps[p], &steps[p + 1..])) {
            None => {
                for feature in &inputs {
                    let what = format!("an output of feature `{}`", feature.column);
                    for output in outputs_of(feature) {
                        names.add(&output, feature.span.clone(), &what, diags);
                    }
                }
            }
            Some((step, after)) if inputs.len() == columns.len() => {
                let names_in: Vec<String> = inputs.iter().map(|f| f.column.clone()).collect();
                let checked = check_across(&names_in, step, diags);
                let after = check_after(step.value.kind(), after, diags);
                if let (Some(checked), Some(after)) = (checked, after) {
                    let combination = Combination {
                        columns: names_in,
                        step: checked,
                        after,
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

/// Whether `column` is declared here for the first time; a second time is
/// reported, with the line of the first.
fn declared_once<'a>(
    declared: &mut BTreeMap<&'a str, Option<Span>>,
    column: &'a Spanned<String>,
    diags: &mut Diagnostics,
) -> bool {
    if let Some(first) = declared.get(column.value.as_str()) {
        let place = (first.as_ref()).map_or(String::new(), |s| format!(" (line {})", s.line));
        diags.push(
            Diagnostic::new(
                Code::NameCollision,
                format!("feature `{}` is already defined{place}", column.value),
            )
            .at(span(column))
            .hint("a column has one list of steps: merge the two definitions"),
        );
        return false;
    }
    declared.insert(&column.value, span(column));
    true
}

/// The steps after an encoder or a step across columns (`kind`), run on
/// each of its outputs (all numbers): anything but a step across columns or
/// an encoder (whose columns per output prep does not name), except that
/// `date_parts` may end with an encoder whose columns are known before any
/// fit (each part's sine and cosine, or one column per listed category:
/// `<column>_<part>_<suffix>`).
pub(super) fn check_after(
    kind: &str,
    after: &[Spanned<Step>],
    diags: &mut Diagnostics,
) -> Option<Vec<CheckedStep>> {
    let before = diags.0.len();
    let what = format!("the outputs of `{kind}`");
    let mut checked = Vec::new();
    for (k, step) in after.iter().enumerate() {
        let one = (!step.value.is_across())
            .then(|| check_step(&what, ColumnType::Numeric, step, diags))
            .flatten();
        let named = |s: &CheckedStep| {
            kind == "date_parts" && k + 1 == after.len() && !super::columns_learned(s)
        };
        let refused = match &one {
            _ if step.value.is_across() => Some("a step across columns"),
            Some(s) if s.is_encoder() && !named(s) => Some("an encoder"),
            _ => None,
        };
        if let Some(refused) = refused {
            diags.push(
                Diagnostic::new(
                    Code::StepConflict,
                    format!("`{}` after `{kind}` is {refused}, which prep does not run on {what}", step.value.kind()),
                )
                .at(span(step))
                .hint(format!("steps after `{kind}` run on each of its outputs: imputers, scalers, `function`, `binarize`, ordinal `bins`{}", match kind {
                    "date_parts" => "; the last may be `cyclical`, or `one_hot`/`ordinal` with listed categories",
                    _ => "",
                })),
            );
            continue;
        }
        checked.extend(one);
    }
    (diags.0.len() == before).then_some(checked)
}
