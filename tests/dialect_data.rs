//! A dialect is data: one described only by its text (not a file of
//! `dialects/`, not a variant of `DialectName`) loads, and prep compiles for
//! it, every statement parsed back by the parser it names.

mod common;

use prep::dialect::Dialect;
use prep::emit::{self, EmitForm};

/// An imaginary warehouse: ANSI parsing, backslash escapes, short names,
/// bracket-free quoting, its own division and percentile.
const ACME: &str = r#"
name: acme
parser: ansi
dbt_adapters: [acme]
identifier_quote: '"'
string_escape: backslash
max_identifier_bytes: 30
types: {double: DOUBLE PRECISION, string: VARCHAR(200)}
percentiles: one_select
unpivot: union_all
templates:
  safe_divide: "A / NULLIF(B, 0)"
"#;

#[test]
fn a_dialect_described_only_by_its_text_compiles() {
    let acme = Dialect::from_yaml(ACME).unwrap();
    assert_eq!(acme.name, "acme");
    assert_eq!(acme.dbt_adapters, ["acme"]);
    let spec = std::fs::read_to_string(common::root().join("tests/specs/robust_after_impute.yml"))
        .unwrap();
    let ir = prep::compile_ir(&spec, "robust_after_impute.yml").unwrap();
    prep::check_names(&ir, &acme, "robust_after_impute.yml").unwrap();
    let artifacts = emit::emit(&ir, &acme, EmitForm::Sql, false, "spec.yml", None).unwrap();
    assert_eq!(artifacts.len(), 2);
    for a in &artifacts {
        common::parse_back(&acme, EmitForm::Sql, a);
        assert!(a.contents.contains("for acme:"), "{}", a.contents);
    }
    // Its own types and templates, its own long form.
    let fit = &artifacts[0].contents;
    assert!(
        fit.contains("AS DOUBLE PRECISION)") && fit.contains("UNION ALL"),
        "{fit}"
    );
}

#[test]
fn a_broken_description_is_refused_with_its_reason() {
    let cases = [
        (ACME.replace("parser: ansi", "parser: nonsense"), "nonsense"),
        (
            ACME.replace("safe_divide: \"A / NULLIF(B, 0)\"", "no_such: \"X\""),
            "unknown template",
        ),
        (
            ACME.replace(
                "safe_divide: \"A / NULLIF(B, 0)\"",
                "safe_divide: \"X / (\"",
            ),
            "template safe_divide",
        ),
        (
            ACME.replace("string_escape: backslash", "string_escape: maybe"),
            "maybe",
        ),
        // A template must read exactly its own placeholders.
        (
            ACME.replace("A / NULLIF(B, 0)", "X / NULLIF(Y, 0)"),
            "template safe_divide: its placeholders are",
        ),
        (
            ACME.replace("A / NULLIF(B, 0)", "A / 2"),
            "template safe_divide: its placeholders are",
        ),
        (
            ACME.replace("name: acme", "name: acme\nextends: nowhere"),
            "\"nowhere\" is not a dialect",
        ),
        // A fence holds on every row: it reads no column.
        (
            ACME.replace("unpivot: union_all", "unpivot: union_all\nfence: \"x > 0\""),
            "fence: \"x > 0\" reads a column",
        ),
        (
            ACME.replace(
                "unpivot: union_all",
                "unpivot: union_all\nfence: \"rand( >\"",
            ),
            "fence:",
        ),
    ];
    for (text, expected) in cases {
        let e = Dialect::from_yaml(&text).map(|_| ()).unwrap_err();
        assert!(e.contains(expected), "{expected:?} not in {e}");
    }
}

/// T-SQL's shapes, from data alone: bracket quotes (the closing one doubled
/// inside a name), `TOP 1` instead of `LIMIT 1`, and everything else
/// inherited from another dialect with `extends:`.
const BRACKETS: &str = r#"
name: brackets
extends: postgres
parser: mssql
dbt_adapters: [sqlserver]
identifier_quote: ['[', ']']
first_row: top
binary_collation: null
unpivot: union_all
percentiles: per_expression
materialized: false
"#;

#[test]
fn quotes_first_row_and_inheritance_are_data() {
    let d = Dialect::from_yaml(BRACKETS).unwrap();
    let pg = prep::dialect::DialectName::Postgres.get();
    // Inherited from postgres: its type names and its mean template.
    assert_eq!(d.double_type, pg.double_type);
    assert_eq!(d.max_identifier_bytes, pg.max_identifier_bytes);
    assert_eq!(
        d.template(prep::dialect::Func::Avg).to_string(),
        "SUM(X) / NULLIF(COUNT(X), 0)"
    );
    assert_eq!(prep::render::quote::ident(&d, "a]b[c"), "[a]]b[c]");
    let spec =
        "name: t\nsource: {table: \"we]ird\"}\nfeatures:\n  \"x]y\": [{impute: most_frequent}]\n";
    let ir = prep::compile_ir(spec, "t.yml").unwrap();
    let artifacts = emit::emit(&ir, &d, EmitForm::Sql, false, "t.yml", None).unwrap();
    for a in &artifacts {
        common::parse_back(&d, EmitForm::Sql, a);
    }
    let fit = &artifacts[0].contents;
    assert!(
        fit.contains("SELECT TOP 1\n") && !fit.contains("LIMIT"),
        "{fit}"
    );
    assert!(fit.contains("[we]]ird]") && fit.contains("[x]]y]"), "{fit}");
}
