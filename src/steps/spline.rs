//! SplineTransformer: `spline: {n_knots: 5, degree: 3, knots: uniform,
//! extrapolation: constant, include_bias: true, handle_missing: error}`.
//!
//! The fit learns the base knots as scikit-learn does: `knots: uniform`
//! (the default) is `np.linspace(min, max, n_knots)` over the training
//! range, `knots: quantile` the training percentiles at `100 *
//! np.linspace(0, 1, n_knots)` (numpy's, read from the ranked values); both
//! extended by `degree` knots on each side at the outer spacing (numpy's
//! arithmetic, so the knots are the same floating-point numbers). Each row
//! finds its interval of the base knots (scipy's `find_interval`: `t[l] <= x
//! < t[l + 1]`, the last one closed) and evaluates its `degree + 1` basis
//! functions with scipy's de Boor recursion (`_deBoor_D`) over those knots,
//! operation for operation, so the values are scipy's `BSpline`'s on every
//! engine (bit for bit on DuckDB). Outside the training range the
//! extrapolation is scikit-learn's: `constant` (the basis at the boundary),
//! `linear` (continued with the boundary's slope, for the `degree` outer
//! functions, `degree + 1` below degree 2; the values and slopes at the
//! boundaries are fitted statistics, by the same recursion), `continue`
//! (the boundary interval's polynomials), `error` (the query stops),
//! `periodic` (the knots continue the base knots' spacing a period, their
//! span, before and after; the value is moved into the span first, and the
//! first `degree` columns add the last `degree` functions). A constant
//! column gives zeros, as scikit-learn's repeated knots do.
//!
//! Refused: degree 0 (scikit-learn 1.9's own transform fails on it with
//! constant extrapolation), degrees above 5 (the recursion written out
//! grows as `2^degree`) and, periodic, a degree not below `n_knots`.

use serde::Serialize;

use super::numpy::{Ranked, linspace, linspace_point};
use super::{Context, OutputFacts, Step};
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::ir::build::*;
use crate::ir::{ApplyItem, Attr, Cond, Expr, Output};
use crate::lowering::{FeatureLowering, FeatureValue, Lineage, Moment, attr, steps_before};
use crate::naming;
use crate::spec::{QuantileMethod, SplineExtrapolation, SplineKnots, SplineMissing, SplineOptions};

const MAX_KNOTS: i64 = 100;
const MAX_DEGREE: i64 = 5;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spline {
    pub n_knots: usize,
    pub degree: usize,
    pub knots: SplineKnots,
    pub extrapolation: SplineExtrapolation,
    pub include_bias: bool,
    pub handle_missing: SplineMissing,
}

impl Step for Spline {
    type Options = SplineOptions;

    fn check(o: &SplineOptions, cx: &Context, diags: &mut Diagnostics) -> Option<Spline> {
        if !cx.needs_numeric("spline", diags) {
            return None;
        }
        let refuse = |diags: &mut Diagnostics, what: String, hint: &str| {
            diags.push(
                Diagnostic::new(Code::InvalidValue, what)
                    .at(cx.at.clone())
                    .hint(hint),
            );
        };
        let before = diags.0.len();
        if !(2..=MAX_KNOTS).contains(&o.n_knots) {
            refuse(
                diags,
                format!("spline n_knots is {}", o.n_knots),
                "give a whole number from 2 to 100, e.g. `spline: {n_knots: 5}`",
            );
        }
        if !(1..=MAX_DEGREE).contains(&o.degree) {
            refuse(
                diags,
                format!("spline degree is {}", o.degree),
                "give a degree from 1 to 5 (scikit-learn 1.9 fails on degree 0; above 5 the SQL of the recursion grows as 2^degree)",
            );
        }
        if o.extrapolation == SplineExtrapolation::Periodic && o.degree >= o.n_knots {
            refuse(
                diags,
                format!(
                    "spline extrapolation: periodic has degree {} but {} knots",
                    o.degree, o.n_knots
                ),
                "a periodic spline needs fewer degrees than knots (scikit-learn refuses it too): raise n_knots or lower degree",
            );
        }
        (diags.0.len() == before).then_some(Spline {
            n_knots: o.n_knots as usize,
            degree: o.degree as usize,
            knots: o.knots,
            extrapolation: o.extrapolation,
            include_bias: o.include_bias,
            handle_missing: o.handle_missing,
        })
    }

    fn sklearn_options(&self) -> serde_json::Value {
        serde_json::json!({
            "n_knots": self.n_knots,
            "degree": self.degree,
            "knots": self.knots,
            "extrapolation": self.extrapolation,
            "include_bias": self.include_bias,
            "handle_missing": self.handle_missing,
        })
    }

    /// Ends its feature: a column per basis function.
    fn lower(
        &self,
        f: &mut FeatureLowering,
        k: usize,
        value: &mut FeatureValue,
    ) -> Option<Vec<ApplyItem>> {
        let FeatureValue { row, lineage, docs } = value;
        let x = f.fit.shared(row.clone());
        let min = f.moment(lineage, row, Moment::Min);
        let max = f.moment(lineage, row, Moment::Max);
        let min = f.statistic(k, "min", min, "the training minimum: the first base knot");
        let max = f.statistic(k, "max", max, "the training maximum: the last base knot");
        let base = match self.knots {
            SplineKnots::Uniform => {
                linspace(f, k, ("base_step", SPACING), &min, &max, self.n_knots)
            }
            SplineKnots::Quantile => self.quantile_knots(f, k, lineage, row, (&min, &max)),
        };
        let t = self.knots(f, k, base);
        f.record(
            k,
            "SplineTransformer",
            vec![("prep_knots_", Attr::List(t.iter().map(attr).collect()))],
        );
        *lineage = Lineage::Opaque;
        let bounds = self.boundaries(f, k, &t, &min, &max);
        // The row's interval of the base knots (scipy's `find_interval`:
        // t[l] <= x < t[l + 1], the last one closed), and the 2d knots
        // around it its basis functions read.
        let (d, n) = (self.degree, self.n_knots - 1);
        let at = match self.periodic() {
            true => self.wrapped(f, k, &x, (&t[d], &t[d + n])),
            false => x.clone(),
        };
        let m = (1..n)
            .map(|i| {
                case(
                    vec![(Cond::Le(t[d + i].clone(), at.clone()), num(1.0))],
                    num(0.0),
                )
            })
            .reduce(add)
            .unwrap_or(num(0.0));
        let m = f.fit.shared(m);
        let near: Vec<Expr> = (1..=2 * d)
            .map(|q| {
                let arms = (0..n - 1)
                    .map(|i| (Cond::Eq(m.clone(), num(i as f64)), t[i + q].clone()))
                    .collect();
                f.fit.shared(case(arms, t[n - 1 + q].clone()))
            })
            .collect();
        let h = de_boor(d, &at, |q| near[q - 1].clone(), false, &mut |e| {
            f.fit.shared(e)
        });
        // Every output reads each of them (in the arm of its interval).
        let h = h.into_iter().map(|e| f.fit.shared(e)).collect();
        let rows = Rows { x, min, max, m, h };
        let feature = f.feature;
        let before = steps_before(docs);
        let outputs = (0..self.n_splines())
            .filter(|&j| self.include_bias || j + 1 < self.n_splines())
            .map(|j| {
                ApplyItem::Output(Output {
                    name: naming::one_hot_column(&feature.column, &format!("sp_{j}")),
                    expr: self.basis(f, &rows, &bounds, j),
                    doc: format!(
                        "`{}`: {before}B-spline basis function {j} of degree {} over {} {} knots of the training range",
                        feature.column, self.degree, self.n_knots, match self.knots {
                            SplineKnots::Uniform => "equally spaced",
                            SplineKnots::Quantile => "quantile",
                        }
                    ),
                    span: feature.span.clone(),
                    text: false,
                })
            })
            .collect();
        Some(outputs)
    }

    /// Within [0, 1] where nothing extrapolates beyond it; never missing
    /// (a missing value stops the query or gives zeros).
    fn facts(&self, _: OutputFacts, _: bool) -> OutputFacts {
        let bounded = matches!(
            self.extrapolation,
            SplineExtrapolation::Constant
                | SplineExtrapolation::Error
                | SplineExtrapolation::Periodic
        );
        OutputFacts {
            not_null: true,
            range: bounded.then_some((0.0, 1.0)),
        }
    }
}

/// The per-row values every basis function reads.
struct Rows {
    x: Expr,
    min: Expr,
    max: Expr,
    /// The interval of the base knots (0 to n_knots - 2).
    m: Expr,
    /// The d + 1 basis functions not zero there (functions m to m + d).
    h: Vec<Expr>,
}

/// The basis at the first and the last knot, and its slopes there (the
/// outer functions' statistics, for constant and linear extrapolation).
#[derive(Default)]
struct Boundaries {
    at_min: Vec<Expr>,
    slope_min: Vec<Expr>,
    at_max: Vec<Expr>,
    slope_max: Vec<Expr>,
}

impl Spline {
    fn n_splines(&self) -> usize {
        match self.periodic() {
            true => self.n_knots - 1,
            false => self.n_knots + self.degree - 1,
        }
    }

    fn periodic(&self) -> bool {
        self.extrapolation == SplineExtrapolation::Periodic
    }

    /// The base knots of `knots: quantile`: `np.nanpercentile` of the
    /// training values at the ranks `100 * np.linspace(0, 1, n_knots)`,
    /// each rank and each percentile computed as numpy computes them (read
    /// from the ranked values: one more scan, for their count); the first
    /// and last are the minimum and the maximum (numpy's 0th and 100th).
    fn quantile_knots(
        &self,
        f: &mut FeatureLowering,
        k: usize,
        lineage: &Lineage,
        row: &Expr,
        (min, max): (&Expr, &Expr),
    ) -> Vec<Expr> {
        let last = self.n_knots - 1;
        let ranked = Ranked::new(f, k, lineage, row);
        let inner = (1..last).map(|i| {
            let q = 100.0 * linspace_point(0.0, 1.0, i, last) / 100.0;
            ranked.percentile(f, k, row, q, QuantileMethod::Linear, &format!("q{i}"))
        });
        let inner: Vec<Expr> = inner.collect();
        std::iter::once(min.clone())
            .chain(inner)
            .chain(std::iter::once(max.clone()))
            .collect()
    }

    /// The knots as scikit-learn computes them from the base knots: `degree`
    /// more on each side at the outer spacing (`np.linspace`), each with
    /// numpy's arithmetic; periodic, the base knots' last (first) spacings
    /// a period before (after) them.
    fn knots(&self, f: &mut FeatureLowering, k: usize, base: Vec<Expr>) -> Vec<Expr> {
        let d = self.degree;
        let last = base.len() - 1;
        let name = |f: &mut FeatureLowering, all: Vec<Expr>| -> Vec<Expr> {
            (all.into_iter().enumerate())
                .map(|(i, e)| f.statistic(k, &format!("t{i}"), e, "a knot of the B-spline basis"))
                .collect()
        };
        if self.periodic() {
            let period = sub(base[last].clone(), base[0].clone());
            let left = (last - d..last).map(|i| sub(base[i].clone(), period.clone()));
            let right = (1..=d).map(|i| add(base[i].clone(), period.clone()));
            let all = left.chain(base.iter().cloned()).chain(right).collect();
            return name(f, all);
        }
        let dist_min = sub(base[1].clone(), base[0].clone());
        let dist_max = sub(base[last].clone(), base[last - 1].clone());
        let times = |e: &Expr, by: usize| mul(num(by as f64), e.clone());
        let left = linspace(
            f,
            k,
            ("left_step", SPACING),
            &sub(base[0].clone(), times(&dist_min, d)),
            &sub(base[0].clone(), dist_min.clone()),
            d,
        );
        let right = linspace(
            f,
            k,
            ("right_step", SPACING),
            &add(base[last].clone(), dist_max.clone()),
            &add(base[last].clone(), times(&dist_max, d)),
            d,
        );
        name(f, left.into_iter().chain(base).chain(right).collect())
    }

    /// A periodic spline's value moved into the base knots' span, as
    /// scikit-learn does: `start + (x - start) % (end - start)`, Python's
    /// remainder (the divisor's sign) written `r - p * FLOOR(r / p)`; 0 where
    /// the span is empty (a constant column), as scikit-learn's transform.
    fn wrapped(&self, f: &mut FeatureLowering, k: usize, x: &Expr, span: (&Expr, &Expr)) -> Expr {
        let (start, end) = span;
        let period = sub(end.clone(), start.clone());
        let period = f.working(k, "period", period, "the period: the base knots' span");
        let r = sub(x.clone(), start.clone());
        let turns = Expr::Floor(Box::new(div(r.clone(), period.clone())));
        let moved = add(start.clone(), sub(r, mul(period.clone(), turns)));
        f.fit
            .shared(case(vec![(Cond::Gt(period, num(0.0)), moved)], num(0.0)))
    }

    /// The outer basis functions at the boundaries (scipy's `spl(xmin)`,
    /// `spl(xmin, nu=1)`, at `xmax` too), where the extrapolation reads them.
    fn boundaries(
        &self,
        f: &mut FeatureLowering,
        k: usize,
        t: &[Expr],
        min: &Expr,
        max: &Expr,
    ) -> Boundaries {
        let (d, n) = (self.degree, self.n_knots - 1);
        // Every intermediate value of the recursion is a parameter of its
        // own: written once, however often the next ones read it.
        let mut at = |label: &str, x: &Expr, first: usize, slope: bool| -> Vec<Expr> {
            let mut step = 0;
            let mut share = |e: Expr| {
                step += 1;
                f.working(
                    k,
                    &format!("{label}_w{step}"),
                    e,
                    "a step of de Boor's recursion",
                )
            };
            let h = de_boor(d, x, |q| t[first + q].clone(), slope, &mut share);
            (h.into_iter().enumerate())
                .map(|(a, e)| f.statistic(k, &format!("{label}{a}"), e, "the basis at a boundary"))
                .collect()
        };
        match self.extrapolation {
            SplineExtrapolation::Constant => Boundaries {
                at_min: at("at_min", min, 0, false),
                at_max: at("at_max", max, n - 1, false),
                ..Boundaries::default()
            },
            SplineExtrapolation::Linear => Boundaries {
                at_min: at("at_min", min, 0, false),
                slope_min: at("slope_min", min, 0, true),
                at_max: at("at_max", max, n - 1, false),
                slope_max: at("slope_max", max, n - 1, true),
            },
            _ => Boundaries::default(),
        }
    }

    /// Basis function `j` of the row.
    fn basis(&self, f: &mut FeatureLowering, r: &Rows, b: &Boundaries, j: usize) -> Expr {
        let (d, n) = (self.degree, self.n_knots - 1);
        let missing = match self.handle_missing {
            SplineMissing::Error => super::missing_stops(f, &r.x, "spline", "SplineTransformer"),
            SplineMissing::Zeros => num(0.0),
        };
        let below = Cond::Lt(r.x.clone(), r.min.clone());
        let above = Cond::Gt(r.x.clone(), r.max.clone());
        let mut arms = vec![(Cond::IsNull(r.x.clone()), missing)];
        // Basis j among the d + 1 of the first (last) interval, if it is one.
        let first = (j <= d).then_some(j);
        let last = j.checked_sub(n - 1).filter(|&a| a <= d);
        // The outer `count` functions at each end.
        let outer = |count: usize| (j < count, j + count >= self.n_splines());
        match self.extrapolation {
            SplineExtrapolation::Error => {
                let stop = Expr::ToDouble(Box::new(Expr::Fail {
                    message: format!(
                        "prep: a value of column {} is beyond the training range of its spline knots (extrapolation: error): ",
                        f.feature.column
                    ),
                    value: Box::new(r.x.clone()),
                }));
                arms.push((Cond::Or(Box::new(below), Box::new(above)), stop));
            }
            SplineExtrapolation::Constant => {
                let (low, high) = outer(d);
                let pick = |on: bool, at: Option<usize>, values: &[Expr]| match (on, at) {
                    (true, Some(a)) => values[a].clone(),
                    _ => num(0.0),
                };
                arms.push((below, pick(low, first, &b.at_min)));
                arms.push((above, pick(high, last, &b.at_max)));
            }
            SplineExtrapolation::Linear => {
                // scikit-learn continues one more function below degree 2.
                let (low, high) = outer(if d <= 1 { d + 1 } else { d });
                let line = |on: bool,
                            at: Option<usize>,
                            values: &[Expr],
                            slopes: &[Expr],
                            bound: &Expr| {
                    match (on, at) {
                        (true, Some(a)) => add(
                            values[a].clone(),
                            mul(sub(r.x.clone(), bound.clone()), slopes[a].clone()),
                        ),
                        _ => num(0.0),
                    }
                };
                arms.push((below, line(low, first, &b.at_min, &b.slope_min, &r.min)));
                arms.push((above, line(high, last, &b.at_max, &b.slope_max, &r.max)));
            }
            SplineExtrapolation::Continue | SplineExtrapolation::Periodic => {}
        }
        // Inside (or continued): the row's interval m's functions m .. m + d,
        // h[0] .. h[d]; periodic, the first `d` columns also hold the last `d`
        // functions (scikit-learn's wrapped coefficients), added as scipy adds
        // them (with one interval, m is 0 on every row).
        let wraps = self.periodic() && j < d;
        let functions = [Some(j), wraps.then_some(j + self.n_splines())];
        let at = |m: usize| {
            let hs = functions.iter().flatten().filter_map(|&i| {
                let a = i.checked_sub(m).filter(|&a| a <= d)?;
                Some(r.h[a].clone())
            });
            hs.reduce(add)
        };
        let inside = match n {
            1 => at(0).unwrap_or(num(0.0)),
            _ => {
                let arms =
                    (0..n).filter_map(|m| Some((Cond::Eq(r.m.clone(), num(m as f64)), at(m)?)));
                case(arms.collect(), num(0.0))
            }
        };
        case(arms, inside)
    }
}

/// What a knots' spacing (a working value) is.
const SPACING: &str = "a spacing of the knots";

/// scipy's `_deBoor_D`: the `d + 1` basis functions of degree `d` not zero
/// at `x` (or their first derivatives, `slope`), in the interval whose
/// knots around it are `knot(1) .. knot(2d)` (`t[ell + 1 - d] ..
/// t[ell + d]`), with scipy's arithmetic in scipy's order. `share` names
/// each round's weights once.
///
/// Where scipy skips a repeated knot (`xb == xa`: `h[n]` is 0 and `h[n - 1]`
/// unchanged), the weight here is 0 instead, which gives the same numbers
/// (`h + 0 * (xb - x)`, `0 * (x - xa)`) without reading `h[n - 1]` twice: each
/// value then appears once in the next round, so the recursion written out
/// in full (an engine that copies a named value into its readers) has
/// `2^d` copies of its first round, not `2^(d(d+1)/2)`.
fn de_boor(
    d: usize,
    x: &Expr,
    knot: impl Fn(usize) -> Expr,
    slope: bool,
    share: &mut dyn FnMut(Expr) -> Expr,
) -> Vec<Expr> {
    let mut h = vec![num(1.0)];
    for j in 1..=d {
        let derivative = slope && j == d;
        let hh = std::mem::take(&mut h);
        h = vec![num(0.0)];
        for n in 1..=j {
            let (xb, xa) = (knot(d + n), knot(d + n - j));
            let width = sub(xb.clone(), xa.clone());
            let weight = match derivative {
                true => div(mul(num(j as f64), hh[n - 1].clone()), width),
                false => div(hh[n - 1].clone(), width),
            };
            let w = share(case(
                vec![(Cond::Eq(xb.clone(), xa.clone()), num(0.0))],
                weight,
            ));
            let before = h.pop().unwrap_or(num(0.0));
            if derivative {
                h.push(sub(before, w.clone()));
                h.push(w);
            } else {
                h.push(add(before, mul(w.clone(), sub(xb, x.clone()))));
                h.push(mul(w, sub(x.clone(), xa)));
            }
        }
    }
    h
}
