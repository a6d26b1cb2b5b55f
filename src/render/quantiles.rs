//! Learned quantiles (QuantileTransformer's) as relations: the fit's query
//! computing them from the ranked values as numpy's `nanpercentile` does,
//! the intervals between neighbouring distinct quantiles and the table's
//! ends, and the join (on its bucket and range) that reads a row's interval.

use sqlparser::ast::{BinaryOperator, Expr, Query};

use super::ast::{self, Relation, SelectBuilder};
use super::{ROW, Renderer, print};
use crate::dialect::Func;
use crate::fitted::QuantilePoint;
use crate::ir::{self, QuantileField};

impl Renderer<'_> {
    /// The quantile tables of the fit plan, with their index (which names
    /// their relations).
    pub(super) fn quantile_tables(&self) -> impl Iterator<Item = (usize, &ir::Vocabulary)> {
        (self.ir.fit.vocabularies.iter().enumerate()).filter(|(_, v)| v.quantiles.is_some())
    }

    /// Whether a statistic of the fit reads values of quantile table
    /// `table` (a step after the quantiles learns from them).
    pub(super) fn fit_reads_quantiles(&self, table: &str) -> bool {
        let fit = &self.ir.fit;
        let roots = (fit.params.iter())
            .flat_map(|p| match &p.def {
                ir::ParamDef::Aggregate(a) => a.arguments(),
                ir::ParamDef::Derived(_) => Vec::new(),
            })
            .chain(fit.vocabularies.iter().map(|v| &v.expr));
        let (mut seen, mut lets, mut reads) =
            (std::collections::BTreeSet::new(), Vec::new(), false);
        let mut visit = |e: &ir::Expr, lets: &mut Vec<std::sync::Arc<ir::Let>>| {
            e.for_each(&mut |node| match node {
                ir::Expr::Quantile { table: t, .. } => reads |= t == table,
                ir::Expr::Let(l) if seen.insert(l.id) => lets.push(l.clone()),
                _ => {}
            })
        };
        roots.for_each(|e| visit(e, &mut lets));
        while let Some(l) = lets.pop() {
            visit(&l.expr, &mut lets);
        }
        reads
    }

    pub(super) fn quantile_index(&self, table: &str) -> usize {
        (self.ir.fit.vocabularies.iter())
            .position(|v| v.name == table)
            .unwrap_or_default()
    }

    /// The fit's quantiles of `table`, as rows `(value, frequency)` (the
    /// frequency's place holds the reference): `n_quantiles_ = min(n, rows)`
    /// references `np.linspace(0, 1, n_quantiles_)`, each read as
    /// `np.nanpercentile(x, 100 * reference)`: numpy's virtual index
    /// `(count - 1) * (100 * reference / 100)`, the values at its floor and
    /// the position after (the ranked values, joined by rank), and numpy's
    /// interpolation. No rows where the column has no value. The ranked
    /// rows are a CTE `<cte>_ranked`, pushed to `ctes`.
    pub(super) fn quantile_query(
        &self,
        table: &ir::Vocabulary,
        cte: &str,
        input: Relation,
        x: Expr,
        ctes: &mut print::Ctes,
    ) -> Query {
        let d = self.d;
        let of = |q: &str, name: &str| ast::column(d, Some(q), name);
        // Each value with its rank among the non-missing ones (missing
        // values numbered apart), their count, and the count of every row.
        let ranked = format!("{cte}_ranked");
        let rank = ast::call(d, Func::RowNumber, [("X", x.clone())]);
        let count = ast::over(ast::call(d, Func::Count, [("X", x.clone())]), None, None);
        let rows = ast::over(ast::call(d, Func::CountRows, []), None, None);
        let q = SelectBuilder::default()
            .item(x, Some(self.id("value")))
            .item(self.double(rank), Some(self.id("rank")))
            .item(self.double(count), Some(self.id("n")))
            .item(self.double(rows), Some(self.id("rows")))
            .from(input, Some(self.id(ROW)));
        ctes.push(self.id(&ranked), q.build());
        let n = table.quantiles.unwrap_or(1) as f64;
        let positions = self.percentile_positions(&ranked, n, cte, ctes);
        let at = |alias: &str, position: &str| {
            ast::binary(
                BinaryOperator::And,
                ast::binary(
                    BinaryOperator::Eq,
                    of(alias, "rank"),
                    of("prep_p", position),
                ),
                ast::is_not_null(of(alias, "value")),
            )
        };
        let ranked_table = || Relation::Table(vec![self.id(&ranked)]);
        let value = self.lerp(
            of("prep_a", "value"),
            of("prep_b", "value"),
            of("prep_p", "g"),
        );
        SelectBuilder::default()
            .item(value, Some(self.id("value")))
            .item(of("prep_p", "reference"), Some(self.id("frequency")))
            .from(positions, Some(self.id("prep_p")))
            .left_join(ranked_table(), self.id("prep_a"), at("prep_a", "below"))
            .left_join(ranked_table(), self.id("prep_b"), at("prep_b", "above"))
            .build()
    }

    /// For each of the first `min(n, rows)` rows of `ranked`: its
    /// reference, numpy's two positions (1-based ranks) and the fraction
    /// between them, each step a CTE `<cte>_<step>` (not a subquery:
    /// ClickHouse copies every CTE into each subquery, and its query size
    /// limit counts the copies).
    fn percentile_positions(
        &self,
        ranked: &str,
        n: f64,
        cte: &str,
        ctes: &mut print::Ctes,
    ) -> Relation {
        let d = self.d;
        let col = |name: &str| ast::column(d, None, name);
        let num = |v: f64| ast::double(v, d);
        let mut step = |part: &str, b: SelectBuilder| {
            let name = format!("{cte}_{part}");
            ctes.push(self.id(&name), b.build());
            Relation::Table(vec![self.id(&name)])
        };
        // Positions 0 .. n_quantiles_ - 1: each row numbered once (the
        // missing ones after the values), the first n_quantiles_ kept.
        let missing = ast::case(vec![(ast::is_null(col("value")), col("n"))], num(0.0));
        let i = minus(plus(col("rank"), missing), num(1.0));
        let rows_lt = ast::binary(BinaryOperator::Lt, col("rows"), num(n));
        let kept = ast::binary(
            BinaryOperator::And,
            ast::binary(BinaryOperator::Lt, i.clone(), num(n)),
            ast::binary(BinaryOperator::Gt, col("n"), num(0.0)),
        );
        let positions = SelectBuilder::default()
            .item(i, Some(self.id("i")))
            .item(
                ast::case(vec![(rows_lt, col("rows"))], num(n)),
                Some(self.id("n_q")),
            )
            .item(col("n"), Some(self.id("n")))
            .from(Relation::Table(vec![self.id(ranked)]), None)
            .filter(kept);
        let positions = step("positions", positions);
        // np.linspace(0, 1, n_q): i * (1 / (n_q - 1)), the last exactly 1, and 0 alone.
        let eq = |a, b| ast::binary(BinaryOperator::Eq, a, b);
        let last = minus(col("n_q"), num(1.0));
        let step_size = ast::call(d, Func::SafeDivide, [("A", num(1.0)), ("B", last.clone())]);
        let reference = ast::case(
            vec![
                (eq(col("n_q"), num(1.0)), num(0.0)),
                (eq(col("i"), last), num(1.0)),
            ],
            times(col("i"), step_size),
        );
        let references = SelectBuilder::default()
            .item(reference, Some(self.id("reference")))
            .item(col("n"), Some(self.id("n")))
            .from(positions, None);
        let references = step("references", references);
        // numpy's virtual index into the sorted values, `(n - 1) * (100 * r / 100)`.
        let percent = times(col("reference"), num(100.0));
        let fraction = ast::binary(BinaryOperator::Divide, percent, num(100.0));
        let indexed = SelectBuilder::default()
            .item(col("reference"), Some(self.id("reference")))
            .item(
                times(minus(col("n"), num(1.0)), fraction),
                Some(self.id("position")),
            )
            .from(references, None);
        let indexed = step("indexed", indexed);
        let whole = ast::call(d, Func::Floor, [("X", col("position"))]);
        let ends = SelectBuilder::default()
            .item(col("reference"), Some(self.id("reference")))
            .item(minus(col("position"), whole.clone()), Some(self.id("g")))
            .item(plus(whole.clone(), num(1.0)), Some(self.id("below")))
            .item(plus(whole, num(2.0)), Some(self.id("above")))
            .from(indexed, None);
        step("ends", ends)
    }

    /// The intervals and the ends of quantile table `index`, as CTEs
    /// `prep_quantiles_<index>_intervals` and `_ends`, from `rows`: its
    /// quantiles as `(value, frequency)` rows.
    pub(super) fn quantile_relations(&self, index: usize, rows: Relation, ctes: &mut print::Ctes) {
        let d = self.d;
        let col = |name: &str| ast::column(d, None, name);
        let min = |e| ast::call(d, Func::Min, [("X", e)]);
        let max = |e| ast::call(d, Func::Max, [("X", e)]);
        // Each distinct quantile with its first and last reference.
        let points = SelectBuilder::default()
            .item(col("value"), Some(self.id("value")))
            .item(min(col("frequency")), Some(self.id("first_reference")))
            .item(max(col("frequency")), Some(self.id("last_reference")))
            .from(rows, None)
            .group_by(col("value"))
            .build();
        let name = |part: &str| quantile_cte(index, part);
        ctes.push(self.id(&name("points")), points);
        let following = |e| ast::over(min(e), Some(col("value")), Some((1, 1)));
        // Each distinct quantile's place (from 0) and bucket (`quantile_buckets`).
        let n = self.ir.fit.vocabularies[index].quantiles.unwrap_or(1);
        let (width, buckets) = ir::quantile_buckets(n);
        let num = |v: f64| ast::double(v, d);
        let rank = ast::call(d, Func::RowNumber, [("X", col("value"))]);
        let position = minus(self.double(rank), num(1.0));
        let per_bucket = ast::binary(BinaryOperator::Divide, position.clone(), num(width as f64));
        let bucket = ast::call(d, Func::Floor, [("X", per_bucket)]);
        let intervals = SelectBuilder::default()
            .item(col("value"), Some(self.id("value")))
            .item(col("first_reference"), Some(self.id("first_reference")))
            .item(col("last_reference"), Some(self.id("last_reference")))
            .item(following(col("value")), Some(self.id("next")))
            .item(
                following(col("first_reference")),
                Some(self.id("next_reference")),
            )
            .item(position, Some(self.id("position")))
            .item(bucket, Some(self.id("bucket")))
            .from(Relation::Table(vec![self.id(&name("points"))]), None)
            .build();
        ctes.push(self.id(&name("intervals")), intervals);
        let is_top = ast::is_null(col("next"));
        let mut ends = SelectBuilder::default();
        for k in 1..buckets {
            let here = ast::binary(BinaryOperator::Eq, col("position"), num((k * width) as f64));
            ends = ends.item(
                max(ast::case(vec![(here, col("value"))], ast::null())),
                Some(self.id(&format!("signpost_{k}"))),
            );
        }
        let ends = ends
            .item(min(col("value")), Some(self.id("bottom")))
            .item(max(col("value")), Some(self.id("top")))
            .item(
                max(ast::case(
                    vec![(is_top, col("first_reference"))],
                    ast::null(),
                )),
                Some(self.id("top_first_reference")),
            )
            .item(
                max(col("last_reference")),
                Some(self.id("top_last_reference")),
            )
            .from(Relation::Table(vec![self.id(&name("intervals"))]), None)
            .build();
        ctes.push(self.id(&name("ends")), ends);
    }

    /// Every quantile table's intervals and ends, from the long form of the
    /// fitted parameters in `long`, or (`None`) from the bound values.
    pub(super) fn quantile_sources(&self, long: Option<&Relation>, ctes: &mut print::Ctes) {
        let d = self.d;
        for (index, table) in self.quantile_tables() {
            let rows = match (long, self.bound) {
                (Some(long), _) => SelectBuilder::default()
                    .item(ast::column(d, None, "number"), Some(self.id("value")))
                    .item(
                        ast::column(d, None, "frequency"),
                        Some(self.id("frequency")),
                    )
                    .from(long.clone(), None)
                    .filter(self.long_rows_of("quantile", &table.name))
                    .build()
                    .into(),
                (None, Some(fitted)) => {
                    let points = fitted.quantiles.get(&table.name);
                    self.literal_quantiles(points.map_or(&[], Vec::as_slice))
                }
                (None, None) => continue,
            };
            let name = quantile_cte(index, "rows");
            ctes.push_sql(self.id(&name), rows);
            self.quantile_relations(index, Relation::Table(vec![self.id(&name)]), ctes);
        }
    }

    /// Quantiles written as literal `(value, frequency)` rows (none: a row
    /// that is filtered out, for the columns' types).
    fn literal_quantiles(&self, points: &[QuantilePoint]) -> print::Sql {
        let row = |value: Expr, reference: Expr| {
            SelectBuilder::default()
                .item(value, Some(self.id("value")))
                .item(reference, Some(self.id("frequency")))
        };
        let mut out = print::UnionAll::default();
        for q in points {
            let b = row(
                ast::double(q.value, self.d),
                ast::double(q.reference, self.d),
            );
            out.push(b.build());
        }
        if points.is_empty() {
            let none = self.double(ast::null());
            let never = ast::binary(BinaryOperator::Eq, ast::integer(1), ast::integer(0));
            out.push(row(none.clone(), none).filter(never).build());
        }
        out.into()
    }

    /// `b` reading, for each quantile table read by `exprs` (directly, not
    /// through lets), the interval its value falls in (`LEFT JOIN` on the
    /// value's bucket and range: none below the first quantile or from the
    /// last) where an interval's field is read, and the table's ends where
    /// one of theirs is.
    pub(super) fn join_quantiles(
        &self,
        mut b: SelectBuilder,
        exprs: &[&ir::Expr],
    ) -> SelectBuilder {
        let relation =
            |index: usize, part: &str| Relation::Table(vec![self.id(&quantile_cte(index, part))]);
        for QuantileJoin {
            index,
            interval,
            ends,
        } in self.quantile_joins(exprs)
        {
            let (intervals, ends_alias) = quantile_aliases(index);
            if ends {
                b = b.from(relation(index, "ends"), Some(self.id(&ends_alias)));
            }
            if let Some((x, bucket)) = interval {
                let x = self.expr(&x, super::ParamScope::Row);
                let of = |name: &str| ast::column(self.d, Some(&intervals), name);
                let bucket = self.expr(&bucket, super::ParamScope::Row);
                let range = ast::binary(
                    BinaryOperator::And,
                    ast::binary(BinaryOperator::LtEq, of("value"), x.clone()),
                    ast::binary(BinaryOperator::Lt, x, of("next")),
                );
                let on = ast::binary(
                    BinaryOperator::And,
                    ast::binary(BinaryOperator::Eq, of("bucket"), bucket),
                    range,
                );
                b = b.left_join(relation(index, "intervals"), self.id(&intervals), on);
            }
        }
        b
    }

    /// What `exprs` read of each quantile table, in order of first reading.
    fn quantile_joins(&self, exprs: &[&ir::Expr]) -> Vec<QuantileJoin> {
        let mut joins: Vec<QuantileJoin> = Vec::new();
        for e in exprs {
            e.for_each(&mut |node| {
                let ir::Expr::Quantile {
                    table,
                    field,
                    x,
                    bucket,
                    ..
                } = node
                else {
                    return;
                };
                let index = self.quantile_index(table);
                let at = match joins.iter().position(|j| j.index == index) {
                    Some(at) => at,
                    None => {
                        joins.push(QuantileJoin {
                            index,
                            interval: None,
                            ends: false,
                        });
                        joins.len() - 1
                    }
                };
                match field.of_ends() {
                    true => joins[at].ends = true,
                    false => joins[at].interval = Some(((**x).clone(), (**bucket).clone())),
                }
            });
        }
        joins
    }

    /// A field of the interval or the ends a row's quantile table joined.
    pub(super) fn quantile_field(&self, table: &str, field: QuantileField) -> Expr {
        let (intervals, ends) = quantile_aliases(self.quantile_index(table));
        let (alias, column) = match field {
            QuantileField::Value => (intervals, "value"),
            QuantileField::Next => (intervals, "next"),
            QuantileField::FirstReference => (intervals, "first_reference"),
            QuantileField::LastReference => (intervals, "last_reference"),
            QuantileField::NextReference => (intervals, "next_reference"),
            QuantileField::Bottom => (ends, "bottom"),
            QuantileField::Top => (ends, "top"),
            QuantileField::TopFirstReference => (ends, "top_first_reference"),
            QuantileField::TopLastReference => (ends, "top_last_reference"),
            QuantileField::Signpost(k) => {
                return ast::column(self.d, Some(&ends), &format!("signpost_{k}"));
            }
        };
        ast::column(self.d, Some(&alias), column)
    }
}

/// What a stage reads of quantile table `index`: the interval of a value
/// (the value and its bucket), the ends, or both.
struct QuantileJoin {
    index: usize,
    interval: Option<(ir::Expr, ir::Expr)>,
    ends: bool,
}

/// The name of the CTE holding `part` (rows, points, intervals, ends) of
/// quantile table `index`.
fn quantile_cte(index: usize, part: &str) -> String {
    format!("prep_quantiles_{index}_{part}")
}

/// The aliases a stage reads quantile table `index`'s interval and ends under.
fn quantile_aliases(index: usize) -> (String, String) {
    (format!("prep_qi_{index}"), format!("prep_qe_{index}"))
}

fn plus(a: Expr, b: Expr) -> Expr {
    ast::binary(BinaryOperator::Plus, a, b)
}

fn minus(a: Expr, b: Expr) -> Expr {
    ast::binary(BinaryOperator::Minus, a, b)
}

fn times(a: Expr, b: Expr) -> Expr {
    ast::binary(BinaryOperator::Multiply, a, b)
}
