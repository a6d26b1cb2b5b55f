//! SQL dialects: everything that differs between warehouses is data in
//! `dialects/*.yml`, embedded at build time. Rust code here only loads it and
//! answers questions about it; it never spells SQL itself.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::OnceLock;

use serde::Deserialize;
use sqlparser::ast::{DataType, Expr, ObjectName};
use sqlparser::dialect::{Dialect as ParserDialect, dialect_from_str};
use sqlparser::parser::Parser;

mod func;
pub use func::Func;

// `DialectName`: one variant per file of `dialects/` (see build.rs), with
// `ALL`, `as_str` and the file's text.
include!(concat!(env!("OUT_DIR"), "/dialects.rs"));

impl DialectName {
    /// The loaded description. Dialect files ship inside the binary and are
    /// checked by tests, so a broken one is a bug in prep, not in user input.
    pub fn get(self) -> &'static Dialect {
        static LOADED: OnceLock<BTreeMap<DialectName, Dialect>> = OnceLock::new();
        let all = LOADED.get_or_init(|| {
            DialectName::ALL
                .iter()
                .map(|&d| {
                    (
                        d,
                        Dialect::load(d)
                            .unwrap_or_else(|e| panic!("dialects/{}.yml: {e}", d.as_str())),
                    )
                })
                .collect()
        });
        &all[&self]
    }
}

impl std::fmt::Display for DialectName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How string literals escape a quote character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StringEscape {
    /// `'O''Brien'` (SQL standard).
    Standard,
    /// `'O\'Brien'`; backslashes doubled (BigQuery, Spark).
    Backslash,
    /// `N'O''Brien'`: the standard's doubling, in national (Unicode)
    /// literals, line breaks as `NCHAR(10)` joined with `+` (T-SQL).
    National,
}

/// How exact percentiles can be grouped into scans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PercentileStyle {
    /// An aggregate that can sit beside any other aggregate: no extra scan.
    OneSelect,
    /// An aggregate, but one SELECT may only order by one expression: one scan per expression.
    PerExpression,
    /// Only a window function: one extra scan for all of them, collapsed to one row.
    Analytic,
    /// None exact (Trino): each column's values ranked, numpy's percentile
    /// read from the ranks; one extra scan for all of them.
    Ranked,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DialectFile {
    name: String,
    /// sqlparser's dialect for parsing templates and `fit.where` (its name,
    /// as `sqlparser::dialect::dialect_from_str` knows it).
    parser: String,
    /// The dbt adapters whose dispatch runs this dialect's SQL.
    #[serde(default)]
    dbt_adapters: Vec<String>,
    /// A statement prep's own dbt models run before theirs, in their
    /// transaction (a setting of the engine's for prep's SQL).
    #[serde(default)]
    dbt_pre_hook: Option<String>,
    /// Other names `--dialect` takes for it (read by build.rs).
    #[serde(default, rename = "aliases")]
    _aliases: Vec<String>,
    identifier_quote: QuoteSpec,
    #[serde(default)]
    identifier_refuse: Vec<String>,
    #[serde(default)]
    column_name_refuse: Vec<String>,
    string_escape: StringEscape,
    #[serde(default)]
    string_also_escape: Vec<char>,
    #[serde(default)]
    max_identifier_bytes: Option<usize>,
    types: Types,
    percentiles: PercentileStyle,
    #[serde(default)]
    binary_collation: Option<String>,
    #[serde(default)]
    float_underflow: FloatUnderflow,
    #[serde(default)]
    vocabularies: VocabularyStyle,
    #[serde(default)]
    unpivot: UnpivotStyle,
    #[serde(default)]
    ctes: CteEvaluation,
    /// See `Dialect::fence` and `Dialect::materialized`.
    #[serde(default)]
    fence: Option<String>,
    #[serde(default)]
    materialized: bool,
    #[serde(default)]
    max_columns: Option<usize>,
    #[serde(default)]
    max_select_columns: Option<usize>,
    #[serde(default)]
    large_query: Option<LargeQuery>,
    #[serde(default)]
    chunk_columns: Option<usize>,
    #[serde(default)]
    first_row: FirstRow,
    #[serde(default)]
    plain_names: PlainNames,
    #[serde(default)]
    templates: BTreeMap<String, String>,
}

/// How learned vocabularies are counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VocabularyStyle {
    /// All vocabularies of a level in one `GROUP BY GROUPING SETS` scan.
    #[default]
    GroupingSets,
    /// One `GROUP BY` scan per vocabulary.
    OnePerScan,
}

/// How the one-row fitted relation becomes one row per parameter. Engines
/// that inline CTEs (Spark, BigQuery) recompute the statistics once per
/// reference, so every style but `union_all` reads the fitted row once
/// (twice for `unpivot`: numbers, then texts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnpivotStyle {
    /// One `SELECT ... UNION ALL` branch per parameter (any engine).
    #[default]
    UnionAll,
    /// `UNPIVOT INCLUDE NULLS (number FOR parameter IN (...))`: the column
    /// names are the parameter names.
    Unpivot,
    /// `CROSS JOIN LATERAL (VALUES ('name', number, text), ...)`.
    LateralValues,
    /// `CROSS APPLY (VALUES ('name', number, text), ...)` (T-SQL).
    CrossApply,
    /// `LATERAL VIEW stack(n, 'name', number, text, ...)` (Hive, Spark).
    Stack,
    /// `arrayJoin([('name', number, text), ...])`, each tuple's parts read
    /// with `tupleElement` (ClickHouse).
    ArrayJoin,
}

/// How the engine evaluates a CTE that is read more than once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CteEvaluation {
    /// Once, its result shared by every reader (PostgreSQL, DuckDB, Snowflake).
    #[default]
    Once,
    /// Once per reader: the CTE is inlined where it is read (Spark, BigQuery),
    /// so a statistic read by two later stages is computed twice.
    Inlined,
}

/// How the engine stores a name written without quotes. prep quotes every
/// name; a plain name in a spec (lower-case letters, digits and `_`, not
/// starting with a digit) is written the way the engine stores it unquoted,
/// so it means the column a plain `CREATE TABLE` made. Any other name is
/// written exactly.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlainNames {
    /// As written: the engine folds to lower case or ignores case.
    #[default]
    AsWritten,
    /// In upper case (Snowflake, Oracle, Db2).
    Upper,
}

/// How a query keeps only its first row (the most frequent value's query).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FirstRow {
    /// `... ORDER BY ... LIMIT 1`.
    #[default]
    Limit,
    /// `SELECT TOP 1 ... ORDER BY ...` (T-SQL).
    Top,
    /// `... ORDER BY ... FETCH FIRST 1 ROWS ONLY` (SQL:2008, Db2, Oracle).
    FetchFirst,
}

/// What a double multiplication does when its result is too small for a double.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FloatUnderflow {
    /// Gives zero (or a subnormal), as IEEE 754 and numpy do.
    #[default]
    Zero,
    /// Raises an error (PostgreSQL, Redshift).
    Raises,
}

/// `large_query: {over_bytes: n, settings: "..."}` (ClickHouse): a
/// statement longer than `over_bytes` ends with `SETTINGS <settings>`,
/// `{bytes}` in them replaced by a bound on the statement's size.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LargeQuery {
    pub over_bytes: usize,
    pub settings: String,
}

/// How a name is quoted: one character on both sides (`"x"`, `` `x` ``),
/// or an opening and a closing one (`[x]`). Inside the name the closing
/// character is doubled (`"a""b"`, `[a]]b]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdentifierQuote {
    pub open: char,
    pub close: char,
}

/// `identifier_quote: '"'` or `identifier_quote: ['[', ']']`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum QuoteSpec {
    Same(char),
    Pair([char; 2]),
}

impl From<QuoteSpec> for IdentifierQuote {
    fn from(q: QuoteSpec) -> Self {
        match q {
            QuoteSpec::Same(c) => IdentifierQuote { open: c, close: c },
            QuoteSpec::Pair([open, close]) => IdentifierQuote { open, close },
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Types {
    double: String,
    string: String,
    /// What a date or timestamp column is read as (`date_parts`): a
    /// timestamp without time zone.
    #[serde(default = "default_timestamp")]
    timestamp: String,
}

fn default_timestamp() -> String {
    "TIMESTAMP".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Defaults {
    templates: BTreeMap<String, String>,
}

/// How each special character of a text is written inside a string literal,
/// and whether a literal holding one of them needs parentheses around it.
/// Worked out from the dialect's escaping by `render::quote`, once.
#[derive(Debug, Clone)]
pub struct StringEscapes {
    /// Written before the opening quote (`N` for national literals).
    pub prefix: String,
    pub table: Vec<(char, String)>,
    pub wrap_when: Vec<char>,
}

/// A loaded dialect: its parser, quoting and type names, and parsed function templates.
pub struct Dialect {
    pub name: String,
    /// sqlparser's name for the parser of this dialect.
    parser: String,
    /// The dbt adapters that run this dialect's SQL.
    pub dbt_adapters: Vec<String>,
    /// What prep's own dbt models run first on these adapters (see the file's `dbt_pre_hook`).
    pub dbt_pre_hook: Option<String>,
    pub identifier_quote: IdentifierQuote,
    /// Texts a quoted name cannot hold on this dialect (names with them are refused).
    pub identifier_refuse: Vec<String>,
    /// Texts the tables this dialect writes refuse in a column name (Delta's
    /// ` ,;{}()=`), unless the spec says its tables hold any name.
    pub column_name_refuse: Vec<String>,
    pub string_escape: StringEscape,
    /// With backslash escapes: more characters written with a backslash.
    pub string_also_escape: Vec<char>,
    pub max_identifier_bytes: Option<usize>,
    pub percentiles: PercentileStyle,
    /// As the dialect writes it (`"C"`, `Latin1_General_BIN2`).
    pub binary_collation: Option<ObjectName>,
    pub float_underflow: FloatUnderflow,
    pub vocabularies: VocabularyStyle,
    pub unpivot: UnpivotStyle,
    pub ctes: CteEvaluation,
    /// A condition true on every row that the planner cannot fold (not
    /// deterministic): a relation filtered by it is computed once, not
    /// copied into its readers. See `level_fence` and `stage_fence` for
    /// where it is written.
    pub fence: Option<Expr>,
    /// Each level's fitted parameters are written `AS MATERIALIZED`, so an
    /// engine that inlines a CTE read once (PostgreSQL) does not recompute
    /// them on every row of `--inline` (100 features: 29 s, not 2.3 s).
    pub materialized: bool,
    /// The most columns a table, and a query's row, may have where the
    /// engine has limits a wide spec reaches (PostgreSQL: 1,600 and 1,664).
    pub max_columns: Option<usize>,
    pub max_select_columns: Option<usize>,
    /// What a statement the engine would refuse by its size says.
    pub large_query: Option<LargeQuery>,
    /// The widest row of statistics prep writes where the engine takes a
    /// wider one but plans it slowly (DuckDB: a 16,000-column unpivot took
    /// 20 s to plan); a fit with more is kept in chunks (`plan::chunks`).
    pub chunk_columns: Option<usize>,
    pub first_row: FirstRow,
    pub plain_names: PlainNames,
    pub double_type: DataType,
    pub string_type: DataType,
    pub timestamp_type: DataType,
    templates: BTreeMap<Func, Expr>,
    /// Its string escapes, once worked out (see `render::quote`).
    pub escapes: OnceLock<StringEscapes>,
}

impl std::fmt::Debug for Dialect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Dialect({})", self.name)
    }
}

impl Dialect {
    fn load(name: DialectName) -> Result<Dialect, String> {
        let dialect = Dialect::from_yaml(name.source())?;
        if dialect.name != name.as_str() {
            return Err(format!("file names dialect {:?}", dialect.name));
        }
        Ok(dialect)
    }

    /// A dialect from its description alone (the text of a `dialects/*.yml`
    /// file): its templates are parsed and checked here.
    pub fn from_yaml(text: &str) -> Result<Dialect, String> {
        let file: DialectFile =
            serde_json::from_value(with_extended(text, 0)?).map_err(|e| e.to_string())?;
        let defaults: Defaults = serde_saphyr::from_str(include_str!("../dialects/_defaults.yml"))
            .map_err(|e| e.to_string())?;
        let parser = dialect_from_str(&file.parser).ok_or_else(|| {
            format!(
                "parser {:?} is not one of sqlparser's dialects",
                file.parser
            )
        })?;
        for key in file.templates.keys() {
            if !Func::ALL.iter().any(|f| f.key() == key) {
                return Err(format!("unknown template {key:?}"));
            }
        }
        let mut templates = BTreeMap::new();
        for func in Func::ALL {
            let text = file
                .templates
                .get(func.key())
                .or_else(|| defaults.templates.get(func.key()))
                .ok_or_else(|| format!("no template for {}", func.key()))?;
            let expr = Parser::new(parser.as_ref())
                .try_with_sql(text)
                .and_then(|mut p| p.parse_expr())
                .map_err(|e| format!("template {}: {e}", func.key()))?;
            func.check_placeholders(&expr)?;
            templates.insert(func, expr);
        }
        let parse_type = |t: &str| {
            Parser::new(parser.as_ref())
                .try_with_sql(t)
                .and_then(|mut p| p.parse_data_type())
                .map_err(|e| format!("type {t:?}: {e}"))
        };
        Ok(Dialect {
            name: file.name,
            parser: file.parser,
            dbt_adapters: file.dbt_adapters,
            dbt_pre_hook: file.dbt_pre_hook,
            identifier_quote: file.identifier_quote.into(),
            identifier_refuse: file.identifier_refuse,
            column_name_refuse: file.column_name_refuse,
            string_escape: file.string_escape,
            string_also_escape: file.string_also_escape,
            max_identifier_bytes: file.max_identifier_bytes,
            percentiles: file.percentiles,
            binary_collation: (file.binary_collation.as_deref())
                .map(|text| parse_collation(parser.as_ref(), text))
                .transpose()?,
            float_underflow: file.float_underflow,
            vocabularies: file.vocabularies,
            unpivot: file.unpivot,
            ctes: file.ctes,
            fence: (file.fence.as_deref())
                .map(|text| parse_fence(parser.as_ref(), text))
                .transpose()?,
            materialized: file.materialized,
            max_columns: file.max_columns,
            max_select_columns: file.max_select_columns,
            large_query: (file.large_query)
                .map(|large| check_large_query(parser.as_ref(), large))
                .transpose()?,
            chunk_columns: file.chunk_columns,
            first_row: file.first_row,
            plain_names: file.plain_names,
            double_type: parse_type(&file.types.double)?,
            string_type: parse_type(&file.types.string)?,
            timestamp_type: parse_type(&file.types.timestamp)?,
            templates,
            escapes: OnceLock::new(),
        })
    }

    /// The fence of each level's fitted parameters: where CTEs are inlined,
    /// a level read by two later ones would be computed twice (3^levels
    /// times: Spark's planner ran out of memory on that).
    pub fn level_fence(&self) -> Option<&Expr> {
        self.fence
            .as_ref()
            .filter(|_| self.ctes == CteEvaluation::Inlined)
    }

    /// The fence of each per-row stage but the last, where CTEs are
    /// evaluated once but a stage cannot be written `AS MATERIALIZED`: a
    /// PostgreSQL-like planner inlines a CTE read once and copies each of its
    /// values into every place that reads it, and through a chain of stages
    /// the copies multiply (a spline of degree 5 took minutes on 240 rows of
    /// Redshift's text on PostgreSQL). Where CTEs are inlined (Spark), the
    /// planner keeps a stage whose values are read twice, and a fence there
    /// would only change its plan (Spark then evaluates a fenced CTE read
    /// twice once, with another summation order).
    pub fn stage_fence(&self) -> Option<&Expr> {
        let once = self.ctes == CteEvaluation::Once && !self.materialized;
        self.fence.as_ref().filter(|_| once)
    }

    /// The parsed template of a function, with placeholders still in it.
    pub fn template(&self, func: Func) -> &Expr {
        &self.templates[&func]
    }

    /// sqlparser's parser for this dialect (used for templates, `fit.where`, and
    /// by tests that parse every emitted statement back).
    pub fn parser(&self) -> Box<dyn ParserDialect> {
        dialect_from_str(&self.parser).expect("checked when the dialect loaded")
    }
}

/// A fence condition: an expression reading no column.
/// A collation's name as the dialect writes it (`"C"`, `Latin1_General_BIN2`).
fn parse_collation(parser: &dyn ParserDialect, text: &str) -> Result<ObjectName, String> {
    Parser::new(parser)
        .try_with_sql(text)
        .and_then(|mut p| p.parse_object_name(false))
        .map_err(|e| format!("binary_collation {text:?}: {e}"))
}

/// `large_query`'s settings are written as text at a statement's end: they
/// must read as a SETTINGS list.
fn check_large_query(parser: &dyn ParserDialect, large: LargeQuery) -> Result<LargeQuery, String> {
    let sql = format!(
        "SELECT 1 FROM t SETTINGS {}",
        large.settings.replace("{bytes}", "1")
    );
    Parser::parse_sql(parser, &sql)
        .map(|_| large)
        .map_err(|e| format!("large_query settings: {e}"))
}

fn parse_fence(parser: &dyn ParserDialect, text: &str) -> Result<Expr, String> {
    let expr = Parser::new(parser)
        .try_with_sql(text)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| format!("fence: {e}"))?;
    let mut names = false;
    let _ = sqlparser::ast::visit_expressions(&expr, |node| {
        names |= matches!(node, Expr::Identifier(_) | Expr::CompoundIdentifier(_));
        ControlFlow::<()>::Continue(())
    });
    if names {
        return Err(format!(
            "fence: {text:?} reads a column; it must hold on every row"
        ));
    }
    Ok(expr)
}

/// A dialect file's fields as one mapping, over those of the dialect it
/// names in `extends:` (and so on up): its own keys replace the inherited
/// ones, except `templates`, merged template by template.
fn with_extended(text: &str, depth: usize) -> Result<serde_json::Value, String> {
    let mut value: serde_json::Value = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
    let Some(own) = value.as_object_mut() else {
        return Err("a dialect's description is a mapping".into());
    };
    let Some(parent) = own.remove("extends") else {
        return Ok(value);
    };
    let parent = parent.as_str().ok_or("extends: names a dialect")?;
    let source = DialectName::ALL
        .iter()
        .find(|d| d.as_str() == parent)
        .ok_or_else(|| format!("extends: {parent:?} is not a dialect of dialects/"))?
        .source();
    if depth >= DialectName::ALL.len() {
        return Err(format!("extends: {parent:?} leads back to itself"));
    }
    let mut base = with_extended(source, depth + 1)?;
    let inherited = base
        .as_object_mut()
        .ok_or("a dialect's description is a mapping")?;
    // A name on the command line belongs to one dialect: aliases are not inherited.
    inherited.remove("aliases");
    for (key, v) in std::mem::take(own) {
        match (inherited.get_mut(&key), v) {
            (Some(serde_json::Value::Object(theirs)), serde_json::Value::Object(mine))
                if key == "templates" =>
            {
                theirs.extend(mine);
            }
            (_, v) => {
                inherited.insert(key, v);
            }
        }
    }
    Ok(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dialect_file_loads() {
        for d in DialectName::ALL {
            let dialect = Dialect::load(d).unwrap();
            assert_eq!(dialect.name, d.as_str());
        }
    }
}
