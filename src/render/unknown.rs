//! The categories one-hot encoders with `handle_unknown: warn` did not
//! learn, in a relation with the source columns: one row per feature and
//! unknown category (the missing value among them where the fit saw none
//! and nothing imputes it) with its number of rows. scikit-learn's
//! `transform` warns about such rows; SQL cannot, so the dbt package runs
//! this query as a test of severity `warn` (`dbt::unknown`).
//!
//! The learned categories are read from the fitted parameters in long form
//! (`kind = 'category'` rows of the encoder's vocabulary) with uncorrelated
//! subqueries, which every engine runs; given ones are literals.

use sqlparser::ast::{BinaryOperator, Expr, Ident};

use super::ast::{self, Relation, SelectBuilder};
use super::{ParamScope, ROW, Renderer, print};
use crate::dialect::Func;
use crate::ir;
use crate::spec::Scalar;

/// One encoder's check.
pub struct UnknownCheck {
    pub feature: String,
    /// The source column as the feature reads it, before any step.
    pub value: ir::Expr,
    /// The value is a text (else a number): the long form's `text` or `number`.
    pub text: bool,
    pub known: Known,
    /// The missing value is not unknown: listed, imputed before the
    /// encoder, or (with a vocabulary) whatever the fit saw.
    pub missing_known: bool,
}

/// The categories an encoder knows.
pub enum Known {
    /// Given in the spec, or fitted values pinned into the package.
    Listed(Vec<Scalar>),
    /// Learned: the vocabulary's rows in the fitted parameters.
    Vocabulary(String),
}

impl Renderer<'_> {
    /// The unknown categories of every check (one `UNION ALL` branch each),
    /// the fitted parameters read from the params placeholder.
    pub fn unknown_query(&self, checks: &[UnknownCheck]) -> print::Sql {
        let d = self.d;
        let long = || Relation::Table(vec![Ident::new(&self.params_placeholder)]);
        let column = |name: &str| ast::column(d, None, name);
        let eq = |a, b| ast::binary(BinaryOperator::Eq, a, b);
        let and = |a, b| ast::binary(BinaryOperator::And, a, b);
        let mut out = print::UnionAll::default();
        for c in checks {
            let value = self.expr(&c.value, ParamScope::Row);
            let stored = if c.text { "text" } else { "number" };
            let known = match &c.known {
                Known::Listed(values) => {
                    let literal = |v: &Scalar| {
                        let e = match v {
                            Scalar::Number(n) => ir::Expr::Number(*n),
                            Scalar::String(s) => ir::Expr::Text(s.clone()),
                            Scalar::Bool(b) => ir::Expr::Text(Scalar::bool_text(*b).into()),
                        };
                        self.expr(&e, ParamScope::Row)
                    };
                    ast::in_list(value.clone(), values.iter().map(literal).collect())
                }
                Known::Vocabulary(name) => {
                    let learned = SelectBuilder::default()
                        .item(column(stored), None)
                        .from(long(), None)
                        .filter(self.vocabulary_rows(name, ast::is_not_null(column(stored))))
                        .build();
                    ast::in_query(value.clone(), learned)
                }
            };
            let mut unknown = and(ast::is_not_null(value.clone()), ast::not(known));
            if !c.missing_known {
                let mut missing = ast::is_null(value.clone());
                if let Known::Vocabulary(name) = &c.known {
                    // Unknown only if the fit saw no missing value.
                    let none = self.vocabulary_rows(
                        name,
                        and(ast::is_null(column("number")), ast::is_null(column("text"))),
                    );
                    let seen = SelectBuilder::default()
                        .item(ast::call(d, Func::CountRows, []), None)
                        .from(long(), None)
                        .filter(none)
                        .build();
                    let never = eq(Expr::Subquery(Box::new(seen)), ast::integer(0));
                    missing = and(missing, never);
                }
                unknown = ast::binary(BinaryOperator::Or, unknown, missing);
            }
            let category = match c.text {
                true => value,
                false => ast::cast(value, &d.string_type),
            };
            out.push(
                SelectBuilder::default()
                    .item(ast::string(d, &c.feature), Some(self.id("feature")))
                    .item(category.clone(), Some(self.id("category")))
                    .item(ast::call(d, Func::CountRows, []), Some(self.id("rows")))
                    .from(self.source_relation(), Some(self.id(ROW)))
                    .filter(unknown)
                    .group_by(category)
                    .build(),
            );
        }
        out.into()
    }
}
