//! `backup_label` and backup history (`*.backup`) files
//! (`pitr_backup_label` handles).

use crate::error::{FfiError, guard, guard_value, pitr_status};
use crate::ffi::{
    OutPtr, arg_handle, arg_out, arg_str, free_handle, handle_out, opt_handle, string_out, to_cstring,
    to_json, write_to_buffer,
};
use crate::lsn::{pitr_lsn, seg_size};
use pitr_core::label::{BackupLabel, LabelKind, LabelTime, Severity};
use std::ffi::{CString, c_char};
use std::path::Path;
use std::ptr;

/// Which of the two files a label is. The numbers are part of the ABI.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum pitr_label_kind {
    /// Only returned for a NULL handle.
    Unknown = 0,
    /// `backup_label` in a data directory.
    BackupLabel = 1,
    /// A backup history file `TTTTTTTTXXXXXXXXYYYYYYYY.OOOOOOOO.backup`
    /// (`STOP WAL LOCATION` on line 2).
    BackupHistory = 2,
}

/// A parsed `backup_label` or backup history file (opaque). Made by
/// `pitr_backup_label_parse` or `pitr_backup_label_read`, freed with
/// `pitr_backup_label_free`.
///
/// Immutable: one handle may be read from several threads at once; it must
/// not be freed while another thread uses it.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct pitr_backup_label {
    inner: BackupLabel,
    method: Option<CString>,
    from: Option<CString>,
    label: Option<CString>,
    start_time: Option<CString>,
    stop_time: Option<CString>,
}

impl pitr_backup_label {
    pub(crate) fn new(inner: BackupLabel) -> pitr_backup_label {
        let text = |t: &Option<LabelTime>| t.as_ref().map(|t| to_cstring(t.text.clone()));
        pitr_backup_label {
            method: inner.method.as_ref().map(|m| to_cstring(m.as_str())),
            from: inner.from.as_ref().map(|f| to_cstring(f.as_str())),
            label: inner.label.as_ref().map(|l| to_cstring(l.clone())),
            start_time: text(&inner.start_time),
            stop_time: text(&inner.stop_time),
            inner,
        }
    }
}

fn borrowed(s: &Option<CString>) -> *const c_char {
    s.as_ref().map_or(ptr::null(), |c| c.as_ptr())
}

/// Parses a `backup_label` or a backup history file (recognised by line 2:
/// `STOP WAL LOCATION` in a backup history file) like the server's
/// `read_backup_label`. Unknown lines are kept; problems the server accepts
/// are warnings (see `pitr_backup_label_check`). `*out` receives a new
/// handle, freed with `pitr_backup_label_free`.
///
/// Errors: `PITR_STATUS_PARSE` (line 1 is not `START WAL LOCATION: X/X (file
/// NAME)`, the checkpoint line is missing or bad, CRLF line ends...: the
/// server's `invalid data in file "backup_label"`; the last error has the
/// line), `PITR_STATUS_NULL_ARGUMENT`, `PITR_STATUS_INVALID_UTF8`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `text` must be a NUL-terminated string; `out` must point to a writable
/// `pitr_backup_label *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_backup_label_parse(
    text: *const c_char,
    out: *mut *mut pitr_backup_label,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (text, out) = unsafe { (arg_str(text, "text")?, arg_out(out, "out")?) };
        handle_out(out, pitr_backup_label::new(BackupLabel::parse(text)?));
        Ok(())
    })
}

/// Reads and parses a file: `backup_label` (and `backup_label.old`) as a
/// backup label, names containing `.backup` as backup history files, any
/// other name by content. Compressed files are decompressed by extension.
///
/// Errors: `PITR_STATUS_IO`, `PITR_STATUS_PARSE` (the last error names the
/// file and line), `PITR_STATUS_NULL_ARGUMENT`, `PITR_STATUS_INVALID_UTF8`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `path` must be a NUL-terminated string; `out` must point to a writable
/// `pitr_backup_label *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_backup_label_read(
    path: *const c_char,
    out: *mut *mut pitr_backup_label,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (path, out) = unsafe { (arg_str(path, "path")?, arg_out(out, "out")?) };
        handle_out(out, pitr_backup_label::new(BackupLabel::read(Path::new(path))?));
        Ok(())
    })
}

/// Frees a label handle. NULL is a no-op.
///
/// Thread safety: any thread, once no other thread uses the handle.
///
/// # Safety
/// `l` must be NULL or a handle from this library not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_backup_label_free(l: *mut pitr_backup_label) {
    // SAFETY: documented contract.
    guard_value((), || unsafe { free_handle(l) })
}

/// Which file it is. `PITR_LABEL_KIND_UNKNOWN` when `l` is NULL.
///
/// Thread safety: any thread.
///
/// # Safety
/// `l` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_backup_label_kind(l: *const pitr_backup_label) -> pitr_label_kind {
    guard_value(pitr_label_kind::Unknown, || {
        // SAFETY: documented contract.
        unsafe { opt_handle(l) }.map_or(pitr_label_kind::Unknown, |l| match l.inner.kind {
            LabelKind::BackupLabel => pitr_label_kind::BackupLabel,
            LabelKind::BackupHistory => pitr_label_kind::BackupHistory,
        })
    })
}

/// `START WAL LOCATION`: the redo point where replay begins. 0 when `l` is
/// NULL.
///
/// Thread safety: any thread.
///
/// # Safety
/// `l` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_backup_label_start_lsn(l: *const pitr_backup_label) -> pitr_lsn {
    // SAFETY: documented contract.
    guard_value(0, || unsafe { opt_handle(l) }.map_or(0, |l| l.inner.start.lsn.0))
}

/// `CHECKPOINT LOCATION`: the checkpoint record recovery starts from. 0 when
/// `l` is NULL.
///
/// Thread safety: any thread.
///
/// # Safety
/// `l` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_backup_label_checkpoint(l: *const pitr_backup_label) -> pitr_lsn {
    // SAFETY: documented contract.
    guard_value(0, || unsafe { opt_handle(l) }.map_or(0, |l| l.inner.checkpoint.0))
}

/// The timeline the backup starts on, as the server takes it: from the file
/// name in line 1. 0 when `l` is NULL.
///
/// Thread safety: any thread.
///
/// # Safety
/// `l` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_backup_label_timeline(l: *const pitr_backup_label) -> u32 {
    // SAFETY: documented contract.
    guard_value(0, || unsafe { opt_handle(l) }.map_or(0, |l| l.inner.timeline()))
}

/// Writes the WAL file named in line 1 (`START WAL LOCATION: ... (file
/// NAME)`) into `buf` (`PITR_WAL_NAME_BUFSIZE` bytes always suffice; buffer
/// handling as `pitr_lsn_format`).
///
/// Thread safety: any thread.
///
/// # Safety
/// `l` must be a live handle; `buf` must point to `len` writable bytes;
/// `out_len` must be NULL or point to a writable `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_backup_label_start_file(
    l: *const pitr_backup_label,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let l = unsafe { arg_handle(l, "l")? };
        // SAFETY: documented contract.
        unsafe { write_to_buffer(&l.inner.start.file.to_string(), buf, len, out_len) }
    })
}

/// `*out` = `STOP WAL LOCATION` (backup history files). `PITR_STATUS_NO_VALUE`
/// for a `backup_label`, which has none.
///
/// Thread safety: any thread.
///
/// # Safety
/// `l` must be a live handle; `out` must point to a writable `pitr_lsn`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_backup_label_stop_lsn(
    l: *const pitr_backup_label,
    out: *mut pitr_lsn,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (l, out) = unsafe { (arg_handle(l, "l")?, arg_out(out, "out")?) };
        let stop =
            l.inner.stop.ok_or_else(|| FfiError::no_value("the label has no STOP WAL LOCATION line"))?;
        out.write(stop.lsn.0);
        Ok(())
    })
}

/// `*out` = `START TIMELINE`. `PITR_STATUS_NO_VALUE` when the line is missing
/// or not a number (`pitr_backup_label_timeline` is what the server uses).
///
/// Thread safety: any thread.
///
/// # Safety
/// `l` must be a live handle; `out` must point to a writable `uint32_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_backup_label_start_timeline(
    l: *const pitr_backup_label,
    out: *mut u32,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (l, out) = unsafe { (arg_handle(l, "l")?, arg_out(out, "out")?) };
        out.write(
            l.inner.start_timeline.ok_or_else(|| FfiError::no_value("the label has no START TIMELINE"))?,
        );
        Ok(())
    })
}

/// `*out` = `STOP TIMELINE` (backup history files). `PITR_STATUS_NO_VALUE`
/// when the label has none.
///
/// Thread safety: any thread.
///
/// # Safety
/// `l` must be a live handle; `out` must point to a writable `uint32_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_backup_label_stop_timeline(
    l: *const pitr_backup_label,
    out: *mut u32,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (l, out) = unsafe { (arg_handle(l, "l")?, arg_out(out, "out")?) };
        out.write(l.inner.stop_timeline.ok_or_else(|| FfiError::no_value("the label has no STOP TIMELINE"))?);
        Ok(())
    })
}

/// `BACKUP METHOD` as written (`streamed`, `pg_start_backup`, `pg_rewind`,
/// or anything else), or NULL when the line is missing or `l` is NULL.
/// Borrowed: valid until the handle is freed.
///
/// Thread safety: any thread.
///
/// # Safety
/// `l` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_backup_label_method(l: *const pitr_backup_label) -> *const c_char {
    // SAFETY: documented contract.
    guard_value(ptr::null(), || unsafe { opt_handle(l) }.map_or(ptr::null(), |l| borrowed(&l.method)))
}

/// `BACKUP FROM` as written (`primary`, `master` on 13, `standby`), or NULL.
/// Borrowed: valid until the handle is freed.
///
/// Thread safety: any thread.
///
/// # Safety
/// `l` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_backup_label_from(l: *const pitr_backup_label) -> *const c_char {
    // SAFETY: documented contract.
    guard_value(ptr::null(), || unsafe { opt_handle(l) }.map_or(ptr::null(), |l| borrowed(&l.from)))
}

/// `LABEL` verbatim, or NULL. Borrowed: valid until the handle is freed.
///
/// Thread safety: any thread.
///
/// # Safety
/// `l` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_backup_label_label(l: *const pitr_backup_label) -> *const c_char {
    // SAFETY: documented contract.
    guard_value(ptr::null(), || unsafe { opt_handle(l) }.map_or(ptr::null(), |l| borrowed(&l.label)))
}

/// `START TIME` as written (`2026-11-24 00:57:28 UTC`, in the server's
/// `log_timezone`), or NULL. Borrowed: valid until the handle is freed.
///
/// Thread safety: any thread.
///
/// # Safety
/// `l` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_backup_label_start_time(l: *const pitr_backup_label) -> *const c_char {
    // SAFETY: documented contract.
    guard_value(ptr::null(), || unsafe { opt_handle(l) }.map_or(ptr::null(), |l| borrowed(&l.start_time)))
}

/// `STOP TIME` as written (backup history files), or NULL. Borrowed: valid
/// until the handle is freed.
///
/// Thread safety: any thread.
///
/// # Safety
/// `l` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_backup_label_stop_time(l: *const pitr_backup_label) -> *const c_char {
    // SAFETY: documented contract.
    guard_value(ptr::null(), || unsafe { opt_handle(l) }.map_or(ptr::null(), |l| borrowed(&l.stop_time)))
}

fn time_micros(t: Option<&LabelTime>, what: &str) -> Result<i64, FfiError> {
    let t = t.ok_or_else(|| FfiError::no_value(format!("the label has no {what} line")))?;
    let ts = t.timestamp.ok_or_else(|| {
        FfiError::no_value(format!(
            "{what} {:?} does not fix an instant (only UTC, GMT and numeric offsets do; zone \
             abbreviations are ambiguous)",
            t.text
        ))
    })?;
    Ok(ts.as_microsecond())
}

/// `*out` = `START TIME` as microseconds since 1970-01-01 00:00:00 UTC, when
/// its zone fixes the instant (`UTC`, `GMT`, numeric offsets such as `+03`).
/// `PITR_STATUS_NO_VALUE` when the line is missing or its zone is an
/// abbreviation pitr does not guess (`CET`, `IST`): use
/// `pitr_backup_label_start_time` for the text.
///
/// Thread safety: any thread.
///
/// # Safety
/// `l` must be a live handle; `out` must point to a writable `int64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_backup_label_start_timestamp(
    l: *const pitr_backup_label,
    out: *mut i64,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (l, out) = unsafe { (arg_handle(l, "l")?, arg_out(out, "out")?) };
        out.write(time_micros(l.inner.start_time.as_ref(), "START TIME")?);
        Ok(())
    })
}

/// As `pitr_backup_label_start_timestamp`, for `STOP TIME`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `l` must be a live handle; `out` must point to a writable `int64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_backup_label_stop_timestamp(
    l: *const pitr_backup_label,
    out: *mut i64,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (l, out) = unsafe { (arg_handle(l, "l")?, arg_out(out, "out")?) };
        out.write(time_micros(l.inner.stop_time.as_ref(), "STOP TIME")?);
        Ok(())
    })
}

/// Checks the label for a cluster with WAL segments of `seg_size` bytes:
/// `*out_valid` = true when nothing makes the server refuse it (a `START
/// TIMELINE` that differs from line 1's file name, the label of an
/// incremental backup); when `out_issues_json` is not NULL, it receives every
/// issue, errors and warnings, as a JSON array of `{"severity": "error" |
/// "warning", "line": N | null, "message": "..."}` (library-allocated, free
/// with `pitr_string_free`).
///
/// Errors: `PITR_STATUS_INVALID_ARGUMENT` (segment size),
/// `PITR_STATUS_NULL_ARGUMENT`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `l` must be a live handle; `out_valid` must point to a writable `bool`;
/// `out_issues_json` must be NULL or point to a writable `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_backup_label_check(
    l: *const pitr_backup_label,
    seg_size: u32,
    out_valid: *mut bool,
    out_issues_json: *mut *mut c_char,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (l, out_valid) = unsafe { (arg_handle(l, "l")?, arg_out(out_valid, "out_valid")?) };
        // SAFETY: documented contract (optional).
        let out_json = unsafe { OutPtr::new(out_issues_json) };
        let issues = l.inner.check(self::seg_size(seg_size)?);
        let json = match out_json {
            Some(_) => Some(to_json(&issues)?),
            None => None,
        };
        out_valid.write(issues.iter().all(|i| i.severity != Severity::Error));
        if let (Some(o), Some(j)) = (out_json, json) {
            string_out(o, j);
        }
        Ok(())
    })
}

/// `*out` = the canonical text of the file, as PostgreSQL writes it (known
/// lines in order, unknown lines at the end). Library-allocated; free with
/// `pitr_string_free`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `l` must be a live handle; `out` must point to a writable `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_backup_label_to_text(
    l: *const pitr_backup_label,
    out: *mut *mut c_char,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (l, out) = unsafe { (arg_handle(l, "l")?, arg_out(out, "out")?) };
        string_out(out, l.inner.to_text());
        Ok(())
    })
}

/// `*out` = the label as JSON (pitr-core's serde form, as `pitr label
/// --json`): `kind`, `start` and `stop` (`{"lsn","file"}`), `checkpoint`,
/// `method`, `from`, `start_time` and `stop_time` (`{"text","local","zone",
/// "timestamp"}`), `label`, `start_timeline`, `stop_timeline`,
/// `incremental_from_lsn`, `incremental_from_tli`, `unknown_lines`, `issues`;
/// missing values are `null`. Library-allocated; free with
/// `pitr_string_free`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `l` must be a live handle; `out` must point to a writable `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_backup_label_to_json(
    l: *const pitr_backup_label,
    out: *mut *mut c_char,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (l, out) = unsafe { (arg_handle(l, "l")?, arg_out(out, "out")?) };
        string_out(out, to_json(&l.inner)?);
        Ok(())
    })
}
