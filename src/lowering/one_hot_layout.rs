//! scikit-learn's OneHotEncoder.fit on learned counts: which categories get a
//! column, which are grouped as infrequent, and which column `drop` removes.

use crate::encoding::{Frequency, OneHotStep, dropped_category};
use crate::fitted::Category;
use crate::naming;
use crate::spec::{Drop, Scalar};

use super::scalar_of;

/// Which output column `drop` removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dropped {
    None,
    /// The column of `frequent[i]`.
    Category(usize),
    /// The infrequent column.
    Infrequent,
}

/// The output columns of a one-hot encoder: its frequent categories in
/// order (`None` is the missing value), then one column for the infrequent ones.
pub(super) struct OneHotLayout {
    /// scikit-learn's `categories_`.
    pub categories: Vec<Option<Scalar>>,
    pub frequent: Vec<Option<Scalar>>,
    pub infrequent: Vec<Option<Scalar>>,
    pub dropped: Dropped,
}

impl OneHotLayout {
    pub fn given(oh: &OneHotStep, categories: &[Scalar]) -> OneHotLayout {
        let dropped = dropped_category(oh, categories)
            .and_then(|d| categories.iter().position(|c| c == d))
            .map_or(Dropped::None, Dropped::Category);
        let mut all: Vec<Option<Scalar>> = categories.iter().cloned().map(Some).collect();
        if oh.missing_listed {
            all.push(None);
        }
        OneHotLayout {
            categories: all.clone(),
            frequent: all,
            infrequent: Vec::new(),
            dropped,
        }
    }

    /// scikit-learn's OneHotEncoder.fit on the learned counts: categories
    /// (given, or learned in sorted order with the missing value last),
    /// infrequent grouping (`_identify_infrequent`), then `drop`.
    pub fn fitted(
        oh: &OneHotStep,
        entries: &[Category],
        rows: f64,
    ) -> Result<OneHotLayout, String> {
        let categories = counted(oh, entries);
        if categories.is_empty() {
            return Err("no categories were seen in the training rows".into());
        }
        let counts: Vec<f64> = categories.iter().map(|(_, n)| *n).collect();
        let infrequent = infrequent_flags(oh.min_frequency, oh.max_categories, &counts, rows);
        let (mut frequent, mut rare) = (Vec::new(), Vec::new());
        for ((c, _), is_rare) in categories.iter().zip(&infrequent) {
            if *is_rare {
                rare.push(c.clone())
            } else {
                frequent.push(c.clone())
            }
        }
        let dropped = dropped_after_grouping(oh, &frequent, &rare)?;
        Ok(OneHotLayout {
            categories: categories.into_iter().map(|(c, _)| c).collect(),
            frequent,
            infrequent: rare,
            dropped,
        })
    }
}

/// Each category with its count: the given ones in their order (a given
/// category never seen counts 0), or the learned ones as learned.
fn counted(oh: &OneHotStep, entries: &[Category]) -> Vec<(Option<Scalar>, f64)> {
    match &oh.categories {
        Some(given) => {
            let mut counted: Vec<_> = (given.iter().cloned().map(Some))
                .zip(counts_of(given, entries))
                .collect();
            // The missing value listed last: a category with its count.
            if oh.missing_listed {
                let missing = entries
                    .iter()
                    .filter(|e| e.value == crate::fitted::Value::Null);
                counted.push((None, missing.map(|e| e.frequency).sum()));
            }
            counted
        }
        None => (entries.iter())
            .map(|e| (scalar_of(&e.value), e.frequency))
            .collect(),
    }
}

/// The learned count of each of `categories` (0 for one never seen), found
/// by a lookup, not a scan of the learned entries per category (20,000
/// learned categories made that 400 million comparisons).
pub(super) fn counts_of(categories: &[Scalar], entries: &[Category]) -> Vec<f64> {
    // Equal as `Scalar`s compare: numbers by value (-0 is 0), texts exactly.
    let key = |s: &Scalar| match s {
        Scalar::Number(n) => (0u8, (n + 0.0).to_bits().to_string()),
        Scalar::String(t) => (1, t.clone()),
        Scalar::Bool(b) => (2, b.to_string()),
    };
    let mut learned: std::collections::HashMap<(u8, String), f64> = Default::default();
    for e in entries {
        if let Some(value) = scalar_of(&e.value) {
            *learned.entry(key(&value)).or_default() += e.frequency;
        }
    }
    (categories.iter())
        .map(|c| learned.get(&key(c)).copied().unwrap_or(0.0))
        .collect()
}

/// scikit-learn's `_identify_infrequent`: below `min_frequency`, then the
/// least frequent beyond `max_categories - 1`.
pub(super) fn infrequent_flags(
    min_frequency: Option<Frequency>,
    max_categories: Option<u32>,
    counts: &[f64],
    rows: f64,
) -> Vec<bool> {
    let mut infrequent: Vec<bool> = match min_frequency {
        Some(Frequency::Count(min)) => counts.iter().map(|&n| n < min as f64).collect(),
        Some(Frequency::Fraction(f)) => counts.iter().map(|&n| n < rows * f).collect(),
        None => vec![false; counts.len()],
    };
    let n_current = counts.len() - infrequent.iter().filter(|&&x| x).count() + 1;
    if let Some(max) = max_categories.map(|m| m as usize)
        && max < n_current
    {
        let keep = max - 1;
        if keep == 0 {
            infrequent.iter_mut().for_each(|x| *x = true);
        } else {
            // A stable sort by count: ties keep the category order, so the
            // later categories among equals stay frequent.
            let mut order: Vec<usize> = (0..counts.len()).collect();
            order.sort_by(|&a, &b| counts[a].total_cmp(&counts[b]));
            for &i in &order[..order.len() - keep] {
                infrequent[i] = true;
            }
        }
    }
    infrequent
}

/// The column `drop` removes once categories are grouped: 'first' and
/// 'if_binary' drop the first column (the first frequent category, or the
/// infrequent column when every category is infrequent).
fn dropped_after_grouping(
    oh: &OneHotStep,
    frequent: &[Option<Scalar>],
    rare: &[Option<Scalar>],
) -> Result<Dropped, String> {
    let n_out = frequent.len() + usize::from(!rare.is_empty());
    let first_column = if frequent.is_empty() {
        Dropped::Infrequent
    } else {
        Dropped::Category(0)
    };
    Ok(match &oh.drop {
        None => Dropped::None,
        Some(Drop::IfBinary) if n_out != 2 => Dropped::None,
        Some(Drop::First | Drop::IfBinary) => first_column,
        Some(Drop::Category(c)) => {
            if rare.contains(&Some(c.clone())) {
                return Err(format!(
                    "the category {} to drop is infrequent",
                    naming::category_text(c)
                ));
            }
            match frequent.iter().position(|f| f.as_ref() == Some(c)) {
                Some(i) => Dropped::Category(i),
                None => {
                    return Err(format!(
                        "the category {} to drop was not seen in the training rows",
                        naming::category_text(c)
                    ));
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fitted::Value;
    use crate::spec::OneHotUnknown;

    fn one_hot(
        min_frequency: Option<Frequency>,
        max_categories: Option<u32>,
        drop: Option<Drop>,
    ) -> OneHotStep {
        OneHotStep {
            categories: None,
            missing_listed: false,
            drop,
            handle_unknown: OneHotUnknown::Ignore,
            min_frequency,
            max_categories,
            names: Default::default(),
            span: None,
        }
    }

    fn entries(counts: &[(&str, f64)]) -> Vec<Category> {
        counts
            .iter()
            .map(|(v, n)| Category {
                value: Value::Text(v.to_string()),
                frequency: *n,
            })
            .collect()
    }

    fn text(v: &[&str]) -> Vec<Option<Scalar>> {
        v.iter()
            .map(|s| Some(Scalar::String(s.to_string())))
            .collect()
    }

    #[test]
    fn max_categories_breaks_ties_like_scikit_learn() {
        // docs/semantics.md: a, b, c, d seen twice each, max_categories=3: c and d are kept.
        let layout = OneHotLayout::fitted(
            &one_hot(None, Some(3), None),
            &entries(&[("a", 2.0), ("b", 2.0), ("c", 2.0), ("d", 2.0)]),
            8.0,
        )
        .unwrap();
        assert_eq!(layout.frequent, text(&["c", "d"]));
        assert_eq!(layout.infrequent, text(&["a", "b"]));
    }

    #[test]
    fn min_frequency_counts_and_fractions() {
        let counts = entries(&[("a", 1.0), ("b", 5.0), ("c", 4.0)]);
        let by_count = OneHotLayout::fitted(
            &one_hot(Some(Frequency::Count(2)), None, None),
            &counts,
            10.0,
        )
        .unwrap();
        assert_eq!(by_count.infrequent, text(&["a"]));
        let by_fraction = OneHotLayout::fitted(
            &one_hot(Some(Frequency::Fraction(0.45)), None, None),
            &counts,
            10.0,
        )
        .unwrap();
        assert_eq!(by_fraction.frequent, text(&["b"]));
        assert_eq!(by_fraction.infrequent, text(&["a", "c"]));
    }

    #[test]
    fn drop_first_drops_the_first_column_after_grouping() {
        // scikit-learn 1.9: categories a (infrequent), b, c; drop='first' drops b.
        let counts = entries(&[("a", 1.0), ("b", 5.0), ("c", 4.0)]);
        let layout = OneHotLayout::fitted(
            &one_hot(Some(Frequency::Count(2)), None, Some(Drop::First)),
            &counts,
            10.0,
        )
        .unwrap();
        assert_eq!(layout.dropped, Dropped::Category(0));
        assert_eq!(layout.frequent[0], Some(Scalar::String("b".into())));
        // Dropping an infrequent category by name is refused, as scikit-learn does.
        let named = one_hot(
            Some(Frequency::Count(2)),
            None,
            Some(Drop::Category(Scalar::String("a".into()))),
        );
        assert!(OneHotLayout::fitted(&named, &counts, 10.0).is_err());
    }
}
