//! The fit query's result as exported from a warehouse (CSV, a JSON array,
//! or JSON lines), read into rows of the long form.

use serde::Deserialize;

/// The columns of the fit query's result.
const RESULT_COLUMNS: [&str; 5] = ["parameter", "kind", "number", "text", "frequency"];

/// A row of the fit query's result. Column names are read in either case: a
/// warehouse that stores plain names in upper case (Snowflake) exports
/// `PARAMETER`, `KIND`, ...
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LongRow {
    #[serde(alias = "PARAMETER")]
    pub parameter: String,
    #[serde(alias = "KIND")]
    pub kind: String,
    #[serde(default, alias = "NUMBER")]
    pub number: Option<f64>,
    #[serde(default, alias = "TEXT")]
    pub text: Option<String>,
    #[serde(default, alias = "FREQUENCY")]
    pub frequency: Option<f64>,
}

/// Reads the fit query's result exported from a warehouse: CSV with a header
/// (an empty field is NULL), a JSON array of objects, or JSON lines.
pub fn read_result(text: &str, json: bool) -> Result<Vec<LongRow>, String> {
    if json {
        let trimmed = text.trim_start();
        if trimmed.starts_with('[') {
            return serde_json::from_str(trimmed)
                .map_err(|e| format!("not a JSON array of rows: {e}"));
        }
        return trimmed
            .lines()
            .filter(|l| !l.trim().is_empty())
            .enumerate()
            .map(|(i, l)| serde_json::from_str(l).map_err(|e| format!("line {}: {e}", i + 1)))
            .collect();
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| e.to_string())?
        .iter()
        .map(|h| h.trim().to_lowercase())
        .collect();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let missing: Vec<&str> = RESULT_COLUMNS
        .into_iter()
        .filter(|c| col(c).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "the header has no column {}: it must name the columns {}",
            missing.join(", "),
            RESULT_COLUMNS.join(", ")
        ));
    }
    let (parameter, kind) = (col("parameter").unwrap_or(0), col("kind").unwrap_or(0));
    fn field(record: &csv::StringRecord, index: Option<usize>) -> Option<&str> {
        index.and_then(|i| record.get(i)).filter(|s| !s.is_empty())
    }
    let number =
        |record: &csv::StringRecord, name: &str, line: usize| -> Result<Option<f64>, String> {
            field(record, col(name))
                .map(|s| {
                    s.trim()
                        .parse::<f64>()
                        .map_err(|_| format!("line {line}: `{s}` in column {name} is not a number"))
                })
                .transpose()
        };
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.map_err(|e| format!("line {line}: {e}"))?;
        rows.push(LongRow {
            parameter: record.get(parameter).unwrap_or_default().to_string(),
            kind: record.get(kind).unwrap_or_default().to_string(),
            number: number(&record, "number", line)?,
            text: field(&record, col("text")).map(str::to_string),
            frequency: number(&record, "frequency", line)?,
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_results_read_empty_fields_as_null() {
        let rows = read_result(
            "parameter,kind,number,text,frequency\nx__mean,value,1.5,,\nv,category,,a,3\n",
            false,
        )
        .unwrap();
        assert_eq!(rows[0].number, Some(1.5));
        assert_eq!(rows[0].text, None);
        assert_eq!(rows[1].text.as_deref(), Some("a"));
        assert_eq!(rows[1].frequency, Some(3.0));
    }

    /// Snowflake stores plain names in upper case: its exports name the
    /// columns PARAMETER, KIND, ... in CSV and JSON alike.
    #[test]
    fn upper_case_column_names_are_read() {
        let csv = read_result(
            "PARAMETER,KIND,NUMBER,TEXT,FREQUENCY\nx__mean,value,1.5,,\n",
            false,
        )
        .unwrap();
        let json = read_result(r#"[{"PARAMETER": "x__mean", "KIND": "value", "NUMBER": 1.5, "TEXT": null, "FREQUENCY": null}]"#, true).unwrap();
        let lines = read_result(
            "{\"PARAMETER\": \"x__mean\", \"KIND\": \"value\", \"NUMBER\": 1.5}\n",
            true,
        )
        .unwrap();
        for rows in [csv, json, lines] {
            assert_eq!(
                (rows[0].parameter.as_str(), rows[0].number),
                ("x__mean", Some(1.5))
            );
        }
    }
}
