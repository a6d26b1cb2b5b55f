//! QuantileTransformer: `quantile: {n_quantiles: 1000, output_distribution: uniform}`.
//!
//! The fit learns scikit-learn's `quantiles_`: `n_quantiles_ = min(n_quantiles,
//! rows)` quantiles (rows counted with their missing values, as scikit-learn
//! counts them), at the references `np.linspace(0, 1, n_quantiles_)`, each
//! `np.nanpercentile` of the non-missing values read from their ranks as numpy
//! reads it (one more scan of the fit rows). They are a relation, not
//! parameters: rows of the fitted parameters of kind `quantile` (the value,
//! and its reference in the frequency's place).
//!
//! The apply finds each value's interval among the distinct quantiles with one
//! join on the interval's bucket and range (`ir::quantile_buckets`: about
//! `sqrt(n)` intervals tested per row where the engine has no range join,
//! never a CASE per quantile) and
//! computes scikit-learn's transform from it, operation for operation:
//! `np.interp` forwards and backwards through the quantiles, averaged (a value
//! equal to repeated quantiles lands in their middle), then the ends:
//! `uniform` sets the smallest quantile's value to 0 and the largest's to 1;
//! `normal` does so within 1e-7 of them, then takes the standard normal's
//! quantile (AS 241), clipped 1e-7 minus an ulp from each end. A missing value
//! stays missing. scikit-learn fits on a random `subsample` of the rows when
//! there are more: prep always fits on every row.

use serde::Serialize;

use super::{Context, OutputFacts, Step, scipy, span};
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::ir::build::*;
use crate::ir::{
    Agg, ApplyItem, Attr, Cond, Expr, QuantileField as Q, Vocabulary, quantile_buckets,
};
use crate::lowering::{FeatureLowering, FeatureValue, Lineage, attr};
use crate::spec::{ColumnType, OutputDistribution, QuantileOptions};

/// At most this many quantiles: the fit writes one row per quantile.
const MAX_QUANTILES: i64 = 100_000;

/// scikit-learn's `BOUNDS_THRESHOLD`.
const BOUNDS: f64 = 1e-7;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quantile {
    pub n_quantiles: usize,
    pub output_distribution: OutputDistribution,
    pub subsample: Option<u64>,
}

impl Step for Quantile {
    type Options = QuantileOptions;

    fn check(o: &QuantileOptions, cx: &Context, diags: &mut Diagnostics) -> Option<Quantile> {
        if !cx.needs_numeric("quantile", diags) {
            return None;
        }
        let given = o.n_quantiles.as_ref();
        let n = cx.whole_number("n_quantiles", given, 1000, 1..=MAX_QUANTILES, diags)?;
        let n_at = given.and_then(span).or(cx.at.clone());
        let subsample = match &o.subsample {
            None => Some(10_000),
            Some(s) => match s.value {
                None => None,
                Some(v) if v >= 1 => Some(v as u64),
                Some(v) => {
                    diags.push(
                        Diagnostic::new(Code::InvalidValue, format!("subsample is {v}"))
                            .at(span(s))
                            .hint("give a whole number of rows, at least 1, or `null` (every row)"),
                    );
                    return None;
                }
            },
        };
        if let Some(s) = subsample.filter(|&s| (n as u64) > s) {
            // scikit-learn's fit refuses it.
            diags.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    format!("n_quantiles ({n}) is more than subsample ({s})"),
                )
                .at(n_at)
                .hint("scikit-learn refuses more quantiles than sampled rows: lower n_quantiles, or set `subsample: null`"),
            );
            return None;
        }
        Some(Quantile {
            n_quantiles: n as usize,
            output_distribution: o.output_distribution,
            subsample,
        })
    }

    fn sklearn_options(&self) -> serde_json::Value {
        serde_json::json!({
            "n_quantiles": self.n_quantiles,
            "output_distribution": self.output_distribution,
            "subsample": self.subsample,
        })
    }

    fn lower(
        &self,
        f: &mut FeatureLowering,
        k: usize,
        value: &mut FeatureValue,
    ) -> Option<Vec<ApplyItem>> {
        let FeatureValue { row, lineage, docs } = value;
        // A column of the rows the join reads (Spark's planner slows down
        // and runs out of memory with expressions in several joins' conditions).
        let x = f.fit.named_value(row.clone());
        let table = f.name(&format!("s{k}_quantiles"));
        let level = f.stage_level(lineage, &x);
        f.fit.vocabularies.push(Vocabulary {
            name: table.clone(),
            feature: f.feature.column.clone(),
            level,
            expr: x.clone(),
            value_type: ColumnType::Numeric,
            quantiles: Some(self.n_quantiles),
        });
        // Learned in the same scan as the quantiles: the values read from
        // them come a level after it (a step after this one learns there).
        let count = f.fit.aggregate(
            f.name(&format!("s{k}_n")),
            level,
            Agg::Count(x.clone()),
            ColumnType::Numeric,
            Some("how many values the quantiles are learned from"),
        );
        let count = Expr::Param(count);
        let leaf = |field, bucket: &Expr| Expr::Quantile {
            table: table.clone(),
            field,
            x: Box::new(x.clone()),
            bucket: Box::new(bucket.clone()),
            learned_with: Box::new(count.clone()),
        };
        // The bucket of the value's interval: how many signposts it reaches.
        let (_, buckets) = quantile_buckets(self.n_quantiles);
        let reached = (1..buckets).map(|k| {
            let signpost = leaf(Q::Signpost(k), &Expr::Null);
            case(vec![(Cond::Le(signpost, x.clone()), num(1.0))], num(0.0))
        });
        let bucket = f.fit.named_value(reached.reduce(add).unwrap_or(num(0.0)));
        // The ends' values read by name: their one-row relation is joined
        // once, where the bucket is computed, not again with the interval.
        let ends: Vec<(Q, Expr)> = [Q::Bottom, Q::Top, Q::TopFirstReference, Q::TopLastReference]
            .into_iter()
            .map(|q| (q, f.fit.named_value(leaf(q, &Expr::Null))))
            .collect();
        let y = self.interpolated(&x, |field| match ends.iter().find(|(q, _)| *q == field) {
            Some((_, named)) => named.clone(),
            None => leaf(field, &bucket),
        });
        // The interval is joined where this value is computed: it is one.
        let y = f.fit.shared(y);
        let normal = self.output_distribution == OutputDistribution::Normal;
        *row = match normal {
            false => y,
            true => normal_output(f, &y),
        };
        *lineage = Lineage::Opaque;
        self.record(f, k, table);
        docs.push(match normal {
            false => "its rank among the training quantiles, in [0, 1]".into(),
            true => {
                "the standard normal's quantile of its rank among the training quantiles".into()
            }
        });
        None
    }

    /// `uniform`: within [0, 1]; `normal`: within the clipped normal quantiles.
    fn facts(&self, _: OutputFacts, _: bool) -> OutputFacts {
        let range = match self.output_distribution {
            OutputDistribution::Uniform => (0.0, 1.0),
            OutputDistribution::Normal => (-5.2, 5.2),
        };
        OutputFacts {
            not_null: false,
            range: Some(range),
        }
    }
}

impl Quantile {
    /// scikit-learn's `_transform_col` up to the output distribution: the
    /// place of `x` among the quantiles, in [0, 1], from the fields `at`
    /// reads from the table.
    fn interpolated(&self, x: &Expr, at: impl Fn(Q) -> Expr) -> Expr {
        let normal = self.output_distribution == OutputDistribution::Normal;
        let (bottom, top) = (at(Q::Bottom), at(Q::Top));
        let (lower, upper) = match normal {
            true => (
                Cond::Lt(sub(x.clone(), num(BOUNDS)), bottom.clone()),
                Cond::Gt(add(x.clone(), num(BOUNDS)), top.clone()),
            ),
            false => (
                Cond::Eq(x.clone(), bottom.clone()),
                Cond::Eq(x.clone(), top.clone()),
            ),
        };
        let half = |e: Expr| mul(num(0.5), e);
        let (v, next) = (at(Q::Value), at(Q::Next));
        let (first, last) = (at(Q::FirstReference), at(Q::LastReference));
        let slope = div(
            sub(at(Q::NextReference), last.clone()),
            sub(next.clone(), v.clone()),
        );
        // np.interp forwards: from the last quantile at or below x; backwards
        // (negated): from the first at or above it; their mean.
        let forward = add(mul(slope.clone(), sub(x.clone(), v.clone())), last.clone());
        let backward = sub(mul(slope, sub(next, x.clone())), at(Q::NextReference));
        let top_last = at(Q::TopLastReference);
        case(
            vec![
                (Cond::IsNull(x.clone()), Expr::Null),
                // No quantiles: the column had no value in the fit.
                (Cond::IsNull(bottom.clone()), Expr::Null),
                (lower, num(0.0)),
                (upper, num(1.0)),
                (Cond::Lt(x.clone(), bottom), num(0.0)),
                (Cond::Gt(x.clone(), top.clone()), top_last.clone()),
                (
                    Cond::Eq(x.clone(), top),
                    half(add(top_last, at(Q::TopFirstReference))),
                ),
                (Cond::Eq(x.clone(), v), half(add(last, first))),
            ],
            half(sub(forward, backward)),
        )
    }
}

/// The standard normal's quantile of `y`, clipped as scikit-learn clips it
/// (1e-7 minus an ulp from each end); missing where `y` is (every operation
/// passes NULL on).
fn normal_output(f: &mut FeatureLowering, y: &Expr) -> Expr {
    let end = BOUNDS - f64::EPSILON;
    let clipped = case(
        vec![
            (Cond::Lt(y.clone(), num(end)), num(end)),
            (Cond::Gt(y.clone(), num(1.0 - end)), num(1.0 - end)),
        ],
        y.clone(),
    );
    let p = f.fit.shared(clipped);
    let z = scipy::normal_quantile(f, &p);
    f.fit.shared(z)
}

impl Quantile {
    /// scikit-learn's fitted attributes: how many quantiles (at most the
    /// number of fit rows), the quantiles and their references read from
    /// the learned table.
    fn record(&self, f: &mut FeatureLowering, k: usize, table: String) {
        let rows = Expr::Param(f.rows);
        let n = num(self.n_quantiles as f64);
        let n_quantiles = f.statistic(
            k,
            "n_quantiles",
            case(vec![(Cond::Lt(rows.clone(), n.clone()), rows)], n),
            "how many quantiles (n_quantiles_): at most the number of fit rows",
        );
        let quantiles = |references| Attr::Quantiles {
            table: table.clone(),
            references,
        };
        let attributes = vec![
            ("n_quantiles_", attr(&n_quantiles)),
            ("quantiles_", quantiles(false)),
            ("references_", quantiles(true)),
        ];
        f.record(k, "QuantileTransformer", attributes);
    }
}
