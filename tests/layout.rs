//! The shape of the code, checked: no source file over 600 lines, no function
//! over 80, no cycle between the library's modules, and snapshots small
//! enough to review.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_FILE_LINES: usize = 600;
/// All snapshots together: what a reviewer can read (each dialect is stored
/// as a diff, see tests/common/mod.rs). 600 KB until `power`, whose three
/// passes over a grid of λ take 81 KB on six dialects.
const MAX_SNAPSHOT_BYTES: u64 = 680_000;
const MAX_FUNCTION_LINES: usize = 80;

fn sources() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&common::root().join("src"), &mut out);
    out.sort();
    out
}

/// Every Rust file of the package: the sources and the build script.
fn code_files() -> Vec<PathBuf> {
    let mut files = sources();
    files.push(common::root().join("build.rs"));
    files
}

fn relative(path: &Path) -> String {
    path.strip_prefix(common::root())
        .unwrap()
        .to_string_lossy()
        .replace('\\', "/")
}

#[test]
fn no_source_file_is_over_the_limit() {
    let long: Vec<String> = code_files()
        .iter()
        .map(|p| {
            (
                relative(p),
                std::fs::read_to_string(p).unwrap().lines().count(),
            )
        })
        .filter(|(_, n)| *n > MAX_FILE_LINES)
        .map(|(p, n)| format!("{p}: {n} lines"))
        .collect();
    assert!(
        long.is_empty(),
        "files over {MAX_FILE_LINES} lines:\n{}",
        long.join("\n")
    );
}

/// `(file, function, lines)` of every function: from its `fn` line to the
/// closing brace at the same indentation.
fn functions() -> Vec<(String, String, usize)> {
    let mut out = Vec::new();
    for path in code_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let trimmed = line.trim_start();
            let indent = &line[..line.len() - trimmed.len()];
            let signature = [
                "fn ",
                "pub fn ",
                "pub(crate) fn ",
                "pub(super) fn ",
                "const fn ",
            ]
            .iter()
            .find_map(|p| trimmed.strip_prefix(p));
            let Some(rest) = signature else { continue };
            if line.trim_end().ends_with(';') {
                continue;
            }
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let close = format!("{indent}}}");
            if let Some(end) = lines[i + 1..].iter().position(|l| l.trim_end() == close) {
                out.push((relative(&path), name, end + 2));
            }
        }
    }
    out
}

#[test]
fn no_function_is_over_the_limit() {
    let long: Vec<String> = functions()
        .into_iter()
        .filter(|(_, _, lines)| *lines > MAX_FUNCTION_LINES)
        .map(|(file, name, lines)| format!("{file}: `{name}` has {lines} lines"))
        .collect();
    assert!(
        long.is_empty(),
        "functions over {MAX_FUNCTION_LINES} lines (split them into functions named for what they do):\n{}",
        long.join("\n")
    );
}

/// The library's modules and the modules each one names (`crate::x`, `use crate::{x, ..}`).
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let root = common::root().join("src");
    let binary = ["main", "cli"];
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for path in sources() {
        let rel = path
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let module = rel.split(['/', '.']).next().unwrap().to_string();
        if binary.contains(&module.as_str()) || module == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let deps = graph.entry(module.clone()).or_default();
        let mut rest = text.as_str();
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            let names: Vec<&str> = match rest.strip_prefix('{') {
                Some(group) => {
                    let group = &group[..group.find('}').unwrap_or(group.len())];
                    group
                        .split(',')
                        .map(|s| s.trim().split("::").next().unwrap_or(""))
                        .collect()
                }
                None => vec![
                    rest.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .next()
                        .unwrap_or(""),
                ],
            };
            for name in names {
                let is_module =
                    root.join(format!("{name}.rs")).exists() || root.join(name).is_dir();
                if !name.is_empty() && name != module && is_module && !binary.contains(&name) {
                    deps.insert(name.to_string());
                }
            }
        }
    }
    graph
}

#[test]
fn modules_form_no_cycle() {
    let graph = module_graph();
    let reach = |from: &str| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_string()];
        while let Some(m) = stack.pop() {
            for d in graph.get(&m).into_iter().flatten() {
                if seen.insert(d.clone()) {
                    stack.push(d.clone());
                }
            }
        }
        seen
    };
    let cycles: Vec<String> = graph
        .iter()
        .flat_map(|(m, deps)| deps.iter().map(move |d| (m, d)))
        .filter(|(m, d)| reach(d).contains(*m))
        .map(|(m, d)| format!("{m} -> {d} -> ... -> {m}"))
        .collect();
    assert!(cycles.is_empty(), "module cycles:\n{}", cycles.join("\n"));
    // The IR is the vocabulary of the stages: it names nothing above it.
    let ir: Vec<&String> = graph["ir"].iter().collect();
    let below = ["diagnostic", "encoding", "naming", "spec", "text"];
    assert!(
        ir.iter().all(|d| below.contains(&d.as_str())),
        "ir depends on {ir:?}"
    );
    assert!(
        graph["text"].is_empty(),
        "text is a leaf: {:?}",
        graph["text"]
    );
}

#[test]
fn snapshots_stay_reviewable() {
    let dir = common::root().join("tests/snapshots");
    let files = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path());
    let (count, bytes) = files
        .filter(|p| p.extension().is_some_and(|e| e == "snap"))
        .fold((0, 0), |(n, b), p| {
            (n + 1, b + std::fs::metadata(p).unwrap().len())
        });
    assert!(count > 100, "{count} snapshots");
    assert!(
        bytes < MAX_SNAPSHOT_BYTES,
        "the {count} snapshots hold {bytes} bytes (at most {MAX_SNAPSHOT_BYTES}): store the new ones as diffs"
    );
}
