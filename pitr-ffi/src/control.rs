//! `global/pg_control` of PostgreSQL 13 to 18 (`pitr_control_file` handles).

use crate::error::{FfiError, guard, guard_value, pitr_status};
use crate::ffi::{
    arg_array, arg_handle, arg_out, arg_str, free_handle, handle_out, opt_handle, opt_str, string_out,
    to_cstring, to_json,
};
use crate::lsn::pitr_lsn;
use pitr_core::control::{ControlError, ControlFile};
use std::ffi::{CString, c_char};
use std::path::Path;
use std::ptr;

impl From<ControlError> for FfiError {
    fn from(e: ControlError) -> FfiError {
        let (status, file) = match &e {
            ControlError::Io(io) => (pitr_status::Io, Some(io.path.clone())),
            ControlError::UnknownVersion { file, .. } | ControlError::Platform { file, .. } => {
                (pitr_status::Unsupported, Some(file.clone()))
            }
            ControlError::Truncated { file, .. }
            | ControlError::BadCrc { file, .. }
            | ControlError::Invalid { file, .. } => (pitr_status::Parse, Some(file.clone())),
            _ => (pitr_status::Other, None),
        };
        let out = FfiError::new(status, e.to_string());
        match file {
            Some(f) => out.with_file(&f),
            None => out,
        }
    }
}

/// A decoded `global/pg_control` (opaque). Made by
/// `pitr_control_file_read` or `pitr_control_file_parse`, freed with
/// `pitr_control_file_free`.
///
/// Immutable: one handle may be read from several threads at once; it must
/// not be freed while another thread uses it.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct pitr_control_file {
    inner: ControlFile,
    state: CString,
    wal_level: CString,
}

impl pitr_control_file {
    pub(crate) fn new(inner: ControlFile) -> pitr_control_file {
        pitr_control_file {
            state: to_cstring(inner.state.to_string()),
            wal_level: to_cstring(inner.wal_level.to_string()),
            inner,
        }
    }
}

/// Reads and decodes a `pg_control` file (`PGDATA/global/pg_control`) of
/// PostgreSQL 13 to 18. `*out` receives a new handle, freed with
/// `pitr_control_file_free`.
///
/// Errors: `PITR_STATUS_IO`, `PITR_STATUS_PARSE` (truncated, CRC mismatch, a
/// field no server writes), `PITR_STATUS_UNSUPPORTED` (another major, another
/// platform), each naming the file; `PITR_STATUS_NULL_ARGUMENT`,
/// `PITR_STATUS_INVALID_UTF8`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `path` must be a NUL-terminated string; `out` must point to a writable
/// `pitr_control_file *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_control_file_read(
    path: *const c_char,
    out: *mut *mut pitr_control_file,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (path, out) = unsafe { (arg_str(path, "path")?, arg_out(out, "out")?) };
        handle_out(out, pitr_control_file::new(ControlFile::read(Path::new(path))?));
        Ok(())
    })
}

/// Decodes a `pg_control` image of `len` bytes (at least the 296 bytes of
/// its data; the file is 8192). `file` (may be NULL) names it in errors.
/// With `verify_crc` false a CRC mismatch is accepted, as `pg_controldata`
/// does (see `pitr_control_file_crc_ok`); every other check still applies.
///
/// Errors: as `pitr_control_file_read`, without I/O.
///
/// Thread safety: any thread.
///
/// # Safety
/// `bytes` must point to `len` readable bytes (may be NULL when `len` is 0);
/// `file` must be NULL or a NUL-terminated string; `out` must point to a
/// writable `pitr_control_file *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_control_file_parse(
    bytes: *const u8,
    len: usize,
    file: *const c_char,
    verify_crc: bool,
    out: *mut *mut pitr_control_file,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (bytes, file, out) =
            unsafe { (arg_array(bytes, len, "bytes")?, opt_str(file, "file")?, arg_out(out, "out")?) };
        let file = Path::new(file.unwrap_or("pg_control"));
        let cf = if verify_crc {
            ControlFile::parse(bytes, file)?
        } else {
            ControlFile::parse_unverified(bytes, file)?
        };
        handle_out(out, pitr_control_file::new(cf));
        Ok(())
    })
}

/// Frees a handle. NULL is a no-op.
///
/// Thread safety: any thread, once no other thread uses the handle.
///
/// # Safety
/// `c` must be NULL or a handle from this library not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_control_file_free(c: *mut pitr_control_file) {
    // SAFETY: documented contract.
    guard_value((), || unsafe { free_handle(c) })
}

/// The PostgreSQL major that wrote it (13 to 18; from the catalog version).
/// 0 when `c` is NULL.
///
/// Thread safety: any thread.
///
/// # Safety
/// `c` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_control_file_major(c: *const pitr_control_file) -> u32 {
    // SAFETY: documented contract.
    guard_value(0, || unsafe { opt_handle(c) }.map_or(0, |c| c.inner.major.number()))
}

/// The database system identifier. 0 when `c` is NULL.
///
/// Thread safety: any thread.
///
/// # Safety
/// `c` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_control_file_system_identifier(c: *const pitr_control_file) -> u64 {
    // SAFETY: documented contract.
    guard_value(0, || unsafe { opt_handle(c) }.map_or(0, |c| c.inner.system_identifier))
}

/// The cluster state as `pg_controldata` prints it (`"in production"`,
/// `"shut down"`, `"shut down in recovery"`, `"in archive recovery"`...).
/// Borrowed: valid until the handle is freed. NULL when `c` is NULL.
///
/// Thread safety: any thread.
///
/// # Safety
/// `c` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_control_file_state(c: *const pitr_control_file) -> *const c_char {
    // SAFETY: documented contract.
    guard_value(ptr::null(), || unsafe { opt_handle(c) }.map_or(ptr::null(), |c| c.state.as_ptr()))
}

/// The LSN of the latest checkpoint record ("Latest checkpoint location").
/// 0 when `c` is NULL.
///
/// Thread safety: any thread.
///
/// # Safety
/// `c` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_control_file_checkpoint(c: *const pitr_control_file) -> pitr_lsn {
    // SAFETY: documented contract.
    guard_value(0, || unsafe { opt_handle(c) }.map_or(0, |c| c.inner.checkpoint.0))
}

/// The latest checkpoint's REDO point, where crash recovery starts. 0 when
/// `c` is NULL.
///
/// Thread safety: any thread.
///
/// # Safety
/// `c` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_control_file_redo(c: *const pitr_control_file) -> pitr_lsn {
    // SAFETY: documented contract.
    guard_value(0, || unsafe { opt_handle(c) }.map_or(0, |c| c.inner.checkpoint_copy.redo.0))
}

/// The latest checkpoint's timeline ("Latest checkpoint's TimeLineID"). 0
/// when `c` is NULL.
///
/// Thread safety: any thread.
///
/// # Safety
/// `c` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_control_file_timeline(c: *const pitr_control_file) -> u32 {
    // SAFETY: documented contract.
    guard_value(0, || unsafe { opt_handle(c) }.map_or(0, |c| c.inner.checkpoint_copy.timeline))
}

/// `*out` = the time of the latest checkpoint, as microseconds since
/// 1970-01-01 00:00:00 UTC (whole seconds, as stored). `PITR_STATUS_NO_VALUE`
/// for a time outside what a timestamp can hold.
///
/// Thread safety: any thread.
///
/// # Safety
/// `c` must be a live handle; `out` must point to a writable `int64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_control_file_checkpoint_time(
    c: *const pitr_control_file,
    out: *mut i64,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (c, out) = unsafe { (arg_handle(c, "c")?, arg_out(out, "out")?) };
        let t = c.inner.checkpoint_copy.time;
        let ts = t
            .timestamp()
            .ok_or_else(|| FfiError::no_value(format!("checkpoint time {} is out of range", t.0)))?;
        out.write(ts.as_microsecond());
        Ok(())
    })
}

/// `minRecoveryPoint`: recovery must replay at least this far before the
/// data is consistent (0/0 when none). 0 when `c` is NULL.
///
/// Thread safety: any thread.
///
/// # Safety
/// `c` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_control_file_min_recovery_point(c: *const pitr_control_file) -> pitr_lsn {
    // SAFETY: documented contract.
    guard_value(0, || unsafe { opt_handle(c) }.map_or(0, |c| c.inner.min_recovery_point.0))
}

/// `minRecoveryPointTLI` (0 when none, or when `c` is NULL).
///
/// Thread safety: any thread.
///
/// # Safety
/// `c` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_control_file_min_recovery_point_timeline(c: *const pitr_control_file) -> u32 {
    // SAFETY: documented contract.
    guard_value(0, || unsafe { opt_handle(c) }.map_or(0, |c| c.inner.min_recovery_point_timeline))
}

/// `backupStartPoint` (0/0 unless a backup is being recovered). 0 when `c`
/// is NULL.
///
/// Thread safety: any thread.
///
/// # Safety
/// `c` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_control_file_backup_start_point(c: *const pitr_control_file) -> pitr_lsn {
    // SAFETY: documented contract.
    guard_value(0, || unsafe { opt_handle(c) }.map_or(0, |c| c.inner.backup_start_point.0))
}

/// `backupEndPoint` (0/0 unless known). 0 when `c` is NULL.
///
/// Thread safety: any thread.
///
/// # Safety
/// `c` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_control_file_backup_end_point(c: *const pitr_control_file) -> pitr_lsn {
    // SAFETY: documented contract.
    guard_value(0, || unsafe { opt_handle(c) }.map_or(0, |c| c.inner.backup_end_point.0))
}

/// `backupEndRequired`: recovery must reach the end-of-backup record. False
/// when `c` is NULL.
///
/// Thread safety: any thread.
///
/// # Safety
/// `c` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_control_file_backup_end_required(c: *const pitr_control_file) -> bool {
    // SAFETY: documented contract.
    guard_value(false, || unsafe { opt_handle(c) }.is_some_and(|c| c.inner.backup_end_required))
}

/// The WAL segment size in bytes. 0 when `c` is NULL.
///
/// Thread safety: any thread.
///
/// # Safety
/// `c` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_control_file_wal_segment_size(c: *const pitr_control_file) -> u32 {
    // SAFETY: documented contract.
    guard_value(0, || unsafe { opt_handle(c) }.map_or(0, |c| c.inner.wal_segment_size.bytes_u32()))
}

/// The `wal_level` the server last ran with (`"minimal"`, `"replica"`,
/// `"logical"`). Borrowed: valid until the handle is freed. NULL when `c` is
/// NULL.
///
/// Thread safety: any thread.
///
/// # Safety
/// `c` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_control_file_wal_level(c: *const pitr_control_file) -> *const c_char {
    // SAFETY: documented contract.
    guard_value(ptr::null(), || unsafe { opt_handle(c) }.map_or(ptr::null(), |c| c.wal_level.as_ptr()))
}

/// True when data checksums are enabled. False when `c` is NULL.
///
/// Thread safety: any thread.
///
/// # Safety
/// `c` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_control_file_data_checksums(c: *const pitr_control_file) -> bool {
    // SAFETY: documented contract.
    guard_value(false, || unsafe { opt_handle(c) }.is_some_and(|c| c.inner.data_checksums()))
}

/// True when the stored CRC matches the contents (always, unless parsed
/// with `verify_crc` false). False when `c` is NULL.
///
/// Thread safety: any thread.
///
/// # Safety
/// `c` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_control_file_crc_ok(c: *const pitr_control_file) -> bool {
    // SAFETY: documented contract.
    guard_value(false, || unsafe { opt_handle(c) }.is_some_and(|c| c.inner.crc_ok()))
}

/// `*out` = the file as JSON (pitr-core's serde form, as `pitr backup show
/// --json` prints pg_control): every field, `system_identifier` as a decimal
/// string, LSNs as text, times in RFC 3339. Library-allocated; free with
/// `pitr_string_free`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `c` must be a live handle; `out` must point to a writable `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_control_file_to_json(
    c: *const pitr_control_file,
    out: *mut *mut c_char,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (c, out) = unsafe { (arg_handle(c, "c")?, arg_out(out, "out")?) };
        string_out(out, to_json(&c.inner)?);
        Ok(())
    })
}
