//! The `progress` argument of the long WAL scans (`pitr.plan`, `pitr.find`,
//! `pitr.restore`): a Python callable the core's `*_with_progress` functions
//! call as `progress(done, total)` when the scan enters each WAL file.
//!
//! The scan runs with the GIL released, as without a callback; each call
//! attaches to the interpreter for the callback only. The core cannot cancel
//! a scan: when the callback raises, the first exception is kept, the
//! callback is not called again, the core call runs to its end, and the
//! exception is raised in place of its result or error.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use std::cell::OnceCell;

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
    /// for the core (a no-op without a callback). Returns what `scan`
    /// returned, or the first exception the callback raised.
    pub(crate) fn detach<T, F>(self, py: Python<'_>, scan: F) -> PyResult<T>
    where
        T: Send,
        F: Send + FnOnce(&dyn Fn(u64, u64)) -> T,
    {
        let Some(callback) = self.0 else {
            return Ok(py.detach(|| scan(&|_, _| {})));
        };
        let (result, raised) = py.detach(|| {
            let raised: OnceCell<PyErr> = OnceCell::new();
            let report = |done: u64, total: u64| {
                if raised.get().is_some() {
                    return;
                }
                // None: the interpreter is shutting down; nobody is listening.
                let called = Python::try_attach(|py| callback.bind(py).call1((done, total)).map(drop));
                if let Some(Err(e)) = called {
                    // The cell is empty (checked above): this keeps the first.
                    let _ = raised.set(e);
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
