//! Recovery target settings (`recovery_target_time`, `_xid`, `_name`,
//! `_timeline`, `_action`): validated and normalised the way pitr writes
//! them, refusing what PostgreSQL would reject or silently misread.

use crate::error::{FfiError, guard, guard_value, pitr_status};
use crate::ffi::{OutPtr, arg_out, arg_str, opt_str, write_to_buffer};
use pitr_core::plan::target::{self, DateOrder, TargetAction, TimelineTarget};
use std::ffi::c_char;
use std::ptr;

/// A buffer of this many bytes holds any text written by
/// `pitr_target_time_parse` and its NUL.
pub const PITR_TARGET_TIME_BUFSIZE: usize = 40;

/// The form of a `recovery_target_timeline`. The numbers are part of the ABI.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum pitr_timeline_target {
    /// `current`: the timeline of the backup's control file.
    Current = 1,
    /// `latest`: the newest timeline reachable by consecutive history files
    /// (the default).
    Latest = 2,
    /// A numbered timeline.
    Numbered = 3,
}

/// `recovery_target_action`. The numbers are part of the ABI.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum pitr_target_action {
    /// `pause` (the default): pause at the target; `pg_wal_replay_resume()`
    /// then promotes.
    Pause = 1,
    /// `promote`: end recovery and promote at once.
    Promote = 2,
    /// `shutdown`: stop the server at the target.
    Shutdown = 3,
}

/// `recovery_target_timeline` from an options struct's pair of fields
/// (`options->timeline_kind`, `options->timeline`).
pub(crate) fn timeline_from_options(kind: u32, n: u32) -> Result<TimelineTarget, FfiError> {
    match (kind, n) {
        (k, 0) if k == pitr_timeline_target::Current as u32 => Ok(TimelineTarget::Current),
        (k, 0) if k == pitr_timeline_target::Latest as u32 => Ok(TimelineTarget::Latest),
        (k, n) if k == pitr_timeline_target::Numbered as u32 && n >= 1 => Ok(TimelineTarget::Numbered(n)),
        (k, n) => Err(FfiError::invalid_argument(format!(
            "options->timeline_kind {k} with options->timeline {n}: give \
             PITR_TIMELINE_TARGET_CURRENT or _LATEST with 0, or _NUMBERED with a timeline >= 1"
        ))),
    }
}

/// A time zone by its tz database name; an unknown one is an invalid
/// argument naming `what` (the argument or field).
pub(crate) fn time_zone(name: &str, what: &str) -> Result<jiff::tz::TimeZone, FfiError> {
    jiff::tz::TimeZone::get(name)
        .map_err(|e| FfiError::invalid_argument(format!("{what} {name:?} is not a time zone name: {e}")))
}

/// Parses a `recovery_target_time` the way the server does at startup
/// (`timestamptz_in` with its `TimeZone` and `DateStyle`) and writes it
/// normalised as pitr writes it into a configuration file: UTC with an
/// explicit offset, `YYYY-MM-DD HH:MM:SS+00`, with `.ffffff` microseconds
/// when not zero (e.g. `2026-11-24 05:57:57.500000+00`), which every major
/// reads the same whatever its settings. Buffer handling as
/// `pitr_lsn_format` (`PITR_TARGET_TIME_BUFSIZE` bytes always suffice).
///
/// `timezone` is the server's `TimeZone`, used for a text without a zone
/// (NULL: `UTC`); `datestyle` its `DateStyle`, for the order of numeric dates
/// such as `11/24/2026` (NULL: `ISO, MDY`). `*out_unix_micros` (when not
/// NULL) receives the instant as microseconds since 1970-01-01 00:00:00 UTC;
/// `*out_had_zone` (when not NULL) whether the text named its own zone.
///
/// Errors: `PITR_STATUS_PARSE` (what the server rejects: `now`, `today`,
/// `epoch`, zone abbreviations such as `Z` or `PST`, impossible dates...),
/// `PITR_STATUS_INVALID_ARGUMENT` (`timezone` is not a time zone name),
/// `PITR_STATUS_BUFFER_TOO_SMALL`, `PITR_STATUS_NULL_ARGUMENT`,
/// `PITR_STATUS_INVALID_UTF8`. On failure nothing is written but the
/// buffer's empty string.
///
/// Thread safety: any thread.
///
/// # Safety
/// `text` must be a NUL-terminated string, `timezone` and `datestyle` NULL or
/// one; `out_unix_micros` NULL or pointing to a writable `int64_t`;
/// `out_had_zone` NULL or pointing to a writable `bool`; `buf` must point to
/// `len` writable bytes; `out_len` NULL or pointing to a writable `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_target_time_parse(
    text: *const c_char,
    timezone: *const c_char,
    datestyle: *const c_char,
    out_unix_micros: *mut i64,
    out_had_zone: *mut bool,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (text, timezone, datestyle) = unsafe {
            (arg_str(text, "text")?, opt_str(timezone, "timezone")?, opt_str(datestyle, "datestyle")?)
        };
        // SAFETY: documented contract (optional).
        let (out_micros, out_had_zone) = unsafe { (OutPtr::new(out_unix_micros), OutPtr::new(out_had_zone)) };
        let zone = match timezone {
            None => jiff::tz::TimeZone::UTC,
            Some(name) => time_zone(name, "TimeZone")?,
        };
        let order = datestyle.map_or(DateOrder::Mdy, DateOrder::from_datestyle);
        let parsed = target::parse_target_time(text, &zone, order)?;
        // SAFETY: documented contract.
        unsafe { write_to_buffer(&target::format_target_time(parsed.time), buf, len, out_len)? };
        if let Some(o) = out_micros {
            o.write(parsed.time.as_microsecond());
        }
        if let Some(o) = out_had_zone {
            o.write(parsed.had_zone);
        }
        Ok(())
    })
}

/// Parses a `recovery_target_xid` strictly: a plain decimal number from 3 to
/// 4294967295. (The server reads junk such as `abc` as 0 and truncates
/// numbers past 32 bits; pitr refuses both, and a leading zero, which the
/// server reads as octal.)
///
/// Errors: `PITR_STATUS_PARSE`, `PITR_STATUS_NULL_ARGUMENT`,
/// `PITR_STATUS_INVALID_UTF8`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `text` must be a NUL-terminated string; `out` must point to a writable
/// `uint32_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_target_xid_parse(text: *const c_char, out: *mut u32) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (text, out) = unsafe { (arg_str(text, "text")?, arg_out(out, "out")?) };
        out.write(target::parse_xid(text)?);
        Ok(())
    })
}

/// Checks a `recovery_target_name` (a restore point name): not empty, at most
/// 63 bytes, no newline.
///
/// Errors: `PITR_STATUS_PARSE`, `PITR_STATUS_NULL_ARGUMENT`,
/// `PITR_STATUS_INVALID_UTF8`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `text` must be a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_target_name_check(text: *const c_char) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let text = unsafe { arg_str(text, "text")? };
        target::parse_name(text)?;
        Ok(())
    })
}

/// Parses a `recovery_target_timeline`: `current`, `latest` (lower case, as
/// the server compares) or a decimal timeline >= 1. `*out_kind` = its form;
/// `*out_timeline` (when not NULL) = the number for
/// `PITR_TIMELINE_TARGET_NUMBERED`, else 0.
///
/// Errors: `PITR_STATUS_PARSE` (`Latest`, `0`, `0x2`...: the server would read
/// them as timeline 0), `PITR_STATUS_NULL_ARGUMENT`, `PITR_STATUS_INVALID_UTF8`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `text` must be a NUL-terminated string; `out_kind` must point to a
/// writable `pitr_timeline_target`; `out_timeline` NULL or pointing to a
/// writable `uint32_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_target_timeline_parse(
    text: *const c_char,
    out_kind: *mut pitr_timeline_target,
    out_timeline: *mut u32,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (text, out_kind) = unsafe { (arg_str(text, "text")?, arg_out(out_kind, "out_kind")?) };
        // SAFETY: documented contract (optional).
        let out_tli = unsafe { OutPtr::new(out_timeline) };
        let (kind, tli) = match TimelineTarget::parse(text)? {
            TimelineTarget::Current => (pitr_timeline_target::Current, 0),
            TimelineTarget::Latest => (pitr_timeline_target::Latest, 0),
            TimelineTarget::Numbered(n) => (pitr_timeline_target::Numbered, n),
        };
        out_kind.write(kind);
        if let Some(o) = out_tli {
            o.write(tli);
        }
        Ok(())
    })
}

/// Parses a `recovery_target_action`: `pause`, `promote` or `shutdown`
/// (case-insensitive, like the server).
///
/// Errors: `PITR_STATUS_PARSE` (the server's message with the available
/// values), `PITR_STATUS_NULL_ARGUMENT`, `PITR_STATUS_INVALID_UTF8`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `text` must be a NUL-terminated string; `out` must point to a writable
/// `pitr_target_action`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_target_action_parse(
    text: *const c_char,
    out: *mut pitr_target_action,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (text, out) = unsafe { (arg_str(text, "text")?, arg_out(out, "out")?) };
        out.write(match TargetAction::parse(text)? {
            TargetAction::Pause => pitr_target_action::Pause,
            TargetAction::Promote => pitr_target_action::Promote,
            TargetAction::Shutdown => pitr_target_action::Shutdown,
        });
        Ok(())
    })
}

/// The setting value of a target action (`"pause"`, `"promote"`,
/// `"shutdown"`), or NULL for a number that is not a `pitr_target_action`.
/// Static; do not free.
///
/// Thread safety: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn pitr_target_action_name(action: u32) -> *const c_char {
    guard_value(ptr::null(), || match action {
        1 => c"pause".as_ptr(),
        2 => c"promote".as_ptr(),
        3 => c"shutdown".as_ptr(),
        _ => ptr::null(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn action_names_are_the_core_setting_values() {
        for (n, a) in [(1, TargetAction::Pause), (2, TargetAction::Promote), (3, TargetAction::Shutdown)] {
            // SAFETY: static string.
            let name = unsafe { CStr::from_ptr(pitr_target_action_name(n)) };
            assert_eq!(name.to_str().ok(), Some(a.as_str()));
        }
        assert!(pitr_target_action_name(0).is_null());
        assert!(pitr_target_action_name(4).is_null());
    }

    #[test]
    fn longest_normalised_time_fits_the_buffer() {
        let t = jiff::Timestamp::MAX;
        assert!(target::format_target_time(t).len() < PITR_TARGET_TIME_BUFSIZE);
        let t = jiff::Timestamp::MIN;
        assert!(target::format_target_time(t).len() < PITR_TARGET_TIME_BUFSIZE);
    }
}
