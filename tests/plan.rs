//! The planner: how many scans of the source a fit costs, per dialect.

mod common;

use prep::dialect::DialectName;

fn scans(spec: &str, d: DialectName) -> usize {
    let text = std::fs::read_to_string(common::root().join(spec)).unwrap();
    let ir = prep::compile_ir(&text, spec).unwrap();
    prep::plan::scans(&ir, d.get()).len()
}

/// All moments of all columns in one scan; the variances of all columns in
/// a second (a pass over the values minus their mean, as numpy computes it).
#[test]
fn imputed_and_scaled_groups_cost_two_scans_everywhere() {
    for d in DialectName::ALL {
        assert_eq!(scans("tests/specs/groups_wide.yml", d), 2, "{d}");
    }
}

#[test]
fn percentiles_add_scans_only_where_the_dialect_forces_it() {
    use DialectName::*;
    // The medians share the moments' scan where the dialect allows; the
    // variances are a second scan everywhere. Redshift's PERCENTILE_CONT
    // takes a scan of its own per column (two here), BigQuery's one for all.
    for (d, expected) in [
        (Duckdb, 2),
        (Postgres, 2),
        (Snowflake, 2),
        (Databricks, 2),
        (Bigquery, 3),
        (Redshift, 4),
    ] {
        assert_eq!(scans("tests/specs/groups_median.yml", d), expected, "{d}");
    }
}

#[test]
fn percentiles_after_imputation_need_a_second_level() {
    let text = std::fs::read_to_string(common::root().join("tests/specs/robust_after_impute.yml"))
        .unwrap();
    let ir = prep::compile_ir(&text, "robust_after_impute.yml").unwrap();
    assert_eq!(ir.fit.levels(), 2);
    // Level 0: the medians and means used as fill values and the plain
    // columns' percentiles; level 1: percentiles of the filled columns.
    assert_eq!(
        scans("tests/specs/robust_after_impute.yml", DialectName::Duckdb),
        2
    );
    assert_eq!(
        scans("tests/specs/robust_after_impute.yml", DialectName::Redshift),
        // A scan per column whose percentiles Redshift reads (one ordering
        // per query): the median's, tip's and discount's, then amount's and
        // fee's, and the means' scan.
        6
    );
}

/// Each imputation then a standard scaler.
const CHAINS: &str = "name: chains
source: {ref: activity}
keys: [user_id]
features:
  daily_minutes: [{impute: median}, {scale: standard}]
  sessions: [{impute: mean}, {scale: standard}]
  spend: [{impute: {strategy: constant, fill_value: 0}}, {scale: standard}]
";

#[test]
fn moments_after_imputation_are_derived_not_rescanned() {
    // Impute then standard-scale: the scaler's mean and variance come from the
    // raw column's moments and the fill value; no stage of imputed values
    // (level 1 is the raw variance's second pass).
    let ir = prep::compile_ir(CHAINS, "chains.yml").unwrap();
    assert_eq!(ir.fit.levels(), 2);
    for p in &ir.fit.params {
        if let prep::ir::ParamDef::Aggregate(a) = &p.def {
            let arg = a.argument().map(|e| e.to_string()).unwrap_or_default();
            assert!(!arg.contains("coalesce"), "{}: {arg}", p.name);
        }
    }
    let names: Vec<&str> = ir.fit.params.iter().map(|p| p.name.as_str()).collect();
    for expected in [
        "daily_minutes__s2_mean",
        "daily_minutes__s2_var",
        "daily_minutes__s2_scale",
        "sessions__s2_scale",
        "spend__s2_var",
    ] {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }
}

#[test]
fn identical_aggregates_are_learned_once() {
    // mean imputation and the standard scaler both need the column's mean.
    let ir = prep::compile_ir(CHAINS, "chains.yml").unwrap();
    let means = ir
        .fit
        .params
        .iter()
        .filter(|p| p.name == "sessions__mean")
        .count();
    assert_eq!(means, 1);
    let mut names: Vec<&str> = ir.fit.params.iter().map(|p| p.name.as_str()).collect();
    names.sort();
    let before = names.len();
    names.dedup();
    assert_eq!(before, names.len(), "parameter names are unique");
}

#[test]
fn learned_vocabularies_share_one_grouping_sets_scan() {
    use DialectName::*;
    // Three learned vocabularies, one median, one variance: one aggregate
    // scan, one GROUPING SETS scan and the variance's pass, except where the
    // dialect forces more.
    for (d, expected) in [
        (Duckdb, 3),
        (Postgres, 3),
        (Snowflake, 3),
        (Databricks, 3),
        (Bigquery, 4),
        (Redshift, 6),
    ] {
        assert_eq!(scans("tests/fitted/learned.yml", d), expected, "{d}");
    }
}
