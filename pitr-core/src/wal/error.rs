//! Errors and end-of-WAL outcomes of the WAL reader.
//!
//! Two different things stop a WAL reader:
//!
//! * a **clean end** ([`WalEnd`]): zeroed space where the next record would be,
//!   a stale (recycled) page or segment after the last good record, the next
//!   segment missing, a file that stops early, or the requested end LSN. This is
//!   how every WAL stream ends; it is not an error.
//! * **damage** or a **refusal** ([`WalError`]): a bad CRC, a bad `xl_prev`, a bad
//!   page header, a missing continuation, a segment of another cluster, a
//!   recycled segment named explicitly, an unsupported version... Each carries
//!   the file and the LSN where it was found, and the expected and found values.

use crate::lsn::Lsn;
use crate::version::PgMajor;
use crate::walfile::SegmentName;
use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// Why the WAL reader could not go on (damage, refusal or I/O).
///
/// Every variant that concerns a file names it, and every variant that concerns
/// a position names the LSN. [`WalError::kind`] gives a stable machine-readable
/// name, [`WalError::is_damage`] tells damage apart from refusals and I/O errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WalError {
    /// Reading a file failed.
    #[error("{}: {source}", file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a WAL segment at all (too short for a page header,
    /// unknown magic at offset 0, impossible header fields).
    #[error("{}: not a WAL segment: {reason}", file.display())]
    NotWal {
        /// The file.
        file: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// WAL of a PostgreSQL major pitr recognises but does not read (9.6 to 12).
    #[error(
        "{}: WAL of PostgreSQL {version} (page magic 0x{magic:04X}) is not supported: pitr reads PostgreSQL 13 to 18",
        file.display()
    )]
    UnsupportedVersion {
        /// The file.
        file: PathBuf,
        /// The page's magic number.
        magic: u16,
        /// The PostgreSQL major that wrote it.
        version: &'static str,
    },
    /// WAL written by a big-endian server: pitr reads little-endian WAL only.
    #[error(
        "{}: big-endian WAL{} (byte-swapped page magic 0x{magic:04X}): pitr reads little-endian WAL only",
        file.display(),
        major.map(|m| format!(" of PostgreSQL {m}")).unwrap_or_default()
    )]
    BigEndian {
        /// The file.
        file: PathBuf,
        /// The magic as read (little-endian).
        magic: u16,
        /// The major whose magic it is once byte-swapped, if known.
        major: Option<PgMajor>,
    },
    /// A page header's magic is not the one of the stream's major version.
    #[error(
        "{}: invalid magic number 0x{found:04X} in WAL page at {lsn}, expected 0x{expected:04X}",
        file.display()
    )]
    BadMagic {
        /// The file.
        file: PathBuf,
        /// Start of the page.
        lsn: Lsn,
        /// The magic of the stream's major.
        expected: u16,
        /// The magic found.
        found: u16,
    },
    /// A page header has flag bits PostgreSQL does not define, or lacks the long
    /// header at the start of a segment.
    #[error("{}: invalid info bits 0x{found:04X} in WAL page at {lsn}", file.display())]
    BadPageInfo {
        /// The file.
        file: PathBuf,
        /// Start of the page.
        lsn: Lsn,
        /// `xlp_info` found.
        found: u16,
    },
    /// A page's `xlp_pageaddr` is not the page's position (and not a stale copy of
    /// an older segment either).
    #[error("{}: unexpected page address {found} in WAL page at {lsn}", file.display())]
    UnexpectedPageAddr {
        /// The file.
        file: PathBuf,
        /// The page's position (`expected` address).
        lsn: Lsn,
        /// The address found in the header.
        found: Lsn,
    },
    /// A segment file whose first page belongs to an older segment: the server
    /// recycled (renamed) an old file and has not overwritten it yet. It holds no
    /// WAL for its name.
    #[error(
        "{}: recycled WAL segment: it holds old WAL from {found}, not WAL starting at {expected}",
        file.display()
    )]
    RecycledSegment {
        /// The file.
        file: PathBuf,
        /// Where the segment named like this starts.
        expected: Lsn,
        /// The page address found in its first page.
        found: Lsn,
    },
    /// A segment written by another cluster (system identifier mismatch).
    #[error(
        "{}: WAL segment from another cluster: system identifier {found}, expected {expected}",
        file.display()
    )]
    SystemIdMismatch {
        /// The file.
        file: PathBuf,
        /// The system identifier of the stream (first segment or `pg_control`).
        expected: u64,
        /// The one in this segment's long header.
        found: u64,
    },
    /// A segment was written by another PostgreSQL major than the rest.
    #[error("{}: WAL of PostgreSQL {found}, expected PostgreSQL {expected}", file.display())]
    MajorMismatch {
        /// The file.
        file: PathBuf,
        /// The stream's major.
        expected: PgMajor,
        /// This segment's major.
        found: PgMajor,
    },
    /// A long page header states another segment size than the stream's.
    #[error("{}: WAL segment size {found} in long page header, expected {expected}", file.display())]
    SegmentSizeMismatch {
        /// The file.
        file: PathBuf,
        /// Expected size in bytes.
        expected: u32,
        /// Size in the header.
        found: u32,
    },
    /// A long page header states another WAL page size than the stream's.
    #[error("{}: WAL page size {found} in long page header, expected {expected}", file.display())]
    PageSizeMismatch {
        /// The file.
        file: PathBuf,
        /// Expected size in bytes.
        expected: u32,
        /// Size in the header.
        found: u32,
    },
    /// A page's timeline is lower than the previous page's.
    #[error("{}: out-of-sequence timeline ID {found} (after {previous}) in WAL page at {lsn}", file.display())]
    TimelineRegressed {
        /// The file.
        file: PathBuf,
        /// Start of the page.
        lsn: Lsn,
        /// Timeline of the previous page.
        previous: u32,
        /// Timeline of this page.
        found: u32,
    },
    /// `xl_tot_len` is impossible (non-zero and below 24 bytes, or above 1 GiB).
    #[error("{}: invalid record length {len} at {lsn}", file.display())]
    InvalidRecordLength {
        /// The file.
        file: PathBuf,
        /// Record start.
        lsn: Lsn,
        /// `xl_tot_len`.
        len: u32,
    },
    /// `xl_rmid` is not a valid resource manager for the version.
    #[error("{}: invalid resource manager ID {rmid} at {lsn}", file.display())]
    InvalidRmgr {
        /// The file.
        file: PathBuf,
        /// Record start.
        lsn: Lsn,
        /// The id found.
        rmid: u8,
    },
    /// `xl_prev` does not point to the previous record.
    #[error("{}: record with incorrect prev-link {found} at {lsn} (expected {expected})", file.display())]
    BadPrevLink {
        /// The file.
        file: PathBuf,
        /// Record start.
        lsn: Lsn,
        /// Start of the previous record (or, for the first record read, any LSN
        /// below this one: `expected` is then this record's own LSN).
        expected: Lsn,
        /// `xl_prev` found.
        found: Lsn,
    },
    /// The record's CRC-32C does not match.
    #[error(
        "{}: incorrect resource manager data checksum in record at {lsn}: stored 0x{expected:08X}, computed 0x{found:08X}",
        file.display()
    )]
    BadCrc {
        /// The file.
        file: PathBuf,
        /// Record start.
        lsn: Lsn,
        /// The CRC stored in the record (`xl_crc`).
        expected: u32,
        /// The CRC computed over the record.
        found: u32,
    },
    /// A record start was expected at the start of a page, but the page begins
    /// with the continuation of a record.
    #[error("{}: contrecord is requested by {lsn}", file.display())]
    ContrecordRequested {
        /// The file.
        file: PathBuf,
        /// Where a record start was expected.
        lsn: Lsn,
    },
    /// A record continues onto a page that does not carry the continuation flag.
    #[error("{}: there is no contrecord flag at {lsn} (continuing the record at {record})", file.display())]
    MissingContrecord {
        /// The file.
        file: PathBuf,
        /// Start of the page that should hold the continuation.
        lsn: Lsn,
        /// Start of the record being read.
        record: Lsn,
    },
    /// A continuation page states another remaining length than the record needs.
    #[error(
        "{}: invalid contrecord length {found} (expected {expected}) at {lsn} (continuing the record at {record})",
        file.display()
    )]
    BadContrecordLength {
        /// The file.
        file: PathBuf,
        /// Start of the continuation page.
        lsn: Lsn,
        /// Start of the record being read.
        record: Lsn,
        /// Remaining bytes of the record.
        expected: u32,
        /// `xlp_rem_len` found.
        found: u32,
    },
    /// The record's inner structure (block references, lengths) is inconsistent.
    #[error("{}: invalid record at {lsn}: {reason}", file.display())]
    InvalidRecord {
        /// The file.
        file: PathBuf,
        /// Record start.
        lsn: Lsn,
        /// What is wrong.
        reason: String,
    },
    /// An `OVERWRITE_CONTRECORD` record names another LSN than the record it
    /// replaced.
    #[error(
        "{}: overwrite-contrecord record at {lsn} names {found}, but the incomplete record was at {expected}",
        file.display()
    )]
    OverwriteMismatch {
        /// The file.
        file: PathBuf,
        /// The overwrite record.
        lsn: Lsn,
        /// The record that was dropped.
        expected: Lsn,
        /// `overwritten_lsn` in the record.
        found: Lsn,
    },
    /// No WAL segment was found in what was given.
    #[error("no WAL segment found in {what}")]
    NoSegments {
        /// What was searched.
        what: String,
    },
    /// The segment holding the start LSN is not among the files.
    #[error("WAL segment {segment} holding the start LSN {lsn} was not found")]
    StartNotFound {
        /// The start LSN.
        lsn: Lsn,
        /// The file name that would hold it.
        segment: SegmentName,
    },
    /// A request that cannot be carried out (bad option combination...).
    #[error("{0}")]
    Invalid(String),
}

impl WalError {
    /// A stable machine-readable name of the variant (`"bad_crc"`, `"bad_prev_link"`...),
    /// used in JSON output.
    pub fn kind(&self) -> &'static str {
        match self {
            WalError::Io { .. } => "io",
            WalError::NotWal { .. } => "not_wal",
            WalError::UnsupportedVersion { .. } => "unsupported_version",
            WalError::BigEndian { .. } => "big_endian",
            WalError::BadMagic { .. } => "bad_magic",
            WalError::BadPageInfo { .. } => "bad_page_info",
            WalError::UnexpectedPageAddr { .. } => "unexpected_pageaddr",
            WalError::RecycledSegment { .. } => "recycled_segment",
            WalError::SystemIdMismatch { .. } => "system_id_mismatch",
            WalError::MajorMismatch { .. } => "major_mismatch",
            WalError::SegmentSizeMismatch { .. } => "segment_size_mismatch",
            WalError::PageSizeMismatch { .. } => "page_size_mismatch",
            WalError::TimelineRegressed { .. } => "timeline_regressed",
            WalError::InvalidRecordLength { .. } => "invalid_record_length",
            WalError::InvalidRmgr { .. } => "invalid_rmgr",
            WalError::BadPrevLink { .. } => "bad_prev_link",
            WalError::BadCrc { .. } => "bad_crc",
            WalError::ContrecordRequested { .. } => "contrecord_requested",
            WalError::MissingContrecord { .. } => "missing_contrecord",
            WalError::BadContrecordLength { .. } => "bad_contrecord_length",
            WalError::InvalidRecord { .. } => "invalid_record",
            WalError::OverwriteMismatch { .. } => "overwrite_mismatch",
            WalError::NoSegments { .. } => "no_segments",
            WalError::StartNotFound { .. } => "start_not_found",
            WalError::Invalid(_) => "invalid",
        }
    }

    /// True when the error means the WAL itself is damaged (bad CRC, bad
    /// prev-link, bad page header, missing continuation, inconsistent record...),
    /// as opposed to I/O errors, usage errors and refusals of a whole file
    /// (another cluster, another version, recycled, big-endian).
    pub fn is_damage(&self) -> bool {
        matches!(
            self,
            WalError::BadMagic { .. }
                | WalError::BadPageInfo { .. }
                | WalError::UnexpectedPageAddr { .. }
                | WalError::TimelineRegressed { .. }
                | WalError::InvalidRecordLength { .. }
                | WalError::InvalidRmgr { .. }
                | WalError::BadPrevLink { .. }
                | WalError::BadCrc { .. }
                | WalError::ContrecordRequested { .. }
                | WalError::MissingContrecord { .. }
                | WalError::BadContrecordLength { .. }
                | WalError::InvalidRecord { .. }
                | WalError::OverwriteMismatch { .. }
                | WalError::PageSizeMismatch { .. }
                | WalError::SegmentSizeMismatch { .. }
        )
    }

    /// The file the error is about, if any.
    pub fn file(&self) -> Option<&Path> {
        match self {
            WalError::Io { file, .. }
            | WalError::NotWal { file, .. }
            | WalError::UnsupportedVersion { file, .. }
            | WalError::BigEndian { file, .. }
            | WalError::BadMagic { file, .. }
            | WalError::BadPageInfo { file, .. }
            | WalError::UnexpectedPageAddr { file, .. }
            | WalError::RecycledSegment { file, .. }
            | WalError::SystemIdMismatch { file, .. }
            | WalError::MajorMismatch { file, .. }
            | WalError::SegmentSizeMismatch { file, .. }
            | WalError::PageSizeMismatch { file, .. }
            | WalError::TimelineRegressed { file, .. }
            | WalError::InvalidRecordLength { file, .. }
            | WalError::InvalidRmgr { file, .. }
            | WalError::BadPrevLink { file, .. }
            | WalError::BadCrc { file, .. }
            | WalError::ContrecordRequested { file, .. }
            | WalError::MissingContrecord { file, .. }
            | WalError::BadContrecordLength { file, .. }
            | WalError::InvalidRecord { file, .. }
            | WalError::OverwriteMismatch { file, .. } => Some(file),
            WalError::NoSegments { .. } | WalError::StartNotFound { .. } | WalError::Invalid(_) => None,
        }
    }

    /// The LSN the error is about (record or page start), if any.
    pub fn lsn(&self) -> Option<Lsn> {
        match self {
            WalError::BadMagic { lsn, .. }
            | WalError::BadPageInfo { lsn, .. }
            | WalError::UnexpectedPageAddr { lsn, .. }
            | WalError::TimelineRegressed { lsn, .. }
            | WalError::InvalidRecordLength { lsn, .. }
            | WalError::InvalidRmgr { lsn, .. }
            | WalError::BadPrevLink { lsn, .. }
            | WalError::BadCrc { lsn, .. }
            | WalError::ContrecordRequested { lsn, .. }
            | WalError::MissingContrecord { lsn, .. }
            | WalError::BadContrecordLength { lsn, .. }
            | WalError::InvalidRecord { lsn, .. }
            | WalError::OverwriteMismatch { lsn, .. }
            | WalError::StartNotFound { lsn, .. } => Some(*lsn),
            WalError::RecycledSegment { expected, .. } => Some(*expected),
            _ => None,
        }
    }

    /// For errors inside a record being read: the record's start LSN.
    pub fn record_lsn(&self) -> Option<Lsn> {
        match self {
            WalError::MissingContrecord { record, .. } | WalError::BadContrecordLength { record, .. } => {
                Some(*record)
            }
            WalError::InvalidRecordLength { lsn, .. }
            | WalError::InvalidRmgr { lsn, .. }
            | WalError::BadPrevLink { lsn, .. }
            | WalError::BadCrc { lsn, .. }
            | WalError::InvalidRecord { lsn, .. }
            | WalError::OverwriteMismatch { lsn, .. } => Some(*lsn),
            _ => None,
        }
    }

    pub(crate) fn io(file: &Path, source: std::io::Error) -> WalError {
        WalError::Io { file: file.to_path_buf(), source }
    }
}

/// Why a WAL stream ended cleanly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
#[non_exhaustive]
pub enum EndReason {
    /// `xl_tot_len` is zero where the next record would start (zeroed space).
    ZeroLength,
    /// The next page is all zeros (never written).
    ZeroPage,
    /// The next page holds stale WAL of an older segment (recycled file).
    StalePage {
        /// The page address found in the stale page.
        found: Lsn,
    },
    /// The next segment file holds old WAL (recycled, not yet overwritten).
    StaleSegment {
        /// The page address found in its first page.
        found: Lsn,
    },
    /// The next segment file is not among the files read.
    NextSegmentAbsent {
        /// The file name that would hold it.
        segment: SegmentName,
    },
    /// The file stops before the end of the segment (truncated or partial).
    Truncated,
    /// The requested end LSN was reached.
    EndLsn,
}

impl fmt::Display for EndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndReason::ZeroLength => f.write_str("zero record length (end of written WAL)"),
            EndReason::ZeroPage => f.write_str("zeroed page (end of written WAL)"),
            EndReason::StalePage { found } => {
                write!(f, "stale page from an older segment (page address {found})")
            }
            EndReason::StaleSegment { found } => {
                write!(f, "next segment is a recycled file (page address {found})")
            }
            EndReason::NextSegmentAbsent { segment } => write!(f, "next segment {segment} is not available"),
            EndReason::Truncated => f.write_str("file ends before the end of the segment"),
            EndReason::EndLsn => f.write_str("requested end LSN reached"),
        }
    }
}

/// Where and why a WAL stream ended cleanly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WalEnd {
    /// End of the last complete record read (its MAXALIGNed end, as PostgreSQL's
    /// `EndRecPtr`), or where reading started when no record was read. Replay of
    /// these files stops here.
    pub end_lsn: Lsn,
    /// Where the reader stopped: the start of the record (or page) that could
    /// not be read.
    pub position: Lsn,
    /// The file where it stopped, when known.
    pub file: Option<PathBuf>,
    /// Why.
    #[serde(flatten)]
    pub reason: EndReason,
    /// True when the stream stopped in the middle of a record (its beginning was
    /// read but not its end), e.g. a record continuing into a missing segment.
    pub incomplete_record: bool,
}

impl fmt::Display for WalEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "end of WAL at {}: {}", self.position, self.reason)?;
        if self.incomplete_record {
            f.write_str(" (record incomplete)")?;
        }
        if let Some(file) = &self.file {
            write!(f, " in {}", file.display())?;
        }
        Ok(())
    }
}
