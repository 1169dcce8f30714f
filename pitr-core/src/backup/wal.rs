//! The WAL a backup needs: which segment files the manifest's `WAL-Ranges`
//! require, and whether a WAL source (an archive directory, flat or nested,
//! or the backup's own `pg_wal`) holds them.
//!
//! Today the check is by file name. Reading the records through those ranges
//! (what `pg_verifybackup` asks `pg_waldump` to do) plugs in through
//! [`WalRangeParser`]: when a parser is given, it is called for every range
//! whose segments are all present.

use super::source::{self, Flow};
use super::{Backup, BackupFormat, Problem, TarFile};
use crate::compress;
use crate::error::{Error, IoResultExt};
use crate::lsn::WalSegSize;
use crate::manifest::{BackupPath, WalRange};
use crate::walfile::{SegmentName, WalFileName};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Where a segment file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SegmentLocation {
    /// A file (possibly compressed: see its extension).
    File(PathBuf),
    /// A member of a tar file of the backup.
    TarMember {
        /// The tar file.
        tar: TarFile,
        /// The member, as a data-directory path (`pg_wal/<name>`).
        path: BackupPath,
    },
}

/// A set of WAL segment files found by name.
#[derive(Debug, Clone, Default)]
pub struct WalSource {
    /// A description for messages (`archive /x`, `the backup's pg_wal`).
    pub description: String,
    /// Every full segment found, with where it is (the first copy found:
    /// uncompressed copies are preferred).
    pub segments: BTreeMap<SegmentName, SegmentLocation>,
}

/// How deep [`WalSource::from_archive_dir`] looks: `DIR/<name>` (flat),
/// `DIR/<16 hex>/<name>` (Barman), `DIR/<ver>-<id>/<16 hex>/<name>` (pgBackRest).
pub const ARCHIVE_SCAN_DEPTH: usize = 3;

impl WalSource {
    /// Scans an archive directory by file name, flat or nested up to
    /// [`ARCHIVE_SCAN_DEPTH`] levels. Plain, compressed and pgBackRest-named
    /// copies all count.
    pub fn from_archive_dir(dir: &Path) -> Result<WalSource, Error> {
        let mut src =
            WalSource { description: format!("archive {}", dir.display()), segments: BTreeMap::new() };
        let mut found: Vec<(SegmentName, bool, PathBuf)> = Vec::new();
        scan_dir(dir, 1, &mut found)?;
        // Uncompressed first, then by path, so the choice is deterministic.
        found.sort_by(|a, b| (a.0, a.1, &a.2).cmp(&(b.0, b.1, &b.2)));
        for (seg, _, path) in found {
            src.segments.entry(seg).or_insert(SegmentLocation::File(path));
        }
        Ok(src)
    }

    /// The WAL included in a backup (`pg_wal/` of a plain backup, `pg_wal.tar`
    /// or `pg_wal/` inside `base.tar`), from what [`Backup::open`] listed.
    /// `None` when the backup holds no WAL segment.
    pub fn from_backup(backup: &Backup) -> Option<WalSource> {
        let mut src = WalSource { description: "the backup's pg_wal".into(), segments: BTreeMap::new() };
        for w in &backup.wal {
            let Some(seg) = WalFileName::classify(&w.name).segment() else { continue };
            let loc = match (&backup.format, &w.archive) {
                (BackupFormat::Tar, Some(archive)) => {
                    let Some(tar) = backup.tars.iter().find(|t| &t.name == archive) else { continue };
                    SegmentLocation::TarMember {
                        tar: tar.clone(),
                        path: BackupPath::from_bytes(format!("pg_wal/{}", w.name)),
                    }
                }
                _ => SegmentLocation::File(backup.path.join("pg_wal").join(&w.name)),
            };
            src.segments.entry(seg).or_insert(loc);
        }
        (!src.segments.is_empty()).then_some(src)
    }

    /// True when segment `seg` is present.
    pub fn contains(&self, seg: SegmentName) -> bool {
        self.segments.contains_key(&seg)
    }

    /// Opens segment `seg`, decompressed. For a tar member the tar is read up
    /// to it (and the segment is held in memory).
    pub fn open(&self, seg: SegmentName) -> Result<Box<dyn Read>, Error> {
        match self.segments.get(&seg) {
            None => Err(Error::Invalid(format!("WAL segment {seg} is not in {}", self.description))),
            Some(SegmentLocation::File(p)) => Ok(compress::open(p)?),
            Some(SegmentLocation::TarMember { tar, path }) => {
                let mut data: Option<Vec<u8>> = None;
                source::walk_tar(tar, &mut |e, r| {
                    if e.path == path {
                        let mut v = Vec::with_capacity(usize::try_from(e.size).unwrap_or(0).min(1 << 30));
                        r.read_to_end(&mut v)
                            .map_err(|err| Error::Io(crate::error::IoError::new(PathBuf::new(), err)))?;
                        data = Some(v);
                        return Ok(Flow::Stop);
                    }
                    Ok(Flow::Continue)
                })?;
                match data {
                    Some(v) => Ok(Box::new(std::io::Cursor::new(v))),
                    None => Err(Error::Invalid(format!("{}: member {path} not found", tar.path.display()))),
                }
            }
        }
    }
}

fn scan_dir(dir: &Path, depth: usize, found: &mut Vec<(SegmentName, bool, PathBuf)>) -> Result<(), Error> {
    for e in fs::read_dir(dir).at_path(dir)? {
        let e = e.at_path(dir)?;
        let path = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        let ft = e.file_type().at_path(&path)?;
        let is_dir = ft.is_dir() || (ft.is_symlink() && path.is_dir());
        if is_dir {
            if depth < ARCHIVE_SCAN_DEPTH && name != "archive_status" {
                scan_dir(&path, depth + 1, found)?;
            }
            continue;
        }
        let c = WalFileName::classify(&name);
        if let Some(seg) = c.segment() {
            found.push((seg, c.compression.is_some() || c.sha1.is_some(), path));
        }
    }
    Ok(())
}

/// Reads the WAL records of a range, as `pg_waldump --timeline=T --start=S
/// --end=E` does for `pg_verifybackup`. The WAL reader implements this; the
/// name check runs without it.
pub trait WalRangeParser {
    /// Reads every record from `range.start_lsn` to `range.end_lsn` on
    /// `range.timeline`, opening segments with [`WalSource::open`]. `Err`
    /// says what failed and where (LSN, file).
    fn parse_range(&self, source: &WalSource, range: &WalRange, seg_size: WalSegSize) -> Result<(), String>;
}

/// Longest range checked, in segments (1 TiB of 1 MiB segments, 16 TiB of 16 MiB ones).
pub const MAX_RANGE_SEGMENTS: u64 = 1 << 20;

/// The check of one `WAL-Ranges` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RangeCheck {
    /// The range.
    #[serde(flatten)]
    pub range: WalRange,
    /// Segment files it needs, in order (after dropping a last segment that
    /// a newer timeline's range also starts in: recovery reads that segment
    /// from the newer timeline).
    pub segments: Vec<SegmentName>,
    /// Those that are missing.
    pub missing: Vec<SegmentName>,
    /// `Some(true)` when a [`WalRangeParser`] read the range, `Some(false)`
    /// when it failed, `None` when it was not run.
    pub parsed: Option<bool>,
}

/// The segment files each range needs: from the segment of `Start-LSN` to
/// the segment holding the byte before `End-LSN`, named with the range's
/// timeline. When a newer range begins in the segment where an older one
/// ends (a timeline switch inside a segment), that segment is needed only on
/// the newer timeline.
pub fn needed_segments(ranges: &[WalRange], seg: WalSegSize) -> Vec<Vec<SegmentName>> {
    let mut out = Vec::with_capacity(ranges.len());
    for r in ranges {
        if !plausible(r, seg) {
            out.push(Vec::new());
            continue;
        }
        let first = r.start_lsn.segment(seg);
        let mut last = if r.end_lsn > r.start_lsn { r.end_lsn.prev_segment(seg) } else { first };
        let newer_starts_here = ranges.iter().any(|o| {
            o.timeline > r.timeline && o.start_lsn.segment(seg) == last && o.start_lsn > r.start_lsn
        });
        let mut segs = Vec::new();
        if newer_starts_here {
            if last == first {
                out.push(segs);
                continue;
            }
            last -= 1;
        }
        let count = last.saturating_sub(first).saturating_add(1);
        for i in 0..count {
            segs.push(SegmentName::new(r.timeline, first + i, seg));
        }
        out.push(segs);
    }
    out
}

/// A range that ends after it starts and spans fewer than [`MAX_RANGE_SEGMENTS`].
fn plausible(r: &WalRange, seg: WalSegSize) -> bool {
    r.end_lsn >= r.start_lsn && (r.end_lsn.as_u64() - r.start_lsn.as_u64()) / seg.bytes() < MAX_RANGE_SEGMENTS
}

/// Checks that `source` holds every segment the ranges need and, with a
/// parser, reads each complete range.
pub fn check_ranges(
    ranges: &[WalRange],
    seg: WalSegSize,
    source: &WalSource,
    parser: Option<&dyn WalRangeParser>,
) -> (Vec<RangeCheck>, Vec<Problem>) {
    let mut checks = Vec::new();
    let mut problems = Vec::new();
    for (r, segments) in ranges.iter().zip(needed_segments(ranges, seg)) {
        if !plausible(r, seg) {
            problems.push(Problem::error(
                "wal_range_invalid",
                None,
                format!(
                    "WAL range of timeline {} from {} to {} is not plausible (end before start, or more than \
                     {MAX_RANGE_SEGMENTS} segments): not checked",
                    r.timeline, r.start_lsn, r.end_lsn
                ),
            ));
            checks.push(RangeCheck { range: *r, segments: Vec::new(), missing: Vec::new(), parsed: None });
            continue;
        }
        let missing: Vec<SegmentName> = segments.iter().copied().filter(|s| !source.contains(*s)).collect();
        for m in &missing {
            problems.push(Problem::error(
                "missing_wal",
                Some(m.to_string()),
                format!(
                    "WAL file {m} needed by the backup (timeline {}, {} to {}) is not in {}",
                    r.timeline, r.start_lsn, r.end_lsn, source.description
                ),
            ));
        }
        let parsed = match parser {
            Some(p) if missing.is_empty() => match p.parse_range(source, r, seg) {
                Ok(()) => Some(true),
                Err(msg) => {
                    problems.push(Problem::error(
                        "wal_parse_failed",
                        None,
                        format!("WAL parsing failed for timeline {}: {msg}", r.timeline),
                    ));
                    Some(false)
                }
            },
            _ => None,
        };
        checks.push(RangeCheck { range: *r, segments, missing, parsed });
    }
    (checks, problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lsn::Lsn;
    use std::cell::RefCell;

    fn mb() -> WalSegSize {
        WalSegSize::new(1 << 20).unwrap()
    }

    fn names(v: &[SegmentName]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn one_timeline() {
        let r = [WalRange { timeline: 1, start_lsn: Lsn(0xA00028), end_lsn: Lsn(0xA00100) }];
        assert_eq!(names(&needed_segments(&r, mb())[0]), vec!["00000001000000000000000A"]);
        // Ending exactly at a boundary does not need the next segment.
        let r = [WalRange { timeline: 1, start_lsn: Lsn(0xA00028), end_lsn: Lsn(0xC00000) }];
        assert_eq!(
            names(&needed_segments(&r, mb())[0]),
            vec!["00000001000000000000000A", "00000001000000000000000B"]
        );
        // Crossing an xlogid with 16 MB segments.
        let r = [WalRange { timeline: 3, start_lsn: Lsn(0xFF00_0028), end_lsn: Lsn(0x1_0100_0000) }];
        assert_eq!(
            names(&needed_segments(&r, WalSegSize::DEFAULT)[0]),
            vec!["0000000300000000000000FF", "000000030000000100000000"]
        );
    }

    #[test]
    fn implausible_ranges_are_reported_not_listed() {
        let src = WalSource::default();
        let ranges = [
            WalRange { timeline: 1, start_lsn: Lsn(0x2000000), end_lsn: Lsn(0x1000000) },
            WalRange { timeline: 1, start_lsn: Lsn(0), end_lsn: Lsn::MAX },
        ];
        let (checks, problems) = check_ranges(&ranges, mb(), &src, None);
        assert!(checks.iter().all(|c| c.segments.is_empty()));
        assert_eq!(problems.iter().map(|p| p.code).collect::<Vec<_>>(), vec!["wal_range_invalid"; 2]);
        assert!(needed_segments(&ranges, mb()).iter().all(Vec::is_empty));
    }

    #[test]
    fn timeline_switch_inside_a_segment() {
        // Newest first, as the server writes them.
        let r = [
            WalRange { timeline: 2, start_lsn: Lsn(0xB80000), end_lsn: Lsn(0xC00100) },
            WalRange { timeline: 1, start_lsn: Lsn(0xA00028), end_lsn: Lsn(0xB80000) },
        ];
        let n = needed_segments(&r, mb());
        assert_eq!(names(&n[0]), vec!["00000002000000000000000B", "00000002000000000000000C"]);
        assert_eq!(names(&n[1]), vec!["00000001000000000000000A"]);
    }

    struct Recorder {
        calls: RefCell<Vec<u32>>,
        fail_on: u32,
    }

    impl WalRangeParser for Recorder {
        fn parse_range(&self, source: &WalSource, range: &WalRange, seg: WalSegSize) -> Result<(), String> {
            self.calls.borrow_mut().push(range.timeline);
            // The parser can open what the name check found.
            let first = SegmentName::of_lsn(range.timeline, range.start_lsn, seg);
            let mut buf = Vec::new();
            source
                .open(first)
                .map_err(|e| e.to_string())?
                .read_to_end(&mut buf)
                .map_err(|e| e.to_string())?;
            if range.timeline == self.fail_on {
                return Err(format!("invalid record length at {} ({} bytes read)", range.end_lsn, buf.len()));
            }
            Ok(())
        }
    }

    #[test]
    fn archive_scan_and_parser_seam() {
        let d = tempfile::tempdir().unwrap();
        // Flat, Barman-nested, compressed and pgBackRest-named copies.
        fs::write(d.path().join("00000001000000000000000A"), b"seg-a").unwrap();
        fs::create_dir_all(d.path().join("0000000100000000")).unwrap();
        fs::write(d.path().join("0000000100000000/00000002000000000000000B.gz"), b"x").unwrap();
        fs::create_dir_all(d.path().join("15-1/0000000200000000")).unwrap();
        fs::write(
            d.path().join(
                "15-1/0000000200000000/00000002000000000000000C-0123456789abcdef0123456789abcdef01234567.zst",
            ),
            b"x",
        )
        .unwrap();
        fs::write(d.path().join("00000002.history"), b"1\t0/B80000\tno recovery target specified\n").unwrap();
        let src = WalSource::from_archive_dir(d.path()).unwrap();
        assert_eq!(src.segments.len(), 3);

        let ranges = [
            WalRange { timeline: 2, start_lsn: Lsn(0xB80000), end_lsn: Lsn(0xD00100) },
            WalRange { timeline: 1, start_lsn: Lsn(0xA00028), end_lsn: Lsn(0xB80000) },
        ];
        let parser = Recorder { calls: RefCell::new(Vec::new()), fail_on: 1 };
        let (checks, problems) = check_ranges(&ranges, mb(), &src, Some(&parser));
        assert_eq!(names(&checks[0].missing), vec!["00000002000000000000000D"]);
        assert_eq!(checks[0].parsed, None, "an incomplete range is not parsed");
        assert!(checks[1].missing.is_empty());
        assert_eq!(checks[1].parsed, Some(false));
        assert_eq!(*parser.calls.borrow(), vec![1]);
        let codes: Vec<_> = problems.iter().map(|p| (p.code, p.file.clone())).collect();
        assert_eq!(
            codes,
            vec![("missing_wal", Some("00000002000000000000000D".into())), ("wal_parse_failed", None)]
        );
        assert!(problems[1].message.starts_with("WAL parsing failed for timeline 1: invalid record length"));
        assert!(problems[0].message.contains("is not in archive"), "{}", problems[0].message);

        // Without a parser only names are checked.
        fs::write(d.path().join("00000002000000000000000D"), b"x").unwrap();
        let src = WalSource::from_archive_dir(d.path()).unwrap();
        let (checks, problems) = check_ranges(&ranges, mb(), &src, None);
        assert!(problems.is_empty(), "{problems:?}");
        assert!(checks.iter().all(|c| c.parsed.is_none()));
    }
}

/// The [`WalRangeParser`] of pitr's own WAL reader: reads every record of the
/// range on its timeline (CRC, page headers, `xl_prev` chain) and requires
/// the WAL to reach the range's end, as `pg_waldump` does for
/// `pg_verifybackup`. Segments inside a tar file are copied to a temporary
/// directory first.
#[derive(Debug, Clone, Copy, Default)]
pub struct WalReaderParser;

impl WalRangeParser for WalReaderParser {
    fn parse_range(&self, source: &WalSource, range: &WalRange, seg_size: WalSegSize) -> Result<(), String> {
        use crate::wal::{DataFilter, ReaderOptions, TimelineChoice, WalReader};
        let segments =
            needed_segments(std::slice::from_ref(range), seg_size).into_iter().next().unwrap_or_default();
        let tmp = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
        let mut paths = Vec::with_capacity(segments.len());
        for seg in &segments {
            match source.segments.get(seg) {
                Some(SegmentLocation::File(p)) => paths.push(p.clone()),
                Some(SegmentLocation::TarMember { .. }) => {
                    let p = tmp.path().join(seg.to_string());
                    let mut r = source.open(*seg).map_err(|e| e.to_string())?;
                    let mut f = fs::File::create(&p).map_err(|e| format!("{}: {e}", p.display()))?;
                    std::io::copy(&mut r, &mut f).map_err(|e| format!("{}: {e}", p.display()))?;
                    paths.push(p);
                }
                None => return Err(format!("WAL file {seg} is missing")),
            }
        }
        if paths.is_empty() {
            return Ok(());
        }
        let src = crate::wal::WalSource::from_paths(&paths).map_err(|e| e.to_string())?;
        let opts = ReaderOptions {
            start: Some(range.start_lsn),
            end: Some(range.end_lsn),
            timeline: TimelineChoice::Only(range.timeline),
            data: DataFilter::none(),
            ..Default::default()
        };
        let mut reader = WalReader::open(src, opts).map_err(|e| e.to_string())?;
        loop {
            match reader.next_record() {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => return Err(e.to_string()),
            }
        }
        let end = reader.last_end();
        if end < range.end_lsn {
            return Err(format!(
                "the WAL ends at {end}, before the end of the range {} (timeline {})",
                range.end_lsn, range.timeline
            ));
        }
        Ok(())
    }
}
