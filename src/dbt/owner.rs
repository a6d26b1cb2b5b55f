//! Who owns a spec's models and what consumes them, in dbt's terms: the
//! spec's `owner` becomes a dbt group (its features model public, its
//! params model protected), and `dbt.exposure` an exposure of the features
//! model owned by the same owner.

use std::collections::BTreeMap;

use crate::emit::jinja_string;

use super::schema::yaml_text;
use super::{PackageNames, PackageSpec};

/// The dbt group of an owner: a name made of the owner's letters and
/// digits, in the package's namespace (two packages may share an owner).
pub(super) fn group_name(package: &str, owner: &str) -> String {
    let mut slug = String::new();
    for c in owner.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('_') {
            slug.push('_');
        }
    }
    let slug = slug.trim_matches('_');
    format!(
        "{package}__{}",
        if slug.is_empty() { "owner" } else { slug }
    )
}

/// A dbt owner: an email address as `email`, anything else as `name`.
fn owner_entry(owner: &str) -> String {
    let key = if owner.contains('@') { "email" } else { "name" };
    format!("{{{key}: {}}}", yaml_text(owner))
}

/// The `groups:` of the package's schema: one per owner of a spec.
pub(super) fn groups(specs: &[PackageSpec], names: &PackageNames) -> String {
    let owners: BTreeMap<String, &str> = (specs.iter())
        .filter_map(|s| s.model.owner.as_deref())
        .map(|o| (group_name(&names.package, o), o))
        .collect();
    if owners.is_empty() {
        return String::new();
    }
    let mut out = String::from("groups:\n");
    for (group, owner) in owners {
        out.push_str(&format!(
            "  - name: {group}\n    owner: {}\n",
            owner_entry(owner)
        ));
    }
    out
}

/// The `exposures:` of the package's schema: one per spec that names what
/// consumes its features.
pub(super) fn exposures(specs: &[PackageSpec], names: &PackageNames) -> String {
    let mut out = String::new();
    for spec in specs {
        let (Some(e), Some(owner)) = (&spec.model.dbt.exposure, &spec.model.owner) else {
            continue;
        };
        let model = names.features_model(&spec.ir.name);
        out.push_str(&format!(
            "  - name: {}\n    type: {}\n    owner: {}\n    depends_on: [{}]\n",
            e.name,
            e.kind.name(),
            owner_entry(owner),
            yaml_text(&format!(
                "ref({}, {})",
                jinja_string(&names.package),
                jinja_string(&model)
            ))
        ));
        if let Some(m) = e.maturity {
            out.push_str(&format!("    maturity: {}\n", m.name()));
        }
        if let Some(url) = &e.url {
            out.push_str(&format!("    url: {}\n", yaml_text(url)));
        }
        let description = (e.description.clone())
            .unwrap_or_else(|| format!("Reads the features of spec `{}`.", spec.ir.name));
        out.push_str(&format!("    description: {}\n", yaml_text(&description)));
    }
    if out.is_empty() {
        return out;
    }
    format!("exposures:\n{out}")
}

#[cfg(test)]
mod tests {
    use super::group_name;

    #[test]
    fn a_group_is_named_after_its_owner_in_the_package() {
        assert_eq!(
            group_name("prep", "Growth Analytics"),
            "prep__growth_analytics"
        );
        assert_eq!(group_name("prep", "ana@x.io"), "prep__ana_x_io");
        assert_eq!(group_name("prep", "«»"), "prep__owner");
    }
}
