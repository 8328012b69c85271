//! A progress bar on stderr for imports and restores of many entries. Drawn only when
//! stderr is a terminal and the work is long enough to be worth watching; scripts,
//! pipes and tests see nothing.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::vault::Stage;

/// Below this many entries the work is quick: no bar.
pub const MIN_ENTRIES: usize = 300;

/// A bar, or nothing (hidden).
pub struct Bar {
    bar: Option<ProgressBar>,
    what: &'static str,
}

impl Bar {
    /// A bar for `total` entries (`what`: "importing", "restoring"), shown only when
    /// `total` is above [`MIN_ENTRIES`] and stderr is a terminal.
    pub fn new(total: usize, what: &'static str) -> Self {
        let bar = (total > MIN_ENTRIES && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(
                Some(total as u64),
                ProgressDrawTarget::stderr_with_hz(10),
            );
            bar.set_style(
                ProgressStyle::with_template("{msg:>10} [{bar:30}] {pos}/{len} ({eta})")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Self { bar, what }
    }

    /// Updates the bar (the vault's progress callback).
    pub fn update(&mut self, stage: Stage, done: usize, total: usize) {
        let Some(bar) = &self.bar else { return };
        let msg = match stage {
            Stage::Checking => "checking",
            Stage::Sealing => self.what,
        };
        if bar.message() != msg {
            bar.set_message(msg);
            bar.reset_eta();
        }
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
