//! The apply query: per-row outputs reading the fitted parameters (pivoted
//! back from the long form, or bound as literals), with the values later
//! expressions share computed once; and the inline form, fit and apply in
//! one statement.

use std::collections::BTreeSet;

use sqlparser::ast::{BinaryOperator, Ident, Query};

use super::ast::{self, Relation, SelectBuilder};
use super::fit::FitCtes;
use super::{FITTED, PARAMS, ParamScope, ParamsFrom, ParamsRelation, ROW, Renderer, print, quote};
use crate::diagnostic::{Code, Diagnostic, Span};
use crate::dialect::Func;
use crate::ir::{self, ApplyItem, HASH_PARAM, ParamId};
use crate::spec::ColumnType;

impl Renderer<'_> {
    /// The one-row parameters relation, pivoted back from the long form.
    /// Only the parameters the apply reads: the fit keeps the others (for
    /// `export-sklearn` and for reading), the apply need not pivot them.
    ///
    /// The row exists only when the relation was fitted for this spec: a
    /// different `prep_spec_hash` (a changed spec, or another spec's
    /// parameters) stops the query with both hashes in the message, so
    /// stale statistics are never applied silently. The check is the
    /// row's filter, so no engine can prune it.
    pub(super) fn pivot_params(&self, long: Relation, read: &BTreeSet<ParamId>) -> Query {
        let d = self.d;
        let pick = |name: &str, value_type: ColumnType| {
            let column = match value_type {
                ColumnType::Numeric => "number",
                ColumnType::String => "text",
            };
            let is_it = ast::binary(
                BinaryOperator::Eq,
                ast::column(d, None, "parameter"),
                ast::string(d, name),
            );
            let value = ast::case(vec![(is_it, ast::column(d, None, column))], ast::null());
            ast::call(d, Func::Max, [("X", value)])
        };
        let mut b = SelectBuilder::default();
        let hash = self.ir.spec_hash();
        let fitted_for = pick(HASH_PARAM, ColumnType::String);
        if hash.is_some() {
            b = b.item(fitted_for.clone(), Some(self.id(HASH_PARAM)));
        }
        // The hash is pivoted once, above, even when an output reads it too.
        let read: Vec<&ir::Param> = (read.iter())
            .map(|&id| &self.ir.fit.params[id])
            .filter(|p| hash.is_none() || p.name != HASH_PARAM)
            .collect();
        let items = self.items(&read, |r, p| {
            Some((pick(&p.name, p.value_type), Some(r.id(&p.name))))
        });
        let b = b
            .printed_items(items.into_iter().flatten())
            .from(long, None);
        let Some(expected) = hash else {
            return b.build();
        };
        // Every value the fit stores is there, once: a row lost or repeated
        // (a partial copy, a hand edit) stops the query like a wrong hash.
        let stored = ir::Param::stored(&self.ir.fit.params).count();
        let is_value = ast::binary(
            BinaryOperator::And,
            ast::binary(
                BinaryOperator::Eq,
                ast::column(d, None, "kind"),
                ast::string(d, "value"),
            ),
            ast::binary(
                BinaryOperator::NotEq,
                ast::column(d, None, "parameter"),
                ast::string(d, crate::ir::FITTED_AT),
            ),
        );
        let values = ast::call(
            d,
            Func::Count,
            [(
                "X",
                ast::case(vec![(is_value, ast::integer(1))], ast::null()),
            )],
        );
        let matches = ast::binary(
            BinaryOperator::And,
            ast::binary(
                BinaryOperator::Eq,
                fitted_for.clone(),
                ast::string(self.d, expected),
            ),
            ast::binary(BinaryOperator::Eq, values, ast::integer(stored as i64)),
        );
        let message = format!(
            "prep: these parameters were not fitted for this spec ({expected}), or are not all there ({stored} values): run the fit again; they were fitted for "
        );
        let stop = self.fail(&message, fitted_for);
        let one = ast::integer(1);
        let check = ast::binary(
            BinaryOperator::Eq,
            ast::case(vec![(matches, one.clone())], stop),
            one,
        );
        b.having(check).build()
    }

    // ---- the apply ---------------------------------------------------------

    /// Output columns that need fitted values; `bins`: a number of bins, not categories.
    fn learned_error(
        &self,
        feature: &str,
        reason: &str,
        span: &Option<Span>,
        deferred: Option<&ir::Deferred>,
    ) -> Diagnostic {
        let (column, instead, what) = match deferred.map(|d| &d.encoder) {
            Some(ir::DeferredEncoder::Bins { .. }) => (
                "feature",
                "use `encode: ordinal` (one column), ",
                "the output columns depend on them",
            ),
            Some(ir::DeferredEncoder::Present { .. }) => (
                "column",
                "remove `add_indicator`, ",
                "the output columns depend on the fit",
            ),
            _ => (
                "feature",
                "list the categories in the spec (`categories: [a, b, c]`, without min_frequency/max_categories), ",
                "the output columns depend on them",
            ),
        };
        Diagnostic::new(
            Code::NeedsFittedValues,
            format!("{column} `{feature}` cannot be compiled to plain SQL: {reason}, and {what}"),
        )
        .hint(format!(
            "{instead}or fit first: `prep fit` then `prep compile --params FILE`{}",
            // What the dbt package can write where the categories are learned.
            if deferred.is_some() {
                "; `--emit dbt-package` reads the fit when dbt compiles"
            } else {
                ""
            }
        ))
        .at(span.clone())
    }

    /// The apply query with every fitted value written as a literal: no
    /// parameters relation, no join.
    pub fn apply_bound_query(&self) -> Result<print::Sql, Diagnostic> {
        if self.bound.is_none() {
            return Err(Diagnostic::internal(
                "the apply was asked for literal values before any were bound",
            ));
        }
        self.apply_select(None)
    }

    /// The SELECT producing the features from the source row and the parameters row.
    fn apply_select(&self, params: Option<ParamsFrom>) -> Result<print::Sql, Diagnostic> {
        self.apply_select_deferring(params, None)
    }

    /// As `apply_select`; with `deferred`, an encoder whose categories are
    /// learned becomes a placeholder select item, described in `deferred`.
    fn apply_select_deferring(
        &self,
        params: Option<ParamsFrom>,
        mut deferred: Option<&mut Vec<DeferredItem>>,
    ) -> Result<print::Sql, Diagnostic> {
        let mut b = SelectBuilder::default();
        for c in &self.ir.apply.passthrough {
            b = b.item(ast::column(self.d, Some(ROW), c), Some(self.id(c)));
        }
        let outputs = self.items(&self.ir.apply.items, |r, item| match item {
            ApplyItem::Output(o) => Some((r.expr(&o.expr, ParamScope::Row), Some(r.id(&o.name)))),
            ApplyItem::Learned { .. } => None,
        });
        for (item, printed) in self.ir.apply.items.iter().zip(outputs) {
            match (item, deferred.as_deref_mut()) {
                (ApplyItem::Output(_), _) => {
                    b = b.printed_items(printed);
                }
                (
                    ApplyItem::Learned {
                        deferred: Some(d),
                        feature,
                        ..
                    },
                    Some(items),
                ) => {
                    let placeholder =
                        self.placeholder(&format!("prep_learned_{}", items.len() + 1));
                    b = b.item(ast::printed(placeholder.clone()), None);
                    items.push(self.deferred_item(placeholder, feature, d));
                }
                (
                    ApplyItem::Learned {
                        feature,
                        reason,
                        span,
                        deferred,
                    },
                    _,
                ) => {
                    return Err(self.learned_error(feature, reason, span, deferred.as_ref()));
                }
            }
        }
        let read = self.applied_exprs();
        let mut ctes = print::Ctes::default();
        if self.bound.is_some() {
            self.quantile_sources(None, &mut ctes);
        }
        let (rows, _) = self.with_lets(
            self.source_relation(),
            params.as_ref(),
            &read,
            &mut Default::default(),
            &mut ctes,
            "prep_values",
            Some(&self.ir.apply.passthrough),
        );
        b = b.from(rows, Some(self.id(ROW)));
        if let Some(params) = params {
            b = self.join_params(b, &params, read.iter().flat_map(|e| e.params()));
        }
        Ok(print::with_ctes(ctes, b.build()))
    }

    /// The SQL pieces a deferred encoder is written from.
    fn deferred_item(&self, placeholder: String, feature: &str, d: &ir::Deferred) -> DeferredItem {
        let row = self.expr(&d.row, ParamScope::Row);
        let fail = self.expr(
            &ir::Expr::Fail {
                message: format!("prep: unknown category in column {feature}: "),
                value: Box::new(d.row.clone()),
            },
            ParamScope::Row,
        );
        let number = |v: Option<f64>| {
            v.map_or_else(
                || ast::cast(ast::null(), &self.d.double_type),
                |v| ast::double(v, self.d),
            )
        };
        let (missing, unknown) = match &d.encoder {
            ir::DeferredEncoder::Ordinal(o) => (
                number(o.encoded_missing_value).to_string(),
                match o.handle_unknown {
                    crate::spec::OrdinalUnknown::Error => fail.to_string(),
                    crate::spec::OrdinalUnknown::UseEncodedValue => {
                        number(o.unknown_value).to_string()
                    }
                },
            ),
            ir::DeferredEncoder::OneHot(_)
            | ir::DeferredEncoder::Bins { .. }
            | ir::DeferredEncoder::Present { .. } => (String::new(), String::new()),
        };
        DeferredItem {
            placeholder,
            feature: feature.to_string(),
            deferred: d.clone(),
            row: row.to_string(),
            fail: fail.to_string(),
            one: ast::double(1.0, self.d).to_string(),
            zero: ast::double(0.0, self.d).to_string(),
            missing,
            unknown,
            float_type: self.d.double_type.to_string(),
            quote: self.d.identifier_quote,
            plain_upper: self.d.plain_names == crate::dialect::PlainNames::Upper,
            string_escapes: quote::string_escapes(self.d).clone(),
            max_identifier_bytes: self.d.max_identifier_bytes,
        }
    }

    /// The apply query where learned encoders are placeholders (see `DeferredItem`).
    pub fn apply_query_deferred(
        &self,
        params: ParamsRelation,
    ) -> Result<(print::Sql, Vec<DeferredItem>), Diagnostic> {
        let mut items = Vec::new();
        let query = self.apply_pivoting(params, Some(&mut items))?;
        Ok((query, items))
    }

    /// The apply query, reading the fitted parameters (in the long form of
    /// `fit_query`) from `params`.
    pub fn apply_query(&self, params: ParamsRelation) -> Result<print::Sql, Diagnostic> {
        self.apply_pivoting(params, None)
    }

    /// The apply SELECT after a CTE pivoting the long parameters to one row.
    fn apply_pivoting(
        &self,
        params: ParamsRelation,
        deferred: Option<&mut Vec<DeferredItem>>,
    ) -> Result<print::Sql, Diagnostic> {
        let long = Relation::Table(vec![match params {
            ParamsRelation::Named(name) => self.id(name),
            ParamsRelation::Placeholder => Ident::new(&self.params_placeholder),
        }]);
        let read = self.apply_reads();
        let quantiles = self.quantile_tables().next().is_some();
        if read.is_empty() && self.ir.spec_hash().is_none() && !quantiles {
            return self.apply_select_deferring(None, deferred);
        }
        let mut ctes = print::Ctes::default();
        let params = match &self.chunked {
            Some(chunked) => {
                ParamsFrom::Chunks(self.pivot_chunks(&long, &read, chunked, &mut ctes))
            }
            None => {
                ctes.push(self.id(PARAMS), self.pivot_params(long.clone(), &read));
                ParamsFrom::One(Relation::Table(vec![self.id(PARAMS)]))
            }
        };
        self.quantile_sources(Some(&long), &mut ctes);
        let body = self.apply_select_deferring(Some(params), deferred)?;
        Ok(print::with_ctes(ctes, body))
    }

    /// The parameters the apply's expressions read.
    fn apply_reads(&self) -> BTreeSet<ParamId> {
        self.applied_exprs()
            .iter()
            .flat_map(|e| e.params())
            .collect()
    }

    /// The per-row expressions the apply evaluates: every output, and the
    /// value each learned encoder encodes.
    fn applied_exprs(&self) -> Vec<&ir::Expr> {
        (self.ir.apply.items.iter())
            .filter_map(ApplyItem::applied_expr)
            .collect()
    }

    /// One statement: the fit in CTEs, then the apply reading its parameter row.
    pub fn inline_query(&self) -> Result<print::Sql, Diagnostic> {
        let FitCtes {
            mut ctes,
            vocabularies,
        } = self.fit_ctes()?;
        // The quantiles' intervals the fit did not need itself, from its rows.
        for learned in &vocabularies {
            let table = &learned.vocabulary.name;
            if learned.vocabulary.quantiles.is_some() && !self.fit_reads_quantiles(table) {
                let rows = Relation::Table(vec![self.id(&learned.cte)]);
                self.quantile_relations(self.quantile_index(table), rows, &mut ctes);
            }
        }
        let params = match self.chunked {
            Some(_) => ParamsFrom::Chunks(Default::default()),
            None => ParamsFrom::One(Relation::Table(vec![self.id(FITTED)])),
        };
        let body = self.apply_select(Some(params))?;
        Ok(print::with_ctes(ctes, body))
    }
}

/// An encoder left to be written where its learned categories are read: the
/// placeholder printed in its place and the dialect's SQL pieces for it.
#[derive(Debug, Clone)]
pub struct DeferredItem {
    pub placeholder: String,
    pub feature: String,
    pub deferred: ir::Deferred,
    /// The value encoded, as SQL.
    pub row: String,
    /// SQL that stops the query naming the value (handle_unknown: error).
    pub fail: String,
    pub one: String,
    pub zero: String,
    /// Ordinal codes for missing and unknown values, as SQL.
    pub missing: String,
    pub unknown: String,
    pub float_type: String,
    /// Names are quoted with this character, doubled inside them (names the
    /// dialect refuses never reach a deferred encoder: `check_names`).
    pub quote: crate::dialect::IdentifierQuote,
    /// Plain names are written in upper case (see `quote::ident`).
    pub plain_upper: bool,
    /// How the dialect escapes text, for the categories written at run time.
    pub string_escapes: quote::StringEscapes,
    /// Longer names are refused when the columns are written (PostgreSQL would truncate them).
    pub max_identifier_bytes: Option<usize>,
}
