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
//! * long-running calls release the GIL (`py.detach(|| ...)`); the WAL scans
//!   that report progress go through [`progress::Progress`], which takes the
//!   GIL back only to call the Python callback.

use pyo3::prelude::*;

mod archive;
mod backup;
mod conf;
mod control;
mod convert;
mod errors;
mod find;
mod history;
mod label;
mod live;
mod lsn;
mod plan;
mod progress;
mod target;
mod version;
mod wal;
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
    // Timeline history files.
    m.add_class::<history::PyTimelineHistory>()?;
    m.add_class::<history::PyHistoryEntry>()?;
    m.add_class::<history::PySwitchPoint>()?;
    m.add_class::<history::PyTimelineRange>()?;
    m.add_class::<history::PyHistorySet>()?;
    // backup_label and backup history files.
    m.add_class::<label::PyBackupLabel>()?;
    m.add_class::<label::PyLabelKind>()?;
    // postgresql.conf / postgresql.auto.conf.
    m.add_class::<conf::PyConfigSet>()?;
    m.add_class::<conf::PySetting>()?;
    m.add_function(wrap_pyfunction!(conf::quote_value, m)?)?;
    m.add_function(wrap_pyfunction!(conf::render_auto_conf, m)?)?;
    m.add_function(wrap_pyfunction!(conf::edit_auto_conf, m)?)?;
    // pg_control.
    m.add_class::<control::PyControlFile>()?;
    // Recovery target settings.
    m.add_class::<target::PyTimelineTarget>()?;
    m.add_class::<target::PyTargetAction>()?;
    m.add_function(wrap_pyfunction!(target::parse_target_time, m)?)?;
    m.add_function(wrap_pyfunction!(target::format_target_time, m)?)?;
    m.add_function(wrap_pyfunction!(target::parse_target_xid, m)?)?;
    m.add_function(wrap_pyfunction!(target::parse_target_name, m)?)?;
    // Base backups.
    m.add_class::<backup::PyBackup>()?;
    m.add_function(wrap_pyfunction!(backup::verify_backup, m)?)?;
    // WAL archives.
    m.add_class::<archive::PyInventory>()?;
    m.add_function(wrap_pyfunction!(archive::archive_get, m)?)?;
    // Recovery plans and restores.
    m.add_class::<plan::PyRecoveryPlan>()?;
    m.add_class::<plan::PyRecoveryStop>()?;
    m.add_class::<plan::PyStopKind>()?;
    m.add_class::<plan::PyPlanProblem>()?;
    m.add_function(wrap_pyfunction!(plan::plan, m)?)?;
    m.add_function(wrap_pyfunction!(plan::restore, m)?)?;
    m.add_function(wrap_pyfunction!(plan::write_recovery_settings, m)?)?;
    // Finding transactions in WAL.
    m.add_class::<find::PyFindReport>()?;
    m.add_class::<find::PyFoundTransaction>()?;
    m.add_function(wrap_pyfunction!(find::find, m)?)?;
    // WAL records.
    m.add_class::<wal::PyWalReader>()?;
    m.add_class::<wal::PyWalRecord>()?;
    m.add_function(wrap_pyfunction!(wal::wal_stats, m)?)?;
    m.add_function(wrap_pyfunction!(wal::wal_events, m)?)?;
    // Live servers.
    m.add_class::<live::PyCheckReport>()?;
    m.add_class::<live::PyServerInfo>()?;
    m.add_class::<live::PyArchiverStats>()?;
    m.add_class::<live::PyArchiveLag>()?;
    m.add_class::<live::PyProblem>()?;
    m.add_class::<live::PySeverity>()?;
    m.add_class::<live::PyMark>()?;
    m.add_class::<live::PyMarkTarget>()?;
    m.add_class::<live::PyPauseState>()?;
    m.add_class::<live::PyReplayStatus>()?;
    m.add_class::<live::PyResumeReport>()?;
    m.add_function(wrap_pyfunction!(live::check, m)?)?;
    m.add_function(wrap_pyfunction!(live::mark, m)?)?;
    m.add_function(wrap_pyfunction!(live::append_mark, m)?)?;
    m.add_function(wrap_pyfunction!(live::read_marks, m)?)?;
    m.add_function(wrap_pyfunction!(live::parse_marks, m)?)?;
    m.add_function(wrap_pyfunction!(live::find_mark, m)?)?;
    m.add_function(wrap_pyfunction!(live::mark_target, m)?)?;
    m.add_function(wrap_pyfunction!(live::replay_status, m)?)?;
    m.add_function(wrap_pyfunction!(live::replay_resume, m)?)?;
    m.add_function(wrap_pyfunction!(errors::_core_error_for_test, m)?)?;
    Ok(())
}
