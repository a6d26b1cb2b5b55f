//! Golden tests of the command line: help texts, every error class with its
//! place and hint, exit codes, JSON diagnostics, and writing files.

mod common;

use std::path::Path;

use common::prep;

/// An empty scratch folder of this test run (removed if left from before).
fn fresh_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("prep-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn run(args: &[&str]) -> (i32, String, String) {
    prep(args, &common::root())
}

#[test]
fn help_texts() {
    for args in [
        &["--help"][..],
        &["compile", "--help"],
        &["explain", "--help"],
        &["fit", "--help"],
        &["preview", "--help"],
        &["export-sklearn", "--help"],
        &["init", "--help"],
        &["check", "--help"],
        &["completions", "--help"],
        &["report", "--help"],
    ] {
        let (code, stdout, _) = run(args);
        assert_eq!(code, 0);
        insta::assert_snapshot!(format!("help {}", args.join(" ")), stdout);
    }
}

#[test]
fn every_error_class_names_its_place_and_a_hint() {
    let errors = common::files(&common::root().join("tests/errors"), "yml");
    assert!(errors.len() >= 20);
    for spec in errors {
        let rel = format!(
            "tests/errors/{}",
            spec.file_name().unwrap().to_string_lossy()
        );
        let (code, stdout, stderr) = run(&["compile", &rel, "--dialect", "postgres"]);
        assert_eq!(code, 1, "{rel}: {stderr}");
        assert!(
            stdout.is_empty(),
            "{rel}: nothing is printed on stdout when the spec is bad"
        );
        assert!(
            stderr.contains("help: "),
            "{rel}: every diagnostic has a hint"
        );
        assert!(!stderr.contains("panicked"), "{rel}");
        let stem = spec.file_stem().unwrap().to_string_lossy().into_owned();
        insta::assert_snapshot!(format!("error {stem}"), stderr);
    }
}

#[test]
fn json_diagnostics() {
    let (code, _, stderr) = run(&[
        "--format",
        "json",
        "compile",
        "tests/errors/unknown_step.yml",
        "--dialect",
        "duckdb",
    ]);
    assert_eq!(code, 1);
    let parsed: serde_json::Value = serde_json::from_str(&stderr).unwrap();
    assert_eq!(parsed[0]["code"], "E002");
    assert_eq!(parsed[0]["line"], 4);
    assert_eq!(parsed[0]["column"], 8);
    assert_eq!(parsed[0]["hint"], "did you mean `impute`?");
    insta::assert_snapshot!(stderr);
}

#[test]
fn usage_errors_exit_2() {
    let (code, _, stderr) = run(&[
        "compile",
        "tests/errors/does_not_exist.yml",
        "--dialect",
        "duckdb",
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("cannot read the spec"), "{stderr}");
    let (code, _, stderr) = run(&[
        "compile",
        "examples/churn/churn_features.yml",
        "--dialect",
        "oracle",
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("possible values"), "{stderr}");
    let (code, _, _) = run(&["compile"]);
    assert_eq!(code, 2);
}

#[test]
fn explain_shows_plans_and_scans() {
    for spec in [
        "examples/churn/churn_features.yml",
        "tests/specs/groups_median.yml",
        "tests/specs/robust_after_impute.yml",
        "tests/errors/one_hot_learned.yml",
    ] {
        let (code, stdout, stderr) = run(&["explain", spec]);
        assert_eq!(code, 0, "{stderr}");
        insta::assert_snapshot!(
            format!(
                "explain {}",
                Path::new(spec).file_stem().unwrap().to_string_lossy()
            ),
            stdout
        );
    }
}

#[test]
fn schema_is_json_schema_of_the_spec() {
    let (code, stdout, _) = run(&["schema"]);
    assert_eq!(code, 0);
    let schema: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(schema["title"], "prep spec");
    assert!(schema["properties"]["features"].is_object());
    let committed = std::fs::read_to_string(common::root().join("prep.schema.json")).unwrap();
    assert_eq!(
        stdout, committed,
        "prep.schema.json is stale: run `cargo run -- schema > prep.schema.json`"
    );
}

#[test]
fn out_dir_is_written_atomically_idempotently_and_never_over_foreign_files() {
    let dir = fresh_dir("out");
    let out = dir.to_string_lossy().into_owned();
    let spec = "examples/churn/churn_features.yml";
    let (code, stdout, stderr) = run(&["compile", spec, "--dialect", "snowflake", "--out", &out]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.is_empty());
    let fit = dir.join("churn_features.fit.sql");
    let first = std::fs::read_to_string(&fit).unwrap();
    // Again: same bytes, nothing rewritten.
    let (code, _, stderr) = run(&["compile", spec, "--dialect", "snowflake", "--out", &out]);
    assert_eq!(code, 0);
    assert!(
        stderr.is_empty(),
        "unchanged files are not rewritten: {stderr}"
    );
    assert_eq!(std::fs::read_to_string(&fit).unwrap(), first);
    // A file prep did not write is never overwritten, and nothing else is written either.
    std::fs::write(dir.join("churn_features.apply.sql"), "select 'mine'").unwrap();
    std::fs::remove_file(&fit).unwrap();
    let (code, _, stderr) = run(&["compile", spec, "--dialect", "snowflake", "--out", &out]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("not generated by prep"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(dir.join("churn_features.apply.sql")).unwrap(),
        "select 'mine'"
    );
    assert!(
        !fit.exists(),
        "no file is written when one target is refused"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(leftovers.len(), 1, "no temporary files left: {leftovers:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn main_command_of_the_readme_prints_sql() {
    let (code, stdout, stderr) = run(&[
        "compile",
        "examples/churn/churn_features.yml",
        "--dialect",
        "databricks",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("-- file: churn_features.fit.sql")
            && stdout.contains("-- file: churn_features.apply.sql")
    );
}

#[test]
fn fitted_parameters_of_another_spec_are_refused() {
    let (code, stdout, stderr) = run(&[
        "compile",
        "tests/specs/impute_numeric.yml",
        "--dialect",
        "duckdb",
        "--params",
        "tests/fitted/learned.fitted.yml",
    ]);
    assert_eq!(code, 1);
    assert!(stdout.is_empty());
    assert!(stderr.contains("E009"), "{stderr}");
    insta::assert_snapshot!(stderr);
}

#[test]
fn fit_results_that_are_not_this_specs_are_refused_and_nothing_is_written() {
    let out = std::env::temp_dir().join(format!("prep-cli-fit-{}.fitted.yml", std::process::id()));
    let out_text = out.to_string_lossy().into_owned();
    // A result of another spec's fit query.
    let (code, _, stderr) = run(&[
        "fit",
        "tests/specs/impute_numeric.yml",
        "--from-result",
        "tests/fitted/learned.fit_result.json",
        "--out",
        &out_text,
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("E009") && stderr.contains("not one this spec's fit produces"),
        "{stderr}"
    );
    assert!(!out.exists(), "no partial params file");
    // Not a fit result at all.
    let (code, _, stderr) = run(&[
        "fit",
        "tests/fitted/learned.yml",
        "--from-result",
        "tests/fitted/learned.yml",
        "--out",
        &out_text,
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("must name the columns"), "{stderr}");
    assert!(!out.exists());
    // A missing result file is a usage error.
    let (code, _, _) = run(&[
        "fit",
        "tests/fitted/learned.yml",
        "--from-result",
        "tests/fitted/nope.csv",
        "--out",
        &out_text,
    ]);
    assert_eq!(code, 2);
}

#[test]
fn fit_from_a_warehouse_result_is_deterministic_and_idempotent() {
    let out =
        std::env::temp_dir().join(format!("prep-cli-refit-{}.fitted.yml", std::process::id()));
    let out_text = out.to_string_lossy().into_owned();
    let (code, _, stderr) = run(&[
        "fit",
        "tests/fitted/learned.yml",
        "--from-result",
        "tests/fitted/learned.fit_result.json",
        "--out",
        &out_text,
    ]);
    assert_eq!(code, 0, "{stderr}");
    let written = std::fs::read_to_string(&out).unwrap();
    let committed =
        std::fs::read_to_string(common::root().join("tests/fitted/learned.fitted.yml")).unwrap();
    assert_eq!(written, committed, "the same result gives the same bytes");
    let (code, _, stderr) = run(&[
        "fit",
        "tests/fitted/learned.yml",
        "--from-result",
        "tests/fitted/learned.fit_result.json",
        "--out",
        &out_text,
    ]);
    assert_eq!(code, 0);
    assert!(
        stderr.is_empty(),
        "an unchanged file is not rewritten: {stderr}"
    );
    std::fs::remove_file(&out).unwrap();
}

/// The dbt package's parameters table carries `prep_fitted_at`: a result
/// exported from it is read, and the time of fitting is kept in the file and
/// read back from it.
#[test]
fn a_result_with_the_time_of_fitting_is_read_and_kept() {
    let dir = std::env::temp_dir().join(format!("prep-cli-fitted-at-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let result: Vec<serde_json::Value> = serde_json::from_str(
        &std::fs::read_to_string(common::root().join("tests/fitted/learned.fit_result.json"))
            .unwrap(),
    )
    .unwrap();
    let mut rows = result.clone();
    rows.push(serde_json::json!({"parameter": "prep_fitted_at", "kind": "value", "number": null, "text": "2026-11-29 21:00:00", "frequency": null}));
    let with_time = dir.join("result.json");
    std::fs::write(&with_time, serde_json::to_string(&rows).unwrap()).unwrap();
    let fitted = dir.join("learned.fitted.yml");
    let (code, _, stderr) = run(&[
        "fit",
        "tests/fitted/learned.yml",
        "--from-result",
        &with_time.to_string_lossy(),
        "--out",
        &fitted.to_string_lossy(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let text = std::fs::read_to_string(&fitted).unwrap();
    assert!(
        text.contains("fitted_at: \"2026-11-29 21:00:00\""),
        "{text}"
    );
    let (code, _, stderr) = run(&[
        "compile",
        "tests/fitted/learned.yml",
        "--dialect",
        "duckdb",
        "--params",
        &fitted.to_string_lossy(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Learned categories that differ only by case would make two columns that
/// most warehouses cannot tell apart: an error, not a silent rename.
#[cfg(feature = "embedded")]
#[test]
fn learned_categories_that_collide_are_an_error() {
    let dir = std::env::temp_dir().join(format!("prep-cli-collide-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("train.csv"), "id,plan\n1,a\n2,A\n3,b\n").unwrap();
    // Fits a spec with these one_hot options on train.csv, then binds it.
    let fit_and_compile = |one_hot: &str| {
        let spec = format!(
            "name: plans\nsource: {{ref: t}}\nkeys: [id]\nfeatures:\n  plan: [{{one_hot: {one_hot}}}]\n"
        );
        std::fs::write(dir.join("plans.yml"), spec).unwrap();
        let (code, _, stderr) = prep(&["fit", "plans.yml", "--data", "train.csv"], &dir);
        assert_eq!(code, 0, "{stderr}");
        prep(
            &[
                "compile",
                "plans.yml",
                "--dialect",
                "duckdb",
                "--params",
                "plans.fitted.yml",
            ],
            &dir,
        )
    };
    let (code, stdout, stderr) = fit_and_compile("{handle_unknown: ignore}");
    assert_eq!(code, 1);
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("E005") && stderr.contains("plan_a") && stderr.contains("plan_A"),
        "{stderr}"
    );
    // With distinct suffixes it compiles.
    let (code, stdout, stderr) = fit_and_compile("{handle_unknown: ignore, names: {A: upper_a}}");
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("\"plan_upper_a\""));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn dbt_package_is_written_checked_and_never_over_foreign_files() {
    let dir = fresh_dir("dbt");
    let out = dir.to_string_lossy().into_owned();
    let args = [
        "compile",
        "examples/dbt_project/specs",
        "--emit",
        "dbt-package",
        "--out",
        &out,
    ];
    let (code, _, stderr) = run(&args);
    assert_eq!(code, 0, "{stderr}");
    for file in [
        "dbt_project.yml",
        "macros/prep.sql",
        "macros/prep_churn.sql",
        "models/churn.sql",
        "models/churn__params.sql",
        "models/schema.yml",
    ] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        assert!(
            prep::emit::is_generated(&text),
            "{file} carries prep's header"
        );
    }
    // No learned value and no raw Jinja from data: the category `O'Brien {{ x }}` is escaped.
    let macros = std::fs::read_to_string(dir.join("macros/prep_churn.sql")).unwrap();
    assert!(!macros.contains("{{ x }}"), "{macros}");
    assert!(
        macros.contains("'O''Brien {{ '{' }}{ x }}'")
            && macros.contains("'O\\'Brien {{ '{' }}{ x }}'"),
        "{macros}"
    );
    // The package's tests quote prep's columns as its SQL does on each
    // adapter: plain names in upper case where the dialect stores them so.
    let helpers = std::fs::read_to_string(dir.join("macros/prep.sql")).unwrap();
    assert!(
        helpers.contains("target.type in ['snowflake']"),
        "{helpers}"
    );
    let schema = std::fs::read_to_string(dir.join("models/schema.yml")).unwrap();
    assert!(
        !schema.contains("quote: true")
            && schema.contains("data_tests: [prep.unique, prep.not_null]"),
        "{schema}"
    );
    // Learned categories are read when dbt compiles, never written into the package.
    let learned = std::fs::read_to_string(dir.join("macros/prep_segments.sql")).unwrap();
    for category in ["'basic'", "'emea'", "'amer'"] {
        assert!(
            !learned.contains(category),
            "{category} is learned, not written: {learned}"
        );
    }
    assert!(learned.contains("prep._one_hot(") && learned.contains("prep._ordinal("));
    // --check passes when up to date, fails when a file is stale.
    let mut check = args.to_vec();
    check.push("--check");
    assert_eq!(run(&check).0, 0);
    std::fs::write(
        dir.join("models/churn.sql"),
        "-- Generated by prep, edited by hand\n",
    )
    .unwrap();
    let (code, _, stderr) = run(&check);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("not what prep would write") && stderr.contains("churn.sql"),
        "{stderr}"
    );
    // Regenerating is idempotent and repairs prep's own files.
    assert_eq!(run(&args).0, 0);
    assert_eq!(run(&check).0, 0);
    // A file prep did not write stops it, and nothing changes.
    std::fs::write(dir.join("models/mine.sql"), "select 1\n").unwrap();
    let before = std::fs::read_to_string(dir.join("models/schema.yml")).unwrap();
    let (code, _, stderr) = run(&args);
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("did not write") && stderr.contains("mine.sql"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("models/schema.yml")).unwrap(),
        before
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The package's macros, the reference dialect's whole; another adapter's
/// SQL is named, not repeated: it is the dialect's dbt-model SQL, which the
/// compile snapshots of tests/specs show for every dialect (a macro calling
/// another adapter's is shown whole).
fn macros_named(text: &str) -> String {
    // Blocks: from one `{% macro ` line to the next.
    let mut blocks: Vec<(String, String)> = Vec::new();
    for line in text.split_inclusive('\n') {
        match line.strip_prefix("{% macro ") {
            Some(rest) => {
                let name = rest.split('(').next().unwrap_or_default().to_string();
                blocks.push((name, line.to_string()));
            }
            None => match blocks.last_mut() {
                Some((_, block)) => block.push_str(line),
                None => blocks.push((String::new(), line.to_string())),
            },
        }
    }
    let adapters = prep::dbt::adapters();
    let mut out = String::new();
    for (name, block) in &blocks {
        let dialect = name.split_once("__").and_then(|(a, _)| {
            (adapters.iter())
                .find(|(adapter, _)| *adapter == a)
                .map(|(_, d)| *d)
        });
        match dialect.filter(|&d| d != common::REFERENCE) {
            // Another adapter's macro: the same SQL as the dialect's
            // dbt-model snapshots of tests/specs (named here, not repeated).
            Some(d) if block.len() > 200 => {
                let first = block.lines().next().unwrap_or_default();
                out.push_str(&format!("{first}  ({d}'s SQL)\n"));
            }
            _ => out.push_str(block),
        }
    }
    out
}

#[test]
fn dbt_package_snapshot() {
    let dir = fresh_dir("dbt-snap");
    let (code, _, stderr) = run(&[
        "compile",
        "examples/dbt_project/specs/churn.yml",
        "--emit",
        "dbt-package",
        "--out",
        &dir.to_string_lossy(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let mut all = String::new();
    for file in [
        "dbt_project.yml",
        "macros/prep.sql",
        "macros/prep_churn.sql",
        "models/churn.sql",
        "models/churn__params.sql",
        "models/churn__docs.md",
        "models/schema.yml",
    ] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        // The shared macros are their template with names filled in: the
        // template is reviewed as itself, the snapshot shows what is filled.
        let shown = match file {
            "macros/prep.sql" => {
                let template = std::fs::read_to_string("macros/prep.sql.j2").unwrap();
                let header = Some(("macros/prep.sql.j2", file));
                format!(
                    "(as a diff)\n{}",
                    common::line_diff(&template, &text, header)
                )
            }
            _ => macros_named(&text),
        };
        all.push_str(&format!("==== {file}\n{shown}"));
    }
    insta::assert_snapshot!(all);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `--params` pins a package's params model to one fit: its statistics are
/// literals in the package, for every adapter, Jinja-escaped.
#[test]
fn dbt_package_with_params_is_pinned_to_the_fit() {
    let dir = fresh_dir("pinned");
    let out = dir.to_string_lossy().into_owned();
    let fitted = "examples/dbt_project/specs/segments.fitted.yml";
    let pin = |spec: &str| {
        run(&[
            "compile",
            spec,
            "--emit",
            "dbt-package",
            "--params",
            fitted,
            "--out",
            &out,
        ])
    };
    let (code, _, stderr) = pin("examples/dbt_project/specs/segments.yml");
    assert_eq!(code, 0, "{stderr}");
    let model = std::fs::read_to_string(dir.join("models/segments__params.sql")).unwrap();
    assert!(model.contains("{{ prep.params_segments() }}") && !model.contains("fit_segments"));
    let macros = std::fs::read_to_string(dir.join("macros/prep_segments.sql")).unwrap();
    for (adapter, _) in prep::dbt::adapters() {
        assert!(macros.contains(&format!("{{% macro {adapter}__params_segments() %}}")));
    }
    // The fitted file's categories, Jinja-escaped, as literals.
    let category = "'O''Brien {{ '{' }}{ x }}' AS \"text\", CAST(1 AS DOUBLE) AS \"frequency\"";
    assert!(macros.contains(category));
    std::fs::remove_dir_all(&dir).unwrap();

    // A folder of specs has no one fit to pin; another spec's fit is refused.
    let (code, _, stderr) = pin("examples/dbt_project/specs");
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("one spec"), "{stderr}");
    let (code, _, stderr) = pin("examples/dbt_project/specs/churn.yml");
    assert_ne!(code, 0);
    assert!(stderr.contains("E009"), "{stderr}");
    assert!(!dir.exists(), "nothing is written when the fit is refused");
}

/// A package of its own name, its models prefixed: two such packages can
/// live in one dbt project. Names dbt cannot take are refused before anything
/// is written, and the options mean nothing outside a package.
#[test]
fn dbt_package_names_and_model_prefix() {
    let dir = fresh_dir("dbt_names");
    let out = dir.to_string_lossy().into_owned();
    let spec = "examples/dbt_project/specs/churn.yml";
    let (code, _, stderr) = run(&[
        "compile",
        spec,
        "--emit",
        "dbt-package",
        "--package-name",
        "churn_features",
        "--model-prefix",
        "cf_",
        "--out",
        &out,
    ]);
    assert_eq!(code, 0, "{stderr}");
    let project = std::fs::read_to_string(dir.join("dbt_project.yml")).unwrap();
    assert!(project.contains("\nname: churn_features\n"), "{project}");
    let params = std::fs::read_to_string(dir.join("models/cf_churn__params.sql")).unwrap();
    assert!(
        params.contains("{{ churn_features.fit_churn() }}"),
        "{params}"
    );
    let features = std::fs::read_to_string(dir.join("models/cf_churn.sql")).unwrap();
    assert!(
        features.contains("{{ churn_features.apply_churn(ref(project_name, 'train')) }}"),
        "{features}"
    );
    let macros = std::fs::read_to_string(dir.join("macros/prep_churn.sql")).unwrap();
    assert!(
        macros.contains("adapter.dispatch('apply_churn', 'churn_features')")
            && macros.contains("ref('churn_features', 'cf_churn__params')")
            && !macros.contains("prep."),
        "{macros}"
    );
    let schema = std::fs::read_to_string(dir.join("models/schema.yml")).unwrap();
    assert!(
        schema.contains("- name: \"cf_churn\"\n")
            && schema.contains("- name: \"cf_churn__params\"\n"),
        "{schema}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
    for (bad, what) in [
        ("9lives", "package name"),
        ("my-features", "package name"),
        ("", "package name"),
    ] {
        let (code, _, stderr) = run(&[
            "compile",
            spec,
            "--emit",
            "dbt-package",
            "--package-name",
            bad,
            "--out",
            &out,
        ]);
        assert_eq!(code, 2, "{bad}: {stderr}");
        assert!(stderr.contains("E003") && stderr.contains(what), "{stderr}");
        assert!(!dir.exists(), "nothing is written for {bad:?}");
    }
    let (code, _, stderr) = run(&[
        "compile",
        spec,
        "--emit",
        "dbt-package",
        "--model-prefix",
        "a-b",
        "--out",
        &out,
    ]);
    assert!(code == 2 && stderr.contains("model prefix"), "{stderr}");
    let (code, _, stderr) = run(&[
        "compile",
        spec,
        "--dialect",
        "duckdb",
        "--package-name",
        "x",
    ]);
    assert!(code == 2 && stderr.contains("--package-name"), "{stderr}");
}

/// `prep diff`: the parameters and category counts that changed between two
/// fits, nothing else; the same file twice has no change.
#[test]
fn diff_lists_what_changed_between_two_fits() {
    let dir = common::scratch_dir("cli-diff");
    let before = "examples/penguins/penguins.fitted.yml";
    let text = std::fs::read_to_string(before).unwrap();
    let changed = text
        .replace("bill_length_mm__p50: 44.45", "bill_length_mm__p50: 44.5")
        .replace(
            "{value: \"Dream\", frequency: 124.0}",
            "{value: \"Dream\", frequency: 125.0}",
        )
        .replace("    - {value: \"Torgersen\", frequency: 52.0}\n", "");
    assert_ne!(changed, text);
    let after = dir.join("after.fitted.yml");
    std::fs::write(&after, changed).unwrap();
    let (code, stdout, stderr) = run(&["diff", before, &after.to_string_lossy()]);
    assert_eq!(code, 0, "{stderr}");
    let line = |start: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no line {start:?} in\n{stdout}"))
            .split('|')
            .map(str::trim)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        line("bill_length_mm__p50"),
        [
            "bill_length_mm__p50",
            "44.45",
            "44.5",
            "+0.04999999999999716 (+0.112%)"
        ]
    );
    assert_eq!(
        line("island__s1_categories | Dream"),
        [
            "island__s1_categories",
            "Dream",
            "124.0",
            "125.0",
            "+1.0 (+0.806%)"
        ]
    );
    assert_eq!(
        line("island__s1_categories | Torgersen"),
        ["island__s1_categories", "Torgersen", "52.0", "-", "removed"]
    );
    assert!(
        stdout.contains("29 parameters and 6 category counts are the same."),
        "{stdout}"
    );
    let (code, stdout, _) = run(&["diff", before, before]);
    assert_eq!(code, 0);
    assert!(
        !stdout.contains(" | ")
            && stdout.contains("30 parameters and 8 category counts are the same."),
        "{stdout}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A spec deleted from the folder: `--check` reports its files, and the
/// next write removes them (prep's own files only; nothing else is touched).
#[test]
fn dbt_package_drops_the_files_of_a_deleted_spec() {
    let dir = fresh_dir("dbt_prune");
    let specs = dir.join("specs");
    std::fs::create_dir_all(&specs).unwrap();
    for spec in ["churn.yml", "segments.yml"] {
        std::fs::copy(
            format!("examples/dbt_project/specs/{spec}"),
            specs.join(spec),
        )
        .unwrap();
    }
    let (specs_arg, out) = (specs.to_string_lossy().into_owned(), dir.join("pkg"));
    let out_arg = out.to_string_lossy().into_owned();
    let compile = |extra: &[&str]| {
        let mut args = vec![
            "compile",
            &specs_arg,
            "--emit",
            "dbt-package",
            "--out",
            &out_arg,
        ];
        args.extend(extra);
        run(&args)
    };
    let (code, _, stderr) = compile(&[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(out.join("models/segments.sql").exists());
    std::fs::remove_file(specs.join("segments.yml")).unwrap();
    let (code, _, stderr) = compile(&["--check"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("segments.sql") && stderr.contains("prep_segments.sql"),
        "{stderr}"
    );
    let (code, _, stderr) = compile(&[]);
    assert_eq!(code, 0, "{stderr}");
    for gone in [
        "models/segments.sql",
        "models/segments__params.sql",
        "macros/prep_segments.sql",
    ] {
        assert!(!out.join(gone).exists(), "{gone} is still there");
        assert!(
            stderr.contains(&format!("removed {}", out.join(gone).display())),
            "{stderr}"
        );
    }
    assert!(out.join("models/churn.sql").exists());
    let (code, _, stderr) = compile(&["--check"]);
    assert_eq!(code, 0, "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A dbt contract lists every column: a spec whose one-hot columns are
/// named by the fit is refused, nothing written, until its statistics are
/// pinned; pinned, every column has its data type.
#[test]
fn dbt_contract_needs_every_column_known() {
    let dir = common::scratch_dir("cli-contract");
    let spec = dir.join("segments.yml");
    let text = std::fs::read_to_string("examples/dbt_project/specs/segments.yml").unwrap();
    let contract = "dbt: {contract: true, data_types: {customer_id: integer}}\n";
    std::fs::write(&spec, format!("{text}{contract}")).unwrap();
    let (spec, out) = (spec.to_string_lossy(), dir.join("pkg"));
    let out_arg = out.to_string_lossy();
    let args = ["compile", &spec, "--emit", "dbt-package", "--out", &out_arg];
    let (code, _, stderr) = run(&args);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("a dbt contract lists every column") && stderr.contains("--params"),
        "{stderr}"
    );
    assert!(!out.exists());
    let fitted = "examples/dbt_project/specs/segments.fitted.yml";
    let (code, _, stderr) = run(&[&args[..], &["--params", fitted]].concat());
    assert_eq!(code, 0, "{stderr}");
    let schema = std::fs::read_to_string(out.join("models/schema.yml")).unwrap();
    assert!(schema.contains("contract: {enforced: true}"), "{schema}");
    let columns = schema.matches("      - name: ").count() - 1; // the params model's `parameter`
    assert_eq!(schema.matches("data_type: ").count(), columns, "{schema}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Two packages written side by side under one dbt name (one per spec
/// folder, both `prep`): dbt would refuse to install them together, so the
/// second write says so; a distinct --package-name is quiet.
#[test]
fn dbt_package_beside_a_namesake_is_warned_about() {
    let dir = fresh_dir("namesake");
    let write = |spec: &str, out: &str, extra: &[&str]| {
        let out = dir.join(out).to_string_lossy().into_owned();
        let spec = format!("examples/dbt_project/specs/{spec}");
        let args = [
            &["compile", &spec, "--emit", "dbt-package", "--out", &out][..],
            extra,
        ]
        .concat();
        run(&args)
    };
    let (code, _, stderr) = write("churn.yml", "a", &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    let (code, _, stderr) = write("segments.yml", "b", &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("warning:")
            && stderr.contains("named `prep`")
            && stderr.contains("--package-name"),
        "{stderr}"
    );
    let (code, _, stderr) = write("segments.yml", "c", &["--package-name", "segments_pkg"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Several statements on standard output each end with `;`: the output is
/// one script (the fit, then the apply), for every dialect's parser.
#[test]
fn statements_on_stdout_are_one_script() {
    use sqlparser::parser::Parser;
    for d in prep::dialect::DialectName::ALL {
        let (code, stdout, stderr) = run(&[
            "compile",
            "examples/churn/churn_features.yml",
            "--dialect",
            d.as_str(),
        ]);
        assert_eq!(code, 0, "{stderr}");
        let statements = Parser::parse_sql(d.get().parser().as_ref(), &stdout).unwrap();
        assert_eq!(statements.len(), 2, "{d:?}");
    }
    // dbt models on stdout carry no `;`.
    let (_, stdout, _) = run(&[
        "compile",
        "examples/churn/churn_features.yml",
        "--dialect",
        "duckdb",
        "--emit",
        "dbt-model",
    ]);
    assert!(!stdout.contains(";\n"), "{stdout}");
}

/// The commands the penguins example's comments give run from the
/// repository's root on the data beside it, and the example's fitted file
/// is what `prep fit` learns from that data.
#[cfg(feature = "embedded")]
#[test]
fn the_penguins_example_commands_run_on_its_data() {
    let spec = std::fs::read_to_string("examples/penguins/penguins.yml").unwrap();
    let dir = common::scratch_dir("cli-penguins");
    let fitted = dir
        .join("penguins.fitted.yml")
        .to_string_lossy()
        .into_owned();
    let commands: Vec<&str> = spec
        .lines()
        .filter_map(|l| l.strip_prefix("#   prep "))
        .collect();
    assert!(commands.len() >= 3, "{spec}");
    for command in commands {
        let mut args: Vec<&str> = command.split_whitespace().collect();
        if args[0] == "fit" {
            args.extend(["--out", &fitted]); // not over the example's own file
        }
        let (code, _, stderr) = run(&args);
        assert_eq!(code, 0, "prep {command}: {stderr}");
    }
    let content = |path: &str| -> Vec<String> {
        (std::fs::read_to_string(path).unwrap().lines())
            .filter(|l| !l.starts_with('#') && !l.starts_with("fitted_at"))
            .map(String::from)
            .collect()
    };
    assert_eq!(
        content(&fitted),
        content("examples/penguins/penguins.fitted.yml")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `prep completions SHELL` prints a completion script naming every
/// command; `--color` forces colours on or off, whatever the terminal.
#[test]
fn completions_and_colour_choices() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let (code, stdout, stderr) = run(&["completions", shell]);
        assert_eq!(code, 0, "{stderr}");
        for command in ["compile", "fit", "init", "drift"] {
            assert!(stdout.contains(command), "{shell}: {command}");
        }
    }
    let args = |color: &'static str| {
        [
            "--color",
            color,
            "compile",
            "tests/errors/unknown_key.yml",
            "--dialect",
            "duckdb",
        ]
    };
    let (code, _, stderr) = run(&args("always"));
    assert_eq!(code, 1);
    assert!(stderr.starts_with("\u{1b}["), "{stderr}");
    let (_, _, stderr) = run(&args("never"));
    assert!(
        stderr.starts_with("error[E002]") && !stderr.contains('\u{1b}'),
        "{stderr}"
    );
}

/// A dialect's aliases (its file's `aliases:`) give its own SQL, which names
/// the dialect by its canonical name.
#[test]
fn dialect_aliases_are_the_dialect() {
    for (alias, dialect) in [
        ("spark", "databricks"),
        ("pg", "postgres"),
        ("postgresql", "postgres"),
        ("sqlserver", "mssql"),
        ("fabric", "mssql"),
        ("tsql", "mssql"),
        ("athena", "trino"),
        ("starburst", "trino"),
    ] {
        let compile = |d: &str| run(&["compile", "tests/specs/min_max.yml", "--dialect", d]);
        let (code, sql, stderr) = compile(alias);
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(sql, compile(dialect).1, "{alias}");
        assert!(sql.contains(&format!("for {dialect}:")), "{alias}");
    }
}

/// PostgreSQL holds at most 1,600 columns in a table: a spec whose output is
/// wider is refused when it compiles for it (with the way out), where the
/// engine would fail at run time; other dialects take it. A fit wider than
/// its row (1,664) is not refused: it is held in chunks (tests/wide.rs).
#[test]
fn wider_than_the_engine_holds_is_a_located_error() {
    let dir = common::scratch_dir("cli-wide");
    let categories: Vec<String> = (0..1601).map(|i| format!("c{i}")).collect();
    let wide_output = format!(
        "name: w\nsource: {{table: t}}\nfeatures:\n  plan: [{{one_hot: {{categories: [{}]}}}}]\n",
        categories.join(", ")
    );
    let spec = dir.join("w.yml");
    std::fs::write(&spec, wide_output).unwrap();
    let spec = spec.to_string_lossy().into_owned();
    let (code, _, stderr) = run(&["compile", &spec, "--dialect", "postgres"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("the output has 1601 columns, and postgres holds at most 1600"),
        "{stderr}"
    );
    assert!(
        stderr.contains("w.yml:4:3") && stderr.contains("split the spec"),
        "{stderr}"
    );
    assert_eq!(run(&["compile", &spec, "--dialect", "redshift"]).0, 1);
    assert_eq!(run(&["compile", &spec, "--dialect", "duckdb"]).0, 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A bins count outside 2..=1000 is refused at its place.
#[test]
fn bins_count_is_checked() {
    let dir = common::scratch_dir("cli-bins-count");
    for n in ["1", "1001"] {
        let spec = dir.join("b.yml");
        std::fs::write(
            &spec,
            format!("name: b\nsource: {{table: t}}\nfeatures:\n  x: [{{bins: {{n_bins: {n}, encode: ordinal}}}}]\n"),
        )
        .unwrap();
        let (code, _, stderr) = run(&["check", &spec.to_string_lossy()]);
        assert_eq!(code, 1);
        assert!(
            stderr.contains(&format!("n_bins is {n}")) && stderr.contains("b.yml:4:"),
            "{stderr}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The bash completion script, sourced in bash and asked what it offers
/// after each of a few command lines (a golden: subcommands, a command's
/// flags, and the values of `--dialect`, `--emit` and the shells).
#[test]
fn bash_completion_offers_commands_flags_and_values() {
    let dir = common::scratch_dir("cli-completions");
    let script = dir.join("prep.bash");
    let (code, stdout, stderr) = run(&["completions", "bash"]);
    assert_eq!(code, 0, "{stderr}");
    std::fs::write(&script, stdout).unwrap();
    let mut golden = String::new();
    for line in [
        "prep ",
        "prep compile --dialect ",
        "prep compile --emit ",
        "prep compile --",
        "prep fit --",
        "prep completions ",
    ] {
        // COMP_WORDS as bash splits the line; the word under the cursor is
        // the last one (empty after a space).
        let words: Vec<&str> = line.split(' ').collect();
        let asked = format!(
            "source '{}'; COMP_WORDS=({}); COMP_CWORD={}; _prep prep \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; echo \"${{COMPREPLY[*]}}\"",
            script.display(),
            words
                .iter()
                .map(|w| format!("'{w}'"))
                .collect::<Vec<_>>()
                .join(" "),
            words.len() - 1
        );
        let out = std::process::Command::new("bash")
            .args(["-c", &asked])
            .output()
            .unwrap();
        assert!(out.status.success(), "{line}");
        golden.push_str(&format!(
            "{line}<TAB>\n  {}",
            String::from_utf8_lossy(&out.stdout)
        ));
    }
    let dialects: Vec<String> = (prep::dialect::DialectName::ALL.iter())
        .map(|d| d.to_string())
        .collect();
    assert!(golden.contains(&dialects.join(" ")), "{golden}");
    insta::assert_snapshot!(golden);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `prep check` prints no SQL: valid specs pass (a folder's every spec),
/// and every invalid one is reported with its place, exit 1. The
/// pre-commit hooks the repository offers are these commands.
#[test]
fn check_reports_every_invalid_spec() {
    let (code, stdout, stderr) = run(&[
        "check",
        "examples/dbt_project/specs",
        "examples/penguins/penguins.yml",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.is_empty() && stderr.matches("ok ").count() == 3,
        "{stderr}"
    );
    let (code, stdout, stderr) = run(&[
        "check",
        "tests/errors/unknown_key.yml",
        "examples/penguins/penguins.yml",
        "tests/errors/drift_thresholds.yml",
    ]);
    assert_eq!(code, 1);
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("unknown_key.yml:3:1") && stderr.contains("drift_thresholds.yml:7:9"),
        "{stderr}"
    );
    insta::assert_snapshot!("check output", stderr);
    // A name one dialect cannot write, checked for that dialect only or all.
    let long = "tests/errors/name_too_long_postgres.yml";
    assert_eq!(run(&["check", long, "--dialect", "duckdb"]).0, 0);
    assert_eq!(run(&["check", long]).0, 1);
    let hooks = std::fs::read_to_string(".pre-commit-hooks.yaml").unwrap();
    for entry in [
        "entry: prep check",
        "entry: prep compile --emit dbt-package --check",
    ] {
        assert!(hooks.contains(entry), "{hooks}");
    }
}

/// Encoders with `handle_unknown: warn` give the package a test of severity
/// `warn` on the spec's source, counting the categories they did not learn
/// (given ones, a hostile text among them, and learned ones): on every
/// adapter its SQL parses, and no text of the spec reaches Jinja raw.
#[test]
fn warn_encoders_get_a_warning_test_in_the_dbt_package() {
    use sqlparser::parser::Parser;
    let dir = fresh_dir("warn");
    std::fs::create_dir_all(&dir).unwrap();
    let spec = dir.join("w.yml");
    std::fs::write(
        &spec,
        "name: w\nsource: {ref: customers}\nkeys: [id]\nfeatures:\n  \
         plan: [{one_hot: {categories: [\"O'Brien {{ x }}\", basic], handle_unknown: warn}}]\n  \
         region: [{impute: most_frequent}, {one_hot: {handle_unknown: warn}}]\n  \
         year: {type: numeric, steps: [{one_hot: {handle_unknown: warn}}]}\n",
    )
    .unwrap();
    let out = dir.join("pkg");
    let (code, _, stderr) = run(&[
        "compile",
        &spec.to_string_lossy(),
        "--emit",
        "dbt-package",
        "--out",
        &out.to_string_lossy(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let test = std::fs::read_to_string(out.join("tests/w__unknown_categories.sql")).unwrap();
    assert!(
        test.contains("{{ config(severity='warn') }}")
            && test.contains("prep.unknown_w(ref(project_name, 'customers'))"),
        "{test}"
    );
    let macros = std::fs::read_to_string(out.join("macros/prep_w.sql")).unwrap();
    assert!(!macros.contains("{{ x }}"), "{macros}");
    let mut env = minijinja::Environment::new();
    env.add_function("ref", |_: String, name: String| name);
    for (adapter, dialect) in prep::dbt::adapters() {
        let head = format!("{{% macro {adapter}__unknown_w(relation) %}}");
        let body = macros.split(&head).nth(1).expect("a macro per adapter");
        let body = body.split("{% endmacro %}").next().unwrap();
        if body.contains("__unknown_w(relation)") {
            continue; // calls the macro of another adapter of its dialect
        }
        let sql = env
            .render_str(body, minijinja::context! { relation => "customers" })
            .unwrap();
        assert!(sql.contains("Brien") && sql.contains("x }}"), "{sql}");
        let d = dialect.get();
        let parsed = Parser::parse_sql(d.parser().as_ref(), &sql);
        assert!(parsed.is_ok_and(|s| s.len() == 1), "{adapter}: {sql}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
