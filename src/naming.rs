//! Output column names. One place decides them, so the SQL, the docs and the
//! dbt schema agree. Rules (README, "Output columns"):
//! - keys, passthrough and single-output features keep their column name;
//! - one-hot outputs are `<feature>_<category>`, where every character of the
//!   category outside `[A-Za-z0-9_]` becomes `_` (Delta and most warehouses
//!   reject spaces and punctuation in column names), unless `names:` gives the
//!   suffix; the infrequent column is `<feature>_infrequent_sklearn`;
//! - names are compared case-insensitively, because most warehouses fold case:
//!   two outputs that differ only by case are a collision, and collisions are errors.

use crate::spec::Scalar;

/// The suffix scikit-learn's `get_feature_names_out` would print, made safe.
pub fn category_suffix(category: &Scalar) -> String {
    sanitize(&category_text(category))
}

/// How a category reads in names and messages: numbers as Python prints them.
pub fn category_text(category: &Scalar) -> String {
    match category {
        Scalar::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
        Scalar::Number(n) => format!("{n}"),
        Scalar::String(s) => s.clone(),
        Scalar::Bool(b) => Scalar::bool_text(*b).into(),
    }
}

pub fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// SimpleImputer's missing indicator column, as `get_feature_names_out` names it.
pub fn missing_indicator(feature: &str) -> String {
    format!("missingindicator_{feature}")
}

pub fn one_hot_column(feature: &str, suffix: &str) -> String {
    format!("{feature}_{suffix}")
}

/// A polynomial term's column: scikit-learn's `get_feature_names_out` name
/// (`a`, `a^2`, `a b`, `1` for the bias) with `^` and the space written `_`
/// (`a_2`, `a_b`), as one-hot suffixes are made safe; the columns' own
/// names are kept, as in one-hot names. `term` lists the columns' indices,
/// ascending, repeated for a power.
pub fn polynomial_term(columns: &[String], term: &[usize]) -> String {
    if term.is_empty() {
        return "1".into();
    }
    let factors: Vec<String> = (term_powers(columns, term).into_iter())
        .map(|(column, power)| match power {
            1 => column.to_string(),
            _ => format!("{column}_{power}"),
        })
        .collect();
    factors.join("_")
}

/// The columns a polynomial term multiplies, each with its power, in the
/// columns' order (as scikit-learn's `powers_` row reads).
pub fn term_powers<'a>(columns: &'a [String], term: &[usize]) -> Vec<(&'a str, usize)> {
    (columns.iter().enumerate())
        .map(|(i, column)| (column.as_str(), term.iter().filter(|&&t| t == i).count()))
        .filter(|(_, power)| *power > 0)
        .collect()
}

/// The suffix of the missing value's one-hot column (scikit-learn prints NaN as `nan`).
pub const MISSING_SUFFIX: &str = "nan";

pub fn infrequent_column(feature: &str) -> String {
    format!("{feature}_infrequent_sklearn")
}

/// The key names are compared by.
pub fn fold(name: &str) -> String {
    name.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_are_safe_and_numbers_read_like_python() {
        assert_eq!(
            category_suffix(&Scalar::String("Pro Plus".into())),
            "Pro_Plus"
        );
        assert_eq!(
            category_suffix(&Scalar::String("{{ x }}".into())),
            "___x___"
        );
        assert_eq!(category_suffix(&Scalar::Number(3.0)), "3");
        assert_eq!(category_suffix(&Scalar::Number(-1.5)), "_1_5");
        assert_eq!(category_suffix(&Scalar::String(String::new())), "");
    }

    #[test]
    fn polynomial_terms_are_named_as_scikit_learn_names_them_made_safe() {
        let columns = ["a".to_string(), "b c".to_string()];
        assert_eq!(polynomial_term(&columns, &[]), "1");
        assert_eq!(polynomial_term(&columns, &[0, 0]), "a_2");
        assert_eq!(polynomial_term(&columns, &[0, 1]), "a_b c");
        assert_eq!(polynomial_term(&columns, &[0, 1, 1]), "a_b c_2");
    }
}
