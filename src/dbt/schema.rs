//! The package's `models/schema.yml` entries of one spec: descriptions,
//! meta, grants, and the tests its steps guarantee.

use std::collections::HashMap;

use crate::check::{CheckedStep, Model};
use crate::emit::{jinja_escape, jinja_string};
use crate::ir::{ApplyItem, Output};
use crate::render::ast;
use crate::steps::{OutputFacts, output_facts, output_facts_after};

use super::docs::Docs;
use super::owner::group_name;
use super::{PackageNames, PackageSpec, served_adapters};

/// A YAML string that dbt's Jinja rendering of schema files leaves as it is.
pub(super) fn yaml_text(s: &str) -> String {
    crate::fitted::yaml_string(&jinja_escape(s))
}

pub(super) fn schema_entries(spec: &PackageSpec, names: &PackageNames, docs: &Docs) -> String {
    use std::fmt::Write;
    let (ir, model) = (spec.ir, spec.model);
    let hash = ir.spec_hash().unwrap_or_default();
    let mut meta = format!(
        "{{prep_spec: {}, prep_spec_hash: {}",
        yaml_text(&ir.name),
        yaml_text(hash)
    );
    if let Some(owner) = &model.owner {
        let _ = write!(meta, ", owner: {}", yaml_text(owner));
    }
    meta.push('}');
    let mut out = String::new();
    let params_model = names.params_model(&ir.name);
    let _ = writeln!(out, "  - name: {}", yaml_text(&params_model));
    let _ = writeln!(
        out,
        "    description: {}",
        yaml_text(&format!(
            "Fitted parameters of spec `{}`: one row per parameter (kind value) and per learned category (kind category), with prep_spec_hash and prep_fitted_at.",
            ir.name
        ))
    );
    let _ = writeln!(out, "    meta: {meta}");
    let group = (model.owner.as_deref()).map(|o| group_name(&names.package, o));
    if let Some(group) = &group {
        let _ = writeln!(out, "    config: {{group: {group}, access: protected}}");
    }
    let _ = writeln!(
        out,
        "    columns:\n      - name: parameter\n        data_tests: [not_null]"
    );
    let _ = writeln!(
        out,
        "  - name: {}",
        yaml_text(&names.features_model(&ir.name))
    );
    let description = model
        .description
        .clone()
        .unwrap_or_else(|| format!("Features of spec `{}`.", ir.name));
    let _ = writeln!(out, "    description: {}", yaml_text(&description));
    let _ = writeln!(out, "    meta: {meta}");
    let mut config = Vec::new();
    if let Some(group) = &group {
        config.push(format!("group: {group}, access: public"));
    }
    if model.dbt.contract.is_some() {
        config.push("contract: {enforced: true}".into());
    }
    if !config.is_empty() {
        let _ = writeln!(out, "    config: {{{}}}", config.join(", "));
    }
    out.push_str(&one_hot_tests(spec, &names.package));
    let _ = writeln!(out, "    columns:");
    out.push_str(&copied_columns(model, &names.package));
    let mut types = TypeAnchors::new(&names.features_model(&ir.name));
    out.push_str(&output_columns(spec, &names.package, docs, &mut types));
    out
}

/// The data types of prep's output columns, which one schema file gives
/// for every adapter: a Jinja expression picking the adapter's spelling
/// (dbt renders `data_type` with `target`), written once per spec as a
/// YAML anchor and referred to by the other columns.
struct TypeAnchors {
    double: String,
    text: String,
    used: [bool; 2],
}

impl TypeAnchors {
    fn new(model: &str) -> Self {
        TypeAnchors {
            double: format!("{model}__double"),
            text: format!("{model}__text"),
            used: [false; 2],
        }
    }

    /// `data_type:`'s value for a text or double column.
    fn of(&mut self, text: bool) -> String {
        let (anchor, slot) = if text {
            (&self.text, 1)
        } else {
            (&self.double, 0)
        };
        if std::mem::replace(&mut self.used[slot], true) {
            return format!("*{anchor}");
        }
        let spellings: Vec<String> = (served_adapters().into_iter())
            .map(|(adapter, dialect)| {
                let d = dialect.get();
                let ty = if text { &d.string_type } else { &d.double_type };
                format!(
                    "{}: {}",
                    jinja_string(adapter),
                    jinja_string(&ty.to_string())
                )
            })
            .collect();
        format!(
            "&{anchor} {}",
            yaml_text_raw(&format!(
                "{{{{ {{{}}}[target.type] }}}}",
                spellings.join(", ")
            ))
        )
    }
}

/// A YAML string of Jinja prep wrote (not escaped: dbt is to render it).
fn yaml_text_raw(s: &str) -> String {
    crate::fitted::yaml_string(s)
}

/// The `models:` configs of the package's dbt_project.yml: the grants of
/// each spec that grants access, on both its models. There, and not in
/// schema.yml, the project installing the package can override them (its
/// own dbt_project.yml outranks the package's; schema.yml would outrank it).
pub(super) fn model_configs(specs: &[PackageSpec], names: &PackageNames) -> String {
    let mut lines = Vec::new();
    for spec in specs {
        let Some(grants) = &spec.model.grants else {
            continue;
        };
        let entries: Vec<String> = (grants.iter())
            .map(|(privilege, roles)| {
                let roles: Vec<String> = roles.iter().map(|r| yaml_text(r)).collect();
                format!("{}: [{}]", yaml_text(privilege), roles.join(", "))
            })
            .collect();
        let name = &spec.ir.name;
        for model in [names.params_model(name), names.features_model(name)] {
            lines.push(format!(
                "    {}: {{+grants: {{{}}}}}",
                yaml_text(&model),
                entries.join(", ")
            ));
        }
    }
    if lines.is_empty() {
        return String::new();
    }
    format!(
        "# Grants from the specs: override them in your own dbt_project.yml\n# (models: {pkg}: ...), which outranks this file.\nmodels:\n  {pkg}:\n{}\n",
        lines.join("\n"),
        pkg = names.package
    )
}

/// What the steps of each output's feature (or the step across columns
/// that wrote it) guarantee of it (never NULL, within a range).
struct FactsOf<'a> {
    model: &'a Model,
    /// The outputs of steps across columns, named once (a polynomial has
    /// thousands), each with what that step and the steps after it promise.
    across: HashMap<String, OutputFacts>,
}

impl<'a> FactsOf<'a> {
    fn new(model: &'a Model) -> FactsOf<'a> {
        let fit_filtered = model.fit_filter.is_some();
        let across = (model.combinations.iter())
            .flat_map(|c| {
                let facts = output_facts_after(c.step.facts(), &c.after, fit_filtered);
                c.outputs().into_iter().map(move |name| (name, facts))
            })
            .collect();
        FactsOf { model, across }
    }

    fn of(&self, o: &Output) -> Option<OutputFacts> {
        if let Some(facts) = self.across.get(&o.name) {
            return Some(*facts);
        }
        (self.model.features.iter())
            .find(|f| o.is_of(&f.column))
            .map(|f| output_facts(&f.steps, self.model.fit_filter.is_some()))
    }
}

/// The output columns of each one-hot encoded feature with more than one.
fn one_hot_groups(spec: &PackageSpec) -> Vec<Vec<String>> {
    let (ir, model) = (spec.ir, spec.model);
    (model.features.iter())
        .filter(|f| matches!(f.steps.last(), Some(CheckedStep::OneHot(_))))
        .map(|f| {
            (ir.apply.items.iter())
                .filter_map(|i| match i {
                    ApplyItem::Output(o) if o.is_of(&f.column) => Some(o.name.clone()),
                    _ => None,
                })
                .collect()
        })
        .filter(|names: &Vec<String>| names.len() > 1)
        .collect()
}

/// The model tests of one-hot encoded features: at most one column is hot.
fn one_hot_tests(spec: &PackageSpec, package: &str) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let groups = one_hot_groups(spec);
    if !groups.is_empty() {
        let _ = writeln!(out, "    data_tests:");
        for group in groups {
            let list: Vec<String> = group.iter().map(|c| yaml_text(c)).collect();
            let _ = writeln!(
                out,
                "      - {package}.one_hot_at_most_one: {{arguments: {{columns: [{}]}}}}",
                list.join(", ")
            );
        }
    }
    out
}

/// The SQL condition (Jinja for dbt) true on a row the spec's apply cannot
/// have written: another spec's hash (with `provenance`), a NULL where the
/// steps never leave one, two hot columns of one encoder. The body of the
/// generic test `<package>.matches_<spec>`, for any scoring model.
pub(super) fn mismatch_condition(spec: &PackageSpec, package: &str) -> String {
    let column = |name: &str| format!("{{{{ {package}._column({}) }}}}", jinja_string(name));
    let mut parts = Vec::new();
    if spec.model.provenance
        && let Some(hash) = spec.ir.spec_hash()
    {
        let hash_column = column(crate::ir::HASH_PARAM);
        parts.push(format!(
            "{hash_column} <> '{hash}' or {hash_column} is null"
        ));
    }
    for name in not_null_outputs(spec) {
        parts.push(format!("{} is null", column(&name)));
    }
    for group in one_hot_groups(spec) {
        let sum: Vec<String> = group
            .iter()
            .map(|c| format!("coalesce({}, 0)", column(c)))
            .collect();
        parts.push(format!("{} > 1", sum.join(" + ")));
    }
    if parts.is_empty() {
        return "1 = 0".into();
    }
    parts
        .iter()
        .map(|p| format!("({p})"))
        .collect::<Vec<_>>()
        .join("\n   or ")
}

/// The output columns the steps never leave NULL.
fn not_null_outputs(spec: &PackageSpec) -> Vec<String> {
    let facts = FactsOf::new(spec.model);
    let mut out = Vec::new();
    for item in &spec.ir.apply.items {
        let ApplyItem::Output(o) = item else { continue };
        if facts.of(o).is_some_and(|facts| facts.not_null) {
            out.push(o.name.clone());
        }
    }
    out
}

/// The key and passthrough columns, copied from the source. Column names
/// are left unquoted for dbt (`quote: false`): the package's own tests
/// (`<package>.not_null`, `.unique`, ...) quote them as prep's SQL does on
/// each adapter (plain names in upper case on Snowflake), which dbt's
/// quoting cannot do for one schema file serving every adapter.
fn copied_columns(model: &Model, package: &str) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let single_key = model.keys.len() == 1;
    for key in &model.keys {
        let tests = if single_key {
            format!("[{package}.unique, {package}.not_null]")
        } else {
            format!("[{package}.not_null]")
        };
        let _ = writeln!(
            out,
            "      - name: {}\n        quote: false\n        description: \"Key, copied from the source.\"{}\n        data_tests: {tests}",
            yaml_text(key),
            data_type(model, key),
        );
    }
    for column in &model.passthrough {
        let _ = writeln!(
            out,
            "      - name: {}\n        quote: false\n        description: \"Copied from the source.\"{}",
            yaml_text(column),
            data_type(model, column),
        );
    }
    out
}

/// The `data_type` line of a copied column, when the spec gives its type.
fn data_type(model: &Model, column: &str) -> String {
    (model.dbt.data_type(column))
        .map(|t| format!("\n        data_type: {}", yaml_text(t)))
        .unwrap_or_default()
}

/// Every output column known before the fit: its description and the
/// tests its steps guarantee (never NULL, within a range).
fn output_columns(
    spec: &PackageSpec,
    package: &str,
    docs: &Docs,
    types: &mut TypeAnchors,
) -> String {
    use std::fmt::Write;
    let facts_of = FactsOf::new(spec.model);
    let mut out = String::new();
    for item in &spec.ir.apply.items {
        let ApplyItem::Output(o) = item else { continue };
        let description = match docs.of(&o.name) {
            Some(doc) => yaml_text_raw(&format!(
                "{{{{ doc({}, {}) }}}}",
                jinja_string(package),
                jinja_string(doc)
            )),
            None => yaml_text(&o.doc),
        };
        let _ = writeln!(
            out,
            "      - name: {}\n        quote: false\n        description: {description}\n        data_type: {}",
            yaml_text(&o.name),
            types.of(o.text),
        );
        let Some(facts) = facts_of.of(o) else {
            continue;
        };
        let mut tests = Vec::new();
        if facts.not_null {
            tests.push(format!("{package}.not_null"));
        }
        if let Some((min, max)) = facts.range {
            tests.push(format!(
                "{package}.within_range: {{arguments: {{min_value: {}, max_value: {}}}}}",
                ast::float_text(min),
                ast::float_text(max)
            ));
        }
        if !tests.is_empty() {
            let _ = writeln!(out, "        data_tests:");
            for t in tests {
                let _ = writeln!(out, "          - {t}");
            }
        }
    }
    out
}
