//! The step registry (`steps/mod.rs`) is the one list of steps: the README's
//! step table and the Python reference follow it.

mod common;

#[test]
fn readme_step_table_lists_every_registered_step() {
    let readme = std::fs::read_to_string(common::root().join("README.md")).unwrap();
    let rows: Vec<&str> = readme
        .lines()
        .skip_while(|l| !l.starts_with("| step | scikit-learn |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .collect();
    assert_eq!(rows.len(), prep::steps::STEPS.len(), "{rows:#?}");
    for ((spec, sklearn), row) in prep::steps::STEPS.iter().zip(&rows) {
        let head = spec.split(':').next().unwrap();
        assert!(
            row.starts_with(&format!("| `{head}"))
                && row.contains(spec.split(": ").last().unwrap()),
            "README row for `{spec}` is out of order or missing: {row}"
        );
        assert!(row.contains(&format!("| `{sklearn}` |")), "{row}");
    }
}

#[test]
fn python_reference_covers_every_registered_step() {
    let reference =
        std::fs::read_to_string(common::root().join("tests/python/reference.py")).unwrap();
    for (spec, sklearn) in prep::steps::STEPS {
        assert!(
            reference.contains(sklearn),
            "tests/python/reference.py has no {sklearn} for `{spec}`"
        );
    }
}
