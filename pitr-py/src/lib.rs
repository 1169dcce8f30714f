//! # pitr-py: the Python module `pitr`
//!
//! This crate is the compiled part, `pitr._pitr`; the package `pitr`
//! (`python/pitr/`) re-exports it together with the exception classes
//! (`python/pitr/_errors.py`) and ships the type stubs (`__init__.pyi`) and
//! `py.typed`. Built by maturin into one abi3 wheel for CPython 3.9+.
//!
//! Conventions (see `docs/python.md`, "Adding a binding"):
//!
//! * names and behaviour mirror pitr-core: one class per core type
//!   (`PyLsn` is `pitr.Lsn`), `frozen` and with `module = "pitr"`; plain data
//!   and cheap derived facts are properties, anything with arguments or that
//!   converts is a method; core enums are Python enums with upper-case members
//!   and a `.value` that is the JSON name;
//! * arguments that name an LSN or a segment size accept the class, a `str`
//!   or an `int` ([`lsn::lsn_from_py`], [`lsn::seg_size_from_py`]);
//! * core errors become `pitr.PitrError` subclasses through
//!   [`errors::PitrResultExt::py`], carrying `file`, `lsn`, `line`,
//!   `position` where they apply;
//! * complex results get `to_dict()`, built from the core's serde form
//!   ([`convert::to_python_json`]) so that it matches the documented JSON;
//! * long-running calls release the GIL (`py.detach(|| ...)`).

use pyo3::prelude::*;

mod convert;
mod errors;
mod lsn;
mod version;
mod walfile;

#[pymodule]
fn _pitr(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", pitr_core::VERSION)?;
    m.add("OLD_WAL_MAGICS", pitr_core::version::OLD_WAL_MAGICS.to_vec())?;
    m.add_class::<lsn::PyLsn>()?;
    m.add_class::<lsn::PyWalSegSize>()?;
    m.add_class::<walfile::PySegmentName>()?;
    m.add_class::<walfile::PyWalFileName>()?;
    m.add_class::<walfile::PyWalFileKind>()?;
    m.add_class::<walfile::PyCompression>()?;
    m.add_class::<walfile::PyArchiveStatus>()?;
    m.add_class::<version::PyPgMajor>()?;
    m.add_function(wrap_pyfunction!(walfile::history_file_name, m)?)?;
    m.add_function(wrap_pyfunction!(walfile::backup_history_file_name, m)?)?;
    m.add_function(wrap_pyfunction!(errors::_core_error_for_test, m)?)?;
    Ok(())
}
