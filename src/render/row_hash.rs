//! The row hash of the fit id: a dialect's `row_hash` template applied to
//! any number of columns, either as one argument list (`XS`) or folded one
//! column at a time (`X`, `H`).

use std::ops::ControlFlow;

use sqlparser::ast::{
    self, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, visit_expressions_mut,
};

use super::ast::{call, integer};
use crate::dialect::{Dialect, Func};

/// The dialect's hash of a row's `columns` (its `row_hash` template), as a
/// tree: a template call hashes at most a few columns (PostgreSQL takes 100
/// arguments at most; a fold nests one call per column), and the hashes of
/// those groups are hashed in turn, so no call is long and no nesting deep.
pub fn row_hash(d: &Dialect, mut columns: Vec<Expr>) -> Expr {
    let template = d.template(Func::RowHash);
    let variadic = reads_placeholder(template, "XS");
    let group = if variadic { 50 } else { 8 };
    loop {
        let mut hashes = Vec::new();
        let mut rest = columns.into_iter().peekable();
        while rest.peek().is_some() {
            let part: Vec<Expr> = rest.by_ref().take(group).collect();
            hashes.push(if variadic {
                with_arguments(template.clone(), part)
            } else {
                // Folded from the last column, so the columns read in order.
                (part.into_iter().rev()).fold(integer(0), |h, x| {
                    call(d, Func::RowHash, [("X", x), ("H", h)])
                })
            });
        }
        if hashes.len() == 1 {
            return hashes.remove(0);
        }
        columns = hashes;
    }
}

fn reads_placeholder(template: &Expr, name: &str) -> bool {
    let found = ast::visit_expressions(template, |node| match node {
        Expr::Identifier(id) if id.quote_style.is_none() && id.value == name => {
            ControlFlow::Break(())
        }
        _ => ControlFlow::Continue(()),
    });
    found.is_break()
}

/// `template` with its placeholder `XS` replaced by `items`, wherever it is
/// one argument of a call or one member of a row or struct.
fn with_arguments(mut template: Expr, items: Vec<Expr>) -> Expr {
    let is_xs = |e: &Expr| matches!(e, Expr::Identifier(id) if id.quote_style.is_none() && id.value == "XS");
    let splice = |list: &mut Vec<Expr>| {
        if let Some(i) = list.iter().position(is_xs) {
            list.splice(i..=i, items.iter().cloned());
        }
    };
    let _ = visit_expressions_mut(&mut template, |node| {
        match node {
            Expr::Function(f) => {
                if let FunctionArguments::List(list) = &mut f.args {
                    let at = list.args.iter().position(
                        |a| matches!(a, FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) if is_xs(e)),
                    );
                    if let Some(i) = at {
                        let args = items.iter().cloned();
                        let args = args.map(|e| FunctionArg::Unnamed(FunctionArgExpr::Expr(e)));
                        list.args.splice(i..=i, args);
                    }
                }
            }
            Expr::Struct { values, .. } => splice(values),
            Expr::Tuple(values) => splice(values),
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    template
}
