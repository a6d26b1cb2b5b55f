//! Normalizer: `normalize: l2` (or `l1`, `max`), across the columns of its
//! group: each row's values divided by the row's norm, as scikit-learn's
//! `normalize` computes it. A norm below 10 * eps is 1 (its
//! `_handle_zeros_in_scale`), and where the l2 or l1 norm overflows a double
//! numpy's norm is infinite and every value becomes 0: prep gives the same
//! 0, found without computing the overflowing sum (PostgreSQL would stop).

use serde::Serialize;

use super::{AcrossContext, AcrossStep, OutputFacts};
use crate::diagnostic::Diagnostics;
use crate::ir::build::*;
use crate::ir::{Cond, Expr};
use crate::lowering::{Fit, handle_zero_scale};
use crate::spec::{Norm, NormalizeOptions};

/// 2^-512: a value times it, squared, is the square's share of the largest
/// double (exact: a power of two).
const SCALE: f64 = 1.4916681462400413e-154;
/// The largest double times SCALE², as a sum of scaled squares reaches it
/// where the unscaled sum overflows: 1 - 2^-53.
const SCALED_MAX: f64 = 0.9999999999999999;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Normalize {
    pub norm: Norm,
}

impl Normalize {
    /// Every norm scikit-learn has is accepted (the spec's type says which).
    pub(super) fn check(
        o: &NormalizeOptions,
        _: &AcrossContext,
        _: &mut Diagnostics,
    ) -> Option<Normalize> {
        Some(Normalize { norm: o.norm })
    }
}

impl AcrossStep for Normalize {
    /// One-to-one: the outputs keep their columns' names.
    fn outputs(&self, columns: &[String]) -> Vec<String> {
        columns.to_vec()
    }

    fn transformer(&self) -> &'static str {
        "Normalizer"
    }

    fn sklearn_options(&self) -> serde_json::Value {
        serde_json::json!({ "norm": self.norm })
    }

    fn lower(&self, fit: &mut Fit, inputs: &[Expr], _: &[String]) -> Vec<(Expr, String)> {
        let abs = |x: &Expr| Expr::Abs(Box::new(x.clone()));
        let sum = |terms: Vec<Expr>| terms.into_iter().reduce(add).unwrap_or(num(0.0));
        let (norm, what) = match self.norm {
            Norm::L2 => {
                let scaled: Vec<Expr> = (inputs.iter())
                    .map(|x| fit.shared(product(x.clone(), num(SCALE))))
                    .collect();
                let overflows = sum(scaled
                    .iter()
                    .map(|y| product(y.clone(), y.clone()))
                    .collect());
                let squares = sum(inputs
                    .iter()
                    .map(|x| product(x.clone(), x.clone()))
                    .collect());
                let squares = fit.shared(case(
                    vec![(Cond::Gt(overflows, num(SCALED_MAX)), Expr::Null)],
                    squares,
                ));
                let norm = Expr::Sqrt(Box::new(squares));
                (norm, "Euclidean length (l2 norm)")
            }
            Norm::L1 => {
                // Halved, the sum cannot overflow, and reaches half the
                // largest double where the whole one does.
                let halves = sum(inputs.iter().map(|x| product(abs(x), num(0.5))).collect());
                let norm = case(
                    vec![(Cond::Gt(halves, num(f64::MAX * 0.5)), Expr::Null)],
                    sum(inputs.iter().map(abs).collect()),
                );
                (norm, "sum of absolute values (l1 norm)")
            }
            Norm::Max => {
                let mut largest = abs(&inputs[0]);
                for x in &inputs[1..] {
                    let so_far = fit.shared(largest);
                    largest = case(vec![(Cond::Gt(abs(x), so_far.clone()), abs(x))], so_far);
                }
                (largest, "largest absolute value (max norm)")
            }
        };
        // NULL where the norm overflowed: numpy divides by an infinity there.
        let norm = fit.shared(norm);
        let scale = fit.shared(handle_zero_scale(norm));
        (inputs.iter())
            .map(|x| {
                let value = coalesce(div(x.clone(), scale.clone()), num(0.0));
                (value, format!("divided by the row's {what} over the group"))
            })
            .collect()
    }

    /// Within [-1, 1], never NULL (a missing value stops the query).
    fn facts(&self) -> OutputFacts {
        OutputFacts {
            not_null: true,
            range: Some((-1.0, 1.0)),
        }
    }
}
