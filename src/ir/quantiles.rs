//! What a step reads from learned quantiles, and how their table is cut
//! into buckets for the join that finds a row's interval.

/// What an `Expr::Quantile` reads: of the interval between two neighbouring
/// distinct quantiles `value <= x < next` (NULL where `x` is in none), or
/// of the whole table. A quantile's reference is its place in [0, 1]
/// (scikit-learn's `references_`); a value repeated among the quantiles has
/// a first and a last one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuantileField {
    Value,
    Next,
    FirstReference,
    LastReference,
    NextReference,
    /// The smallest and largest quantile (NULL: no quantiles were learned).
    Bottom,
    Top,
    TopFirstReference,
    TopLastReference,
    /// The first distinct quantile of bucket `k` (from 1; NULL past the last).
    Signpost(usize),
}

impl QuantileField {
    /// Whether the field is of the table's ends (one row), not of an interval.
    pub fn of_ends(self) -> bool {
        matches!(
            self,
            QuantileField::Bottom
                | QuantileField::Top
                | QuantileField::TopFirstReference
                | QuantileField::TopLastReference
                | QuantileField::Signpost(_)
        )
    }
}

/// How a table of at most `n` quantiles is cut into buckets of neighbouring
/// intervals, so that a row's interval is found by an equality join on its
/// bucket and a range test within it (an engine without range joins tests
/// one bucket, not every interval): `(width, buckets)`, about `sqrt(n)` each.
/// A row's bucket is how many of the `buckets - 1` signposts (every
/// `width`-th distinct quantile) are at or below its value.
pub fn quantile_buckets(n: usize) -> (usize, usize) {
    let width = ((n as f64).sqrt().ceil() as usize).max(1);
    (width, n.div_ceil(width).max(1))
}
