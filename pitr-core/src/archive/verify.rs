//! Verification of an archive's content: every segment's long page header,
//! sizes after decompression, duplicate copies, history files, and (deep)
//! every record's CRC.

use super::header::{LONG_HEADER_SIZE, SegmentHeader};
use super::inventory::{ArchiveSummary, ArchivedFile, Inventory};
use super::problem::{Problem, ProblemCode, sort_problems};
use crate::compress;
use crate::lsn::{Lsn, WalSegSize};
use crate::walfile::SegmentName;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::io::Read;

/// Options of [`verify`].
#[derive(Default)]
pub struct VerifyOptions<'a> {
    /// Check every record's CRC (reads every segment completely).
    pub deep: bool,
    /// Called once per file checked (from worker threads), for a progress bar.
    pub progress: Option<&'a (dyn Fn() + Sync)>,
}

impl std::fmt::Debug for VerifyOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyOptions").field("deep", &self.deep).finish_non_exhaustive()
    }
}

/// What happened to the record-level (`--deep`) check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum DeepCheck {
    /// Not asked for.
    Skipped,
    /// Every record of every segment was checked.
    Done {
        /// Segments checked.
        segments: u64,
    },
    /// Not available in this build; the reason.
    Unavailable {
        /// Why.
        reason: String,
    },
}

/// The result of [`verify`].
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// The inventory with every problem (scan and content).
    #[serde(flatten)]
    pub summary: ArchiveSummary,
    /// Segment and `.partial` files whose content was checked.
    pub files_checked: u64,
    /// The record-level check.
    pub deep: DeepCheck,
}

impl VerifyReport {
    /// True when no problem was found (warnings included).
    pub fn is_clean(&self) -> bool {
        self.summary.problems.is_empty()
    }
}

/// Outcome of the record-level check of one segment: `Ok(None)` clean,
/// `Ok(Some((lsn, message)))` the first damage, `Err` the check could not run.
type DeepResult = Result<Option<(Lsn, String)>, String>;

/// What one file's check found.
struct FileCheck {
    name: SegmentName,
    file: ArchivedFile,
    header: Option<SegmentHeader>,
    /// CRC-32C of the whole (decompressed) content, when it was read whole.
    digest: Option<u32>,
    problems: Vec<Problem>,
}

/// SEAM: the record-level check of one segment. To be replaced by the WAL
/// reader's per-segment verification (`pitr_core::wal`) once it is available;
/// until then `--deep` reports [`DeepCheck::Unavailable`] and checks nothing
/// beyond the page headers. This function must not parse records itself.
fn deep_check_segment(_bytes: &[u8], _name: SegmentName, _seg: WalSegSize) -> DeepResult {
    Err("record-level verification needs pitr's WAL record reader, which is not part of this build yet"
        .to_string())
}

fn deep_available() -> Result<(), String> {
    deep_check_segment(&[], SegmentName { timeline: 1, log: 0, seg: 0 }, WalSegSize::DEFAULT).map(|_| ())
}

/// Reads a whole (possibly compressed) file in chunks: its length, CRC-32C and,
/// when `keep`, the bytes (up to `limit`).
fn read_all(r: &mut dyn Read, keep: bool, limit: u64) -> std::io::Result<(u64, u32, Vec<u8>)> {
    let mut buf = vec![0u8; 256 << 10];
    let mut len = 0u64;
    let mut crc = 0u32;
    let mut kept = Vec::new();
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        crc = crc32c::crc32c_append(crc, chunk);
        if keep && len < limit {
            kept.extend_from_slice(chunk);
        }
        len += n as u64;
    }
    Ok((len, crc, kept))
}

fn check_file(
    inv: &Inventory,
    name: SegmentName,
    file: ArchivedFile,
    need_digest: bool,
    deep: bool,
) -> (FileCheck, Option<DeepResult>) {
    let mut fc = FileCheck { name, file, header: None, digest: None, problems: Vec::new() };
    let rel = Some(fc.file.relative.clone());
    let seg = inv.seg_size();
    let mut reader = match compress::open(&fc.file.path) {
        Ok(r) => r,
        Err(e) => {
            fc.problems.push(Problem::error(ProblemCode::UnreadableFile, rel, e.to_string()));
            return (fc, None);
        }
    };
    let mut head = [0u8; LONG_HEADER_SIZE];
    let mut got = 0;
    while got < LONG_HEADER_SIZE {
        match reader.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) => {
                fc.problems.push(Problem::error(ProblemCode::UnreadableFile, rel, format!("{e}")));
                return (fc, None);
            }
        }
    }
    match SegmentHeader::parse(&head[..got]) {
        Ok(h) => fc.header = Some(h),
        Err(e) if got < LONG_HEADER_SIZE => {
            fc.problems.push(Problem::error(
                ProblemCode::BadSize,
                rel.clone(),
                format!("{got} bytes: too short to be a WAL segment ({})", e.message),
            ));
            return (fc, None);
        }
        Err(e) => {
            fc.problems.push(Problem::error(
                ProblemCode::UnsupportedVersion,
                rel.clone(),
                format!("not a WAL segment of a supported version: {}", e.message),
            ));
        }
    }

    // Size (and digest, and bytes for the deep check).
    let plain = fc.file.compression.is_none();
    let want_bytes = deep && fc.header.is_some();
    let size = if plain && !need_digest && !want_bytes {
        match std::fs::metadata(&fc.file.path) {
            Ok(m) => Some(m.len()),
            Err(e) => {
                fc.problems.push(Problem::error(ProblemCode::UnreadableFile, rel.clone(), e.to_string()));
                None
            }
        }
    } else {
        let mut chained = std::io::Read::chain(&head[..got], reader);
        match read_all(&mut chained, want_bytes, seg.map_or(0, WalSegSize::bytes)) {
            Ok((len, crc, bytes)) => {
                fc.digest = Some(crc);
                if want_bytes {
                    if let Some(s) = seg.filter(|s| bytes.len() as u64 == s.bytes()) {
                        let deep_result = deep_check_segment(&bytes, name, s);
                        let size_ok = len;
                        return (finish(inv, fc, Some(size_ok)), Some(deep_result));
                    }
                }
                Some(len)
            }
            Err(e) => {
                fc.problems.push(Problem::error(
                    ProblemCode::UnreadableFile,
                    rel.clone(),
                    format!("cannot decompress: {e}"),
                ));
                None
            }
        }
    };
    (finish(inv, fc, size), None)
}

/// Header checks that need only this file (and the archive's segment size).
fn finish(inv: &Inventory, mut fc: FileCheck, size: Option<u64>) -> FileCheck {
    let rel = Some(fc.file.relative.clone());
    let seg = inv.seg_size();
    if let (Some(s), Some(len)) = (seg, size) {
        if len != s.bytes() {
            fc.problems.push(Problem::error(
                ProblemCode::BadSize,
                rel.clone(),
                format!(
                    "{len} bytes{} instead of the segment size {} ({} bytes)",
                    if fc.file.compression.is_some() { " after decompression" } else { "" },
                    s,
                    s.bytes()
                ),
            ));
        }
    }
    if let (Some(h), Some(s)) = (fc.header, seg) {
        if let Some(start) = fc.name.start_lsn(s) {
            if h.pageaddr != start {
                fc.problems.push(Problem::error(
                    ProblemCode::WrongPageaddr,
                    rel.clone(),
                    format!(
                        "the first page is at {} but the name says {}: a recycled or misnamed file, with no valid WAL for this name",
                        h.pageaddr, start
                    ),
                ));
            }
        }
        if h.timeline > fc.name.timeline {
            fc.problems.push(Problem::error(
                ProblemCode::TimelineMismatch,
                rel,
                format!(
                    "the first page is on timeline {} but the name says timeline {}",
                    h.timeline, fc.name.timeline
                ),
            ));
        }
    }
    fc
}

/// Checks every segment and `.partial` file of `inv`, every history file and
/// duplicate copy; with `deep`, every record's CRC. Runs in parallel on all
/// cores. Never fails: unreadable files are problems.
pub fn verify(inv: &Inventory, opts: &VerifyOptions<'_>) -> VerifyReport {
    let deep_status = if opts.deep { deep_available().err() } else { None };
    let deep = opts.deep && deep_status.is_none();
    let n = inv.segment_file_count();
    let tick = || {
        if let Some(p) = opts.progress {
            p();
        }
    };
    let mut results: Vec<(FileCheck, Option<DeepResult>)> = (0..n)
        .into_par_iter()
        .filter_map(|i| {
            let (name, file, preferred, dup) = inv.file_at(i)?;
            let r = check_file(inv, name, file, dup, deep && preferred);
            tick();
            Some(r)
        })
        .collect();
    let partials: Vec<_> = inv
        .partials()
        .par_iter()
        .map(|(name, file)| {
            let r = check_file(inv, *name, file.clone(), false, false);
            tick();
            r
        })
        .collect();
    results.extend(partials);

    let mut problems: Vec<Problem> = inv.problems().to_vec();

    // The archive's system id, segment size and major: the most common values
    // (the first readable segment breaks ties), so one foreign file is the
    // one reported.
    let headers: Vec<&SegmentHeader> = results.iter().filter_map(|(f, _)| f.header.as_ref()).collect();
    let first = inv.first_header().map(|(_, h)| *h);
    let sysid = majority(headers.iter().map(|h| h.system_id), first.map(|h| h.system_id));
    let seg_bytes = inv.seg_size().map(|s| s.bytes_u32());
    let blcksz = majority(headers.iter().map(|h| h.block_size), first.map(|h| h.block_size));
    let magic = majority(
        headers.iter().filter(|h| h.major().is_some()).map(|h| h.magic),
        first.filter(|h| h.major().is_some()).map(|h| h.magic),
    );

    let mut deep_done = 0u64;
    let mut digests: HashMap<SegmentName, Vec<(String, u32)>> = HashMap::new();
    for (fc, deep_result) in &results {
        let rel = Some(fc.file.relative.clone());
        problems.extend(fc.problems.iter().cloned());
        if let Some(h) = &fc.header {
            if let Some(s) = sysid.filter(|s| *s != h.system_id) {
                problems.push(Problem::error(
                    ProblemCode::SystemIdMismatch,
                    rel.clone(),
                    format!(
                        "system identifier {} instead of the archive's {s}: WAL of another cluster",
                        h.system_id
                    ),
                ));
            }
            if let Some(b) = seg_bytes.filter(|b| *b != h.seg_size_bytes) {
                problems.push(Problem::error(
                    ProblemCode::SegmentSizeMismatch,
                    rel.clone(),
                    format!("the header says segments of {} bytes, the archive's are {b}", h.seg_size_bytes),
                ));
            }
            if let Some(b) = blcksz.filter(|b| *b != h.block_size) {
                problems.push(Problem::error(
                    ProblemCode::SegmentSizeMismatch,
                    rel.clone(),
                    format!("the header says WAL blocks of {} bytes, the archive's are {b}", h.block_size),
                ));
            }
            match (h.major(), magic) {
                (None, _) => problems.push(Problem::error(
                    ProblemCode::UnsupportedVersion,
                    rel.clone(),
                    format!("WAL of {}", h.describe_magic()),
                )),
                (Some(m), Some(am)) if m.wal_magic() != am => problems.push(Problem::error(
                    ProblemCode::VersionMismatch,
                    rel.clone(),
                    format!(
                        "WAL of PostgreSQL {m}, the archive's is PostgreSQL {}",
                        crate::version::PgMajor::from_wal_magic(am).map_or(0, |x| x.number())
                    ),
                )),
                _ => {}
            }
        }
        if let Some(d) = fc.digest {
            if !fc.file.relative.ends_with(".partial") && !fc.file.relative.contains(".partial") {
                digests.entry(fc.name).or_default().push((fc.file.relative.clone(), d));
            }
        }
        match deep_result {
            Some(Ok(None)) => deep_done += 1,
            Some(Ok(Some((lsn, msg)))) => {
                deep_done += 1;
                let code = if msg.contains("CRC") || msg.contains("checksum") {
                    ProblemCode::CrcMismatch
                } else {
                    ProblemCode::InvalidRecord
                };
                problems.push(Problem::error(code, rel.clone(), format!("at {lsn}: {msg}")));
            }
            Some(Err(e)) => {
                problems.push(Problem::error(ProblemCode::UnreadableFile, rel.clone(), e.clone()))
            }
            None => {}
        }
    }

    // Duplicate copies must have the same content.
    let mut dup_names: Vec<_> = digests.into_iter().filter(|(_, v)| v.len() > 1).collect();
    dup_names.sort_by_key(|(n, _)| *n);
    for (name, copies) in dup_names {
        let reference = copies[0].1;
        for (rel, d) in &copies[1..] {
            if *d != reference {
                problems.push(Problem::error(
                    ProblemCode::DuplicateMismatch,
                    Some(rel.clone()),
                    format!("its content differs from {} (another copy of {name})", copies[0].0),
                ));
            }
        }
    }
    problems.extend(check_switch_points(inv));
    // History file copies as well.
    for h in inv.history().values() {
        if h.copies.is_empty() {
            continue;
        }
        let read = |f: &ArchivedFile| compress::read_to_vec(&f.path, 16 << 20).ok();
        let main = read(&h.file);
        for c in &h.copies {
            if read(c) != main {
                problems.push(Problem::error(
                    ProblemCode::DuplicateMismatch,
                    Some(c.relative.clone()),
                    format!("its content differs from {}", h.file.relative),
                ));
            }
        }
    }

    sort_problems(&mut problems);
    problems.dedup();
    let files_checked = results.len() as u64;
    VerifyReport {
        summary: inv.summary(&problems),
        files_checked,
        deep: match (opts.deep, deep_status) {
            (false, _) => DeepCheck::Skipped,
            (true, Some(reason)) => DeepCheck::Unavailable { reason },
            (true, None) => DeepCheck::Done { segments: deep_done },
        },
    }
}

/// At a switch point in the middle of a segment, the child's first segment is
/// a byte copy of the parent's segment up to the switch point
/// (`XLogInitNewTimeline`). When both copies are here, they must agree: if not,
/// the history file does not describe these segments (another history, or a
/// segment from elsewhere).
fn check_switch_points(inv: &Inventory) -> Vec<Problem> {
    let Some(seg) = inv.seg_size() else { return Vec::new() };
    let mut out = Vec::new();
    for t in inv.timelines() {
        let (Some(parent), Some(switch)) = (t.parent, t.switch_lsn) else { continue };
        let offset = switch.segment_offset(seg);
        if offset == 0 {
            continue;
        }
        let segno = switch.segment(seg);
        let child = SegmentName::new(t.timeline, segno, seg);
        let (Some(c), Some(p)) = (inv.segment_file(child), inv.segment_file(child.with_timeline(parent)))
        else {
            continue;
        };
        let read = |f: &ArchivedFile| -> Option<Vec<u8>> {
            let mut r = compress::open(&f.path).ok()?.take(offset);
            let mut v = Vec::new();
            r.read_to_end(&mut v).ok()?;
            Some(v)
        };
        let (Some(cb), Some(pb)) = (read(&c), read(&p)) else { continue };
        if cb != pb {
            let at = cb.iter().zip(&pb).position(|(a, b)| a != b).unwrap_or(cb.len().min(pb.len()));
            out.push(Problem::error(
                ProblemCode::SwitchPointMismatch,
                Some(c.relative.clone()),
                format!(
                    "timeline {} began at {switch} (its history file), so this segment must repeat {} up to \
                     offset {offset:#X}, but they differ at offset {at:#X}: the history file does not describe \
                     these segments",
                    t.timeline, p.relative
                ),
            ));
        }
    }
    out
}

fn majority<T: Ord + Copy>(values: impl Iterator<Item = T>, tie: Option<T>) -> Option<T> {
    let mut counts: BTreeMap<T, usize> = BTreeMap::new();
    for v in values {
        *counts.entry(v).or_default() += 1;
    }
    let best = counts.values().copied().max()?;
    if let Some(t) = tie {
        if counts.get(&t) == Some(&best) {
            return Some(t);
        }
    }
    counts.into_iter().find(|(_, c)| *c == best).map(|(v, _)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majority_prefers_the_tie_breaker() {
        assert_eq!(majority([1, 2, 2].into_iter(), Some(1)), Some(2));
        assert_eq!(majority([1, 2].into_iter(), Some(2)), Some(2));
        assert_eq!(majority(std::iter::empty::<u32>(), Some(2)), None);
    }
}
