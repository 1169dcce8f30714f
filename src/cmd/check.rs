//! `pitr check`: a live server's readiness for point-in-time recovery and the
//! health of its archiving, as a checklist (or `--json`, see `docs/live.md`).
//! Exit 0 healthy, 1 problems found, 2 cannot connect.

use crate::output::{CliError, CmdResult, Output};
use pitr_core::live::check::{Apply, CheckOptions, CheckReport, Severity};
use pitr_core::live::{self, ConnectOptions, Session};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// How to reach the server (shared by `check`, `mark` and `replay`).
#[derive(Debug, Clone, clap::Args)]
pub struct ConnArgs {
    /// Connection string: `host=H port=P user=U dbname=D` or `postgresql://U@H:P/D`. Missing parts
    /// come from PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD like psql.
    #[arg(long, value_name = "DSN", default_value = "", hide_default_value = true)]
    pub dsn: String,
    /// Seconds to wait for the connection (unless the DSN sets connect_timeout) [default:
    /// PGCONNECT_TIMEOUT, else 10].
    #[arg(long, value_name = "SECS")]
    pub connect_timeout: Option<u64>,
    /// statement_timeout for pitr's queries, in seconds (0: none).
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub statement_timeout: u64,
}

impl ConnArgs {
    /// Connects; a failure is an error (exit 2) naming host and port.
    pub fn connect(&self) -> Result<Session, CliError> {
        let opts = ConnectOptions {
            dsn: self.dsn.clone(),
            connect_timeout: self.connect_timeout.map(Duration::from_secs),
            statement_timeout: Duration::from_secs(self.statement_timeout),
            ..ConnectOptions::default()
        };
        Session::connect(&opts).map_err(|e| CliError::new(e.to_string()))
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// The WAL archive directory the server archives into: check that it holds the last archived
    /// file and the recent segments, with the server's system identifier.
    #[arg(long, value_name = "DIR")]
    pub archive: Option<PathBuf>,
    /// More completed segments (or .ready files) than this waiting to be archived is a warning.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub max_lag_segments: u64,
}

pub fn run(args: &Args, out: &Output) -> CmdResult {
    let mut session = args.conn.connect()?;
    let opts = CheckOptions { archive_dir: args.archive.clone(), max_lag_segments: args.max_lag_segments };
    let report = live::check(&mut session, &opts).map_err(|e| CliError::new(e.to_string()))?;
    if out.json {
        out.print_json(&report)?;
    } else {
        print!("{}", render(&report, session.endpoint()));
    }
    Ok(if report.healthy { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn marker(s: Option<Severity>) -> &'static str {
    match s {
        None => "[ok]  ",
        Some(Severity::Info) => "[note]",
        Some(Severity::Warning) => "[WARN]",
        Some(Severity::Error) => "[FAIL]",
    }
}

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref().map_or_else(|| "(unknown)".to_string(), |x| x.to_string())
}

/// The human checklist.
pub fn render(r: &CheckReport, endpoint: &str) -> String {
    let mut o = String::new();
    let srv = &r.server;
    o.push_str(&format!(
        "PostgreSQL {} at {endpoint}: {}, timeline {}, system {}, WAL segments {}\n\n",
        srv.version,
        if srv.in_recovery { "in recovery" } else { "primary" },
        opt(&srv.timeline),
        opt(&srv.system_id),
        srv.wal_segment_size
    ));
    let s = &r.settings;
    let mut line = |check: &str, label: &str, value: String| {
        o.push_str(&format!("  {} {label:<18} {value}\n", marker(r.worst(check))));
    };
    line("wal_level", "wal_level", opt(&s.wal_level));
    line("archive_mode", "archive_mode", opt(&s.archive_mode));
    let cmd = match (&s.archive_command, &s.archive_library) {
        (Some(c), Some(l)) if !l.is_empty() && !c.is_empty() => format!("{c}  (archive_library: {l})"),
        (_, Some(l)) if !l.is_empty() => format!("(archive_library: {l})"),
        (Some(c), _) if !c.is_empty() => c.clone(),
        (Some(_), _) => "(empty)".to_string(),
        (None, _) => "(disabled)".to_string(),
    };
    line("archive_command", "archive_command", cmd);
    line(
        "archive_timeout",
        "archive_timeout",
        s.archive_timeout_s
            .map_or("(unknown)".into(), |t| if t == 0 { "0 (never)".into() } else { format!("{t} s") }),
    );
    line("full_page_writes", "full_page_writes", s.full_page_writes.map_or("(unknown)".into(), on_off));
    line("max_wal_senders", "max_wal_senders", opt(&s.max_wal_senders));
    line(
        "wal_keep_size",
        "wal_keep_size",
        s.wal_keep_size_mb.map_or("(unknown)".into(), |m| format!("{m} MB")),
    );
    line("wal_segment_size", "wal_segment_size", format!("{} bytes", s.wal_segment_size));
    line("timezone", "TimeZone", opt(&s.timezone));
    let a = &r.archiver;
    let archived = match (&a.last_archived_wal, a.last_archived_time) {
        (Some(w), Some(t)) => format!("{} archived, last {w} at {t}", a.archived_count),
        (Some(w), None) => format!("{} archived, last {w}", a.archived_count),
        _ => "nothing archived".to_string(),
    };
    let failed = match (&a.last_failed_wal, a.last_failed_time) {
        _ if a.failed_count == 0 => "no failures".to_string(),
        (Some(w), Some(t)) => format!("{} failed, last {w} at {t}", a.failed_count),
        _ => format!("{} failed", a.failed_count),
    };
    line(
        "archiver",
        "archiver",
        format!("{archived}; {failed}{}", if a.failing { ": FAILING NOW" } else { "" }),
    );
    let l = &r.lag;
    line(
        "lag",
        "archive lag",
        format!(
            "{} segment(s), {} byte(s) not archived; {} .ready file(s); writing {} in {}",
            opt(&l.segments),
            opt(&l.bytes),
            opt(&l.ready_files),
            opt(&l.current_lsn),
            opt(&l.current_wal_file)
        ),
    );
    if let Some(ac) = &r.archive {
        line(
            "archive",
            "archive directory",
            format!(
                "{}: {} segment(s), newest {}; last archived {}; {} recent file(s) checked, {} missing; system {}",
                ac.dir.display(),
                ac.segments,
                ac.newest_segment.as_deref().unwrap_or("none"),
                match ac.last_archived_present {
                    Some(true) => "present",
                    Some(false) => "MISSING",
                    None => "n/a",
                },
                ac.recent_checked,
                ac.recent_missing.len(),
                opt(&ac.system_id)
            ),
        );
    }
    if !r.problems.is_empty() {
        o.push('\n');
    }
    for p in &r.problems {
        o.push_str(&format!("{:<7} {} ({}): {}\n", p.severity, p.code, p.check, p.message));
        let apply = match p.apply {
            Apply::None => "",
            Apply::Reload => "  [needs a reload]",
            Apply::Restart => "  [needs a restart]",
        };
        o.push_str(&format!("        fix: {}{apply}\n", p.fix));
    }
    let count = |sev| r.problems.iter().filter(|p| p.severity == sev).count();
    o.push_str(&format!(
        "\n{}: {} error(s), {} warning(s), {} note(s)\n",
        if r.healthy { "healthy" } else { "NOT healthy" },
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info)
    ));
    o
}

fn on_off(b: bool) -> String {
    if b { "on" } else { "off" }.to_string()
}
