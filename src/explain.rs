//! `prep explain`: the IR and the scans its fit costs, in words.

use std::fmt::Write;

use crate::dialect::DialectName;
use crate::ir::{ApplyItem, Ir, ParamDef};
use crate::render::{Renderer, SourceStyle};

/// What `explain` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Stage {
    /// Fit plan and apply plan (the IR), then the scans per dialect.
    All,
    /// Only the IR.
    Ir,
    /// Only the scans per dialect.
    Scans,
}

pub fn explain(ir: &Ir, dialects: &[DialectName], stage: Stage) -> String {
    let mut out = String::new();
    if stage != Stage::Scans {
        write_ir(ir, &mut out);
    }
    if stage != Stage::Ir {
        write_scans(ir, dialects, &mut out);
    }
    out
}

fn write_ir(ir: &Ir, out: &mut String) {
    let fit = &ir.fit;
    let _ = writeln!(out, "fit plan: {} parameters in {} level(s)", fit.params.len(), fit.levels());
    for level in 0..fit.levels() {
        let _ = writeln!(
            out,
            "  level {level}: {}",
            if level == 0 { "learned on the fit rows".to_string() } else { format!("learned on rows after applying level {} parameters", level - 1) }
        );
        for (i, p) in fit.params.iter().enumerate().filter(|(_, p)| p.level == level) {
            let def = match &p.def {
                ParamDef::Aggregate(a) => format!("{a}"),
                ParamDef::Derived(e) => format!("{e}"),
            };
            let _ = writeln!(out, "    ${i} {} = {def}", p.name);
        }
    }
    for v in &fit.vocabularies {
        let _ = writeln!(out, "  vocabulary of `{}` (level {}): categories and counts of {}", v.feature, v.level, v.expr);
    }
    let _ = writeln!(out, "apply plan:");
    for c in &ir.apply.passthrough {
        let _ = writeln!(out, "  {c} = {c:?} (copied)");
    }
    for item in &ir.apply.items {
        match item {
            ApplyItem::Output(o) => {
                let _ = writeln!(out, "  {} = {}", o.name, o.expr);
            }
            ApplyItem::Learned { feature, reason } => {
                let _ = writeln!(out, "  {feature}_* = columns decided by the fit: {reason}");
            }
        }
    }
}

fn write_scans(ir: &Ir, dialects: &[DialectName], out: &mut String) {
    let _ = writeln!(out, "fit cost (scans of the source relation):");
    for &d in dialects {
        let scans = Renderer::new(d.get(), ir, SourceStyle::Plain).scans();
        let vocab = ir.fit.vocabularies.len();
        let total = scans.len() + vocab;
        let mut parts: Vec<String> = scans.iter().map(|s| format!("{} (level {}, {} values)", s.what, s.level, s.params.len())).collect();
        if vocab > 0 {
            parts.push(format!("{vocab} vocabulary scan(s)"));
        }
        let _ = writeln!(out, "  {d}: {total} scan(s): {}", parts.join(", "));
    }
}
