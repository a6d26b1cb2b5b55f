//! `prep explain`: the IR and the scans its fit costs, in words.

use std::fmt::Write;

use crate::dialect::{CteEvaluation, DialectName, UnpivotStyle};
use crate::ir::{ApplyItem, GRID_REFINEMENTS, Ir, Param, ParamDef};
use crate::plan::Scan;

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
    // One pass over the IR's text: every `$<id>` outside a quoted text or
    // name becomes the parameter's name (a replace per parameter would be
    // quadratic on a wide spec, and would also rewrite quoted `$1`s).
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            // Texts double their quote, names escape theirs with a backslash.
            (Some('"'), '\\') => {
                out.push(c);
                out.extend(chars.next());
                continue;
            }
            (Some(q), _) if c == q => quote = None,
            (None, '\'' | '"') => quote = Some(c),
            (None, '$') if chars.peek().is_some_and(char::is_ascii_digit) => {
                let digits: String =
                    std::iter::from_fn(|| chars.next_if(char::is_ascii_digit)).collect();
                match digits
                    .parse()
                    .ok()
                    .and_then(|id: usize| ir.fit.params.get(id))
                {
                    Some(p) => out.push_str(&p.name),
                    None => {
                        out.push('$');
                        out.push_str(&digits);
                    }
                }
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

fn write_ir(ir: &Ir, out: &mut String) {
    let fit = &ir.fit;
    let _ = writeln!(
        out,
        "fit plan: {} in {}",
        plural(Param::stored(&fit.params).count(), "parameter"),
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
            let working = if p.stored {
                ""
            } else {
                "  (working value, not stored)"
            };
            let _ = writeln!(out, "    {} = {def}{working}", p.name);
        }
    }
    for v in &fit.vocabularies {
        let _ = match v.quantiles {
            None => writeln!(
                out,
                "  vocabulary of `{}` (level {}): categories and counts of {}",
                v.feature, v.level, v.expr
            ),
            Some(n) => writeln!(
                out,
                "  quantiles of `{}` (level {}): at most {n} quantiles of {}, numpy's, from its ranked values",
                v.feature, v.level, v.expr
            ),
        };
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
                feature,
                deferred: Some(d),
                ..
            } if d.is_present() => {
                let row = named(d.row.to_string(), ir);
                let _ = writeln!(out, "  {feature} = {row}, where {} > 0", d.vocabulary);
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
        let scans = crate::plan::scans(ir, d.get());
        let total = scans.len();
        let parts: Vec<String> = scans
            .iter()
            .map(|s| {
                // A grid's passes read the level's staged rows, each in turn.
                let passes = match s.what == crate::plan::GRID {
                    true => format!(", {} passes over its rows", 1 + GRID_REFINEMENTS),
                    false => String::new(),
                };
                format!(
                    "{} (level {}, {}{passes})",
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
        let reads = source_reads(ir, d, &scans);
        if reads != total {
            let quantiles = match has_quantiles(ir) {
                true => {
                    " (at most: a quantile step's ranked values are read twice, unless the engine reuses the first read)"
                }
                false => "",
            };
            let _ = writeln!(
                out,
                "    the source is read about {}{quantiles}: {d} evaluates a CTE once per reader, and \
                 each later level reads the statistics of the levels before it again",
                plural(reads, "time")
            );
        }
    }
}

/// Whether the fit learns quantiles (a relation read twice where CTEs are inlined).
fn has_quantiles(ir: &Ir) -> bool {
    ir.fit.vocabularies.iter().any(|v| v.quantiles.is_some())
}

/// How many times the fit reads the source on dialect `d`. Where CTEs are
/// evaluated once (or the parameters are fenced), once per scan. Where they are inlined, the parameters of
/// level `l` are evaluated once for each evaluation of the next level's
/// parameters (which read them) and once more for each of that level's
/// scans (which read them through its staged rows); learned vocabularies are
/// read once, by the long form.
pub fn source_reads(ir: &Ir, d: DialectName, scans: &[Scan]) -> usize {
    let dialect = d.get();
    if dialect.ctes == CteEvaluation::Once {
        return scans.len();
    }
    // A quantile table's ranked values are read by its positions and by the
    // join that picks the values at them: where CTEs are inlined, twice.
    let quantiles = (scans.iter())
        .filter(|s| s.quantile_table(ir).is_some())
        .count();
    // A fence makes each level's parameters computed once, as where CTEs are.
    if dialect.fence.is_some() {
        return scans.len() + quantiles;
    }
    let levels = ir.fit.levels();
    let count = |level: usize, vocabulary: bool| {
        (scans.iter())
            .filter(|s| s.level == level && s.vocabularies.is_empty() != vocabulary)
            .count()
    };
    // How often the long form reads the fitted row.
    let mut evaluations = match dialect.unpivot {
        UnpivotStyle::UnionAll => Param::stored(&ir.fit.params).count(),
        UnpivotStyle::Unpivot => 2,
        UnpivotStyle::LateralValues
        | UnpivotStyle::CrossApply
        | UnpivotStyle::Stack
        | UnpivotStyle::ArrayJoin => 1,
    };
    let mut reads = quantiles;
    for level in (0..levels).rev() {
        reads += evaluations * count(level, false) + count(level, true);
        if level > 0 {
            evaluations = evaluations * (1 + count(level, false)) + count(level, true);
        }
    }
    reads
}

#[cfg(test)]
mod tests {
    use super::named;

    #[test]
    fn parameters_are_named_outside_quotes_only() {
        let spec = "name: s\nsource: {table: t}\nfeatures:\n  x: [{scale: standard}]\n";
        let ir = crate::compile_ir(spec, "s.yml").unwrap();
        let text = r#"($0 + '$0 ''$1') * "a\"$0" $99999 $0"#.to_string();
        let first = &ir.fit.params[0].name;
        assert_eq!(
            named(text, &ir),
            format!(r#"({first} + '$0 ''$1') * "a\"$0" $99999 {first}"#)
        );
    }
}
