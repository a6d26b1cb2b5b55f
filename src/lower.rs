//! Lowering: a checked `Model` becomes the `Ir`, each feature's steps in
//! turn (each step's lowering is in `steps/`, with what it works with in
//! `lowering`). This is where scikit-learn's semantics are written down,
//! once, for every dialect.

use std::collections::BTreeSet;

use crate::check::{Feature, Model};
use crate::fitted::{Fitted, HASH_PARAM};
use crate::ir::FIT_ID_PARAM;
use crate::ir::{Agg, ApplyItem, ApplyPlan, Expr, FitPlan, Ir, Output, ParamId};
use crate::{lowering, naming};

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
    let mut prefixes = BTreeSet::new();
    let mut features = Vec::new();
    let mut items = Vec::new();
    for (index, feature) in model.features.iter().enumerate() {
        let prefix = param_prefix(&feature.column, index, &mut prefixes);
        let info = FeatureInfo {
            column: feature.column.clone(),
            column_type: feature.column_type,
            boolean: feature.boolean,
            span: feature.span.clone(),
            last_step: feature.steps.len(),
        };
        let mut lowering = FeatureLowering {
            fit: &mut fit,
            fitted,
            feature: &info,
            prefix: prefix.clone(),
            rows,
        };
        items.extend(lower_feature(&mut lowering, feature));
        features.push((info, prefix));
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
        },
    }
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

/// A feature's output columns, its steps lowered in turn.
fn lower_feature(f: &mut FeatureLowering, feature: &Feature) -> Vec<ApplyItem> {
    let row = f.feature.read();
    let mut value = FeatureValue {
        row,
        lineage: Lineage::Raw,
        docs: Vec::new(),
    };
    for (k, step) in feature.steps.iter().enumerate() {
        // After a scaler, later statistics are learned on a staged
        // relation: each stage reads the value of the one before by name
        // instead of recomputing every earlier step.
        if let Lineage::Opaque = value.lineage {
            value.row = f.fit.shared(value.row);
        }
        if let Some(outputs) = step.lower(f, k + 1, &mut value) {
            return outputs;
        }
    }
    let FeatureValue { row, docs, .. } = value;
    let doc = format!("`{}`: {}", f.feature.column, docs.join("; then "));
    vec![ApplyItem::Output(Output {
        name: f.feature.column.clone(),
        expr: row,
        doc,
        span: f.feature.span.clone(),
        // No encoder ended the steps: the value keeps the column's type.
        text: f.feature.column_type == ColumnType::String,
    })]
}
