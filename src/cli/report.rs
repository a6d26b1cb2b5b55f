//! `prep report`: the HTML page of what a spec does to its data (see
//! `prep::report`), on the embedded engine.

use std::path::Path;

use super::failure::Failure;

#[cfg(feature = "embedded")]
pub fn report(
    spec: &Path,
    data: &[String],
    params: Option<&Path>,
    compare: &[String],
    out: &Path,
) -> Result<(), Failure> {
    use prep::ir::ApplyItem;
    use prep::report::{FeatureReport, OutputReport};

    use super::engine::{Scored, engine_failure, scored};
    use super::unknown::{category_shares, encoder_categories, numeric, warn_feature, warns};

    let Scored {
        text,
        file,
        model,
        engine,
        ir,
        fitted,
        sql,
    } = scored(spec, data, params)?;
    engine
        .run(&format!("CREATE TEMP TABLE prep_report_features AS {sql}"))
        .map_err(engine_failure)?;
    let learned = prep::sklearn::export(&ir, &fitted);
    let mut features = Vec::new();
    for f in &model.features {
        let numeric = numeric(f);
        let source = (engine.distribution(prep::engine::DATA_RELATION, &f.column, numeric))
            .map_err(engine_failure)?;
        let mut outputs = Vec::new();
        for item in &ir.apply.items {
            let ApplyItem::Output(o) = item else { continue };
            if o.is_of(&f.column) {
                let distribution = (engine.distribution("prep_report_features", &o.name, !o.text))
                    .map_err(engine_failure)?;
                outputs.push(OutputReport {
                    name: o.name.clone(),
                    doc: o.doc.clone(),
                    distribution,
                });
            }
        }
        // Every value counted only where an encoder's categories are to check.
        let categories = match encoder_categories(&learned, &f.column) {
            Some(known) => {
                let values = (engine.value_counts(prep::engine::DATA_RELATION, &f.column, numeric))
                    .map_err(engine_failure)?;
                // Counted once: for the page, and for the warning.
                if warns(f) {
                    warn_feature(f, &known, &values, &engine)?;
                }
                let shares = category_shares(&known, &values);
                Some(prep::report::CategoryShares {
                    unknown: shares.unknown.iter().map(|(_, n)| n).sum(),
                    infrequent: shares.infrequent,
                })
            }
            None => None,
        };
        features.push(FeatureReport {
            column: f.column.clone(),
            statistics: statistics(&learned, &f.column),
            categories,
            source,
            outputs,
        });
    }
    let drift = drift_table(&model, &ir, &fitted, compare, &file, &text)?;
    let origin = match params {
        Some(p) => format!("Data: {}; statistics: {}.", data.join(", "), p.display()),
        None => format!("Data: {}; statistics learned from it.", data.join(", ")),
    };
    let html = prep::report::page(&model.name, &origin, &features, drift.as_ref());
    super::files::write_report(out, &html)?;
    eprintln!("wrote {}", out.display());
    Ok(())
}

/// A feature's learned attributes, step by step, as scikit-learn names them.
#[cfg(feature = "embedded")]
fn statistics(learned: &serde_json::Value, column: &str) -> Vec<(String, String, String, String)> {
    let mut out = Vec::new();
    let steps = learned["features"][column]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for step in steps {
        let transformer = step["transformer"].as_str().unwrap_or("").to_string();
        let number = step["step"].to_string();
        for (name, value) in step["attributes"].as_object().into_iter().flatten() {
            let text = match value {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out.push((number.clone(), transformer.clone(), name.clone(), text));
        }
    }
    out
}

/// With `--compare`, the drift of those rows from the training statistics
/// (the spec's `drift:`).
#[cfg(feature = "embedded")]
fn drift_table(
    model: &prep::check::Model,
    ir: &prep::ir::Ir,
    fitted: &prep::fitted::Fitted,
    compare: &[String],
    file: &str,
    text: &str,
) -> Result<Option<prep::report::Table>, Failure> {
    if compare.is_empty() {
        return Ok(None);
    }
    if ir.drift.is_none() {
        return Err(super::failure::usage_failure(
            prep::diagnostic::Code::InvalidValue,
            "--compare shows drift, and this spec learns nothing to measure it against".into(),
            Path::new(file),
            "add `drift: {}` to the spec (see the README, \"Drift\")",
        ));
    }
    let (header, rows) = super::engine::drift_rows(model, ir, fitted, compare, file, text)?;
    let mut rows: Vec<Vec<String>> = (rows.into_iter())
        .map(|r| r.into_iter().map(Option::unwrap_or_default).collect())
        .collect();
    rows.sort();
    Ok(Some(prep::report::Table { header, rows }))
}

#[cfg(not(feature = "embedded"))]
pub fn report(
    _: &Path,
    data: &[String],
    _: Option<&Path>,
    _: &[String],
    _: &Path,
) -> Result<(), Failure> {
    Err(Failure::about(
        super::failure::EXIT_USAGE,
        prep::diagnostic::Code::Data,
        "this prep was built without the embedded engine",
        Path::new(data.first().map_or("", String::as_str)),
        "build with the default features (`cargo install --path .`)",
    ))
}
