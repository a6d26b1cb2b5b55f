//! An aligned text table for `prep preview` and `prep diff`.

/// Columns left-aligned for text, right-aligned when every value is a number.
pub fn aligned(names: &[String], rows: &[Vec<Option<String>>]) -> String {
    let cell = |v: &Option<String>| v.clone().unwrap_or_else(|| "NULL".into());
    let widths: Vec<usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            rows.iter()
                .map(|r| cell(&r[i]).chars().count())
                .chain([n.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let numeric: Vec<bool> = (0..names.len())
        .map(|i| {
            rows.iter()
                .all(|r| r[i].as_ref().is_none_or(|v| v.parse::<f64>().is_ok()))
        })
        .collect();
    let pad = |text: &str, i: usize| {
        let fill = " ".repeat(widths[i] - text.chars().count());
        if numeric[i] {
            format!("{fill}{text}")
        } else {
            format!("{text}{fill}")
        }
    };
    let mut out = String::new();
    let line = |cells: Vec<String>| cells.join(" | ").trim_end().to_string() + "\n";
    out += &line(names.iter().enumerate().map(|(i, n)| pad(n, i)).collect());
    out += &line(widths.iter().map(|w| "-".repeat(*w)).collect());
    for r in rows {
        out += &line(
            r.iter()
                .enumerate()
                .map(|(i, v)| pad(&cell(v), i))
                .collect(),
        );
    }
    out
}
