//! A power transform's λ, found where the data is: its log-likelihood on a
//! grid of λ values, every row crossed with every grid point in one scan.
//!
//! scikit-learn maximises the likelihood with scipy's Brent-style
//! minimisers, an iteration of one evaluation (one pass over the data)
//! each: dozens of passes. A grid is evaluated in one pass for all its
//! points: three passes in one scan, each spanning the best point's
//! neighbours of the pass before, then a parabola through the last pass's
//! best three points (the step's lowering says how), land within about
//! 1e-7 of scipy's λ where the likelihood has a clear maximum.

use std::fmt;

use super::Expr;

/// How many λ values one pass evaluates: 8 × 4, the rows of the fit's
/// `prep_grid` relation (see `render::grid`).
pub const GRID_POINTS: usize = 32;

/// How many passes refine the first: each spans the best point's
/// neighbours of the pass before it, 31 steps in two.
pub const GRID_REFINEMENTS: usize = 2;

/// The log-likelihood of a power transform (Box-Cox's and Yeo-Johnson's
/// have the same shape) at `GRID_POINTS` values of λ from `lo` to `hi`,
/// then at as many between the best one's neighbours, `GRID_REFINEMENTS`
/// times (one scan: a pass over the rows each):
///
/// `(λ - 1)·Σ sign·log  -  n/2·ln(var(ψ))`,
/// `ψ = sign·expm1(ν·log)/ν`, `ν = λ` where `sign` is 1 and `2 - λ` where
/// it is -1,
///
/// over the rows whose `log` is not missing; missing where `var(ψ)` is
/// below the smallest normal double (scipy's `-inf`, never the best). The
/// variance is of ψ less ψ at the centre (`centre_sign`, `centre_log`:
/// the transform of the column's mean): the same variance, but an engine
/// summing squares keeps its digits where ψ's mean is large against its
/// spread.
/// Yeo-Johnson's `log` is `log1p(|x|)` and its `sign` is x's (1 at 0);
/// Box-Cox's is `ln(x)` with `sign` 1.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    pub sign: Expr,
    pub log: Expr,
    /// The first pass's ends, parameters learned before it, and its spacing.
    pub lo: Expr,
    pub hi: Expr,
    pub spacing: Spacing,
    pub centre_sign: Expr,
    pub centre_log: Expr,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Spacing {
    /// λ evenly spaced from `lo` to `hi`.
    Linear,
    /// `sinh` of evenly spaced values from `lo` to `hi`: a first grid over
    /// a wide range (scipy's bounds can be ±100), dense near 0, where λ
    /// usually is, and sparse far from it.
    Sinh,
}

/// What a grid scan gives, from its last pass: at its best point (the
/// largest likelihood, the smallest λ among equal ones) and at that point's
/// neighbours on the grid (missing past an end); every field missing where
/// no point has a likelihood.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum GridField {
    LowerLambda,
    Lambda,
    UpperLambda,
    LowerScore,
    Score,
    UpperScore,
}

impl GridField {
    pub const ALL: [GridField; 6] = [
        GridField::LowerLambda,
        GridField::Lambda,
        GridField::UpperLambda,
        GridField::LowerScore,
        GridField::Score,
        GridField::UpperScore,
    ];

    /// The grid point it reads (-1, 0 or 1 from the best) and whether it
    /// is the likelihood (else λ).
    pub fn at(self) -> (i64, bool) {
        match self {
            GridField::LowerLambda => (-1, false),
            GridField::Lambda => (0, false),
            GridField::UpperLambda => (1, false),
            GridField::LowerScore => (-1, true),
            GridField::Score => (0, true),
            GridField::UpperScore => (1, true),
        }
    }
}

impl Grid {
    /// The per-row values a grid scan reads.
    pub fn arguments(&self) -> [&Expr; 6] {
        [
            &self.sign,
            &self.log,
            &self.lo,
            &self.hi,
            &self.centre_sign,
            &self.centre_log,
        ]
    }
}

impl fmt::Display for Grid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Grid {
            sign,
            log,
            lo,
            hi,
            spacing,
            centre_sign,
            centre_log,
        } = self;
        write!(
            f,
            "likelihood_grid({sign}, {log}, {lo}, {hi}, {spacing:?}, {centre_sign}, {centre_log})"
        )
    }
}
