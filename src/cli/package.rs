//! `prep compile --emit dbt-package`: every spec of a file or a folder into
//! one dbt package, written all at once.

use std::path::{Path, PathBuf};

use prep::diagnostic::Code;

use super::failure::{EXIT_OUTPUT, EXIT_USAGE, Failure, spec_failure};
use super::files::{file_name, load_params, lower_with, read_spec, report_stale, write_files};

/// `--emit dbt-package`: every spec of a file or a folder into one package;
/// with `params`, one spec whose params model is pinned to that fit.
pub fn compile_package(
    path: &Path,
    out: Option<&Path>,
    check: bool,
    params: Option<&Path>,
    names: &prep::dbt::PackageNames,
) -> Result<(), Failure> {
    if let Some(problem) = names.problem() {
        return Err(Failure::about(
            EXIT_USAGE,
            Code::InvalidValue,
            problem,
            path,
            "choose another --package-name or --model-prefix",
        ));
    }
    let Some(out) = out else {
        return Err(Failure::about(
            EXIT_USAGE,
            Code::Io,
            "--emit dbt-package writes a folder",
            path,
            "add --out DIR",
        ));
    };
    if let (Some(_), true) = (params, path.is_dir()) {
        return Err(Failure::about(
            EXIT_USAGE,
            Code::Io,
            "--params pins one spec's statistics, but this is a folder of specs",
            path,
            "give the one spec file whose fitted parameters --params holds",
        ));
    }
    let fitted = params.map(load_params).transpose()?;
    let files = spec_files(path)?;
    let mut loaded = Vec::new();
    for f in &files {
        let (text, file) = read_spec(f)?;
        let model = prep::check_text(&text, &file).map_err(|d| spec_failure(d, &text))?;
        let ir = lower_with(&model, fitted.as_ref(), params)?;
        loaded.push((model, ir, file_name(f), text));
    }
    let specs: Vec<prep::dbt::PackageSpec> = loaded
        .iter()
        .map(|(model, ir, file, _)| prep::dbt::PackageSpec {
            model,
            ir,
            file,
            pinned: fitted.as_ref(),
        })
        .collect();
    let artifacts = prep::dbt::package(&specs, names).map_err(|d| {
        let source = loaded
            .iter()
            .find(|(_, _, f, _)| *f == d.file)
            .map_or("", |(_, _, _, t)| t.as_str());
        spec_failure(d.into(), source)
    })?;
    write_package(out, &artifacts, check)?;
    if let Some(other) = namesake_package(out, &names.package) {
        eprintln!(
            "warning: {} holds another prep package named `{}`, and dbt refuses two packages of one name in a project; if both are installed together, give one of them --package-name",
            other.display(),
            names.package
        );
    }
    Ok(())
}

/// A package prep wrote beside `out` under the same dbt name: the usual way
/// to end with two packages `prep` (one per spec folder) that `dbt deps`
/// refuses to install together.
fn namesake_package(out: &Path, package: &str) -> Option<PathBuf> {
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty())?;
    let here = out.canonicalize().ok()?;
    let mut dirs: Vec<PathBuf> = (std::fs::read_dir(parent).ok()?)
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir() && p.canonicalize().ok().as_ref() != Some(&here))
        .collect();
    dirs.sort();
    dirs.into_iter().find(|d| {
        std::fs::read_to_string(d.join("dbt_project.yml")).is_ok_and(|text| {
            prep::emit::is_generated(&text) && text.lines().any(|l| l == format!("name: {package}"))
        })
    })
}

/// The specs of `path`: the file itself, or a folder's `.yml` files (not
/// fitted-parameter files), in name order.
pub fn spec_files(path: &Path) -> Result<Vec<PathBuf>, Failure> {
    Ok(if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| {
                Failure::about(
                    EXIT_USAGE,
                    Code::Io,
                    format!("cannot read the folder: {e}"),
                    path,
                    "check the path",
                )
            })?
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.extension().is_some_and(|e| e == "yml" || e == "yaml")
                    && !p.to_string_lossy().ends_with(".fitted.yml")
                    // Plain files only: a link, a pipe or a device is never opened.
                    && std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_file())
            })
            .collect();
        files.sort();
        files
    } else {
        vec![path.to_path_buf()]
    })
}

/// Writes the package into `out` (all or nothing, never beside files prep
/// did not write), then removes the files prep wrote there that the package
/// no longer has (a deleted spec's); with `check`, only says what would
/// change.
fn write_package(
    out: &Path,
    artifacts: &[prep::emit::Artifact],
    check: bool,
) -> Result<(), Failure> {
    let ours: std::collections::BTreeSet<PathBuf> =
        artifacts.iter().map(|a| out.join(&a.file_name)).collect();
    let leftover: Vec<PathBuf> = (prep::write::generated_files(out).into_iter())
        .filter(|p| !ours.contains(p))
        .collect();
    if check {
        let mut stale = prep::write::stale(out, artifacts);
        stale.extend(leftover);
        stale.extend(
            prep::write::foreign_files(out)
                .into_iter()
                .filter(|p| !ours.contains(p)),
        );
        return report_stale(out, &stale);
    }
    let foreign = prep::write::foreign_files(out);
    if let Some(first) = foreign.first() {
        return Err(Failure::about(
            EXIT_OUTPUT,
            Code::Io,
            format!(
                "{} holds files prep did not write ({}); refusing to write the package there",
                out.display(),
                first.display()
            ),
            out,
            "generate the package into a folder of its own",
        ));
    }
    write_files(out, artifacts)?;
    let removed = prep::write::remove_generated(&leftover)
        .map_err(|e| Failure::about(EXIT_OUTPUT, Code::Io, e.to_string(), out, e.hint()))?;
    for path in removed {
        eprintln!("removed {} (no spec writes it any more)", path.display());
    }
    Ok(())
}
