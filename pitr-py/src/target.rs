//! Recovery target settings (`pitr_core::plan::target`): parsing and
//! normalising `recovery_target_time`, `_xid`, `_name`, `_timeline` and
//! `_action` the way pitr writes them.

use crate::errors::PitrResultExt;
use pitr_core::plan::target::{self, DateOrder, TargetAction, TimelineTarget};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// A `timeline=` keyword argument: `None` (`latest`), a `TimelineTarget`,
/// `'current'`/`'latest'`/a number as text, or an int (>= 1).
pub(crate) fn timeline_arg(t: Option<&Bound<'_, PyAny>>) -> PyResult<TimelineTarget> {
    let Some(t) = t else { return Ok(TimelineTarget::Latest) };
    if let Ok(tt) = t.cast::<PyTimelineTarget>() {
        return Ok(tt.get().0);
    }
    if t.is_instance_of::<pyo3::types::PyString>() {
        return TimelineTarget::parse(&t.extract::<String>()?).py();
    }
    match t.extract::<u32>() {
        Ok(0) => Err(PyValueError::new_err("timeline 0 does not exist")),
        Ok(n) => Ok(TimelineTarget::Numbered(n)),
        Err(_) => Err(pyo3::exceptions::PyTypeError::new_err(
            "timeline must be a TimelineTarget, 'current', 'latest' or an int",
        )),
    }
}

/// A time zone by its tz database name; `ValueError` naming `what` (the
/// argument) for an unknown one.
pub(crate) fn time_zone(name: &str, what: &str) -> PyResult<jiff::tz::TimeZone> {
    jiff::tz::TimeZone::get(name)
        .map_err(|e| PyValueError::new_err(format!("{what} {name:?} is not a time zone name: {e}")))
}

/// Parses a `recovery_target_time` the way the server does at startup
/// (`timestamptz_in` with its `TimeZone` and `DateStyle`) and returns the
/// instant as an aware `datetime` in UTC. A text without a zone is read in
/// `timezone` (a tz database name); `datestyle` orders numeric dates such as
/// `11/24/2026`. Raises `ParseError` for what the server rejects (`now`,
/// `today`, `epoch`, zone abbreviations such as `Z` or `PST`, impossible
/// dates), `ValueError` for an unknown `timezone`.
#[pyfunction]
#[pyo3(signature = (text, timezone = "UTC", datestyle = "ISO, MDY"))]
pub(crate) fn parse_target_time(text: &str, timezone: &str, datestyle: &str) -> PyResult<jiff::Timestamp> {
    let zone = time_zone(timezone, "TimeZone")?;
    Ok(target::parse_target_time(text, &zone, DateOrder::from_datestyle(datestyle)).py()?.time)
}

/// An instant (an aware `datetime`) as pitr writes `recovery_target_time`:
/// `YYYY-MM-DD HH:MM:SS[.ffffff]+00` in UTC, which every major reads the
/// same whatever its `TimeZone` and `DateStyle`. Naive datetimes are refused
/// (`TypeError`): their zone would be a guess.
#[pyfunction]
pub(crate) fn format_target_time(time: jiff::Timestamp) -> String {
    target::format_target_time(time)
}

/// Parses a `recovery_target_xid` strictly: a plain decimal number from 3 to
/// 4294967295 (the server reads junk as 0, truncates past 32 bits and reads
/// a leading zero as octal; pitr refuses those). Raises `ParseError`.
#[pyfunction]
pub(crate) fn parse_target_xid(text: &str) -> PyResult<u32> {
    target::parse_xid(text).py()
}

/// Checks a `recovery_target_name` (a restore point name: not empty, at most
/// 63 bytes, no newline) and returns it. Raises `ParseError`.
#[pyfunction]
pub(crate) fn parse_target_name(text: &str) -> PyResult<String> {
    target::parse_name(text).py()
}

/// `recovery_target_timeline`: `TimelineTarget.CURRENT`,
/// `TimelineTarget.LATEST` or `TimelineTarget.numbered(n)`;
/// `TimelineTarget.parse(text)`. `str()` is the setting value.
#[pyclass(name = "TimelineTarget", module = "pitr", frozen, eq, hash)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PyTimelineTarget(pub TimelineTarget);

impl std::hash::Hash for PyTimelineTarget {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // The setting value identifies the target (the core type has no Hash).
        self.0.setting_value().hash(state);
    }
}

#[pymethods]
impl PyTimelineTarget {
    /// `current`: the timeline of the backup's control file.
    #[classattr]
    #[allow(non_snake_case)]
    fn CURRENT() -> Self {
        PyTimelineTarget(TimelineTarget::Current)
    }

    /// `latest` (the default): the newest timeline reachable by consecutive
    /// history files.
    #[classattr]
    #[allow(non_snake_case)]
    fn LATEST() -> Self {
        PyTimelineTarget(TimelineTarget::Latest)
    }

    /// A numbered timeline (>= 1).
    #[staticmethod]
    fn numbered(timeline: u32) -> PyResult<Self> {
        if timeline == 0 {
            return Err(PyValueError::new_err("timeline 0 does not exist"));
        }
        Ok(PyTimelineTarget(TimelineTarget::Numbered(timeline)))
    }

    /// Parses `current`, `latest` (lower case, as the server compares) or a
    /// decimal timeline >= 1. Raises `ParseError` for what the server would
    /// read as timeline 0 (`Latest`, `0`, `0x2`...).
    #[staticmethod]
    fn parse(text: &str) -> PyResult<Self> {
        TimelineTarget::parse(text).py().map(PyTimelineTarget)
    }

    /// `"current"`, `"latest"` or `"numbered"`.
    #[getter]
    fn kind(&self) -> &'static str {
        match self.0 {
            TimelineTarget::Current => "current",
            TimelineTarget::Latest => "latest",
            TimelineTarget::Numbered(_) => "numbered",
        }
    }

    /// The timeline of a numbered target, else None.
    #[getter]
    fn timeline(&self) -> Option<u32> {
        match self.0 {
            TimelineTarget::Numbered(n) => Some(n),
            _ => None,
        }
    }

    /// The setting value (`current`, `latest` or the number).
    fn setting_value(&self) -> String {
        self.0.setting_value()
    }

    fn __str__(&self) -> String {
        self.0.setting_value()
    }

    fn __repr__(&self) -> String {
        format!("TimelineTarget.parse('{}')", self.0.setting_value())
    }
}

/// `recovery_target_action`. `.value` is the setting value.
#[pyclass(name = "TargetAction", module = "pitr", frozen, eq, hash)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PyTargetAction {
    /// Pause at the target (the default); `pg_wal_replay_resume()` then promotes.
    #[pyo3(name = "PAUSE")]
    Pause,
    /// End recovery and promote at once.
    #[pyo3(name = "PROMOTE")]
    Promote,
    /// Stop the server at the target.
    #[pyo3(name = "SHUTDOWN")]
    Shutdown,
}

impl From<TargetAction> for PyTargetAction {
    fn from(a: TargetAction) -> Self {
        match a {
            TargetAction::Pause => PyTargetAction::Pause,
            TargetAction::Promote => PyTargetAction::Promote,
            TargetAction::Shutdown => PyTargetAction::Shutdown,
        }
    }
}

impl From<PyTargetAction> for TargetAction {
    fn from(a: PyTargetAction) -> Self {
        match a {
            PyTargetAction::Pause => TargetAction::Pause,
            PyTargetAction::Promote => TargetAction::Promote,
            PyTargetAction::Shutdown => TargetAction::Shutdown,
        }
    }
}

#[pymethods]
impl PyTargetAction {
    /// Parses `pause`, `promote` or `shutdown` (case-insensitive, like the
    /// server). Raises `ParseError`.
    #[staticmethod]
    fn parse(text: &str) -> PyResult<Self> {
        TargetAction::parse(text).py().map(PyTargetAction::from)
    }

    /// The setting value.
    #[getter]
    fn value(&self) -> &'static str {
        TargetAction::from(*self).as_str()
    }
}
