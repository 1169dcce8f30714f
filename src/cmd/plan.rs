//! `pitr plan`: is a recovery target reachable, exactly where will PostgreSQL
//! stop, which WAL files will it fetch. Exit 0 reachable, 1 unreachable, 2
//! usage or I/O error. JSON: `docs/plan-json.md`.

use crate::output::{CliError, CmdResult, Output};
use pitr_core::Lsn;
use pitr_core::live::mark::{mark_target, read_marks};
use pitr_core::plan::{Plan, PlanRequest, TargetAction, TargetSpec, TimelineTarget, plan_with_progress};
use std::path::PathBuf;
use std::process::ExitCode;

/// The recovery target options shared by `plan` and `restore`.
#[derive(Debug, Clone, clap::Args)]
pub struct TargetArgs {
    /// The base backup: a data directory, pg_basebackup -Ft output, a backup_label or a .backup file.
    #[arg(long, value_name = "PATH")]
    pub backup: PathBuf,
    /// The WAL archive directory (flat, Barman or pgBackRest layout).
    #[arg(long, value_name = "DIR")]
    pub archive: PathBuf,
    /// recovery_target_time: stop before the first commit/abort later than this. A time without a
    /// zone is read in the server's TimeZone (from the backup's configuration, or --timezone).
    #[arg(long, value_name = "TIME")]
    pub target_time: Option<String>,
    /// recovery_target_xid: stop at the commit or abort of this transaction.
    #[arg(long, value_name = "XID")]
    pub target_xid: Option<String>,
    /// recovery_target_lsn: stop at the first record starting at or after this LSN.
    #[arg(long, value_name = "LSN")]
    pub target_lsn: Option<String>,
    /// recovery_target_name: stop after the first restore point with this name.
    #[arg(long, value_name = "NAME")]
    pub target_name: Option<String>,
    /// recovery_target: only `immediate` (stop as soon as the backup is consistent).
    #[arg(long, value_name = "immediate")]
    pub target: Option<String>,
    /// Use a mark recorded by `pitr mark` (with --marks) as the target.
    #[arg(long, value_name = "NAME", requires = "marks")]
    pub mark: Option<String>,
    /// The mark log written by `pitr mark`.
    #[arg(long, value_name = "FILE")]
    pub marks: Option<PathBuf>,
    /// Stop just before the target instead of just after it (recovery_target_inclusive = off).
    #[arg(long)]
    pub exclusive: bool,
    /// recovery_target_timeline: current, latest or a number.
    #[arg(long, value_name = "TLI", default_value = "latest")]
    pub target_timeline: String,
    /// recovery_target_action: pause, promote or shutdown.
    #[arg(long, value_name = "ACTION", default_value = "pause")]
    pub target_action: String,
    /// The server's TimeZone for a target time without a zone (default: the backup's setting).
    #[arg(long, value_name = "ZONE")]
    pub timezone: Option<String>,
    /// The restore_command to write (default: pitr archive get ARCHIVE %f %p).
    #[arg(long, value_name = "CMD")]
    pub restore_command: Option<String>,
}

impl TargetArgs {
    /// The planner's request; several targets are a usage error, as for PostgreSQL.
    pub fn request(&self) -> Result<PlanRequest, CliError> {
        let mut given: Vec<(&str, TargetSpec)> = Vec::new();
        if let Some(t) = &self.target_time {
            given.push(("recovery_target_time", TargetSpec::Time(t.clone())));
        }
        if let Some(t) = &self.target_xid {
            given.push(("recovery_target_xid", TargetSpec::Xid(t.clone())));
        }
        if let Some(t) = &self.target_lsn {
            given.push(("recovery_target_lsn", TargetSpec::Lsn(t.clone())));
        }
        if let Some(t) = &self.target_name {
            given.push(("recovery_target_name", TargetSpec::Name(t.clone())));
        }
        if let Some(t) = &self.target {
            if t != "immediate" {
                return Err(CliError::new(format!(
                    "invalid value for parameter \"recovery_target\": \"{t}\" (The only allowed value is \"immediate\".)"
                )));
            }
            given.push(("recovery_target", TargetSpec::Immediate));
        }
        let mut req = PlanRequest::new(&self.backup, &self.archive);
        req.inclusive = !self.exclusive;
        req.timeline = TimelineTarget::parse(&self.target_timeline)?;
        req.action = TargetAction::parse(&self.target_action)?;
        req.timezone = self.timezone.clone();
        req.restore_command = self.restore_command.clone();
        if let (Some(name), Some(file)) = (&self.mark, &self.marks) {
            let marks = read_marks(file)?;
            let t = mark_target(&marks, name)?;
            let (target, inclusive, timeline) = t.to_recovery_target();
            given.push(("mark", TargetSpec::Parsed(target)));
            if let Some(i) = inclusive {
                req.inclusive = i;
            }
            if self.target_timeline == "latest" {
                req.timeline = timeline;
            }
        }
        if given.len() > 1 {
            let names: Vec<&str> = given.iter().map(|(n, _)| *n).collect();
            return Err(CliError::new(format!(
                "multiple recovery targets specified ({}): at most one of recovery_target, recovery_target_lsn, \
                 recovery_target_name, recovery_target_time, recovery_target_xid may be set",
                names.join(", ")
            )));
        }
        if let Some((_, spec)) = given.pop() {
            req.target = spec;
        }
        Ok(req)
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub target: TargetArgs,
}

pub fn run(args: &Args, out: &Output) -> CmdResult {
    let req = args.target.request()?;
    let p = out.wal_scan(None, |progress| plan_with_progress(&req, progress))?;
    if out.json {
        out.print_json(&p)?;
    } else {
        print!("{}", render(&p));
    }
    Ok(if p.reachable { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn lsn_opt(l: Option<Lsn>) -> String {
    l.map(|l| l.to_string()).unwrap_or_else(|| "unknown".into())
}

/// The human report of a plan.
pub fn render(p: &Plan) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Result        {}",
        if p.reachable { "REACHABLE" } else { "NOT REACHABLE: PostgreSQL would not get there" }
    );
    let _ =
        writeln!(s, "Target        {} on timeline {} (PostgreSQL {})", p.target, p.timeline, p.pg_version);
    let _ = writeln!(
        s,
        "Backup        redo {}, checkpoint {}, consistent at {}",
        p.redo_lsn,
        p.checkpoint_lsn,
        lsn_opt(p.consistent_lsn)
    );
    let path: Vec<String> = p
        .timeline_path
        .iter()
        .map(|t| match t.to {
            Some(to) => format!("{} [{}..{})", t.timeline, t.from, to),
            None => format!("{} [{}..)", t.timeline, t.from),
        })
        .collect();
    let _ = writeln!(s, "Timelines     {}", path.join(" -> "));
    if let Some(st) = &p.stop {
        let what = match (&st.record, st.record_lsn) {
            // Lower case words, LSNs as PostgreSQL prints them.
            (Some(r), Some(l)) => format!("{} at {l}", format!("{:?} {r}", st.kind).to_lowercase()),
            (None, Some(l)) => format!("{} the record at {l}", format!("{:?}", st.kind).to_lowercase()),
            _ => format!("{:?}", st.kind).to_lowercase().replace('_', " "),
        };
        let _ = writeln!(s, "Stop          {what}");
        if let Some(x) = st.xid {
            let _ = writeln!(
                s,
                "              transaction {x}{}",
                st.time.as_ref().map(|t| format!(", {t}")).unwrap_or_default()
            );
        }
        let _ = writeln!(s, "              pg_last_wal_replay_lsn() will be {}", st.replay_lsn);
        if let Some(m) = &st.log_message {
            let _ = writeln!(s, "              PostgreSQL will log: {m}");
        }
    }
    if let Some(t) = &p.last_transaction_time {
        let _ = writeln!(s, "Last commit   {t}");
    }
    let _ = writeln!(s, "WAL files     {} (in fetch order):", p.wal_files.len());
    for chunk in p.wal_files.chunks(3) {
        let _ = writeln!(s, "              {}", chunk.join("  "));
    }
    let _ = writeln!(s, "Settings      {} and postgresql.auto.conf:", p.signal);
    for (k, v) in &p.settings {
        let _ = writeln!(s, "              {k} = {}", pitr_core::conf::quote_value(v));
    }
    let _ = writeln!(s, "New timeline  {} after promotion", p.new_timeline);
    for pr in &p.problems {
        let _ = writeln!(s, "{:<13} [{}] {}", pr.severity.to_string().to_uppercase(), pr.code, pr.message);
        if let Some(m) = &pr.postgres_message {
            let _ = writeln!(s, "              PostgreSQL: {m}");
        }
        if let Some(h) = &pr.hint {
            let _ = writeln!(s, "              hint: {h}");
        }
    }
    s
}
