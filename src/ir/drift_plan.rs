//! What the drift query compares (see `drift.rs`): per feature, the
//! parameters the fit learned for it.

use super::{Expr, ParamId};
use crate::spec::drift::{Drift, Measure};

/// What the drift query compares, per feature in spec order.
#[derive(Debug, Clone, PartialEq)]
pub struct DriftPlan {
    pub drift: Drift,
    /// The parameter counting the fit rows.
    pub rows: ParamId,
    pub features: Vec<DriftFeature>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DriftFeature {
    pub feature: String,
    /// The value measured per row: the input column as the feature reads it
    /// (a double with NaN missing; a text; a boolean's `True`/`False`).
    pub value: Expr,
    /// The training count of non-missing values.
    pub count: ParamId,
    pub learned: Learned,
}

/// What the fit learned of a feature for the measures.
#[derive(Debug, Clone, PartialEq)]
pub enum Learned {
    Numeric {
        mean: ParamId,
        var: ParamId,
        min: ParamId,
        max: ParamId,
        /// The `bins - 1` inner bin edges, ascending.
        edges: Vec<ParamId>,
        /// Per edge, how many training values are below it.
        below: Vec<ParamId>,
    },
    /// The training categories with their counts, a vocabulary.
    Categorical { vocabulary: String },
}

impl DriftFeature {
    pub fn measures(&self) -> &'static [Measure] {
        match self.learned {
            Learned::Numeric { .. } => &Measure::NUMERIC,
            Learned::Categorical { .. } => &Measure::CATEGORICAL,
        }
    }

    /// Every parameter the drift query reads for this feature.
    pub fn params(&self) -> Vec<ParamId> {
        let mut out = vec![self.count];
        if let Learned::Numeric {
            mean,
            var,
            min,
            max,
            edges,
            below,
        } = &self.learned
        {
            out.extend([*mean, *var, *min, *max]);
            out.extend(edges.iter().chain(below));
        }
        out
    }
}
