//! Checks of values a spec gives steps: categories and fill values must be
//! writable as SQL literals and of their column's type.

use serde_saphyr::Spanned;

use super::span;
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::encoding::Frequency;
use crate::spec::{Categories, ColumnType, Scalar};

/// Why a value cannot be a literal (numbers must be finite: no warehouse has a literal for NaN or infinity).
pub(super) fn scalar_problem(s: &Scalar) -> Option<String> {
    match s {
        Scalar::String(t) => crate::text::string_problem(t),
        Scalar::Number(n) if !n.is_finite() => Some(format!("{n} is not a finite number")),
        Scalar::Number(_) | Scalar::Bool(_) => None,
    }
}

pub(crate) fn scalar_type(s: &Scalar) -> ColumnType {
    match s {
        Scalar::Number(_) => ColumnType::Numeric,
        Scalar::String(_) | Scalar::Bool(_) => ColumnType::String,
    }
}

pub(super) fn type_name(t: ColumnType) -> &'static str {
    match t {
        ColumnType::Numeric => "numeric",
        ColumnType::String => "string",
    }
}

/// Given categories, checked: the values, and whether the missing value
/// ends the list.
pub(super) type Given = (Vec<Scalar>, bool);

/// `Some(None)`: learned; `Some(Some(given))`: given and valid; `None`: invalid (reported).
pub(super) fn check_categories(
    column: &str,
    ty: ColumnType,
    categories: &Categories,
    diags: &mut Diagnostics,
) -> Option<Option<Given>> {
    let Categories::Given(listed) = categories else {
        return Some(None);
    };
    let before = diags.0.len();
    let missing_listed = missing_last(column, listed, diags);
    let given: Vec<Spanned<Scalar>> = (listed.iter())
        .filter_map(|c| {
            let value = c.value.clone()?;
            Some(Spanned {
                value,
                referenced: c.referenced,
                defined: c.defined,
            })
        })
        .collect();
    if given.is_empty() {
        diags.push(
            Diagnostic::new(
                Code::InvalidValue,
                format!("the category list of `{column}` is empty"),
            )
            .hint("list the categories, or write `categories: auto` to learn them"),
        );
    }
    check_values(column, ty, &given, diags);
    let values = given.into_iter().map(|c| c.value).collect();
    (diags.0.len() == before).then_some(Some((values, missing_listed)))
}

/// Each given category: writable as SQL, of the column's type, listed once,
/// numbers in ascending order.
fn check_values(column: &str, ty: ColumnType, given: &[Spanned<Scalar>], diags: &mut Diagnostics) {
    let mut seen = std::collections::HashSet::new();
    for (i, c) in given.iter().enumerate() {
        // Equal values are one key (0.0 and -0.0 too).
        let key = match &c.value {
            Scalar::Number(n) => Err((n + 0.0).to_bits()),
            Scalar::String(t) => Ok(t.as_str()),
            Scalar::Bool(b) => Ok(Scalar::bool_text(*b)),
        };
        if let Some(problem) = scalar_problem(&c.value) {
            diags.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    format!("category {} cannot be written as SQL: {problem}", c.value),
                )
                .at(span(c))
                .hint("remove the character from the category"),
            );
        } else if scalar_type(&c.value) != ty {
            diags.push(
                Diagnostic::new(
                    Code::StepConflict,
                    format!(
                        "category {} is {}, but `{column}` is a {} column",
                        c.value,
                        type_name(scalar_type(&c.value)),
                        type_name(ty)
                    ),
                )
                .at(span(c))
                .hint("categories must have the column's type: quote numbers in a string column"),
            );
        } else if !seen.insert(key) {
            diags.push(
                Diagnostic::new(
                    Code::NameCollision,
                    format!("category {} is listed twice", c.value),
                )
                .at(span(c))
                .hint("remove the repeated category"),
            );
        } else if let (Scalar::Number(n), Some(Scalar::Number(p))) =
            (&c.value, given[..i].last().map(|p| &p.value))
            && n < p
        {
            diags.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    format!("numeric categories must be sorted, but {n} comes after {p}"),
                )
                .at(span(c))
                .hint("list numeric categories in ascending order, as scikit-learn requires"),
            );
        }
    }
}

/// Whether the missing value ends the list; anywhere else (or twice) it is
/// refused, as scikit-learn refuses it.
fn missing_last(column: &str, listed: &[Spanned<Option<Scalar>>], diags: &mut Diagnostics) -> bool {
    let last = listed.last().is_some_and(|c| c.value.is_none());
    for c in listed.iter().rev().skip(usize::from(last)) {
        if c.value.is_none() {
            diags.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    format!("the missing value (null) is listed among the categories of `{column}` before the last one"),
                )
                .at(span(c))
                .hint("list the missing value once, last, as scikit-learn requires"),
            );
        }
    }
    last
}

/// An encoder's infrequent grouping (`min_frequency`: a count of rows or a
/// fraction of them; `max_categories`: at least 1), or `None` (reported).
pub(super) fn check_grouping(
    min_frequency: &Option<Spanned<f64>>,
    max_categories: &Option<Spanned<u32>>,
    diags: &mut Diagnostics,
) -> Option<(Option<Frequency>, Option<u32>)> {
    let min_frequency = match min_frequency {
        None => None,
        Some(f) if f.value > 0.0 && f.value < 1.0 => Some(Frequency::Fraction(f.value)),
        Some(f) if f.value >= 1.0 && f.value.fract() == 0.0 => {
            Some(Frequency::Count(f.value as u64))
        }
        Some(f) => {
            diags.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    format!(
                        "min_frequency {} is neither a count nor a fraction",
                        f.value
                    ),
                )
                .at(span(f))
                .hint("give a whole number of rows (>= 1) or a fraction of rows between 0 and 1"),
            );
            return None;
        }
    };
    if let Some(m) = max_categories
        && m.value < 1
    {
        diags.push(
            Diagnostic::new(Code::InvalidValue, "max_categories must be at least 1")
                .at(span(m))
                .hint("it counts the categories kept, including the infrequent group"),
        );
        return None;
    }
    Some((min_frequency, max_categories.as_ref().map(|m| m.value)))
}

/// `min_frequency` as scikit-learn takes it.
pub(super) fn frequency_json(f: Option<Frequency>) -> serde_json::Value {
    match f {
        None => serde_json::Value::Null,
        Some(Frequency::Count(n)) => n.into(),
        Some(Frequency::Fraction(f)) => f.into(),
    }
}
