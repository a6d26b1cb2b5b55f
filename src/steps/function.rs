//! FunctionTransformer with a NumPy function: `function: log | log1p | sqrt
//! | exp | abs | sign | square` or `function: {clip: [lo, hi]}`.
//!
//! Each gives NumPy's value wherever NumPy's is finite. Where NumPy gives
//! NaN or an infinity (the log of 0 or of a negative number, the square
//! root of a negative number, exp or square overflowing), prep gives a
//! missing value (NULL), as it reads a NaN in the data: engines raise,
//! return NULL or an infinity there, each differently, and a later step
//! treats a missing value as scikit-learn treats NaN.

use serde::Serialize;

use super::{Context, OutputFacts, Step};
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::ir::build::*;
use crate::ir::{ApplyItem, Cond, Expr};
use crate::lowering::{FeatureLowering, FeatureValue, Lineage};
use crate::spec::Function as Func;

/// Above it x * x overflows: the square root of the largest double.
const SQUARE_MAX: f64 = 1.3407807929942596e154;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Function(pub Func);

impl Step for Function {
    type Options = Func;

    fn check(o: &Func, cx: &Context, diags: &mut Diagnostics) -> Option<Function> {
        if !cx.needs_numeric("function", diags) {
            return None;
        }
        // Written so that NaN bounds are refused too.
        if let Func::Clip([lo, hi]) = o
            && let ordered = lo <= hi
            && !ordered
        {
            diags.push(
                Diagnostic::new(Code::InvalidValue, format!("clip bounds [{lo}, {hi}] are not ordered"))
                    .at(cx.at.clone())
                    .hint("the first bound must not be above the second, e.g. `function: {clip: [0, 100]}`"),
            );
            return None;
        }
        Some(Function(*o))
    }

    fn sklearn_options(&self) -> serde_json::Value {
        match self.0 {
            Func::Clip([lo, hi]) => {
                serde_json::json!({"func": "clip", "kw_args": {"a_min": lo, "a_max": hi}})
            }
            f => serde_json::json!({ "func": name(f) }),
        }
    }

    fn lower(
        &self,
        f: &mut FeatureLowering,
        k: usize,
        value: &mut FeatureValue,
    ) -> Option<Vec<ApplyItem>> {
        let FeatureValue { row, lineage, docs } = value;
        let x = f.fit.shared(row.clone());
        let (value, doc) = apply(self.0, x, f);
        *row = value;
        f.record(k, "FunctionTransformer", Vec::new());
        docs.push(doc);
        *lineage = Lineage::Opaque;
        None
    }

    /// abs, sign and clip keep a value; the others can make it missing
    /// (outside their domain). sign and clip bound it.
    fn facts(&self, before: OutputFacts, _: bool) -> OutputFacts {
        let (not_null, range) = match self.0 {
            Func::Abs => (before.not_null, None),
            Func::Sign => (before.not_null, Some((-1.0, 1.0))),
            Func::Clip([lo, hi]) => (before.not_null, Some((lo, hi))),
            _ => (false, None),
        };
        OutputFacts { not_null, range }
    }
}

/// NumPy's name of the function.
fn name(f: Func) -> &'static str {
    match f {
        Func::Log => "log",
        Func::Log1p => "log1p",
        Func::Sqrt => "sqrt",
        Func::Exp => "exp",
        Func::Abs => "abs",
        Func::Sign => "sign",
        Func::Square => "square",
        Func::Clip(_) => "clip",
    }
}

/// The function of `x` (read several times, so a shared value) and its
/// description.
fn apply(func: Func, x: Expr, f: &mut FeatureLowering) -> (Expr, String) {
    let missing = || Expr::Null;
    match func {
        Func::Log => (
            case(
                vec![(Cond::Gt(x.clone(), num(0.0)), Expr::Ln(Box::new(x)))],
                missing(),
            ),
            "natural logarithm (missing where not positive)".into(),
        ),
        Func::Log1p => (
            super::numpy::log1p(x, f),
            "log(1 + value) (missing where the value is -1 or less)".into(),
        ),
        Func::Sqrt => (
            case(
                vec![(Cond::Lt(x.clone(), num(0.0)), missing())],
                Expr::Sqrt(Box::new(x)),
            ),
            "square root (missing where negative)".into(),
        ),
        Func::Exp => (
            super::numpy::exp(x),
            "exponential (missing where it overflows)".into(),
        ),
        Func::Abs => (Expr::Abs(Box::new(x)), "absolute value".into()),
        Func::Sign => (
            case(
                vec![
                    (Cond::Gt(x.clone(), num(0.0)), num(1.0)),
                    (Cond::Lt(x.clone(), num(0.0)), num(-1.0)),
                    (Cond::Eq(x, num(0.0)), num(0.0)),
                ],
                missing(),
            ),
            "sign (-1, 0 or 1)".into(),
        ),
        Func::Square => (
            case(
                vec![(
                    Cond::Gt(Expr::Abs(Box::new(x.clone())), num(SQUARE_MAX)),
                    missing(),
                )],
                product(x.clone(), x),
            ),
            "squared (missing where it overflows)".into(),
        ),
        Func::Clip([lo, hi]) => (
            case(
                vec![
                    (Cond::Lt(x.clone(), num(lo)), num(lo)),
                    (Cond::Gt(x.clone(), num(hi)), num(hi)),
                ],
                x,
            ),
            format!(
                "clipped to [{}, {}]",
                crate::text::float_text(lo),
                crate::text::float_text(hi)
            ),
        ),
    }
}
