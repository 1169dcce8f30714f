//! Ctrl-C (and SIGTERM, SIGHUP) for the subcommands that clean up after
//! themselves (`pitr restore`, `pitr demo`): the first signal raises a flag
//! the work checks, so it can stop and remove what it wrote; a second one
//! exits at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set when the user asked to stop.
pub type Interrupt = Arc<AtomicBool>;

/// Installs the handler for `command` (e.g. `"pitr restore"`): the first
/// signal prints `first` and raises the returned flag; the second prints
/// that files may be left behind and exits with 130.
pub fn install(command: &'static str, first: &'static str) -> Interrupt {
    let flag: Interrupt = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    // Fails only if a handler is already set (never: one subcommand per process).
    let _ = ctrlc::set_handler(move || {
        if f.swap(true, Ordering::SeqCst) {
            eprintln!("{command}: interrupted again: exiting now (files may be left behind)");
            std::process::exit(130);
        }
        eprintln!("{command}: interrupted: {first} (Ctrl-C again to exit at once)");
    });
    flag
}
