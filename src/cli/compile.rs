//! `prep compile`: a spec to SQL for one dialect, as plain SQL or dbt
//! models (a dbt package is `package.rs`), printed or written to a folder.

use std::path::PathBuf;

use clap::ValueEnum;

use prep::diagnostic::Code;
use prep::dialect::DialectName;
use prep::emit::{self, EmitForm};

use super::failure::{EXIT_USAGE, Failure, spec_failure, write_stdout};
use super::files::{check_files, load_params, lower_with, read_spec, write_files};
use super::package::compile_package;

#[derive(clap::Args)]
pub struct CompileArgs {
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
    /// With --emit dbt-package: the package's name (its macros are called
    /// `<name>.apply_<spec>`); two packages in one dbt project need two names.
    #[arg(long, default_value = "prep")]
    package_name: String,
    /// With --emit dbt-package: put before every model name, so the package's
    /// models cannot collide with the project's (`<prefix><spec>`, `<prefix><spec>__params`).
    #[arg(long, default_value = "")]
    model_prefix: String,
}

pub fn compile(args: &CompileArgs) -> Result<(), Failure> {
    refuse_conflicts(args)?;
    let CompileArgs {
        spec,
        dialect,
        emit,
        inline,
        out,
        params,
        check,
        package_name,
        model_prefix,
    } = args;
    if *emit == EmitForm::DbtPackage {
        let names = prep::dbt::PackageNames {
            package: package_name.clone(),
            model_prefix: model_prefix.clone(),
        };
        return compile_package(spec, out.as_deref(), *check, params.as_deref(), &names);
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
    let name_of = |p: &std::path::Path| {
        p.file_name().map_or(p.display().to_string(), |n| {
            n.to_string_lossy().into_owned()
        })
    };
    let spec_name = spec.file_name().map_or(file.clone(), |_| name_of(spec));
    let params_name = params.as_deref().map(name_of);
    let bound =
        (fitted.as_ref().zip(params_name.as_deref())).map(|(fitted, params_file)| emit::Bound {
            fitted,
            params_file,
        });
    let artifacts = emit::emit(&ir, d, *emit, *inline, &spec_name, bound)
        .map_err(|diag| spec_failure(diag.in_file(&file).into(), &text))?;
    match out {
        None => {
            print_artifacts(&artifacts, args.emit != EmitForm::DbtModel);
            Ok(())
        }
        Some(dir) if *check => check_files(dir, &artifacts),
        Some(dir) => write_files(dir, &artifacts),
    }
}

/// Options that cannot go together, refused with the reason.
fn refuse_conflicts(args: &CompileArgs) -> Result<(), Failure> {
    let conflict = match (args.emit, args.dialect, &args.params, args.inline) {
        (EmitForm::DbtPackage, Some(_), _, _) => {
            Some("--dialect: a dbt package serves every adapter")
        }
        (EmitForm::DbtPackage, _, _, true) => {
            Some("--inline: a dbt package keeps the fit in its own model")
        }
        (EmitForm::FitSql, _, Some(_), _) | (EmitForm::FitSql, _, _, true) => {
            Some("--params and --inline: the fit query is the fit alone")
        }
        (EmitForm::DriftSql, _, _, true) => {
            Some("--inline: the drift query reads stored training statistics")
        }
        (_, _, Some(_), true) => {
            Some("--inline with --params: with fitted values there is no fit to inline")
        }
        (EmitForm::DbtPackage, ..) => None,
        _ if args.package_name != "prep" || !args.model_prefix.is_empty() => {
            Some("--package-name and --model-prefix: they name a dbt package")
        }
        _ => None,
    };
    match conflict {
        None => Ok(()),
        Some(what) => Err(Failure::about(
            EXIT_USAGE,
            Code::Io,
            format!(
                "{what}, so this option cannot be used with --emit {}",
                emit_name(args.emit)
            ),
            &args.spec,
            "remove the option",
        )),
    }
}

/// Standard output: one artifact as it is, several each under a `-- file:`
/// line. Several SQL statements each end with `;`, so the output is one
/// script a SQL client can take; dbt models never do (dbt wraps them).
fn print_artifacts(artifacts: &[emit::Artifact], statements: bool) {
    for (i, a) in artifacts.iter().enumerate() {
        if artifacts.len() > 1 {
            write_stdout(&format!(
                "{}-- file: {}\n",
                if i > 0 { "\n" } else { "" },
                a.file_name
            ));
        }
        if artifacts.len() > 1 && statements {
            write_stdout(&format!("{};\n", a.contents.trim_end()));
        } else {
            write_stdout(&a.contents);
        }
    }
}

fn emit_name(form: EmitForm) -> String {
    form.to_possible_value()
        .map_or_else(String::new, |v| v.get_name().to_string())
}
