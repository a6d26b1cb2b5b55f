//! `prep init`: the starter spec it writes compiles on every dialect (and,
//! from data, fits), each choice is explained, and it never overwrites.

mod common;

use std::path::Path;

use prep::dialect::DialectName;

use common::prep;

/// The spec compiles to SQL for every dialect.
fn compiles_everywhere(spec: &str, dir: &Path) {
    for d in DialectName::ALL {
        let (code, _, stderr) = prep(&["compile", spec, "--dialect", d.as_str()], dir);
        assert_eq!(code, 0, "{d:?}: {stderr}");
    }
}

/// The spec compiles for every dialect but databricks, which refuses a
/// column name a Delta table cannot hold, at its place, until the spec says
/// the tables have column mapping (the line `prep init` wrote commented out).
fn compiles_everywhere_once_delta_is_told(spec: &str, dir: &Path) {
    let (code, _, stderr) = prep(&["compile", spec, "--dialect", "databricks"], dir);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("Delta") && stderr.contains("odd \\\"name"),
        "{stderr}"
    );
    let text = std::fs::read_to_string(dir.join(spec)).unwrap();
    let told = text.replace("# delta_column_mapping: true", "delta_column_mapping: true");
    std::fs::write(dir.join("told.yml"), told).unwrap();
    compiles_everywhere("told.yml", dir);
}

#[test]
fn from_a_column_list_it_writes_a_spec_that_compiles_and_never_overwrites() {
    let dir = common::scratch_dir("init-columns");
    let columns = "id BIGINT, age DOUBLE PRECISION, amount DECIMAL(10, 2), plan VARCHAR, \
                   active BOOLEAN, signup DATE, payload BLOB, \"odd \"\"name\"\", {{ x }}\" INTEGER";
    let (code, _, stderr) = prep(&["init", "starter", "--columns", columns], &dir);
    assert_eq!(code, 0, "{stderr}");
    let spec = std::fs::read_to_string(dir.join("starter.yml")).unwrap();
    assert!(
        spec.starts_with("# yaml-language-server: $schema="),
        "{spec}"
    );
    assert!(
        spec.contains("  age: [{impute: median}, {scale: standard}]"),
        "{spec}"
    );
    assert!(spec.contains("passthrough: [plan]"), "{spec}");
    assert!(
        spec.contains("  signup: [{date_parts: [year, month, day_of_week]}]"),
        "{spec}"
    );
    assert!(spec.contains("payload: BLOB: left out"), "{spec}");
    assert!(
        spec.contains("\"odd \\\"name\\\", {{ x }}\": [{impute: median}"),
        "{spec}"
    );
    // Every feature's choice is explained in the comment above it.
    let lines: Vec<&str> = spec.lines().collect();
    let features = lines.iter().position(|l| *l == "features:").unwrap();
    for pair in lines[features + 1..].chunks(2) {
        assert!(
            pair[0].starts_with("  # ") && pair[1].starts_with("  "),
            "{pair:?}"
        );
    }
    compiles_everywhere_once_delta_is_told("starter.yml", &dir);

    // Never over a file, written by prep or not.
    let (code, _, stderr) = prep(&["init", "starter", "--columns", "x DOUBLE"], &dir);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("never overwrites"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(dir.join("starter.yml")).unwrap(),
        spec
    );
    // A schema export as CSV, written where --out says.
    std::fs::write(
        dir.join("columns.csv"),
        "table_name,column_name,data_type\nt,score,double precision\nt,city,text\n",
    )
    .unwrap();
    let (code, _, stderr) = prep(
        &[
            "init",
            "other",
            "--columns",
            "columns.csv",
            "--out",
            "specs_other.yml",
        ],
        &dir,
    );
    assert_eq!(code, 0, "{stderr}");
    compiles_everywhere("specs_other.yml", &dir);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_requests_are_refused_before_anything_is_written() {
    let dir = common::scratch_dir("init-refused");
    let long = format!("{} DOUBLE", "x".repeat(70));
    for (args, code, says) in [
        (
            vec!["init", "9lives", "--columns", "x DOUBLE"],
            2,
            "cannot name a spec",
        ),
        (vec!["init", "ok"], 2, "--data or from --columns"),
        (vec!["init", "ok", "--columns", "x"], 2, "has no type"),
        (
            vec!["init", "ok", "--columns", "note TEXT, at TIME"],
            1,
            "no column",
        ),
        (
            vec!["init", "ok", "--columns", &long],
            1,
            "postgres keeps at most 63",
        ),
    ] {
        let (got, _, stderr) = prep(&args, &dir);
        assert_eq!(got, code, "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// From data: keys from unique columns, categories listed from the values
/// (hostile ones included), high cardinality as ordinal codes; the spec
/// compiles everywhere and fits the same data.
#[cfg(feature = "embedded")]
#[test]
fn from_data_it_reads_types_categories_and_keys() {
    let dir = common::scratch_dir("init-data");
    let mut csv = String::from("id,age,plan,city,active,signup,grade\n");
    let plans = ["basic", "pro", "O'Brien {{ x }}", "yes", "007"];
    for i in 0..60 {
        let age = if i % 7 == 0 {
            String::new()
        } else {
            format!("{}.5", 20 + i % 30)
        };
        let plan = if i % 11 == 0 {
            ""
        } else {
            plans[i % plans.len()]
        };
        let plan = if plan.contains(['\'', '{', ' ']) {
            format!("\"{plan}\"")
        } else {
            plan.to_string()
        };
        csv.push_str(&format!(
            "{i},{age},{plan},city{},{},2024-01-{:02},{}\n",
            i % 30,
            i % 2 == 0,
            1 + i % 28,
            ["a", "A", "b"][i % 3]
        ));
    }
    std::fs::write(dir.join("train.csv"), csv).unwrap();
    let (code, _, stderr) = prep(&["init", "people", "--data", "train.csv"], &dir);
    assert_eq!(code, 0, "{stderr}");
    let spec = std::fs::read_to_string(dir.join("people.yml")).unwrap();
    assert!(spec.contains("keys: [id]"), "{spec}");
    // A DATE column: its parts (the fit below reads it as a date).
    assert!(
        spec.contains("signup: [{date_parts: [year, month, day_of_week]}]"),
        "{spec}"
    );
    assert!(
        spec.contains(
            "{one_hot: {categories: [\"007\", \"O'Brien {{ x }}\", \"basic\", \"pro\", \"yes\"]"
        ),
        "{spec}"
    );
    assert!(
        spec.contains("{impute: most_frequent}, {one_hot:"),
        "{spec}"
    );
    assert!(
        spec.contains(
            "city: {type: string, steps: [{ordinal: {categories: [\"city0\", \"city1\", \"city10\""
        ),
        "{spec}"
    );
    assert!(
        spec.contains("age: [{impute: median}, {scale: standard}]"),
        "{spec}"
    );
    assert!(spec.contains("active: {type: boolean"), "{spec}");
    // `a` and `A` would name two columns alike: codes instead.
    assert!(
        spec.contains("grade: {type: string, steps: [{ordinal:"),
        "{spec}"
    );
    compiles_everywhere("people.yml", &dir);
    let (code, _, stderr) = prep(&["fit", "people.yml", "--data", "train.csv"], &dir);
    assert_eq!(code, 0, "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// On the three real data sets the repository ships, the suggestions (one
/// line per column: what prep chose, categories counted) are reviewed as a
/// snapshot; each spec compiles everywhere and fits its data.
#[cfg(feature = "embedded")]
#[test]
fn suggestions_on_real_data() {
    let dir = common::scratch_dir("init-real");
    let mut all = String::new();
    for (name, data) in [
        ("penguins", "examples/penguins/penguins.csv"),
        ("diabetes", "examples/data/diabetes.csv"),
        ("iris", "examples/data/iris.csv"),
    ] {
        let data = common::root().join(data).to_string_lossy().into_owned();
        let (code, _, stderr) = prep(&["init", name, "--data", &data], &dir);
        assert_eq!(code, 0, "{stderr}");
        let file = format!("{name}.yml");
        compiles_everywhere(&file, &dir);
        let (code, _, stderr) = prep(&["fit", &file, "--data", &data], &dir);
        assert_eq!(code, 0, "{stderr}");
        let spec = std::fs::read_to_string(dir.join(&file)).unwrap();
        all.push_str(&format!("== {name}\n{}", summary(&spec)));
    }
    insta::assert_snapshot!(all);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The spec's lines that say what it does, with category lists counted.
#[cfg(feature = "embedded")]
fn summary(spec: &str) -> String {
    let mut out = String::new();
    for line in spec.lines().filter(|l| !l.trim_start().starts_with('#')) {
        let line = match (line.find("categories: ["), line.find("]")) {
            (Some(start), _) => {
                let rest = &line[start + 13..];
                let end = rest.find(']').unwrap();
                let n = rest[..end].split(", ").count();
                format!(
                    "{}categories: [{n} values]{}",
                    &line[..start],
                    &rest[end + 1..]
                )
            }
            _ => line.to_string(),
        };
        if !line.starts_with("source:") && !line.starts_with("features:") {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}
