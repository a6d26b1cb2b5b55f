//! scipy's functions where a step's output must give scipy's numbers:
//! the standard normal's quantile function (`scipy.stats.norm.ppf`).

use crate::ir::build::*;
use crate::ir::{Cond, Expr};
use crate::lowering::FeatureLowering;

/// Wichura's algorithm AS 241 (PPND16): rational approximations with a
/// relative error below 1e-16. Checked against `scipy.stats.norm.ppf` over
/// [1e-7, 1 - 1e-7]: within 2e-15.
// The published coefficients, digit for digit.
#[allow(clippy::excessive_precision)]
const CENTRAL: ([f64; 8], [f64; 8]) = (
    [
        3.3871328727963666080e0,
        1.3314166789178437745e2,
        1.9715909503065514427e3,
        1.3731693765509461125e4,
        4.5921953931549871457e4,
        6.7265770927008700853e4,
        3.3430575583588128105e4,
        2.5090809287301226727e3,
    ],
    [
        1.0,
        4.2313330701600911252e1,
        6.8718700749205790830e2,
        5.3941960214247511077e3,
        2.1213794301586595867e4,
        3.9307895800092710610e4,
        2.8729085735721942674e4,
        5.2264952788528545610e3,
    ],
);
#[allow(clippy::excessive_precision)]
const TAIL: ([f64; 8], [f64; 8]) = (
    [
        1.42343711074968357734e0,
        4.63033784615654529590e0,
        5.76949722146069140550e0,
        3.64784832476320460504e0,
        1.27045825245236838258e0,
        2.41780725177450611770e-1,
        2.27238449892691845833e-2,
        7.74545014278341407640e-4,
    ],
    [
        1.0,
        2.05319162663775882187e0,
        1.67638483018380384940e0,
        6.89767334985100004550e-1,
        1.48103976427480074590e-1,
        1.51986665636164571966e-2,
        5.47593808499534494600e-4,
        1.05075007164441684324e-9,
    ],
);

/// `c[0] + r (c[1] + r (c[2] + ...))`.
fn horner(c: &[f64; 8], r: &Expr) -> Expr {
    (c[..7].iter().rev()).fold(num(c[7]), |v, &k| add(mul(v, r.clone()), num(k)))
}

/// The standard normal's quantile of probability `p`, for `p` within
/// [exp(-25), 1 - exp(-25)] (about 1.4e-11: AS 241's third range, beyond,
/// is left out; callers clip `p` well inside it). Each intermediate value is
/// computed once per row (`shared`).
pub(super) fn normal_quantile(f: &mut FeatureLowering, p: &Expr) -> Expr {
    let q = f.fit.shared(sub(p.clone(), num(0.5)));
    let central = {
        let r = f.fit.shared(sub(num(0.180_625), mul(q.clone(), q.clone())));
        div(
            mul(q.clone(), horner(&CENTRAL.0, &r)),
            horner(&CENTRAL.1, &r),
        )
    };
    // The distance to the nearer end, as a square root of a logarithm.
    let nearer = case(
        vec![(Cond::Lt(q.clone(), num(0.0)), p.clone())],
        sub(num(1.0), p.clone()),
    );
    let r = Expr::Sqrt(Box::new(sub(num(0.0), Expr::Ln(Box::new(nearer)))));
    let r = f.fit.shared(sub(r, num(1.6)));
    let tail = f.fit.shared(div(horner(&TAIL.0, &r), horner(&TAIL.1, &r)));
    let signed = case(
        vec![(Cond::Lt(q.clone(), num(0.0)), sub(num(0.0), tail.clone()))],
        tail,
    );
    case(
        vec![(Cond::Le(Expr::Abs(Box::new(q)), num(0.425)), central)],
        signed,
    )
}
