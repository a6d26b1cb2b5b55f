//! Output forms: plain SQL files or dbt models, as named artifacts. Writing
//! them to disk is `write.rs`'s job.

use crate::diagnostic::Diagnostic;
use crate::dialect::Dialect;
use crate::fitted::Fitted;
use crate::ir::Ir;
use crate::render::{DriftParams, ParamsRelation, Renderer, SourceStyle, print, quote};
use crate::spec::Source;

pub use crate::text::HEADER_MARK;

/// Whether a file's text was written by prep.
pub fn is_generated(text: &str) -> bool {
    text.lines().next().is_some_and(|l| l.contains(HEADER_MARK))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EmitForm {
    /// A fit query and an apply query (or one statement with --inline).
    Sql,
    /// dbt models: `<name>__params` (the fit) and `<name>` (the apply), or one model with --inline.
    DbtModel,
    /// Only the fit query (it also learns categories, which `prep fit --from-result` reads back).
    FitSql,
    /// A dbt package for every adapter (one spec or a folder of specs; needs --out).
    DbtPackage,
    /// The drift of the spec's source against the training statistics (the spec needs `drift:`), from `<name>__params`, or from --params as literals.
    DriftSql,
}

/// One generated file: its name and contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    pub file_name: String,
    pub contents: String,
}

/// Fitted values to bind as literals (`prep compile --params`).
pub struct Bound<'a> {
    pub fitted: &'a Fitted,
    pub params_file: &'a str,
}

pub fn emit(
    ir: &Ir,
    d: &Dialect,
    form: EmitForm,
    inline: bool,
    spec_file: &str,
    bound: Option<Bound>,
) -> Result<Vec<Artifact>, Diagnostic> {
    let header = |what: &str| header(d, spec_file, what);
    // A plain SQL file: the header, then the statement.
    let file = |file_name: String, what: &str, sql: print::Sql| Artifact {
        file_name,
        contents: sized(d, print::pretty_after(header(what), sql)),
    };
    let name = &ir.name;
    let params_model = format!("{name}__params");
    match (form, bound) {
        // The drift query reads the fitted values, bound or stored.
        (EmitForm::DriftSql, bound) => {
            let r = Renderer::new(d, ir, SourceStyle::Plain);
            let (params, from) = match &bound {
                Some(b) => (DriftParams::Pinned(b.fitted), b.params_file),
                None => (DriftParams::Named(&params_model), params_model.as_str()),
            };
            let what = format!("drift of the source from the training statistics in {from}");
            let sql = r.drift_query(params)?;
            Ok(vec![file(format!("{name}.drift.sql"), &what, sql)])
        }
        (_, Some(bound)) => bound_apply(ir, d, form, bound, &header, &params_model),
        (EmitForm::DbtPackage, None) => Err(Diagnostic::internal(
            "a dbt package is written by dbt::package, not emit::emit",
        )),
        (EmitForm::FitSql, None) => {
            let fit = Renderer::new(d, ir, SourceStyle::Plain).fit_query()?;
            let what = format!("fitted parameters; store them as {params_model}");
            Ok(vec![file(format!("{name}.fit.sql"), &what, fit)])
        }
        (EmitForm::Sql, None) => {
            let r = Renderer::new(d, ir, SourceStyle::Plain);
            if inline {
                let q = r.inline_query()?;
                let what = "fit and apply in one statement";
                return Ok(vec![file(format!("{name}.sql"), what, q)]);
            }
            let apply = r.apply_query(ParamsRelation::Named(&params_model))?;
            let fit = r.fit_query()?;
            let fitted = format!("fitted parameters, one row; store it as {params_model}");
            let features = format!("features, reading the fitted parameters from {params_model}");
            Ok(vec![
                file(format!("{name}.fit.sql"), &fitted, fit),
                file(format!("{name}.apply.sql"), &features, apply),
            ])
        }
        (EmitForm::DbtModel, None) => dbt_models(ir, d, inline, &header, &params_model),
    }
}

/// A statement the engine would refuse at its default limits (ClickHouse:
/// 256 KiB of text, 50,000 syntax nodes) raises them in a SETTINGS clause at
/// its end (read before the rest is parsed), to a bound on its size in
/// whole MiB (so the text does not depend on itself).
fn sized(d: &Dialect, mut text: String) -> String {
    let Some(large) = &d.large_query else {
        return text;
    };
    if text.len() <= large.over_bytes {
        return text;
    }
    // The clause itself adds less than 1 KiB.
    let bytes = (text.len() + 1024).next_multiple_of(1 << 20);
    let settings = large.settings.replace("{bytes}", &bytes.to_string());
    let end = text.trim_end().trim_end_matches(';').len();
    text.insert_str(end, &format!("\nSETTINGS {settings}"));
    text
}

/// A generated file's header comment: prep's mark, the spec and the dialect,
/// and what the file holds (no line break from user text can end it).
fn header(d: &Dialect, spec_file: &str, what: &str) -> String {
    format!(
        "-- {HEADER_MARK} {} from {} for {}: {}.\n-- Do not edit: change the spec and run `prep compile` again.\n",
        env!("CARGO_PKG_VERSION"),
        quote::comment(spec_file),
        d.name,
        quote::comment(what)
    )
}

/// The apply with every fitted value of `bound` as a literal: a SQL file, or
/// a dbt view.
fn bound_apply(
    ir: &Ir,
    d: &Dialect,
    form: EmitForm,
    bound: Bound,
    header: &dyn Fn(&str) -> String,
    params_model: &str,
) -> Result<Vec<Artifact>, Diagnostic> {
    let name = &ir.name;
    let style = if form == EmitForm::DbtModel {
        SourceStyle::Placeholder
    } else {
        SourceStyle::Plain
    };
    let r = Renderer::new(d, ir, style).bind(bound.fitted);
    let what = format!(
        "features, with the fitted values of {} as literals",
        bound.params_file
    );
    let sql = print::pretty(r.apply_bound_query()?);
    Ok(vec![match form {
        EmitForm::DbtModel => Artifact {
            file_name: format!("{name}.sql"),
            contents: dbt_model(&header(&what), "view", &sql, &r, &ir.source, params_model),
        },
        EmitForm::Sql | EmitForm::FitSql | EmitForm::DbtPackage | EmitForm::DriftSql => Artifact {
            file_name: format!("{name}.apply.sql"),
            contents: sized(d, header(&what) + &sql),
        },
    }])
}

/// `--emit dbt-model`: the params model and the features view, or one model
/// that fits and applies (`--inline`).
fn dbt_models(
    ir: &Ir,
    d: &Dialect,
    inline: bool,
    header: &dyn Fn(&str) -> String,
    params_model: &str,
) -> Result<Vec<Artifact>, Diagnostic> {
    let name = &ir.name;
    let r = Renderer::new(d, ir, SourceStyle::Placeholder);
    let model = |what: &str, materialized: &str, sql: String| {
        dbt_model(
            &header(what),
            materialized,
            &sql,
            &r,
            &ir.source,
            params_model,
        )
    };
    if inline {
        let q = r.inline_query()?;
        let what = "features, fitting and applying in one model";
        return Ok(vec![Artifact {
            file_name: format!("{name}.sql"),
            contents: model(what, "table", print::pretty(q)),
        }]);
    }
    let apply = r.apply_query(ParamsRelation::Placeholder)?;
    let fit = r.fit_query()?;
    Ok(vec![
        Artifact {
            file_name: format!("{params_model}.sql"),
            contents: model("fitted parameters, one row", "table", print::pretty(fit)),
        },
        Artifact {
            file_name: format!("{name}.sql"),
            contents: model(
                &format!("features, applying {params_model}"),
                "view",
                print::pretty(apply),
            ),
        },
    ])
}

/// A dbt model: header, config, and the SQL made inert for Jinja with the
/// placeholders replaced by `ref()` / `source()` calls.
fn dbt_model(
    header: &str,
    materialized: &str,
    sql: &str,
    r: &Renderer,
    source: &Source,
    params_model: &str,
) -> String {
    let body = jinja_escape(sql)
        .replace(&r.source_placeholder, &dbt_source_call(source))
        .replace(
            &r.params_placeholder,
            &format!("{{{{ ref({}) }}}}", jinja_string(params_model)),
        );
    format!(
        "{header}{{{{ config(materialized={}) }}}}\n\n{body}",
        jinja_string(materialized)
    )
}

/// `{{ ref('x') }}` or `{{ source('a', 'b') }}` (a plain table is printed as SQL, with no placeholder).
fn dbt_source_call(source: &Source) -> String {
    dbt_relation(source, false).map_or(String::new(), |call| format!("{{{{ {call} }}}}"))
}

/// How dbt names the spec's source: `ref(...)` or `source(...)` (a plain
/// table has no dbt name). From inside a package, a ref names the project
/// that installs it (`project_name`), so dbt never has to choose between the
/// package's nodes and the project's (and does not warn that it did).
pub fn dbt_relation(source: &Source, from_package: bool) -> Option<String> {
    match source {
        Source::Ref(name) if from_package => {
            Some(format!("ref(project_name, {})", jinja_string(name)))
        }
        Source::Ref(name) => Some(format!("ref({})", jinja_string(name))),
        Source::Source { name, table } => Some(format!(
            "source({}, {})",
            jinja_string(name),
            jinja_string(table)
        )),
        Source::Table(_) => None,
    }
}

/// A Jinja string literal. Jinja reads backslash escapes in literals (and
/// turns a raw CR LF into LF), so quotes, backslashes and every control
/// character are written as escapes.
pub fn jinja_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// Makes printed SQL inert for Jinja: every `{` that would open a Jinja tag
/// (`{{`, `{%`, `{#`) is written as the Jinja expression `{{ '{' }}`, so data
/// such as a category `{{ x }}` reaches the warehouse as the same text.
pub fn jinja_escape(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '{' && matches!(chars.peek(), Some('{' | '%' | '#')) {
            out.push_str("{{ '{' }}");
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jinja_escape_neutralises_every_tag_opener() {
        assert_eq!(jinja_escape("'{{ x }}'"), "'{{ '{' }}{ x }}'");
        assert_eq!(jinja_escape("{%raw%}{#"), "{{ '{' }}%raw%}{{ '{' }}#");
        assert_eq!(jinja_escape("{a} {"), "{a} {");
        assert_eq!(jinja_string("O'Brien\\"), "'O\\'Brien\\\\'");
    }
}
