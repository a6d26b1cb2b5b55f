//! `prep fit --data` and `prep preview`: the commands that run on the
//! embedded engine, and what they say when prep was built without it.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use prep::diagnostic::{Code, Diagnostic};
use prep::fitted;
#[cfg(feature = "embedded")]
use prep::{fitted::Fitted, lower};

#[cfg(not(feature = "embedded"))]
use super::failure::EXIT_USAGE;
use super::failure::Failure;
#[cfg(feature = "embedded")]
use super::{
    failure::{EXIT_SPEC, spec_failure, usage_failure, write_stdout},
    files::{file_name, load_params, lower_with, read_spec},
    progress, table,
};

/// How much of the machine the embedded engine may use.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct EngineArgs {
    /// The embedded engine's memory limit, such as `4GB` or `512MiB`
    /// (default: 80% of the machine's memory); what does not fit is spilled
    /// to --temp-dir instead of failing.
    #[arg(long, value_parser = memory_size, value_name = "SIZE")]
    pub memory_limit: Option<String>,
    /// Where the embedded engine spills what does not fit in memory
    /// (default: a folder of its own in the system's temporary folder).
    #[arg(long, value_name = "DIR")]
    pub temp_dir: Option<PathBuf>,
}

/// The limits of this run, set once by the command (see `EngineArgs`).
static LIMITS: OnceLock<EngineArgs> = OnceLock::new();

pub fn set_limits(args: &EngineArgs) {
    let _ = LIMITS.set(args.clone());
}

#[cfg(feature = "embedded")]
pub(super) fn limits() -> prep::engine::Limits {
    let args = LIMITS.get().cloned().unwrap_or_default();
    prep::engine::Limits {
        memory_limit: args.memory_limit,
        temp_directory: args.temp_dir,
    }
}

/// A memory size DuckDB reads: a number and a unit (`B`, `KB`, `MB`, `GB`,
/// `TB`, or `KiB` ... `TiB`).
fn memory_size(text: &str) -> Result<String, String> {
    let t = text.trim();
    let split = (t.find(|c: char| !(c.is_ascii_digit() || c == '.'))).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let units = ["b", "kb", "mb", "gb", "tb", "kib", "mib", "gib", "tib"];
    if number.parse::<f64>().is_ok_and(|n| n > 0.0)
        && units.contains(&unit.trim().to_ascii_lowercase().as_str())
    {
        Ok(t.to_string())
    } else {
        Err("a number and a unit, such as 4GB or 512MiB".into())
    }
}

#[cfg(feature = "embedded")]
pub(super) fn engine_failure(e: prep::engine::EngineError) -> Failure {
    Failure {
        diagnostics: Diagnostic::new(Code::Data, e.to_string())
            .hint(e.hint())
            .into(),
        source: String::new(),
        exit: EXIT_SPEC,
    }
}

#[cfg(feature = "embedded")]
pub(super) fn open_data(
    model: &prep::check::Model,
    data: &[String],
) -> Result<prep::engine::Engine, Failure> {
    let engine = progress::while_slow("reading the data", || {
        prep::engine::Engine::open(data, &limits())
    })
    .map_err(engine_failure)?;
    engine.check_columns(model).map_err(engine_failure)?;
    Ok(engine)
}

#[cfg(feature = "embedded")]
pub fn fit_on_data(
    model: &prep::check::Model,
    ir: &prep::ir::Ir,
    data: &[String],
) -> Result<(Vec<fitted::LongRow>, String), Failure> {
    let engine = open_data(model, data)?;
    let rows = progress::while_slow_showing("fitting", engine.progress(), || engine.fit(ir))
        .map_err(engine_failure)?;
    let files: Vec<String> = data.iter().map(|d| file_name(Path::new(d))).collect();
    Ok((
        rows,
        format!(
            "Learned with the embedded engine from {}.",
            files.join(", ")
        ),
    ))
}

#[cfg(not(feature = "embedded"))]
pub fn fit_on_data(
    _: &prep::check::Model,
    _: &prep::ir::Ir,
    _: &[String],
) -> Result<(Vec<fitted::LongRow>, String), Failure> {
    Err(no_engine())
}

#[cfg(not(feature = "embedded"))]
fn no_engine() -> Failure {
    Failure {
        diagnostics: Diagnostic::new(Code::Data, "this prep was built without the embedded engine")
            .hint("build with the default features (`cargo install --path .`), or use `prep fit --from-result`")
            .into(),
        source: String::new(),
        exit: EXIT_USAGE,
    }
}

#[cfg(not(feature = "embedded"))]
pub fn preview(
    _: &Path,
    _: &[String],
    _: usize,
    _: Option<&Path>,
    _: Option<&Path>,
) -> Result<(), Failure> {
    Err(no_engine())
}

#[cfg(feature = "embedded")]
/// The features of `data`: with `params`, with those fitted statistics (the
/// data is only scored, as in serving); without, fitted on `data` itself.
/// Shown as a table of the first `rows`, or all written to `output`.
pub fn preview(
    spec: &Path,
    data: &[String],
    rows: usize,
    output: Option<&Path>,
    params: Option<&Path>,
) -> Result<(), Failure> {
    let Scored {
        engine,
        sql,
        model,
        ir,
        fitted,
        ..
    } = scored(spec, data, params)?;
    let learned = prep::sklearn::export(&ir, &fitted);
    super::unknown::warn_unknown(&model, &engine, &learned)?;
    if let Some(path) = output {
        progress::while_slow_showing("writing", engine.progress(), || engine.export(&sql, path))
            .map_err(engine_failure)?;
        eprintln!("wrote {}", path.display());
        return Ok(());
    }
    let (names, values) = engine
        .query_text(&format!(
            "SELECT * FROM ({sql}) AS prep_preview LIMIT {rows}"
        ))
        .map_err(engine_failure)?;
    write_stdout(&table::aligned(&names, &values));
    Ok(())
}

#[cfg(feature = "embedded")]
/// How `prep preview` and `prep report` start: the spec read and checked,
/// the data opened, the statistics (of `params`, or learned from the data),
/// and their apply over the data as SQL.
pub(super) struct Scored {
    pub text: String,
    pub file: String,
    pub model: prep::check::Model,
    pub engine: prep::engine::Engine,
    pub ir: prep::ir::Ir,
    pub fitted: Fitted,
    pub sql: String,
}

#[cfg(feature = "embedded")]
pub(super) fn scored(
    spec: &Path,
    data: &[String],
    params: Option<&Path>,
) -> Result<Scored, Failure> {
    let (text, file) = read_spec(spec)?;
    let model = prep::check_text(&text, &file).map_err(|d| spec_failure(d, &text))?;
    let engine = open_data(&model, data)?;
    let (ir, fitted) = fitted_for(&model, &engine, params, spec)?;
    let sql = apply_sql(&ir, &fitted, &file, &text)?;
    Ok(Scored {
        text,
        file,
        model,
        engine,
        ir,
        fitted,
        sql,
    })
}

#[cfg(feature = "embedded")]
/// The fitted statistics of `params`, or, without it, those learned from the
/// engine's data; and the spec lowered with them.
fn fitted_for(
    model: &prep::check::Model,
    engine: &prep::engine::Engine,
    params: Option<&Path>,
    spec: &Path,
) -> Result<(prep::ir::Ir, Fitted), Failure> {
    let fitted = match params {
        Some(path) => load_params(path)?,
        None => {
            let plan = lower::lower(model, None);
            let long =
                progress::while_slow("fitting", || engine.fit(&plan)).map_err(engine_failure)?;
            Fitted::from_rows(&plan, long)
                .map_err(|m| usage_failure(Code::Data, m, spec, "report this as a bug in prep"))?
        }
    };
    Ok((lower_with(model, Some(&fitted), params)?, fitted))
}

#[cfg(feature = "embedded")]
/// The apply of `ir` with `fitted`'s values as literals, over the engine's data.
fn apply_sql(
    ir: &prep::ir::Ir,
    fitted: &Fitted,
    file: &str,
    text: &str,
) -> Result<String, Failure> {
    use prep::dialect::DialectName;
    use prep::render::{Renderer, SourceStyle, print};
    let apply = Renderer::new(DialectName::Duckdb.get(), ir, SourceStyle::Plain)
        .reading(prep::engine::DATA_RELATION)
        .bind(fitted)
        .apply_bound_query()
        .map_err(|diag| spec_failure(diag.in_file(file).into(), text))?;
    Ok(print::pretty(apply))
}

#[cfg(feature = "embedded")]
/// The drift table of `data` against `fitted` (the spec's `drift:`): its
/// column names and rows, in the spec's order, measure by measure.
pub(super) type DriftTable = (Vec<String>, Vec<Vec<Option<String>>>);

#[cfg(feature = "embedded")]
pub(super) fn drift_rows(
    model: &prep::check::Model,
    ir: &prep::ir::Ir,
    fitted: &Fitted,
    data: &[String],
    file: &str,
    text: &str,
) -> Result<DriftTable, Failure> {
    use prep::dialect::DialectName;
    use prep::render::{DriftParams, Renderer, SourceStyle, print};
    let engine = open_data(model, data)?;
    let query = Renderer::new(DialectName::Duckdb.get(), ir, SourceStyle::Plain)
        .reading(prep::engine::DATA_RELATION)
        .drift_query(DriftParams::Pinned(fitted))
        .map_err(|diag| spec_failure(diag.in_file(file).into(), text))?;
    let (names, mut rows) = progress::while_slow("measuring drift", || {
        engine.query_text(&print::pretty(query))
    })
    .map_err(engine_failure)?;
    // The query's rows come in no promised order: the spec's, measure by measure.
    let order = |r: &Vec<Option<String>>| {
        let features = ir.drift.iter().flat_map(|p| &p.features);
        features
            .enumerate()
            .find(|(_, f)| r[0].as_deref() == Some(f.feature.as_str()))
            .map(|(i, f)| {
                let measure = f
                    .measures()
                    .iter()
                    .position(|m| r[1].as_deref() == Some(m.name()));
                (i, measure)
            })
    };
    rows.sort_by_key(order);
    Ok((names, rows))
}

#[cfg(not(feature = "embedded"))]
pub fn drift(_: &Path, _: &[String], _: &Path, _: bool) -> Result<(), Failure> {
    Err(no_engine())
}

#[cfg(feature = "embedded")]
/// The drift of `data` from the statistics of `params` (the spec's
/// `drift:`), as a table in the spec's feature order; with `fail`, any
/// measure that drifted is a failure (exit 1), for CI and schedulers.
pub fn drift(spec: &Path, data: &[String], params: &Path, fail: bool) -> Result<(), Failure> {
    let (text, file) = read_spec(spec)?;
    let model = prep::check_text(&text, &file).map_err(|d| spec_failure(d, &text))?;
    let fitted = load_params(params)?;
    let ir = lower_with(&model, Some(&fitted), Some(params))?;
    let (names, rows) = drift_rows(&model, &ir, &fitted, data, &file, &text)?;
    write_stdout(&table::aligned(&names, &rows));
    let drifted: Vec<String> = (rows.iter())
        .filter(|r| r[4].as_deref() == Some("drift"))
        .map(|r| {
            format!(
                "{} {}",
                r[0].as_deref().unwrap_or(""),
                r[1].as_deref().unwrap_or("")
            )
        })
        .collect();
    if fail && !drifted.is_empty() {
        return Err(usage_failure(
            Code::Data,
            format!(
                "{} drifted from the training statistics: {}",
                data.join(", "),
                drifted.join(", ")
            ),
            spec,
            "look at the rows marked `drift` above; refit, or raise the thresholds in `drift:` if the change is expected",
        ));
    }
    Ok(())
}
