//! Output conventions shared by every subcommand: text or `--json`, errors on
//! stderr, exit codes (0 success, 1 problems found / unreachable, 2 usage or
//! I/O error).

use serde::Serialize;
use std::io::Write;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};

/// Where and how a subcommand prints.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// `--json` was given.
    pub json: bool,
}

impl Output {
    pub fn new(json: bool) -> Self {
        Output { json }
    }

    /// Prints `value` as pretty JSON on stdout (one document).
    pub fn print_json<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), CliError> {
        let mut stdout = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut stdout, value).map_err(|e| CliError::new(e.to_string()))?;
        writeln!(stdout).map_err(|e| CliError::new(e.to_string()))?;
        Ok(())
    }

    /// A progress bar on stderr for long work (`template` in indicatif's
    /// syntax), shown only when stderr is a terminal and the output is not
    /// JSON; otherwise a hidden bar that costs nothing.
    pub fn progress_bar(&self, template: &str) -> indicatif::ProgressBar {
        use std::io::IsTerminal;
        if self.json || !std::io::stderr().is_terminal() {
            return indicatif::ProgressBar::hidden();
        }
        let b = indicatif::ProgressBar::new(0);
        b.set_style(
            indicatif::ProgressStyle::with_template(template)
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    }

    /// Runs a WAL scan of the core's `*_with_progress` functions with a bar of
    /// the WAL files read (see [`progress_bar`](Self::progress_bar)), cleared
    /// when it returns; the scan stops at the next file once `interrupt` is
    /// raised.
    pub fn wal_scan<T>(
        &self,
        interrupt: Option<&AtomicBool>,
        scan: impl FnOnce(&dyn Fn(u64, u64) -> ControlFlow<()>) -> T,
    ) -> T {
        let bar = self.progress_bar("{bar:40} {pos}/{len} WAL files {elapsed} (eta {eta})");
        let tick = Self::tick(&bar);
        let result = scan(&|done, total| {
            tick(done, total);
            match interrupt {
                Some(f) if f.load(Ordering::SeqCst) => ControlFlow::Break(()),
                _ => ControlFlow::Continue(()),
            }
        });
        bar.finish_and_clear();
        result
    }

    /// A progress callback `(done, total)` for the core's `*_with_progress`
    /// functions, moving `bar`.
    pub fn tick(bar: &indicatif::ProgressBar) -> impl Fn(u64, u64) + '_ {
        move |done, total| {
            bar.set_length(total.max(done));
            bar.set_position(done);
        }
    }

    /// Reports an error on stderr (as JSON `{"error": ...}` on stdout with `--json`).
    pub fn error(&self, e: &CliError) {
        if self.json {
            let v = serde_json::json!({ "error": e.to_string() });
            println!("{v}");
        }
        eprintln!("pitr: error: {e}");
    }
}

/// An error that ends a subcommand with exit code 2.
#[derive(Debug)]
pub struct CliError(pub String);

impl CliError {
    pub fn new(msg: impl Into<String>) -> Self {
        CliError(msg.into())
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<E: std::error::Error> From<E> for CliError {
    fn from(e: E) -> Self {
        CliError(e.to_string())
    }
}

/// Result of a subcommand.
pub type CmdResult = Result<std::process::ExitCode, CliError>;
