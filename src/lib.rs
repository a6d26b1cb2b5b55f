//! prep: a compiler from a declarative preprocessing spec to warehouse SQL.
//!
//! The stages are public functions, each inspectable from the CLI:
//! `spec::parse` → `check::check` → `lower::lower` (IR) → `render` (SQL AST per
//! dialect) → `emit` (files). See the README's design notes.

pub mod check;
pub mod dbt;
pub mod diagnostic;
pub mod dialect;
pub mod emit;
pub mod encoding;
#[cfg(feature = "embedded")]
pub mod engine;
pub mod explain;
pub mod fitted;
pub mod ir;
pub mod lower;
pub mod lowering;
pub mod naming;
pub mod render;
pub mod sklearn;
pub mod spec;
pub mod steps;
pub mod text;
pub mod write;

use diagnostic::Diagnostics;

/// Parses and checks a spec's text; `file` names it in diagnostics.
pub fn check_text(text: &str, file: &str) -> Result<check::Model, Diagnostics> {
    let spec = spec::parse(text).map_err(|d| Diagnostics::from(d.in_file(file)))?;
    check::check(&spec).map_err(|d| d.in_file(file))
}

/// Parses, checks and lowers a spec's text to the IR.
pub fn compile_ir(text: &str, file: &str) -> Result<ir::Ir, Diagnostics> {
    check_text(text, file).map(|model| lower::lower(&model, None))
}

/// Parses, checks and lowers a spec with its fitted values, which must have
/// been fitted for exactly this spec.
pub fn compile_bound(
    text: &str,
    file: &str,
    fitted: &fitted::Fitted,
) -> Result<ir::Ir, Diagnostics> {
    let model = check_text(text, file)?;
    let ir = lower::lower(&model, Some(fitted));
    fitted.check_matches(&ir).map_err(|m| {
        Diagnostics::from(
            diagnostic::Diagnostic::new(diagnostic::Code::ParamsMismatch, m)
                .hint("run `prep fit` again for this spec")
                .in_file(file),
        )
    })?;
    Ok(ir)
}

/// Names that collide (ignoring case; learned categories add names only
/// known after a fit), that a dialect cannot quote safely, or that are too
/// long for it.
pub fn check_names(ir: &ir::Ir, d: &dialect::Dialect, file: &str) -> Result<(), Diagnostics> {
    use diagnostic::{Code, Diagnostic};
    let mut diags = Diagnostics::default();
    let copied = ir
        .apply
        .passthrough
        .iter()
        .zip(ir.apply.passthrough_spans.iter().cloned());
    let outputs = copied
        .clone()
        .chain(ir.apply.items.iter().filter_map(|i| match i {
            ir::ApplyItem::Output(o) => Some((&o.name, o.span.clone())),
            ir::ApplyItem::Learned { .. } => None,
        }));
    let params = ir.fit.params.iter().map(|p| (&p.name, None));
    // Output columns share one relation; parameters share another.
    let mut seen = std::collections::BTreeMap::new();
    for (relation, (name, span)) in outputs
        .map(|o| ("output", o))
        .chain(params.map(|p| ("parameter", p)))
    {
        if let Some(first) = seen.insert((relation, naming::fold(name)), name) {
            diags.push(
                Diagnostic::new(Code::NameCollision, format!("two {relation} columns are named `{name}` and `{first}`"))
                    .at(span.clone())
                    .hint("names are compared ignoring case: give the categories distinct suffixes with `names: {category: suffix}`")
                    .in_file(file),
            );
        }
        // Other names' lengths are checked with their quoting, below.
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
    // Every name prep will quote: inputs, outputs, the source, learned suffixes.
    let mut quoted: Vec<(String, Option<diagnostic::Span>)> = Vec::new();
    for item in &ir.apply.items {
        match item {
            ir::ApplyItem::Output(o) => {
                quoted.push((o.name.clone(), o.span.clone()));
                o.expr.for_each(&mut |e| {
                    if let ir::Expr::Column(c) = e {
                        quoted.push((c.clone(), o.span.clone()));
                    }
                });
            }
            ir::ApplyItem::Learned {
                feature,
                span,
                deferred,
                ..
            } => {
                quoted.push((feature.clone(), span.clone()));
                if let Some(ir::Deferred {
                    encoder: ir::DeferredEncoder::OneHot(oh),
                    ..
                }) = deferred
                {
                    quoted.extend(
                        oh.names.values().map(|suffix| {
                            (naming::one_hot_column(feature, suffix), oh.span.clone())
                        }),
                    );
                }
            }
        }
    }
    quoted.extend(copied.map(|(name, span)| (name.clone(), span)));
    let at = || ir.source_span.clone();
    match &ir.source {
        spec::Source::Table(n) => quoted.extend(n.split('.').map(|p| (p.to_string(), at()))),
        spec::Source::Ref(n) => quoted.push((n.clone(), at())),
        spec::Source::Source { name, table } => {
            quoted.extend([(name.clone(), at()), (table.clone(), at())])
        }
    }
    let mut reported = std::collections::BTreeSet::new();
    for (name, span) in quoted {
        let too_long = d
            .max_identifier_bytes
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
