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
