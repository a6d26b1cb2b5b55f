//! What changed between two fits: every parameter whose value differs, and
//! every learned category whose count differs (or that only one fit saw).
//! `prep diff` prints it; it answers "which statistics changed, and by how
//! much" between a model's training fit and a refit.

use crate::fitted::{Category, Fitted, Value, category_order};
use crate::text::float_text;

/// One parameter that differs: its values in the first and second fit
/// (`None`: the fit has no such parameter).
#[derive(Debug, Clone, PartialEq)]
pub struct ParameterChange {
    pub name: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// One learned category whose count differs (`None`: not seen by that fit).
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryChange {
    pub vocabulary: String,
    pub category: Value,
    pub before: Option<f64>,
    pub after: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct FittedDiff {
    pub parameters: Vec<ParameterChange>,
    pub unchanged_parameters: usize,
    pub categories: Vec<CategoryChange>,
    pub unchanged_categories: usize,
}

impl FittedDiff {
    pub fn is_empty(&self) -> bool {
        self.parameters.is_empty() && self.categories.is_empty()
    }
}

/// The differences from `before` to `after`, parameters and vocabularies in
/// name order, categories in scikit-learn's order.
pub fn diff(before: &Fitted, after: &Fitted) -> FittedDiff {
    let mut out = FittedDiff::default();
    // Each learned quantile compares as a parameter of its own, named by
    // its table and reference.
    let quantiles = |f: &Fitted| -> std::collections::BTreeMap<String, Value> {
        (f.quantiles.iter())
            .flat_map(|(table, points)| {
                (points.iter()).map(move |q| {
                    let name = format!("{table} at {}", float_text(q.reference));
                    (name, Value::Number(q.value))
                })
            })
            .collect()
    };
    let (before_q, after_q) = (quantiles(before), quantiles(after));
    let names: std::collections::BTreeSet<&String> = (before.parameters.keys())
        .chain(after.parameters.keys())
        .chain(before_q.keys())
        .chain(after_q.keys())
        .collect();
    for name in names {
        let b = before.parameters.get(name).or(before_q.get(name));
        let a = after.parameters.get(name).or(after_q.get(name));
        if b == a {
            out.unchanged_parameters += 1;
        } else {
            out.parameters.push(ParameterChange {
                name: name.clone(),
                before: b.cloned(),
                after: a.cloned(),
            });
        }
    }
    let vocabularies: std::collections::BTreeSet<&String> = (before.vocabularies.keys())
        .chain(after.vocabularies.keys())
        .collect();
    let none = Vec::new();
    for vocabulary in vocabularies {
        let b = before.vocabularies.get(vocabulary).unwrap_or(&none);
        let a = after.vocabularies.get(vocabulary).unwrap_or(&none);
        let mut seen: Vec<&Value> = b.iter().chain(a).map(|c| &c.value).collect();
        seen.sort_by(|x, y| category_order(x, y));
        seen.dedup();
        let count = |list: &[Category], v: &Value| {
            (list.iter()).find(|c| &c.value == v).map(|c| c.frequency)
        };
        for value in seen {
            let (was, is) = (count(b, value), count(a, value));
            if was == is {
                out.unchanged_categories += 1;
            } else {
                out.categories.push(CategoryChange {
                    vocabulary: vocabulary.clone(),
                    category: value.clone(),
                    before: was,
                    after: is,
                });
            }
        }
    }
    out
}

/// A value as the tables show it; `-` where the fit has none.
fn value_text(v: &Option<Value>) -> Option<String> {
    match v {
        None => Some("-".into()),
        Some(Value::Number(n)) => Some(float_text(*n)),
        Some(Value::Text(t)) => Some(t.clone()),
        Some(Value::Null) => Some("NULL".into()),
    }
}

/// How a value moved: the difference and, where it means something, the
/// relative change; or that it appeared, disappeared or changed text.
fn change_text(before: Option<&Value>, after: Option<&Value>) -> String {
    match (before, after) {
        (None, Some(_)) => "added".into(),
        (Some(_), None) => "removed".into(),
        (Some(Value::Number(b)), Some(Value::Number(a))) => {
            let delta = a - b;
            let sign = if delta >= 0.0 { "+" } else { "" };
            if *b != 0.0 && b.is_finite() && a.is_finite() {
                format!(
                    "{sign}{} ({sign}{:.3}%)",
                    float_text(delta),
                    100.0 * delta / b.abs()
                )
            } else {
                format!("{sign}{}", float_text(delta))
            }
        }
        _ => "changed".into(),
    }
}

impl FittedDiff {
    /// Two aligned tables (parameters, then categories) and how many values
    /// are the same, as `prep diff` prints them. `table` aligns columns.
    pub fn to_text(&self, table: impl Fn(&[String], &[Vec<Option<String>>]) -> String) -> String {
        let mut out = String::new();
        if !self.parameters.is_empty() {
            let names = ["parameter", "before", "after", "change"].map(String::from);
            let rows: Vec<Vec<Option<String>>> = (self.parameters.iter())
                .map(|p| {
                    vec![
                        Some(p.name.clone()),
                        value_text(&p.before),
                        value_text(&p.after),
                        Some(change_text(p.before.as_ref(), p.after.as_ref())),
                    ]
                })
                .collect();
            out += &table(&names, &rows);
            out += "\n";
        }
        if !self.categories.is_empty() {
            let names = ["vocabulary", "category", "before", "after", "change"].map(String::from);
            let rows: Vec<Vec<Option<String>>> = (self.categories.iter())
                .map(|c| {
                    let (b, a) = (c.before.map(Value::Number), c.after.map(Value::Number));
                    vec![
                        Some(c.vocabulary.clone()),
                        value_text(&Some(c.category.clone())),
                        value_text(&b),
                        value_text(&a),
                        Some(change_text(b.as_ref(), a.as_ref())),
                    ]
                })
                .collect();
            out += &table(&names, &rows);
            out += "\n";
        }
        out += &format!(
            "{} parameters and {} category counts are the same.\n",
            self.unchanged_parameters, self.unchanged_categories
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn fitted(params: &[(&str, Value)], cats: &[(&str, f64)]) -> Fitted {
        Fitted {
            spec: "s".into(),
            spec_hash: "h".into(),
            fitted_at: None,
            parameters: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            vocabularies: BTreeMap::from([(
                "c__vocab".to_string(),
                (cats.iter())
                    .map(|(v, n)| Category {
                        value: Value::Text(v.to_string()),
                        frequency: *n,
                    })
                    .collect(),
            )]),
            quantiles: BTreeMap::new(),
        }
    }

    #[test]
    fn changes_additions_and_removals_are_listed_and_the_rest_counted() {
        let a = fitted(
            &[
                ("x__mean", Value::Number(2.0)),
                ("x__n", Value::Number(10.0)),
                ("old", Value::Null),
            ],
            &[("a", 3.0), ("b", 7.0)],
        );
        let b = fitted(
            &[
                ("x__mean", Value::Number(2.5)),
                ("x__n", Value::Number(10.0)),
                ("new", Value::Number(1.0)),
            ],
            &[("a", 3.0), ("c", 1.0)],
        );
        let d = diff(&a, &b);
        let changed: Vec<&str> = d.parameters.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(changed, ["new", "old", "x__mean"]);
        assert_eq!(d.unchanged_parameters, 1);
        let cats: Vec<(&Value, Option<f64>, Option<f64>)> = d
            .categories
            .iter()
            .map(|c| (&c.category, c.before, c.after))
            .collect();
        assert_eq!(
            cats,
            [
                (&Value::Text("b".into()), Some(7.0), None),
                (&Value::Text("c".into()), None, Some(1.0))
            ]
        );
        assert_eq!(d.unchanged_categories, 1);
        assert_eq!(
            change_text(Some(&Value::Number(2.0)), Some(&Value::Number(2.5))),
            "+0.5 (+25.000%)"
        );
        assert!(diff(&a, &a).is_empty());
    }
}
