//! The long form's operators, as AST (see `dialect::UnpivotStyle`): each
//! dialect's way of turning the one-row fitted relation into one row per
//! parameter.

use sqlparser::ast::{self, Expr, Ident, ObjectName, Query, SetExpr, TableFactor};

use super::{Relation, SelectBuilder, filled, integer, printed, select_of, skeleton};

/// The long form of a one-row relation (see `dialect::UnpivotStyle`): the
/// query `q` (reading one table) with its table unpivoted, or joined to a
/// lateral list of rows. `rows` are `(name, value...)` tuples; `columns`
/// name the name column then the value columns.
pub fn unpivot(mut q: Query, value: Ident, name: Ident, columns: Vec<Ident>) -> Query {
    let mut sk = skeleton("SELECT 1 FROM t UNPIVOT INCLUDE NULLS (v FOR n IN (a))");
    let mut factor = select_of(&mut sk).from.remove(0).relation;
    let select = select_of(&mut q);
    if let TableFactor::Unpivot {
        table,
        value: v,
        name: n,
        columns: c,
        ..
    } = &mut factor
    {
        **table = select.from[0].relation.clone();
        *v = Expr::Identifier(value);
        *n = name;
        *c = filled(c.remove(0), columns, |item, column| {
            item.expr = Expr::Identifier(column)
        });
    }
    select.from[0].relation = factor;
    q
}

/// A row of a long form, `a, b, c`, printed now and carried verbatim: a
/// long form has a row per parameter, and their AST would dwarf their text.
fn row_now(row: Vec<Expr>) -> Expr {
    let text = row
        .iter()
        .map(Expr::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    printed(text)
}

/// `SELECT arrayJoin([(row), ...]) AS alias FROM relation` (ClickHouse):
/// one row per tuple.
pub fn array_join(
    rows: impl Iterator<Item = Vec<Expr>>,
    alias: Ident,
    relation: Relation,
) -> Query {
    let tuples: Vec<String> = rows.map(|row| format!("({})", row_now(row))).collect();
    let joined = printed(format!("arrayJoin([{}])", tuples.join(", ")));
    SelectBuilder::default()
        .item(joined, Some(alias))
        .from(relation, None)
        .build()
}

/// `tupleElement(tuple, i)`: the `i`-th (1-based) part of a tuple (ClickHouse).
pub fn tuple_element(tuple: Ident, i: usize) -> Expr {
    printed(format!("tupleElement({tuple}, {i})"))
}

/// `q CROSS JOIN LATERAL (VALUES (row), ...) AS alias (columns)`.
pub fn lateral_values(
    mut q: Query,
    rows: impl Iterator<Item = Vec<Expr>>,
    alias: Ident,
    columns: Vec<Ident>,
) -> Query {
    let mut sk = skeleton("SELECT 1 FROM t CROSS JOIN LATERAL (VALUES (1)) AS u (a)");
    let mut join = select_of(&mut sk).from.remove(0).joins.remove(0);
    if let TableFactor::Derived {
        subquery,
        alias: Some(a),
        ..
    } = &mut join.relation
    {
        if let SetExpr::Values(values) = subquery.body.as_mut() {
            values.rows = filled(values.rows.remove(0), rows, |r, row| {
                r.content = vec![row_now(row)]
            });
        }
        a.name = alias;
        a.columns = filled(a.columns.remove(0), columns, |c, name| c.name = name);
    }
    select_of(&mut q).from[0].joins.push(join);
    q
}

/// `lateral_values`' join written `CROSS APPLY (VALUES ...)` (T-SQL).
pub fn cross_apply(mut q: Query) -> Query {
    if let Some(join) = select_of(&mut q).from[0].joins.last_mut() {
        join.join_operator = ast::JoinOperator::CrossApply;
        if let TableFactor::Derived { lateral, .. } = &mut join.relation {
            *lateral = false;
        }
    }
    q
}

/// `q LATERAL VIEW STACK(n, row..., ...) alias AS columns` (Hive, Spark).
pub fn lateral_stack(
    mut q: Query,
    rows: impl ExactSizeIterator<Item = Vec<Expr>>,
    alias: Ident,
    columns: Vec<Ident>,
) -> Query {
    let mut sk = skeleton("SELECT 1 FROM t LATERAL VIEW STACK(1, 2) u AS a");
    let mut view = select_of(&mut sk).lateral_views.remove(0);
    if let Expr::Function(f) = &mut view.lateral_view
        && let ast::FunctionArguments::List(list) = &mut f.args
    {
        let count = integer(rows.len() as i64);
        let args = std::iter::once(count).chain(rows.map(row_now));
        list.args = filled(list.args.remove(0), args, |a, e| {
            if let ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(x)) = a {
                *x = e;
            }
        });
    }
    view.lateral_view_name = ObjectName::from(vec![alias]);
    view.lateral_col_alias = columns;
    select_of(&mut q).lateral_views.push(view);
    q
}
