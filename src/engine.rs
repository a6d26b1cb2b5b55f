//! The embedded engine (DuckDB, behind the `embedded` feature): `prep fit
//! --data` and `prep preview` run prep's own duckdb-dialect SQL over local
//! CSV or Parquet files. No statistic is computed in Rust: the fit is the
//! same query prep emits for DuckDB.

use std::path::{Path, PathBuf};

use duckdb::Connection;
use duckdb::types::Value as Db;

use crate::check::Model;
use crate::dialect::DialectName;
use crate::fitted::LongRow;
use crate::ir::Ir;
use crate::render::{Renderer, SourceStyle, ast, print, quote};
use crate::spec::ColumnType;

/// The view the data files are read through.
pub const DATA_RELATION: &str = "prep_data";

/// A failure that names the file or column it is about.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{file}: no such data file")]
    Missing { file: String },
    #[error("{file}: cannot read it as {format}: {reason}")]
    Unreadable {
        file: String,
        format: &'static str,
        reason: String,
    },
    #[error("{file}: unknown data format (use .csv, .tsv or .parquet)")]
    Format { file: String },
    #[error("{files}: the data has no column `{column}`, which the spec uses")]
    MissingColumn { files: String, column: String },
    #[error("{files}: column `{column}` is {found}, but the spec uses it as a {expected} column")]
    WrongType {
        files: String,
        column: String,
        found: String,
        expected: &'static str,
    },
    #[error("the query failed on the embedded engine: {0}")]
    Query(String),
}

impl EngineError {
    pub fn hint(&self) -> &'static str {
        match self {
            EngineError::Missing { .. } => "check the path given to --data",
            EngineError::Unreadable { .. } | EngineError::Format { .. } => {
                "give CSV (with a header) or Parquet files"
            }
            EngineError::MissingColumn { .. } => "check the column name in the spec, or the data",
            EngineError::WrongType { .. } => {
                "declare the column's type in the spec (`type: numeric` or `type: string`), or fix the data"
            }
            EngineError::Query(_) => "check the spec's fit.where and the data",
        }
    }
}

pub struct Engine {
    con: Connection,
    files: String,
}

/// How much of the machine the engine may use. Data larger than the memory
/// limit is spilled to `temp_directory` instead of failing (sorts, groups
/// and windows all spill in DuckDB).
#[derive(Debug, Clone, Default)]
pub struct Limits {
    /// DuckDB's size syntax (`4GB`, `512MiB`: checked by the CLI); default: DuckDB's own, 80% of
    /// the machine's memory.
    pub memory_limit: Option<String>,
    /// Default: a folder of its own in the system's temporary folder (DuckDB
    /// would otherwise spill into `.tmp` in the current folder).
    pub temp_directory: Option<PathBuf>,
}

impl Limits {
    /// The statements that set these limits, and progress tracking (read by
    /// `Engine::progress`, never printed by the engine itself).
    fn settings(&self) -> String {
        let d = DialectName::Duckdb.get();
        let text = |t: &str| ast::string(d, t).to_string();
        let spill = self.temp_directory.clone().unwrap_or_else(|| {
            std::env::temp_dir().join(format!("prep-spill-{}", std::process::id()))
        });
        let mut sql = format!(
            "SET temp_directory = {}; SET enable_progress_bar = true; SET enable_progress_bar_print = false;",
            text(&spill.to_string_lossy())
        );
        if let Some(limit) = &self.memory_limit {
            sql.push_str(&format!(" SET memory_limit = {};", text(limit)));
        }
        sql
    }
}

fn query_error(e: duckdb::Error) -> EngineError {
    EngineError::Query(e.to_string())
}

impl Engine {
    /// Opens the data files (paths or globs; all CSV or all Parquet) as one
    /// relation, within `limits`.
    pub fn open(files: &[String], limits: &Limits) -> Result<Engine, EngineError> {
        let con = Connection::open_in_memory().map_err(query_error)?;
        // One thread: aggregates then sum in the order of the rows, so the same
        // data always gives the same bits (parallel sums differ in the last digit).
        con.execute_batch("SET threads = 1").map_err(query_error)?;
        con.execute_batch(&limits.settings()).map_err(query_error)?;
        let d = DialectName::Duckdb.get();
        let mut format = None;
        for f in files {
            let lower = f.to_lowercase();
            let this = if lower.ends_with(".parquet") || lower.ends_with(".pq") {
                "parquet"
            } else if lower.ends_with(".csv") || lower.ends_with(".tsv") || lower.ends_with(".txt")
            {
                "csv"
            } else {
                return Err(EngineError::Format { file: f.clone() });
            };
            if format.is_some_and(|x| x != this) {
                return Err(EngineError::Format { file: f.clone() });
            }
            format = Some(this);
            let is_glob = f.contains(['*', '?', '[']);
            if !is_glob && !Path::new(f).is_file() {
                return Err(EngineError::Missing { file: f.clone() });
            }
        }
        let format = format.ok_or_else(|| EngineError::Missing {
            file: "(no --data given)".into(),
        })?;
        let list = files
            .iter()
            .map(|f| ast::string(d, f).to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let reader = match format {
            "parquet" => format!("read_parquet([{list}])"),
            _ => format!("read_csv([{list}], header = true)"),
        };
        let files_text = files.join(", ");
        con.execute_batch(&format!(
            "CREATE VIEW {DATA_RELATION} AS SELECT * FROM {reader}"
        ))
        .and_then(|_| con.execute_batch(&format!("SELECT * FROM {DATA_RELATION} LIMIT 0")))
        .map_err(|e| EngineError::Unreadable {
            file: files_text.clone(),
            format,
            reason: first_line(&e.to_string()),
        })?;
        Ok(Engine {
            con,
            files: files_text,
        })
    }

    /// What the running query has done so far: a line for a progress bar
    /// (share done and rows read), asked from any thread.
    pub fn progress(&self) -> impl Fn() -> Option<String> + Send + 'static {
        let handle = self.con.progress_handle();
        move || {
            let p = handle.query_progress();
            let share = p.percentage()?;
            Some(format!(
                "{share:.0}%, {} of {} rows",
                p.rows_processed(),
                p.total_rows_to_process()
            ))
        }
    }

    /// Every column the spec reads exists, with a type that fits its use.
    pub fn check_columns(&self, model: &Model) -> Result<(), EngineError> {
        let mut stmt = self
            .con
            .prepare(&format!("DESCRIBE {DATA_RELATION}"))
            .map_err(query_error)?;
        let columns: Vec<(String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(query_error)?
            .collect::<Result<_, _>>()
            .map_err(query_error)?;
        let find = |name: &str| columns.iter().find(|(c, _)| c == name);
        for name in model.keys.iter().chain(&model.passthrough) {
            if find(name).is_none() {
                return Err(EngineError::MissingColumn {
                    files: self.files.clone(),
                    column: name.clone(),
                });
            }
        }
        for f in &model.features {
            let Some((_, ty)) = find(&f.column) else {
                return Err(EngineError::MissingColumn {
                    files: self.files.clone(),
                    column: f.column.clone(),
                });
            };
            let numeric = is_numeric_type(ty);
            // A `type: boolean` feature reads a BOOLEAN column, whatever its steps make of it.
            let fits = match f.column_type {
                _ if f.boolean => ty == "BOOLEAN",
                _ if f.temporal() => ty == "DATE" || ty.starts_with("TIMESTAMP"),
                ColumnType::Numeric => numeric,
                ColumnType::String => ty == "VARCHAR",
            };
            if !fits {
                return Err(EngineError::WrongType {
                    files: self.files.clone(),
                    column: f.column.clone(),
                    found: ty.clone(),
                    expected: match f.column_type {
                        _ if f.boolean => "boolean",
                        _ if f.temporal() => "date or timestamp",
                        ColumnType::Numeric => "numeric",
                        ColumnType::String => "string",
                    },
                });
            }
        }
        Ok(())
    }

    /// Each column of the data with its type and what its values are (for
    /// `prep init`): missing values, distinct values, and the distinct
    /// values of a text column that has few enough of them.
    pub fn profile(&self) -> Result<Vec<crate::init::Column>, EngineError> {
        use crate::init::{Column, Kind, ORDINAL_MAX, Seen, kind_of};
        let d = DialectName::Duckdb.get();
        let (_, described) = self.query_text(&format!("DESCRIBE {DATA_RELATION}"))?;
        let mut columns = Vec::new();
        for row in described {
            let (Some(name), Some(sql_type)) = (row[0].clone(), row[1].clone()) else {
                continue;
            };
            let q = quote::ident(d, &name);
            let (_, counts) = self.query_text(&format!(
                "SELECT COUNT(*), COUNT(*) - COUNT({q}), COUNT(DISTINCT {q}) FROM {DATA_RELATION}"
            ))?;
            let number = |i: usize| -> u64 {
                (counts[0][i].as_deref())
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(0)
            };
            let (rows, missing, distinct) = (number(0), number(1), number(2));
            let mut values = Vec::new();
            if kind_of(&sql_type) == Kind::Text && distinct <= ORDINAL_MAX {
                // DuckDB orders text by its bytes: code-point order, as scikit-learn sorts.
                let (_, found) = self.query_text(&format!(
                    "SELECT DISTINCT {q} FROM {DATA_RELATION} WHERE {q} IS NOT NULL ORDER BY 1"
                ))?;
                values = found.into_iter().filter_map(|r| r[0].clone()).collect();
            }
            columns.push(Column {
                name,
                sql_type,
                data: Some(Seen {
                    rows,
                    missing,
                    distinct,
                    values,
                }),
            });
        }
        Ok(columns)
    }

    /// Runs statements that return nothing (a table of features, say).
    pub fn run(&self, sql: &str) -> Result<(), EngineError> {
        self.con.execute_batch(sql).map_err(query_error)
    }

    /// How the values of `column` of `relation` are spread: 20 equal-width
    /// bins of a number, or the 20 most frequent texts (for the report).
    pub fn distribution(
        &self,
        relation: &str,
        column: &str,
        numeric: bool,
    ) -> Result<crate::report::Distribution, EngineError> {
        use crate::report::{Distribution, Spread};
        const BINS: u64 = 20;
        let d = DialectName::Duckdb.get();
        let q = quote::ident(d, column);
        let r = quote::ident(d, relation);
        let number = |t: &Option<String>| t.as_deref().and_then(|t| t.parse::<f64>().ok());
        let value = value_read(&q, numeric);
        let (_, totals) = self.query_text(&format!(
            "SELECT COUNT(*), COUNT(*) - COUNT({value}), MIN({value}), MAX({value}) FROM {r}"
        ))?;
        let rows = number(&totals[0][0]).unwrap_or(0.0) as u64;
        let missing = number(&totals[0][1]).unwrap_or(0.0) as u64;
        let spread = match (numeric, number(&totals[0][2]), number(&totals[0][3])) {
            (true, Some(min), Some(max)) => {
                let (_, found) = self.query_text(&format!(
                    "SELECT LEAST(CAST(FLOOR(({value} - {min:?}) / NULLIF({max:?} - {min:?}, 0) * {BINS}) AS BIGINT), {top}), COUNT(*)                      FROM {r} WHERE {value} IS NOT NULL GROUP BY 1",
                    top = BINS - 1
                ))?;
                let mut counts = vec![0; BINS as usize];
                for row in found {
                    let bin = number(&row[0]).unwrap_or(0.0) as usize;
                    counts[bin.min(BINS as usize - 1)] += number(&row[1]).unwrap_or(0.0) as u64;
                }
                Spread::Numeric { min, max, counts }
            }
            (false, _, _) if rows > missing => {
                let (_, found) = self.query_text(&format!(
                    "SELECT {value}, COUNT(*) FROM {r} WHERE {value} IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {BINS}"
                ))?;
                Spread::Categories(
                    (found.into_iter())
                        .map(|row| {
                            (
                                row[0].clone().unwrap_or_default(),
                                number(&row[1]).unwrap_or(0.0) as u64,
                            )
                        })
                        .collect(),
                )
            }
            _ => Spread::Empty,
        };
        Ok(Distribution {
            rows,
            missing,
            spread,
        })
    }

    /// Every non-missing value of `column` of `relation` with its count: as
    /// a number where `numeric` (NaN is missing), else as text.
    pub fn value_counts(
        &self,
        relation: &str,
        column: &str,
        numeric: bool,
    ) -> Result<Vec<(String, u64)>, EngineError> {
        let d = DialectName::Duckdb.get();
        let value = value_read(&quote::ident(d, column), numeric);
        let (_, found) = self.query_text(&format!(
            "SELECT {value}, COUNT(*) FROM {} WHERE {value} IS NOT NULL GROUP BY 1 ORDER BY 1",
            quote::ident(d, relation)
        ))?;
        Ok((found.into_iter())
            .map(|row| {
                let count = row[1].as_deref().and_then(|n| n.parse().ok()).unwrap_or(0);
                (row[0].clone().unwrap_or_default(), count)
            })
            .collect())
    }

    /// How many of `relation`'s rows hold no value in `column` (NULL, or NaN
    /// when `numeric`).
    pub fn missing_count(
        &self,
        relation: &str,
        column: &str,
        numeric: bool,
    ) -> Result<u64, EngineError> {
        let d = DialectName::Duckdb.get();
        let value = value_read(&quote::ident(d, column), numeric);
        let (_, found) = self.query_text(&format!(
            "SELECT COUNT(*) FROM {} WHERE {value} IS NULL",
            quote::ident(d, relation)
        ))?;
        let count = found.first().and_then(|row| row[0].as_deref());
        Ok(count.and_then(|n| n.parse().ok()).unwrap_or(0))
    }

    /// Runs prep's DuckDB fit query over the data: the fitted parameters' rows.
    pub fn fit(&self, ir: &Ir) -> Result<Vec<LongRow>, EngineError> {
        let d = DialectName::Duckdb.get();
        let sql = print::pretty(
            Renderer::new(d, ir, SourceStyle::Plain)
                .reading(DATA_RELATION)
                .fit_query()
                .map_err(|e| EngineError::Query(e.message))?,
        );
        let mut stmt = self.con.prepare(&sql).map_err(query_error)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(LongRow {
                    parameter: r.get(0)?,
                    kind: r.get(1)?,
                    number: r.get(2)?,
                    text: r.get(3)?,
                    frequency: r.get(4)?,
                })
            })
            .map_err(query_error)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(query_error)?;
        Ok(rows)
    }

    /// Runs a query; column names and rows as text (NULL as `None`).
    pub fn query_text(
        &self,
        sql: &str,
    ) -> Result<(Vec<String>, Vec<Vec<Option<String>>>), EngineError> {
        let mut stmt = self.con.prepare(sql).map_err(query_error)?;
        let rows: Vec<Vec<Option<String>>> = stmt
            .query_map([], |r| {
                let n = r.as_ref().column_count();
                (0..n).map(|i| r.get::<_, Db>(i).map(text_of)).collect()
            })
            .map_err(query_error)?
            .collect::<Result<_, _>>()
            .map_err(query_error)?;
        let names = stmt.column_names();
        Ok((names, rows))
    }

    /// Writes a query's result to a CSV or Parquet file (by its extension).
    pub fn export(&self, sql: &str, path: &Path) -> Result<(), EngineError> {
        let d = DialectName::Duckdb.get();
        let lower = path.to_string_lossy().to_lowercase();
        let format = if lower.ends_with(".parquet") {
            "PARQUET"
        } else {
            "CSV, HEADER"
        };
        let target = ast::string(d, &path.to_string_lossy()).to_string();
        self.con
            .execute_batch(&format!("COPY ({sql}) TO {target} (FORMAT {format})"))
            .map_err(query_error)
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_string()
}

fn is_numeric_type(ty: &str) -> bool {
    let base = ty.split('(').next().unwrap_or(ty);
    matches!(
        base,
        "TINYINT"
            | "SMALLINT"
            | "INTEGER"
            | "BIGINT"
            | "HUGEINT"
            | "UTINYINT"
            | "USMALLINT"
            | "UINTEGER"
            | "UBIGINT"
            | "UHUGEINT"
            | "FLOAT"
            | "DOUBLE"
            | "DECIMAL"
    )
}

fn text_of(v: Db) -> Option<String> {
    Some(match v {
        Db::Null => return None,
        Db::Boolean(b) => b.to_string(),
        Db::TinyInt(x) => x.to_string(),
        Db::SmallInt(x) => x.to_string(),
        Db::Int(x) => x.to_string(),
        Db::BigInt(x) => x.to_string(),
        Db::HugeInt(x) => x.to_string(),
        Db::UTinyInt(x) => x.to_string(),
        Db::USmallInt(x) => x.to_string(),
        Db::UInt(x) => x.to_string(),
        Db::UBigInt(x) => x.to_string(),
        Db::Float(x) => x.to_string(),
        Db::Double(x) => x.to_string(),
        Db::Text(s) => s,
        other => format!("{other:?}"),
    })
}

/// A column's value as the report reads it: a number (NaN is missing, as
/// everywhere in prep) or a text.
fn value_read(quoted: &str, numeric: bool) -> String {
    if numeric {
        format!("NULLIF(CAST({quoted} AS DOUBLE), 'NaN'::DOUBLE)")
    } else {
        format!("CAST({quoted} AS VARCHAR)")
    }
}
