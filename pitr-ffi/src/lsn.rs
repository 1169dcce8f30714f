//! LSNs and WAL segment sizes.
//!
//! An LSN is passed as a plain `pitr_lsn` (`uint64_t`); a WAL segment size as
//! its number of bytes (`uint32_t`), checked by every function that takes one.

use crate::error::{FfiError, guard, guard_value, pitr_status};
use crate::ffi::{arg_out, arg_str, write_to_buffer};
use pitr_core::{Lsn, WalSegSize};
use std::ffi::c_char;

/// A WAL position (`XLogRecPtr`): a byte offset in the WAL stream. Its text
/// form is `X/Y` (`pitr_lsn_format`, `pitr_lsn_parse`).
#[allow(non_camel_case_types)]
pub type pitr_lsn = u64;

/// `InvalidXLogRecPtr` (`0/0`).
pub const PITR_LSN_INVALID: pitr_lsn = 0;

/// A buffer of this many bytes holds any LSN text (`FFFFFFFF/FFFFFFFF` and its
/// NUL) and any segment size text.
pub const PITR_LSN_BUFSIZE: usize = 18;

/// The smallest WAL segment size (1 MiB).
pub const PITR_WAL_SEG_SIZE_MIN: u32 = 1 << 20;
/// The largest WAL segment size (1 GiB).
pub const PITR_WAL_SEG_SIZE_MAX: u32 = 1 << 30;
/// PostgreSQL's default WAL segment size (16 MiB).
pub const PITR_WAL_SEG_SIZE_DEFAULT: u32 = 16 << 20;

// The header needs literal values; keep them equal to the core's.
const _: () = assert!(PITR_WAL_SEG_SIZE_MIN == WalSegSize::MIN);
const _: () = assert!(PITR_WAL_SEG_SIZE_MAX == WalSegSize::MAX);
const _: () = assert!(PITR_WAL_SEG_SIZE_DEFAULT == WalSegSize::DEFAULT.bytes_u32());

/// Checks a segment size passed as bytes.
pub(crate) fn seg_size(bytes: u32) -> Result<WalSegSize, FfiError> {
    WalSegSize::new(bytes).ok_or_else(|| {
        FfiError::invalid_argument(format!(
            "WAL segment size {bytes} is not a power of two from 1 MiB to 1 GiB"
        ))
    })
}

/// Parses an LSN: `X/Y`, 1 to 8 hex digits on each side, either case, nothing
/// else (both the server's `0/16B3748` and pg_waldump's `0/016B3748` forms).
///
/// Errors: `PITR_STATUS_NULL_ARGUMENT`, `PITR_STATUS_INVALID_UTF8`,
/// `PITR_STATUS_PARSE` (the last error has the byte position).
///
/// Thread safety: any thread.
///
/// # Safety
/// `text` must be a NUL-terminated string; `out` must point to a writable `pitr_lsn`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_lsn_parse(text: *const c_char, out: *mut pitr_lsn) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (text, out) = unsafe { (arg_str(text, "text")?, arg_out(out, "out")?) };
        out.write(Lsn::parse(text)?.0);
        Ok(())
    })
}

/// Formats an LSN in the server's form (`%X/%X`, e.g. `0/16B3748`) into `buf`
/// (`len` bytes; `PITR_LSN_BUFSIZE` is always enough). `*out_len` (when
/// `out_len` is not NULL) receives the text length without the NUL, also when
/// `PITR_STATUS_BUFFER_TOO_SMALL` is returned.
///
/// Thread safety: any thread.
///
/// # Safety
/// `buf` must point to `len` writable bytes; `out_len` must be NULL or point to
/// a writable `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_lsn_format(
    lsn: pitr_lsn,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> pitr_status {
    // SAFETY: documented contract.
    guard(|| unsafe { write_to_buffer(&Lsn(lsn).to_string(), buf, len, out_len) })
}

/// Formats an LSN in pg_waldump's form, the low half zero-padded to 8 digits
/// (`0/016B3748`). Buffer handling as `pitr_lsn_format`.
///
/// Thread safety: any thread.
///
/// # Safety
/// As `pitr_lsn_format`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_lsn_format_padded(
    lsn: pitr_lsn,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> pitr_status {
    // SAFETY: documented contract.
    guard(|| unsafe { write_to_buffer(&Lsn(lsn).padded().to_string(), buf, len, out_len) })
}

/// `*out = lsn + bytes`. `PITR_STATUS_OUT_OF_RANGE` past `FFFFFFFF/FFFFFFFF`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `out` must point to a writable `pitr_lsn`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_lsn_add(lsn: pitr_lsn, bytes: u64, out: *mut pitr_lsn) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let out = unsafe { arg_out(out, "out")? };
        let r = Lsn(lsn).checked_add(bytes).ok_or_else(|| {
            FfiError::out_of_range(format!("{} + {bytes} is past the largest LSN", Lsn(lsn)))
        })?;
        out.write(r.0);
        Ok(())
    })
}

/// `*out = lsn - bytes`. `PITR_STATUS_OUT_OF_RANGE` below `0/0`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `out` must point to a writable `pitr_lsn`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_lsn_sub(lsn: pitr_lsn, bytes: u64, out: *mut pitr_lsn) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let out = unsafe { arg_out(out, "out")? };
        let r = Lsn(lsn)
            .checked_sub(bytes)
            .ok_or_else(|| FfiError::out_of_range(format!("{} - {bytes} is before 0/0", Lsn(lsn))))?;
        out.write(r.0);
        Ok(())
    })
}

/// `*out = lsn - earlier` in bytes, negative when `earlier` is later (as
/// `pg_wal_lsn_diff` computes it). `PITR_STATUS_OUT_OF_RANGE` when the
/// difference does not fit an `int64_t` (more than 8 EiB apart).
///
/// Thread safety: any thread.
///
/// # Safety
/// `out` must point to a writable `int64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_lsn_diff(lsn: pitr_lsn, earlier: pitr_lsn, out: *mut i64) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let out = unsafe { arg_out(out, "out")? };
        let d = Lsn(lsn).diff(Lsn(earlier));
        let d = i64::try_from(d)
            .map_err(|_| FfiError::out_of_range(format!("{d} bytes do not fit a 64-bit signed integer")))?;
        out.write(d);
        Ok(())
    })
}

/// `*out` = the number of the WAL segment holding `lsn` for segments of
/// `seg_size` bytes. `PITR_STATUS_INVALID_ARGUMENT` for a bad segment size.
///
/// Thread safety: any thread.
///
/// # Safety
/// `out` must point to a writable `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_lsn_segment(lsn: pitr_lsn, seg_size: u32, out: *mut u64) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let out = unsafe { arg_out(out, "out")? };
        out.write(Lsn(lsn).segment(self::seg_size(seg_size)?));
        Ok(())
    })
}

/// `*out` = the offset of `lsn` inside its WAL segment.
/// `PITR_STATUS_INVALID_ARGUMENT` for a bad segment size.
///
/// Thread safety: any thread.
///
/// # Safety
/// `out` must point to a writable `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_lsn_segment_offset(lsn: pitr_lsn, seg_size: u32, out: *mut u64) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let out = unsafe { arg_out(out, "out")? };
        out.write(Lsn(lsn).segment_offset(self::seg_size(seg_size)?));
        Ok(())
    })
}

/// `*out` = the number of the segment holding the byte just before `lsn`
/// (`XLByteToPrevSeg`): the segment a record ending at `lsn` lives in.
/// `PITR_STATUS_INVALID_ARGUMENT` for a bad segment size.
///
/// Thread safety: any thread.
///
/// # Safety
/// `out` must point to a writable `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_lsn_prev_segment(lsn: pitr_lsn, seg_size: u32, out: *mut u64) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let out = unsafe { arg_out(out, "out")? };
        out.write(Lsn(lsn).prev_segment(self::seg_size(seg_size)?));
        Ok(())
    })
}

/// `lsn` rounded up to a multiple of 8 (`MAXALIGN`), saturating at the
/// largest multiple of 8. Cannot fail.
///
/// Thread safety: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn pitr_lsn_maxalign(lsn: pitr_lsn) -> pitr_lsn {
    guard_value(lsn, || Lsn(lsn).maxalign().0)
}

/// Parses a WAL segment size: `16MB`, `16 MB`, `1GB`, `1024kB`, `16777216`
/// (bytes) or `16` (MB, as `initdb --wal-segsize` takes it); units are
/// case-insensitive. `*out` receives the size in bytes.
///
/// Errors: `PITR_STATUS_NULL_ARGUMENT`, `PITR_STATUS_INVALID_UTF8`,
/// `PITR_STATUS_PARSE` (also for a size that is not a power of two from 1 MiB
/// to 1 GiB).
///
/// Thread safety: any thread.
///
/// # Safety
/// `text` must be a NUL-terminated string; `out` must point to a writable `uint32_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_wal_seg_size_parse(text: *const c_char, out: *mut u32) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (text, out) = unsafe { (arg_str(text, "text")?, arg_out(out, "out")?) };
        out.write(WalSegSize::parse(text)?.bytes_u32());
        Ok(())
    })
}

/// Checks a WAL segment size in bytes (`IsValidWalSegSize`): `PITR_STATUS_OK`
/// for a power of two from 1 MiB to 1 GiB, `PITR_STATUS_INVALID_ARGUMENT`
/// otherwise.
///
/// Thread safety: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn pitr_wal_seg_size_validate(bytes: u64) -> pitr_status {
    guard(|| {
        WalSegSize::from_bytes(bytes).map_err(|e| FfiError::invalid_argument(e.to_string()))?;
        Ok(())
    })
}

/// Formats a segment size as PostgreSQL shows it (`16MB`, `1GB`) into `buf`.
/// `PITR_LSN_BUFSIZE` bytes are always enough. Buffer handling as
/// `pitr_lsn_format`. `PITR_STATUS_INVALID_ARGUMENT` for a bad size.
///
/// Thread safety: any thread.
///
/// # Safety
/// As `pitr_lsn_format`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_wal_seg_size_format(
    seg_size: u32,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> pitr_status {
    guard(|| {
        let s = self::seg_size(seg_size)?;
        // SAFETY: documented contract.
        unsafe { write_to_buffer(&s.to_string(), buf, len, out_len) }
    })
}

/// `*out` = segments per 4 GiB "xlogid" (`XLogSegmentsPerXLogId`), the
/// number the last 8 digits of a segment name count up to.
///
/// Thread safety: any thread.
///
/// # Safety
/// `out` must point to a writable `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_wal_seg_size_segments_per_xlogid(seg_size: u32, out: *mut u64) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let out = unsafe { arg_out(out, "out")? };
        out.write(self::seg_size(seg_size)?.segments_per_xlogid());
        Ok(())
    })
}

/// `*out` = the first LSN of segment `segno`. `PITR_STATUS_OUT_OF_RANGE` when
/// that is past the largest LSN.
///
/// Thread safety: any thread.
///
/// # Safety
/// `out` must point to a writable `pitr_lsn`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_wal_seg_size_segment_start(
    seg_size: u32,
    segno: u64,
    out: *mut pitr_lsn,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let out = unsafe { arg_out(out, "out")? };
        let s = self::seg_size(seg_size)?;
        let start = segno
            .checked_mul(s.bytes())
            .ok_or_else(|| FfiError::out_of_range(format!("segment {segno} starts past the largest LSN")))?;
        out.write(start);
        Ok(())
    })
}

/// `*out` = the LSN just past the end of segment `segno` (the start of the
/// next one). `PITR_STATUS_OUT_OF_RANGE` when that is past the largest LSN.
///
/// Thread safety: any thread.
///
/// # Safety
/// `out` must point to a writable `pitr_lsn`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_wal_seg_size_segment_end(
    seg_size: u32,
    segno: u64,
    out: *mut pitr_lsn,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let out = unsafe { arg_out(out, "out")? };
        let s = self::seg_size(seg_size)?;
        let end = segno
            .checked_add(1)
            .and_then(|n| n.checked_mul(s.bytes()))
            .ok_or_else(|| FfiError::out_of_range(format!("segment {segno} ends past the largest LSN")))?;
        out.write(end);
        Ok(())
    })
}
