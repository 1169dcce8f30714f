//! `pitr label`: show and check a `backup_label` or a backup history
//! (`.backup`) file, with what follows from it (start segment, timelines).

use crate::output::{CliError, CmdResult, Output};
use pitr_core::Error;
use pitr_core::WalSegSize;
use pitr_core::label::{BackupLabel, LabelIssue, LabelKind, Severity};
use pitr_core::walfile::{SegmentName, TimeLineId};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A `backup_label` file, a backup history file (`*.backup`), or a data
    /// directory (its `backup_label`).
    pub path: PathBuf,

    /// WAL segment size of the cluster (default: inferred from the file names
    /// in the label, else 16MB).
    #[arg(long, value_name = "SIZE")]
    pub wal_segsize: Option<String>,
}

#[derive(Debug, Serialize)]
struct SegSize {
    bytes: WalSegSize,
    /// `option`, `inferred` (from the label's file names) or `default`.
    source: &'static str,
}

#[derive(Debug, Serialize)]
struct Derived {
    /// The timeline recovery starts on (from the file name in line 1).
    timeline: TimeLineId,
    /// The timeline the backup ended on.
    end_timeline: TimeLineId,
    /// The first WAL file recovery needs.
    start_segment: SegmentName,
    #[serde(skip_serializing_if = "Option::is_none")]
    stop_segment: Option<SegmentName>,
    /// The backup history file name of this backup in the archive.
    history_file: String,
    /// The server waits for the end-of-backup record (`BACKUP METHOD: streamed`).
    requires_backup_end: bool,
    from_standby: bool,
    incremental: bool,
    /// Bytes of WAL written during the backup (backup history files).
    #[serde(skip_serializing_if = "Option::is_none")]
    wal_bytes: Option<i128>,
}

#[derive(Debug, Serialize)]
struct Report<'a> {
    file: &'a Path,
    valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    wal_segsize: Option<SegSize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<&'a BackupLabel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    derived: Option<Derived>,
    /// Every issue, including those that need the segment size.
    issues: Vec<LabelIssue>,
}

pub fn run(args: &Args, out: &Output) -> CmdResult {
    let path = if args.path.is_dir() { args.path.join("backup_label") } else { args.path.clone() };
    if args.path.is_dir() && !path.exists() {
        return Err(CliError::new(format!(
            "{}: no backup_label in this directory (not a base backup, or recovery already started)",
            args.path.display()
        )));
    }
    let (label, error) = match BackupLabel::read(&path) {
        Ok(l) => (Some(l), None),
        Err(Error::Parse(e)) => (None, Some(e.to_string())),
        Err(e) => return Err(CliError::new(e.to_string())),
    };
    let seg = match (&args.wal_segsize, &label) {
        (Some(s), _) => Some(SegSize {
            bytes: WalSegSize::parse(s).map_err(|e| CliError::new(e.to_string()))?,
            source: "option",
        }),
        (None, Some(l)) => {
            let fits = l.consistent_segment_sizes();
            Some(match fits.as_slice() {
                [one] => SegSize { bytes: *one, source: "inferred" },
                _ => SegSize { bytes: WalSegSize::DEFAULT, source: "default" },
            })
        }
        (None, None) => None,
    };
    let issues = match (&label, &seg) {
        (Some(l), Some(s)) => l.check(s.bytes),
        (Some(l), None) => l.issues.clone(),
        _ => Vec::new(),
    };
    let derived = match (&label, &seg) {
        (Some(l), Some(s)) => Some(Derived {
            timeline: l.timeline(),
            end_timeline: l.end_timeline(),
            start_segment: l.start_segment(s.bytes),
            stop_segment: l.stop_segment(s.bytes),
            history_file: l.history_file_name(s.bytes),
            requires_backup_end: l.requires_backup_end(),
            from_standby: l.from_standby(),
            incremental: l.is_incremental(),
            wal_bytes: l.stop.map(|st| st.lsn.diff(l.start.lsn)),
        }),
        _ => None,
    };
    let valid = error.is_none() && issues.iter().all(|i| i.severity != Severity::Error);
    let code = if valid { ExitCode::SUCCESS } else { ExitCode::from(1) };
    let report =
        Report { file: &path, valid, error, wal_segsize: seg, label: label.as_ref(), derived, issues };
    if out.json {
        out.print_json(&report)?;
        return Ok(code);
    }
    if let Some(e) = &report.error {
        println!("{e}");
        println!("INVALID: PostgreSQL refuses this file");
        return Ok(code);
    }
    if let (Some(l), Some(d), Some(s)) = (&report.label, &report.derived, &report.wal_segsize) {
        print_label(&path, l, d, s);
    }
    for i in &report.issues {
        println!("{i}");
    }
    println!("{}", if valid { "valid" } else { "INVALID" });
    Ok(code)
}

fn print_label(path: &Path, l: &BackupLabel, d: &Derived, s: &SegSize) {
    let kind = match l.kind {
        LabelKind::BackupLabel => "backup_label",
        LabelKind::BackupHistory => "backup history file",
    };
    println!("{kind} {}", path.display());
    let row = |k: &str, v: String| println!("  {k:<16} {v}");
    row("start", format!("{}  (file {})", l.start.lsn, l.start.file));
    if let Some(st) = &l.stop {
        row("stop", format!("{}  (file {})", st.lsn, st.file));
    }
    row("checkpoint", l.checkpoint.to_string());
    if let Some(m) = &l.method {
        row("method", m.to_string());
    }
    if let Some(f) = &l.from {
        row("from", f.to_string());
    }
    let time = |t: &pitr_core::label::LabelTime| match t.timestamp {
        Some(ts) => format!("{}  ({ts})", t.text),
        None => t.text.clone(),
    };
    if let Some(t) = &l.start_time {
        row("start time", time(t));
    }
    if let Some(t) = &l.stop_time {
        row("stop time", time(t));
    }
    if let Some(x) = &l.label {
        row("label", x.clone());
    }
    if let Some(t) = l.start_timeline {
        row("start timeline", t.to_string());
    }
    if let Some(t) = l.stop_timeline {
        row("stop timeline", t.to_string());
    }
    if let (Some(x), t) = (l.incremental_from_lsn, l.incremental_from_tli) {
        row("incremental", format!("from {x} on timeline {}", t.map_or("?".to_string(), |t| t.to_string())));
    }
    for u in &l.unknown_lines {
        row(&format!("line {}", u.line), format!("{}  (unknown, kept)", u.text));
    }
    println!("derived ({} WAL segments, {}):", s.bytes, s.source);
    row("timeline", format!("{} (from the file name in line 1)", d.timeline));
    if d.end_timeline != d.timeline {
        row("end timeline", d.end_timeline.to_string());
    }
    row("first WAL file", d.start_segment.to_string());
    if let Some(ss) = &d.stop_segment {
        row("last WAL file", ss.to_string());
    }
    if let Some(b) = d.wal_bytes {
        row("WAL in backup", format!("{b} bytes ({})", crate::cmd::lsn::human_bytes(b)));
    }
    row("history file", d.history_file.clone());
    let wait = if d.requires_backup_end { "yes (replay must reach the end-of-backup record)" } else { "no" };
    row("waits for end", wait.to_string());
}
