//! `prep report`: one self-contained HTML page of what a spec does to its
//! data — per feature the steps in words, the learned statistics (in
//! scikit-learn's names), the source's missing share and distribution, and
//! each output's distribution, drawn as inline SVG. No script, no style
//! sheet or font from elsewhere: it opens from a file:// address offline.

use crate::text::HEADER_MARK;

/// How a column's values are spread.
#[derive(Debug, Clone, PartialEq)]
pub enum Spread {
    /// Equal-width bins from `min` to `max`, with their counts.
    Numeric {
        min: f64,
        max: f64,
        counts: Vec<u64>,
    },
    /// The most frequent values with their counts, most frequent first.
    Categories(Vec<(String, u64)>),
    /// No value to draw.
    Empty,
}

/// One column of the page: its rows, missing values and spread.
#[derive(Debug, Clone, PartialEq)]
pub struct Distribution {
    pub rows: u64,
    pub missing: u64,
    pub spread: Spread,
}

/// One output column of a feature.
pub struct OutputReport {
    pub name: String,
    pub doc: String,
    pub distribution: Distribution,
}

/// One feature: its source column, what was learned, its outputs.
pub struct FeatureReport {
    pub column: String,
    /// (step, transformer, attribute, value as text).
    pub statistics: Vec<(String, String, String, String)>,
    pub source: Distribution,
    /// With an encoder: of the source's non-missing values, how many hold a
    /// category it did not learn (unknown) and how many one it groups as
    /// infrequent.
    pub categories: Option<CategoryShares>,
    pub outputs: Vec<OutputReport>,
}

/// See `FeatureReport::categories`.
pub struct CategoryShares {
    pub unknown: u64,
    pub infrequent: u64,
}

/// Text as HTML: nothing in it can open a tag or an entity.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;max-width:60em;color:#222}\
h1{font-size:1.5em}h2{font-size:1.2em;border-top:1px solid #ccc;padding-top:1em}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:.2em .5em;text-align:left}\
td.n{text-align:right;font-variant-numeric:tabular-nums}.bar{fill:#4a7ab5}.muted{color:#777}\
figure{display:inline-block;margin:.5em 1em .5em 0}figcaption{font-size:.85em}";

/// The page. `title` names the spec, `origin` the data it was drawn from.
pub fn page(
    title: &str,
    origin: &str,
    features: &[FeatureReport],
    drift: Option<&Table>,
) -> String {
    let mut out = format!(
        "<!-- {HEADER_MARK}: the report of spec {}. Do not edit: run `prep report` again. -->\n\
         <!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>prep: {}</title><style>{STYLE}</style></head><body>\n\
         <h1>Spec <code>{}</code></h1>\n<p class=\"muted\">{}</p>\n",
        crate::text::comment(title).replace("--", "- -"),
        escape(title),
        escape(title),
        escape(origin)
    );
    for f in features {
        out.push_str(&feature_section(f));
    }
    if let Some(table) = drift {
        out.push_str("<h2>Drift of the compared rows</h2>\n");
        out.push_str(&html_table(table));
    }
    out.push_str("</body></html>\n");
    out
}

/// A table: its header and rows, as text.
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

fn html_table(t: &Table) -> String {
    let mut out = String::from("<table><tr>");
    for h in &t.header {
        out.push_str(&format!("<th>{}</th>", escape(h)));
    }
    out.push_str("</tr>\n");
    for row in &t.rows {
        out.push_str("<tr>");
        for cell in row {
            let class = if cell.parse::<f64>().is_ok() {
                " class=\"n\""
            } else {
                ""
            };
            out.push_str(&format!("<td{class}>{}</td>", escape(cell)));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
    out
}

fn feature_section(f: &FeatureReport) -> String {
    let mut out = format!("<h2>Feature <code>{}</code></h2>\n", escape(&f.column));
    if !f.statistics.is_empty() {
        let table = Table {
            header: ["step", "scikit-learn", "attribute", "learned value"]
                .map(String::from)
                .to_vec(),
            rows: (f.statistics.iter())
                .map(|(s, t, a, v)| vec![s.clone(), t.clone(), a.clone(), v.clone()])
                .collect(),
        };
        out.push_str(&html_table(&table));
    }
    out.push_str(&figure(&format!("source {}", f.column), &f.source));
    if let Some(c) = &f.categories {
        let rows = f.source.rows;
        let share = |n: u64| {
            format!(
                "{n} of {rows} rows ({:.1}%)",
                100.0 * n as f64 / rows.max(1) as f64
            )
        };
        out.push_str(&format!(
            "<p class=\"shares\">Encoder: {} hold a category it did not learn (unknown); {} one it groups as infrequent.</p>\n",
            share(c.unknown),
            share(c.infrequent)
        ));
    }
    for o in &f.outputs {
        out.push_str(&format!(
            "<p><code>{}</code>: {}</p>\n",
            escape(&o.name),
            escape(&o.doc)
        ));
        out.push_str(&figure(&format!("output {}", o.name), &o.distribution));
    }
    out
}

/// A distribution as an SVG bar chart with its caption.
fn figure(what: &str, d: &Distribution) -> String {
    let missing = if d.rows == 0 {
        "no rows".to_string()
    } else {
        format!(
            "{} of {} rows missing ({:.1}%)",
            d.missing,
            d.rows,
            100.0 * d.missing as f64 / d.rows as f64
        )
    };
    let (bars, labels) = match &d.spread {
        Spread::Numeric { min, max, counts } => (
            counts.clone(),
            format!(
                "{} to {}",
                crate::text::float_text(*min),
                crate::text::float_text(*max)
            ),
        ),
        Spread::Categories(values) => (
            values.iter().map(|(_, n)| *n).collect(),
            values
                .iter()
                .map(|(v, n)| format!("{v}: {n}"))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        Spread::Empty => (Vec::new(), "no value".into()),
    };
    format!(
        "<figure>{}<figcaption>{}: {}; {}</figcaption></figure>\n",
        svg(&bars),
        escape(what),
        escape(&missing),
        escape(&labels)
    )
}

fn svg(counts: &[u64]) -> String {
    let (width, height) = (240.0, 60.0);
    let top = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let step = width / counts.len().max(1) as f64;
    let mut out = format!("<svg width=\"{width}\" height=\"{height}\" role=\"img\">");
    for (i, &n) in counts.iter().enumerate() {
        let h = height * n as f64 / top;
        out.push_str(&format!(
            "<rect class=\"bar\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\"><title>{n}</title></rect>",
            i as f64 * step,
            height - h,
            (step - 1.0).max(1.0)
        ));
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_cannot_become_markup() {
        assert_eq!(
            escape("<b a=\"x\">&'"),
            "&lt;b a=&quot;x&quot;&gt;&amp;&#39;"
        );
        let f = FeatureReport {
            column: "<script>alert(1)</script>".into(),
            statistics: vec![("1".into(), "T".into(), "a".into(), "</td>".into())],
            source: Distribution {
                rows: 2,
                missing: 1,
                spread: Spread::Categories(vec![("<i>".into(), 1)]),
            },
            categories: Some(CategoryShares {
                unknown: 1,
                infrequent: 0,
            }),
            outputs: Vec::new(),
        };
        let html = page("x", "d", &[f], None);
        assert!(!html.contains("<script") && !html.contains("<i>") && !html.contains("</td></td>"));
    }
}
