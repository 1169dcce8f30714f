//! `pitr.TimelineHistory`, its entries and query results, and
//! `pitr.HistorySet` (`pitr_core::history`).

use crate::convert::to_python_json;
use crate::errors::{PitrResultExt, error_ref_to_py};
use crate::lsn::{PyLsn, lsn_from_py};
use pitr_core::TimeLineId;
use pitr_core::history::{HistoryEntry, HistorySet, SwitchPoint, TimelineHistory, TimelineRange};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use std::path::PathBuf;

/// One line of a history file: timeline `parent` ended at `switch_lsn`.
#[pyclass(name = "HistoryEntry", module = "pitr", frozen, eq, from_py_object)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyHistoryEntry(pub HistoryEntry);

#[pymethods]
impl PyHistoryEntry {
    /// An entry built in memory (`line` 0 unless given).
    #[new]
    #[pyo3(signature = (parent, switch_lsn, reason = "", line = 0))]
    fn new(parent: TimeLineId, switch_lsn: &Bound<'_, PyAny>, reason: &str, line: usize) -> PyResult<Self> {
        let mut e = HistoryEntry::new(parent, lsn_from_py(switch_lsn)?, reason);
        e.line = line;
        Ok(PyHistoryEntry(e))
    }

    /// The timeline that ended (the parent of the next one).
    #[getter]
    fn parent(&self) -> TimeLineId {
        self.0.parent
    }

    /// Where it ended: the first LSN of the next timeline.
    #[getter]
    fn switch_lsn(&self) -> PyLsn {
        PyLsn(self.0.switch_lsn)
    }

    /// The free text after the LSN, e.g. `'no recovery target specified'`.
    #[getter]
    fn reason(&self) -> &str {
        &self.0.reason
    }

    /// 1-based line in the file (0 for an entry built in memory).
    #[getter]
    fn line(&self) -> usize {
        self.0.line
    }

    /// True when PostgreSQL ends this reason with its own newline (time and
    /// LSN targets), which leaves a blank line in the file.
    fn reason_has_newline(&self) -> bool {
        self.0.reason_has_newline()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let reason = PyString::new(py, &self.0.reason).repr()?;
        Ok(format!(
            "HistoryEntry({}, Lsn('{}'), {reason}, line={})",
            self.0.parent, self.0.switch_lsn, self.0.line
        ))
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let e = &slf.get().0;
        let args = (e.parent, PyLsn(e.switch_lsn), e.reason.clone(), e.line).into_pyobject(py)?;
        PyTuple::new(py, [py.get_type::<PyHistoryEntry>().into_any(), args.into_any()])
    }
}

/// Where a timeline ended and which timeline followed it (`tliSwitchPoint`).
#[pyclass(name = "SwitchPoint", module = "pitr", frozen, eq)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PySwitchPoint(pub SwitchPoint);

#[pymethods]
impl PySwitchPoint {
    /// The first LSN of the next timeline.
    #[getter]
    fn lsn(&self) -> PyLsn {
        PyLsn(self.0.lsn)
    }

    /// The timeline that begins there.
    #[getter]
    fn next_timeline(&self) -> TimeLineId {
        self.0.next_timeline
    }

    fn __repr__(&self) -> String {
        format!("SwitchPoint(lsn=Lsn('{}'), next_timeline={})", self.0.lsn, self.0.next_timeline)
    }
}

/// A timeline's span `[begin, end)` on the way to a history's timeline; None
/// means unbounded.
#[pyclass(name = "TimelineRange", module = "pitr", frozen, eq)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PyTimelineRange(pub TimelineRange);

#[pymethods]
impl PyTimelineRange {
    /// The timeline.
    #[getter]
    fn timeline(&self) -> TimeLineId {
        self.0.timeline
    }

    /// Its first LSN (None: from the beginning of WAL).
    #[getter]
    fn begin(&self) -> Option<PyLsn> {
        self.0.begin.map(PyLsn)
    }

    /// The first LSN no longer on it (None: it has not ended).
    #[getter]
    fn end(&self) -> Option<PyLsn> {
        self.0.end.map(PyLsn)
    }

    /// True when `lsn` lies in `[begin, end)`.
    fn contains(&self, lsn: &Bound<'_, PyAny>) -> PyResult<bool> {
        Ok(self.0.contains(lsn_from_py(lsn)?))
    }

    fn __repr__(&self) -> String {
        let show = |l: Option<pitr_core::Lsn>| l.map_or("None".to_string(), |l| format!("Lsn('{l}')"));
        format!(
            "TimelineRange(timeline={}, begin={}, end={})",
            self.0.timeline,
            show(self.0.begin),
            show(self.0.end)
        )
    }
}

/// The parsed history file of one timeline (`TTTTTTTT.history`), read like
/// PostgreSQL's `readTimeLineHistory`, with the server's queries on it.
///
/// `TimelineHistory.parse(timeline, text)`, `TimelineHistory.read(path)`
/// (timeline from the file name, compressed files too),
/// `TimelineHistory.read_for(path, timeline)`, `TimelineHistory.root(timeline)`.
/// `str()` is the file text as PostgreSQL writes it.
#[pyclass(name = "TimelineHistory", module = "pitr", frozen, eq, from_py_object)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyTimelineHistory(pub TimelineHistory);

#[pymethods]
impl PyTimelineHistory {
    /// A history built from entries (oldest first), as a promotion writes it.
    #[new]
    #[pyo3(signature = (timeline, entries = Vec::new()))]
    fn new(timeline: TimeLineId, entries: Vec<PyHistoryEntry>) -> Self {
        PyTimelineHistory(TimelineHistory { timeline, entries: entries.into_iter().map(|e| e.0).collect() })
    }

    /// Parses the text of the history file of `timeline`. Raises
    /// `ParseError` (with the line) for what the server refuses.
    #[staticmethod]
    fn parse(timeline: TimeLineId, text: &str) -> PyResult<Self> {
        TimelineHistory::parse(timeline, text).py().map(PyTimelineHistory)
    }

    /// Reads a history file; the timeline comes from its name
    /// (`TTTTTTTT.history`, possibly `.gz`, `.zst`, ...). Raises `ParseError`
    /// or `PitrIOError` naming the file.
    #[staticmethod]
    fn read(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        py.detach(|| TimelineHistory::read(&path)).py().map(PyTimelineHistory)
    }

    /// Reads a history file of `timeline`, whatever its name.
    #[staticmethod]
    fn read_for(py: Python<'_>, path: PathBuf, timeline: TimeLineId) -> PyResult<Self> {
        py.detach(|| TimelineHistory::read_for(&path, timeline)).py().map(PyTimelineHistory)
    }

    /// The history of a timeline without a history file (timeline 1).
    #[staticmethod]
    fn root(timeline: TimeLineId) -> Self {
        PyTimelineHistory(TimelineHistory::root(timeline))
    }

    /// The timeline this history leads to.
    #[getter]
    fn timeline(&self) -> TimeLineId {
        self.0.timeline
    }

    /// The entries, oldest first.
    #[getter]
    fn entries(&self) -> Vec<PyHistoryEntry> {
        self.0.entries.iter().cloned().map(PyHistoryEntry).collect()
    }

    /// The timeline this one was forked from, or None.
    #[getter]
    fn parent(&self) -> Option<TimeLineId> {
        self.0.parent()
    }

    /// Where this timeline begins (the last switch point), or None.
    #[getter]
    fn begin(&self) -> Option<PyLsn> {
        self.0.begin().map(PyLsn)
    }

    /// The timeline holding `lsn` on the way to this history's timeline
    /// (`tliOfPointInHistory`).
    fn timeline_of(&self, lsn: &Bound<'_, PyAny>) -> PyResult<TimeLineId> {
        self.0.timeline_of(lsn_from_py(lsn)?).py()
    }

    /// Where `timeline` ended on the way to this history's timeline, and the
    /// timeline that followed (`tliSwitchPoint`); None for the history's own
    /// timeline. Raises `InvalidRequestError` for a timeline not on the path.
    fn switch_point(&self, timeline: TimeLineId) -> PyResult<Option<PySwitchPoint>> {
        Ok(self.0.switch_point(timeline).py()?.map(PySwitchPoint))
    }

    /// The ranges `readTimeLineHistory` returns, newest first.
    fn ranges(&self) -> Vec<PyTimelineRange> {
        self.0.ranges().into_iter().map(PyTimelineRange).collect()
    }

    /// The ranges oldest first (the order WAL is replayed in).
    fn ranges_oldest_first(&self) -> Vec<PyTimelineRange> {
        self.0.ranges_oldest_first().into_iter().map(PyTimelineRange).collect()
    }

    /// The range of `timeline` on the path, or None.
    fn range_of(&self, timeline: TimeLineId) -> Option<PyTimelineRange> {
        self.0.range_of(timeline).map(PyTimelineRange)
    }

    /// True for this history's timeline and its ancestors (`tliInHistory`).
    fn contains(&self, timeline: TimeLineId) -> bool {
        self.0.contains(timeline)
    }

    /// The ancestry, oldest first, ending with this history's timeline.
    fn ancestry(&self) -> Vec<TimeLineId> {
        self.0.ancestry()
    }

    /// True when `ancestor` is a strict ancestor of this history's timeline.
    fn descends_from(&self, ancestor: TimeLineId) -> bool {
        self.0.descends_from(ancestor)
    }

    /// The history of `child`, forked from this timeline at `switch_lsn`
    /// (what a promotion writes).
    #[pyo3(signature = (child, switch_lsn, reason = "no recovery target specified"))]
    fn child(&self, child: TimeLineId, switch_lsn: &Bound<'_, PyAny>, reason: &str) -> PyResult<Self> {
        Ok(PyTimelineHistory(self.0.child(child, lsn_from_py(switch_lsn)?, reason)))
    }

    /// Problems the server does not check, as dicts (`severity`, `timeline`,
    /// `line`, `message`).
    fn issues<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python_json(py, &self.0.issues())
    }

    /// Raises `ParseError` (with the line) when `issues()` has an error.
    fn validate(&self) -> PyResult<()> {
        self.0.validate().py()
    }

    /// The file text exactly as PostgreSQL writes it.
    fn to_text(&self) -> String {
        self.0.to_text()
    }

    /// The history as a dict (the documented JSON): `timeline`, `entries`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python_json(py, &self.0)
    }

    fn __str__(&self) -> String {
        self.0.to_text()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let text = PyString::new(py, &self.0.to_text()).repr()?;
        Ok(format!("TimelineHistory.parse({}, {text})", self.0.timeline))
    }

    fn __len__(&self) -> usize {
        self.0.entries.len()
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let entries = PyList::new(py, slf.get().entries())?;
        let args =
            PyTuple::new(py, [slf.get().0.timeline.into_pyobject(py)?.into_any(), entries.into_any()])?;
        PyTuple::new(py, [py.get_type::<PyTimelineHistory>().into_any(), args.into_any()])
    }
}

/// Every timeline history file of a directory (a WAL archive or `pg_wal`),
/// checked against each other. `HistorySet.load_dir(dir)`,
/// `HistorySet.from_histories(histories)`.
#[pyclass(name = "HistorySet", module = "pitr", frozen)]
#[derive(Debug)]
pub struct PyHistorySet(pub HistorySet);

#[pymethods]
impl PyHistorySet {
    /// Reads every `TTTTTTTT.history` file (plain or compressed) of `dir`.
    /// Files that fail are in `errors`; only a directory that cannot be
    /// listed raises (`PitrIOError`).
    #[staticmethod]
    fn load_dir(py: Python<'_>, dir: PathBuf) -> PyResult<Self> {
        py.detach(|| HistorySet::load_dir(&dir)).py().map(PyHistorySet)
    }

    /// A set of histories already parsed, checked against each other.
    #[staticmethod]
    fn from_histories(histories: Vec<PyTimelineHistory>) -> Self {
        PyHistorySet(HistorySet::from_histories(histories.into_iter().map(|h| h.0)))
    }

    /// The histories that parsed, by timeline.
    #[getter]
    fn histories<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (tli, h) in &self.0.histories {
            d.set_item(tli, PyTimelineHistory(h.clone()))?;
        }
        Ok(d)
    }

    /// Every history file found, by timeline (also those in `errors`).
    #[getter]
    fn files<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (tli, p) in &self.0.files {
            d.set_item(tli, p.to_string_lossy())?;
        }
        Ok(d)
    }

    /// The files that could not be read or parsed, as exceptions
    /// (`ParseError`, `PitrIOError`) carrying file and line.
    #[getter]
    fn errors(&self, py: Python<'_>) -> Vec<Py<PyAny>> {
        self.0.errors.iter().map(|e| error_ref_to_py(py, e).into_value(py).into_any()).collect()
    }

    /// Problems of single files and disagreements between files, as dicts
    /// (`severity`, `timeline`, `line`, `message`).
    #[getter]
    fn issues<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python_json(py, &self.0.issues)
    }

    /// True when no file failed and no issue is an error.
    #[getter]
    fn is_valid(&self) -> bool {
        self.0.is_valid()
    }

    /// The history leading to `timeline` (an empty one for timeline 1), or
    /// None when a later timeline has no valid history file here.
    fn history_of(&self, timeline: TimeLineId) -> Option<PyTimelineHistory> {
        self.0.history_of(timeline).map(PyTimelineHistory)
    }

    /// `findNewestTimeLine(start)`: the last of `start + 1`, `start + 2`, ...
    /// that has a history file here, or `start`.
    fn newest_from(&self, start: TimeLineId) -> TimeLineId {
        self.0.newest_from(start)
    }

    /// The timelines forked from `timeline`.
    fn children_of(&self, timeline: TimeLineId) -> Vec<TimeLineId> {
        self.0.children_of(timeline)
    }

    /// Timelines without a known parent.
    fn roots(&self) -> Vec<TimeLineId> {
        self.0.roots()
    }

    /// The set as a dict (the documented JSON): `histories`, `files`,
    /// `errors` (messages), `issues`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python_json(py, &self.0)
    }

    fn __repr__(&self) -> String {
        let tls: Vec<String> = self.0.files.keys().map(|t| t.to_string()).collect();
        format!(
            "<HistorySet timelines [{}], {} errors, {} issues>",
            tls.join(", "),
            self.0.errors.len(),
            self.0.issues.len()
        )
    }
}
