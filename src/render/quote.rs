//! Quoting and escaping: the one place that decides how a name or a text is
//! written for each dialect, driven by its file in `dialects/`.
//!
//! sqlparser's printer is never trusted with a literal or a name: it does not
//! double a quote that follows a backslash or one that is already doubled, so
//! a value such as `\'` or `''` would change meaning. The functions here
//! return the exact text, which the AST carries verbatim (an unquoted
//! `Ident`), so nothing re-escapes or re-flows it afterwards.
//!
//! Line breaks never appear raw inside a literal or a name: prep prints one
//! clause per line and a line-based tool (or prep's own formatting) could
//! change the text; a line comment written by prep ends at the line's end.

use crate::dialect::{Dialect, IdentifierQuote, PlainNames, StringEscape};
use crate::text::visible;
pub use crate::text::{comment, string_problem};

/// Why a name cannot be written safely for a dialect.
pub fn ident_problem(d: &Dialect, name: &str) -> Option<String> {
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Some(format!(
            "it holds the control character {}, which no quoted name can carry safely",
            visible(c)
        ));
    }
    d.identifier_refuse
        .iter()
        .find(|s| name.contains(s.as_str()))
        .map(|s| format!("{} cannot write `{s}` inside a quoted name", d.name))
}

/// Whether a name reads the same without quotes: lower-case ASCII letters,
/// digits and `_`, not starting with a digit.
pub fn is_plain(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A name quoted for the dialect, meaning what the same name means unquoted
/// when it is plain (`usage` is `"USAGE"` on Snowflake, which stores
/// unquoted names in upper case), and exactly itself otherwise.
pub fn ident(d: &Dialect, name: &str) -> String {
    match d.plain_names {
        PlainNames::Upper if is_plain(name) => ident_exact(d, &name.to_ascii_uppercase()),
        _ => ident_exact(d, name),
    }
}

/// A name quoted for the dialect as it is written (a name the user quoted):
/// its closing quote doubled inside it. Names are validated with
/// `ident_problem` before rendering; should one get here anyway, what it
/// cannot hold is replaced, never written raw.
pub fn ident_exact(d: &Dialect, name: &str) -> String {
    let IdentifierQuote { open, close } = d.identifier_quote;
    // The common case, written in one pass (a wide spec quotes names by the million).
    if !name.contains(|c: char| c == close || c.is_control())
        && !d
            .identifier_refuse
            .iter()
            .any(|r| name.contains(r.as_str()))
    {
        let mut out = String::with_capacity(name.len() + 2);
        out.push(open);
        out.push_str(name);
        out.push(close);
        return out;
    }
    let mut safe: String = name
        .chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect();
    for refused in &d.identifier_refuse {
        safe = safe.replace(refused.as_str(), "\u{FFFD}");
    }
    let mut out = String::with_capacity(safe.len() + 2);
    out.push(open);
    for c in safe.chars() {
        if c == close {
            out.push(close);
        }
        out.push(c);
    }
    out.push(close);
    out
}

/// Standard escaping writes line breaks as `' || CHR(10) || '`, so a literal
/// holding one is wrapped in parentheses (see `StringEscapes`).
pub use crate::dialect::StringEscapes;

/// A NUL (refused before rendering by `string_problem`) is dropped, never written.
const NUL_REPLACED: (char, String) = ('\0', String::new());

/// The dialect's escapes, worked out once per dialect (every literal uses them).
pub fn string_escapes(d: &Dialect) -> &StringEscapes {
    d.escapes.get_or_init(|| escapes_of(d))
}

fn escapes_of(d: &Dialect) -> StringEscapes {
    match d.string_escape {
        // CHR and || are spelled the same by every standard-escape dialect.
        StringEscape::Standard => StringEscapes {
            prefix: String::new(),
            table: vec![
                NUL_REPLACED,
                ('\'', "''".into()),
                ('\n', "' || CHR(10) || '".into()),
                ('\r', "' || CHR(13) || '".into()),
            ],
            wrap_when: vec!['\n', '\r'],
        },
        StringEscape::Backslash => {
            let mut table = vec![
                NUL_REPLACED,
                ('\\', "\\\\".into()),
                ('\'', "\\'".into()),
                ('\n', "\\n".into()),
                ('\r', "\\r".into()),
            ];
            table.extend(d.string_also_escape.iter().map(|&c| (c, format!("\\{c}"))));
            StringEscapes {
                prefix: String::new(),
                table,
                wrap_when: vec![],
            }
        }
        // Each piece after a line break is a national literal too.
        StringEscape::National => StringEscapes {
            prefix: "N".into(),
            table: vec![
                NUL_REPLACED,
                ('\'', "''".into()),
                ('\n', "' + NCHAR(10) + N'".into()),
                ('\r', "' + NCHAR(13) + N'".into()),
            ],
            wrap_when: vec!['\n', '\r'],
        },
    }
}

/// A string literal for the dialect, quotes included.
pub fn string(d: &Dialect, text: &str) -> String {
    let escapes = string_escapes(d);
    let mut out = String::with_capacity(text.len() + 3);
    out.push_str(&escapes.prefix);
    out.push('\'');
    if !text.contains(|c: char| escapes.table.iter().any(|(from, _)| *from == c)) {
        out.push_str(text);
        out.push('\'');
        return out;
    }
    for c in text.chars() {
        match escapes.table.iter().find(|(from, _)| *from == c) {
            Some((_, to)) => out.push_str(to),
            None => out.push(c),
        }
    }
    out.push('\'');
    if text.contains(escapes.wrap_when.as_slice()) {
        format!("({out})")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::DialectName;

    #[test]
    fn names_double_the_quote_and_nothing_else() {
        let pg = DialectName::Postgres.get();
        assert_eq!(ident(pg, "we\"ird"), "\"we\"\"ird\"");
        assert_eq!(ident(pg, "a\\\"b"), "\"a\\\"\"b\"");
        assert_eq!(ident(pg, "two\"\"q"), "\"two\"\"\"\"q\"");
        let spark = DialectName::Databricks.get();
        assert_eq!(ident(spark, "a`b\\`"), "`a``b\\```");
        assert!(ident_problem(spark, "a${x}").is_some());
        assert!(ident_problem(DialectName::Bigquery.get(), "a\\b").is_some());
        assert!(ident_problem(pg, "a\nb").is_some());
        assert!(ident_problem(pg, "a b-c.d").is_none());
    }

    #[test]
    fn strings_escape_per_dialect() {
        let pg = DialectName::Postgres.get();
        assert_eq!(string(pg, "it's"), "'it''s'");
        assert_eq!(string(pg, "\\'"), "'\\'''");
        assert_eq!(
            string(pg, "a\r\nb"),
            "('a' || CHR(13) || '' || CHR(10) || 'b')"
        );
        let bq = DialectName::Bigquery.get();
        assert_eq!(string(bq, "a\\'b\n"), "'a\\\\\\'b\\n'");
        let spark = DialectName::Databricks.get();
        assert_eq!(string(spark, "${x}"), "'$\\{x}'");
    }

    #[test]
    fn comments_keep_to_their_line() {
        assert_eq!(comment("a\nb\r\u{2028}"), "a\\u{a}b\\u{d}\\u{2028}");
        assert_eq!(
            comment("f{{ x }}#}"),
            "f\\u{7b}\\u{7b} x \\u{7d}\\u{7d}#\\u{7d}"
        );
    }
}
