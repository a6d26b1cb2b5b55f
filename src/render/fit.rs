//! The fit query: every scan a dialect needs, level by level, the derived
//! parameters in rounds, and the fitted parameters as one long relation.

use std::collections::BTreeMap;

use sqlparser::ast::{Expr, Query};

use super::ast::{self, Relation, SelectBuilder};
use super::long_form::LearnedIn;
use super::print;
use super::{
    ANALYTIC, FIT_ROWS, FITTED, FITTED_AT, GRID, ParamScope, ParamsFrom, RANKED, ROW, Renderer,
    Scan,
};
use crate::diagnostic::Diagnostic;
use crate::dialect::Func;
use crate::ir::{self, Agg, Param, ParamDef, ParamId};
use crate::spec::ColumnType;

/// The fitted row with the time of fitting.
const STAMPED: &str = "prep_fitted_stamped";

impl Renderer<'_> {
    /// The fit as CTEs: the last, `FITTED`, is one row with a column per
    /// parameter; each learned vocabulary is a CTE of (value, frequency) rows.
    pub(super) fn fit_ctes(&self) -> Result<FitCtes<'_>, Diagnostic> {
        let mut ctes = print::Ctes::default();
        let filtered = match self.fit_filter()? {
            Some(filter) => {
                let q = SelectBuilder::default()
                    .wildcard()
                    .from(self.source_relation(), None)
                    .filter(filter)
                    .build();
                ctes.push(self.id(FIT_ROWS), q);
                true
            }
            None => false,
        };
        if self.fit_has_grids() {
            self.grid_points(&mut ctes);
        }
        let fit_rows = move || {
            if filtered {
                Relation::Table(vec![self.id(FIT_ROWS)])
            } else {
                self.source_relation()
            }
        };
        match &self.chunked {
            Some(chunked) => Ok(self.fit_chunked(ctes, &fit_rows, chunked)),
            None => self.fit_levels(ctes, &fit_rows),
        }
    }

    fn fit_levels(
        &self,
        mut ctes: print::Ctes,
        fit_rows: &dyn Fn() -> Relation,
    ) -> Result<FitCtes<'_>, Diagnostic> {
        let fit = &self.ir.fit;
        let scans = crate::plan::scans(self.ir, self.d);
        let table = |name: &str| Relation::Table(vec![self.id(name)]);
        let mut vocabularies = Vec::new();
        let mut previous_params: Option<String> = None;
        let mut read = LevelRows::default();
        for level in 0..fit.levels() {
            // The relation this level reads: the fit rows, or a stage holding
            // each distinct expression to aggregate as a column `v<i>`.
            let arguments = self.level_arguments(level);
            let stage_columns = match previous_params {
                Some(_) => distinct_columns(&arguments),
                None => Vec::new(),
            };
            // The fit rows with the lets this level reads, each computed once:
            // a level builds on the rows of the level before it.
            let params_table = (previous_params.as_deref()).map(|p| ParamsFrom::One(table(p)));
            let rows = self.level_rows(
                level,
                &arguments,
                params_table.as_ref(),
                &mut read,
                &mut ctes,
                fit_rows,
            );
            let fit_rows = move || rows.clone();
            let input: Box<dyn Fn() -> Relation + '_> = match &previous_params {
                None => Box::new(fit_rows),
                Some(params) => {
                    let name = format!("prep_stage_{level}");
                    let params = ParamsFrom::One(table(params));
                    let grids = scans.iter().any(|s| s.level == level && s.what == GRID);
                    let stage = self.stage_query(&stage_columns, fit_rows(), &params);
                    ctes.push(self.id(&name), self.fenced_for_grids(stage, grids));
                    Box::new(move || table(&name))
                }
            };
            let staged: BTreeMap<String, &str> = stage_columns
                .iter()
                .map(|(name, e)| (e.to_string(), name.as_str()))
                .collect();
            let argument = |r: &Renderer, e: &ir::Expr| -> Expr {
                match staged.get(&e.to_string()) {
                    Some(name) => ast::column(r.d, Some(ROW), name),
                    None => r.expr(e, ParamScope::Row),
                }
            };
            let mut from: Vec<String> = previous_params.iter().cloned().collect();
            let level_scans = scans.iter().filter(|s| s.level == level);
            for (i, scan) in level_scans
                .clone()
                .filter(|s| s.vocabularies.is_empty())
                .enumerate()
            {
                let name = format!("prep_stats_{level}_{}", i + 1);
                let q = self.scan_query(scan, &*input, &argument, (&name, &mut ctes));
                ctes.push(self.id(&name), q);
                from.push(name);
            }
            for scan in level_scans.filter(|s| !s.vocabularies.is_empty()) {
                let name = format!("prep_vocabulary_{}", vocabularies.len() + 1);
                self.vocabulary_query(
                    scan,
                    &name,
                    &*input,
                    &argument,
                    &mut vocabularies,
                    &mut ctes,
                );
            }
            previous_params = Some(self.derived_ctes(level, from, &mut ctes));
        }
        Ok(FitCtes { ctes, vocabularies })
    }

    /// The rows `level` reads: the fit rows, or the rows of the level before
    /// it, with every let its `arguments` read added (each computed once,
    /// in CTEs `prep_rows_<level>_<depth>`).
    pub(super) fn level_rows(
        &self,
        level: usize,
        arguments: &[&ir::Expr],
        params: Option<&ParamsFrom>,
        read: &mut LevelRows,
        ctes: &mut print::Ctes,
        fit_rows: &dyn Fn() -> Relation,
    ) -> Relation {
        let table = |name: &str| Relation::Table(vec![self.id(name)]);
        let rows_now = read.name.as_deref().map_or_else(fit_rows, table);
        let prefix = format!("prep_rows_{level}");
        let (rows, last) = self.with_lets(
            rows_now,
            params,
            arguments,
            &mut read.computed,
            ctes,
            &prefix,
            // A later level reads these rows again, for what it alone knows.
            None,
        );
        if last.is_some() {
            read.name = last;
        }
        rows
    }

    /// A level's stage: each distinct expression to aggregate computed once
    /// per fit row, as a column `v<i>`, from the rows and the parameters so far.
    pub(super) fn stage_query(
        &self,
        columns: &[(String, &ir::Expr)],
        rows: Relation,
        params: &ParamsFrom,
    ) -> Query {
        let items = self.items(columns, |r, (name, e)| {
            Some((r.expr(e, ParamScope::Row), Some(r.id(name))))
        });
        let b = SelectBuilder::default()
            .printed_items(items.into_iter().flatten())
            .from(rows, Some(self.id(ROW)));
        let reads = columns.iter().flat_map(|(_, e)| e.params());
        self.join_params(b, params, reads).build()
    }

    /// A level's stage, fenced where a grid's passes read it several times
    /// and the engine inlines a CTE into each reader (Spark): one relation.
    fn fenced_for_grids(&self, stage: Query, grids: bool) -> Query {
        match (grids, self.d.level_fence()) {
            (true, Some(fence)) => ast::filtered(stage, fence.clone()),
            _ => stage,
        }
    }

    /// What the scans of `level` aggregate or count: the argument of every
    /// aggregate parameter, then every vocabulary's expression.
    pub(super) fn level_arguments(&self, level: usize) -> Vec<&ir::Expr> {
        let fit = &self.ir.fit;
        let aggregated = (fit.params.iter())
            .filter(|p| p.level == level)
            .flat_map(|p| match &p.def {
                ParamDef::Aggregate(a) => a.arguments(),
                ParamDef::Derived(_) => Vec::new(),
            });
        let counted = (fit.vocabularies.iter())
            .filter(|v| v.level == level)
            .map(|v| &v.expr);
        aggregated.chain(counted).collect()
    }

    /// The categories and counts of a vocabulary scan (`GROUP BY`, or
    /// `GROUPING SETS` with a set column per vocabulary when there are
    /// several), or a quantile table's quantiles (with its intervals and
    /// ends, for steps after it), as CTE `cte`; each vocabulary recorded
    /// in `learned` as read from it.
    pub(super) fn vocabulary_query<'a>(
        &'a self,
        scan: &Scan,
        cte: &str,
        input: &dyn Fn() -> Relation,
        argument: &(dyn Fn(&Renderer, &ir::Expr) -> Expr + Sync),
        learned: &mut Vec<LearnedIn<'a>>,
        ctes: &mut print::Ctes,
    ) {
        if let Some(v) = scan.quantile_table(self.ir) {
            let table = &self.ir.fit.vocabularies[v];
            learned.push(LearnedIn {
                vocabulary: table,
                cte: cte.to_string(),
                value_column: "value".into(),
                set_column: None,
            });
            let x = argument(self, &table.expr);
            let q = self.quantile_query(table, cte, input(), x, ctes);
            ctes.push(self.id(cte), q);
            // The intervals, where a later level reads values from them.
            if self.fit_reads_quantiles(&table.name) {
                let rows = Relation::Table(vec![self.id(cte)]);
                self.quantile_relations(v, rows, ctes);
            }
            return;
        }
        let sets = scan.vocabularies.len() > 1;
        let mut b = SelectBuilder::default();
        let mut grouping = Vec::new();
        for (j, &v) in scan.vocabularies.iter().enumerate() {
            let vocabulary = &self.ir.fit.vocabularies[v];
            let value = self.group_key(argument(self, &vocabulary.expr), vocabulary.value_type);
            let (value_column, set_column) = if sets {
                (format!("value_{}", j + 1), Some(format!("set_{}", j + 1)))
            } else {
                ("value".to_string(), None)
            };
            b = b.item(value.clone(), Some(self.id(&value_column)));
            if let Some(set) = &set_column {
                b = b.item(
                    ast::call(self.d, Func::Grouping, [("X", value.clone())]),
                    Some(self.id(set)),
                );
            }
            grouping.push(value);
            learned.push(LearnedIn {
                vocabulary,
                cte: cte.to_string(),
                value_column,
                set_column,
            });
        }
        let count = self.double(ast::call(self.d, Func::CountRows, []));
        b = b
            .item(count, Some(self.id("frequency")))
            .from(input(), Some(self.id(ROW)));
        let q = if sets {
            b.grouping_sets(grouping).build()
        } else {
            b.group_by(grouping.remove(0)).build()
        };
        ctes.push(self.id(cte), q);
    }

    /// The derived parameters of `level`, in rounds: each round reads the
    /// columns of the rounds before it (and of `from`, the level's scans and
    /// the parameters before it), so every formula is written once, by name.
    /// Returns the CTE holding every parameter so far.
    fn derived_ctes(&self, level: usize, mut from: Vec<String>, ctes: &mut print::Ctes) -> String {
        let fit = &self.ir.fit;
        let rounds = crate::plan::derivation_rounds(self.ir, level);
        let last = rounds.values().copied().max().unwrap_or(0);
        for round in 0..=last {
            let this_round: Vec<ParamId> = (rounds.iter())
                .filter_map(|(&id, &r)| (r == round).then_some(id))
                .collect();
            let items = self.items(&this_round, |r, &id| match &fit.params[id].def {
                ParamDef::Derived(e) => {
                    Some((r.expr(e, ParamScope::Fit), Some(r.id(&fit.params[id].name))))
                }
                ParamDef::Aggregate(_) => None,
            });
            // Every column so far, and the parameters of this round.
            let mut b = SelectBuilder::default()
                .wildcard()
                .printed_items(items.into_iter().flatten());
            for name in &from {
                b = b.from(Relation::Table(vec![self.id(name)]), None);
            }
            // Every later level (and the apply) reads the parameters so far:
            // computed once, however the engine treats a CTE.
            if let (true, Some(fence)) = (round == last, self.d.level_fence()) {
                b = b.filter(fence.clone());
            }
            let name = match (round == last, level + 1 == fit.levels()) {
                (true, true) => FITTED.to_string(),
                (true, false) => format!("prep_params_{level}"),
                (false, _) => format!("prep_derive_{level}_{}", round + 1),
            };
            // Every round written out where the dialect can: PostgreSQL
            // otherwise inlines each one-row round into the next, and plans
            // the copied formulas for seconds (20 spline features: 3.9 s of
            // planning, 50 ms with every round materialized).
            ctes.push_as(self.id(&name), b.build(), self.d.materialized);
            from = vec![name];
        }
        from.remove(0)
    }

    /// A value as a GROUP BY key: a number through the dialect's `number_key`.
    fn group_key(&self, value: Expr, value_type: ColumnType) -> Expr {
        match value_type {
            ColumnType::Numeric => ast::call(self.d, Func::NumberKey, [("X", value)]),
            ColumnType::String => value,
        }
    }

    /// One scan: aggregates over the level's rows, always exactly one row.
    /// A scan needing relations of its own (a grid's passes) pushes them
    /// to `ctes`, named after `name`, the scan's.
    pub(super) fn scan_query(
        &self,
        scan: &Scan,
        input: &dyn Fn() -> Relation,
        argument: &(dyn Fn(&Renderer, &ir::Expr) -> Expr + Sync),
        (name, ctes): (&str, &mut print::Ctes),
    ) -> Query {
        let fit = &self.ir.fit;
        let agg_of = |id: ParamId| match &fit.params[id].def {
            ParamDef::Aggregate(a) => a,
            ParamDef::Derived(_) => unreachable!("scans hold aggregates"),
        };
        if let [id] = scan.params.as_slice()
            && let Agg::MostFrequent(e) = agg_of(*id)
        {
            // Most frequent value: ties to the smallest, in code-point order for text.
            let value = self.group_key(argument(self, e), fit.params[*id].value_type);
            let mut order_value = value.clone();
            if fit.params[*id].value_type == ColumnType::String
                && let Some(collation) = &self.d.binary_collation
            {
                order_value = ast::collate(order_value, collation);
            }
            let count = ast::call(self.d, Func::CountRows, []);
            let inner = SelectBuilder::default()
                .item(value.clone(), Some(self.id("value")))
                .from(input(), Some(self.id(ROW)))
                .filter(ast::is_not_null(value.clone()))
                .group_order_first(
                    value,
                    vec![(count, true), (order_value, false)],
                    self.d.first_row,
                )
                .build();
            // MAX over at most one row: exactly one row even when the fit rows are empty.
            let name = &fit.params[*id].name;
            return SelectBuilder::default()
                .item(
                    ast::call(
                        self.d,
                        Func::Max,
                        [("X", ast::column(self.d, None, "value"))],
                    ),
                    Some(self.id(name)),
                )
                .from(Relation::Query(Box::new(inner)), Some(self.id("prep_mode")))
                .build();
        }
        if scan.what == RANKED {
            return self.ranked_query(scan, input, argument);
        }
        if scan.what == GRID {
            return self.grid_query(scan, input, argument, (name, ctes));
        }
        let analytic = scan.what == ANALYTIC;
        let items = self.items(&scan.params, |r, &id| {
            let agg = agg_of(id);
            let arg = (agg.argument().map(|e| argument(r, e))).unwrap_or_else(ast::null);
            Some((r.aggregate(agg, arg), Some(r.id(&fit.params[id].name))))
        });
        let b = SelectBuilder::default().printed_items(items.into_iter().flatten());
        let q = b.from(input(), Some(self.id(ROW))).build();
        if !analytic {
            return q;
        }
        // Window percentiles repeat on every row: collapse them to one row.
        let mut outer = SelectBuilder::default();
        for &id in &scan.params {
            let name = &fit.params[id].name;
            outer = outer.item(
                ast::call(self.d, Func::Max, [("X", ast::column(self.d, None, name))]),
                Some(self.id(name)),
            );
        }
        outer
            .from(Relation::Query(Box::new(q)), Some(self.id("prep_window")))
            .build()
    }

    /// The fit query: the fitted parameters as one relation in long form,
    /// one row per parameter and one per learned category:
    /// `(parameter, kind, number, text, frequency)`, where `kind` is `value`
    /// (a parameter: `number` or `text` holds it) or `category` (a learned
    /// category in `number` or `text`, both NULL for the missing value, with
    /// its count in `frequency`).
    pub fn fit_query(&self) -> Result<print::Sql, Diagnostic> {
        self.fit_query_stamped(None)
    }

    /// The fit query with one more parameter, `prep_fitted_at`: the text of
    /// `now` (an expression for the time of fitting).
    pub fn fit_query_stamped(&self, now: Option<Expr>) -> Result<print::Sql, Diagnostic> {
        let FitCtes {
            mut ctes,
            vocabularies,
        } = self.fit_ctes()?;
        // The relations holding the stored parameters (the fitted row, or
        // each chunk), each with its parameters.
        let mut rows: Vec<(&str, Vec<(&str, ColumnType)>)> = match &self.chunked {
            None => vec![(
                FITTED,
                Param::stored(&self.ir.fit.params).map(typed).collect(),
            )],
            Some(chunked) => (chunked.list.iter())
                .map(|chunk| {
                    let params = chunk.params.iter().map(|&id| &self.ir.fit.params[id]);
                    (
                        chunk.name.as_str(),
                        params.filter(|p| p.stored).map(typed).collect(),
                    )
                })
                .collect(),
        };
        if let Some(now) = now {
            let at = (FITTED_AT, ColumnType::String);
            match self.chunked {
                // One more column of the fitted row.
                None => {
                    ctes.push(self.id(STAMPED), self.stamped(now, FITTED, true));
                    rows[0].0 = STAMPED;
                    rows[0].1.push(at);
                }
                // A row of its own, read beside the first chunk.
                Some(_) => {
                    let first = rows.first().map_or(FITTED, |r| r.0);
                    ctes.push(self.id(STAMPED), self.stamped(now, first, false));
                    rows.push((STAMPED, vec![at]));
                }
            }
        }
        let mut branches = print::UnionAll::default();
        for (relation, params) in rows.iter().filter(|r| !r.1.is_empty()) {
            self.parameter_rows(relation, params, &mut branches);
        }
        let (quantiles, categories): (Vec<LearnedIn>, Vec<LearnedIn>) =
            (vocabularies.into_iter()).partition(|v| v.vocabulary.quantiles.is_some());
        self.category_rows(&categories, &mut branches);
        self.quantile_rows(&quantiles, &mut ctes, &mut branches);
        Ok(print::with_ctes(ctes, branches))
    }
}

/// A parameter's name and the column of the long form holding it.
fn typed(p: &Param) -> (&str, ColumnType) {
    (p.name.as_str(), p.value_type)
}

impl Renderer<'_> {
    /// The time of fitting, `now` as text, read from the one-row `from`
    /// (and every column of it with `all`).
    fn stamped(&self, now: Expr, from: &str, all: bool) -> Query {
        let b = if all {
            SelectBuilder::default().wildcard()
        } else {
            SelectBuilder::default()
        };
        b.item(
            ast::cast(now, &self.d.string_type),
            Some(self.id(FITTED_AT)),
        )
        .from(Relation::Table(vec![self.id(from)]), None)
        .build()
    }
}

/// What the levels so far added to the fit rows: the last CTE of lets, and
/// which lets are columns of it.
#[derive(Default)]
pub(super) struct LevelRows {
    name: Option<String>,
    computed: std::collections::BTreeSet<usize>,
}

/// The fit's CTEs, and where each learned vocabulary is.
pub(super) struct FitCtes<'a> {
    pub ctes: print::Ctes,
    pub vocabularies: Vec<LearnedIn<'a>>,
}

/// Each distinct expression of `arguments` (by its text), named `v1`, `v2`, ...
pub(super) fn distinct_columns<'a>(arguments: &[&'a ir::Expr]) -> Vec<(String, &'a ir::Expr)> {
    let mut seen = std::collections::BTreeSet::new();
    let mut columns = Vec::new();
    for arg in arguments {
        if seen.insert(arg.to_string()) {
            columns.push((format!("v{}", columns.len() + 1), *arg));
        }
    }
    columns
}
