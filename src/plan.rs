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

/// The kind of a scan that reads percentiles from each column's ranked values.
pub const RANKED: &str = "percentiles from ranked values";

/// A scan of power transforms' likelihoods: the rows crossed with a grid
/// of λ values (see `ir::Grid`), every grid of the level in one.
pub const GRID: &str = "likelihoods on a grid of lambdas";

/// How scans are grouped for one dialect: the `explain` view of a fit.
#[derive(Debug, Clone, PartialEq)]
pub struct Scan {
    pub level: usize,
    pub what: String,
    pub params: Vec<ParamId>,
    /// Learned vocabularies counted by this scan (indices into the fit plan's).
    pub vocabularies: Vec<usize>,
}

impl Scan {
    /// The quantile table this scan learns (its index in the fit plan's
    /// vocabularies), if it is a quantile scan.
    pub fn quantile_table(&self, ir: &Ir) -> Option<usize> {
        match self.vocabularies[..] {
            [v] if ir.fit.vocabularies[v].quantiles.is_some() => Some(v),
            _ => None,
        }
    }
}

/// How many parameters one row may hold when the dialect's row cannot hold
/// every parameter of this fit (PostgreSQL: 1,664 columns, and a column more
/// for the time of fitting), or plans so wide a row slowly (the dialect's
/// `chunk_columns`): the fit and the apply then keep them in several one-row
/// relations, the chunks, each at most this wide. None: one row holds them
/// all.
pub fn chunk_width(ir: &Ir, d: &Dialect) -> Option<usize> {
    let hard = d.max_select_columns.map(|max| max.saturating_sub(1).max(1));
    let width = match (hard, d.chunk_columns) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b)?,
    };
    (ir.fit.params.len() > width).then_some(width)
}

/// A one-row relation of the fit holding `params` when the parameters are
/// chunked (see `chunk_width`): a scan's aggregates, or a round of derived
/// parameters, at most the chunk width. Chunks are CTEs `name`, and the
/// apply reads the same parameters from relations of the same names.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    pub level: usize,
    pub name: String,
    pub params: Vec<ParamId>,
    /// A scan (its index in `scans`), or a round of derived parameters.
    pub from: ChunkFrom,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ChunkFrom {
    /// Scans (their indices in `scans`): one, or several narrow ones (each
    /// most frequent value is a scan of its own) packed together.
    Scans(Vec<usize>),
    Round(usize),
}

/// The chunks of a fit, in the order they are computed, or None where one
/// row holds every parameter.
pub fn chunks(ir: &Ir, d: &Dialect) -> Option<Vec<Chunk>> {
    let width = chunk_width(ir, d)?;
    let scans = scans(ir, d);
    let mut chunks = Vec::new();
    for level in 0..ir.fit.levels() {
        let named = |params: Vec<ParamId>, from: ChunkFrom, chunks: &mut Vec<Chunk>| {
            let n = chunks.iter().filter(|c: &&Chunk| c.level == level).count();
            chunks.push(Chunk {
                level,
                name: format!("prep_params_{level}_{}", n + 1),
                params,
                from,
            });
        };
        // Scans in packs of at most the chunk width.
        let mut pack: (Vec<ParamId>, Vec<usize>) = Default::default();
        for (i, scan) in scans.iter().enumerate() {
            if scan.level != level || !scan.vocabularies.is_empty() {
                continue;
            }
            if !pack.1.is_empty() && pack.0.len() + scan.params.len() > width {
                let (params, packed) = std::mem::take(&mut pack);
                named(params, ChunkFrom::Scans(packed), &mut chunks);
            }
            pack.0.extend(&scan.params);
            pack.1.push(i);
        }
        if !pack.1.is_empty() {
            named(pack.0, ChunkFrom::Scans(pack.1), &mut chunks);
        }
        let rounds = derivation_rounds(ir, level);
        for round in 0..=rounds.values().copied().max().unwrap_or(0) {
            let this_round: Vec<ParamId> = (rounds.iter())
                .filter_map(|(&id, &r)| (r == round).then_some(id))
                .collect();
            for part in this_round.chunks(width) {
                named(part.to_vec(), ChunkFrom::Round(round), &mut chunks);
            }
        }
    }
    Some(chunks)
}

/// How this dialect scans the fit rows: one entry per scan. Where the
/// parameters are chunked, a scan computes at most a chunk's width of them.
pub fn scans(ir: &Ir, d: &Dialect) -> Vec<Scan> {
    let width = chunk_width(ir, d).unwrap_or(usize::MAX);
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
        let mut ranked = Vec::new();
        let mut modes = Vec::new();
        let mut grids = Vec::new();
        for (id, agg) in aggs {
            match agg {
                Agg::Percentile(e, _) => match d.percentiles {
                    PercentileStyle::OneSelect => moments.push(id),
                    PercentileStyle::PerExpression => {
                        per_expression.entry(e.to_string()).or_default().push(id)
                    }
                    PercentileStyle::Analytic => analytic.push(id),
                    PercentileStyle::Ranked => ranked.push(id),
                },
                Agg::MostFrequent(_) => modes.push(Scan {
                    level,
                    what: "most frequent value".into(),
                    params: vec![id],
                    vocabularies: vec![],
                }),
                Agg::Likelihood(..) => grids.push(id),
                _ => moments.push(id),
            }
        }
        let mut push = |what: &str, params: Vec<ParamId>| {
            scans.extend(params.chunks(width).map(|part| Scan {
                level,
                what: what.into(),
                params: part.to_vec(),
                vocabularies: vec![],
            }))
        };
        push("aggregates", moments);
        for params in per_expression.into_values() {
            push("percentiles of one expression", params);
        }
        push(ANALYTIC, analytic);
        push(RANKED, ranked);
        push(GRID, grids);
        scans.extend(modes);
        scans.extend(vocabulary_scans(ir, d, level));
    }
    scans
}

/// Categories and counts of `level`: every vocabulary in one GROUPING
/// SETS scan where the dialect allows, else one scan each.
fn vocabulary_scans(ir: &Ir, d: &Dialect, level: usize) -> Vec<Scan> {
    let at_level = |i: &usize| ir.fit.vocabularies[*i].level == level;
    let (tables, learned): (Vec<usize>, Vec<usize>) = (0..ir.fit.vocabularies.len())
        .filter(at_level)
        .partition(|&i| ir.fit.vocabularies[i].quantiles.is_some());
    // Quantiles are read from ranked values: a scan of their own each.
    let quantiles = tables.into_iter().map(|i| Scan {
        level,
        what: "quantiles from ranked values".into(),
        params: vec![],
        vocabularies: vec![i],
    });
    let scans = match d.vocabularies {
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
    };
    scans.into_iter().chain(quantiles).collect()
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
