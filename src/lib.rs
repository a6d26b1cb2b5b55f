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
pub mod fitted_diff;
pub mod init;
pub mod ir;
pub mod lower;
pub mod lowering;
pub mod name_check;
pub mod naming;
pub mod normal;
pub mod plan;
pub mod render;
pub mod report;
pub mod sklearn;
pub mod spec;
pub mod steps;
pub mod text;
pub mod write;

use diagnostic::Diagnostics;
pub use name_check::check_names;

/// Parses and checks a spec's text; `file` names it in diagnostics.
pub fn check_text(text: &str, file: &str) -> Result<check::Model, Diagnostics> {
    let spec = spec::parse(text).map_err(|d| Diagnostics::from(d.in_file(file)))?;
    check::check(&spec).map_err(|d| d.in_file(file))
}

/// Parses, checks and lowers a spec's text to the IR.
pub fn compile_ir(text: &str, file: &str) -> Result<ir::Ir, Diagnostics> {
    check_text(text, file).map(|model| lower::lower(&model, None))
}

/// The bind stage: a checked spec lowered with its fitted values, which must
/// have been fitted for exactly this spec (its content hash, and every
/// parameter its fit stores). Learned categories become output columns; the
/// values themselves are written as literals when the IR is rendered.
pub fn bind(model: &check::Model, fitted: &fitted::Fitted) -> Result<ir::Ir, String> {
    let ir = lower::lower(model, Some(fitted));
    fitted.check_matches(&ir)?;
    Ok(ir)
}

/// Parses, checks and binds a spec's text with its fitted values.
pub fn compile_bound(
    text: &str,
    file: &str,
    fitted: &fitted::Fitted,
) -> Result<ir::Ir, Diagnostics> {
    let model = check_text(text, file)?;
    bind(&model, fitted).map_err(|m| {
        Diagnostics::from(
            diagnostic::Diagnostic::new(diagnostic::Code::ParamsMismatch, m)
                .hint("run `prep fit` again for this spec")
                .in_file(file),
        )
    })
}
