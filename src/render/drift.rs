//! The drift query: one row per feature and measure (see `drift.rs`),
//! comparing a relation with the statistics a fit learned for drift, read
//! from the fitted parameters in long form (the fit's relation, the dbt
//! params model, or a fitted file pinned as literals):
//!
//! - `prep_params`: the parameters the measures read, pivoted to one row
//!   (checked against the spec's hash, as the apply checks them);
//! - `prep_compared`: one scan of the compared relation: counts, moments,
//!   values below each training bin edge, values out of the training range;
//! - `prep_drift_bins`: both sides' share of values in each bin;
//! - `prep_drift_values`, `prep_drift_shares`, `prep_drift_categories`:
//!   training and compared counts per category, then per feature the
//!   largest difference of shares and the count of unseen values;
//! - the measures, each with its threshold and status (`ok`, `drift`, or
//!   `undefined` where a side has no value to measure).

use std::collections::BTreeSet;

use sqlparser::ast::{BinaryOperator, Expr, Ident};

use super::ast::{self, Relation, SelectBuilder};
use super::{PARAMS, ParamScope, ROW, Renderer, print};
use crate::diagnostic::{Code, Diagnostic};
use crate::dialect::Func;
use crate::fitted::Fitted;
use crate::ir::{self, Agg, Cond};
use crate::ir::{DriftFeature, DriftPlan, Learned};
use crate::spec::drift::Measure;

/// Where the drift query reads the fitted parameters (long form).
pub enum DriftParams<'a> {
    Named(&'a str),
    Placeholder,
    /// A fitted file, written into the query as literal rows.
    Pinned(&'a Fitted),
}

const TRAINING: &str = "prep_training";
const COMPARED: &str = "prep_compared";
const BINS: &str = "prep_drift_bins";
const VALUES: &str = "prep_drift_values";
const SHARES: &str = "prep_drift_shares";
const CATEGORIES: &str = "prep_drift_categories";
const MEASURES: &str = "prep_drift_measures";

/// The output columns, in order.
pub const DRIFT_COLUMNS: [&str; 5] = ["feature", "measure", "value", "threshold", "status"];

impl Renderer<'_> {
    pub fn drift_query(&self, params: DriftParams) -> Result<print::Sql, Diagnostic> {
        // The drift query pivots only the drift statistics, in one row
        // (`name_check` refuses a spec whose drift statistics do not fit).
        if self.chunked.is_some() {
            let mut one_row = self.fork();
            one_row.chunked = None;
            return one_row.drift_query(params);
        }
        let Some(plan) = &self.ir.drift else {
            return Err(Diagnostic::new(
                Code::InvalidValue,
                format!("spec `{}` has no `drift:` section", self.ir.name),
            )
            .at(self.ir.source_span.clone())
            .hint(
                "add `drift: {}` to the spec (bins and thresholds are optional), then fit again",
            ));
        };
        let mut ctes = print::Ctes::default();
        let long = match params {
            DriftParams::Named(name) => Relation::Table(vec![self.id(name)]),
            DriftParams::Placeholder => Relation::Table(vec![Ident::new(&self.params_placeholder)]),
            DriftParams::Pinned(fitted) => {
                ctes.push_sql(self.id(TRAINING), self.pinned_query(fitted));
                Relation::Table(vec![self.id(TRAINING)])
            }
        };
        let mut read: BTreeSet<ir::ParamId> =
            plan.features.iter().flat_map(|f| f.params()).collect();
        read.insert(plan.rows);
        ctes.push(self.id(PARAMS), self.pivot_params(long.clone(), &read));
        ctes.push(self.id(COMPARED), self.compared(plan));
        let numeric = plan
            .features
            .iter()
            .any(|f| matches!(f.learned, Learned::Numeric { .. }));
        if numeric {
            ctes.push(self.id(BINS), self.bin_shares(plan));
        }
        let categorical =
            (plan.features.iter()).any(|f| matches!(f.learned, Learned::Categorical { .. }));
        if categorical {
            ctes.push_sql(self.id(VALUES), self.category_counts(plan, &long));
            ctes.push(self.id(SHARES), self.category_shares());
            ctes.push(self.id(CATEGORIES), self.category_measures(plan));
        }
        ctes.push_sql(self.id(MEASURES), self.measures(plan, numeric, categorical));
        let column = |name: &str| ast::column(self.d, None, name);
        let value = column("value");
        let status = ast::case(
            vec![
                (
                    ast::is_null(value.clone()),
                    ast::string(self.d, "undefined"),
                ),
                (
                    ast::binary(
                        BinaryOperator::Gt,
                        ast::call(self.d, Func::Abs, [("X", value)]),
                        column("threshold"),
                    ),
                    ast::string(self.d, "drift"),
                ),
            ],
            ast::string(self.d, "ok"),
        );
        let mut b = SelectBuilder::default();
        for name in &DRIFT_COLUMNS[..4] {
            b = b.item(column(name), Some(self.id(name)));
        }
        let body = b
            .item(status, Some(self.id("status")))
            .from(Relation::Table(vec![self.id(MEASURES)]), None)
            .build();
        Ok(print::with_ctes(ctes, body))
    }

    /// The name of a column of the drift CTEs: `prep_drift_<feature>_<label>`.
    fn drift_column(&self, index: usize, label: &str) -> String {
        format!("prep_drift_{}_{label}", index + 1)
    }

    fn value(&self, f: &DriftFeature) -> Expr {
        self.expr(&f.value, ParamScope::Row)
    }

    /// One scan of the compared relation (with the parameters row beside it).
    fn compared(&self, plan: &DriftPlan) -> sqlparser::ast::Query {
        let mut b = SelectBuilder::default().item(
            self.aggregate(&Agg::CountRows, ast::null()),
            Some(self.id("prep_rows")),
        );
        for (i, f) in plan.features.iter().enumerate() {
            let v = &f.value;
            let count = self.aggregate(&Agg::Count(v.clone()), self.value(f));
            b = b.item(count, Some(self.id(&self.drift_column(i, "n"))));
            let Learned::Numeric {
                min, max, edges, ..
            } = &f.learned
            else {
                continue;
            };
            b = b
                .item(
                    self.aggregate(&Agg::Mean(v.clone()), self.value(f)),
                    Some(self.id(&self.drift_column(i, "mean"))),
                )
                .item(
                    self.aggregate(&Agg::VarPop(v.clone()), self.value(f)),
                    Some(self.id(&self.drift_column(i, "var"))),
                );
            let counted = |cond: Cond| {
                let e = ir::Expr::Case(
                    vec![(cond, ir::Expr::Number(1.0))],
                    Box::new(ir::Expr::Null),
                );
                self.aggregate(&Agg::Count(e.clone()), self.expr(&e, ParamScope::Row))
            };
            for (k, &edge) in edges.iter().enumerate() {
                let below = counted(Cond::Lt(v.clone(), ir::Expr::Param(edge)));
                b = b.item(
                    below,
                    Some(self.id(&self.drift_column(i, &format!("below{}", k + 1)))),
                );
            }
            let outside = Cond::Or(
                Box::new(Cond::Lt(v.clone(), ir::Expr::Param(*min))),
                Box::new(Cond::Gt(v.clone(), ir::Expr::Param(*max))),
            );
            b = b.item(
                counted(outside),
                Some(self.id(&self.drift_column(i, "outside"))),
            );
        }
        let b = b.from(self.source_relation(), Some(self.id(ROW)));
        self.reading_rows(b, &[PARAMS]).build()
    }

    /// `b` reading each of the one-row CTEs `names`, each under its own name.
    fn reading_rows(&self, mut b: SelectBuilder, names: &[&str]) -> SelectBuilder {
        for name in names {
            b = b.from(Relation::Table(vec![self.id(name)]), Some(self.id(name)));
        }
        b
    }

    fn div(&self, a: Expr, b: Expr) -> Expr {
        ast::call(self.d, Func::SafeDivide, [("A", a), ("B", b)])
    }

    fn sub(a: Expr, b: Expr) -> Expr {
        ast::binary(BinaryOperator::Minus, a, b)
    }

    /// Per numeric feature and bin, the training share `p<k>` and the
    /// compared share `q<k>` of its non-missing values.
    fn bin_shares(&self, plan: &DriftPlan) -> sqlparser::ast::Query {
        let mut b = SelectBuilder::default();
        for (i, f) in plan.features.iter().enumerate() {
            let Learned::Numeric { below, .. } = &f.learned else {
                continue;
            };
            let trained = |k: usize| match k {
                0 => ast::double(0.0, self.d),
                k if k > below.len() => self.param(f.count, ParamScope::Row),
                k => self.param(below[k - 1], ParamScope::Row),
            };
            let compared_column =
                |label: &str| ast::column(self.d, Some(COMPARED), &self.drift_column(i, label));
            let compared = |k: usize| match k {
                0 => ast::double(0.0, self.d),
                k if k > below.len() => compared_column("n"),
                k => compared_column(&format!("below{k}")),
            };
            for k in 1..=below.len() + 1 {
                let p = self.div(
                    Self::sub(trained(k), trained(k - 1)),
                    self.param(f.count, ParamScope::Row),
                );
                let q = self.div(
                    Self::sub(compared(k), compared(k - 1)),
                    compared_column("n"),
                );
                b = b
                    .item(p, Some(self.id(&self.drift_column(i, &format!("p{k}")))))
                    .item(q, Some(self.id(&self.drift_column(i, &format!("q{k}")))));
            }
        }
        self.reading_rows(b, &[PARAMS, COMPARED]).build()
    }

    /// Per text feature (numbered), each training category with its count
    /// and each compared value with its count, one row each.
    fn category_counts(&self, plan: &DriftPlan, long: &Relation) -> print::Sql {
        let column = |name: &str| ast::column(self.d, None, name);
        let mut out = print::UnionAll::default();
        for (i, f) in plan.features.iter().enumerate() {
            let Learned::Categorical { vocabulary } = &f.learned else {
                continue;
            };
            let feature = || ast::integer(i as i64 + 1);
            let trained = self.vocabulary_rows(vocabulary, ast::is_not_null(column("text")));
            out.push(
                SelectBuilder::default()
                    .item(feature(), Some(self.id("feature")))
                    .item(column("text"), Some(self.id("value")))
                    .item(column("frequency"), Some(self.id("trained")))
                    .item(ast::double(0.0, self.d), Some(self.id("compared")))
                    .from(long.clone(), None)
                    .filter(trained)
                    .build(),
            );
            let value = ast::cast(self.value(f), &self.d.string_type);
            out.push(
                SelectBuilder::default()
                    .item(feature(), Some(self.id("feature")))
                    .item(value.clone(), Some(self.id("value")))
                    .item(ast::double(0.0, self.d), Some(self.id("trained")))
                    .item(
                        self.aggregate(&Agg::CountRows, ast::null()),
                        Some(self.id("compared")),
                    )
                    .from(self.source_relation(), Some(self.id(ROW)))
                    .filter(ast::is_not_null(self.value(f)))
                    .group_by(value)
                    .build(),
            );
        }
        out.into()
    }

    /// Each category's training and compared count, side by side.
    fn category_shares(&self) -> sqlparser::ast::Query {
        let column = |name: &str| ast::column(self.d, None, name);
        let sum = |name: &str| ast::call(self.d, Func::Sum, [("X", column(name))]);
        SelectBuilder::default()
            .item(column("feature"), Some(self.id("feature")))
            .item(column("value"), Some(self.id("value")))
            .item(sum("trained"), Some(self.id("trained")))
            .item(sum("compared"), Some(self.id("compared")))
            .from(Relation::Table(vec![self.id(VALUES)]), None)
            .group_by_each(vec![column("feature"), column("value")])
            .build()
    }

    /// Per text feature: the largest difference of shares (`linf`), and how
    /// many compared values are no training category (`unseen`).
    fn category_measures(&self, plan: &DriftPlan) -> sqlparser::ast::Query {
        let d = self.d;
        let shares = |name: &str| ast::column(d, Some(SHARES), name);
        let mut b = SelectBuilder::default();
        for (i, f) in plan.features.iter().enumerate() {
            if !matches!(f.learned, Learned::Categorical { .. }) {
                continue;
            }
            let mine = ast::binary(
                BinaryOperator::Eq,
                shares("feature"),
                ast::integer(i as i64 + 1),
            );
            let compared_n = ast::column(d, Some(COMPARED), &self.drift_column(i, "n"));
            let difference = Self::sub(
                self.div(shares("trained"), self.param(f.count, ParamScope::Row)),
                self.div(shares("compared"), compared_n),
            );
            let largest = ast::call(
                d,
                Func::Max,
                [(
                    "X",
                    ast::case(
                        vec![(mine.clone(), ast::call(d, Func::Abs, [("X", difference)]))],
                        ast::null(),
                    ),
                )],
            );
            let unseen_here = ast::binary(
                BinaryOperator::And,
                mine,
                ast::binary(BinaryOperator::Eq, shares("trained"), ast::double(0.0, d)),
            );
            let unseen = ast::call(
                d,
                Func::Sum,
                [(
                    "X",
                    ast::case(vec![(unseen_here, shares("compared"))], ast::double(0.0, d)),
                )],
            );
            b = b
                .item(largest, Some(self.id(&self.drift_column(i, "linf"))))
                .item(unseen, Some(self.id(&self.drift_column(i, "unseen"))));
        }
        self.reading_rows(b, &[SHARES, PARAMS, COMPARED]).build()
    }

    /// One row per feature and measure: its value and threshold.
    fn measures(&self, plan: &DriftPlan, numeric: bool, categorical: bool) -> print::Sql {
        let mut rows = vec![PARAMS, COMPARED];
        rows.extend(numeric.then_some(BINS));
        rows.extend(categorical.then_some(CATEGORIES));
        let mut out = print::UnionAll::default();
        for (i, f) in plan.features.iter().enumerate() {
            for &m in f.measures() {
                let b = SelectBuilder::default()
                    .item(ast::string(self.d, &f.feature), Some(self.id("feature")))
                    .item(ast::string(self.d, m.name()), Some(self.id("measure")))
                    .item(self.measure(plan, i, f, m), Some(self.id("value")))
                    .item(
                        ast::double(plan.drift.threshold(m), self.d),
                        Some(self.id("threshold")),
                    );
                out.push(self.reading_rows(b, &rows).build());
            }
        }
        out.into()
    }

    fn measure(&self, plan: &DriftPlan, i: usize, f: &DriftFeature, m: Measure) -> Expr {
        let d = self.d;
        let at = |cte: &str, label: &str| ast::column(d, Some(cte), &self.drift_column(i, label));
        let param = |p| self.param(p, ParamScope::Row);
        let sd = |var: Expr| self.sqrt(var);
        let missing = |rows: Expr, n: Expr| self.div(Self::sub(rows.clone(), n), rows);
        match (m, &f.learned) {
            (Measure::MissingShare, _) => Self::sub(
                missing(
                    ast::column(d, Some(COMPARED), "prep_rows"),
                    at(COMPARED, "n"),
                ),
                missing(param(plan.rows), param(f.count)),
            ),
            (Measure::JsDivergence, Learned::Numeric { edges, .. }) => self.js_divergence(
                edges.len() + 1,
                |k| at(BINS, &format!("p{k}")),
                |k| at(BINS, &format!("q{k}")),
            ),
            (Measure::MeanShift, Learned::Numeric { mean, var, .. }) => self.div(
                Self::sub(at(COMPARED, "mean"), param(*mean)),
                sd(param(*var)),
            ),
            (Measure::StdShift, Learned::Numeric { var, .. }) => Self::sub(
                self.div(sd(at(COMPARED, "var")), sd(param(*var))),
                ast::double(1.0, d),
            ),
            (Measure::OutOfRange, Learned::Numeric { .. }) => {
                self.div(at(COMPARED, "outside"), at(COMPARED, "n"))
            }
            (Measure::LInfinity, Learned::Categorical { .. }) => at(CATEGORIES, "linf"),
            (Measure::Unseen, Learned::Categorical { .. }) => {
                self.div(at(CATEGORIES, "unseen"), at(COMPARED, "n"))
            }
            // A measure of the other kind of feature: `DriftFeature::measures` never asks.
            _ => ast::null(),
        }
    }

    /// Jensen–Shannon divergence in bits of the shares `p(k)` and `q(k)`,
    /// k = 1..=bins: the sum of p·log2(2p/(p+q)) and q·log2(2q/(p+q)) over
    /// the bins, halved (a zero share adds nothing; a NULL share, no value
    /// to measure, makes it NULL).
    fn js_divergence(
        &self,
        bins: usize,
        p: impl Fn(usize) -> Expr,
        q: impl Fn(usize) -> Expr,
    ) -> Expr {
        let d = self.d;
        let zero = || ast::double(0.0, d);
        let term = |a: Expr, b: Expr| {
            let ratio = ast::binary(
                BinaryOperator::Divide,
                ast::binary(BinaryOperator::Multiply, ast::double(2.0, d), a.clone()),
                ast::binary(BinaryOperator::Plus, a.clone(), b),
            );
            let weighted = ast::binary(
                BinaryOperator::Multiply,
                a.clone(),
                ast::call(d, Func::Ln, [("X", ratio)]),
            );
            ast::case(
                vec![
                    (ast::binary(BinaryOperator::Gt, a.clone(), zero()), weighted),
                    (ast::binary(BinaryOperator::Eq, a, zero()), zero()),
                ],
                ast::null(),
            )
        };
        let sum = (1..=bins)
            .flat_map(|k| [term(p(k), q(k)), term(q(k), p(k))])
            .reduce(|a, b| ast::binary(BinaryOperator::Plus, a, b))
            .unwrap_or_else(zero);
        ast::binary(
            BinaryOperator::Divide,
            sum,
            ast::double(2.0 * std::f64::consts::LN_2, d),
        )
    }
}
