//! The statistics a step learns: moments of a column, derived exactly
//! through imputations where they can be (Chan's combination), percentiles
//! and modes, and the level of the fit each is learned at.

use crate::ir::build::*;
use crate::ir::{Agg, Cond, Expr};
use crate::spec::ColumnType;

use super::{FeatureLowering, Lineage, Moment, percent_label};

impl FeatureLowering<'_> {
    /// A moment of the values `row` takes, derived through imputations where exact.
    pub(crate) fn moment(&mut self, lineage: &Lineage, row: &Expr, m: Moment) -> Expr {
        match lineage {
            Lineage::Near(centre) if m == Moment::Var => {
                let centred = sub(row.clone(), centre.clone());
                let level = self.stage_level(&Lineage::Opaque, &centred);
                self.stat(level, "var", Agg::VarPop(centred))
            }
            Lineage::Near(_) => self.moment(&Lineage::Opaque, row, m),
            Lineage::Raw | Lineage::Opaque if m == Moment::Var => {
                // Two passes, as numpy and scikit-learn: the variance of the
                // values minus their mean, learned once the mean is. In one
                // pass an engine loses digits when the mean is large against
                // the spread (epoch milliseconds: 1e-9 relative error).
                let mean = self.moment(lineage, row, Moment::Mean);
                let centred = sub(row.clone(), mean);
                let level = self.stage_level(&Lineage::Opaque, &centred);
                self.stat(level, "var", Agg::VarPop(centred))
            }
            Lineage::Raw | Lineage::Opaque => {
                let level = self.stage_level(lineage, row);
                let (label, agg) = match m {
                    Moment::Count => ("n", Agg::Count(row.clone())),
                    Moment::Mean => ("mean", Agg::Mean(row.clone())),
                    Moment::Var => ("var", Agg::VarPop(row.clone())),
                    Moment::Min => ("min", Agg::Min(row.clone())),
                    Moment::Max => ("max", Agg::Max(row.clone())),
                    Moment::MaxAbs => ("max_abs", Agg::Max(Expr::Abs(Box::new(row.clone())))),
                };
                self.stat(level, label, agg)
            }
            Lineage::Imputed {
                prev,
                prev_row,
                fill,
            } => {
                let (prev, prev_row, fill) = ((**prev).clone(), prev_row.clone(), fill.clone());
                self.imputed_moment(&prev, &prev_row, fill, m)
            }
        }
    }

    /// A moment of `prev` after its NULLs are filled with `fill`, derived
    /// exactly from `prev`'s moments (Chan et al.'s combination).
    fn imputed_moment(&mut self, prev: &Lineage, prev_row: &Expr, fill: Expr, m: Moment) -> Expr {
        let rows = Expr::Param(self.rows);
        let n = self.named_moment(prev, prev_row, Moment::Count);
        // m: how many values the imputation filled.
        let missing = sub(rows.clone(), n.clone());
        let none_missing = Cond::Le(missing.clone(), num(0.0));
        // A fitted fill value can be NULL (an all-missing column); a constant cannot.
        let nothing_filled = match fill {
            Expr::Param(_) => {
                Cond::Or(Box::new(Cond::IsNull(fill.clone())), Box::new(none_missing))
            }
            _ => none_missing,
        };
        // Mean imputation fills with the mean itself (fill - mean = 0):
        // the mean is unchanged and the variance is n·var/rows. Chan's
        // formulas below give the same numbers (x + 0 = x), written
        // out; this says them without the terms that are zero.
        let mean_filled = matches!(m, Moment::Mean | Moment::Var)
            && fill == self.named_moment(prev, prev_row, Moment::Mean);
        match m {
            Moment::Mean if mean_filled => fill,
            Moment::Var if mean_filled => {
                let var = self.named_moment(prev, prev_row, Moment::Var);
                case(
                    vec![
                        (nothing_filled, var.clone()),
                        (Cond::Le(n.clone(), num(0.0)), num(0.0)),
                    ],
                    div(mul(n, var), rows),
                )
            }
            Moment::Count => match fill {
                Expr::Param(_) => case(vec![(Cond::IsNull(fill), n)], rows),
                _ => rows,
            },
            Moment::Mean => {
                // Chan et al.'s combination, written around delta = fill - mean so that
                // mean imputation (delta = 0) gives the raw mean exactly.
                let mean = self.named_moment(prev, prev_row, Moment::Mean);
                let delta = sub(fill.clone(), mean.clone());
                case(
                    vec![(nothing_filled, mean), (Cond::Le(n, num(0.0)), fill)],
                    add(
                        self.named_moment(prev, prev_row, Moment::Mean),
                        div(mul(delta, missing), rows),
                    ),
                )
            }
            Moment::Var => {
                let mean = self.named_moment(prev, prev_row, Moment::Mean);
                let var = self.named_moment(prev, prev_row, Moment::Var);
                let delta = sub(fill.clone(), mean);
                let m2 = add(
                    mul(n.clone(), var.clone()),
                    div(
                        mul(product(delta.clone(), delta), mul(n.clone(), missing)),
                        rows.clone(),
                    ),
                );
                case(
                    vec![(nothing_filled, var), (Cond::Le(n, num(0.0)), num(0.0))],
                    div(m2, rows),
                )
            }
            Moment::Min | Moment::Max | Moment::MaxAbs => {
                let raw = self.named_moment(prev, prev_row, m);
                extreme_after_fill(raw, fill, nothing_filled, m)
            }
        }
    }

    /// A moment of an earlier stage, as a named parameter when it is itself
    /// derived through an imputation: each formula is then written once and
    /// referred to by name, so chained imputations grow the fit linearly
    /// (inlined, every level would repeat the one before it several times).
    fn named_moment(&mut self, lineage: &Lineage, row: &Expr, m: Moment) -> Expr {
        let Lineage::Imputed { .. } = lineage else {
            return self.moment(lineage, row, m);
        };
        let label = match m {
            Moment::Count => "n",
            Moment::Mean => "mean",
            Moment::Var => "var",
            Moment::Min => "min",
            Moment::Max => "max",
            Moment::MaxAbs => "max_abs",
        };
        // The name says which moment after how many imputations of this
        // feature: derived once, then found by name (deriving it again would
        // derive every earlier moment again, exponentially).
        let name = self.name(&format!("i{}_{label}", lineage.imputations()));
        if let Some(&id) = self.fit.derived.get(&name) {
            return Expr::Param(id);
        }
        let value = self.moment(lineage, row, m);
        self.fit.derived(
            name,
            value,
            ColumnType::Numeric,
            "a moment after imputation",
        )
    }

    pub(crate) fn percentile(&mut self, lineage: &Lineage, row: &Expr, p: f64) -> Expr {
        let level = self.stage_level(lineage, row);
        let label = format!("p{}", percent_label(p));
        self.stat(level, &label, Agg::Percentile(row.clone(), p))
    }

    /// The value at 1-based position `position` (a parameter, between 1 and
    /// the count) of `row`'s non-missing values in ascending order: what
    /// numpy's percentiles read from the sorted array, picked exactly, where
    /// an engine's percentile function would choose its own position.
    /// `rank` is `row`'s `Expr::Rank`, shared: one window for every position.
    pub(crate) fn order_statistic(
        &mut self,
        row: &Expr,
        rank: &Expr,
        position: Expr,
        label: &str,
    ) -> Expr {
        let rank = rank.clone();
        let picked = case(vec![(Cond::Eq(rank, position), row.clone())], Expr::Null);
        let level = self.stage_level(&Lineage::Opaque, &picked);
        let value = self.stat(level, label, Agg::Max(picked));
        // A working value: the edge derived from it is what is stored.
        if let Expr::Param(id) = value {
            self.fit.params[id].stored = false;
        }
        value
    }

    pub(crate) fn most_frequent(&mut self, lineage: &Lineage, row: &Expr) -> Expr {
        let level = self.stage_level(lineage, row);
        let ty = self.feature.column_type;
        let name = self.stat_name(level, "mode");
        Expr::Param(self.fit.aggregate(
            name,
            level,
            Agg::MostFrequent(row.clone()),
            ty,
            Some("most frequent value"),
        ))
    }

    /// Raw values are read at level 0; anything computed from parameters, one level after them.
    pub(crate) fn stage_level(&self, lineage: &Lineage, row: &Expr) -> usize {
        match lineage {
            Lineage::Raw => 0,
            _ if row.params().is_empty() => 0,
            _ => self.fit.level_of(row) + 1,
        }
    }

    fn stat_name(&self, level: usize, label: &str) -> String {
        if level == 0 {
            self.name(label)
        } else {
            self.name(&format!("l{level}_{label}"))
        }
    }

    fn stat(&mut self, level: usize, label: &str, agg: Agg) -> Expr {
        let name = self.stat_name(level, label);
        Expr::Param(
            self.fit
                .aggregate(name, level, agg, ColumnType::Numeric, None),
        )
    }
}

/// The minimum, maximum or largest magnitude of values after their NULLs are
/// filled: the fill value wins where it is beyond the raw one.
fn extreme_after_fill(raw: Expr, fill: Expr, nothing_filled: Cond, m: Moment) -> Expr {
    let fill_value = if m == Moment::MaxAbs {
        Expr::Abs(Box::new(fill))
    } else {
        fill
    };
    let beats = if m == Moment::Min {
        Cond::Lt(fill_value.clone(), raw.clone())
    } else {
        Cond::Gt(fill_value.clone(), raw.clone())
    };
    case(
        vec![
            (nothing_filled, raw.clone()),
            (
                Cond::Or(Box::new(Cond::IsNull(raw.clone())), Box::new(beats)),
                fill_value,
            ),
        ],
        raw,
    )
}
