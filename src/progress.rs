//! Progress for long commands, shown on a terminal only: piped into a file
//! or a log, a command prints its result and nothing else.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::time::Duration;

/// A bar for work of known size (`set_length` / `set_position`).
pub fn bar() -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(ProgressStyle::with_template("{wide_bar} {msg}").unwrap_or_else(|_| ProgressStyle::default_bar()));
    bar
}

/// A spinner with a message for work of unknown size (a backup copying
/// pages, a restore checking them); it ticks on its own thread.
pub fn spinner(message: String) -> ProgressBar {
    let s = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    s.set_style(
        ProgressStyle::with_template("{spinner} {msg} {elapsed}").unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    s.set_message(message);
    if !s.is_hidden() {
        s.enable_steady_tick(Duration::from_millis(120));
    }
    s
}
