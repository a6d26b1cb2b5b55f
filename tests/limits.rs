//! The embedded engine within a memory limit: data larger than the limit is
//! spilled to a temporary folder (the user's, or one of prep's own, never
//! the current folder), and learns the same statistics.
#![cfg(feature = "embedded")]

mod common;

use common::{prep, scratch_dir};

/// 400,000 rows, each with a category of its own: counting the categories
/// needs more than 32 MB (the counts spill; a median would not: DuckDB keeps
/// a quantile's values in memory).
fn large_csv(dir: &std::path::Path) {
    let mut text = String::from("id,x,code\n");
    for i in 0..400_000u64 {
        let x = (i * 7919 % 100_003) as f64 / 7.0;
        text.push_str(&format!("{i},{x},c{:08}\n", i * 31 % 400_000));
    }
    std::fs::write(dir.join("big.csv"), text).unwrap();
    std::fs::write(
        dir.join("big.yml"),
        "name: big\nsource: {table: big}\nkeys: [id]\nfeatures:\n  x: [{impute: mean}, {scale: standard}]\n  code: [{ordinal: {handle_unknown: use_encoded_value, unknown_value: -1}}]\n",
    )
    .unwrap();
}

/// The fitted file without its time of fitting.
fn learned(path: &std::path::Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    (text.lines())
        .filter(|l| !l.contains("fitted_at"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_fit_beyond_the_memory_limit_spills_and_learns_the_same() {
    let dir = scratch_dir("limits-spill");
    large_csv(&dir);
    let fit = |extra: &[&str], out: &str| {
        let mut args = vec!["fit", "big.yml", "--data", "big.csv", "--out", out];
        args.extend_from_slice(extra);
        let (code, _, stderr) = prep(&args, &dir);
        (code, stderr)
    };
    let (code, stderr) = fit(&[], "free.fitted.yml");
    assert_eq!(code, 0, "{stderr}");
    let spill = dir.join("spill");
    let (code, stderr) = fit(
        &[
            "--memory-limit",
            "32MB",
            "--temp-dir",
            &spill.to_string_lossy(),
        ],
        "limited.fitted.yml",
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        learned(&dir.join("free.fitted.yml")),
        learned(&dir.join("limited.fitted.yml"))
    );
    // The engine does spill: with nowhere to spill, the same limit fails
    // (and says where it tried).
    let (code, stderr) = fit(
        &[
            "--memory-limit",
            "32MB",
            "--temp-dir",
            "/proc/prep-cannot-write-here",
        ],
        "failed.fitted.yml",
    );
    assert_ne!(code, 0, "the fit needs more than 32 MB: {stderr}");
    assert!(stderr.contains("prep-cannot-write-here"), "{stderr}");
    assert!(
        !dir.join("failed.fitted.yml").exists(),
        "nothing written on failure"
    );
    // Without --temp-dir, nothing is spilled into the current folder.
    assert_eq!(fit(&["--memory-limit", "32MB"], "default.fitted.yml").0, 0);
    assert!(!dir.join(".tmp").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_memory_limit_that_is_not_a_size_is_a_usage_error() {
    let dir = scratch_dir("limits-usage");
    for bad in ["lots", "4", "0GB", "GB", "4 parsecs"] {
        let (code, _, stderr) = prep(
            &["fit", "s.yml", "--data", "d.csv", "--memory-limit", bad],
            &dir,
        );
        assert_eq!(code, 2, "{bad}: {stderr}");
        assert!(stderr.contains("such as 4GB or 512MiB"), "{bad}: {stderr}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
