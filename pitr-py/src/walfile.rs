//! `pitr.SegmentName`, `pitr.WalFileName` and its enums, and the file name
//! helpers of `pitr_core::walfile`.

use crate::convert::to_python_json;
use crate::errors::PitrResultExt;
use crate::lsn::{PyLsn, lsn_from_py, seg_size_from_py};
use pitr_core::walfile::{self, ArchiveStatus, Compression, SegmentName, WalFileKind, WalFileName};
use pitr_core::{ParseError, TimeLineId};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};

/// The 24-hex-digit name of a WAL segment, `TTTTTTTTXXXXXXXXYYYYYYYY`.
///
/// `SegmentName(timeline, segno, seg_size)`, `SegmentName.of_lsn(timeline,
/// lsn, seg_size)` or `SegmentName.parse(text)`. The segment number depends on
/// the segment size, so `segno()` and `start_lsn()` take one.
#[pyclass(name = "SegmentName", module = "pitr", frozen, eq, ord, hash, from_py_object)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PySegmentName(pub SegmentName);

#[pymethods]
impl PySegmentName {
    /// The name of segment `segno` on `timeline` (`XLogFileName`).
    #[new]
    fn new(timeline: TimeLineId, segno: u64, seg_size: &Bound<'_, PyAny>) -> PyResult<Self> {
        let seg = seg_size_from_py(seg_size)?;
        if segno / seg.segments_per_xlogid() > u64::from(u32::MAX) {
            return Err(PyValueError::new_err(format!(
                "segment number {segno} is too large for {seg} segments"
            )));
        }
        Ok(PySegmentName(SegmentName::new(timeline, segno, seg)))
    }

    /// The name of the segment holding `lsn` on `timeline`.
    #[staticmethod]
    fn of_lsn(timeline: TimeLineId, lsn: &Bound<'_, PyAny>, seg_size: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(PySegmentName(SegmentName::of_lsn(timeline, lsn_from_py(lsn)?, seg_size_from_py(seg_size)?)))
    }

    /// Parses exactly 24 upper-case hex digits. Raises `ParseError`.
    #[staticmethod]
    fn parse(text: &str) -> PyResult<Self> {
        SegmentName::parse(text).py().map(PySegmentName)
    }

    /// Timeline ID (first 8 digits).
    #[getter]
    fn timeline(&self) -> TimeLineId {
        self.0.timeline
    }

    /// High 32 bits of the segment's LSN (middle 8 digits).
    #[getter]
    fn log(&self) -> u32 {
        self.0.log
    }

    /// Segment index within the 4 GiB "xlogid" (last 8 digits).
    #[getter]
    fn seg(&self) -> u32 {
        self.0.seg
    }

    /// The segment number for `seg_size`, or None when the last 8 digits are
    /// too large for that size (such a name cannot exist).
    fn segno(&self, seg_size: &Bound<'_, PyAny>) -> PyResult<Option<u64>> {
        Ok(self.0.segno(seg_size_from_py(seg_size)?))
    }

    /// First LSN of this segment, or None when the name cannot exist with
    /// `seg_size`.
    fn start_lsn(&self, seg_size: &Bound<'_, PyAny>) -> PyResult<Option<PyLsn>> {
        Ok(self.0.start_lsn(seg_size_from_py(seg_size)?).map(PyLsn))
    }

    /// The same segment on another timeline.
    fn with_timeline(&self, timeline: TimeLineId) -> Self {
        PySegmentName(self.0.with_timeline(timeline))
    }

    /// The 16 digits after the timeline (`XXXXXXXXYYYYYYYY`).
    fn log_seg_hex(&self) -> String {
        self.0.log_seg_hex()
    }

    fn __str__(&self) -> String {
        self.0.to_string()
    }

    fn __repr__(&self) -> String {
        format!("SegmentName.parse('{}')", self.0)
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let parse = py.get_type::<PySegmentName>().getattr("parse")?;
        let args = PyTuple::new(py, [slf.get().0.to_string()])?;
        PyTuple::new(py, [parse, args.into_any()])
    }
}

/// What kind of file a name denotes. `.value` is the name used in JSON
/// (`"segment"`, `"backup_history"`, ...).
#[pyclass(name = "WalFileKind", module = "pitr", frozen, eq, hash)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PyWalFileKind {
    /// A WAL segment.
    #[pyo3(name = "SEGMENT")]
    Segment,
    /// `<segment>.partial`.
    #[pyo3(name = "PARTIAL")]
    Partial,
    /// `TTTTTTTT.history`.
    #[pyo3(name = "HISTORY")]
    History,
    /// `<segment>.<offset>.backup`.
    #[pyo3(name = "BACKUP_HISTORY")]
    BackupHistory,
    /// `archive_status/<name>.ready` or `.done`.
    #[pyo3(name = "ARCHIVE_STATUS")]
    ArchiveStatus,
    /// Anything else.
    #[pyo3(name = "UNKNOWN")]
    Unknown,
}

#[pymethods]
impl PyWalFileKind {
    /// The name used in JSON and `to_dict()`.
    #[getter]
    fn value(&self) -> &'static str {
        match self {
            PyWalFileKind::Segment => "segment",
            PyWalFileKind::Partial => "partial",
            PyWalFileKind::History => "history",
            PyWalFileKind::BackupHistory => "backup_history",
            PyWalFileKind::ArchiveStatus => "archive_status",
            PyWalFileKind::Unknown => "unknown",
        }
    }
}

/// Compression of an archived file, from its extension. `.value` is the name
/// used in JSON (`"gzip"`), `.extension` the suffix (`"gz"`).
#[pyclass(name = "Compression", module = "pitr", frozen, eq, hash)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PyCompression {
    /// `.gz`
    #[pyo3(name = "GZIP")]
    Gzip,
    /// `.zst`
    #[pyo3(name = "ZSTD")]
    Zstd,
    /// `.lz4` (LZ4 frame format)
    #[pyo3(name = "LZ4")]
    Lz4,
    /// `.xz`
    #[pyo3(name = "XZ")]
    Xz,
    /// `.bz2`
    #[pyo3(name = "BZIP2")]
    Bzip2,
    /// `.br` (recognised; pitr does not decompress it)
    #[pyo3(name = "BROTLI")]
    Brotli,
}

impl From<Compression> for PyCompression {
    fn from(c: Compression) -> Self {
        match c {
            Compression::Gzip => PyCompression::Gzip,
            Compression::Zstd => PyCompression::Zstd,
            Compression::Lz4 => PyCompression::Lz4,
            Compression::Xz => PyCompression::Xz,
            Compression::Bzip2 => PyCompression::Bzip2,
            Compression::Brotli => PyCompression::Brotli,
        }
    }
}

impl From<PyCompression> for Compression {
    fn from(c: PyCompression) -> Self {
        match c {
            PyCompression::Gzip => Compression::Gzip,
            PyCompression::Zstd => Compression::Zstd,
            PyCompression::Lz4 => Compression::Lz4,
            PyCompression::Xz => Compression::Xz,
            PyCompression::Bzip2 => Compression::Bzip2,
            PyCompression::Brotli => Compression::Brotli,
        }
    }
}

#[pymethods]
impl PyCompression {
    /// The file extension without the dot.
    #[getter]
    fn extension(&self) -> &'static str {
        Compression::from(*self).extension()
    }

    /// The name used in JSON and `to_dict()`.
    #[getter]
    fn value(&self) -> String {
        // The core's serde name, e.g. "gzip".
        serde_json::to_value(Compression::from(*self))
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// The compression for an extension without the dot (`"zst"`), or None.
    #[staticmethod]
    fn from_extension(extension: &str) -> Option<Self> {
        Compression::from_extension(extension).map(PyCompression::from)
    }
}

/// State of an `archive_status` file.
#[pyclass(name = "ArchiveStatus", module = "pitr", frozen, eq, hash)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PyArchiveStatus {
    /// `.ready`: waiting to be archived.
    #[pyo3(name = "READY")]
    Ready,
    /// `.done`: archived, or never needs archiving.
    #[pyo3(name = "DONE")]
    Done,
}

#[pymethods]
impl PyArchiveStatus {
    /// The name used in JSON and `to_dict()`.
    #[getter]
    fn value(&self) -> &'static str {
        match self {
            PyArchiveStatus::Ready => "ready",
            PyArchiveStatus::Done => "done",
        }
    }
}

/// A classified file name from a WAL archive or `pg_wal`: segments,
/// `.partial`, `.history`, `.backup`, compressed copies, pgBackRest
/// `NAME-<sha1>` names and `archive_status` files.
///
/// `WalFileName.classify(name)` never fails (anything else is of kind
/// `UNKNOWN`); `WalFileName(name)` and `WalFileName.parse(name)` raise
/// `ParseError` for a name that is not WAL-related.
#[pyclass(name = "WalFileName", module = "pitr", frozen, eq, hash)]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PyWalFileName {
    inner: WalFileName,
    name: String,
}

impl PyWalFileName {
    fn classify_str(name: &str) -> Self {
        PyWalFileName { inner: WalFileName::classify(name), name: name.to_string() }
    }

    fn segment_name(&self) -> Option<SegmentName> {
        match &self.inner.kind {
            WalFileKind::Segment { segment }
            | WalFileKind::Partial { segment }
            | WalFileKind::BackupHistory { segment, .. } => Some(*segment),
            _ => None,
        }
    }
}

#[pymethods]
impl PyWalFileName {
    #[new]
    fn new(name: &str) -> PyResult<Self> {
        Self::parse(name)
    }

    /// Classifies a file name (not a path). Never fails.
    #[staticmethod]
    fn classify(name: &str) -> Self {
        Self::classify_str(name)
    }

    /// Classifies a file name; raises `ParseError` when it is not WAL-related.
    #[staticmethod]
    fn parse(name: &str) -> PyResult<Self> {
        let f = Self::classify_str(name);
        if f.inner.is_unknown() {
            return Err(ParseError::new("WAL file name", format!("{name:?} is not a WAL file name"))).py();
        }
        Ok(f)
    }

    /// The name as given.
    #[getter]
    fn name(&self) -> &str {
        &self.name
    }

    /// The kind of file.
    #[getter]
    fn kind(&self) -> PyWalFileKind {
        match self.inner.kind {
            WalFileKind::Segment { .. } => PyWalFileKind::Segment,
            WalFileKind::Partial { .. } => PyWalFileKind::Partial,
            WalFileKind::History { .. } => PyWalFileKind::History,
            WalFileKind::BackupHistory { .. } => PyWalFileKind::BackupHistory,
            WalFileKind::ArchiveStatus { .. } => PyWalFileKind::ArchiveStatus,
            WalFileKind::Unknown => PyWalFileKind::Unknown,
        }
    }

    /// Compression from the extension, or None.
    #[getter]
    fn compression(&self) -> Option<PyCompression> {
        self.inner.compression.map(PyCompression::from)
    }

    /// pgBackRest's SHA-1 of the content from a `NAME-<sha1>` name, or None.
    #[getter]
    fn sha1(&self) -> Option<&str> {
        self.inner.sha1.as_deref()
    }

    /// The segment a segment, partial or backup history file is about (for a
    /// backup history file: the segment of the backup's start LSN), or None.
    #[getter]
    fn segment(&self) -> Option<PySegmentName> {
        self.segment_name().map(PySegmentName)
    }

    /// The timeline of the segment or history file, or None.
    #[getter]
    fn timeline(&self) -> Option<TimeLineId> {
        match &self.inner.kind {
            WalFileKind::History { timeline } => Some(*timeline),
            _ => self.segment_name().map(|s| s.timeline),
        }
    }

    /// Offset of the backup's start LSN in its segment (backup history files), or None.
    #[getter]
    fn offset(&self) -> Option<u32> {
        match &self.inner.kind {
            WalFileKind::BackupHistory { offset, .. } => Some(*offset),
            _ => None,
        }
    }

    /// `READY` or `DONE` for an `archive_status` file, else None.
    #[getter]
    fn status(&self) -> Option<PyArchiveStatus> {
        match &self.inner.kind {
            WalFileKind::ArchiveStatus { status: ArchiveStatus::Ready, .. } => Some(PyArchiveStatus::Ready),
            WalFileKind::ArchiveStatus { status: ArchiveStatus::Done, .. } => Some(PyArchiveStatus::Done),
            _ => None,
        }
    }

    /// For an `archive_status` file, the name of the file it is about, else None.
    #[getter]
    fn of(&self) -> Option<&str> {
        match &self.inner.kind {
            WalFileKind::ArchiveStatus { of, .. } => Some(of),
            _ => None,
        }
    }

    /// The name PostgreSQL asks `restore_command` for (`%f`): segments and
    /// history files without compression extension or hash; else None.
    #[getter]
    fn wal_name(&self) -> Option<String> {
        self.inner.wal_name()
    }

    /// The plain name without compression extension or hash, or None for
    /// archive status files and unknown names.
    #[getter]
    fn plain_name(&self) -> Option<String> {
        self.inner.plain_name()
    }

    /// True for a name that is not WAL-related.
    #[getter]
    fn is_unknown(&self) -> bool {
        self.inner.is_unknown()
    }

    /// The segment number of `segment` for `seg_size`, or None (no segment,
    /// or a name that cannot exist with that size).
    fn segno(&self, seg_size: &Bound<'_, PyAny>) -> PyResult<Option<u64>> {
        let seg = seg_size_from_py(seg_size)?;
        Ok(self.segment_name().and_then(|s| s.segno(seg)))
    }

    /// The classification as a dict, the same as the JSON form of the Rust
    /// core: `kind` and the kind's fields (`segment`, `timeline`, `offset`,
    /// `of`, `status`), plus `compression` and `sha1` when present.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python_json(py, &self.inner)
    }

    /// The name formatted back as it appears on disk (the name as given for
    /// unknown names).
    fn __str__(&self) -> String {
        if self.inner.is_unknown() { self.name.clone() } else { self.inner.to_string() }
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let quoted = PyString::new(py, &self.name).repr()?;
        Ok(format!("WalFileName.classify({quoted})"))
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let classify = py.get_type::<PyWalFileName>().getattr("classify")?;
        let args = PyTuple::new(py, [slf.get().name.clone()])?;
        PyTuple::new(py, [classify, args.into_any()])
    }
}

/// The history file name of a timeline: `%08X.history`.
#[pyfunction]
pub(crate) fn history_file_name(timeline: TimeLineId) -> String {
    walfile::history_file_name(timeline)
}

/// The backup history file name of a backup that started at `start` and
/// stopped on `stop_timeline`: `TTTTTTTTXXXXXXXXYYYYYYYY.OOOOOOOO.backup`.
#[pyfunction]
pub(crate) fn backup_history_file_name(
    stop_timeline: TimeLineId,
    start: &Bound<'_, PyAny>,
    seg_size: &Bound<'_, PyAny>,
) -> PyResult<String> {
    Ok(walfile::backup_history_file_name(stop_timeline, lsn_from_py(start)?, seg_size_from_py(seg_size)?))
}
