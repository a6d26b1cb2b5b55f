//! Reading a spec's YAML: tags refused, and the YAML library's errors said
//! in the spec's words, each with its place.

use super::Spec;
use crate::diagnostic::{Code, Diagnostic, Span, did_you_mean};

/// Parses a spec, turning YAML and shape errors into located diagnostics.
pub fn parse(text: &str) -> Result<Spec, Diagnostic> {
    // A tag starts with `!`: a text without one needs no second reading.
    if text.contains('!') {
        refuse_tags(text)?;
    }
    serde_saphyr::from_str::<Spec>(text).map_err(|e| yaml_diagnostic(&e))
}

/// YAML tags other than the core schema's (`!!str`, `!!int`, ...) change a
/// value behind the reader's back (`!!binary` decodes base64 into text) or
/// mean nothing to prep (`!custom`): a spec says what it means in plain values.
fn refuse_tags(text: &str) -> Result<(), Diagnostic> {
    use granit_parser::Event;
    for event in granit_parser::Parser::new_from_str(text) {
        // Syntax errors are reported by the deserializer, with its message.
        let Ok((event, place)) = event else {
            return Ok(());
        };
        let tag = match &event {
            Event::Scalar(_, _, _, tag)
            | Event::SequenceStart(_, _, tag)
            | Event::MappingStart(_, _, tag) => tag,
            _ => continue,
        };
        if let Some(tag) = tag
            && tag.core_suffix().is_none()
        {
            let start = place.start;
            let len = match (start.byte_offset(), place.end.byte_offset()) {
                (Some(a), Some(b)) => b.saturating_sub(a),
                _ => 1,
            };
            return Err(Diagnostic::new(
                Code::Yaml,
                format!(
                    "the YAML tag `{}{}` is not supported in a spec",
                    tag.original_handle(),
                    tag.suffix()
                ),
            )
            .at(Some(Span {
                line: start.line() as u64,
                column: start.col() as u64 + 1,
                len,
            }))
            .hint("write the value itself, without a tag (quote it to make it a text)"));
        }
    }
    Ok(())
}

fn yaml_diagnostic(e: &serde_saphyr::Error) -> Diagnostic {
    let span = e.location().as_ref().and_then(Span::from_location);
    let full = e.without_snippet().to_string();
    let first = full.lines().next().unwrap_or_default();
    // The library wraps the message in "error: line L column C: ... at line L, column C";
    // our own header carries the place.
    let mut message = first.strip_prefix("error: ").unwrap_or(first);
    if let Some((prefix, rest)) = message.split_once(": ")
        && prefix.starts_with("line ")
    {
        message = rest;
    }
    if let Some(i) = message.rfind(" at line ") {
        message = &message[..i];
    }
    // The library names Rust types in some messages: say it in the spec's words.
    let message = match message.split_once("; use Option<") {
        Some((head, _)) => head
            .replace(
                "cannot deserialize null into string",
                "a text is needed here, but the value is null (`~`, `null` or nothing)",
            )
            .replace(
                "cannot deserialize null into",
                "a value is needed here, but it is null:",
            ),
        None => message.to_string(),
    };
    if message.starts_with("budget breached") {
        return Diagnostic::new(
            Code::Yaml,
            "the YAML is too large or too repetitive to read (more aliases, nodes or nesting than a spec needs)",
        )
        .at(span)
        .hint("write the values out instead of repeating one anchor (`&x` / `*x`) many times");
    }
    if let Some((unknown, expected)) = unknown_name(&message) {
        let hint = match did_you_mean(&unknown, expected.iter().map(String::as_str)) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("expected one of: {}", expected.join(", ")),
        };
        return Diagnostic::new(Code::UnknownName, message)
            .at(span)
            .hint(hint);
    }
    if let Some(rest) = message.strip_prefix("duplicate mapping key: ") {
        let key = rest.split(',').next().unwrap_or(rest);
        return Diagnostic::new(
            Code::NameCollision,
            format!("`{key}` appears twice in the same map"),
        )
        .at(span)
        .hint("each key may appear once in a map: merge the two entries or rename one");
    }
    if message.starts_with("while parsing") || message.starts_with("while scanning") {
        return Diagnostic::new(Code::Yaml, format!("invalid YAML: {message}"))
            .at(span)
            .hint("check the YAML syntax near this place (indentation, brackets, quotes)");
    }
    Diagnostic::new(Code::InvalidValue, message)
        .at(span)
        .hint("see the README's \"Spec reference\", or run `prep schema` for the JSON Schema")
}

/// Reads serde's "unknown field `x`, expected one of `a`, `b`" (or "unknown variant").
fn unknown_name(message: &str) -> Option<(String, Vec<String>)> {
    let rest = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("unknown variant `"))?;
    let (name, rest) = rest.split_once('`')?;
    let expected = rest
        .split_once("expected ")
        .map(|(_, e)| e.trim_start_matches("one of "))
        .unwrap_or("")
        .split(", ")
        .map(|s| s.trim_matches(['`', ' ']).to_string())
        .filter(|s| !s.is_empty() && !s.starts_with("there are no"))
        .collect();
    Some((name.to_string(), expected))
}
