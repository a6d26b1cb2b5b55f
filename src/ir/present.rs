//! A column whose existence is learned: written only where a fitted
//! parameter is above 0 (SimpleImputer's missing indicator).

use super::{ApplyItem, Deferred, DeferredEncoder, Output};

impl Deferred {
    /// Whether this is a column whose existence is learned (see `Present`).
    pub fn is_present(&self) -> bool {
        matches!(self.encoder, DeferredEncoder::Present { .. })
    }
}

/// A column whose existence is learned (`DeferredEncoder::Present`): the
/// output it is where it exists, the parameter that decides (above 0: it
/// exists) and why it is learned.
pub struct Present {
    pub output: Output,
    pub parameter: String,
    pub reason: String,
}

impl Present {
    /// The present column an item is, or the item back.
    pub fn of(item: ApplyItem) -> Result<Present, Box<ApplyItem>> {
        match item {
            ApplyItem::Learned {
                feature,
                reason,
                span,
                deferred:
                    Some(Deferred {
                        vocabulary,
                        row,
                        encoder: DeferredEncoder::Present { doc },
                    }),
            } => Ok(Present {
                output: Output {
                    name: feature,
                    expr: row,
                    doc,
                    span,
                    text: false,
                },
                parameter: vocabulary,
                reason,
            }),
            other => Err(Box::new(other)),
        }
    }

    /// The learned item (written when the fit is known).
    pub fn item(self) -> ApplyItem {
        let Present {
            output,
            parameter,
            reason,
        } = self;
        ApplyItem::Learned {
            feature: output.name,
            reason,
            span: output.span,
            deferred: Some(Deferred {
                vocabulary: parameter,
                row: output.expr,
                encoder: DeferredEncoder::Present { doc: output.doc },
            }),
        }
    }
}
