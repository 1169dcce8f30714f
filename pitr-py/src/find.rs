//! `pitr.find(...)` (`pitr_core::plan::find`): the commits and aborts of a
//! window with the exact recovery targets around each, or who dropped a
//! relation, in one call (a bulk API: no per-record Python loop).

use crate::convert::to_python_json;
use crate::errors::{ErrorClass, ErrorDetails, PitrResultExt, new_error};
use crate::lsn::PyLsn;
use crate::plan::PyPlanProblem;
use crate::progress::Progress;
use crate::target::{time_zone, timeline_arg};
use pitr_core::plan::find::{FindReport, FoundXact};
use pitr_core::plan::{FindInput, FindRequest, KindFilter, find_with_progress};
use pitr_core::wal::decode::XactKind;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyString;
use std::path::PathBuf;

/// One transaction end `find` found.
#[pyclass(name = "FoundTransaction", module = "pitr", frozen, eq)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyFoundTransaction(pub FoundXact);

#[pymethods]
impl PyFoundTransaction {
    /// `'commit'`, `'abort'`, `'commit_prepared'` or `'abort_prepared'`.
    #[getter]
    fn kind(&self) -> &'static str {
        match self.0.kind {
            XactKind::Commit => "commit",
            XactKind::Abort => "abort",
            XactKind::CommitPrepared => "commit_prepared",
            XactKind::AbortPrepared => "abort_prepared",
        }
    }

    /// The xid `recovery_target_xid` matches (the prepared transaction's, or
    /// the subtransaction's for a subtransaction abort).
    #[getter]
    fn xid(&self) -> u32 {
        self.0.xid
    }

    /// True for the abort of a subtransaction (`ROLLBACK TO SAVEPOINT`).
    #[getter]
    fn subxact(&self) -> bool {
        self.0.subxact
    }

    /// The commit or abort time (an aware `datetime` in UTC).
    #[getter]
    fn time(&self) -> Option<jiff::Timestamp> {
        self.0.time.parse::<jiff::Timestamp>().ok()
    }

    /// The record's LSN.
    #[getter]
    fn lsn(&self) -> PyLsn {
        PyLsn(self.0.lsn)
    }

    /// The record's end.
    #[getter]
    fn end_lsn(&self) -> PyLsn {
        PyLsn(self.0.end_lsn)
    }

    /// The timeline the record is on.
    #[getter]
    fn timeline(&self) -> u32 {
        self.0.timeline
    }

    /// The database OID, when the record names it.
    #[getter]
    fn db(&self) -> Option<u32> {
        self.0.db
    }

    /// The relation files it dropped, as `(tablespace, database,
    /// relfilenode)`.
    #[getter]
    fn dropped_relations(&self) -> Vec<(u32, u32, u32)> {
        self.0.dropped_relations.iter().map(|r| (r.spc, r.db, r.relfilenode)).collect()
    }

    /// The targets that stop just before it (nothing of it applied), as a
    /// dict: `replay_lsn`, `recommended`, and `xid`, `lsn`, `time` options
    /// (`exact`, `args`, `settings`, `note`), `reachable_from_backup`.
    #[getter]
    fn before<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python_json(py, &self.0.before)
    }

    /// The targets that stop just after it (it is applied), as `before`.
    #[getter]
    fn after<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python_json(py, &self.0.after)
    }

    /// The recommended recovery settings (name -> value) that stop just
    /// before it (`after=False`) or just after it.
    #[pyo3(signature = (after = false))]
    fn settings(&self, after: bool) -> std::collections::BTreeMap<String, String> {
        let t = if after { &self.0.after } else { &self.0.before };
        t.recommended().settings.clone()
    }

    /// The transaction as a dict (one of `transactions` in `pitr find --json`).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python_json(py, &self.0)
    }

    fn __repr__(&self) -> String {
        format!("<FoundTransaction {} {} at {} {}>", self.kind(), self.0.xid, self.0.lsn, self.0.time)
    }
}

/// The answer of `find(...)`. `to_dict()` is the document of `pitr find
/// --json` (with the window, what was read, relfilenode answers and storage
/// events).
#[pyclass(name = "FindReport", module = "pitr", frozen)]
#[derive(Debug, Clone)]
pub struct PyFindReport(pub FindReport);

#[pymethods]
impl PyFindReport {
    /// True when a transaction (or a relfilenode answer) was found.
    #[getter]
    fn found(&self) -> bool {
        self.0.found
    }

    /// The PostgreSQL major of the WAL.
    #[getter]
    fn pg_version(&self) -> u32 {
        self.0.pg_version
    }

    /// The timeline whose path was read, or None (plain WAL files).
    #[getter]
    fn timeline(&self) -> Option<u32> {
        self.0.timeline
    }

    /// With a base backup: where it becomes consistent (the earliest stop).
    #[getter]
    fn consistent_lsn(&self) -> Option<PyLsn> {
        self.0.consistent_lsn.map(PyLsn)
    }

    /// The transaction ends found, in WAL order.
    #[getter]
    fn transactions(&self) -> Vec<PyFoundTransaction> {
        self.0.transactions.iter().cloned().map(PyFoundTransaction).collect()
    }

    /// Matching transaction ends left out by `limit`.
    #[getter]
    fn more(&self) -> u64 {
        self.0.more
    }

    /// The relfilenodes searched (given, and resolved from `table`).
    #[getter]
    fn relfilenodes(&self) -> Vec<u32> {
        self.0.relfilenodes.clone()
    }

    /// Per relfilenode searched: who dropped it and the target that gets it
    /// back, as dicts.
    #[getter]
    fn answers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python_json(py, &self.0.answers)
    }

    /// Warnings (ambiguous times, damage, gaps) and hints.
    #[getter]
    fn problems(&self) -> Vec<PyPlanProblem> {
        self.0.problems.iter().cloned().map(PyPlanProblem).collect()
    }

    /// The report as a dict: the document of `pitr find --json`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python_json(py, &self.0)
    }

    fn __repr__(&self) -> String {
        format!(
            "<FindReport {} transactions (+{} more), {} problems>",
            self.0.transactions.len(),
            self.0.more,
            self.0.problems.len()
        )
    }
}

/// Finds transaction ends in WAL (`pitr find`), in one call that releases
/// the GIL: the commits and aborts of the window `start`..`end` (inclusive;
/// each an LSN or a time read like `recovery_target_time`, an aware
/// `datetime` too), each with its xid, time, LSN, the relation files it
/// dropped and the exact recovery targets that stop just before and just
/// after it; with `relfilenodes` or `table` (`[schema.]name`, resolved
/// through the backup's catalog or the live server `dsn`), who dropped or
/// rewrote the relation and the target that gets it back. Give `archive`
/// (read along the timeline path recovery would follow; from `backup`'s
/// redo point when given) or `paths` (WAL files or directories read in
/// order). `kinds` is `'all'`, `'commits'` or `'aborts'`; `limit` None for
/// no limit. Finding nothing is not an exception (`found` is False). Raises
/// `InvalidRequestError` (bad window bound, table not found, conflicting
/// arguments), `PitrIOError`, `ParseError`, `ServerError`.
///
/// `progress`, a callable, is called as `progress(done, total)` as the scan
/// enters each WAL file (`done` of the `total` files it reads at most), with
/// the GIL taken for the call only. When the callback raises (or Ctrl-C is
/// pressed during the scan, with or without a callback), the scan stops at
/// that file and the exception is raised. A `progress` that is not callable
/// raises `TypeError` before any work.
#[pyfunction]
#[pyo3(signature = (
    archive = None, *, backup = None, paths = None, start = None, end = None, timeline = None,
    xid = None, relfilenodes = None, table = None, dsn = None, db = None, kinds = "all",
    drops_only = false, modified = false, timezone = None, limit = Some(1000), progress = None
))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn find(
    py: Python<'_>,
    archive: Option<PathBuf>,
    backup: Option<PathBuf>,
    paths: Option<Vec<PathBuf>>,
    start: Option<&Bound<'_, PyAny>>,
    end: Option<&Bound<'_, PyAny>>,
    timeline: Option<&Bound<'_, PyAny>>,
    xid: Option<u32>,
    relfilenodes: Option<Vec<u32>>,
    table: Option<String>,
    dsn: Option<String>,
    db: Option<u32>,
    kinds: &str,
    drops_only: bool,
    modified: bool,
    timezone: Option<String>,
    limit: Option<usize>,
    progress: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyFindReport> {
    let progress = Progress::new(progress)?;
    let invalid = |m: &str| new_error(py, ErrorClass::InvalidRequest, m, ErrorDetails::default());
    let input = match (archive, paths) {
        (Some(a), None) => FindInput::Archive { archive: a, backup },
        (None, Some(p)) if backup.is_none() && !p.is_empty() => FindInput::Paths(p),
        (None, Some(_)) if backup.is_some() => return Err(invalid("backup goes with archive only")),
        (Some(_), Some(_)) => return Err(invalid("give archive or paths, not both")),
        _ => return Err(invalid("give an archive directory or WAL paths")),
    };
    let bound = |b: Option<&Bound<'_, PyAny>>| -> PyResult<Option<String>> {
        let Some(b) = b else { return Ok(None) };
        if b.is_instance_of::<PyString>() {
            return b.extract::<String>().map(Some);
        }
        if let Ok(l) = b.cast::<PyLsn>() {
            return Ok(Some(l.get().0.to_string()));
        }
        let t: jiff::Timestamp = b.extract().map_err(|_| {
            PyTypeError::new_err("start and end must be a str, an Lsn or a timezone-aware datetime")
        })?;
        Ok(Some(pitr_core::plan::target::format_target_time(t)))
    };
    let timeline = timeline_arg(timeline)?;
    let kinds = match kinds {
        "all" => KindFilter::All,
        "commits" => KindFilter::CommitsOnly,
        "aborts" => KindFilter::AbortsOnly,
        other => {
            return Err(PyValueError::new_err(format!("kinds {other:?}: give 'all', 'commits' or 'aborts'")));
        }
    };
    let relfilenodes = relfilenodes.unwrap_or_default();
    if modified && relfilenodes.is_empty() && table.is_none() {
        return Err(invalid("modified needs relfilenodes or table"));
    }
    if dsn.is_some() && table.is_none() {
        return Err(invalid("dsn goes with table only"));
    }
    if let Some(tz) = &timezone {
        time_zone(tz, "timezone")?;
    }
    let mut req = FindRequest::new(input);
    req.from = bound(start)?;
    req.to = bound(end)?;
    req.timeline = timeline;
    req.xid = xid;
    req.relfilenodes = relfilenodes;
    req.table = table;
    req.dsn = dsn;
    req.db = db;
    req.kinds = kinds;
    req.drops_only = drops_only;
    req.modified = modified;
    req.timezone = timezone;
    req.limit = limit;
    progress.detach(py, |on_file| find_with_progress(&req, on_file))?.py().map(PyFindReport)
}
