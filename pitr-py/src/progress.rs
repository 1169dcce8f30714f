//! The `progress` argument of the long WAL scans (`pitr.plan`, `pitr.find`,
//! `pitr.restore`): a Python callable the core's `*_with_progress` functions
//! call as `progress(done, total)` when the scan enters each WAL file.
//!
//! The scan runs with the GIL released, as without a callback; at each file
//! the scan attaches to the interpreter briefly: it runs pending signal
//! handlers (so Ctrl-C, `KeyboardInterrupt`, stops a scan within one file,
//! with or without a callback), then calls the callback. When either raises,
//! the scan stops there (the core's `ControlFlow::Break`: `restore` has then
//! written nothing) and that exception is raised.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use std::cell::OnceCell;
use std::ops::ControlFlow;

/// A checked `progress` argument: `None` or a callable.
pub(crate) struct Progress(Option<Py<PyAny>>);

impl Progress {
    /// Takes the `progress` argument; anything but `None` or a callable is a
    /// `TypeError`, raised before any work is done.
    pub(crate) fn new(progress: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        match progress {
            None => Ok(Progress(None)),
            Some(f) if f.is_callable() => Ok(Progress(Some(f.clone().unbind()))),
            Some(f) => {
                let kind = f.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "object".into());
                Err(PyTypeError::new_err(format!(
                    "progress must be a callable taking (done, total) or None, not {kind}"
                )))
            }
        }
    }

    /// Runs `scan` with the GIL released, handing it the progress function
    /// for the core. Returns what `scan` returned, or the exception that
    /// stopped it (raised by a signal handler or by the callback).
    pub(crate) fn detach<T, F>(self, py: Python<'_>, scan: F) -> PyResult<T>
    where
        T: Send,
        F: Send + FnOnce(&dyn Fn(u64, u64) -> ControlFlow<()>) -> T,
    {
        let callback = self.0;
        let (result, raised) = py.detach(|| {
            let raised: OnceCell<PyErr> = OnceCell::new();
            let report = |done: u64, total: u64| {
                // None: the interpreter is shutting down; nobody is listening.
                let called = Python::try_attach(|py| {
                    py.check_signals()?;
                    match &callback {
                        Some(f) => f.bind(py).call1((done, total)).map(drop),
                        None => Ok(()),
                    }
                });
                match called {
                    Some(Err(e)) => {
                        // The scan stops at the first Break: this is the only one.
                        let _ = raised.set(e);
                        ControlFlow::Break(())
                    }
                    _ => ControlFlow::Continue(()),
                }
            };
            let result = scan(&report);
            (result, raised.into_inner())
        });
        match raised {
            Some(e) => Err(e),
            None => Ok(result),
        }
    }
}
