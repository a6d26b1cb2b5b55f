//! `fit.where`: one SQL expression, read once in standard SQL (a spec does
//! not depend on a dialect: `''` is a quote, a backslash is itself, `"x"` is
//! a name), and written for each dialect with prep's own quoting.
//!
//! The written text is parsed back with the dialect's parser and must mean
//! exactly what was read; anything that cannot be written that way is an
//! error, never a silent change.

use std::ops::ControlFlow;

use sqlparser::ast::{Expr, Ident, Value, visit_expressions, visit_expressions_mut};
use sqlparser::dialect::{Dialect as ParserDialect, GenericDialect};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

use super::{ast, quote};
use crate::dialect::Dialect;

/// Parses exactly one expression: text left after it is an error (a filter
/// such as `x > 0; DROP TABLE t` or `x > 0 LIMIT 1` is refused, not cut).
fn parse_one(dialect: &dyn ParserDialect, sql: &str) -> Result<Expr, String> {
    let mut parser = Parser::new(dialect)
        .try_with_sql(sql)
        .map_err(|e| strip_prefix(e.to_string()))?;
    let expr = parser
        .parse_expr()
        .map_err(|e| strip_prefix(e.to_string()))?;
    let next = parser.peek_token();
    if next.token != Token::EOF {
        return Err(format!(
            "it must be one expression, but `{}` follows it (line {}, column {})",
            next.token, next.span.start.line, next.span.start.column
        ));
    }
    Ok(expr)
}

fn strip_prefix(message: String) -> String {
    message
        .strip_prefix("sql parser error: ")
        .unwrap_or(&message)
        .to_string()
}

/// Reads `fit.where` in standard SQL; the error says what is wrong with it.
pub fn read(sql: &str) -> Result<Expr, String> {
    let expr = parse_one(&GenericDialect {}, sql)?;
    let found = visit_expressions(&expr, |node| match node {
        Expr::Value(v) => {
            literal_problem(&v.value).map_or(ControlFlow::Continue(()), ControlFlow::Break)
        }
        _ => ControlFlow::Continue(()),
    });
    match found {
        ControlFlow::Break(problem) => Err(problem),
        ControlFlow::Continue(()) => Ok(expr),
    }
}

fn literal_problem(v: &Value) -> Option<String> {
    match v {
        Value::SingleQuotedString(s) | Value::NationalStringLiteral(s) => quote::string_problem(s),
        Value::Number(..) | Value::Boolean(_) | Value::Null => None,
        Value::Placeholder(p) => Some(format!(
            "`{p}` is a parameter placeholder; write the value itself"
        )),
        other => Some(format!(
            "the literal `{other}` has a form prep cannot write for every warehouse; use a plain 'quoted' string"
        )),
    }
}

/// `fit.where` written for one dialect.
pub fn for_dialect(d: &Dialect, sql: &str) -> Result<Expr, String> {
    let read = read(sql)?;
    let mut written = read.clone();
    let mut problem = None;
    let _ = visit_expressions_mut(&mut written, |node| {
        let mut quote_name = |id: &mut Ident| {
            if id.quote_style.is_some() {
                if let Some(p) = quote::ident_problem(d, &id.value) {
                    problem = Some(format!("the name `{}` cannot be written: {p}", id.value));
                }
                // A name the user quoted means exactly itself.
                *id = Ident::new(quote::ident_exact(d, &id.value));
            }
        };
        match node {
            Expr::Value(v) => {
                if let Value::SingleQuotedString(s) | Value::NationalStringLiteral(s) = &v.value {
                    *node = ast::printed(quote::string(d, s));
                }
            }
            Expr::TypedString(t) => {
                if let Value::SingleQuotedString(s) = &t.value.value {
                    let text = format!("{} {}", t.data_type, quote::string(d, s));
                    *node = ast::printed(text);
                }
            }
            Expr::Identifier(id) => quote_name(id),
            Expr::CompoundIdentifier(parts) => parts.iter_mut().for_each(&mut quote_name),
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    if let Some(p) = problem {
        return Err(p);
    }
    // What the dialect reads back must be what was read.
    let text = written.to_string();
    let parser = d.parser();
    let back = parse_one(parser.as_ref(), &text)
        .map_err(|e| format!("it cannot be written for {} ({e}); simplify it", d.name))?;
    if normalized(back) != normalized(read) {
        return Err(format!(
            "{} would read it differently once written; use plain comparisons of columns with numbers and 'quoted' strings",
            d.name
        ));
    }
    Ok(written)
}

/// Literals and names compared by their meaning: every string literal as a
/// plain one, every quoted name with one quote style.
fn normalized(mut e: Expr) -> Expr {
    let _ = visit_expressions_mut(&mut e, |node| {
        let norm = |id: &mut Ident| {
            if id.quote_style.is_some() {
                id.quote_style = Some('"');
            }
        };
        match node {
            Expr::Value(v) => {
                if let Value::NationalStringLiteral(s) | Value::EscapedStringLiteral(s) = &v.value {
                    v.value = Value::SingleQuotedString(s.clone());
                }
            }
            Expr::Identifier(id) => norm(id),
            Expr::CompoundIdentifier(parts) => parts.iter_mut().for_each(norm),
            // `'a' || CHR(10)`: a literal with a line break, written in parts.
            Expr::Nested(inner) => {
                if let Some(s) = literal_text(inner) {
                    *node = Expr::value(Value::SingleQuotedString(s));
                }
            }
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    e
}

/// The text of `'a' || CHR(10) || 'b'`, as standard escaping writes line breaks
/// (T-SQL's national literals: `N'a' + NCHAR(10) + N'b'`), and of a plain literal.
pub fn literal_text(e: &Expr) -> Option<String> {
    use sqlparser::ast::{BinaryOperator, FunctionArg, FunctionArgExpr, FunctionArguments};
    match e {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::StringConcat | BinaryOperator::Plus,
            right,
        } => Some(literal_text(left)? + &literal_text(right)?),
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) | Value::NationalStringLiteral(s) => Some(s.clone()),
            _ => None,
        },
        Expr::Function(f)
            if ["chr", "nchar"]
                .iter()
                .any(|name| f.name.to_string().eq_ignore_ascii_case(name)) =>
        {
            let FunctionArguments::List(list) = &f.args else {
                return None;
            };
            match list.args.as_slice() {
                [FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(v)))] => match &v.value {
                    Value::Number(n, _) => n
                        .parse::<u32>()
                        .ok()
                        .and_then(char::from_u32)
                        .map(String::from),
                    _ => None,
                },
                _ => None,
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::DialectName;

    #[test]
    fn leftovers_are_refused() {
        for sql in [
            "x > 0 ANDD y < 5",
            "x > 0; DROP TABLE t",
            "x > 0 LIMIT 10",
            "x > 0 UNION SELECT 1",
            "x > 0) OR (1=1",
        ] {
            assert!(read(sql).is_err(), "{sql}");
        }
    }

    #[test]
    fn literals_mean_the_same_on_every_dialect() {
        for d in DialectName::ALL {
            let d = d.get();
            for sql in [
                "s = 'a\\\\'",
                "s = 'it''s'",
                "\"we\"\"ird\" = 'x\ny'",
                "s = '${x}'",
            ] {
                let written =
                    for_dialect(d, sql).unwrap_or_else(|e| panic!("{}: {sql}: {e}", d.name));
                assert!(!written.to_string().contains('\n'), "{}", d.name);
            }
        }
    }
}
