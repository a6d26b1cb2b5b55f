//! One diagnostic type for every user-facing error: a code, a message, where
//! it happened (file:line:col) and a hint. Rendered with colour for people
//! (annotate-snippets), plain when piped, and as JSON for tools.

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use serde::Serialize;

/// A place in a spec file. Lines and columns are 1-based (columns count
/// characters); `len` is the length of the marked text in bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Span {
    pub line: u64,
    pub column: u64,
    #[serde(skip)]
    pub len: usize,
}

impl Span {
    pub fn from_location(loc: &serde_saphyr::Location) -> Option<Span> {
        if loc.line() == 0 {
            return None;
        }
        Some(Span {
            line: loc.line(),
            column: loc.column(),
            len: loc.span().byte_len().unwrap_or(0) as usize,
        })
    }

    /// The byte range this place covers in `source` (at least one character where there is one).
    fn byte_range(&self, source: &str) -> std::ops::Range<usize> {
        let line_start: usize = source
            .split_inclusive('\n')
            .take(self.line.saturating_sub(1) as usize)
            .map(str::len)
            .sum();
        let line_text = source[line_start.min(source.len())..]
            .split('\n')
            .next()
            .unwrap_or("");
        let column: usize = line_text
            .chars()
            .take(self.column.saturating_sub(1) as usize)
            .map(char::len_utf8)
            .sum();
        let start = (line_start + column).min(source.len());
        let rest = &source[start..];
        let first_char = rest.chars().next().map_or(0, char::len_utf8);
        let len = if self.len > 0 && rest.is_char_boundary(self.len.min(rest.len())) {
            self.len.min(rest.len())
        } else {
            first_char
        };
        start..start + len
    }
}

/// Stable codes, documented in the README ("Errors").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Code {
    /// The file is not valid YAML.
    #[serde(rename = "E001")]
    Yaml,
    /// A key, step or option name that prep does not know.
    #[serde(rename = "E002")]
    UnknownName,
    /// A value of the wrong type or out of range.
    #[serde(rename = "E003")]
    InvalidValue,
    /// Steps that contradict each other or the column's type.
    #[serde(rename = "E004")]
    StepConflict,
    /// Two outputs (or inputs) with the same name, or a name a dialect cannot hold.
    #[serde(rename = "E005")]
    NameCollision,
    /// `fit.where` is not a valid SQL expression.
    #[serde(rename = "E006")]
    InvalidFilter,
    /// The requested output needs values only a fit can learn.
    #[serde(rename = "E007")]
    NeedsFittedValues,
    /// A file cannot be read or written.
    #[serde(rename = "E008")]
    Io,
    /// Fitted parameters that do not belong to this spec, or cannot be read.
    #[serde(rename = "E009")]
    ParamsMismatch,
    /// Data that does not fit the spec (missing column, wrong type, unreadable file).
    #[serde(rename = "E010")]
    Data,
    /// prep contradicted itself: a bug in prep, never the user's input.
    #[serde(rename = "E011")]
    Internal,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Yaml => "E001",
            Code::UnknownName => "E002",
            Code::InvalidValue => "E003",
            Code::StepConflict => "E004",
            Code::NameCollision => "E005",
            Code::InvalidFilter => "E006",
            Code::NeedsFittedValues => "E007",
            Code::Io => "E008",
            Code::ParamsMismatch => "E009",
            Code::Data => "E010",
            Code::Internal => "E011",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub code: Code,
    pub message: String,
    pub file: String,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub span: Option<Span>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Diagnostic {
    /// prep contradicted itself (`what` says how): reported as a bug in
    /// prep, with what to send, instead of a panic.
    pub fn internal(what: impl std::fmt::Display) -> Diagnostic {
        Diagnostic::new(
            Code::Internal,
            format!(
                "internal error: {what}; this is a bug in prep {}",
                env!("CARGO_PKG_VERSION")
            ),
        )
        .hint("please report it with the spec and the command that showed it; nothing was written")
    }

    pub fn new(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            message: message.into(),
            file: String::new(),
            span: None,
            hint: None,
        }
    }

    pub fn at(mut self, span: Option<Span>) -> Diagnostic {
        self.span = span;
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }

    pub fn in_file(mut self, file: &str) -> Diagnostic {
        if self.file.is_empty() {
            self.file = file.to_string();
        }
        self
    }

    /// `file:line:col` (or just the file when the place is unknown).
    pub fn location(&self) -> String {
        match &self.span {
            Some(s) => format!("{}:{}:{}", self.file, s.line, s.column),
            None => self.file.clone(),
        }
    }

    /// A human rendering with the offending source line; `styled` adds colour.
    pub fn render(&self, source: &str, styled: bool) -> String {
        let location = self.location();
        let title = if location.is_empty() {
            self.message.clone()
        } else {
            format!("{location}: {}", self.message)
        };
        let mut group = Group::with_title(Level::ERROR.primary_title(title).id(self.code.as_str()));
        if let Some(span) = self.span.as_ref().filter(|_| !source.is_empty()) {
            group = group.element(
                Snippet::source(source)
                    .path(self.file.as_str())
                    .annotation(AnnotationKind::Primary.span(span.byte_range(source))),
            );
        }
        let mut report = vec![group];
        if let Some(hint) = &self.hint {
            report.push(Group::with_title(
                Level::HELP.secondary_title(hint.as_str()),
            ));
        }
        let renderer = if styled {
            Renderer::styled()
        } else {
            Renderer::plain()
        };
        renderer.render(&report).to_string()
    }
}

/// Several diagnostics: prep reports every problem it finds in a spec, not just the first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_result<T>(self, value: T) -> Result<T, Diagnostics> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }

    pub fn in_file(self, file: &str) -> Diagnostics {
        Diagnostics(self.0.into_iter().map(|d| d.in_file(file)).collect())
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}

/// "did you mean" for a misspelt name, when one candidate is close enough.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(name, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3) && *d < c.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}
