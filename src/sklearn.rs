//! `prep export-sklearn`: the fitted values in scikit-learn's attribute names,
//! per feature and step, so a fitted transformer can be rebuilt in Python.

use serde_json::{Map, Value as Json, json};

use crate::fitted::{Fitted, Value};
use crate::ir::{Attr, Ir};
use crate::spec::Scalar;

pub fn export(ir: &Ir, fitted: &Fitted) -> Json {
    let mut features = Map::new();
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
        let steps = features
            .entry(record.feature.clone())
            .or_insert_with(|| Json::Array(Vec::new()));
        if let Json::Array(steps) = steps {
            steps.push(json!({"step": record.step, "transformer": record.transformer, "attributes": attributes}));
        }
    }
    json!({
        "spec": fitted.spec,
        "spec_hash": fitted.spec_hash,
        "note": "NaN is written as null; categories_ lists hold null for the missing value",
        "features": features,
    })
}

/// A bool column's categories and fill values as scikit-learn holds them.
fn booleans(value: Json) -> Json {
    match value {
        Json::String(t) if t == "True" || t == "False" => Json::Bool(t == "True"),
        Json::Array(items) => Json::Array(items.into_iter().map(booleans).collect()),
        other => other,
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
        Attr::Values(values) => Json::Array(
            values
                .iter()
                .map(|v| match v {
                    Some(Scalar::Number(n)) => number(*n),
                    Some(Scalar::String(s)) => Json::String(s.clone()),
                    Some(Scalar::Bool(b)) => Json::Bool(*b),
                    None => Json::Null,
                })
                .collect(),
        ),
        Attr::Index(i) => i.map_or(Json::Null, |i| json!(i)),
    }
}
