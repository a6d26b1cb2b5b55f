//! Expression helpers, to keep the lowering readable.

use super::{Cond, Expr};

pub fn num(v: f64) -> Expr {
    Expr::Number(v)
}
pub fn add(a: Expr, b: Expr) -> Expr {
    Expr::Add(Box::new(a), Box::new(b))
}
pub fn sub(a: Expr, b: Expr) -> Expr {
    Expr::Sub(Box::new(a), Box::new(b))
}
pub fn mul(a: Expr, b: Expr) -> Expr {
    Expr::Mul(Box::new(a), Box::new(b))
}
pub fn product(a: Expr, b: Expr) -> Expr {
    Expr::Product(Box::new(a), Box::new(b))
}
pub fn div(a: Expr, b: Expr) -> Expr {
    Expr::Div(Box::new(a), Box::new(b))
}
/// `CASE WHEN .. THEN .. ELSE otherwise END`; with no arm, `otherwise`.
pub fn case(arms: Vec<(Cond, Expr)>, otherwise: Expr) -> Expr {
    match arms.is_empty() {
        true => otherwise,
        false => Expr::Case(arms, Box::new(otherwise)),
    }
}
pub fn coalesce(a: Expr, b: Expr) -> Expr {
    Expr::Coalesce(Box::new(a), Box::new(b))
}

pub fn ln(x: Expr) -> Expr {
    Expr::Ln(Box::new(x))
}

pub fn exp(x: Expr) -> Expr {
    Expr::Exp(Box::new(x))
}
