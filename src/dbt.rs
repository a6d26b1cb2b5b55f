//! `--emit dbt-package`: a dbt package serving every supported adapter from
//! one set of files. Per spec: a fitted-parameters model, an apply macro
//! dispatched per adapter, a features model, and their schema with tests.
//! The file shapes are the templates in `macros/`, rendered with minijinja.

use minijinja::{Environment, context, syntax::SyntaxConfig};

mod deferred;
mod docs;
mod owner;
mod schema;
mod unknown;
use deferred::deferred_call;
use schema::{mismatch_condition, model_configs, schema_entries};

use crate::check::Model;
use crate::diagnostic::{Code, Diagnostic};
use crate::dialect::DialectName;
use crate::emit::{Artifact, HEADER_MARK, jinja_escape, jinja_string};
use crate::fitted::Fitted;
use crate::ir::{ApplyItem, Ir};
use crate::render::{
    DriftParams, ParamsRelation, Renderer, SourceStyle, UnknownCheck, print, quote,
};

/// dbt adapters and the dialect whose SQL each runs (each dialect names its
/// adapters in its file), by adapter name. dbt's dispatch falls back from
/// databricks to spark and from redshift to postgres.
pub fn adapters() -> Vec<(&'static str, DialectName)> {
    let mut all: Vec<(&'static str, DialectName)> = (DialectName::ALL.iter())
        .flat_map(|&d| d.get().dbt_adapters.iter().map(move |a| (a.as_str(), d)))
        .collect();
    all.sort();
    all
}

/// Adapters that run another's macros through dbt's dispatch (the adapter
/// plugin declares it), and so need no macros of their own: child, parent.
const DISPATCH_PARENTS: [(&str, &str); 1] = [("databricks", "spark")];

/// Every adapter the package serves, with the dialect of its SQL: those
/// with macros and those dispatching to them (`target.type` is any of them).
pub(crate) fn served_adapters() -> Vec<(&'static str, DialectName)> {
    let mut all = adapters();
    for (child, parent) in DISPATCH_PARENTS {
        if let Some(&(_, d)) = all.iter().find(|(a, _)| *a == parent) {
            all.push((child, d));
        }
    }
    all.sort();
    all
}

/// Each adapter's SQL of a spec's macros.
struct Macros {
    fits: Vec<Impl>,
    applies: Vec<Impl>,
    /// The params pinned to a fit (`--params`), if the spec has them.
    pinned: Vec<Impl>,
    /// The drift query, if the spec has `drift:`.
    drifts: Vec<Impl>,
    /// The unknown categories, if an encoder says `handle_unknown: warn`.
    unknowns: Vec<Impl>,
}

impl Macros {
    /// Macros of `adapter` that call those of `first` (an adapter of the same dialect).
    fn call(&mut self, adapter: &'static str, first: &'static str, which: [bool; 3]) {
        let [pinned, drift, unknown] = which;
        let same = || Impl {
            adapter,
            sql: String::new(),
            same_as: Some(first),
        };
        self.fits.push(same());
        self.applies.push(same());
        if pinned {
            self.pinned.push(same());
        }
        if drift {
            self.drifts.push(same());
        }
        if unknown {
            self.unknowns.push(same());
        }
    }
}

/// The fit, apply (and pinned params) SQL of `spec` for every adapter, with
/// dbt's calls in place of the source and the params relation.
fn macros(spec: &PackageSpec, source: &str, names: &PackageNames) -> Result<Macros, Diagnostic> {
    let ir = spec.ir;
    let mut m = Macros {
        fits: Vec::new(),
        applies: Vec::new(),
        pinned: Vec::new(),
        drifts: Vec::new(),
        unknowns: Vec::new(),
    };
    let unknown_checks = unknown::checks(spec.model, ir);
    let has = [
        spec.pinned.is_some(),
        ir.drift.is_some(),
        !unknown_checks.is_empty(),
    ];
    // Two-argument ref: the package's own params model, whatever the
    // project around it holds.
    let params_ref = format!(
        "ref({}, {})",
        jinja_string(&names.package),
        jinja_string(&names.params_model(&ir.name))
    );
    let mut written: Vec<(DialectName, &'static str)> = Vec::new();
    for (adapter, dialect) in adapters() {
        // A second adapter of a dialect calls the first's macros.
        if let Some(&(_, first)) = written.iter().find(|(d, _)| *d == dialect) {
            m.call(adapter, first, has);
            continue;
        }
        written.push((dialect, adapter));
        let d = dialect.get();
        crate::check_names(ir, d, spec.file).map_err(|mut all| all.0.remove(0))?;
        let r = Renderer::new(d, ir, SourceStyle::Placeholder);
        let now = r.placeholder("prep_fitted_at");
        let fit = r.fit_query_stamped(Some(sqlparser::ast::Expr::Identifier(
            sqlparser::ast::Ident::new(&now),
        )))?;
        let fit_sql = put_source(
            &jinja_escape(&print::pretty(fit)),
            &r.source_placeholder,
            &format!("{{{{ {source} }}}}"),
        )
        .replace(&now, "{{ dbt.current_timestamp() }}");
        let (apply, deferred) = r.apply_query_deferred(ParamsRelation::Placeholder)?;
        let mut apply_sql = jinja_escape(&print::pretty(apply));
        for item in &deferred {
            let call = deferred_call(item, &params_ref, &names.package);
            apply_sql = deferred::put_call(&apply_sql, item, &call)?;
        }
        let apply_sql = put_source(&apply_sql, &r.source_placeholder, "{{ relation }}")
            .replace(&r.params_placeholder, &format!("{{{{ {params_ref} }}}}"));
        m.fits.push(Impl {
            adapter,
            sql: fit_sql,
            same_as: None,
        });
        if let Some(fitted) = spec.pinned {
            let sql = jinja_escape(&print::pretty(r.pinned_query(fitted)));
            m.pinned.push(Impl {
                adapter,
                sql,
                same_as: None,
            });
        }
        m.applies.push(Impl {
            adapter,
            sql: apply_sql,
            same_as: None,
        });
        relation_macros(&mut m, &r, ir, adapter, &params_ref, &unknown_checks)?;
    }
    Ok(m)
}

/// `sql` with the relation dbt writes (`jinja`: `{{ ref(...) }}`,
/// `{{ relation }}`) where prep's SQL names its source (`placeholder`), as a
/// derived table: `dbt build --empty` writes a ref as an aliased subquery
/// (`(select ... limit 0) _dbt_limit_subq_x`), which prep's own alias after
/// it would make a syntax error on PostgreSQL. A derived table needs an
/// alias there: where prep writes none, `prep_source` (read by no one).
fn put_source(sql: &str, placeholder: &str, jinja: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(at) = rest.find(placeholder) {
        out.push_str(&rest[..at]);
        out.push_str(&format!("(select * from {jinja})"));
        rest = &rest[at + placeholder.len()..];
        if !rest.trim_start().starts_with("AS ") {
            out.push_str(" AS prep_source");
        }
    }
    out.push_str(rest);
    out
}

/// The macros of `adapter` that read any relation with the source columns:
/// the drift measures (with `drift:`) and the unknown categories (with an
/// encoder whose `handle_unknown` is `warn`).
fn relation_macros(
    m: &mut Macros,
    r: &Renderer,
    ir: &Ir,
    adapter: &'static str,
    params_ref: &str,
    unknown_checks: &[UnknownCheck],
) -> Result<(), Diagnostic> {
    let relation_read = |sql: print::Sql| {
        let sql = jinja_escape(&print::pretty(sql));
        put_source(&sql, &r.source_placeholder, "{{ relation }}")
            .replace(&r.params_placeholder, &format!("{{{{ {params_ref} }}}}"))
    };
    if ir.drift.is_some() {
        m.drifts.push(Impl {
            adapter,
            sql: relation_read(r.drift_query(DriftParams::Placeholder)?),
            same_as: None,
        });
    }
    if !unknown_checks.is_empty() {
        m.unknowns.push(Impl {
            adapter,
            sql: relation_read(r.unknown_query(unknown_checks)),
            same_as: None,
        });
    }
    Ok(())
}

/// What the package and its models are called: two packages in one dbt
/// project need distinct names, and model names share one namespace with
/// the project's own models.
#[derive(Debug, Clone)]
pub struct PackageNames {
    /// The dbt package (`name:` of its dbt_project.yml, the namespace of its macros).
    pub package: String,
    /// Put before every model name (`<prefix><spec>`, `<prefix><spec>__params`).
    pub model_prefix: String,
}

impl Default for PackageNames {
    fn default() -> Self {
        PackageNames {
            package: "prep".into(),
            model_prefix: String::new(),
        }
    }
}

impl PackageNames {
    /// Why these names cannot be used, if they cannot: a package name is a
    /// dbt project name (letters, digits, underscores, starting with a
    /// letter); a prefix is made of the same characters.
    pub fn problem(&self) -> Option<String> {
        if !is_identifier(&self.package) {
            return Some(format!(
                "the package name `{}` is not a dbt project name: use letters, digits and underscores, starting with a letter",
                self.package.escape_debug()
            ));
        }
        let prefix_ok = (self.model_prefix.chars()).all(|c| c.is_ascii_alphanumeric() || c == '_');
        (!prefix_ok).then(|| {
            format!(
                "the model prefix `{}` may hold letters, digits and underscores only",
                self.model_prefix.escape_debug()
            )
        })
    }

    pub(crate) fn params_model(&self, spec: &str) -> String {
        format!("{}{spec}__params", self.model_prefix)
    }

    pub(crate) fn features_model(&self, spec: &str) -> String {
        format!("{}{spec}", self.model_prefix)
    }
}

/// One spec, checked and lowered.
pub struct PackageSpec<'a> {
    pub model: &'a Model,
    pub ir: &'a Ir,
    pub file: &'a str,
    /// Fitted values to pin the params model to (`--params`), instead of
    /// fitting in the warehouse at every build. The IR is then lowered with
    /// them, so learned encoders are known when the package is written.
    pub pinned: Option<&'a Fitted>,
}

/// One adapter's SQL of a macro.
struct Impl {
    adapter: &'static str,
    sql: String,
    /// Another adapter of the same dialect, whose macro this one calls
    /// (its SQL is written once).
    same_as: Option<&'static str>,
}

impl Impl {
    fn value(&self) -> minijinja::Value {
        context! { adapter => self.adapter, sql => self.sql.clone(), same_as => self.same_as }
    }
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    let syntax = SyntaxConfig::builder()
        .block_delimiters("[%", "%]")
        .variable_delimiters("[[", "]]")
        .comment_delimiters("[#", "#]")
        .keep_trailing_newline(true)
        .build()
        .expect("fixed delimiters are valid");
    env.set_syntax(syntax);
    // A variable the Rust side forgot to pass is an error, not an empty text.
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    let templates = [
        (
            "dbt_project.yml",
            include_str!("../macros/dbt_project.yml.j2"),
        ),
        ("prep.sql", include_str!("../macros/prep.sql.j2")),
        (
            "spec_macros.sql",
            include_str!("../macros/spec_macros.sql.j2"),
        ),
        (
            "params_model.sql",
            include_str!("../macros/params_model.sql.j2"),
        ),
        (
            "features_model.sql",
            include_str!("../macros/features_model.sql.j2"),
        ),
        (
            "unknown_test.sql",
            include_str!("../macros/unknown_test.sql.j2"),
        ),
    ];
    for (name, source) in templates {
        env.add_template(name, source)
            .expect("prep's templates parse");
    }
    env
}

fn render(env: &Environment, template: &str, ctx: minijinja::Value) -> String {
    env.get_template(template)
        .and_then(|t| t.render(ctx))
        .expect("prep's templates render")
}

/// The adapters whose dialect stores plain names in upper case, as a Jinja
/// list (`['snowflake']`): the package's tests quote prep's columns there as
/// prep's SQL writes them.
fn upper_adapters() -> String {
    let upper: Vec<String> = (adapters().into_iter())
        .filter(|(_, d)| d.get().plain_names == crate::dialect::PlainNames::Upper)
        .map(|(a, _)| jinja_string(a))
        .collect();
    format!("[{}]", upper.join(", "))
}

/// Each adapter with the statement prep's models run first on it (`''`:
/// none), as a Jinja list of pairs: every adapter has its own, since dbt's
/// dispatch would give an adapter its parent's (Redshift PostgreSQL's).
fn pre_hooks() -> String {
    let hooks: Vec<String> = (adapters().into_iter())
        .map(|(a, d)| {
            let hook = d.get().dbt_pre_hook.clone().unwrap_or_default();
            format!("[{}, {}]", jinja_string(a), jinja_string(&hook))
        })
        .collect();
    format!("[{}]", hooks.join(", "))
}

/// A dbt name: letters, digits and underscores, starting with a letter.
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

pub fn package(specs: &[PackageSpec], names: &PackageNames) -> Result<Vec<Artifact>, Diagnostic> {
    if let Some(problem) = names.problem() {
        return Err(Diagnostic::new(Code::InvalidValue, problem)
            .hint("choose another --package-name or --model-prefix"));
    }
    let env = environment();
    let package = &names.package;
    let mut files = vec![
        Artifact {
            file_name: "dbt_project.yml".into(),
            contents: render(
                &env,
                "dbt_project.yml",
                context! { header => header("the prep dbt package"), version => env!("CARGO_PKG_VERSION"), package, models => model_configs(specs, names) },
            ),
        },
        Artifact {
            file_name: "macros/prep.sql".into(),
            contents: render(
                &env,
                "prep.sql",
                context! { header => header("helpers and generic tests"), package, upper_adapters => upper_adapters(), pre_hooks => pre_hooks() },
            ),
        },
    ];
    let mut schema_models = Vec::new();
    for spec in specs {
        files.extend(spec_files(&env, spec, names)?);
        let docs = docs::docs(spec, names);
        let model = names.features_model(&spec.ir.name);
        files.push(Artifact {
            file_name: format!("models/{model}__docs.md"),
            contents: docs::docs_file(
                &header(&format!(
                    "docs blocks of the features of spec {}",
                    spec.file
                )),
                &docs,
            ),
        });
        schema_models.push(schema_entries(spec, names, &docs));
    }
    files.push(Artifact {
        file_name: "models/schema.yml".into(),
        contents: format!(
            "# {}\nversion: 2\nmodels:\n{}{}{}",
            header("models of the prep package"),
            schema_models.concat(),
            owner::groups(specs, names),
            owner::exposures(specs, names),
        ),
    });
    Ok(files)
}

/// The first line of every file of the package: prep's mark and what it is.
fn header(what: &str) -> String {
    format!(
        "{HEADER_MARK} {}: {}. Do not edit: run `prep compile` again.",
        env!("CARGO_PKG_VERSION"),
        quote::comment(what)
    )
}

/// A spec that a dbt package can serve: a usable name, a source dbt can
/// name, and every learned encoder writable when dbt compiles the model.
fn servable(spec: &PackageSpec) -> Result<String, Diagnostic> {
    let ir = spec.ir;
    let name = &ir.name;
    let fail = |message: String, hint: &str| {
        Diagnostic::new(Code::InvalidValue, message)
            .hint(hint)
            .in_file(spec.file)
    };
    if !is_identifier(name) {
        return Err(fail(
            format!("the spec name `{name}` is not usable in dbt macro and model names"),
            "use letters, digits and underscores, starting with a letter",
        ));
    }
    let Some(source) = crate::emit::dbt_relation(&ir.source, true) else {
        return Err(fail(
            "a dbt package reads its source through dbt: `source: {table: ...}` has no dbt name"
                .into(),
            "use `source: {ref: model}` or `source: {source: {name: ..., table: ...}}`",
        ));
    };
    // Learned encoders are written when dbt compiles the model; only one
    // whose options contradict the data it was fitted on cannot be.
    if let Some(ApplyItem::Learned {
        feature,
        span,
        reason,
        ..
    }) = (ir.apply.items.iter()).find(|i| matches!(i, ApplyItem::Learned { deferred: None, .. }))
    {
        return Err(Diagnostic::new(
            Code::NeedsFittedValues,
            format!("feature `{feature}`: {reason}"),
        )
        .at(span.clone())
        .hint("list the categories in the spec, or check the encoder's options against the categories the data holds")
        .in_file(spec.file));
    }
    // A contract lists every column; learned ones are named only when dbt
    // compiles the model, after dbt has read the contract.
    if let Some(place) = &spec.model.dbt.contract
        && let Some(ApplyItem::Learned { feature, .. }) =
            (ir.apply.items.iter()).find(|i| matches!(i, ApplyItem::Learned { .. }))
    {
        return Err(Diagnostic::new(
            Code::NeedsFittedValues,
            format!("a dbt contract lists every column, and the columns of `{feature}` are named after the categories the fit learns"),
        )
        .at(place.clone())
        .hint("pin the statistics (`prep fit`, then `prep compile --emit dbt-package --params FITTED`), or give the encoder its `categories`")
        .in_file(spec.file));
    }
    Ok(source)
}

/// A spec's macros, its parameters model and its features model.
fn spec_files(
    env: &Environment,
    spec: &PackageSpec,
    names: &PackageNames,
) -> Result<Vec<Artifact>, Diagnostic> {
    let source = servable(spec)?;
    let name = &spec.ir.name;
    let package = &names.package;
    let params_model = names.params_model(name);
    let Macros {
        fits,
        applies,
        pinned,
        drifts,
        unknowns,
    } = macros(spec, &source, names)?;
    let read: Vec<String> = (spec.model.keys.iter())
        .chain(&spec.model.passthrough)
        .chain(spec.model.features.iter().map(|f| &f.column))
        .map(|c| jinja_string(c))
        .collect();
    let adapters = (adapters().iter())
        .map(|(a, _)| *a)
        .collect::<Vec<_>>()
        .join(", ");
    let fitted_at = spec.pinned.map(|f| {
        f.fitted_at
            .clone()
            .unwrap_or_else(|| "an unknown time".into())
    });
    let warns = !unknowns.is_empty();
    let mut files = vec![
        Artifact {
            file_name: format!("macros/prep_{name}.sql"),
            contents: render(
                env,
                "spec_macros.sql",
                context! {
                    header => header(&format!("the fit and apply macros of spec {}", spec.file)),
                    name, adapters, package, params_model => params_model.clone(),
                    mismatch => mismatch_condition(spec, package),
                    fits => fits.iter().map(Impl::value).collect::<Vec<_>>(),
                    pinned => pinned.iter().map(Impl::value).collect::<Vec<_>>(),
                    applies => applies.iter().map(Impl::value).collect::<Vec<_>>(),
                    drifts => drifts.iter().map(Impl::value).collect::<Vec<_>>(),
                    unknowns => unknowns.iter().map(Impl::value).collect::<Vec<_>>(),
                    columns => format!("[{}]", read.join(", ")),
                },
            ),
        },
        Artifact {
            file_name: format!("models/{params_model}.sql"),
            contents: render(
                env,
                "params_model.sql",
                context! {
                    header => header(&format!("fitted parameters of spec {}", spec.file)),
                    name, package, params_model => params_model.clone(),
                    pinned => fitted_at,
                },
            ),
        },
        Artifact {
            file_name: format!("models/{}.sql", names.features_model(name)),
            contents: render(
                env,
                "features_model.sql",
                context! { header => header(&format!("features of spec {}", spec.file)), name, source => source.clone(), package },
            ),
        },
    ];
    if warns {
        files.push(unknown::test_file(env, spec, names, &source));
    }
    Ok(files)
}
