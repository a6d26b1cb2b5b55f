//! The IR printed for people: `explain`, test messages, and the keys that
//! tell two aggregates apart.

use std::fmt;

use super::{Agg, Cond, Expr};

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Column(c) => write!(f, "{c:?}"),
            Expr::Param(p) => write!(f, "${p}"),
            Expr::Number(n) => write!(f, "{n:?}"),
            Expr::Text(s) => write!(f, "'{}'", s.replace('\'', "''")),
            Expr::Null => f.write_str("null"),
            Expr::ToDouble(e) => write!(f, "double({e})"),
            Expr::ToTimestamp(e) => write!(f, "timestamp({e})"),
            Expr::DatePart(p, e) => write!(f, "{}({e})", p.name()),
            Expr::ToText(e) => write!(f, "text({e})"),
            Expr::Add(a, b) => write!(f, "({a} + {b})"),
            Expr::Sub(a, b) => write!(f, "({a} - {b})"),
            Expr::Mul(a, b) | Expr::Product(a, b) => write!(f, "({a} * {b})"),
            Expr::Div(a, b) => write!(f, "({a} / {b})"),
            Expr::Sqrt(e) => write!(f, "sqrt({e})"),
            Expr::Abs(e) => write!(f, "abs({e})"),
            Expr::Ln(e) => write!(f, "ln({e})"),
            Expr::Exp(e) => write!(f, "exp({e})"),
            Expr::Floor(e) => write!(f, "floor({e})"),
            Expr::Sin(e) => write!(f, "sin({e})"),
            Expr::Cos(e) => write!(f, "cos({e})"),
            Expr::Rank(e) => write!(f, "rank({e})"),
            Expr::Coalesce(a, b) => write!(f, "coalesce({a}, {b})"),
            Expr::Case(arms, otherwise) => {
                f.write_str("case")?;
                for (c, v) in arms {
                    write!(f, " when {c} then {v}")?;
                }
                write!(f, " else {otherwise} end")
            }
            Expr::Fail { message, value } => write!(f, "fail({message:?}, {value})"),
            Expr::Let(l) => write!(f, "let{}", l.id),
            Expr::Quantile {
                table, field, x, ..
            } => write!(f, "quantile({table:?}, {field:?}, {x})"),
        }
    }
}

impl fmt::Display for Cond {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cond::IsNull(e) => write!(f, "{e} is null"),
            Cond::IsTrue(e) => write!(f, "{e} is true"),
            Cond::IsFalse(e) => write!(f, "{e} is false"),
            Cond::Eq(a, b) => write!(f, "{a} = {b}"),
            Cond::In(a, list) => {
                write!(f, "{a} in (")?;
                for (i, e) in list.iter().enumerate() {
                    write!(f, "{}{e}", if i > 0 { ", " } else { "" })?;
                }
                f.write_str(")")
            }
            Cond::Lt(a, b) => write!(f, "{a} < {b}"),
            Cond::Le(a, b) => write!(f, "{a} <= {b}"),
            Cond::Gt(a, b) => write!(f, "{a} > {b}"),
            Cond::Or(a, b) => write!(f, "({a} or {b})"),
        }
    }
}

impl fmt::Display for Agg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Agg::CountRows => f.write_str("count(*)"),
            Agg::Count(e) => write!(f, "count({e})"),
            Agg::Mean(e) => write!(f, "mean({e})"),
            Agg::VarPop(e) => write!(f, "var_pop({e})"),
            Agg::Min(e) => write!(f, "min({e})"),
            Agg::Max(e) => write!(f, "max({e})"),
            Agg::Percentile(e, p) => write!(f, "percentile({e}, {p:?})"),
            Agg::MostFrequent(e) => write!(f, "most_frequent({e})"),
            Agg::FitId { spec, columns } => {
                write!(f, "fit_id({spec:?}")?;
                columns.iter().try_for_each(|c| write!(f, ", {c}"))?;
                f.write_str(")")
            }
            Agg::Likelihood(grid, field) => write!(f, "{grid}.{field:?}"),
        }
    }
}
