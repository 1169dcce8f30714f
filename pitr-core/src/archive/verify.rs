//! Verification of an archive's content: every segment's long page header,
//! sizes after decompression, duplicate copies, history files, and (deep)
//! every record's CRC.

use super::inventory::{ArchiveSummary, ArchivedFile, Inventory};
use super::problem::{Problem, ProblemCode, sort_problems};
use crate::compress;
use crate::wal::page::LONG_HEADER_LEN;
use crate::wal::{SegmentHeader, SegmentTail, VerifyOptions as WalVerifyOptions, WalError};
use crate::walfile::SegmentName;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;

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
    /// Every record of every segment (preferred copies) was checked.
    Done {
        /// Segments checked.
        segments: u64,
        /// Records checked.
        records: u64,
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

/// What one file's check found.
struct FileCheck {
    name: SegmentName,
    file: ArchivedFile,
    header: Option<SegmentHeader>,
    /// CRC-32C of the whole (decompressed) content, when it was read whole.
    digest: Option<u32>,
    problems: Vec<Problem>,
    /// Records checked by the deep check (`None`: not deep-checked).
    deep_records: Option<u64>,
}

/// A WAL error's message without the file name it starts with (the problem
/// names the file).
fn wal_message(e: &WalError, rel: &str) -> String {
    let m = e.to_string();
    m.strip_prefix(&format!("{rel}: ")).map(str::to_string).unwrap_or(m)
}

/// Reads a whole (possibly compressed) stream in chunks: its length and CRC-32C.
fn read_all(r: &mut dyn Read) -> std::io::Result<(u64, u32)> {
    let mut buf = vec![0u8; 256 << 10];
    let mut len = 0u64;
    let mut crc = 0u32;
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        crc = crc32c::crc32c_append(crc, &buf[..n]);
        len += n as u64;
    }
    Ok((len, crc))
}

fn check_file(inv: &Inventory, name: SegmentName, file: ArchivedFile, need_digest: bool) -> FileCheck {
    let mut fc =
        FileCheck { name, file, header: None, digest: None, problems: Vec::new(), deep_records: None };
    let rel = Some(fc.file.relative.clone());
    let mut reader = match compress::open(&fc.file.path) {
        Ok(r) => r,
        Err(e) => {
            fc.problems.push(Problem::error(ProblemCode::UnreadableFile, rel, e.to_string()));
            return fc;
        }
    };
    let mut head = [0u8; LONG_HEADER_LEN];
    let mut got = 0;
    while got < LONG_HEADER_LEN {
        match reader.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) => {
                fc.problems.push(Problem::error(ProblemCode::UnreadableFile, rel, format!("{e}")));
                return fc;
            }
        }
    }
    match SegmentHeader::parse(&head[..got], Path::new(&fc.file.relative)) {
        Ok(h) => fc.header = Some(h),
        Err(e) if got < LONG_HEADER_LEN => {
            fc.problems.push(Problem::error(
                ProblemCode::BadSize,
                rel.clone(),
                format!(
                    "{got} bytes: too short to be a WAL segment ({})",
                    wal_message(&e, &fc.file.relative)
                ),
            ));
            return fc;
        }
        Err(e) => {
            let what = match e {
                WalError::UnsupportedVersion { .. } | WalError::BigEndian { .. } => "",
                _ => "not a WAL segment: ",
            };
            fc.problems.push(Problem::error(
                ProblemCode::UnsupportedVersion,
                rel.clone(),
                format!("{what}{}", wal_message(&e, &fc.file.relative)),
            ));
        }
    }

    // Size (and digest when copies must be compared).
    let size = if fc.file.compression.is_none() && !need_digest {
        match std::fs::metadata(&fc.file.path) {
            Ok(m) => Some(m.len()),
            Err(e) => {
                fc.problems.push(Problem::error(ProblemCode::UnreadableFile, rel.clone(), e.to_string()));
                None
            }
        }
    } else {
        let mut chained = std::io::Read::chain(&head[..got], reader);
        match read_all(&mut chained) {
            Ok((len, crc)) => {
                fc.digest = Some(crc);
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
    finish(inv, fc, size)
}

/// The record-level check of one segment, by the WAL reader: every record
/// starting in it is read and its CRC, `xl_prev` link and structure checked;
/// the record that continues into the next segment is finished there when the
/// next segment of the same timeline is in the archive.
fn deep_check(inv: &Inventory, fc: &mut FileCheck, system_id: Option<u64>, block_size: Option<u32>) {
    let Some(seg) = inv.seg_size() else { return };
    let rel = fc.file.relative.clone();
    let next = fc
        .name
        .segno(seg)
        .and_then(|n| inv.segment_file(SegmentName::new(fc.name.timeline, n + 1, seg)))
        .map(|f| f.path);
    let opts = WalVerifyOptions { system_id, next_segments: next.into_iter().collect(), block_size };
    match crate::wal::verify_segment(&fc.file.path, &opts) {
        Ok(check) => {
            fc.deep_records = Some(check.records);
            if let Some(e) = &check.damage {
                let code = match e {
                    WalError::BadCrc { .. } => ProblemCode::CrcMismatch,
                    _ => ProblemCode::InvalidRecord,
                };
                let at = e.record_lsn().or(e.lsn()).map_or(String::new(), |l| format!("at {l}: "));
                let msg = e.to_string();
                let msg = msg.rsplit_once(": ").map_or(msg.as_str(), |(_, m)| m).to_string();
                let msg = if e.file().is_some_and(|f| f != fc.file.path) {
                    format!(
                        "{at}{} (in {})",
                        msg,
                        e.file().map(|f| f.display().to_string()).unwrap_or_default()
                    )
                } else {
                    format!("{at}{msg}")
                };
                fc.problems.push(Problem::error(code, Some(rel), msg));
            } else if let Some(SegmentTail::EndOfWal(end)) = &check.tail {
                let later = fc
                    .name
                    .segno(seg)
                    .and_then(|n| inv.timeline(fc.name.timeline)?.last?.segno(seg).map(|l| l > n))
                    .unwrap_or(false);
                if later {
                    fc.problems.push(Problem::error(
                        ProblemCode::InvalidRecord,
                        Some(rel),
                        format!(
                            "WAL ends at {} inside this segment ({}), but later segments of timeline {} follow",
                            end.position, end.reason, fc.name.timeline
                        ),
                    ));
                }
            }
        }
        // Refusals of the whole file (another cluster, recycled, not WAL) are
        // reported by the header checks already.
        Err(e) if fc.problems.is_empty() && !e.is_damage() && !matches!(e, WalError::Io { .. }) => {}
        Err(e) if fc.problems.is_empty() => {
            fc.problems.push(Problem::error(ProblemCode::UnreadableFile, Some(rel), e.to_string()));
        }
        Err(_) => {}
    }
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
    let deep = opts.deep;
    let n = inv.segment_file_count();
    let first = inv.first_header().map(|(_, h)| *h);
    let tick = || {
        if let Some(p) = opts.progress {
            p();
        }
    };
    let mut results: Vec<FileCheck> = (0..n)
        .into_par_iter()
        .filter_map(|i| {
            let (name, file, preferred, dup) = inv.file_at(i)?;
            let mut r = check_file(inv, name, file, dup);
            if deep && preferred && r.header.is_some() {
                deep_check(inv, &mut r, first.map(|h| h.system_id), first.map(|h| h.page_size));
            }
            tick();
            Some(r)
        })
        .collect();
    let partials: Vec<_> = inv
        .partials()
        .par_iter()
        .map(|(name, file)| {
            let r = check_file(inv, *name, file.clone(), false);
            tick();
            r
        })
        .collect();
    results.extend(partials);

    let mut problems: Vec<Problem> = inv.problems().to_vec();

    // The archive's system id, segment size and major: the most common values
    // (the first readable segment breaks ties), so one foreign file is the
    // one reported.
    let headers: Vec<&SegmentHeader> = results.iter().filter_map(|f| f.header.as_ref()).collect();
    let sysid = majority(headers.iter().map(|h| h.system_id), first.map(|h| h.system_id));
    let seg_bytes = inv.seg_size().map(|s| s.bytes_u32());
    let blcksz = majority(headers.iter().map(|h| h.page_size), first.map(|h| h.page_size));
    let major = majority(headers.iter().map(|h| h.major), first.map(|h| h.major));

    let mut deep_done = 0u64;
    let mut deep_records = 0u64;
    let mut digests: HashMap<SegmentName, Vec<(String, u32)>> = HashMap::new();
    for fc in &results {
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
            if let Some(b) = seg_bytes.filter(|b| *b != h.seg_size.bytes_u32()) {
                problems.push(Problem::error(
                    ProblemCode::SegmentSizeMismatch,
                    rel.clone(),
                    format!(
                        "the header says segments of {} bytes, the archive's are {b}",
                        h.seg_size.bytes()
                    ),
                ));
            }
            if let Some(b) = blcksz.filter(|b| *b != h.page_size) {
                problems.push(Problem::error(
                    ProblemCode::SegmentSizeMismatch,
                    rel.clone(),
                    format!("the header says WAL blocks of {} bytes, the archive's are {b}", h.page_size),
                ));
            }
            if let Some(am) = major.filter(|am| *am != h.major) {
                problems.push(Problem::error(
                    ProblemCode::VersionMismatch,
                    rel.clone(),
                    format!("WAL of PostgreSQL {}, the archive's is PostgreSQL {am}", h.major),
                ));
            }
        }
        if let Some(d) = fc.digest {
            if !fc.file.relative.ends_with(".partial") && !fc.file.relative.contains(".partial") {
                digests.entry(fc.name).or_default().push((fc.file.relative.clone(), d));
            }
        }
        if let Some(n) = fc.deep_records {
            deep_done += 1;
            deep_records += n;
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
        deep: if opts.deep {
            DeepCheck::Done { segments: deep_done, records: deep_records }
        } else {
            DeepCheck::Skipped
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
