//! Every spec in tests/specs, compiled for every dialect and every output
//! form: snapshot-tested, and every emitted statement parsed back with
//! sqlparser's parser for its dialect.

mod common;

use std::ops::ControlFlow;

use prep::dialect::DialectName;
use prep::emit::{self, EmitForm};
use sqlparser::ast::{Expr, Value, visit_expressions};

const FORMS: [(EmitForm, bool, &str); 3] = [
    (EmitForm::Sql, false, "sql"),
    (EmitForm::Sql, true, "sql --inline"),
    (EmitForm::DbtModel, false, "dbt-model"),
];

/// Every form of a spec on one dialect: `--emit sql` whole, the other forms
/// as line diffs against it (they reuse its pieces; the diff is what differs).
fn compile_all(spec: &std::path::Path, d: DialectName) -> String {
    let text = std::fs::read_to_string(spec).unwrap();
    let file = spec.file_name().unwrap().to_string_lossy().into_owned();
    let ir = prep::compile_ir(&text, &file).unwrap_or_else(|e| panic!("{file}: {e:?}"));
    let dialect = d.get();
    prep::check_names(&ir, dialect, &file).unwrap();
    let mut out = String::new();
    let mut first: Option<String> = None;
    for (form, inline, label) in FORMS {
        let mut text = String::new();
        match emit::emit(&ir, dialect, form, inline, &file, None) {
            Ok(artifacts) => {
                for a in &artifacts {
                    common::parse_back(dialect, form, a);
                    text.push_str(&format!("---- {}\n{}", a.file_name, a.contents));
                }
            }
            Err(e) => text.push_str(&format!("error[{}]: {}\n", e.code.as_str(), e.message)),
        }
        match &first {
            None => {
                out.push_str(&format!("==== --emit {label}\n{text}"));
                first = Some(text);
            }
            Some(base) => {
                let diff = common::line_diff(base, &text, None);
                out.push_str(&format!(
                    "==== --emit {label}, as a diff against --emit {}\n{diff}",
                    FORMS[0].2
                ));
            }
        }
    }
    out
}

/// How each dialect's text is spelled as the reference's before it is
/// diffed (each diff's header says "spelled as duckdb"): stated once here.
#[test]
fn dialect_spellings() {
    let notes: Vec<String> = (DialectName::ALL.iter())
        .filter(|&&d| d != common::REFERENCE)
        .map(|&d| format!("{d}: {}", common::spelling_note(d.get())))
        .collect();
    insta::assert_snapshot!(notes.join("\n"));
}

/// The specs snapshotted on every dialect. The first dialects (the order of
/// `common::ORDER`) are snapshotted on every spec; the snapshot budget (600
/// KB) holds the others on these, which reach most of what a dialect file
/// decides (percentiles, types, the long form, booleans, text). Every spec
/// is still compiled and parsed back on every dialect, and every quoted name
/// and literal read back (`strings_round_trip_through_quoting_and_jinja`,
/// `tests/hostile.rs`).
const SAMPLED: [&str; 2] = ["impute_numeric", "booleans"];

#[test]
fn every_spec_on_every_dialect() {
    let specs = common::files(&common::root().join("tests/specs"), "yml");
    assert!(
        specs.len() >= 15,
        "the suite needs at least 15 specs, found {}",
        specs.len()
    );
    for spec in &specs {
        let stem = spec.file_stem().unwrap().to_string_lossy().into_owned();
        let outputs: Vec<_> = (DialectName::ALL.iter())
            .map(|&d| (d, compile_all(spec, d)))
            .collect();
        common::assert_dialect_snapshots(&stem, spec, &outputs, SAMPLED.contains(&stem.as_str()));
    }
}

/// Every example compiles on every dialect: bound to its fitted-parameters
/// file when it has one (learned categories), as plain SQL otherwise.
#[test]
fn examples_compile_on_every_dialect() {
    // Specs are the YAML files of examples/*/ and examples/*/specs/, except dbt's own files.
    let mut specs = Vec::new();
    for dir in std::fs::read_dir(common::root().join("examples")).unwrap() {
        let dir = dir.unwrap().path();
        if dir.is_dir() {
            specs.extend(common::files(&dir, "yml"));
            if dir.join("specs").is_dir() {
                specs.extend(common::files(&dir.join("specs"), "yml"));
            }
        }
    }
    let dbt_files = ["dbt_project.yml", "profiles.yml", "packages.yml"];
    specs.retain(|p| {
        let name = p.file_name().unwrap().to_string_lossy();
        !name.ends_with(".fitted.yml") && !dbt_files.contains(&name.as_ref())
    });
    assert!(specs.len() >= 3, "{specs:?}");
    {
        for spec in &specs {
            let text = std::fs::read_to_string(spec).unwrap();
            let fitted_path = spec.with_extension("fitted.yml");
            for d in DialectName::ALL {
                let out = if fitted_path.exists() {
                    let fitted = prep::fitted::Fitted::from_yaml(
                        &std::fs::read_to_string(&fitted_path).unwrap(),
                    )
                    .unwrap();
                    let ir = prep::compile_bound(&text, "example.yml", &fitted).unwrap();
                    let bound = emit::Bound {
                        fitted: &fitted,
                        params_file: "example.fitted.yml",
                    };
                    let artifacts = emit::emit(
                        &ir,
                        d.get(),
                        EmitForm::Sql,
                        false,
                        "example.yml",
                        Some(bound),
                    )
                    .unwrap();
                    artifacts.iter().for_each(|a| {
                        common::parse_back(d.get(), EmitForm::Sql, a);
                    });
                    artifacts.len()
                } else {
                    assert!(
                        !compile_all(spec, d).contains("error["),
                        "{}",
                        spec.display()
                    );
                    1
                };
                assert!(out > 0);
            }
        }
    }
}

#[test]
fn output_is_byte_for_byte_deterministic() {
    for spec in common::files(&common::root().join("tests/specs"), "yml") {
        for d in DialectName::ALL {
            assert_eq!(compile_all(&spec, d), compile_all(&spec, d));
        }
    }
}

/// Every category and fill value of the adversarial spec reaches the parsed
/// SQL as the same string, in every dialect and output form.
#[test]
fn strings_round_trip_through_quoting_and_jinja() {
    let spec = common::root().join("tests/specs/adversarial_names.yml");
    let text = std::fs::read_to_string(&spec).unwrap();
    let ir = prep::compile_ir(&text, "adversarial_names.yml").unwrap();
    let expected = [
        "O'Brien",
        "{{ x }}",
        "back\\slash",
        "{% raw %}",
        "café",
        "",
        "new\nline",
        "it's {{ missing }}",
    ];
    for d in DialectName::ALL {
        let dialect = d.get();
        for (form, inline, _) in FORMS {
            for a in emit::emit(&ir, dialect, form, inline, "adversarial_names.yml", None).unwrap()
            {
                let statement = common::parse_back(dialect, form, &a);
                let mut strings = Vec::new();
                let _ = visit_expressions(&statement, |e| {
                    match e {
                        Expr::Value(v) => {
                            if let Value::SingleQuotedString(s) | Value::NationalStringLiteral(s) =
                                &v.value
                            {
                                strings.push(s.clone());
                            }
                        }
                        // A literal with a line break, written in parts.
                        Expr::Nested(inner) => {
                            strings.extend(prep::render::filter::literal_text(inner));
                        }
                        _ => {}
                    }
                    ControlFlow::<()>::Continue(())
                });
                if a.file_name.contains(".fit.") || a.file_name.ends_with("__params.sql") {
                    continue;
                }
                for value in expected {
                    assert!(
                        strings.iter().any(|s| s == value),
                        "{d} {}: {value:?} not in {strings:?}",
                        a.file_name
                    );
                }
                // Column names survive too, as quoted identifiers.
                let printed = statement.to_string();
                for name in ["customer id", "we\"ird", "semi;colon", "Größe"] {
                    let (o, c) = (
                        dialect.identifier_quote.open,
                        dialect.identifier_quote.close,
                    );
                    let quoted = format!("{o}{}{c}", name.replace(c, &format!("{c}{c}")));
                    assert!(printed.contains(&quoted), "{d}: {quoted} not in output");
                }
            }
        }
    }
}

/// Specs bound to committed fitted-parameters files: learned categories and
/// infrequent groups become columns, every value a literal, on every dialect.
#[test]
fn fitted_specs_bind_as_literals_on_every_dialect() {
    let dir = common::root().join("tests/fitted");
    let specs: Vec<_> = common::files(&dir, "yml")
        .into_iter()
        .filter(|p| !p.to_string_lossy().ends_with(".fitted.yml"))
        .collect();
    assert!(!specs.is_empty());
    for spec in specs {
        let stem = spec.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&spec).unwrap();
        let fitted_text = std::fs::read_to_string(dir.join(format!("{stem}.fitted.yml"))).unwrap();
        let fitted = prep::fitted::Fitted::from_yaml(&fitted_text).unwrap();
        let ir = prep::compile_bound(&text, &format!("{stem}.yml"), &fitted).unwrap();
        let mut outputs = Vec::new();
        for d in DialectName::ALL {
            let dialect = d.get();
            prep::check_names(&ir, dialect, &stem).unwrap();
            let mut out = String::new();
            for form in [EmitForm::Sql, EmitForm::DbtModel] {
                let bound = emit::Bound {
                    fitted: &fitted,
                    params_file: "learned.fitted.yml",
                };
                for a in emit::emit(
                    &ir,
                    dialect,
                    form,
                    false,
                    &format!("{stem}.yml"),
                    Some(bound),
                )
                .unwrap()
                {
                    let statement = common::parse_back(dialect, form, &a);
                    assert!(
                        !statement.to_string().contains("prep_params"),
                        "no parameters relation when bound"
                    );
                    out.push_str(&format!("---- {}\n{}", a.file_name, a.contents));
                }
            }
            outputs.push((d, out));
        }
        common::assert_dialect_snapshots(&format!("bound {stem}"), &spec, &outputs, true);
    }
}

/// Asking the library for what it cannot do is an internal-error diagnostic
/// (E011, "a bug in prep"), not a panic.
#[test]
fn an_internal_inconsistency_is_a_diagnostic() {
    let spec = std::fs::read_to_string(common::root().join("tests/specs/booleans.yml")).unwrap();
    let ir = prep::compile_ir(&spec, "booleans.yml").unwrap();
    let d = DialectName::Duckdb.get();
    let e = emit::emit(&ir, d, EmitForm::DbtPackage, false, "booleans.yml", None).unwrap_err();
    assert_eq!(e.code.as_str(), "E011");
    assert!(e.message.contains("this is a bug in prep"), "{}", e.message);
}

/// Snowflake stores a name written without quotes in upper case: a plain
/// name of the spec is written that way, so it means the column a plain
/// CREATE TABLE made; any other name exactly; a name the user quoted in
/// `fit.where` exactly; and other dialects write every name as it is.
#[test]
fn plain_names_are_written_as_the_engine_stores_them() {
    let spec = "name: t\nsource: {table: analytics.events}\nkeys: [id]\nfit: {where: '\"age\" > 1 AND age > 2'}\nfeatures:\n  usage: [{scale: standard}]\n  \"Plan Code\": {type: string, steps: [{one_hot: {categories: [a], handle_unknown: ignore}}]}\n  order: [{impute: mean}]\n";
    let ir = prep::compile_ir(spec, "t.yml").unwrap();
    let text = |d: DialectName| {
        emit::emit(&ir, d.get(), EmitForm::Sql, false, "t.yml", None)
            .unwrap()
            .iter()
            .map(|a| a.contents.clone())
            .collect::<String>()
    };
    let snowflake = text(DialectName::Snowflake);
    for written in [
        "\"USAGE\"",
        "\"ORDER\"",
        "\"ID\"",
        "\"ANALYTICS\".\"EVENTS\"",
        "\"Plan Code\"",
        "\"Plan Code_a\"",
        "\"age\" > 1",
        "age > 2",
    ] {
        assert!(snowflake.contains(written), "{written} not in\n{snowflake}");
    }
    assert!(!snowflake.contains("\"usage\""), "{snowflake}");
    let postgres = text(DialectName::Postgres);
    for written in [
        "\"usage\"",
        "\"order\"",
        "\"analytics\".\"events\"",
        "\"Plan Code\"",
        "\"age\" > 1",
    ] {
        assert!(postgres.contains(written), "{written} not in\n{postgres}");
    }
}
