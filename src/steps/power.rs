//! PowerTransformer: `power: {method: yeo-johnson, standardize: true}`.
//!
//! scikit-learn 1.9 finds each column's λ with scipy's `yeojohnson_normmax`:
//! the λ maximising the Yeo-Johnson log-likelihood of the non-missing
//! values, searched by `fminbound` within bounds that keep the transform of
//! values up to 20 times the largest from overflowing. It leaves a constant
//! column (by `_is_constant_feature`, on a mean and variance that a missing
//! value makes NaN) at λ = 1, and so does scipy an all-zero one.
//!
//! prep learns the same λ in the warehouse: scipy's bounds from the
//! column's largest magnitude and signs (with its other statistics), then
//! one scan of three passes over the rows crossed with 32 λ values
//! (`ir::Grid`, `render/grid.rs`): the first sinh-spaced across the bounds,
//! the next two evenly spaced between the best point's neighbours of the
//! pass before, then the vertex of the parabola through the last pass's
//! best point and its neighbours. Where the likelihood has a clear maximum
//! that is within about 1e-7 of scipy's λ (`test_power.py` checks 1e-4:
//! scipy's own answer moves by 2e-5 where the likelihood is flat); where it
//! grows toward a bound, prep's λ is the bound and scipy's stops short of
//! it. Where no λ gives a likelihood (the non-missing values are all
//! equal, but a missing value kept the column from being constant),
//! scipy's search ends at its upper bound: so does prep's. On a column
//! without values scikit-learn's fit fails: prep's λ is missing.
//!
//! The apply is scipy's transform operation for operation (`expm1` as
//! Kahan's `(u - 1)·y / ln(u)`, `u = exp(y)`), then StandardScaler's
//! standardisation on the transformed training values, their variance
//! taken about the transform of the mean (`Lineage::Near`: one level).

use serde::Serialize;

use super::standard::{Standard, constant_bound};
use super::{Context, OutputFacts, Step, numpy};
use crate::diagnostic::Diagnostics;
use crate::ir::build::*;
use crate::ir::{Agg, ApplyItem, Cond, Expr, Grid, GridField, Spacing};
use crate::lowering::{EPS, FeatureLowering, FeatureValue, Lineage, Moment, attr};
use crate::spec::{ColumnType, PowerMethod, PowerOptions};
use std::sync::Arc;

/// scipy's bounds: half the double's exponent range each way, net of
/// eps, `(ln(tiny) - ln(eps))/2` and `(ln(max) + ln(eps))/2`, divided by
/// `log1p(20·max|x|)`.
fn log_tiny() -> f64 {
    (f64::MIN_POSITIVE.ln() - f64::EPSILON.ln()) / 2.0
}

fn log_max() -> f64 {
    (f64::MAX.ln() + f64::EPSILON.ln()) / 2.0
}

/// Below this `log1p(20·max|x|)` (values all below 5e-202 in magnitude),
/// the bounds are taken at it: scipy's grow past 1e202, and their sinh
/// past the double's range.
const SMALLEST_SPREAD: f64 = 1e-200;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Power {
    pub method: PowerMethod,
    pub standardize: bool,
}

impl Step for Power {
    type Options = PowerOptions;

    fn check(o: &PowerOptions, cx: &Context, diags: &mut Diagnostics) -> Option<Power> {
        if !cx.needs_numeric("power", diags) {
            return None;
        }
        Some(Power {
            method: o.method,
            standardize: o.standardize,
        })
    }

    fn sklearn_options(&self) -> serde_json::Value {
        serde_json::json!({"method": self.method, "standardize": self.standardize})
    }

    fn lower(
        &self,
        f: &mut FeatureLowering,
        k: usize,
        value: &mut FeatureValue,
    ) -> Option<Vec<ApplyItem>> {
        let x = f.fit.shared(value.row.clone());
        // Per row: x's sign (1 at 0) and log1p(|x|), read by the fit's grids
        // and by the transform.
        let sign = case(vec![(Cond::Lt(x.clone(), num(0.0)), num(-1.0))], num(1.0));
        let sign = f.fit.shared(sign);
        let magnitude = numpy::log1p(Expr::Abs(Box::new(x.clone())), f);
        let magnitude = f.fit.shared(magnitude);
        let (lambda, centre) =
            self.lambda(f, k, &value.lineage, &x, (sign.clone(), magnitude.clone()));
        f.record(k, "PowerTransformer", vec![("lambdas_", attr(&lambda))]);
        let transformed = yeo_johnson(f, &x, (&sign, &magnitude), &lambda);
        value.row = f.fit.shared(transformed);
        // The transformed values lie near the transform of the mean.
        let (mean, centre_sign, centre_log) = centre;
        let centre = yeo_johnson(f, &mean, (&centre_sign, &centre_log), &lambda);
        value.lineage = Lineage::Near(centre);
        value
            .docs
            .push("Yeo-Johnson power transform with the learned lambda".into());
        if self.standardize {
            let scaler = Standard {
                with_mean: true,
                with_std: true,
            };
            let attributes = scaler.standardize(f, k, value);
            f.record_more(attributes);
        }
        None
    }

    /// Missing stays missing; a value whose transform overflows is missing.
    fn facts(&self, _: OutputFacts, _: bool) -> OutputFacts {
        OutputFacts::default()
    }
}

impl Power {
    /// scikit-learn's `lambdas_` for the column: 1 for a constant or
    /// all-zero (or empty) column, else the likelihood's maximum; and the
    /// column's mean, its sign and log1p(|mean|).
    fn lambda(
        &self,
        f: &mut FeatureLowering,
        k: usize,
        lineage: &Lineage,
        x: &Expr,
        (sign, log): (Expr, Expr),
    ) -> (Expr, (Expr, Expr, Expr)) {
        let n = f.moment(lineage, x, Moment::Count);
        let mean = f.moment(lineage, x, Moment::Mean);
        let max_abs = f.moment(lineage, x, Moment::MaxAbs);
        let (lo, hi) = (
            f.moment(lineage, x, Moment::Min),
            f.moment(lineage, x, Moment::Max),
        );
        let constant = is_constant(f, k, lineage, x, (&mean, &max_abs));
        let centre_sign = case(
            vec![(Cond::Lt(mean.clone(), num(0.0)), num(-1.0))],
            num(1.0),
        );
        let centre_sign = f.working(k, "centre_sign", centre_sign, "the sign of the mean");
        let centre_log = Expr::Abs(Box::new(mean.clone()));
        let centre_log = numpy::log1p_of_param(f, (k, "centre"), centre_log);
        let centre_log = f.working(k, "centre_log", centre_log, "log1p(|mean|)");
        let (lb, ub) = bounds(f, k, &max_abs, &lo, &hi);
        let level = f.stage_level(lineage, x);
        // The first pass spans the bounds in sinh steps; each next one the
        // best point's neighbours of the pass before it.
        let asinh_lb = f.working(k, "grid_lo", asinh(&lb), "asinh of the lower bound");
        let asinh_ub = f.working(k, "grid_hi", asinh(&ub), "asinh of the upper bound");
        let grid = Grid {
            sign,
            log,
            lo: asinh_lb,
            hi: asinh_ub,
            spacing: Spacing::Sinh,
            centre_sign: centre_sign.clone(),
            centre_log: centre_log.clone(),
        };
        let (s0, found) = best_lambda(f, k, level, &grid);
        let lambda = case(
            vec![
                // No value: scikit-learn's fit fails (scipy's search on an
                // empty array); λ is missing, and every output with it.
                (Cond::Le(n, num(0.0)), Expr::Null),
                (constant, num(1.0)),
                (Cond::Eq(max_abs, num(0.0)), num(1.0)),
                // No λ has a likelihood: scipy's search ends at its upper bound.
                (Cond::IsNull(s0), ub),
            ],
            found,
        );
        let lambda = f.statistic(
            k,
            "lambda",
            lambda,
            "the power transform's lambda (lambdas_)",
        );
        (lambda, (mean, centre_sign, centre_log))
    }
}

/// The grid scan's likelihood at its best λ (missing where no λ has one),
/// and the vertex of the parabola through the best point and its neighbours
/// (within half a step of it), or the best point where it is at an end or
/// the likelihood is not curved down there.
fn best_lambda(f: &mut FeatureLowering, k: usize, level: usize, grid: &Grid) -> (Expr, Expr) {
    let read = |f: &mut FeatureLowering, field| likelihood(f, k, level, grid, field);
    let (best, below) = (read(f, GridField::Lambda), read(f, GridField::LowerLambda));
    let (s0, s_below, s_above) = (
        read(f, GridField::Score),
        read(f, GridField::LowerScore),
        read(f, GridField::UpperScore),
    );
    let curvature = add(
        sub(s_below.clone(), mul(num(2.0), s0.clone())),
        s_above.clone(),
    );
    let doc = "second difference of the likelihood at the best point";
    let curvature = f.working(k, "curvature", curvature, doc);
    let step = sub(best.clone(), below);
    let vertex = add(
        best.clone(),
        div(
            mul(step, sub(s_below.clone(), s_above.clone())),
            mul(num(2.0), curvature.clone()),
        ),
    );
    let vertex = case(
        vec![
            (Cond::IsNull(s_below), best.clone()),
            (Cond::IsNull(s_above), best.clone()),
            (Cond::Lt(curvature, num(0.0)), vertex),
        ],
        best.clone(),
    );
    (s0, vertex)
}

/// scikit-learn's `_is_constant_feature(var, mean, rows)` on the column:
/// `var <= rows·eps·var + (rows·mean·eps)²`, never where a value is missing
/// (numpy's mean and variance are NaN), always where numpy's variance is
/// not a normal double: it overflows (inf <= inf) where the values spread
/// past about 1e154, and underflows (0 <= 0) below about 1e-154. Computed
/// on the values over their largest magnitude (the inequality keeps its
/// truth when both sides are scaled): their variance never overflows or
/// underflows, which an engine may raise on.
fn is_constant(
    f: &mut FeatureLowering,
    k: usize,
    lineage: &Lineage,
    x: &Expr,
    (mean, max_abs): (&Expr, &Expr),
) -> Cond {
    let rows = Expr::Param(f.rows);
    let n = f.moment(lineage, x, Moment::Count);
    let scaled = div(sub(x.clone(), mean.clone()), max_abs.clone());
    let level = f.stage_level(&Lineage::Opaque, &scaled);
    let var = f.fit.aggregate(
        f.name(&format!("s{k}_scaled_var")),
        level,
        Agg::VarPop(scaled),
        ColumnType::Numeric,
        Some("variance of the values over their largest magnitude"),
    );
    let var = Expr::Param(var);
    let mean = f.working(
        k,
        "scaled_mean",
        div(mean.clone(), max_abs.clone()),
        "mean / max|x|",
    );
    let bound = constant_bound(f, (k, "input_"), rows.clone(), mean, &var);
    // The logarithm of numpy's sum of squared deviations, rows·var·max|x|².
    let log_squares = case(
        vec![
            (Cond::Le(var.clone(), num(0.0)), Expr::Null),
            (Cond::Le(max_abs.clone(), num(0.0)), Expr::Null),
        ],
        add(
            ln(mul(rows.clone(), var.clone())),
            mul(num(2.0), ln(max_abs.clone())),
        ),
    );
    let log_squares = f.working(k, "log_squares", log_squares, "ln of the sum of squares");
    let constant = case(
        vec![
            (Cond::Lt(n, rows), num(0.0)),
            (Cond::Le(var.clone(), num(0.0)), num(1.0)),
            (Cond::Gt(log_squares.clone(), num(f64::MAX.ln())), num(1.0)),
            (Cond::Lt(log_squares, num(f64::MIN_POSITIVE.ln())), num(1.0)),
            (Cond::Le(var, bound), num(1.0)),
        ],
        num(0.0),
    );
    let constant = f.working(k, "constant", constant, "1 for a constant column");
    Cond::Eq(constant, num(1.0))
}

/// One field of the grid's scan, a working value of the fit.
fn likelihood(
    f: &mut FeatureLowering,
    k: usize,
    level: usize,
    grid: &Grid,
    field: GridField,
) -> Expr {
    // A grid reads the parameters its ends are: a level after theirs.
    let level = level.max(f.fit.level_of(&grid.lo).max(f.fit.level_of(&grid.hi)) + 1);
    let label = format!("s{k}_grid_{}", field_label(field));
    let name = f.name(&label);
    let id = f.fit.aggregate(
        name,
        level,
        Agg::Likelihood(Arc::new(grid.clone()), field),
        ColumnType::Numeric,
        Some("the power transform's likelihood on a grid of lambdas"),
    );
    f.fit.params[id].stored = false;
    Expr::Param(id)
}

fn field_label(field: GridField) -> &'static str {
    match field {
        GridField::LowerLambda => "lower_lambda",
        GridField::Lambda => "lambda",
        GridField::UpperLambda => "upper_lambda",
        GridField::LowerScore => "lower_likelihood",
        GridField::Score => "likelihood",
        GridField::UpperScore => "upper_likelihood",
    }
}

/// scipy's search bounds for λ: `log_tiny()` and `log_max()` over
/// `log1p(20·max|x|)`, mirrored around 1 (2 - λ) for negative values.
fn bounds(
    f: &mut FeatureLowering,
    k: usize,
    max_abs: &Expr,
    min: &Expr,
    max: &Expr,
) -> (Expr, Expr) {
    let spread = numpy::log1p_of_param(f, (k, "spread"), mul(num(20.0), max_abs.clone()));
    let spread = case(
        vec![(Cond::Gt(spread.clone(), num(SMALLEST_SPREAD)), spread)],
        num(SMALLEST_SPREAD),
    );
    let spread = f.working(k, "spread", spread, "log1p(20 * max|x|)");
    let lb0 = f.working(
        k,
        "lb0",
        div(num(log_tiny()), spread.clone()),
        "lowest lambda for non-negative values",
    );
    let ub0 = f.working(
        k,
        "ub0",
        div(num(log_max()), spread),
        "highest lambda for non-negative values",
    );
    let (mirror_lb, mirror_ub) = (sub(num(2.0), ub0.clone()), sub(num(2.0), lb0.clone()));
    let all_negative = Cond::Lt(max.clone(), num(0.0));
    let some_negative = Cond::Lt(min.clone(), num(0.0));
    let greater = |a: Expr, b: Expr| case(vec![(Cond::Gt(a.clone(), b.clone()), a)], b);
    let lesser = |a: Expr, b: Expr| case(vec![(Cond::Lt(a.clone(), b.clone()), a)], b);
    let lb = case(
        vec![
            (all_negative.clone(), mirror_lb.clone()),
            (some_negative.clone(), greater(mirror_lb, lb0.clone())),
        ],
        lb0.clone(),
    );
    let ub = case(
        vec![
            (all_negative, mirror_ub.clone()),
            (some_negative, lesser(mirror_ub, ub0.clone())),
        ],
        ub0,
    );
    (
        f.working(k, "lb", lb, "scipy's lowest lambda"),
        f.working(k, "ub", ub, "scipy's highest lambda"),
    )
}

/// asinh(y) = sign(y)·ln(|y| + sqrt(y² + 1)), ln(2|y|) above 1e8 (where
/// it is that to the last bit, and y² could overflow).
fn asinh(y: &Expr) -> Expr {
    let magnitude = Expr::Abs(Box::new(y.clone()));
    let sqrt = Expr::Sqrt(Box::new(add(
        mul(magnitude.clone(), magnitude.clone()),
        num(1.0),
    )));
    let value = case(
        vec![(
            Cond::Gt(magnitude.clone(), num(1e8)),
            add(ln(magnitude.clone()), num(std::f64::consts::LN_2)),
        )],
        ln(add(magnitude, sqrt)),
    );
    case(
        vec![(Cond::Lt(y.clone(), num(0.0)), sub(num(0.0), value.clone()))],
        value,
    )
}

/// scipy's `_yeojohnson_transform`: `expm1(λ·log1p(x))/λ` for x ≥ 0
/// (`log1p(x)` where |λ| < eps), `-expm1((2 - λ)·log1p(-x))/(2 - λ)` for
/// x < 0 (`-log1p(-x)` where |λ - 2| <= eps): one `expm1` per row, of
/// `ν·log1p(|x|)`, `ν` being λ or 2 - λ by the sign. `magnitude` is log1p(|x|).
fn yeo_johnson(
    f: &mut FeatureLowering,
    x: &Expr,
    (sign, magnitude): (&Expr, &Expr),
    lambda: &Expr,
) -> Expr {
    let negative = Cond::Lt(x.clone(), num(0.0));
    let nu = case(
        vec![(negative.clone(), sub(num(2.0), lambda.clone()))],
        lambda.clone(),
    );
    let nu = f.fit.shared(nu);
    let size = Expr::Abs(Box::new(nu.clone()));
    let powered = div(numpy::expm1(f, mul(nu.clone(), magnitude.clone())), nu);
    let logged = mul(sign.clone(), magnitude.clone());
    let powered = mul(sign.clone(), powered);
    // At |ν| = eps exactly, scipy takes the log for x < 0 only.
    case(
        vec![
            (Cond::IsNull(x.clone()), Expr::Null),
            (Cond::Lt(size.clone(), num(EPS)), logged.clone()),
            (Cond::Gt(size, num(EPS)), powered.clone()),
            (negative, logged),
        ],
        powered,
    )
}
