//! Hostile names and values: every string and name prep writes is read back
//! by each dialect's own parser as exactly the text it came from, in every
//! output form; what a dialect cannot hold is a located error; output grows
//! linearly with chained steps and categories.

mod common;

use std::ops::ControlFlow;

use prep::dialect::{Dialect, DialectName};
use prep::emit::{self, EmitForm};
use proptest::prelude::*;
use sqlparser::ast::{Expr, Value, visit_expressions};
use sqlparser::tokenizer::{Token, Tokenizer};

const FORMS: [(EmitForm, bool); 4] = [
    (EmitForm::Sql, false),
    (EmitForm::Sql, true),
    (EmitForm::DbtModel, false),
    (EmitForm::DriftSql, false),
];

/// Characters that have broken SQL or Jinja somewhere.
const HOSTILE: &[char] = &[
    '\'', '"', '`', '\\', '$', '{', '}', '%', '#', ';', '-', '*', '/', '\n', '\r', '\t', ' ',
    '\u{1}', '\u{7f}', '\u{2028}', 'é', 'ß', '😀', 'a', 'Z', '0', '_', '?', ':', '[', ']',
];

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(HOSTILE), 0..10)
        .prop_map(|chars| chars.into_iter().collect())
}

/// A YAML double-quoted string, every character YAML refuses raw escaped.
fn yaml(s: &str) -> String {
    prep::fitted::yaml_string(s)
}

/// Every string literal of a statement, as the dialect reads it (a literal
/// written in parts around line breaks counts as one).
fn literals(statement: &sqlparser::ast::Statement) -> Vec<String> {
    let mut out = Vec::new();
    let _ = visit_expressions(statement, |e| {
        match e {
            Expr::Value(v) => {
                if let Value::SingleQuotedString(s) | Value::NationalStringLiteral(s) = &v.value {
                    out.push(s.clone());
                }
            }
            Expr::Nested(inner) => {
                if let Some(s) = prep::render::filter::literal_text(inner) {
                    out.push(s);
                }
            }
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    out
}

/// Every quoted name of a text, as the dialect's tokenizer reads it.
fn quoted_names(d: &Dialect, sql: &str) -> Vec<String> {
    let parser = d.parser();
    Tokenizer::new(parser.as_ref(), sql)
        .tokenize()
        .unwrap()
        .into_iter()
        .filter_map(|t| match t {
            Token::Word(w) if w.quote_style.is_some() => Some(w.value),
            _ => None,
        })
        .collect()
}

fn found_text(statement: &sqlparser::ast::Statement, text: &str) -> bool {
    literals(statement).iter().any(|l| l == text)
}

fn spec(name: &str, value: &str) -> String {
    format!(
        "name: hostile\nsource: {{table: t}}\nkeys: [id]\nfeatures:\n  plan: [{{impute: {{strategy: constant, fill_value: {}}}}}, {{one_hot: {{categories: [{}, plain], handle_unknown: error}}}}]\n  {}: [{{scale: standard}}]\ngroups:\n  - columns: [{}, pw]\n    steps: [{{impute: mean}}, {{polynomial: {{degree: 2, include_bias: false}}}}]\ndrift: {{bins: 3}}\ndelta_column_mapping: true\n",
        yaml(value),
        yaml(&format!("x{value}")),
        yaml(name),
        // A step across columns names its outputs after them (`<name>_p_pw`).
        yaml(&format!("{name}_p")),
    )
}

fn representable(d: &Dialect, name: &str) -> bool {
    prep::render::quote::ident_problem(d, name).is_none()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn every_string_and_name_reads_back_as_written(name in text(), value in text()) {
        let folded = name.to_lowercase();
        prop_assume!(!name.is_empty() && folded != "id" && !folded.starts_with("plan") && !folded.starts_with("pw") && !name.chars().any(char::is_control));
        let text = spec(&name, &value);
        let ir = prep::compile_ir(&text, "hostile.yml").unwrap_or_else(|e| panic!("{e:?}\n{text}"));
        for d in DialectName::ALL {
            let d = d.get();
            let checked = prep::check_names(&ir, d, "hostile.yml");
            if !representable(d, &name) {
                prop_assert!(checked.is_err(), "{}: {name:?} must be refused", d.name);
                continue;
            }
            checked.unwrap();
            for (form, inline) in FORMS {
                for a in emit::emit(&ir, d, form, inline, "hostile.yml", None).unwrap() {
                    let statement = common::parse_back(d, form, &a);
                    let rendered = match form {
                        EmitForm::DbtModel => common::render_dbt(d, &a.contents),
                        _ => a.contents.clone(),
                    };
                    let names = quoted_names(d, &rendered);
                    // A plain name means what it means unquoted (upper case on Snowflake).
                    let written = match d.plain_names {
                        prep::dialect::PlainNames::Upper if prep::render::quote::is_plain(&name) => {
                            name.to_ascii_uppercase()
                        }
                        _ => name.clone(),
                    };
                    prop_assert!(names.contains(&written), "{} {}: {written:?} not in {names:?}", d.name, a.file_name);
                    // Only the apply writes the spec's values; the drift query names the feature.
                    if form == EmitForm::DriftSql {
                        prop_assert!(found_text(&statement, &name), "{} {}: {name:?} not a literal", d.name, a.file_name);
                        continue;
                    }
                    if a.file_name.contains(".fit.") || a.file_name.ends_with("__params.sql") {
                        continue;
                    }
                    let found = literals(&statement);
                    for expected in [value.clone(), format!("x{value}")] {
                        prop_assert!(found.contains(&expected), "{} {}: {expected:?} not in {found:?}", d.name, a.file_name);
                    }
                }
            }
        }
    }

    #[test]
    fn fitted_files_read_back_what_they_hold(value in text(), number in any::<f64>()) {
        prop_assume!(!value.contains('\0') && number.is_finite());
        let text = "name: learned\nsource: {table: t}\nfeatures:\n  plan: [{one_hot: {}}]\n  x: [{scale: standard}]\n";
        let ir = prep::compile_ir(text, "learned.yml").unwrap();
        let hash = ir.spec_hash().unwrap().to_string();
        let mut rows: Vec<prep::fitted::LongRow> = prep::ir::Param::stored(&ir.fit.params).map(|p| prep::fitted::LongRow {
            parameter: p.name.clone(),
            kind: "value".into(),
            number: (p.value_type == prep::spec::ColumnType::Numeric).then_some(number),
            text: (p.value_type == prep::spec::ColumnType::String).then(|| hash.clone()),
            frequency: None,
        }).collect();
        rows.push(prep::fitted::LongRow {
            parameter: ir.fit.vocabularies[0].name.clone(),
            kind: "category".into(),
            number: None,
            text: Some(value.clone()),
            frequency: Some(3.0),
        });
        let fitted = prep::fitted::Fitted::from_rows(&ir, rows).unwrap();
        let yaml = fitted.to_yaml(&ir, &format!("from {value}"));
        let back = prep::fitted::Fitted::from_yaml(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
        prop_assert_eq!(&back, &fitted);
        back.check_matches(&ir).unwrap();
    }
}

/// What a dialect cannot write is refused with the name's place, never changed.
#[test]
fn unrepresentable_names_are_located_errors() {
    let cases = [
        (DialectName::Bigquery, "a\\b"),
        (DialectName::Bigquery, "a`b"),
        (DialectName::Databricks, "a${b}"),
    ];
    // Without column mapping, a Delta table refuses a space in a column name.
    let ir = prep::compile_ir(
        &spec("a b", "v").replace("delta_column_mapping: true\n", ""),
        "hostile.yml",
    )
    .unwrap();
    let err = prep::check_names(&ir, DialectName::Databricks.get(), "hostile.yml").unwrap_err();
    assert!(
        err.0[0].span.is_some() && err.0[0].message.contains("Delta"),
        "{:?}",
        err.0[0]
    );
    for (d, name) in cases {
        let text = spec(name, "v");
        let ir = prep::compile_ir(&text, "hostile.yml").unwrap();
        let err = prep::check_names(&ir, d.get(), "hostile.yml").unwrap_err();
        let first = &err.0[0];
        assert!(first.span.is_some(), "{d}: {first:?}");
        assert!(
            first.message.contains("cannot be written"),
            "{}",
            first.message
        );
    }
}

fn size(text: &str, d: DialectName, form: EmitForm, inline: bool) -> usize {
    let ir = prep::compile_ir(text, "size.yml").unwrap_or_else(|e| panic!("{e:?}"));
    emit::emit(&ir, d.get(), form, inline, "size.yml", None)
        .unwrap()
        .iter()
        .map(|a| a.contents.len())
        .sum()
}

fn chained(step: &str, n: usize) -> String {
    let steps = vec![step; n].join(", ");
    format!("name: chain\nsource: {{table: t}}\nfeatures:\n  x: [{steps}]\n")
}

fn categories(n: usize) -> String {
    let list: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
    format!(
        "name: cats\nsource: {{table: t}}\nfeatures:\n  x: [{{impute: {{strategy: constant, fill_value: c0}}}}, {{one_hot: {{categories: [{}], handle_unknown: error}}}}]\n",
        list.join(", ")
    )
}

/// A spec of size `n`, by what it repeats.
type SpecOfSize = (&'static str, Box<dyn Fn(usize) -> String>);

/// Doubling the input at most about doubles the output (every step and
/// category is written once; an exponential or quadratic form would not).
#[test]
fn output_grows_linearly() {
    let cases: [SpecOfSize; 4] = [
        ("impute: mean", Box::new(|n| chained("{impute: mean}", n))),
        (
            "min_max clip",
            Box::new(|n| chained("{scale: {min_max: {clip: true}}}", n)),
        ),
        (
            "impute then scale",
            Box::new(|n| chained("{impute: mean}, {scale: standard}", n)),
        ),
        ("given categories", Box::new(categories)),
    ];
    for (what, make) in &cases {
        for d in DialectName::ALL {
            // These specs have no `drift:`; a drift query is one block per feature.
            for (form, inline) in FORMS.into_iter().filter(|f| f.0 != EmitForm::DriftSql) {
                let (small, large) = (
                    size(&make(8), d, form, inline),
                    size(&make(16), d, form, inline),
                );
                let ratio = large as f64 / small as f64;
                assert!(
                    ratio < 2.3,
                    "{what} on {d} ({form:?}, inline {inline}): 8 -> {small} bytes, 16 -> {large} ({ratio:.2}x)"
                );
            }
        }
    }
}

/// The specs of the suite, mutated: every text is a compiled spec or an error,
/// never a panic, on every dialect and form.
fn mutated_spec() -> impl Strategy<Value = String> {
    let specs: Vec<String> = common::files(&common::root().join("tests/specs"), "yml")
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    let edit = (
        any::<prop::sample::Index>(),
        prop::sample::select(HOSTILE),
        any::<bool>(),
    );
    (
        prop::sample::select(specs),
        prop::collection::vec(edit, 1..6),
    )
        .prop_map(|(spec, edits)| {
            let mut chars: Vec<char> = spec.chars().collect();
            for (at, c, insert) in edits {
                let i = at.index(chars.len().max(1)).min(chars.len());
                if insert || i == chars.len() {
                    chars.insert(i, c);
                } else {
                    chars[i] = c;
                }
            }
            chars.into_iter().collect()
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_spec_text_compiles_or_is_refused(text in mutated_spec()) {
        if let Ok(ir) = prep::compile_ir(&text, "fuzz.yml") {
            for d in DialectName::ALL {
                if prep::check_names(&ir, d.get(), "fuzz.yml").is_err() {
                    continue;
                }
                for (form, inline) in FORMS {
                    let _ = emit::emit(&ir, d.get(), form, inline, "fuzz.yml", None);
                }
            }
        }
    }

    #[test]
    fn any_fit_result_is_read_or_refused(lines in prop::collection::vec(text(), 0..6), json in any::<bool>()) {
        let spec = "name: learned\nsource: {table: t}\nfeatures:\n  plan: [{one_hot: {}}]\n  x: [{scale: standard}]\n";
        let ir = prep::compile_ir(spec, "learned.yml").unwrap();
        let body = format!("parameter,kind,number,text,frequency\n{}", lines.join("\n"));
        if let Ok(rows) = prep::fitted::read_result(&body, json) {
            let _ = prep::fitted::Fitted::from_rows(&ir, rows);
        }
    }
}
