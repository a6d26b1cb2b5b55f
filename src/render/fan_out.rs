//! The select items (and long-form rows) of a wide statement, printed on
//! every core. Items are independent of each other: each worker prints a
//! contiguous run of them with its own renderer (the caches are per
//! renderer, and the printing buffers per thread), and the runs are joined
//! in order, so the text is the same whatever the number of cores.

use sqlparser::ast::{Expr, Ident, SelectItem};

use super::Renderer;
use super::ast;

/// Below this many items one core prints them: starting a thread costs more.
const WIDE: usize = 512;

impl Renderer<'_> {
    /// A renderer for another thread: the same settings, its own caches.
    pub(super) fn fork(&self) -> Self {
        Renderer {
            d: self.d,
            ir: self.ir,
            source: self.source,
            bound: self.bound,
            reading: self.reading.clone(),
            texts: self.texts.clone(),
            source_placeholder: self.source_placeholder.clone(),
            params_placeholder: self.params_placeholder.clone(),
            let_prefix: self.let_prefix.clone(),
            reads: Default::default(),
            chunked: self.chunked.clone(),
        }
    }

    /// `item` of each element of `list` (None: no item), printed, in order.
    pub(super) fn items<T: Sync>(
        &self,
        list: &[T],
        item: impl Fn(&Renderer, &T) -> Option<(Expr, Option<Ident>)> + Sync,
    ) -> Vec<Option<SelectItem>> {
        self.fan_out(list, |r, x| {
            item(r, x).map(|(e, alias)| ast::printed_item(e, alias))
        })
    }

    /// `f` of each element of `list`, in order, on every core when the list is wide.
    pub(super) fn fan_out<T: Sync, R: Send>(
        &self,
        list: &[T],
        f: impl Fn(&Renderer, &T) -> R + Sync,
    ) -> Vec<R> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        self.fan_out_on(cores, list, f)
    }

    fn fan_out_on<T: Sync, R: Send>(
        &self,
        cores: usize,
        list: &[T],
        f: impl Fn(&Renderer, &T) -> R + Sync,
    ) -> Vec<R> {
        let run_of = |r: &Renderer, run: &[T]| -> Vec<R> { run.iter().map(|x| f(r, x)).collect() };
        if cores < 2 || list.len() < WIDE {
            return run_of(self, list);
        }
        let run = list.len().div_ceil(cores.min(list.len() / (WIDE / 2)));
        let run_of = &run_of;
        std::thread::scope(|s| {
            let workers: Vec<_> = (list.chunks(run).skip(1))
                .map(|chunk| {
                    let r = self.fork();
                    s.spawn(move || run_of(&r, chunk))
                })
                .collect();
            let mut out = run_of(self, &list[..run]);
            for w in workers {
                // A worker only panics on a bug; carry it to this thread.
                out.extend(w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
            }
            out
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{ParamScope, SourceStyle};

    /// The same items, in the same order, on one core and on several.
    #[test]
    fn items_do_not_depend_on_the_cores() {
        let features: String = (0..700)
            .map(|i| format!("  f{i}: [{{impute: median}}, {{scale: robust}}]\n"))
            .collect();
        let spec = format!("name: w\nsource: {{table: t}}\nfeatures:\n{features}");
        let ir = crate::compile_ir(&spec, "w.yml").unwrap();
        let d = crate::dialect::DialectName::Postgres.get();
        let r = Renderer::new(d, &ir, SourceStyle::Plain);
        let text = |cores| {
            let items = r.fan_out_on(cores, &ir.fit.params, |r, p| match &p.def {
                crate::ir::ParamDef::Derived(e) => {
                    Some(ast::printed_item(r.expr(e, ParamScope::Fit), None))
                }
                crate::ir::ParamDef::Aggregate(_) => None,
            });
            assert_eq!(items.len(), ir.fit.params.len());
            format!("{items:?}")
        };
        let one = text(1);
        assert!(ir.fit.params.len() > 2 * WIDE && one.len() > 100_000);
        assert_eq!(text(2), one);
        assert_eq!(text(5), one);
    }
}
