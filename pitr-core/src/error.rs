//! Error types shared by every module.
//!
//! Each parser reports a [`ParseError`] that names what was being parsed, the
//! file (when there is one) and the line or byte position. I/O failures carry the
//! path they happened on. WAL damage carries the LSN and file (see
//! [`crate::wal::WalError`]). [`Error`] is the umbrella type returned by the
//! high-level entry points (archive, backup, planner).

use std::fmt;
use std::path::{Path, PathBuf};

/// A text or binary input did not follow its format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// What was being parsed, e.g. `"LSN"`, `"timeline history"`, `"backup_label"`.
    pub what: &'static str,
    /// The file it came from, when known.
    pub file: Option<PathBuf>,
    /// 1-based line number, when the format is line oriented.
    pub line: Option<usize>,
    /// 0-based byte position within the line (or the input when there is no line).
    pub position: Option<usize>,
    /// What was wrong, in words.
    pub message: String,
}

impl ParseError {
    /// A new error about `what`, with a message.
    pub fn new(what: &'static str, message: impl Into<String>) -> Self {
        ParseError { what, file: None, line: None, position: None, message: message.into() }
    }

    /// Sets the 1-based line number.
    #[must_use]
    pub fn at_line(mut self, line: usize) -> Self {
        self.line = Some(line);
        self
    }

    /// Sets the 0-based byte position.
    #[must_use]
    pub fn at_position(mut self, position: usize) -> Self {
        self.position = Some(position);
        self
    }

    /// Sets the file the input came from.
    #[must_use]
    pub fn in_file(mut self, file: impl Into<PathBuf>) -> Self {
        self.file = Some(file.into());
        self
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}", file.display())?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
            }
            f.write_str(": ")?;
        } else if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        write!(f, "invalid {}: {}", self.what, self.message)?;
        if let Some(pos) = self.position {
            write!(f, " (at position {pos})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseError {}

/// An I/O error together with the path it happened on.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct IoError {
    /// The file or directory being accessed.
    pub path: PathBuf,
    /// The underlying error.
    #[source]
    pub source: std::io::Error,
}

impl IoError {
    /// Wraps `source` with `path`.
    pub fn new(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        IoError { path: path.into(), source }
    }
}

/// Extension to attach a path to `std::io::Result`.
pub trait IoResultExt<T> {
    /// Converts the error into an [`IoError`] naming `path`.
    fn at_path(self, path: &Path) -> Result<T, IoError>;
}

impl<T> IoResultExt<T> for std::io::Result<T> {
    fn at_path(self, path: &Path) -> Result<T, IoError> {
        self.map_err(|e| IoError::new(path, e))
    }
}

/// The umbrella error of pitr-core's high-level operations.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An input did not follow its format.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// Reading or writing a file failed.
    #[error(transparent)]
    Io(#[from] IoError),
    /// WAL could not be read (damage, wrong cluster, unsupported version...).
    #[error(transparent)]
    Wal(#[from] crate::wal::WalError),
    /// `pg_control` could not be read.
    #[error(transparent)]
    Control(#[from] crate::control::ControlError),
    /// A `backup_manifest` could not be read.
    #[error(transparent)]
    Manifest(#[from] crate::manifest::ManifestError),
    /// A request that cannot be carried out as asked (bad combination of options,
    /// refusing to overwrite, a running server...).
    #[error("{0}")]
    Invalid(String),
    /// A progress callback asked a long scan to stop (it returned
    /// [`ControlFlow::Break`](std::ops::ControlFlow::Break)) as the scan entered
    /// file `done` of `total`. Nothing was written.
    #[error("cancelled by the caller at WAL file {done} of {total}")]
    Cancelled {
        /// The file the scan was entering.
        done: u64,
        /// The files it would read at most.
        total: u64,
    },
    /// The caller raised the interrupt flag of a long write (restore, backup
    /// extraction): it stopped, and what it had written was removed.
    #[error("interrupted: stopped by the caller; what was written has been removed")]
    Interrupted,
}

/// Result with the umbrella [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How bad a problem found by a validator is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; PostgreSQL accepts the input.
    Warning,
    /// The input is wrong: PostgreSQL refuses it, or never writes it and would
    /// use it wrongly.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}
