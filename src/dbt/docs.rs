//! The package's docs blocks: one per output column of a spec (learned
//! columns too when the package is pinned with `--params`), and one per
//! encoder whose categories are only known when dbt compiles the model. The
//! package's schema describes its columns with them, and a project's own
//! scoring models can reuse them: `description: "{{ doc('prep', 'churn__usage') }}"`.

use std::collections::BTreeSet;

use crate::emit::jinja_escape;
use crate::ir::{ApplyItem, DeferredEncoder};

use super::{PackageNames, PackageSpec};

/// The docs blocks of one spec, by name, in output order.
pub(super) struct Docs {
    /// (output column, docs name) of each column the schema describes.
    pub columns: Vec<(String, String)>,
    /// (docs name, text) of every block.
    pub blocks: Vec<(String, String)>,
}

impl Docs {
    pub fn of(&self, column: &str) -> Option<&str> {
        (self.columns.iter())
            .find(|(c, _)| c == column)
            .map(|(_, d)| d.as_str())
    }
}

/// A plain name: what a docs block can be called after.
fn plain(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A docs block name: `<model>__<column>` for a plain column name, else (or
/// when that name is taken) one made from a hash of it, so that any column
/// gets a name dbt accepts and no two blocks share one.
fn block_name(model: &str, what: &str, taken: &mut BTreeSet<String>) -> String {
    use sha2::{Digest, Sha256};
    let readable = format!("{model}__{what}");
    let name = if plain(what) && !taken.contains(&readable) {
        readable
    } else {
        let digest = Sha256::digest(format!("{model}\0{what}").as_bytes());
        let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
        format!("{model}__c{hex}")
    };
    taken.insert(name.clone());
    name
}

/// The docs blocks of `spec`'s features model.
pub(super) fn docs(spec: &PackageSpec, names: &PackageNames) -> Docs {
    let model = names.features_model(&spec.ir.name);
    let mut taken = BTreeSet::new();
    let (mut columns, mut blocks) = (Vec::new(), Vec::new());
    for item in &spec.ir.apply.items {
        match item {
            ApplyItem::Output(o) => {
                let name = block_name(&model, &o.name, &mut taken);
                columns.push((o.name.clone(), name.clone()));
                blocks.push((name, o.doc.clone()));
            }
            ApplyItem::Learned {
                feature, deferred, ..
            } => {
                if let Some(DeferredEncoder::Present { doc }) =
                    deferred.as_ref().map(|d| &d.encoder)
                {
                    // One column of a known name, written where the fit says
                    // so: documented, but not listed among the model's columns.
                    let name = block_name(&model, feature, &mut taken);
                    blocks.push((
                        name,
                        format!("{doc} (only where the training rows have a missing value)"),
                    ));
                    continue;
                }
                let name = block_name(&model, &format!("{feature}__learned"), &mut taken);
                let what = match deferred.as_ref().map(|d| &d.encoder) {
                    Some(DeferredEncoder::Ordinal(_)) => {
                        "position of the value in the categories learned by the fit, from 0"
                    }
                    Some(DeferredEncoder::Bins { .. }) => {
                        "one column per bin learned by the fit (`_0`, `_1`, ...), 1 where the value falls in that bin, else 0"
                    }
                    _ => {
                        "one column per category learned by the fit (named after it), 1 where the value is that category, else 0"
                    }
                };
                blocks.push((name, format!("`{feature}`: {what}")));
            }
        }
    }
    Docs { columns, blocks }
}

/// The `.md` file of a spec's docs blocks (dbt renders a block's text as
/// Jinja, so the text is escaped).
pub(super) fn docs_file(header: &str, docs: &Docs) -> String {
    let mut out = format!("{{# {header} #}}\n");
    for (name, text) in &docs.blocks {
        out.push_str(&format!(
            "\n{{% docs {name} %}}\n{}\n{{% enddocs %}}\n",
            jinja_escape(text)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_column_gets_a_distinct_usable_name() {
        let mut taken = BTreeSet::new();
        let names: Vec<String> = ["usage", "Usage", "a b", "usage", "x__learned"]
            .iter()
            .map(|c| block_name("churn", c, &mut taken))
            .collect();
        assert_eq!(names[0], "churn__usage");
        assert_eq!(names.len(), names.iter().collect::<BTreeSet<_>>().len());
        assert!(names.iter().all(|n| plain(n)), "{names:?}");
    }
}
