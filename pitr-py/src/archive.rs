//! `pitr.Inventory`: a WAL archive's inventory, its verification and its
//! timeline-aware cleanup; `pitr.archive_get`, the `restore_command` helper
//! (`pitr_core::archive`).

use crate::convert::to_python_json;
use crate::errors::{ErrorClass, ErrorDetails, PitrResultExt, ToPyErr, new_error};
use crate::history::PyHistorySet;
use crate::lsn::{PyWalSegSize, seg_size_from_py};
use crate::version::PyPgMajor;
use pitr_core::TimeLineId;
use pitr_core::archive::cleanup;
use pitr_core::archive::get::{GetError, get};
use pitr_core::archive::{Inventory, ScanOptions, VerifyOptions, verify};
use pyo3::prelude::*;
use std::path::PathBuf;

/// What a WAL archive holds: `Inventory.scan(dir, seg_size=None)` lists a
/// directory (flat, Barman or pgBackRest layout) and indexes its segments by
/// timeline, with ranges and gaps, history files, backup history files,
/// `.partial` files, duplicates and unknown files. `to_dict()` is the
/// document of `pitr archive show --json`; `verify()` checks the files.
#[pyclass(name = "Inventory", module = "pitr", frozen)]
#[derive(Debug)]
pub struct PyInventory(pub Inventory);

#[pymethods]
impl PyInventory {
    /// Lists and indexes `dir`. `seg_size` (optional) is the WAL segment
    /// size; otherwise it is read from the first readable segment. Raises
    /// `PitrIOError` when the directory cannot be listed; problems inside
    /// the archive are in `problems`.
    #[staticmethod]
    #[pyo3(signature = (dir, seg_size = None))]
    fn scan(py: Python<'_>, dir: PathBuf, seg_size: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let opts = ScanOptions { seg_size: seg_size.map(seg_size_from_py).transpose()? };
        py.detach(|| Inventory::scan(&dir, &opts)).py().map(PyInventory)
    }

    /// The WAL segment size, or None when no segment could be read.
    #[getter]
    fn seg_size(&self) -> Option<PyWalSegSize> {
        self.0.seg_size().map(PyWalSegSize)
    }

    /// The system identifier of the archive's segments, or None.
    #[getter]
    fn system_id(&self) -> Option<u64> {
        self.0.system_id()
    }

    /// The PostgreSQL major of the archive's segments, or None.
    #[getter]
    fn pg_major(&self) -> Option<PyPgMajor> {
        self.0.pg_major().map(PyPgMajor::from)
    }

    /// The number of distinct segments.
    #[getter]
    fn segment_count(&self) -> u64 {
        self.0.segment_count()
    }

    /// The timelines, oldest first, as dicts (`timeline`, ranges, `gaps`,
    /// `partial`...).
    #[getter]
    fn timelines<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python_json(py, self.0.timelines())
    }

    /// Problems found while listing, as dicts (`severity`, `code`, `file`,
    /// `message`...).
    #[getter]
    fn problems<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python_json(py, self.0.problems())
    }

    /// The path of the preferred copy of segment `segno` of `timeline`, or
    /// None.
    fn segment_path(&self, timeline: TimeLineId, segno: u64) -> Option<String> {
        self.0.segment_path(timeline, segno).map(|p| p.to_string_lossy().into_owned())
    }

    /// True when segment `segno` of `timeline` is in the archive (in any form).
    fn has_segment(&self, timeline: TimeLineId, segno: u64) -> bool {
        self.0.has_segment(timeline, segno)
    }

    /// The archive's history files as a `HistorySet`.
    fn history_set(&self) -> PyHistorySet {
        PyHistorySet(self.0.history_set())
    }

    /// Verifies the files (`pitr archive verify`): every segment's long page
    /// header, sizes, duplicates, timelines and history files; with `deep`,
    /// every record's CRC. Returns the report of `pitr archive verify
    /// --json` as a dict: the fields of `to_dict()` with every problem found,
    /// plus `files_checked` and `deep`. Releases the GIL.
    #[pyo3(signature = (deep = false))]
    fn verify<'py>(&self, py: Python<'py>, deep: bool) -> PyResult<Bound<'py, PyAny>> {
        let report = py.detach(|| verify(&self.0, &VerifyOptions { deep, ..VerifyOptions::default() }));
        to_python_json(py, &report)
    }

    /// Timeline-aware cleanup (`pitr archive cleanup`): which segment,
    /// `.partial` and backup history files none of `keep_backups` (paths of
    /// backups to keep recoverable: backup directories, plain or tar,
    /// `backup_label` or `.backup` files; at least one) can ever need
    /// (`docs/archive.md`). A dry run unless `delete`: then exactly those
    /// files are removed. Returns the document of `pitr archive cleanup
    /// --json` as a dict (`remove`, `kept_files`, `warnings`, `removed`...).
    /// Raises `InvalidRequestError` (no kept backup, one of another cluster,
    /// unknown segment size: nothing removed), `PitrIOError` (a kept backup
    /// cannot be read; with `delete`, files that could not be removed: the
    /// others were). The inventory is not updated: scan again. Releases the
    /// GIL.
    #[pyo3(signature = (keep_backups, delete = false))]
    fn cleanup<'py>(
        &self,
        py: Python<'py>,
        keep_backups: Vec<PathBuf>,
        delete: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let inv = &self.0;
        let report = py.detach(|| cleanup::run(inv, &keep_backups, delete)).py()?;
        if let Some(msg) = report.failure() {
            return Err(new_error(py, ErrorClass::Io, &msg, ErrorDetails::default()));
        }
        to_python_json(py, &report)
    }

    /// The inventory as a dict: the document of `pitr archive show --json`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python_json(py, &self.0.summary(self.0.problems()))
    }

    fn __repr__(&self) -> String {
        format!(
            "<Inventory {} {} segments, {} timelines, {} problems>",
            self.0.archive_dir().display(),
            self.0.segment_count(),
            self.0.timelines().len(),
            self.0.problems().len()
        )
    }
}

/// Restores the WAL file `name` (`%f`) from the archive directory `archive`
/// into `dest` (`%p`), as `pitr archive get` does for `restore_command`:
/// the first copy (plain, compressed, pgBackRest-named, nested) that
/// decompresses and, for a segment, starts with its own long page header
/// and has exactly the segment size, written atomically. Returns the
/// archive file it came from, or None when the archive has no copy (what
/// `restore_command` must report as "not there"). Raises `CorruptWalError`
/// when copies exist but none could be restored (`file` is `dest`),
/// `ParseError` for a name that is not a WAL file name, `PitrIOError`.
/// Releases the GIL.
#[pyfunction]
pub(crate) fn archive_get(
    py: Python<'_>,
    archive: PathBuf,
    name: &str,
    dest: PathBuf,
) -> PyResult<Option<String>> {
    match py.detach(|| get(&archive, name, &dest)) {
        Ok(f) => Ok(Some(f.source.to_string_lossy().into_owned())),
        Err(GetError::NotFound { .. }) => Ok(None),
        Err(e @ GetError::BadName(_)) => {
            let details = ErrorDetails { what: Some("WAL file name"), ..ErrorDetails::default() };
            Err(new_error(py, ErrorClass::Parse, &e.to_string(), details))
        }
        Err(e @ GetError::Failed(_)) => {
            let details =
                ErrorDetails { file: Some(dest.to_string_lossy().into_owned()), ..ErrorDetails::default() };
            Err(new_error(py, ErrorClass::CorruptWal, &e.to_string(), details))
        }
        Err(GetError::Io(io)) => Err(io.to_py_err(py)),
    }
}
