//! Finding transactions in WAL (`pitr_core::plan::find`): the commits and
//! aborts of a window, with the exact recovery targets that stop just before
//! and just after each, or the transaction that dropped or rewrote a
//! relation (`pitr_find`, and `pitr_find_with_progress` reporting its WAL
//! scan to a `pitr_progress_fn`).

use crate::error::{FfiError, guard, pitr_status};
use crate::ffi::{OutPtr, arg_array, arg_handle, arg_out, arg_str_array, opt_str, string_out, to_json};
use crate::plan::{pitr_progress_fn, progress_closure};
use crate::target::{pitr_timeline_target, time_zone, timeline_from_options};
use pitr_core::plan::{FindInput, FindRequest, KindFilter, find_with_progress};
use std::ffi::{c_char, c_void};
use std::path::PathBuf;
use std::ptr;

/// Which transaction ends `pitr_find` lists (`pitr_find_options.kinds`). The
/// numbers are part of the ABI.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum pitr_find_kinds {
    /// Commits and aborts (the default).
    All = 0,
    /// Commits (plain and prepared) only.
    CommitsOnly = 1,
    /// Aborts (top-level, subtransaction, prepared) only.
    AbortsOnly = 2,
}

/// What to look for, and in which WAL. Fill it with `pitr_find_options_init`
/// (every commit and abort of the latest timeline), then set what differs.
/// Give either `archive` (read along the timeline path recovery would
/// follow, from `backup`'s redo point when given) or `wal_paths` (WAL files
/// or directories read in order like `pg_waldump`).
///
/// The strings and arrays are borrowed for the duration of the call only.
/// The layout is part of the ABI: a new field changes `PITR_ABI_VERSION`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct pitr_find_options {
    /// The WAL archive directory, or NULL with `wal_paths`.
    pub archive: *const c_char,
    /// A base backup (plain, tar, `backup_label` or `.backup` file), or
    /// NULL; only with `archive`. Reading starts at its redo point, targets
    /// before its consistent point are marked unreachable, its `TimeZone`
    /// reads window times without a zone and its catalog resolves `table`.
    pub backup: *const c_char,
    /// `n_wal_paths` WAL files or directories, or NULL (with 0).
    pub wal_paths: *const *const c_char,
    /// The number of `wal_paths`.
    pub n_wal_paths: usize,
    /// Start of the window (inclusive): an LSN (`X/Y`) or a time (read like
    /// `recovery_target_time`); NULL: from the start.
    pub from: *const c_char,
    /// End of the window (inclusive), same forms; NULL: to the end.
    pub to: *const c_char,
    /// A `pitr_timeline_target`: whose path is read (default
    /// `PITR_TIMELINE_TARGET_LATEST`).
    pub timeline_kind: u32,
    /// The timeline for `PITR_TIMELINE_TARGET_NUMBERED` (>= 1), else 0.
    pub timeline: u32,
    /// Whether `xid` filters.
    pub has_xid: bool,
    /// Only this transaction (top-level, subtransaction or prepared xid).
    pub xid: u32,
    /// `n_relfilenodes` relfilenodes: only transactions that dropped,
    /// truncated, rewrote or created them; NULL (with 0) for none.
    pub relfilenodes: *const u32,
    /// The number of `relfilenodes`.
    pub n_relfilenodes: usize,
    /// A table (`[schema.]name`) resolved to relfilenodes through the
    /// backup's catalog or the live server `dsn`; NULL for none.
    pub table: *const c_char,
    /// A libpq connection string to resolve `table`; NULL: the backup.
    pub dsn: *const c_char,
    /// Whether `db` filters.
    pub has_db: bool,
    /// Only transactions of this database OID.
    pub db: u32,
    /// A `pitr_find_kinds` (default `PITR_FIND_KINDS_ALL`).
    pub kinds: u32,
    /// Only transactions that dropped relation files.
    pub drops_only: bool,
    /// Also list transactions that wrote the relfilenodes searched (an
    /// `UPDATE`/`DELETE` without `WHERE`); needs `relfilenodes` or `table`.
    pub modified: bool,
    /// The time zone of window times without one; NULL: the backup's
    /// `TimeZone`, else UTC.
    pub timezone: *const c_char,
    /// List at most this many transactions (the rest are counted in
    /// `more`); 0: no limit. Default 1000.
    pub limit: usize,
}

/// Fills `*options` with the defaults: no WAL yet (set `archive` or
/// `wal_paths`), no window, timeline `latest`, no filter, commits and
/// aborts, a limit of 1000.
///
/// Errors: `PITR_STATUS_NULL_ARGUMENT`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `options` must point to a writable `pitr_find_options`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_find_options_init(options: *mut pitr_find_options) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let out = unsafe { arg_out(options, "options")? };
        out.write(pitr_find_options {
            archive: ptr::null(),
            backup: ptr::null(),
            wal_paths: ptr::null(),
            n_wal_paths: 0,
            from: ptr::null(),
            to: ptr::null(),
            timeline_kind: pitr_timeline_target::Latest as u32,
            timeline: 0,
            has_xid: false,
            xid: 0,
            relfilenodes: ptr::null(),
            n_relfilenodes: 0,
            table: ptr::null(),
            dsn: ptr::null(),
            has_db: false,
            db: 0,
            kinds: pitr_find_kinds::All as u32,
            drops_only: false,
            modified: false,
            timezone: ptr::null(),
            limit: 1000,
        });
        Ok(())
    })
}

/// The core request from the C options, every field checked.
///
/// # Safety
/// `o` must be NULL or point to a readable `pitr_find_options` whose strings
/// and arrays are as documented.
unsafe fn request(o: *const pitr_find_options) -> Result<FindRequest, FfiError> {
    // SAFETY: forwarded.
    let o = unsafe { arg_handle(o, "options")? };
    // SAFETY: forwarded (the strings and arrays of the struct).
    let (archive, backup, paths, from, to, relfilenodes, table, dsn, timezone) = unsafe {
        (
            opt_str(o.archive, "options->archive")?,
            opt_str(o.backup, "options->backup")?,
            arg_str_array(o.wal_paths, o.n_wal_paths, "options->wal_paths")?,
            opt_str(o.from, "options->from")?,
            opt_str(o.to, "options->to")?,
            arg_array(o.relfilenodes, o.n_relfilenodes, "options->relfilenodes")?,
            opt_str(o.table, "options->table")?,
            opt_str(o.dsn, "options->dsn")?,
            opt_str(o.timezone, "options->timezone")?,
        )
    };
    let wal_paths: Vec<PathBuf> = paths.into_iter().map(PathBuf::from).collect();
    let input = match (archive, wal_paths.is_empty()) {
        (Some(a), true) => FindInput::Archive { archive: a.into(), backup: backup.map(PathBuf::from) },
        (None, false) if backup.is_none() => FindInput::Paths(wal_paths),
        (None, false) => {
            return Err(FfiError::invalid_argument("options->backup goes with options->archive only"));
        }
        (None, true) => {
            return Err(FfiError::new(
                pitr_status::NullArgument,
                "argument `options->archive` is NULL and there are no options->wal_paths: give one",
            ));
        }
        (Some(_), false) => {
            return Err(FfiError::invalid_argument("give options->archive or options->wal_paths, not both"));
        }
    };
    let timeline = timeline_from_options(o.timeline_kind, o.timeline)?;
    let kinds = match o.kinds {
        k if k == pitr_find_kinds::All as u32 => KindFilter::All,
        k if k == pitr_find_kinds::CommitsOnly as u32 => KindFilter::CommitsOnly,
        k if k == pitr_find_kinds::AbortsOnly as u32 => KindFilter::AbortsOnly,
        k => return Err(FfiError::invalid_argument(format!("options->kinds {k} is not a pitr_find_kinds"))),
    };
    if o.modified && relfilenodes.is_empty() && table.is_none() {
        return Err(FfiError::invalid_argument(
            "options->modified needs options->relfilenodes or options->table",
        ));
    }
    if dsn.is_some() && table.is_none() {
        return Err(FfiError::invalid_argument("options->dsn goes with options->table only"));
    }
    if let Some(tz) = timezone {
        time_zone(tz, "options->timezone")?;
    }
    let mut req = FindRequest::new(input);
    req.from = from.map(str::to_string);
    req.to = to.map(str::to_string);
    req.timeline = timeline;
    req.xid = o.has_xid.then_some(o.xid);
    req.relfilenodes = relfilenodes.to_vec();
    req.table = table.map(str::to_string);
    req.dsn = dsn.map(str::to_string);
    req.db = o.has_db.then_some(o.db);
    req.kinds = kinds;
    req.drops_only = o.drops_only;
    req.modified = o.modified;
    req.timezone = timezone.map(str::to_string);
    req.limit = (o.limit > 0).then_some(o.limit);
    Ok(req)
}

/// Finds transaction ends in WAL (`pitr find`): the commits and aborts of
/// the window (filtered by xid, database, kind, dropped relations), each
/// with its xid, time, LSN, the relation files it dropped, and the exact
/// recovery targets (`recovery_target_xid`, `_lsn`, `_time`, with whether
/// each is exact) that stop just before it and just after it; or, with
/// `relfilenodes` / `table`, the transaction that dropped or rewrote each
/// relation and the exclusive target that gets it back. The WAL is read
/// along the timeline path recovery would follow (as `pitr_plan` chooses
/// segments) or, with `wal_paths`, in the order given.
///
/// `*out_json` = the document of `pitr find --json` (`found`, `pg_version`,
/// `timeline`, `timeline_path`, `window`, `scanned`, `consistent_lsn`,
/// `relfilenodes`, `table`, `transactions` (each with `before` and `after`
/// targets), `more`, `storage`, `answers`, `problems`), library-allocated:
/// free with `pitr_string_free`. `*out_count` (when not NULL) = the number
/// of transactions listed. Finding nothing is not an error (`found` is
/// false, `*out_count` 0); damage met while reading is a problem in the
/// report, which covers the WAL read up to it.
///
/// Errors: `PITR_STATUS_IO` (the archive, backup or WAL cannot be read at
/// all), `PITR_STATUS_INVALID` (a window bound that is neither an LSN nor a
/// time the server accepts, a table not found, no WAL), `PITR_STATUS_PARSE`,
/// `PITR_STATUS_CONNECT` / `PITR_STATUS_SERVER` (resolving `table` on
/// `dsn`), `PITR_STATUS_INVALID_ARGUMENT` (both or neither of `archive` and
/// `wal_paths`, `backup` without `archive`, an unknown `timeline_kind` or
/// `kinds`, `modified` without relfilenodes or table, `dsn` without
/// `table`, an unknown time zone), `PITR_STATUS_NULL_ARGUMENT` (also for a
/// NULL element of `wal_paths`, or no WAL given), `PITR_STATUS_INVALID_UTF8`.
///
/// Thread safety: any thread; blocks while reading (and while asking `dsn`).
///
/// # Safety
/// `options` must point to a readable `pitr_find_options` whose strings are
/// NULL or NUL-terminated and whose arrays are NULL (with a count of 0) or
/// hold their count of elements; `out_count` NULL or pointing to a writable
/// `size_t`; `out_json` must point to a writable `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_find(
    options: *const pitr_find_options,
    out_count: *mut usize,
    out_json: *mut *mut c_char,
) -> pitr_status {
    // SAFETY: documented contract; no callback.
    guard(|| unsafe { find_into(options, out_count, out_json, None, ptr::null_mut()) })
}

/// `pitr_find`, reporting the progress of its WAL scan: `progress(done,
/// total, user_data)` is called as the scan enters each WAL file
/// (`pitr_progress_fn`); NULL `progress`: no calls, as `pitr_find`. `total`
/// is the number of WAL files the scan may read: the segments of the
/// timeline path from the backup's redo point (or the archive's first
/// segment) on, to the end of the archive or just past a window that ends at
/// an LSN; or the WAL files of `wal_paths`. Nothing is called when the
/// arguments are refused, or when the inputs cannot be read at all.
///
/// The report, `*out_count`, the errors and the last error are those of
/// `pitr_find` with the same options, or `PITR_STATUS_CANCELLED` (no report)
/// when `progress` returned non-zero.
///
/// Thread safety: any thread; blocks while reading (and while asking `dsn`);
/// `progress` is called on the calling thread only, before this function
/// returns.
///
/// # Safety
/// As `pitr_find`; `progress` must be NULL or a function that may be called
/// with `user_data` during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_find_with_progress(
    options: *const pitr_find_options,
    out_count: *mut usize,
    out_json: *mut *mut c_char,
    progress: pitr_progress_fn,
    user_data: *mut c_void,
) -> pitr_status {
    // SAFETY: documented contract.
    guard(|| unsafe { find_into(options, out_count, out_json, progress, user_data) })
}

/// The body of `pitr_find` and `pitr_find_with_progress`.
///
/// # Safety
/// As `pitr_find_with_progress`.
unsafe fn find_into(
    options: *const pitr_find_options,
    out_count: *mut usize,
    out_json: *mut *mut c_char,
    progress: pitr_progress_fn,
    user_data: *mut c_void,
) -> Result<(), FfiError> {
    // SAFETY: this function's contract.
    let (req, out_json) = unsafe { (request(options)?, arg_out(out_json, "out_json")?) };
    // SAFETY: this function's contract (optional).
    let out_count = unsafe { OutPtr::new(out_count) };
    // SAFETY: this function's contract.
    let progress = unsafe { progress_closure(progress, user_data) };
    let report = find_with_progress(&req, &progress)?;
    let json = to_json(&report)?;
    if let Some(o) = out_count {
        o.write(report.transactions.len());
    }
    string_out(out_json, json);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> pitr_find_options {
        let mut o = std::mem::MaybeUninit::<pitr_find_options>::uninit();
        // SAFETY: a writable struct.
        assert_eq!(unsafe { pitr_find_options_init(o.as_mut_ptr()) }, pitr_status::Ok);
        // SAFETY: initialised by pitr_find_options_init.
        unsafe { o.assume_init() }
    }

    #[test]
    fn options_are_checked() {
        let mut o = options();
        assert_eq!((o.limit, o.kinds, o.timeline_kind), (1000, 0, pitr_timeline_target::Latest as u32));
        // SAFETY: valid struct.
        let r = unsafe { request(&o) };
        assert_eq!(r.map_err(|e| e.status).err(), Some(pitr_status::NullArgument));
        o.archive = c"/a".as_ptr();
        // SAFETY: valid struct.
        let r = unsafe { request(&o) };
        assert!(r.is_ok());
        let paths = [c"/w".as_ptr()];
        type Change = fn(&mut pitr_find_options);
        let cases: [(Change, pitr_status); 6] = [
            (|o| o.kinds = 3, pitr_status::InvalidArgument),
            (|o| o.timeline = 2, pitr_status::InvalidArgument),
            (|o| o.modified = true, pitr_status::InvalidArgument),
            (|o| o.dsn = c"host=x".as_ptr(), pitr_status::InvalidArgument),
            (|o| o.timezone = c"Mars/Olympus".as_ptr(), pitr_status::InvalidArgument),
            (|o| o.n_wal_paths = 1, pitr_status::NullArgument),
        ];
        for (i, (change, status)) in cases.into_iter().enumerate() {
            let mut bad = o;
            change(&mut bad);
            // SAFETY: valid struct (n_wal_paths 1 with NULL wal_paths is checked).
            let r = unsafe { request(&bad) };
            assert_eq!(r.map_err(|e| e.status).err(), Some(status), "case {i}");
        }
        let mut both = o;
        both.wal_paths = paths.as_ptr();
        both.n_wal_paths = 1;
        // SAFETY: valid struct.
        let r = unsafe { request(&both) };
        assert_eq!(r.map_err(|e| e.status).err(), Some(pitr_status::InvalidArgument));
        both.archive = ptr::null();
        both.has_xid = true;
        both.xid = 735;
        both.limit = 0;
        // SAFETY: valid struct.
        let r = unsafe { request(&both) }.map_err(|e| e.message);
        let r = r.as_ref().map(|r| (&r.input, r.xid, r.limit));
        assert_eq!(r, Ok((&FindInput::Paths(vec![PathBuf::from("/w")]), Some(735), None)));
    }
}
