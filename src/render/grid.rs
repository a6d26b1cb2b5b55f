//! Power transforms' likelihoods on a grid of λ (`ir::Grid`): the rows of a
//! level crossed with the `GRID_POINTS` rows of `prep_grid`, grouped by grid
//! point, in one scan for every grid of the level, of `1 + GRID_REFINEMENTS`
//! passes (a CTE each, `<scan>_pass_<i>`, the next one's λ between the best
//! point's neighbours of the one before). A pass is nested queries, each
//! reading the one before it as `prep_src` and adding columns to it:
//!
//! 1. each row at each grid point `k`: λ, the row's sign and log, and the
//!    centre's;
//! 2. `u = exp(ν·log)`, and the centre's (each read three times by ψ);
//! 3. ψ less the centre's ψ, and sign·log;
//! 4. per grid point: how many rows, the mean of sign·log, var(ψ);
//! 5. the log-likelihood (missing where var(ψ) is below the smallest
//!    normal double, as scipy's is `-inf`, and where ψ is constant by
//!    scikit-learn's test: rounding noise);
//! 6. the best likelihood, on every grid point (a window);
//! 7. the best point: the smallest `k` with it (a window);
//! 8. one row: λ and the likelihood at the best point and its neighbours.

use sqlparser::ast::{BinaryOperator, Expr, Query};

use super::ast::{self, Relation, SelectBuilder};
use super::print;
use super::{ParamScope, ROW, Renderer, Scan};
use crate::dialect::Func;
use crate::ir::build::*;
use crate::ir::{
    self, Agg, Cond, GRID_POINTS, GRID_REFINEMENTS, Grid, GridField, ParamDef, Spacing,
};

/// The grid's points: `k` from 0 to `GRID_POINTS - 1`, from two copies of
/// eight digits (a portable way to write a few rows on every engine).
const GRID: &str = "prep_grid";
const DIGITS: &str = "prep_digits";
const DIGIT_BASE: usize = 8;
const POINT: &str = "prep_point";
/// The pass before, in the next pass.
const BRACKET: &str = "prep_bracket";
const K: &str = "prep_k";

/// The smallest normal double: scipy's likelihood is `-inf` where the
/// variance of the transformed values is below it.
const SMALLEST_NORMAL: f64 = f64::MIN_POSITIVE;

impl Renderer<'_> {
    /// Whether the fit learns a likelihood on a grid.
    pub(super) fn fit_has_grids(&self) -> bool {
        (self.ir.fit.params.iter())
            .any(|p| matches!(p.def, ParamDef::Aggregate(Agg::Likelihood(..))))
    }

    /// The grid's points, as CTEs `prep_digits` and `prep_grid` (column `k`).
    pub(super) fn grid_points(&self, ctes: &mut print::Ctes) {
        let mut digits = print::UnionAll::default();
        for d in 0..DIGIT_BASE {
            let q = SelectBuilder::default().item(ast::integer(d as i64), Some(self.id("d")));
            digits.push(q.build());
        }
        ctes.push_sql(self.id(DIGITS), digits.into());
        let digit = |table: &str| ast::column(self.d, Some(table), "d");
        let k = ast::binary(
            BinaryOperator::Plus,
            digit("prep_low"),
            ast::binary(
                BinaryOperator::Multiply,
                ast::integer(DIGIT_BASE as i64),
                digit("prep_high"),
            ),
        );
        let high_digits = (GRID_POINTS / DIGIT_BASE) as i64;
        let q = SelectBuilder::default()
            .item(k, Some(self.id(K)))
            .from(
                Relation::Table(vec![self.id(DIGITS)]),
                Some(self.id("prep_low")),
            )
            .from(
                Relation::Table(vec![self.id(DIGITS)]),
                Some(self.id("prep_high")),
            )
            .filter(ast::binary(
                BinaryOperator::Lt,
                digit("prep_high"),
                ast::integer(high_digits),
            ));
        ctes.push(self.id(GRID), q.build());
    }

    /// One scan of every grid of `scan` (see the module's comment).
    pub(super) fn grid_query(
        &self,
        scan: &Scan,
        input: &dyn Fn() -> Relation,
        argument: &(dyn Fn(&Renderer, &ir::Expr) -> Expr + Sync),
        (scan_name, ctes): (&str, &mut print::Ctes),
    ) -> Query {
        let fit = &self.ir.fit;
        // Each grid once, in the order its first field comes.
        let mut grids: Vec<&Grid> = Vec::new();
        let mut fields = Vec::new();
        for &id in &scan.params {
            if let ParamDef::Aggregate(Agg::Likelihood(grid, field)) = &fit.params[id].def {
                let j = grids.iter().position(|g| *g == &**grid).unwrap_or_else(|| {
                    grids.push(grid);
                    grids.len() - 1
                });
                fields.push((fit.params[id].name.as_str(), j, *field));
            }
        }
        // The first pass on the grid's ends, each next one between the best
        // point's neighbours of the pass before it (the best point itself
        // at an end): each a pass over the rows, all in this scan, each a
        // CTE (nested in each other, the passes' layers were deeper than
        // Spark's analyser resolves, 100 rounds).
        let mut before: Option<String> = None;
        for i in 0..=GRID_REFINEMENTS {
            let pass = self.grid_pass(&grids, input, argument, before.as_deref());
            let pass_name = format!("{scan_name}_pass_{}", i + 1);
            ctes.push(self.id(&pass_name), pass);
            before = Some(pass_name);
        }
        let mut out = SelectBuilder::default();
        for (param, j, field) in fields {
            let value = ast::column(self.d, Some(ROW), &name(field_column(field), j));
            out = out.item(value, Some(self.id(param)));
        }
        let last = before.unwrap_or_default();
        out.from(Relation::Table(vec![self.id(&last)]), Some(self.id(ROW)))
            .build()
    }

    /// One pass over the rows crossed with the grid (see the module's
    /// comment): one row, the six `GridField`s of each grid. `bracket`:
    /// the CTE of the pass before it, whose best point's neighbours this
    /// pass spans.
    fn grid_pass(
        &self,
        grids: &[&Grid],
        input: &dyn Fn() -> Relation,
        argument: &(dyn Fn(&Renderer, &ir::Expr) -> Expr + Sync),
        bracket: Option<&str>,
    ) -> Query {
        let n = grids.len();
        // 1. Each row at each grid point.
        let mut points =
            SelectBuilder::default().item(ast::column(self.d, Some(POINT), K), Some(self.id(K)));
        for (j, grid) in grids.iter().enumerate() {
            let at = |x: &ir::Expr| argument(self, x);
            let lambda = match bracket {
                None => self.grid_lambda(grid.spacing, at(&grid.lo), at(&grid.hi)),
                Some(_) => self.refined_lambda(j),
            };
            for (value, what) in [
                (lambda, "lambda"),
                (at(&grid.sign), "sign"),
                (at(&grid.log), "log"),
                (at(&grid.centre_sign), "centre_sign"),
                (at(&grid.centre_log), "centre_log"),
            ] {
                points = points.item(value, Some(self.id(&name(what, j))));
            }
        }
        let mut points = points
            .from(input(), Some(self.id(ROW)))
            .from(Relation::Table(vec![self.id(GRID)]), Some(self.id(POINT)));
        if let Some(before) = bracket {
            points = points.from(
                Relation::Table(vec![self.id(before)]),
                Some(self.id(BRACKET)),
            );
        }

        // 2. u = exp(ν·log), ν = λ where the sign is 1, 2 - λ where it is -1.
        let powers = self.grid_layer(n, points.build(), |j| {
            let power = |sign: &str, log: &str| {
                let nu = case(
                    vec![(Cond::Gt(col(sign, j), num(0.0)), col("lambda", j))],
                    sub(num(2.0), col("lambda", j)),
                );
                exp(mul(nu, col(log, j)))
            };
            vec![
                ("u", power("sign", "log")),
                ("centre_u", power("centre_sign", "centre_log")),
            ]
        });

        // 3. ψ = sign·expm1(ν·log)/ν, as Kahan's sign·(u - 1)·log/ln(u) (log
        // itself where u is 1), less the centre's.
        let values = self.grid_layer(n, powers.build(), |j| {
            let psi = |sign: &str, log: &str, u: &str| {
                let (log, u) = (col(log, j), col(u, j));
                let expm1 = case(
                    vec![(Cond::Eq(u.clone(), num(1.0)), log.clone())],
                    div(mul(sub(u.clone(), num(1.0)), log), ln(u)),
                );
                mul(col(sign, j), expm1)
            };
            let centre = psi("centre_sign", "centre_log", "centre_u");
            vec![
                ("signed_log", mul(col("sign", j), col("log", j))),
                ("psi", sub(psi("sign", "log", "u"), centre.clone())),
                ("centre", centre),
            ]
        });
        self.best_points(n, values.build())
    }

    /// Layers 4 to 8 of a pass, on its rows at each grid point `values`.
    fn best_points(&self, n: usize, values: Query) -> Query {
        // 4. Per grid point: λ, n, mean(sign·log), var(ψ).
        let e = |x: &ir::Expr| self.expr(x, ParamScope::Row);
        let mut moments = SelectBuilder::default().item(e(&col_k()), Some(self.id(K)));
        for j in 0..n {
            let (lambda, signed_log, psi) = (col("lambda", j), col("signed_log", j), col("psi", j));
            let centre = col("centre", j);
            for (agg, arg, what) in [
                (Agg::Max(lambda.clone()), &lambda, "lambda"),
                (Agg::Max(centre.clone()), &centre, "centre"),
                (Agg::Count(psi.clone()), &psi, "n"),
                (Agg::Mean(signed_log.clone()), &signed_log, "jacobian"),
                (Agg::VarPop(psi.clone()), &psi, "var"),
            ] {
                moments = moments.item(self.aggregate(&agg, e(arg)), Some(self.id(&name(what, j))));
            }
        }
        let moments = (moments.from(Relation::Query(Box::new(values)), Some(self.id(ROW))))
            .group_by(e(&col_k()));

        // 5. The log-likelihood, n·((λ - 1)·mean(sign·log) - ln(var)/2);
        // missing where scipy's is -inf, and where ψ is constant by
        // scikit-learn's own test (var <= (n·centre·eps)²): there ψ's values
        // differ in their last bits, their variance is rounding, and its
        // likelihood noise that can outscore every real one.
        let scores = self.grid_layer(n, moments.build(), |j| {
            let var = col("var", j);
            let noise = mul(mul(col("n", j), col("centre", j)), num(f64::EPSILON));
            let likelihood = mul(
                col("n", j),
                sub(
                    mul(sub(col("lambda", j), num(1.0)), col("jacobian", j)),
                    mul(num(0.5), ln(var.clone())),
                ),
            );
            let score = case(
                vec![
                    (Cond::Lt(var.clone(), num(SMALLEST_NORMAL)), ir::Expr::Null),
                    (Cond::Le(var, product(noise.clone(), noise)), ir::Expr::Null),
                ],
                likelihood,
            );
            vec![("score", score)]
        });

        // 6 and 7. The best likelihood, then the first point with it.
        let window =
            |f: Func, x: &ir::Expr| ast::over(ast::call(self.d, f, [("X", e(x))]), None, None);
        let mut tops = self.grid_layer(n, scores.build(), |_| vec![]);
        for j in 0..n {
            let top = window(Func::Max, &col("score", j));
            tops = tops.item(top, Some(self.id(&name("top", j))));
        }
        let mut bests = self.grid_layer(n, tops.build(), |_| vec![]);
        for j in 0..n {
            let at_top = Cond::Eq(col("score", j), col("top", j));
            let first = window(Func::Min, &case(vec![(at_top, col_k())], ir::Expr::Null));
            bests = bests.item(first, Some(self.id(&name("best", j))));
        }

        // 8. One row: each grid's fields, read at their grid points.
        let mut out = SelectBuilder::default();
        for j in 0..n {
            for field in GridField::ALL {
                let (offset, score) = field.at();
                let value = col(if score { "score" } else { "lambda" }, j);
                let point = match offset {
                    0 => col("best", j),
                    _ => add(col("best", j), num(offset as f64)),
                };
                let picked = case(vec![(Cond::Eq(col_k(), point), value)], ir::Expr::Null);
                let picked = self.aggregate(&Agg::Max(picked.clone()), e(&picked));
                out = out.item(picked, Some(self.id(&name(field_column(field), j))));
            }
        }
        out.from(Relation::Query(Box::new(bests.build())), Some(self.id(ROW)))
            .build()
    }

    /// A query reading `from` as `prep_src`: its columns, then each grid's
    /// named values.
    fn grid_layer<'a>(
        &self,
        grids: usize,
        from: Query,
        values: impl Fn(usize) -> Vec<(&'a str, ir::Expr)>,
    ) -> SelectBuilder {
        let e = |x: &ir::Expr| self.expr(x, ParamScope::Row);
        let mut b = SelectBuilder::default().wildcard_of(self.id(ROW));
        for j in 0..grids {
            for (what, value) in values(j) {
                b = b.item(e(&value), Some(self.id(&name(what, j))));
            }
        }
        b.from(Relation::Query(Box::new(from)), Some(self.id(ROW)))
    }

    /// Grid `j`'s λ at point `k` of a refining pass: evenly spaced between
    /// the best point's neighbours of the pass before (`prep_bracket`),
    /// the best point itself where it is at an end.
    fn refined_lambda(&self, j: usize) -> Expr {
        let field = |f: GridField| ast::column(self.d, Some(BRACKET), &name(field_column(f), j));
        let or_best = |f: GridField| {
            let best = field(GridField::Lambda);
            ast::call(self.d, Func::Coalesce, [("X", field(f)), ("Y", best)])
        };
        let (lo, hi) = (
            or_best(GridField::LowerLambda),
            or_best(GridField::UpperLambda),
        );
        self.grid_lambda(Spacing::Linear, lo, hi)
    }

    /// Grid point `k`'s λ: `lo + k·(hi - lo)/(GRID_POINTS - 1)`, or the sinh
    /// of that.
    fn grid_lambda(&self, spacing: Spacing, lo: Expr, hi: Expr) -> Expr {
        let k = ast::column(self.d, Some(POINT), K);
        let step = ast::binary(
            BinaryOperator::Divide,
            ast::binary(BinaryOperator::Minus, hi, lo.clone()),
            ast::double((GRID_POINTS - 1) as f64, self.d),
        );
        let t = ast::binary(
            BinaryOperator::Plus,
            lo,
            ast::binary(BinaryOperator::Multiply, k, step),
        );
        match spacing {
            Spacing::Linear => t,
            Spacing::Sinh => {
                let exp = |x: Expr| ast::call(self.d, Func::Exp, [("X", x)]);
                let minus_t =
                    ast::binary(BinaryOperator::Minus, ast::double(0.0, self.d), t.clone());
                ast::binary(
                    BinaryOperator::Multiply,
                    ast::double(0.5, self.d),
                    ast::binary(BinaryOperator::Minus, exp(t), exp(minus_t)),
                )
            }
        }
    }
}

/// Grid `j`'s column `what` (0-based `j`, 1-based in the name).
fn name(what: &str, j: usize) -> String {
    format!("prep_{what}_{}", j + 1)
}

fn col(what: &str, j: usize) -> ir::Expr {
    ir::Expr::Column(name(what, j))
}

fn col_k() -> ir::Expr {
    ir::Expr::Column(K.to_string())
}

/// A field's column in a pass's row.
fn field_column(field: GridField) -> &'static str {
    match field {
        GridField::LowerLambda => "lower_lambda",
        GridField::Lambda => "best_lambda",
        GridField::UpperLambda => "upper_lambda",
        GridField::LowerScore => "lower_score",
        GridField::Score => "best_score",
        GridField::UpperScore => "upper_score",
    }
}
