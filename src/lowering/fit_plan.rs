//! The fit plan as lowering builds it: parameters learned once each (an
//! aggregate by level and meaning, a derived value by name), and the per-row
//! values later expressions share.

use std::collections::HashMap;
use std::sync::Arc;

use crate::ir::{Agg, Expr, Let, Param, ParamDef, ParamId, StepRecord, Vocabulary};
use crate::spec::ColumnType;

#[derive(Default)]
pub(crate) struct Fit {
    pub(crate) params: Vec<Param>,
    pub(crate) vocabularies: Vec<Vocabulary>,
    pub(crate) steps: Vec<StepRecord>,
    pub(crate) lets: Vec<Arc<Let>>,
    /// Aggregates by level and meaning, and derived parameters by name: each
    /// is learned once, found without a scan of every parameter.
    pub(super) aggregates: HashMap<(usize, String), ParamId>,
    pub(super) derived: HashMap<String, ParamId>,
}

impl Fit {
    pub(super) fn push(&mut self, param: Param) -> ParamId {
        self.params.push(param);
        self.params.len() - 1
    }

    /// An aggregate parameter; the same aggregate at the same level is learned
    /// once. Without a `doc`, the aggregate's own text describes it.
    pub(crate) fn aggregate(
        &mut self,
        name: String,
        level: usize,
        agg: Agg,
        value_type: ColumnType,
        doc: Option<&str>,
    ) -> ParamId {
        let key = (level, agg.to_string());
        if let Some(&i) = self.aggregates.get(&key) {
            return i;
        }
        let doc = doc.map_or_else(|| key.1.clone(), str::to_owned);
        self.aggregates.insert(key, self.params.len());
        self.push(Param {
            name,
            level,
            def: ParamDef::Aggregate(agg),
            value_type,
            doc,
            stored: true,
        })
    }

    /// `expr` computed once per row and read by name, unless it is simple.
    pub(crate) fn shared(&mut self, expr: Expr) -> Expr {
        if expr.is_simple() {
            return expr;
        }
        self.named_value(expr)
    }

    /// `expr` computed once per row and read by name, even if it is simple
    /// (unless it already is a named value): a value a join compares reads
    /// a column of the rows before it, not an expression.
    pub(crate) fn named_value(&mut self, expr: Expr) -> Expr {
        if let Expr::Let(_) = expr {
            return expr;
        }
        let params = expr.params();
        let l = Arc::new(Let {
            id: self.lets.len(),
            expr,
            params,
        });
        self.lets.push(l.clone());
        Expr::Let(l)
    }

    /// The level an expression can be evaluated at: after every parameter it reads.
    pub(crate) fn level_of(&self, e: &Expr) -> usize {
        e.params()
            .into_iter()
            .map(|id| self.params[id].level)
            .max()
            .unwrap_or(0)
    }

    /// A named parameter holding `expr`, unless `expr` already is one.
    pub(crate) fn derived(
        &mut self,
        name: String,
        expr: Expr,
        value_type: ColumnType,
        doc: &str,
    ) -> Expr {
        Expr::Param(self.named_id(name, expr, value_type, doc, true))
    }

    /// A working value of the fit holding `expr` (see `Param::stored`).
    pub(super) fn working(&mut self, name: String, expr: Expr, doc: &str) -> Expr {
        Expr::Param(self.named_id(name, expr, ColumnType::Numeric, doc, false))
    }

    /// `expr` as a stored numeric parameter: itself if it is one, else a
    /// derived one named `name`.
    pub(crate) fn param_id(&mut self, name: String, expr: Expr, doc: &str) -> ParamId {
        self.named_id(name, expr, ColumnType::Numeric, doc, true)
    }

    fn named_id(
        &mut self,
        name: String,
        expr: Expr,
        value_type: ColumnType,
        doc: &str,
        stored: bool,
    ) -> ParamId {
        if let Expr::Param(p) = expr {
            // A working value asked for as a stored one (a statistic equal to
            // a step of its own computation) is stored: the apply reads it.
            self.params[p].stored |= stored;
            return p;
        }
        if let Some(&i) = self.derived.get(&name)
            && matches!(&self.params[i].def, ParamDef::Derived(e) if *e == expr)
        {
            return i;
        }
        self.derived.insert(name.clone(), self.params.len());
        let level = self.level_of(&expr);
        self.push(Param {
            name,
            level,
            def: ParamDef::Derived(expr),
            value_type,
            doc: doc.to_string(),
            stored,
        })
    }
}
