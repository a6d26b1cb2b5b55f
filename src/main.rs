//! The `prep` command line.

mod engine_commands;
mod package_command;
#[cfg(feature = "embedded")]
mod progress;
#[cfg(feature = "embedded")]
mod table;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use prep::diagnostic::{Code, Diagnostic, Diagnostics};
use prep::dialect::DialectName;
use prep::emit::{self, EmitForm};
use prep::explain::{self, Stage};
use prep::fitted::{self, Fitted};
use prep::lower;

use engine_commands::{fit_on_data, preview};

/// prep compiles a declarative preprocessing spec (imputation, scaling,
/// encoding) into SQL for your warehouse, with scikit-learn's semantics.
#[derive(Parser)]
#[command(name = "prep", version, about, max_term_width = 100)]
struct Cli {
    /// How errors are printed: `human` (coloured on a terminal) or `json`.
    #[arg(long, value_enum, default_value_t = Format::Human, global = true)]
    format: Format,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Compile a spec to SQL for one dialect.
    Compile {
        /// The spec file (YAML).
        spec: PathBuf,
        /// The warehouse to compile for (a dbt package serves all of them).
        #[arg(long, short, value_enum)]
        dialect: Option<DialectName>,
        /// What to produce.
        #[arg(long, value_enum, default_value_t = EmitForm::Sql)]
        emit: EmitForm,
        /// One self-contained statement, with the fit in CTEs.
        #[arg(long)]
        inline: bool,
        /// Write files into this directory instead of printing them.
        #[arg(long)]
        out: Option<PathBuf>,
        /// A fitted-parameters file (from `prep fit`): the apply query gets every
        /// fitted value as a literal, and learned categories become columns;
        /// with --emit dbt-package (one spec), its params model is pinned to them.
        #[arg(long)]
        params: Option<PathBuf>,
        /// Write nothing; exit 1 if the files in --out are not what prep would write (for CI).
        #[arg(long, requires = "out")]
        check: bool,
    },
    /// Learn the spec's statistics and categories: on local data with the
    /// embedded engine, or from the fit query's result exported from a warehouse.
    /// Writes the fitted-parameters file (default: beside the spec, `<spec>.fitted.yml`).
    Fit {
        /// The spec file (YAML).
        spec: PathBuf,
        /// Training data: CSV or Parquet files, or globs (repeat for several).
        #[arg(
            long,
            required_unless_present = "from_result",
            conflicts_with = "from_result"
        )]
        data: Vec<String>,
        /// The result of `prep compile --emit fit-sql` run in a warehouse, as CSV or JSON.
        #[arg(long)]
        from_result: Option<PathBuf>,
        /// Where to write the fitted-parameters file.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Fit and apply on sample data with the embedded engine, and show the features.
    Preview {
        /// The spec file (YAML).
        spec: PathBuf,
        /// Data: CSV or Parquet files, or globs.
        #[arg(long, required = true)]
        data: Vec<String>,
        /// How many rows to show.
        #[arg(long, default_value_t = 20)]
        rows: usize,
        /// Write all features to this CSV or Parquet file instead of showing them.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Print the fitted parameters as JSON in scikit-learn's attribute names
    /// (mean_, scale_, categories_, ...), per feature and step.
    ExportSklearn {
        /// The spec file (YAML).
        spec: PathBuf,
        /// The fitted-parameters file (default: beside the spec).
        #[arg(long)]
        params: Option<PathBuf>,
    },
    /// Show the fit plan, the apply plan and how many scans the fit costs.
    Explain {
        /// The spec file (YAML).
        spec: PathBuf,
        /// Only this dialect's scans (default: every dialect).
        #[arg(long, short, value_enum)]
        dialect: Option<DialectName>,
        /// Which part to show.
        #[arg(long, value_enum, default_value_t = Stage::All)]
        stage: Stage,
    },
    /// Print the JSON Schema of the spec format.
    Schema,
}

/// Exit codes: 1 for a bad spec, 2 for bad usage (including an unreadable spec
/// file), 3 when output cannot be written.
const EXIT_SPEC: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_OUTPUT: u8 = 3;

/// Writes to standard output. A reader that went away (`prep compile … |
/// head`) ends prep quietly; any other failure is reported, never a panic.
fn write_stdout(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
    {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error[E008]: cannot write to standard output: {e}");
        std::process::exit(i32::from(EXIT_OUTPUT));
    }
}

/// mimalloc: a wide spec builds and frees millions of small nodes, and the
/// system allocator spends a third of the compile doing it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (its place in `mi_option_t`, mimalloc.h;
/// the -sys crate has no name for it): how long freed memory is kept before
/// it goes back to the system, 1 s by default, which is longer than most
/// compiles. A test checks the option at this place has that default.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Freed memory goes back to the system at once: a wide compile frees each
/// printed piece as it is copied into the output, and keeping those pages a
/// second longer raised its peak memory by half.
fn return_freed_memory_promptly() {
    // SAFETY: mi_option_set stores a number in mimalloc's option table; 0 is
    // a valid purge delay (immediate), and no pointer is involved.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) }
}

fn main() -> ExitCode {
    return_freed_memory_promptly();
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            report(&failure, cli.format);
            ExitCode::from(failure.exit)
        }
    }
}

struct Failure {
    diagnostics: Diagnostics,
    source: String,
    exit: u8,
}

impl Failure {
    /// A failure about a file other than the spec (so no source to quote).
    fn about(
        exit: u8,
        code: Code,
        message: impl Into<String>,
        place: &Path,
        hint: &str,
    ) -> Failure {
        let diagnostic = Diagnostic::new(code, message)
            .hint(hint)
            .in_file(&place.display().to_string());
        Failure {
            diagnostics: diagnostic.into(),
            source: String::new(),
            exit,
        }
    }
}

fn spec_failure(diagnostics: Diagnostics, source: &str) -> Failure {
    Failure {
        diagnostics,
        source: source.to_string(),
        exit: EXIT_SPEC,
    }
}

fn report(f: &Failure, format: Format) {
    match format {
        Format::Json => {
            let json = serde_json::to_string_pretty(&f.diagnostics.0).unwrap_or_default();
            eprintln!("{json}");
        }
        Format::Human => {
            let styled = std::io::stderr().is_terminal();
            for d in &f.diagnostics.0 {
                anstream::eprintln!("{}\n", d.render(&f.source, styled));
            }
        }
    }
}

/// The largest spec prep reads: far above any real spec (a spec of 20,000
/// features is about 1 MB), far below what would exhaust memory.
const MAX_SPEC_BYTES: u64 = 16 << 20;

/// A spec's text and the name diagnostics give it; `-` reads standard input.
fn read_spec(path: &Path) -> Result<(String, String), Failure> {
    use std::io::Read;
    let too_large = || {
        Failure::about(
            EXIT_SPEC,
            Code::InvalidValue,
            format!("the spec is larger than {} MB", MAX_SPEC_BYTES >> 20),
            path,
            "a spec describes steps, not data: move long lists (categories) to a smaller spec, or learn them with `prep fit`",
        )
    };
    let unreadable = |e: std::io::Error| {
        Failure::about(
            EXIT_USAGE,
            Code::Io,
            format!("cannot read the spec: {e}"),
            path,
            "check the path; `prep compile --help` shows the usage",
        )
    };
    let (reader, file): (Box<dyn Read>, String) = if path == Path::new("-") {
        (Box::new(std::io::stdin()), "<stdin>".to_string())
    } else {
        let opened = std::fs::File::open(path).map_err(unreadable)?;
        (Box::new(opened), path.display().to_string())
    };
    let mut bytes = Vec::new();
    reader
        .take(MAX_SPEC_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > MAX_SPEC_BYTES {
        return Err(too_large());
    }
    String::from_utf8(bytes)
        .map(|text| (text, file.clone()))
        .map_err(|_| {
            Failure::about(
                EXIT_SPEC,
                Code::Yaml,
                "the spec is not UTF-8 text",
                path,
                "save the spec as UTF-8",
            )
        })
}

fn run(cli: &Cli) -> Result<(), Failure> {
    match &cli.command {
        Command::Schema => {
            write_stdout(&prep::spec::json_schema());
            Ok(())
        }
        Command::Explain {
            spec,
            dialect,
            stage,
        } => {
            let (text, file) = read_spec(spec)?;
            let ir = prep::compile_ir(&text, &file).map_err(|d| spec_failure(d, &text))?;
            let dialects = dialect.map_or(DialectName::ALL.to_vec(), |d| vec![d]);
            write_stdout(&explain::explain(&ir, &dialects, *stage));
            Ok(())
        }
        Command::Compile {
            spec,
            dialect,
            emit,
            inline,
            out,
            params,
            check,
        } => {
            let conflict = match (emit, dialect, params, inline) {
                (EmitForm::DbtPackage, Some(_), _, _) => {
                    Some("--dialect: a dbt package serves every adapter")
                }
                (EmitForm::DbtPackage, _, _, true) => {
                    Some("--inline: a dbt package keeps the fit in its own model")
                }
                (EmitForm::FitSql, _, Some(_), _) | (EmitForm::FitSql, _, _, true) => {
                    Some("--params and --inline: the fit query is the fit alone")
                }
                (_, _, Some(_), true) => {
                    Some("--inline with --params: with fitted values there is no fit to inline")
                }
                _ => None,
            };
            if let Some(what) = conflict {
                return Err(Failure::about(
                    EXIT_USAGE,
                    Code::Io,
                    format!(
                        "{what}, so this option cannot be used with --emit {}",
                        emit_name(*emit)
                    ),
                    spec,
                    "remove the option",
                ));
            }
            if *emit == EmitForm::DbtPackage {
                let (out, params) = (out.as_deref(), params.as_deref());
                return package_command::compile_package(spec, out, *check, params);
            }
            let (text, file) = read_spec(spec)?;
            let model = prep::check_text(&text, &file).map_err(|d| spec_failure(d, &text))?;
            let fitted = params.as_ref().map(|p| load_params(p)).transpose()?;
            let ir = lower_with(&model, fitted.as_ref(), params.as_deref())?;
            let Some(d) = dialect.map(DialectName::get) else {
                return Err(Failure::about(
                    EXIT_USAGE,
                    Code::Io,
                    "--dialect is required",
                    spec,
                    "add --dialect, e.g. --dialect duckdb",
                ));
            };
            prep::check_names(&ir, d, &file).map_err(|diags| spec_failure(diags, &text))?;
            let spec_name = spec
                .file_name()
                .map_or(file.clone(), |n| n.to_string_lossy().into_owned());
            let params_name = params.as_ref().map(|p| {
                p.file_name().map_or(p.display().to_string(), |n| {
                    n.to_string_lossy().into_owned()
                })
            });
            let bound = fitted
                .as_ref()
                .zip(params_name.as_deref())
                .map(|(fitted, params_file)| emit::Bound {
                    fitted,
                    params_file,
                });
            let artifacts = emit::emit(&ir, d, *emit, *inline, &spec_name, bound)
                .map_err(|diag| spec_failure(diag.in_file(&file).into(), &text))?;
            match out {
                None => {
                    for (i, a) in artifacts.iter().enumerate() {
                        if artifacts.len() > 1 {
                            write_stdout(&format!(
                                "{}-- file: {}\n",
                                if i > 0 { "\n" } else { "" },
                                a.file_name
                            ));
                        }
                        write_stdout(&a.contents);
                    }
                    Ok(())
                }
                Some(dir) if *check => check_files(dir, &artifacts),
                Some(dir) => write_files(dir, &artifacts),
            }
        }
        Command::Fit {
            spec,
            data,
            from_result,
            out,
        } => {
            let (text, file) = read_spec(spec)?;
            let model = prep::check_text(&text, &file).map_err(|d| spec_failure(d, &text))?;
            let ir = lower::lower(&model, None);
            let (rows, note) = match from_result {
                Some(result) => {
                    let content = std::fs::read_to_string(result).map_err(|e| {
                        Failure::about(
                            EXIT_USAGE,
                            Code::Io,
                            format!("cannot read the fit result: {e}"),
                            result,
                            "check the --from-result path",
                        )
                    })?;
                    let json = result
                        .extension()
                        .is_some_and(|e| e == "json" || e == "jsonl" || e == "ndjson");
                    let rows = fitted::read_result(&content, json).map_err(|m| {
                        usage_failure(
                            Code::ParamsMismatch,
                            m,
                            result,
                            "export the fit query's result as CSV with a header, or as JSON",
                        )
                    })?;
                    (
                        rows,
                        format!("Learned in a warehouse; read from {}.", file_name(result)),
                    )
                }
                None => fit_on_data(&model, &ir, data)?,
            };
            let place = from_result
                .clone()
                .unwrap_or_else(|| PathBuf::from(data.join(", ")));
            let fitted = Fitted::from_rows(&ir, rows).map_err(|m| {
                usage_failure(
                    Code::ParamsMismatch,
                    m,
                    &place,
                    "compile this spec's fit query again and rerun it",
                )
            })?;
            fitted.check_matches(&ir).map_err(|m| {
                usage_failure(
                    Code::ParamsMismatch,
                    m,
                    &place,
                    "the result came from another spec's fit query: compile it again and rerun it",
                )
            })?;
            let target = out.clone().unwrap_or_else(|| default_params_path(spec));
            let artifact = emit::Artifact {
                file_name: file_name(&target),
                contents: fitted.to_yaml(&ir, &note),
            };
            let dir = target
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            write_files(dir, &[artifact])
        }
        Command::Preview {
            spec,
            data,
            rows,
            output,
        } => preview(spec, data, *rows, output.as_deref()),
        Command::ExportSklearn { spec, params } => {
            let (text, file) = read_spec(spec)?;
            let model = prep::check_text(&text, &file).map_err(|d| spec_failure(d, &text))?;
            let path = params.clone().unwrap_or_else(|| default_params_path(spec));
            let fitted = load_params(&path)?;
            let ir = lower::lower(&model, Some(&fitted));
            fitted.check_matches(&ir).map_err(|m| {
                usage_failure(
                    Code::ParamsMismatch,
                    m,
                    &path,
                    "run `prep fit` again for this spec",
                )
            })?;
            let json = prep::sklearn::export(&ir, &fitted);
            write_stdout(&(serde_json::to_string_pretty(&json).unwrap_or_default() + "\n"));
            Ok(())
        }
    }
}

fn emit_name(form: EmitForm) -> String {
    form.to_possible_value()
        .map_or_else(String::new, |v| v.get_name().to_string())
}

/// `--check`: nothing is written; exit 1 when a file differs from what prep would write.
fn check_files(dir: &Path, artifacts: &[emit::Artifact]) -> Result<(), Failure> {
    report_stale(dir, &prep::write::stale(dir, artifacts))
}

/// `--check`'s verdict on the files that differ from what prep would write.
fn report_stale(dir: &Path, stale: &[PathBuf]) -> Result<(), Failure> {
    if stale.is_empty() {
        return Ok(());
    }
    let list = stale
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    Err(Failure::about(
        EXIT_SPEC,
        Code::Io,
        format!("these files are not what prep would write: {list}"),
        dir,
        "run the same command without --check",
    ))
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// `dir/spec.yml` → `dir/spec.fitted.yml`.
fn default_params_path(spec: &Path) -> PathBuf {
    let stem = spec
        .file_stem()
        .map_or("spec".into(), |s| s.to_string_lossy().into_owned());
    spec.with_file_name(format!("{stem}.fitted.yml"))
}

fn usage_failure(code: Code, message: String, place: &Path, hint: &str) -> Failure {
    Failure::about(EXIT_SPEC, code, message, place, hint)
}

/// `model` lowered, with `fitted` (read from `params`) if given: the values
/// must have been fitted for this very spec.
pub(crate) fn lower_with(
    model: &prep::check::Model,
    fitted: Option<&Fitted>,
    params: Option<&Path>,
) -> Result<prep::ir::Ir, Failure> {
    let ir = lower::lower(model, fitted);
    if let (Some(fitted), Some(p)) = (fitted, params) {
        fitted.check_matches(&ir).map_err(|m| {
            usage_failure(
                Code::ParamsMismatch,
                m,
                p,
                "run `prep fit` again for this spec",
            )
        })?;
    }
    Ok(ir)
}

pub(crate) fn load_params(path: &Path) -> Result<Fitted, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure::about(
            EXIT_USAGE,
            Code::Io,
            format!("cannot read the fitted parameters: {e}"),
            path,
            "run `prep fit` first, or check the --params path",
        )
    })?;
    Fitted::from_yaml(&text).map_err(|m| {
        usage_failure(
            Code::ParamsMismatch,
            m,
            path,
            "regenerate it with `prep fit`",
        )
    })
}

fn write_files(dir: &Path, artifacts: &[emit::Artifact]) -> Result<(), Failure> {
    let changed = prep::write::write_all(dir, artifacts)
        .map_err(|e| Failure::about(EXIT_OUTPUT, Code::Io, e.to_string(), dir, e.hint()))?;
    for path in changed {
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::MI_OPTION_PURGE_DELAY;

    /// The option at `MI_OPTION_PURGE_DELAY` is the purge delay: its default
    /// is mimalloc's 1000 ms, and setting it reads back.
    #[test]
    fn the_purge_delay_option_is_the_one_set() {
        // SAFETY: reading and setting an integer option of mimalloc.
        unsafe {
            assert_eq!(libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY), 1000);
            super::return_freed_memory_promptly();
            assert_eq!(libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY), 0);
        }
    }
}
