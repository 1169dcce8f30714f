//! `pitr timeline`: show and check a timeline history file, or every history
//! file of a directory (WAL archive, `pg_wal`, or a data directory) as a tree.

use crate::output::{CliError, CmdResult, Output};
use pitr_core::Error;
use pitr_core::history::{HistoryIssue, HistorySet, Severity, TimelineHistory, TimelineRange};
use pitr_core::walfile::{TimeLineId, WalFileKind, WalFileName};
use pitr_core::{Lsn, ParseError};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A history file (`00000003.history`, possibly compressed), or a directory
    /// holding history files (a WAL archive, `pg_wal`, or a data directory).
    pub path: PathBuf,

    /// The timeline a history file belongs to, when its name is not
    /// `TTTTTTTT.history`.
    #[arg(long, short = 't', value_name = "TLI")]
    pub timeline: Option<TimeLineId>,
}

#[derive(Debug, Serialize)]
struct FileReport<'a> {
    file: &'a Path,
    valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeline: Option<TimeLineId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    history: Option<&'a TimelineHistory>,
    /// Oldest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ranges: Vec<TimelineRange>,
    issues: Vec<HistoryIssue>,
}

#[derive(Debug, Serialize)]
struct Node {
    timeline: TimeLineId,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent: Option<TimeLineId>,
    /// Where the timeline begins (switch point from its parent).
    #[serde(skip_serializing_if = "Option::is_none")]
    begin: Option<Lsn>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    /// Where the timeline ended, when a child forked from it.
    children: Vec<Node>,
}

#[derive(Debug, Serialize)]
struct DirReport<'a> {
    dir: &'a Path,
    valid: bool,
    /// Timelines with a history file, with their entries.
    histories: Vec<&'a TimelineHistory>,
    /// The timelines as a tree (roots first).
    tree: Vec<Node>,
    /// The newest timeline `recovery_target_timeline = 'latest'` would pick
    /// from timeline 1 (`findNewestTimeLine`).
    newest_from_1: TimeLineId,
    errors: Vec<String>,
    issues: &'a [HistoryIssue],
}

pub fn run(args: &Args, out: &Output) -> CmdResult {
    let meta =
        std::fs::metadata(&args.path).map_err(|e| CliError::new(format!("{}: {e}", args.path.display())))?;
    if meta.is_dir() { run_dir(args, out) } else { run_file(args, out) }
}

fn run_file(args: &Args, out: &Output) -> CmdResult {
    let path = args.path.as_path();
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let is_history_name = matches!(WalFileName::classify(name).kind, WalFileKind::History { .. });
    if args.timeline.is_none() && !is_history_name {
        return Err(CliError::new(format!(
            "{}: the name is not TTTTTTTT.history; give the file's timeline with --timeline",
            path.display()
        )));
    }
    let res = match args.timeline {
        Some(t) => TimelineHistory::read_for(path, t),
        None => TimelineHistory::read(path),
    };
    let (history, error) = match res {
        Ok(h) => (Some(h), None),
        Err(Error::Parse(e)) => (None, Some(e)),
        Err(e) => return Err(CliError::new(e.to_string())),
    };
    let issues = history.as_ref().map(TimelineHistory::issues).unwrap_or_default();
    let valid = error.is_none() && issues.iter().all(|i| i.severity != Severity::Error);
    let report = FileReport {
        file: path,
        valid,
        error: error.as_ref().map(ParseError::to_string),
        timeline: history.as_ref().map(|h| h.timeline),
        history: history.as_ref(),
        ranges: history.as_ref().map(TimelineHistory::ranges_oldest_first).unwrap_or_default(),
        issues,
    };
    let code = if valid { ExitCode::SUCCESS } else { ExitCode::from(1) };
    if out.json {
        out.print_json(&report)?;
        return Ok(code);
    }
    if let Some(e) = &error {
        println!("{e}");
        println!("INVALID: PostgreSQL refuses this history file");
        return Ok(code);
    }
    if let Some(h) = &history {
        println!(
            "{}: timeline {}, {} entr{}",
            path.display(),
            h.timeline,
            h.entries.len(),
            if h.entries.len() == 1 { "y" } else { "ies" }
        );
        if !h.entries.is_empty() {
            println!("  {:>5}  {:>6}  {:<18}  reason", "line", "parent", "switch point");
            for e in &h.entries {
                println!("  {:>5}  {:>6}  {:<18}  {}", e.line, e.parent, e.switch_lsn.to_string(), e.reason);
            }
        }
        println!("path to timeline {} (oldest first):", h.timeline);
        for r in &report.ranges {
            println!("  timeline {:<4} {}", r.timeline, range_text(r));
        }
    }
    print_issues(&report.issues);
    println!("{}", if valid { "valid" } else { "INVALID" });
    Ok(code)
}

fn range_text(r: &TimelineRange) -> String {
    let begin = r.begin.map_or_else(|| "0/0".to_string(), |l| l.to_string());
    let end = r.end.map_or_else(|| "(still current)".to_string(), |l| format!("{l} (exclusive)"));
    format!("from {begin} to {end}")
}

fn print_issues(issues: &[HistoryIssue]) {
    for i in issues {
        println!("{i}");
    }
}

fn run_dir(args: &Args, out: &Output) -> CmdResult {
    // A data directory: its history files are in pg_wal.
    let dir = if args.path.join("PG_VERSION").is_file() && args.path.join("pg_wal").is_dir() {
        args.path.join("pg_wal")
    } else {
        args.path.clone()
    };
    let set = HistorySet::load_dir(&dir).map_err(|e| CliError::new(e.to_string()))?;
    let valid = set.is_valid();
    let tree: Vec<Node> = set.roots().into_iter().map(|r| node(&set, r)).collect();
    let report = DirReport {
        dir: &dir,
        valid,
        histories: set.histories.values().collect(),
        tree,
        newest_from_1: set.newest_from(1),
        errors: set.errors.iter().map(ToString::to_string).collect(),
        issues: &set.issues,
    };
    let code = if valid { ExitCode::SUCCESS } else { ExitCode::from(1) };
    if out.json {
        out.print_json(&report)?;
        return Ok(code);
    }
    println!("{}: {} timeline history file(s)", dir.display(), set.histories.len());
    if set.histories.is_empty() && set.errors.is_empty() {
        println!("no timeline history: only timeline 1");
    }
    for root in &report.tree {
        print_node(root, "", "", true);
    }
    if set.histories.len() > 1 || report.newest_from_1 > 1 {
        println!(
            "recovery_target_timeline = 'latest' from timeline 1 picks timeline {}",
            report.newest_from_1
        );
    }
    for e in &report.errors {
        println!("error: {e}");
    }
    print_issues(&set.issues);
    println!("{}", if valid { "valid" } else { "INVALID" });
    Ok(code)
}

fn node(set: &HistorySet, tli: TimeLineId) -> Node {
    let h = set.histories.get(&tli);
    let last = h.and_then(|h| h.entries.last());
    Node {
        timeline: tli,
        file: set.files.get(&tli).cloned(),
        parent: last.map(|e| e.parent),
        begin: last.map(|e| e.switch_lsn),
        reason: last.map(|e| e.reason.clone()),
        children: set.children_of(tli).into_iter().filter(|c| *c != tli).map(|c| node(set, c)).collect(),
    }
}

fn print_node(n: &Node, first_prefix: &str, rest_prefix: &str, root: bool) {
    let mut line = format!("{first_prefix}timeline {}", n.timeline);
    if let (Some(p), Some(b)) = (n.parent, n.begin) {
        line.push_str(&format!("  from {p} at {b}"));
    }
    if let Some(r) = n.reason.as_deref().filter(|r| !r.is_empty()) {
        line.push_str(&format!("  ({r})"));
    }
    if root && n.file.is_none() && n.timeline != 1 {
        line.push_str("  [no history file]");
    }
    println!("{line}");
    let count = n.children.len();
    for (i, c) in n.children.iter().enumerate() {
        let last = i + 1 == count;
        let (branch, cont) = if last { ("└── ", "    ") } else { ("├── ", "│   ") };
        print_node(c, &format!("{rest_prefix}{branch}"), &format!("{rest_prefix}{cont}"), false);
    }
}
