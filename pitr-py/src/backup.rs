//! `pitr.Backup` and `pitr.verify_backup`: base backups read without
//! extracting anything, and checked against their manifest
//! (`pitr_core::backup`).

use crate::control::PyControlFile;
use crate::convert::to_python_json;
use crate::errors::PitrResultExt;
use crate::label::PyBackupLabel;
use crate::version::PyPgMajor;
use pitr_core::backup::Backup;
use pitr_core::backup::extract::{ExtractOptions, extract};
use pitr_core::backup::verify::{VerifyOptions, verify};
use pyo3::prelude::*;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A base backup: `Backup.open(path)` reads a plain data directory copy, a
/// directory of `pg_basebackup -Ft` output (compressed too), a
/// `backup_label` or a backup history file, in one pass and without
/// extracting. Damaged files inside are `problems`, not exceptions.
#[pyclass(name = "Backup", module = "pitr", frozen)]
#[derive(Debug)]
pub struct PyBackup(pub Backup);

#[pymethods]
impl PyBackup {
    /// Opens a backup (releases the GIL while reading). Raises
    /// `PitrIOError` when it cannot be read, `ParseError` /
    /// `InvalidRequestError` when it is not a backup.
    #[staticmethod]
    fn open(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        py.detach(|| Backup::open(&path)).py().map(PyBackup)
    }

    /// The path opened.
    #[getter]
    fn path(&self) -> String {
        self.0.path.to_string_lossy().into_owned()
    }

    /// `'plain'`, `'tar'`, `'label'` or `'backup_history'`.
    #[getter]
    fn format<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python_json(py, &self.0.format)
    }

    /// The PostgreSQL major (from `pg_control`, else `PG_VERSION`), or None.
    #[getter]
    fn major(&self) -> Option<PyPgMajor> {
        self.0.major().map(PyPgMajor::from)
    }

    /// `PG_VERSION`, or None.
    #[getter]
    fn pg_version(&self) -> Option<&str> {
        self.0.pg_version.as_deref()
    }

    /// The parsed `backup_label` (or backup history file), or None.
    #[getter]
    fn label(&self) -> Option<PyBackupLabel> {
        self.0.backup_label().cloned().map(PyBackupLabel)
    }

    /// The decoded `global/pg_control`, or None.
    #[getter]
    fn control(&self) -> Option<PyControlFile> {
        self.0.control.clone().map(PyControlFile)
    }

    /// Whether the manifest's own checksum matched (False without a manifest).
    #[getter]
    fn manifest_checksum_ok(&self) -> bool {
        self.0.manifest_checksum_ok
    }

    /// The total size of the backup's regular files.
    #[getter]
    fn total_size(&self) -> u64 {
        self.0.total_size()
    }

    /// Problems found while reading, as dicts (`severity`, `code`, `file`,
    /// `message`).
    #[getter]
    fn problems<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python_json(py, &self.0.problems)
    }

    /// True when a problem has severity error.
    #[getter]
    fn has_errors(&self) -> bool {
        self.0.has_errors()
    }

    /// The backup as a dict: the document of `pitr backup show --json`
    /// (with every file when `with_files`).
    #[pyo3(signature = (with_files = false))]
    fn to_dict<'py>(&self, py: Python<'py>, with_files: bool) -> PyResult<Bound<'py, PyAny>> {
        to_python_json(py, &self.0.summary(with_files))
    }

    /// Extracts (restores) the backup into the data directory `target`
    /// (created if absent, else it must be empty) with its tablespaces
    /// (`tablespaces` maps OIDs to new locations; `tablespace_map` is
    /// rewritten) and, unless `include_wal` is false, the WAL it includes.
    /// Never overwrites, never writes outside the target directories, never
    /// restores `postmaster.pid`; fsyncs everything; on failure removes what
    /// it created. Writes no recovery settings (see `restore`,
    /// `write_recovery_settings`). Returns what was written as a dict
    /// (`target`, `files`, `bytes`, `wal_files`, `tablespaces`,
    /// `tablespace_map_rewritten`, `skipped`). Raises `InvalidRequestError`
    /// (not empty; a bare `backup_label` cannot be extracted),
    /// `PitrIOError`. Releases the GIL.
    #[pyo3(signature = (target, *, tablespaces = None, include_wal = true))]
    fn extract<'py>(
        &self,
        py: Python<'py>,
        target: PathBuf,
        tablespaces: Option<BTreeMap<u32, PathBuf>>,
        include_wal: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let opts = ExtractOptions {
            tablespace_oids: tablespaces.unwrap_or_default(),
            include_wal,
            ..ExtractOptions::default()
        };
        let report = py.detach(|| extract(&self.0, &target, &opts)).py()?;
        to_python_json(py, &report)
    }

    fn __repr__(&self) -> String {
        format!(
            "<Backup {} {:?} PostgreSQL {} {} files>",
            self.0.path.display(),
            self.0.format,
            self.0.major().map_or("?".to_string(), |m| m.number().to_string()),
            self.0.files.len()
        )
    }
}

/// Verifies the backup at `path` against its `backup_manifest` like
/// `pg_verifybackup` (tar backups too): files, sizes, checksums (sizes only
/// with `skip_checksums`), and the WAL ranges in `archive` or the backup's
/// own `pg_wal`. Returns the report of `pitr backup verify --json` as a dict
/// (`ok` says whether all is well). Releases the GIL.
#[pyfunction]
#[pyo3(signature = (path, archive = None, skip_checksums = false))]
pub(crate) fn verify_backup<'py>(
    py: Python<'py>,
    path: PathBuf,
    archive: Option<PathBuf>,
    skip_checksums: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let opts_archive = archive;
    let report = py
        .detach(|| {
            let opts = VerifyOptions { archive: opts_archive, skip_checksums, ..VerifyOptions::default() };
            verify(&path, &opts).map(|(_, r)| r)
        })
        .py()?;
    to_python_json(py, &report)
}
