//! The files a command reads and writes: the spec (or standard input), a
//! fitted-parameters file, and output written atomically or checked.

use std::path::{Path, PathBuf};

use prep::diagnostic::Code;
use prep::emit;
use prep::fitted::Fitted;
use prep::lower;

use super::failure::{EXIT_OUTPUT, EXIT_SPEC, EXIT_USAGE, Failure, usage_failure};

/// The largest spec prep reads: far above any real spec (a spec of 20,000
/// features is about 1 MB), far below what would exhaust memory.
const MAX_SPEC_BYTES: u64 = 16 << 20;

/// A spec's text and the name diagnostics give it; `-` reads standard input.
pub fn read_spec(path: &Path) -> Result<(String, String), Failure> {
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

/// `--check`: nothing is written; exit 1 when a file differs from what prep would write.
pub fn check_files(dir: &Path, artifacts: &[emit::Artifact]) -> Result<(), Failure> {
    report_stale(dir, &prep::write::stale(dir, artifacts))
}

/// `--check`'s verdict on the files that differ from what prep would write.
pub fn report_stale(dir: &Path, stale: &[PathBuf]) -> Result<(), Failure> {
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

pub fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// `dir/spec.yml` → `dir/spec.fitted.yml`.
pub fn default_params_path(spec: &Path) -> PathBuf {
    let stem = spec
        .file_stem()
        .map_or("spec".into(), |s| s.to_string_lossy().into_owned());
    spec.with_file_name(format!("{stem}.fitted.yml"))
}

/// `model` lowered, or bound with `fitted` (read from `params`) if given:
/// the values must have been fitted for this very spec.
pub fn lower_with(
    model: &prep::check::Model,
    fitted: Option<&Fitted>,
    params: Option<&Path>,
) -> Result<prep::ir::Ir, Failure> {
    let Some(fitted) = fitted else {
        return Ok(lower::lower(model, None));
    };
    prep::bind(model, fitted).map_err(|m| {
        let place = params.unwrap_or(Path::new("--params"));
        usage_failure(
            Code::ParamsMismatch,
            m,
            place,
            "run `prep fit` again for this spec",
        )
    })
}

pub fn load_params(path: &Path) -> Result<Fitted, Failure> {
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

pub fn write_files(dir: &Path, artifacts: &[emit::Artifact]) -> Result<(), Failure> {
    let changed = prep::write::write_all(dir, artifacts)
        .map_err(|e| Failure::about(EXIT_OUTPUT, Code::Io, e.to_string(), dir, e.hint()))?;
    for path in changed {
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// Writes a page prep generates (`prep report`) all at once, never over a
/// file prep did not write.
#[cfg_attr(not(feature = "embedded"), allow(dead_code))]
pub fn write_report(out: &Path, contents: &str) -> Result<(), Failure> {
    let dir = (out.parent())
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file_name = (out.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let artifact = emit::Artifact {
        file_name,
        contents: contents.to_string(),
    };
    prep::write::write_all(dir, &[artifact])
        .map_err(|e| Failure::about(EXIT_OUTPUT, Code::Io, e.to_string(), out, e.hint()))?;
    Ok(())
}
