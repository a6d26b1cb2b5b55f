//! Physical planning of the fit, per dialect: which statistics share a scan
//! of the fit rows (by level, percentile style and vocabulary style), and in
//! which round each derived parameter can be computed. Rendering prints
//! these plans; `explain` shows them.

use std::collections::BTreeMap;

use crate::dialect::{Dialect, PercentileStyle, VocabularyStyle};
use crate::ir::{Agg, Ir, ParamDef, ParamId};

/// The kind of a scan that computes percentiles as a window function over
/// all the rows, collapsed to one row.
pub const ANALYTIC: &str = "analytic percentiles";

/// How scans are grouped for one dialect: the `explain` view of a fit.
#[derive(Debug, Clone, PartialEq)]
pub struct Scan {
    pub level: usize,
    pub what: String,
    pub params: Vec<ParamId>,
    /// Learned vocabularies counted by this scan (indices into the fit plan's).
    pub vocabularies: Vec<usize>,
}

/// How this dialect scans the fit rows: one entry per scan.
pub fn scans(ir: &Ir, d: &Dialect) -> Vec<Scan> {
    let mut scans = Vec::new();
    for level in 0..ir.fit.levels() {
        let aggs: Vec<(ParamId, &Agg)> = ir
            .fit
            .params
            .iter()
            .enumerate()
            .filter(|(_, p)| p.level == level)
            .filter_map(|(i, p)| match &p.def {
                ParamDef::Aggregate(a) => Some((i, a)),
                ParamDef::Derived(_) => None,
            })
            .collect();
        let mut moments = Vec::new();
        let mut per_expression: BTreeMap<String, Vec<ParamId>> = BTreeMap::new();
        let mut analytic = Vec::new();
        let mut modes = Vec::new();
        for (id, agg) in aggs {
            match agg {
                Agg::Percentile(e, _) => match d.percentiles {
                    PercentileStyle::OneSelect => moments.push(id),
                    PercentileStyle::PerExpression => {
                        per_expression.entry(e.to_string()).or_default().push(id)
                    }
                    PercentileStyle::Analytic => analytic.push(id),
                },
                Agg::MostFrequent(_) => modes.push(Scan {
                    level,
                    what: "most frequent value".into(),
                    params: vec![id],
                    vocabularies: vec![],
                }),
                _ => moments.push(id),
            }
        }
        if !moments.is_empty() {
            scans.push(Scan {
                level,
                what: "aggregates".into(),
                params: moments,
                vocabularies: vec![],
            });
        }
        scans.extend(per_expression.into_values().map(|params| Scan {
            level,
            what: "percentiles of one expression".into(),
            params,
            vocabularies: vec![],
        }));
        if !analytic.is_empty() {
            scans.push(Scan {
                level,
                what: ANALYTIC.into(),
                params: analytic,
                vocabularies: vec![],
            });
        }
        scans.extend(modes);
        scans.extend(vocabulary_scans(ir, d, level));
    }
    scans
}

/// Categories and counts of `level`: every vocabulary in one GROUPING
/// SETS scan where the dialect allows, else one scan each.
fn vocabulary_scans(ir: &Ir, d: &Dialect, level: usize) -> Vec<Scan> {
    let learned: Vec<usize> = (0..ir.fit.vocabularies.len())
        .filter(|&i| ir.fit.vocabularies[i].level == level)
        .collect();
    match d.vocabularies {
        VocabularyStyle::GroupingSets if learned.len() > 1 => vec![Scan {
            level,
            what: "vocabularies (grouping sets)".into(),
            params: vec![],
            vocabularies: learned,
        }],
        _ => (learned.into_iter())
            .map(|i| Scan {
                level,
                what: "vocabulary".into(),
                params: vec![],
                vocabularies: vec![i],
            })
            .collect(),
    }
}

/// For each derived parameter of `level`: after how many rounds of derived
/// parameters of the same level it can be computed.
pub fn derivation_rounds(ir: &Ir, level: usize) -> BTreeMap<ParamId, usize> {
    let mut rounds = BTreeMap::new();
    for (id, p) in ir.fit.params.iter().enumerate() {
        if let (ParamDef::Derived(e), true) = (&p.def, p.level == level) {
            let round = e
                .params()
                .iter()
                .filter_map(|dep| rounds.get(dep).map(|r| r + 1))
                .max()
                .unwrap_or(0);
            rounds.insert(id, round);
        }
    }
    rounds
}
