//! Rendering the IR as SQL for one dialect: the fit query (one row of fitted
//! parameters), the apply query (features from any relation with the source
//! columns, reading that row), or both in one statement.

pub mod ast;
pub mod filter;
pub mod quote;

use std::collections::BTreeMap;
use std::rc::Rc;

use sqlparser::ast::{BinaryOperator, Expr, Ident, Query};

use crate::diagnostic::{Code, Diagnostic, Span};
use crate::dialect::{Dialect, FloatUnderflow, Func, PercentileStyle, VocabularyStyle};
use crate::fitted::{Fitted, Value};
use crate::ir::{self, Agg, ApplyItem, Ir, ParamDef, ParamId};
use crate::spec::{ColumnType, Source};
use ast::{Relation, SelectBuilder};

/// Alias of the row being read, in the fit and in the apply query.
const ROW: &str = "prep_src";
/// Alias of the fitted-parameters row in the apply query.
const PARAMS: &str = "prep_params";
/// The CTE holding the rows `fit.where` keeps.
const FIT_ROWS: &str = "prep_fit_rows";
const ANALYTIC: &str = "analytic percentiles";
/// The parameter that records when a dbt fitted-parameters model was built.
pub const FITTED_AT: &str = "prep_fitted_at";
/// The CTE holding the one row of fitted parameters.
const FITTED: &str = "prep_fitted";

/// How the source relation is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceStyle {
    /// Plain relation names.
    Plain,
    /// A placeholder, replaced by `{{ ref(..) }}` / `{{ source(..) }}` after printing.
    Placeholder,
}

/// How scans are grouped for one dialect: the `explain` view of a fit.
#[derive(Debug, Clone, PartialEq)]
pub struct Scan {
    pub level: usize,
    pub what: String,
    pub params: Vec<ParamId>,
    /// Learned vocabularies counted by this scan (indices into the fit plan's).
    pub vocabularies: Vec<usize>,
}

pub struct Renderer<'a> {
    d: &'a Dialect,
    ir: &'a Ir,
    source: SourceStyle,
    /// Fitted values to write as literals instead of reading a parameters relation.
    bound: Option<&'a Fitted>,
    /// A relation to read instead of the spec's source (the embedded engine's data).
    reading: Option<String>,
    /// Every name and value of the spec (placeholders must avoid them).
    texts: Vec<String>,
    /// Identifiers printed where dbt calls go, chosen to appear in no name or value of the spec.
    pub source_placeholder: String,
    pub params_placeholder: String,
    /// Lets are columns `<let_prefix><id>`; the prefix appears in no name or value of the spec.
    let_prefix: String,
}

fn unused_name(texts: &[String], base: &str) -> String {
    (0..)
        .map(|i| {
            if i == 0 {
                format!("__{base}__")
            } else {
                format!("__{base}_{i}__")
            }
        })
        .find(|p| !texts.iter().any(|t| t.contains(p.as_str())))
        .expect("some suffix is unused")
}

/// Where the apply query reads the fitted parameters.
pub enum ParamsRelation<'a> {
    Named(&'a str),
    Placeholder,
}

/// Where parameter references point while rendering an expression.
#[derive(Clone, Copy)]
enum ParamScope {
    /// Columns of the parameters row, qualified with `PARAMS` (apply, stages).
    Row,
    /// Inside the fit's parameter rows: bare columns of the relations read.
    Fit,
}

impl<'a> Renderer<'a> {
    pub fn new(d: &'a Dialect, ir: &'a Ir, source: SourceStyle) -> Self {
        let texts = ir.texts();
        let source_placeholder = unused_name(&texts, "prep_source_relation");
        let params_placeholder = unused_name(&texts, "prep_params_relation");
        let let_prefix = unused_name(&texts, "prep_value");
        Renderer {
            d,
            ir,
            source,
            bound: None,
            reading: None,
            texts,
            source_placeholder,
            params_placeholder,
            let_prefix,
        }
    }

    fn let_name(&self, id: usize) -> String {
        format!("{}{}", self.let_prefix, id + 1)
    }

    /// `base`, read as `ROW`, with every let that `exprs` read (directly or
    /// through other lets) added as a column: one CTE per depth of lets
    /// (`<prefix>_<depth>`, pushed to `ctes`), each computing its lets once
    /// per row from the one before it. Lets in `computed` are already columns
    /// of `base`; the ones computed here are added to it.
    fn with_lets(
        &self,
        base: Relation,
        params: Option<Relation>,
        exprs: &[&ir::Expr],
        computed: &mut std::collections::BTreeSet<usize>,
        ctes: &mut Vec<(Ident, Query)>,
        prefix: &str,
    ) -> (Relation, Option<String>) {
        let mut needed: BTreeMap<usize, Rc<ir::Let>> = BTreeMap::new();
        let mut todo: Vec<Rc<ir::Let>> = exprs.iter().flat_map(|e| e.lets()).collect();
        while let Some(l) = todo.pop() {
            if !computed.contains(&l.id) && needed.insert(l.id, l.clone()).is_none() {
                todo.extend(l.expr.lets());
            }
        }
        // A let reads only lets made before it: ascending ids give their depths.
        let mut depth: BTreeMap<usize, usize> = BTreeMap::new();
        for (id, l) in &needed {
            let below = l
                .expr
                .lets()
                .iter()
                .filter_map(|r| depth.get(&r.id).copied())
                .max();
            depth.insert(*id, 1 + below.unwrap_or(0));
        }
        computed.extend(needed.keys());
        let mut relation = base;
        let mut last = None;
        for level in 1..=depth.values().copied().max().unwrap_or(0) {
            let mut b = SelectBuilder::default().wildcard_of(self.id(ROW));
            for (id, l) in &needed {
                if depth[id] == level {
                    b = b.item(
                        self.expr(&l.expr, ParamScope::Row),
                        Some(self.id(&self.let_name(*id))),
                    );
                }
            }
            b = b.from(relation, Some(self.id(ROW)));
            if let Some(p) = &params {
                b = b.from(p.clone(), Some(self.id(PARAMS)));
            }
            let name = format!("{prefix}_{level}");
            ctes.push((self.id(&name), b.build()));
            relation = Relation::Table(vec![self.id(&name)]);
            last = Some(name);
        }
        (relation, last)
    }

    /// An identifier `__<base>__` (with a number when needed) that appears in no
    /// name or value of the spec, to print where text is put in after printing.
    pub fn placeholder(&self, base: &str) -> String {
        unused_name(&self.texts, base)
    }

    /// Reads `relation` instead of the spec's source.
    pub fn reading(mut self, relation: &str) -> Self {
        self.reading = Some(relation.to_string());
        self
    }

    /// Writes every fitted parameter as a literal (from a fitted-parameters file).
    pub fn bind(mut self, fitted: &'a Fitted) -> Self {
        self.bound = Some(fitted);
        self
    }

    fn id(&self, name: &str) -> Ident {
        ast::ident(self.d, name)
    }

    fn double(&self, e: Expr) -> Expr {
        ast::cast(e, &self.d.double_type)
    }

    fn source_relation(&self) -> Relation {
        if let Some(relation) = &self.reading {
            return Relation::Table(vec![self.id(relation)]);
        }
        Relation::Table(match (&self.ir.source, self.source) {
            // A plain table needs no dbt call: it is named the same way in both styles.
            (Source::Table(name), _) => name.split('.').map(|p| self.id(p)).collect(),
            (_, SourceStyle::Placeholder) => vec![Ident::new(&self.source_placeholder)],
            (Source::Ref(name), SourceStyle::Plain) => vec![self.id(name)],
            (Source::Source { name, table }, SourceStyle::Plain) => {
                vec![self.id(name), self.id(table)]
            }
        })
    }

    /// `fit.where`, written for this dialect by prep (see `filter.rs`).
    fn fit_filter(&self) -> Result<Option<Expr>, Diagnostic> {
        let Some(sql) = &self.ir.fit_filter else {
            return Ok(None);
        };
        filter::for_dialect(self.d, sql).map(Some).map_err(|e| {
            Diagnostic::new(
                Code::InvalidFilter,
                format!("`fit.where` cannot be written for {}: {e}", self.d.name),
            )
            .at(self.ir.fit_filter_span.clone())
            .hint("write one boolean expression over source columns, with numbers and 'quoted' strings")
        })
    }

    // ---- expressions -------------------------------------------------------

    fn expr(&self, e: &ir::Expr, scope: ParamScope) -> Expr {
        use ir::Expr as E;
        let r = |x: &ir::Expr| self.expr(x, scope);
        match e {
            E::Column(c) => ast::column(self.d, Some(ROW), c),
            E::Let(l) => ast::column(self.d, Some(ROW), &self.let_name(l.id)),
            E::Param(p) => self.param(*p, scope),
            E::Number(v) if v.is_finite() => ast::double(*v, self.d),
            E::Number(_) | E::Null => ast::null(),
            E::Text(s) => ast::string(self.d, s),
            // A numeric column is read with NaN as missing, as scikit-learn does.
            E::ToDouble(x) if matches!(**x, E::Column(_)) => {
                let nan = self.double(ast::string(self.d, "NaN"));
                ast::call(
                    self.d,
                    Func::NanToNull,
                    &[("X", self.double(r(x))), ("NAN", nan)],
                )
            }
            E::ToDouble(x) => self.double(r(x)),
            E::ToText(x) => ast::cast(r(x), &self.d.string_type),
            E::Add(a, b) => ast::binary(BinaryOperator::Plus, r(a), r(b)),
            E::Sub(a, b) => ast::binary(BinaryOperator::Minus, r(a), r(b)),
            E::Mul(a, b) => ast::binary(BinaryOperator::Multiply, r(a), r(b)),
            E::Product(a, b) => self.product(r(a), r(b)),
            E::Div(a, b) => ast::call(self.d, Func::SafeDivide, &[("A", r(a)), ("B", r(b))]),
            E::Sqrt(x) => {
                // SQRT of a tiny negative rounding error would raise on some
                // engines; NULL (nothing learned) stays NULL, as NaN does in numpy.
                let v = r(x);
                ast::case(
                    vec![(
                        ast::binary(BinaryOperator::Lt, v.clone(), ast::double(0.0, self.d)),
                        ast::double(0.0, self.d),
                    )],
                    ast::call(self.d, Func::Sqrt, &[("X", v)]),
                )
            }
            E::Abs(x) => ast::call(self.d, Func::Abs, &[("X", r(x))]),
            E::Coalesce(a, b) => ast::call(self.d, Func::Coalesce, &[("X", r(a)), ("Y", r(b))]),
            E::Case(arms, otherwise) => ast::case(
                arms.iter()
                    .map(|(c, v)| (self.cond(c, scope), r(v)))
                    .collect(),
                r(otherwise),
            ),
            E::Fail { message, value } => {
                let text = ast::call(
                    self.d,
                    Func::Coalesce,
                    &[
                        ("X", ast::cast(r(value), &self.d.string_type)),
                        ("Y", ast::string(self.d, "NULL")),
                    ],
                );
                let msg = ast::call(
                    self.d,
                    Func::Concat,
                    &[("X", ast::string(self.d, message)), ("Y", text)],
                );
                ast::call(self.d, Func::RaiseError, &[("MSG", msg)])
            }
        }
    }

    /// `a * b`, or, where the dialect raises on underflow, zero for the
    /// products too small for a double (ln|a| + ln|b| below ln of the
    /// smallest subnormal), as numpy gives.
    fn product(&self, a: Expr, b: Expr) -> Expr {
        let times = ast::binary(BinaryOperator::Multiply, a.clone(), b.clone());
        if self.d.float_underflow == FloatUnderflow::Zero {
            return times;
        }
        let zero = || ast::double(0.0, self.d);
        let is_zero = |x: Expr| ast::binary(BinaryOperator::Eq, x, zero());
        let ln_abs = |x: Expr| {
            ast::call(
                self.d,
                Func::Ln,
                &[("X", ast::call(self.d, Func::Abs, &[("X", x)]))],
            )
        };
        let tiny = ast::binary(
            BinaryOperator::Lt,
            ast::binary(BinaryOperator::Plus, ln_abs(a.clone()), ln_abs(b.clone())),
            ast::double(-744.0, self.d),
        );
        ast::case(
            vec![
                (
                    ast::binary(BinaryOperator::Or, is_zero(a), is_zero(b)),
                    zero(),
                ),
                (tiny, zero()),
            ],
            times,
        )
    }

    fn cond(&self, c: &ir::Cond, scope: ParamScope) -> Expr {
        use ir::Cond as C;
        let r = |x: &ir::Expr| self.expr(x, scope);
        match c {
            C::IsNull(x) => ast::is_null(r(x)),
            C::Eq(a, b) => ast::binary(BinaryOperator::Eq, r(a), r(b)),
            C::In(a, list) => ast::in_list(r(a), list.iter().map(r).collect()),
            C::Lt(a, b) => ast::binary(BinaryOperator::Lt, r(a), r(b)),
            C::Le(a, b) => ast::binary(BinaryOperator::LtEq, r(a), r(b)),
            C::Gt(a, b) => ast::binary(BinaryOperator::Gt, r(a), r(b)),
            C::Or(a, b) => {
                ast::binary(BinaryOperator::Or, self.cond(a, scope), self.cond(b, scope))
            }
        }
    }

    fn param(&self, id: ParamId, scope: ParamScope) -> Expr {
        let p = &self.ir.fit.params[id];
        match scope {
            ParamScope::Row => match self.bound {
                None => ast::column(self.d, Some(PARAMS), &p.name),
                Some(fitted) => self.literal(fitted.parameters.get(&p.name), p.value_type),
            },
            ParamScope::Fit => ast::column(self.d, None, &p.name),
        }
    }

    /// A fitted value as a literal of the parameter's type. Floats are written
    /// in their shortest round-trip form, so they read back as the same f64.
    fn literal(&self, value: Option<&Value>, value_type: ColumnType) -> Expr {
        match (value, value_type) {
            (Some(Value::Number(n)), _) if n.is_finite() => ast::double(*n, self.d),
            (Some(Value::Text(t)), ColumnType::String) => ast::string(self.d, t),
            (_, ColumnType::Numeric) => self.double(ast::null()),
            (_, ColumnType::String) => ast::cast(ast::null(), &self.d.string_type),
        }
    }

    fn aggregate(&self, agg: &Agg, arg: Expr) -> Expr {
        let call = |f, x: Expr| ast::call(self.d, f, &[("X", x)]);
        match agg {
            Agg::CountRows => self.double(ast::call(self.d, Func::CountRows, &[])),
            Agg::Count(_) => self.double(call(Func::Count, arg)),
            Agg::Mean(_) => call(Func::Avg, arg),
            Agg::VarPop(_) => call(Func::VarPop, arg),
            Agg::Min(_) => call(Func::Min, arg),
            Agg::Max(_) => call(Func::Max, arg),
            Agg::Percentile(_, p) => ast::call(
                self.d,
                Func::Percentile,
                &[("X", arg), ("P", ast::fraction(*p))],
            ),
            Agg::MostFrequent(_) => unreachable!("modes are rendered as queries"),
        }
    }

    // ---- the fit -----------------------------------------------------------

    /// How this dialect scans the fit rows: one entry per scan.
    pub fn scans(&self) -> Vec<Scan> {
        let mut scans = Vec::new();
        for level in 0..self.ir.fit.levels() {
            let aggs: Vec<(ParamId, &Agg)> = self
                .ir
                .fit
                .params
                .iter()
                .enumerate()
                .filter(|(_, p)| p.level == level)
                .filter_map(|(i, p)| match &p.def {
                    ParamDef::Aggregate(a) => Some((i, a)),
                    ParamDef::Derived(_) => None,
                })
                .collect();
            let mut moments = Vec::new();
            let mut per_expression: BTreeMap<String, Vec<ParamId>> = BTreeMap::new();
            let mut analytic = Vec::new();
            let mut modes = Vec::new();
            for (id, agg) in aggs {
                match agg {
                    Agg::Percentile(e, _) => match self.d.percentiles {
                        PercentileStyle::OneSelect => moments.push(id),
                        PercentileStyle::PerExpression => {
                            per_expression.entry(e.to_string()).or_default().push(id)
                        }
                        PercentileStyle::Analytic => analytic.push(id),
                    },
                    Agg::MostFrequent(_) => modes.push(Scan {
                        level,
                        what: "most frequent value".into(),
                        params: vec![id],
                        vocabularies: vec![],
                    }),
                    _ => moments.push(id),
                }
            }
            if !moments.is_empty() {
                scans.push(Scan {
                    level,
                    what: "aggregates".into(),
                    params: moments,
                    vocabularies: vec![],
                });
            }
            scans.extend(per_expression.into_values().map(|params| Scan {
                level,
                what: "percentiles of one expression".into(),
                params,
                vocabularies: vec![],
            }));
            if !analytic.is_empty() {
                scans.push(Scan {
                    level,
                    what: ANALYTIC.into(),
                    params: analytic,
                    vocabularies: vec![],
                });
            }
            scans.extend(modes);
            // Categories and counts: every vocabulary of the level in one
            // GROUPING SETS scan where the dialect allows, else one scan each.
            let learned: Vec<usize> = (0..self.ir.fit.vocabularies.len())
                .filter(|&i| self.ir.fit.vocabularies[i].level == level)
                .collect();
            match self.d.vocabularies {
                VocabularyStyle::GroupingSets if learned.len() > 1 => scans.push(Scan {
                    level,
                    what: "vocabularies (grouping sets)".into(),
                    params: vec![],
                    vocabularies: learned,
                }),
                _ => scans.extend(learned.into_iter().map(|i| Scan {
                    level,
                    what: "vocabulary".into(),
                    params: vec![],
                    vocabularies: vec![i],
                })),
            }
        }
        scans
    }

    /// The fit as CTEs: the last, `FITTED`, is one row with a column per
    /// parameter; each learned vocabulary is a CTE of (value, frequency) rows.
    fn fit_ctes(&self) -> Result<FitCtes<'_>, Diagnostic> {
        let mut ctes = Vec::new();
        let filtered = match self.fit_filter()? {
            Some(filter) => {
                let q = SelectBuilder::default()
                    .wildcard()
                    .from(self.source_relation(), None)
                    .filter(filter)
                    .build();
                ctes.push((self.id(FIT_ROWS), q));
                true
            }
            None => false,
        };
        let fit_rows = move || {
            if filtered {
                Relation::Table(vec![self.id(FIT_ROWS)])
            } else {
                self.source_relation()
            }
        };
        self.fit_levels(ctes, &fit_rows)
    }

    fn fit_levels(
        &self,
        mut ctes: Vec<(Ident, Query)>,
        fit_rows: &dyn Fn() -> Relation,
    ) -> Result<FitCtes<'_>, Diagnostic> {
        let fit = &self.ir.fit;
        let scans = self.scans();
        let levels = fit.levels();
        let table = |name: &str| Relation::Table(vec![self.id(name)]);
        let mut vocabularies = Vec::new();
        let mut previous_params: Option<String> = None;
        let mut rows_name: Option<String> = None;
        let mut computed = std::collections::BTreeSet::new();
        for level in 0..levels {
            // The relation this level reads: the fit rows, or a stage holding
            // each distinct expression to aggregate as a column `v<i>`.
            let mut stage_columns: Vec<(String, &ir::Expr)> = Vec::new();
            let aggregated =
                fit.params
                    .iter()
                    .filter(|p| p.level == level)
                    .filter_map(|p| match &p.def {
                        ParamDef::Aggregate(a) => a.argument(),
                        ParamDef::Derived(_) => None,
                    });
            let counted = fit
                .vocabularies
                .iter()
                .filter(|v| v.level == level)
                .map(|v| &v.expr);
            let arguments: Vec<&ir::Expr> = aggregated.chain(counted).collect();
            // The fit rows with the lets this level reads, each computed once:
            // a level builds on the rows of the level before it.
            let params_table = previous_params.as_deref().map(table);
            let rows_now = match &rows_name {
                Some(name) => table(name),
                None => fit_rows(),
            };
            let (rows, last) = self.with_lets(
                rows_now,
                params_table,
                &arguments,
                &mut computed,
                &mut ctes,
                &format!("prep_rows_{level}"),
            );
            if last.is_some() {
                rows_name = last;
            }
            let fit_rows = move || rows.clone();
            let input: Box<dyn Fn() -> Relation + '_> = match &previous_params {
                None => Box::new(fit_rows),
                Some(params) => {
                    let mut seen = std::collections::BTreeSet::new();
                    for arg in &arguments {
                        if seen.insert(arg.to_string()) {
                            stage_columns.push((format!("v{}", stage_columns.len() + 1), *arg));
                        }
                    }
                    let mut b = SelectBuilder::default();
                    for (name, e) in &stage_columns {
                        b = b.item(self.expr(e, ParamScope::Row), Some(self.id(name)));
                    }
                    let stage = b
                        .from(fit_rows(), Some(self.id(ROW)))
                        .from(table(params), Some(self.id(PARAMS)))
                        .build();
                    let name = format!("prep_stage_{level}");
                    ctes.push((self.id(&name), stage));
                    Box::new(move || table(&name))
                }
            };
            let staged: BTreeMap<String, &str> = stage_columns
                .iter()
                .map(|(name, e)| (e.to_string(), name.as_str()))
                .collect();
            let argument = |e: &ir::Expr| -> Expr {
                match staged.get(&e.to_string()) {
                    Some(name) => ast::column(self.d, Some(ROW), name),
                    None => self.expr(e, ParamScope::Row),
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
                ctes.push((self.id(&name), self.scan_query(scan, &*input, &argument)));
                from.push(name);
            }
            for scan in level_scans.filter(|s| !s.vocabularies.is_empty()) {
                let name = format!("prep_vocabulary_{}", vocabularies.len() + 1);
                let sets = scan.vocabularies.len() > 1;
                let mut b = SelectBuilder::default();
                let mut grouping = Vec::new();
                for (j, &v) in scan.vocabularies.iter().enumerate() {
                    let vocabulary = &fit.vocabularies[v];
                    let value = argument(&vocabulary.expr);
                    let (value_column, set_column) = if sets {
                        (format!("value_{}", j + 1), Some(format!("set_{}", j + 1)))
                    } else {
                        ("value".to_string(), None)
                    };
                    b = b.item(value.clone(), Some(self.id(&value_column)));
                    if let Some(set) = &set_column {
                        b = b.item(
                            ast::call(self.d, Func::Grouping, &[("X", value.clone())]),
                            Some(self.id(set)),
                        );
                    }
                    grouping.push(value);
                    vocabularies.push(LearnedIn {
                        vocabulary,
                        cte: name.clone(),
                        value_column,
                        set_column,
                    });
                }
                let count = self.double(ast::call(self.d, Func::CountRows, &[]));
                b = b
                    .item(count, Some(self.id("frequency")))
                    .from(input(), Some(self.id(ROW)));
                let q = if sets {
                    b.grouping_sets(grouping).build()
                } else {
                    b.group_by(grouping.remove(0)).build()
                };
                ctes.push((self.id(&name), q));
            }
            // Derived parameters in rounds: each round reads the columns of the
            // rounds before it, so every formula is written once, by name.
            let rounds = self.derivation_rounds(level);
            for round in 0..=rounds.values().copied().max().unwrap_or(0) {
                // Every column so far, and the parameters of this round.
                let mut b = SelectBuilder::default().wildcard();
                for (id, p) in fit.params.iter().enumerate() {
                    if let (ParamDef::Derived(e), Some(&r)) = (&p.def, rounds.get(&id))
                        && r == round
                    {
                        b = b.item(self.expr(e, ParamScope::Fit), Some(self.id(&p.name)));
                    }
                }
                for name in &from {
                    b = b.from(table(name), None);
                }
                let last_round = rounds.values().all(|&r| r <= round);
                let name = match (last_round, level + 1 == levels) {
                    (true, true) => FITTED.to_string(),
                    (true, false) => format!("prep_params_{level}"),
                    (false, _) => format!("prep_derive_{level}_{}", round + 1),
                };
                ctes.push((self.id(&name), b.build()));
                from = vec![name.clone()];
                if last_round {
                    previous_params = Some(name);
                }
            }
        }
        Ok(FitCtes { ctes, vocabularies })
    }

    /// For each derived parameter of `level`: after how many rounds of derived
    /// parameters of the same level it can be computed.
    fn derivation_rounds(&self, level: usize) -> BTreeMap<ParamId, usize> {
        let mut rounds = BTreeMap::new();
        for (id, p) in self.ir.fit.params.iter().enumerate() {
            if let (ParamDef::Derived(e), true) = (&p.def, p.level == level) {
                let round = e
                    .params()
                    .iter()
                    .filter_map(|dep| rounds.get(dep).map(|r| r + 1))
                    .max()
                    .unwrap_or(0);
                rounds.insert(id, round);
            }
        }
        rounds
    }

    /// One scan: aggregates over the level's rows, always exactly one row.
    fn scan_query(
        &self,
        scan: &Scan,
        input: &dyn Fn() -> Relation,
        argument: &dyn Fn(&ir::Expr) -> Expr,
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
            let value = argument(e);
            let mut order_value = value.clone();
            if fit.params[*id].value_type == ColumnType::String
                && let Some(collation) = &self.d.binary_collation
            {
                order_value = ast::collate(order_value, collation, self.d);
            }
            let count = ast::call(self.d, Func::CountRows, &[]);
            let inner = SelectBuilder::default()
                .item(value.clone(), Some(self.id("value")))
                .from(input(), Some(self.id(ROW)))
                .filter(ast::is_not_null(value.clone()))
                .group_order_first(value, vec![(count, true), (order_value, false)])
                .build();
            // MAX over at most one row: exactly one row even when the fit rows are empty.
            let name = &fit.params[*id].name;
            return SelectBuilder::default()
                .item(
                    ast::call(
                        self.d,
                        Func::Max,
                        &[("X", ast::column(self.d, None, "value"))],
                    ),
                    Some(self.id(name)),
                )
                .from(Relation::Query(Box::new(inner)), Some(self.id("prep_mode")))
                .build();
        }
        let analytic = scan.what == ANALYTIC;
        let mut b = SelectBuilder::default();
        for &id in &scan.params {
            let agg = agg_of(id);
            let arg = agg.argument().map(argument).unwrap_or_else(ast::null);
            b = b.item(
                self.aggregate(agg, arg),
                Some(self.id(&fit.params[id].name)),
            );
        }
        let q = b.from(input(), Some(self.id(ROW))).build();
        if !analytic {
            return q;
        }
        // Window percentiles repeat on every row: collapse them to one row.
        let mut outer = SelectBuilder::default();
        for &id in &scan.params {
            let name = &fit.params[id].name;
            outer = outer.item(
                ast::call(self.d, Func::Max, &[("X", ast::column(self.d, None, name))]),
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
    pub fn fit_query(&self) -> Result<Query, Diagnostic> {
        self.fit_query_stamped(None)
    }

    /// The fit query with one more parameter, `prep_fitted_at`: the text of
    /// `now` (an expression for the time of fitting).
    pub fn fit_query_stamped(&self, now: Option<Expr>) -> Result<Query, Diagnostic> {
        let FitCtes { ctes, vocabularies } = self.fit_ctes()?;
        let text = |s: Option<&str>| {
            s.map_or_else(
                || ast::cast(ast::null(), &self.d.string_type),
                |s| ast::string(self.d, s),
            )
        };
        let row =
            |name: &str, kind: &str, number: Expr, value: Expr, frequency: Expr, from: &str| {
                SelectBuilder::default()
                    .item(text(Some(name)), Some(self.id("parameter")))
                    .item(text(Some(kind)), Some(self.id("kind")))
                    .item(number, Some(self.id("number")))
                    .item(value, Some(self.id("text")))
                    .item(frequency, Some(self.id("frequency")))
                    .from(Relation::Table(vec![self.id(from)]), None)
                    .build()
            };
        let null_number = || self.double(ast::null());
        let mut rows = Vec::new();
        for p in &self.ir.fit.params {
            let column = ast::column(self.d, None, &p.name);
            let (number, value) = match p.value_type {
                ColumnType::Numeric => (column, text(None)),
                ColumnType::String => (null_number(), ast::cast(column, &self.d.string_type)),
            };
            rows.push(row(&p.name, "value", number, value, null_number(), FITTED));
        }
        for learned in &vocabularies {
            let value = ast::column(self.d, None, &learned.value_column);
            let (number, value) = match learned.vocabulary.value_type {
                ColumnType::Numeric => (value, text(None)),
                ColumnType::String => (null_number(), ast::cast(value, &self.d.string_type)),
            };
            let mut q = row(
                &learned.vocabulary.name,
                "category",
                number,
                value,
                ast::column(self.d, None, "frequency"),
                &learned.cte,
            );
            if let Some(set) = &learned.set_column {
                // GROUPING(x) = 0: the rows grouped by this vocabulary's expression.
                q = ast::filtered(
                    q,
                    ast::binary(
                        BinaryOperator::Eq,
                        ast::column(self.d, None, set),
                        ast::integer(0),
                    ),
                );
            }
            rows.push(q);
        }
        if let Some(now) = now {
            let stamp = ast::cast(now, &self.d.string_type);
            rows.push(row(
                FITTED_AT,
                "value",
                null_number(),
                stamp,
                null_number(),
                FITTED,
            ));
        }
        Ok(ast::with_ctes(ctes, ast::union_all(rows)))
    }

    /// The one-row parameters relation, pivoted back from the long form.
    fn pivot_params(&self, long: Relation) -> Query {
        let mut b = SelectBuilder::default();
        for p in &self.ir.fit.params {
            let column = match p.value_type {
                ColumnType::Numeric => "number",
                ColumnType::String => "text",
            };
            let is_it = ast::binary(
                BinaryOperator::Eq,
                ast::column(self.d, None, "parameter"),
                ast::string(self.d, &p.name),
            );
            let pick = ast::case(
                vec![(is_it, ast::column(self.d, None, column))],
                ast::null(),
            );
            b = b.item(
                ast::call(self.d, Func::Max, &[("X", pick)]),
                Some(self.id(&p.name)),
            );
        }
        b.from(long, None).build()
    }

    // ---- the apply ---------------------------------------------------------

    fn learned_error(&self, feature: &str, reason: &str, span: &Option<Span>) -> Diagnostic {
        Diagnostic::new(
            Code::NeedsFittedValues,
            format!("feature `{feature}` cannot be compiled to plain SQL: {reason}, and the output columns depend on them"),
        )
        .hint(
            "list the categories in the spec (`categories: [a, b, c]`, without min_frequency/max_categories), \
             or learn them first: `prep fit` then `prep compile --params FILE`; \
             `--emit dbt-package` reads them when dbt compiles",
        )
        .at(span.clone())
    }

    /// The apply query with every fitted value written as a literal: no
    /// parameters relation, no join.
    pub fn apply_bound_query(&self) -> Result<Query, Diagnostic> {
        assert!(self.bound.is_some(), "bind fitted values first");
        self.apply_select(None)
    }

    /// The SELECT producing the features from the source row and the parameters row.
    fn apply_select(&self, params: Option<Relation>) -> Result<Query, Diagnostic> {
        self.apply_select_deferring(params, None)
    }

    /// As `apply_select`; with `deferred`, an encoder whose categories are
    /// learned becomes a placeholder select item, described in `deferred`.
    fn apply_select_deferring(
        &self,
        params: Option<Relation>,
        mut deferred: Option<&mut Vec<DeferredItem>>,
    ) -> Result<Query, Diagnostic> {
        let mut b = SelectBuilder::default();
        for c in &self.ir.apply.passthrough {
            b = b.item(ast::column(self.d, Some(ROW), c), Some(self.id(c)));
        }
        for item in &self.ir.apply.items {
            match item {
                ApplyItem::Output(o) => {
                    b = b.item(self.expr(&o.expr, ParamScope::Row), Some(self.id(&o.name)))
                }
                ApplyItem::Learned {
                    deferred: Some(d),
                    feature,
                    ..
                } if deferred.is_some() => {
                    let items = deferred.as_deref_mut().expect("checked");
                    let placeholder =
                        self.placeholder(&format!("prep_learned_{}", items.len() + 1));
                    b = b.item(Expr::Identifier(Ident::new(&placeholder)), None);
                    items.push(self.deferred_item(placeholder, feature, d));
                }
                ApplyItem::Learned {
                    feature,
                    reason,
                    span,
                    ..
                } => return Err(self.learned_error(feature, reason, span)),
            }
        }
        let read: Vec<&ir::Expr> = self
            .ir
            .apply
            .items
            .iter()
            .filter_map(|item| match item {
                ApplyItem::Output(o) => Some(&o.expr),
                ApplyItem::Learned {
                    deferred: Some(d), ..
                } => Some(&d.row),
                ApplyItem::Learned { .. } => None,
            })
            .collect();
        let mut ctes = Vec::new();
        let (rows, _) = self.with_lets(
            self.source_relation(),
            params.clone(),
            &read,
            &mut Default::default(),
            &mut ctes,
            "prep_values",
        );
        b = b.from(rows, Some(self.id(ROW)));
        if let Some(params) = params {
            b = b.from(params, Some(self.id(PARAMS)));
        }
        Ok(ast::with_ctes(ctes, b.build()))
    }

    /// The SQL pieces a deferred encoder is written from.
    fn deferred_item(&self, placeholder: String, feature: &str, d: &ir::Deferred) -> DeferredItem {
        let row = self.expr(&d.row, ParamScope::Row);
        let fail = self.expr(
            &ir::Expr::Fail {
                message: format!("prep: unknown category in column {feature}: "),
                value: Box::new(d.row.clone()),
            },
            ParamScope::Row,
        );
        let number = |v: Option<f64>| {
            v.map_or_else(
                || ast::cast(ast::null(), &self.d.double_type),
                |v| ast::double(v, self.d),
            )
        };
        let (missing, unknown) = match &d.encoder {
            ir::DeferredEncoder::Ordinal(o) => (
                number(o.encoded_missing_value).to_string(),
                match o.handle_unknown {
                    crate::spec::OrdinalUnknown::Error => fail.to_string(),
                    crate::spec::OrdinalUnknown::UseEncodedValue => {
                        number(o.unknown_value).to_string()
                    }
                },
            ),
            ir::DeferredEncoder::OneHot(_) => (String::new(), String::new()),
        };
        DeferredItem {
            placeholder,
            feature: feature.to_string(),
            deferred: d.clone(),
            row: row.to_string(),
            fail: fail.to_string(),
            one: ast::double(1.0, self.d).to_string(),
            zero: ast::double(0.0, self.d).to_string(),
            missing,
            unknown,
            float_type: self.d.double_type.to_string(),
            quote: self.d.identifier_quote,
            string_escapes: quote::string_escapes(self.d).clone(),
            max_identifier_bytes: self.d.max_identifier_bytes,
        }
    }

    /// The apply query where learned encoders are placeholders (see `DeferredItem`).
    pub fn apply_query_deferred(
        &self,
        params: ParamsRelation,
    ) -> Result<(Query, Vec<DeferredItem>), Diagnostic> {
        let mut items = Vec::new();
        let query = self.apply_pivoting(params, Some(&mut items))?;
        Ok((query, items))
    }

    /// The apply query, reading the fitted parameters (in the long form of
    /// `fit_query`) from `params`.
    pub fn apply_query(&self, params: ParamsRelation) -> Result<Query, Diagnostic> {
        self.apply_pivoting(params, None)
    }

    /// The apply SELECT after a CTE pivoting the long parameters to one row.
    fn apply_pivoting(
        &self,
        params: ParamsRelation,
        deferred: Option<&mut Vec<DeferredItem>>,
    ) -> Result<Query, Diagnostic> {
        let long = Relation::Table(vec![match params {
            ParamsRelation::Named(name) => self.id(name),
            ParamsRelation::Placeholder => Ident::new(&self.params_placeholder),
        }]);
        let body =
            self.apply_select_deferring(Some(Relation::Table(vec![self.id(PARAMS)])), deferred)?;
        Ok(ast::with_ctes(
            vec![(self.id(PARAMS), self.pivot_params(long))],
            body,
        ))
    }

    /// One statement: the fit in CTEs, then the apply reading its parameter row.
    pub fn inline_query(&self) -> Result<Query, Diagnostic> {
        let FitCtes { ctes, .. } = self.fit_ctes()?;
        let body = self.apply_select(Some(Relation::Table(vec![self.id(FITTED)])))?;
        Ok(ast::with_ctes(ctes, body))
    }
}

/// An encoder left to be written where its learned categories are read: the
/// placeholder printed in its place and the dialect's SQL pieces for it.
#[derive(Debug, Clone)]
pub struct DeferredItem {
    pub placeholder: String,
    pub feature: String,
    pub deferred: ir::Deferred,
    /// The value encoded, as SQL.
    pub row: String,
    /// SQL that stops the query naming the value (handle_unknown: error).
    pub fail: String,
    pub one: String,
    pub zero: String,
    /// Ordinal codes for missing and unknown values, as SQL.
    pub missing: String,
    pub unknown: String,
    pub float_type: String,
    /// Names are quoted with this character, doubled inside them (names the
    /// dialect refuses never reach a deferred encoder: `check_names`).
    pub quote: char,
    /// How the dialect escapes text, for the categories written at run time.
    pub string_escapes: quote::StringEscapes,
    /// Longer names are refused when the columns are written (PostgreSQL would truncate them).
    pub max_identifier_bytes: Option<usize>,
}

/// The fit's CTEs, and where each learned vocabulary is.
struct FitCtes<'a> {
    ctes: Vec<(Ident, Query)>,
    vocabularies: Vec<LearnedIn<'a>>,
}

/// A vocabulary's rows: in `cte`, values in `value_column`; with grouping
/// sets, only the rows where `set_column` (its GROUPING()) is 0.
struct LearnedIn<'a> {
    vocabulary: &'a ir::Vocabulary,
    cte: String,
    value_column: String,
    set_column: Option<String>,
}
