//! The lowering of a step across a group's columns: each input's value
//! after its own steps, a missing one stopping the query (scikit-learn's
//! Normalizer and PolynomialFeatures refuse NaN), then the step's outputs.

use crate::check::{Combination, Feature};
use crate::ir::build::*;
use crate::ir::{Cond, Output, StepRecord};
use crate::lowering::{FeatureValue, Fit, steps_before};
use crate::steps::{missing_stops_in, output_facts};

/// One input column of a step across columns, lowered.
pub(crate) struct Input {
    column: String,
    value: FeatureValue,
    /// Its own steps never leave it missing (an imputation): no check.
    not_null: bool,
    /// How many steps of its own it has.
    steps: usize,
}

impl Input {
    pub(crate) fn new(feature: &Feature, value: FeatureValue, fit_filtered: bool) -> Input {
        Input {
            column: feature.column.clone(),
            value,
            not_null: output_facts(&feature.steps, fit_filtered).not_null,
            steps: feature.steps.len(),
        }
    }
}

/// The outputs of `combination`, from its inputs (in its columns' order).
pub(crate) fn lower(fit: &mut Fit, combination: &Combination, inputs: Vec<Input>) -> Vec<Output> {
    let step = &combination.step;
    let values: Vec<_> = (inputs.iter())
        .map(|input| {
            let x = fit.shared(input.value.row.clone());
            if input.not_null {
                return x;
            }
            let stop = missing_stops_in(&input.column, &x, step.kind(), step.transformer());
            fit.shared(case(vec![(Cond::IsNull(x.clone()), stop)], x))
        })
        .collect();
    let columns = &combination.columns;
    let outputs = step.lower(fit, &values, columns);
    fit.steps.push(StepRecord {
        feature: columns[0].clone(),
        step: inputs[0].steps + 1,
        transformer: step.transformer(),
        attributes: Vec::new(),
        options: step.sklearn_options(),
        boolean: false,
        columns: columns.clone(),
        after: false,
    });
    let named: Vec<String> = columns.iter().map(|c| format!("`{c}`")).collect();
    // Every input has the group's steps: the first one's words say them.
    let before = steps_before(&inputs[0].value.docs);
    (combination.outputs().into_iter().zip(outputs))
        .map(|(name, (expr, what))| Output {
            name,
            expr,
            doc: format!("{}: {before}{what}", named.join(", ")),
            span: combination.span.clone(),
            text: false,
        })
        .collect()
}
