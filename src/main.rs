//! The `prep` command line.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use prep::diagnostic::{Code, Diagnostic, Diagnostics};
use prep::dialect::DialectName;
use prep::emit::{self, EmitForm};
use prep::explain::{self, Stage};

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
        /// The warehouse to compile for.
        #[arg(long, short, value_enum)]
        dialect: DialectName,
        /// What to produce.
        #[arg(long, value_enum, default_value_t = EmitForm::Sql)]
        emit: EmitForm,
        /// One self-contained statement, with the fit in CTEs.
        #[arg(long)]
        inline: bool,
        /// Write files into this directory instead of printing them.
        #[arg(long)]
        out: Option<PathBuf>,
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

fn main() -> ExitCode {
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

fn read_spec(path: &Path) -> Result<(String, String), Failure> {
    let file = path.display().to_string();
    std::fs::read_to_string(path)
        .map(|text| (text, file.clone()))
        .map_err(|e| Failure {
            diagnostics: Diagnostic::new(Code::Io, format!("cannot read the spec: {e}"))
                .hint("check the path; `prep compile --help` shows the usage")
                .in_file(&file)
                .into(),
            source: String::new(),
            exit: EXIT_USAGE,
        })
}

fn run(cli: &Cli) -> Result<(), Failure> {
    match &cli.command {
        Command::Schema => {
            print!("{}", prep::spec::json_schema());
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
            print!("{}", explain::explain(&ir, &dialects, *stage));
            Ok(())
        }
        Command::Compile {
            spec,
            dialect,
            emit,
            inline,
            out,
        } => {
            let (text, file) = read_spec(spec)?;
            let ir = prep::compile_ir(&text, &file).map_err(|d| spec_failure(d, &text))?;
            let d = dialect.get();
            prep::check_names(&ir, d, &file).map_err(|diags| spec_failure(diags, &text))?;
            let spec_name = spec
                .file_name()
                .map_or(file.clone(), |n| n.to_string_lossy().into_owned());
            let artifacts = emit::emit(&ir, d, *emit, *inline, &spec_name)
                .map_err(|diag| spec_failure(diag.in_file(&file).into(), &text))?;
            match out {
                None => {
                    for (i, a) in artifacts.iter().enumerate() {
                        if artifacts.len() > 1 {
                            print!(
                                "{}-- file: {}\n",
                                if i > 0 { "\n" } else { "" },
                                a.file_name
                            );
                        }
                        print!("{}", a.contents);
                    }
                    Ok(())
                }
                Some(dir) => {
                    let changed = prep::write::write_all(dir, &artifacts).map_err(|e| Failure {
                        diagnostics: Diagnostic::new(Code::Io, e.to_string())
                            .hint(e.hint())
                            .in_file(&dir.display().to_string())
                            .into(),
                        source: String::new(),
                        exit: EXIT_OUTPUT,
                    })?;
                    for path in changed {
                        eprintln!("wrote {}", path.display());
                    }
                    Ok(())
                }
            }
        }
    }
}
