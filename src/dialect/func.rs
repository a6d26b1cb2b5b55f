//! The functions whose spelling lives in the dialect files: each one's
//! template key and the placeholders its template must read.

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use sqlparser::ast::Expr;

use crate::spec::DatePart;

/// Functions whose spelling lives in the dialect files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Func {
    CountRows,
    Count,
    Avg,
    VarPop,
    Min,
    Max,
    Sum,
    Abs,
    Sqrt,
    Ln,
    Exp,
    Floor,
    Sin,
    Cos,
    RowNumber,
    SafeDivide,
    Percentile,
    Concat,
    Coalesce,
    Grouping,
    RaiseError,
    NanToNull,
    RowHash,
    Checksum,
    IsTrue,
    IsFalse,
    NumberKey,
    /// A part of a timestamp (`date_parts`), as its calendar number.
    DatePart(DatePart),
}

impl Func {
    pub(super) const ALL: [Func; 34] = [
        Func::CountRows,
        Func::Count,
        Func::Avg,
        Func::VarPop,
        Func::Min,
        Func::Max,
        Func::Sum,
        Func::Abs,
        Func::Sqrt,
        Func::Ln,
        Func::Exp,
        Func::Floor,
        Func::Sin,
        Func::Cos,
        Func::RowNumber,
        Func::SafeDivide,
        Func::Percentile,
        Func::Concat,
        Func::Coalesce,
        Func::Grouping,
        Func::RaiseError,
        Func::NanToNull,
        Func::RowHash,
        Func::Checksum,
        Func::IsTrue,
        Func::IsFalse,
        Func::NumberKey,
        Func::DatePart(DatePart::Year),
        Func::DatePart(DatePart::Month),
        Func::DatePart(DatePart::Day),
        Func::DatePart(DatePart::DayOfWeek),
        Func::DatePart(DatePart::DayOfYear),
        Func::DatePart(DatePart::Hour),
        Func::DatePart(DatePart::Minute),
    ];

    /// The operands its template must read, each at least once (the header
    /// of `dialects/_defaults.yml` says what each one is).
    pub(super) fn placeholders(self) -> &'static [&'static str] {
        match self {
            Func::CountRows => &[],
            Func::Count
            | Func::Avg
            | Func::VarPop
            | Func::Min
            | Func::Max
            | Func::Sum
            | Func::Abs
            | Func::Sqrt
            | Func::Ln
            | Func::Exp
            | Func::Floor
            | Func::Sin
            | Func::Cos
            | Func::RowNumber
            | Func::Grouping
            | Func::IsTrue
            | Func::IsFalse
            | Func::NumberKey
            | Func::DatePart(_) => &["X"],
            Func::SafeDivide => &["A", "B"],
            Func::Percentile => &["X", "P"],
            Func::Concat | Func::Coalesce => &["X", "Y"],
            Func::RaiseError => &["MSG"],
            Func::NanToNull | Func::Checksum => &["X"],
            // A fold over the row's columns (or XS, see `check_placeholders`).
            Func::RowHash => &["X", "H"],
        }
    }

    /// Operands its template may read: the dialect's NaN, for a template that
    /// compares with it.
    pub(super) fn optional_placeholders(self) -> &'static [&'static str] {
        match self {
            Func::NanToNull => &["NAN"],
            _ => &[],
        }
    }

    /// A template reads each of its placeholders and no other name.
    pub(super) fn check_placeholders(self, expr: &Expr) -> Result<(), String> {
        let mut used = BTreeSet::new();
        let _ = sqlparser::ast::visit_expressions(expr, |node| {
            // Placeholders are upper case; a lower-case name is the
            // dialect's own word (T-SQL's `DATEPART(hour, X)`).
            if let Expr::Identifier(id) = node
                && id.quote_style.is_none()
                && !id.value.chars().any(|c| c.is_ascii_lowercase())
            {
                used.insert(id.value.clone());
            }
            ControlFlow::<()>::Continue(())
        });
        // A row hash reads all the columns at once (XS, an argument list) or
        // folds them one by one (X, and H: the hash of the columns before).
        let required: &[&str] = match self {
            Func::RowHash if used.contains("XS") => &["XS"],
            _ => self.placeholders(),
        };
        let known = |p: &String| {
            (required.iter())
                .chain(self.optional_placeholders())
                .any(|k| k == p)
        };
        let missing = (required.iter()).find(|p| !used.contains(**p));
        let unknown = used.iter().find(|p| !known(p));
        match (missing, unknown) {
            (None, None) => Ok(()),
            _ => Err(format!(
                "template {}: its placeholders are {:?} (and may be {:?}), it uses {:?}",
                self.key(),
                required,
                self.optional_placeholders(),
                used
            )),
        }
    }

    pub(super) fn key(self) -> &'static str {
        match self {
            Func::CountRows => "count_rows",
            Func::Count => "count",
            Func::Avg => "avg",
            Func::VarPop => "var_pop",
            Func::Min => "min",
            Func::Max => "max",
            Func::Sum => "sum",
            Func::Abs => "abs",
            Func::Sqrt => "sqrt",
            Func::Ln => "ln",
            Func::Exp => "exp",
            Func::Floor => "floor",
            Func::Sin => "sin",
            Func::Cos => "cos",
            Func::RowNumber => "row_number",
            Func::SafeDivide => "safe_divide",
            Func::Percentile => "percentile",
            Func::Concat => "concat",
            Func::Coalesce => "coalesce",
            Func::Grouping => "grouping",
            Func::RaiseError => "raise_error",
            Func::NanToNull => "nan_to_null",
            Func::RowHash => "row_hash",
            Func::Checksum => "checksum",
            Func::IsTrue => "is_true",
            Func::IsFalse => "is_false",
            Func::NumberKey => "number_key",
            Func::DatePart(p) => match p {
                DatePart::Year => "date_year",
                DatePart::Month => "date_month",
                DatePart::Day => "date_day",
                DatePart::DayOfWeek => "date_day_of_week",
                DatePart::DayOfYear => "date_day_of_year",
                DatePart::Hour => "date_hour",
                DatePart::Minute => "date_minute",
            },
        }
    }
}
