//! The `prep` command line: its arguments, and one call per command into
//! `cli/` (which reads and writes files and reports failures) and the
//! library's stages.

mod cli {
    pub mod check;
    pub mod compile;
    pub mod engine;
    pub mod failure;
    pub mod files;
    pub mod fit;
    pub mod init;
    pub mod package;
    #[cfg(feature = "embedded")]
    pub mod progress;
    pub mod report;
    pub mod table;
    #[cfg(feature = "embedded")]
    pub mod unknown;
}

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use prep::dialect::DialectName;
use prep::explain::{self, Stage};

use cli::compile::{CompileArgs, compile};
use cli::engine::preview;
use cli::failure::{Color, Failure, Format, report, write_stdout};
use cli::files::read_spec;
use cli::fit::{ExportArgs, FitArgs, export_sklearn, fit};

/// prep compiles a declarative preprocessing spec (imputation, scaling,
/// encoding) into SQL for your warehouse, with scikit-learn's semantics.
#[derive(Parser)]
#[command(name = "prep", version, about, max_term_width = 100)]
struct Cli {
    /// How errors are printed: `human` (coloured on a terminal) or `json`.
    #[arg(long, value_enum, default_value_t = Format::Human, global = true)]
    format: Format,
    /// Colours in human errors: `auto` (on a terminal, unless NO_COLOR is
    /// set), `always` or `never`.
    #[arg(long, value_enum, default_value_t = Color::Auto, global = true)]
    color: Color,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compile a spec to SQL for one dialect.
    #[command(
        after_help = "Examples:\n  prep compile examples/churn/churn_features.yml --dialect databricks\n  prep compile examples/dbt_project/specs --emit dbt-package --out dbt/prep_features\n  prep compile examples/penguins/penguins.yml --dialect duckdb --params examples/penguins/penguins.fitted.yml"
    )]
    Compile(CompileArgs),
    /// Learn the spec's statistics and categories: on local data with the
    /// embedded engine, or from the fit query's result exported from a warehouse.
    /// Writes the fitted-parameters file (default: beside the spec, `<spec>.fitted.yml`).
    #[command(
        after_help = "Examples:\n  prep fit examples/penguins/penguins.yml --data examples/penguins/penguins.csv\n  prep fit spec.yml --from-result fit_result.csv"
    )]
    Fit(FitArgs),
    /// Fit and apply on sample data with the embedded engine, and show the
    /// features (with --params, apply those fitted statistics instead).
    #[command(
        after_help = "Examples:\n  prep preview examples/penguins/penguins.yml --data examples/penguins/penguins.csv --rows 5"
    )]
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
        /// A fitted-parameters file: score the data with it, fitting nothing.
        #[arg(long)]
        params: Option<PathBuf>,
        #[command(flatten)]
        engine: cli::engine::EngineArgs,
    },
    /// Score data with fitted statistics on the embedded engine, fitting
    /// nothing (as serving does): the features of every row.
    #[command(
        after_help = "Examples:\n  prep apply examples/penguins/penguins.yml --data examples/penguins/penguins.csv --output features.parquet"
    )]
    Apply {
        /// The spec file (YAML).
        spec: PathBuf,
        /// The fitted-parameters file (default: beside the spec).
        #[arg(long)]
        params: Option<PathBuf>,
        /// Data to score: CSV or Parquet files, or globs.
        #[arg(long, required = true)]
        data: Vec<String>,
        /// Where to write the features (CSV or Parquet); without it, the
        /// first --rows are shown.
        #[arg(long)]
        output: Option<PathBuf>,
        /// How many rows to show without --output.
        #[arg(long, default_value_t = 20)]
        rows: usize,
        #[command(flatten)]
        engine: cli::engine::EngineArgs,
    },
    /// How far a relation's values are from the training statistics, per
    /// feature and measure (the spec needs `drift:`; embedded engine).
    #[command(
        after_help = "Examples:\n  prep drift spec.yml --data scoring.parquet --fail-on-drift"
    )]
    Drift {
        spec: PathBuf,
        /// The fitted-parameters file (default: beside the spec).
        #[arg(long)]
        params: Option<PathBuf>,
        /// CSV or Parquet files of the rows to compare.
        #[arg(long, required = true)]
        data: Vec<String>,
        /// Exit with 1 when a measure drifted.
        #[arg(long)]
        fail_on_drift: bool,
        #[command(flatten)]
        engine: cli::engine::EngineArgs,
    },
    /// Print the fitted parameters as JSON in scikit-learn's attribute names
    /// (mean_, scale_, categories_, ...), per feature and step.
    #[command(
        after_help = "Examples:\n  prep export-sklearn examples/penguins/penguins.yml > fitted.json"
    )]
    ExportSklearn(ExportArgs),
    /// Show what changed between two fits of a spec: every parameter whose
    /// value differs and every learned category whose count differs.
    #[command(after_help = "Examples:\n  prep diff before.fitted.yml after.fitted.yml")]
    Diff {
        /// The earlier fitted-parameters file.
        before: PathBuf,
        /// The later fitted-parameters file.
        after: PathBuf,
    },
    /// Show the fit plan, the apply plan and how many scans the fit costs.
    #[command(
        after_help = "Examples:\n  prep explain examples/churn/churn_features.yml --dialect postgres --stage scans"
    )]
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
    /// Write a starter spec from a table's columns: each column's suggested
    /// steps, explained in a comment (never over an existing file).
    #[command(
        after_help = "Examples:\n  prep init churn --data train.parquet\n  prep init churn --columns \"customer_id BIGINT, usage DOUBLE, plan VARCHAR\""
    )]
    Init {
        /// The spec's name; the file is NAME.yml in the current folder.
        name: String,
        /// Data to read the columns and their values from: CSV or Parquet
        /// files, or globs (embedded engine).
        #[arg(long, num_args = 1.., conflicts_with = "columns")]
        data: Vec<String>,
        /// The columns instead: "age DOUBLE, plan VARCHAR", or a CSV export
        /// of information_schema.columns (column_name, data_type).
        #[arg(long)]
        columns: Option<String>,
        /// Where to write the spec instead of NAME.yml.
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        engine: cli::engine::EngineArgs,
    },
    /// Write one self-contained HTML page of what the spec does to the data:
    /// per feature the steps, the learned statistics, the source's and each
    /// output's distribution (embedded engine; no network needed to view it).
    #[command(
        after_help = "Examples:\n  prep report examples/penguins/penguins.yml --data examples/penguins/penguins.csv --out penguins.html"
    )]
    Report {
        /// The spec file (YAML).
        spec: PathBuf,
        /// Data: CSV or Parquet files, or globs.
        #[arg(long, num_args = 1.., required = true)]
        data: Vec<String>,
        /// A fitted-parameters file to score with (default: learn from --data).
        #[arg(long)]
        params: Option<PathBuf>,
        /// Rows to compare with the training statistics (the spec's `drift:`).
        #[arg(long, num_args = 1..)]
        compare: Vec<String>,
        /// The HTML file to write.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        engine: cli::engine::EngineArgs,
    },
    /// Check specs (files or folders) without printing SQL: every problem
    /// with its place, and names every dialect can write; exit 1 if any
    /// spec is invalid (for CI and pre-commit).
    #[command(
        after_help = "Examples:\n  prep check specs/\n  prep check specs/churn.yml --dialect postgres"
    )]
    Check {
        /// Spec files or folders of specs.
        #[arg(required = true)]
        specs: Vec<PathBuf>,
        /// Check names for this dialect only (default: every dialect).
        #[arg(long)]
        dialect: Option<DialectName>,
    },
    /// Print the JSON Schema of the spec format.
    Schema,
    /// Print a shell's completion script for prep, e.g.
    /// `prep completions bash > ~/.local/share/bash-completion/completions/prep`.
    #[command(
        after_help = "Examples:\n  prep completions bash > ~/.local/share/bash-completion/completions/prep\n  prep completions zsh > ~/.zfunc/_prep"
    )]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
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
    cli::failure::set_color(cli.color);
    cli::failure::report_panics(cli.format);
    match std::panic::catch_unwind(|| run(&cli)) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(failure)) => {
            report(&failure, cli.format);
            ExitCode::from(failure.exit)
        }
        // Reported by the panic hook.
        Err(_) => ExitCode::from(cli::failure::EXIT_INTERNAL),
    }
}

fn run(cli: &Cli) -> Result<(), Failure> {
    if let Some(engine) = engine_args(&cli.command) {
        cli::engine::set_limits(engine);
    }
    match &cli.command {
        Command::Schema => {
            write_stdout(&prep::spec::json_schema());
            Ok(())
        }
        Command::Report {
            spec,
            data,
            params,
            compare,
            out,
            ..
        } => cli::report::report(spec, data, params.as_deref(), compare, out),
        Command::Check { specs, dialect } => cli::check::check(specs, *dialect, cli.format),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "prep", &mut script);
            write_stdout(&String::from_utf8_lossy(&script));
            Ok(())
        }
        Command::Init {
            name,
            data,
            columns,
            out,
            ..
        } => cli::init::init(name, data, columns.as_deref(), out.as_deref()),
        Command::Explain {
            spec,
            dialect,
            stage,
        } => {
            let (text, file) = read_spec(spec)?;
            let ir =
                prep::compile_ir(&text, &file).map_err(|d| cli::failure::spec_failure(d, &text))?;
            let dialects = dialect.map_or(DialectName::ALL.to_vec(), |d| vec![d]);
            write_stdout(&explain::explain(&ir, &dialects, *stage));
            Ok(())
        }
        Command::Compile(args) => compile(args),
        Command::Fit(args) => fit(args),
        Command::Preview {
            spec,
            data,
            rows,
            output,
            params,
            ..
        } => preview(spec, data, *rows, output.as_deref(), params.as_deref()),
        Command::Apply {
            spec,
            params,
            data,
            output,
            rows,
            ..
        } => {
            let params = (params.clone()).unwrap_or_else(|| cli::files::default_params_path(spec));
            preview(spec, data, *rows, output.as_deref(), Some(&params))
        }
        Command::Drift {
            spec,
            params,
            data,
            fail_on_drift,
            ..
        } => {
            let params = (params.clone()).unwrap_or_else(|| cli::files::default_params_path(spec));
            cli::engine::drift(spec, data, &params, *fail_on_drift)
        }
        Command::ExportSklearn(args) => export_sklearn(args),
        Command::Diff { before, after } => cli::fit::diff(before, after),
    }
}

/// The embedded engine's limits, for the commands that run it.
fn engine_args(command: &Command) -> Option<&cli::engine::EngineArgs> {
    match command {
        Command::Fit(args) => Some(args.engine()),
        Command::Preview { engine, .. }
        | Command::Apply { engine, .. }
        | Command::Drift { engine, .. }
        | Command::Init { engine, .. }
        | Command::Report { engine, .. } => Some(engine),
        _ => None,
    }
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
