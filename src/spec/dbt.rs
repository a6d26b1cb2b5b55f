//! `dbt:` in a spec: how the dbt package presents the spec's features model
//! to the project installing it — a dbt contract with each column's data
//! type, and an exposure naming what consumes the features. None of it
//! changes the SQL or what the fit learns, so none of it is in the spec hash.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use super::OrderedMap;
use crate::diagnostic::{Code, Diagnostic, Diagnostics, Span};

/// `dbt:` in a spec.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DbtSpec {
    /// Enforce a dbt contract on the features model: dbt checks every
    /// column's name and data type when it builds it. Needs `data_types`
    /// for every key and passthrough column, and output columns known when
    /// the package is written (learned categories pinned with `--params`).
    #[serde(default)]
    #[schemars(with = "bool")]
    pub contract: Option<Spanned<bool>>,
    /// The warehouse data types of the key and passthrough columns (prep
    /// copies them, so it cannot know them), as the warehouse spells them:
    /// `{customer_id: integer}`. Feature columns' types are prep's own.
    #[serde(default)]
    #[schemars(with = "std::collections::BTreeMap<String, String>")]
    pub data_types: OrderedMap<Spanned<String>>,
    /// What consumes the features (an ML model, an application...): the
    /// package declares it as a dbt exposure owned by the spec's `owner`.
    #[serde(default)]
    pub exposure: Option<ExposureSpec>,
}

/// A dbt exposure: something outside dbt that reads the features model.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExposureSpec {
    /// Its name in dbt: letters, digits and underscores.
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// What it is (default `ml`).
    #[serde(rename = "type", default)]
    pub kind: ExposureType,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub maturity: Option<Maturity>,
    #[serde(default)]
    pub description: Option<String>,
}

/// dbt's exposure types.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExposureType {
    Dashboard,
    Notebook,
    Analysis,
    #[default]
    Ml,
    Application,
}

/// dbt's exposure maturities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Maturity {
    Low,
    Medium,
    High,
}

/// A checked `dbt:` section.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dbt {
    /// Where `contract: true` is written, when it is.
    pub contract: Option<Option<Span>>,
    /// Data types of copied columns, by column.
    pub data_types: Vec<(String, String)>,
    pub exposure: Option<Exposure>,
}

impl Dbt {
    pub fn data_type(&self, column: &str) -> Option<&str> {
        (self.data_types.iter())
            .find(|(c, _)| c == column)
            .map(|(_, t)| t.as_str())
    }
}

/// A checked exposure.
#[derive(Debug, Clone, PartialEq)]
pub struct Exposure {
    pub name: String,
    pub kind: ExposureType,
    pub url: Option<String>,
    pub maturity: Option<Maturity>,
    pub description: Option<String>,
}

impl ExposureType {
    pub fn name(self) -> &'static str {
        match self {
            ExposureType::Dashboard => "dashboard",
            ExposureType::Notebook => "notebook",
            ExposureType::Analysis => "analysis",
            ExposureType::Ml => "ml",
            ExposureType::Application => "application",
        }
    }
}

impl Maturity {
    pub fn name(self) -> &'static str {
        match self {
            Maturity::Low => "low",
            Maturity::Medium => "medium",
            Maturity::High => "high",
        }
    }
}

/// A data type as warehouses spell one: words of letters, digits and
/// underscores, with an optional `(p, s)`; nothing that could end the SQL
/// it is written into (dbt casts to it) or open a Jinja tag.
fn is_data_type(t: &str) -> bool {
    let (words, args) = match t.split_once('(') {
        Some((w, rest)) => (w, Some(rest)),
        None => (t, None),
    };
    let words_ok = words.trim().split(' ').all(|w| {
        w.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    });
    let args_ok = args.is_none_or(|a| {
        a.strip_suffix(')').is_some_and(|inner| {
            !inner.trim().is_empty()
                && inner
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == ',' || c == ' ')
        })
    });
    words_ok && args_ok
}

/// Checks `dbt:` against the spec's copied columns (keys and passthrough)
/// and owner.
pub fn check(
    spec: &DbtSpec,
    copied: &[String],
    owner: Option<&str>,
    diags: &mut Diagnostics,
) -> Dbt {
    let contract = (spec.contract.as_ref())
        .filter(|c| c.value)
        .map(|c| Span::from_location(&c.referenced));
    if let Some(place) = &contract {
        check_contract(spec, copied, place.clone(), diags);
    }
    Dbt {
        contract,
        data_types: data_types(spec, copied, diags),
        exposure: (spec.exposure.as_ref()).map(|e| exposure(e, owner, diags)),
    }
}

/// The data types given, each of a copied column and spelled as a type.
fn data_types(spec: &DbtSpec, copied: &[String], diags: &mut Diagnostics) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (column, ty) in &spec.data_types.0 {
        if !copied.contains(&column.value) {
            diags.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    format!(
                        "`dbt.data_types` names `{}`, which is no key or passthrough column",
                        column.value.escape_debug()
                    ),
                )
                .at(Span::from_location(&column.referenced))
                .hint("give the types of the columns prep copies; a feature's type is prep's own"),
            );
        } else if !is_data_type(&ty.value) {
            diags.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    format!("`{}` is not a data type", ty.value.escape_debug()),
                )
                .at(Span::from_location(&ty.referenced))
                .hint("write the type as the warehouse spells it, e.g. `integer`, `varchar(20)`, `numeric(10, 2)`"),
            );
        } else {
            out.push((column.value.clone(), ty.value.clone()));
        }
    }
    out
}

/// A contract types every column: each copied one needs its data type.
fn check_contract(spec: &DbtSpec, copied: &[String], place: Option<Span>, diags: &mut Diagnostics) {
    let missing: Vec<&str> = (copied.iter())
        .filter(|c| !spec.data_types.0.iter().any(|(k, _)| &k.value == *c))
        .map(String::as_str)
        .collect();
    let Some(first) = missing.first() else {
        return;
    };
    let listed: Vec<String> = missing.iter().map(|c| format!("`{c}`")).collect();
    diags.push(
        Diagnostic::new(
            Code::InvalidValue,
            format!(
                "a contract needs the data type of every column, and `dbt.data_types` lacks {}",
                listed.join(", ")
            ),
        )
        .at(place)
        .hint(format!("add them, e.g. `data_types: {{{first}: integer}}`")),
    );
}

/// A checked exposure: a dbt name, and an owner to give it.
fn exposure(e: &ExposureSpec, owner: Option<&str>, diags: &mut Diagnostics) -> Exposure {
    let name = &e.name.value;
    let at = Span::from_location(&e.name.referenced);
    let plain = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !plain {
        diags.push(
            Diagnostic::new(
                Code::InvalidValue,
                format!(
                    "the exposure name `{}` is not a dbt name",
                    name.escape_debug()
                ),
            )
            .at(at.clone())
            .hint("use letters, digits and underscores, starting with a letter"),
        );
    }
    if owner.is_none() {
        diags.push(
            Diagnostic::new(Code::InvalidValue, "a dbt exposure needs an owner")
                .at(at)
                .hint("add `owner:` to the spec (a team, a person or an email address)"),
        );
    }
    Exposure {
        name: name.clone(),
        kind: e.kind,
        url: e.url.clone(),
        maturity: e.maturity,
        description: e.description.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::is_data_type;

    #[test]
    fn data_types_are_words_with_optional_arguments() {
        for ok in [
            "integer",
            "double precision",
            "varchar(20)",
            "numeric(10, 2)",
            "INT64",
        ] {
            assert!(is_data_type(ok), "{ok}");
        }
        for bad in [
            "",
            "int; drop table x",
            "text)",
            "varchar(",
            "varchar()",
            "{{ x }}",
            "int -- x",
            "a(1)(2)",
        ] {
            assert!(!is_data_type(bad), "{bad}");
        }
    }
}
