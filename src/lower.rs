//! Lowering: a checked `Model` becomes the `Ir`, each feature's steps in
//! turn (each step's lowering is in `steps/`, with what it works with in
//! `lowering`). This is where scikit-learn's semantics are written down,
//! once, for every dialect.

use std::collections::BTreeSet;

use crate::check::{CheckedStep, Feature, Model};
use crate::fitted::{Fitted, HASH_PARAM};
use crate::ir::FIT_ID_PARAM;
use crate::ir::{Agg, ApplyItem, ApplyPlan, Expr, FitPlan, Ir, Output, ParamId, Present};
use crate::{lowering, naming};

mod across;

pub use crate::lowering::{EPS, ROWS_PARAM};
use crate::lowering::{FeatureInfo, FeatureLowering, FeatureValue, Fit, Lineage};
use crate::spec::ColumnType;

/// The fit id of `model`'s fit rows: their count and a checksum of the
/// columns the spec reads (keys first), with the first 12 digits of the
/// spec's hash. The time of fitting is not part of it: the same spec fitted
/// on the same rows learns the same statistics, so it gets the same id.
fn fit_id(model: &Model, spec_hash: &str) -> Agg {
    let digits = spec_hash.trim_start_matches("sha256:");
    let mut seen = BTreeSet::new();
    let read = model
        .keys
        .iter()
        .chain(model.features.iter().map(|f| &f.column));
    Agg::FitId {
        spec: digits.chars().take(12).collect(),
        columns: (read.filter(|c| seen.insert(c.as_str())))
            .map(|c| Expr::Column(c.clone()))
            .collect(),
    }
}

/// The provenance columns of the features: which spec and which fit scored a row.
fn provenance(hash: Expr, fit_id: ParamId) -> [ApplyItem; 2] {
    let output = |name: &str, expr, doc: &str| {
        ApplyItem::Output(Output {
            name: name.to_string(),
            expr,
            doc: doc.into(),
            span: None,
            text: true,
        })
    };
    [
        output(
            HASH_PARAM,
            hash,
            "The hash of the spec whose fitted statistics scored this row.",
        ),
        output(
            FIT_ID_PARAM,
            Expr::Param(fit_id),
            "The id of the fit whose statistics scored this row: the spec's hash, the number of training rows and their checksum.",
        ),
    ]
}

/// Lowers a checked spec. With `fitted` values, categories learned from data
/// are known, so every output column is; without, such features are
/// `ApplyItem::Learned`. The fit plan is the same either way.
pub fn lower(model: &Model, fitted: Option<&Fitted>) -> Ir {
    let mut fit = Fit::default();
    let rows = fit.aggregate(
        ROWS_PARAM.to_string(),
        0,
        Agg::CountRows,
        ColumnType::Numeric,
        Some("rows the statistics are learned from"),
    );
    let spec_hash = model.content_hash();
    let hash = fit.derived(
        HASH_PARAM.to_string(),
        Expr::Text(spec_hash.clone()),
        ColumnType::String,
        "content hash of the spec these parameters were fitted for",
    );
    let fit_id = fit.aggregate(
        FIT_ID_PARAM.to_string(),
        0,
        fit_id(model, &spec_hash),
        ColumnType::String,
        Some("the fit's id: the spec's hash, the number of rows and their checksum"),
    );
    let (features, mut items) = lower_features(model, &mut fit, fitted, rows);
    // Whatever the apply reads is a fitted parameter, whether its step named
    // it a statistic or a working value of the fit: the apply reads stored
    // values only (a working value read there would be missing).
    for id in items
        .iter()
        .filter_map(ApplyItem::applied_expr)
        .flat_map(Expr::params)
    {
        fit.params[id].stored = true;
    }
    let drift =
        (model.drift.as_ref()).map(|d| lowering::drift::lower(&mut fit, d, &features, rows));
    if model.provenance {
        items.extend(provenance(hash, fit_id));
    }
    Ir {
        name: model.name.clone(),
        source: model.source.clone(),
        source_span: model.source_span.clone(),
        fit_filter: model.fit_filter.as_ref().map(|f| f.sql.clone()),
        fit_filter_span: model.fit_filter.as_ref().and_then(|f| f.span.clone()),
        fit: FitPlan {
            params: fit.params,
            vocabularies: fit.vocabularies,
        },
        steps: fit.steps,
        lets: fit.lets,
        drift,
        apply: ApplyPlan {
            passthrough: model
                .keys
                .iter()
                .chain(&model.passthrough)
                .cloned()
                .collect(),
            passthrough_spans: model.copied_spans.clone(),
            items,
            any_column_name: model.delta_column_mapping,
        },
    }
}

/// Each feature's steps lowered, in the spec's order: the features (with
/// their parameters' prefixes) and the output columns.
fn lower_features(
    model: &Model,
    fit: &mut Fit,
    fitted: Option<&Fitted>,
    rows: ParamId,
) -> (Vec<(FeatureInfo, String)>, Vec<ApplyItem>) {
    let mut prefixes = BTreeSet::new();
    let mut features = Vec::new();
    let mut items = Vec::new();
    // The inputs of each step across columns, lowered until its last one,
    // and the step each input column feeds.
    let mut across: Vec<Vec<across::Input>> =
        model.combinations.iter().map(|_| Vec::new()).collect();
    let feeds: std::collections::HashMap<&str, usize> = (model.combinations.iter().enumerate())
        .flat_map(|(c, combination)| combination.columns.iter().map(move |col| (col.as_str(), c)))
        .collect();
    for (index, feature) in model.features.iter().enumerate() {
        let prefix = param_prefix(&feature.column, index, &mut prefixes);
        let encoder = feature.steps.iter().position(CheckedStep::is_encoder);
        let info = FeatureInfo {
            column: feature.column.clone(),
            column_type: feature.column_type,
            boolean: feature.boolean,
            temporal: feature.temporal(),
            span: feature.span.clone(),
            last_step: encoder.map_or(feature.steps.len(), |k| k + 1),
            after: false,
        };
        let mut lowering = FeatureLowering {
            fit,
            fitted,
            feature: &info,
            prefix: prefix.clone(),
            rows,
        };
        let combination = feeds.get(feature.column.as_str()).copied();
        match (lower_steps(&mut lowering, feature), combination) {
            (Ok(value), Some(c)) => {
                let fit_filtered = model.fit_filter.is_some();
                across[c].push(across::Input::new(feature, value, fit_filtered));
                let combination = &model.combinations[c];
                if across[c].len() == combination.columns.len() {
                    let inputs = std::mem::take(&mut across[c]);
                    let outputs = across::lower(lowering.fit, combination, inputs);
                    let outputs = outputs.into_iter().map(ApplyItem::Output).collect();
                    let after = &combination.after;
                    let then = each_output_after(
                        &mut lowering,
                        after,
                        (index, &mut prefixes),
                        outputs,
                        None,
                    );
                    items.extend(then);
                }
            }
            (Ok(value), None) => items.push(output(&info, value)),
            (Err(ended), _) => {
                let (outputs, left) = *ended;
                let after = &feature.steps[info.last_step..];
                let named = (index, &mut prefixes);
                let then = each_output_after(&mut lowering, after, named, outputs, Some(&left));
                items.extend(then);
            }
        }
        features.push((info, prefix));
    }
    (features, items)
}

/// Parameter names are `<prefix>__<label>`: the column made safe and short
/// (identifier limits apply to them too), made unique with its position.
fn param_prefix(column: &str, index: usize, taken: &mut BTreeSet<String>) -> String {
    let base: String = naming::sanitize(column).chars().take(40).collect();
    let mut prefix = base.clone();
    let mut n = 0;
    while !taken.insert(naming::fold(&prefix)) {
        // Taken (by another column that sanitizes alike): numbered until free.
        prefix = if n == 0 {
            format!("{base}_{index}")
        } else {
            format!("{base}_{index}_{n}")
        };
        n += 1;
    }
    prefix
}

/// A feature's steps lowered in turn: its value after the last, or the
/// output columns of the encoder that ended them.
fn lower_steps(f: &mut FeatureLowering, feature: &Feature) -> Lowered {
    let value = FeatureValue {
        row: f.feature.read(),
        lineage: Lineage::Raw,
        docs: Vec::new(),
    };
    lower_steps_from(f, &feature.steps, value)
}

/// A value's steps lowered: its value after the last, or the output
/// columns of the encoder that ended them with the value it left.
type Lowered = Result<FeatureValue, Box<(Vec<ApplyItem>, FeatureValue)>>;

/// `steps` lowered in turn from `value`.
fn lower_steps_from(
    f: &mut FeatureLowering,
    steps: &[CheckedStep],
    mut value: FeatureValue,
) -> Lowered {
    for (k, step) in steps.iter().enumerate() {
        // After a scaler, later statistics are learned on a staged
        // relation: each stage reads the value of the one before by name
        // instead of recomputing every earlier step.
        if let Lineage::Opaque = value.lineage {
            value.row = f.fit.shared(value.row);
        }
        if let Some(outputs) = step.lower(f, k + 1, &mut value) {
            return Err(Box::new((outputs, value)));
        }
    }
    Ok(value)
}

/// The outputs of an encoder or of a step across columns, each through
/// `steps` (with parameters of its own, named after it, the feature's
/// `index` making them unique among the `prefixes` taken). An output whose
/// value is the one its step `left` (an imputer's, beside its indicator)
/// keeps what is known of it: its moments derive through the imputation.
fn each_output_after(
    f: &mut FeatureLowering,
    steps: &[CheckedStep],
    (index, prefixes): (usize, &mut BTreeSet<String>),
    outputs: Vec<ApplyItem>,
    left: Option<&FeatureValue>,
) -> Vec<ApplyItem> {
    if steps.is_empty() {
        // No parameters to name: no prefix taken (other features' keep theirs).
        return resolve_present(f, outputs);
    }
    let mut items = Vec::new();
    for item in outputs {
        let prefix = match &item {
            ApplyItem::Output(o) => param_prefix(&o.name, index, prefixes),
            // Named as the output it is once the fit says it exists.
            ApplyItem::Learned {
                feature,
                deferred: Some(d),
                ..
            } if d.is_present() => param_prefix(feature, index, prefixes),
            ApplyItem::Learned { .. } => String::new(),
        };
        let lineage = match (&item, left) {
            (ApplyItem::Output(o), Some(left)) if o.expr == left.row => left.lineage.clone(),
            _ => Lineage::Opaque,
        };
        let mut then = FeatureLowering {
            prefix,
            ..f.reborrow()
        };
        items.extend(item_after(&mut then, steps, item, lineage));
    }
    resolve_present(f, items)
}

/// A column whose existence is learned through the steps after it: learned still.
fn present_after(
    f: &mut FeatureLowering,
    steps: &[CheckedStep],
    present: Present,
) -> Vec<ApplyItem> {
    let Present {
        output,
        parameter,
        reason,
    } = present;
    let after = item_after(f, steps, ApplyItem::Output(output), Lineage::Opaque);
    (after.into_iter())
        .map(|item| match item {
            ApplyItem::Output(output) => Present {
                output,
                parameter: parameter.clone(),
                reason: reason.clone(),
            }
            .item(),
            learned => learned,
        })
        .collect()
}

/// With fitted values, each column whose existence is learned (`Present`)
/// written where its parameter is above 0, and dropped elsewhere with the
/// records of the steps after it. The fit plan is the same either way: the
/// steps after it were lowered.
fn resolve_present(f: &mut FeatureLowering, items: Vec<ApplyItem>) -> Vec<ApplyItem> {
    let Some(fitted) = f.fitted else {
        return items;
    };
    let mut out = Vec::new();
    for item in items {
        match Present::of(item) {
            Err(item) => out.push(*item),
            Ok(p) if fitted.number(&p.parameter).unwrap_or(0.0) > 0.0 => {
                out.push(ApplyItem::Output(p.output))
            }
            Ok(p) => (f.fit.steps).retain(|r| !(r.after && r.feature == p.output.name)),
        }
    }
    out
}

/// An output of an encoder or of a step across columns through the steps
/// after it (`lineage`: what is known of its value).
fn item_after(
    f: &mut FeatureLowering,
    steps: &[CheckedStep],
    item: ApplyItem,
    lineage: Lineage,
) -> Vec<ApplyItem> {
    // A column whose existence alone is learned (a missing indicator): its
    // value is known, and goes through the steps as an output's.
    let item = match Present::of(item) {
        Ok(present) => return present_after(f, steps, present),
        Err(item) => *item,
    };
    let output = match item {
        ApplyItem::Output(output) => output,
        // The check refuses steps after learned columns; were they to come
        // here, they stay learned and are not deferred: the dbt package
        // cannot write the steps after them.
        ApplyItem::Learned {
            feature,
            reason,
            span,
            ..
        } => {
            let reason = format!(
                "{reason}, and steps follow its encoder (prep writes them once the categories are known)"
            );
            return vec![ApplyItem::Learned {
                feature,
                reason,
                span,
                deferred: None,
            }];
        }
    };
    let info = FeatureInfo {
        column: output.name.clone(),
        column_type: ColumnType::Numeric,
        boolean: false,
        temporal: false,
        span: output.span.clone(),
        last_step: steps.len(),
        after: true,
    };
    let value = FeatureValue {
        row: output.expr,
        lineage,
        docs: Vec::new(),
    };
    let mut f = FeatureLowering {
        feature: &info,
        ..f.reborrow()
    };
    match lower_steps_from(&mut f, steps, value) {
        Ok(value) => vec![ApplyItem::Output(Output {
            expr: value.row,
            doc: format!("{}; then {}", output.doc, value.docs.join("; then ")),
            ..output
        })],
        // Encoders after an encoder or a step across columns are refused when checked.
        Err(ended) => ended.0,
    }
}

/// The output column of a feature that no encoder ended.
fn output(feature: &FeatureInfo, value: FeatureValue) -> ApplyItem {
    let FeatureValue { row, docs, .. } = value;
    let doc = format!("`{}`: {}", feature.column, docs.join("; then "));
    ApplyItem::Output(Output {
        name: feature.column.clone(),
        expr: row,
        doc,
        span: feature.span.clone(),
        // No encoder ended the steps: the value keeps the column's type.
        text: feature.column_type == ColumnType::String,
    })
}
