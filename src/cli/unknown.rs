//! Categories an encoder did not learn, in the data the embedded engine
//! scores: `prep report` shows their share, and where an encoder says
//! `handle_unknown: warn`, `prep preview` and `prep report` warn about them,
//! as scikit-learn's `transform` does.

use prep::check::{Feature, Model};
use prep::engine::{DATA_RELATION, Engine};
use prep::spec::{ColumnType, OneHotUnknown};
use prep::steps::CheckedStep;

use super::engine::engine_failure;
use super::failure::Failure;

/// The `categories_` and `infrequent_categories_` of a feature's encoder;
/// `None` without an encoder.
pub(super) fn encoder_categories(
    learned: &serde_json::Value,
    column: &str,
) -> Option<[Vec<serde_json::Value>; 2]> {
    let steps = learned["features"][column].as_array()?;
    let encoder = steps
        .iter()
        .find(|s| s["attributes"].get("categories_").is_some())?;
    let listed = |name: &str| {
        encoder["attributes"][name]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    Some([listed("categories_"), listed("infrequent_categories_")])
}

/// Of a feature's non-missing source values (with their counts), those its
/// encoder did not learn, and how many it groups as infrequent.
pub(super) struct Shares {
    pub unknown: Vec<(String, u64)>,
    pub infrequent: u64,
}

pub(super) fn category_shares(
    [categories, infrequent]: &[Vec<serde_json::Value>; 2],
    values: &[(String, u64)],
) -> Shares {
    use serde_json::Value as Json;
    // A value as the engine printed it, against a category as JSON.
    let is = |value: &str, c: &Json| match c {
        Json::Number(n) => value.parse::<f64>().ok() == n.as_f64(),
        Json::String(s) => s == value,
        Json::Bool(b) => value.eq_ignore_ascii_case(&b.to_string()),
        _ => false,
    };
    let among = |list: &[Json], v: &str| list.iter().any(|c| is(v, c));
    Shares {
        unknown: (values.iter())
            .filter(|(v, _)| !among(categories, v))
            .cloned()
            .collect(),
        infrequent: (values.iter())
            .filter(|(v, _)| among(infrequent, v))
            .map(|(_, n)| n)
            .sum(),
    }
}

/// Warns (on stderr) about each feature whose one-hot encoder says
/// `handle_unknown: warn` and meets categories it did not learn in the data
/// (the missing value among them where the fit saw none), naming them, as
/// scikit-learn's `transform` warns.
pub(super) fn warn_unknown(
    model: &Model,
    engine: &Engine,
    learned: &serde_json::Value,
) -> Result<(), Failure> {
    for f in &model.features {
        let Some(known) = encoder_categories(learned, &f.column).filter(|_| warns(f)) else {
            continue;
        };
        let values =
            (engine.value_counts(DATA_RELATION, &f.column, numeric(f))).map_err(engine_failure)?;
        warn_feature(f, &known, &values, engine)?;
    }
    Ok(())
}

/// Whether the feature's one-hot encoder says `handle_unknown: warn`.
pub(super) fn warns(f: &Feature) -> bool {
    (f.steps.iter())
        .any(|s| matches!(s, CheckedStep::OneHot(oh) if oh.handle_unknown == OneHotUnknown::Warn))
}

/// Whether the feature's values are read as numbers.
pub(super) fn numeric(f: &Feature) -> bool {
    f.column_type == ColumnType::Numeric && !f.boolean
}

/// `warn_unknown` for one feature whose encoder warns, given its learned
/// categories and its data's non-missing values with their counts.
pub(super) fn warn_feature(
    f: &Feature,
    known: &[Vec<serde_json::Value>; 2],
    values: &[(String, u64)],
    engine: &Engine,
) -> Result<(), Failure> {
    let unknown = category_shares(known, values).unknown;
    // A missing value is unknown where the fit saw none and no imputation
    // fills it before the encoder.
    let imputed = (f.steps.iter()).any(|s| matches!(s, CheckedStep::Impute(_)));
    let missing_known = imputed || known[0].iter().any(|c| c.is_null());
    let missing = match missing_known {
        true => 0,
        false => {
            (engine.missing_count(DATA_RELATION, &f.column, numeric(f))).map_err(engine_failure)?
        }
    };
    if unknown.is_empty() && missing == 0 {
        return Ok(());
    }
    let rows: u64 = missing + unknown.iter().map(|(_, n)| n).sum::<u64>();
    let mut shown: Vec<String> = (unknown.iter().take(10))
        .map(|(v, n)| format!("{v:?} ({n})"))
        .collect();
    if unknown.len() > 10 {
        shown.push(format!("{} more", unknown.len() - 10));
    }
    if missing > 0 {
        shown.push(format!("missing ({missing})"));
    }
    eprintln!(
        "warning: feature `{}`: {rows} row(s) hold categories its one_hot encoder did not learn: {}; with handle_unknown: warn they are encoded as infrequent_if_exist encodes them (the infrequent column, or all zeros)",
        f.column,
        shown.join(", ")
    );
    Ok(())
}
