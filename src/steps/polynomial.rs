//! PolynomialFeatures: `polynomial: {degree: 2, interaction_only: false,
//! include_bias: true}`, across the columns of its group: every product of
//! the columns up to `degree`, in scikit-learn's order (`1` first, then
//! degree by degree, `itertools.combinations_with_replacement` order), each
//! computed as scikit-learn computes it: a term of degree d is the term of
//! degree d - 1 of the columns after its first, times that first column.
//!
//! Where a product overflows (numpy: an infinity, and NaN from 0 times it
//! later), prep's value is missing, as for `function`: engines raise
//! (PostgreSQL), or return an infinity, each differently.

use serde::Serialize;

use super::{AcrossContext, AcrossStep, OutputFacts};
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::ir::build::*;
use crate::ir::{Cond, Expr};
use crate::lowering::Fit;
use crate::naming;
use crate::spec::{Degree, PolynomialOptions};

/// More output columns than any warehouse table holds: refused when checked.
const MAX_OUTPUTS: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Polynomial {
    pub min_degree: usize,
    pub max_degree: usize,
    pub interaction_only: bool,
    pub include_bias: bool,
}

impl Polynomial {
    /// Each output's columns (indices, ascending, repeated for a power), in
    /// scikit-learn's order; the bias is the empty term.
    fn terms(&self, n: usize) -> Vec<Vec<usize>> {
        let mut terms = Vec::new();
        if self.include_bias {
            terms.push(Vec::new());
        }
        // The terms of one degree, from those of the degree below.
        let mut level: Vec<Vec<usize>> = vec![Vec::new()];
        for degree in 1..=self.max_degree {
            let mut next = Vec::new();
            for term in &level {
                let from = match (term.last(), self.interaction_only) {
                    (None, _) => 0,
                    (Some(&last), false) => last,
                    (Some(&last), true) => last + 1,
                };
                for i in from..n {
                    next.push([term.as_slice(), &[i]].concat());
                }
            }
            level = next;
            if degree >= self.min_degree.max(1) {
                terms.extend(level.iter().cloned());
            }
            if terms.len() > MAX_OUTPUTS {
                break;
            }
        }
        terms
    }
}

impl Polynomial {
    /// The degrees and options resolved, or refused (a range upside down, no
    /// column at all, more columns than any table holds).
    pub(super) fn check(
        o: &PolynomialOptions,
        cx: &AcrossContext,
        diags: &mut Diagnostics,
    ) -> Option<Polynomial> {
        let (min, max) = match o.degree {
            Degree::Max(d) => (0, d),
            Degree::Range([lo, hi]) => (lo, hi),
        };
        let problem = if min < 0 || max < min {
            Some(format!(
                "the polynomial degree {min}..{max} is not a range of degrees"
            ))
        } else if max == 0 && !o.include_bias {
            Some("a polynomial of degree 0 without its bias has no column".into())
        } else if max > 10 {
            Some(format!(
                "a polynomial of degree {max} is more than prep writes (at most 10)"
            ))
        } else {
            None
        };
        if let Some(problem) = problem {
            diags.push(
                Diagnostic::new(Code::InvalidValue, problem)
                    .at(cx.at.clone())
                    .hint("give the highest degree, e.g. `degree: 2`, or `degree: [2, 3]` (as scikit-learn's `(min_degree, max_degree)`)"),
            );
            return None;
        }
        let step = Polynomial {
            min_degree: min as usize,
            max_degree: max as usize,
            interaction_only: o.interaction_only,
            include_bias: o.include_bias,
        };
        let count = step.terms(cx.columns.len()).len();
        if count > MAX_OUTPUTS {
            diags.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    format!(
                        "a polynomial of {} columns up to degree {max} has more than {MAX_OUTPUTS} output columns",
                        cx.columns.len()
                    ),
                )
                .at(cx.at.clone())
                .hint("lower the degree, set `interaction_only: true`, or split the group"),
            );
            return None;
        }
        Some(step)
    }
}

impl AcrossStep for Polynomial {
    /// scikit-learn's `get_feature_names_out`, made safe as one-hot names are.
    fn outputs(&self, columns: &[String]) -> Vec<String> {
        (self.terms(columns.len()).iter())
            .map(|term| naming::polynomial_term(columns, term))
            .collect()
    }

    fn transformer(&self) -> &'static str {
        "PolynomialFeatures"
    }

    fn sklearn_options(&self) -> serde_json::Value {
        let degree = if self.min_degree == 0 {
            serde_json::json!(self.max_degree)
        } else {
            serde_json::json!([self.min_degree, self.max_degree])
        };
        serde_json::json!({
            "degree": degree,
            "interaction_only": self.interaction_only,
            "include_bias": self.include_bias,
        })
    }

    fn lower(&self, fit: &mut Fit, inputs: &[Expr], columns: &[String]) -> Vec<(Expr, String)> {
        let mut values: std::collections::BTreeMap<&[usize], Expr> = Default::default();
        let terms = self.terms(inputs.len());
        // Every term of a degree below is needed, kept or not (min_degree).
        let all = Polynomial {
            min_degree: 0,
            include_bias: false,
            ..self.clone()
        }
        .terms(inputs.len());
        for term in &all {
            let first = &inputs[term[0]];
            let value = match values.get(&term[1..]) {
                None => first.clone(),
                Some(rest) => fit.shared(times(first, rest)),
            };
            values.insert(term, value);
        }
        (terms.iter())
            .map(|term| match values.get(term.as_slice()) {
                Some(v) => (v.clone(), describe(term, columns)),
                None => (num(1.0), "1 (the bias column)".to_string()),
            })
            .collect()
    }

    /// A product can overflow (missing then): no promise.
    fn facts(&self) -> OutputFacts {
        OutputFacts::default()
    }
}

/// A term in words: "`a` times `b` squared".
fn describe(term: &[usize], columns: &[String]) -> String {
    let factors: Vec<String> = (naming::term_powers(columns, term).into_iter())
        .map(|(column, power)| match power {
            1 => format!("`{column}`"),
            2 => format!("`{column}` squared"),
            _ => format!("`{column}` to the power {power}"),
        })
        .collect();
    let what = factors.join(" times ");
    if term.len() == 1 {
        what
    } else {
        format!("{what} (missing where the product overflows)")
    }
}

/// `x * rest`, missing where it overflows (|x| above the largest double
/// divided by |rest|, that division made only where it cannot overflow).
fn times(x: &Expr, rest: &Expr) -> Expr {
    let abs = |e: &Expr| Expr::Abs(Box::new(e.clone()));
    let limit = case(
        vec![(Cond::Gt(abs(rest), num(1.0)), div(num(f64::MAX), abs(rest)))],
        num(f64::MAX),
    );
    case(
        vec![(Cond::Gt(abs(x), limit), Expr::Null)],
        product(x.clone(), rest.clone()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(
        min_degree: usize,
        max_degree: usize,
        interaction_only: bool,
        include_bias: bool,
    ) -> Polynomial {
        Polynomial {
            min_degree,
            max_degree,
            interaction_only,
            include_bias,
        }
    }

    #[test]
    fn terms_come_in_scikit_learns_order() {
        // PolynomialFeatures(2).fit(np.zeros((1, 3))).powers_, as index lists.
        let terms = step(0, 2, false, true).terms(3);
        let want: Vec<Vec<usize>> = vec![
            vec![],
            vec![0],
            vec![1],
            vec![2],
            vec![0, 0],
            vec![0, 1],
            vec![0, 2],
            vec![1, 1],
            vec![1, 2],
            vec![2, 2],
        ];
        assert_eq!(terms, want);
        // interaction_only, degree (2, 3): no powers, nothing below degree 2.
        let terms = step(2, 3, true, false).terms(3);
        assert_eq!(
            terms,
            vec![vec![0, 1], vec![0, 2], vec![1, 2], vec![0, 1, 2]]
        );
    }

    #[test]
    fn too_many_columns_are_refused_with_their_place() {
        let columns: Vec<String> = (0..40).map(|i| format!("c{i}")).collect();
        let cx = AcrossContext {
            columns: &columns,
            at: None,
        };
        let options: PolynomialOptions = serde_json::from_str(r#"{"degree": 4}"#).unwrap();
        let mut diags = Diagnostics::default();
        assert!(Polynomial::check(&options, &cx, &mut diags).is_none());
        assert!(
            diags.0[0]
                .message
                .contains("more than 10000 output columns")
        );
    }
}
