//! WAL archives (`pitr_core::archive`): the inventory of an archive
//! directory (`pitr_archive` handles) and its verification.

use crate::error::{FfiError, guard, guard_value, pitr_status};
use crate::ffi::{
    OutPtr, arg_handle, arg_out, arg_str, free_handle, handle_out, opt_handle, string_out, to_json,
};
use crate::lsn::seg_size;
use pitr_core::archive::{Inventory, ScanOptions, VerifyOptions, verify};
use std::ffi::c_char;
use std::path::Path;

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
