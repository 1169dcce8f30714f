//! Reading WAL (`pitr_core::wal`): `pitr.WalReader` (an iterator of
//! `pitr.WalRecord`), and the bulk functions `wal_stats` and `wal_events`,
//! which answer common questions without a per-record Python loop. Reading
//! releases the GIL.

use crate::convert::to_python_json;
use crate::errors::PitrResultExt;
use crate::lsn::{PyLsn, PyWalSegSize, lsn_from_py};
use crate::version::PyPgMajor;
use pitr_core::wal::decode::XactKind;
use pitr_core::wal::{
    DataFilter, Decoded, ReaderOptions, Record, Stats, WalError, WalReader, WalSource, decode_record, desc,
    scan,
};
use pitr_core::{Lsn, TimeLineId};
use pyo3::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

fn source(path: &Path) -> Result<WalSource, WalError> {
    if path.is_dir() { WalSource::dir(path) } else { WalSource::from_paths(&[path]) }
}

fn options(start: Option<&Bound<'_, PyAny>>, end: Option<&Bound<'_, PyAny>>) -> PyResult<ReaderOptions> {
    Ok(ReaderOptions {
        start: start.map(lsn_from_py).transpose()?,
        end: end.map(lsn_from_py).transpose()?,
        ..ReaderOptions::default()
    })
}

/// One WAL record: its header fields, pg_waldump's description, and what
/// recovery targets look at (a transaction's end and time, a restore
/// point's name).
#[pyclass(name = "WalRecord", module = "pitr", frozen, eq)]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PyWalRecord {
    lsn: Lsn,
    end_lsn: Lsn,
    prev: Lsn,
    xid: u32,
    rmid: u8,
    info: u8,
    total_length: u32,
    length: u32,
    fpi_length: u32,
    timeline: TimeLineId,
    rmgr: String,
    type_name: Option<&'static str>,
    description: String,
    file: String,
    xact_kind: Option<&'static str>,
    xact_time: Option<jiff::Timestamp>,
    restore_point: Option<String>,
}

impl PyWalRecord {
    fn of(rec: &Record<'_>) -> PyWalRecord {
        let mut line = String::new();
        desc::waldump_line(rec, &mut line);
        let description = match line.split_once(", desc: ") {
            Some((_, d)) => d.to_string(),
            None => line,
        };
        let (mut xact_kind, mut xact_time, mut restore_point) = (None, None, None);
        match decode_record(rec) {
            Ok(Decoded::XactFinish(x)) => {
                xact_kind = Some(match x.kind {
                    XactKind::Commit => "commit",
                    XactKind::Abort => "abort",
                    XactKind::CommitPrepared => "commit_prepared",
                    XactKind::AbortPrepared => "abort_prepared",
                });
                xact_time = x.time.to_jiff();
            }
            Ok(Decoded::RestorePoint { name, .. }) => {
                restore_point = Some(String::from_utf8_lossy(name).into_owned())
            }
            _ => {}
        }
        PyWalRecord {
            lsn: rec.lsn,
            end_lsn: rec.end_lsn,
            prev: rec.prev(),
            xid: rec.xid(),
            rmid: rec.rmid(),
            info: rec.info(),
            total_length: rec.tot_len(),
            length: rec.rec_len(),
            fpi_length: rec.fpi_len,
            timeline: rec.page_timeline,
            rmgr: rec.rmgr_name().into_owned(),
            type_name: rec.type_name(),
            description,
            file: rec.file().to_string_lossy().into_owned(),
            xact_kind,
            xact_time,
            restore_point,
        }
    }
}

#[pymethods]
impl PyWalRecord {
    /// Where the record starts.
    #[getter]
    fn lsn(&self) -> PyLsn {
        PyLsn(self.lsn)
    }

    /// Where the next record starts (the end, MAXALIGNed).
    #[getter]
    fn end_lsn(&self) -> PyLsn {
        PyLsn(self.end_lsn)
    }

    /// `xl_prev`.
    #[getter]
    fn prev(&self) -> PyLsn {
        PyLsn(self.prev)
    }

    /// `xl_xid` (0 outside a transaction).
    #[getter]
    fn xid(&self) -> u32 {
        self.xid
    }

    /// `xl_rmid`.
    #[getter]
    fn rmid(&self) -> u8 {
        self.rmid
    }

    /// `xl_info`.
    #[getter]
    fn info(&self) -> u8 {
        self.info
    }

    /// `xl_tot_len` (pg_waldump's "tot").
    #[getter]
    fn total_length(&self) -> u32 {
        self.total_length
    }

    /// Length without full-page images (pg_waldump's "rec").
    #[getter]
    fn length(&self) -> u32 {
        self.length
    }

    /// Bytes of full-page images.
    #[getter]
    fn fpi_length(&self) -> u32 {
        self.fpi_length
    }

    /// Timeline of the page the record starts on.
    #[getter]
    fn timeline(&self) -> TimeLineId {
        self.timeline
    }

    /// Resource manager name as pg_waldump prints it (`'Transaction'`...).
    #[getter]
    fn rmgr(&self) -> &str {
        &self.rmgr
    }

    /// Record type as pg_waldump prints it (`'COMMIT'`...), or None.
    #[getter]
    fn type_name(&self) -> Option<&'static str> {
        self.type_name
    }

    /// pg_waldump's `desc:` for the records pitr decodes (transactions, XLOG,
    /// storage, database, standby); the type name and block references for
    /// the others.
    #[getter]
    fn description(&self) -> &str {
        &self.description
    }

    /// The segment file the record starts in.
    #[getter]
    fn file(&self) -> &str {
        &self.file
    }

    /// For a transaction's end: `'commit'`, `'abort'`, `'commit_prepared'`
    /// or `'abort_prepared'`; else None.
    #[getter]
    fn xact_kind(&self) -> Option<&'static str> {
        self.xact_kind
    }

    /// For a transaction's end: its timestamp (what `recovery_target_time`
    /// compares with), an aware `datetime`; else None.
    #[getter]
    fn xact_time(&self) -> Option<jiff::Timestamp> {
        self.xact_time
    }

    /// For a restore point: its name; else None.
    #[getter]
    fn restore_point(&self) -> Option<&str> {
        self.restore_point.as_deref()
    }

    /// The record as a dict (these attributes; LSNs and times as text).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python_json(py, self)
    }

    fn __repr__(&self) -> String {
        format!(
            "<WalRecord {} {} {} len {}/{} tx {}>",
            self.lsn,
            self.rmgr,
            self.type_name.unwrap_or("?"),
            self.length,
            self.total_length,
            self.xid
        )
    }
}

/// A stream of WAL records: `WalReader(path, start=None, end=None)`, where
/// `path` is a directory (an archive or `pg_wal`: every segment, compressed
/// or not, the highest timeline of each) or one segment file; iterate it
/// for `WalRecord`s, from the first record at or after `start` to the last
/// before `end`. Damage raises `CorruptWalError` (with `file` and `lsn`);
/// the clean end of the WAL ends the iteration (`end` says why).
#[pyclass(name = "WalReader", module = "pitr", frozen)]
#[derive(Debug)]
pub struct PyWalReader {
    inner: Mutex<WalReader>,
}

impl PyWalReader {
    fn with<T>(&self, f: impl FnOnce(&mut WalReader) -> T) -> PyResult<T> {
        let mut guard = self.inner.lock().map_err(|_| {
            pyo3::exceptions::PyRuntimeError::new_err("the WAL reader failed in another thread")
        })?;
        Ok(f(&mut guard))
    }
}

#[pymethods]
impl PyWalReader {
    #[new]
    #[pyo3(signature = (path, start = None, end = None))]
    fn new(
        py: Python<'_>,
        path: PathBuf,
        start: Option<&Bound<'_, PyAny>>,
        end: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let opts = options(start, end)?;
        let inner = py.detach(|| WalReader::open(source(&path)?, opts)).py()?;
        Ok(PyWalReader { inner: Mutex::new(inner) })
    }

    /// The PostgreSQL major of the stream.
    #[getter]
    fn major(&self) -> PyResult<PyPgMajor> {
        self.with(|r| r.info().major.into())
    }

    /// The system identifier of the stream.
    #[getter]
    fn system_identifier(&self) -> PyResult<u64> {
        self.with(|r| r.info().system_id)
    }

    /// The WAL segment size of the stream.
    #[getter]
    fn segment_size(&self) -> PyResult<PyWalSegSize> {
        self.with(|r| PyWalSegSize(r.info().seg_size))
    }

    /// Records read so far.
    #[getter]
    fn records_read(&self) -> PyResult<u64> {
        self.with(|r| r.records_read())
    }

    /// Where and why the stream ended (a dict: `end_lsn`, `position`,
    /// `file`, `reason`, ...), or None before the end.
    #[getter]
    fn end<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let end = self.with(|r| r.end().cloned())?;
        to_python_json(py, &end)
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<PyWalRecord>> {
        py.detach(|| self.with(|r| r.next_record().map(|rec| rec.map(|rec| PyWalRecord::of(&rec)))))?.py()
    }

    fn __repr__(&self) -> PyResult<String> {
        self.with(|r| {
            let i = r.info();
            format!(
                "<WalReader PostgreSQL {} system {} {} records read>",
                i.major.number(),
                i.system_id,
                r.records_read()
            )
        })
    }
}

/// Statistics of the WAL of `path` (as `WalReader`), like `pg_waldump
/// --stats` (`per_record`: `--stats=record`): `{'start', 'end', 'count',
/// 'rows': [{'name', 'count', 'rec_len', 'fpi_len', 'tot_len'}]}`.
#[pyfunction]
#[pyo3(signature = (path, start = None, end = None, per_record = false))]
pub(crate) fn wal_stats<'py>(
    py: Python<'py>,
    path: PathBuf,
    start: Option<&Bound<'py, PyAny>>,
    end: Option<&Bound<'py, PyAny>>,
    per_record: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let mut opts = options(start, end)?;
    opts.data = DataFilter::none();
    let stats = py
        .detach(|| -> Result<serde_json::Value, WalError> {
            let mut reader = WalReader::open(source(&path)?, opts)?;
            let mut stats = Stats::new(reader.info().major);
            while let Some(rec) = reader.next_record()? {
                stats.add(&rec);
            }
            Ok(stats.to_json(per_record))
        })
        .py()?;
    to_python_json(py, &stats)
}

/// The events of the WAL of `path` (as `WalReader`) that matter for recovery
/// planning, as dicts with an `event` key: `commit` and `abort` (`lsn`,
/// `end_lsn`, `xid`, `time`, ...), `prepare`, `restore_point` (`name`),
/// `checkpoint`, `end_of_recovery`, `timeline_switch`, ... in WAL order.
#[pyfunction]
#[pyo3(signature = (path, start = None, end = None))]
pub(crate) fn wal_events<'py>(
    py: Python<'py>,
    path: PathBuf,
    start: Option<&Bound<'py, PyAny>>,
    end: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let opts = options(start, end)?;
    let events = py
        .detach(|| -> Result<Vec<serde_json::Value>, WalError> {
            let mut scanner = scan(source(&path)?, opts)?;
            let mut events = Vec::new();
            while let Some(e) = scanner.next_event()? {
                events.push(serde_json::to_value(e).map_err(|e| WalError::Invalid(e.to_string()))?);
            }
            Ok(events)
        })
        .py()?;
    to_python_json(py, &events)
}
