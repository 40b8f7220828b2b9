//! Progress: one line per phase with the time since the command started, e.g.
//! `[  3.2s] created kdevops-1 (1H100.80S.30V in FIN-01)`, and on a terminal an
//! indicatif spinner showing what is being waited for. Without a terminal (make in CI,
//! tests, logs) only the plain lines are printed.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

pub struct Progress {
    start: Instant,
    spinner: Option<ProgressBar>,
    tty: bool,
}

impl Progress {
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
            spinner: None,
            tty: std::io::stdout().is_terminal(),
        }
    }

    fn stamp(&self, msg: &str) -> String {
        format!("[{:>6.1}s] {msg}", self.start.elapsed().as_secs_f64())
    }

    /// A finished phase or a decision: always printed, above the spinner.
    pub fn line(&self, msg: impl AsRef<str>) {
        let text = self.stamp(msg.as_ref());
        match &self.spinner {
            Some(bar) => bar.println(text),
            None => println!("{text}"),
        }
    }

    /// What is being waited for now (spinner text on a terminal, nothing otherwise).
    pub fn waiting(&mut self, msg: impl Into<String>) {
        if !self.tty {
            return;
        }
        let bar = self.spinner.get_or_insert_with(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed:>4}] {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        bar.set_message(msg.into());
    }

    /// Removes the spinner (before printing a final summary).
    pub fn done(&mut self) {
        if let Some(bar) = self.spinner.take() {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.done();
    }
}
