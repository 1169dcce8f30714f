//! WAL file names: segment names from and to (timeline, segment number), and
//! the classification of any file name found in a WAL archive or `pg_wal`
//! (`pitr_wal_file_name` handles).

use crate::error::{FfiError, guard, guard_value, pitr_status};
use crate::ffi::{
    arg_handle, arg_out, arg_str, free_handle, handle_out, opt_handle, string_out, to_cstring, to_json,
    write_to_buffer,
};
use crate::lsn::{pitr_lsn, seg_size};
use pitr_core::walfile::{self, ArchiveStatus, Compression, SegmentName, WalFileKind, WalFileName};
use pitr_core::{Lsn, ParseError, WalSegSize};
use std::ffi::{CString, c_char};
use std::ptr;

/// A buffer of this many bytes holds any name written by
/// `pitr_segment_name_format`, `pitr_segment_name_of_lsn`,
/// `pitr_history_file_name` and `pitr_backup_history_file_name` and its NUL.
pub const PITR_WAL_NAME_BUFSIZE: usize = 64;

/// What kind of file a name denotes. The numbers are part of the ABI.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum pitr_wal_file_kind {
    /// Not a WAL-related name.
    Unknown = 0,
    /// A WAL segment (`000000010000000000000002`, possibly compressed or
    /// pgBackRest-named).
    Segment = 1,
    /// `<segment>.partial`: the incomplete last segment of an old timeline.
    Partial = 2,
    /// `TTTTTTTT.history`: a timeline history file.
    History = 3,
    /// `<segment>.<offset>.backup`: a backup history file.
    BackupHistory = 4,
    /// `<name>.ready` / `<name>.done` in `pg_wal/archive_status`.
    ArchiveStatus = 5,
}

impl pitr_wal_file_kind {
    fn of(kind: &WalFileKind) -> pitr_wal_file_kind {
        match kind {
            WalFileKind::Segment { .. } => pitr_wal_file_kind::Segment,
            WalFileKind::Partial { .. } => pitr_wal_file_kind::Partial,
            WalFileKind::History { .. } => pitr_wal_file_kind::History,
            WalFileKind::BackupHistory { .. } => pitr_wal_file_kind::BackupHistory,
            WalFileKind::ArchiveStatus { .. } => pitr_wal_file_kind::ArchiveStatus,
            WalFileKind::Unknown => pitr_wal_file_kind::Unknown,
        }
    }

    const ALL: [(pitr_wal_file_kind, &'static std::ffi::CStr); 6] = [
        (pitr_wal_file_kind::Unknown, c"unknown"),
        (pitr_wal_file_kind::Segment, c"segment"),
        (pitr_wal_file_kind::Partial, c"partial"),
        (pitr_wal_file_kind::History, c"history"),
        (pitr_wal_file_kind::BackupHistory, c"backup_history"),
        (pitr_wal_file_kind::ArchiveStatus, c"archive_status"),
    ];
}

/// Compression of an archived file, from its extension. The numbers are part
/// of the ABI.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum pitr_compression {
    /// Not compressed.
    None = 0,
    /// `.gz`
    Gzip = 1,
    /// `.zst`
    Zstd = 2,
    /// `.lz4` (LZ4 frame format)
    Lz4 = 3,
    /// `.xz`
    Xz = 4,
    /// `.bz2`
    Bzip2 = 5,
    /// `.br` (recognised; pitr does not decompress it)
    Brotli = 6,
}

impl pitr_compression {
    fn of(c: Option<Compression>) -> pitr_compression {
        match c {
            None => pitr_compression::None,
            Some(Compression::Gzip) => pitr_compression::Gzip,
            Some(Compression::Zstd) => pitr_compression::Zstd,
            Some(Compression::Lz4) => pitr_compression::Lz4,
            Some(Compression::Xz) => pitr_compression::Xz,
            Some(Compression::Bzip2) => pitr_compression::Bzip2,
            Some(Compression::Brotli) => pitr_compression::Brotli,
        }
    }
}

/// State of an `archive_status` file. The numbers are part of the ABI.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum pitr_archive_status {
    /// `.ready`: waiting to be archived.
    Ready = 1,
    /// `.done`: archived, or never needs archiving.
    Done = 2,
}

/// A classified file name (opaque). Made by `pitr_wal_file_name_classify` or
/// `pitr_wal_file_name_parse`, freed with `pitr_wal_file_name_free`.
///
/// Immutable: one handle may be read from several threads at once; it must
/// not be freed while another thread uses it.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct pitr_wal_file_name {
    parsed: WalFileName,
    name: CString,
}

fn segment_name(timeline: u32, segno: u64, seg: WalSegSize) -> Result<SegmentName, FfiError> {
    let per = seg.segments_per_xlogid();
    if segno / per > u64::from(u32::MAX) {
        return Err(FfiError::out_of_range(format!(
            "segment number {segno} is too large for {seg} segments"
        )));
    }
    Ok(SegmentName::new(timeline, segno, seg))
}

/// Writes the name of segment `segno` on `timeline` for segments of
/// `seg_size` bytes (`XLogFileName`, e.g. `000000010000000000000002`) into
/// `buf` (`PITR_WAL_NAME_BUFSIZE` bytes are always enough; buffer handling as
/// `pitr_lsn_format`).
///
/// Errors: `PITR_STATUS_INVALID_ARGUMENT` (segment size),
/// `PITR_STATUS_OUT_OF_RANGE` (a segment number past the last LSN),
/// `PITR_STATUS_NULL_ARGUMENT`, `PITR_STATUS_BUFFER_TOO_SMALL`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `buf` must point to `len` writable bytes; `out_len` must be NULL or point to
/// a writable `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_segment_name_format(
    timeline: u32,
    segno: u64,
    seg_size: u32,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> pitr_status {
    guard(|| {
        let name = segment_name(timeline, segno, self::seg_size(seg_size)?)?;
        // SAFETY: documented contract.
        unsafe { write_to_buffer(&name.to_string(), buf, len, out_len) }
    })
}

/// Writes the name of the segment holding `lsn` on `timeline` into `buf`.
/// Buffer handling and errors as `pitr_segment_name_format`.
///
/// Thread safety: any thread.
///
/// # Safety
/// As `pitr_segment_name_format`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_segment_name_of_lsn(
    timeline: u32,
    lsn: pitr_lsn,
    seg_size: u32,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> pitr_status {
    guard(|| {
        let name = SegmentName::of_lsn(timeline, Lsn(lsn), self::seg_size(seg_size)?);
        // SAFETY: documented contract.
        unsafe { write_to_buffer(&name.to_string(), buf, len, out_len) }
    })
}

/// Parses a 24-digit segment name (upper-case hex only, as the server) into
/// its timeline and segment number for segments of `seg_size` bytes.
///
/// Errors: `PITR_STATUS_PARSE` (not 24 upper-case hex digits, or a last part
/// too large for that segment size), `PITR_STATUS_INVALID_ARGUMENT` (segment
/// size), `PITR_STATUS_NULL_ARGUMENT`, `PITR_STATUS_INVALID_UTF8`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `name` must be a NUL-terminated string; `out_timeline` and `out_segno` must
/// point to a writable `uint32_t` and `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_segment_name_parse(
    name: *const c_char,
    seg_size: u32,
    out_timeline: *mut u32,
    out_segno: *mut u64,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (name, out_tli, out_segno) = unsafe {
            (arg_str(name, "name")?, arg_out(out_timeline, "out_timeline")?, arg_out(out_segno, "out_segno")?)
        };
        let seg = self::seg_size(seg_size)?;
        let parsed = SegmentName::parse(name)?;
        let segno = parsed.segno(seg).ok_or_else(|| {
            ParseError::new("WAL segment name", format!("{name:?} cannot exist with {seg} segments"))
                .at_position(16)
        })?;
        out_tli.write(parsed.timeline);
        out_segno.write(segno);
        Ok(())
    })
}

/// Writes the history file name of `timeline` (`%08X.history`) into `buf`.
/// Buffer handling as `pitr_lsn_format`.
///
/// Thread safety: any thread.
///
/// # Safety
/// As `pitr_segment_name_format`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_history_file_name(
    timeline: u32,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> pitr_status {
    // SAFETY: documented contract.
    guard(|| unsafe { write_to_buffer(&walfile::history_file_name(timeline), buf, len, out_len) })
}

/// Writes the backup history file name of a backup that started at `start`
/// and stopped on `stop_timeline`
/// (`TTTTTTTTXXXXXXXXYYYYYYYY.OOOOOOOO.backup`) into `buf`. Buffer handling
/// and errors as `pitr_segment_name_format`.
///
/// Thread safety: any thread.
///
/// # Safety
/// As `pitr_segment_name_format`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_backup_history_file_name(
    stop_timeline: u32,
    start: pitr_lsn,
    seg_size: u32,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> pitr_status {
    guard(|| {
        let s = walfile::backup_history_file_name(stop_timeline, Lsn(start), self::seg_size(seg_size)?);
        // SAFETY: documented contract.
        unsafe { write_to_buffer(&s, buf, len, out_len) }
    })
}

fn classify(name: &str) -> pitr_wal_file_name {
    pitr_wal_file_name { parsed: WalFileName::classify(name), name: to_cstring(name) }
}

/// Classifies a file name (not a path) from a WAL archive or `pg_wal`:
/// segments, `.partial`, `.history`, `.backup`, compressed copies (`.gz`,
/// `.zst`, `.lz4`, `.xz`, `.bz2`, `.br`), pgBackRest `NAME-<sha1>` names and
/// `archive_status` files (`.ready`, `.done`). Anything else is a handle of
/// kind `PITR_WAL_FILE_KIND_UNKNOWN`: classification itself never fails.
/// `*out` receives a new handle, freed with `pitr_wal_file_name_free`.
///
/// Errors: `PITR_STATUS_NULL_ARGUMENT`, `PITR_STATUS_INVALID_UTF8`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `name` must be a NUL-terminated string; `out` must point to a writable
/// `pitr_wal_file_name *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_wal_file_name_classify(
    name: *const c_char,
    out: *mut *mut pitr_wal_file_name,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (name, out) = unsafe { (arg_str(name, "name")?, arg_out(out, "out")?) };
        handle_out(out, classify(name));
        Ok(())
    })
}

/// As `pitr_wal_file_name_classify`, but a name that is not WAL-related is a
/// `PITR_STATUS_PARSE` error (and `*out` is left alone).
///
/// Thread safety: any thread.
///
/// # Safety
/// As `pitr_wal_file_name_classify`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_wal_file_name_parse(
    name: *const c_char,
    out: *mut *mut pitr_wal_file_name,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (name, out) = unsafe { (arg_str(name, "name")?, arg_out(out, "out")?) };
        let f = classify(name);
        if f.parsed.is_unknown() {
            return Err(ParseError::new("WAL file name", format!("{name:?} is not a WAL file name")).into());
        }
        handle_out(out, f);
        Ok(())
    })
}

/// Frees a handle. NULL is a no-op.
///
/// Thread safety: any thread, once no other thread uses the handle.
///
/// # Safety
/// `f` must be NULL or a handle from this library not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_wal_file_name_free(f: *mut pitr_wal_file_name) {
    // SAFETY: documented contract.
    guard_value((), || unsafe { free_handle(f) })
}

/// The name the handle was made from, as given. Borrowed: valid until the
/// handle is freed; do not free it. NULL when `f` is NULL.
///
/// Thread safety: any thread.
///
/// # Safety
/// `f` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_wal_file_name_name(f: *const pitr_wal_file_name) -> *const c_char {
    // SAFETY: documented contract.
    guard_value(ptr::null(), || unsafe { opt_handle(f) }.map_or(ptr::null(), |f| f.name.as_ptr()))
}

/// The kind of file. `PITR_WAL_FILE_KIND_UNKNOWN` when `f` is NULL.
///
/// Thread safety: any thread.
///
/// # Safety
/// `f` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_wal_file_name_kind(f: *const pitr_wal_file_name) -> pitr_wal_file_kind {
    guard_value(pitr_wal_file_kind::Unknown, || {
        // SAFETY: documented contract.
        unsafe { opt_handle(f) }
            .map_or(pitr_wal_file_kind::Unknown, |f| pitr_wal_file_kind::of(&f.parsed.kind))
    })
}

/// The compression, from the extension. `PITR_COMPRESSION_NONE` when
/// uncompressed or when `f` is NULL.
///
/// Thread safety: any thread.
///
/// # Safety
/// `f` must be NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_wal_file_name_compression(f: *const pitr_wal_file_name) -> pitr_compression {
    guard_value(pitr_compression::None, || {
        // SAFETY: documented contract.
        unsafe { opt_handle(f) }
            .map_or(pitr_compression::None, |f| pitr_compression::of(f.parsed.compression))
    })
}

/// `*out` = the timeline: of the segment (segment, partial, backup history)
/// or of the history file. `PITR_STATUS_NO_VALUE` for archive status files and
/// unknown names.
///
/// Thread safety: any thread.
///
/// # Safety
/// `f` must be a live handle; `out` must point to a writable `uint32_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_wal_file_name_timeline(
    f: *const pitr_wal_file_name,
    out: *mut u32,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (f, out) = unsafe { (arg_handle(f, "f")?, arg_out(out, "out")?) };
        let tli = match &f.parsed.kind {
            WalFileKind::Segment { segment }
            | WalFileKind::Partial { segment }
            | WalFileKind::BackupHistory { segment, .. } => segment.timeline,
            WalFileKind::History { timeline } => *timeline,
            WalFileKind::ArchiveStatus { .. } | WalFileKind::Unknown => {
                return Err(no_value(f, "a timeline"));
            }
        };
        out.write(tli);
        Ok(())
    })
}

fn no_value(f: &pitr_wal_file_name, what: &str) -> FfiError {
    FfiError::no_value(format!("{:?} has no {what}", f.name.to_string_lossy()))
}

fn segment_of(f: &pitr_wal_file_name) -> Option<SegmentName> {
    match &f.parsed.kind {
        WalFileKind::Segment { segment }
        | WalFileKind::Partial { segment }
        | WalFileKind::BackupHistory { segment, .. } => Some(*segment),
        _ => None,
    }
}

/// `*out` = the segment number of the segment the file is about (segment,
/// partial, backup history) for segments of `seg_size` bytes.
///
/// Errors: `PITR_STATUS_NO_VALUE` (other kinds), `PITR_STATUS_INVALID_ARGUMENT`
/// (segment size), `PITR_STATUS_PARSE` (the name cannot exist with that
/// segment size: its last 8 digits are too large).
///
/// Thread safety: any thread.
///
/// # Safety
/// `f` must be a live handle; `out` must point to a writable `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_wal_file_name_segno(
    f: *const pitr_wal_file_name,
    seg_size: u32,
    out: *mut u64,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (f, out) = unsafe { (arg_handle(f, "f")?, arg_out(out, "out")?) };
        let seg = self::seg_size(seg_size)?;
        let segment = segment_of(f).ok_or_else(|| no_value(f, "segment number"))?;
        let segno = segment.segno(seg).ok_or_else(|| {
            ParseError::new("WAL segment name", format!("{segment} cannot exist with {seg} segments"))
                .at_position(16)
        })?;
        out.write(segno);
        Ok(())
    })
}

/// `*out` = the offset of the backup's start LSN in its segment (the
/// `OOOOOOOO` of a backup history file name). `PITR_STATUS_NO_VALUE` for
/// other kinds.
///
/// Thread safety: any thread.
///
/// # Safety
/// `f` must be a live handle; `out` must point to a writable `uint32_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_wal_file_name_backup_offset(
    f: *const pitr_wal_file_name,
    out: *mut u32,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (f, out) = unsafe { (arg_handle(f, "f")?, arg_out(out, "out")?) };
        match &f.parsed.kind {
            WalFileKind::BackupHistory { offset, .. } => {
                out.write(*offset);
                Ok(())
            }
            _ => Err(no_value(f, "backup offset")),
        }
    })
}

/// For an `archive_status` file: `*out_status` = ready or done and, when
/// `out_of` is not NULL, `*out_of` = the name of the file the status is about
/// (library-allocated, free with `pitr_string_free`). `PITR_STATUS_NO_VALUE`
/// for other kinds.
///
/// Thread safety: any thread.
///
/// # Safety
/// `f` must be a live handle; `out_status` must point to a writable
/// `pitr_archive_status`; `out_of` must be NULL or point to a writable `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_wal_file_name_archive_status(
    f: *const pitr_wal_file_name,
    out_status: *mut pitr_archive_status,
    out_of: *mut *mut c_char,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (f, out_status) = unsafe { (arg_handle(f, "f")?, arg_out(out_status, "out_status")?) };
        // SAFETY: documented contract (optional).
        let out_of = unsafe { crate::ffi::OutPtr::new(out_of) };
        match &f.parsed.kind {
            WalFileKind::ArchiveStatus { of, status } => {
                out_status.write(match status {
                    ArchiveStatus::Ready => pitr_archive_status::Ready,
                    ArchiveStatus::Done => pitr_archive_status::Done,
                });
                if let Some(o) = out_of {
                    string_out(o, of.clone());
                }
                Ok(())
            }
            _ => Err(no_value(f, "archive status")),
        }
    })
}

/// `*out` = pgBackRest's SHA-1 of the file's content from a `NAME-<sha1>`
/// name (40 lower-case hex digits; library-allocated, free with
/// `pitr_string_free`). `PITR_STATUS_NO_VALUE` when the name has none.
///
/// Thread safety: any thread.
///
/// # Safety
/// `f` must be a live handle; `out` must point to a writable `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_wal_file_name_sha1(
    f: *const pitr_wal_file_name,
    out: *mut *mut c_char,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (f, out) = unsafe { (arg_handle(f, "f")?, arg_out(out, "out")?) };
        let h = f.parsed.sha1.clone().ok_or_else(|| no_value(f, "SHA-1"))?;
        string_out(out, h);
        Ok(())
    })
}

/// `*out` = the name PostgreSQL asks `restore_command` for (`%f`): the name
/// without compression extension or pgBackRest hash, for segments and
/// history files (library-allocated, free with `pitr_string_free`).
/// `PITR_STATUS_NO_VALUE` for kinds recovery never requests.
///
/// Thread safety: any thread.
///
/// # Safety
/// `f` must be a live handle; `out` must point to a writable `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_wal_file_name_wal_name(
    f: *const pitr_wal_file_name,
    out: *mut *mut c_char,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (f, out) = unsafe { (arg_handle(f, "f")?, arg_out(out, "out")?) };
        let n = f.parsed.wal_name().ok_or_else(|| no_value(f, "name recovery would request"))?;
        string_out(out, n);
        Ok(())
    })
}

/// `*out` = the plain name without compression extension or hash
/// (`000000010000000000000002.partial`, ...; library-allocated, free with
/// `pitr_string_free`). `PITR_STATUS_NO_VALUE` for archive status files and
/// unknown names.
///
/// Thread safety: any thread.
///
/// # Safety
/// `f` must be a live handle; `out` must point to a writable `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_wal_file_name_plain_name(
    f: *const pitr_wal_file_name,
    out: *mut *mut c_char,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (f, out) = unsafe { (arg_handle(f, "f")?, arg_out(out, "out")?) };
        let n = f.parsed.plain_name().ok_or_else(|| no_value(f, "plain name"))?;
        string_out(out, n);
        Ok(())
    })
}

/// `*out` = the name formatted back as it appears on disk, with hash and
/// compression extension (library-allocated, free with `pitr_string_free`).
/// `PITR_STATUS_NO_VALUE` for unknown names.
///
/// Thread safety: any thread.
///
/// # Safety
/// `f` must be a live handle; `out` must point to a writable `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_wal_file_name_to_string(
    f: *const pitr_wal_file_name,
    out: *mut *mut c_char,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (f, out) = unsafe { (arg_handle(f, "f")?, arg_out(out, "out")?) };
        if f.parsed.is_unknown() {
            return Err(no_value(f, "WAL file name form"));
        }
        string_out(out, f.parsed.to_string());
        Ok(())
    })
}

/// `*out` = the classification as a JSON object (library-allocated, free with
/// `pitr_string_free`), the same as pitr-core's serde form: `kind`
/// (`segment`, `partial`, `history`, `backup_history`, `archive_status`,
/// `unknown`) and the kind's fields (`segment`, `timeline`, `offset`, `of`,
/// `status`), plus `compression` and `sha1` when present. E.g.
/// `{"kind":"segment","segment":"000000010000000000000002","compression":"gzip"}`.
///
/// Thread safety: any thread.
///
/// # Safety
/// `f` must be a live handle; `out` must point to a writable `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pitr_wal_file_name_to_json(
    f: *const pitr_wal_file_name,
    out: *mut *mut c_char,
) -> pitr_status {
    guard(|| {
        // SAFETY: documented contract.
        let (f, out) = unsafe { (arg_handle(f, "f")?, arg_out(out, "out")?) };
        string_out(out, to_json(&f.parsed)?);
        Ok(())
    })
}

/// The lower-case name of a file kind as used in JSON (`"segment"`,
/// `"backup_history"`, ...), or NULL for a number that is not a
/// `pitr_wal_file_kind`. Static; do not free.
///
/// Thread safety: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn pitr_wal_file_kind_name(kind: u32) -> *const c_char {
    guard_value(ptr::null(), || {
        pitr_wal_file_kind::ALL
            .iter()
            .find(|(k, _)| *k as u32 == kind)
            .map_or(ptr::null(), |(_, n)| n.as_ptr())
    })
}

/// The file extension of a compression without the dot (`"gz"`, `"zst"`,
/// ...), or NULL for `PITR_COMPRESSION_NONE` and numbers that are not a
/// `pitr_compression`. Static; do not free.
///
/// Thread safety: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn pitr_compression_extension(compression: u32) -> *const c_char {
    guard_value(ptr::null(), || {
        let c = match compression {
            1 => Compression::Gzip,
            2 => Compression::Zstd,
            3 => Compression::Lz4,
            4 => Compression::Xz,
            5 => Compression::Bzip2,
            6 => Compression::Brotli,
            _ => return ptr::null(),
        };
        debug_assert_eq!(pitr_compression::of(Some(c)) as u32, compression);
        match c {
            Compression::Gzip => c"gz",
            Compression::Zstd => c"zst",
            Compression::Lz4 => c"lz4",
            Compression::Xz => c"xz",
            Compression::Bzip2 => c"bz2",
            Compression::Brotli => c"br",
        }
        .as_ptr()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn kind_names_match_the_core_json() {
        for (k, name) in pitr_wal_file_kind::ALL {
            let json = match k {
                pitr_wal_file_kind::Unknown => WalFileName::classify("x"),
                pitr_wal_file_kind::Segment => WalFileName::classify("000000010000000000000001"),
                pitr_wal_file_kind::Partial => WalFileName::classify("000000010000000000000001.partial"),
                pitr_wal_file_kind::History => WalFileName::classify("00000002.history"),
                pitr_wal_file_kind::BackupHistory => {
                    WalFileName::classify("000000010000000000000001.00000028.backup")
                }
                pitr_wal_file_kind::ArchiveStatus => WalFileName::classify("000000010000000000000001.done"),
            };
            assert_eq!(pitr_wal_file_kind::of(&json.kind), k);
            let v = serde_json::to_value(&json).unwrap_or_default();
            assert_eq!(v["kind"].as_str(), name.to_str().ok(), "{v}");
        }
    }

    #[test]
    fn compression_extensions_match_the_core() {
        for c in Compression::ALL {
            let p = pitr_compression_extension(pitr_compression::of(Some(c)) as u32);
            // SAFETY: static string.
            assert_eq!(unsafe { CStr::from_ptr(p) }.to_str().ok(), Some(c.extension()));
        }
        assert!(pitr_compression_extension(0).is_null());
        assert!(pitr_compression_extension(7).is_null());
    }
}
