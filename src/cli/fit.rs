//! `prep fit` (on local data, or from a fit result exported from a
//! warehouse), `prep export-sklearn` and `prep diff`: the fitted-parameters file.

use std::path::{Path, PathBuf};

use prep::diagnostic::Code;
use prep::emit;
use prep::fitted::{self, Fitted};
use prep::lower;

use super::engine::fit_on_data;
use super::failure::{EXIT_USAGE, Failure, spec_failure, usage_failure, write_stdout};
use super::files::{
    default_params_path, file_name, load_params, lower_with, read_spec, write_files,
};

#[derive(clap::Args)]
pub struct FitArgs {
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
    #[command(flatten)]
    engine: super::engine::EngineArgs,
}

impl FitArgs {
    pub fn engine(&self) -> &super::engine::EngineArgs {
        &self.engine
    }
}

pub fn fit(args: &FitArgs) -> Result<(), Failure> {
    let FitArgs {
        spec,
        data,
        from_result,
        out,
        ..
    } = args;
    let (text, file) = read_spec(spec)?;
    let model = prep::check_text(&text, &file).map_err(|d| spec_failure(d, &text))?;
    let ir = lower::lower(&model, None);
    let (rows, note) = match from_result {
        Some(result) => (
            read_fit_result(result)?,
            format!("Learned in a warehouse; read from {}.", file_name(result)),
        ),
        None => fit_on_data(&model, &ir, data)?,
    };
    let place = (from_result.clone()).unwrap_or_else(|| PathBuf::from(data.join(", ")));
    let not_this_fit = |m| {
        usage_failure(
            Code::ParamsMismatch,
            m,
            &place,
            "compile this spec's fit query again and rerun it",
        )
    };
    let fitted = Fitted::from_rows(&ir, rows).map_err(not_this_fit)?;
    fitted.check_matches(&ir).map_err(|m| {
        usage_failure(
            Code::ParamsMismatch,
            m,
            &place,
            "the result came from another spec's fit query: compile it again and rerun it",
        )
    })?;
    let target = out.clone().unwrap_or_else(|| default_params_path(spec));
    // The encoders' layouts (infrequent groups, dropped columns) need the
    // fitted values: scikit-learn's view is written from the bound spec.
    let bound = prep::bind(&model, &fitted).map_err(not_this_fit)?;
    let mut contents = fitted.to_yaml(&ir, &note);
    contents.push_str(&prep::sklearn::fitted_file_section(&bound, &fitted));
    let artifact = emit::Artifact {
        file_name: file_name(&target),
        contents,
    };
    let dir = (target.parent())
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    write_files(dir, &[artifact])
}

/// The rows of a fit query's result, exported from a warehouse as CSV or JSON.
fn read_fit_result(result: &Path) -> Result<Vec<fitted::LongRow>, Failure> {
    let content = std::fs::read_to_string(result).map_err(|e| {
        Failure::about(
            EXIT_USAGE,
            Code::Io,
            format!("cannot read the fit result: {e}"),
            result,
            "check the --from-result path",
        )
    })?;
    let json = (result.extension()).is_some_and(|e| e == "json" || e == "jsonl" || e == "ndjson");
    fitted::read_result(&content, json).map_err(|m| {
        usage_failure(
            Code::ParamsMismatch,
            m,
            result,
            "export the fit query's result as CSV with a header, or as JSON",
        )
    })
}

#[derive(clap::Args)]
pub struct ExportArgs {
    /// The spec file (YAML).
    spec: PathBuf,
    /// The fitted-parameters file (default: beside the spec).
    #[arg(long)]
    params: Option<PathBuf>,
}

pub fn export_sklearn(args: &ExportArgs) -> Result<(), Failure> {
    let (text, file) = read_spec(&args.spec)?;
    let model = prep::check_text(&text, &file).map_err(|d| spec_failure(d, &text))?;
    let path = (args.params.clone()).unwrap_or_else(|| default_params_path(&args.spec));
    let fitted = load_params(&path)?;
    let ir = lower_with(&model, Some(&fitted), Some(&path))?;
    let json = prep::sklearn::export(&ir, &fitted);
    write_stdout(&(serde_json::to_string_pretty(&json).unwrap_or_default() + "\n"));
    Ok(())
}

/// `prep diff`: what changed from one fit to another, as two tables.
pub fn diff(before: &Path, after: &Path) -> Result<(), Failure> {
    let (b, a) = (load_params(before)?, load_params(after)?);
    let mut out = format!(
        "before: {} (spec {}, {}{})\nafter:  {} (spec {}, {}{})\n",
        file_name(before),
        b.spec,
        b.spec_hash,
        b.fitted_at
            .as_ref()
            .map_or(String::new(), |t| format!(", fitted {t}")),
        file_name(after),
        a.spec,
        a.spec_hash,
        a.fitted_at
            .as_ref()
            .map_or(String::new(), |t| format!(", fitted {t}")),
    );
    if (b.spec != a.spec) || (b.spec_hash != a.spec_hash) {
        out += "The two fits are of different specs (or versions of one): parameters only one of them has are listed as added or removed.\n";
    }
    out += "\n";
    out += &prep::fitted_diff::diff(&b, &a).to_text(super::table::aligned);
    write_stdout(&out);
    Ok(())
}
