//! WAL archives (`pitr_core::archive`): the inventory of an archive
//! directory (`pitr_archive` handles), its verification, fetching a file as
//! `restore_command` does (`pitr_archive_get`) and the timeline-aware
//! cleanup (`pitr_archive_cleanup`).

use crate::error::{FfiError, guard, guard_value, pitr_status};
use crate::ffi::{
    OutPtr, arg_handle, arg_out, arg_str, arg_str_array, free_handle, handle_out, opt_handle, string_out,
    to_json,
};
use crate::lsn::seg_size;
use pitr_core::archive::cleanup;
use pitr_core::archive::get::{GetError, get};
use pitr_core::archive::{Inventory, ScanOptions, VerifyOptions, verify};
use std::ffi::c_char;
use std::path::{Path, PathBuf};

/// The inventory of a WAL archive (opaque). Made by `pitr_archive_scan`,
/// freed with `pitr_archive_free`.
///
/// Immutable: one handle may be read from several threads at once; it must
/// not be freed while another thread uses it.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct pitr_archive {
    inner: Inventory,
}

/// Lists a WAL archive directory, flat or nested (Barman's and pgBackRest's
/// layouts), and indexes it: segments by timeline with their ranges and
/// gaps, the history files, backup history files, `.partial` files,
/// duplicate copies, unknown files, and the problems found. `seg_size` is
/// the WAL segment size in bytes, or 0 to read it from the first readable
/// segment. `*out` receives a new handle, freed with `pitr_archive_free`.
///
/// Errors: `PITR_STATUS_IO` (the directory cannot be listed),
/// `PITR_STATUS_INVALID_ARGUMENT` (segment size), `PITR_STATUS_NULL_ARGUMENT`,
/// `PITR_STATUS_INVALID_UTF8`. Problems inside the archive are not errors:
/// they are in `pitr_archive_to_json`.
///
/// Thread safety: any thread; blocks while listing.
///
/// # Safety
/// `dir` must be a NUL-terminated string; `out` must point to a writable
/// `pitr_archive *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_archive_scan(
    dir: *const c_char,
    seg_size: u32,
    out: *mut *mut pitr_archive,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (dir, out) = unsafe { (arg_str(dir, "dir")?, arg_out(out, "out")?) };
        let seg = if seg_size == 0 { None } else { Some(self::seg_size(seg_size)?) };
        let inner = Inventory::scan(Path::new(dir), &ScanOptions { seg_size: seg })?;
        handle_out(out, pitr_archive { inner });
        Ok(())
    })
}

/// Frees a handle. NULL is a no-op.
///
/// Thread safety: any thread, once no other thread uses the handle.
///
/// # Safety
/// `a` must be NULL or a handle from this library not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_archive_free(a: *mut pitr_archive) {
    // SAFETY: documented contract.
    guard_value((), || unsafe { free_handle(a) })
}

/// The WAL segment size of the archive in bytes, 0 when unknown (no
/// readable segment) or when `a` is NULL.
///
/// Thread safety: any thread.
///
/// # Safety
/// `a` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_archive_segment_size(a: *const pitr_archive) -> u32 {
    guard_value(0, || {
        // SAFETY: documented contract.
        unsafe { opt_handle(a) }.and_then(|a| a.inner.seg_size()).map_or(0, |s| s.bytes_u32())
    })
}

/// `*out` = the system identifier in the archive's segments.
/// `PITR_STATUS_NO_VALUE` when no segment could be read.
///
/// Thread safety: any thread.
///
/// # Safety
/// `a` must be a live handle; `out` must point to a writable `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_archive_system_identifier(
    a: *const pitr_archive,
    out: *mut u64,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (a, out) = unsafe { (arg_handle(a, "a")?, arg_out(out, "out")?) };
        out.write(
            a.inner.system_id().ok_or_else(|| FfiError::no_value("the archive has no readable segment"))?,
        );
        Ok(())
    })
}

/// The number of distinct segments (0 when `a` is NULL).
///
/// Thread safety: any thread.
///
/// # Safety
/// `a` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_archive_segment_count(a: *const pitr_archive) -> u64 {
    // SAFETY: documented contract.
    guard_value(0, || unsafe { opt_handle(a) }.map_or(0, |a| a.inner.segment_count()))
}

/// `*out` = the path of the preferred copy of segment `segno` of `timeline`
/// (plain before compressed, top level before nested), library-allocated:
/// free with `pitr_string_free`.
///
/// Errors: `PITR_STATUS_NO_VALUE` (not in the archive, or the segment size
/// is unknown), `PITR_STATUS_NULL_ARGUMENT`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `a` must be a live handle; `out` must point to a writable `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_archive_segment_path(
    a: *const pitr_archive,
    timeline: u32,
    segno: u64,
    out: *mut *mut c_char,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (a, out) = unsafe { (arg_handle(a, "a")?, arg_out(out, "out")?) };
        let p = a.inner.segment_path(timeline, segno).ok_or_else(|| {
            FfiError::no_value(format!("segment {segno} of timeline {timeline} is not in the archive"))
        })?;
        string_out(out, p.to_string_lossy().into_owned());
        Ok(())
    })
}

/// `*out` = the inventory as JSON, the document of `pitr archive show
/// --json` (`docs/archive.md`): `archive`, `layout`, `wal_segment_size`,
/// `system_id`, `pg_version`, `timelines` (ranges and gaps), `history_files`,
/// `backup_files`, `duplicates`, `unknown_files`, `segment_files`,
/// `problems`. Library-allocated; free with `pitr_string_free`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `a` must be a live handle; `out` must point to a writable `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_archive_to_json(a: *const pitr_archive, out: *mut *mut c_char) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (a, out) = unsafe { (arg_handle(a, "a")?, arg_out(out, "out")?) };
        string_out(out, to_json(&a.inner.summary(a.inner.problems()))?);
        Ok(())
    })
}

/// Verifies the archive (`pitr archive verify`): every segment's long page
/// header (system identifier, segment size, version, the page address its
/// name implies), decompressed sizes, duplicate copies, timelines and
/// history files; with `deep`, also every record's CRC (reads every segment
/// completely). `*out_clean` (when not NULL) = no problem at all (warnings
/// included);
/// `*out_json` = the report of `pitr archive verify --json`: the inventory's
/// fields (as `pitr_archive_to_json`) with every problem found, plus
/// `files_checked` and `deep`; library-allocated: free with
/// `pitr_string_free`. Problems found are not an error status.
///
/// Errors: `PITR_STATUS_NULL_ARGUMENT`.
///
/// Thread safety: any thread; blocks while reading (in parallel).
///
/// # Safety
/// `a` must be a live handle; `out_clean` must be NULL or point to a
/// writable `bool`; `out_json` must point to a writable `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_archive_verify(
    a: *const pitr_archive,
    deep: bool,
    out_clean: *mut bool,
    out_json: *mut *mut c_char,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (a, out_json) = unsafe { (arg_handle(a, "a")?, arg_out(out_json, "out_json")?) };
        // SAFETY: documented contract (optional).
        let out_clean = unsafe { OutPtr::new(out_clean) };
        let report = verify(&a.inner, &VerifyOptions { deep, ..VerifyOptions::default() });
        let json = to_json(&report)?;
        if let Some(o) = out_clean {
            o.write(report.is_clean());
        }
        string_out(out_json, json);
        Ok(())
    })
}

/// Restores the WAL file `name` (what PostgreSQL passes as `%f`) from the
/// archive directory `archive` into `dest` (`%p`), as `pitr archive get`
/// does for `restore_command`: the copies of the file (plain, compressed,
/// pgBackRest-named, in a nested directory or a pgBackRest stanza) are tried
/// in the inventory's order of preference; the first that decompresses (and,
/// for a segment, starts with the segment's own long page header and has
/// exactly the segment size) is written to `dest` atomically (temporary
/// file, fsync, rename). `*out_source` (when not NULL) = the archive file it
/// came from, library-allocated: free with `pitr_string_free`;
/// `*out_bytes` (when not NULL) = the bytes written.
///
/// Errors: `PITR_STATUS_NO_VALUE` when the archive has no copy of the file
/// (the one case `restore_command` must report as "not there"; PostgreSQL
/// probes history files that do not exist); `PITR_STATUS_CORRUPT_WAL` when
/// copies exist but none could be restored (damaged, wrong size, `dest` not
/// writable: the message lists each copy and why); `PITR_STATUS_IO` (the
/// archive cannot be read); `PITR_STATUS_INVALID_ARGUMENT` (`name` is not a
/// WAL segment, `.partial`, history or backup history file name);
/// `PITR_STATUS_NULL_ARGUMENT`, `PITR_STATUS_INVALID_UTF8`.
///
/// Thread safety: any thread; do not fetch into the same `dest` from several
/// threads at once.
///
/// # Safety
/// `archive`, `name` and `dest` must be NUL-terminated strings; `out_source`
/// NULL or pointing to a writable `char *`; `out_bytes` NULL or pointing to
/// a writable `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_archive_get(
    archive: *const c_char,
    name: *const c_char,
    dest: *const c_char,
    out_source: *mut *mut c_char,
    out_bytes: *mut u64,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (archive, name, dest) =
            unsafe { (arg_str(archive, "archive")?, arg_str(name, "name")?, arg_str(dest, "dest")?) };
        // SAFETY: documented contract (optional).
        let (out_source, out_bytes) = unsafe { (OutPtr::new(out_source), OutPtr::new(out_bytes)) };
        let fetched = get(Path::new(archive), name, Path::new(dest)).map_err(|e| match e {
            GetError::NotFound { .. } => FfiError::no_value(e.to_string()),
            GetError::BadName(_) => FfiError::invalid_argument(e.to_string()),
            GetError::Failed(_) => {
                FfiError::new(pitr_status::CorruptWal, e.to_string()).with_file(Path::new(dest))
            }
            GetError::Io(io) => io.into(),
        })?;
        if let Some(o) = out_bytes {
            o.write(fetched.bytes);
        }
        if let Some(o) = out_source {
            string_out(o, fetched.source.to_string_lossy());
        }
        Ok(())
    })
}

/// Timeline-aware cleanup of the archive `a` (`pitr archive cleanup`):
/// which segment, `.partial` and backup history files none of the kept
/// backups can ever need (`docs/archive.md`: before each kept backup's start
/// segment, or on a timeline it cannot reach). History files, unknown files
/// and the `.backup` file of a kept backup always stay. `keep_backups` are
/// `n_keep` paths of backups to keep recoverable (a backup directory, plain
/// or tar, a `backup_label` or a `.backup` file; at least one). A dry run
/// unless `remove`: then exactly the files listed are removed (a file
/// already gone counts as removed). `*out_count` (when not NULL) = the
/// number of files to remove (removed with `remove`); `*out_json` = the
/// document of `pitr archive cleanup --json` (`archive`, `deleted`,
/// `kept_backups`, `remove`, `kept_files`, `warnings`, `removed`,
/// `errors`), library-allocated: free with `pitr_string_free`.
///
/// Errors: `PITR_STATUS_INVALID` (no kept backup, a kept backup of another
/// cluster than the archive, a path that is not a backup, an archive whose
/// segment size is unknown: nothing is removed), `PITR_STATUS_IO` (a kept
/// backup cannot be read, nothing is removed; or with `remove`, a file could
/// not be removed: the others were, the message lists the failures),
/// `PITR_STATUS_PARSE`, `PITR_STATUS_NULL_ARGUMENT` (also for a NULL
/// element), `PITR_STATUS_INVALID_UTF8`.
///
/// Thread safety: any thread; do not clean one archive from several threads
/// (or processes) at once. The handle is not changed: scan again after
/// removing.
///
/// # Safety
/// `a` must be a live handle; `keep_backups` NULL (with `n_keep` 0) or
/// pointing to `n_keep` NUL-terminated strings; `out_count` NULL or pointing
/// to a writable `size_t`; `out_json` must point to a writable `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_archive_cleanup(
    a: *const pitr_archive,
    keep_backups: *const *const c_char,
    n_keep: usize,
    remove: bool,
    out_count: *mut usize,
    out_json: *mut *mut c_char,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (a, keep, out_json) = unsafe {
            (
                arg_handle(a, "a")?,
                arg_str_array(keep_backups, n_keep, "keep_backups")?,
                arg_out(out_json, "out_json")?,
            )
        };
        // SAFETY: documented contract (optional).
        let out_count = unsafe { OutPtr::new(out_count) };
        let paths: Vec<PathBuf> = keep.into_iter().map(PathBuf::from).collect();
        let report = cleanup::run(&a.inner, &paths, remove)?;
        if let Some(msg) = report.failure() {
            return Err(FfiError::new(pitr_status::Io, msg));
        }
        let json = to_json(&report)?;
        if let Some(o) = out_count {
            o.write(report.plan.remove.len());
        }
        string_out(out_json, json);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_of_scan_errors() {
        let mut a: *mut pitr_archive = std::ptr::null_mut();
        // SAFETY: valid arguments.
        let s = unsafe { pitr_archive_scan(c"/nonexistent/archive".as_ptr(), 0, &mut a) };
        assert_eq!(s, pitr_status::Io);
        // SAFETY: valid arguments.
        let s = unsafe { pitr_archive_scan(c"/tmp".as_ptr(), 3 << 20, &mut a) };
        assert_eq!(s, pitr_status::InvalidArgument);
        assert!(a.is_null());
    }
}
