//! Helpers every exported function uses: argument checks, out-parameters,
//! caller buffers, library-allocated strings, handles and JSON.
//!
//! Each `unsafe fn` here states the contract it relies on; an exported
//! function passes on its own documented contract (e.g. "`out` must point to a
//! writable `pitr_lsn`") to these helpers, after they have checked for NULL.

use crate::error::{FfiError, pitr_status};
use serde::Serialize;
use std::ffi::{CStr, CString, c_char};
use std::ptr::NonNull;

/// Converts text to a C string; an interior NUL (which no C caller could have
/// passed in, but a file name read from disk might contain) becomes U+FFFD.
pub(crate) fn to_cstring(s: impl Into<String>) -> CString {
    let s = s.into();
    match CString::new(s) {
        Ok(c) => c,
        Err(e) => {
            let cleaned = String::from_utf8_lossy(&e.into_vec()).replace('\0', "\u{FFFD}");
            // No NUL is left, so this cannot fail; fall back to empty to stay panic-free.
            CString::new(cleaned).unwrap_or_default()
        }
    }
}

/// A string argument: checked for NULL and UTF-8.
///
/// # Safety
/// `p` must be NULL or point to a NUL-terminated string that stays valid and
/// unchanged for `'a`.
pub(crate) unsafe fn arg_str<'a>(p: *const c_char, name: &str) -> Result<&'a str, FfiError> {
    if p.is_null() {
        return Err(FfiError::null(name));
    }
    // SAFETY: non-NULL and NUL-terminated per the contract.
    let c = unsafe { CStr::from_ptr(p) };
    c.to_str().map_err(|e| {
        FfiError::new(
            pitr_status::InvalidUtf8,
            format!("argument `{name}` is not valid UTF-8 (invalid byte at position {})", e.valid_up_to()),
        )
    })
}

/// An optional string argument: `None` for NULL, else checked for UTF-8.
///
/// # Safety
/// As [`arg_str`].
pub(crate) unsafe fn opt_str<'a>(p: *const c_char, name: &str) -> Result<Option<&'a str>, FfiError> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: forwarded.
    unsafe { arg_str(p, name) }.map(Some)
}

/// An array argument of `n` elements: checked for NULL when `n > 0` (an empty
/// array may be NULL).
///
/// # Safety
/// `p` must be NULL or point to `n` readable, initialised elements that stay
/// valid and unchanged for `'a`.
pub(crate) unsafe fn arg_array<'a, T>(p: *const T, n: usize, name: &str) -> Result<&'a [T], FfiError> {
    if n == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(FfiError::null(name));
    }
    // SAFETY: non-NULL and valid for `n` elements per the contract.
    Ok(unsafe { std::slice::from_raw_parts(p, n) })
}

/// An array argument of `n` NUL-terminated strings (see [`arg_array`]); an
/// error names the element (`name[i]`).
///
/// # Safety
/// `p` must be NULL or point to `n` pointers, each NULL or a NUL-terminated
/// string, all valid and unchanged for `'a`.
pub(crate) unsafe fn arg_str_array<'a>(
    p: *const *const c_char,
    n: usize,
    name: &str,
) -> Result<Vec<&'a str>, FfiError> {
    // SAFETY: forwarded.
    let ptrs = unsafe { arg_array(p, n, name)? };
    ptrs.iter()
        .enumerate()
        // SAFETY: forwarded (each element NUL-terminated).
        .map(|(i, s)| unsafe { arg_str(*s, &format!("{name}[{i}]")) })
        .collect()
}

/// A handle argument, checked for NULL.
///
/// # Safety
/// `p` must be NULL or a live handle of type `T` returned by this library.
pub(crate) unsafe fn arg_handle<'a, T>(p: *const T, name: &str) -> Result<&'a T, FfiError> {
    // SAFETY: a non-NULL pointer is a live handle per the contract.
    unsafe { p.as_ref() }.ok_or_else(|| FfiError::null(name))
}

/// A handle argument of an infallible getter: `None` for NULL.
///
/// # Safety
/// As [`arg_handle`].
pub(crate) unsafe fn opt_handle<'a, T>(p: *const T) -> Option<&'a T> {
    // SAFETY: a non-NULL pointer is a live handle per the contract.
    unsafe { p.as_ref() }
}

/// A pointer the library writes one result through. Writing uses
/// `ptr::write`, so the target may be uninitialised.
#[derive(Debug)]
pub(crate) struct OutPtr<T>(NonNull<T>);

impl<T> OutPtr<T> {
    /// `None` for NULL.
    ///
    /// # Safety
    /// `p` must be NULL or valid for a write of one (properly aligned) `T`
    /// for as long as the returned value lives.
    pub unsafe fn new(p: *mut T) -> Option<OutPtr<T>> {
        NonNull::new(p).map(OutPtr)
    }

    /// Stores `value`.
    pub fn write(self, value: T) {
        // SAFETY: established by `new`'s contract.
        unsafe { self.0.as_ptr().write(value) }
    }
}

/// A required out-parameter, checked for NULL.
///
/// # Safety
/// As [`OutPtr::new`].
pub(crate) unsafe fn arg_out<T>(p: *mut T, name: &str) -> Result<OutPtr<T>, FfiError> {
    // SAFETY: forwarded.
    unsafe { OutPtr::new(p) }.ok_or_else(|| FfiError::null(name))
}

/// Copies `s` NUL-terminated into the caller's buffer `buf` of `len` bytes and
/// stores its length (without the NUL) in `*out_len` when `out_len` is not
/// NULL, also when the buffer is too small, so the caller can retry.
///
/// # Safety
/// `buf` must be NULL or valid for writes of `len` bytes; `out_len` NULL or
/// valid for a write of one `size_t`.
pub(crate) unsafe fn write_to_buffer(
    s: &str,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> Result<(), FfiError> {
    // SAFETY: forwarded.
    let out_len = unsafe { OutPtr::new(out_len) };
    if buf.is_null() {
        return Err(FfiError::null("buf"));
    }
    let bytes = s.as_bytes();
    if let Some(o) = out_len {
        o.write(bytes.len());
    }
    if bytes.len() >= len {
        if len > 0 {
            // SAFETY: buf is valid for `len >= 1` bytes.
            unsafe { buf.write(0) };
        }
        return Err(FfiError::new(
            pitr_status::BufferTooSmall,
            format!("buffer of {len} bytes is too small: {} bytes are needed", bytes.len() + 1),
        ));
    }
    // SAFETY: buf is valid for `len > bytes.len()` bytes and cannot overlap a
    // Rust-owned string.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf.cast::<u8>(), bytes.len());
        buf.add(bytes.len()).write(0);
    }
    Ok(())
}

/// Copies `items` into the caller's array `buf` of `len` elements and stores
/// the number of items in `*out_len` (when not NULL), also when the array is
/// too small (`PITR_STATUS_BUFFER_TOO_SMALL`, nothing written), so the caller
/// can retry. `buf` may be NULL when `len` is 0.
///
/// # Safety
/// `buf` must be NULL or valid for writes of `len` elements; `out_len` NULL or
/// valid for a write of one `size_t`.
pub(crate) unsafe fn write_items_to_buffer<T: Copy>(
    items: &[T],
    buf: *mut T,
    len: usize,
    out_len: *mut usize,
) -> Result<(), FfiError> {
    // SAFETY: forwarded.
    if let Some(o) = unsafe { OutPtr::new(out_len) } {
        o.write(items.len());
    }
    if items.len() > len {
        return Err(FfiError::new(
            pitr_status::BufferTooSmall,
            format!("array of {len} elements is too small: {} are needed", items.len()),
        ));
    }
    if items.is_empty() {
        return Ok(());
    }
    if buf.is_null() {
        return Err(FfiError::null("buf"));
    }
    // SAFETY: buf is valid for `len >= items.len()` elements and cannot overlap
    // a Rust-owned slice.
    unsafe { std::ptr::copy_nonoverlapping(items.as_ptr(), buf, items.len()) };
    Ok(())
}

/// Hands a library-allocated string to the caller (freed with
/// `pitr_string_free`).
pub(crate) fn string_out(out: OutPtr<*mut c_char>, s: impl Into<String>) {
    out.write(to_cstring(s).into_raw());
}

/// Serialises `value` to compact JSON.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<String, FfiError> {
    serde_json::to_string(value)
        .map_err(|e| FfiError::new(pitr_status::Other, format!("cannot serialise to JSON: {e}")))
}

/// Moves a value into a handle owned by the caller (freed with the type's
/// `_free` function).
pub(crate) fn handle_out<T>(out: OutPtr<*mut T>, value: T) {
    out.write(Box::into_raw(Box::new(value)));
}

/// Frees a handle made by [`handle_out`]; NULL is a no-op.
///
/// # Safety
/// `p` must be NULL or a handle of type `T` from this library that has not
/// been freed.
pub(crate) unsafe fn free_handle<T>(p: *mut T) {
    if !p.is_null() {
        // SAFETY: per the contract, `p` came from Box::into_raw and is freed once.
        drop(unsafe { Box::from_raw(p) });
    }
}

/// Frees a string allocated by the library (returned through a `char **`
/// out-parameter). NULL is a no-op.
///
/// Only strings documented as "free with `pitr_string_free`" may be passed
/// here; never a pointer from `pitr_last_error()`, `pitr_version()` or other
/// borrowed/static strings.
///
/// Thread safety: any thread (a string may be freed on another thread than
/// the one it was returned on); each string is freed once.
///
/// # Safety
/// `s` must be NULL or a string returned by this library through a `char **`
/// out-parameter that has not been freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_string_free(s: *mut c_char) {
    crate::error::guard_value((), || {
        if !s.is_null() {
            // SAFETY: per the contract, `s` came from CString::into_raw.
            drop(unsafe { CString::from_raw(s) });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_report_the_needed_length() {
        let mut buf = [0x55 as c_char; 4];
        let mut n = 0usize;
        // SAFETY: buffer and length match.
        let r = unsafe { write_to_buffer("abcd", buf.as_mut_ptr(), buf.len(), &mut n) };
        assert_eq!(r.map_err(|e| e.status).err(), Some(pitr_status::BufferTooSmall));
        assert_eq!(n, 4);
        assert_eq!(buf[0], 0);
        // SAFETY: as above.
        let r = unsafe { write_to_buffer("abc", buf.as_mut_ptr(), buf.len(), std::ptr::null_mut()) };
        assert!(r.is_ok());
        // SAFETY: NUL-terminated by write_to_buffer.
        assert_eq!(unsafe { CStr::from_ptr(buf.as_ptr()) }.to_str().ok(), Some("abc"));
        // SAFETY: len 0 never writes.
        let r = unsafe { write_to_buffer("", buf.as_mut_ptr(), 0, &mut n) };
        assert!(r.is_err());
    }

    #[test]
    fn interior_nul_is_replaced() {
        assert_eq!(to_cstring("a\0b").to_str().ok(), Some("a\u{FFFD}b"));
    }
}
