//! Problems found in an archive: severity, a stable code, the file and a message.

use serde::Serialize;
use std::fmt;

pub use crate::error::Severity;

/// The stable code of a problem (`snake_case` in JSON). Codes are never
/// renamed; new ones may be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ProblemCode {
    /// One or more consecutive segments are missing (one problem per range).
    MissingSegment,
    /// A segment's long page header names another system identifier.
    SystemIdMismatch,
    /// A segment's header gives another segment size (or block size).
    SegmentSizeMismatch,
    /// The page magic is not PostgreSQL 13 to 18 (or the file is not WAL).
    UnsupportedVersion,
    /// A supported major, but not the archive's.
    VersionMismatch,
    /// The first page's address is not the start of the segment the name says
    /// (a recycled or misnamed file).
    WrongPageaddr,
    /// The header's timeline is newer than the name's, or a segment lies before
    /// the start of its timeline.
    TimelineMismatch,
    /// The (decompressed) size is not the segment size.
    BadSize,
    /// A record's CRC does not match (`--deep`).
    CrcMismatch,
    /// Two copies of one segment (plain, compressed, pgBackRest-named) differ.
    DuplicateMismatch,
    /// A file that is not WAL-related.
    UnknownFile,
    /// A file in a nested directory that does not match the directory's name.
    MisplacedFile,
    /// A history file names a parent timeline whose history file is absent.
    HistoryParentMissing,
    /// A history file does not parse, or disagrees with its parent's.
    HistoryInvalid,
    /// Segments of a timeline above 1 exist but its history file does not.
    HistoryMissing,
    /// A backup history (`.backup`) file does not parse or contradicts its name.
    BackupFileInvalid,
    /// The WAL segment size cannot be determined (no readable segment).
    SegmentSizeUnknown,
    /// A file cannot be read or decompressed.
    UnreadableFile,
    /// A compression pitr cannot decompress (brotli).
    UnsupportedCompression,
    /// A segment name whose last part is too large for the segment size.
    InvalidSegmentName,
    /// pgBackRest archive directories of other archive ids, not inventoried.
    OtherArchiveId,
    /// The record reader reported damage other than a CRC mismatch (`--deep`).
    InvalidRecord,
    /// A child timeline's first segment does not repeat its parent's segment up
    /// to the switch point its history file names.
    SwitchPointMismatch,
}

impl ProblemCode {
    /// The code as printed (`missing_segment`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            ProblemCode::MissingSegment => "missing_segment",
            ProblemCode::SystemIdMismatch => "system_id_mismatch",
            ProblemCode::SegmentSizeMismatch => "segment_size_mismatch",
            ProblemCode::UnsupportedVersion => "unsupported_version",
            ProblemCode::VersionMismatch => "version_mismatch",
            ProblemCode::WrongPageaddr => "wrong_pageaddr",
            ProblemCode::TimelineMismatch => "timeline_mismatch",
            ProblemCode::BadSize => "bad_size",
            ProblemCode::CrcMismatch => "crc_mismatch",
            ProblemCode::DuplicateMismatch => "duplicate_mismatch",
            ProblemCode::UnknownFile => "unknown_file",
            ProblemCode::MisplacedFile => "misplaced_file",
            ProblemCode::HistoryParentMissing => "history_parent_missing",
            ProblemCode::HistoryInvalid => "history_invalid",
            ProblemCode::HistoryMissing => "history_missing",
            ProblemCode::BackupFileInvalid => "backup_file_invalid",
            ProblemCode::SegmentSizeUnknown => "segment_size_unknown",
            ProblemCode::UnreadableFile => "unreadable_file",
            ProblemCode::UnsupportedCompression => "unsupported_compression",
            ProblemCode::InvalidSegmentName => "invalid_segment_name",
            ProblemCode::OtherArchiveId => "other_archive_id",
            ProblemCode::InvalidRecord => "invalid_record",
            ProblemCode::SwitchPointMismatch => "switch_point_mismatch",
        }
    }
}

impl fmt::Display for ProblemCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem: severity, stable code, the file (relative to the archive
/// root, or the plain name of a missing file) and a message in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// `error` or `warning`.
    pub severity: Severity,
    /// Stable code.
    pub code: ProblemCode,
    /// The file concerned (relative to the archive root), if any.
    pub file: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    /// An error.
    pub fn error(code: ProblemCode, file: Option<String>, message: impl Into<String>) -> Problem {
        Problem { severity: Severity::Error, code, file, message: message.into() }
    }

    /// A warning.
    pub fn warning(code: ProblemCode, file: Option<String>, message: impl Into<String>) -> Problem {
        Problem { severity: Severity::Warning, code, file, message: message.into() }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.severity, self.code)?;
        if let Some(file) = &self.file {
            write!(f, " {file}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Sorts problems for stable output: by file, then code, then message.
pub(crate) fn sort_problems(problems: &mut [Problem]) {
    problems.sort_by(|a, b| {
        (a.file.as_deref().unwrap_or(""), a.code, &a.message).cmp(&(
            b.file.as_deref().unwrap_or(""),
            b.code,
            &b.message,
        ))
    });
}
