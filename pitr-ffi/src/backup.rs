//! Base backups (`pitr_core::backup`): a plain or tar backup, or a bare
//! `backup_label` / backup history file, read without extracting anything
//! (`pitr_backup` handles), verification against the backup manifest, and
//! extraction into a new data directory (`pitr_backup_extract`).

use crate::control::pitr_control_file;
use crate::error::{FfiError, guard, guard_value, pitr_status};
use crate::ffi::{
    OutPtr, arg_handle, arg_out, arg_str, free_handle, handle_out, opt_handle, opt_str, string_out, to_json,
};
use crate::label::pitr_backup_label;
use pitr_core::backup::Backup;
use pitr_core::backup::extract::{ExtractOptions, extract};
use pitr_core::backup::verify::{VerifyOptions, verify};
use std::ffi::c_char;
use std::path::{Path, PathBuf};

/// A base backup (opaque). Made by `pitr_backup_open`, freed with
/// `pitr_backup_free`.
///
/// Immutable: one handle may be read from several threads at once; it must
/// not be freed while another thread uses it.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct pitr_backup {
    inner: Backup,
}

/// Opens a backup: a plain data directory copy (one with `PG_VERSION`), a
/// directory of `pg_basebackup -Ft` output (`base.tar`, possibly `.gz`,
/// `.lz4`, `.zst`; or the `base.tar*` file itself), a `backup_label` file or
/// a backup history file. Reads `backup_label`, `tablespace_map`,
/// `backup_manifest`, `global/pg_control`, `PG_VERSION`, the file list and
/// the WAL included, in one pass, extracting nothing. Files that cannot be
/// parsed are problems in the handle (`pitr_backup_has_errors`,
/// `pitr_backup_to_json`), not errors. `*out` receives a new handle, freed
/// with `pitr_backup_free`.
///
/// Errors: `PITR_STATUS_IO` (the directory or a tar stream cannot be read),
/// `PITR_STATUS_PARSE` / `PITR_STATUS_INVALID` (not a backup),
/// `PITR_STATUS_NULL_ARGUMENT`, `PITR_STATUS_INVALID_UTF8`.
///
/// Thread safety: any thread; blocks while reading.
///
/// # Safety
/// `path` must be a NUL-terminated string; `out` must point to a writable
/// `pitr_backup *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_backup_open(path: *const c_char, out: *mut *mut pitr_backup) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (path, out) = unsafe { (arg_str(path, "path")?, arg_out(out, "out")?) };
        handle_out(out, pitr_backup { inner: Backup::open(Path::new(path))? });
        Ok(())
    })
}

/// Frees a handle. NULL is a no-op.
///
/// Thread safety: any thread, once no other thread uses the handle.
///
/// # Safety
/// `b` must be NULL or a handle from this library not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_backup_free(b: *mut pitr_backup) {
    // SAFETY: documented contract.
    guard_value((), || unsafe { free_handle(b) })
}

/// The PostgreSQL major of the backup (from `pg_control`, else
/// `PG_VERSION`), 0 when unknown or when `b` is NULL.
///
/// Thread safety: any thread.
///
/// # Safety
/// `b` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_backup_major(b: *const pitr_backup) -> u32 {
    // SAFETY: documented contract.
    guard_value(0, || unsafe { opt_handle(b) }.and_then(|b| b.inner.major()).map_or(0, |m| m.number()))
}

/// True when reading the backup found a problem of severity error (a
/// damaged `backup_label`, `pg_control` or manifest...). False when `b` is
/// NULL.
///
/// Thread safety: any thread.
///
/// # Safety
/// `b` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_backup_has_errors(b: *const pitr_backup) -> bool {
    // SAFETY: documented contract.
    guard_value(false, || unsafe { opt_handle(b) }.is_some_and(|b| b.inner.has_errors()))
}

/// `*out` = a new handle on the backup's `backup_label` (or backup history
/// file), freed with `pitr_backup_label_free`. `PITR_STATUS_NO_VALUE` when
/// the backup has none or it could not be parsed.
///
/// Thread safety: any thread.
///
/// # Safety
/// `b` must be a live handle; `out` must point to a writable
/// `pitr_backup_label *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_backup_get_label(
    b: *const pitr_backup,
    out: *mut *mut pitr_backup_label,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (b, out) = unsafe { (arg_handle(b, "b")?, arg_out(out, "out")?) };
        let l = b
            .inner
            .backup_label()
            .ok_or_else(|| FfiError::no_value("the backup has no usable backup_label"))?;
        handle_out(out, pitr_backup_label::new(l.clone()));
        Ok(())
    })
}

/// `*out` = a new handle on the backup's `global/pg_control`, freed with
/// `pitr_control_file_free`. `PITR_STATUS_NO_VALUE` when the backup has none
/// (a bare label) or it could not be decoded.
///
/// Thread safety: any thread.
///
/// # Safety
/// `b` must be a live handle; `out` must point to a writable
/// `pitr_control_file *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_backup_get_control_file(
    b: *const pitr_backup,
    out: *mut *mut pitr_control_file,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (b, out) = unsafe { (arg_handle(b, "b")?, arg_out(out, "out")?) };
        let c = b
            .inner
            .control
            .as_ref()
            .ok_or_else(|| FfiError::no_value("the backup has no usable pg_control"))?;
        handle_out(out, pitr_control_file::new(c.clone()));
        Ok(())
    })
}

/// `*out` = the backup as JSON, the document of `pitr backup show --json`
/// (`docs/backup-json.md`): `path`, `format`, `major`, `pg_version`, `tars`,
/// `label`, `tablespace_map`, `tablespaces`, `manifest`, `control`,
/// `file_count`, `total_size`, `wal`, `problems`, and with `with_files`
/// every file. Library-allocated; free with `pitr_string_free`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `b` must be a live handle; `out` must point to a writable `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_backup_to_json(
    b: *const pitr_backup,
    with_files: bool,
    out: *mut *mut c_char,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (b, out) = unsafe { (arg_handle(b, "b")?, arg_out(out, "out")?) };
        string_out(out, to_json(&b.inner.summary(with_files))?);
        Ok(())
    })
}

/// Verifies the backup at `path` against its `backup_manifest` like
/// `pg_verifybackup` (tar backups too): every file present with its size
/// and checksum (sizes only with `skip_checksums`), no extra files, and the
/// WAL ranges the manifest lists present in `archive_dir` (when not NULL)
/// or in the backup's own `pg_wal`. `*out_ok` (when not NULL) = nothing
/// wrong; `*out_json` = the report of `pitr backup verify --json`,
/// library-allocated: free with `pitr_string_free`. Problems found are not
/// an error status.
///
/// Errors: as `pitr_backup_open`.
///
/// Thread safety: any thread; blocks while reading.
///
/// # Safety
/// `path` must be a NUL-terminated string; `archive_dir` NULL or one;
/// `out_ok` NULL or pointing to a writable `bool`; `out_json` must point to
/// a writable `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_backup_verify(
    path: *const c_char,
    archive_dir: *const c_char,
    skip_checksums: bool,
    out_ok: *mut bool,
    out_json: *mut *mut c_char,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (path, archive, out_json) = unsafe {
            (arg_str(path, "path")?, opt_str(archive_dir, "archive_dir")?, arg_out(out_json, "out_json")?)
        };
        // SAFETY: documented contract (optional).
        let out_ok = unsafe { OutPtr::new(out_ok) };
        let opts =
            VerifyOptions { archive: archive.map(PathBuf::from), skip_checksums, ..VerifyOptions::default() };
        let (_, report) = verify(Path::new(path), &opts)?;
        let json = to_json(&report)?;
        if let Some(o) = out_ok {
            o.write(report.ok);
        }
        string_out(out_json, json);
        Ok(())
    })
}

/// Extracts (restores) the backup `b` into the data directory `target`
/// (created if absent, else it must be empty), with its tablespaces: plain
/// and tar backups (compressed too), the WAL it includes into `pg_wal`
/// unless `include_wal` is false. Tablespace `tablespace_oids[i]` is
/// written to `tablespace_dirs[i]` instead of its original location
/// (`n_tablespaces` pairs; both arrays may be NULL when it is 0), and
/// `tablespace_map` is rewritten accordingly. Nothing is ever overwritten
/// and nothing is written outside `target` and the tablespace directories
/// (a tar member climbing out is refused); `postmaster.pid` and
/// `postmaster.opts` are never restored; every file is fsynced. On failure,
/// everything created is removed again. `*out_json` = what was written (the
/// `extracted` object of `pitr restore --json`: `target`, `files`, `bytes`,
/// `wal_files`, `tablespaces`, `tablespace_map_rewritten`, `skipped`),
/// library-allocated: free with `pitr_string_free`. No recovery settings
/// are written (see `pitr_restore`, `pitr_write_recovery_settings`).
///
/// Errors: `PITR_STATUS_INVALID` (`target` or a tablespace directory is not
/// empty; a bare `backup_label` or `.backup` file cannot be extracted; an
/// in-place tablespace cannot be relocated; an unsafe tar member),
/// `PITR_STATUS_IO`, `PITR_STATUS_INVALID_ARGUMENT` (a tablespace given
/// twice), `PITR_STATUS_NULL_ARGUMENT` (also for a NULL element of
/// `tablespace_dirs`), `PITR_STATUS_INVALID_UTF8`.
///
/// Thread safety: any thread; blocks while copying.
///
/// # Safety
/// `b` must be a live handle; `target` a NUL-terminated string;
/// `tablespace_oids` and `tablespace_dirs` NULL (with `n_tablespaces` 0) or
/// pointing to `n_tablespaces` elements, the strings NUL-terminated;
/// `out_json` must point to a writable `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_backup_extract(
    b: *const pitr_backup,
    target: *const c_char,
    tablespace_oids: *const u32,
    tablespace_dirs: *const *const c_char,
    n_tablespaces: usize,
    include_wal: bool,
    out_json: *mut *mut c_char,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (b, target, out_json) =
            unsafe { (arg_handle(b, "b")?, arg_str(target, "target")?, arg_out(out_json, "out_json")?) };
        // SAFETY: documented contract.
        let tablespace_oids =
            unsafe { crate::plan::tablespace_map(tablespace_oids, tablespace_dirs, n_tablespaces)? };
        let opts = ExtractOptions { tablespace_oids, include_wal, ..ExtractOptions::default() };
        let report = extract(&b.inner, Path::new(target), &opts)?;
        string_out(out_json, to_json(&report)?);
        Ok(())
    })
}
