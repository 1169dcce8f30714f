//! Status codes, the thread-local last error, and the guard every exported
//! function runs its body in.
//!
//! Every fallible function returns a [`pitr_status`]. On failure it records a
//! last error for the calling thread (message, and where they apply the file,
//! line, byte position and LSN); on success it clears it. The accessors
//! (`pitr_last_error*`) read that record without changing it.

use crate::ffi::{OutPtr, write_to_buffer};
use crate::pitr_lsn;
use pitr_core::{IoError, Lsn, ParseError};
use std::any::Any;
use std::cell::RefCell;
use std::ffi::{CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::ptr;

/// Result of every fallible `pitr_` function. `PITR_STATUS_OK` (0) is success;
/// anything else is a failure whose details are in `pitr_last_error()`.
///
/// The numbers are part of the ABI: they never change, new codes are only
/// appended.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum pitr_status {
    /// Success.
    Ok = 0,
    /// A required pointer argument was NULL.
    NullArgument = 1,
    /// A string argument was not valid UTF-8.
    InvalidUtf8 = 2,
    /// An argument had a value the function does not accept (e.g. a WAL segment
    /// size that is not a power of two from 1 MiB to 1 GiB, an unknown enum value).
    InvalidArgument = 3,
    /// The caller's buffer is too small; the length needed is in the length
    /// out-parameter.
    BufferTooSmall = 4,
    /// The object has no such value (e.g. the timeline of a file name that is
    /// not a WAL file name).
    NoValue = 5,
    /// The result does not fit its type (e.g. LSN arithmetic past 0/0 or FFFFFFFF/FFFFFFFF).
    OutOfRange = 6,
    /// A text or binary input did not follow its format. The last error names
    /// the file, line and byte position when known.
    Parse = 10,
    /// Reading or writing a file failed. The last error names the file.
    Io = 11,
    /// WAL is damaged or cannot be read. The last error names the file and LSN
    /// when known.
    CorruptWal = 12,
    /// The recovery target cannot be reached with the backups and WAL available.
    UnreachableTarget = 13,
    /// The input is of a version pitr does not support (e.g. PostgreSQL 12).
    Unsupported = 14,
    /// A request that cannot be carried out as asked (bad combination of
    /// options, refusing to overwrite, a running server...).
    Invalid = 15,
    /// A live server could not be reached: the connection string is invalid,
    /// the host or socket does not answer, or the server refused the
    /// connection (authentication, `pg_hba.conf`). The message names the
    /// server.
    Connect = 16,
    /// A live server answered with an error, or with something pitr did not
    /// expect (a query failed, a function is not allowed for this role). The
    /// message names the server and what was being asked.
    Server = 17,
    /// The progress callback asked the call to stop (it returned non-zero).
    /// Nothing was written; the last error says at which WAL file of how many
    /// the scan stopped.
    Cancelled = 18,
    /// Any other error of the core library.
    Other = 98,
    /// A bug: the library panicked. The panic was caught at the boundary.
    Panic = 99,
}

impl pitr_status {
    /// The identifier of the status as written in the header.
    pub(crate) fn name(self) -> &'static std::ffi::CStr {
        match self {
            pitr_status::Ok => c"PITR_STATUS_OK",
            pitr_status::NullArgument => c"PITR_STATUS_NULL_ARGUMENT",
            pitr_status::InvalidUtf8 => c"PITR_STATUS_INVALID_UTF8",
            pitr_status::InvalidArgument => c"PITR_STATUS_INVALID_ARGUMENT",
            pitr_status::BufferTooSmall => c"PITR_STATUS_BUFFER_TOO_SMALL",
            pitr_status::NoValue => c"PITR_STATUS_NO_VALUE",
            pitr_status::OutOfRange => c"PITR_STATUS_OUT_OF_RANGE",
            pitr_status::Parse => c"PITR_STATUS_PARSE",
            pitr_status::Io => c"PITR_STATUS_IO",
            pitr_status::CorruptWal => c"PITR_STATUS_CORRUPT_WAL",
            pitr_status::UnreachableTarget => c"PITR_STATUS_UNREACHABLE_TARGET",
            pitr_status::Unsupported => c"PITR_STATUS_UNSUPPORTED",
            pitr_status::Invalid => c"PITR_STATUS_INVALID",
            pitr_status::Connect => c"PITR_STATUS_CONNECT",
            pitr_status::Server => c"PITR_STATUS_SERVER",
            pitr_status::Cancelled => c"PITR_STATUS_CANCELLED",
            pitr_status::Other => c"PITR_STATUS_OTHER",
            pitr_status::Panic => c"PITR_STATUS_PANIC",
        }
    }

    /// All statuses (for `pitr_status_name` and tests).
    pub(crate) const ALL: [pitr_status; 18] = [
        pitr_status::Ok,
        pitr_status::NullArgument,
        pitr_status::InvalidUtf8,
        pitr_status::InvalidArgument,
        pitr_status::BufferTooSmall,
        pitr_status::NoValue,
        pitr_status::OutOfRange,
        pitr_status::Parse,
        pitr_status::Io,
        pitr_status::CorruptWal,
        pitr_status::UnreachableTarget,
        pitr_status::Unsupported,
        pitr_status::Invalid,
        pitr_status::Connect,
        pitr_status::Server,
        pitr_status::Cancelled,
        pitr_status::Other,
        pitr_status::Panic,
    ];
}

/// An error on its way to the C caller: a status plus what `pitr_last_error*`
/// report.
#[derive(Debug, Clone)]
pub(crate) struct FfiError {
    pub status: pitr_status,
    pub message: String,
    pub file: Option<String>,
    pub line: Option<u64>,
    pub position: Option<u64>,
    pub lsn: Option<Lsn>,
}

impl FfiError {
    /// An error with a status and a message, nothing else.
    pub fn new(status: pitr_status, message: impl Into<String>) -> FfiError {
        FfiError { status, message: message.into(), file: None, line: None, position: None, lsn: None }
    }

    /// A required pointer argument was NULL.
    pub fn null(arg: &str) -> FfiError {
        FfiError::new(pitr_status::NullArgument, format!("argument `{arg}` is NULL"))
    }

    /// An argument value the function does not accept.
    pub fn invalid_argument(message: impl Into<String>) -> FfiError {
        FfiError::new(pitr_status::InvalidArgument, message)
    }

    /// A result that does not fit its type.
    pub fn out_of_range(message: impl Into<String>) -> FfiError {
        FfiError::new(pitr_status::OutOfRange, message)
    }

    /// The object has no such value.
    pub fn no_value(message: impl Into<String>) -> FfiError {
        FfiError::new(pitr_status::NoValue, message)
    }

    /// Sets the file the error is about.
    #[must_use]
    pub fn with_file(mut self, file: &Path) -> FfiError {
        self.file = Some(file.to_string_lossy().into_owned());
        self
    }

    /// Sets the LSN the error is about.
    #[must_use]
    pub fn with_lsn(mut self, lsn: Lsn) -> FfiError {
        self.lsn = Some(lsn);
        self
    }

    fn from_panic(payload: &(dyn Any + Send)) -> FfiError {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic payload".to_string());
        FfiError::new(pitr_status::Panic, format!("internal error (panic caught at the C boundary): {what}"))
    }
}

impl From<ParseError> for FfiError {
    fn from(e: ParseError) -> FfiError {
        let mut out = FfiError::new(pitr_status::Parse, e.to_string());
        if let Some(f) = &e.file {
            out = out.with_file(f);
        }
        out.line = e.line.map(|l| l as u64);
        out.position = e.position.map(|p| p as u64);
        out
    }
}

impl From<IoError> for FfiError {
    fn from(e: IoError) -> FfiError {
        FfiError::new(pitr_status::Io, e.to_string()).with_file(&e.path)
    }
}

impl From<pitr_core::Error> for FfiError {
    fn from(e: pitr_core::Error) -> FfiError {
        match e {
            pitr_core::Error::Parse(p) => p.into(),
            pitr_core::Error::Io(io) => io.into(),
            pitr_core::Error::Wal(w) => w.into(),
            pitr_core::Error::Invalid(msg) => FfiError::new(pitr_status::Invalid, msg),
            e @ pitr_core::Error::Cancelled { .. } => FfiError::new(pitr_status::Cancelled, e.to_string()),
            other => FfiError::new(pitr_status::Other, other.to_string()),
        }
    }
}

impl From<pitr_core::wal::WalError> for FfiError {
    fn from(e: pitr_core::wal::WalError) -> FfiError {
        use pitr_core::wal::WalError;
        let status = match &e {
            WalError::Io { .. } => pitr_status::Io,
            WalError::UnsupportedVersion { .. } | WalError::BigEndian { .. } => pitr_status::Unsupported,
            WalError::Invalid(_) => pitr_status::Invalid,
            // Damage, and refusals of a file (another cluster, a recycled segment...).
            _ => pitr_status::CorruptWal,
        };
        let mut out = FfiError::new(status, e.to_string());
        if let Some(f) = e.file() {
            out = out.with_file(f);
        }
        if let Some(l) = e.lsn() {
            out = out.with_lsn(l);
        }
        out
    }
}

impl From<pitr_core::history::TimelineError> for FfiError {
    fn from(e: pitr_core::history::TimelineError) -> FfiError {
        use pitr_core::history::TimelineError;
        match e {
            // The timeline asked about is not on the history's path.
            TimelineError::NotInHistory(_) => FfiError::invalid_argument(e.to_string()),
            // A history whose switch points go backwards: no timeline holds the LSN.
            TimelineError::NotContiguous(lsn) => {
                FfiError::new(pitr_status::Invalid, e.to_string()).with_lsn(lsn)
            }
        }
    }
}

impl From<pitr_core::live::LiveError> for FfiError {
    fn from(e: pitr_core::live::LiveError) -> FfiError {
        use pitr_core::live::LiveError;
        let status = match &e {
            LiveError::Io(_) | LiveError::Parse(_) => {
                return match e {
                    LiveError::Io(io) => io.into(),
                    LiveError::Parse(p) => p.into(),
                    other => FfiError::new(pitr_status::Other, other.to_string()),
                };
            }
            LiveError::Dsn(_) | LiveError::Connect { .. } => pitr_status::Connect,
            LiveError::Query { .. } => pitr_status::Server,
            LiveError::Unsupported { .. } => pitr_status::Unsupported,
            LiveError::NotInRecovery { .. } | LiveError::InRecovery { .. } | LiveError::Invalid(_) => {
                pitr_status::Invalid
            }
            _ => pitr_status::Other,
        };
        FfiError::new(status, e.to_string())
    }
}

/// The last error of this thread, kept as C strings so that borrowed pointers
/// can be handed out.
struct LastError {
    status: pitr_status,
    message: CString,
    file: Option<CString>,
    line: Option<u64>,
    position: Option<u64>,
    lsn: Option<Lsn>,
}

thread_local! {
    static LAST_ERROR: RefCell<Option<LastError>> = const { RefCell::new(None) };
}

fn set_last_error(e: FfiError) {
    let rec = LastError {
        status: e.status,
        message: crate::ffi::to_cstring(e.message),
        file: e.file.map(crate::ffi::to_cstring),
        line: e.line,
        position: e.position,
        lsn: e.lsn,
    };
    // `try_with`: during thread teardown the slot may be gone; then there is
    // nowhere to record the error and the status alone must do.
    let _ = LAST_ERROR.try_with(|slot| *slot.borrow_mut() = Some(rec));
}

fn clear_last_error() {
    let _ = LAST_ERROR.try_with(|slot| *slot.borrow_mut() = None);
}

fn with_last_error<T>(f: impl Fn(Option<&LastError>) -> T) -> T {
    // A failed borrow cannot happen (there is no re-entrancy) and the slot is
    // only gone during thread teardown; both read as "no error".
    LAST_ERROR
        .try_with(|slot| slot.try_borrow().ok().map(|guard| f(guard.as_ref())))
        .ok()
        .flatten()
        .unwrap_or_else(|| f(None))
}

/// Runs the body of a fallible exported function: catches panics, records the
/// last error on failure and clears it on success.
pub(crate) fn guard(body: impl FnOnce() -> Result<(), FfiError>) -> pitr_status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => {
            clear_last_error();
            pitr_status::Ok
        }
        Ok(Err(e)) => {
            let status = e.status;
            set_last_error(e);
            status
        }
        Err(payload) => {
            set_last_error(FfiError::from_panic(payload.as_ref()));
            pitr_status::Panic
        }
    }
}

/// Runs the body of an infallible exported function (a getter): catches
/// panics and returns `fallback` instead. Does not touch the last error.
pub(crate) fn guard_value<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

/// The message of the last error on this thread, or an empty string when the
/// last fallible call on this thread succeeded (or none was made).
///
/// The returned string is owned by the library; do not free it. It stays
/// valid until the next call, on the same thread, of a function that returns
/// `pitr_status` (the `pitr_last_error*` functions themselves do not change
/// it). Never NULL.
///
/// Thread safety: any thread; each thread has its own last error.
#[unsafe(no_mangle)]
pub extern "C" fn pitr_last_error() -> *const c_char {
    guard_value(c"".as_ptr(), || {
        with_last_error(|e| match e {
            Some(e) => e.message.as_ptr(),
            None => c"".as_ptr(),
        })
    })
}

/// The status of the last failed call on this thread, or `PITR_STATUS_OK` when
/// the last fallible call succeeded.
///
/// Thread safety: any thread; each thread has its own last error.
#[unsafe(no_mangle)]
pub extern "C" fn pitr_last_error_status() -> pitr_status {
    guard_value(pitr_status::Ok, || with_last_error(|e| e.map_or(pitr_status::Ok, |e| e.status)))
}

/// Copies the message of the last error on this thread into `buf` (`len`
/// bytes, NUL-terminated). `*out_len` (if `out_len` is not NULL) receives the
/// message length without the NUL.
///
/// Returns `PITR_STATUS_BUFFER_TOO_SMALL` when the message plus its NUL does
/// not fit (`buf` then holds an empty string if `len > 0`),
/// `PITR_STATUS_NULL_ARGUMENT` when `buf` is NULL. Unlike every other
/// function, this one leaves the last error unchanged whatever it returns.
///
/// Thread safety: any thread; each thread has its own last error.
///
/// # Safety
/// `buf` must point to `len` writable bytes; `out_len` must be NULL or point
/// to a writable `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_last_error_copy(
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> pitr_status {
    guard_value(pitr_status::Panic, || {
        let message = with_last_error(|e| e.map(|e| e.message.to_string_lossy().into_owned()));
        let message = message.unwrap_or_default();
        // SAFETY: the caller guarantees buf/len/out_len as documented.
        match unsafe { write_to_buffer(&message, buf, len, out_len) } {
            Ok(()) => pitr_status::Ok,
            Err(e) => e.status,
        }
    })
}

/// The file the last error on this thread is about, or NULL when it names no
/// file (or there is no error). Same lifetime rule as `pitr_last_error()`.
///
/// Thread safety: any thread; each thread has its own last error.
#[unsafe(no_mangle)]
pub extern "C" fn pitr_last_error_file() -> *const c_char {
    guard_value(ptr::null(), || {
        with_last_error(|e| e.and_then(|e| e.file.as_ref()).map_or(ptr::null(), |f| f.as_ptr()))
    })
}

/// Stores the 1-based line number of the last error on this thread in `*out`
/// and returns true, or returns false (leaving `*out` alone) when it has none.
///
/// Thread safety: any thread; each thread has its own last error.
///
/// # Safety
/// `out` must be NULL (then false is returned) or point to a writable `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_last_error_line(out: *mut u64) -> bool {
    guard_value(false, || {
        let v = with_last_error(|e| e.and_then(|e| e.line));
        // SAFETY: documented contract of `out`.
        unsafe { store_optional(out, v) }
    })
}

/// Stores the 0-based byte position (within the line, or within the input when
/// it has no lines) of the last error on this thread in `*out` and returns
/// true, or returns false when it has none.
///
/// Thread safety: any thread; each thread has its own last error.
///
/// # Safety
/// `out` must be NULL (then false is returned) or point to a writable `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_last_error_position(out: *mut u64) -> bool {
    guard_value(false, || {
        let v = with_last_error(|e| e.and_then(|e| e.position));
        // SAFETY: documented contract of `out`.
        unsafe { store_optional(out, v) }
    })
}

/// Stores the LSN the last error on this thread is about (e.g. where WAL is
/// damaged) in `*out` and returns true, or returns false when it names none.
///
/// Thread safety: any thread; each thread has its own last error.
///
/// # Safety
/// `out` must be NULL (then false is returned) or point to a writable `pitr_lsn`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_last_error_lsn(out: *mut pitr_lsn) -> bool {
    guard_value(false, || {
        let v = with_last_error(|e| e.and_then(|e| e.lsn)).map(|l| l.0);
        // SAFETY: documented contract of `out`.
        unsafe { store_optional(out, v) }
    })
}

/// Writes `value` through `out` when both are present.
///
/// # Safety
/// As [`OutPtr::new`].
unsafe fn store_optional<T>(out: *mut T, value: Option<T>) -> bool {
    // SAFETY: forwarded from the caller.
    match (value, unsafe { OutPtr::new(out) }) {
        (Some(v), Some(o)) => {
            o.write(v);
            true
        }
        _ => false,
    }
}

/// The identifier of a status code as written in the header (e.g.
/// `"PITR_STATUS_PARSE"`), or NULL for a number that is not a status. The
/// string is static; do not free it.
///
/// Thread safety: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn pitr_status_name(status: u32) -> *const c_char {
    guard_value(ptr::null(), || {
        pitr_status::ALL.iter().find(|s| **s as u32 == status).map_or(ptr::null(), |s| s.name().as_ptr())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn last_message() -> String {
        // SAFETY: pitr_last_error never returns NULL.
        unsafe { CStr::from_ptr(pitr_last_error()) }.to_string_lossy().into_owned()
    }

    #[test]
    fn a_panic_becomes_a_status_and_a_message() {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let s = guard(|| panic!("boom {}", 42));
        let s2 = guard(|| std::panic::panic_any(7u8));
        std::panic::set_hook(prev);
        assert_eq!(s2, pitr_status::Panic);
        assert_eq!(s, pitr_status::Panic);
        assert!(last_message().contains("panic"), "{}", last_message());
        assert_eq!(guard_value(5, || panic!("x")), 5);
    }

    #[test]
    fn panic_message_is_kept() {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let s = guard(|| panic!("boom {}", 42));
        std::panic::set_hook(prev);
        assert_eq!(s, pitr_status::Panic);
        assert!(last_message().contains("boom 42"), "{}", last_message());
        assert_eq!(pitr_last_error_status(), pitr_status::Panic);
    }

    #[test]
    fn success_clears_and_errors_carry_details() {
        let e = ParseError::new("LSN", "bad").at_line(3).at_position(7).in_file("/x/y");
        assert_eq!(guard(|| Err(e.into())), pitr_status::Parse);
        assert!(last_message().contains("invalid LSN: bad"));
        let mut v = 0u64;
        // SAFETY: valid out pointers.
        unsafe {
            assert!(pitr_last_error_line(&mut v));
            assert_eq!(v, 3);
            assert!(pitr_last_error_position(&mut v));
            assert_eq!(v, 7);
            assert!(!pitr_last_error_lsn(&mut v));
            assert!(!pitr_last_error_line(ptr::null_mut()));
        }
        let f = pitr_last_error_file();
        assert!(!f.is_null());
        // SAFETY: non-NULL, NUL-terminated.
        assert_eq!(unsafe { CStr::from_ptr(f) }.to_str().ok(), Some("/x/y"));
        assert_eq!(
            guard(|| Err(FfiError::new(pitr_status::CorruptWal, "w").with_lsn(Lsn(0x10)))),
            pitr_status::CorruptWal
        );
        // SAFETY: valid out pointer.
        unsafe {
            assert!(pitr_last_error_lsn(&mut v));
        }
        assert_eq!(v, 0x10);
        assert_eq!(guard(|| Ok(())), pitr_status::Ok);
        assert_eq!(last_message(), "");
        assert!(pitr_last_error_file().is_null());
        assert_eq!(pitr_last_error_status(), pitr_status::Ok);
    }

    #[test]
    fn core_errors_map_to_statuses() {
        let io = IoError::new("/a/b", std::io::Error::other("nope"));
        let e: FfiError = pitr_core::Error::Io(io).into();
        assert_eq!(e.status, pitr_status::Io);
        assert_eq!(e.file.as_deref(), Some("/a/b"));
        let e: FfiError = pitr_core::Error::Invalid("no".into()).into();
        assert_eq!(e.status, pitr_status::Invalid);
        let crc = pitr_core::wal::WalError::BadCrc {
            file: "/wal/000000010000000000000002".into(),
            lsn: Lsn(0x2000028),
            expected: 1,
            found: 2,
        };
        let e: FfiError = pitr_core::Error::Wal(crc).into();
        assert_eq!(e.status, pitr_status::CorruptWal);
        assert_eq!(e.file.as_deref(), Some("/wal/000000010000000000000002"));
        assert_eq!(e.lsn, Some(Lsn(0x2000028)));
        let e: FfiError = pitr_core::wal::WalError::Invalid("no".into()).into();
        assert_eq!((e.status, e.lsn), (pitr_status::Invalid, None));
    }

    #[test]
    fn history_and_live_errors_map_to_statuses() {
        use pitr_core::history::TimelineError;
        use pitr_core::live::LiveError;
        let e: FfiError = TimelineError::NotInHistory(4).into();
        assert_eq!(e.status, pitr_status::InvalidArgument);
        let e: FfiError = TimelineError::NotContiguous(Lsn(0x28)).into();
        assert_eq!((e.status, e.lsn), (pitr_status::Invalid, Some(Lsn(0x28))));
        let cases = [
            (LiveError::Dsn("bad".into()), pitr_status::Connect),
            (LiveError::Connect { endpoint: "h".into(), message: "m".into() }, pitr_status::Connect),
            (
                LiveError::Query { endpoint: "h".into(), what: "w".into(), message: "m".into() },
                pitr_status::Server,
            ),
            (LiveError::Unsupported { endpoint: "h".into(), message: "12".into() }, pitr_status::Unsupported),
            (LiveError::NotInRecovery { endpoint: "h".into(), action: "a".into() }, pitr_status::Invalid),
            (LiveError::InRecovery { endpoint: "h".into(), action: "a".into() }, pitr_status::Invalid),
            (LiveError::Invalid("x".into()), pitr_status::Invalid),
        ];
        for (e, status) in cases {
            let text = e.to_string();
            let f: FfiError = e.into();
            assert_eq!(f.status, status, "{text}");
            assert_eq!(f.message, text);
        }
        let e: FfiError = LiveError::Io(IoError::new("/log", std::io::Error::other("full"))).into();
        assert_eq!((e.status, e.file.as_deref()), (pitr_status::Io, Some("/log")));
        let e: FfiError =
            LiveError::Parse(ParseError::new("mark log", "bad").at_line(2).in_file("/log")).into();
        assert_eq!((e.status, e.line, e.file.as_deref()), (pitr_status::Parse, Some(2), Some("/log")));
    }

    #[test]
    fn status_names_match_the_header() {
        for s in pitr_status::ALL {
            let p = pitr_status_name(s as u32);
            // SAFETY: static C strings.
            let name = unsafe { CStr::from_ptr(p) }.to_str().unwrap_or_default();
            assert!(name.starts_with("PITR_STATUS_"));
        }
        assert!(pitr_status_name(12345).is_null());
    }
}
