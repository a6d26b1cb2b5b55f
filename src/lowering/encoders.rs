//! The encoders' output columns: one-hot and ordinal, with their learned
//! vocabularies, scikit-learn's handling of unknown and missing values, and
//! the deferred form the dbt package writes when categories are learned.

use crate::encoding::{OneHotStep, OrdinalStep};
use crate::fitted::{Category, Fitted, Value};
use crate::ir::build::*;
use crate::ir::{ApplyItem, Attr, Cond, Deferred, DeferredEncoder, Expr, Output, Vocabulary};
use crate::naming;
use crate::spec::{ColumnType, OneHotUnknown, OrdinalUnknown, Scalar};

use super::one_hot_layout::{Dropped, OneHotLayout, infrequent_flags};
use super::{FeatureLowering, Lineage, ROWS_PARAM, literal, member, scalar_of, steps_before};

impl FeatureLowering<'_> {
    /// Learns the categories of `row` (and their counts) from data; returns the vocabulary's name.
    fn vocabulary(&mut self, row: &Expr) -> String {
        let level = self.stage_level(&Lineage::Opaque, row);
        let step = self.feature.last_step;
        let name = self.name(&format!("s{step}_categories"));
        self.fit.vocabularies.push(Vocabulary {
            name: name.clone(),
            feature: self.feature.column.clone(),
            level,
            expr: row.clone(),
            value_type: self.feature.column_type,
            quantiles: None,
        });
        name
    }

    pub(crate) fn one_hot(
        &mut self,
        oh: &OneHotStep,
        row: &Expr,
        docs: &[String],
    ) -> Vec<ApplyItem> {
        let layout = match self.one_hot_layout(oh, row) {
            Ok(layout) => layout,
            Err(learned) => return vec![*learned],
        };
        self.record_one_hot(&layout);
        let known: Vec<Option<Scalar>> = (layout.frequent.iter())
            .chain(&layout.infrequent)
            .cloned()
            .collect();
        let is_known = member(row, &known);
        // With handle_unknown: error, one value checks the row against every
        // known category once and stops the query on an unknown one; the
        // columns then read it (a check in each column would repeat the whole
        // category list in every one).
        let checked;
        let row = match (oh.handle_unknown, &is_known) {
            (OneHotUnknown::Error, Some(known)) => {
                checked = self.fit.shared(case(
                    vec![(known.clone(), row.clone())],
                    self.fail(row, self.feature.column_type),
                ));
                &checked
            }
            _ => row,
        };
        self.one_hot_columns(oh, &layout, row, is_known, docs)
    }

    /// The categories and their layout: given in the spec, read from fitted
    /// values, or (without them) a learned item the fit or dbt writes later.
    fn one_hot_layout(
        &mut self,
        oh: &OneHotStep,
        row: &Expr,
    ) -> Result<OneHotLayout, Box<ApplyItem>> {
        let needs_data = oh.categories.is_none() || oh.groups_infrequent();
        if !needs_data {
            return Ok(OneHotLayout::given(
                oh,
                oh.categories.as_deref().unwrap_or_default(),
            ));
        }
        let encoder = DeferredEncoder::OneHot(oh.clone());
        let (fitted, entries) = self.counted(row, encoder, oh.categories.is_some())?;
        let rows = fitted.number(ROWS_PARAM).unwrap_or(0.0);
        OneHotLayout::fitted(oh, entries, rows)
            .map_err(|reason| Box::new(self.learned(&reason, None)))
    }

    /// scikit-learn's fitted attributes of the encoder.
    fn record_one_hot(&mut self, layout: &OneHotLayout) {
        let drop_idx = match layout.dropped {
            Dropped::None => None,
            Dropped::Category(i) => {
                (layout.categories.iter()).position(|c| *c == layout.frequent[i])
            }
            Dropped::Infrequent => {
                (layout.categories.iter()).position(|c| Some(c) == layout.infrequent.first())
            }
        };
        let infrequent = if layout.infrequent.is_empty() {
            Attr::Null
        } else {
            Attr::Values(layout.infrequent.clone())
        };
        self.record(
            self.feature.last_step,
            "OneHotEncoder",
            vec![
                ("categories_", Attr::Values(layout.categories.clone())),
                ("drop_idx_", Attr::Index(drop_idx)),
                ("infrequent_categories_", infrequent),
            ],
        );
    }

    /// One column per frequent category kept, then the infrequent column.
    fn one_hot_columns(
        &self,
        oh: &OneHotStep,
        layout: &OneHotLayout,
        row: &Expr,
        is_known: Option<Cond>,
        docs: &[String],
    ) -> Vec<ApplyItem> {
        let feature = self.feature;
        let column = &feature.column;
        let prefix = steps_before(docs);
        let output = |name: String, arms: Vec<(Cond, Expr)>, otherwise: Expr, what: String| {
            ApplyItem::Output(Output {
                name,
                expr: case(arms, otherwise),
                doc: format!("`{column}`: {prefix}1 where the value is {what}, else 0"),
                span: feature.span.clone(),
                text: false,
            })
        };
        let mut items = Vec::new();
        for (i, c) in layout.frequent.iter().enumerate() {
            // One category: always a condition (a value, or IS NULL).
            let Some(is_c) = member(row, std::slice::from_ref(c)) else {
                continue;
            };
            if layout.dropped == Dropped::Category(i) {
                continue;
            }
            let suffix =
                (c.as_ref()).map_or_else(|| naming::MISSING_SUFFIX.to_string(), |c| oh.suffix(c));
            let what = (c.as_ref()).map_or_else(|| "missing".to_string(), naming::category_text);
            let name = naming::one_hot_column(column, &suffix);
            items.push(output(name, vec![(is_c, num(1.0))], num(0.0), what));
        }
        let is_infrequent = member(row, &layout.infrequent);
        if let Some(is_infrequent) = is_infrequent
            && layout.dropped != Dropped::Infrequent
        {
            let mut arms = vec![(is_infrequent, num(1.0))];
            let otherwise = match (oh.handle_unknown, is_known) {
                (unknown, Some(known)) if unknown.groups_unknown() => {
                    arms.push((known, num(0.0)));
                    num(1.0)
                }
                // With handle_unknown: error, the row was checked already.
                _ => num(0.0),
            };
            let listed: Vec<String> = (layout.infrequent.iter())
                .map(|c| c.as_ref().map_or("missing".into(), naming::category_text))
                .collect();
            let or_unknown = if oh.handle_unknown.groups_unknown() {
                " or unknown"
            } else {
                ""
            };
            let what = format!("infrequent ({}){or_unknown}", listed.join(", "));
            items.push(output(
                naming::infrequent_column(column),
                arms,
                otherwise,
                what,
            ));
        }
        items
    }

    /// Stops the query, naming the unknown category; typed as `as_type`, so it
    /// can stand where a value of that type does.
    fn fail(&self, row: &Expr, as_type: ColumnType) -> Expr {
        let fail = Expr::Fail {
            message: format!("prep: unknown category in column {}: ", self.feature.column),
            value: Box::new(row.clone()),
        };
        match as_type {
            ColumnType::Numeric => Expr::ToDouble(Box::new(fail)),
            ColumnType::String => Expr::ToText(Box::new(fail)),
        }
    }

    pub(crate) fn learned(&self, reason: &str, deferred: Option<Deferred>) -> ApplyItem {
        ApplyItem::Learned {
            feature: self.feature.column.clone(),
            reason: reason.to_string(),
            span: self.feature.span.clone(),
            deferred,
        }
    }

    pub(crate) fn ordinal(&mut self, ord: &OrdinalStep, row: &Expr, docs: &[String]) -> ApplyItem {
        let feature = self.feature;
        let column = &feature.column;
        let layout = match self.ordinal_layout(ord, row) {
            Ok(layout) => layout,
            Err(learned) => return *learned,
        };
        let OrdinalLayout {
            frequent,
            infrequent,
            missing_seen,
            categories,
        } = layout;
        let mut categories_: Vec<Option<Scalar>> = categories.into_iter().map(Some).collect();
        if missing_seen {
            categories_.push(None);
        }
        let mut attributes = vec![("categories_", Attr::Values(categories_))];
        if ord.groups_infrequent() {
            let listed = (!infrequent.is_empty())
                .then(|| Attr::Values(infrequent.iter().cloned().map(Some).collect()));
            attributes.push(("infrequent_categories_", listed.unwrap_or(Attr::Null)));
        }
        self.record(feature.last_step, "OrdinalEncoder", attributes);
        let code = |v: Option<f64>| v.map_or(Expr::Null, num);
        // As scikit-learn: a missing value gets encoded_missing_value only when
        // it is among the categories (seen in training); otherwise it is unknown.
        let mut arms = Vec::new();
        if missing_seen {
            arms.push((Cond::IsNull(row.clone()), code(ord.encoded_missing_value)));
        }
        arms.extend(
            (frequent.iter().enumerate())
                .map(|(i, c)| (Cond::Eq(row.clone(), literal(c)), num(i as f64))),
        );
        // The infrequent categories share the code after the frequent ones.
        let listed: Vec<Option<Scalar>> = infrequent.iter().cloned().map(Some).collect();
        if let Some(is_infrequent) = member(row, &listed) {
            arms.push((is_infrequent, num(frequent.len() as f64)));
        }
        let otherwise = match ord.handle_unknown {
            // In place of a code.
            OrdinalUnknown::Error => self.fail(row, ColumnType::Numeric),
            OrdinalUnknown::UseEncodedValue => code(ord.unknown_value),
        };
        let prefix = steps_before(docs);
        let texts = |cs: &[Scalar]| {
            cs.iter()
                .map(naming::category_text)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let grouped = if infrequent.is_empty() {
            String::new()
        } else {
            format!(
                ", {} where infrequent ({})",
                frequent.len(),
                texts(&infrequent)
            )
        };
        ApplyItem::Output(Output {
            name: column.clone(),
            text: false,
            expr: case(arms, otherwise),
            doc: format!(
                "`{column}`: {prefix}position of the value in [{}], from 0{grouped}",
                texts(&frequent)
            ),
            span: self.feature.span.clone(),
        })
    }

    /// The ordinal categories: given, or learned (sorted, the missing value
    /// apart), and with `min_frequency`/`max_categories` which are infrequent,
    /// decided from the learned counts (the missing value never is, as in
    /// scikit-learn's OrdinalEncoder). Without fitted values, a learned item.
    fn ordinal_layout(
        &mut self,
        ord: &OrdinalStep,
        row: &Expr,
    ) -> Result<OrdinalLayout, Box<ApplyItem>> {
        if let (Some(given), false) = (&ord.categories, ord.groups_infrequent()) {
            return Ok(OrdinalLayout {
                frequent: given.clone(),
                infrequent: Vec::new(),
                missing_seen: ord.missing_listed,
                categories: given.clone(),
            });
        }
        let encoder = DeferredEncoder::Ordinal(ord.clone());
        let (fitted, entries) = self.counted(row, encoder, ord.categories.is_some())?;
        let categories: Vec<Scalar> = match &ord.categories {
            Some(given) => given.clone(),
            None => entries.iter().filter_map(|c| scalar_of(&c.value)).collect(),
        };
        // Learned, the missing value is a category of scikit-learn's, sorted
        // last, but always encoded as encoded_missing_value: no code of its own.
        let missing_seen = ord.missing_listed
            || (ord.categories.is_none() && entries.iter().any(|c| c.value == Value::Null));
        let counts = super::one_hot_layout::counts_of(&categories, entries);
        let rows = fitted.number(ROWS_PARAM).unwrap_or(0.0);
        let flags = infrequent_flags(ord.min_frequency, ord.max_categories, &counts, rows);
        let (mut frequent, mut infrequent) = (Vec::new(), Vec::new());
        for (c, rare) in categories.iter().zip(flags) {
            if rare {
                infrequent.push(c.clone());
            } else {
                frequent.push(c.clone());
            }
        }
        Ok(OrdinalLayout {
            frequent,
            infrequent,
            missing_seen,
            categories,
        })
    }
}

impl<'a> FeatureLowering<'a> {
    /// The categories of `row` with their counts, as the fit learned them,
    /// for `encoder`; without fitted values, the learned item the encoder
    /// becomes (the dbt package writes it when its model compiles).
    /// `given`: the spec lists the categories, and only their infrequent
    /// grouping needs the counts.
    fn counted(
        &mut self,
        row: &Expr,
        encoder: DeferredEncoder,
        given: bool,
    ) -> Result<(&'a Fitted, &'a [Category]), Box<ApplyItem>> {
        let vocabulary = self.vocabulary(row);
        let fitted = self.fitted;
        if let Some(found) = fitted.and_then(|f| f.vocabularies.get(&vocabulary).map(|v| (f, v))) {
            return Ok((found.0, found.1.as_slice()));
        }
        let reason = match (&encoder, given) {
            (_, true) => {
                "min_frequency / max_categories decide from the data which categories are infrequent"
            }
            (DeferredEncoder::Ordinal(_), false) => {
                "its ordinal categories are learned from the data"
            }
            _ => "its one_hot categories are learned from the data",
        };
        let deferred = Deferred {
            vocabulary,
            row: row.clone(),
            encoder,
        };
        Err(Box::new(self.learned(reason, Some(deferred))))
    }
}

/// An ordinal encoder's categories: all of them (in order), the frequent
/// ones (codes 0..), the infrequent ones (one code after them), and whether
/// the missing value was seen in training.
struct OrdinalLayout {
    categories: Vec<Scalar>,
    frequent: Vec<Scalar>,
    infrequent: Vec<Scalar>,
    missing_seen: bool,
}
