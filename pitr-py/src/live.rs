//! The live-server functions (`pitr_core::live`): `check`, `mark`, the mark
//! log, `replay_status` and `replay_resume`. Every call opens its own
//! connection and releases the GIL while it talks to the server.

use crate::convert::to_python_json;
use crate::errors::PitrResultExt;
use crate::lsn::{PyLsn, PyWalSegSize};
use crate::version::PyPgMajor;
use crate::walfile::PySegmentName;
use pitr_core::TimeLineId;
use pitr_core::live::check::{Apply, ArchiverStats, Lag};
use pitr_core::live::{
    self, CheckOptions, CheckReport, ConnectOptions, Mark, MarkOptions, MarkTarget, MarkTargetKind,
    PauseState, Problem, ReplayStatus, ResumeOutcome, ResumeReport, ServerInfo, Session, Severity,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use std::path::PathBuf;
use std::time::Duration;

/// `True` / `False`, for reprs.
fn py_bool(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

/// `'text'` or `None`, for reprs.
fn py_opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "None".to_string(), |v| format!("'{v}'"))
}

/// A number or `None`, for reprs.
fn py_num<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "None".to_string(), |v| v.to_string())
}

fn duration(what: &str, secs: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(secs)
        .map_err(|_| PyValueError::new_err(format!("{what} must be a number of seconds >= 0, got {secs}")))
}

fn connect_options(
    dsn: &str,
    connect_timeout: Option<f64>,
    statement_timeout: f64,
) -> PyResult<ConnectOptions> {
    let mut o = ConnectOptions::new(dsn);
    o.connect_timeout = connect_timeout.map(|s| duration("connect_timeout", s)).transpose()?;
    o.statement_timeout = duration("statement_timeout", statement_timeout)?;
    Ok(o)
}

/// How serious a `Problem` is. `.value` is the JSON name.
#[pyclass(name = "Severity", module = "pitr", frozen, eq, ord, hash)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PySeverity {
    /// Worth knowing; does not make the server unhealthy.
    #[pyo3(name = "INFO")]
    Info,
    /// Recovery works but with a risk or a cost.
    #[pyo3(name = "WARNING")]
    Warning,
    /// Point-in-time recovery is not possible, or not up to now.
    #[pyo3(name = "ERROR")]
    Error,
}

impl From<Severity> for PySeverity {
    fn from(s: Severity) -> Self {
        match s {
            Severity::Info => PySeverity::Info,
            Severity::Warning => PySeverity::Warning,
            Severity::Error => PySeverity::Error,
        }
    }
}

#[pymethods]
impl PySeverity {
    /// The name used in JSON and `to_dict()`.
    #[getter]
    fn value(&self) -> &'static str {
        match self {
            PySeverity::Info => "info",
            PySeverity::Warning => "warning",
            PySeverity::Error => "error",
        }
    }
}

/// One finding of `check()`, with its stable code and the exact fix.
#[pyclass(name = "Problem", module = "pitr", frozen, eq)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyProblem(pub Problem);

#[pymethods]
impl PyProblem {
    /// How serious.
    #[getter]
    fn severity(&self) -> PySeverity {
        self.0.severity.into()
    }

    /// Stable identifier (`docs/live.md`), e.g. `'archive_mode_off'`.
    #[getter]
    fn code(&self) -> &'static str {
        self.0.code
    }

    /// The checklist item: a setting name or `server`, `archiver`, `lag`,
    /// `archive`.
    #[getter]
    fn check(&self) -> &'static str {
        self.0.check
    }

    /// What is wrong.
    #[getter]
    fn message(&self) -> &str {
        &self.0.message
    }

    /// The exact change that fixes it.
    #[getter]
    fn fix(&self) -> &str {
        &self.0.fix
    }

    /// What applying the fix takes: `'none'`, `'reload'` or `'restart'`.
    #[getter]
    fn apply(&self) -> &'static str {
        match self.0.apply {
            Apply::None => "none",
            Apply::Reload => "reload",
            Apply::Restart => "restart",
        }
    }

    /// The problem as a dict (the documented JSON).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python_json(py, &self.0)
    }

    fn __repr__(&self) -> String {
        format!("<Problem {} {} ({}): {}>", self.0.severity, self.0.code, self.0.check, self.0.message)
    }
}

/// What pitr learns about a server when it connects.
#[pyclass(name = "ServerInfo", module = "pitr", frozen, eq)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyServerInfo(pub ServerInfo);

#[pymethods]
impl PyServerInfo {
    /// `server_version`, e.g. `'15.8 (Debian 15.8-1.pgdg120+1)'`.
    #[getter]
    fn version(&self) -> &str {
        &self.0.version
    }

    /// `server_version_num`, e.g. `150008`.
    #[getter]
    fn version_num(&self) -> u32 {
        self.0.version_num
    }

    /// The major version.
    #[getter]
    fn major(&self) -> PyPgMajor {
        self.0.major.into()
    }

    /// The database system identifier, when this role may read it.
    #[getter]
    fn system_id(&self) -> Option<u64> {
        self.0.system_id
    }

    /// The timeline WAL is written on (primary) or of the latest
    /// restartpoint (in recovery), when allowed.
    #[getter]
    fn timeline(&self) -> Option<TimeLineId> {
        self.0.timeline
    }

    /// The timeline of the latest checkpoint, when allowed.
    #[getter]
    fn checkpoint_timeline(&self) -> Option<TimeLineId> {
        self.0.checkpoint_timeline
    }

    /// `pg_is_in_recovery()`.
    #[getter]
    fn in_recovery(&self) -> bool {
        self.0.in_recovery
    }

    /// `wal_segment_size`.
    #[getter]
    fn wal_segment_size(&self) -> PyWalSegSize {
        PyWalSegSize(self.0.wal_segment_size)
    }

    /// The server facts as a dict (the documented JSON).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python_json(py, &self.0)
    }

    fn __repr__(&self) -> String {
        format!("<ServerInfo {} in_recovery={}>", self.0.version, py_bool(self.0.in_recovery))
    }
}

/// `pg_stat_archiver`, and whether archiving is failing right now.
#[pyclass(name = "ArchiverStats", module = "pitr", frozen, eq)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyArchiverStats(pub ArchiverStats);

#[pymethods]
impl PyArchiverStats {
    /// Files archived since the statistics were reset.
    #[getter]
    fn archived_count(&self) -> u64 {
        self.0.archived_count
    }

    /// The last file archived successfully.
    #[getter]
    fn last_archived_wal(&self) -> Option<&str> {
        self.0.last_archived_wal.as_deref()
    }

    /// When (an aware `datetime`).
    #[getter]
    fn last_archived_time(&self) -> Option<jiff::Timestamp> {
        self.0.last_archived_time
    }

    /// Failed attempts since the statistics were reset.
    #[getter]
    fn failed_count(&self) -> u64 {
        self.0.failed_count
    }

    /// The file of the last failed attempt.
    #[getter]
    fn last_failed_wal(&self) -> Option<&str> {
        self.0.last_failed_wal.as_deref()
    }

    /// When.
    #[getter]
    fn last_failed_time(&self) -> Option<jiff::Timestamp> {
        self.0.last_failed_time
    }

    /// When the statistics were reset.
    #[getter]
    fn stats_reset(&self) -> Option<jiff::Timestamp> {
        self.0.stats_reset
    }

    /// Archiving fails now (the last attempt failed and files are waiting).
    #[getter]
    fn failing(&self) -> bool {
        self.0.failing
    }

    fn __repr__(&self) -> String {
        format!(
            "<ArchiverStats archived {} (last {}), failed {}, failing={}>",
            self.0.archived_count,
            py_opt(self.0.last_archived_wal.as_deref()),
            self.0.failed_count,
            py_bool(self.0.failing)
        )
    }
}

/// How far the archive is behind the WAL being written.
#[pyclass(name = "ArchiveLag", module = "pitr", frozen, eq)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyArchiveLag(pub Lag);

#[pymethods]
impl PyArchiveLag {
    /// The current WAL position (primary) or the last received/replayed one.
    #[getter]
    fn current_lsn(&self) -> Option<PyLsn> {
        self.0.current_lsn.map(PyLsn)
    }

    /// The segment holding `current_lsn`.
    #[getter]
    fn current_wal_file(&self) -> Option<PySegmentName> {
        self.0.current_wal_file.map(PySegmentName)
    }

    /// Completed segments not archived yet, when it can be told.
    #[getter]
    fn segments(&self) -> Option<u64> {
        self.0.segments
    }

    /// Bytes of WAL not in the archive: what a recovery would lose now.
    #[getter]
    fn bytes(&self) -> Option<u64> {
        self.0.bytes
    }

    /// `.ready` files waiting (needs superuser or `pg_monitor`).
    #[getter]
    fn ready_files(&self) -> Option<u64> {
        self.0.ready_files
    }

    fn __repr__(&self) -> String {
        format!(
            "<ArchiveLag segments={} bytes={} ready_files={}>",
            py_num(self.0.segments),
            py_num(self.0.bytes),
            py_num(self.0.ready_files)
        )
    }
}

/// Everything `check()` found: is the server ready for point-in-time
/// recovery, and does its archiving work now?
#[pyclass(name = "CheckReport", module = "pitr", frozen)]
#[derive(Debug)]
pub struct PyCheckReport(pub CheckReport);

#[pymethods]
impl PyCheckReport {
    /// No problem of severity warning or error.
    #[getter]
    fn healthy(&self) -> bool {
        self.0.healthy
    }

    /// The server.
    #[getter]
    fn server(&self) -> PyServerInfo {
        PyServerInfo(self.0.server.clone())
    }

    /// The settings looked at, as a dict (`wal_level`, `archive_mode`,
    /// `archive_command`, `archive_library`, `archive_timeout_s`,
    /// `wal_segment_size`, `max_wal_senders`, `wal_keep_size_mb`,
    /// `timezone`, `full_page_writes`, `pending_restart`).
    #[getter]
    fn settings<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python_json(py, &self.0.settings)
    }

    /// `pg_stat_archiver`.
    #[getter]
    fn archiver(&self) -> PyArchiverStats {
        PyArchiverStats(self.0.archiver.clone())
    }

    /// Archive lag.
    #[getter]
    fn lag(&self) -> PyArchiveLag {
        PyArchiveLag(self.0.lag.clone())
    }

    /// The cross-check of the archive directory (a dict: `dir`, `segments`,
    /// `newest_segment`, `last_archived_present`, `recent_checked`,
    /// `recent_missing`, `system_id`, `system_id_file`, `error`), or None.
    #[getter]
    fn archive<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python_json(py, &self.0.archive)
    }

    /// The problems, most serious first.
    #[getter]
    fn problems(&self) -> Vec<PyProblem> {
        self.0.problems.iter().cloned().map(PyProblem).collect()
    }

    /// The most serious severity among the problems of checklist item
    /// `check` (e.g. `'archive_mode'`), or None.
    fn worst(&self, check: &str) -> Option<PySeverity> {
        self.0.worst(check).map(PySeverity::from)
    }

    /// The report as a dict: the JSON document of `pitr check --json`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python_json(py, &self.0)
    }

    fn __repr__(&self) -> String {
        format!("<CheckReport healthy={} problems={}>", py_bool(self.0.healthy), self.0.problems.len())
    }
}

/// Checks whether a server is ready for point-in-time recovery and whether
/// its archiving works now (`pitr check`). `archive` is a WAL archive
/// directory to cross-check (flat, as `cp %p DIR/%f` fills it). Problems
/// found are in the report, not raised. Raises `PitrConnectionError`,
/// `ServerError`.
#[pyfunction]
#[pyo3(signature = (dsn, archive = None, *, max_lag_segments = 4, connect_timeout = None, statement_timeout = 30.0))]
pub(crate) fn check(
    py: Python<'_>,
    dsn: &str,
    archive: Option<PathBuf>,
    max_lag_segments: u64,
    connect_timeout: Option<f64>,
    statement_timeout: f64,
) -> PyResult<PyCheckReport> {
    let conn = connect_options(dsn, connect_timeout, statement_timeout)?;
    let opts = CheckOptions { archive_dir: archive, max_lag_segments };
    py.detach(|| {
        let mut s = Session::connect(&conn)?;
        live::check(&mut s, &opts)
    })
    .py()
    .map(PyCheckReport)
}

/// A recorded mark (one line of the mark log).
#[pyclass(name = "Mark", module = "pitr", frozen, eq)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyMark(pub Mark);

#[pymethods]
impl PyMark {
    /// Format of the record.
    #[getter]
    fn format(&self) -> u32 {
        self.0.format
    }

    /// The mark's name (also its restore point's), or None.
    #[getter]
    fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }

    /// The server's `clock_timestamp()` at the mark (an aware `datetime`).
    #[getter]
    fn time(&self) -> jiff::Timestamp {
        self.0.time
    }

    /// `pg_current_wal_lsn()` at the mark.
    #[getter]
    fn lsn(&self) -> PyLsn {
        PyLsn(self.0.lsn)
    }

    /// `pg_current_wal_insert_lsn()` at the mark.
    #[getter]
    fn insert_lsn(&self) -> Option<PyLsn> {
        self.0.insert_lsn.map(PyLsn)
    }

    /// The timeline WAL was written on.
    #[getter]
    fn timeline(&self) -> TimeLineId {
        self.0.timeline
    }

    /// The segment holding `lsn` on `timeline`.
    #[getter]
    fn wal_file(&self) -> PySegmentName {
        PySegmentName(self.0.wal_file)
    }

    /// `wal_segment_size`.
    #[getter]
    fn wal_segment_size(&self) -> PyWalSegSize {
        PyWalSegSize(self.0.wal_segment_size)
    }

    /// The database system identifier, when the server allowed it.
    #[getter]
    fn system_id(&self) -> Option<u64> {
        self.0.system_id
    }

    /// `server_version` at the mark.
    #[getter]
    fn server_version(&self) -> Option<&str> {
        self.0.server_version.as_deref()
    }

    /// The end of the restore point record, or None.
    #[getter]
    fn restore_point_lsn(&self) -> Option<PyLsn> {
        self.0.restore_point_lsn.map(PyLsn)
    }

    /// The end of the WAL switch record (with `switch=True`), or None.
    #[getter]
    fn switch_lsn(&self) -> Option<PyLsn> {
        self.0.switch_lsn.map(PyLsn)
    }

    /// This mark as a recovery target, ignoring other marks of the same name
    /// (`mark_target(marks, name)` looks at the whole log).
    fn target(&self) -> PyMarkTarget {
        PyMarkTarget(self.0.target())
    }

    /// This mark as an LSN target.
    fn lsn_target(&self) -> PyMarkTarget {
        PyMarkTarget(self.0.lsn_target())
    }

    /// The mark as a dict: its object in the mark log.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python_json(py, &self.0)
    }

    fn __repr__(&self) -> String {
        format!(
            "<Mark {} at {} lsn {} timeline {}>",
            self.0.name.as_deref().map_or("(unnamed)".to_string(), |n| format!("{n:?}")),
            self.0.time,
            self.0.lsn,
            self.0.timeline
        )
    }
}

/// A mark turned into a recovery target.
#[pyclass(name = "MarkTarget", module = "pitr", frozen, eq)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyMarkTarget(pub MarkTarget);

#[pymethods]
impl PyMarkTarget {
    /// `'restore_point'` (`recovery_target_name`) or `'lsn'`
    /// (`recovery_target_lsn`).
    #[getter]
    fn kind(&self) -> &'static str {
        match self.0.kind {
            MarkTargetKind::RestorePoint { .. } => "restore_point",
            MarkTargetKind::Lsn { .. } => "lsn",
        }
    }

    /// The restore point name (kind `restore_point`), else None.
    #[getter]
    fn name(&self) -> Option<&str> {
        match &self.0.kind {
            MarkTargetKind::RestorePoint { name, .. } => Some(name),
            MarkTargetKind::Lsn { .. } => None,
        }
    }

    /// Where the restore point record ends (kind `restore_point`), else None.
    #[getter]
    fn end_lsn(&self) -> Option<PyLsn> {
        match &self.0.kind {
            MarkTargetKind::RestorePoint { end_lsn, .. } => Some(PyLsn(*end_lsn)),
            MarkTargetKind::Lsn { .. } => None,
        }
    }

    /// The target LSN (kind `lsn`), else None.
    #[getter]
    fn lsn(&self) -> Option<PyLsn> {
        match &self.0.kind {
            MarkTargetKind::Lsn { lsn, .. } => Some(PyLsn(*lsn)),
            MarkTargetKind::RestorePoint { .. } => None,
        }
    }

    /// `recovery_target_inclusive` (kind `lsn`; always False for marks), else None.
    #[getter]
    fn inclusive(&self) -> Option<bool> {
        match &self.0.kind {
            MarkTargetKind::Lsn { inclusive, .. } => Some(*inclusive),
            MarkTargetKind::RestorePoint { .. } => None,
        }
    }

    /// The mark's timeline (`recovery_target_timeline`).
    #[getter]
    fn timeline(&self) -> TimeLineId {
        self.0.timeline
    }

    /// When the mark was taken (not the target).
    #[getter]
    fn time(&self) -> jiff::Timestamp {
        self.0.time
    }

    /// The system identifier recorded with the mark.
    #[getter]
    fn system_id(&self) -> Option<u64> {
        self.0.system_id
    }

    /// Why this form of target was chosen.
    #[getter]
    fn why(&self) -> &str {
        &self.0.why
    }

    /// The recovery settings for this target, in order, as `(name, value)`.
    fn recovery_settings(&self) -> Vec<(&'static str, String)> {
        self.0.recovery_settings()
    }

    /// The target as a dict (the documented JSON).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python_json(py, &self.0)
    }

    fn __repr__(&self) -> String {
        let settings: Vec<String> =
            self.0.recovery_settings().into_iter().map(|(k, v)| format!("{k} = '{v}'")).collect();
        format!("<MarkTarget {}>", settings.join(", "))
    }
}

/// Records a mark on a primary before a risky change (`pitr mark`): the
/// server's time, WAL position, timeline and WAL file. With a `name` a
/// restore point of that name is created (unless `restore_point=False`);
/// with `switch=True` the server switches WAL after the mark (not waiting
/// for the archive). With `log`, the mark is appended to that mark log.
/// Raises `InvalidRequestError` (bad name, server in recovery),
/// `PitrIOError` (the log; the mark was taken), `PitrConnectionError`,
/// `ServerError`.
#[pyfunction]
#[pyo3(signature = (dsn, name = None, switch = false, log = None, *, restore_point = true, connect_timeout = None, statement_timeout = 30.0))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn mark(
    py: Python<'_>,
    dsn: &str,
    name: Option<String>,
    switch: bool,
    log: Option<PathBuf>,
    restore_point: bool,
    connect_timeout: Option<f64>,
    statement_timeout: f64,
) -> PyResult<PyMark> {
    let conn = connect_options(dsn, connect_timeout, statement_timeout)?;
    let opts = MarkOptions { restore_point: restore_point && name.is_some(), name, switch };
    let m = py.detach(|| {
        let mut s = Session::connect(&conn)?;
        live::mark(&mut s, &opts)
    });
    let m = m.py()?;
    if let Some(log) = log {
        py.detach(|| live::append_mark(&log, &m)).py()?;
    }
    Ok(PyMark(m))
}

/// Appends a mark to the mark log at `path` (created if missing, fsynced).
#[pyfunction]
pub(crate) fn append_mark(py: Python<'_>, path: PathBuf, mark: PyRef<'_, PyMark>) -> PyResult<()> {
    let m = mark.0.clone();
    py.detach(|| live::append_mark(&path, &m)).py()
}

/// Reads a mark log. Raises `ParseError` (file and line), `PitrIOError`.
#[pyfunction]
pub(crate) fn read_marks(py: Python<'_>, path: PathBuf) -> PyResult<Vec<PyMark>> {
    Ok(py.detach(|| live::read_marks(&path)).py()?.into_iter().map(PyMark).collect())
}

/// Parses mark log text. Raises `ParseError` with the line.
#[pyfunction]
pub(crate) fn parse_marks(text: &str) -> PyResult<Vec<PyMark>> {
    Ok(live::parse_marks(text).py()?.into_iter().map(PyMark).collect())
}

/// The last mark named `name`, or None.
#[pyfunction]
pub(crate) fn find_mark(marks: Vec<PyRef<'_, PyMark>>, name: &str) -> Option<PyMark> {
    let all: Vec<Mark> = marks.iter().map(|m| m.0.clone()).collect();
    live::find_mark(&all, name).cloned().map(PyMark)
}

/// The recovery target of the mark named `name` (as `pitr plan --mark`
/// chooses it with the whole log in view). Raises `InvalidRequestError` when
/// no mark has that name.
#[pyfunction]
pub(crate) fn mark_target(marks: Vec<PyRef<'_, PyMark>>, name: &str) -> PyResult<PyMarkTarget> {
    let all: Vec<Mark> = marks.iter().map(|m| m.0.clone()).collect();
    live::mark_target(&all, name).py().map(PyMarkTarget)
}

/// Replay pause state. `.value` is the JSON name.
#[pyclass(name = "PauseState", module = "pitr", frozen, eq, hash)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PyPauseState {
    /// Replaying (or waiting for WAL).
    #[pyo3(name = "NOT_PAUSED")]
    NotPaused,
    /// A pause was requested (14+).
    #[pyo3(name = "PAUSE_REQUESTED")]
    PauseRequested,
    /// Replay is paused.
    #[pyo3(name = "PAUSED")]
    Paused,
}

impl From<PauseState> for PyPauseState {
    fn from(p: PauseState) -> Self {
        match p {
            PauseState::NotPaused => PyPauseState::NotPaused,
            PauseState::PauseRequested => PyPauseState::PauseRequested,
            PauseState::Paused => PyPauseState::Paused,
        }
    }
}

#[pymethods]
impl PyPauseState {
    /// The name used in JSON and `to_dict()`.
    #[getter]
    fn value(&self) -> &'static str {
        match self {
            PyPauseState::NotPaused => "not_paused",
            PyPauseState::PauseRequested => "pause_requested",
            PyPauseState::Paused => "paused",
        }
    }
}

/// Where replay is on a server.
#[pyclass(name = "ReplayStatus", module = "pitr", frozen, eq)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyReplayStatus(pub ReplayStatus);

#[pymethods]
impl PyReplayStatus {
    /// `pg_is_in_recovery()`.
    #[getter]
    fn in_recovery(&self) -> bool {
        self.0.in_recovery
    }

    /// The pause state (None when not in recovery).
    #[getter]
    fn pause_state(&self) -> Option<PyPauseState> {
        self.0.pause_state.map(PyPauseState::from)
    }

    /// `pg_last_wal_replay_lsn()`.
    #[getter]
    fn replay_lsn(&self) -> Option<PyLsn> {
        self.0.replay_lsn.map(PyLsn)
    }

    /// `pg_last_wal_receive_lsn()` (streaming only).
    #[getter]
    fn receive_lsn(&self) -> Option<PyLsn> {
        self.0.receive_lsn.map(PyLsn)
    }

    /// `pg_last_xact_replay_timestamp()` (an aware `datetime`).
    #[getter]
    fn last_xact_replay_time(&self) -> Option<jiff::Timestamp> {
        self.0.last_xact_replay_time
    }

    /// The server's `clock_timestamp()`.
    #[getter]
    fn server_time(&self) -> Option<jiff::Timestamp> {
        self.0.server_time
    }

    /// The timeline written on (not in recovery) or of the latest restartpoint.
    #[getter]
    fn timeline(&self) -> Option<TimeLineId> {
        self.0.timeline
    }

    /// The status as a dict (the JSON of `pitr replay status --json`).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python_json(py, &self.0)
    }

    fn __repr__(&self) -> String {
        format!(
            "<ReplayStatus in_recovery={} pause_state={} replay_lsn={}>",
            py_bool(self.0.in_recovery),
            py_opt(self.0.pause_state),
            py_opt(self.0.replay_lsn)
        )
    }
}

/// What `replay_resume()` did.
#[pyclass(name = "ResumeReport", module = "pitr", frozen, eq)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyResumeReport(pub ResumeReport);

#[pymethods]
impl PyResumeReport {
    /// The state before resuming.
    #[getter]
    fn before(&self) -> PyReplayStatus {
        PyReplayStatus(self.0.before.clone())
    }

    /// The state when the wait ended.
    #[getter]
    fn after(&self) -> PyReplayStatus {
        PyReplayStatus(self.0.after.clone())
    }

    /// `'promoted'` (it was paused at its recovery target), `'replaying'`,
    /// `'resumed'` (not paused, no WAL replayed yet) or `'still_paused'`.
    #[getter]
    fn outcome(&self) -> &'static str {
        match self.0.outcome {
            ResumeOutcome::Promoted { .. } => "promoted",
            ResumeOutcome::Replaying { .. } => "replaying",
            ResumeOutcome::Resumed => "resumed",
            ResumeOutcome::StillPaused => "still_paused",
        }
    }

    /// The new timeline (outcome `promoted`), else None.
    #[getter]
    fn timeline(&self) -> Option<TimeLineId> {
        match self.0.outcome {
            ResumeOutcome::Promoted { timeline } => timeline,
            _ => None,
        }
    }

    /// The replay LSN seen moving (outcome `replaying`), else None.
    #[getter]
    fn replay_lsn(&self) -> Option<PyLsn> {
        match self.0.outcome {
            ResumeOutcome::Replaying { replay_lsn } => replay_lsn.map(PyLsn),
            _ => None,
        }
    }

    /// How long pitr waited, in milliseconds.
    #[getter]
    fn waited_ms(&self) -> u64 {
        self.0.waited_ms
    }

    /// The report as a dict (the JSON of `pitr replay resume --json`).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python_json(py, &self.0)
    }

    fn __repr__(&self) -> String {
        format!("<ResumeReport {} after {} ms>", self.outcome(), self.0.waited_ms)
    }
}

/// Where replay is on a server (works on any server; `in_recovery` tells).
/// Raises `PitrConnectionError`, `ServerError`.
#[pyfunction]
#[pyo3(signature = (dsn, *, connect_timeout = None, statement_timeout = 30.0))]
pub(crate) fn replay_status(
    py: Python<'_>,
    dsn: &str,
    connect_timeout: Option<f64>,
    statement_timeout: f64,
) -> PyResult<PyReplayStatus> {
    let conn = connect_options(dsn, connect_timeout, statement_timeout)?;
    py.detach(|| {
        let mut s = Session::connect(&conn)?;
        live::replay_status(&mut s)
    })
    .py()
    .map(PyReplayStatus)
}

/// Resumes replay and waits up to `timeout` seconds until the server has
/// left recovery (paused at its recovery target: resuming promotes it) or
/// replays again. Raises `InvalidRequestError` when the server is not in
/// recovery, `PitrConnectionError`, `ServerError`.
#[pyfunction]
#[pyo3(signature = (dsn, timeout = 10.0, *, connect_timeout = None, statement_timeout = 30.0))]
pub(crate) fn replay_resume(
    py: Python<'_>,
    dsn: &str,
    timeout: f64,
    connect_timeout: Option<f64>,
    statement_timeout: f64,
) -> PyResult<PyResumeReport> {
    let conn = connect_options(dsn, connect_timeout, statement_timeout)?;
    let timeout = duration("timeout", timeout)?;
    py.detach(|| {
        let mut s = Session::connect(&conn)?;
        live::replay_resume(&mut s, timeout)
    })
    .py()
    .map(PyResumeReport)
}
