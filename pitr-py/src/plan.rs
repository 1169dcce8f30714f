//! Recovery planning (`pitr_core::plan`): `pitr.plan(...)` returning a
//! `RecoveryPlan`, `pitr.restore(...)` and `pitr.write_recovery_settings`.

use crate::convert::to_python_json;
use crate::errors::{ErrorClass, ErrorDetails, PitrResultExt, new_error};
use crate::live::PySeverity;
use crate::lsn::{PyLsn, lsn_from_py};
use crate::progress::Progress;
use crate::target::{PyTargetAction, time_zone, timeline_arg};
use pitr_core::error::Severity as CoreSeverity;
use pitr_core::plan::replay::StopKind;
use pitr_core::plan::target::format_target_time;
use pitr_core::plan::{
    Plan, PlanRequest, Problem, RecoveryTarget, RestoreRequest, Stop, TargetAction, TargetSpec,
    plan_with_progress, restore_with_progress, write_recovery_settings as core_write_settings,
};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Where recovery stops. `.value` is the JSON name.
#[pyclass(name = "StopKind", module = "pitr", frozen, eq, hash)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PyStopKind {
    /// Before applying the deciding record (exclusive targets, time targets).
    #[pyo3(name = "BEFORE")]
    Before,
    /// After applying the deciding record (inclusive xid and LSN targets,
    /// restore points).
    #[pyo3(name = "AFTER")]
    After,
    /// No target: at the end of the archived WAL.
    #[pyo3(name = "END_OF_WAL")]
    EndOfWal,
    /// `immediate`: as soon as the backup is consistent.
    #[pyo3(name = "CONSISTENT")]
    Consistent,
}

#[pymethods]
impl PyStopKind {
    /// The name used in JSON and `to_dict()`.
    #[getter]
    fn value(&self) -> &'static str {
        match self {
            PyStopKind::Before => "before",
            PyStopKind::After => "after",
            PyStopKind::EndOfWal => "end_of_wal",
            PyStopKind::Consistent => "consistent",
        }
    }
}

impl From<&StopKind> for PyStopKind {
    fn from(k: &StopKind) -> Self {
        match k {
            StopKind::Before => PyStopKind::Before,
            StopKind::After => PyStopKind::After,
            StopKind::EndOfWal => PyStopKind::EndOfWal,
            StopKind::Consistent => PyStopKind::Consistent,
        }
    }
}

/// A time the core keeps as RFC 3339 text, as an aware `datetime` (UTC).
fn rfc3339(text: Option<&str>) -> Option<jiff::Timestamp> {
    text.and_then(|t| t.parse::<jiff::Timestamp>().ok())
}

/// Where recovery stops: `RecoveryPlan.stop`.
#[pyclass(name = "RecoveryStop", module = "pitr", frozen, eq)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyRecoveryStop(pub Stop);

#[pymethods]
impl PyRecoveryStop {
    /// Before or after the deciding record, at the end of WAL, or at the
    /// consistent point.
    #[getter]
    fn kind(&self) -> PyStopKind {
        (&self.0.kind).into()
    }

    /// The LSN of the record deciding the stop, or None (end of WAL,
    /// `immediate`).
    #[getter]
    fn record_lsn(&self) -> Option<PyLsn> {
        self.0.record_lsn.map(PyLsn)
    }

    /// The end of the record deciding the stop, or None.
    #[getter]
    fn record_end_lsn(&self) -> Option<PyLsn> {
        self.0.record_end_lsn.map(PyLsn)
    }

    /// What `pg_last_wal_replay_lsn()` reports once recovery pauses there:
    /// the end of the last record applied.
    #[getter]
    fn replay_lsn(&self) -> PyLsn {
        PyLsn(self.0.replay_lsn)
    }

    /// The transaction the deciding record ends, or None.
    #[getter]
    fn xid(&self) -> Option<u32> {
        self.0.xid
    }

    /// The commit, abort or restore point time of the deciding record (an
    /// aware `datetime` in UTC), or None.
    #[getter]
    fn time(&self) -> Option<jiff::Timestamp> {
        rfc3339(self.0.time.as_deref())
    }

    /// The deciding record: `'COMMIT'`, `'ABORT'`, `'COMMIT_PREPARED'`,
    /// `'ABORT_PREPARED'`, `'RESTORE_POINT'`, or None.
    #[getter]
    fn record(&self) -> Option<&str> {
        self.0.record.as_deref()
    }

    /// The line PostgreSQL logs when it stops (without `LOG:  `; times in
    /// the server's `TimeZone`), or None (end of WAL).
    #[getter]
    fn log_message(&self) -> Option<&str> {
        self.0.log_message.as_deref()
    }

    /// The timeline of the deciding record.
    #[getter]
    fn timeline(&self) -> u32 {
        self.0.timeline
    }

    /// The stop as a dict (the `stop` object of `pitr plan --json`).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python_json(py, &self.0)
    }

    fn __repr__(&self) -> String {
        format!(
            "<RecoveryStop {} {} replay_lsn={}>",
            PyStopKind::from(&self.0.kind).value(),
            self.0.record.as_deref().unwrap_or("-"),
            self.0.replay_lsn
        )
    }
}

/// A problem the planner found: an error (PostgreSQL would not get there)
/// or a warning.
#[pyclass(name = "PlanProblem", module = "pitr", frozen, eq)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyPlanProblem(pub Problem);

#[pymethods]
impl PyPlanProblem {
    /// `Severity.ERROR` (the plan is unreachable) or `Severity.WARNING`.
    #[getter]
    fn severity(&self) -> PySeverity {
        match self.0.severity {
            CoreSeverity::Warning => PySeverity::Warning,
            CoreSeverity::Error => PySeverity::Error,
        }
    }

    /// Stable code (`docs/plan.md`), e.g. `'target_not_reached'`.
    #[getter]
    fn code(&self) -> &'static str {
        self.0.code
    }

    /// What is wrong, in words.
    #[getter]
    fn message(&self) -> &str {
        &self.0.message
    }

    /// The file concerned, or None.
    #[getter]
    fn file(&self) -> Option<&str> {
        self.0.file.as_deref()
    }

    /// The LSN concerned, or None.
    #[getter]
    fn lsn(&self) -> Option<PyLsn> {
        self.0.lsn.map(PyLsn)
    }

    /// What PostgreSQL would log (its FATAL, or what it silently does), or
    /// None.
    #[getter]
    fn postgres_message(&self) -> Option<&str> {
        self.0.postgres_message.as_deref()
    }

    /// How to fix it, or None.
    #[getter]
    fn hint(&self) -> Option<&str> {
        self.0.hint.as_deref()
    }

    /// The problem as a dict (the documented JSON).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python_json(py, &self.0)
    }

    fn __repr__(&self) -> String {
        format!("<PlanProblem {} {}: {}>", self.0.severity, self.0.code, self.0.message)
    }
}

/// The answer of `pitr.plan(...)`: whether PostgreSQL will reach the target
/// from this backup with this archive, exactly where it will stop, which
/// files it will fetch, and the settings to write. `to_dict()` is the
/// document of `pitr plan --json`.
#[pyclass(name = "RecoveryPlan", module = "pitr", frozen)]
#[derive(Debug, Clone)]
pub struct PyRecoveryPlan(pub Plan);

#[pymethods]
impl PyRecoveryPlan {
    /// True when PostgreSQL will reach the target (no problem is an error).
    #[getter]
    fn reachable(&self) -> bool {
        self.0.reachable
    }

    /// The target in words, as PostgreSQL's `starting point-in-time
    /// recovery to ...` line names it (`'XID 735'`, `'end of WAL'`...).
    #[getter]
    fn target(&self) -> &str {
        &self.0.target
    }

    /// The recovery target timeline PostgreSQL will follow.
    #[getter]
    fn timeline(&self) -> u32 {
        self.0.timeline
    }

    /// The timelines replayed, oldest first: `(timeline, from, to)`, WAL from
    /// `from` up to `to` (exclusive; None: to the end) read on `timeline`.
    #[getter]
    fn timeline_path(&self) -> Vec<(u32, PyLsn, Option<PyLsn>)> {
        self.0.timeline_path.iter().map(|s| (s.timeline, PyLsn(s.from), s.to.map(PyLsn))).collect()
    }

    /// The backup's redo point (`START WAL LOCATION`).
    #[getter]
    fn redo_lsn(&self) -> PyLsn {
        PyLsn(self.0.redo_lsn)
    }

    /// The backup's checkpoint (`CHECKPOINT LOCATION`).
    #[getter]
    fn checkpoint_lsn(&self) -> PyLsn {
        PyLsn(self.0.checkpoint_lsn)
    }

    /// Where the backup becomes consistent, the earliest point recovery can
    /// stop at; None when the WAL does not get there.
    #[getter]
    fn consistent_lsn(&self) -> Option<PyLsn> {
        self.0.consistent_lsn.map(PyLsn)
    }

    /// Where recovery stops (`RecoveryStop`), or None when it does not get to
    /// a stop.
    #[getter]
    fn stop(&self) -> Option<PyRecoveryStop> {
        self.0.stop.clone().map(PyRecoveryStop)
    }

    /// The names of the files recovery fetches, in the order PostgreSQL
    /// fetches them (history files, then segments; it may read further
    /// ahead).
    #[getter]
    fn wal_files(&self) -> Vec<String> {
        self.0.wal_files.clone()
    }

    /// The same files as dicts: `name`, `kind` (`'segment'` or
    /// `'history'`), `path` (where pitr found it), `timeline`.
    #[getter]
    fn files<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python_json(py, &self.0.files)
    }

    /// The settings a restore writes into `postgresql.auto.conf`: name ->
    /// value (unquoted).
    #[getter]
    fn settings(&self) -> BTreeMap<String, String> {
        self.0.settings.clone()
    }

    /// The signal file a restore creates (`'recovery.signal'`).
    #[getter]
    fn signal(&self) -> &'static str {
        self.0.signal
    }

    /// The timeline PostgreSQL creates when it promotes at the end.
    #[getter]
    fn new_timeline(&self) -> u32 {
        self.0.new_timeline
    }

    /// The time of the last commit or abort replayed before the stop (an
    /// aware `datetime` in UTC; PostgreSQL's `last completed transaction was
    /// at log time ...`), or None.
    #[getter]
    fn last_transaction_time(&self) -> Option<jiff::Timestamp> {
        rfc3339(self.0.last_transaction_time.as_deref())
    }

    /// The PostgreSQL major of the backup (0 when unknown).
    #[getter]
    fn pg_version(&self) -> u32 {
        self.0.pg_version
    }

    /// Every problem, errors and warnings (`PlanProblem`).
    #[getter]
    fn problems(&self) -> Vec<PyPlanProblem> {
        self.0.problems.iter().cloned().map(PyPlanProblem).collect()
    }

    /// The problems that make the plan unreachable.
    #[getter]
    fn errors(&self) -> Vec<PyPlanProblem> {
        self.0.errors().cloned().map(PyPlanProblem).collect()
    }

    /// Raises `UnreachableTargetError` (its `plan` is this plan) when the
    /// target is not reachable; returns the plan otherwise.
    fn check(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        if slf.get().0.reachable {
            return Ok(slf);
        }
        Err(unreachable_error(slf.py(), &slf.get().0))
    }

    /// Writes the plan's settings and signal file into the stopped data
    /// directory `pgdata` (restored by other means than `pitr.restore`), as
    /// `write_recovery_settings` does. Returns the files written.
    fn write_settings(&self, py: Python<'_>, pgdata: PathBuf) -> PyResult<Vec<String>> {
        let files = py.detach(|| core_write_settings(&pgdata, &self.0.settings, self.0.signal)).py()?;
        Ok(files.iter().map(|p| p.to_string_lossy().into_owned()).collect())
    }

    /// The plan as a dict: the document of `pitr plan --json`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python_json(py, &self.0)
    }

    fn __repr__(&self) -> String {
        format!(
            "<RecoveryPlan {} on timeline {}: {}, {} WAL files, {} problems>",
            self.0.target,
            self.0.timeline,
            if self.0.reachable { "reachable" } else { "NOT reachable" },
            self.0.wal_files.len(),
            self.0.problems.len()
        )
    }
}

/// `UnreachableTargetError` for `plan`, its errors in the message, the plan
/// attached as `.plan`.
fn unreachable_error(py: Python<'_>, plan: &Plan) -> PyErr {
    let mut msg = format!("recovery to {} cannot be reached:", plan.target);
    for e in plan.errors() {
        msg.push_str(&format!("\n[{}] {}", e.code, e.message));
        if let Some(m) = &e.postgres_message {
            msg.push_str(&format!(" (PostgreSQL: {m})"));
        }
    }
    let err = new_error(py, ErrorClass::UnreachableTarget, &msg, ErrorDetails::default());
    // The exception's `plan`; should setting it fail, the error still says why.
    let _ = err.value(py).setattr("plan", PyRecoveryPlan(plan.clone()));
    err
}

fn invalid(py: Python<'_>, msg: impl Into<String>) -> PyErr {
    new_error(py, ErrorClass::InvalidRequest, &msg.into(), ErrorDetails::default())
}

/// The planner's request from the keyword arguments shared by `plan` and
/// `restore`.
#[allow(clippy::too_many_arguments)]
fn request(
    py: Python<'_>,
    backup: PathBuf,
    archive: PathBuf,
    target_time: Option<&Bound<'_, PyAny>>,
    target_xid: Option<&Bound<'_, PyAny>>,
    target_lsn: Option<&Bound<'_, PyAny>>,
    target_name: Option<String>,
    target: Option<&str>,
    inclusive: bool,
    timeline: Option<&Bound<'_, PyAny>>,
    action: Option<&Bound<'_, PyAny>>,
    timezone: Option<String>,
    restore_command: Option<String>,
) -> PyResult<PlanRequest> {
    let given = [target_time.is_some(), target_xid.is_some(), target_lsn.is_some(), target_name.is_some()]
        .iter()
        .filter(|g| **g)
        .count()
        + usize::from(target.is_some());
    if given > 1 {
        return Err(invalid(
            py,
            "give at most one of target_time, target_xid, target_lsn, target_name and target",
        ));
    }
    let spec = if let Some(t) = target_time {
        if t.is_instance_of::<PyString>() {
            TargetSpec::Time(t.extract::<String>()?)
        } else {
            let time: jiff::Timestamp = t.extract().map_err(|_| {
                PyTypeError::new_err("target_time must be a str or a timezone-aware datetime")
            })?;
            TargetSpec::Parsed(RecoveryTarget::Time { time, text: format_target_time(time) })
        }
    } else if let Some(x) = target_xid {
        if x.is_instance_of::<PyString>() {
            TargetSpec::Xid(x.extract::<String>()?)
        } else {
            let n: u64 =
                x.extract().map_err(|_| PyTypeError::new_err("target_xid must be an int or a str"))?;
            TargetSpec::Xid(n.to_string())
        }
    } else if let Some(l) = target_lsn {
        TargetSpec::Parsed(RecoveryTarget::Lsn { lsn: lsn_from_py(l)? })
    } else if let Some(n) = target_name {
        TargetSpec::Name(n)
    } else {
        match target {
            None => TargetSpec::EndOfWal,
            Some("immediate") => TargetSpec::Immediate,
            Some(other) => {
                return Err(invalid(py, format!("target {other:?}: recovery_target takes only 'immediate'")));
            }
        }
    };
    let timeline = timeline_arg(timeline)?;
    let action = match action {
        None => TargetAction::Pause,
        Some(a) if a.cast::<PyTargetAction>().is_ok() => {
            TargetAction::from(*a.cast::<PyTargetAction>()?.get())
        }
        Some(a) if a.is_instance_of::<PyString>() => TargetAction::parse(&a.extract::<String>()?).py()?,
        Some(_) => return Err(PyTypeError::new_err("action must be a TargetAction or a str")),
    };
    if let Some(tz) = &timezone {
        time_zone(tz, "timezone")?;
    }
    let mut req = PlanRequest::new(backup, archive);
    req.target = spec;
    req.inclusive = inclusive;
    req.timeline = timeline;
    req.action = action;
    req.timezone = timezone;
    req.restore_command = restore_command;
    Ok(req)
}

/// Plans a recovery of the base backup `backup` (a data directory,
/// `pg_basebackup -Ft` output, a `backup_label` or a `.backup` file) with
/// the WAL archive `archive`: reads the backup, inventories the archive,
/// resolves the target timeline the way PostgreSQL does and replays the WAL
/// through a model of PostgreSQL's redo loop. At most one target:
/// `target_time` (a str read like the server reads it, a time without a
/// zone in `timezone` or the backup's `TimeZone`; or an aware `datetime`),
/// `target_xid`, `target_lsn`, `target_name`, or `target='immediate'`; none:
/// the end of the archive. `timeline` is `'latest'` (the default),
/// `'current'`, a number or a `TimelineTarget`; `action` a `TargetAction` or
/// its name. An unreachable target is not an exception: the plan says so
/// (`reachable`, `problems`; `check()` raises). Raises `ParseError` for a
/// target the server would reject, `PitrIOError`, `InvalidRequestError`
/// (not a backup; more than one target). Releases the GIL.
///
/// `progress`, a callable, is called as `progress(done, total)` as the WAL
/// scan enters each segment file: `done` counts 1, 2, ... of the `total`
/// files the scan reads at most (it stops early at the target). The GIL is
/// taken for the call only. When the callback raises (or Ctrl-C is pressed
/// during the scan, with or without a callback), the scan stops at that file
/// and the exception is raised. A `progress` that is not callable raises
/// `TypeError` before any work.
#[pyfunction]
#[pyo3(signature = (
    backup, archive, *, target_time = None, target_xid = None, target_lsn = None, target_name = None,
    target = None, inclusive = true, timeline = None, action = None, timezone = None,
    restore_command = None, progress = None
))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn plan(
    py: Python<'_>,
    backup: PathBuf,
    archive: PathBuf,
    target_time: Option<&Bound<'_, PyAny>>,
    target_xid: Option<&Bound<'_, PyAny>>,
    target_lsn: Option<&Bound<'_, PyAny>>,
    target_name: Option<String>,
    target: Option<&str>,
    inclusive: bool,
    timeline: Option<&Bound<'_, PyAny>>,
    action: Option<&Bound<'_, PyAny>>,
    timezone: Option<String>,
    restore_command: Option<String>,
    progress: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyRecoveryPlan> {
    let progress = Progress::new(progress)?;
    let req = request(
        py,
        backup,
        archive,
        target_time,
        target_xid,
        target_lsn,
        target_name,
        target,
        inclusive,
        timeline,
        action,
        timezone,
        restore_command,
    )?;
    progress.detach(py, |on_file| plan_with_progress(&req, on_file))?.py().map(PyRecoveryPlan)
}

/// Plans (as `plan`, same arguments), then restores the backup into
/// `pgdata` (absent or empty): copies or extracts it with its tablespaces
/// (`tablespaces` maps OIDs to new locations), removes a copied
/// `standby.signal`, writes `recovery.signal` and the plan's settings into
/// `postgresql.auto.conf` atomically. Returns the report of `pitr restore
/// --json` as a dict (`plan`, `restored`, `pgdata`, `extracted`, `written`,
/// `removed`, `next_steps`). Raises `UnreachableTargetError` (with the
/// `plan`) when the target is not reachable and `force` is false, nothing
/// written; `InvalidRequestError` when `pgdata` is not empty or a server
/// runs there; the errors of `plan`. Releases the GIL.
///
/// `progress` is called during the planning scan as for `plan` (not while
/// copying). When it raises (or Ctrl-C is pressed) during the scan, the scan
/// stops there, nothing is written and the exception is raised.
#[pyfunction]
#[pyo3(signature = (
    backup, archive, pgdata, *, target_time = None, target_xid = None, target_lsn = None,
    target_name = None, target = None, inclusive = true, timeline = None, action = None,
    timezone = None, restore_command = None, force = false, tablespaces = None, progress = None
))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn restore<'py>(
    py: Python<'py>,
    backup: PathBuf,
    archive: PathBuf,
    pgdata: PathBuf,
    target_time: Option<&Bound<'_, PyAny>>,
    target_xid: Option<&Bound<'_, PyAny>>,
    target_lsn: Option<&Bound<'_, PyAny>>,
    target_name: Option<String>,
    target: Option<&str>,
    inclusive: bool,
    timeline: Option<&Bound<'_, PyAny>>,
    action: Option<&Bound<'_, PyAny>>,
    timezone: Option<String>,
    restore_command: Option<String>,
    force: bool,
    tablespaces: Option<BTreeMap<u32, PathBuf>>,
    progress: Option<&Bound<'_, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let progress = Progress::new(progress)?;
    let plan_req = request(
        py,
        backup,
        archive,
        target_time,
        target_xid,
        target_lsn,
        target_name,
        target,
        inclusive,
        timeline,
        action,
        timezone,
        restore_command,
    )?;
    let req = RestoreRequest {
        plan: plan_req,
        pgdata,
        force,
        tablespaces: tablespaces.unwrap_or_default(),
        interrupt: None,
    };
    let report = progress.detach(py, |on_file| restore_with_progress(&req, on_file))?.py()?;
    if !report.restored {
        return Err(unreachable_error(py, &report.plan));
    }
    to_python_json(py, &report)
}

/// Writes recovery settings into the stopped data directory `pgdata`:
/// removes every recovery setting (`recovery_target*`, `restore_command`)
/// from `postgresql.auto.conf`, appends `settings` (name -> value, quoted
/// as `ALTER SYSTEM` writes them) and creates the signal file (`signal`:
/// `'recovery.signal'` or `'standby.signal'`), each atomically. Returns the
/// files written. Raises `InvalidRequestError` (a server is running there:
/// `postmaster.pid`; another signal name), `ParseError`, `PitrIOError`.
#[pyfunction]
#[pyo3(signature = (pgdata, settings, signal = "recovery.signal"))]
pub(crate) fn write_recovery_settings(
    py: Python<'_>,
    pgdata: PathBuf,
    settings: &Bound<'_, PyDict>,
    signal: &str,
) -> PyResult<Vec<String>> {
    let settings: BTreeMap<String, String> = settings.extract()?;
    let files = py.detach(|| core_write_settings(&pgdata, &settings, signal)).py()?;
    Ok(files.iter().map(|p| p.to_string_lossy().into_owned()).collect())
}
