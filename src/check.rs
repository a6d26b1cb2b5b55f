//! Semantic checks: turns a parsed `Spec` into a `Model` in which every
//! feature has a known type, every step's options are resolved to the values
//! scikit-learn would use, and every output name is known to be unique.
//! All problems are collected, each with its place in the file.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_saphyr::Spanned;

use crate::diagnostic::{Code, Diagnostic, Diagnostics, Span};
pub use crate::encoding::{Frequency, OneHotStep, OrdinalStep, dropped_category};
use crate::naming;

use crate::spec::{
    self, Categories, ColumnType, DeclaredType, ImputeStrategy, Scalar, Source, Spec, Step,
};
pub use crate::steps::CheckedStep;
use crate::steps::{Context, check_step, scalar_type, span};

mod features;
pub use features::Combination;

/// A checked spec, ready to lower.
#[derive(Debug, Clone, Serialize)]
pub struct Model {
    pub name: String,
    /// Documentation only: not part of the content hash.
    #[serde(skip)]
    pub description: Option<String>,
    #[serde(skip)]
    pub owner: Option<String>,
    #[serde(skip)]
    pub grants: Option<BTreeMap<String, Vec<String>>>,
    pub source: Source,
    pub keys: Vec<String>,
    pub passthrough: Vec<String>,
    /// Where each key and passthrough column is written, in that order.
    #[serde(skip)]
    pub copied_spans: Vec<Option<Span>>,
    /// Where `source:` is written.
    #[serde(skip)]
    pub source_span: Option<Span>,
    pub fit_filter: Option<Filter>,
    pub features: Vec<Feature>,
    /// The steps across a group's columns; left out of the content hash when
    /// there are none, so specs without them keep their hash.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub combinations: Vec<Combination>,
    /// `provenance: true`: the features carry the spec hash. Left out of the
    /// content hash when false, so specs without it keep their hash.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub provenance: bool,
    /// `delta_column_mapping: true`: where the output is written, not what it
    /// holds; not part of the content hash.
    #[serde(skip)]
    pub delta_column_mapping: bool,
    /// `drift:`; left out of the content hash when absent, as `provenance`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift: Option<crate::spec::drift::Drift>,
    /// `dbt:`: documentation and dbt configuration only, not hashed.
    #[serde(skip)]
    pub dbt: crate::spec::dbt::Dbt,
}

/// `fit.where`, kept as text (it is parsed again per dialect) with its place.
#[derive(Debug, Clone, Serialize)]
pub struct Filter {
    pub sql: String,
    #[serde(skip)]
    pub span: Option<Span>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Feature {
    pub column: String,
    #[serde(skip)]
    pub span: Option<Span>,
    pub column_type: ColumnType,
    /// A BOOLEAN source column (`type: boolean`), read as 0/1 or `False`/`True`.
    /// Left out of the spec hash when false, so older fitted files still match.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub boolean: bool,
    pub steps: Vec<CheckedStep>,
}

impl Feature {
    /// Whether the column is a date or a timestamp (read by `date_parts`,
    /// always its first step), not a number, a text or a boolean.
    pub fn temporal(&self) -> bool {
        matches!(self.steps.first(), Some(CheckedStep::DateParts(_)))
    }
}

/// Checks a parsed spec. On failure, returns every problem found.
pub fn check(spec: &Spec) -> Result<Model, Diagnostics> {
    let mut diags = Diagnostics::default();
    let mut names = NameSet::default();
    if let Some(problem) = name_problem(&spec.name.value) {
        diags.push(
            Diagnostic::new(Code::InvalidValue, format!("the spec's `name` {problem}"))
                .at(span(&spec.name))
                .hint(format!(
                    "it names files, tables and dbt macros: use up to {MAX_NAME} letters, digits and \
                     underscores, starting with a letter, e.g. `name: churn_features`"
                )),
        );
    }
    let grants = check_grants(spec, &mut diags);
    check_source(spec, &mut diags);
    for column in spec.keys.iter().chain(&spec.passthrough) {
        names.add(&column.value, span(column), "an input column", &mut diags);
    }
    let (features, combinations) = features::check_features(spec, &mut names, &mut diags);
    if spec.provenance {
        for column in [crate::ir::HASH_PARAM, crate::ir::FIT_ID_PARAM] {
            let place = span(&spec.name);
            names.add(column, place, "a provenance column", &mut diags);
        }
    }
    let fit_filter = check_filter(spec, &mut diags);
    let drift = (spec.drift.as_ref()).map(|d| crate::spec::drift::check(d, &mut diags));
    let copied: Vec<String> = (spec.keys.iter().chain(&spec.passthrough))
        .map(|c| c.value.clone())
        .collect();
    let dbt = (spec.dbt.as_ref())
        .map(|d| crate::spec::dbt::check(d, &copied, spec.owner.as_deref(), &mut diags))
        .unwrap_or_default();
    diags.into_result(Model {
        name: spec.name.value.clone(),
        description: spec.description.clone(),
        owner: spec.owner.clone(),
        grants: spec.grants.as_ref().map(|_| grants),
        source: spec.source.value.clone(),
        keys: spec.keys.iter().map(|k| k.value.clone()).collect(),
        passthrough: spec.passthrough.iter().map(|k| k.value.clone()).collect(),
        copied_spans: spec
            .keys
            .iter()
            .chain(&spec.passthrough)
            .map(span)
            .collect(),
        source_span: span(&spec.source),
        fit_filter,
        features,
        combinations,
        provenance: spec.provenance,
        delta_column_mapping: spec.delta_column_mapping,
        drift,
        dbt,
    })
}

/// `grants:`: privileges and grantees dbt writes into SQL as they are.
fn check_grants(spec: &Spec, diags: &mut Diagnostics) -> BTreeMap<String, Vec<String>> {
    let mut grants = BTreeMap::new();
    for (privilege, roles) in spec.grants.iter().flat_map(|g| &g.0) {
        if !is_privilege(&privilege.value) {
            diags.push(
                Diagnostic::new(Code::InvalidValue, format!("`{}` is not a privilege name", privilege.value))
                    .at(span(privilege))
                    .hint("a privilege is a word such as `select`, or a role path such as `roles/bigquery.dataViewer`"),
            );
        }
        for role in roles {
            if !is_grantee(&role.value) {
                diags.push(
                    Diagnostic::new(Code::InvalidValue, format!("`{}` is not a role or user name", role.value))
                        .at(span(role))
                        .hint("use letters, digits and `_ . @ : -` only (e.g. `reporter`, `user:ana@example.com`); dbt writes grantees into SQL as they are"),
                );
            }
        }
        grants.insert(
            privilege.value.clone(),
            roles.iter().map(|r| r.value.clone()).collect::<Vec<_>>(),
        );
    }
    grants
}

/// `source:`: names that can be written, and not one of prep's own CTEs.
fn check_source(spec: &Spec, diags: &mut Diagnostics) {
    let source_names: Vec<&String> = match &spec.source.value {
        Source::Ref(n) | Source::Table(n) => vec![n],
        Source::Source { name, table } => vec![name, table],
    };
    for name in source_names {
        diags
            .0
            .extend(control_character(name, "source name", span(&spec.source)));
    }
    if let Some(name) = reserved_relation(&spec.source.value) {
        diags.push(
            Diagnostic::new(Code::NameCollision, format!("the source relation `{name}` would be read as one of prep's own CTEs"))
                .at(span(&spec.source))
                .hint(format!("names starting with `{RESERVED_PREFIX}` are prep's: qualify the relation with its schema, e.g. `{{table: analytics.{name}}}`")),
        );
    }
}

/// `fit.where`: one SQL expression (how it is written per dialect is checked
/// when it is rendered).
fn check_filter(spec: &Spec, diags: &mut Diagnostics) -> Option<Filter> {
    let fit_filter = spec
        .fit
        .as_ref()
        .and_then(|f| f.filter.as_ref())
        .map(|w| Filter {
            sql: w.value.clone(),
            span: span(w),
        });
    if let Some(filter) = &fit_filter
        && let Err(e) = crate::render::filter::read(&filter.sql)
    {
        diags.push(
            Diagnostic::new(Code::InvalidFilter, format!("`fit.where` is not one SQL expression: {e}"))
                .at(filter.span.clone())
                .hint("write one boolean SQL expression over source columns, e.g. `signup_date < '2024-01-01'`"),
        );
    }
    fit_filter
}

impl Model {
    /// A hash of what the spec means (resolved options, not its formatting or
    /// comments): fitted parameters are valid for exactly this content.
    pub fn content_hash(&self) -> String {
        use sha2::{Digest, Sha256};
        let json = serde_json::to_vec(self).expect("a model always serialises");
        let digest = Sha256::digest(&json);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("sha256:{hex}")
    }
}

/// Output names known before any fit (learned categories add theirs later).
pub fn outputs_of(feature: &Feature) -> Vec<String> {
    // An encoder's columns (steps after it keep them).
    let encoder = feature.steps.iter().find(|s| s.is_encoder());
    match encoder.or(feature.steps.last()) {
        Some(CheckedStep::OneHot(oh)) => match &oh.categories {
            Some(cats) if !oh.groups_infrequent() => {
                let dropped = dropped_category(oh, cats);
                let missing = (oh.missing_listed).then_some(naming::MISSING_SUFFIX.to_string());
                (cats.iter())
                    .filter(|c| Some(*c) != dropped)
                    .map(|c| oh.suffix(c))
                    .chain(missing)
                    .map(|suffix| naming::one_hot_column(&feature.column, &suffix))
                    .collect()
            }
            _ => Vec::new(),
        },
        // The indicator's column may not exist; its name is taken anyway.
        Some(CheckedStep::Impute(i)) if i.add_indicator => vec![
            feature.column.clone(),
            naming::missing_indicator(&feature.column),
        ],
        _ => vec![feature.column.clone()],
    }
}

/// The longest spec name: `<name>__params` must fit the shortest identifier limit (PostgreSQL's 63 bytes).
pub const MAX_NAME: usize = 50;

/// Why a spec name cannot name files, relations and dbt macros.
fn name_problem(name: &str) -> Option<String> {
    let mut chars = name.chars();
    if name.is_empty() {
        Some("is empty".into())
    } else if name.len() > MAX_NAME {
        Some(format!("is {} bytes long", name.len()))
    } else if !chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        Some(format!("`{}` is not a plain name", name.escape_debug()))
    } else {
        None
    }
}

fn is_privilege(p: &str) -> bool {
    p.split(' ').all(|word| {
        word.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && word
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/'))
    })
}

fn is_grantee(r: &str) -> bool {
    r.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && r.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '@' | ':' | '-'))
}

/// A name holding a control character (a line break): no warehouse can
/// quote it safely, and it would end the comments prep writes.
fn control_character(name: &str, what: &str, at: Option<Span>) -> Option<Diagnostic> {
    let c = name.chars().find(|c| c.is_control())?;
    Some(
        Diagnostic::new(
            Code::InvalidValue,
            format!(
                "the {what} `{}` holds the control character {}",
                name.escape_debug(),
                c.escape_unicode()
            ),
        )
        .at(at)
        .hint("no warehouse name can carry it safely: rename it upstream"),
    )
}

/// The prefix of every relation and CTE name prep writes itself.
pub const RESERVED_PREFIX: &str = "prep_";

/// A source printed as one unqualified name that prep's own CTE names could capture.
fn reserved_relation(source: &Source) -> Option<&str> {
    let name = match source {
        Source::Ref(name) => name,
        Source::Table(name) if !name.contains('.') => name,
        _ => return None,
    };
    naming::fold(name)
        .starts_with(RESERVED_PREFIX)
        .then_some(name.as_str())
}

/// Names already taken, compared case-insensitively.
#[derive(Default)]
pub(crate) struct NameSet(BTreeMap<String, String>);

impl NameSet {
    pub(crate) fn add(
        &mut self,
        name: &str,
        at: Option<Span>,
        what: &str,
        diags: &mut Diagnostics,
    ) {
        if name.is_empty() {
            diags.push(
                Diagnostic::new(Code::InvalidValue, "a column name is empty")
                    .at(at)
                    .hint("name the column"),
            );
            return;
        }
        diags
            .0
            .extend(control_character(name, "column name", at.clone()));
        if let Some(previous) = self.0.insert(naming::fold(name), what.to_string()) {
            diags.push(
                Diagnostic::new(
                    Code::NameCollision,
                    format!("the column name `{name}` ({what}) is already used by {previous}"),
                )
                .at(at)
                .hint(
                    "names are compared ignoring case, as most warehouses do: rename one of them \
                     (for one-hot outputs, give a suffix with `names: {category: suffix}`; a \
                     polynomial's bias column `1` is left out with `include_bias: false`)",
                ),
            );
        }
    }
}

/// One column and its own steps (up to a step across columns, if any:
/// `features::check_features` cuts them there).
pub(crate) fn check_feature(
    column: &Spanned<String>,
    declared: Option<&Spanned<DeclaredType>>,
    steps: &[Spanned<Step>],
    diags: &mut Diagnostics,
) -> Option<Feature> {
    let at = span(column);
    if steps.is_empty() {
        diags.push(
            Diagnostic::new(Code::InvalidValue, format!("feature `{}` has no steps", column.value))
                .at(at)
                .hint("list at least one step, e.g. `[{impute: median}]`, or move the column to `passthrough`"),
        );
        return None;
    }
    if let Some(d) = control_character(&column.value, "column name", at.clone()) {
        diags.push(d);
        return None;
    }
    let boolean = declared.is_some_and(|d| d.value == DeclaredType::Boolean);
    let steps = &booleans_as_text(&column.value, steps, boolean, diags)?;
    let column_type = match declared.map(|d| d.value) {
        Some(DeclaredType::Numeric) => ColumnType::Numeric,
        Some(DeclaredType::String) => ColumnType::String,
        Some(DeclaredType::Boolean) | None => infer_type(steps),
    };
    let before = diags.0.len();
    date_parts_first(&column.value, declared, steps, diags);
    let mut checked = Vec::new();
    let mut encoded_by: Option<&'static str> = None;
    for (k, step) in steps.iter().enumerate() {
        let at = span(step);
        if let Some(encoder) = encoded_by {
            // Steps after an encoder run on each of its output columns, which
            // the fit must know: learned ones would need a fit of their own.
            if checked.last().is_some_and(columns_learned) {
                diags.push(after_learned(encoder, &column.value, span(&steps[k - 1])));
            }
            if column_type == ColumnType::String && encoder == "impute" {
                diags.push(after_text_indicator(&column.value, span(&steps[k - 1])));
            }
            checked.extend(features::check_after(encoder, &steps[k..], diags).unwrap_or_default());
            break;
        }
        if step.value.is_across() {
            let cx = Context {
                column: &column.value,
                ty: column_type,
                at,
            };
            cx.needs_numeric(step.value.kind(), diags);
            continue;
        }
        if let Some(s) = check_step(&column.value, column_type, step, diags) {
            if s.is_encoder() {
                encoded_by = Some(step.value.kind());
            }
            checked.push(s);
        }
    }
    (diags.0.len() == before).then(|| Feature {
        column: column.value.clone(),
        span: at,
        column_type,
        boolean,
        steps: checked,
    })
}

/// `date_parts` reads the column as stored, a date or a timestamp: it is
/// the feature's first step, and the column is not declared another type.
fn date_parts_first(
    column: &str,
    declared: Option<&Spanned<DeclaredType>>,
    steps: &[Spanned<Step>],
    diags: &mut Diagnostics,
) {
    let at = |k: usize| span(&steps[k]);
    for (k, step) in steps.iter().enumerate() {
        if !matches!(step.value, Step::DateParts(_)) {
            continue;
        }
        if k > 0 {
            diags.push(
                Diagnostic::new(
                    Code::StepConflict,
                    format!("`date_parts` is step {} of feature `{column}`, after `{}`", k + 1, steps[k - 1].value.kind()),
                )
                .at(at(k))
                .hint("`date_parts` reads the date or timestamp column as stored: make it the feature's first step (steps after it run on each part)"),
            );
        } else if let Some(d) = declared {
            diags.push(
                Diagnostic::new(
                    Code::StepConflict,
                    format!("feature `{column}` is declared {}, but `date_parts` reads a date or timestamp column", d.value.name()),
                )
                .at(span(d))
                .hint("remove the `type:` declaration: a feature whose first step is `date_parts` reads a date or timestamp"),
            );
        }
    }
}

/// Whether an encoder's output columns (or its codes) are learned from data.
pub(super) fn columns_learned(step: &CheckedStep) -> bool {
    match step {
        CheckedStep::OneHot(oh) => oh.categories.is_none() || oh.groups_infrequent(),
        CheckedStep::Ordinal(o) => o.categories.is_none() || o.groups_infrequent(),
        CheckedStep::Bins(_) => true,
        _ => false,
    }
}

/// Steps after an encoder whose output columns (or codes) are learned from
/// data: the fit would need the categories before it could learn the
/// steps' statistics.
fn after_learned(encoder: &str, column: &str, at: Option<Span>) -> Diagnostic {
    Diagnostic::new(
        Code::StepConflict,
        format!("steps follow `{encoder}` in feature `{column}`, but its columns are learned from the data"),
    )
    .at(at)
    .hint(format!(
        "list the categories in `{encoder}` (without min_frequency/max_categories; `bins` learns its number of columns): one fit learns the steps after an encoder only on columns it knows"
    ))
}

/// Steps after a text imputer with its missing indicator: they would run on
/// both of its outputs, a text and a number.
fn after_text_indicator(column: &str, at: Option<Span>) -> Diagnostic {
    Diagnostic::new(
        Code::StepConflict,
        format!("steps follow `impute` with `add_indicator` in the string feature `{column}`, and they would run on both its text and its indicator"),
    )
    .at(at)
    .hint("end the feature with the imputer, or remove `add_indicator`")
}

/// The steps with every boolean value as the category scikit-learn names it
/// (`True`, `False`). Only a `type: boolean` feature takes booleans, and it
/// takes nothing else (a bool column holds no other value).
fn booleans_as_text(
    column: &str,
    steps: &[Spanned<Step>],
    boolean: bool,
    diags: &mut Diagnostics,
) -> Option<Vec<Spanned<Step>>> {
    let before = diags.0.len();
    let mut steps = steps.to_vec();
    for step in &mut steps {
        let at = span(step);
        for (value, place) in step.value.scalars_mut() {
            let place = place.or(at.clone());
            match (&*value, boolean) {
                (Scalar::Bool(b), true) => *value = Scalar::String(Scalar::bool_text(*b).into()),
                (Scalar::Bool(b), false) => diags.push(
                    Diagnostic::new(
                        Code::InvalidValue,
                        format!("YAML reads this value of feature `{column}` as the boolean {b}"),
                    )
                    .at(place)
                    .hint(format!(
                        "quote it (\"{b}\", or the word you wrote) to make it a text, or declare a boolean column: `{{type: boolean, steps: [...]}}`"
                    )),
                ),
                (Scalar::String(t), true) if t == "True" || t == "False" => {}
                (other, true) => diags.push(
                    Diagnostic::new(
                        Code::InvalidValue,
                        format!("feature `{column}` is boolean, but {other} is not a boolean"),
                    )
                    .at(place)
                    .hint("a boolean column's values are true and false"),
                ),
                (_, false) => {}
            }
        }
    }
    (diags.0.len() == before).then_some(steps)
}

/// Without a declared type: the first step that says anything decides.
fn infer_type(steps: &[Spanned<Step>]) -> ColumnType {
    for step in steps {
        match &step.value {
            Step::Impute(i) => match (&i.strategy, &i.fill_value) {
                (ImputeStrategy::Mean | ImputeStrategy::Median, _) => return ColumnType::Numeric,
                (_, Some(v)) => return scalar_type(&v.value),
                _ => {}
            },
            Step::Scale(_)
            | Step::Binarize(_)
            | Step::Function(_)
            | Step::Bins(_)
            | Step::Cyclical(_)
            | Step::DateParts(_)
            | Step::Spline(_)
            | Step::Quantile(_)
            | Step::Power(_)
            | Step::Normalize(_)
            | Step::Polynomial(_) => {
                return ColumnType::Numeric;
            }
            Step::OneHot(spec::OneHot {
                categories: Categories::Given(c),
                ..
            })
            | Step::Ordinal(spec::Ordinal {
                categories: Categories::Given(c),
                ..
            }) => {
                if let Some(first) = c.iter().find_map(|v| v.value.as_ref()) {
                    return scalar_type(first);
                }
            }
            Step::OneHot(_) | Step::Ordinal(_) => return ColumnType::String,
        }
    }
    ColumnType::String
}
