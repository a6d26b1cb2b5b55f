//! Exact percentiles where the engine has none (`percentiles: ranked`,
//! Trino): each column's values numbered in order, and numpy's `linear`
//! percentile read from them as numpy reads it: the virtual index
//! `(n - 1)·p`, the values at its floor and the position after it (the last
//! value past the end), and numpy's interpolation between the two
//! (`a + (b - a)·g` below g = 0.5, `b - (b - a)·(1 - g)` from it).
//!
//! Three nested queries, one scan of the rows: the rows with each column's
//! rank and count (window functions), the two values and the index's
//! fractional part per percentile (aggregates), and the interpolation.

use std::collections::BTreeMap;

use sqlparser::ast::{BinaryOperator, Expr, Query};

use super::ast::{self, Relation, SelectBuilder};
use super::{ROW, Renderer, Scan};
use crate::dialect::Func;
use crate::ir::{self, Agg, ParamDef};

impl Renderer<'_> {
    pub(super) fn ranked_query(
        &self,
        scan: &Scan,
        input: &dyn Fn() -> Relation,
        argument: &(dyn Fn(&Renderer, &ir::Expr) -> Expr + Sync),
    ) -> Query {
        let fit = &self.ir.fit;
        // Each column once: its value, its rank among the non-missing
        // values, and how many there are.
        let mut columns: BTreeMap<String, usize> = BTreeMap::new();
        let mut ranked = SelectBuilder::default();
        let mut ends = SelectBuilder::default();
        let mut lerp = SelectBuilder::default();
        for &id in &scan.params {
            let ParamDef::Aggregate(Agg::Percentile(e, p)) = &fit.params[id].def else {
                continue;
            };
            let j = match columns.get(&e.to_string()) {
                Some(&j) => j,
                None => {
                    let j = columns.len() + 1;
                    columns.insert(e.to_string(), j);
                    ranked = self.ranked_column(ranked, argument(self, e), j);
                    j
                }
            };
            let name = &fit.params[id].name;
            let (a, b, g) = (
                format!("{name}__a"),
                format!("{name}__b"),
                format!("{name}__g"),
            );
            for (value, label) in self.ends(j, *p).into_iter().zip([&a, &b, &g]) {
                ends = ends.item(value, Some(self.id(label)));
            }
            let col = |name: &str| ast::column(self.d, None, name);
            lerp = lerp.item(self.lerp(col(&a), col(&b), col(&g)), Some(self.id(name)));
        }
        let ranked = ranked.from(input(), Some(self.id(ROW))).build();
        let ends = ends
            .from(
                Relation::Query(Box::new(ranked)),
                Some(self.id("prep_ranked")),
            )
            .build();
        lerp.from(Relation::Query(Box::new(ends)), Some(self.id("prep_ends")))
            .build()
    }

    /// Column `j`'s value `x`, its 1-based rank among the non-missing values
    /// (`prep_r<j>`) and their count on every row (`prep_n<j>`).
    fn ranked_column(&self, b: SelectBuilder, x: Expr, j: usize) -> SelectBuilder {
        let rank = ast::call(self.d, Func::RowNumber, [("X", x.clone())]);
        let count = ast::over(
            ast::call(self.d, Func::Count, [("X", x.clone())]),
            None,
            None,
        );
        b.item(x, Some(self.id(&format!("prep_x{j}"))))
            .item(rank, Some(self.id(&format!("prep_r{j}"))))
            .item(self.double(count), Some(self.id(&format!("prep_n{j}"))))
    }

    /// The values at numpy's two positions for percentile `p` of column `j`
    /// (the floor of the virtual index `(n - 1)·p`, and the next one: none
    /// past the last), and the index's fractional part.
    fn ends(&self, j: usize, p: f64) -> [Expr; 3] {
        let col = |name: String| ast::column(self.d, None, &name);
        let (x, r, n) = (
            col(format!("prep_x{j}")),
            col(format!("prep_r{j}")),
            col(format!("prep_n{j}")),
        );
        let double = |v: f64| ast::double(v, self.d);
        let index = |n: Expr| {
            let n_1 = ast::binary(BinaryOperator::Minus, n, double(1.0));
            ast::binary(BinaryOperator::Multiply, n_1, double(p))
        };
        let floor = |e: Expr| ast::call(self.d, Func::Floor, [("X", e)]);
        let plus_one = |e: Expr| ast::binary(BinaryOperator::Plus, e, double(1.0));
        // The next position is past the end only at the last value (p = 1),
        // where numpy reads the last value twice: b is then a (`lerp`).
        let below = plus_one(floor(index(n.clone())));
        let above = plus_one(below.clone());
        let at = |position: Expr| {
            let here = ast::binary(
                BinaryOperator::And,
                ast::is_not_null(x.clone()),
                ast::binary(BinaryOperator::Eq, r.clone(), position),
            );
            let picked = ast::case(vec![(here, x.clone())], ast::null());
            ast::call(self.d, Func::Max, [("X", picked)])
        };
        // The count is the same on every row: its MAX is it.
        let index = index(ast::call(self.d, Func::Max, [("X", n.clone())]));
        let fraction = ast::binary(BinaryOperator::Minus, index.clone(), floor(index));
        [at(below), at(above), fraction]
    }

    /// numpy's `_lerp(a, b, g)` (b missing past the last value: a again): `a + (b - a)·g` below g = 0.5, `b - (b - a)·(1 - g)` from it.
    pub(super) fn lerp(&self, a: Expr, b: Expr, g: Expr) -> Expr {
        let double = |v: f64| ast::double(v, self.d);
        let b = ast::call(self.d, Func::Coalesce, [("X", b), ("Y", a.clone())]);
        let diff = ast::binary(BinaryOperator::Minus, b.clone(), a.clone());
        let times = |e: Expr| ast::binary(BinaryOperator::Multiply, diff.clone(), e);
        ast::case(
            vec![(
                ast::binary(BinaryOperator::Lt, g.clone(), double(0.5)),
                ast::binary(BinaryOperator::Plus, a, times(g.clone())),
            )],
            ast::binary(
                BinaryOperator::Minus,
                b,
                times(ast::binary(BinaryOperator::Minus, double(1.0), g)),
            ),
        )
    }
}
