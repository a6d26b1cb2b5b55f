//! How a command fails: its diagnostics, its exit code, and how they are
//! printed (human or JSON); and standard output, written without panicking.

use std::io::IsTerminal;
use std::path::Path;

use clap::ValueEnum;

use prep::diagnostic::{Code, Diagnostic, Diagnostics};

/// How errors are printed.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

/// Exit codes: 1 for a bad spec, 2 for bad usage (including an unreadable spec
/// file), 3 when output cannot be written.
pub const EXIT_SPEC: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_OUTPUT: u8 = 3;
/// prep contradicted itself (E011): a bug in prep.
pub const EXIT_INTERNAL: u8 = 4;

/// Writes to standard output. A reader that went away (`prep compile … |
/// head`) ends prep quietly; any other failure is reported, never a panic.
pub fn write_stdout(text: &str) {
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

pub struct Failure {
    pub diagnostics: Diagnostics,
    pub source: String,
    pub exit: u8,
}

impl Failure {
    /// A failure about a file other than the spec (so no source to quote).
    pub fn about(
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

pub fn spec_failure(diagnostics: Diagnostics, source: &str) -> Failure {
    Failure {
        diagnostics,
        source: source.to_string(),
        exit: EXIT_SPEC,
    }
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

static COLOR: std::sync::OnceLock<Color> = std::sync::OnceLock::new();

/// Sets `--color` for every report (once, at start).
pub fn set_color(color: Color) {
    let _ = COLOR.set(color);
    let choice = match color {
        Color::Auto => anstream::ColorChoice::Auto,
        Color::Always => anstream::ColorChoice::Always,
        Color::Never => anstream::ColorChoice::Never,
    };
    choice.write_global();
}

/// Whether human errors are coloured: `--color`, or with `auto` a terminal
/// and no NO_COLOR (https://no-color.org).
fn styled() -> bool {
    match COLOR.get().copied().unwrap_or(Color::Auto) {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => {
            std::io::stderr().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

pub fn report(f: &Failure, format: Format) {
    match format {
        Format::Json => {
            let json = serde_json::to_string_pretty(&f.diagnostics.0).unwrap_or_default();
            eprintln!("{json}");
        }
        Format::Human => {
            let styled = styled();
            for d in &f.diagnostics.0 {
                anstream::eprintln!("{}\n", d.render(&f.source, styled));
            }
        }
    }
}

pub fn usage_failure(code: Code, message: String, place: &Path, hint: &str) -> Failure {
    Failure::about(EXIT_SPEC, code, message, place, hint)
}

/// A panic (prep contradicting itself, never bad input) is reported as an
/// internal-error diagnostic in the chosen format, once, even when a worker
/// thread and then the thread waiting for it both unwind; `main` then exits
/// with `EXIT_INTERNAL`. Files are written all at once after the work, so
/// nothing half-written is left.
pub fn report_panics(format: Format) {
    use std::sync::atomic::{AtomicBool, Ordering};
    static REPORTED: AtomicBool = AtomicBool::new(false);
    std::panic::set_hook(Box::new(move |info| {
        if REPORTED.swap(true, Ordering::SeqCst) {
            return;
        }
        let payload = info.payload();
        let message = (payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".into());
        let place = info.location().map_or(String::new(), |l| {
            format!(" (at {}:{})", l.file(), l.line())
        });
        let failure = Failure {
            diagnostics: Diagnostic::internal(format!("{message}{place}")).into(),
            source: String::new(),
            exit: EXIT_INTERNAL,
        };
        report(&failure, format);
    }));
}
