//! `pitr.BackupLabel`: `backup_label` and backup history files
//! (`pitr_core::label`).

use crate::convert::to_python_json;
use crate::errors::PitrResultExt;
use crate::lsn::{PyLsn, PyWalSegSize, seg_size_from_py};
use crate::walfile::PySegmentName;
use pitr_core::TimeLineId;
use pitr_core::label::{BackupLabel, LabelKind, LabelTime, Severity};
use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;
use std::path::PathBuf;

/// Which of the two files a `BackupLabel` is. `.value` is the JSON name.
#[pyclass(name = "LabelKind", module = "pitr", frozen, eq, hash)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PyLabelKind {
    /// `backup_label` in a data directory.
    #[pyo3(name = "BACKUP_LABEL")]
    BackupLabel,
    /// A backup history file (`*.backup` in the archive).
    #[pyo3(name = "BACKUP_HISTORY")]
    BackupHistory,
}

#[pymethods]
impl PyLabelKind {
    /// The name used in JSON and `to_dict()`.
    #[getter]
    fn value(&self) -> &'static str {
        match self {
            PyLabelKind::BackupLabel => "backup_label",
            PyLabelKind::BackupHistory => "backup_history",
        }
    }
}

/// A `START TIME` / `STOP TIME` value: a timezone-aware `datetime` when its
/// zone fixes the instant (`UTC`, `GMT`, numeric offsets), else the text as
/// written (zone abbreviations such as `CET` are not guessed).
fn label_time(py: Python<'_>, t: Option<&LabelTime>) -> PyResult<Py<PyAny>> {
    match t {
        None => Ok(py.None()),
        Some(t) => match t.timestamp {
            Some(ts) => ts.into_py_any(py),
            None => t.text.clone().into_py_any(py),
        },
    }
}

/// A parsed `backup_label` or backup history file, read like the server's
/// `read_backup_label`: `BackupLabel.parse(text)`, `BackupLabel.read(path)`.
/// Unknown lines are kept; what the server accepts but never writes is a
/// warning in `issues` (and `check(seg_size)`). `str()` is the canonical
/// text.
#[pyclass(name = "BackupLabel", module = "pitr", frozen, eq)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyBackupLabel(pub BackupLabel);

#[pymethods]
impl PyBackupLabel {
    /// Parses either file (a backup history file has `STOP WAL LOCATION` on
    /// line 2). Raises `ParseError` with the line for what the server refuses.
    #[staticmethod]
    fn parse(text: &str) -> PyResult<Self> {
        BackupLabel::parse(text).py().map(PyBackupLabel)
    }

    /// Reads a file (`backup_label`, `*.backup`, compressed too). Raises
    /// `ParseError` or `PitrIOError` naming the file.
    #[staticmethod]
    fn read(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        py.detach(|| BackupLabel::read(&path)).py().map(PyBackupLabel)
    }

    /// Which file it is.
    #[getter]
    fn kind(&self) -> PyLabelKind {
        match self.0.kind {
            LabelKind::BackupLabel => PyLabelKind::BackupLabel,
            LabelKind::BackupHistory => PyLabelKind::BackupHistory,
        }
    }

    /// `START WAL LOCATION`: where replay begins.
    #[getter]
    fn start_lsn(&self) -> PyLsn {
        PyLsn(self.0.start.lsn)
    }

    /// The WAL file named in `START WAL LOCATION`.
    #[getter]
    fn start_file(&self) -> PySegmentName {
        PySegmentName(self.0.start.file)
    }

    /// `STOP WAL LOCATION` (backup history files), or None.
    #[getter]
    fn stop_lsn(&self) -> Option<PyLsn> {
        self.0.stop.map(|s| PyLsn(s.lsn))
    }

    /// The WAL file named in `STOP WAL LOCATION`, or None.
    #[getter]
    fn stop_file(&self) -> Option<PySegmentName> {
        self.0.stop.map(|s| PySegmentName(s.file))
    }

    /// `CHECKPOINT LOCATION`: the checkpoint record recovery starts from.
    #[getter]
    fn checkpoint(&self) -> PyLsn {
        PyLsn(self.0.checkpoint)
    }

    /// `BACKUP METHOD` as written (`streamed`, `pg_start_backup`,
    /// `pg_rewind`), or None.
    #[getter]
    fn method(&self) -> Option<&str> {
        self.0.method.as_ref().map(|m| m.as_str())
    }

    /// `BACKUP FROM` as written (`primary`, `master`, `standby`), or None.
    /// (`from` is a Python keyword.)
    #[getter]
    fn backup_from(&self) -> Option<&str> {
        self.0.from.as_ref().map(|f| f.as_str())
    }

    /// `START TIME`: an aware `datetime` when the zone fixes the instant,
    /// else the text; None when missing.
    #[getter]
    fn start_time(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        label_time(py, self.0.start_time.as_ref())
    }

    /// `START TIME` as written, or None.
    #[getter]
    fn start_time_text(&self) -> Option<&str> {
        self.0.start_time.as_ref().map(|t| t.text.as_str())
    }

    /// `STOP TIME` (backup history files), as `start_time`.
    #[getter]
    fn stop_time(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        label_time(py, self.0.stop_time.as_ref())
    }

    /// `STOP TIME` as written, or None.
    #[getter]
    fn stop_time_text(&self) -> Option<&str> {
        self.0.stop_time.as_ref().map(|t| t.text.as_str())
    }

    /// `LABEL` verbatim, or None.
    #[getter]
    fn label(&self) -> Option<&str> {
        self.0.label.as_deref()
    }

    /// `START TIMELINE`, or None.
    #[getter]
    fn start_timeline(&self) -> Option<TimeLineId> {
        self.0.start_timeline
    }

    /// `STOP TIMELINE` (backup history files), or None.
    #[getter]
    fn stop_timeline(&self) -> Option<TimeLineId> {
        self.0.stop_timeline
    }

    /// `INCREMENTAL FROM LSN` (17+), or None.
    #[getter]
    fn incremental_from_lsn(&self) -> Option<PyLsn> {
        self.0.incremental_from_lsn.map(PyLsn)
    }

    /// `INCREMENTAL FROM TLI` (17+), or None.
    #[getter]
    fn incremental_from_tli(&self) -> Option<TimeLineId> {
        self.0.incremental_from_tli
    }

    /// Lines pitr does not know, as `(line, text)`.
    #[getter]
    fn unknown_lines(&self) -> Vec<(usize, String)> {
        self.0.unknown_lines.iter().map(|u| (u.line, u.text.clone())).collect()
    }

    /// Problems found while parsing, as dicts (`severity`, `line`, `message`).
    #[getter]
    fn issues<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python_json(py, &self.0.issues)
    }

    /// The timeline the backup starts on, as the server takes it (from the
    /// file name in line 1).
    #[getter]
    fn timeline(&self) -> TimeLineId {
        self.0.timeline()
    }

    /// The timeline the backup ended on.
    #[getter]
    fn end_timeline(&self) -> TimeLineId {
        self.0.end_timeline()
    }

    /// True for `BACKUP FROM: standby`.
    #[getter]
    #[allow(clippy::wrong_self_convention)] // the core's name
    fn from_standby(&self) -> bool {
        self.0.from_standby()
    }

    /// True for `BACKUP METHOD: streamed` (the server waits for the
    /// end-of-backup record).
    #[getter]
    fn requires_backup_end(&self) -> bool {
        self.0.requires_backup_end()
    }

    /// True for an incremental backup (17+).
    #[getter]
    fn is_incremental(&self) -> bool {
        self.0.is_incremental()
    }

    /// Every issue for a cluster with `seg_size` segments: `issues` plus file
    /// names that do not name the segment of their LSN.
    fn check<'py>(&self, py: Python<'py>, seg_size: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        to_python_json(py, &self.0.check(seg_size_from_py(seg_size)?))
    }

    /// True when `check(seg_size)` finds no error.
    fn is_valid(&self, seg_size: &Bound<'_, PyAny>) -> PyResult<bool> {
        let issues = self.0.check(seg_size_from_py(seg_size)?);
        Ok(issues.iter().all(|i| i.severity != Severity::Error))
    }

    /// The segment sizes for which the file names name the segments of
    /// their LSNs (the label's own evidence of the segment size).
    fn consistent_segment_sizes(&self) -> Vec<PyWalSegSize> {
        self.0.consistent_segment_sizes().into_iter().map(PyWalSegSize).collect()
    }

    /// The first WAL segment recovery needs.
    fn start_segment(&self, seg_size: &Bound<'_, PyAny>) -> PyResult<PySegmentName> {
        Ok(PySegmentName(self.0.start_segment(seg_size_from_py(seg_size)?)))
    }

    /// The segment holding the stop LSN (backup history files), or None.
    fn stop_segment(&self, seg_size: &Bound<'_, PyAny>) -> PyResult<Option<PySegmentName>> {
        Ok(self.0.stop_segment(seg_size_from_py(seg_size)?).map(PySegmentName))
    }

    /// The name of this backup's history file in the archive.
    fn history_file_name(&self, seg_size: &Bound<'_, PyAny>) -> PyResult<String> {
        Ok(self.0.history_file_name(seg_size_from_py(seg_size)?))
    }

    /// The canonical text, as PostgreSQL writes it.
    fn to_text(&self) -> String {
        self.0.to_text()
    }

    /// The label as a dict (the documented JSON of `pitr label --json`).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python_json(py, &self.0)
    }

    fn __str__(&self) -> String {
        self.0.to_text()
    }

    fn __repr__(&self) -> String {
        format!(
            "<BackupLabel {} start {} (file {}) checkpoint {}>",
            self.kind().value(),
            self.0.start.lsn,
            self.0.start.file,
            self.0.checkpoint
        )
    }
}
