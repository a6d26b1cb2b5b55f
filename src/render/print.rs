//! Printing: statements as text, laid out one clause per line. A statement
//! is printed piece by piece as it is built (each select item and each CTE
//! as soon as it exists), so the AST of a wide statement never exists whole:
//! an AST takes some fifty times the memory of its text.

use std::fmt::Write;

use sqlparser::ast::{Ident, Query, SelectItem};

/// Starts each continuation line of an item printed ahead of its statement.
/// sqlparser indents a line by its nesting only as it prints it; an item
/// printed alone does not know its nesting, so its lines after the first
/// carry this mark, and `pretty_query` indents them as far as the item's
/// first line. Never user text: a line never starts inside a literal or a
/// quoted name (neither holds a raw line break).
const CONTINUED: char = '\u{1}';
const CONTINUED_LINE: &str = "\n\u{1}";

/// A select item printed now, laid out as sqlparser lays it out inside a
/// statement; the AST carries the text verbatim (see `CONTINUED`).
pub fn ahead(item: &SelectItem) -> String {
    // One buffer for every item: the text is copied out once, at its size,
    // instead of growing a new string piece by piece.
    thread_local! {
        static BUFFER: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    BUFFER.with_borrow_mut(|buffer| {
        buffer.clear();
        write!(buffer, "{item:#}").expect("printing to a String cannot fail");
        if buffer.contains('\n') {
            buffer.replace('\n', CONTINUED_LINE)
        } else {
            buffer.as_str().to_owned()
        }
    })
}

/// CTEs, each printed when it is added.
#[derive(Default)]
pub struct Ctes(Vec<String>);

impl Ctes {
    pub fn push(&mut self, name: Ident, query: Query) {
        self.push_as(name, query, false);
    }

    /// A CTE, `AS MATERIALIZED` where asked: computed once, never inlined.
    pub fn push_as(&mut self, name: Ident, query: Query, materialized: bool) {
        let keyword = if materialized {
            "AS MATERIALIZED"
        } else {
            "AS"
        };
        let mut text = format!("{name} {keyword} (\n");
        pretty_query_into(&mut text, &query, "  ");
        text.push(')');
        self.0.push(text);
    }
}

impl Ctes {
    /// A CTE holding a printed statement without CTEs of its own (a UNION ALL).
    pub fn push_sql(&mut self, name: Ident, sql: Sql) {
        debug_assert!(sql.ctes.is_empty(), "a CTE's statement has no CTEs");
        self.0
            .push(format!("{name} AS (\n{}\n)", sql.body.trim_end()));
    }
}

/// A printed statement: its CTEs, then its body.
pub struct Sql {
    ctes: Vec<String>,
    body: String,
}

impl From<Query> for Sql {
    fn from(q: Query) -> Sql {
        let mut body = String::new();
        pretty_query_into(&mut body, &q, "");
        Sql {
            ctes: Vec::new(),
            body,
        }
    }
}

/// `q1 UNION ALL q2 ...`, each branch printed on one line as it is added:
/// the long form's rows (a parameter, or a vocabulary) read one per line.
#[derive(Default)]
pub struct UnionAll(String);

impl UnionAll {
    pub fn push(&mut self, q: Query) {
        self.push_branch(&branch(&q));
    }

    /// A branch printed by `branch`.
    fn push_branch(&mut self, text: &str) {
        if !self.0.is_empty() {
            self.0.push_str(SEPARATOR);
        }
        self.0.push_str(text);
    }

    /// Branches printed by `branch`, copied in at their total size, each
    /// freed once copied.
    pub fn extend(&mut self, branches: Vec<String>) {
        let size: usize = branches.iter().map(|b| b.len() + SEPARATOR.len()).sum();
        self.0.reserve_exact(size);
        for b in branches {
            self.push_branch(&b);
        }
    }
}

const SEPARATOR: &str = "\nUNION ALL\n";

/// A UNION ALL branch, on one line: items printed ahead carry their own
/// layout's line breaks; each, with the indent after it, becomes one space,
/// as sqlparser prints an item on one line.
pub fn branch(q: &Query) -> String {
    let text = q.to_string();
    if !text.contains(CONTINUED_LINE) {
        return text;
    }
    let mut pieces = text.split(CONTINUED_LINE);
    let mut out = pieces.next().unwrap_or_default().to_owned();
    for piece in pieces {
        out.push(' ');
        out.push_str(piece.trim_start_matches(' '));
    }
    out
}

impl From<UnionAll> for Sql {
    fn from(u: UnionAll) -> Sql {
        let mut body = u.0;
        body.push('\n');
        Sql {
            ctes: Vec::new(),
            body,
        }
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
pub fn pretty(sql: Sql) -> String {
    pretty_after(String::new(), sql)
}

/// `head` then the statement: the text is built once, at its final size,
/// and each printed piece is freed as it is copied in (a wide statement is
/// tens of megabytes).
pub fn pretty_after(head: String, sql: Sql) -> String {
    let Sql { ctes, body } = sql;
    let size = head.len() + ctes.iter().map(|c| c.len() + 2).sum::<usize>() + body.len() + 6;
    let mut out = head;
    out.reserve_exact(size - out.len());
    let with = !ctes.is_empty();
    for (i, cte) in ctes.into_iter().enumerate() {
        out.push_str(if i == 0 { "WITH " } else { ", " });
        out.push_str(&cte);
    }
    if with {
        out.push('\n');
    }
    out.push_str(&body);
    out
}

/// Prints a query onto `out`, one clause per line, each line after `prefix`,
/// with no trailing spaces; items printed ahead get their indent here.
fn pretty_query_into(out: &mut String, q: &Query, prefix: &str) {
    let text = format!("{q:#}");
    out.reserve(text.len() + 1);
    let mut blanks = 0;
    // The indent of the last line that started an item (or anything else).
    let mut indent = "";
    for raw in text.lines() {
        let continued = raw.strip_prefix(CONTINUED);
        let line = continued.unwrap_or(raw).trim_end();
        if line.trim_start().is_empty() {
            blanks += 1;
            continue;
        }
        // A continuation keeps its own indent, after its item's.
        let rest = match continued {
            Some(_) => line,
            None => {
                let rest = line.trim_start_matches(' ');
                indent = &line[..line.len() - rest.len()];
                rest
            }
        };
        // sqlparser prints an empty window as "OVER (", a blank line, ")...": keep "OVER ()...".
        if rest.trim_start().starts_with(')') {
            blanks = 0;
            if out.ends_with("(\n") {
                out.pop();
                out.push_str(rest.trim_start());
                out.push('\n');
                continue;
            }
        }
        for _ in 0..std::mem::take(&mut blanks) {
            out.push('\n');
        }
        out.push_str(prefix);
        out.push_str(indent);
        out.push_str(rest);
        out.push('\n');
    }
}
