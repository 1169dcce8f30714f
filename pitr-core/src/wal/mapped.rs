//! How segment bytes reach memory: `read(2)` into a reused buffer, or a
//! read-only memory map of the file, one bounded window at a time.
//!
//! Mapping avoids the kernel's copy of every byte from the page cache into a
//! buffer. `read(2)` is the default: on a warm 1 GB scan the copy's time moves
//! into the reader's own memory stalls when mapped (both are bound by memory
//! bandwidth) and the difference is within noise, while mapping trades the
//! copy for the invariant below.
//!
//! # The invariant mapping relies on
//!
//! A mapped file must not be truncated (or rewritten in place) while a window
//! of it is mapped. Reading a mapped page that a truncation removed raises
//! `SIGBUS`, which ends the process; bytes changed in place under a mapping are
//! seen as they change. PostgreSQL never truncates a WAL segment: `pg_wal`
//! segments are pre-allocated at full size, recycled by renaming and
//! overwritten page by page, and archived segments are complete files that a
//! correct `archive_command` never overwrites. The reader narrows the risk
//! further: each window is mapped only up to the file's length at that moment
//! (never past its end), and only regular, uncompressed files are mapped.
//! Where the invariant cannot be promised (an archive that a tool rewrites in
//! place, a file system shared with another host), use [`ReadMethod::Read`].
//!
//! Memory: at most one window ([`WINDOW`] bytes) of a file is mapped at a time;
//! its pages are the kernel's file cache, counted in the process's resident
//! set only while mapped, so the resident set stays bounded for any input size.

use super::error::WalError;
use super::source::{open_stream, read_full};
use crate::walfile::Compression;
use memmap2::{Mmap, MmapOptions};
use std::fs::File;
use std::path::Path;

/// How the WAL reader brings segment bytes into memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReadMethod {
    /// Memory-map regular, uncompressed files, [`WINDOW`] bytes at a time (no
    /// copy); read everything else. Requires that mapped files are not
    /// truncated while being read (see the [module documentation](self)).
    /// Opt-in: measured on 1 GB of warm-cache WAL it gains little (the scan is
    /// bound by memory bandwidth either way), and a file truncated under the
    /// mapping would kill the process, a C or Python host included.
    Map,
    /// `read(2)` into a reused 1 MiB buffer (one copy per byte); safe whatever
    /// happens to the files. The default.
    #[default]
    Read,
}

/// Bytes of a file mapped at a time: bounds the resident set. A multiple of
/// every WAL page size (1 to 64 KiB) and of the operating system's page size,
/// so a WAL page never straddles two windows.
pub const WINDOW: u64 = 4 << 20;

/// The length of `file` when it is a regular file that can be mapped.
pub(crate) fn mappable_len(file: &File) -> Option<u64> {
    let m = file.metadata().ok()?;
    m.file_type().is_file().then_some(m.len())
}

/// Maps `len` bytes of `file` from `offset` (a multiple of [`WINDOW`]), read
/// only. The caller has checked that `offset + len` is within the file's
/// current length and that `len > 0`.
pub(crate) fn map_window(file: &File, offset: u64, len: usize) -> std::io::Result<Mmap> {
    // SAFETY: the mapping is read-only and covers only bytes inside the file
    // as it is now. memmap2 asks that the file not change while mapped; the
    // module documentation states the invariant (WAL files are not truncated
    // or rewritten in place while they are read) and `ReadMethod::Read` is the
    // way out when it cannot be promised.
    unsafe { MmapOptions::new().offset(offset).len(len).map(file) }
}

/// The raw baseline of the WAL benchmark: CRC-32C over every byte of a file
/// (decompressed when `compression` is set), read with the same method and
/// windows as [`WalReader`](super::WalReader). Returns (bytes, CRC appended
/// to `crc`).
pub fn crc32c_file(
    path: &Path,
    compression: Option<Compression>,
    method: ReadMethod,
    mut crc: u32,
) -> Result<(u64, u32), WalError> {
    let io = |e: std::io::Error| WalError::io(path, e);
    if compression.is_none() && method == ReadMethod::Map {
        let file = File::open(path).map_err(io)?;
        if mappable_len(&file).is_some() {
            let mut off = 0u64;
            loop {
                // The file's current length, as the reader does for each window.
                let len = mappable_len(&file).unwrap_or(0);
                let n = usize::try_from(len.saturating_sub(off).min(WINDOW)).unwrap_or(0);
                if n == 0 {
                    break;
                }
                let map = map_window(&file, off, n).map_err(io)?;
                crc = crc32c::crc32c_append(crc, &map);
                off += n as u64;
            }
            return Ok((off, crc));
        }
    }
    let mut r = open_stream(path, compression)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = read_full(r.as_mut(), &mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        crc = crc32c::crc32c_append(crc, buf.get(..n).unwrap_or(&[]));
        total += n as u64;
    }
    Ok((total, crc))
}
