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

/// An expression with parameters shown by name rather than number.
fn named(text: String, ir: &Ir) -> String {
    // Highest numbers first, so that $12 is not read as $1 followed by 2.
    ir.fit
        .params
        .iter()
        .enumerate()
        .rev()
        .fold(text, |t, (i, p)| t.replace(&format!("${i}"), &p.name))
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

fn write_ir(ir: &Ir, out: &mut String) {
    let fit = &ir.fit;
    let _ = writeln!(
        out,
        "fit plan: {} in {}",
        plural(fit.params.len(), "parameter"),
        plural(fit.levels(), "level")
    );
    for level in 0..fit.levels() {
        let _ = writeln!(
            out,
            "  level {level}: {}",
            if level == 0 {
                "learned on the fit rows".to_string()
            } else {
                format!(
                    "learned on rows after applying level {} parameters",
                    level - 1
                )
            }
        );
        for p in fit.params.iter().filter(|p| p.level == level) {
            let def = match &p.def {
                ParamDef::Aggregate(a) => named(a.to_string(), ir),
                ParamDef::Derived(e) => named(e.to_string(), ir),
            };
            let _ = writeln!(out, "    {} = {def}", p.name);
        }
    }
    for v in &fit.vocabularies {
        let _ = writeln!(
            out,
            "  vocabulary of `{}` (level {}): categories and counts of {}",
            v.feature, v.level, v.expr
        );
    }
    let _ = writeln!(out, "apply plan:");
    for c in &ir.apply.passthrough {
        let _ = writeln!(out, "  {c} = {c:?} (copied)");
    }
    for item in &ir.apply.items {
        match item {
            ApplyItem::Output(o) => {
                let _ = writeln!(out, "  {} = {}", o.name, named(o.expr.to_string(), ir));
            }
            ApplyItem::Learned {
                feature, reason, ..
            } => {
                let _ = writeln!(out, "  {feature}_* = columns decided by the fit: {reason}");
            }
        }
    }
}

fn write_scans(ir: &Ir, dialects: &[DialectName], out: &mut String) {
    let _ = writeln!(out, "fit cost (scans of the source relation):");
    for &d in dialects {
        let scans = Renderer::new(d.get(), ir, SourceStyle::Plain).scans();
        let total = scans.len();
        let parts: Vec<String> = scans
            .iter()
            .map(|s| {
                format!(
                    "{} (level {}, {})",
                    s.what,
                    s.level,
                    plural(s.params.len() + s.vocabularies.len(), "value")
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "  {d}: {}: {}",
            plural(total, "scan"),
            parts.join(", ")
        );
    }
}
