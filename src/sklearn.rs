//! `prep export-sklearn`: the fitted values in scikit-learn's attribute names,
//! per feature and step, so a fitted transformer can be rebuilt in Python.

use serde_json::{Map, Value as Json, json};

use crate::fitted::{Fitted, Value};
use crate::ir::{Attr, Ir};
use crate::spec::Scalar;

pub fn export(ir: &Ir, fitted: &Fitted) -> Json {
    let mut features = Map::new();
    let mut groups = Vec::new();
    let mut then = Map::new();
    for entry in pipeline(ir, fitted) {
        match entry {
            Entry::Feature(feature, steps, after) => {
                if !after.is_empty() {
                    let lists = after.into_iter().map(|(_, s)| Json::Array(s));
                    then.insert(feature.clone(), lists.collect());
                }
                features.insert(feature, steps);
            }
            group => groups.push(group.json()),
        }
    }
    let mut out = json!({
        "spec": fitted.spec,
        "spec_hash": fitted.spec_hash,
        "note": "NaN is written as null; categories_ lists hold null for the missing value",
        "features": features,
    });
    // Only where there are any, so that other exports keep their form.
    if !groups.is_empty() {
        out["groups"] = Json::Array(groups);
    }
    if !then.is_empty() {
        // The steps after a feature's encoder, a list per output column.
        out["then"] = Json::Object(then);
    }
    out
}

/// The `sklearn:` section of a fitted-parameters file: one line per feature,
/// in the spec's order, each a JSON object (valid YAML) with the feature's
/// transformers, their constructor options and fitted attributes, and after
/// the features of a group with a step across its columns, a line
/// `{"group": [columns], "step": ...}` for that step (its columns' lines,
/// before it, hold their own steps; a column without any has none). Steps
/// after an encoder or a step across columns are its line's `then`, a list
/// of steps per output column, in order. It is
/// scikit-learn's view of the file's own values, so that Python can rebuild
/// the fitted pipeline without prep (`python/prep_sklearn`).
pub fn fitted_file_section(ir: &Ir, fitted: &Fitted) -> String {
    let mut out = String::from(
        "# scikit-learn's transformers holding these values (for prep_sklearn):\nsklearn:\n",
    );
    for entry in pipeline(ir, fitted) {
        out.push_str(&format!("  - {}\n", entry.json()));
    }
    out
}

/// A feature's transformers, or a step across a group's columns, each with
/// the steps after it on each of its outputs (`then`: one list per output,
/// in order; empty when no step follows).
enum Entry {
    Feature(String, Json, Vec<(String, Vec<Json>)>),
    /// `{"group": [columns], "step": {...}}`.
    Group(Json, Vec<(String, Vec<Json>)>),
}

impl Entry {
    /// Its line: `{"feature": ..., "steps": [...]}` or the group's, with
    /// `"then": [[steps of output 1], ...]` when steps follow.
    fn json(self) -> Json {
        let (mut json, then) = match self {
            Entry::Feature(feature, steps, then) => {
                (json!({"feature": feature, "steps": steps}), then)
            }
            Entry::Group(group, then) => (group, then),
        };
        if !then.is_empty() {
            json["then"] = then
                .into_iter()
                .map(|(_, steps)| Json::Array(steps))
                .collect();
        }
        json
    }
}

/// Each feature's steps as scikit-learn transformers, in the spec's order.
fn pipeline(ir: &Ir, fitted: &Fitted) -> Vec<Entry> {
    let mut entries: Vec<Entry> = Vec::new();
    for record in &ir.steps {
        let mut attributes = Map::new();
        for (name, attr) in &record.attributes {
            let value = attr_json(attr, ir, fitted);
            let value = if record.boolean {
                booleans(value)
            } else {
                value
            };
            attributes.insert(name.to_string(), value);
        }
        let step = json!({
            "step": record.step,
            "transformer": record.transformer,
            "options": record.options,
            "attributes": attributes,
        });
        if !record.columns.is_empty() {
            let group = json!({"group": record.columns, "step": step});
            entries.push(Entry::Group(group, Vec::new()));
            continue;
        }
        match entries.last_mut() {
            // A step on an output of the encoder or step across columns before.
            Some(Entry::Feature(_, _, then) | Entry::Group(_, then)) if record.after => {
                match then.last_mut() {
                    Some((output, steps)) if *output == record.feature => steps.push(step),
                    _ => then.push((record.feature.clone(), vec![step])),
                }
            }
            Some(Entry::Feature(f, Json::Array(steps), _)) if *f == record.feature => {
                steps.push(step)
            }
            _ => entries.push(Entry::Feature(
                record.feature.clone(),
                json!([step]),
                Vec::new(),
            )),
        }
    }
    entries
}

/// A bool column's categories and fill values as scikit-learn holds them.
fn booleans(value: Json) -> Json {
    match value {
        Json::String(t) if t == "True" || t == "False" => Json::Bool(t == "True"),
        Json::Array(items) => Json::Array(items.into_iter().map(booleans).collect()),
        other => other,
    }
}

/// An encoder's `categories` option: the given list (with the missing
/// value, null, last when `missing` says it is listed), or `auto`.
pub(crate) fn categories_option(given: Option<&[Scalar]>, missing: bool) -> Json {
    match given {
        Some(given) => {
            let mut values: Vec<Json> = given.iter().map(|c| scalar_json(Some(c))).collect();
            if missing {
                values.push(Json::Null);
            }
            json!([values])
        }
        None => "auto".into(),
    }
}

/// A category or fill value as JSON (`None`: the missing value, null).
pub(crate) fn scalar_json(value: Option<&Scalar>) -> Json {
    match value {
        Some(Scalar::Number(n)) => number(*n),
        Some(Scalar::String(s)) => Json::String(s.clone()),
        Some(Scalar::Bool(b)) => Json::Bool(*b),
        None => Json::Null,
    }
}

fn number(n: f64) -> Json {
    serde_json::Number::from_f64(n).map_or(Json::Null, Json::Number)
}

fn attr_json(attr: &Attr, ir: &Ir, fitted: &Fitted) -> Json {
    match attr {
        Attr::Param(id) => match fitted.parameters.get(&ir.fit.params[*id].name) {
            Some(Value::Number(n)) => number(*n),
            Some(Value::Text(t)) => Json::String(t.clone()),
            _ => Json::Null,
        },
        Attr::Number(n) => number(*n),
        Attr::Text(t) => Json::String(t.clone()),
        Attr::Null => Json::Null,
        Attr::Values(values) => {
            Json::Array(values.iter().map(|v| scalar_json(v.as_ref())).collect())
        }
        Attr::Index(i) => i.map_or(Json::Null, |i| json!(i)),
        Attr::List(items) => Json::Array(items.iter().map(|a| attr_json(a, ir, fitted)).collect()),
        Attr::Quantiles { table, references } => {
            let points = fitted.quantiles.get(table).into_iter().flatten();
            let pick = |q: &crate::fitted::QuantilePoint| match references {
                true => q.reference,
                false => q.value,
            };
            Json::Array(points.map(|q| number(pick(q))).collect())
        }
    }
}
