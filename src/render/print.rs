//! Printing: statements as text, laid out one clause per line. A statement
//! is printed piece by piece as it is built (each CTE as soon as it exists),
//! so the AST of a wide statement never exists whole.

use sqlparser::ast::{Ident, Query};

/// CTEs, each printed when it is added (an AST takes some fifty times the
/// memory of its text).
#[derive(Default)]
pub struct Ctes(Vec<String>);

impl Ctes {
    pub fn push(&mut self, name: Ident, query: Query) {
        let mut text = format!("{name} AS (\n");
        for line in pretty_query(&query).lines() {
            text.push_str("  ");
            text.push_str(line);
            text.push('\n');
        }
        text.push(')');
        self.0.push(text);
    }
}

/// A printed statement: its CTEs, then its body.
pub struct Sql {
    ctes: Vec<String>,
    body: String,
}

impl From<Query> for Sql {
    fn from(q: Query) -> Sql {
        Sql {
            ctes: Vec::new(),
            body: pretty_query(&q),
        }
    }
}

/// `q1 UNION ALL q2 ...`, each branch on one line: the long form's rows
/// (a parameter, or a vocabulary) read one per line.
pub fn union_all_lines(queries: Vec<Query>) -> Sql {
    let lines: Vec<String> = queries.iter().map(|q| q.to_string()).collect();
    Sql {
        ctes: Vec::new(),
        body: lines.join("\nUNION ALL\n") + "\n",
    }
}

/// `WITH name AS (query), ... body`; CTEs the body already has come after these.
pub fn with_ctes(ctes: Ctes, body: impl Into<Sql>) -> Sql {
    let mut body = body.into();
    let mut all = ctes.0;
    all.append(&mut body.ctes);
    body.ctes = all;
    body
}

/// A statement as text, laid out as sqlparser lays out `WITH`.
pub fn pretty(sql: &Sql) -> String {
    if sql.ctes.is_empty() {
        return sql.body.clone();
    }
    let size = sql.ctes.iter().map(|c| c.len() + 2).sum::<usize>() + sql.body.len() + 6;
    let mut out = String::with_capacity(size);
    out.push_str("WITH ");
    out.push_str(&sql.ctes.join(", "));
    out.push('\n');
    out.push_str(&sql.body);
    out
}

/// Prints a query, one clause per line, with no trailing spaces.
fn pretty_query(q: &Query) -> String {
    let text = format!("{q:#}");
    let mut out = String::with_capacity(text.len() + 1);
    let mut blanks = 0;
    for line in text.lines().map(str::trim_end) {
        if line.is_empty() {
            blanks += 1;
            continue;
        }
        // sqlparser prints an empty window as "OVER (", a blank line, ")...": keep "OVER ()...".
        if line.trim_start().starts_with(')') {
            blanks = 0;
            if out.ends_with("(\n") {
                out.pop();
                out.push_str(line.trim_start());
                out.push('\n');
                continue;
            }
        }
        for _ in 0..std::mem::take(&mut blanks) {
            out.push('\n');
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}
