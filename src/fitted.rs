//! Fitted parameters outside the warehouse: read from the fit query's result
//! (exported as CSV or JSON, or run on the embedded engine), written as a
//! reviewable YAML file, and read back to bind the apply query to literals.
//!
//! The fit query's result is the long relation `(parameter, kind, number,
//! text, frequency)` described in `render::Renderer::fit_query`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Deserialize;

use crate::ir::{FITTED_AT, Ir, Param, Vocabulary};
use crate::spec::ColumnType;

/// One value: a number, a text, or NULL (scikit-learn's NaN / None).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Number(f64),
    Text(String),
    Null,
}

/// A learned category and how many fit rows hold it. `Null` is the missing value.
#[derive(Debug, Clone, PartialEq)]
pub struct Category {
    pub value: Value,
    pub frequency: f64,
}

/// A learned quantile (QuantileTransformer's) and its reference, its place in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuantilePoint {
    pub reference: f64,
    pub value: f64,
}

/// Every fitted value of one spec.
#[derive(Debug, Clone, PartialEq)]
pub struct Fitted {
    pub spec: String,
    pub spec_hash: String,
    /// When the statistics were learned, where the fit says (the dbt package's does).
    pub fitted_at: Option<String>,
    pub parameters: BTreeMap<String, Value>,
    /// In scikit-learn's order: ascending (code points for text), missing last.
    pub vocabularies: BTreeMap<String, Vec<Category>>,
    /// Each learned quantile table, by reference.
    pub quantiles: BTreeMap<String, Vec<QuantilePoint>>,
}

mod result;
pub use result::{LongRow, read_result};

pub use crate::ir::HASH_PARAM;

impl Fitted {
    /// Builds the fitted values from the fit query's rows, checking each row
    /// against the fit plan: every parameter once with a value of its type,
    /// finite numbers, categories of the vocabulary's type, each once, with
    /// whole non-negative counts. An error names the row (1-based).
    pub fn from_rows(ir: &Ir, rows: Vec<LongRow>) -> Result<Fitted, String> {
        let mut parameters = BTreeMap::new();
        let mut fitted_at = None;
        let stored: BTreeMap<&str, &Param> = Param::stored(&ir.fit.params)
            .map(|p| (p.name.as_str(), p))
            .collect();
        let mut vocabularies: BTreeMap<String, Vec<Category>> = (ir.fit.vocabularies.iter())
            .filter(|v| v.quantiles.is_none())
            .map(|v| (v.name.clone(), Vec::new()))
            .collect();
        let mut quantiles: BTreeMap<String, Vec<QuantilePoint>> = (ir.fit.vocabularies.iter())
            .filter(|v| v.quantiles.is_some())
            .map(|v| (v.name.clone(), Vec::new()))
            .collect();
        for (i, row) in rows.into_iter().enumerate() {
            let at = |m: String| format!("row {}: {m}", i + 1);
            for n in [row.number, row.frequency].into_iter().flatten() {
                if !n.is_finite() {
                    return Err(at(format!("{n} is not a finite number")));
                }
            }
            if let Some(p) = row.text.as_deref().and_then(crate::text::string_problem) {
                return Err(at(format!("the text of `{}`: {p}", row.parameter)));
            }
            match row.kind.as_str() {
                "value" if row.parameter == FITTED_AT => stamp(row, &mut fitted_at).map_err(at)?,
                "value" => read_value(&stored, row, &mut parameters).map_err(at)?,
                "category" => read_category(ir, row, &mut vocabularies).map_err(at)?,
                "quantile" => read_quantile(row, &mut quantiles).map_err(at)?,
                other => {
                    return Err(at(format!(
                        "row kind `{other}` is not `value`, `category` or `quantile`"
                    )));
                }
            }
        }
        for (name, entries) in vocabularies.iter_mut() {
            entries.sort_by(|a, b| category_order(&a.value, &b.value));
            if let Some(pair) =
                (entries.windows(2)).find(|pair| same_category(&pair[0].value, &pair[1].value))
            {
                let value = match &pair[0].value {
                    Value::Number(n) => n.to_string(),
                    Value::Text(t) => format!("'{}'", t.escape_debug()),
                    Value::Null => "the missing value".into(),
                };
                return Err(format!("a category of `{name}` appears twice: {value}"));
            }
        }
        for (name, points) in quantiles.iter_mut() {
            points.sort_by(|a, b| a.reference.total_cmp(&b.reference));
            if let Some(pair) = (points.windows(2)).find(|p| p[0].reference == p[1].reference) {
                let r = pair[0].reference;
                return Err(format!(
                    "a quantile of `{name}` at reference {r} appears twice"
                ));
            }
        }
        for p in Param::stored(&ir.fit.params) {
            if !parameters.contains_key(&p.name) {
                return Err(format!(
                    "parameter `{}` is missing: was the result produced by this spec's fit query?",
                    p.name
                ));
            }
        }
        let spec_hash = match parameters.get(HASH_PARAM) {
            Some(Value::Text(h)) => h.clone(),
            _ => return Err(format!("`{HASH_PARAM}` is missing")),
        };
        Ok(Fitted {
            spec: ir.name.clone(),
            spec_hash,
            fitted_at,
            parameters,
            vocabularies,
            quantiles,
        })
    }

    /// The rows this file holds, in the fit query's long form: reading a
    /// file back goes through the same checks as a fit result.
    pub fn to_rows(&self) -> Vec<LongRow> {
        let mut rows = Vec::new();
        if let Some(t) = &self.fitted_at {
            rows.push(LongRow {
                parameter: FITTED_AT.into(),
                kind: "value".into(),
                number: None,
                text: Some(t.clone()),
                frequency: None,
            });
        }
        for (name, value) in &self.parameters {
            let (number, text) = split(value);
            rows.push(LongRow {
                parameter: name.clone(),
                kind: "value".into(),
                number,
                text,
                frequency: None,
            });
        }
        for (name, entries) in &self.vocabularies {
            for c in entries {
                let (number, text) = split(&c.value);
                rows.push(LongRow {
                    parameter: name.clone(),
                    kind: "category".into(),
                    number,
                    text,
                    frequency: Some(c.frequency),
                });
            }
        }
        for (name, points) in &self.quantiles {
            for q in points {
                rows.push(LongRow {
                    parameter: name.clone(),
                    kind: "quantile".into(),
                    number: Some(q.value),
                    text: None,
                    frequency: Some(q.reference),
                });
            }
        }
        rows
    }

    pub fn number(&self, name: &str) -> Option<f64> {
        match self.parameters.get(name) {
            Some(Value::Number(n)) => Some(*n),
            _ => None,
        }
    }

    /// The fitted-parameters file: YAML, in the fit plan's order, every float in
    /// the shortest text that reads back as the same f64.
    pub fn to_yaml(&self, ir: &Ir, rows_note: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# {} {} by `prep fit`: fitted parameters of spec `{}`.",
            crate::text::HEADER_MARK,
            env!("CARGO_PKG_VERSION"),
            crate::text::comment(&self.spec)
        );
        let _ = writeln!(out, "# {}", crate::text::comment(rows_note));
        let _ = writeln!(
            out,
            "# Do not edit: run `prep fit` again. Bind with `prep compile --params`."
        );
        let _ = writeln!(out, "spec: {}", yaml_string(&self.spec));
        let _ = writeln!(out, "spec_hash: {}", yaml_string(&self.spec_hash));
        if let Some(t) = &self.fitted_at {
            let _ = writeln!(out, "fitted_at: {}", yaml_string(t));
        }
        let _ = writeln!(out, "parameters:");
        for p in Param::stored(&ir.fit.params) {
            let value = self.parameters.get(&p.name).cloned().unwrap_or(Value::Null);
            let _ = writeln!(out, "  {}: {}", p.name, yaml_value(&value));
        }
        let (tables, categories): (Vec<&Vocabulary>, Vec<&Vocabulary>) =
            (ir.fit.vocabularies.iter()).partition(|v| v.quantiles.is_some());
        if categories.is_empty() {
            let _ = writeln!(out, "vocabularies: {{}}");
        } else {
            let _ = writeln!(out, "vocabularies:");
            for v in categories {
                let entries = self
                    .vocabularies
                    .get(&v.name)
                    .map(Vec::as_slice)
                    .unwrap_or(&[]);
                if entries.is_empty() {
                    let _ = writeln!(out, "  {}: []", v.name);
                    continue;
                }
                let _ = writeln!(out, "  {}:", v.name);
                for c in entries {
                    let _ = writeln!(
                        out,
                        "    - {{value: {}, frequency: {}}}",
                        yaml_value(&c.value),
                        yaml_number(c.frequency)
                    );
                }
            }
        }
        // Only where the spec learns quantiles: other files stay as they were.
        if !tables.is_empty() {
            let _ = writeln!(out, "quantiles:");
            for v in tables {
                let points = self.quantiles.get(&v.name).map(Vec::as_slice);
                let points = points.unwrap_or(&[]);
                if points.is_empty() {
                    let _ = writeln!(out, "  {}: []", v.name);
                    continue;
                }
                let _ = writeln!(out, "  {}:", v.name);
                for q in points {
                    let _ = writeln!(
                        out,
                        "    - {{reference: {}, value: {}}}",
                        yaml_number(q.reference),
                        yaml_number(q.value)
                    );
                }
            }
        }
        out
    }

    /// Reads a fitted-parameters file.
    pub fn from_yaml(text: &str) -> Result<Fitted, String> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct File {
            spec: String,
            spec_hash: String,
            #[serde(default)]
            fitted_at: Option<String>,
            parameters: BTreeMap<String, Value>,
            vocabularies: BTreeMap<String, Vec<Entry>>,
            #[serde(default)]
            quantiles: BTreeMap<String, Vec<Point>>,
            /// scikit-learn's view of the same values, for Python: written
            /// from them, never read back.
            #[serde(default)]
            #[allow(dead_code)]
            sklearn: Option<serde::de::IgnoredAny>,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Entry {
            value: Value,
            frequency: f64,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Point {
            reference: f64,
            value: f64,
        }
        let file: File = serde_saphyr::from_str(text)
            .map_err(|e| e.to_string().lines().next().unwrap_or_default().to_string())?;
        Ok(Fitted {
            spec: file.spec,
            spec_hash: file.spec_hash,
            fitted_at: file.fitted_at,
            parameters: file.parameters,
            vocabularies: file
                .vocabularies
                .into_iter()
                .map(|(k, v)| {
                    (
                        k,
                        v.into_iter()
                            .map(|e| Category {
                                value: e.value,
                                frequency: e.frequency,
                            })
                            .collect(),
                    )
                })
                .collect(),
            quantiles: (file.quantiles.into_iter())
                .map(|(k, v)| {
                    let points = v.into_iter().map(|p| QuantilePoint {
                        reference: p.reference,
                        value: p.value,
                    });
                    (k, points.collect())
                })
                .collect(),
        })
    }

    /// Checks that these values were fitted for exactly this spec.
    pub fn check_matches(&self, ir: &Ir) -> Result<(), String> {
        let expected = ir.spec_hash();
        if expected != Some(self.spec_hash.as_str()) {
            return Err(format!(
                "these parameters were fitted for a different version of spec `{}` (hash {}, the spec is now {})",
                self.spec,
                self.spec_hash,
                expected.unwrap_or("unknown")
            ));
        }
        for p in Param::stored(&ir.fit.params) {
            if !self.parameters.contains_key(&p.name) {
                return Err(format!("parameter `{}` is missing", p.name));
            }
        }
        for v in &ir.fit.vocabularies {
            let there = match v.quantiles {
                None => self.vocabularies.contains_key(&v.name),
                Some(_) => self.quantiles.contains_key(&v.name),
            };
            if !there {
                return Err(format!("vocabulary `{}` is missing", v.name));
            }
        }
        // Every value passes the checks a fit result passes.
        Fitted::from_rows(ir, self.to_rows()).map(|_| ())
    }
}

/// The time of fitting (the dbt package's fit adds it): not a parameter of
/// the plan, kept as it is.
fn stamp(row: LongRow, fitted_at: &mut Option<String>) -> Result<(), String> {
    let Value::Text(t) = typed(ColumnType::String, row.number, row.text, FITTED_AT)? else {
        return Err(format!("`{FITTED_AT}` has no text"));
    };
    match fitted_at.replace(t) {
        Some(_) => Err(format!("`{FITTED_AT}` appears twice")),
        None => Ok(()),
    }
}

/// A row's value, which must be of the type the fit plan gives it (`number`
/// for numbers, `text` for texts, neither for NULL).
fn typed(
    value_type: ColumnType,
    number: Option<f64>,
    text: Option<String>,
    what: &str,
) -> Result<Value, String> {
    match (value_type, number, text) {
        (_, None, None) => Ok(Value::Null),
        (ColumnType::Numeric, Some(n), None) => Ok(Value::Number(n)),
        (ColumnType::String, None, Some(t)) => Ok(Value::Text(t)),
        (ColumnType::Numeric, _, Some(_)) => Err(format!(
            "{what} is a number, but its row has a text (was `number` exported as text?)"
        )),
        (ColumnType::String, Some(_), _) => {
            Err(format!("{what} is a text, but its row has a number"))
        }
    }
}

fn split(v: &Value) -> (Option<f64>, Option<String>) {
    match v {
        Value::Number(n) => (Some(*n), None),
        Value::Text(t) => (None, Some(t.clone())),
        Value::Null => (None, None),
    }
}

/// Two categories are the same value (numbers by value, so -0.0 is 0.0).
fn same_category(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y,
        _ => a == b,
    }
}

/// scikit-learn's category order: numbers ascending, text by code point, missing last.
pub fn category_order(a: &Value, b: &Value) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    match (a, b) {
        (Value::Null, Value::Null) => Equal,
        (Value::Null, _) => Greater,
        (_, Value::Null) => Less,
        (Value::Number(x), Value::Number(y)) => x.total_cmp(y),
        (Value::Text(x), Value::Text(y)) => x.cmp(y),
        (Value::Number(_), Value::Text(_)) => Less,
        (Value::Text(_), Value::Number(_)) => Greater,
    }
}

/// The shortest decimal text that reads back as the same f64 (YAML 1.2 floats).
pub fn yaml_number(v: f64) -> String {
    if v.is_nan() {
        ".nan".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            ".inf".into()
        } else {
            "-.inf".into()
        }
    } else {
        crate::text::float_text(v)
    }
}

/// A double-quoted YAML string: every character YAML does not allow raw
/// (control characters, DEL, line separators, non-characters) is an escape.
pub fn yaml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control()
                || matches!(
                    c,
                    '\u{2028}' | '\u{2029}' | '\u{FEFF}' | '\u{FFFE}' | '\u{FFFF}'
                ) =>
            {
                out.push_str(&format!("\\u{:04X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn yaml_value(v: &Value) -> String {
    match v {
        Value::Number(n) => yaml_number(*n),
        Value::Text(s) => yaml_string(s),
        Value::Null => "null".into(),
    }
}

/// A parameter's row: one this spec's fit stores, of its type, once.
fn read_value(
    stored: &BTreeMap<&str, &Param>,
    row: LongRow,
    parameters: &mut BTreeMap<String, Value>,
) -> Result<(), String> {
    let param = stored.get(row.parameter.as_str()).ok_or_else(|| {
        format!(
            "parameter `{}` is not one this spec's fit produces",
            row.parameter
        )
    })?;
    let what = format!("parameter `{}`", row.parameter);
    let value = typed(param.value_type, row.number, row.text, &what)?;
    if parameters.insert(row.parameter.clone(), value).is_some() {
        return Err(format!("parameter `{}` appears twice", row.parameter));
    }
    Ok(())
}

/// A learned quantile's row: of a quantile table this spec's fit learns, a
/// number with its reference in [0, 1] (repeats are found once every row is read).
fn read_quantile(
    row: LongRow,
    quantiles: &mut BTreeMap<String, Vec<QuantilePoint>>,
) -> Result<(), String> {
    let name = &row.parameter;
    let points = (quantiles.get_mut(name))
        .ok_or_else(|| format!("`{name}` is not a quantile table this spec's fit learns"))?;
    let (Some(value), Some(reference), None) = (row.number, row.frequency, &row.text) else {
        return Err(format!(
            "a quantile of `{name}` needs a number and its reference (in `frequency`)"
        ));
    };
    if !(0.0..=1.0).contains(&reference) {
        return Err(format!(
            "the reference {reference} of a quantile of `{name}` is not in [0, 1]"
        ));
    }
    points.push(QuantilePoint { reference, value });
    Ok(())
}

/// A learned category's row: of a vocabulary this spec's fit learns, of its
/// type, with a count, once.
fn read_category(
    ir: &Ir,
    row: LongRow,
    vocabularies: &mut BTreeMap<String, Vec<Category>>,
) -> Result<(), String> {
    let unknown = || {
        format!(
            "`{}` is not a vocabulary this spec's fit learns",
            row.parameter
        )
    };
    let vocabulary = (ir.fit.vocabularies.iter())
        .find(|v| v.name == row.parameter)
        .ok_or_else(unknown)?;
    let entries = vocabularies.get_mut(&row.parameter).ok_or_else(unknown)?;
    let what = format!("a category of `{}`", row.parameter);
    let value = typed(vocabulary.value_type, row.number, row.text, &what)?;
    let frequency = (row.frequency)
        .ok_or_else(|| format!("a category of `{}` has no frequency", row.parameter))?;
    if frequency < 0.0 || frequency.fract() != 0.0 {
        return Err(format!(
            "the frequency {frequency} of a category of `{}` is not a count",
            row.parameter
        ));
    }
    // Repeats are found once every row is read (sorted, they are neighbours).
    entries.push(Category { value, frequency });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_in_shortest_round_trip_form() {
        for v in [
            0.1,
            1.0 / 3.0,
            1e15 + 0.5,
            1e-200,
            -0.0,
            44.45,
            2.220446049250313e-16,
            1e300,
        ] {
            let text = yaml_number(v);
            let back: f64 = serde_saphyr::from_str(&text).unwrap();
            assert_eq!(back.to_bits(), v.to_bits(), "{text}");
        }
    }

    #[test]
    fn categories_sort_like_scikit_learn() {
        let mut v = vec![
            Value::Null,
            Value::Text("b".into()),
            Value::Text("B".into()),
            Value::Text("é".into()),
            Value::Text("".into()),
        ];
        v.sort_by(category_order);
        assert_eq!(
            v,
            vec![
                Value::Text("".into()),
                Value::Text("B".into()),
                Value::Text("b".into()),
                Value::Text("é".into()),
                Value::Null
            ]
        );
    }
}
