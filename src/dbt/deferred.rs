//! The Jinja calls that write a learned encoder's columns (one-hot,
//! ordinal, one-hot bins) when a dbt model compiles: the macro to call and
//! the options it reads, from the encoder and the dialect of each adapter.

use crate::check::Frequency;
use crate::diagnostic::Diagnostic;
use crate::emit::jinja_string;
use crate::ir::DeferredEncoder;
use crate::render::{DeferredItem, ast};
use crate::spec::{Drop, OneHotUnknown, Scalar};

/// The Jinja call that writes a learned encoder's columns when the model
/// compiles, from the categories in the fitted-parameters model.
pub(super) fn deferred_call(item: &DeferredItem, params_ref: &str, package: &str) -> String {
    let s = |text: &str| jinja_string(text);
    let mut options = dialect_options(item);
    let macro_name = match &item.deferred.encoder {
        DeferredEncoder::OneHot(oh) => {
            options.extend(one_hot_options(oh));
            "_one_hot"
        }
        DeferredEncoder::Bins { .. } => "_bins_one_hot",
        DeferredEncoder::Present { .. } => "_present",
        DeferredEncoder::Ordinal(o) => {
            options.extend([
                format!("'missing': {}", s(&item.missing)),
                format!("'unknown': {}", s(&item.unknown)),
            ]);
            options.extend(grouping_options(
                o.categories.as_deref(),
                o.missing_listed,
                o.min_frequency,
                o.max_categories,
            ));
            "_ordinal"
        }
    };
    format!(
        "{{{{ {package}.{macro_name}({params_ref}, {}, {}, {{{}}}) }}}}",
        s(&item.deferred.vocabulary),
        s(&item.row),
        options.join(", ")
    )
}

/// What a learned encoder's macro needs of the dialect and the column: its
/// quoting, escapes, literals and limits (as Jinja dictionary entries).
fn dialect_options(item: &DeferredItem) -> Vec<String> {
    let s = |text: &str| jinja_string(text);
    let joined = |parts: Vec<String>| parts.join(", ");
    vec![
        format!("'column': {}", s(&item.feature)),
        format!("'column_bytes': {}", item.feature.len()),
        format!(
            "'max_bytes': {}",
            item.max_identifier_bytes
                .map_or("none".into(), |m| m.to_string())
        ),
        format!("'one': {}", s(&item.one)),
        format!("'zero': {}", s(&item.zero)),
        format!("'fail': {}", s(&item.fail)),
        format!("'float_type': {}", s(&item.float_type)),
        format!("'quote_open': {}", s(&item.quote.open.to_string())),
        format!("'quote_close': {}", s(&item.quote.close.to_string())),
        format!("'plain_upper': {}", item.plain_upper),
        format!("'prefix': {}", s(&item.string_escapes.prefix)),
        format!(
            "'escapes': {{{}}}",
            joined(
                (item.string_escapes.table.iter())
                    .map(|(c, to)| format!("{}: {}", s(&c.to_string()), s(to)))
                    .collect()
            )
        ),
        format!(
            "'wrap_when': [{}]",
            joined(
                (item.string_escapes.wrap_when.iter())
                    .map(|c| s(&c.to_string()))
                    .collect()
            )
        ),
    ]
}

/// A learned one-hot encoder's options (as Jinja dictionary entries).
fn one_hot_options(oh: &crate::encoding::OneHotStep) -> Vec<String> {
    let s = |text: &str| jinja_string(text);
    let (drop, drop_category) = match &oh.drop {
        None => ("none".to_string(), "none".to_string()),
        Some(Drop::First) => (s("first"), "none".into()),
        Some(Drop::IfBinary) => (s("if_binary"), "none".into()),
        Some(Drop::Category(c)) => (s("category"), jinja_value(c)),
    };
    let names: Vec<String> = (oh.names.iter())
        .map(|(k, v)| format!("{}: {}", s(k), s(v)))
        .collect();
    let mut options = vec![
        format!(
            "'handle_unknown': {}",
            s(match oh.handle_unknown {
                OneHotUnknown::Error => "error",
                OneHotUnknown::Ignore => "ignore",
                // The layout is infrequent_if_exist's (the report is a test).
                OneHotUnknown::InfrequentIfExist | OneHotUnknown::Warn => "infrequent_if_exist",
            })
        ),
        format!("'drop': {drop}"),
        format!("'drop_category': {drop_category}"),
        format!("'names': {{{}}}", names.join(", ")),
    ];
    options.extend(grouping_options(
        oh.categories.as_deref(),
        oh.missing_listed,
        oh.min_frequency,
        oh.max_categories,
    ));
    options
}

/// An encoder's given categories and infrequent grouping (as Jinja
/// dictionary entries), read by the package's `_infrequent` macro.
fn grouping_options(
    categories: Option<&[Scalar]>,
    missing_listed: bool,
    min_frequency: Option<Frequency>,
    max_categories: Option<u32>,
) -> Vec<String> {
    let category = |c: &Scalar| {
        let is_number = matches!(c, Scalar::Number(_));
        format!("{{'value': {}, 'number': {is_number}}}", jinja_value(c))
    };
    // The missing value listed last, as the learned one reads (`none`).
    let missing = missing_listed.then(|| "{'value': none, 'number': false}".to_string());
    let (min_frequency, is_count) = match min_frequency {
        None => ("none".to_string(), "false"),
        Some(Frequency::Count(n)) => (n.to_string(), "true"),
        Some(Frequency::Fraction(f)) => (ast::float_text(f), "false"),
    };
    vec![
        format!("'min_frequency': {min_frequency}"),
        format!("'min_frequency_is_count': {is_count}"),
        format!(
            "'max_categories': {}",
            max_categories.map_or("none".into(), |m| m.to_string())
        ),
        format!(
            "'categories': {}",
            categories.map_or("none".into(), |c| format!(
                "[{}]",
                (c.iter().map(category).chain(missing))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        ),
    ]
}

/// A category or value as a Jinja literal.
fn jinja_value(c: &Scalar) -> String {
    match c {
        Scalar::Number(n) => ast::float_text(*n),
        Scalar::String(t) => jinja_string(t),
        Scalar::Bool(b) => jinja_string(Scalar::bool_text(*b)),
    }
}

/// The apply's SQL with the call of a learned encoder where its placeholder
/// is. A column that may not be written (`Present`) takes the separator
/// before it along: its macro writes both, or nothing.
pub(super) fn put_call(sql: &str, item: &DeferredItem, call: &str) -> Result<String, Diagnostic> {
    let Some(at) = sql.find(&item.placeholder) else {
        return Err(Diagnostic::internal(
            "a learned column's placeholder is not in the apply query",
        ));
    };
    let from = match item.deferred.encoder {
        DeferredEncoder::Present { .. } => {
            let before = sql[..at].trim_end();
            // Never the first column: the imputed value comes before it.
            if !before.ends_with(',') {
                return Err(Diagnostic::internal(
                    "a missing indicator is the apply's first column",
                ));
            }
            before.len() - 1
        }
        _ => at,
    };
    Ok(format!(
        "{}{call}{}",
        &sql[..from],
        &sql[at + item.placeholder.len()..]
    ))
}
