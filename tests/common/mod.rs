//! Helpers shared by the integration tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use prep::dialect::Dialect;
use prep::emit::{Artifact, EmitForm};
use sqlparser::ast::Statement;
use sqlparser::parser::Parser;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The files of a folder with this extension, sorted.
pub fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    v
}

/// Renders a dbt model the way dbt would, with `config`, `ref` and `source` stubbed.
pub fn render_dbt(d: &Dialect, text: &str) -> String {
    let q = d.identifier_quote;
    let mut env = minijinja::Environment::new();
    env.add_function("config", |_: minijinja::value::Kwargs| String::new());
    env.add_function("ref", move |name: String| format!("{q}{name}{q}"));
    env.add_function("source", move |a: String, b: String| {
        format!("{q}{a}{q}.{q}{b}{q}")
    });
    env.render_str(text, ())
        .unwrap_or_else(|e| panic!("dbt model does not render: {e:#}\n{text}"))
}

/// Parses an artifact back with the dialect's own parser: exactly one statement.
pub fn parse_back(d: &Dialect, form: EmitForm, artifact: &Artifact) -> Statement {
    let sql = match form {
        EmitForm::Sql | EmitForm::FitSql => artifact.contents.clone(),
        EmitForm::DbtModel | EmitForm::DbtPackage => render_dbt(d, &artifact.contents),
    };
    let parser = d.parser();
    let mut statements = Parser::parse_sql(parser.as_ref(), &sql).unwrap_or_else(|e| {
        panic!(
            "{} does not parse as {}: {e}\n{sql}",
            artifact.file_name, d.name
        )
    });
    assert_eq!(
        statements.len(),
        1,
        "{}: one statement expected",
        artifact.file_name
    );
    statements.remove(0)
}

/// The reference dialect: its output is stored whole, every other dialect's
/// as a line diff against it, so a reviewer reads each difference once.
pub const REFERENCE: prep::dialect::DialectName = prep::dialect::DialectName::Duckdb;

/// Snapshots `outputs` (one text per dialect, the reference's included) as
/// `{name}` (the reference's text) and `{name}@{dialect}` (a unified diff
/// against it), each headed by the spec it came from.
#[allow(dead_code)]
pub fn assert_dialect_snapshots(
    name: &str,
    spec: &Path,
    outputs: &[(prep::dialect::DialectName, String)],
) {
    let spec = spec
        .strip_prefix(root())
        .unwrap_or(spec)
        .display()
        .to_string();
    let reference = &outputs
        .iter()
        .find(|(d, _)| *d == REFERENCE)
        .expect("the reference dialect is compiled")
        .1;
    let mut settings = insta::Settings::clone_current();
    settings.set_description(format!("spec: {spec}"));
    settings.set_omit_expression(true);
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        insta::assert_snapshot!(format!("{name}@{REFERENCE}"), reference);
        for (d, text) in outputs.iter().filter(|(d, _)| *d != REFERENCE) {
            let base = nearest(*d);
            let base_text = &outputs
                .iter()
                .find(|(b, _)| *b == base)
                .expect("compiled")
                .1;
            let (base_text, _) = in_reference_spelling(base_text, base.get());
            let (text, swapped) = in_reference_spelling(text, d.get());
            let diff = line_diff(
                &base_text,
                &text,
                Some((&base.to_string(), &format!("{d}{swapped}"))),
            );
            insta::assert_snapshot!(format!("{name}@{d}.diff"), diff);
        }
    });
}

/// A unified line diff with one line of context, as the snapshots store it.
#[allow(dead_code)]
pub fn line_diff(old: &str, new: &str, header: Option<(&str, &str)>) -> String {
    let diff = similar::TextDiff::from_lines(old, new);
    let mut unified = diff.unified_diff();
    unified.context_radius(1);
    if let Some((a, b)) = header {
        unified.header(a, b);
    }
    unified.to_string()
}

/// The dialect a dialect's snapshot is a diff against: the reference, or a
/// dialect whose text is closer (so each difference is stored once).
fn nearest(d: prep::dialect::DialectName) -> prep::dialect::DialectName {
    use prep::dialect::DialectName::*;
    match d {
        Redshift => Postgres,
        Bigquery => Databricks,
        _ => REFERENCE,
    }
}

/// A dialect's text with its identifier quote and its type names swapped
/// with the reference's, so the diff shows what differs beyond spelling.
/// Quote characters are swapped both ways (a bijection: nothing is hidden);
/// the swaps made are named in the diff's header.
fn in_reference_spelling(text: &str, d: &Dialect) -> (String, String) {
    let reference = REFERENCE.get();
    let mut pairs: Vec<(String, String)> = Vec::new();
    let (q, r) = (d.identifier_quote, reference.identifier_quote);
    if q != r {
        pairs.push((q.to_string(), r.to_string()));
    }
    for (mine, theirs) in [
        (&d.double_type, &reference.double_type),
        (&d.string_type, &reference.string_type),
    ] {
        if mine != theirs {
            pairs.push((format!("AS {mine})"), format!("AS {theirs})")));
        }
    }
    if pairs.is_empty() {
        return (text.to_string(), String::new());
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'scan: while let Some(c) = rest.chars().next() {
        for (a, b) in &pairs {
            for (from, to) in [(a, b), (b, a)] {
                if let Some(after) = rest.strip_prefix(from.as_str()) {
                    out.push_str(to);
                    rest = after;
                    continue 'scan;
                }
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    let named: Vec<String> = pairs.iter().map(|(a, b)| format!("{a} <-> {b}")).collect();
    (
        out,
        format!(" (spelled as {REFERENCE}: {})", named.join(", ")),
    )
}
