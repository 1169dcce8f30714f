//! `pitr.Lsn` and `pitr.WalSegSize`, and the argument conversions every other
//! binding uses for them (an LSN may be given as `Lsn`, `str` or `int`; a
//! segment size as `WalSegSize`, `int` bytes or `str` like `"16MB"`).

use crate::errors::PitrResultExt;
use pitr_core::{Lsn, WalSegSize};
use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyInt, PyString, PyTuple};

/// Converts an `Lsn`, a `str` (`"0/16B3748"`) or an `int` (0 to 2**64-1).
pub(crate) fn lsn_from_py(obj: &Bound<'_, PyAny>) -> PyResult<Lsn> {
    if let Ok(l) = obj.cast::<PyLsn>() {
        return Ok(l.get().0);
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Lsn::parse(&s.to_cow()?).py();
    }
    if obj.is_instance_of::<PyInt>() && !obj.is_instance_of::<PyBool>() {
        return obj.extract::<u64>().map(Lsn).map_err(|_| {
            PyValueError::new_err(format!("an LSN is an integer from 0 to 2**64-1, not {obj}"))
        });
    }
    Err(PyTypeError::new_err(format!(
        "expected an Lsn, a str like '0/16B3748' or an int, not {}",
        obj.get_type().name()?
    )))
}

/// Converts a `WalSegSize`, an `int` (bytes) or a `str` (`"16MB"`).
pub(crate) fn seg_size_from_py(obj: &Bound<'_, PyAny>) -> PyResult<WalSegSize> {
    if let Ok(s) = obj.cast::<PyWalSegSize>() {
        return Ok(s.get().0);
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return WalSegSize::parse(&s.to_cow()?).py();
    }
    if obj.is_instance_of::<PyInt>() && !obj.is_instance_of::<PyBool>() {
        let bytes = obj.extract::<u64>().map_err(|_| {
            PyValueError::new_err(format!("a WAL segment size is a positive number of bytes, not {obj}"))
        })?;
        return WalSegSize::from_bytes(bytes).py();
    }
    Err(PyTypeError::new_err(format!(
        "expected a WalSegSize, an int (bytes) or a str like '16MB', not {}",
        obj.get_type().name()?
    )))
}

/// A WAL position (`XLogRecPtr`): a byte offset in the WAL stream.
///
/// `Lsn("0/16B3748")`, `Lsn(23803720)` or `Lsn(other_lsn)`. Immutable,
/// hashable and ordered; `str()` gives the server's form, `int()` the number.
/// `lsn + n` and `lsn - n` move by `n` bytes; `lsn - other` is the distance in
/// bytes (negative when `other` is later), like `pg_wal_lsn_diff`.
#[pyclass(name = "Lsn", module = "pitr", frozen, eq, ord, hash, from_py_object)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PyLsn(pub Lsn);

fn moved(lsn: Lsn, delta: i128) -> PyResult<PyLsn> {
    let v = i128::from(lsn.0) + delta;
    u64::try_from(v)
        .map(|v| PyLsn(Lsn(v)))
        .map_err(|_| PyOverflowError::new_err(format!("{lsn} {delta:+} is outside 0/0..FFFFFFFF/FFFFFFFF")))
}

#[pymethods]
impl PyLsn {
    #[new]
    fn new(value: &Bound<'_, PyAny>) -> PyResult<Self> {
        lsn_from_py(value).map(PyLsn)
    }

    /// Parses `X/Y` (1 to 8 hex digits on each side, either case): the
    /// server's `0/16B3748` and pg_waldump's `0/016B3748` forms. Raises
    /// `ParseError`.
    #[staticmethod]
    fn parse(text: &str) -> PyResult<Self> {
        Lsn::parse(text).py().map(PyLsn)
    }

    /// `0/0` (`InvalidXLogRecPtr`).
    #[classattr]
    #[allow(non_snake_case)]
    fn INVALID() -> Self {
        PyLsn(Lsn::INVALID)
    }

    /// The largest LSN, `FFFFFFFF/FFFFFFFF`.
    #[classattr]
    #[allow(non_snake_case)]
    fn MAX() -> Self {
        PyLsn(Lsn::MAX)
    }

    /// High 32 bits (the "xlogid").
    #[getter]
    fn hi(&self) -> u32 {
        self.0.hi()
    }

    /// Low 32 bits.
    #[getter]
    fn lo(&self) -> u32 {
        self.0.lo()
    }

    /// True for `0/0`.
    #[getter]
    fn is_invalid(&self) -> bool {
        self.0.is_invalid()
    }

    /// pg_waldump's form, the low half zero-padded to 8 digits (`0/016B3748`).
    fn padded(&self) -> String {
        self.0.padded().to_string()
    }

    /// Number of the WAL segment holding this LSN for segments of `seg_size`
    /// (a `WalSegSize`, bytes, or text like `"16MB"`).
    fn segment(&self, seg_size: &Bound<'_, PyAny>) -> PyResult<u64> {
        Ok(self.0.segment(seg_size_from_py(seg_size)?))
    }

    /// Offset of this LSN inside its WAL segment.
    fn segment_offset(&self, seg_size: &Bound<'_, PyAny>) -> PyResult<u64> {
        Ok(self.0.segment_offset(seg_size_from_py(seg_size)?))
    }

    /// Same as `segment_offset`.
    fn offset(&self, seg_size: &Bound<'_, PyAny>) -> PyResult<u64> {
        self.segment_offset(seg_size)
    }

    /// Number of the segment holding the byte just before this LSN
    /// (`XLByteToPrevSeg`): the segment a record ending here lives in.
    fn prev_segment(&self, seg_size: &Bound<'_, PyAny>) -> PyResult<u64> {
        Ok(self.0.prev_segment(seg_size_from_py(seg_size)?))
    }

    /// This LSN rounded up to a multiple of 8 (`MAXALIGN`), saturating.
    fn maxalign(&self) -> Self {
        PyLsn(self.0.maxalign())
    }

    fn __add__(&self, bytes: i128) -> PyResult<Self> {
        moved(self.0, bytes)
    }

    fn __radd__(&self, bytes: i128) -> PyResult<Self> {
        moved(self.0, bytes)
    }

    fn __sub__<'py>(&self, other: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let py = other.py();
        if let Ok(o) = other.cast::<PyLsn>() {
            return Ok(self.0.diff(o.get().0).into_pyobject(py)?.into_any());
        }
        if other.is_instance_of::<PyInt>() && !other.is_instance_of::<PyBool>() {
            if let Ok(bytes) = other.extract::<i128>() {
                return Ok(moved(self.0, -bytes)?.into_pyobject(py)?.into_any());
            }
        }
        Ok(py.NotImplemented().into_bound(py))
    }

    fn __int__(&self) -> u64 {
        self.0.0
    }

    fn __str__(&self) -> String {
        self.0.to_string()
    }

    fn __repr__(&self) -> String {
        format!("Lsn('{}')", self.0)
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let args = PyTuple::new(py, [slf.get().0.to_string()])?;
        PyTuple::new(py, [py.get_type::<PyLsn>().into_any(), args.into_any()])
    }
}

/// A WAL segment size: a power of two from 1 MiB to 1 GiB.
///
/// `WalSegSize("16MB")` (also `"1GB"`, `"1024kB"`, `"16"` meaning MB as
/// `initdb --wal-segsize` takes it) or `WalSegSize(16777216)` (bytes).
/// Wherever pitr takes a segment size it accepts any of these forms.
#[pyclass(name = "WalSegSize", module = "pitr", frozen, eq, ord, hash, from_py_object)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PyWalSegSize(pub WalSegSize);

#[pymethods]
impl PyWalSegSize {
    #[new]
    fn new(value: &Bound<'_, PyAny>) -> PyResult<Self> {
        seg_size_from_py(value).map(PyWalSegSize)
    }

    /// Parses `16MB`, `16 MB`, `1GB`, `1024kB`, `16777216` (bytes) or `16`
    /// (MB). Raises `ParseError`.
    #[staticmethod]
    fn parse(text: &str) -> PyResult<Self> {
        WalSegSize::parse(text).py().map(PyWalSegSize)
    }

    /// A size in bytes. Raises `ParseError` unless it is a power of two from
    /// 1 MiB to 1 GiB.
    #[staticmethod]
    fn from_bytes(bytes: u64) -> PyResult<Self> {
        WalSegSize::from_bytes(bytes).py().map(PyWalSegSize)
    }

    /// PostgreSQL's default, 16 MB.
    #[classattr]
    #[allow(non_snake_case)]
    fn DEFAULT() -> Self {
        PyWalSegSize(WalSegSize::DEFAULT)
    }

    /// The smallest size in bytes (1 MiB).
    #[classattr]
    #[allow(non_snake_case)]
    fn MIN() -> u32 {
        WalSegSize::MIN
    }

    /// The largest size in bytes (1 GiB).
    #[classattr]
    #[allow(non_snake_case)]
    fn MAX() -> u32 {
        WalSegSize::MAX
    }

    /// Size in bytes.
    #[getter]
    fn bytes(&self) -> u64 {
        self.0.bytes()
    }

    /// Segments per 4 GiB "xlogid" (`XLogSegmentsPerXLogId`).
    #[getter]
    fn segments_per_xlogid(&self) -> u64 {
        self.0.segments_per_xlogid()
    }

    /// First LSN of segment `segno`. Raises `OverflowError` past the last LSN.
    fn segment_start(&self, segno: u64) -> PyResult<PyLsn> {
        segno
            .checked_mul(self.0.bytes())
            .map(|v| PyLsn(Lsn(v)))
            .ok_or_else(|| PyOverflowError::new_err(format!("segment {segno} starts past the last LSN")))
    }

    /// LSN just past the end of segment `segno`. Raises `OverflowError` past
    /// the last LSN.
    fn segment_end(&self, segno: u64) -> PyResult<PyLsn> {
        segno
            .checked_add(1)
            .and_then(|n| n.checked_mul(self.0.bytes()))
            .map(|v| PyLsn(Lsn(v)))
            .ok_or_else(|| PyOverflowError::new_err(format!("segment {segno} ends past the last LSN")))
    }

    fn __int__(&self) -> u64 {
        self.0.bytes()
    }

    fn __str__(&self) -> String {
        self.0.to_string()
    }

    fn __repr__(&self) -> String {
        format!("WalSegSize('{}')", self.0)
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let args = PyTuple::new(py, [slf.get().0.bytes()])?;
        PyTuple::new(py, [py.get_type::<PyWalSegSize>().into_any(), args.into_any()])
    }
}
