//! numpy's arithmetic where a step's fit must give numpy's numbers: points
//! of `np.linspace`, and `np.percentile` read from the ranked values (an
//! engine's own percentile function rounds its interpolation its own way:
//! DuckDB's `QUANTILE_CONT` is an ulp off numpy's on some values).

use crate::ir::build::*;
use crate::ir::{Cond, Expr};
use crate::lowering::{FeatureLowering, Lineage, Moment};
use crate::spec::QuantileMethod;

/// The `i`-th of `np.linspace(start, stop, n + 1)`, as numpy computes it.
pub(super) fn linspace_point(start: f64, stop: f64, i: usize, n: usize) -> f64 {
    if i == n {
        return stop;
    }
    let step = (stop - start) / n as f64;
    if step == 0.0 {
        (i as f64 / n as f64) * (stop - start) + start
    } else {
        i as f64 * step + start
    }
}

/// `np.linspace(start, stop, count)` in SQL with numpy's operations:
/// `i * step + start`, `step = (stop - start) / (count - 1)` (named
/// `label`); where that step is 0 (a subnormal range, whose division
/// underflows) numpy computes `i / (count - 1) * (stop - start) + start`
/// instead; the last point is `stop` itself.
pub(super) fn linspace(
    f: &mut FeatureLowering,
    k: usize,
    (label, doc): (&str, &str),
    start: &Expr,
    stop: &Expr,
    count: usize,
) -> Vec<Expr> {
    if count <= 1 {
        return vec![start.clone(); count];
    }
    let div_by = (count - 1) as f64;
    let delta = sub(stop.clone(), start.clone());
    let step = f.working(k, label, div(delta.clone(), num(div_by)), doc);
    let point = |i: usize| {
        // i * step is no smaller than the step: it cannot underflow where
        // the step did not; the fraction of a subnormal range can.
        let zero_step = add(
            product(num(i as f64 / div_by), delta.clone()),
            start.clone(),
        );
        case(
            vec![(Cond::Eq(step.clone(), num(0.0)), zero_step)],
            add(mul(num(i as f64), step.clone()), start.clone()),
        )
    };
    (0..count)
        .map(|i| {
            if i + 1 == count {
                stop.clone()
            } else {
                point(i)
            }
        })
        .collect()
}

/// A column's values ranked, and how many there are: what numpy's
/// percentiles read positions from (one window for every percentile).
pub(super) struct Ranked {
    rank: Expr,
    n: Expr,
}

impl Ranked {
    pub(super) fn new(f: &mut FeatureLowering, k: usize, lineage: &Lineage, row: &Expr) -> Ranked {
        let rank = f.fit.shared(Expr::Rank(Box::new(row.clone())));
        let n = f.moment(lineage, row, Moment::Count);
        let n = f.working(k, "n", n, "how many values there are");
        Ranked { rank, n }
    }

    /// `np.percentile(values, 100 * q, method=...)`: numpy's virtual index
    /// into the sorted values, the values at its floor and the next position
    /// (clipped to the array), and numpy's interpolation between them. Its
    /// working values are named `<label>_...`.
    pub(super) fn percentile(
        &self,
        f: &mut FeatureLowering,
        k: usize,
        row: &Expr,
        q: f64,
        method: QuantileMethod,
        label: &str,
    ) -> Expr {
        let n = &self.n;
        let index = match method {
            QuantileMethod::Linear => mul(sub(n.clone(), num(1.0)), num(q)),
            _ => sub(mul(n.clone(), num(q)), num(1.0)),
        };
        let index = f.working(k, &format!("{label}_index"), index, "numpy's virtual index");
        let floor = Expr::Floor(Box::new(index.clone()));
        let floor = f.working(k, &format!("{label}_floor"), floor, "its whole part");
        // 1-based positions of the two values, within 1..n.
        let clip = |p: Expr| {
            case(
                vec![
                    (Cond::Lt(p.clone(), num(1.0)), num(1.0)),
                    (Cond::Gt(p.clone(), n.clone()), n.clone()),
                ],
                p,
            )
        };
        let below = clip(add(floor.clone(), num(1.0)));
        let above = clip(add(floor.clone(), num(2.0)));
        let below = f.working(
            k,
            &format!("{label}_below_at"),
            below,
            "position of the value below",
        );
        let above = f.working(
            k,
            &format!("{label}_above_at"),
            above,
            "position of the value above",
        );
        let a = f.order_statistic(row, &self.rank, below, &format!("s{k}_{label}_below"));
        let b = f.order_statistic(row, &self.rank, above, &format!("s{k}_{label}_above"));
        let gamma = sub(index.clone(), floor.clone());
        let whole = Cond::Eq(index, floor);
        let diff = sub(b.clone(), a.clone());
        // numpy's _lerp(a, b, t): a + d·t below t = 0.5, b − d·(1 − t) from
        // it; with t = 0 or 1 that is a or b itself (d is finite).
        match method {
            // t is 0.5 where the index is whole, else 1.
            QuantileMethod::AveragedInvertedCdf => {
                case(vec![(whole, sub(b.clone(), product(diff, num(0.5))))], b)
            }
            // t is 0 where the index is whole, else 1.
            QuantileMethod::InvertedCdf => case(vec![(whole, a)], b),
            QuantileMethod::Linear => case(
                vec![(
                    Cond::Lt(gamma.clone(), num(0.5)),
                    add(a, product(diff.clone(), gamma.clone())),
                )],
                sub(b, product(diff, sub(num(1.0), gamma))),
            ),
        }
    }
}

/// log(1 + x), missing where x <= -1. log(1 + x) loses x's digits where x
/// is small; Goldberg's log(u) * x / (u - 1), u = 1 + x, keeps them (to a
/// few ulps), and is x itself where u rounds to 1.
pub(super) fn log1p(x: Expr, f: &mut FeatureLowering) -> Expr {
    let u = f.fit.shared(add(num(1.0), x.clone()));
    goldberg_log1p(x, u)
}

/// Goldberg's log1p(x) given `u`, `1 + x` computed once (a per-row value
/// or a parameter).
fn goldberg_log1p(x: Expr, u: Expr) -> Expr {
    case(
        vec![
            (Cond::Le(x.clone(), num(-1.0)), Expr::Null),
            (Cond::Eq(u.clone(), num(1.0)), x.clone()),
        ],
        div(mul(Expr::Ln(Box::new(u.clone())), x), sub(u, num(1.0))),
    )
}

/// The largest x whose exp is finite: ln of the largest double.
const EXP_MAX: f64 = 709.782712893384;
/// Below it exp(x) rounds to 0 (ln of half the smallest subnormal), where
/// engines that raise on underflow (PostgreSQL) would stop.
const EXP_ZERO: f64 = -745.1332191019412;

/// np.exp(x): missing where it overflows (numpy's inf), 0 where it underflows.
pub(super) fn exp(x: Expr) -> Expr {
    case(
        vec![
            (Cond::Gt(x.clone(), num(EXP_MAX)), Expr::Null),
            (Cond::Lt(x.clone(), num(EXP_ZERO)), num(0.0)),
        ],
        Expr::Exp(Box::new(x)),
    )
}

/// np.expm1(y), Kahan's way: `(u - 1)·y / ln(u)`, `u = e^y` (y itself where
/// u rounds to 1, -1 where it is 0); missing where e^y overflows.
pub(super) fn expm1(f: &mut FeatureLowering, y: Expr) -> Expr {
    let y = f.fit.shared(y);
    let u = f.fit.shared(exp(y.clone()));
    case(
        vec![
            (Cond::Eq(u.clone(), num(1.0)), y.clone()),
            (Cond::Eq(u.clone(), num(0.0)), num(-1.0)),
        ],
        div(mul(sub(u.clone(), num(1.0)), y), Expr::Ln(Box::new(u))),
    )
}

/// log1p(y) of a parameter `y`, as `log1p` computes it per row.
pub(super) fn log1p_of_param(f: &mut FeatureLowering, (k, label): (usize, &str), y: Expr) -> Expr {
    let u = add(num(1.0), y.clone());
    let u = f.working(k, &format!("{label}_plus_1"), u, "1 + the value");
    goldberg_log1p(y, u)
}
