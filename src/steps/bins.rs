//! KBinsDiscretizer: `bins: {n_bins: 5, strategy: uniform|quantile, encode: onehot|ordinal}`.
//!
//! The edges are scikit-learn's: `uniform` is `np.linspace(min, max, n_bins + 1)`
//! with numpy's own arithmetic; `quantile` is `np.percentile` at
//! `np.linspace(0, 100, n_bins + 1)`, each percentile read as numpy reads it:
//! the values at two positions of the sorted column (order statistics picked
//! by rank, never an engine's percentile function, whose positions differ by
//! one where `n * q` rounds) and numpy's interpolation between them. Edges
//! closer than 1e-8 to the one before are removed, as scikit-learn does; a
//! constant column has one bin. A value's bin is how many kept edges after
//! the first it reaches, at most `n_bins_ - 1` (`np.searchsorted` over the
//! inner edges, `side="right"`).

use serde::Serialize;

use super::numpy::{Ranked, linspace, linspace_point};
use super::{Context, OutputFacts, Step, span};
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::ir::build::*;
use crate::ir::{ApplyItem, Attr, Cond, Deferred, DeferredEncoder, Expr, Output, ParamId};
use crate::lowering::{FeatureLowering, FeatureValue, Lineage, Moment, attr};
use crate::naming;
use crate::spec::{BinEncode, BinStrategy, BinsOptions, QuantileMethod};

/// At most this many bins: each is a parameter and a comparison per row.
const MAX_BINS: i64 = 1000;

/// scikit-learn removes bins whose width is not above this.
const MIN_WIDTH: f64 = 1e-8;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bins {
    pub n_bins: usize,
    pub strategy: BinStrategy,
    pub encode: BinEncode,
    pub quantile_method: QuantileMethod,
    pub subsample: Option<u64>,
}

impl Step for Bins {
    type Options = BinsOptions;

    fn check(o: &BinsOptions, cx: &Context, diags: &mut Diagnostics) -> Option<Bins> {
        if !cx.needs_numeric("bins", diags) {
            return None;
        }
        let n_bins = cx.whole_number("n_bins", o.n_bins.as_ref(), 5, 2..=MAX_BINS, diags);
        let mut ok = n_bins.is_some();
        let strategy = o
            .strategy
            .as_ref()
            .map_or(BinStrategy::Quantile, |s| s.value);
        if strategy == BinStrategy::Kmeans {
            ok = false;
            diags.push(
                Diagnostic::new(Code::InvalidValue, "`strategy: kmeans` cannot be computed exactly in SQL")
                    .at(o.strategy.as_ref().and_then(span))
                    .hint("scikit-learn's edges come from Lloyd's k-means, repeated until the centres move less than a tolerance (up to 300 passes over the data, as many as the data needs); one SQL query cannot repeat a scan a number of times the data decides. Use `strategy: quantile` or `strategy: uniform`"),
            );
        }
        let encode = o.encode.as_ref().map_or(BinEncode::Onehot, |e| e.value);
        ok.then(|| Bins {
            n_bins: n_bins.unwrap_or_default() as usize,
            strategy,
            encode,
            quantile_method: o
                .quantile_method
                .unwrap_or(QuantileMethod::AveragedInvertedCdf),
            subsample: o.subsample.unwrap_or(Some(200_000)),
        })
    }

    fn sklearn_options(&self) -> serde_json::Value {
        serde_json::json!({
            "n_bins": self.n_bins,
            "strategy": self.strategy,
            "encode": self.encode,
            "quantile_method": self.quantile_method,
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
        let n_bins = self.n_bins;
        let min = f.moment(lineage, row, Moment::Min);
        let max = f.moment(lineage, row, Moment::Max);
        let min = f.statistic(k, "edge0", min, "first bin edge: the training minimum");
        let max = f.working(k, "max", max, "the training maximum");
        let raw = self.raw_edges(f, k, (lineage, row), &min, &max);
        let constant = Cond::Eq(min.clone(), max.clone());
        let mut edges = vec![min.clone()];
        let mut kept = Vec::new();
        for i in 1..=n_bins {
            let mut arms = vec![(constant.clone(), Expr::Null)];
            if self.strategy == BinStrategy::Quantile {
                let width = sub(raw[i].clone(), raw[i - 1].clone());
                arms.push((Cond::Le(width, num(MIN_WIDTH)), Expr::Null));
            }
            let edge = case(arms, raw[i].clone());
            let edge = f.statistic(k, &format!("edge{i}"), edge, "a bin edge (NULL: removed)");
            kept.push(case(vec![(Cond::IsNull(edge.clone()), num(0.0))], num(1.0)));
            edges.push(edge);
        }
        let kept = kept.into_iter().reduce(add).unwrap_or(num(0.0));
        let bins_id = f.fit.param_id(
            f.name(&format!("s{k}_n_bins")),
            case(vec![(constant, num(1.0))], kept),
            "number of bins (n_bins_)",
        );
        let bins = Expr::Param(bins_id);
        f.record(
            k,
            "KBinsDiscretizer",
            vec![
                ("bin_edges_", Attr::List(edges.iter().map(attr).collect())),
                ("n_bins_", attr(&bins)),
            ],
        );
        *row = binned(f, row, &edges[1..], bins.clone());
        let kind = match self.strategy {
            BinStrategy::Uniform => "equal-width",
            _ => "equal-count",
        };
        *lineage = Lineage::Opaque;
        if self.encode == BinEncode::Ordinal {
            docs.push(format!(
                "the index of its bin among {n_bins} {kind} bins of the training values"
            ));
            return None;
        }
        docs.push(format!(
            "binned into {n_bins} {kind} bins of the training values"
        ));
        let bin = f.fit.shared(row.clone());
        Some(self.one_hot(f, &bin, bins_id, docs))
    }

    /// A bin index, never NULL (a missing value stops the query); one-hot: 0 or 1.
    fn facts(&self, _: OutputFacts, _: bool) -> OutputFacts {
        let top = match self.encode {
            BinEncode::Ordinal => (self.n_bins - 1) as f64,
            _ => 1.0,
        };
        OutputFacts {
            not_null: true,
            range: Some((0.0, top)),
        }
    }
}

impl Bins {
    /// Every edge as numpy computes it, before narrow bins are removed: the
    /// minimum, the inner edges, the maximum.
    fn raw_edges(
        &self,
        f: &mut FeatureLowering,
        k: usize,
        (lineage, row): (&Lineage, &Expr),
        min: &Expr,
        max: &Expr,
    ) -> Vec<Expr> {
        let n_bins = self.n_bins;
        // Each inner edge named as it is computed (a quantile's working
        // values before the next quantile's).
        let named = |f: &mut FeatureLowering, i: usize, edge: Expr| {
            let doc = "a bin edge before narrow bins are removed";
            f.working(k, &format!("raw_edge{i}"), edge, doc)
        };
        let inner: Vec<Expr> = match self.strategy {
            BinStrategy::Quantile => {
                // Equal counts: one ranking of the values and their count, read at every edge.
                let ranked = Ranked::new(f, k, lineage, row);
                (1..n_bins)
                    .map(|i| {
                        let q = linspace_point(0.0, 100.0, i, n_bins) / 100.0;
                        let method = self.quantile_method;
                        let edge = ranked.percentile(f, k, row, q, method, &format!("q{i}"));
                        named(f, i, edge)
                    })
                    .collect()
            }
            _ => {
                let points = linspace(f, k, STEP, min, max, n_bins + 1);
                (1..n_bins)
                    .map(|i| named(f, i, points[i].clone()))
                    .collect()
            }
        };
        let mut raw = vec![min.clone()];
        raw.extend(inner);
        raw.push(max.clone());
        raw
    }
    /// scikit-learn's one-hot encoding of the bins: a column `<column>_<i>`
    /// per bin the fit kept (categories `0 .. n_bins_`). Their number is
    /// learned: with fitted values the columns are written; without, the
    /// dbt package writes them when its model compiles, from the fitted
    /// `n_bins_`.
    fn one_hot(
        &self,
        f: &FeatureLowering,
        bin: &Expr,
        bins: ParamId,
        docs: &[String],
    ) -> Vec<ApplyItem> {
        let parameter = f.fit.params[bins].name.clone();
        let Some(fitted) = f.fitted else {
            let deferred = Deferred {
                vocabulary: parameter,
                row: bin.clone(),
                encoder: DeferredEncoder::Bins {
                    n_bins: self.n_bins,
                },
            };
            let reason = "the number of its bins is learned (bins narrower than 1e-8 are removed, a constant column has one)";
            return vec![f.learned(reason, Some(deferred))];
        };
        let learned = fitted.number(&parameter).unwrap_or(0.0);
        if learned < 1.0 {
            // scikit-learn's fit fails on it (its one-hot encoder gets no category).
            let reason = "every bin is narrower than 1e-8, and scikit-learn cannot one-hot encode no bins: use fewer bins or `encode: ordinal`";
            return vec![f.learned(reason, None)];
        }
        let feature = f.feature;
        let column = &feature.column;
        let steps = docs.join("; then ");
        (0..learned as usize)
            .map(|i| {
                ApplyItem::Output(Output {
                    name: naming::one_hot_column(column, &i.to_string()),
                    expr: case(
                        vec![(Cond::Eq(bin.clone(), num(i as f64)), num(1.0))],
                        num(0.0),
                    ),
                    doc: format!("`{column}`: {steps}; 1 where the value is in bin {i}, else 0"),
                    span: feature.span.clone(),
                    text: false,
                })
            })
            .collect()
    }
}

/// The name and meaning of the uniform edges' spacing.
const STEP: (&str, &str) = ("step", "(max - min) / n_bins");

/// The bin of `row`: how many of `edges` (all but the first; NULL where
/// removed) it reaches, at most `bins - 1` (and 0). scikit-learn refuses a missing
/// value, so the query stops on one, naming the column.
fn binned(f: &mut FeatureLowering, row: &Expr, edges: &[Expr], bins: Expr) -> Expr {
    let x = f.fit.shared(row.clone());
    let fail = super::missing_stops(f, &x, "bins", "KBinsDiscretizer");
    let reached = (edges.iter())
        .map(|e| case(vec![(Cond::Le(e.clone(), x.clone()), num(1.0))], num(0.0)))
        .reduce(add)
        .unwrap_or(num(0.0));
    let reached = f.fit.shared(reached);
    // It reaches at most every kept edge (n_bins_ of them): at the last one
    // it is in the last bin; with no kept edge (n_bins_ 0: every edge after
    // the first removed) numpy's search over no inner edges gives 0.
    case(
        vec![
            (Cond::IsNull(x), fail),
            (Cond::Lt(reached.clone(), bins), reached.clone()),
            (
                Cond::Gt(reached.clone(), num(0.0)),
                sub(reached.clone(), num(1.0)),
            ),
        ],
        reached,
    )
}
