//! The library's version and ABI version, and the PostgreSQL major versions
//! pitr supports with the numbers that identify them on disk.

use crate::error::{FfiError, guard, guard_value, pitr_status};
use crate::ffi::arg_out;
use pitr_core::PgMajor;
use pitr_core::version::OLD_WAL_MAGICS;
use std::ffi::c_char;

/// The ABI version of this header. It is bumped on every incompatible change
/// (a removed or changed function, type or constant); additions do not bump
/// it. Compare with `pitr_abi_version()` at run time to detect a header/library
/// mismatch.
pub const PITR_ABI_VERSION: u32 = 1;

/// The oldest PostgreSQL major version pitr reads.
pub const PITR_PG_MAJOR_MIN: u32 = 13;
/// The newest PostgreSQL major version pitr reads.
pub const PITR_PG_MAJOR_MAX: u32 = 18;

const _: () = assert!(PgMajor::ALL[0].number() == PITR_PG_MAJOR_MIN);
const _: () = assert!(PgMajor::ALL[PgMajor::ALL.len() - 1].number() == PITR_PG_MAJOR_MAX);

const VERSION_C: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// The library version, e.g. `"0.1.0"`. Static; do not free.
///
/// Thread safety: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn pitr_version() -> *const c_char {
    guard_value(c"".as_ptr(), || VERSION_C.as_ptr().cast())
}

/// The ABI version the library was built with (`PITR_ABI_VERSION` of its
/// header).
///
/// Thread safety: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn pitr_abi_version() -> u32 {
    guard_value(PITR_ABI_VERSION, || PITR_ABI_VERSION)
}

fn major(number: u32) -> Result<PgMajor, FfiError> {
    PgMajor::from_number(number).ok_or_else(|| {
        FfiError::new(
            pitr_status::Unsupported,
            format!(
                "PostgreSQL {number} is not supported (pitr reads {PITR_PG_MAJOR_MIN} to {PITR_PG_MAJOR_MAX})"
            ),
        )
    })
}

/// `*out` = the WAL page magic (`XLOG_PAGE_MAGIC`) of PostgreSQL `major`.
/// `PITR_STATUS_UNSUPPORTED` for a major outside 13..18.
///
/// Thread safety: any thread.
///
/// # Safety
/// `out` must point to a writable `uint16_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_pg_major_wal_magic(major: u32, out: *mut u16) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let out = unsafe { arg_out(out, "out")? };
        out.write(self::major(major)?.wal_magic());
        Ok(())
    })
}

/// `*out` = the catalog version (`CATALOG_VERSION_NO`) of PostgreSQL `major`.
/// `PITR_STATUS_UNSUPPORTED` for a major outside 13..18.
///
/// Thread safety: any thread.
///
/// # Safety
/// `out` must point to a writable `uint32_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_pg_major_catalog_version(major: u32, out: *mut u32) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let out = unsafe { arg_out(out, "out")? };
        out.write(self::major(major)?.catalog_version());
        Ok(())
    })
}

/// `*out` = the pg_control version (`PG_CONTROL_VERSION`) of PostgreSQL
/// `major`. `PITR_STATUS_UNSUPPORTED` for a major outside 13..18.
///
/// Thread safety: any thread.
///
/// # Safety
/// `out` must point to a writable `uint32_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_pg_major_control_version(major: u32, out: *mut u32) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let out = unsafe { arg_out(out, "out")? };
        out.write(self::major(major)?.control_version());
        Ok(())
    })
}

/// `*out_major` = the PostgreSQL major (13..18) whose WAL pages carry `magic`.
/// `PITR_STATUS_UNSUPPORTED` for the magic of an older major (9.6 to 12; the
/// message names it) or an unknown magic.
///
/// Thread safety: any thread.
///
/// # Safety
/// `out_major` must point to a writable `uint32_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_pg_major_from_wal_magic(magic: u16, out_major: *mut u32) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let out = unsafe { arg_out(out_major, "out_major")? };
        let m = PgMajor::from_wal_magic(magic).ok_or_else(|| {
            let msg = match OLD_WAL_MAGICS.iter().find(|(m, _)| *m == magic) {
                Some((_, v)) => {
                    format!("WAL page magic {magic:#06X} is PostgreSQL {v}, which pitr does not read")
                }
                None => format!("WAL page magic {magic:#06X} is not one of PostgreSQL 13 to 18"),
            };
            FfiError::new(pitr_status::Unsupported, msg)
        })?;
        out.write(m.number());
        Ok(())
    })
}

/// `*out_major` = the PostgreSQL major (13..18) with catalog version
/// `catversion`. `PITR_STATUS_UNSUPPORTED` for any other catalog version.
///
/// Thread safety: any thread.
///
/// # Safety
/// `out_major` must point to a writable `uint32_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_pg_major_from_catalog_version(
    catversion: u32,
    out_major: *mut u32,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let out = unsafe { arg_out(out_major, "out_major")? };
        let m = PgMajor::from_catalog_version(catversion).ok_or_else(|| {
            FfiError::new(
                pitr_status::Unsupported,
                format!("catalog version {catversion} is not that of a release of PostgreSQL 13 to 18"),
            )
        })?;
        out.write(m.number());
        Ok(())
    })
}

/// True when pitr reads PostgreSQL `major` (13..18).
///
/// Thread safety: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn pitr_pg_major_is_supported(major: u32) -> bool {
    guard_value(false, || PgMajor::from_number(major).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn version_is_the_crate_version() {
        // SAFETY: static NUL-terminated string.
        let v = unsafe { CStr::from_ptr(pitr_version()) };
        assert_eq!(v.to_str().ok(), Some(pitr_core::VERSION));
        assert_eq!(pitr_abi_version(), PITR_ABI_VERSION);
    }
}
