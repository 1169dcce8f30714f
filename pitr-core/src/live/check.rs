//! `pitr check`: is a live server ready for point-in-time recovery, and is its
//! archiving healthy right now?
//!
//! [`check`] gathers facts ([`gather`]) and judges them ([`assess`], a pure
//! function). Every [`Problem`] has a [`Severity`], a stable `code` (listed in
//! `docs/live.md`), the checklist item it belongs to (`check`), a message and
//! the exact fix, with whether the fix needs a reload or a restart.

use super::conn::Session;
use super::segment;
use super::{LiveError, ServerInfo};
use crate::lsn::{Lsn, WalSegSize};
use crate::version::PgMajor;
use crate::walfile::{Compression, SegmentName, WalFileKind, WalFileName};
use serde::Serialize;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// How serious a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; does not make the server unhealthy.
    Info,
    /// Recovery works but with a risk or a cost (exit 1).
    Warning,
    /// Point-in-time recovery is not possible, or not up to now (exit 1).
    Error,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// What applying a fix takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Apply {
    /// Nothing beyond the fix itself (or no change is needed).
    None,
    /// `SELECT pg_reload_conf();` (or `pg_ctl reload`).
    Reload,
    /// A server restart (`pg_ctl restart`).
    Restart,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// How serious.
    pub severity: Severity,
    /// Stable identifier (see `docs/live.md`), e.g. `archive_mode_off`.
    pub code: &'static str,
    /// The checklist item it belongs to: a setting name (`wal_level`,
    /// `archive_mode`, `archive_command`, `archive_timeout`, `full_page_writes`,
    /// `max_wal_senders`, `timezone`) or `server`, `archiver`, `lag`, `archive`.
    pub check: &'static str,
    /// What is wrong, with the values involved.
    pub message: String,
    /// The exact change (SQL or command) that fixes it.
    pub fix: String,
    /// Whether the fix needs a reload or a restart.
    pub apply: Apply,
}

/// Options of [`check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckOptions {
    /// A WAL archive directory (flat, as `cp %p DIR/%f` fills it) to
    /// cross-check: it must hold the last archived file and the recent
    /// segments, with the server's system identifier.
    pub archive_dir: Option<PathBuf>,
    /// More completed-but-unarchived segments (or `.ready` files) than this is
    /// a warning (`archive_lagging`). Default 4.
    pub max_lag_segments: u64,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions { archive_dir: None, max_lag_segments: 4 }
    }
}

/// The settings `check` looks at. `None` when the server does not have the
/// setting (e.g. `archive_library` before 15) or hides it from this role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Settings {
    /// `wal_level`: `minimal`, `replica` or `logical`.
    pub wal_level: Option<String>,
    /// `archive_mode`: `off`, `on` or `always`.
    pub archive_mode: Option<String>,
    /// `archive_command`; `None` when the server shows `(disabled)` (archive_mode off).
    pub archive_command: Option<String>,
    /// `archive_library` (15+).
    pub archive_library: Option<String>,
    /// `archive_timeout` in seconds (0 = never force a switch).
    pub archive_timeout_s: Option<u64>,
    /// `wal_segment_size` in bytes.
    pub wal_segment_size: u64,
    /// `max_wal_senders`.
    pub max_wal_senders: Option<u64>,
    /// `wal_keep_size` in MB.
    pub wal_keep_size_mb: Option<u64>,
    /// `TimeZone`.
    pub timezone: Option<String>,
    /// `full_page_writes`.
    pub full_page_writes: Option<bool>,
    /// Settings (of those above) changed in a file but waiting for a restart
    /// (`pg_settings.pending_restart`).
    pub pending_restart: Vec<String>,
}

/// `pg_stat_archiver`, plus whether archiving is failing right now.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ArchiverStats {
    /// Files archived since the statistics were reset.
    pub archived_count: u64,
    /// The last file archived successfully.
    pub last_archived_wal: Option<String>,
    /// When.
    pub last_archived_time: Option<jiff::Timestamp>,
    /// Failed attempts since the statistics were reset.
    pub failed_count: u64,
    /// The file of the last failed attempt.
    pub last_failed_wal: Option<String>,
    /// When.
    pub last_failed_time: Option<jiff::Timestamp>,
    /// When the statistics were reset.
    pub stats_reset: Option<jiff::Timestamp>,
    /// Archiving fails now: the last attempt failed (`last_failed_time >
    /// last_archived_time`, or a failure and no success at all) and files are
    /// waiting (a `.ready` file exists, when they can be counted). The second
    /// condition covers the statistics' delay: they are updated
    /// asynchronously, on 13 and 14 up to about a second late.
    pub failing: bool,
}

/// How far the archive is behind the WAL being written.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Lag {
    /// `pg_current_wal_lsn()` (primary) or the last received/replayed LSN
    /// (standby).
    pub current_lsn: Option<Lsn>,
    /// The segment holding `current_lsn` (computed, not `pg_walfile_name`).
    pub current_wal_file: Option<SegmentName>,
    /// Completed segments not archived yet (from `last_archived_wal`; 0 when
    /// no `.ready` file is waiting); `None` when it cannot be told (nothing
    /// archived, a history file last, a standby that does not archive).
    pub segments: Option<u64>,
    /// Bytes of WAL not in the archive: from the end of the last archived
    /// segment to `current_lsn`. This is what a recovery would lose now.
    pub bytes: Option<u64>,
    /// `.ready` files in `pg_wal/archive_status` (`pg_ls_archive_statusdir()`,
    /// needs superuser or `pg_monitor`); `None` when not allowed.
    pub ready_files: Option<u64>,
}

/// The cross-check of a WAL archive directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArchiveCheck {
    /// The directory.
    pub dir: PathBuf,
    /// WAL segment files found (compressed copies count).
    pub segments: u64,
    /// The newest segment found.
    pub newest_segment: Option<String>,
    /// Whether `last_archived_wal` is there (`None` when nothing was archived).
    pub last_archived_present: Option<bool>,
    /// Recent files checked: the last archived one and the files
    /// `pg_wal/archive_status` marks `.done`.
    pub recent_checked: u64,
    /// Those that are missing.
    pub recent_missing: Vec<String>,
    /// The system identifier in the long header of `system_id_file`.
    #[serde(serialize_with = "super::ser_opt_u64_string")]
    pub system_id: Option<u64>,
    /// The segment the system identifier was read from.
    pub system_id_file: Option<String>,
    /// Why the directory (or the segment header) could not be read.
    pub error: Option<String>,
}

/// Everything `check` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    /// No problem of severity warning or error.
    pub healthy: bool,
    /// The server.
    pub server: ServerInfo,
    /// Settings.
    pub settings: Settings,
    /// `pg_stat_archiver`.
    pub archiver: ArchiverStats,
    /// Archive lag.
    pub lag: Lag,
    /// The archive cross-check, with `--archive`.
    pub archive: Option<ArchiveCheck>,
    /// Problems, most serious first.
    pub problems: Vec<Problem>,
    /// The `.done` files of `pg_wal/archive_status`, used for the cross-check.
    #[serde(skip)]
    pub done_files: Option<Vec<String>>,
}

impl CheckReport {
    /// The most serious severity among the problems of checklist item `check`.
    pub fn worst(&self, check: &str) -> Option<Severity> {
        self.problems.iter().filter(|p| p.check == check).map(|p| p.severity).max()
    }
}

/// Checks a server: [`gather`] then [`assess`].
pub fn check(session: &mut Session, opts: &CheckOptions) -> Result<CheckReport, LiveError> {
    let mut report = gather(session, opts)?;
    report.problems = assess(&report, opts);
    report.healthy = !report.problems.iter().any(|p| p.severity >= Severity::Warning);
    Ok(report)
}

const SETTING_NAMES: [&str; 10] = [
    "wal_level",
    "archive_mode",
    "archive_command",
    "archive_library",
    "archive_timeout",
    "wal_segment_size",
    "max_wal_senders",
    "wal_keep_size",
    "TimeZone",
    "full_page_writes",
];

/// Queries the server (and reads the archive directory); `problems` is left
/// empty and `healthy` true.
pub fn gather(session: &mut Session, opts: &CheckOptions) -> Result<CheckReport, LiveError> {
    let server = session.refresh()?.clone();
    let settings = read_settings(session, &server)?;
    let archiver = read_archiver(session)?;
    let seg = server.wal_segment_size;

    // Where WAL is now.
    let current_lsn = if server.in_recovery {
        let what = "last received/replayed LSN";
        let row =
            session.query_one(what, "SELECT pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()", &[])?;
        session.lsn_col(&row, 0, what)?.or(session.lsn_col(&row, 1, what)?)
    } else {
        let what = "pg_current_wal_lsn()";
        let row = session.query_one(what, "SELECT pg_current_wal_lsn()", &[])?;
        session.lsn_col(&row, 0, what)?
    };
    let current_wal_file = match (current_lsn, server.timeline) {
        (Some(l), Some(t)) => Some(SegmentName::of_lsn(t, l, seg)),
        _ => None,
    };

    // archive_status, where allowed (superuser or pg_monitor).
    let status_files: Option<Vec<String>> =
        match session.client().query("SELECT name FROM pg_ls_archive_statusdir()", &[]) {
            Ok(rows) => {
                Some(rows.iter().filter_map(|r| r.try_get::<_, Option<String>>(0).ok().flatten()).collect())
            }
            Err(_) => None,
        };
    let ready_files =
        status_files.as_ref().map(|v| v.iter().filter(|n| n.ends_with(".ready")).count() as u64);
    let done_files: Option<Vec<String>> = status_files
        .map(|v| v.into_iter().filter_map(|n| n.strip_suffix(".done").map(str::to_string)).collect());

    let archiving_here = match settings.archive_mode.as_deref() {
        Some("always") => true,
        Some("on") => !server.in_recovery,
        _ => false,
    };
    let (mut segments, mut bytes) = if archiving_here {
        match (current_lsn, archiver.last_archived_wal.as_deref()) {
            (Some(cur), Some(last)) => compute_lag(cur, last, seg),
            _ => (None, None),
        }
    } else {
        (None, None)
    };
    // pg_stat_archiver is updated asynchronously (on 13 and 14 through the
    // statistics collector, up to about a second late). No .ready file means
    // nothing is waiting: every completed segment is archived, whatever the
    // statistics say yet.
    let mut archiver = archiver;
    if archiving_here && ready_files == Some(0) {
        archiver.failing = false;
        if let Some(cur) = current_lsn {
            segments = Some(0);
            bytes = Some(cur.segment_offset(seg));
        }
    }
    let lag = Lag { current_lsn, current_wal_file, segments, bytes, ready_files };

    let mut report = CheckReport {
        healthy: true,
        server,
        settings,
        archiver,
        lag,
        archive: None,
        problems: Vec::new(),
        done_files,
    };
    if let Some(dir) = &opts.archive_dir {
        report.archive = Some(cross_check_archive(dir, &report));
    }
    Ok(report)
}

fn read_settings(session: &mut Session, server: &ServerInfo) -> Result<Settings, LiveError> {
    let what = "pg_settings";
    let names: Vec<&str> = SETTING_NAMES.to_vec();
    let rows = session.query(
        what,
        "SELECT name, setting, unit, pending_restart FROM pg_settings WHERE name = ANY($1)",
        &[&names],
    )?;
    let mut s = Settings {
        wal_level: None,
        archive_mode: None,
        archive_command: None,
        archive_library: None,
        archive_timeout_s: None,
        wal_segment_size: server.wal_segment_size.bytes(),
        max_wal_senders: None,
        wal_keep_size_mb: None,
        timezone: None,
        full_page_writes: None,
        pending_restart: Vec::new(),
    };
    for row in &rows {
        let name: String = session.col(row, 0, what)?.unwrap_or_default();
        let value: Option<String> = session.col(row, 1, what)?;
        let unit: Option<String> = session.col(row, 2, what)?;
        let pending: bool = session.col(row, 3, what)?.unwrap_or(false);
        if pending {
            s.pending_restart.push(name.clone());
        }
        let Some(value) = value else { continue };
        match name.as_str() {
            "wal_level" => s.wal_level = Some(value),
            "archive_mode" => s.archive_mode = Some(value),
            // The show hook prints "(disabled)" when archive_mode is off.
            "archive_command" => s.archive_command = (value != "(disabled)").then_some(value),
            "archive_library" => s.archive_library = Some(value),
            "archive_timeout" => s.archive_timeout_s = scaled(&value, unit.as_deref(), Unit::Seconds),
            "max_wal_senders" => s.max_wal_senders = value.trim().parse().ok(),
            "wal_keep_size" => s.wal_keep_size_mb = scaled(&value, unit.as_deref(), Unit::Megabytes),
            "TimeZone" => s.timezone = Some(value),
            "full_page_writes" => s.full_page_writes = Some(value == "on"),
            _ => {}
        }
    }
    s.pending_restart.sort();
    Ok(s)
}

#[derive(Clone, Copy)]
enum Unit {
    Seconds,
    Megabytes,
}

/// `pg_settings.setting` in `unit`, converted to seconds or megabytes.
fn scaled(value: &str, unit: Option<&str>, want: Unit) -> Option<u64> {
    let n: i64 = value.trim().parse().ok()?;
    let n = u64::try_from(n).ok()?;
    match want {
        Unit::Seconds => match unit.unwrap_or("s") {
            "ms" => Some(n / 1000),
            "s" => Some(n),
            "min" => n.checked_mul(60),
            "h" => n.checked_mul(3600),
            _ => None,
        },
        Unit::Megabytes => {
            let bytes = match unit.unwrap_or("MB") {
                "B" => Some(n),
                "kB" => n.checked_mul(1 << 10),
                "8kB" => n.checked_mul(8 << 10),
                "MB" => n.checked_mul(1 << 20),
                "GB" => n.checked_mul(1 << 30),
                _ => None,
            }?;
            Some(bytes >> 20)
        }
    }
}

fn read_archiver(session: &mut Session) -> Result<ArchiverStats, LiveError> {
    let what = "pg_stat_archiver";
    let row = session.query_one(
        what,
        "SELECT archived_count, last_archived_wal, last_archived_time, failed_count, \
         last_failed_wal, last_failed_time, stats_reset FROM pg_stat_archiver",
        &[],
    )?;
    let count = |v: Option<i64>| v.and_then(|n| u64::try_from(n).ok()).unwrap_or(0);
    let mut a = ArchiverStats {
        archived_count: count(session.col(&row, 0, what)?),
        last_archived_wal: session.col(&row, 1, what)?,
        last_archived_time: session.time_col(&row, 2, what)?,
        failed_count: count(session.col(&row, 3, what)?),
        last_failed_wal: session.col(&row, 4, what)?,
        last_failed_time: session.time_col(&row, 5, what)?,
        stats_reset: session.time_col(&row, 6, what)?,
        failing: false,
    };
    a.failing = failing(a.last_archived_time, a.last_failed_time);
    Ok(a)
}

/// Archiving fails now when the last failure is newer than the last success.
pub fn failing(last_archived: Option<jiff::Timestamp>, last_failed: Option<jiff::Timestamp>) -> bool {
    match (last_archived, last_failed) {
        (_, None) => false,
        (None, Some(_)) => true,
        (Some(ok), Some(bad)) => bad > ok,
    }
}

/// The segment number through which everything is archived, judging from the
/// name of the last archived file. `None` for a history file or an unknown name.
///
/// A `.partial` file (old timeline's last segment) counts as archived through
/// the segment before it; a backup history file through its start segment
/// (the archiver sends `.ready` files in name order, so the start segment went
/// first). Both bounds are conservative: the lag is never understated.
pub fn archived_through(last_archived_wal: &str, seg: WalSegSize) -> Option<u64> {
    match WalFileName::classify(last_archived_wal).kind {
        WalFileKind::Segment { segment } | WalFileKind::BackupHistory { segment, .. } => segment.segno(seg),
        WalFileKind::Partial { segment } => segment.segno(seg).and_then(|s| s.checked_sub(1)),
        _ => None,
    }
}

/// Lag in completed segments and in bytes between `current` (the WAL write
/// position) and the last archived file.
pub fn compute_lag(current: Lsn, last_archived_wal: &str, seg: WalSegSize) -> (Option<u64>, Option<u64>) {
    let Some(through) = archived_through(last_archived_wal, seg) else { return (None, None) };
    let cur = current.segment(seg);
    let segments = cur.saturating_sub(through).saturating_sub(1);
    let bytes = current.as_u64().saturating_sub(seg.segment_end(through).as_u64());
    (Some(segments), Some(bytes))
}

/// What `%` placeholders a command string uses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Placeholders {
    /// Allowed placeholders that occur (e.g. `['p', 'f']`), in order of first use.
    pub used: Vec<char>,
    /// Placeholders that are not allowed, as written (`"%x"`).
    pub unexpected: Vec<String>,
    /// The string ends with a lone `%`.
    pub trailing_percent: bool,
}

/// Scans `command` for `%` placeholders; `allowed` lists the letters the
/// parameter accepts (`%%` is always allowed). `archive_command` allows `p`
/// and `f`; `restore_command` `f`, `p` and `r`.
pub fn scan_placeholders(command: &str, allowed: &[char]) -> Placeholders {
    let mut out = Placeholders::default();
    let mut chars = command.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            continue;
        }
        match chars.next() {
            None => out.trailing_percent = true,
            Some('%') => {}
            Some(x) if allowed.contains(&x) => {
                if !out.used.contains(&x) {
                    out.used.push(x);
                }
            }
            Some(x) => {
                let p = format!("%{x}");
                if !out.unexpected.contains(&p) {
                    out.unexpected.push(p);
                }
            }
        }
    }
    out
}

/// Commands that succeed without copying anything.
fn is_noop_command(cmd: &str) -> bool {
    matches!(cmd.trim(), "true" | "/bin/true" | "/usr/bin/true" | ":" | "exit 0" | "/bin/true %p" | "true %p")
}

fn sql_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

const RELOAD: &str = "SELECT pg_reload_conf();";
const RESTART: &str = "pg_ctl restart -D <data directory> (or systemctl restart postgresql)";

/// Judges the facts of a report (a pure function: unit-testable, and what
/// `check` uses). Problems come out most serious first.
pub fn assess(r: &CheckReport, opts: &CheckOptions) -> Vec<Problem> {
    let mut p: Vec<Problem> = Vec::new();
    let mut add = |severity, code, check, message: String, fix: String, apply| {
        p.push(Problem { severity, code, check, message, fix, apply });
    };
    let s = &r.settings;
    let major = r.server.major;
    let archive_on = matches!(s.archive_mode.as_deref(), Some("on" | "always"));

    for name in &s.pending_restart {
        let check = match name.as_str() {
            "wal_level" => "wal_level",
            "archive_mode" => "archive_mode",
            "max_wal_senders" => "max_wal_senders",
            _ => "server",
        };
        add(
            Severity::Warning,
            "pending_restart",
            check,
            format!(
                "{name} was changed in the configuration but the running server still uses its old value"
            ),
            format!("restart the server to apply it: {RESTART}"),
            Apply::Restart,
        );
    }

    match s.wal_level.as_deref() {
        Some("replica" | "logical") => {}
        Some(level) => add(
            Severity::Error,
            "wal_level_minimal",
            "wal_level",
            format!(
                "wal_level = {level}: WAL cannot be archived or used for recovery (needs replica or logical)"
            ),
            "ALTER SYSTEM SET wal_level = 'replica';".into(),
            Apply::Restart,
        ),
        None => add(
            Severity::Warning,
            "setting_unreadable",
            "wal_level",
            "wal_level could not be read (pg_settings hides it from this role)".into(),
            "run pitr check as a superuser or a member of pg_read_all_settings".into(),
            Apply::None,
        ),
    }

    match s.archive_mode.as_deref() {
        Some("on" | "always") => {}
        other => {
            let pending = s.pending_restart.iter().any(|n| n == "archive_mode");
            add(
                Severity::Error,
                "archive_mode_off",
                "archive_mode",
                format!(
                    "archive_mode = {}: no WAL is archived, so no point-in-time recovery is possible{}",
                    other.unwrap_or("(unreadable)"),
                    if pending { " (a change waits for a restart)" } else { "" }
                ),
                "ALTER SYSTEM SET archive_mode = 'on'; and set archive_command (or archive_library)".into(),
                Apply::Restart,
            );
        }
    }
    if r.server.in_recovery && s.archive_mode.as_deref() == Some("on") {
        add(
            Severity::Info,
            "standby_not_archiving",
            "archive_mode",
            "archive_mode = on and the server is in recovery: it archives nothing until it is promoted \
             (the primary is expected to archive)"
                .into(),
            "nothing to do if the primary archives; ALTER SYSTEM SET archive_mode = 'always'; to archive \
             from this standby as well"
                .into(),
            Apply::Restart,
        );
    }

    if archive_on {
        let cmd = s.archive_command.as_deref().filter(|c| !c.trim().is_empty());
        let lib = s.archive_library.as_deref().filter(|l| !l.trim().is_empty());
        match (cmd, lib) {
            (Some(c), Some(l)) if major >= PgMajor::V16 => add(
                Severity::Error,
                "archive_command_and_library",
                "archive_command",
                format!(
                    "both archive_command ({c}) and archive_library ({l}) are set: PostgreSQL {major} \
                     refuses to archive anything"
                ),
                format!("ALTER SYSTEM RESET archive_library; (or RESET archive_command) then {RELOAD}"),
                Apply::Reload,
            ),
            (Some(c), Some(l)) => add(
                Severity::Warning,
                "archive_command_ignored",
                "archive_command",
                format!("archive_library ({l}) is set, so archive_command ({c}) is ignored"),
                format!("ALTER SYSTEM RESET archive_command; (or RESET archive_library) then {RELOAD}"),
                Apply::Reload,
            ),
            (None, None) => add(
                Severity::Error,
                "archiving_not_configured",
                "archive_command",
                "archive_mode is on but neither archive_command nor archive_library is set: WAL \
                 accumulates in pg_wal and nothing is archived"
                    .into(),
                format!(
                    "ALTER SYSTEM SET archive_command = {}; then {RELOAD}",
                    sql_str("test ! -f /path/to/archive/%f && cp %p /path/to/archive/%f")
                ),
                Apply::Reload,
            ),
            (None, Some(_)) => {}
            (Some(c), None) => assess_command(c, major, &mut add),
        }

        if s.archive_timeout_s == Some(0) {
            add(
                Severity::Warning,
                "archive_timeout_zero",
                "archive_timeout",
                "archive_timeout = 0: a segment is archived only when it is full, so on a quiet server the \
                 newest changes can stay out of the archive for an unbounded time (that is what a recovery \
                 would lose)"
                    .into(),
                format!("ALTER SYSTEM SET archive_timeout = '60s'; then {RELOAD}"),
                Apply::Reload,
            );
        }
    }

    if s.full_page_writes == Some(false) {
        add(
            Severity::Error,
            "full_page_writes_off",
            "full_page_writes",
            "full_page_writes = off: a page torn by a crash cannot be repaired during recovery, and \
             recovery from a base backup is not safe"
                .into(),
            format!("ALTER SYSTEM SET full_page_writes = on; then {RELOAD}"),
            Apply::Reload,
        );
    }
    if s.max_wal_senders == Some(0) {
        add(
            Severity::Warning,
            "max_wal_senders_zero",
            "max_wal_senders",
            "max_wal_senders = 0: pg_basebackup (and streaming replicas) cannot connect; base backups \
             need the low-level API"
                .into(),
            "ALTER SYSTEM SET max_wal_senders = 10;".into(),
            Apply::Restart,
        );
    }
    if let Some(tz) = &s.timezone {
        add(
            Severity::Info,
            "timezone",
            "timezone",
            format!(
                "TimeZone = {tz}: a recovery_target_time without an offset is read in the restored \
                 server's TimeZone; times shown by this server are in {tz}"
            ),
            "nothing to change; give target times with an explicit offset (2025-01-31 08:00:00+00)".into(),
            Apply::None,
        );
    }
    if r.server.system_id.is_none() {
        add(
            Severity::Info,
            "system_id_unavailable",
            "server",
            "pg_control_system() is not allowed for this role: the system identifier is unknown".into(),
            "run pitr check as a superuser (or GRANT EXECUTE ON FUNCTION pg_control_system() TO <role>;)"
                .into(),
            Apply::None,
        );
    }

    // The archiver.
    let a = &r.archiver;
    if archive_on && a.failing {
        add(
            Severity::Error,
            "archive_failing",
            "archiver",
            format!(
                "archiving is failing: the last attempt ({} at {}) failed{}; {} failures since {}; WAL piles \
                 up in pg_wal until it succeeds",
                a.last_failed_wal.as_deref().unwrap_or("?"),
                fmt_time(a.last_failed_time),
                match (&a.last_archived_wal, a.last_archived_time) {
                    (Some(w), Some(t)) => format!(", the last success was {w} at {}", fmt_time(Some(t))),
                    _ => ", and nothing was archived successfully".to_string(),
                },
                a.failed_count,
                a.stats_reset.map_or("the statistics were reset".to_string(), |t| fmt_time(Some(t))),
            ),
            format!(
                "find 'archive command failed' in the server log, fix archive_command (ALTER SYSTEM SET \
                 archive_command = '...';) or the archive destination, then {RELOAD}"
            ),
            Apply::Reload,
        );
    } else if a.failed_count > 0 {
        add(
            Severity::Info,
            "archive_failed_earlier",
            "archiver",
            format!(
                "{} archiving attempts failed earlier (last: {} at {}); archiving works now",
                a.failed_count,
                a.last_failed_wal.as_deref().unwrap_or("?"),
                fmt_time(a.last_failed_time)
            ),
            "SELECT pg_stat_reset_shared('archiver'); once understood, to reset the counters".into(),
            Apply::None,
        );
    }
    let archiving_here = match s.archive_mode.as_deref() {
        Some("always") => true,
        Some("on") => !r.server.in_recovery,
        _ => false,
    };
    if archiving_here && a.last_archived_wal.is_none() && !a.failing {
        add(
            Severity::Info,
            "nothing_archived_yet",
            "archiver",
            "no WAL file has been archived since the statistics were reset; a segment is archived when it \
             is complete"
                .into(),
            "SELECT pg_switch_wal(); forces the current segment out".into(),
            Apply::None,
        );
    }

    // Lag.
    if archiving_here {
        let seg_lag = r.lag.segments.unwrap_or(0);
        let ready = r.lag.ready_files.unwrap_or(0);
        if seg_lag > opts.max_lag_segments || ready > opts.max_lag_segments {
            add(
                Severity::Warning,
                "archive_lagging",
                "lag",
                format!(
                    "the archive lags: {} completed segment(s) not archived{}{} (more than {})",
                    r.lag.segments.map_or("?".to_string(), |n| n.to_string()),
                    r.lag.bytes.map_or(String::new(), |b| format!(", {b} bytes of WAL not in the archive")),
                    r.lag.ready_files.map_or(String::new(), |n| format!(", {n} .ready file(s) waiting")),
                    opts.max_lag_segments
                ),
                "make archiving succeed (see archive_failing) or faster; the lag is what a recovery would \
                 lose now"
                    .into(),
                Apply::None,
            );
        }
        if r.lag.ready_files.is_none() {
            add(
                Severity::Info,
                "ready_files_unavailable",
                "lag",
                "pg_ls_archive_statusdir() is not allowed for this role: .ready files were not counted"
                    .into(),
                "GRANT pg_monitor TO <role>;".into(),
                Apply::None,
            );
        }
    }

    if let Some(ac) = &r.archive {
        assess_archive(ac, r, &mut add);
    }

    p.sort_by_key(|x| std::cmp::Reverse(x.severity));
    p
}

type AddFn<'a> = dyn FnMut(Severity, &'static str, &'static str, String, String, Apply) + 'a;

fn assess_command(c: &str, major: PgMajor, add: &mut AddFn<'_>) {
    let fix_example = format!(
        "ALTER SYSTEM SET archive_command = {}; then {RELOAD}",
        sql_str("test ! -f /path/to/archive/%f && cp %p /path/to/archive/%f")
    );
    if is_noop_command(c) {
        add(
            Severity::Error,
            "archive_command_noop",
            "archive_command",
            format!(
                "archive_command = {c} succeeds without copying anything: WAL is marked archived and then \
                 removed, and no recovery can use it"
            ),
            fix_example.clone(),
            Apply::Reload,
        );
        return;
    }
    let ph = scan_placeholders(c, &['p', 'f']);
    let has_p = ph.used.contains(&'p');
    let has_f = ph.used.contains(&'f');
    if !has_p && !has_f {
        add(
            Severity::Error,
            "archive_command_no_placeholder",
            "archive_command",
            format!(
                "archive_command = {c} has neither %p (the file's path) nor %f (its name): it cannot know which file to archive"
            ),
            fix_example.clone(),
            Apply::Reload,
        );
    } else if !has_p || !has_f {
        let (missing, meaning) = if has_p {
            ("%f", "the file name")
        } else {
            ("%p", "the path of the file relative to the data directory")
        };
        add(
            Severity::Warning,
            "archive_command_missing_placeholder",
            "archive_command",
            format!(
                "archive_command = {c} does not use {missing} ({meaning}); make sure it still archives each file under its own name"
            ),
            fix_example.clone(),
            Apply::Reload,
        );
    }
    if !ph.unexpected.is_empty() || ph.trailing_percent {
        let what = if ph.trailing_percent && ph.unexpected.is_empty() {
            "ends with a lone %".to_string()
        } else {
            format!("uses {} (only %p, %f and %% are allowed)", ph.unexpected.join(", "))
        };
        if major >= PgMajor::V16 {
            add(
                Severity::Error,
                "archive_command_bad_placeholder",
                "archive_command",
                format!(
                    "archive_command = {c} {what}: PostgreSQL {major} refuses to run it, so archiving fails"
                ),
                "write a literal % as %%, then ".to_string() + RELOAD,
                Apply::Reload,
            );
        } else {
            add(
                Severity::Warning,
                "archive_command_bad_placeholder",
                "archive_command",
                format!(
                    "archive_command = {c} {what}: PostgreSQL {major} passes it on literally, and 16 and \
                     later refuse it"
                ),
                "write a literal % as %%, then ".to_string() + RELOAD,
                Apply::Reload,
            );
        }
    }
}

fn assess_archive(ac: &ArchiveCheck, r: &CheckReport, add: &mut AddFn<'_>) {
    let dir = ac.dir.display();
    if let Some(e) = &ac.error {
        add(
            Severity::Error,
            "archive_unreadable",
            "archive",
            e.clone(),
            "check the path and the permissions of the archive directory and its files".into(),
            Apply::None,
        );
        if ac.segments == 0 && ac.last_archived_present.is_none() {
            return;
        }
    }
    if ac.segments == 0 {
        add(
            Severity::Error,
            "archive_empty",
            "archive",
            if r.archiver.last_archived_wal.is_none() {
                format!("{dir} holds no WAL segment, and the server has archived nothing yet")
            } else {
                format!("{dir} holds no WAL segment")
            },
            if r.archiver.last_archived_wal.is_none() {
                "SELECT pg_switch_wal(); sends the current segment to the archive; then check again".into()
            } else {
                "point archive_command at this directory, or give pitr check the directory it archives to"
                    .into()
            },
            Apply::None,
        );
    }
    if ac.last_archived_present == Some(false) {
        add(
            Severity::Error,
            "archive_missing_last",
            "archive",
            format!(
                "the server's last archived file {} is not in {dir}: archive_command copies elsewhere, or the \
                 file was removed",
                r.archiver.last_archived_wal.as_deref().unwrap_or("?")
            ),
            "compare archive_command with this directory".into(),
            Apply::None,
        );
    }
    if !ac.recent_missing.is_empty() {
        let shown: Vec<&str> = ac.recent_missing.iter().take(10).map(String::as_str).collect();
        add(
            Severity::Error,
            "archive_missing_recent",
            "archive",
            format!(
                "{} of the {} recently archived files are not in {dir}: {}{}",
                ac.recent_missing.len(),
                ac.recent_checked,
                shown.join(", "),
                if ac.recent_missing.len() > shown.len() { ", ..." } else { "" }
            ),
            "find where they went (archive_command, a cleanup job); a recovery through them is impossible \
             until they are back"
                .into(),
            Apply::None,
        );
    }
    match (ac.system_id, r.server.system_id) {
        (Some(a), Some(s)) if a != s => add(
            Severity::Error,
            "archive_system_id_mismatch",
            "archive",
            format!(
                "{} in {dir} belongs to database system {a}, the server is {s}: this archive is another \
                 cluster's",
                ac.system_id_file.as_deref().unwrap_or("?")
            ),
            "give the directory this server archives to".into(),
            Apply::None,
        ),
        _ => {}
    }
}

fn fmt_time(t: Option<jiff::Timestamp>) -> String {
    t.map_or_else(|| "?".to_string(), |t| t.to_string())
}

/// Strips a compression extension (`.gz`, `.zst`, ...) from an archive file name.
fn uncompressed_name(name: &str) -> &str {
    match name.rsplit_once('.') {
        Some((base, ext)) if Compression::from_extension(ext).is_some() => base,
        _ => name,
    }
}

fn cross_check_archive(dir: &Path, r: &CheckReport) -> ArchiveCheck {
    let mut ac = ArchiveCheck {
        dir: dir.to_path_buf(),
        segments: 0,
        newest_segment: None,
        last_archived_present: None,
        recent_checked: 0,
        recent_missing: Vec::new(),
        system_id: None,
        system_id_file: None,
        error: None,
    };
    // name without compression -> file name as stored
    let mut present: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    match std::fs::read_dir(dir) {
        Ok(rd) => {
            for e in rd.flatten() {
                let stored = e.file_name().to_string_lossy().into_owned();
                let base = uncompressed_name(&stored).to_string();
                present.entry(base).or_insert(stored);
            }
        }
        Err(e) => {
            ac.error = Some(format!("cannot read {}: {e}", dir.display()));
            return ac;
        }
    }
    let mut newest: Option<SegmentName> = None;
    for base in present.keys() {
        if let WalFileKind::Segment { segment } = WalFileName::classify(base).kind {
            ac.segments += 1;
            if newest.is_none_or(|n| segment > n) {
                newest = Some(segment);
            }
        }
    }
    ac.newest_segment = newest.map(|s| s.to_string());

    let mut recent: Vec<String> = Vec::new();
    if let Some(last) = &r.archiver.last_archived_wal {
        let here = present.contains_key(last.as_str());
        ac.last_archived_present = Some(here);
        recent.push(last.clone());
    }
    if let Some(done) = &r.done_files {
        let mut done: Vec<&String> = done
            .iter()
            .filter(|n| {
                matches!(
                    WalFileName::classify(n).kind,
                    WalFileKind::Segment { .. } | WalFileKind::History { .. }
                )
            })
            .collect();
        done.sort();
        for n in done.into_iter().rev().take(32) {
            if !recent.contains(n) {
                recent.push(n.clone());
            }
        }
    }
    let mut seen = HashSet::new();
    for n in &recent {
        if seen.insert(n.clone()) {
            ac.recent_checked += 1;
            if !present.contains_key(n.as_str()) {
                ac.recent_missing.push(n.clone());
            }
        }
    }
    ac.recent_missing.sort();

    // System identifier: from the last archived segment if it is here, else the newest one.
    let source = r
        .archiver
        .last_archived_wal
        .as_deref()
        .filter(|n| matches!(WalFileName::classify(n).kind, WalFileKind::Segment { .. }))
        .and_then(|n| present.get(n))
        .cloned()
        .or_else(|| newest.and_then(|s| present.get(&s.to_string()).cloned()));
    if let Some(file) = source {
        match segment::read_long_header(&dir.join(&file)) {
            Ok(h) => {
                ac.system_id = Some(h.system_id);
                ac.system_id_file = Some(file);
            }
            Err(e) => ac.error = Some(e),
        }
    }
    ac
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg1() -> WalSegSize {
        WalSegSize::new(1 << 20).unwrap()
    }

    pub(crate) fn sample() -> CheckReport {
        CheckReport {
            healthy: true,
            server: ServerInfo {
                version: "15.8".into(),
                version_num: 150008,
                major: PgMajor::V15,
                system_id: Some(7),
                timeline: Some(1),
                checkpoint_timeline: Some(1),
                in_recovery: false,
                wal_segment_size: seg1(),
            },
            settings: Settings {
                wal_level: Some("replica".into()),
                archive_mode: Some("on".into()),
                archive_command: Some("cp %p /a/%f".into()),
                archive_library: Some(String::new()),
                archive_timeout_s: Some(60),
                wal_segment_size: 1 << 20,
                max_wal_senders: Some(10),
                wal_keep_size_mb: Some(0),
                timezone: Some("UTC".into()),
                full_page_writes: Some(true),
                pending_restart: vec![],
            },
            archiver: ArchiverStats {
                archived_count: 3,
                last_archived_wal: Some("000000010000000000000003".into()),
                ..Default::default()
            },
            lag: Lag { segments: Some(0), bytes: Some(100), ready_files: Some(0), ..Default::default() },
            archive: None,
            problems: vec![],
            done_files: None,
        }
    }

    fn codes(r: &CheckReport) -> Vec<&'static str> {
        let mut v: Vec<&str> = assess(r, &CheckOptions::default())
            .into_iter()
            .filter(|p| p.severity > Severity::Info)
            .map(|p| p.code)
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_good_server_has_only_notes() {
        let r = sample();
        assert_eq!(codes(&r), Vec::<&str>::new());
        let all = assess(&r, &CheckOptions::default());
        assert!(all.iter().any(|p| p.code == "timezone" && p.severity == Severity::Info));
    }

    #[test]
    fn settings_problems() {
        let mut r = sample();
        r.settings.wal_level = Some("minimal".into());
        r.settings.archive_mode = Some("off".into());
        r.settings.archive_command = None;
        r.settings.full_page_writes = Some(false);
        r.settings.max_wal_senders = Some(0);
        r.settings.pending_restart = vec!["archive_mode".into()];
        assert_eq!(
            codes(&r),
            [
                "archive_mode_off",
                "full_page_writes_off",
                "max_wal_senders_zero",
                "pending_restart",
                "wal_level_minimal"
            ]
        );
        let p = assess(&r, &CheckOptions::default());
        let off = p.iter().find(|p| p.code == "archive_mode_off").unwrap();
        assert_eq!(off.apply, Apply::Restart);
        assert!(off.message.contains("waits for a restart"), "{}", off.message);
        assert!(off.fix.contains("ALTER SYSTEM SET archive_mode = 'on'"));
        // Most serious first.
        assert!(p.windows(2).all(|w| w[0].severity >= w[1].severity));
    }

    #[test]
    fn archive_command_and_library() {
        let mut r = sample();
        r.settings.archive_library = Some("basic_archive".into());
        assert_eq!(codes(&r), ["archive_command_ignored"]);
        r.server.major = PgMajor::V16;
        assert_eq!(codes(&r), ["archive_command_and_library"]);
        r.settings.archive_command = Some(String::new());
        assert_eq!(codes(&r), Vec::<&str>::new());
        r.settings.archive_library = Some(String::new());
        assert_eq!(codes(&r), ["archiving_not_configured"]);
        r.settings.archive_library = None; // 13/14
        r.server.major = PgMajor::V13;
        assert_eq!(codes(&r), ["archiving_not_configured"]);
    }

    #[test]
    fn archive_command_placeholders() {
        let mut r = sample();
        for (cmd, major, want) in [
            ("cp %p /a/%f", PgMajor::V15, vec![]),
            ("cp %p /a/", PgMajor::V15, vec!["archive_command_missing_placeholder"]),
            ("cp pg_wal/%f /a/%f", PgMajor::V15, vec!["archive_command_missing_placeholder"]),
            ("backup-wal", PgMajor::V15, vec!["archive_command_no_placeholder"]),
            ("true", PgMajor::V15, vec!["archive_command_noop"]),
            ("/bin/true", PgMajor::V18, vec!["archive_command_noop"]),
            ("cp %p /a/%f.%x", PgMajor::V15, vec!["archive_command_bad_placeholder"]),
            ("cp %p /a/%f.%x", PgMajor::V16, vec!["archive_command_bad_placeholder"]),
            ("cp %p /a/%f 100%%", PgMajor::V17, vec![]),
            ("cp %p /a/%f %", PgMajor::V17, vec!["archive_command_bad_placeholder"]),
        ] {
            r.settings.archive_command = Some(cmd.into());
            r.server.major = major;
            assert_eq!(codes(&r), want, "{cmd} on {major}");
        }
        r.settings.archive_command = Some("cp %p /a/%f.%x".into());
        r.server.major = PgMajor::V16;
        let p = assess(&r, &CheckOptions::default());
        assert_eq!(p[0].severity, Severity::Error);
        r.server.major = PgMajor::V14;
        let p = assess(&r, &CheckOptions::default());
        assert_eq!(p[0].severity, Severity::Warning);
    }

    #[test]
    fn scan_placeholders_cases() {
        let ph = scan_placeholders("a %f %p %f %% %r %", &['p', 'f']);
        assert_eq!(ph.used, vec!['f', 'p']);
        assert_eq!(ph.unexpected, vec!["%r".to_string()]);
        assert!(ph.trailing_percent);
        let ph = scan_placeholders("%%p", &['p']);
        assert!(ph.used.is_empty());
        assert_eq!(scan_placeholders("", &[]), Placeholders::default());
        let ph = scan_placeholders("%é", &['p']);
        assert_eq!(ph.unexpected, vec!["%é".to_string()]);
    }

    #[test]
    fn archive_timeout_zero_warns_only_when_archiving() {
        let mut r = sample();
        r.settings.archive_timeout_s = Some(0);
        assert_eq!(codes(&r), ["archive_timeout_zero"]);
        r.settings.archive_mode = Some("off".into());
        assert_eq!(codes(&r), ["archive_mode_off"]);
    }

    #[test]
    fn failing_and_lag() {
        let t = |s: i64| jiff::Timestamp::from_second(s).unwrap();
        assert!(!failing(Some(t(10)), None));
        assert!(failing(None, Some(t(10))));
        assert!(failing(Some(t(10)), Some(t(11))));
        assert!(!failing(Some(t(11)), Some(t(10))));

        let mut r = sample();
        r.archiver.failed_count = 2;
        r.archiver.last_failed_time = Some(t(5));
        r.archiver.last_archived_time = Some(t(6));
        assert_eq!(codes(&r), Vec::<&str>::new());
        assert!(assess(&r, &CheckOptions::default()).iter().any(|p| p.code == "archive_failed_earlier"));
        r.archiver.last_failed_time = Some(t(7));
        r.archiver.failing = true;
        r.lag.segments = Some(5);
        assert_eq!(codes(&r), ["archive_failing", "archive_lagging"]);
        let opts = CheckOptions { max_lag_segments: 5, ..Default::default() };
        assert!(!assess(&r, &opts).iter().any(|p| p.code == "archive_lagging"));
        r.lag.ready_files = Some(6);
        assert!(assess(&r, &opts).iter().any(|p| p.code == "archive_lagging"));
    }

    #[test]
    fn lag_arithmetic() {
        let seg = seg1();
        // Current at 0/5000100 (segment 5), last archived segment 3: segment 4 waits.
        let (s, b) = compute_lag(Lsn(0x50_0100), "000000010000000000000003", seg);
        assert_eq!(s, Some(1));
        assert_eq!(b, Some(0x50_0100 - 0x40_0000));
        // Caught up.
        assert_eq!(compute_lag(Lsn(0x50_0100), "000000010000000000000004", seg), (Some(0), Some(0x100)));
        // At a boundary right after a switch.
        assert_eq!(compute_lag(Lsn(0x50_0000), "000000010000000000000004", seg), (Some(0), Some(0)));
        // Another timeline, a partial, a backup history file, a history file.
        assert_eq!(compute_lag(Lsn(0x50_0100), "000000020000000000000004", seg).0, Some(0));
        assert_eq!(compute_lag(Lsn(0x50_0100), "000000010000000000000005.partial", seg).0, Some(0));
        assert_eq!(compute_lag(Lsn(0x50_0100), "000000010000000000000002.00000028.backup", seg).0, Some(2));
        assert_eq!(compute_lag(Lsn(0x50_0100), "00000002.history", seg), (None, None));
        assert_eq!(compute_lag(Lsn(0x50_0100), "garbage", seg), (None, None));
        // Archived beyond the current position (never negative).
        assert_eq!(compute_lag(Lsn(0x100), "000000010000000000000009", seg), (Some(0), Some(0)));
    }

    #[test]
    fn unit_scaling() {
        assert_eq!(scaled("60", Some("s"), Unit::Seconds), Some(60));
        assert_eq!(scaled("1500", Some("ms"), Unit::Seconds), Some(1));
        assert_eq!(scaled("2", Some("min"), Unit::Seconds), Some(120));
        assert_eq!(scaled("512", Some("MB"), Unit::Megabytes), Some(512));
        assert_eq!(scaled("1", Some("GB"), Unit::Megabytes), Some(1024));
        assert_eq!(scaled("-1", Some("MB"), Unit::Megabytes), None);
        assert_eq!(scaled("x", Some("s"), Unit::Seconds), None);
    }

    #[test]
    fn archive_cross_check_findings() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = sample();
        r.archiver.last_archived_wal = Some("000000010000000000000003".into());
        r.done_files = Some(vec![
            "000000010000000000000002".into(),
            "000000010000000000000003".into(),
            "000000010000000000000001.00000028.backup".into(),
        ]);
        // Empty directory.
        let ac = cross_check_archive(dir.path(), &r);
        assert_eq!(ac.segments, 0);
        assert_eq!(ac.last_archived_present, Some(false));
        assert_eq!(ac.recent_missing, vec!["000000010000000000000002", "000000010000000000000003"]);
        r.archive = Some(ac);
        let c = codes(&r);
        assert_eq!(c, ["archive_empty", "archive_missing_last", "archive_missing_recent"]);

        // A long header with another system id, one segment compressed.
        let mut page = vec![0u8; 8192];
        page[0..2].copy_from_slice(&0xD110u16.to_le_bytes());
        page[2..4].copy_from_slice(&2u16.to_le_bytes());
        page[24..32].copy_from_slice(&99u64.to_le_bytes());
        std::fs::write(dir.path().join("000000010000000000000003"), &page).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &page).unwrap();
        std::fs::write(dir.path().join("000000010000000000000002.gz"), gz.finish().unwrap()).unwrap();
        let ac = cross_check_archive(dir.path(), &r);
        assert_eq!(ac.segments, 2);
        assert_eq!(ac.newest_segment.as_deref(), Some("000000010000000000000003"));
        assert_eq!(ac.last_archived_present, Some(true));
        assert!(ac.recent_missing.is_empty());
        assert_eq!(ac.recent_checked, 2);
        assert_eq!(ac.system_id, Some(99));
        r.archive = Some(ac);
        assert_eq!(codes(&r), ["archive_system_id_mismatch"]);
        r.server.system_id = Some(99);
        assert_eq!(codes(&r), Vec::<&str>::new());
    }
}
