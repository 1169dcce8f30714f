//! Deep verification of one segment file, for an archive's parallel check:
//! every record that starts in the segment is read and CRC-checked.

use super::error::{EndReason, WalEnd, WalError};
use super::page::SegmentHeader;
use super::reader::{DataFilter, ReaderOptions, WalReader, segment_header};
use super::source::WalSource;
use crate::lsn::Lsn;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Options of [`verify_segment`].
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// The cluster's system identifier, when known: a segment of another cluster
    /// is refused.
    pub system_id: Option<u64>,
    /// The following segments' files, in order, to finish the last record when
    /// it continues there (a record larger than a segment needs more than one;
    /// they are opened only when needed).
    pub next_segments: Vec<PathBuf>,
    /// The data page size (`BLCKSZ`), when known.
    pub block_size: Option<u32>,
}

/// How the records of a segment end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SegmentTail {
    /// An `XLOG_SWITCH` record at `lsn`; the rest of the segment is unused.
    Switch {
        /// The switch record.
        lsn: Lsn,
    },
    /// The last record ends exactly at the end of the segment.
    Full,
    /// The last record continues into the next segment; `verified` when the
    /// following segments were given and the record checked completely.
    ContinuesInNext {
        /// Start of that record.
        record: Lsn,
        /// Whether its end (in the next segment) was checked.
        verified: bool,
    },
    /// WAL ends inside this segment (zeros, stale pages, short file).
    EndOfWal(WalEnd),
}

/// The result of [`verify_segment`].
#[derive(Debug, Serialize)]
pub struct SegmentCheck {
    /// The file checked.
    pub file: PathBuf,
    /// Its long header.
    pub header: SegmentHeader,
    /// The first record starting in it.
    pub first_record: Option<Lsn>,
    /// The last record starting in it that was read completely.
    pub last_record: Option<Lsn>,
    /// Records starting in it whose CRC verified.
    pub records: u64,
    /// How the records end.
    pub tail: Option<SegmentTail>,
    /// The first damage found, with its LSN and file.
    #[serde(serialize_with = "ser_err")]
    pub damage: Option<WalError>,
}

fn ser_err<S: serde::Serializer>(e: &Option<WalError>, s: S) -> Result<S::Ok, S::Error> {
    match e {
        Some(e) => s.collect_str(e),
        None => s.serialize_none(),
    }
}

impl SegmentCheck {
    /// True when every record starting in the segment verified and nothing is
    /// damaged.
    pub fn is_ok(&self) -> bool {
        self.damage.is_none()
    }
}

/// Reads every record starting in the segment file `path` (plain or
/// compressed) and checks its CRC, `xl_prev` chain, page headers and structure.
/// The continuation at the start of the segment (the end of a record that began
/// in the previous segment) is skipped. Refusals of the whole file (not WAL,
/// another version, another cluster, a recycled file) are errors; damage found
/// while reading records is reported in [`SegmentCheck::damage`].
pub fn verify_segment(path: &Path, opts: &VerifyOptions) -> Result<SegmentCheck, WalError> {
    let header = segment_header(path)?;
    if let Some(sys) = opts.system_id {
        if sys != header.system_id {
            return Err(WalError::SystemIdMismatch {
                file: path.to_path_buf(),
                expected: sys,
                found: header.system_id,
            });
        }
    }
    let mut source = WalSource::new();
    source.add_path(path)?;
    for n in &opts.next_segments {
        source.add_path(n)?;
    }
    let seg_end = header.seg_size.segment_end(header.segno());
    let ropts = ReaderOptions {
        start: Some(header.pageaddr),
        end: Some(seg_end),
        data: DataFilter::none(),
        system_id: Some(header.system_id),
        block_size: opts.block_size,
        ..Default::default()
    };
    let mut check = SegmentCheck {
        file: path.to_path_buf(),
        header,
        first_record: None,
        last_record: None,
        records: 0,
        tail: None,
        damage: None,
    };
    let mut reader = WalReader::open(source, ropts)?;
    let mut last: Option<(Lsn, Lsn, bool)> = None;
    loop {
        match reader.next_record() {
            Ok(Some(rec)) => {
                check.first_record.get_or_insert(rec.lsn);
                check.last_record = Some(rec.lsn);
                check.records += 1;
                last = Some((rec.lsn, rec.end_lsn, rec.is_switch()));
            }
            Ok(None) => break,
            Err(e) => {
                if !e.is_damage() && check.records == 0 {
                    return Err(e);
                }
                check.damage = Some(e);
                return Ok(check);
            }
        }
    }
    let end = reader.end().cloned();
    check.tail = Some(match (last, end) {
        (Some((lsn, _, true)), _) => SegmentTail::Switch { lsn },
        (_, Some(end)) if end.reason == EndReason::EndLsn || end.position >= seg_end => match last {
            Some((lsn, rec_end, _)) if rec_end > seg_end => {
                SegmentTail::ContinuesInNext { record: lsn, verified: true }
            }
            _ => SegmentTail::Full,
        },
        (_, Some(end))
            if end.incomplete_record && matches!(end.reason, EndReason::NextSegmentAbsent { .. }) =>
        {
            SegmentTail::ContinuesInNext { record: end.position, verified: false }
        }
        (_, Some(end)) => SegmentTail::EndOfWal(end),
        (_, None) => SegmentTail::Full,
    });
    Ok(check)
}
