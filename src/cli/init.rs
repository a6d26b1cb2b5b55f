//! `prep init`: a starter spec from data (embedded engine) or a column
//! list, written to a new file, never over one.

use std::io::Write;
use std::path::{Path, PathBuf};

use prep::diagnostic::Code;
use prep::dialect::DialectName;
use prep::emit::{EmitForm, emit};
use prep::init::{Column, has_features, name_problem, parse_columns, starter_spec};

use super::failure::{EXIT_OUTPUT, EXIT_SPEC, EXIT_USAGE, Failure, spec_failure};

pub fn init(
    name: &str,
    data: &[String],
    columns: Option<&str>,
    out: Option<&Path>,
) -> Result<(), Failure> {
    let here = Path::new(name);
    if let Some(problem) = name_problem(name) {
        let hint = "e.g. `prep init churn_features --data train.csv`";
        return Err(Failure::about(
            EXIT_USAGE,
            Code::InvalidValue,
            problem,
            here,
            hint,
        ));
    }
    let target = out.map_or_else(|| PathBuf::from(format!("{name}.yml")), Path::to_path_buf);
    if target.exists() {
        return Err(Failure::about(
            EXIT_OUTPUT,
            Code::Io,
            format!(
                "{} exists; prep init never overwrites a file",
                target.display()
            ),
            &target,
            "choose another NAME, or --out PATH",
        ));
    }
    let (columns, origin) = match (data.is_empty(), columns) {
        (false, None) => from_data(data)?,
        (true, Some(list)) => from_list(list)?,
        _ => {
            return Err(Failure::about(
                EXIT_USAGE,
                Code::InvalidValue,
                "prep init reads the columns from --data or from --columns (one of them)",
                here,
                "e.g. `--data train.parquet` or `--columns \"age DOUBLE, plan VARCHAR\"`",
            ));
        }
    };
    if !has_features(&columns) {
        return Err(Failure::about(
            EXIT_SPEC,
            Code::InvalidValue,
            format!(
                "no column of {origin} can be a feature: prep encodes numbers, booleans, texts with categories and dates"
            ),
            here,
            "give data with numeric or categorical columns (with --columns, text columns need --data to list their categories)",
        ));
    }
    let text = starter_spec(name, &columns, &origin);
    self_check(&text, &target)?;
    write_new(&target, &text)?;
    eprintln!("wrote {}", target.display());
    Ok(())
}

#[cfg(feature = "embedded")]
fn from_data(data: &[String]) -> Result<(Vec<Column>, String), Failure> {
    let fail = |e: prep::engine::EngineError| {
        let hint = e.hint();
        Failure::about(
            EXIT_SPEC,
            Code::Data,
            e.to_string(),
            Path::new(&data[0]),
            hint,
        )
    };
    let engine = prep::engine::Engine::open(data, &super::engine::limits()).map_err(fail)?;
    let columns = engine.profile().map_err(fail)?;
    let rows = columns
        .first()
        .and_then(|c| c.data.as_ref())
        .map_or(0, |s| s.rows);
    Ok((columns, format!("{} ({rows} rows)", data.join(", "))))
}

#[cfg(not(feature = "embedded"))]
fn from_data(data: &[String]) -> Result<(Vec<Column>, String), Failure> {
    Err(Failure::about(
        EXIT_USAGE,
        Code::Data,
        "this prep was built without the embedded engine",
        Path::new(&data[0]),
        "build with the default features (`cargo install --path .`), or give --columns",
    ))
}

/// `--columns`: the list itself, or a CSV file of `information_schema.columns`.
fn from_list(list: &str) -> Result<(Vec<Column>, String), Failure> {
    let path = Path::new(list);
    let (text, origin) = if list.to_ascii_lowercase().ends_with(".csv") && path.is_file() {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Failure::about(
                EXIT_USAGE,
                Code::Io,
                e.to_string(),
                path,
                "give a readable CSV file",
            )
        })?;
        (text, path.display().to_string())
    } else {
        (list.to_string(), "a column list".to_string())
    };
    let columns = parse_columns(&text).map_err(|problem| {
        let hint = "write `name TYPE, name TYPE`, or give a CSV with column_name and data_type";
        Failure::about(EXIT_USAGE, Code::InvalidValue, problem, path, hint)
    })?;
    Ok((columns, origin))
}

/// The starter spec compiles on every dialect as written (once its writer
/// chose whether the tables have Delta's column mapping, where a name needs
/// it). Where it would not (a column name no warehouse takes, say), nothing
/// is written and the problem is shown in the spec's text.
fn self_check(text: &str, target: &Path) -> Result<(), Failure> {
    let file = target.display().to_string();
    let text = &prep::init::as_chosen(text);
    let ir = super::check::valid(text, &file, &DialectName::ALL)?;
    for d in DialectName::ALL {
        emit(&ir, d.get(), EmitForm::Sql, false, &file, None)
            .map_err(|e| spec_failure(e.into(), text))?;
    }
    Ok(())
}

/// Writes `text` to `target` all at once, never over a file: a temporary
/// file beside it is linked to the name, which fails if the name exists.
fn write_new(target: &Path, text: &str) -> Result<(), Failure> {
    let fail = |e: std::io::Error| {
        Failure::about(
            EXIT_OUTPUT,
            Code::Io,
            e.to_string(),
            target,
            "choose another --out PATH",
        )
    };
    let dir = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let temp = dir.join(format!(".prep-init-{}.tmp", std::process::id()));
    let written = std::fs::File::create_new(&temp)
        .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|_| f.sync_all()))
        .and_then(|_| std::fs::hard_link(&temp, target));
    let _ = std::fs::remove_file(&temp);
    written.map_err(fail)
}
