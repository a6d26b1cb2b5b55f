//! The names a compiled spec writes, checked for one dialect: distinct
//! (ignoring case) within the output and within the parameters, quotable
//! safely, and within the dialect's length limit. Learned categories add
//! names only known after a fit; those are checked when they are written.
//! Also the widths: the output and the drift statistics within the
//! dialect's column limits.

use std::collections::{BTreeMap, BTreeSet};

use crate::diagnostic::{Code, Diagnostic, Diagnostics, Span};
use crate::dialect::Dialect;
use crate::ir::{self, ApplyItem};
use crate::{naming, render, spec};

/// Every problem with the names `ir` writes for dialect `d`, located in `file`.
pub fn check_names(ir: &ir::Ir, d: &Dialect, file: &str) -> Result<(), Diagnostics> {
    let mut diags = Diagnostics::default();
    distinct(ir, d, file, &mut diags);
    widths(ir, d, file, &mut diags);
    table_columns(ir, d, file, &mut diags);
    let mut reported = BTreeSet::new();
    for (name, span) in quoted(ir) {
        let too_long = (d.max_identifier_bytes)
            .filter(|&max| name.len() > max)
            .map(|max| {
                format!(
                    "it is {} bytes long, and {} keeps at most {max}",
                    name.len(),
                    d.name
                )
            });
        if let Some(problem) = render::quote::ident_problem(d, &name).or(too_long)
            && reported.insert(name.clone())
        {
            diags.push(
                Diagnostic::new(
                    Code::NameCollision,
                    format!(
                        "the name `{}` cannot be written for {}: {problem}",
                        name.escape_debug(),
                        d.name
                    ),
                )
                .at(span)
                .hint("rename the column (or give a one-hot suffix with `names:`)")
                .in_file(file),
            );
        }
    }
    diags.into_result(())
}

/// The output's column names, as the tables the dialect writes take them
/// (Delta refuses ` ,;{}()=` unless column mapping is on): a located error
/// naming the character and the ways out.
fn table_columns(ir: &ir::Ir, d: &Dialect, file: &str, diags: &mut Diagnostics) {
    if d.column_name_refuse.is_empty() || ir.apply.any_column_name {
        return;
    }
    let copied = (ir.apply.passthrough.iter()).zip(&ir.apply.passthrough_spans);
    let outputs = ir.apply.items.iter().filter_map(|i| match i {
        ApplyItem::Output(o) => Some((&o.name, &o.span)),
        ApplyItem::Learned { .. } => None,
    });
    for (name, span) in copied.chain(outputs) {
        let Some(refused) = (d.column_name_refuse.iter()).find(|c| name.contains(c.as_str()))
        else {
            continue;
        };
        diags.push(
            Diagnostic::new(
                Code::NameCollision,
                format!(
                    "the output column `{}` holds `{}`, which a Delta table ({}) refuses in a column name",
                    name.escape_debug(),
                    refused.escape_debug(),
                    d.name
                ),
            )
            .at(span.clone())
            .hint("rename the column (a one-hot suffix with `names:`), or, where the table has column mapping on (`delta.columnMapping.mode = 'name'`), say so with `delta_column_mapping: true` in the spec")
            .in_file(file),
        );
    }
}

/// The output, and the drift statistics read in one row, within the
/// dialect's column limits: a located error saying how to stay within them,
/// where the engine would fail at run time. The fit's parameters have no
/// limit: a dialect that holds fewer columns in a row than a fit has
/// parameters keeps them in chunks (`plan::chunks`).
fn widths(ir: &ir::Ir, d: &Dialect, file: &str, diags: &mut Diagnostics) {
    let fix = "split the spec in two (each its own model), or leave features out";
    if let (Some(max), Some(drift)) = (d.max_select_columns, &ir.drift) {
        let read: BTreeSet<ir::ParamId> = drift.features.iter().flat_map(|f| f.params()).collect();
        // The drift query's parameters row holds the spec hash too.
        if read.len() + 2 > max {
            diags.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    format!(
                        "the drift query reads {} training statistics in one row, and {} holds at most {max} columns in a query's row",
                        read.len() + 2,
                        d.name
                    ),
                )
                .at(ir.source_span.clone())
                .hint("measure drift on fewer features (fewer `drift: {bins}` each), or split the spec")
                .in_file(file),
            );
        }
    }
    let Some(max) = d.max_columns else { return };
    let outputs: Vec<Option<Span>> = copied(ir)
        .map(|(_, span)| span)
        .chain(ir.apply.items.iter().map(|i| match i {
            ApplyItem::Output(o) => o.span.clone(),
            ApplyItem::Learned { span, .. } => span.clone(),
        }))
        .collect();
    if outputs.len() > max {
        diags.push(
            Diagnostic::new(
                Code::InvalidValue,
                format!(
                    "the output has {} columns, and {} holds at most {max} in a table; this feature's output is past the limit",
                    outputs.len(),
                    d.name
                ),
            )
            .at(outputs[max].clone())
            .hint(fix)
            .in_file(file),
        );
    }
}

/// The key and passthrough columns, with where the spec names them.
fn copied(ir: &ir::Ir) -> impl Iterator<Item = (&String, Option<Span>)> + Clone {
    (ir.apply.passthrough.iter()).zip(ir.apply.passthrough_spans.iter().cloned())
}

/// Output columns share one relation and parameters another: within each,
/// no two names may differ only in case; a parameter's name must fit.
fn distinct(ir: &ir::Ir, d: &Dialect, file: &str, diags: &mut Diagnostics) {
    let outputs = copied(ir).chain(ir.apply.items.iter().filter_map(|i| match i {
        ApplyItem::Output(o) => Some((&o.name, o.span.clone())),
        // A column whose name is known, written where the fit says so.
        ApplyItem::Learned {
            feature,
            span,
            deferred: Some(d),
            ..
        } if d.is_present() => Some((feature, span.clone())),
        ApplyItem::Learned { .. } => None,
    }));
    let params = ir.fit.params.iter().map(|p| (&p.name, None));
    let mut seen = BTreeMap::new();
    for (relation, (name, span)) in
        (outputs.map(|o| ("output", o))).chain(params.map(|p| ("parameter", p)))
    {
        if let Some(first) = seen.insert((relation, naming::fold(name)), name) {
            diags.push(
                Diagnostic::new(Code::NameCollision, format!("two {relation} columns are named `{name}` and `{first}`"))
                    .at(span.clone())
                    .hint("names are compared ignoring case: give the categories distinct suffixes with `names: {category: suffix}`")
                    .in_file(file),
            );
        }
        // Other names' lengths are checked with their quoting.
        if let Some(max) = d.max_identifier_bytes
            && relation == "parameter"
            && name.len() > max
        {
            diags.push(
                Diagnostic::new(
                    Code::NameCollision,
                    format!("column name `{name}` is {} bytes long, but {} allows at most {max}", name.len(), d.name),
                )
                .at(span)
                .hint("shorten the column name, or give one-hot outputs a shorter suffix with `names:`")
                .in_file(file),
            );
        }
    }
}

/// Every name prep will quote: inputs, outputs, the source, learned suffixes.
fn quoted(ir: &ir::Ir) -> Vec<(String, Option<Span>)> {
    let mut quoted: Vec<(String, Option<Span>)> = Vec::new();
    for item in &ir.apply.items {
        match item {
            ApplyItem::Output(o) => {
                quoted.push((o.name.clone(), o.span.clone()));
                o.expr.for_each(&mut |e| {
                    if let ir::Expr::Column(c) = e {
                        quoted.push((c.clone(), o.span.clone()));
                    }
                });
            }
            ApplyItem::Learned {
                feature,
                span,
                deferred,
                ..
            } => {
                quoted.push((feature.clone(), span.clone()));
                match deferred.as_ref().map(|d| &d.encoder) {
                    Some(ir::DeferredEncoder::OneHot(oh)) => {
                        quoted.extend((oh.names.values()).map(|suffix| {
                            (naming::one_hot_column(feature, suffix), oh.span.clone())
                        }))
                    }
                    // The longest name a learned bin can get.
                    Some(ir::DeferredEncoder::Bins { n_bins }) => quoted.push((
                        naming::one_hot_column(feature, &(n_bins - 1).to_string()),
                        span.clone(),
                    )),
                    _ => {}
                }
            }
        }
    }
    quoted.extend(copied(ir).map(|(name, span)| (name.clone(), span)));
    let at = || ir.source_span.clone();
    match &ir.source {
        spec::Source::Table(n) => quoted.extend(n.split('.').map(|p| (p.to_string(), at()))),
        spec::Source::Ref(n) => quoted.push((n.clone(), at())),
        spec::Source::Source { name, table } => {
            quoted.extend([(name.clone(), at()), (table.clone(), at())])
        }
    }
    quoted
}
