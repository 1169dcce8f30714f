//! `pitr.ControlFile`: `global/pg_control` of PostgreSQL 13 to 18
//! (`pitr_core::control`).

use crate::convert::to_python_json;
use crate::errors::{ErrorClass, ErrorDetails, PitrResultExt, ToPyErr, new_error};
use crate::lsn::{PyLsn, PyWalSegSize};
use crate::version::PyPgMajor;
use crate::walfile::PySegmentName;
use pitr_core::TimeLineId;
use pitr_core::control::{ControlError, ControlFile};
use pyo3::prelude::*;
use std::path::PathBuf;

impl ToPyErr for ControlError {
    fn to_py_err(self, py: Python<'_>) -> PyErr {
        let message = self.to_string();
        let file = match self {
            ControlError::Io(io) => return io.to_py_err(py),
            ControlError::Truncated { file, .. }
            | ControlError::BadCrc { file, .. }
            | ControlError::Invalid { file, .. }
            | ControlError::UnknownVersion { file, .. }
            | ControlError::Platform { file, .. } => file,
            _ => return new_error(py, ErrorClass::Pitr, &message, ErrorDetails::default()),
        };
        let details = ErrorDetails {
            file: Some(file.to_string_lossy().into_owned()),
            what: Some("pg_control"),
            ..ErrorDetails::default()
        };
        new_error(py, ErrorClass::Parse, &message, details)
    }
}

/// A decoded `global/pg_control`: `ControlFile.read(path)`,
/// `ControlFile.parse(data, file="pg_control", verify_crc=True)`. The main
/// fields are attributes; `to_dict()` has every field.
#[pyclass(name = "ControlFile", module = "pitr", frozen, eq)]
#[derive(Debug, Clone, PartialEq)]
pub struct PyControlFile(pub ControlFile);

#[pymethods]
impl PyControlFile {
    /// Reads and decodes a `pg_control` file. Raises `ParseError`
    /// (truncated, CRC mismatch, another major or platform) or `PitrIOError`,
    /// naming the file.
    #[staticmethod]
    fn read(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        py.detach(|| ControlFile::read(&path)).py().map(PyControlFile)
    }

    /// Decodes a `pg_control` image (`bytes`). With `verify_crc=False` a CRC
    /// mismatch is accepted, as `pg_controldata` does (see `crc_ok`).
    #[staticmethod]
    #[pyo3(signature = (data, file = PathBuf::from("pg_control"), verify_crc = true))]
    fn parse(data: &[u8], file: PathBuf, verify_crc: bool) -> PyResult<Self> {
        let cf = if verify_crc {
            ControlFile::parse(data, &file)
        } else {
            ControlFile::parse_unverified(data, &file)
        };
        cf.py().map(PyControlFile)
    }

    /// The PostgreSQL major that wrote it.
    #[getter]
    fn major(&self) -> PyPgMajor {
        self.0.major.into()
    }

    /// `pg_control_version`.
    #[getter]
    fn pg_control_version(&self) -> u32 {
        self.0.pg_control_version
    }

    /// `catalog_version_no`.
    #[getter]
    fn catalog_version(&self) -> u32 {
        self.0.catalog_version
    }

    /// The database system identifier.
    #[getter]
    fn system_identifier(&self) -> u64 {
        self.0.system_identifier
    }

    /// The cluster state as `pg_controldata` prints it (`'in production'`,
    /// `'shut down'`, `'shut down in recovery'`, ...).
    #[getter]
    fn state(&self) -> String {
        self.0.state.to_string()
    }

    /// Last update of the file (an aware `datetime`), or None when out of range.
    #[getter]
    fn time(&self) -> Option<jiff::Timestamp> {
        self.0.time.timestamp()
    }

    /// LSN of the latest checkpoint record.
    #[getter]
    fn checkpoint(&self) -> PyLsn {
        PyLsn(self.0.checkpoint)
    }

    /// The latest checkpoint's REDO point.
    #[getter]
    fn redo(&self) -> PyLsn {
        PyLsn(self.0.checkpoint_copy.redo)
    }

    /// The latest checkpoint's timeline.
    #[getter]
    fn timeline(&self) -> TimeLineId {
        self.0.checkpoint_copy.timeline
    }

    /// The latest checkpoint's previous timeline.
    #[getter]
    fn prev_timeline(&self) -> TimeLineId {
        self.0.checkpoint_copy.prev_timeline
    }

    /// Time of the latest checkpoint (an aware `datetime`), or None.
    #[getter]
    fn checkpoint_time(&self) -> Option<jiff::Timestamp> {
        self.0.checkpoint_copy.time.timestamp()
    }

    /// The latest checkpoint's next transaction ID, `'epoch:xid'`.
    #[getter]
    fn next_xid(&self) -> String {
        self.0.checkpoint_copy.next_xid.to_string()
    }

    /// `minRecoveryPoint` (`Lsn.INVALID` when none).
    #[getter]
    fn min_recovery_point(&self) -> PyLsn {
        PyLsn(self.0.min_recovery_point)
    }

    /// `minRecoveryPointTLI` (0 when none).
    #[getter]
    fn min_recovery_point_timeline(&self) -> TimeLineId {
        self.0.min_recovery_point_timeline
    }

    /// `backupStartPoint`.
    #[getter]
    fn backup_start_point(&self) -> PyLsn {
        PyLsn(self.0.backup_start_point)
    }

    /// `backupEndPoint`.
    #[getter]
    fn backup_end_point(&self) -> PyLsn {
        PyLsn(self.0.backup_end_point)
    }

    /// `backupEndRequired`.
    #[getter]
    fn backup_end_required(&self) -> bool {
        self.0.backup_end_required
    }

    /// The `wal_level` the server last ran with (`'replica'`...).
    #[getter]
    fn wal_level(&self) -> String {
        self.0.wal_level.to_string()
    }

    /// `wal_log_hints`.
    #[getter]
    fn wal_log_hints(&self) -> bool {
        self.0.wal_log_hints
    }

    /// `full_page_writes` of the latest checkpoint.
    #[getter]
    fn full_page_writes(&self) -> bool {
        self.0.checkpoint_copy.full_page_writes
    }

    /// The WAL segment size.
    #[getter]
    fn wal_segment_size(&self) -> PyWalSegSize {
        PyWalSegSize(self.0.wal_segment_size)
    }

    /// The data page size (`blcksz`).
    #[getter]
    fn block_size(&self) -> u32 {
        self.0.block_size
    }

    /// The WAL page size.
    #[getter]
    fn wal_block_size(&self) -> u32 {
        self.0.wal_block_size
    }

    /// `data_checksum_version` (0: data checksums off).
    #[getter]
    fn data_checksum_version(&self) -> u32 {
        self.0.data_checksum_version
    }

    /// True when data checksums are enabled.
    #[getter]
    fn data_checksums(&self) -> bool {
        self.0.data_checksums()
    }

    /// True when the stored CRC matches the contents.
    #[getter]
    fn crc_ok(&self) -> bool {
        self.0.crc_ok()
    }

    /// The WAL file holding the latest checkpoint's REDO point.
    fn redo_wal_file(&self) -> PySegmentName {
        PySegmentName(self.0.redo_wal_file())
    }

    /// Every field as a dict (the documented JSON).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python_json(py, &self.0)
    }

    fn __repr__(&self) -> String {
        format!(
            "<ControlFile PostgreSQL {} system {} {} checkpoint {} timeline {}>",
            self.0.major.number(),
            self.0.system_identifier,
            self.0.state,
            self.0.checkpoint,
            self.0.checkpoint_copy.timeline
        )
    }
}
