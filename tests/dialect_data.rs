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
  safe_divide: "X / NULLIF(Y, 0)"
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
            ACME.replace("safe_divide: \"X / NULLIF(Y, 0)\"", "no_such: \"X\""),
            "unknown template",
        ),
        (
            ACME.replace(
                "safe_divide: \"X / NULLIF(Y, 0)\"",
                "safe_divide: \"X / (\"",
            ),
            "template safe_divide",
        ),
        (
            ACME.replace("string_escape: backslash", "string_escape: maybe"),
            "maybe",
        ),
    ];
    for (text, expected) in cases {
        let e = Dialect::from_yaml(&text).map(|_| ()).unwrap_err();
        assert!(e.contains(expected), "{expected:?} not in {e}");
    }
}
