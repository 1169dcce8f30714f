//! WAL file names: segments, `.partial`, `.history`, backup history (`.backup`),
//! compressed copies, pgBackRest's `SEGMENT-<sha1>` names and `archive_status`
//! files. Classification never fails: anything unrecognised is
//! [`WalFileKind::Unknown`].
//!
//! Like the server (`IsXLogFileName`), only upper-case hex digits are recognised.

use crate::error::ParseError;
use crate::lsn::{Lsn, WalSegSize};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A timeline ID (`TimeLineID`).
pub type TimeLineId = u32;

/// The 24-hex-digit name of a WAL segment: `TTTTTTTTXXXXXXXXYYYYYYYY`.
///
/// The name alone does not determine the segment number: `XXXXXXXX` is the
/// high 32 bits of the LSN and `YYYYYYYY` the index of the segment within that
/// 4 GiB range, so the segment size is needed (see [`SegmentName::segno`]).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SegmentName {
    /// Timeline ID (first 8 digits).
    pub timeline: TimeLineId,
    /// High 32 bits of the segment's LSN (middle 8 digits).
    pub log: u32,
    /// Segment index within the 4 GiB "xlogid" (last 8 digits).
    pub seg: u32,
}

impl SegmentName {
    /// The name of segment `segno` on `timeline` (`XLogFileName`).
    pub const fn new(timeline: TimeLineId, segno: u64, seg_size: WalSegSize) -> SegmentName {
        let per = seg_size.segments_per_xlogid();
        SegmentName { timeline, log: (segno / per) as u32, seg: (segno % per) as u32 }
    }

    /// The name of the segment holding `lsn` on `timeline`.
    pub const fn of_lsn(timeline: TimeLineId, lsn: Lsn, seg_size: WalSegSize) -> SegmentName {
        SegmentName::new(timeline, lsn.segment(seg_size), seg_size)
    }

    /// The segment number for `seg_size`, or `None` when the last part is too large
    /// for that size (such a name cannot exist, `XLogFromFileName`).
    pub const fn segno(self, seg_size: WalSegSize) -> Option<u64> {
        let per = seg_size.segments_per_xlogid();
        if (self.seg as u64) < per { Some(self.log as u64 * per + self.seg as u64) } else { None }
    }

    /// First LSN of this segment, if the name is valid for `seg_size`.
    pub const fn start_lsn(self, seg_size: WalSegSize) -> Option<Lsn> {
        match self.segno(seg_size) {
            Some(s) => Some(seg_size.segment_start(s)),
            None => None,
        }
    }

    /// Parses exactly 24 upper-case hex digits.
    pub fn parse(text: &str) -> Result<SegmentName, ParseError> {
        let b = text.as_bytes();
        if b.len() != 24 {
            return Err(ParseError::new("WAL segment name", format!("{text:?} is not 24 hex digits")));
        }
        if let Some(p) = b.iter().position(|&c| !is_upper_hex(c)) {
            return Err(ParseError::new(
                "WAL segment name",
                format!("{text:?} has a character that is not an upper-case hex digit"),
            )
            .at_position(p));
        }
        Ok(SegmentName { timeline: hex8(&b[0..8]), log: hex8(&b[8..16]), seg: hex8(&b[16..24]) })
    }

    /// The same segment on another timeline.
    #[must_use]
    pub const fn with_timeline(self, timeline: TimeLineId) -> SegmentName {
        SegmentName { timeline, ..self }
    }

    /// The 16 digits after the timeline (`XXXXXXXXYYYYYYYY`), the part
    /// pg_archivecleanup compares and Barman/pgBackRest use for directories.
    pub fn log_seg_hex(self) -> String {
        format!("{:08X}{:08X}", self.log, self.seg)
    }
}

impl fmt::Display for SegmentName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08X}{:08X}{:08X}", self.timeline, self.log, self.seg)
    }
}

impl fmt::Debug for SegmentName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SegmentName({self})")
    }
}

impl Serialize for SegmentName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SegmentName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        SegmentName::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The history file name of a timeline: `%08X.history`.
pub fn history_file_name(timeline: TimeLineId) -> String {
    format!("{timeline:08X}.history")
}

/// The backup history file name for a backup that started at `start` and
/// stopped on `stop_timeline`: `TTTTTTTTXXXXXXXXYYYYYYYY.OOOOOOOO.backup`.
pub fn backup_history_file_name(stop_timeline: TimeLineId, start: Lsn, seg_size: WalSegSize) -> String {
    format!(
        "{}.{:08X}.backup",
        SegmentName::of_lsn(stop_timeline, start, seg_size),
        start.segment_offset(seg_size)
    )
}

/// A compression applied to an archived file, recognised by its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// `.gz`
    Gzip,
    /// `.zst`
    Zstd,
    /// `.lz4` (LZ4 frame format)
    Lz4,
    /// `.xz`
    Xz,
    /// `.bz2`
    Bzip2,
    /// `.br` (recognised; pitr does not decompress it)
    Brotli,
}

impl Compression {
    /// All compressions, in the order a reader prefers to try them.
    pub const ALL: [Compression; 6] = [
        Compression::Zstd,
        Compression::Lz4,
        Compression::Gzip,
        Compression::Xz,
        Compression::Bzip2,
        Compression::Brotli,
    ];

    /// The file extension without the dot.
    pub const fn extension(self) -> &'static str {
        match self {
            Compression::Gzip => "gz",
            Compression::Zstd => "zst",
            Compression::Lz4 => "lz4",
            Compression::Xz => "xz",
            Compression::Bzip2 => "bz2",
            Compression::Brotli => "br",
        }
    }

    /// The compression for an extension (without the dot).
    pub fn from_extension(ext: &str) -> Option<Compression> {
        Compression::ALL.into_iter().find(|c| c.extension() == ext)
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

/// Status of an `archive_status` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ArchiveStatus {
    /// `.ready`: waiting to be archived.
    Ready,
    /// `.done`: archived, or never needs archiving.
    Done,
}

/// What kind of file a name denotes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WalFileKind {
    /// A WAL segment.
    Segment {
        /// Its name.
        segment: SegmentName,
    },
    /// `<segment>.partial`: the incomplete last segment of an old timeline.
    Partial {
        /// The segment it is a partial copy of.
        segment: SegmentName,
    },
    /// `TTTTTTTT.history`.
    History {
        /// The timeline whose history it holds.
        timeline: TimeLineId,
    },
    /// `<segment>.<offset>.backup`: a backup history file.
    BackupHistory {
        /// Segment of the backup's start LSN, named with the stop timeline.
        segment: SegmentName,
        /// Offset of the start LSN in that segment.
        offset: u32,
    },
    /// `archive_status/<name>.ready` or `.done`.
    ArchiveStatus {
        /// The file the status is about (a segment, partial, history or backup file name).
        of: String,
        /// `.ready` or `.done`.
        status: ArchiveStatus,
    },
    /// Anything else.
    Unknown,
}

/// A classified file name from a WAL archive or `pg_wal`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WalFileName {
    /// The kind of file.
    #[serde(flatten)]
    pub kind: WalFileKind,
    /// Compression, from the extension.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compression: Option<Compression>,
    /// pgBackRest's SHA-1 of the (uncompressed) content, from a `NAME-<sha1>` name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha1: Option<String>,
}

impl WalFileName {
    /// Classifies a file name (not a path; for `archive_status` pass the status
    /// file's own name, e.g. `000000010000000000000001.ready`). Never fails.
    pub fn classify(name: &str) -> WalFileName {
        let unknown = WalFileName { kind: WalFileKind::Unknown, compression: None, sha1: None };

        // archive_status files are never compressed or hashed.
        for (ext, status) in [(".ready", ArchiveStatus::Ready), (".done", ArchiveStatus::Done)] {
            if let Some(of) = name.strip_suffix(ext) {
                let inner = classify_plain(of);
                return match inner {
                    Some(WalFileKind::Unknown) | None => unknown,
                    Some(_) => WalFileName {
                        kind: WalFileKind::ArchiveStatus { of: of.to_string(), status },
                        compression: None,
                        sha1: None,
                    },
                };
            }
        }

        // Strip a compression extension.
        let (base, compression) = match name.rsplit_once('.') {
            Some((b, ext)) => match Compression::from_extension(ext) {
                Some(c) => (b, Some(c)),
                None => (name, None),
            },
            None => (name, None),
        };

        // pgBackRest: NAME-<40 hex sha1>.
        let (base, sha1) = match base.rsplit_once('-') {
            Some((b, h)) if h.len() == 40 && h.bytes().all(|c| c.is_ascii_hexdigit()) => {
                (b, Some(h.to_ascii_lowercase()))
            }
            _ => (base, None),
        };

        match classify_plain(base) {
            Some(kind @ (WalFileKind::Segment { .. } | WalFileKind::Partial { .. })) => {
                WalFileName { kind, compression, sha1 }
            }
            Some(kind @ (WalFileKind::History { .. } | WalFileKind::BackupHistory { .. }))
                if sha1.is_none() =>
            {
                WalFileName { kind, compression, sha1 }
            }
            _ => unknown,
        }
    }

    /// The segment this file holds (plain, compressed or pgBackRest-named), if it
    /// is a full segment.
    pub fn segment(&self) -> Option<SegmentName> {
        match self.kind {
            WalFileKind::Segment { segment } => Some(segment),
            _ => None,
        }
    }

    /// The file name PostgreSQL would ask `restore_command` for (`%f`): the name
    /// without compression extension or pgBackRest hash. `None` for kinds
    /// recovery never requests (partial, backup history, status, unknown).
    pub fn wal_name(&self) -> Option<String> {
        match &self.kind {
            WalFileKind::Segment { segment } => Some(segment.to_string()),
            WalFileKind::History { timeline } => Some(history_file_name(*timeline)),
            _ => None,
        }
    }

    /// The plain name of the file without compression or hash (for every
    /// kind but `Unknown` and `ArchiveStatus`).
    pub fn plain_name(&self) -> Option<String> {
        match &self.kind {
            WalFileKind::Segment { segment } => Some(segment.to_string()),
            WalFileKind::Partial { segment } => Some(format!("{segment}.partial")),
            WalFileKind::History { timeline } => Some(history_file_name(*timeline)),
            WalFileKind::BackupHistory { segment, offset } => Some(format!("{segment}.{offset:08X}.backup")),
            WalFileKind::ArchiveStatus { .. } | WalFileKind::Unknown => None,
        }
    }

    /// True for [`WalFileKind::Unknown`].
    pub fn is_unknown(&self) -> bool {
        matches!(self.kind, WalFileKind::Unknown)
    }
}

impl fmt::Display for WalFileName {
    /// Formats the name back as it would appear on disk.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            WalFileKind::ArchiveStatus { of, status } => {
                let ext = match status {
                    ArchiveStatus::Ready => "ready",
                    ArchiveStatus::Done => "done",
                };
                return write!(f, "{of}.{ext}");
            }
            WalFileKind::Unknown => return f.write_str("<unknown>"),
            _ => {}
        }
        // plain_name is Some for every other kind.
        f.write_str(&self.plain_name().unwrap_or_default())?;
        if let Some(h) = &self.sha1 {
            write!(f, "-{h}")?;
        }
        if let Some(c) = self.compression {
            write!(f, ".{}", c.extension())?;
        }
        Ok(())
    }
}

fn is_upper_hex(c: u8) -> bool {
    c.is_ascii_digit() || (b'A'..=b'F').contains(&c)
}

fn hex8(b: &[u8]) -> u32 {
    b.iter().fold(0u32, |acc, &c| {
        let d = if c.is_ascii_digit() { c - b'0' } else { c - b'A' + 10 };
        (acc << 4) | d as u32
    })
}

fn segment_prefix(b: &[u8]) -> Option<SegmentName> {
    if b.len() >= 24 && b[..24].iter().all(|&c| is_upper_hex(c)) {
        Some(SegmentName { timeline: hex8(&b[0..8]), log: hex8(&b[8..16]), seg: hex8(&b[16..24]) })
    } else {
        None
    }
}

/// Classifies a name without compression or hash suffixes. `None` when it is
/// not a WAL-related name at all.
fn classify_plain(name: &str) -> Option<WalFileKind> {
    let b = name.as_bytes();
    if b.len() == 24 {
        return segment_prefix(b).map(|segment| WalFileKind::Segment { segment });
    }
    if b.len() == 32 && name.ends_with(".partial") {
        return segment_prefix(b).map(|segment| WalFileKind::Partial { segment });
    }
    if b.len() == 16 && name.ends_with(".history") && b[..8].iter().all(|&c| is_upper_hex(c)) {
        return Some(WalFileKind::History { timeline: hex8(&b[..8]) });
    }
    // Backup history: 24 hex, '.', 8 hex, ".backup" (the server's recogniser
    // accepts anything between; pitr requires the offset it writes).
    if b.len() == 40
        && name.ends_with(".backup")
        && b[24] == b'.'
        && b[25..33].iter().all(|&c| is_upper_hex(c))
    {
        return segment_prefix(b)
            .map(|segment| WalFileKind::BackupHistory { segment, offset: hex8(&b[25..33]) });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn seg(mb: u32) -> WalSegSize {
        WalSegSize::new(mb << 20).unwrap()
    }

    #[test]
    fn segment_names_depend_on_segment_size() {
        // Table of wal-format.md 3.1.
        let n = SegmentName::of_lsn(1, Lsn(0x2026F98), seg(16));
        assert_eq!(n.to_string(), "000000010000000000000002");
        assert_eq!(
            SegmentName::of_lsn(1, Lsn(0x1_A300_0000), seg(16)).to_string(),
            "0000000100000001000000A3"
        );
        assert_eq!(SegmentName::of_lsn(1, Lsn(0x500_0000), seg(64)).to_string(), "000000010000000000000001");
        assert_eq!(
            SegmentName::of_lsn(1, Lsn(0x1_4000_0000), seg(1024)).to_string(),
            "000000010000000100000001"
        );
        assert_eq!(SegmentName::of_lsn(1, Lsn(0xFFF0_0000), seg(1)).to_string(), "000000010000000000000FFF");
        let p = SegmentName::parse("0000000100000001000000A3").unwrap();
        assert_eq!(p.segno(seg(16)), Some(0x1A3));
        assert_eq!(p.segno(seg(1024)), None, "A3 >= 4 segments per xlogid");
        assert_eq!(p.start_lsn(seg(16)), Some(Lsn(0x1_A300_0000)));
    }

    #[test]
    fn classifies_every_kind() {
        use WalFileKind as K;
        let s = SegmentName::parse("000000010000000000000002").unwrap();
        let c = |n: &str| WalFileName::classify(n);
        assert_eq!(c("000000010000000000000002").kind, K::Segment { segment: s });
        assert_eq!(c("000000010000000000000002.partial").kind, K::Partial { segment: s });
        assert_eq!(c("00000002.history").kind, K::History { timeline: 2 });
        assert_eq!(
            c("000000010000000000000002.00000028.backup").kind,
            K::BackupHistory { segment: s, offset: 0x28 }
        );
        let gz = c("000000010000000000000002.gz");
        assert_eq!((gz.kind.clone(), gz.compression), (K::Segment { segment: s }, Some(Compression::Gzip)));
        for ext in ["gz", "zst", "lz4", "xz", "bz2", "br"] {
            let f = c(&format!("000000010000000000000002.{ext}"));
            assert_eq!(f.segment(), Some(s));
            assert_eq!(f.compression.map(|c| c.extension()), Some(ext));
            assert_eq!(f.to_string(), format!("000000010000000000000002.{ext}"));
        }
        let h = "0123456789abcdef0123456789abcdef01234567";
        let br = c(&format!("000000010000000000000002-{h}.zst"));
        assert_eq!(br.segment(), Some(s));
        assert_eq!(br.sha1.as_deref(), Some(h));
        assert_eq!(br.compression, Some(Compression::Zstd));
        assert_eq!(br.to_string(), format!("000000010000000000000002-{h}.zst"));
        let brp = c(&format!("000000010000000000000002.partial-{h}"));
        assert_eq!(brp.kind, K::Partial { segment: s });
        assert_eq!(
            c("000000010000000000000002.ready").kind,
            K::ArchiveStatus { of: "000000010000000000000002".into(), status: ArchiveStatus::Ready }
        );
        assert_eq!(
            c("00000002.history.done").kind,
            K::ArchiveStatus { of: "00000002.history".into(), status: ArchiveStatus::Done }
        );
        for unknown in [
            "",
            "00000001000000000000000",
            "0000000100000000000000021",
            "000000010000000000000002.gz.gz",
            "00000001000000000000000a",
            "0000000a.history",
            "backup_label",
            "RECOVERYXLOG",
            "000000010000000000000002.tmp",
            "x.ready",
            "00000002.history-0123456789abcdef0123456789abcdef01234567",
            "000000010000000000000002-abc",
            "\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}",
        ] {
            assert!(c(unknown).is_unknown(), "{unknown:?} -> {:?}", c(unknown));
        }
    }

    #[test]
    fn backup_history_name() {
        assert_eq!(
            backup_history_file_name(1, Lsn(0x600_0028), seg(16)),
            "000000010000000000000006.00000028.backup"
        );
        assert_eq!(history_file_name(0x1A), "0000001A.history");
    }

    proptest! {
        #[test]
        fn name_round_trip(tli in 1u32.., segno in 0u64..(1u64 << 40), shift in 20u32..=30) {
            let ss = WalSegSize::new(1 << shift).unwrap();
            let segno = segno % (u64::from(u32::MAX) * ss.segments_per_xlogid());
            let n = SegmentName::new(tli, segno, ss);
            let text = n.to_string();
            let back = SegmentName::parse(&text).unwrap();
            prop_assert_eq!(back, n);
            prop_assert_eq!(back.segno(ss), Some(segno));
            prop_assert_eq!(WalFileName::classify(&text).segment(), Some(n));
        }

        #[test]
        fn classify_never_panics(s in "\\PC{0,60}") {
            let f = WalFileName::classify(&s);
            if !f.is_unknown() {
                prop_assert_eq!(WalFileName::classify(&f.to_string()), f);
            }
        }
    }
}
