//! `pitr.ConfigSet`, `pitr.Setting` and the `postgresql.auto.conf` writers
//! (`pitr_core::conf`).

use crate::convert::to_python_json;
use crate::errors::{PitrResultExt, ToPyErr};
use pitr_core::conf::{self, AutoConfEdit, ConfigSet, Setting};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use std::path::PathBuf;

/// One setting as read from a file: `name = value`, with the file and line.
#[pyclass(name = "Setting", module = "pitr", frozen, eq)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PySetting(pub Setting);

#[pymethods]
impl PySetting {
    /// The name as written (names are case-insensitive).
    #[getter]
    fn name(&self) -> &str {
        &self.0.name
    }

    /// The value, quotes and escapes processed.
    #[getter]
    fn value(&self) -> &str {
        &self.0.value
    }

    /// The file it is in.
    #[getter]
    fn file(&self) -> String {
        self.0.file.to_string_lossy().into_owned()
    }

    /// 1-based line in that file.
    #[getter]
    fn line(&self) -> usize {
        self.0.line
    }

    /// The setting as a dict: `name`, `value`, `file`, `line`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python_json(py, &self.0)
    }

    fn __str__(&self) -> String {
        self.0.to_string()
    }

    fn __repr__(&self) -> String {
        format!("<Setting {}>", self.0)
    }
}

/// The configuration files of a server, read like the server reads them:
/// every setting line in reading order (includes followed), the files read,
/// and every error the server would report.
/// `ConfigSet.load_data_dir(pgdata)`, `ConfigSet.load(config_file,
/// data_dir=None)`, `ConfigSet.from_text(text, file)`.
#[pyclass(name = "ConfigSet", module = "pitr", frozen)]
#[derive(Debug)]
pub struct PyConfigSet(pub ConfigSet);

#[pymethods]
impl PyConfigSet {
    /// `postgresql.conf` of `pgdata` with its includes, then
    /// `postgresql.auto.conf` if present. Never raises for the files'
    /// content: problems are in `errors`.
    #[staticmethod]
    fn load_data_dir(py: Python<'_>, pgdata: PathBuf) -> Self {
        PyConfigSet(py.detach(|| ConfigSet::load_data_dir(&pgdata)))
    }

    /// `config_file` with its includes, then `data_dir/postgresql.auto.conf`
    /// when `data_dir` is given.
    #[staticmethod]
    #[pyo3(signature = (config_file, data_dir = None))]
    fn load(py: Python<'_>, config_file: PathBuf, data_dir: Option<PathBuf>) -> Self {
        PyConfigSet(py.detach(|| ConfigSet::load(&config_file, data_dir.as_deref())))
    }

    /// The settings of one file's text (include directives are errors: they
    /// cannot be followed).
    #[staticmethod]
    #[pyo3(signature = (text, file = PathBuf::from("postgresql.conf")))]
    fn from_text(text: &str, file: PathBuf) -> Self {
        PyConfigSet(ConfigSet::from_text(text, &file))
    }

    /// Every setting line, in reading order.
    #[getter]
    fn settings(&self) -> Vec<PySetting> {
        self.0.settings.iter().cloned().map(PySetting).collect()
    }

    /// The files read, in order.
    #[getter]
    fn files(&self) -> Vec<String> {
        self.0.files.iter().map(|p| p.to_string_lossy().into_owned()).collect()
    }

    /// `include_if_exists` files that were missing.
    #[getter]
    fn skipped(&self) -> Vec<String> {
        self.0.skipped.iter().map(|p| p.to_string_lossy().into_owned()).collect()
    }

    /// Syntax errors, missing files, nesting too deep: `ParseError`
    /// instances with `file` and `line`. The server does not start with any.
    #[getter]
    fn errors(&self, py: Python<'_>) -> Vec<Py<PyAny>> {
        self.0.errors.iter().map(|e| e.clone().to_py_err(py).into_value(py).into_any()).collect()
    }

    /// True when no file had an error.
    #[getter]
    fn is_ok(&self) -> bool {
        self.0.is_ok()
    }

    /// The effective setting of `name` (case-insensitive, the last
    /// occurrence), or None.
    fn get(&self, name: &str) -> Option<PySetting> {
        self.0.get(name).cloned().map(PySetting)
    }

    /// The effective value of `name`, or None.
    fn value(&self, name: &str) -> Option<String> {
        self.0.value(name).map(str::to_string)
    }

    /// Every occurrence of `name` in reading order (all but the last are
    /// ignored by the server).
    fn occurrences(&self, name: &str) -> Vec<PySetting> {
        self.0.occurrences(name).into_iter().cloned().map(PySetting).collect()
    }

    /// The effective settings: the last occurrence of each name, sorted by
    /// lower-case name.
    fn effective(&self) -> Vec<PySetting> {
        self.0.effective().into_iter().cloned().map(PySetting).collect()
    }

    /// The configuration as a dict (the documented JSON): `settings`,
    /// `files`, `skipped`, `errors` (messages).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python_json(py, &self.0)
    }

    fn __contains__(&self, name: &str) -> bool {
        self.0.get(name).is_some()
    }

    fn __repr__(&self) -> String {
        format!(
            "<ConfigSet {} files, {} settings, {} errors>",
            self.0.files.len(),
            self.0.settings.len(),
            self.0.errors.len()
        )
    }
}

/// `(name, value)` pairs from a mapping or an iterable of pairs.
fn pairs(obj: &Bound<'_, PyAny>, allow_none: bool) -> PyResult<Vec<(String, Option<String>)>> {
    let items = match obj.cast::<PyDict>() {
        Ok(d) => d.items().into_any(),
        Err(_) => obj.clone(),
    };
    if items.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(
            "expected a mapping or an iterable of (name, value) pairs, got str",
        ));
    }
    let mut v = Vec::new();
    for item in items.try_iter()? {
        let (name, value): (String, Option<String>) = item?.extract().map_err(|_| {
            PyTypeError::new_err("expected (name, value) pairs of str (value None to remove a setting)")
        })?;
        if value.is_none() && !allow_none {
            return Err(PyTypeError::new_err(format!("the value of {name} is None")));
        }
        v.push((name, value));
    }
    Ok(v)
}

/// A value quoted like `ALTER SYSTEM` writes it: `'...'` with `'` and `\`
/// doubled.
#[pyfunction]
pub(crate) fn quote_value(value: &str) -> String {
    conf::quote_value(value)
}

/// A whole `postgresql.auto.conf` as `ALTER SYSTEM` writes it, from a mapping
/// or an iterable of `(name, value)` pairs (in order). Raises `ParseError`
/// for a bad name or a value with a newline.
#[pyfunction]
pub(crate) fn render_auto_conf(settings: &Bound<'_, PyAny>) -> PyResult<String> {
    let pairs: Vec<(String, String)> =
        pairs(settings, false)?.into_iter().map(|(n, v)| (n, v.unwrap_or_default())).collect();
    conf::render_auto_conf(&pairs).py()
}

/// `existing` (the text of a `postgresql.auto.conf`) changed like `ALTER
/// SYSTEM` changes it, applying `edits` in order: `(name, value)` sets (every
/// line of the name, case-insensitive, is replaced by one at the end),
/// `(name, None)` removes (`ALTER SYSTEM RESET`). `edits` is a mapping or an
/// iterable of pairs. Raises `ParseError` for a file with a syntax error or
/// an include, a bad name, a value with a newline.
#[pyfunction]
#[pyo3(signature = (existing, edits = None))]
pub(crate) fn edit_auto_conf(existing: &str, edits: Option<&Bound<'_, PyAny>>) -> PyResult<String> {
    let edits: Vec<AutoConfEdit> = match edits {
        None => Vec::new(),
        Some(e) => pairs(e, true)?
            .into_iter()
            .map(|(n, v)| match v {
                Some(v) => AutoConfEdit::set(n, v),
                None => AutoConfEdit::remove(n),
            })
            .collect(),
    };
    conf::edit_auto_conf(existing, &edits).py()
}
