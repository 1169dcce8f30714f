//! `pitr.PgMajor`: the PostgreSQL major versions pitr supports and the numbers
//! that identify them on disk.

use pitr_core::PgMajor;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

/// A supported PostgreSQL major version, 13 to 18: `PgMajor(15)` or
/// `PgMajor.V15`. `int()` gives the number.
#[pyclass(name = "PgMajor", module = "pitr", frozen, eq, ord, hash)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PyPgMajor {
    /// PostgreSQL 13
    V13,
    /// PostgreSQL 14
    V14,
    /// PostgreSQL 15
    V15,
    /// PostgreSQL 16
    V16,
    /// PostgreSQL 17
    V17,
    /// PostgreSQL 18
    V18,
}

impl From<PgMajor> for PyPgMajor {
    fn from(m: PgMajor) -> Self {
        match m {
            PgMajor::V13 => PyPgMajor::V13,
            PgMajor::V14 => PyPgMajor::V14,
            PgMajor::V15 => PyPgMajor::V15,
            PgMajor::V16 => PyPgMajor::V16,
            PgMajor::V17 => PyPgMajor::V17,
            PgMajor::V18 => PyPgMajor::V18,
        }
    }
}

impl From<PyPgMajor> for PgMajor {
    fn from(m: PyPgMajor) -> Self {
        match m {
            PyPgMajor::V13 => PgMajor::V13,
            PyPgMajor::V14 => PgMajor::V14,
            PyPgMajor::V15 => PgMajor::V15,
            PyPgMajor::V16 => PgMajor::V16,
            PyPgMajor::V17 => PgMajor::V17,
            PyPgMajor::V18 => PgMajor::V18,
        }
    }
}

#[pymethods]
impl PyPgMajor {
    /// The major for a number; raises ValueError outside 13..18.
    #[new]
    fn new(number: u32) -> PyResult<Self> {
        PgMajor::try_from(number).map(PyPgMajor::from).map_err(PyValueError::new_err)
    }

    /// All supported majors, oldest first.
    #[classattr]
    #[allow(non_snake_case)]
    fn ALL(py: Python<'_>) -> PyResult<Py<PyTuple>> {
        Ok(PyTuple::new(py, PgMajor::ALL.map(PyPgMajor::from))?.unbind())
    }

    /// The major for a number, or None when pitr does not support it.
    #[staticmethod]
    fn from_number(number: u32) -> Option<Self> {
        PgMajor::from_number(number).map(PyPgMajor::from)
    }

    /// The major whose WAL pages carry `magic` (`XLOG_PAGE_MAGIC`), or None.
    #[staticmethod]
    fn from_wal_magic(magic: u16) -> Option<Self> {
        PgMajor::from_wal_magic(magic).map(PyPgMajor::from)
    }

    /// The major with catalog version `catversion`, or None.
    #[staticmethod]
    fn from_catalog_version(catversion: u32) -> Option<Self> {
        PgMajor::from_catalog_version(catversion).map(PyPgMajor::from)
    }

    /// The major as a number (13..18).
    #[getter]
    fn number(&self) -> u32 {
        PgMajor::from(*self).number()
    }

    /// `XLOG_PAGE_MAGIC` of this major.
    #[getter]
    fn wal_magic(&self) -> u16 {
        PgMajor::from(*self).wal_magic()
    }

    /// `CATALOG_VERSION_NO` of this major.
    #[getter]
    fn catalog_version(&self) -> u32 {
        PgMajor::from(*self).catalog_version()
    }

    /// `PG_CONTROL_VERSION` of this major.
    #[getter]
    fn control_version(&self) -> u32 {
        PgMajor::from(*self).control_version()
    }

    fn __int__(&self) -> u32 {
        self.number()
    }

    fn __str__(&self) -> String {
        self.number().to_string()
    }
}
