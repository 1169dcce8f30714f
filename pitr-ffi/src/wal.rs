//! Reading WAL (`pitr_core::wal`): a record iterator (`pitr_wal_reader`
//! handles) with each record's header fields, pg_waldump's description, and
//! the decoded commit/abort time, xid and restore point name; and per-stream
//! statistics like `pg_waldump --stats`.

use crate::error::{FfiError, guard, guard_value, pitr_status};
use crate::ffi::{
    arg_handle, arg_out, arg_str, free_handle, handle_out, opt_handle, string_out, to_cstring, to_json,
};
use crate::lsn::pitr_lsn;
use pitr_core::Lsn;
use pitr_core::wal::{Decoded, ReaderOptions, Record, Stats, WalReader, WalSource, decode_record, desc};
use std::ffi::{CString, c_char};
use std::path::Path;
use std::ptr;

/// The current record, copied out of the reader (valid until the next call
/// of `pitr_wal_reader_next`).
#[derive(Debug)]
struct Current {
    lsn: Lsn,
    end_lsn: Lsn,
    prev: Lsn,
    xid: u32,
    rmid: u8,
    info: u8,
    tot_len: u32,
    rec_len: u32,
    fpi_len: u32,
    timeline: u32,
    rmgr: CString,
    type_name: Option<CString>,
    description: CString,
    file: CString,
    xact: Option<(&'static str, Option<i64>)>,
    restore_point: Option<CString>,
}

impl Current {
    fn of(rec: &Record<'_>) -> Current {
        // pg_waldump's line; the description is what follows "desc: ".
        let mut line = String::new();
        desc::waldump_line(rec, &mut line);
        let description = match line.split_once(", desc: ") {
            Some((_, d)) => d.to_string(),
            None => line,
        };
        let (xact, restore_point) = match decode_record(rec) {
            Ok(Decoded::XactFinish(x)) => {
                let kind = match x.kind {
                    pitr_core::wal::decode::XactKind::Commit => "commit",
                    pitr_core::wal::decode::XactKind::Abort => "abort",
                    pitr_core::wal::decode::XactKind::CommitPrepared => "commit_prepared",
                    pitr_core::wal::decode::XactKind::AbortPrepared => "abort_prepared",
                };
                (Some((kind, x.time.to_jiff().map(|t| t.as_microsecond()))), None)
            }
            Ok(Decoded::RestorePoint { name, .. }) => {
                (None, Some(to_cstring(String::from_utf8_lossy(name).into_owned())))
            }
            _ => (None, None),
        };
        Current {
            lsn: rec.lsn,
            end_lsn: rec.end_lsn,
            prev: rec.prev(),
            xid: rec.xid(),
            rmid: rec.rmid(),
            info: rec.info(),
            tot_len: rec.tot_len(),
            rec_len: rec.rec_len(),
            fpi_len: rec.fpi_len,
            timeline: rec.page_timeline,
            rmgr: to_cstring(rec.rmgr_name().into_owned()),
            type_name: rec.type_name().map(to_cstring),
            description: to_cstring(description),
            file: to_cstring(rec.file().to_string_lossy().into_owned()),
            xact,
            restore_point,
        }
    }
}

/// A WAL record stream (opaque): made by `pitr_wal_reader_open`, advanced
/// with `pitr_wal_reader_next`, freed with `pitr_wal_reader_free`. The
/// `pitr_wal_reader_record_*` getters read the record the last
/// `pitr_wal_reader_next` returned.
///
/// Not thread-safe to advance: one thread at a time may call
/// `pitr_wal_reader_next` (and read the record); different readers are
/// independent.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct pitr_wal_reader {
    inner: WalReader,
    current: Option<Current>,
}

fn source(path: &str) -> Result<WalSource, FfiError> {
    let p = Path::new(path);
    Ok(if p.is_dir() { WalSource::dir(p)? } else { WalSource::from_paths(&[p])? })
}

fn options(start: pitr_lsn, end: pitr_lsn) -> ReaderOptions {
    ReaderOptions {
        start: (start != 0).then_some(Lsn(start)),
        end: (end != 0).then_some(Lsn(end)),
        ..ReaderOptions::default()
    }
}

/// Opens the WAL of `path`: a directory (a WAL archive or `pg_wal`: every
/// segment in it, compressed or not; for each segment number the highest
/// timeline) or one segment file. Reading starts at the first record at or
/// after `start` (0: the first record of the lowest segment) and stops
/// before the first record at or after `end` (0: the end of the WAL).
/// `*out` receives a new reader, freed with `pitr_wal_reader_free`.
///
/// Errors: `PITR_STATUS_IO`, `PITR_STATUS_CORRUPT_WAL` (not WAL, no
/// segments, the start is not found...), `PITR_STATUS_UNSUPPORTED`
/// (PostgreSQL 12 or older, big-endian), with the file and LSN in the last
/// error; `PITR_STATUS_NULL_ARGUMENT`, `PITR_STATUS_INVALID_UTF8`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `path` must be a NUL-terminated string; `out` must point to a writable
/// `pitr_wal_reader *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_wal_reader_open(
    path: *const c_char,
    start: pitr_lsn,
    end: pitr_lsn,
    out: *mut *mut pitr_wal_reader,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (path, out) = unsafe { (arg_str(path, "path")?, arg_out(out, "out")?) };
        let inner = WalReader::open(source(path)?, options(start, end))?;
        handle_out(out, pitr_wal_reader { inner, current: None });
        Ok(())
    })
}

/// Frees a reader. NULL is a no-op.
///
/// Thread safety: any thread, once no other thread uses the reader.
///
/// # Safety
/// `r` must be NULL or a reader from this library not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_wal_reader_free(r: *mut pitr_wal_reader) {
    // SAFETY: documented contract.
    guard_value((), || unsafe { free_handle(r) })
}

/// Reads the next record: `*out_has_record` = true and the
/// `pitr_wal_reader_record_*` getters describe it, or false at the end of
/// the WAL (a clean end: zeroed space, a missing next segment, the `end`
/// LSN...; `pitr_wal_reader_end_to_json` says which).
///
/// Errors: `PITR_STATUS_CORRUPT_WAL` (bad CRC, bad `xl_prev`, a missing
/// continuation, a segment of another cluster...; `pitr_last_error_file` and
/// `pitr_last_error_lsn` say where), `PITR_STATUS_IO`,
/// `PITR_STATUS_NULL_ARGUMENT`. After an error there is no current record.
///
/// Thread safety: one thread at a time per reader.
///
/// # Safety
/// `r` must be a live reader not used by another thread; `out_has_record`
/// must point to a writable `bool`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_wal_reader_next(
    r: *mut pitr_wal_reader,
    out_has_record: *mut bool,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract: a live reader, used by this thread only.
        let r = unsafe { r.as_mut() }.ok_or_else(|| FfiError::null("r"))?;
        // SAFETY: documented contract.
        let out = unsafe { arg_out(out_has_record, "out_has_record")? };
        r.current = None;
        let current = r.inner.next_record()?.map(|rec| Current::of(&rec));
        out.write(current.is_some());
        r.current = current;
        Ok(())
    })
}

/// `*out` = the number of records read so far.
///
/// Thread safety: one thread at a time per reader.
///
/// # Safety
/// `r` must be NULL or a live reader.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_wal_reader_records_read(r: *const pitr_wal_reader) -> u64 {
    // SAFETY: documented contract.
    guard_value(0, || unsafe { opt_handle(r) }.map_or(0, |r| r.inner.records_read()))
}

/// The PostgreSQL major of the stream (from the first segment's long page
/// header). 0 when `r` is NULL.
///
/// Thread safety: one thread at a time per reader.
///
/// # Safety
/// `r` must be NULL or a live reader.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_wal_reader_major(r: *const pitr_wal_reader) -> u32 {
    // SAFETY: documented contract.
    guard_value(0, || unsafe { opt_handle(r) }.map_or(0, |r| r.inner.info().major.number()))
}

/// The system identifier of the stream. 0 when `r` is NULL.
///
/// Thread safety: one thread at a time per reader.
///
/// # Safety
/// `r` must be NULL or a live reader.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_wal_reader_system_identifier(r: *const pitr_wal_reader) -> u64 {
    // SAFETY: documented contract.
    guard_value(0, || unsafe { opt_handle(r) }.map_or(0, |r| r.inner.info().system_id))
}

/// The WAL segment size of the stream, in bytes. 0 when `r` is NULL.
///
/// Thread safety: one thread at a time per reader.
///
/// # Safety
/// `r` must be NULL or a live reader.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_wal_reader_segment_size(r: *const pitr_wal_reader) -> u32 {
    // SAFETY: documented contract.
    guard_value(0, || unsafe { opt_handle(r) }.map_or(0, |r| r.inner.info().seg_size.bytes_u32()))
}

/// `*out` = where and why the stream ended, as JSON: `end_lsn` (the end of
/// the last complete record: replay of these files stops there),
/// `position`, `file`, `reason` (`zero_length`, `zero_page`, `stale_page`,
/// `stale_segment`, `next_segment_absent`, `end_of_file`, `end_requested`...)
/// and its fields, `incomplete_record`. Library-allocated; free with
/// `pitr_string_free`. `PITR_STATUS_NO_VALUE` before the end is reached.
///
/// Thread safety: one thread at a time per reader.
///
/// # Safety
/// `r` must be a live reader; `out` must point to a writable `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_wal_reader_end_to_json(
    r: *const pitr_wal_reader,
    out: *mut *mut c_char,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (r, out) = unsafe { (arg_handle(r, "r")?, arg_out(out, "out")?) };
        let end = r
            .inner
            .end()
            .ok_or_else(|| FfiError::no_value("the reader has not reached the end of the WAL"))?;
        string_out(out, to_json(end)?);
        Ok(())
    })
}

/// The current record, or NULL.
///
/// # Safety
/// `r` must be NULL or a live reader.
unsafe fn current<'a>(r: *const pitr_wal_reader) -> Option<&'a Current> {
    // SAFETY: forwarded.
    unsafe { opt_handle(r) }.and_then(|r| r.current.as_ref())
}

/// The current record's LSN (where it starts). 0 when there is no current
/// record (before the first `pitr_wal_reader_next`, at the end, after an
/// error) or `r` is NULL; the same holds for every `pitr_wal_reader_record_*`
/// getter.
///
/// Thread safety: one thread at a time per reader.
///
/// # Safety
/// `r` must be NULL or a live reader.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_wal_reader_record_lsn(r: *const pitr_wal_reader) -> pitr_lsn {
    // SAFETY: documented contract.
    guard_value(0, || unsafe { current(r) }.map_or(0, |c| c.lsn.0))
}

/// The current record's end (the LSN after it, MAXALIGNed: where the next
/// record starts).
///
/// Thread safety: one thread at a time per reader.
///
/// # Safety
/// `r` must be NULL or a live reader.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_wal_reader_record_end_lsn(r: *const pitr_wal_reader) -> pitr_lsn {
    // SAFETY: documented contract.
    guard_value(0, || unsafe { current(r) }.map_or(0, |c| c.end_lsn.0))
}

/// The current record's `xl_prev`.
///
/// Thread safety: one thread at a time per reader.
///
/// # Safety
/// `r` must be NULL or a live reader.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_wal_reader_record_prev(r: *const pitr_wal_reader) -> pitr_lsn {
    // SAFETY: documented contract.
    guard_value(0, || unsafe { current(r) }.map_or(0, |c| c.prev.0))
}

/// The current record's `xl_xid` (0 for records outside a transaction).
///
/// Thread safety: one thread at a time per reader.
///
/// # Safety
/// `r` must be NULL or a live reader.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_wal_reader_record_xid(r: *const pitr_wal_reader) -> u32 {
    // SAFETY: documented contract.
    guard_value(0, || unsafe { current(r) }.map_or(0, |c| c.xid))
}

/// The current record's resource manager id (`xl_rmid`).
///
/// Thread safety: one thread at a time per reader.
///
/// # Safety
/// `r` must be NULL or a live reader.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_wal_reader_record_rmid(r: *const pitr_wal_reader) -> u8 {
    // SAFETY: documented contract.
    guard_value(0, || unsafe { current(r) }.map_or(0, |c| c.rmid))
}

/// The current record's `xl_info`.
///
/// Thread safety: one thread at a time per reader.
///
/// # Safety
/// `r` must be NULL or a live reader.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_wal_reader_record_info(r: *const pitr_wal_reader) -> u8 {
    // SAFETY: documented contract.
    guard_value(0, || unsafe { current(r) }.map_or(0, |c| c.info))
}

/// The current record's total length (`xl_tot_len`, pg_waldump's "tot").
///
/// Thread safety: one thread at a time per reader.
///
/// # Safety
/// `r` must be NULL or a live reader.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_wal_reader_record_total_length(r: *const pitr_wal_reader) -> u32 {
    // SAFETY: documented contract.
    guard_value(0, || unsafe { current(r) }.map_or(0, |c| c.tot_len))
}

/// The current record's length without full-page images (pg_waldump's
/// "rec").
///
/// Thread safety: one thread at a time per reader.
///
/// # Safety
/// `r` must be NULL or a live reader.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_wal_reader_record_length(r: *const pitr_wal_reader) -> u32 {
    // SAFETY: documented contract.
    guard_value(0, || unsafe { current(r) }.map_or(0, |c| c.rec_len))
}

/// The bytes of full-page images in the current record.
///
/// Thread safety: one thread at a time per reader.
///
/// # Safety
/// `r` must be NULL or a live reader.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_wal_reader_record_fpi_length(r: *const pitr_wal_reader) -> u32 {
    // SAFETY: documented contract.
    guard_value(0, || unsafe { current(r) }.map_or(0, |c| c.fpi_len))
}

/// The timeline of the page the current record starts on.
///
/// Thread safety: one thread at a time per reader.
///
/// # Safety
/// `r` must be NULL or a live reader.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_wal_reader_record_timeline(r: *const pitr_wal_reader) -> u32 {
    // SAFETY: documented contract.
    guard_value(0, || unsafe { current(r) }.map_or(0, |c| c.timeline))
}

/// The current record's resource manager name as pg_waldump prints it
/// (`"Heap"`, `"Transaction"`, `"XLOG"`...). Borrowed: valid until the next
/// `pitr_wal_reader_next` or `pitr_wal_reader_free`. NULL without a current
/// record.
///
/// Thread safety: one thread at a time per reader.
///
/// # Safety
/// `r` must be NULL or a live reader.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_wal_reader_record_rmgr_name(r: *const pitr_wal_reader) -> *const c_char {
    // SAFETY: documented contract.
    guard_value(ptr::null(), || unsafe { current(r) }.map_or(ptr::null(), |c| c.rmgr.as_ptr()))
}

/// The current record's type as pg_waldump prints it (`"COMMIT"`,
/// `"INSERT+INIT"`, `"RESTORE_POINT"`...), or NULL when the resource manager
/// does not know it (or without a current record). Borrowed as
/// `pitr_wal_reader_record_rmgr_name`.
///
/// Thread safety: one thread at a time per reader.
///
/// # Safety
/// `r` must be NULL or a live reader.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_wal_reader_record_type_name(r: *const pitr_wal_reader) -> *const c_char {
    guard_value(ptr::null(), || {
        // SAFETY: documented contract.
        unsafe { current(r) }.and_then(|c| c.type_name.as_ref()).map_or(ptr::null(), |t| t.as_ptr())
    })
}

/// The current record's description as pg_waldump's `desc:` prints it, block
/// references included, for the records pitr decodes (transactions, XLOG
/// records such as checkpoints, restore points and switches, storage,
/// database and standby records): `"COMMIT 2026-11-24 00:57:58.019639 UTC"`,
/// `"RESTORE_POINT before_change"`. For other records (heap, index...) it is
/// the type name and the block references only (`"INSERT , blkref #0: rel
/// 1663/5/16384 blk 5"`). Borrowed as `pitr_wal_reader_record_rmgr_name`.
///
/// Thread safety: one thread at a time per reader.
///
/// # Safety
/// `r` must be NULL or a live reader.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_wal_reader_record_description(r: *const pitr_wal_reader) -> *const c_char {
    // SAFETY: documented contract.
    guard_value(ptr::null(), || unsafe { current(r) }.map_or(ptr::null(), |c| c.description.as_ptr()))
}

/// The segment file the current record starts in. Borrowed as
/// `pitr_wal_reader_record_rmgr_name`.
///
/// Thread safety: one thread at a time per reader.
///
/// # Safety
/// `r` must be NULL or a live reader.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_wal_reader_record_file(r: *const pitr_wal_reader) -> *const c_char {
    // SAFETY: documented contract.
    guard_value(ptr::null(), || unsafe { current(r) }.map_or(ptr::null(), |c| c.file.as_ptr()))
}

/// For a transaction's end (commit, abort, commit prepared, abort prepared):
/// `*out_kind` (when not NULL) = `"commit"`, `"abort"`, `"commit_prepared"`
/// or `"abort_prepared"` (static strings) and `*out_unix_micros` (when not
/// NULL) = its timestamp (`xact_time`, what `recovery_target_time` compares
/// with) in microseconds since 1970-01-01 00:00:00 UTC.
///
/// Errors: `PITR_STATUS_NO_VALUE` for other records (and without a current
/// record), `PITR_STATUS_NULL_ARGUMENT`.
///
/// Thread safety: one thread at a time per reader.
///
/// # Safety
/// `r` must be a live reader; `out_kind` NULL or pointing to a writable
/// `const char *`; `out_unix_micros` NULL or pointing to a writable `int64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_wal_reader_record_xact(
    r: *const pitr_wal_reader,
    out_kind: *mut *const c_char,
    out_unix_micros: *mut i64,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let r = unsafe { arg_handle(r, "r")? };
        // SAFETY: documented contract (optional).
        let (out_kind, out_time) =
            unsafe { (crate::ffi::OutPtr::new(out_kind), crate::ffi::OutPtr::new(out_unix_micros)) };
        let (kind, time) = r
            .current
            .as_ref()
            .and_then(|c| c.xact)
            .ok_or_else(|| FfiError::no_value("the current record does not end a transaction"))?;
        let time = time.ok_or_else(|| FfiError::no_value("the transaction's timestamp is out of range"))?;
        if let Some(o) = out_kind {
            o.write(
                match kind {
                    "commit" => c"commit",
                    "abort" => c"abort",
                    "commit_prepared" => c"commit_prepared",
                    _ => c"abort_prepared",
                }
                .as_ptr(),
            );
        }
        if let Some(o) = out_time {
            o.write(time);
        }
        Ok(())
    })
}

/// The name of the current record's restore point
/// (`pg_create_restore_point`), or NULL for other records. Borrowed as
/// `pitr_wal_reader_record_rmgr_name`.
///
/// Thread safety: one thread at a time per reader.
///
/// # Safety
/// `r` must be NULL or a live reader.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_wal_reader_record_restore_point(r: *const pitr_wal_reader) -> *const c_char {
    guard_value(ptr::null(), || {
        // SAFETY: documented contract.
        unsafe { current(r) }.and_then(|c| c.restore_point.as_ref()).map_or(ptr::null(), |n| n.as_ptr())
    })
}

/// Reads the WAL of `path` (as `pitr_wal_reader_open`, from `start` to `end`)
/// and returns its statistics as JSON, like `pg_waldump --stats` (with
/// `per_record`, `--stats=record`): `{"start", "end", "count", "rows":
/// [{"name", "count", "rec_len", "fpi_len", "tot_len"}]}`, one row per
/// resource manager (or record type). Library-allocated; free with
/// `pitr_string_free`.
///
/// Errors: as `pitr_wal_reader_open` and `pitr_wal_reader_next`.
///
/// Thread safety: any thread; blocks while reading.
///
/// # Safety
/// `path` must be a NUL-terminated string; `out` must point to a writable
/// `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_wal_stats(
    path: *const c_char,
    start: pitr_lsn,
    end: pitr_lsn,
    per_record: bool,
    out: *mut *mut c_char,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (path, out) = unsafe { (arg_str(path, "path")?, arg_out(out, "out")?) };
        let mut opts = options(start, end);
        opts.data = pitr_core::wal::DataFilter::none();
        let mut reader = WalReader::open(source(path)?, opts)?;
        let mut stats = Stats::new(reader.info().major);
        while let Some(rec) = reader.next_record()? {
            stats.add(&rec);
        }
        string_out(out, to_json(&stats.to_json(per_record))?);
        Ok(())
    })
}
