//! Conversions shared by the bindings: a core value's serde form as Python
//! objects (the `to_dict()` pattern, so dicts match the documented JSON).

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use serde::Serialize;

static JSON_LOADS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// `value` serialised with serde and loaded with Python's `json.loads`: dicts,
/// lists, str, int, float, bool and None, exactly as in pitr's JSON output.
pub(crate) fn to_python_json<'py, T: Serialize + ?Sized>(
    py: Python<'py>,
    value: &T,
) -> PyResult<Bound<'py, PyAny>> {
    let text = serde_json::to_string(value)
        .map_err(|e| PyValueError::new_err(format!("cannot serialise to JSON: {e}")))?;
    let loads = JSON_LOADS.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py.import("json")?.getattr("loads")?.unbind())
    })?;
    loads.bind(py).call1((text,))
}
