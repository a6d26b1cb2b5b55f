//! `prep check`: specs are valid (every problem, with its place) and their
//! names can be written on every dialect, without printing any SQL: for
//! editors, CI and pre-commit.

use std::path::PathBuf;

use prep::dialect::DialectName;

use super::failure::{Failure, Format, report, spec_failure};
use super::files::read_spec;
use super::package::spec_files;

/// Checks every spec of `paths` (files, or folders of specs); reports each
/// invalid one, and fails with the last.
pub fn check(
    paths: &[PathBuf],
    dialect: Option<DialectName>,
    format: Format,
) -> Result<(), Failure> {
    let dialects = dialect.map_or(DialectName::ALL.to_vec(), |d| vec![d]);
    let mut failures = Vec::new();
    for path in paths {
        for file in spec_files(path)? {
            match check_one(&file, &dialects) {
                Ok(()) => eprintln!("ok {}", file.display()),
                Err(f) => failures.push(f),
            }
        }
    }
    let last = failures.pop();
    for f in &failures {
        report(f, format);
    }
    last.map_or(Ok(()), Err)
}

fn check_one(file: &std::path::Path, dialects: &[DialectName]) -> Result<(), Failure> {
    let (text, name) = read_spec(file)?;
    valid(&text, &name, dialects).map(|_| ())
}

/// A spec's text (named `file` in messages) lowered, with every name
/// checked for each of `dialects`: what `prep check` and `prep init` ask.
pub fn valid(text: &str, file: &str, dialects: &[DialectName]) -> Result<prep::ir::Ir, Failure> {
    let ir = prep::compile_ir(text, file).map_err(|d| spec_failure(d, text))?;
    for d in dialects {
        prep::check_names(&ir, d.get(), file).map_err(|d| spec_failure(d, text))?;
    }
    Ok(ir)
}
