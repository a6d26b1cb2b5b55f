//! A spinner on the terminal for work that takes longer than a second.

use std::sync::mpsc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// Runs `work`; if it is still running after a second, shows `what` with a
/// spinner on stderr (only on a terminal) until it ends.
pub fn while_slow<T>(what: &str, work: impl FnOnce() -> T) -> T {
    while_slow_showing(what, || None, work)
}

/// As `while_slow`, with `status()` (how far the work is: rows read) beside
/// `what`, asked again at every tick.
pub fn while_slow_showing<T>(
    what: &str,
    status: impl Fn() -> Option<String> + Send + 'static,
    work: impl FnOnce() -> T,
) -> T {
    let (done, wait) = mpsc::channel::<()>();
    let label = what.to_string();
    let spinner = std::thread::spawn(move || {
        if wait.recv_timeout(Duration::from_secs(1)).is_ok() {
            return;
        }
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(label.clone());
        bar.enable_steady_tick(Duration::from_millis(120));
        while let Err(mpsc::RecvTimeoutError::Timeout) =
            wait.recv_timeout(Duration::from_millis(500))
        {
            if let Some(status) = status() {
                bar.set_message(format!("{label}: {status}"));
            }
        }
        bar.finish_and_clear();
    });
    let result = work();
    let _ = done.send(());
    let _ = spinner.join();
    result
}
