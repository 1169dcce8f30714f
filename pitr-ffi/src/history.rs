//! Timeline history files (`TTTTTTTT.history`): parsing (`pitr_history`
//! handles), the server's queries on them (`tliOfPointInHistory`,
//! `tliSwitchPoint`, the ancestry), their text and JSON, and every history
//! file of a directory (`pitr_history_set` handles).

use crate::error::{FfiError, guard, guard_value, pitr_status};
use crate::ffi::{
    OutPtr, arg_handle, arg_out, arg_str, free_handle, handle_out, opt_handle, string_out, to_cstring,
    to_json, write_items_to_buffer,
};
use crate::lsn::pitr_lsn;
use pitr_core::history::{HistorySet, TimelineHistory};
use pitr_core::{Lsn, TimeLineId};
use std::ffi::{CString, c_char};
use std::path::Path;

/// A parsed timeline history (opaque). Made by `pitr_history_parse`,
/// `pitr_history_read`, `pitr_history_read_for` or
/// `pitr_history_set_history`; freed with `pitr_history_free`.
///
/// Immutable: one handle may be read from several threads at once; it must
/// not be freed while another thread uses it.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct pitr_history {
    inner: TimelineHistory,
    /// The reasons as C strings, one per entry (borrowed by `pitr_history_entry_at`).
    reasons: Vec<CString>,
}

impl pitr_history {
    fn new(inner: TimelineHistory) -> pitr_history {
        let reasons = inner.entries.iter().map(|e| to_cstring(e.reason.clone())).collect();
        pitr_history { inner, reasons }
    }
}

/// One line of a history file, as `pitr_history_entry_at` returns it.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct pitr_history_entry {
    /// The timeline that ended (the parent of the next one).
    pub parent: u32,
    /// Where it ended: the first LSN of the next timeline.
    pub switch_lsn: pitr_lsn,
    /// The free text after the LSN (e.g. `"no recovery target specified"`),
    /// without the line end. Borrowed: valid until the history handle is
    /// freed; do not free it.
    pub reason: *const c_char,
    /// 1-based line number in the file (0 for an entry built in memory).
    pub line: u64,
}

/// Parses the text of the history file of `timeline` (`TTTTTTTT.history`)
/// exactly like PostgreSQL's `readTimeLineHistory`: comment and blank lines
/// are skipped, each other line is `parent<TAB>X/X<TAB>reason`. `*out`
/// receives a new handle, freed with `pitr_history_free`.
///
/// Errors: `PITR_STATUS_PARSE` (the server's messages: syntax error, timeline
/// IDs not increasing or not less than `timeline`; the last error has the
/// line), `PITR_STATUS_NULL_ARGUMENT`, `PITR_STATUS_INVALID_UTF8`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `text` must be a NUL-terminated string; `out` must point to a writable
/// `pitr_history *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_history_parse(
    timeline: u32,
    text: *const c_char,
    out: *mut *mut pitr_history,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (text, out) = unsafe { (arg_str(text, "text")?, arg_out(out, "out")?) };
        handle_out(out, pitr_history::new(TimelineHistory::parse(timeline, text)?));
        Ok(())
    })
}

/// Reads and parses a history file; the timeline comes from the file name
/// (`TTTTTTTT.history`, possibly compressed: `.gz`, `.zst`, `.lz4`, `.xz`,
/// `.bz2`, decompressed by extension). `*out` receives a new handle.
///
/// Errors: `PITR_STATUS_IO` (the last error names the file),
/// `PITR_STATUS_PARSE` (a name that is not a history file name, or bad
/// content; file and line in the last error), `PITR_STATUS_NULL_ARGUMENT`,
/// `PITR_STATUS_INVALID_UTF8`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `path` must be a NUL-terminated string; `out` must point to a writable
/// `pitr_history *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_history_read(path: *const c_char, out: *mut *mut pitr_history) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (path, out) = unsafe { (arg_str(path, "path")?, arg_out(out, "out")?) };
        handle_out(out, pitr_history::new(TimelineHistory::read(Path::new(path))?));
        Ok(())
    })
}

/// As `pitr_history_read`, for a file of any name holding the history of
/// `timeline`.
///
/// Thread safety: any thread.
///
/// # Safety
/// As `pitr_history_read`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_history_read_for(
    path: *const c_char,
    timeline: u32,
    out: *mut *mut pitr_history,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (path, out) = unsafe { (arg_str(path, "path")?, arg_out(out, "out")?) };
        handle_out(out, pitr_history::new(TimelineHistory::read_for(Path::new(path), timeline)?));
        Ok(())
    })
}

/// Frees a history handle. NULL is a no-op.
///
/// Thread safety: any thread, once no other thread uses the handle.
///
/// # Safety
/// `h` must be NULL or a handle from this library not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_history_free(h: *mut pitr_history) {
    // SAFETY: documented contract.
    guard_value((), || unsafe { free_handle(h) })
}

/// The timeline the history leads to (from the file name). 0 when `h` is
/// NULL.
///
/// Thread safety: any thread.
///
/// # Safety
/// `h` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_history_timeline(h: *const pitr_history) -> u32 {
    // SAFETY: documented contract.
    guard_value(0, || unsafe { opt_handle(h) }.map_or(0, |h| h.inner.timeline))
}

/// The number of entries (lines with a switch point), oldest first. 0 when
/// `h` is NULL.
///
/// Thread safety: any thread.
///
/// # Safety
/// `h` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_history_entry_count(h: *const pitr_history) -> usize {
    // SAFETY: documented contract.
    guard_value(0, || unsafe { opt_handle(h) }.map_or(0, |h| h.inner.entries.len()))
}

/// `*out` = entry `index` (0 = the oldest). The entry's `reason` is borrowed
/// from the handle.
///
/// Errors: `PITR_STATUS_INVALID_ARGUMENT` (`index` >= the entry count),
/// `PITR_STATUS_NULL_ARGUMENT`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `h` must be a live handle; `out` must point to a writable
/// `pitr_history_entry_at`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_history_entry_at(
    h: *const pitr_history,
    index: usize,
    out: *mut pitr_history_entry,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (h, out) = unsafe { (arg_handle(h, "h")?, arg_out(out, "out")?) };
        let (Some(e), Some(reason)) = (h.inner.entries.get(index), h.reasons.get(index)) else {
            return Err(FfiError::invalid_argument(format!(
                "entry {index} does not exist: the history has {} entries",
                h.inner.entries.len()
            )));
        };
        out.write(pitr_history_entry {
            parent: e.parent,
            switch_lsn: e.switch_lsn.0,
            reason: reason.as_ptr(),
            line: e.line as u64,
        });
        Ok(())
    })
}

/// `*out` = the timeline this one was forked from (the last entry's parent).
/// `PITR_STATUS_NO_VALUE` for a history without entries.
///
/// Thread safety: any thread.
///
/// # Safety
/// `h` must be a live handle; `out` must point to a writable `uint32_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_history_parent(h: *const pitr_history, out: *mut u32) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (h, out) = unsafe { (arg_handle(h, "h")?, arg_out(out, "out")?) };
        let p = h.inner.parent().ok_or_else(|| {
            FfiError::no_value(format!(
                "timeline {} has no parent: its history has no entries",
                h.inner.timeline
            ))
        })?;
        out.write(p);
        Ok(())
    })
}

/// `*out` = the timeline holding `lsn` on the way to the history's timeline
/// (the server's `tliOfPointInHistory`): the timeline whose range
/// `[begin, end)` contains it.
///
/// Errors: `PITR_STATUS_INVALID` when no timeline holds it (only possible in a
/// history whose switch points go backwards; `pitr_last_error_lsn` gives the
/// LSN), `PITR_STATUS_NULL_ARGUMENT`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `h` must be a live handle; `out` must point to a writable `uint32_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_history_timeline_of(
    h: *const pitr_history,
    lsn: pitr_lsn,
    out: *mut u32,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (h, out) = unsafe { (arg_handle(h, "h")?, arg_out(out, "out")?) };
        out.write(h.inner.timeline_of(Lsn(lsn))?);
        Ok(())
    })
}

/// Where `timeline` ended on the way to the history's timeline and which
/// timeline followed it (the server's `tliSwitchPoint`): `*out_lsn` = the
/// first LSN of the next timeline, `*out_next_timeline` (when not NULL) = that
/// timeline.
///
/// Errors: `PITR_STATUS_NO_VALUE` for the history's own timeline (it has not
/// ended), `PITR_STATUS_INVALID_ARGUMENT` when `timeline` is not on the path
/// ("requested timeline N is not in this server's history"),
/// `PITR_STATUS_NULL_ARGUMENT`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `h` must be a live handle; `out_lsn` must point to a writable `pitr_lsn`;
/// `out_next_timeline` must be NULL or point to a writable `uint32_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_history_switch_point(
    h: *const pitr_history,
    timeline: u32,
    out_lsn: *mut pitr_lsn,
    out_next_timeline: *mut u32,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (h, out_lsn) = unsafe { (arg_handle(h, "h")?, arg_out(out_lsn, "out_lsn")?) };
        // SAFETY: documented contract (optional).
        let out_next = unsafe { OutPtr::new(out_next_timeline) };
        let sp = h.inner.switch_point(timeline)?.ok_or_else(|| {
            FfiError::no_value(format!("timeline {timeline} is the history's own timeline: it has not ended"))
        })?;
        out_lsn.write(sp.lsn.0);
        if let Some(o) = out_next {
            o.write(sp.next_timeline);
        }
        Ok(())
    })
}

/// True when `timeline` is the history's timeline or one of its ancestors
/// (the server's `tliInHistory`). False when `h` is NULL.
///
/// Thread safety: any thread.
///
/// # Safety
/// `h` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_history_contains(h: *const pitr_history, timeline: u32) -> bool {
    // SAFETY: documented contract.
    guard_value(false, || unsafe { opt_handle(h) }.is_some_and(|h| h.inner.contains(timeline)))
}

/// Copies the ancestry, oldest first and ending with the history's own
/// timeline (e.g. `1, 2, 3`), into `buf` (`len` elements). `*out_len` (when
/// not NULL) receives the number of timelines, also when
/// `PITR_STATUS_BUFFER_TOO_SMALL` is returned (then nothing is written), so
/// the caller can retry; it is the entry count plus one. `buf` may be NULL
/// when `len` is 0 (to ask for the size).
///
/// Thread safety: any thread.
///
/// # Safety
/// `h` must be a live handle; `buf` must be NULL or point to `len` writable
/// `uint32_t`; `out_len` must be NULL or point to a writable `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_history_ancestry(
    h: *const pitr_history,
    buf: *mut u32,
    len: usize,
    out_len: *mut usize,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let h = unsafe { arg_handle(h, "h")? };
        let ancestry: Vec<TimeLineId> = h.inner.ancestry();
        // SAFETY: documented contract.
        unsafe { write_items_to_buffer(&ancestry, buf, len, out_len) }
    })
}

/// Checks what the server does not: switch points that go backwards or are
/// `0/0`, a parent timeline 0. Returns `PITR_STATUS_OK` when there is no such
/// error, else `PITR_STATUS_PARSE` with the first one (and its line) in the
/// last error. Warnings (no entries, a history file for timeline 1) do not
/// fail; `pitr_history_to_json` does not list them either.
///
/// Thread safety: any thread.
///
/// # Safety
/// `h` must be a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_history_validate(h: *const pitr_history) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let h = unsafe { arg_handle(h, "h")? };
        Ok(h.inner.validate()?)
    })
}

/// `*out` = the file text exactly as PostgreSQL writes it (entries separated
/// by blank lines, the extra line end after time and LSN reasons).
/// Library-allocated; free with `pitr_string_free`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `h` must be a live handle; `out` must point to a writable `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_history_to_text(h: *const pitr_history, out: *mut *mut c_char) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (h, out) = unsafe { (arg_handle(h, "h")?, arg_out(out, "out")?) };
        string_out(out, h.inner.to_text());
        Ok(())
    })
}

/// `*out` = the history as JSON (pitr-core's serde form):
/// `{"timeline":3,"entries":[{"parent":1,"switch_lsn":"0/5000220","reason":"...","line":1},...]}`.
/// Library-allocated; free with `pitr_string_free`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `h` must be a live handle; `out` must point to a writable `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_history_to_json(h: *const pitr_history, out: *mut *mut c_char) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (h, out) = unsafe { (arg_handle(h, "h")?, arg_out(out, "out")?) };
        string_out(out, to_json(&h.inner)?);
        Ok(())
    })
}

/// Every timeline history file of a directory (opaque). Made by
/// `pitr_history_set_load_dir`, freed with `pitr_history_set_free`.
///
/// Immutable: one handle may be read from several threads at once; it must
/// not be freed while another thread uses it.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct pitr_history_set {
    inner: HistorySet,
}

/// Reads every `TTTTTTTT.history` file (plain or compressed) of `dir` (a WAL
/// archive or `pg_wal`) and checks them against each other. Files that cannot
/// be read or parsed do not make this fail: they are listed under `errors` in
/// `pitr_history_set_to_json` and make `pitr_history_set_is_valid` false.
/// `*out` receives a new handle, freed with `pitr_history_set_free`.
///
/// Errors: `PITR_STATUS_IO` (the directory cannot be listed),
/// `PITR_STATUS_NULL_ARGUMENT`, `PITR_STATUS_INVALID_UTF8`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `dir` must be a NUL-terminated string; `out` must point to a writable
/// `pitr_history_set *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_history_set_load_dir(
    dir: *const c_char,
    out: *mut *mut pitr_history_set,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (dir, out) = unsafe { (arg_str(dir, "dir")?, arg_out(out, "out")?) };
        handle_out(out, pitr_history_set { inner: HistorySet::load_dir(Path::new(dir))? });
        Ok(())
    })
}

/// Frees a history set handle. NULL is a no-op.
///
/// Thread safety: any thread, once no other thread uses the handle.
///
/// # Safety
/// `s` must be NULL or a handle from this library not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_history_set_free(s: *mut pitr_history_set) {
    // SAFETY: documented contract.
    guard_value((), || unsafe { free_handle(s) })
}

/// True when no file failed and the files agree (every history starts with
/// its parent's). False when `s` is NULL.
///
/// Thread safety: any thread.
///
/// # Safety
/// `s` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_history_set_is_valid(s: *const pitr_history_set) -> bool {
    // SAFETY: documented contract.
    guard_value(false, || unsafe { opt_handle(s) }.is_some_and(|s| s.inner.is_valid()))
}

/// `findNewestTimeLine(start)`: probes `start + 1`, `start + 2`, ... and
/// returns the last timeline that has a history file in the set (or `start`).
/// 0 when `s` is NULL.
///
/// Thread safety: any thread.
///
/// # Safety
/// `s` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_history_set_newest_from(s: *const pitr_history_set, start: u32) -> u32 {
    // SAFETY: documented contract.
    guard_value(0, || unsafe { opt_handle(s) }.map_or(0, |s| s.inner.newest_from(start)))
}

/// `*out` = a new handle on the history leading to `timeline`: its file's,
/// or an empty one for timeline 1. Free it with `pitr_history_free`.
/// `PITR_STATUS_NO_VALUE` when a later timeline has no (valid) history file
/// in the set.
///
/// Thread safety: any thread.
///
/// # Safety
/// `s` must be a live handle; `out` must point to a writable `pitr_history *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_history_set_history(
    s: *const pitr_history_set,
    timeline: u32,
    out: *mut *mut pitr_history,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (s, out) = unsafe { (arg_handle(s, "s")?, arg_out(out, "out")?) };
        let h = s.inner.history_of(timeline).ok_or_else(|| {
            FfiError::no_value(format!("no valid history file of timeline {timeline} in the set"))
        })?;
        handle_out(out, pitr_history::new(h));
        Ok(())
    })
}

/// `*out` = the set as JSON (pitr-core's serde form): `histories` (by
/// timeline, each as `pitr_history_to_json`), `files` (by timeline),
/// `errors` (messages) and `issues` (`severity`, `timeline`, `line`,
/// `message`). Library-allocated; free with `pitr_string_free`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `s` must be a live handle; `out` must point to a writable `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_history_set_to_json(
    s: *const pitr_history_set,
    out: *mut *mut c_char,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (s, out) = unsafe { (arg_handle(s, "s")?, arg_out(out, "out")?) };
        string_out(out, to_json(&s.inner)?);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;
    use std::ptr;

    const TL3: &CStr = c"1\t0/5000220\tafter transaction 728\n\n2\t0/6000000\tno recovery target specified\n";

    #[test]
    fn entries_borrow_reasons_from_the_handle() {
        let mut h: *mut pitr_history = ptr::null_mut();
        // SAFETY: valid arguments.
        unsafe {
            assert_eq!(pitr_history_parse(3, TL3.as_ptr(), &mut h), pitr_status::Ok);
            let mut e = pitr_history_entry { parent: 0, switch_lsn: 0, reason: ptr::null(), line: 0 };
            assert_eq!(pitr_history_entry_at(h, 1, &mut e), pitr_status::Ok);
            assert_eq!(e.parent, 2);
            assert_eq!(e.line, 3);
            assert_eq!(CStr::from_ptr(e.reason).to_str().ok(), Some("no recovery target specified"));
            assert_eq!(pitr_history_entry_at(h, 2, &mut e), pitr_status::InvalidArgument);
            let mut next = 0u32;
            let mut lsn = 0u64;
            assert_eq!(pitr_history_switch_point(h, 1, &mut lsn, &mut next), pitr_status::Ok);
            assert_eq!((lsn, next), (0x5000220, 2));
            assert_eq!(pitr_history_switch_point(h, 3, &mut lsn, &mut next), pitr_status::NoValue);
            assert_eq!(pitr_history_switch_point(h, 4, &mut lsn, &mut next), pitr_status::InvalidArgument);
            pitr_history_free(h);
        }
    }
}
