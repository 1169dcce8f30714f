//! # pitr-ffi: the C ABI of pitr
//!
//! Builds `libpitr.so` / `libpitr.a`; the header `include/pitr.h` is generated
//! from this crate by cbindgen (`pitr-ffi/cbindgen.toml`) and checked by the
//! `header_is_up_to_date` test. The conventions (see `docs/c-abi.md`):
//!
//! * every symbol starts with `pitr_` (types and functions) or `PITR_`
//!   (constants, enum values);
//! * every fallible function returns a [`pitr_status`]; on failure the calling
//!   thread's last error (`pitr_last_error()`, with the file, line, position
//!   and LSN where they apply) says what went wrong; results go through
//!   out-parameters, written only on success;
//! * no panic crosses the boundary: each body runs in
//!   [`error::guard`] / [`error::guard_value`] (`catch_unwind`); a caught panic
//!   is `PITR_STATUS_PANIC`;
//! * every pointer argument is checked for NULL; strings are UTF-8 and
//!   NUL-terminated;
//! * complex results are opaque handles (`pitr_x *`, freed with
//!   `pitr_x_free`, NULL-safe) with getters and a `pitr_x_to_json` accessor;
//! * library-allocated strings (`char **out`) are freed with
//!   [`pitr_string_free`]; short bounded strings are written into caller
//!   buffers (`char *buf, size_t len, size_t *out_len`);
//! * every function's doc comment states its thread safety.
//!
//! Adding a binding for a new core capability: see `docs/c-abi.md`, "Adding a
//! function".

#![allow(clippy::missing_safety_doc)] // every `unsafe extern fn` has a "# Safety" section for C readers

pub mod archive;
pub mod backup;
pub mod conf;
pub mod control;
pub mod error;
pub mod ffi;
pub mod find;
pub mod history;
pub mod label;
pub mod live;
pub mod lsn;
pub mod plan;
pub mod target;
pub mod version;
pub mod wal;
pub mod walfile;

pub use archive::pitr_archive;
pub use backup::pitr_backup;
pub use conf::{pitr_config, pitr_setting};
pub use control::pitr_control_file;
pub use error::pitr_status;
pub use ffi::pitr_string_free;
pub use find::{pitr_find_kinds, pitr_find_options};
pub use history::{pitr_history, pitr_history_entry, pitr_history_set};
pub use label::{pitr_backup_label, pitr_label_kind};
pub use lsn::pitr_lsn;
pub use plan::{
    pitr_plan_options, pitr_plan_problem, pitr_planned_file, pitr_progress_fn, pitr_recovery_plan,
    pitr_severity, pitr_stop_kind, pitr_target_kind, pitr_timeline_step,
};
pub use target::{pitr_target_action, pitr_timeline_target};
pub use wal::pitr_wal_reader;
pub use walfile::{pitr_archive_status, pitr_compression, pitr_wal_file_kind, pitr_wal_file_name};
