//! Helpers shared by the integration tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use prep::dialect::Dialect;
use prep::emit::{Artifact, EmitForm};
use sqlparser::ast::Statement;
use sqlparser::parser::Parser;

/// Runs the prep binary in `dir`, without colours: exit code, stdout, stderr.
pub fn prep(args: &[&str], dir: &Path) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_prep"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// An empty folder of this test run, created (removed first if left from before).
pub fn scratch_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("prep-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The files of a folder with this extension, sorted.
pub fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    v
}

/// Renders a dbt model the way dbt would, with `config`, `ref` and `source` stubbed.
pub fn render_dbt(d: &Dialect, text: &str) -> String {
    let (o, c) = (d.identifier_quote.open, d.identifier_quote.close);
    let mut env = minijinja::Environment::new();
    env.add_function("config", |_: minijinja::value::Kwargs| String::new());
    env.add_function("ref", move |name: String| format!("{o}{name}{c}"));
    env.add_function("source", move |a: String, b: String| {
        format!("{o}{a}{c}.{o}{b}{c}")
    });
    env.render_str(text, ())
        .unwrap_or_else(|e| panic!("dbt model does not render: {e:#}\n{text}"))
}

/// Parses an artifact back with the dialect's own parser: exactly one statement.
pub fn parse_back(d: &Dialect, form: EmitForm, artifact: &Artifact) -> Statement {
    let sql = match form {
        EmitForm::Sql | EmitForm::FitSql | EmitForm::DriftSql => artifact.contents.clone(),
        EmitForm::DbtModel | EmitForm::DbtPackage => render_dbt(d, &artifact.contents),
    };
    let parser = d.parser();
    let mut statements = Parser::parse_sql(parser.as_ref(), &sql).unwrap_or_else(|e| {
        panic!(
            "{} does not parse as {}: {e}\n{sql}",
            artifact.file_name, d.name
        )
    });
    assert_eq!(
        statements.len(),
        1,
        "{}: one statement expected",
        artifact.file_name
    );
    statements.remove(0)
}

/// The reference dialect: its output is stored whole, every other dialect's
/// as a line diff against it, so a reviewer reads each difference once.
pub const REFERENCE: prep::dialect::DialectName = prep::dialect::DialectName::Duckdb;

/// Snapshots `outputs` (one text per dialect, the reference's included) as
/// `{name}` (the reference's text) and `{name}@{dialect}` (a unified diff
/// against it), each headed by the spec it came from.
#[allow(dead_code)]
pub fn assert_dialect_snapshots(
    name: &str,
    spec: &Path,
    outputs: &[(prep::dialect::DialectName, String)],
    every_dialect: bool,
) {
    let spec = spec
        .strip_prefix(root())
        .unwrap_or(spec)
        .display()
        .to_string();
    let reference = &outputs
        .iter()
        .find(|(d, _)| *d == REFERENCE)
        .expect("the reference dialect is compiled")
        .1;
    let mut settings = insta::Settings::clone_current();
    settings.set_description(format!("spec: {spec}"));
    settings.set_omit_expression(true);
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        insta::assert_snapshot!(format!("{name}@{REFERENCE}"), reference);
        let text_of = |d| {
            outputs
                .iter()
                .find(|(o, _)| *o == d)
                .map(|(_, t)| t.as_str())
        };
        let snapshotted = |d| every_dialect || ORDER.contains(d);
        for (d, text) in outputs
            .iter()
            .filter(|(d, _)| *d != REFERENCE && snapshotted(d))
        {
            let diff = smallest_diff(*d, text, text_of);
            insta::assert_snapshot!(format!("{name}@{d}.diff"), diff);
        }
    });
}

/// `text` (of dialect `d`) as a diff against `base_text` (of `base`), both
/// spelled as the reference (see `in_reference_spelling`).
#[allow(dead_code)]
pub fn dialect_diff(
    base: prep::dialect::DialectName,
    base_text: &str,
    d: prep::dialect::DialectName,
    text: &str,
) -> String {
    let (base_text, _) = in_reference_spelling(base_text, base.get());
    let (text, swapped) = in_reference_spelling(text, d.get());
    let (base_text, text) = (unplaced_hunks(&base_text), unplaced_hunks(&text));
    line_diff(
        &base_text,
        &text,
        Some((&base.to_string(), &format!("{d}{swapped}"))),
    )
}

/// The compiled text with the positions of its own hunks (the other forms,
/// stored as diffs against `--emit sql`) left out: between dialects they
/// only move with the lines of the SQL before them, which the diff shows
/// already; what each hunk holds stays compared.
fn unplaced_hunks(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let at = (line.strip_prefix("@@ -"))
            .and_then(|rest| rest.split_once(','))
            .filter(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        match at {
            Some((_, rest)) => {
                out.push_str("@@ -…,");
                out.push_str(rest);
            }
            None => out.push_str(line),
        }
    }
    out
}

/// A line diff as the snapshots store it: hunks without context (the base
/// is stored whole), and a line changed in place shown once, with only what
/// changed marked: `[-old-]{+new+}`, unchanged stretches over 28 characters
/// cut to their ends around `…n…` (n characters left out), and a long run of
/// removed lines cut to its ends; a long run of added lines shows its ends
/// and the hash of the lines between. Every byte of the new text stays
/// pinned: the old one replayed through the diff, or hashed.
#[allow(dead_code)]
pub fn line_diff(old: &str, new: &str, header: Option<(&str, &str)>) -> String {
    use similar::{DiffOp, TextDiff};
    let diff = TextDiff::from_lines(old, new);
    let mut out = String::new();
    if diff
        .ops()
        .iter()
        .all(|op| matches!(op, DiffOp::Equal { .. }))
    {
        return out;
    }
    if let Some((a, b)) = header {
        out.push_str(&format!("--- {a}\n+++ {b}\n"));
    }
    let (olds, news) = (diff.old_slices(), diff.new_slices());
    let line = |l: &str| l.strip_suffix('\n').unwrap_or(l).to_string();
    for op in diff.ops() {
        let (o, ol, n, nl) = match *op {
            DiffOp::Equal { .. } => continue,
            DiffOp::Delete {
                old_index,
                old_len,
                new_index,
            } => (old_index, old_len, new_index, 0),
            DiffOp::Insert {
                old_index,
                new_index,
                new_len,
            } => (old_index, 0, new_index, new_len),
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => (old_index, old_len, new_index, new_len),
        };
        // Where the new lines go follows from the old position and the
        // hunks before: the header says only how many lines go and come.
        let _ = n;
        out.push_str(&format!("@@ -{},{ol} +{nl} @@\n", o + 1));
        let paired = ol.min(nl);
        for i in 0..paired {
            out.push_str(&format!(
                "~{}\n",
                inline_diff(&line(olds[o + i]), &line(news[n + i]))
            ));
        }
        // Lines that only go are in the base: a long run shows its ends.
        let gone = &olds[o + paired..o + ol];
        for (i, l) in gone.iter().enumerate() {
            if gone.len() <= 4 || i < 2 || i + 1 == gone.len() {
                out.push_str(&format!("-{}\n", line(l)));
            } else if i == 2 {
                out.push_str(&format!("-… {} more lines …\n", gone.len() - 3));
            }
        }
        // A long run of added lines shows its ends and pins the lines between
        // by their hash: a change to any of them still fails the snapshot.
        let added = &news[n + paired..n + nl];
        for (i, l) in added.iter().enumerate() {
            if added.len() <= 8 || i < 3 || i + 2 >= added.len() {
                out.push_str(&format!("+{}\n", line(l)));
            } else if i == 3 {
                let between = &added[3..added.len() - 2];
                out.push_str(&format!(
                    "+… {} more lines, sha256 {} …\n",
                    between.len(),
                    short_hash(&between.concat())
                ));
            }
        }
    }
    out
}

/// The first 12 hex digits of the SHA-256 of `text`.
fn short_hash(text: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// One changed line: unchanged words as they are (long stretches cut to
/// their ends), removed ones in `[-…-]`, added ones in `{+…+}`.
fn inline_diff(old: &str, new: &str) -> String {
    use similar::{ChangeTag, TextDiff};
    let (old, new) = (tokens(old), tokens(new));
    let diff = TextDiff::from_slices(&old, &new);
    // Runs of one kind of change, in order.
    let mut runs: Vec<(ChangeTag, String)> = Vec::new();
    for change in diff.iter_all_changes() {
        match runs.last_mut() {
            Some((tag, text)) if *tag == change.tag() => text.push_str(change.value()),
            _ => runs.push((change.tag(), change.value().to_string())),
        }
    }
    let mut out = String::new();
    for (tag, text) in runs {
        match tag {
            ChangeTag::Equal => {
                let chars: Vec<char> = text.chars().collect();
                if chars.len() > 28 {
                    let head: String = chars[..10].iter().collect();
                    let tail: String = chars[chars.len() - 10..].iter().collect();
                    out.push_str(&format!("{head}…{}…{tail}", chars.len() - 20));
                } else {
                    out.push_str(&text);
                }
            }
            ChangeTag::Delete => out.push_str(&format!("[-{text}-]")),
            ChangeTag::Insert => out.push_str(&format!("{{+{text}+}}")),
        }
    }
    out
}

/// A line as words (letters, digits and `_`) and single other characters,
/// so a changed function name or type is marked alone.
fn tokens(line: &str) -> Vec<&str> {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in line.char_indices() {
        let end = i + c.len_utf8();
        let joins = line[start..i]
            .chars()
            .last()
            .is_some_and(|p| word(p) && word(c));
        if i > start && !joins {
            out.push(&line[start..i]);
            start = i;
        }
        if !word(c) {
            out.push(&line[start..end]);
            start = end;
        }
    }
    if start < line.len() {
        out.push(&line[start..]);
    }
    out
}

/// The order dialects are stored in: each as a diff against whichever
/// dialect before it gives the smallest diff (the first is the reference,
/// stored whole), so each difference is stored about once and every text
/// can be rebuilt from the ones before it. These first, then any other
/// dialect in alphabetical order (a new dialect needs no line here).
const ORDER: [prep::dialect::DialectName; 6] = {
    use prep::dialect::DialectName::*;
    [Duckdb, Postgres, Databricks, Bigquery, Redshift, Snowflake]
};

fn order() -> impl Iterator<Item = prep::dialect::DialectName> {
    let rest = (prep::dialect::DialectName::ALL.iter()).filter(|d| !ORDER.contains(d));
    ORDER.into_iter().chain(rest.copied())
}

/// `text` of dialect `d` as a diff against the dialect before it in
/// `ORDER` (whose text `text_of` gives) that makes the smallest diff.
#[allow(dead_code)]
pub fn smallest_diff<'a>(
    d: prep::dialect::DialectName,
    text: &str,
    text_of: impl Fn(prep::dialect::DialectName) -> Option<&'a str>,
) -> String {
    let before = order().take_while(|&o| o != d);
    (before.filter_map(|b| text_of(b).map(|t| dialect_diff(b, t, d, text))))
        .min_by_key(String::len)
        .expect("the reference comes first")
}

/// The swaps that spell dialect `d` as the reference: its identifier quote
/// and type names, and its name in the header comments. Each is swapped
/// both ways (a bijection: nothing is hidden), except where no one-to-one
/// swap exists (`one_way`): a pair of quotes such as `[` `]` is written `"`,
/// a national literal `N'...'` as a plain one.
fn spelling_pairs(d: &Dialect) -> Vec<(String, String, bool)> {
    let reference = REFERENCE.get();
    let mut pairs: Vec<(String, String, bool)> = Vec::new();
    let (q, r) = (d.identifier_quote, reference.identifier_quote);
    if q.open == q.close && r.open == r.close && q.open != r.open {
        pairs.push((q.open.to_string(), r.open.to_string(), false));
    } else if q.open != q.close && r.open == r.close {
        for c in [q.open, q.close] {
            pairs.push((c.to_string(), r.open.to_string(), true));
        }
    }
    let (mine, theirs) = (
        &prep::render::quote::string_escapes(d).prefix,
        &prep::render::quote::string_escapes(reference).prefix,
    );
    if mine != theirs {
        pairs.push((format!("{mine}'"), format!("{theirs}'"), true));
    }
    for (mine, theirs) in [
        (&d.double_type, &reference.double_type),
        (&d.string_type, &reference.string_type),
    ] {
        if mine != theirs {
            pairs.push((format!("AS {mine})"), format!("AS {theirs})"), false));
        }
    }
    if d.name != reference.name {
        pairs.push((
            format!(" for {}: ", d.name),
            format!(" for {}: ", reference.name),
            false,
        ));
    }
    pairs
}

/// What spelling dialect `d` as the reference swaps, in words: the same for
/// every spec, so it is stored once (the `dialect_spellings` snapshot) and
/// each diff's header only says that it is spelled so.
#[allow(dead_code)]
pub fn spelling_note(d: &Dialect) -> String {
    let mut named: Vec<String> = (spelling_pairs(d).iter())
        .map(|(a, b, one_way)| format!("{a} {} {b}", if *one_way { "->" } else { "<->" }))
        .collect();
    if d.plain_names == prep::dialect::PlainNames::Upper {
        named.push("plain names lower-cased".to_string());
    }
    named.join(", ")
}

/// A dialect's text with its identifier quote and its type names swapped
/// with the reference's (`spelling_pairs`), so the diff shows what differs
/// beyond spelling; the diff's header says the text was spelled so.
fn in_reference_spelling(text: &str, d: &Dialect) -> (String, String) {
    // A dialect that writes plain names in upper case: read back in lower
    // case, as the reference writes them (a quoted name the spec wrote in
    // upper case reads lower here too, and so differs from the reference).
    let folded;
    let text = if d.plain_names == prep::dialect::PlainNames::Upper {
        folded = plain_names_lowered(text, d.identifier_quote.open);
        folded.as_str()
    } else {
        text
    };
    let pairs = spelling_pairs(d);
    if pairs.is_empty() && d.plain_names != prep::dialect::PlainNames::Upper {
        return (text.to_string(), String::new());
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'scan: while let Some(c) = rest.chars().next() {
        for (a, b, one_way) in &pairs {
            let back = (!one_way).then_some((b, a));
            for (from, to) in std::iter::once((a, b)).chain(back) {
                // `[-` and `-]` mark a word diff (of --inline against the
                // sql form): not quotes.
                let marker =
                    (from == "[" && rest.starts_with("[-")) || (from == "]" && out.ends_with('-'));
                if marker {
                    continue;
                }
                if let Some(after) = rest.strip_prefix(from.as_str()) {
                    out.push_str(to);
                    rest = after;
                    continue 'scan;
                }
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    (out, format!(" (spelled as {REFERENCE})"))
}

/// `text` with every quoted name made of upper-case letters, digits and `_`
/// written in lower case.
fn plain_names_lowered(text: &str, quote: char) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(quote) {
        out.push_str(&rest[..=start]);
        rest = &rest[start + quote.len_utf8()..];
        let Some(end) = rest.find(quote) else { break };
        let name = &rest[..end];
        let plain = name.starts_with(|c: char| c.is_ascii_uppercase() || c == '_')
            && name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        out.push_str(&if plain {
            name.to_ascii_lowercase()
        } else {
            name.to_string()
        });
        out.push(quote);
        rest = &rest[end + quote.len_utf8()..];
    }
    out.push_str(rest);
    out
}
