//! A live server: `pitr check`, `pitr mark` and `pitr replay` as functions
//! that connect, do their work and return the command line's JSON.
//!
//! Each call opens its own connection (libpq-style connection string, the
//! `PG*` environment variables for what it leaves out, a connect timeout of
//! 10 s unless the string or `PGCONNECT_TIMEOUT` sets one, a statement
//! timeout of 30 s) and closes it before returning. The calling thread blocks
//! meanwhile.

use crate::error::{FfiError, guard, pitr_status};
use crate::ffi::{OutPtr, arg_out, arg_str, opt_str, string_out, to_json};
use pitr_core::live::{self, CheckOptions, ConnectOptions, MarkOptions, Session};
use std::ffi::c_char;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn connect(dsn: &str) -> Result<Session, FfiError> {
    Ok(Session::connect(&ConnectOptions::new(dsn))?)
}

/// Checks whether a server is ready for point-in-time recovery and whether
/// its archiving works now (`pitr check`): settings, `pg_stat_archiver`,
/// archive lag and, when `archive_dir` is not NULL, a cross-check of that WAL
/// archive directory (flat, as `cp %p DIR/%f` fills it). `*out_json`
/// receives the report, the JSON document of `pitr check --json`
/// (`docs/live.md`: `healthy`, `server`, `settings`, `archiver`, `lag`,
/// `archive`, `problems` with stable `code`s and fixes); library-allocated,
/// free with `pitr_string_free`. `*out_healthy` (when not NULL) = no problem
/// of severity warning or error. Problems found are not an error status.
///
/// Errors: `PITR_STATUS_CONNECT` (invalid connection string, server not
/// reachable, authentication), `PITR_STATUS_SERVER` (a query failed),
/// `PITR_STATUS_UNSUPPORTED` (a major other than 13 to 18),
/// `PITR_STATUS_NULL_ARGUMENT`, `PITR_STATUS_INVALID_UTF8`.
///
/// Thread safety: any thread; blocks while talking to the server.
///
/// # Safety
/// `dsn` must be a NUL-terminated string; `archive_dir` NULL or one;
/// `out_healthy` NULL or pointing to a writable `bool`; `out_json` must point
/// to a writable `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_check(
    dsn: *const c_char,
    archive_dir: *const c_char,
    out_healthy: *mut bool,
    out_json: *mut *mut c_char,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (dsn, archive, out_json) = unsafe {
            (arg_str(dsn, "dsn")?, opt_str(archive_dir, "archive_dir")?, arg_out(out_json, "out_json")?)
        };
        // SAFETY: documented contract (optional).
        let out_healthy = unsafe { OutPtr::new(out_healthy) };
        let opts = CheckOptions { archive_dir: archive.map(PathBuf::from), ..CheckOptions::default() };
        let report = live::check(&mut connect(dsn)?, &opts)?;
        let json = to_json(&report)?;
        if let Some(o) = out_healthy {
            o.write(report.healthy);
        }
        string_out(out_json, json);
        Ok(())
    })
}

/// Records a mark on a primary before a risky change (`pitr mark`): the
/// server's time, WAL position, insert position, timeline and WAL file. With
/// `name` (not NULL, at most 63 bytes) a restore point of that name is
/// created; with `switch_wal` the server switches to a new WAL segment after
/// the mark (so that it is archived now; this function does not wait for the
/// archive). When `log_path` is not NULL the mark is appended to that mark
/// log (JSON lines, created if missing, fsynced). `*out_json` receives the
/// mark as JSON, the same object as its line in the log (`format`, `name`,
/// `time`, `lsn`, `insert_lsn`, `timeline`, `wal_file`, `wal_segment_size`,
/// `system_id`, `server_version`, `restore_point_lsn`, `switch_lsn`);
/// library-allocated, free with `pitr_string_free`.
///
/// Errors: `PITR_STATUS_INVALID` (an empty or too long name, a server in
/// recovery), `PITR_STATUS_IO` (the log cannot be written; the mark was
/// taken), `PITR_STATUS_CONNECT`, `PITR_STATUS_SERVER` (e.g. not allowed to
/// create restore points), `PITR_STATUS_UNSUPPORTED`,
/// `PITR_STATUS_NULL_ARGUMENT`, `PITR_STATUS_INVALID_UTF8`.
///
/// Thread safety: any thread; blocks while talking to the server. Appending
/// to the same log from several threads or processes at once is safe (one
/// `O_APPEND` write per mark).
///
/// # Safety
/// `dsn` must be a NUL-terminated string; `name` and `log_path` NULL or one;
/// `out_json` must point to a writable `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_mark(
    dsn: *const c_char,
    name: *const c_char,
    switch_wal: bool,
    log_path: *const c_char,
    out_json: *mut *mut c_char,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (dsn, name, log, out_json) = unsafe {
            (
                arg_str(dsn, "dsn")?,
                opt_str(name, "name")?,
                opt_str(log_path, "log_path")?,
                arg_out(out_json, "out_json")?,
            )
        };
        let opts =
            MarkOptions { name: name.map(str::to_string), restore_point: name.is_some(), switch: switch_wal };
        let mark = live::mark(&mut connect(dsn)?, &opts)?;
        let json = to_json(&mark)?;
        if let Some(log) = log {
            live::append_mark(Path::new(log), &mark)?;
        }
        string_out(out_json, json);
        Ok(())
    })
}

/// `*out_json` = every mark of the mark log at `path`, as a JSON array of the
/// log's objects (see `pitr_mark`), in log order. Library-allocated; free
/// with `pitr_string_free`.
///
/// Errors: `PITR_STATUS_IO`, `PITR_STATUS_PARSE` (a line that is not a valid
/// mark; the last error has the file and line), `PITR_STATUS_NULL_ARGUMENT`,
/// `PITR_STATUS_INVALID_UTF8`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `path` must be a NUL-terminated string; `out_json` must point to a
/// writable `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_marks_read(path: *const c_char, out_json: *mut *mut c_char) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (path, out) = unsafe { (arg_str(path, "path")?, arg_out(out_json, "out_json")?) };
        let marks = live::read_marks(Path::new(path))?;
        string_out(out, to_json(&marks)?);
        Ok(())
    })
}

/// `*out_json` = the recovery target of the mark named `name` in the mark log
/// at `path` (the last mark of that name), as `pitr plan --mark` uses it: its
/// restore point (`{"type":"restore_point","name":...,"end_lsn":...}`) when
/// the name is unique among the log's restore points, else the equivalent LSN
/// target (`{"type":"lsn","lsn":...,"inclusive":false}`); plus `timeline`,
/// `time`, `system_id` and `why`. Library-allocated; free with
/// `pitr_string_free`.
///
/// Errors: `PITR_STATUS_INVALID` (no mark of that name; the message lists the
/// names), `PITR_STATUS_IO`, `PITR_STATUS_PARSE`, `PITR_STATUS_NULL_ARGUMENT`,
/// `PITR_STATUS_INVALID_UTF8`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `path` and `name` must be NUL-terminated strings; `out_json` must point to
/// a writable `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_mark_target(
    path: *const c_char,
    name: *const c_char,
    out_json: *mut *mut c_char,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (path, name, out) =
            unsafe { (arg_str(path, "path")?, arg_str(name, "name")?, arg_out(out_json, "out_json")?) };
        let marks = live::read_marks(Path::new(path))?;
        let target = live::mark_target(&marks, name)?;
        string_out(out, to_json(&target)?);
        Ok(())
    })
}

/// `*out_json` = where replay is on a server (`pitr replay status --json`):
/// `in_recovery`, `pause_state` (`not_paused`, `pause_requested`, `paused`,
/// or null when not in recovery), `replay_lsn`, `receive_lsn`,
/// `last_xact_replay_time`, `server_time`, `timeline`. Library-allocated;
/// free with `pitr_string_free`.
///
/// Errors: `PITR_STATUS_CONNECT`, `PITR_STATUS_SERVER`,
/// `PITR_STATUS_UNSUPPORTED`, `PITR_STATUS_NULL_ARGUMENT`,
/// `PITR_STATUS_INVALID_UTF8`.
///
/// Thread safety: any thread; blocks while talking to the server.
///
/// # Safety
/// `dsn` must be a NUL-terminated string; `out_json` must point to a writable
/// `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_replay_status(dsn: *const c_char, out_json: *mut *mut c_char) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (dsn, out) = unsafe { (arg_str(dsn, "dsn")?, arg_out(out_json, "out_json")?) };
        let status = live::replay_status(&mut connect(dsn)?)?;
        string_out(out, to_json(&status)?);
        Ok(())
    })
}

/// Resumes replay (`pg_wal_replay_resume()`) and waits up to `timeout_ms`
/// milliseconds until the server has left recovery (it was paused at its
/// recovery target: resuming promotes it) or replays again.
/// `*out_json` = `pitr replay resume --json`: `before` and `after` (as
/// `pitr_replay_status`), `outcome` (`promoted` with `timeline`, `replaying`
/// with `replay_lsn`, `resumed`, `still_paused`) and `waited_ms`.
/// Library-allocated; free with `pitr_string_free`.
///
/// Errors: `PITR_STATUS_INVALID` (the server is not in recovery),
/// `PITR_STATUS_CONNECT`, `PITR_STATUS_SERVER`, `PITR_STATUS_UNSUPPORTED`,
/// `PITR_STATUS_NULL_ARGUMENT`, `PITR_STATUS_INVALID_UTF8`.
///
/// Thread safety: any thread; blocks while talking to the server and waiting.
///
/// # Safety
/// `dsn` must be a NUL-terminated string; `out_json` must point to a writable
/// `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_replay_resume(
    dsn: *const c_char,
    timeout_ms: u32,
    out_json: *mut *mut c_char,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (dsn, out) = unsafe { (arg_str(dsn, "dsn")?, arg_out(out_json, "out_json")?) };
        let report = live::replay_resume(&mut connect(dsn)?, Duration::from_millis(u64::from(timeout_ms)))?;
        string_out(out, to_json(&report)?);
        Ok(())
    })
}
