//! `pitr lsn`: parse an LSN (or a WAL file name), show its forms, its WAL file
//! and offset for a timeline and segment size, and the distance to a second one.

use crate::output::{CliError, CmdResult, Output};
use pitr_core::walfile::{SegmentName, TimeLineId};
use pitr_core::{Lsn, WalSegSize};
use serde::Serialize;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// An LSN (`0/16B3748`, either case, padded or not) or a WAL segment file
    /// name (`000000010000000000000001`: its first LSN).
    pub lsn: String,

    /// A second LSN or WAL file name: also print the distance from the first.
    pub other: Option<String>,

    /// Timeline for the WAL file names (decimal; default: the file name's, or 1).
    #[arg(long, short = 't', value_name = "TLI")]
    pub timeline: Option<TimeLineId>,

    /// WAL segment size (`16MB`, `1GB`, `64`: power of two from 1 MB to 1 GB).
    #[arg(long, default_value = "16MB", value_name = "SIZE")]
    pub wal_segsize: String,
}

/// One position, as printed.
#[derive(Debug, Serialize)]
struct Position {
    /// What was given.
    input: String,
    /// How it was read: `lsn` or `wal_file`.
    input_kind: &'static str,
    /// Server form.
    lsn: Lsn,
    /// pg_waldump form.
    padded: String,
    /// The 64-bit value.
    decimal: u64,
    /// Timeline used for the file name.
    timeline: TimeLineId,
    /// WAL segment number.
    segment_number: u64,
    /// File holding the byte at this LSN.
    file: SegmentName,
    /// Offset inside that file.
    offset: u64,
    /// Offset in hex (`0x6B3748`).
    offset_hex: String,
    /// First LSN of the file.
    segment_start: Lsn,
    /// First LSN after the file.
    segment_end: Lsn,
    /// True when the LSN is the first byte of a segment: PostgreSQL 13 to 16's
    /// `pg_walfile_name_offset` then names the previous file (17+ agree with pitr).
    on_segment_boundary: bool,
}

#[derive(Debug, Serialize)]
struct Distance {
    /// `to - from` in bytes (negative when the second is earlier).
    bytes: i128,
    /// The same in binary units.
    human: String,
    /// Segment files from the first's to the second's, both included.
    segments: u64,
}

#[derive(Debug, Serialize)]
struct Report {
    wal_segsize: WalSegSize,
    #[serde(flatten)]
    first: Position,
    #[serde(skip_serializing_if = "Option::is_none")]
    other: Option<Position>,
    #[serde(skip_serializing_if = "Option::is_none")]
    distance: Option<Distance>,
}

fn position(input: &str, timeline: Option<TimeLineId>, seg: WalSegSize) -> Result<Position, CliError> {
    let trimmed = input.trim();
    let (lsn, tli, kind) = if trimmed.contains('/') {
        let lsn = Lsn::parse(trimmed).map_err(|e| CliError::new(e.to_string()))?;
        (lsn, timeline.unwrap_or(1), "lsn")
    } else {
        let name = SegmentName::parse(trimmed).map_err(|e| {
            CliError::new(format!(
                "{input:?} is neither an LSN (X/Y) nor a WAL segment file name: {}",
                e.message
            ))
        })?;
        let start = name.start_lsn(seg).ok_or_else(|| {
            CliError::new(format!(
                "{name} cannot exist with {seg} WAL segments (its last 8 digits must be below {:X})",
                seg.segments_per_xlogid()
            ))
        })?;
        if let Some(t) = timeline.filter(|t| *t != name.timeline) {
            return Err(CliError::new(format!(
                "--timeline {t} contradicts the file name {name} (timeline {})",
                name.timeline
            )));
        }
        (start, name.timeline, "wal_file")
    };
    let segno = lsn.segment(seg);
    let offset = lsn.segment_offset(seg);
    Ok(Position {
        input: input.to_string(),
        input_kind: kind,
        lsn,
        padded: lsn.padded().to_string(),
        decimal: lsn.as_u64(),
        timeline: tli,
        segment_number: segno,
        file: SegmentName::new(tli, segno, seg),
        offset,
        offset_hex: format!("0x{offset:X}"),
        segment_start: seg.segment_start(segno),
        segment_end: seg.segment_end(segno),
        on_segment_boundary: offset == 0 && lsn.as_u64() > 0,
    })
}

/// `1234` -> `1234 B`, `26527928` -> `25.3 MiB`.
pub(crate) fn human_bytes(n: i128) -> String {
    let sign = if n < 0 { "-" } else { "" };
    let a = n.unsigned_abs();
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if a < 1024 {
        return format!("{sign}{a} B");
    }
    let mut v = a as f64 / 1024.0;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < UNITS.len() {
        v /= 1024.0;
        i += 1;
    }
    format!("{sign}{v:.1} {}", UNITS[i])
}

pub fn run(args: &Args, out: &Output) -> CmdResult {
    let seg = WalSegSize::parse(&args.wal_segsize).map_err(|e| CliError::new(e.to_string()))?;
    let first = position(&args.lsn, args.timeline, seg)?;
    let other = match &args.other {
        Some(o) => Some(position(o, args.timeline, seg)?),
        None => None,
    };
    let distance = other.as_ref().map(|o| {
        let bytes = o.lsn.diff(first.lsn);
        Distance {
            bytes,
            human: human_bytes(bytes),
            segments: o.segment_number.abs_diff(first.segment_number) + 1,
        }
    });
    let report = Report { wal_segsize: seg, first, other, distance };
    if out.json {
        out.print_json(&report)?;
        return Ok(ExitCode::SUCCESS);
    }
    let show = |p: &Position| {
        let from = if p.input_kind == "wal_file" {
            format!("  (start of {})", p.input.trim())
        } else {
            String::new()
        };
        println!("LSN          {}{from}", p.lsn);
        println!("padded       {}", p.padded);
        println!("decimal      {}", p.decimal);
        println!("WAL file     {}  (timeline {}, {} segments)", p.file, p.timeline, report.wal_segsize);
        println!("offset       {}  ({})", p.offset_hex, p.offset);
        println!("segment      {}: {} .. {}", p.segment_number, p.segment_start, p.segment_end);
        if p.on_segment_boundary {
            println!(
                "note         first byte of the segment: pg_walfile_name_offset of PostgreSQL 13-16 names the \
                 previous file ({}) with offset 0",
                SegmentName::new(p.timeline, p.segment_number.saturating_sub(1), report.wal_segsize)
            );
        }
    };
    show(&report.first);
    if let (Some(o), Some(d)) = (&report.other, &report.distance) {
        println!();
        show(o);
        println!();
        println!(
            "distance     {} -> {}: {} bytes ({}), {} segment file{}",
            report.first.lsn,
            o.lsn,
            d.bytes,
            d.human,
            d.segments,
            if d.segments == 1 { "" } else { "s" }
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_units() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1024), "1.0 KiB");
        assert_eq!(human_bytes(26_527_928), "25.3 MiB");
        assert_eq!(human_bytes(-(16 << 20)), "-16.0 MiB");
        assert_eq!(human_bytes(i128::from(u64::MAX)), "16.0 EiB");
    }
}
