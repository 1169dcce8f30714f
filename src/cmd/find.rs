//! `pitr find`: commits and aborts in a window with xid, time, LSN and the
//! relations each dropped, and the exact targets that stop just before or just
//! after each; `--relfilenode`/`--table`: who dropped or rewrote a relation and
//! the exclusive target that gets it back. Exit 0 found, 1 nothing matched, 2
//! usage or I/O error. JSON: `docs/find.md`.

use crate::output::{CliError, CmdResult, Output};
use pitr_core::plan::find::{FindReport, FoundXact};
use pitr_core::plan::target::{TimelineTarget, parse_xid};
use pitr_core::plan::{FindInput, FindRequest, KindFilter, find_with_progress};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// WAL files or directories to read in order (instead of --archive).
    #[arg(value_name = "WAL", conflicts_with = "archive")]
    pub paths: Vec<PathBuf>,
    /// The WAL archive, read along the timeline path recovery would follow.
    #[arg(long, value_name = "DIR")]
    pub archive: Option<PathBuf>,
    /// A base backup: read from its redo point, mark what it cannot stop before, resolve --table.
    #[arg(long, value_name = "PATH", requires = "archive")]
    pub backup: Option<PathBuf>,
    /// Start of the window (inclusive): an LSN (X/Y) or a time (like recovery_target_time).
    #[arg(long, value_name = "LSN|TIME")]
    pub from: Option<String>,
    /// End of the window (inclusive): an LSN or a time.
    #[arg(long, value_name = "LSN|TIME")]
    pub to: Option<String>,
    /// The timeline whose path is read: current, latest or a number.
    #[arg(long, value_name = "TLI", default_value = "latest")]
    pub timeline: String,
    /// Only this transaction (a top-level, subtransaction or prepared transaction's xid).
    #[arg(long, value_name = "XID")]
    pub xid: Option<String>,
    /// Only transactions that dropped, truncated, rewrote or created this relfilenode (repeatable).
    #[arg(long, value_name = "N")]
    pub relfilenode: Vec<u32>,
    /// A table ([schema.]name): its relfilenodes from the backup's catalog (--backup) or a live server (--dsn).
    #[arg(long, value_name = "NAME")]
    pub table: Option<String>,
    /// A live server to resolve --table (libpq connection string).
    #[arg(long, value_name = "DSN", requires = "table")]
    pub dsn: Option<String>,
    /// Only transactions of this database OID.
    #[arg(long, value_name = "OID")]
    pub db: Option<u32>,
    /// Only aborts.
    #[arg(long, conflicts_with = "commits_only")]
    pub aborts: bool,
    /// Only commits.
    #[arg(long)]
    pub commits_only: bool,
    /// Only transactions that dropped relation files (DROP, TRUNCATE, VACUUM FULL, CLUSTER, rewrites).
    #[arg(long)]
    pub drops: bool,
    /// Also list transactions that wrote the relation (DELETE/UPDATE), with --relfilenode or --table.
    #[arg(long)]
    pub modified: bool,
    /// Time zone for window times without one (default: the backup's TimeZone, else UTC).
    #[arg(long, value_name = "ZONE")]
    pub timezone: Option<String>,
    /// List at most N transactions (the rest are counted).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub limit: usize,
}

fn request(a: &Args) -> Result<FindRequest, CliError> {
    let input = match (&a.archive, a.paths.is_empty()) {
        (Some(dir), true) => FindInput::Archive { archive: dir.clone(), backup: a.backup.clone() },
        (None, false) => FindInput::Paths(a.paths.clone()),
        (None, true) => return Err(CliError::new("give --archive DIR or WAL files/directories")),
        (Some(_), false) => return Err(CliError::new("give either --archive or WAL paths, not both")),
    };
    if a.modified && a.relfilenode.is_empty() && a.table.is_none() {
        return Err(CliError::new("--modified needs --relfilenode or --table"));
    }
    let mut req = FindRequest::new(input);
    req.from = a.from.clone();
    req.to = a.to.clone();
    req.timeline = TimelineTarget::parse(&a.timeline)?;
    req.xid = a.xid.as_deref().map(parse_xid).transpose()?;
    req.relfilenodes = a.relfilenode.clone();
    req.table = a.table.clone();
    req.dsn = a.dsn.clone();
    req.db = a.db;
    req.kinds = if a.aborts {
        KindFilter::AbortsOnly
    } else if a.commits_only {
        KindFilter::CommitsOnly
    } else {
        KindFilter::All
    };
    req.drops_only = a.drops;
    req.modified = a.modified;
    req.timezone = a.timezone.clone();
    req.limit = Some(a.limit);
    Ok(req)
}

pub fn run(args: &Args, out: &Output) -> CmdResult {
    let req = request(args)?;
    let r = out.wal_scan(None, |progress| find_with_progress(&req, progress))?;
    if out.json {
        out.print_json(&r)?;
    } else {
        print!("{}", render(&r, args));
    }
    Ok(if r.found { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn kind(f: &FoundXact) -> String {
    let k = match f.kind {
        pitr_core::wal::decode::XactKind::Commit => "commit",
        pitr_core::wal::decode::XactKind::Abort if f.subxact => "abort (sub)",
        pitr_core::wal::decode::XactKind::Abort => "abort",
        pitr_core::wal::decode::XactKind::CommitPrepared => "commit prep.",
        pitr_core::wal::decode::XactKind::AbortPrepared => "abort prep.",
    };
    k.to_string()
}

fn shell_word(s: &str) -> String {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"/._-+:=@%,".contains(&b)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

fn words(args: &[String]) -> String {
    args.iter().map(|a| shell_word(a)).collect::<Vec<_>>().join(" ")
}

/// The human report.
pub fn render(r: &FindReport, a: &Args) -> String {
    let mut s = String::new();
    let path: Vec<String> = r
        .timeline_path
        .iter()
        .map(|t| match t.to {
            Some(to) => format!("{} [{}..{})", t.timeline, t.from, to),
            None => format!("{} [{}..)", t.timeline, t.from),
        })
        .collect();
    let _ = writeln!(
        s,
        "Read          {}..{} ({} file(s), {} commit/abort records, PostgreSQL {}){}",
        r.scanned.from,
        r.scanned.to,
        r.scanned.files.len(),
        r.scanned.transaction_ends,
        r.pg_version,
        if path.is_empty() { String::new() } else { format!(", timelines {}", path.join(" -> ")) }
    );
    if let Some(c) = r.consistent_lsn {
        let _ = writeln!(s, "Backup        consistent from {c}: targets before it are refused by PostgreSQL");
    }
    if let Some(t) = &r.table {
        for m in &t.matches {
            let _ = writeln!(
                s,
                "Table         {}.{} (oid {}, kind {}) in database {}: relfilenode {}{} [{}]",
                m.schema.as_deref().unwrap_or("?"),
                m.name,
                m.oid,
                m.kind,
                m.db,
                m.relfilenode,
                if m.xmax != 0 && m.state != pitr_core::backup::catalog::RowState::Live {
                    format!(" (row version replaced by transaction {})", m.xmax)
                } else {
                    String::new()
                },
                t.source
            );
        }
        for n in &t.notes {
            let _ = writeln!(s, "              note: {n}");
        }
    }
    if r.transactions.is_empty() {
        let _ = writeln!(s, "Transactions  none matched");
    } else {
        let _ = writeln!(
            s,
            "\n{:<12} {:>10}  {:<27} {:<12} {:>3}  DROPPED RELATIONS (spc/db/relfilenode)",
            "KIND", "XID", "TIME (UTC)", "LSN", "TL"
        );
        for f in &r.transactions {
            let dropped = if f.dropped_relations.is_empty() {
                "-".to_string()
            } else {
                f.dropped_relations.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
            };
            let _ = writeln!(
                s,
                "{:<12} {:>10}  {:<27} {:<12} {:>3}  {}",
                kind(f),
                f.xid,
                f.time.replace('T', " ").trim_end_matches('Z'),
                f.lsn.to_string(),
                f.timeline,
                dropped
            );
            for m in &f.matched {
                let _ = writeln!(s, "{:>26}{m}", "");
            }
            if let Some(w) = &f.wrote {
                if !w.is_empty() {
                    let list: Vec<String> = w.iter().map(|d| d.to_string()).collect();
                    let _ = writeln!(s, "{:>26}wrote {}", "", list.join(", "));
                }
            }
        }
        if r.more > 0 {
            let _ = writeln!(s, "... and {} more (raise --limit or narrow the window)", r.more);
        }
        // Targets: for a single transaction, or the first of a relfilenode answer.
        if r.transactions.len() <= 5 && r.answers.is_empty() {
            for f in &r.transactions {
                let _ = writeln!(s, "\nTransaction {} ({}):", f.xid, kind(f));
                let _ = writeln!(s, "  just before it: {}", words(&f.before.recommended().args));
                let _ = writeln!(s, "                  or {}", words(&f.before.lsn.args));
                let _ = writeln!(s, "  just after it:  {}", words(&f.after.recommended().args));
                for (what, t) in [("before", &f.before), ("after", &f.after)] {
                    if !t.time.exact {
                        if let Some(n) = &t.time.note {
                            let _ = writeln!(s, "  (a time target {what} it is not exact: {n})");
                        }
                    }
                    if t.reachable_from_backup == Some(false) {
                        let _ =
                            writeln!(s, "  (not reachable from this backup: it is consistent only later)");
                    }
                }
            }
        }
    }
    for st in &r.storage {
        let _ = writeln!(
            s,
            "Storage       {} at {} (timeline {}, xid {}): {}",
            st.kind, st.lsn, st.timeline, st.xid, st.note
        );
    }
    for ans in &r.answers {
        let _ = writeln!(s, "\n{}", ans.message);
        if let Some(t) = &ans.target {
            let base = match (&a.backup, &a.archive) {
                (Some(b), Some(ar)) => format!(
                    "pitr restore --backup {} --archive {} --pgdata NEW_PGDATA ",
                    shell_word(&b.display().to_string()),
                    shell_word(&ar.display().to_string())
                ),
                _ => "pitr restore --backup BACKUP --archive ARCHIVE --pgdata NEW_PGDATA ".into(),
            };
            let _ = writeln!(s, "  {base}{}", words(&t.args));
            if let Some(l) = &ans.lsn_target {
                let _ = writeln!(s, "  (equivalently {})", words(&l.args));
            }
            if let Some(n) = &t.note {
                let _ = writeln!(s, "  note: {n}");
            }
        }
    }
    for p in &r.problems {
        let _ = writeln!(s, "{:<13} [{}] {}", p.severity.to_string().to_uppercase(), p.code, p.message);
    }
    s
}
