//! Parameters in chunks. Where the dialect's row holds fewer columns than a
//! fit has parameters (PostgreSQL: 1,664 in a query's row), the fit keeps
//! them in several one-row relations instead of one (`plan::chunks` decides
//! which), and every reader names the chunk holding each parameter it reads.
//! The scans are the same (split at the chunk width), the formulas and the
//! long form too: only the relations holding the values change.

use std::collections::{BTreeMap, BTreeSet};

use sqlparser::ast::Query;

use super::ast::{Relation, SelectBuilder};
use super::fit::{FitCtes, LevelRows, distinct_columns};
use super::{PARAMS, ParamScope, ParamsFrom, ROW, Renderer, print};
use crate::dialect::Dialect;
use crate::ir::{self, Ir, ParamDef, ParamId};
use crate::plan::{self, Chunk, ChunkFrom};

/// How many one-row relations one FROM list joins (see `gathered`).
const GATHER: usize = 8;

/// The chunks of a fit and the chunk of each parameter.
pub(super) struct Chunked {
    pub list: Vec<Chunk>,
    home: BTreeMap<ParamId, usize>,
}

impl Chunked {
    pub fn of(ir: &Ir, d: &Dialect) -> Option<Self> {
        let list = plan::chunks(ir, d)?;
        let home = (list.iter().enumerate())
            .flat_map(|(i, c)| c.params.iter().map(move |&p| (p, i)))
            .collect();
        Some(Chunked { list, home })
    }

    /// The chunk holding scan `i`'s parameters.
    fn scan_chunk(&self, i: usize) -> Option<&Chunk> {
        (self.list.iter()).find(|c| matches!(&c.from, ChunkFrom::Scans(s) if s.contains(&i)))
    }

    /// The chunks holding any of `params`, in the order they are computed.
    fn holding(&self, params: impl IntoIterator<Item = ParamId>) -> BTreeSet<usize> {
        params
            .into_iter()
            .filter_map(|p| self.home.get(&p).copied())
            .collect()
    }
}

impl Renderer<'_> {
    /// The alias a parameter is read under: `PARAMS`, or its chunk's name.
    pub(super) fn params_alias(&self, id: ParamId) -> &str {
        match &self.chunked {
            Some(c) => c.home.get(&id).map_or(PARAMS, |&i| c.list[i].name.as_str()),
            None => PARAMS,
        }
    }

    /// `b` reading the parameters of `params` that `reads` names: the one
    /// relation as `PARAMS`, or each chunk holding one of them (and every
    /// chunk `Chunks` lists, read or not), by its name.
    pub(super) fn join_params(
        &self,
        mut b: SelectBuilder,
        params: &ParamsFrom,
        reads: impl IntoIterator<Item = ParamId>,
    ) -> SelectBuilder {
        match (params, &self.chunked) {
            (ParamsFrom::One(relation), _) => b.from(relation.clone(), Some(self.id(PARAMS))),
            (ParamsFrom::Chunks(always), Some(c)) => {
                let mut names: BTreeSet<usize> = c.holding(reads);
                names.extend(always);
                for i in names {
                    b = b.from(Relation::Table(vec![self.id(&c.list[i].name)]), None);
                }
                b
            }
            (ParamsFrom::Chunks(_), None) => b,
        }
    }

    /// The fit's levels where parameters are chunked: as `fit_levels`, but
    /// each scan and each round of derived parameters is a chunk of its own
    /// (a one-row CTE of at most the chunk width), and a later level's scan
    /// reads a stage of only its own arguments.
    pub(super) fn fit_chunked(
        &self,
        mut ctes: print::Ctes,
        fit_rows: &dyn Fn() -> Relation,
        chunked: &Chunked,
    ) -> FitCtes<'_> {
        let fit = &self.ir.fit;
        let scans = plan::scans(self.ir, self.d);
        let table = |name: &str| Relation::Table(vec![self.id(name)]);
        let every = ParamsFrom::Chunks(BTreeSet::new());
        let mut vocabularies = Vec::new();
        let mut read = LevelRows::default();
        let mut stages = 0;
        for level in 0..fit.levels() {
            let arguments = self.level_arguments(level);
            let params = (level > 0).then_some(&every);
            let rows = self.level_rows(level, &arguments, params, &mut read, &mut ctes, fit_rows);
            for (i, scan) in scans.iter().enumerate().filter(|(_, s)| s.level == level) {
                // A later level's scan reads each distinct argument once per
                // row, from a stage holding only its own arguments.
                let columns = match level {
                    0 => Vec::new(),
                    _ => distinct_columns(&self.scan_arguments(scan)),
                };
                let input = match level {
                    0 => rows.clone(),
                    _ => {
                        stages += 1;
                        let name = format!("prep_stage_{level}_{stages}");
                        let stage = self.stage_query(&columns, rows.clone(), &every);
                        ctes.push(self.id(&name), stage);
                        table(&name)
                    }
                };
                let staged: BTreeMap<String, &str> = (columns.iter())
                    .map(|(name, e)| (e.to_string(), name.as_str()))
                    .collect();
                let argument = |r: &Renderer, e: &ir::Expr| match staged.get(&e.to_string()) {
                    Some(name) => super::ast::column(r.d, Some(ROW), name),
                    None => r.expr(e, ParamScope::Row),
                };
                let input = || input.clone();
                if scan.vocabularies.is_empty() {
                    // A scan alone in its chunk is the chunk; packed scans are
                    // CTEs of their own, read together by their chunk.
                    let (name, alone) = match chunked.scan_chunk(i) {
                        Some(chunk) if chunk.from == ChunkFrom::Scans(vec![i]) => {
                            (chunk.name.clone(), true)
                        }
                        _ => (format!("prep_stats_{level}_{i}"), false),
                    };
                    let q = self.scan_query(scan, &input, &argument, (&name, &mut ctes));
                    ctes.push_as(self.id(&name), q, alone && self.d.materialized);
                } else {
                    let name = format!("prep_vocabulary_{}", vocabularies.len() + 1);
                    let (learned, ctes) = (&mut vocabularies, &mut ctes);
                    self.vocabulary_query(scan, &name, &input, &argument, learned, ctes);
                }
            }
            self.level_chunks(level, chunked, &mut ctes);
        }
        FitCtes { ctes, vocabularies }
    }

    /// The chunks of `level` that are not one scan alone: packed scans read
    /// together, and the rounds of derived parameters.
    fn level_chunks(&self, level: usize, chunked: &Chunked, ctes: &mut print::Ctes) {
        for chunk in chunked.list.iter().filter(|c| c.level == level) {
            let q = match &chunk.from {
                ChunkFrom::Scans(packed) if packed.len() > 1 => {
                    let names = (packed.iter()).map(|i| format!("prep_stats_{level}_{i}"));
                    self.gathered(names.collect(), &chunk.name, ctes)
                }
                ChunkFrom::Scans(_) => continue,
                ChunkFrom::Round(_) => self.derived_chunk(chunk, chunked),
            };
            ctes.push_as(self.id(&chunk.name), q, self.d.materialized);
        }
    }

    /// Every column of the one-row relations `names`, joined at most
    /// `GATHER` at a time (a tree of CTEs `<name>_<k>` below the last join):
    /// planners search join orders over a FROM list, PostgreSQL's
    /// genetically beyond 12 relations, which took seconds for 600.
    fn gathered(&self, mut names: Vec<String>, name: &str, ctes: &mut print::Ctes) -> Query {
        let join = |names: &[String]| {
            let mut b = SelectBuilder::default().wildcard();
            for n in names {
                b = b.from(Relation::Table(vec![self.id(n)]), None);
            }
            b.build()
        };
        let mut made = 0;
        while names.len() > GATHER {
            let mut next = Vec::new();
            for part in names.chunks(GATHER) {
                made += 1;
                let below = format!("{name}_{made}");
                ctes.push(self.id(&below), join(part));
                next.push(below);
            }
            names = next;
        }
        join(&names)
    }

    /// A chunk of derived parameters, from the chunks they read (by bare
    /// names: every parameter's name is distinct).
    fn derived_chunk(&self, chunk: &Chunk, chunked: &Chunked) -> Query {
        let fit = &self.ir.fit;
        let items = self.items(&chunk.params, |r, &id| match &fit.params[id].def {
            ParamDef::Derived(e) => {
                Some((r.expr(e, ParamScope::Fit), Some(r.id(&fit.params[id].name))))
            }
            ParamDef::Aggregate(_) => None,
        });
        let reads = (chunk.params.iter()).flat_map(|&id| match &fit.params[id].def {
            ParamDef::Derived(e) => e.params(),
            ParamDef::Aggregate(_) => Vec::new(),
        });
        let mut read = chunked.holding(reads);
        // A chunk of constants reads the first chunk: one row, like the others.
        if read.is_empty() {
            read.insert(0);
        }
        let mut b = SelectBuilder::default().printed_items(items.into_iter().flatten());
        for i in read {
            b = b.from(Relation::Table(vec![self.id(&chunked.list[i].name)]), None);
        }
        if let Some(fence) = self.d.level_fence() {
            b = b.filter(fence.clone());
        }
        b.build()
    }

    /// The apply's parameters where they are chunked: a pivot of the long
    /// form per chunk holding a parameter the apply reads (the first chunk
    /// when it reads none), each checking the spec hash; returns their names.
    pub(super) fn pivot_chunks(
        &self,
        long: &Relation,
        read: &BTreeSet<ParamId>,
        chunked: &Chunked,
        ctes: &mut print::Ctes,
    ) -> BTreeSet<usize> {
        let mut used = chunked.holding(read.iter().copied());
        if used.is_empty() {
            used.insert(0);
        }
        for &i in &used {
            let chunk = &chunked.list[i];
            let mine: BTreeSet<ParamId> = (chunk.params.iter())
                .filter(|p| read.contains(p))
                .copied()
                .collect();
            ctes.push(self.id(&chunk.name), self.pivot_params(long.clone(), &mine));
        }
        used
    }

    /// What one scan aggregates or counts.
    pub(super) fn scan_arguments(&self, scan: &plan::Scan) -> Vec<&ir::Expr> {
        let fit = &self.ir.fit;
        let aggregated = (scan.params.iter()).flat_map(|&id| match &fit.params[id].def {
            ParamDef::Aggregate(a) => a.arguments(),
            ParamDef::Derived(_) => Vec::new(),
        });
        let counted = (scan.vocabularies.iter()).map(|&v| &fit.vocabularies[v].expr);
        aggregated.chain(counted).collect()
    }
}
