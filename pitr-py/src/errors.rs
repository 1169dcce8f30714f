//! Core errors become the Python exceptions of `pitr/_errors.py`.
//!
//! The exception classes are plain Python classes (so that `ParseError` can
//! also be a `ValueError` and `PitrIOError` an `OSError`); they are looked up
//! once and cached. Every binding turns a core `Result` into a `PyResult`
//! with [`PitrResultExt::py`]:
//!
//! ```ignore
//! let lsn = Lsn::parse(text).py()?;
//! ```

use crate::lsn::PyLsn;
use pitr_core::{IoError, Lsn, ParseError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyType};

/// The exception classes of `pitr._errors`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ErrorClass {
    Pitr,
    Parse,
    CorruptWal,
    UnreachableTarget,
    InvalidRequest,
    Server,
    Connect,
    Io,
}

static PITR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static PARSE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static CORRUPT_WAL: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static UNREACHABLE_TARGET: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static INVALID_REQUEST: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static SERVER: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static CONNECT: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static IO: PyOnceLock<Py<PyType>> = PyOnceLock::new();

impl ErrorClass {
    fn type_object<'py>(self, py: Python<'py>) -> PyResult<&'py Bound<'py, PyType>> {
        let (cell, name) = match self {
            ErrorClass::Pitr => (&PITR, "PitrError"),
            ErrorClass::Parse => (&PARSE, "ParseError"),
            ErrorClass::CorruptWal => (&CORRUPT_WAL, "CorruptWalError"),
            ErrorClass::UnreachableTarget => (&UNREACHABLE_TARGET, "UnreachableTargetError"),
            ErrorClass::InvalidRequest => (&INVALID_REQUEST, "InvalidRequestError"),
            ErrorClass::Server => (&SERVER, "ServerError"),
            ErrorClass::Connect => (&CONNECT, "PitrConnectionError"),
            ErrorClass::Io => (&IO, "PitrIOError"),
        };
        cell.import(py, "pitr._errors", name)
    }
}

/// Attributes of a new exception, passed as keyword arguments to its class.
#[derive(Debug, Default)]
pub(crate) struct ErrorDetails {
    pub file: Option<String>,
    pub lsn: Option<Lsn>,
    pub line: Option<usize>,
    pub position: Option<usize>,
    /// `ParseError.what`.
    pub what: Option<&'static str>,
    /// `PitrIOError.errno` / `.strerror`.
    pub errno: Option<i32>,
    pub strerror: Option<String>,
    /// `ServerError.endpoint`.
    pub endpoint: Option<String>,
}

/// A new exception of `class` with `message` and `details`. Should creating it
/// fail (the `pitr` package is broken), that failure is what is raised.
pub(crate) fn new_error(py: Python<'_>, class: ErrorClass, message: &str, details: ErrorDetails) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let kwargs = PyDict::new(py);
        if let Some(f) = details.file {
            kwargs.set_item("file", f)?;
        }
        if let Some(l) = details.lsn {
            kwargs.set_item("lsn", PyLsn(l))?;
        }
        if let Some(l) = details.line {
            kwargs.set_item("line", l)?;
        }
        if let Some(p) = details.position {
            kwargs.set_item("position", p)?;
        }
        if let Some(w) = details.what {
            kwargs.set_item("what", w)?;
        }
        if let Some(e) = details.errno {
            kwargs.set_item("errno", e)?;
        }
        if let Some(s) = details.strerror {
            kwargs.set_item("strerror", s)?;
        }
        if let Some(e) = details.endpoint {
            kwargs.set_item("endpoint", e)?;
        }
        let exc = class.type_object(py)?.call((message,), Some(&kwargs))?;
        Ok(PyErr::from_value(exc))
    };
    build().unwrap_or_else(|e| e)
}

/// Conversion of a core error into the matching Python exception.
pub(crate) trait ToPyErr {
    fn to_py_err(self, py: Python<'_>) -> PyErr;
}

impl ToPyErr for ParseError {
    fn to_py_err(self, py: Python<'_>) -> PyErr {
        let details = ErrorDetails {
            file: self.file.as_ref().map(|f| f.to_string_lossy().into_owned()),
            line: self.line,
            position: self.position,
            what: Some(self.what),
            ..ErrorDetails::default()
        };
        new_error(py, ErrorClass::Parse, &self.to_string(), details)
    }
}

impl ToPyErr for IoError {
    fn to_py_err(self, py: Python<'_>) -> PyErr {
        let details = ErrorDetails {
            file: Some(self.path.to_string_lossy().into_owned()),
            errno: self.source.raw_os_error(),
            strerror: Some(self.source.to_string()),
            ..ErrorDetails::default()
        };
        new_error(py, ErrorClass::Io, &self.to_string(), details)
    }
}

impl ToPyErr for pitr_core::Error {
    fn to_py_err(self, py: Python<'_>) -> PyErr {
        match self {
            pitr_core::Error::Parse(p) => p.to_py_err(py),
            pitr_core::Error::Io(io) => io.to_py_err(py),
            pitr_core::Error::Wal(w) => w.to_py_err(py),
            pitr_core::Error::Invalid(msg) => {
                new_error(py, ErrorClass::InvalidRequest, &msg, ErrorDetails::default())
            }
            other => new_error(py, ErrorClass::Pitr, &other.to_string(), ErrorDetails::default()),
        }
    }
}

impl ToPyErr for pitr_core::wal::WalError {
    fn to_py_err(self, py: Python<'_>) -> PyErr {
        use pitr_core::wal::WalError;
        let message = self.to_string();
        let details = ErrorDetails {
            file: self.file().map(|f| f.to_string_lossy().into_owned()),
            lsn: self.lsn(),
            ..ErrorDetails::default()
        };
        match self {
            WalError::Io { file, source } => IoError::new(file, source).to_py_err(py),
            WalError::Invalid(msg) => {
                new_error(py, ErrorClass::InvalidRequest, &msg, ErrorDetails::default())
            }
            // Damage, refusals of a file (another cluster, another version,
            // recycled): the WAL cannot be read.
            _ => new_error(py, ErrorClass::CorruptWal, &message, details),
        }
    }
}

impl ToPyErr for pitr_core::history::TimelineError {
    fn to_py_err(self, py: Python<'_>) -> PyErr {
        use pitr_core::history::TimelineError;
        let lsn = match self {
            TimelineError::NotContiguous(l) => Some(l),
            TimelineError::NotInHistory(_) => None,
        };
        new_error(
            py,
            ErrorClass::InvalidRequest,
            &self.to_string(),
            ErrorDetails { lsn, ..ErrorDetails::default() },
        )
    }
}

impl ToPyErr for pitr_core::live::LiveError {
    fn to_py_err(self, py: Python<'_>) -> PyErr {
        use pitr_core::live::LiveError;
        let message = self.to_string();
        let (class, endpoint) = match self {
            LiveError::Io(io) => return io.to_py_err(py),
            LiveError::Parse(p) => return p.to_py_err(py),
            LiveError::Dsn(_) => (ErrorClass::Connect, None),
            LiveError::Connect { endpoint, .. } => (ErrorClass::Connect, Some(endpoint)),
            LiveError::Query { endpoint, .. } | LiveError::Unsupported { endpoint, .. } => {
                (ErrorClass::Server, Some(endpoint))
            }
            LiveError::NotInRecovery { endpoint, .. } | LiveError::InRecovery { endpoint, .. } => {
                (ErrorClass::InvalidRequest, Some(endpoint))
            }
            LiveError::Invalid(_) => (ErrorClass::InvalidRequest, None),
            _ => (ErrorClass::Pitr, None),
        };
        // Only the server errors have an `endpoint` attribute.
        let endpoint = match class {
            ErrorClass::Server | ErrorClass::Connect => endpoint,
            _ => None,
        };
        new_error(py, class, &message, ErrorDetails { endpoint, ..ErrorDetails::default() })
    }
}

/// The Python exception of a core error kept in a result (a file that failed
/// in a `HistorySet`), without consuming it.
pub(crate) fn error_ref_to_py(py: Python<'_>, e: &pitr_core::Error) -> PyErr {
    match e {
        pitr_core::Error::Parse(p) => p.clone().to_py_err(py),
        pitr_core::Error::Io(io) => {
            let source = match io.source.raw_os_error() {
                Some(code) => std::io::Error::from_raw_os_error(code),
                None => std::io::Error::new(io.source.kind(), io.source.to_string()),
            };
            IoError::new(io.path.clone(), source).to_py_err(py)
        }
        pitr_core::Error::Wal(w) => {
            new_error(py, ErrorClass::CorruptWal, &w.to_string(), ErrorDetails::default())
        }
        pitr_core::Error::Invalid(msg) => {
            new_error(py, ErrorClass::InvalidRequest, msg, ErrorDetails::default())
        }
        other => new_error(py, ErrorClass::Pitr, &other.to_string(), ErrorDetails::default()),
    }
}

/// `.py()` on a core `Result`: the error becomes its Python exception.
pub(crate) trait PitrResultExt<T> {
    fn py(self) -> PyResult<T>;
}

impl<T, E: ToPyErr> PitrResultExt<T> for Result<T, E> {
    fn py(self) -> PyResult<T> {
        self.map_err(|e| Python::attach(|py| e.to_py_err(py)))
    }
}

/// Raises the Python exception of a core error built from `kind` (`"parse"`,
/// `"io"`, `"wal"`, `"invalid"`, `"server"`, `"unsupported"`, `"connect"`,
/// `"in_recovery"`, `"not_contiguous"`), through the same conversion every
/// binding uses. For the test suite only (not exported by the `pitr` package): it
/// exercises the mapping of core errors no binding can produce yet.
#[pyfunction]
#[pyo3(signature = (kind, message, file))]
pub(crate) fn _core_error_for_test(kind: &str, message: &str, file: &str) -> PyResult<()> {
    let e = match kind {
        "parse" => pitr_core::Error::Parse(
            ParseError::new("test input", message).in_file(file).at_line(3).at_position(7),
        ),
        "io" => pitr_core::Error::Io(IoError::new(file, std::io::Error::from_raw_os_error(2))),
        "wal" => pitr_core::Error::Wal(pitr_core::wal::WalError::BadCrc {
            file: file.into(),
            lsn: pitr_core::Lsn(0x2000028),
            expected: 1,
            found: 2,
        }),
        "invalid" => pitr_core::Error::Invalid(message.to_string()),
        "server" | "unsupported" | "connect" | "in_recovery" => {
            use pitr_core::live::LiveError;
            let endpoint = file.to_string();
            let e = match kind {
                "server" => LiveError::Query { endpoint, what: "test".into(), message: message.into() },
                "unsupported" => LiveError::Unsupported { endpoint, message: message.into() },
                "connect" => LiveError::Connect { endpoint, message: message.into() },
                _ => LiveError::InRecovery { endpoint, action: message.into() },
            };
            return Err::<(), _>(e).py();
        }
        "not_contiguous" => {
            let e = pitr_core::history::TimelineError::NotContiguous(pitr_core::Lsn(0x16B3748));
            return Err::<(), _>(e).py();
        }
        _ => return Err(pyo3::exceptions::PyValueError::new_err(format!("unknown error kind {kind:?}"))),
    };
    Err::<(), _>(e).py()
}
