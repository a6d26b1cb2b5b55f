//! `prep init`: a starter spec from a table's columns (their types, and with
//! data their missing values, distinct values and categories), each choice
//! explained in a YAML comment. What it writes is a suggestion to edit, but
//! it is a spec that compiles on every dialect as written: categories are
//! listed from the data (learned categories would need a fit first), and a
//! column prep cannot encode without seeing its values is passed through.

use crate::fitted::yaml_string;

/// Up to this many distinct values, a text column gets one column per
/// category; above it, an ordinal code.
pub const ONE_HOT_MAX: u64 = 20;
/// Above this many distinct values, a text column is more an identifier or
/// free text than a category: it is passed through.
pub const ORDINAL_MAX: u64 = 1000;

/// What prep can do with a column of a given SQL type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Integer,
    Numeric,
    Text,
    Boolean,
    Date,
    Timestamp,
    Other,
}

/// The kind of a column from its SQL type, as DuckDB or a warehouse's
/// `information_schema` spells it.
pub fn kind_of(sql_type: &str) -> Kind {
    let t = sql_type.trim().to_ascii_uppercase();
    let base = t.split(['(', ' ']).next().unwrap_or("");
    match base {
        "TINYINT" | "SMALLINT" | "INTEGER" | "INT" | "INT2" | "INT4" | "INT8" | "BIGINT"
        | "HUGEINT" | "UTINYINT" | "USMALLINT" | "UINTEGER" | "UBIGINT" | "UHUGEINT" | "INT64"
        | "SERIAL" | "BIGSERIAL" => Kind::Integer,
        "DOUBLE" | "FLOAT" | "FLOAT4" | "FLOAT8" | "FLOAT64" | "REAL" | "DECIMAL" | "NUMERIC"
        | "NUMBER" | "BIGNUMERIC" => Kind::Numeric,
        "VARCHAR" | "TEXT" | "STRING" | "CHAR" | "CHARACTER" | "NVARCHAR" | "NCHAR" | "BPCHAR" => {
            Kind::Text
        }
        "BOOLEAN" | "BOOL" => Kind::Boolean,
        "DATE" => Kind::Date,
        "TIMESTAMP" | "TIMESTAMPTZ" | "DATETIME" | "DATETIME2" | "DATETIME64" | "TIMESTAMP_NTZ"
        | "TIMESTAMP_LTZ" | "TIMESTAMP_TZ" | "TIMESTAMP_S" | "TIMESTAMP_MS" | "TIMESTAMP_NS" => {
            Kind::Timestamp
        }
        _ if t.starts_with("DOUBLE PRECISION") => Kind::Numeric,
        _ if t.starts_with("CHARACTER VARYING") => Kind::Text,
        _ => Kind::Other,
    }
}

/// One column of the table, and what the data says of it (with `--data`).
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub sql_type: String,
    pub data: Option<Seen>,
}

/// What a column's values are in the data.
#[derive(Debug, Clone)]
pub struct Seen {
    pub rows: u64,
    pub missing: u64,
    pub distinct: u64,
    /// Its distinct values in code-point order (text and boolean columns
    /// with at most `ORDINAL_MAX` of them).
    pub values: Vec<String>,
}

/// `name TYPE, name TYPE(p, s), ...` (as in a CREATE TABLE), or a CSV
/// export of `information_schema.columns` with `column_name` and
/// `data_type` columns.
pub fn parse_columns(text: &str) -> Result<Vec<Column>, String> {
    let first = text.lines().next().unwrap_or("").to_ascii_lowercase();
    if first.contains("column_name") && first.contains("data_type") {
        return parse_schema_csv(text);
    }
    let mut columns = Vec::new();
    // A comma ends a column outside parentheses and quotes (a doubled quote
    // inside a quoted name toggles twice, so it stays inside).
    let (mut depth, mut quoted) = (0, false);
    let mut part = String::new();
    for c in text.chars().chain([',']) {
        match c {
            '"' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            _ => {}
        }
        if c == ',' && depth == 0 && !quoted {
            let item = part.trim();
            if !item.is_empty() {
                let (name, ty) = name_and_type(item)
                    .ok_or_else(|| format!("`{item}` has no type: write `name TYPE`"))?;
                columns.push(column(&name, ty));
            }
            part.clear();
        } else {
            part.push(c);
        }
    }
    if columns.is_empty() {
        return Err("no column is given".into());
    }
    Ok(columns)
}

/// `name TYPE` or `"a name" TYPE` (a doubled quote inside is one quote).
fn name_and_type(item: &str) -> Option<(String, &str)> {
    let (name, rest) = match item.strip_prefix('"') {
        Some(quoted) => {
            let mut name = String::new();
            let mut chars = quoted.char_indices().peekable();
            loop {
                let (i, c) = chars.next()?;
                if c != '"' {
                    name.push(c);
                } else if chars.peek().is_some_and(|&(_, n)| n == '"') {
                    chars.next();
                    name.push('"');
                } else {
                    break (name, &quoted[i + 1..]);
                }
            }
        }
        None => {
            let (name, rest) = item.split_once(char::is_whitespace)?;
            (name.to_string(), rest)
        }
    };
    let ty = rest.trim();
    (!name.is_empty() && !ty.is_empty()).then_some((name, ty))
}

fn column(name: &str, sql_type: &str) -> Column {
    Column {
        name: name.to_string(),
        sql_type: sql_type.to_string(),
        data: None,
    }
}

/// The CSV form: a header naming `column_name` and `data_type`, a row per
/// column (read by the csv crate: a quoted type such as `"NUMERIC(10, 2)"`
/// keeps its comma).
fn parse_schema_csv(text: &str) -> Result<Vec<Column>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header: Vec<String> = (reader.headers().map_err(|e| e.to_string())?.iter())
        .map(str::to_ascii_lowercase)
        .collect();
    let at = |name: &str| header.iter().position(|h| h == name);
    let (Some(n), Some(t)) = (at("column_name"), at("data_type")) else {
        return Err("the CSV header needs `column_name` and `data_type`".into());
    };
    let mut columns = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| e.to_string())?;
        match (record.get(n), record.get(t)) {
            (Some(name), Some(ty)) => columns.push(column(name, ty)),
            _ => {
                let line = record.iter().collect::<Vec<_>>().join(",");
                return Err(format!("the CSV line `{line}` lacks a field"));
            }
        }
    }
    Ok(columns)
}

/// Why `name` cannot name a spec, if it cannot (the rule of `name:`).
pub fn name_problem(name: &str) -> Option<String> {
    let mut chars = name.chars();
    let plain = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    (!plain || name.len() > 40).then(|| {
        format!(
            "`{}` cannot name a spec: use up to 40 letters, digits and underscores, starting with a letter",
            name.escape_debug()
        )
    })
}

/// A YAML key or value: bare when plainly a name, else quoted.
fn yaml_name(name: &str) -> String {
    let bare = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !matches!(
            name,
            "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null"
        );
    if bare {
        name.to_string()
    } else {
        yaml_string(name)
    }
}

/// What prep suggests for one column.
enum Suggestion {
    Key,
    Feature(String),
    Passthrough,
    Left,
}

fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "no rows".into();
    }
    let p = 100.0 * part as f64 / whole as f64;
    match p {
        0.0 => "no value missing".into(),
        p if p < 1.0 => "under 1% missing".into(),
        p => format!("{p:.0}% missing"),
    }
}

/// The suggestion for a column, and the comment that says why.
fn suggest(c: &Column) -> (Suggestion, String) {
    let ty = &c.sql_type;
    let kind = kind_of(ty);
    let seen = c.data.as_ref();
    let unique = seen.is_some_and(|s| s.missing == 0 && s.distinct == s.rows && s.rows > 1);
    if unique && matches!(kind, Kind::Integer | Kind::Text) {
        return (
            Suggestion::Key,
            format!("{ty}, unique and never missing: a key"),
        );
    }
    let missing = seen.map_or(String::new(), |s| {
        format!(", {}", percent(s.missing, s.rows))
    });
    match kind {
        Kind::Integer | Kind::Numeric => (
            Suggestion::Feature("[{impute: median}, {scale: standard}]".into()),
            format!(
                "{ty}{missing}: the training median fills missing values (it resists outliers), then standardised"
            ),
        ),
        Kind::Boolean => (
            Suggestion::Feature(
                "{type: boolean, steps: [{impute: most_frequent}, {one_hot: {categories: [false, true], drop: if_binary, handle_unknown: ignore}}]}".into(),
            ),
            format!("{ty}{missing}: the most frequent value fills missing values, then one 0/1 column"),
        ),
        Kind::Text => text_suggestion(&c.name, ty, &missing, seen),
        Kind::Date => (
            Suggestion::Feature("[{date_parts: [year, month, day_of_week]}]".into()),
            format!("{ty}{missing}: its year, month and day of the week, one column each"),
        ),
        Kind::Timestamp => (
            Suggestion::Feature("[{date_parts: [year, month, day_of_week, hour]}]".into()),
            format!("{ty}{missing}: its year, month, day of the week and hour, one column each"),
        ),
        Kind::Other => (
            Suggestion::Left,
            format!("{ty}: left out (prep encodes numbers, texts, booleans and dates)"),
        ),
    }
}

/// Whether one column per category can be named on every dialect: no two
/// names the same once case is folded (after `_` replaced what no name can
/// hold), none longer than the shortest identifier limit.
fn one_hot_names_fit(column: &str, values: &[String]) -> bool {
    use crate::naming::{category_suffix, fold, one_hot_column};
    let limit = (crate::dialect::DialectName::ALL.iter())
        .filter_map(|d| d.get().max_identifier_bytes)
        .min()
        .unwrap_or(usize::MAX);
    let names: Vec<String> = (values.iter())
        .map(|v| {
            one_hot_column(
                column,
                &category_suffix(&crate::spec::Scalar::String(v.clone())),
            )
        })
        .chain([one_hot_column(column, crate::naming::MISSING_SUFFIX)])
        .collect();
    let folded: std::collections::BTreeSet<String> = names.iter().map(|n| fold(n)).collect();
    folded.len() == names.len() && names.iter().all(|n| n.len() <= limit)
}

fn text_suggestion(
    column: &str,
    ty: &str,
    missing: &str,
    seen: Option<&Seen>,
) -> (Suggestion, String) {
    let Some(s) = seen else {
        return (
            Suggestion::Passthrough,
            format!(
                "{ty}: passed through; its categories are known only from data \
                 (`prep init --data`), or list them: `{{type: string, steps: [{{one_hot: {{categories: [...], handle_unknown: ignore}}}}]}}`"
            ),
        );
    };
    let listed: Vec<String> = s.values.iter().map(|v| yaml_string(v)).collect();
    let categories = format!("[{}]", listed.join(", "));
    let fill = if s.missing > 0 {
        "{impute: most_frequent}, "
    } else {
        ""
    };
    if s.distinct == 0 || s.values.iter().any(|v| v.contains('\0')) || s.distinct > ORDINAL_MAX {
        return (
            Suggestion::Passthrough,
            format!(
                "{ty}, {} distinct values: passed through (an identifier or free text, not a category)",
                s.distinct
            ),
        );
    }
    if s.distinct <= ONE_HOT_MAX && one_hot_names_fit(column, &s.values) {
        (
            Suggestion::Feature(format!(
                "{{type: string, steps: [{fill}{{one_hot: {{categories: {categories}, handle_unknown: ignore}}}}]}}"
            )),
            format!(
                "{ty}{missing}, {} categories: one 0/1 column each (an unknown value scores all 0); \
                 to group rare ones, drop `categories` and add `min_frequency: 0.01, handle_unknown: infrequent_if_exist` \
                 (then `prep fit` and `prep compile --params`)",
                s.distinct
            ),
        )
    } else {
        (
            Suggestion::Feature(format!(
                "{{type: string, steps: [{fill}{{ordinal: {{categories: {categories}, handle_unknown: use_encoded_value, unknown_value: -1}}}}]}}"
            )),
            format!(
                "{ty}{missing}, {} categories: too many for a column each, so one code per category (-1 for an unknown value)",
                s.distinct
            ),
        )
    }
}

/// The starter spec's text. `origin` says where the columns came from.
pub fn starter_spec(name: &str, columns: &[Column], origin: &str) -> String {
    let mut keys = Vec::new();
    let mut passthrough = Vec::new();
    let mut features = Vec::new();
    let mut notes = Vec::new();
    for c in columns {
        let (suggestion, why) = suggest(c);
        let key = yaml_name(&c.name);
        match suggestion {
            Suggestion::Key => {
                notes.push(format!("#   {key}: {why}"));
                keys.push(key);
            }
            Suggestion::Passthrough => {
                notes.push(format!("#   {key}: {why}"));
                passthrough.push(key);
            }
            Suggestion::Left => notes.push(format!("#   {key}: {why}")),
            Suggestion::Feature(steps) => {
                features.push(format!("  # {why}\n  {key}: {steps}"));
            }
        }
    }
    let mut out = format!(
        "# yaml-language-server: $schema=prep.schema.json\n\
         # (write the schema beside it with `prep schema > prep.schema.json`)\n\
         #\n\
         # A starter spec written by `prep init` from {origin}. Every step is a\n\
         # suggestion: change what you like, then `prep compile {name}.yml --dialect duckdb`.\n"
    );
    if !notes.is_empty() {
        out.push_str("#\n# Columns that are not features:\n");
        for n in &notes {
            out.push_str(&comment_safe(n));
            out.push('\n');
        }
    }
    out.push_str(&format!(
        "name: {name}\n# Where the rows come from: {{ref: model}}, {{source: {{name: ..., table: ...}}}} or {{table: schema.table}}.\nsource: {{table: {name}}}\n"
    ));
    if !keys.is_empty() {
        out.push_str(&format!("keys: [{}]\n", keys.join(", ")));
    }
    if !passthrough.is_empty() {
        out.push_str(&format!("passthrough: [{}]\n", passthrough.join(", ")));
    }
    out.push_str(&delta_note(columns));
    out.push_str("features:\n");
    for f in &features {
        out.push_str(&comment_lines(f));
        out.push('\n');
    }
    out
}

/// Where a column's name holds what a Delta table refuses without column
/// mapping: a note saying so, and the line that says the tables have it,
/// commented out (prep cannot know; compiling for databricks says where).
fn delta_note(columns: &[Column]) -> String {
    let databricks = crate::dialect::DialectName::Databricks.get();
    let refused = &databricks.column_name_refuse;
    if !(columns.iter()).any(|c| refused.iter().any(|r| c.name.contains(r.as_str()))) {
        return String::new();
    }
    format!(
        "# Some column names hold characters a Delta table refuses ({}) unless\n\
         # column mapping is on: for Databricks, rename them in the source, or,\n\
         # if the tables have column mapping, uncomment:\n\
         # {DELTA_LINE}\n",
        refused
            .iter()
            .map(|r| format!("`{r}`"))
            .collect::<Vec<_>>()
            .join(" ")
    )
}

/// The line a starter spec holds commented out where a name needs Delta's
/// column mapping.
pub const DELTA_LINE: &str = "delta_column_mapping: true";

/// The starter spec as it compiles once its writer chose: the Delta line in
/// effect (a spec without it is otherwise the same, but for databricks).
pub fn as_chosen(text: &str) -> String {
    text.replace(&format!("# {DELTA_LINE}\n"), &format!("{DELTA_LINE}\n"))
}

/// A feature's lines with its comment made safe.
fn comment_lines(feature: &str) -> String {
    let (comment, rest) = feature.split_once('\n').unwrap_or((feature, ""));
    format!("{}\n{rest}", comment_safe(comment))
}

/// A YAML comment line that a column's name or category cannot end: its
/// control characters and line separators are shown escaped.
fn comment_safe(line: &str) -> String {
    line.chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{85}') {
                crate::text::visible(c)
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Whether a starter spec has a feature (a spec needs one).
pub fn has_features(columns: &[Column]) -> bool {
    columns
        .iter()
        .any(|c| matches!(suggest(c).0, Suggestion::Feature(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_parse_from_a_create_table_list_and_a_schema_export() {
        let c = parse_columns("age DOUBLE, amount DECIMAL(10, 2), plan VARCHAR").unwrap();
        let got: Vec<(&str, &str)> = c
            .iter()
            .map(|c| (c.name.as_str(), c.sql_type.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("age", "DOUBLE"),
                ("amount", "DECIMAL(10, 2)"),
                ("plan", "VARCHAR")
            ]
        );
        let c = parse_columns(
            "table_name,column_name,data_type\nt,age,double precision\nt,plan,text\n",
        )
        .unwrap();
        assert_eq!(kind_of(&c[0].sql_type), Kind::Numeric);
        assert_eq!(kind_of(&c[1].sql_type), Kind::Text);
        // A quoted field keeps its comma; a short line is an error.
        let c = parse_columns("column_name,data_type\namount,\"NUMERIC(10, 2)\"\n").unwrap();
        assert_eq!(c[0].sql_type, "NUMERIC(10, 2)");
        assert!(parse_columns("column_name,data_type\nonly_a_name\n").is_err());
        assert!(parse_columns("age").is_err());
        let c = parse_columns("\"a \"\"b\"\" c\" TEXT, x INT").unwrap();
        assert_eq!(
            (c[0].name.as_str(), c[0].sql_type.as_str()),
            ("a \"b\" c", "TEXT")
        );
    }
}
