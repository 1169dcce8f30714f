//! Recovery planning (`pitr_core::plan`): from a base backup, a WAL archive
//! and a target, whether PostgreSQL will reach the target, exactly where it
//! will stop and which WAL files it will fetch (`pitr_plan` and the
//! `pitr_recovery_plan` handle); restoring (`pitr_restore`); writing the
//! recovery settings into a data directory (`pitr_write_recovery_settings`).
//! The long WAL scans report their progress to a `pitr_progress_fn` in their
//! `_with_progress` forms (`pitr_plan_with_progress`,
//! `pitr_restore_with_progress`, and `pitr_find_with_progress` in `find.rs`).

use crate::error::{FfiError, guard, guard_value, pitr_status};
use crate::ffi::{
    arg_array, arg_handle, arg_out, arg_str, arg_str_array, free_handle, handle_out, opt_handle, opt_str,
    string_out, to_cstring, to_json,
};
use crate::lsn::pitr_lsn;
use crate::target::{pitr_target_action, pitr_timeline_target, time_zone, timeline_from_options};
use pitr_core::error::Severity;
use pitr_core::plan::replay::StopKind;
use pitr_core::plan::{
    Plan, PlanRequest, RestoreRequest, TargetAction, TargetSpec, plan_with_progress, restore_with_progress,
    write_recovery_settings,
};
use std::collections::BTreeMap;
use std::ffi::{CString, c_char, c_int, c_void};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::ptr;

/// The kind of recovery target (`pitr_plan_options.target_kind`). The numbers
/// are part of the ABI.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum pitr_target_kind {
    /// No target: recover to the end of the archived WAL (the default).
    EndOfWal = 0,
    /// `recovery_target = 'immediate'`: stop as soon as the backup is
    /// consistent.
    Immediate = 1,
    /// `recovery_target_time`: the text is a time, read like the server reads
    /// it (without a zone: in the server's `TimeZone`).
    Time = 2,
    /// `recovery_target_xid`: the text is a transaction ID (decimal).
    Xid = 3,
    /// `recovery_target_lsn`: the text is an LSN (`X/Y`).
    Lsn = 4,
    /// `recovery_target_name`: the text is a restore point name.
    Name = 5,
}

/// Where recovery stops (`pitr_recovery_plan_stop_kind`). The numbers are
/// part of the ABI.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum pitr_stop_kind {
    /// Recovery does not get to a stop (the plan is unreachable), or the
    /// handle is NULL.
    None = 0,
    /// Before applying the deciding record (exclusive targets, time targets).
    Before = 1,
    /// After applying the deciding record (inclusive xid and LSN targets,
    /// restore points).
    After = 2,
    /// No target: at the end of the archived WAL.
    EndOfWal = 3,
    /// `immediate`: as soon as the backup is consistent.
    Consistent = 4,
}

/// How serious a problem is. The numbers are part of the ABI.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum pitr_severity {
    /// Not a severity (a NULL handle).
    None = 0,
    /// Worth knowing; PostgreSQL still gets there.
    Warning = 1,
    /// PostgreSQL would not get there: the plan is unreachable.
    Error = 2,
}

impl From<Severity> for pitr_severity {
    fn from(s: Severity) -> Self {
        match s {
            Severity::Warning => pitr_severity::Warning,
            Severity::Error => pitr_severity::Error,
        }
    }
}

/// A progress callback of the long WAL scans (`pitr_plan_with_progress`,
/// `pitr_restore_with_progress`, `pitr_find_with_progress`), or NULL for none.
/// It is called as the scan enters each WAL file: `done` counts the files
/// entered, 1, 2, 3... in steps of one; `total` is the number of files the
/// scan reads at most, the same on every call (a scan that ends at its target
/// may stop counting below it); `user_data` is the pointer given with the
/// callback, passed through untouched.
///
/// It returns 0 to let the scan go on. Any other value cancels: the scan
/// stops before reading that file and the call fails with
/// `PITR_STATUS_CANCELLED` (`pitr_restore_with_progress` then has written
/// nothing: it copies only after the scan).
///
/// Calls happen on the thread that called the pitr function, synchronously,
/// while it runs: none after it returns. The callback must return normally
/// (no `longjmp` or C++ exception through the library) and must not call pitr
/// functions on the options, handles or out-parameters of the call in
/// progress. Other pitr functions may be called from it; the running call
/// sets the thread's last error when it returns.
#[allow(non_camel_case_types)]
pub type pitr_progress_fn =
    Option<unsafe extern "C" fn(done: u64, total: u64, user_data: *mut c_void) -> c_int>;

/// The core's progress callback for a C one: calls `progress(done, total,
/// user_data)` and stops the scan when it returns non-zero; goes on when
/// `progress` is NULL.
///
/// # Safety
/// `progress` must be NULL or a function that may be called with `user_data`
/// for as long as the returned closure lives.
pub(crate) unsafe fn progress_closure(
    progress: pitr_progress_fn,
    user_data: *mut c_void,
) -> impl Fn(u64, u64) -> ControlFlow<()> {
    move |done, total| match progress {
        // SAFETY: this function's contract.
        Some(f) if unsafe { f(done, total, user_data) } != 0 => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    }
}

/// What to plan: a base backup, a WAL archive, a target and the recovery
/// settings PostgreSQL would be given. Fill it with
/// `pitr_plan_options_init` (PostgreSQL's defaults), then set what differs.
///
/// The strings are borrowed for the duration of the call only. The layout is
/// part of the ABI: a new field changes `PITR_ABI_VERSION`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct pitr_plan_options {
    /// The base backup: a plain data directory, `pg_basebackup -Ft` output,
    /// its `backup_label`, or a backup history (`.backup`) file. Required.
    pub backup: *const c_char,
    /// The WAL archive directory (flat, Barman or pgBackRest layout).
    /// Required.
    pub archive: *const c_char,
    /// A `pitr_target_kind` (default `PITR_TARGET_KIND_END_OF_WAL`).
    pub target_kind: u32,
    /// The target's text for `TIME`, `XID`, `LSN` and `NAME`; NULL for
    /// `END_OF_WAL` and `IMMEDIATE`.
    pub target: *const c_char,
    /// `recovery_target_inclusive` (default true); only time, xid and LSN
    /// targets use it.
    pub inclusive: bool,
    /// A `pitr_timeline_target`: `recovery_target_timeline` (default
    /// `PITR_TIMELINE_TARGET_LATEST`).
    pub timeline_kind: u32,
    /// The timeline for `PITR_TIMELINE_TARGET_NUMBERED` (>= 1), else 0.
    pub timeline: u32,
    /// A `pitr_target_action`: `recovery_target_action` (default
    /// `PITR_TARGET_ACTION_PAUSE`).
    pub action: u32,
    /// The server's `TimeZone`, for a target time without a zone and for the
    /// times in log messages; NULL: the backup's configuration, else `GMT`
    /// (the server's built-in default).
    pub timezone: *const c_char,
    /// The `restore_command` to write; NULL: `pitr archive get ARCHIVE %f %p`.
    pub restore_command: *const c_char,
}

/// Fills `*options` with PostgreSQL's defaults: no backup or archive yet
/// (NULL: set them), no target (end of WAL), inclusive, timeline `latest`,
/// action `pause`, the backup's time zone, pitr's `restore_command`.
///
/// Errors: `PITR_STATUS_NULL_ARGUMENT`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `options` must point to a writable `pitr_plan_options`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_plan_options_init(options: *mut pitr_plan_options) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let out = unsafe { arg_out(options, "options")? };
        out.write(pitr_plan_options {
            backup: ptr::null(),
            archive: ptr::null(),
            target_kind: pitr_target_kind::EndOfWal as u32,
            target: ptr::null(),
            inclusive: true,
            timeline_kind: pitr_timeline_target::Latest as u32,
            timeline: 0,
            action: pitr_target_action::Pause as u32,
            timezone: ptr::null(),
            restore_command: ptr::null(),
        });
        Ok(())
    })
}

/// The planner's request from the C options, every field checked.
///
/// # Safety
/// `o` must be NULL or point to a readable `pitr_plan_options` whose strings
/// are NULL or NUL-terminated.
unsafe fn request(o: *const pitr_plan_options) -> Result<PlanRequest, FfiError> {
    // SAFETY: forwarded.
    let o = unsafe { arg_handle(o, "options")? };
    // SAFETY: forwarded (the strings of the struct).
    let (backup, archive, text, timezone, restore_command) = unsafe {
        (
            arg_str(o.backup, "options->backup")?,
            arg_str(o.archive, "options->archive")?,
            opt_str(o.target, "options->target")?,
            opt_str(o.timezone, "options->timezone")?,
            opt_str(o.restore_command, "options->restore_command")?,
        )
    };
    let kinds = [
        pitr_target_kind::EndOfWal,
        pitr_target_kind::Immediate,
        pitr_target_kind::Time,
        pitr_target_kind::Xid,
        pitr_target_kind::Lsn,
        pitr_target_kind::Name,
    ];
    let kind = kinds.into_iter().find(|k| *k as u32 == o.target_kind).ok_or_else(|| {
        FfiError::invalid_argument(format!(
            "options->target_kind {} is not a pitr_target_kind",
            o.target_kind
        ))
    })?;
    let need_text = || {
        text.map(str::to_string).ok_or_else(|| {
            FfiError::new(
                pitr_status::NullArgument,
                "argument `options->target` is NULL: this target kind needs its text",
            )
        })
    };
    let target = match kind {
        pitr_target_kind::EndOfWal | pitr_target_kind::Immediate => {
            if text.is_some() {
                return Err(FfiError::invalid_argument(
                    "options->target must be NULL for PITR_TARGET_KIND_END_OF_WAL and _IMMEDIATE",
                ));
            }
            if kind == pitr_target_kind::Immediate { TargetSpec::Immediate } else { TargetSpec::EndOfWal }
        }
        pitr_target_kind::Time => TargetSpec::Time(need_text()?),
        pitr_target_kind::Xid => TargetSpec::Xid(need_text()?),
        pitr_target_kind::Lsn => TargetSpec::Lsn(need_text()?),
        pitr_target_kind::Name => TargetSpec::Name(need_text()?),
    };
    let timeline = timeline_from_options(o.timeline_kind, o.timeline)?;
    let action = match o.action {
        a if a == pitr_target_action::Pause as u32 => TargetAction::Pause,
        a if a == pitr_target_action::Promote as u32 => TargetAction::Promote,
        a if a == pitr_target_action::Shutdown as u32 => TargetAction::Shutdown,
        a => {
            return Err(FfiError::invalid_argument(format!(
                "options->action {a} is not a pitr_target_action"
            )));
        }
    };
    if let Some(tz) = timezone {
        time_zone(tz, "options->timezone")?;
    }
    let mut req = PlanRequest::new(backup, archive);
    req.target = target;
    req.inclusive = o.inclusive;
    req.timeline = timeline;
    req.action = action;
    req.timezone = timezone.map(str::to_string);
    req.restore_command = restore_command.map(str::to_string);
    Ok(req)
}

/// A planned WAL file, as `pitr_recovery_plan_wal_file_at` returns it. The
/// strings are borrowed from the plan: valid until it is freed.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct pitr_planned_file {
    /// The name PostgreSQL asks `restore_command` for (`%f`).
    pub name: *const c_char,
    /// `"segment"` or `"history"`.
    pub kind: *const c_char,
    /// Where pitr found it (in the archive, or in the backup's `pg_wal`).
    pub path: *const c_char,
    /// The file's timeline.
    pub timeline: u32,
}

/// One timeline of the path recovery follows, oldest first: WAL from `from`
/// to `to` (exclusive; `has_to` false: to the end) is read on `timeline`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct pitr_timeline_step {
    /// The timeline.
    pub timeline: u32,
    /// The first LSN read on it.
    pub from: pitr_lsn,
    /// Whether the timeline ends on the path (its switch point is `to`).
    pub has_to: bool,
    /// Its switch point when `has_to`, else 0.
    pub to: pitr_lsn,
}

/// A problem the planner found, as `pitr_recovery_plan_problem_at` returns
/// it. The strings are borrowed from the plan: valid until it is freed;
/// optional ones are NULL when absent.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct pitr_plan_problem {
    /// `PITR_SEVERITY_ERROR` (the plan is unreachable) or
    /// `PITR_SEVERITY_WARNING`.
    pub severity: pitr_severity,
    /// The stable code (`docs/plan.md`: `target_not_reached`,
    /// `missing_segment`, ...).
    pub code: *const c_char,
    /// What is wrong, in words.
    pub message: *const c_char,
    /// The file concerned, or NULL.
    pub file: *const c_char,
    /// Whether `lsn` is set.
    pub has_lsn: bool,
    /// The LSN concerned when `has_lsn`, else 0.
    pub lsn: pitr_lsn,
    /// What PostgreSQL would log (its FATAL, or what it silently does), or
    /// NULL.
    pub postgres_message: *const c_char,
    /// How to fix it, or NULL.
    pub hint: *const c_char,
}

#[derive(Debug)]
struct CProblem {
    code: CString,
    message: CString,
    file: Option<CString>,
    postgres_message: Option<CString>,
    hint: Option<CString>,
}

#[derive(Debug)]
struct CStop {
    time: Option<CString>,
    timestamp: Option<i64>,
    record: Option<CString>,
    log_message: Option<CString>,
}

/// A recovery plan (opaque). Made by `pitr_plan` or
/// `pitr_plan_with_progress`, freed with `pitr_recovery_plan_free`.
///
/// Immutable: one handle may be read from several threads at once; it must
/// not be freed while another thread uses it.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct pitr_recovery_plan {
    inner: Plan,
    target: CString,
    signal: CString,
    last_transaction_time: Option<CString>,
    stop: Option<CStop>,
    files: Vec<[CString; 3]>,
    settings: Vec<(CString, CString)>,
    problems: Vec<CProblem>,
}

impl pitr_recovery_plan {
    fn new(inner: Plan) -> pitr_recovery_plan {
        let opt = |s: &Option<String>| s.as_ref().map(|s| to_cstring(s.as_str()));
        pitr_recovery_plan {
            target: to_cstring(inner.target.as_str()),
            signal: to_cstring(inner.signal),
            last_transaction_time: opt(&inner.last_transaction_time),
            stop: inner.stop.as_ref().map(|s| CStop {
                time: opt(&s.time),
                timestamp: s
                    .time
                    .as_deref()
                    .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                    .map(|t| t.as_microsecond()),
                record: opt(&s.record),
                log_message: opt(&s.log_message),
            }),
            files: inner
                .files
                .iter()
                .map(|f| {
                    [to_cstring(f.name.as_str()), to_cstring(f.kind), to_cstring(f.path.to_string_lossy())]
                })
                .collect(),
            settings: inner
                .settings
                .iter()
                .map(|(k, v)| (to_cstring(k.as_str()), to_cstring(v.as_str())))
                .collect(),
            problems: inner
                .problems
                .iter()
                .map(|p| CProblem {
                    code: to_cstring(p.code),
                    message: to_cstring(p.message.as_str()),
                    file: opt(&p.file),
                    postgres_message: opt(&p.postgres_message),
                    hint: opt(&p.hint),
                })
                .collect(),
            inner,
        }
    }
}

fn borrowed(s: Option<&CString>) -> *const c_char {
    s.map_or(ptr::null(), |c| c.as_ptr())
}

/// Plans a recovery: reads the base backup (`options->backup`), inventories
/// the archive (`options->archive`), resolves the target timeline the way
/// PostgreSQL does, and replays the WAL through a model of PostgreSQL's redo
/// loop, to say whether PostgreSQL will reach the target, exactly where it
/// will stop, and which files it will fetch. `*out` receives a new handle,
/// freed with `pitr_recovery_plan_free`.
///
/// An unreachable target is not an error: the plan says so
/// (`pitr_recovery_plan_reachable` is false) and its problems say why and
/// what PostgreSQL would log.
///
/// Errors: `PITR_STATUS_PARSE` (a target PostgreSQL would reject: `now` as a
/// time, `abc` as an xid...), `PITR_STATUS_IO` (the backup or archive cannot
/// be read), `PITR_STATUS_INVALID` (not a backup: no readable
/// `backup_label`; the WAL segment size cannot be told),
/// `PITR_STATUS_INVALID_ARGUMENT` (an unknown `target_kind`,
/// `timeline_kind` or `action`, a `timeline` that does not go with its
/// kind, target text for a kind without one, an unknown time zone),
/// `PITR_STATUS_NULL_ARGUMENT` (`options`, `options->backup`,
/// `options->archive`, the text of a kind that needs one, `out`),
/// `PITR_STATUS_INVALID_UTF8`.
///
/// Thread safety: any thread; blocks while reading (the archive is read in
/// parallel).
///
/// # Safety
/// `options` must point to a readable `pitr_plan_options` whose string
/// fields are NULL or NUL-terminated; `out` must point to a writable
/// `pitr_recovery_plan *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_plan(
    options: *const pitr_plan_options,
    out: *mut *mut pitr_recovery_plan,
) -> pitr_status {
    // SAFETY: documented contract; no callback.
    guard(|| unsafe { plan_into(options, out, None, ptr::null_mut()) })
}

/// `pitr_plan`, reporting the progress of its WAL scan: `progress(done,
/// total, user_data)` is called as the scan enters each WAL segment file of
/// the recovery path (`pitr_progress_fn`); NULL `progress`: no calls, as
/// `pitr_plan`. `total` is the number of segment files recovery could read,
/// from the backup's redo point to the end of the archived WAL on its path
/// (or the first missing segment); the scan stops counting at the target (a
/// restore point name is read on to the end, to check it is not used
/// twice). Nothing is called when the arguments are refused, or when the
/// backup or archive cannot be read.
///
/// The plan, the errors and the last error are those of `pitr_plan` with the
/// same options, or `PITR_STATUS_CANCELLED` (no plan) when `progress`
/// returned non-zero.
///
/// Thread safety: any thread; blocks while reading (the archive is read in
/// parallel); `progress` is called on the calling thread only, before this
/// function returns.
///
/// # Safety
/// As `pitr_plan`; `progress` must be NULL or a function that may be called
/// with `user_data` during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_plan_with_progress(
    options: *const pitr_plan_options,
    out: *mut *mut pitr_recovery_plan,
    progress: pitr_progress_fn,
    user_data: *mut c_void,
) -> pitr_status {
    // SAFETY: documented contract.
    guard(|| unsafe { plan_into(options, out, progress, user_data) })
}

/// The body of `pitr_plan` and `pitr_plan_with_progress`.
///
/// # Safety
/// As `pitr_plan_with_progress`.
unsafe fn plan_into(
    options: *const pitr_plan_options,
    out: *mut *mut pitr_recovery_plan,
    progress: pitr_progress_fn,
    user_data: *mut c_void,
) -> Result<(), FfiError> {
    // SAFETY: this function's contract.
    let (req, out) = unsafe { (request(options)?, arg_out(out, "out")?) };
    // SAFETY: this function's contract.
    let progress = unsafe { progress_closure(progress, user_data) };
    handle_out(out, pitr_recovery_plan::new(plan_with_progress(&req, &progress)?));
    Ok(())
}

/// Frees a handle. NULL is a no-op.
///
/// Thread safety: any thread, once no other thread uses the handle.
///
/// # Safety
/// `p` must be NULL or a handle from this library not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_recovery_plan_free(p: *mut pitr_recovery_plan) {
    // SAFETY: documented contract.
    guard_value((), || unsafe { free_handle(p) })
}

/// True when PostgreSQL will reach the target (the plan has no problem of
/// severity error). False when `p` is NULL.
///
/// Thread safety: any thread.
///
/// # Safety
/// `p` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_recovery_plan_reachable(p: *const pitr_recovery_plan) -> bool {
    // SAFETY: documented contract.
    guard_value(false, || unsafe { opt_handle(p) }.is_some_and(|p| p.inner.reachable))
}

/// The target in words, as PostgreSQL's `starting point-in-time recovery
/// to ...` line names it (`XID 735`, `end of WAL`...). Borrowed: valid
/// until the handle is freed. NULL when `p` is NULL.
///
/// Thread safety: any thread.
///
/// # Safety
/// `p` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_recovery_plan_target(p: *const pitr_recovery_plan) -> *const c_char {
    // SAFETY: documented contract.
    guard_value(ptr::null(), || unsafe { opt_handle(p) }.map_or(ptr::null(), |p| p.target.as_ptr()))
}

/// The recovery target timeline PostgreSQL will follow (0 when `p` is
/// NULL).
///
/// Thread safety: any thread.
///
/// # Safety
/// `p` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_recovery_plan_timeline(p: *const pitr_recovery_plan) -> u32 {
    // SAFETY: documented contract.
    guard_value(0, || unsafe { opt_handle(p) }.map_or(0, |p| p.inner.timeline))
}

/// The backup's redo point (`START WAL LOCATION`), 0 when `p` is NULL.
///
/// Thread safety: any thread.
///
/// # Safety
/// `p` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_recovery_plan_redo_lsn(p: *const pitr_recovery_plan) -> pitr_lsn {
    // SAFETY: documented contract.
    guard_value(0, || unsafe { opt_handle(p) }.map_or(0, |p| p.inner.redo_lsn.0))
}

/// The backup's checkpoint (`CHECKPOINT LOCATION`), 0 when `p` is NULL.
///
/// Thread safety: any thread.
///
/// # Safety
/// `p` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_recovery_plan_checkpoint_lsn(p: *const pitr_recovery_plan) -> pitr_lsn {
    // SAFETY: documented contract.
    guard_value(0, || unsafe { opt_handle(p) }.map_or(0, |p| p.inner.checkpoint_lsn.0))
}

/// The timeline PostgreSQL creates when it promotes at the end of
/// recovery (0 when `p` is NULL).
///
/// Thread safety: any thread.
///
/// # Safety
/// `p` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_recovery_plan_new_timeline(p: *const pitr_recovery_plan) -> u32 {
    // SAFETY: documented contract.
    guard_value(0, || unsafe { opt_handle(p) }.map_or(0, |p| p.inner.new_timeline))
}

/// The PostgreSQL major of the backup (0 when unknown or `p` is NULL).
///
/// Thread safety: any thread.
///
/// # Safety
/// `p` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_recovery_plan_pg_version(p: *const pitr_recovery_plan) -> u32 {
    // SAFETY: documented contract.
    guard_value(0, || unsafe { opt_handle(p) }.map_or(0, |p| p.inner.pg_version))
}

/// The signal file a restore creates (`"recovery.signal"`). Borrowed;
/// NULL when `p` is NULL.
///
/// Thread safety: any thread.
///
/// # Safety
/// `p` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_recovery_plan_signal(p: *const pitr_recovery_plan) -> *const c_char {
    // SAFETY: documented contract.
    guard_value(ptr::null(), || unsafe { opt_handle(p) }.map_or(ptr::null(), |p| p.signal.as_ptr()))
}

/// The time of the last commit or abort replayed before the stop (RFC
/// 3339, UTC, microseconds), what PostgreSQL logs as `last completed
/// transaction was at log time ...`; NULL when there is none or `p` is
/// NULL. Borrowed.
///
/// Thread safety: any thread.
///
/// # Safety
/// `p` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_recovery_plan_last_transaction_time(
    p: *const pitr_recovery_plan,
) -> *const c_char {
    // SAFETY: documented contract.
    guard_value(ptr::null(), || {
        unsafe { opt_handle(p) }.map_or(ptr::null(), |p| borrowed(p.last_transaction_time.as_ref()))
    })
}

/// `*out` = where the backup becomes consistent: the end of its
/// `BACKUP_END` record (a backup of a primary) or the control file's
/// minimum recovery point (a backup of a standby); the earliest point
/// recovery can stop at. `PITR_STATUS_NO_VALUE` when the WAL does not get
/// there.
///
/// Thread safety: any thread.
///
/// # Safety
/// `p` must be a live handle; `out` must point to a writable `pitr_lsn`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_recovery_plan_consistent_lsn(
    p: *const pitr_recovery_plan,
    out: *mut pitr_lsn,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (p, out) = unsafe { (arg_handle(p, "p")?, arg_out(out, "out")?) };
        let l = p
            .inner
            .consistent_lsn
            .ok_or_else(|| FfiError::no_value("the WAL does not reach the backup's consistent point"))?;
        out.write(l.0);
        Ok(())
    })
}

/// Where recovery stops: `PITR_STOP_KIND_BEFORE` / `_AFTER` a record,
/// `_END_OF_WAL` (no target), `_CONSISTENT` (`immediate`), or
/// `PITR_STOP_KIND_NONE` when it does not get to a stop (or `p` is NULL).
///
/// Thread safety: any thread.
///
/// # Safety
/// `p` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_recovery_plan_stop_kind(p: *const pitr_recovery_plan) -> pitr_stop_kind {
    // SAFETY: documented contract.
    guard_value(pitr_stop_kind::None, || {
        unsafe { opt_handle(p) }.map_or(pitr_stop_kind::None, |p| {
            match p.inner.stop.as_ref().map(|s| &s.kind) {
                None => pitr_stop_kind::None,
                Some(StopKind::Before) => pitr_stop_kind::Before,
                Some(StopKind::After) => pitr_stop_kind::After,
                Some(StopKind::EndOfWal) => pitr_stop_kind::EndOfWal,
                Some(StopKind::Consistent) => pitr_stop_kind::Consistent,
            }
        })
    })
}

/// The timeline of the record deciding the stop (0 when there is no stop
/// or `p` is NULL).
///
/// Thread safety: any thread.
///
/// # Safety
/// `p` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_recovery_plan_stop_timeline(p: *const pitr_recovery_plan) -> u32 {
    // SAFETY: documented contract.
    guard_value(0, || unsafe { opt_handle(p) }.map_or(0, |p| p.inner.stop.as_ref().map_or(0, |s| s.timeline)))
}

/// The record deciding the stop: `"COMMIT"`, `"ABORT"`,
/// `"COMMIT_PREPARED"`, `"ABORT_PREPARED"` or `"RESTORE_POINT"`; NULL
/// when there is none (end of WAL, `immediate`, an LSN target's record
/// of another kind) or `p` is NULL. Borrowed.
///
/// Thread safety: any thread.
///
/// # Safety
/// `p` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_recovery_plan_stop_record(p: *const pitr_recovery_plan) -> *const c_char {
    // SAFETY: documented contract.
    guard_value(ptr::null(), || {
        unsafe { opt_handle(p) }
            .map_or(ptr::null(), |p| borrowed(p.stop.as_ref().and_then(|s| s.record.as_ref())))
    })
}

/// The line PostgreSQL logs when it stops (without `LOG:  `), e.g.
/// `recovery stopping after commit of transaction 735, time 2026-12-05
/// 08:00:01.123456+00` (times in the server's `TimeZone`); NULL when it
/// logs none (end of WAL) or `p` is NULL. Borrowed.
///
/// Thread safety: any thread.
///
/// # Safety
/// `p` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_recovery_plan_stop_log_message(p: *const pitr_recovery_plan) -> *const c_char {
    // SAFETY: documented contract.
    guard_value(ptr::null(), || {
        unsafe { opt_handle(p) }
            .map_or(ptr::null(), |p| borrowed(p.stop.as_ref().and_then(|s| s.log_message.as_ref())))
    })
}

/// The commit, abort or restore point time of the record deciding the
/// stop (RFC 3339, UTC, microseconds: `2026-12-05T08:00:01.123456Z`);
/// NULL when there is none or `p` is NULL. Borrowed.
///
/// Thread safety: any thread.
///
/// # Safety
/// `p` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_recovery_plan_stop_time(p: *const pitr_recovery_plan) -> *const c_char {
    // SAFETY: documented contract.
    guard_value(ptr::null(), || {
        unsafe { opt_handle(p) }
            .map_or(ptr::null(), |p| borrowed(p.stop.as_ref().and_then(|s| s.time.as_ref())))
    })
}

/// The stop's LSN fields and xid: one body for the fallible getters.
///
/// # Safety
/// `p` must be NULL or a live handle; `out` NULL or valid for a write of one `T`.
unsafe fn stop_value<T>(
    p: *const pitr_recovery_plan,
    out: *mut T,
    what: &str,
    get: impl FnOnce(&pitr_recovery_plan) -> Option<T>,
) -> Result<(), FfiError> {
    // SAFETY: this function's contract.
    let (p, out) = unsafe { (arg_handle(p, "p")?, arg_out(out, "out")?) };
    if p.inner.stop.is_none() {
        return Err(FfiError::no_value("recovery does not get to a stop: the plan is unreachable"));
    }
    out.write(get(p).ok_or_else(|| FfiError::no_value(format!("the stop has no {what}")))?);
    Ok(())
}

/// `*out` = the LSN of the record deciding the stop.
/// `PITR_STATUS_NO_VALUE` when there is no stop or no deciding record (end
/// of WAL, `immediate`).
///
/// Thread safety: any thread.
///
/// # Safety
/// `p` must be a live handle; `out` must point to a writable `pitr_lsn`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_recovery_plan_stop_record_lsn(
    p: *const pitr_recovery_plan,
    out: *mut pitr_lsn,
) -> pitr_status {
    // SAFETY: documented contract.
    guard(|| unsafe {
        stop_value(p, out, "deciding record", |p| p.inner.stop.as_ref()?.record_lsn.map(|l| l.0))
    })
}

/// `*out` = the end of the record deciding the stop. `PITR_STATUS_NO_VALUE`
/// as `pitr_recovery_plan_stop_record_lsn`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `p` must be a live handle; `out` must point to a writable `pitr_lsn`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_recovery_plan_stop_record_end_lsn(
    p: *const pitr_recovery_plan,
    out: *mut pitr_lsn,
) -> pitr_status {
    // SAFETY: documented contract.
    guard(|| unsafe {
        stop_value(p, out, "deciding record", |p| p.inner.stop.as_ref()?.record_end_lsn.map(|l| l.0))
    })
}

/// `*out` = what `pg_last_wal_replay_lsn()` reports once recovery pauses
/// at the stop: the end of the last record applied. `PITR_STATUS_NO_VALUE`
/// when there is no stop.
///
/// Thread safety: any thread.
///
/// # Safety
/// `p` must be a live handle; `out` must point to a writable `pitr_lsn`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_recovery_plan_stop_replay_lsn(
    p: *const pitr_recovery_plan,
    out: *mut pitr_lsn,
) -> pitr_status {
    // SAFETY: documented contract.
    guard(|| unsafe { stop_value(p, out, "replay LSN", |p| p.inner.stop.as_ref().map(|s| s.replay_lsn.0)) })
}

/// `*out` = the transaction the record deciding the stop ends (for
/// `*_PREPARED`, the prepared transaction). `PITR_STATUS_NO_VALUE` when there
/// is no stop or its record ends no transaction.
///
/// Thread safety: any thread.
///
/// # Safety
/// `p` must be a live handle; `out` must point to a writable `uint32_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_recovery_plan_stop_xid(
    p: *const pitr_recovery_plan,
    out: *mut u32,
) -> pitr_status {
    // SAFETY: documented contract.
    guard(|| unsafe { stop_value(p, out, "transaction", |p| p.inner.stop.as_ref()?.xid) })
}

/// `*out` = the stop's time (`pitr_recovery_plan_stop_time`) as microseconds
/// since 1970-01-01 00:00:00 UTC. `PITR_STATUS_NO_VALUE` when there is no
/// stop or it has no time.
///
/// Thread safety: any thread.
///
/// # Safety
/// `p` must be a live handle; `out` must point to a writable `int64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_recovery_plan_stop_timestamp(
    p: *const pitr_recovery_plan,
    out: *mut i64,
) -> pitr_status {
    // SAFETY: documented contract.
    guard(|| unsafe { stop_value(p, out, "time", |p| p.stop.as_ref()?.timestamp) })
}

fn index_error(what: &str, index: usize, count: usize) -> FfiError {
    FfiError::invalid_argument(format!("{what} {index} does not exist: the plan has {count}"))
}

/// The number of timelines recovery replays (0 when `p` is NULL).
///
/// Thread safety: any thread.
///
/// # Safety
/// `p` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_recovery_plan_timeline_step_count(p: *const pitr_recovery_plan) -> usize {
    // SAFETY: documented contract.
    guard_value(0, || unsafe { opt_handle(p) }.map_or(0, |p| p.inner.timeline_path.len()))
}

/// `*out` = timeline `index` of the path recovery follows (0 = the oldest).
///
/// Errors: `PITR_STATUS_INVALID_ARGUMENT` (`index` >= the count),
/// `PITR_STATUS_NULL_ARGUMENT`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `p` must be a live handle; `out` must point to a writable
/// `pitr_timeline_step`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_recovery_plan_timeline_step_at(
    p: *const pitr_recovery_plan,
    index: usize,
    out: *mut pitr_timeline_step,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (p, out) = unsafe { (arg_handle(p, "p")?, arg_out(out, "out")?) };
        let path = &p.inner.timeline_path;
        let s = path.get(index).ok_or_else(|| index_error("timeline step", index, path.len()))?;
        out.write(pitr_timeline_step {
            timeline: s.timeline,
            from: s.from.0,
            has_to: s.to.is_some(),
            to: s.to.map_or(0, |l| l.0),
        });
        Ok(())
    })
}

/// The number of files recovery fetches (0 when `p` is NULL).
///
/// Thread safety: any thread.
///
/// # Safety
/// `p` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_recovery_plan_wal_file_count(p: *const pitr_recovery_plan) -> usize {
    // SAFETY: documented contract.
    guard_value(0, || unsafe { opt_handle(p) }.map_or(0, |p| p.files.len()))
}

/// `*out` = file `index` of those recovery fetches, in the order PostgreSQL
/// fetches them: history files, the checkpoint's segment, then segments
/// from the redo point on (PostgreSQL 15 and later may read further ahead).
/// The strings are borrowed from the plan.
///
/// Errors: `PITR_STATUS_INVALID_ARGUMENT` (`index` >= the count),
/// `PITR_STATUS_NULL_ARGUMENT`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `p` must be a live handle; `out` must point to a writable
/// `pitr_planned_file`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_recovery_plan_wal_file_at(
    p: *const pitr_recovery_plan,
    index: usize,
    out: *mut pitr_planned_file,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (p, out) = unsafe { (arg_handle(p, "p")?, arg_out(out, "out")?) };
        let (Some([name, kind, path]), Some(f)) = (p.files.get(index), p.inner.files.get(index)) else {
            return Err(index_error("WAL file", index, p.files.len()));
        };
        out.write(pitr_planned_file {
            name: name.as_ptr(),
            kind: kind.as_ptr(),
            path: path.as_ptr(),
            timeline: f.timeline,
        });
        Ok(())
    })
}

/// The number of recovery settings (0 when `p` is NULL).
///
/// Thread safety: any thread.
///
/// # Safety
/// `p` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_recovery_plan_setting_count(p: *const pitr_recovery_plan) -> usize {
    // SAFETY: documented contract.
    guard_value(0, || unsafe { opt_handle(p) }.map_or(0, |p| p.settings.len()))
}

/// `*out_name`, `*out_value` = recovery setting `index` (sorted by name),
/// what a restore writes into `postgresql.auto.conf`: the value unquoted
/// (`pitr_conf_quote_value` quotes it). Both strings are borrowed from the
/// plan.
///
/// Errors: `PITR_STATUS_INVALID_ARGUMENT` (`index` >= the count),
/// `PITR_STATUS_NULL_ARGUMENT`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `p` must be a live handle; `out_name` and `out_value` must point to
/// writable `const char *`s.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_recovery_plan_setting_at(
    p: *const pitr_recovery_plan,
    index: usize,
    out_name: *mut *const c_char,
    out_value: *mut *const c_char,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (p, out_name, out_value) = unsafe {
            (arg_handle(p, "p")?, arg_out(out_name, "out_name")?, arg_out(out_value, "out_value")?)
        };
        let (name, value) =
            p.settings.get(index).ok_or_else(|| index_error("setting", index, p.settings.len()))?;
        out_name.write(name.as_ptr());
        out_value.write(value.as_ptr());
        Ok(())
    })
}

/// The number of problems, errors and warnings (0 when `p` is NULL).
///
/// Thread safety: any thread.
///
/// # Safety
/// `p` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_recovery_plan_problem_count(p: *const pitr_recovery_plan) -> usize {
    // SAFETY: documented contract.
    guard_value(0, || unsafe { opt_handle(p) }.map_or(0, |p| p.problems.len()))
}

/// `*out` = problem `index`. The strings are borrowed from the plan.
///
/// Errors: `PITR_STATUS_INVALID_ARGUMENT` (`index` >= the count),
/// `PITR_STATUS_NULL_ARGUMENT`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `p` must be a live handle; `out` must point to a writable
/// `pitr_plan_problem`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_recovery_plan_problem_at(
    p: *const pitr_recovery_plan,
    index: usize,
    out: *mut pitr_plan_problem,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (p, out) = unsafe { (arg_handle(p, "p")?, arg_out(out, "out")?) };
        let (Some(c), Some(pr)) = (p.problems.get(index), p.inner.problems.get(index)) else {
            return Err(index_error("problem", index, p.problems.len()));
        };
        out.write(pitr_plan_problem {
            severity: pr.severity.into(),
            code: c.code.as_ptr(),
            message: c.message.as_ptr(),
            file: borrowed(c.file.as_ref()),
            has_lsn: pr.lsn.is_some(),
            lsn: pr.lsn.map_or(0, |l| l.0),
            postgres_message: borrowed(c.postgres_message.as_ref()),
            hint: borrowed(c.hint.as_ref()),
        });
        Ok(())
    })
}

/// `*out` = the plan as JSON, the document of `pitr plan --json`
/// (`docs/plan.md`): `reachable`, `target`, `timeline`, `timeline_path`,
/// `redo_lsn`, `checkpoint_lsn`, `consistent_lsn`, `stop`, `wal_files`,
/// `files`, `settings`, `signal`, `new_timeline`, `last_transaction_time`,
/// `pg_version`, `problems`. Library-allocated; free with
/// `pitr_string_free`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `p` must be a live handle; `out` must point to a writable `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_recovery_plan_to_json(
    p: *const pitr_recovery_plan,
    out: *mut *mut c_char,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (p, out) = unsafe { (arg_handle(p, "p")?, arg_out(out, "out")?) };
        string_out(out, to_json(&p.inner)?);
        Ok(())
    })
}

/// Writes the plan's recovery settings into the stopped data directory
/// `pgdata`, as `pitr_write_recovery_settings` with the plan's settings and
/// signal file: for a data directory restored by other means than
/// `pitr_restore`.
///
/// Errors: as `pitr_write_recovery_settings`.
///
/// Thread safety: any thread; do not write into the same data directory from
/// several threads at once.
///
/// # Safety
/// `p` must be a live handle; `pgdata` a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_recovery_plan_write_settings(
    p: *const pitr_recovery_plan,
    pgdata: *const c_char,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (p, pgdata) = unsafe { (arg_handle(p, "p")?, arg_str(pgdata, "pgdata")?) };
        write_recovery_settings(Path::new(pgdata), &p.inner.settings, p.inner.signal)?;
        Ok(())
    })
}

/// The error problems of a plan, one per line, for the last error.
fn unreachable_error(p: &Plan) -> FfiError {
    let mut msg = format!("recovery to {} cannot be reached:", p.target);
    for e in p.errors() {
        msg.push_str(&format!("\n[{}] {}", e.code, e.message));
        if let Some(m) = &e.postgres_message {
            msg.push_str(&format!(" (PostgreSQL: {m})"));
        }
    }
    FfiError::new(pitr_status::UnreachableTarget, msg)
}

/// Plans (as `pitr_plan`), then restores the backup into `pgdata` (absent
/// or empty): copies or extracts it with its tablespaces, removes a copied
/// `standby.signal`, writes `recovery.signal` and the plan's settings into
/// `postgresql.auto.conf` (atomically; stale `recovery_target*` lines are
/// removed). Tablespace `tablespace_oids[i]` is written to
/// `tablespace_dirs[i]` instead of its original location (`n_tablespaces`
/// pairs; both arrays may be NULL when it is 0). `*out_json` = the report of
/// `pitr restore --json` (`docs/plan.md`: `plan`, `restored`, `pgdata`,
/// `extracted`, `written`, `removed`, `next_steps`), library-allocated: free
/// with `pitr_string_free`.
///
/// Errors: `PITR_STATUS_UNREACHABLE_TARGET` when the plan is unreachable and
/// `force` is false (nothing is written; the last error lists the plan's
/// errors; `pitr_plan` gives the whole plan); `PITR_STATUS_INVALID`
/// (`pgdata` is not empty, a server is running there, a bare
/// `backup_label` cannot be restored); `PITR_STATUS_IO`; the errors of
/// `pitr_plan`. On a failure while writing, what was written is removed.
///
/// Thread safety: any thread; blocks while copying.
///
/// # Safety
/// `options` as for `pitr_plan`; `pgdata` a NUL-terminated string;
/// `tablespace_oids` and `tablespace_dirs` NULL (with `n_tablespaces` 0) or
/// pointing to `n_tablespaces` elements, the strings NUL-terminated;
/// `out_json` must point to a writable `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_restore(
    options: *const pitr_plan_options,
    pgdata: *const c_char,
    force: bool,
    tablespace_oids: *const u32,
    tablespace_dirs: *const *const c_char,
    n_tablespaces: usize,
    out_json: *mut *mut c_char,
) -> pitr_status {
    // SAFETY: documented contract; no callback.
    guard(|| unsafe {
        restore_into(
            options,
            pgdata,
            force,
            tablespace_oids,
            tablespace_dirs,
            n_tablespaces,
            out_json,
            None,
            ptr::null_mut(),
        )
    })
}

/// `pitr_restore`, reporting the progress of the plan's WAL scan as
/// `pitr_plan_with_progress` does (`pitr_progress_fn`; NULL `progress`: no
/// calls, as `pitr_restore`); copying the backup is not reported. The calls
/// are those of `pitr_plan_with_progress` with the same options, made before
/// anything is written.
///
/// The report, the errors and the last error are those of `pitr_restore`
/// with the same arguments, or `PITR_STATUS_CANCELLED` (nothing written)
/// when `progress` returned non-zero.
///
/// Thread safety: any thread; blocks while copying; `progress` is called on
/// the calling thread only, before this function returns.
///
/// # Safety
/// As `pitr_restore`; `progress` must be NULL or a function that may be
/// called with `user_data` during the call.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)] // pitr_restore's arguments and the callback
pub unsafe extern "C" fn pitr_restore_with_progress(
    options: *const pitr_plan_options,
    pgdata: *const c_char,
    force: bool,
    tablespace_oids: *const u32,
    tablespace_dirs: *const *const c_char,
    n_tablespaces: usize,
    out_json: *mut *mut c_char,
    progress: pitr_progress_fn,
    user_data: *mut c_void,
) -> pitr_status {
    // SAFETY: documented contract.
    guard(|| unsafe {
        restore_into(
            options,
            pgdata,
            force,
            tablespace_oids,
            tablespace_dirs,
            n_tablespaces,
            out_json,
            progress,
            user_data,
        )
    })
}

/// The body of `pitr_restore` and `pitr_restore_with_progress`.
///
/// # Safety
/// As `pitr_restore_with_progress`.
#[allow(clippy::too_many_arguments)] // pitr_restore_with_progress's arguments
unsafe fn restore_into(
    options: *const pitr_plan_options,
    pgdata: *const c_char,
    force: bool,
    tablespace_oids: *const u32,
    tablespace_dirs: *const *const c_char,
    n_tablespaces: usize,
    out_json: *mut *mut c_char,
    progress: pitr_progress_fn,
    user_data: *mut c_void,
) -> Result<(), FfiError> {
    // SAFETY: this function's contract.
    let (plan_req, pgdata, out_json) =
        unsafe { (request(options)?, arg_str(pgdata, "pgdata")?, arg_out(out_json, "out_json")?) };
    // SAFETY: this function's contract.
    let tablespaces = unsafe { tablespace_map(tablespace_oids, tablespace_dirs, n_tablespaces)? };
    let req =
        RestoreRequest { plan: plan_req, pgdata: PathBuf::from(pgdata), force, tablespaces, interrupt: None };
    // SAFETY: this function's contract.
    let progress = unsafe { progress_closure(progress, user_data) };
    let report = restore_with_progress(&req, &progress)?;
    if !report.restored {
        return Err(unreachable_error(&report.plan));
    }
    string_out(out_json, to_json(&report)?);
    Ok(())
}

/// New tablespace locations by OID from two C arrays.
///
/// # Safety
/// As `pitr_restore`'s `tablespace_*` arguments.
pub(crate) unsafe fn tablespace_map(
    oids: *const u32,
    dirs: *const *const c_char,
    n: usize,
) -> Result<BTreeMap<u32, PathBuf>, FfiError> {
    // SAFETY: forwarded.
    let (oids, dirs) =
        unsafe { (arg_array(oids, n, "tablespace_oids")?, arg_str_array(dirs, n, "tablespace_dirs")?) };
    let mut map = BTreeMap::new();
    for (oid, dir) in oids.iter().zip(dirs) {
        if map.insert(*oid, PathBuf::from(dir)).is_some() {
            return Err(FfiError::invalid_argument(format!("tablespace {oid} is given twice")));
        }
    }
    Ok(map)
}

/// Writes recovery settings into the stopped data directory `pgdata`:
/// removes every recovery setting (`recovery_target*`, `restore_command`)
/// from `postgresql.auto.conf`, appends `names[i] = values[i]` (`n` pairs,
/// quoted as `ALTER SYSTEM` writes them; a name given twice: the last value
/// counts) and creates the signal file `signal` (`"recovery.signal"` or
/// `"standby.signal"`), each atomically (temporary file, fsync, rename).
///
/// Errors: `PITR_STATUS_INVALID` (a server is running: `postmaster.pid`
/// exists; `signal` is another name), `PITR_STATUS_PARSE` (the existing
/// `postgresql.auto.conf` cannot be parsed, or a name is not a setting
/// name), `PITR_STATUS_IO`, `PITR_STATUS_NULL_ARGUMENT` (also for a NULL
/// element: `names[2]`), `PITR_STATUS_INVALID_UTF8`.
///
/// Thread safety: any thread; do not write into the same data directory from
/// several threads at once.
///
/// # Safety
/// `pgdata` and `signal` must be NUL-terminated strings; `names` and
/// `values` NULL (with `n` 0) or pointing to `n` NUL-terminated strings each.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_write_recovery_settings(
    pgdata: *const c_char,
    names: *const *const c_char,
    values: *const *const c_char,
    n: usize,
    signal: *const c_char,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (pgdata, signal, names, values) = unsafe {
            (
                arg_str(pgdata, "pgdata")?,
                arg_str(signal, "signal")?,
                arg_str_array(names, n, "names")?,
                arg_str_array(values, n, "values")?,
            )
        };
        let settings: BTreeMap<String, String> =
            names.into_iter().zip(values).map(|(k, v)| (k.to_string(), v.to_string())).collect();
        write_recovery_settings(Path::new(pgdata), &settings, signal)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pitr_core::plan::TimelineTarget;

    fn options() -> pitr_plan_options {
        let mut o = std::mem::MaybeUninit::<pitr_plan_options>::uninit();
        // SAFETY: a writable struct.
        assert_eq!(unsafe { pitr_plan_options_init(o.as_mut_ptr()) }, pitr_status::Ok);
        // SAFETY: initialised by pitr_plan_options_init.
        unsafe { o.assume_init() }
    }

    #[test]
    fn progress_reaches_the_c_callback_with_its_user_data() {
        /// Records the call; asks to stop at `done == 3`.
        unsafe extern "C" fn record(done: u64, total: u64, user_data: *mut c_void) -> c_int {
            // SAFETY: the test passes a `Vec<(u64, u64)>` it does not use meanwhile.
            let calls = unsafe { &mut *user_data.cast::<Vec<(u64, u64)>>() };
            calls.push((done, total));
            c_int::from(done == 3)
        }
        let mut calls: Vec<(u64, u64)> = Vec::new();
        {
            // SAFETY: `record` takes this user_data, which outlives the closure.
            let progress = unsafe { progress_closure(Some(record), (&raw mut calls).cast()) };
            assert_eq!(progress(1, 3), ControlFlow::Continue(()));
            assert_eq!(progress(2, 3), ControlFlow::Continue(()));
            assert_eq!(progress(3, 3), ControlFlow::Break(()));
        }
        assert_eq!(calls, [(1, 3), (2, 3), (3, 3)]);
        // SAFETY: no callback: nothing is called.
        let progress = unsafe { progress_closure(None, ptr::null_mut()) };
        assert_eq!(progress(1, 1), ControlFlow::Continue(()));
        let e: FfiError = pitr_core::Error::Cancelled { done: 2, total: 5 }.into();
        assert_eq!(e.status, pitr_status::Cancelled);
        assert_eq!(e.message, "cancelled by the caller at WAL file 2 of 5");
    }

    #[test]
    fn options_are_checked() {
        let mut o = options();
        assert_eq!((o.target_kind, o.inclusive, o.timeline_kind, o.action), (0, true, 2, 1));
        o.backup = c"/b".as_ptr();
        o.archive = c"/a".as_ptr();
        // SAFETY: valid struct.
        let r = unsafe { request(&o) };
        assert!(r.is_ok());
        type Change = fn(&mut pitr_plan_options);
        let cases: [(Change, pitr_status); 8] = [
            (|o| o.target_kind = 9, pitr_status::InvalidArgument),
            (|o| o.target_kind = pitr_target_kind::Xid as u32, pitr_status::NullArgument),
            (|o| o.target = c"7".as_ptr(), pitr_status::InvalidArgument),
            (|o| o.timeline = 3, pitr_status::InvalidArgument),
            (|o| o.timeline_kind = pitr_timeline_target::Numbered as u32, pitr_status::InvalidArgument),
            (|o| o.action = 0, pitr_status::InvalidArgument),
            (|o| o.timezone = c"Mars/Olympus".as_ptr(), pitr_status::InvalidArgument),
            (|o| o.archive = ptr::null(), pitr_status::NullArgument),
        ];
        for (i, (change, status)) in cases.into_iter().enumerate() {
            let mut bad = o;
            change(&mut bad);
            // SAFETY: valid struct.
            let r = unsafe { request(&bad) };
            assert_eq!(r.map_err(|e| e.status).err(), Some(status), "case {i}");
        }
        o.target_kind = pitr_target_kind::Name as u32;
        o.target = c"before".as_ptr();
        o.timeline_kind = pitr_timeline_target::Numbered as u32;
        o.timeline = 2;
        // SAFETY: valid struct.
        let r = unsafe { request(&o) }.map_err(|e| e.message);
        let r = r.as_ref().map(|r| (&r.target, r.timeline));
        assert_eq!(r, Ok((&TargetSpec::Name("before".into()), TimelineTarget::Numbered(2))));
    }
}
