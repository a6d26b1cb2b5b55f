//! The fit's result in long form: one row per parameter and one per learned
//! category, `(parameter, kind, number, text, frequency)`, read from the
//! fitted row in one operator where the dialect has one (see `UnpivotStyle`).

use sqlparser::ast::{BinaryOperator, Expr, Ident};

use super::ast::{self, Relation, SelectBuilder};
use super::{FITTED_AT, Renderer, print};
use crate::dialect::UnpivotStyle;
use crate::fitted::{Fitted, Value};
use crate::ir::{self, Param};
use crate::spec::ColumnType;

/// The long form's lateral rows.
const LONG: &str = "prep_long";

/// The relation of `arrayJoin`'s rows.
const UNPIVOTED: &str = "prep_unpivoted";

impl Renderer<'_> {
    /// The long form's rows of learned vocabulary `vocabulary` (its
    /// categories with their counts) that also satisfy `and_also`.
    pub(super) fn vocabulary_rows(&self, vocabulary: &str, and_also: Expr) -> Expr {
        let is = self.long_rows_of("category", vocabulary);
        ast::binary(BinaryOperator::And, is, and_also)
    }

    /// The long form's rows of `kind` under name `parameter`.
    pub(super) fn long_rows_of(&self, kind: &str, parameter: &str) -> Expr {
        let d = self.d;
        let eq = |a, b| ast::binary(BinaryOperator::Eq, a, b);
        ast::binary(
            BinaryOperator::And,
            eq(ast::column(d, None, "kind"), ast::string(d, kind)),
            eq(ast::column(d, None, "parameter"), ast::string(d, parameter)),
        )
    }

    /// The long form's five columns, from a relation holding `parameter`,
    /// `number` and `text` (given as expressions).
    fn long_row(
        &self,
        parameter: Expr,
        kind: &str,
        values: [Expr; 3],
        from: &str,
    ) -> SelectBuilder {
        (self.long_columns(parameter, kind, values))
            .from(Relation::Table(vec![self.id(from)]), None)
    }

    fn long_columns(&self, parameter: Expr, kind: &str, values: [Expr; 3]) -> SelectBuilder {
        let [number, text, frequency] = values;
        SelectBuilder::default()
            .item(parameter, Some(self.id("parameter")))
            .item(ast::string(self.d, kind), Some(self.id("kind")))
            .item(number, Some(self.id("number")))
            .item(text, Some(self.id("text")))
            .item(frequency, Some(self.id("frequency")))
    }

    /// The long form of one fit, as literal rows: a parameters relation pinned
    /// to `fitted` (the dbt package's params model with `--params`). Every
    /// stored parameter, the time of fitting if known, and every category with
    /// its count, as the fit query would give them.
    pub fn pinned_query(&self, fitted: &Fitted) -> print::Sql {
        let mut out = print::UnionAll::default();
        let mut value_row = |name: &str, value: Option<&Value>, t: ColumnType| {
            let (number, text) = self.in_typed_column(self.literal(value, t), t);
            let parameter = ast::string(self.d, name);
            let row = self.long_columns(parameter, "value", [number, text, self.null_number()]);
            out.push(row.build());
        };
        for p in Param::stored(&self.ir.fit.params) {
            value_row(&p.name, fitted.parameters.get(&p.name), p.value_type);
        }
        if let Some(at) = &fitted.fitted_at {
            value_row(
                FITTED_AT,
                Some(&Value::Text(at.clone())),
                ColumnType::String,
            );
        }
        for v in &self.ir.fit.vocabularies {
            if v.quantiles.is_some() {
                for q in fitted.quantiles.get(&v.name).into_iter().flatten() {
                    out.push(self.quantile_row(&v.name, q).build());
                }
                continue;
            }
            for c in fitted.vocabularies.get(&v.name).into_iter().flatten() {
                // The missing value is a category with both columns NULL.
                let value = self.literal(Some(&c.value), v.value_type);
                let (number, text) = self.in_typed_column(value, v.value_type);
                let frequency = ast::double(c.frequency, self.d);
                let parameter = ast::string(self.d, &v.name);
                out.push(
                    self.long_columns(parameter, "category", [number, text, frequency])
                        .build(),
                );
            }
        }
        out.into()
    }

    /// A learned quantile as a long-form row: the number, its reference in
    /// the frequency's place.
    pub(super) fn quantile_row(
        &self,
        table: &str,
        q: &crate::fitted::QuantilePoint,
    ) -> SelectBuilder {
        let values = [
            ast::double(q.value, self.d),
            self.null_text(),
            ast::double(q.reference, self.d),
        ];
        self.long_columns(ast::string(self.d, table), "quantile", values)
    }

    fn null_text(&self) -> Expr {
        ast::cast(ast::null(), &self.d.string_type)
    }

    fn null_number(&self) -> Expr {
        self.double(ast::null())
    }

    /// (number, text) holding `column` by its type (a text column cast to
    /// the dialect's string type).
    fn typed_column(&self, column: Expr, t: ColumnType) -> (Expr, Expr) {
        let value = match t {
            ColumnType::Numeric => column,
            ColumnType::String => ast::cast(column, &self.d.string_type),
        };
        self.in_typed_column(value, t)
    }

    /// (number, text) with `value` in the column of its type, NULL in the other.
    fn in_typed_column(&self, value: Expr, t: ColumnType) -> (Expr, Expr) {
        match t {
            ColumnType::Numeric => (value, self.null_text()),
            ColumnType::String => (self.null_number(), value),
        }
    }

    /// One row per parameter: the one-row relation `fitted` in long form,
    /// read once where the dialect can (see `UnpivotStyle`).
    pub(super) fn parameter_rows(
        &self,
        fitted: &str,
        params: &[(&str, ColumnType)],
        out: &mut print::UnionAll,
    ) {
        let column = |name: &str| ast::column(self.d, None, name);
        let long_columns = || ["parameter", "number", "text"].map(|c| self.id(c)).to_vec();
        let read_long = || {
            self.long_row(
                column("parameter"),
                "value",
                [column("number"), column("text"), self.null_number()],
                fitted,
            )
            .build()
        };
        let listed = || {
            params.iter().map(|&(name, t)| {
                let (number, text) = self.typed_column(column(name), t);
                vec![ast::string(self.d, name), number, text]
            })
        };
        match self.d.unpivot {
            UnpivotStyle::UnionAll => {
                let branches = self.fan_out(params, |r, &(name, t)| {
                    let (number, text) = r.typed_column(ast::column(r.d, None, name), t);
                    let values = [number, text, r.null_number()];
                    let row = r.long_row(ast::string(r.d, name), "value", values, fitted);
                    print::branch(&row.build())
                });
                out.extend(branches);
            }
            UnpivotStyle::LateralValues => out.push(ast::lateral_values(
                read_long(),
                listed(),
                self.id(LONG),
                long_columns(),
            )),
            UnpivotStyle::CrossApply => out.push(ast::cross_apply(ast::lateral_values(
                read_long(),
                listed(),
                self.id(LONG),
                long_columns(),
            ))),
            UnpivotStyle::Stack => out.push(ast::lateral_stack(
                read_long(),
                listed(),
                self.id(LONG),
                long_columns(),
            )),
            UnpivotStyle::Unpivot => self.unpivoted(fitted, params, out),
            UnpivotStyle::ArrayJoin => {
                let rows = ast::array_join(
                    listed(),
                    self.id(LONG),
                    Relation::Table(vec![self.id(fitted)]),
                );
                let part = |i| ast::tuple_element(self.id(LONG), i);
                let values = [part(2), part(3), self.null_number()];
                let row = self.long_columns(part(1), "value", values);
                out.push(
                    row.from(Relation::Query(Box::new(rows)), Some(self.id(UNPIVOTED)))
                        .build(),
                );
            }
        }
    }

    /// Numbers and texts in two UNPIVOTs of `fitted`: each holds one type.
    fn unpivoted(&self, fitted: &str, params: &[(&str, ColumnType)], out: &mut print::UnionAll) {
        let column = |name: &str| ast::column(self.d, None, name);
        for t in [ColumnType::Numeric, ColumnType::String] {
            let names: Vec<Ident> = (params.iter())
                .filter(|p| p.1 == t)
                .map(|p| self.id(p.0))
                .collect();
            if names.is_empty() {
                continue;
            }
            let (value, number, text) = match t {
                ColumnType::Numeric => ("number", column("number"), self.null_text()),
                ColumnType::String => ("text", self.null_number(), column("text")),
            };
            let q = (self.long_row(
                column("parameter"),
                "value",
                [number, text, self.null_number()],
                fitted,
            ))
            .build();
            out.push(ast::unpivot(q, self.id(value), self.id("parameter"), names));
        }
    }

    /// One row per learned category, one branch per vocabulary scan: with
    /// grouping sets, the set a row belongs to says which vocabulary it is.
    pub(super) fn category_rows(&self, vocabularies: &[LearnedIn<'_>], out: &mut print::UnionAll) {
        let mut by_scan: Vec<(&str, Vec<&LearnedIn<'_>>)> = Vec::new();
        for learned in vocabularies {
            match by_scan.last_mut() {
                Some((cte, members)) if *cte == learned.cte => members.push(learned),
                _ => by_scan.push((&learned.cte, vec![learned])),
            }
        }
        let column = |name: &str| ast::column(self.d, None, name);
        for (cte, members) in by_scan {
            // (parameter, number, text) of each member, and the condition for its rows.
            let arms: Vec<(Option<Expr>, [Expr; 3])> = (members.iter())
                .map(|learned| {
                    let value = column(&learned.value_column);
                    let (number, text) = self.typed_column(value, learned.vocabulary.value_type);
                    let parameter = ast::string(self.d, &learned.vocabulary.name);
                    // GROUPING(x) = 0: the rows grouped by this vocabulary's expression.
                    let is_it = learned
                        .set_column
                        .as_ref()
                        .map(|set| ast::binary(BinaryOperator::Eq, column(set), ast::integer(0)));
                    (is_it, [parameter, number, text])
                })
                .collect();
            let pick = |i: usize| match arms.as_slice() {
                [(_, values)] => values[i].clone(),
                _ => ast::case(
                    (arms.iter())
                        .filter_map(|(is_it, values)| Some((is_it.clone()?, values[i].clone())))
                        .collect(),
                    ast::null(),
                ),
            };
            let frequency = column("frequency");
            out.push(
                (self.long_row(pick(0), "category", [pick(1), pick(2), frequency], cte)).build(),
            );
        }
    }
}

impl Renderer<'_> {
    /// Every learned quantile, one long-form branch for them all (read from
    /// a CTE gathering each table's): ClickHouse copies the CTEs into each
    /// branch of the long form, so a branch per table would grow the query
    /// with the square of their number.
    pub(super) fn quantile_rows(
        &self,
        tables: &[LearnedIn<'_>],
        ctes: &mut print::Ctes,
        out: &mut print::UnionAll,
    ) {
        if tables.is_empty() {
            return;
        }
        let column = |name: &str| ast::column(self.d, None, name);
        let mut gathered = print::UnionAll::default();
        for t in tables {
            let b = SelectBuilder::default()
                .item(
                    ast::string(self.d, &t.vocabulary.name),
                    Some(self.id("parameter")),
                )
                .item(column("value"), Some(self.id("value")))
                .item(column("frequency"), Some(self.id("frequency")));
            gathered.push(b.from(Relation::Table(vec![self.id(&t.cte)]), None).build());
        }
        ctes.push_sql(self.id(QUANTILES), gathered.into());
        let values = [column("value"), self.null_text(), column("frequency")];
        out.push(
            self.long_row(column("parameter"), "quantile", values, QUANTILES)
                .build(),
        );
    }
}

/// The learned quantiles of every table, gathered.
const QUANTILES: &str = "prep_quantiles";

/// A vocabulary's rows: in `cte`, values in `value_column`; with grouping
/// sets, only the rows where `set_column` (its GROUPING()) is 0.
pub(super) struct LearnedIn<'a> {
    pub vocabulary: &'a ir::Vocabulary,
    pub cte: String,
    pub value_column: String,
    pub set_column: Option<String>,
}
