//! What a plan says: the JSON document of `pitr plan --json` (documented in
//! `docs/plan-json.md`; keep it stable).

use super::replay::StopKind;
use crate::error::Severity;
use crate::lsn::Lsn;
use crate::walfile::TimeLineId;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A finding of the planner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// `error` makes the plan unreachable; `warning` does not.
    pub severity: Severity,
    /// Stable machine-readable code (see `docs/plan-json.md`).
    pub code: &'static str,
    /// What is wrong, in words.
    pub message: String,
    /// The file concerned, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The LSN concerned, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lsn: Option<Lsn>,
    /// What PostgreSQL would log (its FATAL, or what it silently does).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postgres_message: Option<String>,
    /// How to fix it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Problem {
    /// An error.
    pub fn error(code: &'static str, message: impl Into<String>) -> Problem {
        Problem {
            severity: Severity::Error,
            code,
            message: message.into(),
            file: None,
            lsn: None,
            postgres_message: None,
            hint: None,
        }
    }

    /// A warning.
    pub fn warning(code: &'static str, message: impl Into<String>) -> Problem {
        Problem { severity: Severity::Warning, ..Problem::error(code, message) }
    }

    /// Names a file.
    #[must_use]
    pub fn file(mut self, f: impl Into<String>) -> Problem {
        self.file = Some(f.into());
        self
    }

    /// Names an LSN.
    #[must_use]
    pub fn lsn(mut self, l: Lsn) -> Problem {
        self.lsn = Some(l);
        self
    }

    /// What PostgreSQL would say.
    #[must_use]
    pub fn postgres(mut self, m: impl Into<String>) -> Problem {
        self.postgres_message = Some(m.into());
        self
    }

    /// How to fix it.
    #[must_use]
    pub fn hint(mut self, h: impl Into<String>) -> Problem {
        self.hint = Some(h.into());
        self
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// One timeline of the path recovery follows: WAL from `from` (inclusive) to
/// `to` (exclusive; `None` = to the end) is read on `timeline`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TimelineStep {
    /// The timeline.
    pub timeline: TimeLineId,
    /// First LSN read on it.
    pub from: Lsn,
    /// Where it ends on the path (its switch point), if it does.
    pub to: Option<Lsn>,
}

/// Where recovery stops.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stop {
    /// `before` / `after` a record, `end_of_wal`, or `consistent` (immediate).
    pub kind: StopKind,
    /// The deciding record's LSN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_lsn: Option<Lsn>,
    /// The deciding record's end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_end_lsn: Option<Lsn>,
    /// What `pg_last_wal_replay_lsn()` reports once recovery pauses there (the
    /// end of the last applied record).
    pub replay_lsn: Lsn,
    /// The transaction the deciding record ends, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub xid: Option<u32>,
    /// Its commit/abort (or restore point) time, RFC 3339 UTC with microseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// The record, e.g. `COMMIT`, `ABORT`, `COMMIT_PREPARED`, `RESTORE_POINT`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    /// The line PostgreSQL logs when it stops (without `LOG:  `), in the
    /// server's time zone; `None` when it logs none (end of WAL).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_message: Option<String>,
    /// Timeline of the deciding record.
    pub timeline: TimeLineId,
}

/// A file recovery fetches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedFile {
    /// The name PostgreSQL asks `restore_command` for (`%f`).
    pub name: String,
    /// `segment` or `history`.
    pub kind: &'static str,
    /// Where pitr found it (archive or the backup's `pg_wal`).
    pub path: PathBuf,
    /// The timeline of the file.
    pub timeline: TimeLineId,
}

/// The answer: can PostgreSQL recover this backup to this target, and how.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// True when PostgreSQL will reach the target (no error problem).
    pub reachable: bool,
    /// The target, in words (`XID 728`, `time 2026-...`, `end of WAL`, ...).
    pub target: String,
    /// The recovery target timeline PostgreSQL will follow.
    pub timeline: TimeLineId,
    /// The timelines replayed, oldest first.
    pub timeline_path: Vec<TimelineStep>,
    /// The backup's redo start (START WAL LOCATION).
    pub redo_lsn: Lsn,
    /// The backup's checkpoint (CHECKPOINT LOCATION).
    pub checkpoint_lsn: Lsn,
    /// Where the backup becomes consistent (end of its `BACKUP_END` record, or
    /// the control file's minimum recovery point for a standby backup); the
    /// earliest point recovery can stop at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consistent_lsn: Option<Lsn>,
    /// Where recovery stops (absent when it does not get there).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop: Option<Stop>,
    /// The names of the files recovery needs, in the order PostgreSQL fetches
    /// them (history files first, then segments). It may read further ahead.
    pub wal_files: Vec<String>,
    /// The same files with where pitr found them.
    pub files: Vec<PlannedFile>,
    /// The settings to write into `postgresql.auto.conf` (name -> value, unquoted).
    pub settings: BTreeMap<String, String>,
    /// The signal file to create (`recovery.signal`).
    pub signal: &'static str,
    /// The timeline PostgreSQL will create when it promotes at the end.
    pub new_timeline: TimeLineId,
    /// The last transaction replayed before the stop (`last completed
    /// transaction was at log time ...`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_transaction_time: Option<String>,
    /// PostgreSQL major of the backup.
    pub pg_version: u32,
    /// Errors (unreachable) and warnings.
    pub problems: Vec<Problem>,
}

impl Plan {
    /// The error problems.
    pub fn errors(&self) -> impl Iterator<Item = &Problem> {
        self.problems.iter().filter(|p| p.is_error())
    }
}
