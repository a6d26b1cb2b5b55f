//! A thin layer over sqlparser's AST: the only module that builds its nodes.
//! Quoting and escaping are decided in `quote.rs`; the AST carries its text verbatim.
//! Statement shapes (SELECT, joins, CTEs) are taken from parsed skeletons of
//! fixed text and then filled in, so a sqlparser upgrade that adds fields to
//! these structs touches nothing here.

use std::ops::ControlFlow;

use sqlparser::ast::helpers::attached_token::AttachedToken;
use sqlparser::ast::{
    self, BinaryOperator, CaseWhen, CastKind, DataType, Expr, Ident, ObjectName, Query, Select,
    SelectItem, SetExpr, Statement, TableAlias, TableFactor, TableWithJoins, Value,
    visit_expressions_mut,
};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;

use super::{print, quote};

mod unpivot;
use crate::dialect::{Dialect, FirstRow, Func};
pub use crate::text::float_text;
pub use unpivot::*;

/// An identifier, quoted by `quote::ident` and carried verbatim.
pub fn ident(d: &Dialect, name: &str) -> Ident {
    verbatim(quote::ident(d, name))
}

/// Text the printer writes as it is: literals and names prep has quoted itself.
fn verbatim(text: String) -> Ident {
    Ident::new(text)
}

/// An expression already printed (by prep, from nodes of this module, or a
/// literal `quote.rs` wrote), carried verbatim.
pub fn printed(text: String) -> Expr {
    Expr::Identifier(verbatim(text))
}

pub fn column(d: &Dialect, qualifier: Option<&str>, name: &str) -> Expr {
    match qualifier {
        Some(q) => Expr::CompoundIdentifier(vec![ident(d, q), ident(d, name)]),
        None => Expr::Identifier(ident(d, name)),
    }
}

/// A string literal, escaped by `quote::string` and carried verbatim.
pub fn string(d: &Dialect, text: &str) -> Expr {
    printed(quote::string(d, text))
}

/// A double value of the dialect's double type. Whole numbers below 1e15 are
/// exact as integer literals. Anything else is cast from its shortest
/// round-trip text: every engine parses a string to a double exactly, while
/// numeric literals may be typed DECIMAL (DuckDB, PostgreSQL) and lose the
/// last bit on the way to DOUBLE.
pub fn double(v: f64, d: &Dialect) -> Expr {
    let literal = if v.fract() == 0.0 && v.abs() < 1e15 && !(v == 0.0 && v.is_sign_negative()) {
        Expr::value(Value::Number(format!("{}", v as i64), false))
    } else {
        string(d, &float_text(v))
    };
    cast(literal, &d.double_type)
}

/// A percentile fraction: a plain decimal literal, which every dialect accepts there.
pub fn fraction(p: f64) -> Expr {
    Expr::value(Value::Number(format!("{p}"), false))
}

pub fn integer(v: i64) -> Expr {
    Expr::value(Value::Number(v.to_string(), false))
}

/// The query with `WHERE filter` (it has none yet).
pub fn filtered(mut q: Query, filter: Expr) -> Query {
    select_of(&mut q).selection = Some(filter);
    q
}

pub fn null() -> Expr {
    Expr::value(Value::Null)
}

pub fn cast(e: Expr, data_type: &DataType) -> Expr {
    Expr::Cast {
        kind: CastKind::Cast,
        expr: Box::new(e),
        data_type: data_type.clone(),
        format: None,
    }
}

/// Parenthesises operands that are themselves operators: sqlparser prints
/// the tree as built and adds no parentheses of its own.
fn operand(e: Expr) -> Expr {
    match e {
        Expr::BinaryOp { .. } => Expr::Nested(Box::new(e)),
        other => other,
    }
}

pub fn binary(op: BinaryOperator, a: Expr, b: Expr) -> Expr {
    Expr::BinaryOp {
        left: Box::new(operand(a)),
        op,
        right: Box::new(operand(b)),
    }
}

pub fn is_null(e: Expr) -> Expr {
    Expr::IsNull(Box::new(operand(e)))
}

pub fn not(e: Expr) -> Expr {
    // `NOT x IN (..)` is read as `(NOT x) IN (..)` by some engines.
    let e = match e {
        Expr::InList { .. } | Expr::InSubquery { .. } => Expr::Nested(Box::new(e)),
        other => operand(other),
    };
    Expr::UnaryOp {
        op: ast::UnaryOperator::Not,
        expr: Box::new(e),
    }
}

pub fn is_not_null(e: Expr) -> Expr {
    Expr::IsNotNull(Box::new(operand(e)))
}

pub fn in_list(e: Expr, list: Vec<Expr>) -> Expr {
    Expr::InList {
        expr: Box::new(operand(e)),
        list,
        negated: false,
    }
}

/// `e IN (subquery)`.
pub fn in_query(e: Expr, q: Query) -> Expr {
    Expr::InSubquery {
        expr: Box::new(operand(e)),
        subquery: Box::new(q),
        negated: false,
    }
}

/// `CASE WHEN .. THEN .. ELSE otherwise END`; with no arms, `otherwise`.
/// `CASE WHEN c THEN v ... ELSE otherwise END`; a NULL `otherwise` is left
/// out (a CASE without ELSE gives NULL), a CASE in the ELSE joins this one's
/// arms, and a one-arm CASE is parenthesised, which prints it on one line.
pub fn case(mut arms: Vec<(Expr, Expr)>, otherwise: Expr) -> Expr {
    if arms.is_empty() {
        return otherwise;
    }
    let otherwise = match otherwise {
        Expr::Nested(inner) if matches!(*inner, Expr::Case { operand: None, .. }) => *inner,
        other => other,
    };
    let otherwise = match otherwise {
        Expr::Case {
            operand: None,
            conditions,
            else_result,
            ..
        } => {
            arms.extend(conditions.into_iter().map(|c| (c.condition, c.result)));
            else_result.map_or_else(null, |e| *e)
        }
        other => other,
    };
    let else_result = (otherwise != null()).then(|| Box::new(otherwise));
    let one_arm = arms.len() == 1;
    let e = Expr::Case {
        case_token: AttachedToken::empty(),
        end_token: AttachedToken::empty(),
        operand: None,
        conditions: arms
            .into_iter()
            .map(|(condition, result)| CaseWhen { condition, result })
            .collect(),
        else_result,
    };
    if one_arm {
        Expr::Nested(Box::new(e))
    } else {
        e
    }
}

pub fn collate(e: Expr, collation: &ObjectName) -> Expr {
    Expr::Collate {
        expr: Box::new(operand(e)),
        collation: collation.clone(),
    }
}

/// A dialect's function template with its placeholders replaced. Arguments
/// are AST nodes, so nothing in them is ever read as SQL text.
pub fn call<const N: usize>(d: &Dialect, func: Func, args: [(&str, Expr); N]) -> Expr {
    let mut e = d.template(func).clone();
    let names: [&str; N] = args.each_ref().map(|(name, _)| *name);
    let position = |node: &Expr| match node {
        Expr::Identifier(id) if id.quote_style.is_none() => {
            names.iter().position(|name| *name == id.value)
        }
        _ => None,
    };
    // Each operand is moved into its last place and cloned into any other
    // (most templates read an operand once): no deep copy of large operands.
    let mut uses = [0usize; N];
    let _ = ast::visit_expressions(&e, |node| {
        if let Some(i) = position(node) {
            uses[i] += 1;
        }
        ControlFlow::<()>::Continue(())
    });
    let mut slots = args.map(|(_, arg)| Some(arg));
    let _ = visit_expressions_mut(&mut e, |node| {
        if let Some(i) = position(node) {
            uses[i] = uses[i].saturating_sub(1);
            let arg = if uses[i] == 0 {
                slots[i].take()
            } else {
                slots[i].clone()
            };
            if let Some(arg) = arg {
                *node = operand(arg);
            }
        }
        ControlFlow::<()>::Continue(())
    });
    e
}

/// A statement shape, parsed once per text and then cloned. A few fixed
/// texts, looked up by address: a wide spec asks for them by the hundred
/// thousand.
fn skeleton(sql: &'static str) -> Query {
    thread_local! {
        static PARSED: std::cell::RefCell<Vec<(&'static str, Query)>> = Default::default();
    }
    PARSED.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some((_, q)) = cache.iter().find(|(text, _)| std::ptr::eq(*text, sql)) {
            return q.clone();
        }
        let statement = Parser::parse_sql(&GenericDialect {}, sql)
            .expect("skeletons are fixed, valid SQL")
            .remove(0);
        let q = match statement {
            Statement::Query(q) => *q,
            _ => unreachable!("skeletons are queries"),
        };
        cache.push((sql, q.clone()));
        q
    })
}

fn select_of(q: &mut Query) -> &mut Select {
    match q.body.as_mut() {
        SetExpr::Select(s) => s,
        _ => unreachable!("skeletons are plain SELECTs"),
    }
}

/// A relation in FROM: a named table or a subquery, with an optional alias.
#[derive(Clone)]
pub enum Relation {
    Table(Vec<Ident>),
    Query(Box<Query>),
}

/// The skeleton's alias renamed, or removed.
fn rename_alias(skeleton_alias: &mut Option<TableAlias>, alias: Option<Ident>) {
    match alias {
        Some(name) => {
            if let Some(a) = skeleton_alias.as_mut() {
                a.name = name;
            }
        }
        None => *skeleton_alias = None,
    }
}

fn table_factor(relation: Relation, alias: Option<Ident>) -> TableFactor {
    // Every SELECT reads a table: its node is kept, not cut from a statement each time.
    thread_local! {
        static TABLE: TableFactor = select_of(&mut skeleton("SELECT 1 FROM t AS a")).from.remove(0).relation;
    }
    match relation {
        Relation::Table(parts) => {
            let mut factor = TABLE.with(TableFactor::clone);
            if let TableFactor::Table { name, alias: a, .. } = &mut factor {
                *name = ObjectName::from(parts);
                rename_alias(a, alias);
            }
            factor
        }
        Relation::Query(query) => {
            let mut q = skeleton("SELECT 1 FROM (SELECT 1) AS a");
            let mut factor = select_of(&mut q).from.remove(0).relation;
            if let TableFactor::Derived {
                subquery, alias: a, ..
            } = &mut factor
            {
                *subquery = query;
                rename_alias(a, alias);
            }
            factor
        }
    }
}

/// `SELECT items FROM r1 AS a1 CROSS JOIN r2 AS a2 ... [WHERE filter]`.
#[derive(Default)]
pub struct SelectBuilder {
    items: Vec<SelectItem>,
    /// The relations read, each after the first cross joined, or left
    /// joined on its condition.
    from: Vec<(Relation, Option<Ident>, Option<Expr>)>,
    filter: Option<Expr>,
    having: Option<Expr>,
    group_by: Vec<Expr>,
    order_by: Vec<(Expr, bool)>,
    first_row: Option<FirstRow>,
}

/// A select item printed now (`print::ahead`), carried as its text.
pub fn printed_item(e: Expr, alias: Option<Ident>) -> SelectItem {
    let item = match alias {
        Some(alias) => SelectItem::ExprWithAlias { expr: e, alias },
        None => SelectItem::UnnamedExpr(e),
    };
    SelectItem::UnnamedExpr(printed(print::ahead(&item)))
}

impl SelectBuilder {
    /// An item, printed now (`print::ahead`): a wide SELECT holds its text, not its AST.
    pub fn item(mut self, e: Expr, alias: Option<Ident>) -> Self {
        self.items.push(printed_item(e, alias));
        self
    }

    /// Items already printed (`printed_item`), in order.
    pub fn printed_items(mut self, items: impl IntoIterator<Item = SelectItem>) -> Self {
        self.items.extend(items);
        self
    }

    pub fn wildcard(mut self) -> Self {
        let mut q = skeleton("SELECT * FROM t");
        self.items.push(select_of(&mut q).projection.remove(0));
        self
    }

    /// `relation.*`.
    pub fn wildcard_of(mut self, relation: Ident) -> Self {
        let mut q = skeleton("SELECT t.* FROM t");
        let mut item = select_of(&mut q).projection.remove(0);
        if let SelectItem::QualifiedWildcard(
            ast::SelectItemQualifiedWildcardKind::ObjectName(name),
            _,
        ) = &mut item
        {
            *name = ObjectName::from(vec![relation]);
        }
        self.items.push(item);
        self
    }

    pub fn from(mut self, relation: Relation, alias: Option<Ident>) -> Self {
        self.from.push((relation, alias, None));
        self
    }

    /// `LEFT JOIN relation AS alias ON on` (after at least one `from`).
    pub fn left_join(mut self, relation: Relation, alias: Ident, on: Expr) -> Self {
        self.from.push((relation, Some(alias), Some(on)));
        self
    }

    pub fn filter(mut self, e: Expr) -> Self {
        self.filter = Some(e);
        self
    }

    /// `HAVING e`: a filter on the aggregated row(s).
    pub fn having(mut self, e: Expr) -> Self {
        self.having = Some(e);
        self
    }

    /// Groups by one expression, orders by `(expr, descending)` pairs and
    /// keeps the first row, as the dialect spells it: the shape of a mode
    /// query. The ordered expressions are never NULL (the caller filters
    /// them), so no NULL ordering is written: engines disagree on it and
    /// some cannot spell it.
    pub fn group_order_first(
        mut self,
        group_by: Expr,
        order_by: Vec<(Expr, bool)>,
        style: FirstRow,
    ) -> Self {
        self.group_by = vec![group_by];
        self.order_by = order_by;
        self.first_row = Some(style);
        self
    }

    /// Groups by one expression.
    pub fn group_by(mut self, e: Expr) -> Self {
        self.group_by = vec![e];
        self
    }

    /// Groups by several expressions.
    pub fn group_by_each(mut self, exprs: Vec<Expr>) -> Self {
        self.group_by = exprs;
        self
    }

    /// `GROUP BY GROUPING SETS ((e1), (e2), ...)`.
    pub fn grouping_sets(mut self, exprs: Vec<Expr>) -> Self {
        self.group_by = vec![Expr::GroupingSets(
            exprs.into_iter().map(|e| vec![e]).collect(),
        )];
        self
    }

    pub fn build(self) -> Query {
        let mut q = skeleton(match self.first_row {
            None => "SELECT 1 FROM t",
            Some(FirstRow::Limit) => "SELECT 1 FROM t GROUP BY 1 ORDER BY 1 DESC LIMIT 1",
            Some(FirstRow::Top) => "SELECT TOP 1 1 FROM t GROUP BY 1 ORDER BY 1 DESC",
            Some(FirstRow::FetchFirst) => {
                "SELECT 1 FROM t GROUP BY 1 ORDER BY 1 DESC FETCH FIRST 1 ROWS ONLY"
            }
        });
        if self.first_row.is_some() {
            let template = q.order_by.as_ref().and_then(|o| match &o.kind {
                ast::OrderByKind::Expressions(v) => v.first().cloned(),
                _ => None,
            });
            let template = template.expect("the skeleton has an ORDER BY");
            if let Some(order) = q.order_by.as_mut() {
                order.kind = ast::OrderByKind::Expressions(
                    self.order_by
                        .into_iter()
                        .map(|(expr, desc)| {
                            let mut o = template.clone();
                            o.expr = expr;
                            o.options.sort = Some(if desc {
                                ast::OrderBySort::Desc
                            } else {
                                ast::OrderBySort::Asc
                            });
                            o
                        })
                        .collect(),
                );
            }
        }
        let select = select_of(&mut q);
        select.projection = self.items;
        let mut relations = (self.from.into_iter()).map(|(r, a, on)| (table_factor(r, a), on));
        // No relation: a SELECT of constants (a row of literals).
        select.from = match relations.next() {
            None => Vec::new(),
            Some((first, _)) => {
                let joins = relations
                    .map(|(relation, on)| joined(relation, on))
                    .collect();
                vec![TableWithJoins {
                    relation: first,
                    joins,
                }]
            }
        };
        select.selection = self.filter;
        select.having = self.having;
        if !self.group_by.is_empty()
            && let ast::GroupByExpr::Expressions(exprs, _) = &mut select.group_by
        {
            *exprs = self.group_by;
        }
        q
    }
}

/// `CROSS JOIN relation`, or `LEFT JOIN relation ON on`.
fn joined(relation: TableFactor, on: Option<Expr>) -> ast::Join {
    thread_local! {
        static CROSS: ast::Join = select_of(&mut skeleton("SELECT 1 FROM a CROSS JOIN b")).from.remove(0).joins.remove(0);
        static LEFT: ast::Join = select_of(&mut skeleton("SELECT 1 FROM a LEFT JOIN b ON TRUE")).from.remove(0).joins.remove(0);
    }
    let mut j = match on {
        None => CROSS.with(ast::Join::clone),
        Some(on) => {
            let mut j = LEFT.with(ast::Join::clone);
            if let ast::JoinOperator::LeftOuter(ast::JoinConstraint::On(c))
            | ast::JoinOperator::Left(ast::JoinConstraint::On(c)) = &mut j.join_operator
            {
                *c = on;
            }
            j
        }
    };
    j.relation = relation;
    j
}

/// A window function over the rows ordered by `order_by` (ascending), on
/// the frame from `start` to `end` rows after the current one (`None`: the
/// current row, or without order, every row).
pub fn over(mut call: Expr, order_by: Option<Expr>, frame: Option<(i64, i64)>) -> Expr {
    use ast::{WindowFrame, WindowFrameBound, WindowFrameUnits, WindowSpec, WindowType};
    let bound = |n: i64| match n {
        0 => WindowFrameBound::CurrentRow,
        n if n > 0 => WindowFrameBound::Following(Some(Box::new(integer(n)))),
        n => WindowFrameBound::Preceding(Some(Box::new(integer(-n)))),
    };
    if let Expr::Function(f) = &mut call {
        f.over = Some(WindowType::WindowSpec(WindowSpec {
            window_name: None,
            partition_by: vec![],
            order_by: order_by
                .map(|e| {
                    let mut q = skeleton("SELECT 1 FROM t ORDER BY x");
                    let mut o = match q.order_by.take().map(|o| o.kind) {
                        Some(ast::OrderByKind::Expressions(mut v)) => v.remove(0),
                        _ => unreachable!("the skeleton orders by one expression"),
                    };
                    o.expr = e;
                    vec![o]
                })
                .unwrap_or_default(),
            window_frame: frame.map(|(start, end)| WindowFrame {
                units: WindowFrameUnits::Rows,
                start_bound: bound(start),
                end_bound: Some(bound(end)),
            }),
        }));
    }
    call
}

/// Copies of a skeleton's node, one per value, each filled in by `set`.
fn filled<T: Clone, V>(
    template: T,
    values: impl IntoIterator<Item = V>,
    set: impl Fn(&mut T, V),
) -> Vec<T> {
    values
        .into_iter()
        .map(|v| {
            let mut node = template.clone();
            set(&mut node, v);
            node
        })
        .collect()
}
