//! Progress bars for long runs: indicatif on stderr, hidden when stderr is
//! not a terminal or when JSON output is requested.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// A bar of `len` steps (a spinner when `len` is `None`), or a hidden bar.
pub(crate) fn bar(len: Option<u64>, json: bool) -> ProgressBar {
    if json || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    match len {
        Some(n) => {
            let pb = ProgressBar::new(n);
            if let Ok(style) = ProgressStyle::with_template(
                "{bar:40.cyan/blue} {pos}/{len} {msg} [{elapsed_precise}, eta {eta}]",
            ) {
                pb.set_style(style);
            }
            pb
        }
        None => {
            let pb = ProgressBar::new_spinner();
            if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} [{elapsed_precise}]") {
                pb.set_style(style);
            }
            pb.enable_steady_tick(std::time::Duration::from_millis(120));
            pb
        }
    }
}
