//! `prep report`: one self-contained page whose numbers are prep's own.

#![cfg(feature = "embedded")]

mod common;

use common::prep;

/// With the statistics of a fitted file, the page shows each of them as
/// scikit-learn names it, the source's missing values as counted in the
/// data, an SVG per column, and asks nothing of the network.
#[test]
fn the_page_holds_prep_s_numbers_and_nothing_from_elsewhere() {
    let root = common::root();
    let dir = common::scratch_dir("report-numbers");
    let spec = root
        .join("examples/penguins/penguins.yml")
        .to_string_lossy()
        .into_owned();
    let data = root
        .join("examples/penguins/penguins.csv")
        .to_string_lossy()
        .into_owned();
    let fitted = dir.join("p.fitted.yml").to_string_lossy().into_owned();
    let page = dir.join("p.html");
    let page_arg = page.to_string_lossy().into_owned();
    assert_eq!(
        prep(&["fit", &spec, "--data", &data, "--out", &fitted], &dir).0,
        0
    );
    let (code, _, stderr) = prep(
        &[
            "report", &spec, "--data", &data, "--params", &fitted, "--out", &page_arg,
        ],
        &dir,
    );
    assert_eq!(code, 0, "{stderr}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(prep::emit::is_generated(&html));
    for outside in [
        "http", "src=", "href=", "<script", "<link", "@import", "url(",
    ] {
        assert!(!html.contains(outside), "{outside}");
    }
    let (_, export, _) = prep(&["export-sklearn", &spec, "--params", &fitted], &dir);
    let export: serde_json::Value = serde_json::from_str(&export).unwrap();
    let mut checked = 0;
    for (feature, steps) in export["features"].as_object().unwrap() {
        assert!(html.contains(&format!("Feature <code>{feature}</code>")));
        for step in steps.as_array().unwrap() {
            for (name, value) in step["attributes"].as_object().unwrap() {
                if value.is_number() {
                    let cell = format!("<td>{name}</td><td class=\"n\">{value}</td>");
                    assert!(html.contains(&cell), "{feature} {name} {value}");
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 10, "{checked}");
    // bill_length_mm: the rows whose field is empty in the CSV.
    let csv = std::fs::read_to_string(&data).unwrap();
    let missing = csv
        .lines()
        .skip(1)
        .filter(|l| l.split(',').nth(3) == Some(""))
        .count();
    assert!(html.contains(&format!(
        "source bill_length_mm: {missing} of 344 rows missing"
    )));
    assert!(html.matches("<svg").count() >= 8);

    // Written again over its own page; never over a file prep did not write.
    assert_eq!(
        prep(
            &["report", &spec, "--data", &data, "--out", &page_arg],
            &dir
        )
        .0,
        0
    );
    std::fs::write(&page, "<p>mine</p>").unwrap();
    let (code, _, stderr) = prep(
        &["report", &spec, "--data", &data, "--out", &page_arg],
        &dir,
    );
    assert_eq!(code, 3, "{stderr}");
    assert_eq!(std::fs::read_to_string(&page).unwrap(), "<p>mine</p>");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Names and categories that are markup stay text; --compare adds the
/// drift table of the spec's `drift:`.
#[test]
fn markup_in_the_data_stays_text_and_drift_is_shown() {
    let dir = common::scratch_dir("report-hostile");
    std::fs::write(
        dir.join("d.csv"),
        "\"<script>x</script>\",plan\n1,<b>a</b>\n2,\"&amp; it's\"\n3,<b>a</b>\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("s.yml"),
        "name: h\nsource: {table: t}\nfeatures:\n  \"<script>x</script>\": [{scale: standard}]\n  plan: [{one_hot: {categories: [\"<b>a</b>\", \"&amp; it's\"], names: {\"<b>a</b>\": b, \"&amp; it's\": amp}}}]\ndrift: {bins: 2}\n",
    )
    .unwrap();
    let (code, _, stderr) = prep(
        &[
            "report",
            "s.yml",
            "--data",
            "d.csv",
            "--compare",
            "d.csv",
            "--out",
            "r.html",
        ],
        &dir,
    );
    assert_eq!(code, 0, "{stderr}");
    let html = std::fs::read_to_string(dir.join("r.html")).unwrap();
    assert!(!html.contains("<script") && !html.contains("<b>"), "{html}");
    assert!(html.contains("&lt;script&gt;x&lt;/script&gt;") && html.contains("&amp;amp; it&#39;s"));
    assert!(html.contains("Drift of the compared rows") && html.contains("js_divergence"));
    std::fs::remove_dir_all(&dir).unwrap();
}
