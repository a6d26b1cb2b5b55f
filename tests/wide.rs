//! Wide specs: a fit with more parameters than the dialect's row holds
//! (PostgreSQL: 1,664 columns in a query's row) is held in chunks, so no
//! SELECT prep writes is wider than the engine allows, in any form. Values
//! are checked on the engines in tests/python/test_wide.py.

mod common;

use std::ops::ControlFlow;

use prep::dialect::DialectName;
use prep::emit::{self, EmitForm};
use sqlparser::ast::{SetExpr, Visit, Visitor};

/// Every step kind whose statistics a scan computes: moments, percentiles,
/// the most frequent value; and a learned vocabulary.
fn wide_spec(n: usize) -> String {
    let steps = [
        "[{impute: mean}, {scale: standard}]",
        "[{impute: median}, {scale: robust}]",
        "[{scale: min_max}]",
        "[{impute: most_frequent}, {scale: max_abs}]",
    ];
    let features: String = (0..n)
        .map(|i| format!("  x{i}: {}\n", steps[i % steps.len()]))
        .collect();
    format!(
        "name: w\nsource: {{table: t}}\nkeys: [id]\nfeatures:\n{features}  shop: [{{one_hot: {{categories: [a, b]}}}}]\n"
    )
}

/// Whether `sql` names a chunk, `prep_params_<level>_<k>`.
fn names_a_chunk(sql: &str) -> bool {
    sql.split("prep_params_").skip(1).any(|rest| {
        let mut parts = rest.splitn(3, '_');
        let digits =
            |p: Option<&str>| p.is_some_and(|p| p.starts_with(|c: char| c.is_ascii_digit()));
        let level = parts.next();
        level.is_some_and(|l| l.chars().all(|c| c.is_ascii_digit())) && digits(parts.next())
    })
}

/// The widest SELECT list of a statement (a wildcard counts as one item).
fn widest(statement: &sqlparser::ast::Statement) -> usize {
    struct Widest(usize);
    impl Visitor for Widest {
        type Break = ();
        fn pre_visit_query(&mut self, q: &sqlparser::ast::Query) -> ControlFlow<()> {
            if let SetExpr::Select(s) = q.body.as_ref() {
                self.0 = self.0.max(s.projection.len());
            }
            ControlFlow::Continue(())
        }
    }
    let mut w = Widest(0);
    let _ = statement.visit(&mut w);
    w.0
}

#[test]
fn a_fit_wider_than_the_row_is_held_in_chunks_in_every_form() {
    let text = wide_spec(400);
    let ir = prep::compile_ir(&text, "w.yml").unwrap();
    assert!(
        ir.fit.params.len() > 1664,
        "the fit is wider than PostgreSQL's row"
    );
    for name in [
        DialectName::Postgres,
        DialectName::Redshift,
        DialectName::Duckdb,
    ] {
        let d = name.get();
        prep::check_names(&ir, d, "w.yml").unwrap();
        let limit = d.max_select_columns.unwrap_or(usize::MAX);
        for (form, inline) in [
            (EmitForm::Sql, false),
            (EmitForm::Sql, true),
            (EmitForm::FitSql, false),
            (EmitForm::DbtModel, false),
        ] {
            for a in emit::emit(&ir, d, form, inline, "w.yml", None).unwrap() {
                let statement = common::parse_back(d, form, &a);
                let widest = widest(&statement);
                assert!(
                    widest <= limit,
                    "{}: a SELECT of {widest} items",
                    a.file_name
                );
                // Chunked exactly where the dialect's row is narrower than the
                // fit, or plans it slowly (DuckDB, past 1,000 statistics).
                let chunked = names_a_chunk(&a.contents);
                let width = prep::plan::chunk_width(&ir, d);
                assert_eq!(chunked, width.is_some(), "{}", a.file_name);
                assert_eq!(width.is_some(), name != DialectName::Databricks);
            }
        }
    }
}

/// `explain` counts the scans the chunked fit runs: one per chunk of at
/// most the row's width, where one row would not hold them.
#[test]
fn explain_counts_the_chunked_scans() {
    let ir = prep::compile_ir(&wide_spec(1000), "w.yml").unwrap();
    let scans = |d: DialectName| prep::plan::scans(&ir, d.get());
    let aggregates = |d: DialectName| {
        let scans = scans(d);
        assert!(
            scans
                .iter()
                .all(|s| s.params.len() < d.get().max_select_columns.unwrap_or(usize::MAX))
        );
        (scans.iter())
            .filter(|s| s.level == 0 && s.what == "aggregates")
            .count()
    };
    assert_eq!(aggregates(DialectName::Databricks), 1);
    assert!(aggregates(DialectName::Postgres) > 1);
    assert!(aggregates(DialectName::Duckdb) > 1);
}
