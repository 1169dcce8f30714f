//! Restore: plan, then copy or extract the backup into an empty directory and
//! write the recovery settings (`recovery.signal`, `postgresql.auto.conf`).
//! Every file pitr writes into the data directory is written atomically; a
//! running server or a non-empty directory is refused.

use super::model::Plan;
use super::planner::{PlanRequest, plan_with_progress};
use crate::backup::Backup;
use crate::backup::extract::{ExtractOptions, ExtractReport, extract_guarded};
use crate::conf::{self, AutoConfEdit};
use crate::error::{Error, IoError, IoResultExt};
use crate::fsutil;
use serde::Serialize;
use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// Every setting that steers recovery. Stale values of these in the backup's
/// `postgresql.auto.conf` are removed before the plan's are written, so that
/// PostgreSQL never sees two targets (`multiple recovery targets specified`).
pub const RECOVERY_SETTINGS: [&str; 9] = [
    "recovery_target",
    "recovery_target_lsn",
    "recovery_target_name",
    "recovery_target_time",
    "recovery_target_xid",
    "recovery_target_inclusive",
    "recovery_target_timeline",
    "recovery_target_action",
    "restore_command",
];

/// What to restore.
#[derive(Debug, Clone)]
pub struct RestoreRequest {
    /// The plan to follow (backup, archive, target).
    pub plan: PlanRequest,
    /// The new data directory (absent or empty).
    pub pgdata: PathBuf,
    /// Restore even when the plan is unreachable.
    pub force: bool,
    /// New tablespace locations by OID.
    pub tablespaces: BTreeMap<u32, PathBuf>,
    /// Raised by the caller (e.g. from a signal handler) to stop: checked
    /// before each file copied and once the copy is done; the
    /// restore then removes what it wrote and fails with
    /// [`Error::Interrupted`]. (The WAL scan before it stops through the
    /// progress callback of [`restore_with_progress`].)
    pub interrupt: Option<Arc<AtomicBool>>,
}

/// What [`restore`] did.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreReport {
    /// The plan followed.
    pub plan: Plan,
    /// False when nothing was written (unreachable plan without `force`).
    pub restored: bool,
    /// The data directory.
    pub pgdata: PathBuf,
    /// What the extraction wrote.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extracted: Option<ExtractReport>,
    /// Files pitr wrote or changed besides the backup's own.
    pub written: Vec<PathBuf>,
    /// Files of the backup pitr removed from the restored copy, with why.
    pub removed: Vec<(PathBuf, String)>,
    /// What to do next, one step per line.
    pub next_steps: Vec<String>,
}

/// Writes recovery settings into a stopped data directory: removes every
/// recovery setting from `postgresql.auto.conf`, appends `settings` (as
/// `ALTER SYSTEM` would write them) and creates `signal` (`recovery.signal` or
/// `standby.signal`), each atomically. Returns the files written.
pub fn write_recovery_settings(
    pgdata: &Path,
    settings: &BTreeMap<String, String>,
    signal: &str,
) -> Result<Vec<PathBuf>, Error> {
    fsutil::ensure_no_running_server(pgdata)?;
    if !matches!(signal, "recovery.signal" | "standby.signal") {
        return Err(Error::Invalid(format!("unknown signal file {signal:?}")));
    }
    let auto = pgdata.join("postgresql.auto.conf");
    let existing = match std::fs::read(&auto) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(IoError::new(&auto, e).into()),
    };
    let mut edits: Vec<AutoConfEdit> =
        RECOVERY_SETTINGS.iter().map(|n| AutoConfEdit::Remove { name: (*n).to_string() }).collect();
    for (name, value) in settings {
        edits.push(AutoConfEdit::Set { name: name.clone(), value: value.clone() });
    }
    let text = conf::edit_auto_conf(&existing, &edits).map_err(|e| e.in_file(&auto))?;
    fsutil::atomic_write(&auto, text.as_bytes())?;
    let sig = pgdata.join(signal);
    fsutil::atomic_write(&sig, b"")?;
    Ok(vec![auto, sig])
}

/// Plans, then restores if the plan is reachable (or `force`).
pub fn restore(req: &RestoreRequest) -> Result<RestoreReport, Error> {
    restore_with_progress(req, &|_, _| ControlFlow::Continue(()))
}

/// [`restore`], calling `progress(done, total)` as the plan's WAL scan enters
/// each segment file (see [`plan_with_progress`]). When `progress` returns
/// [`ControlFlow::Break`], the scan stops there and nothing is written.
///
/// # Errors
/// As [`restore`]; [`Error::Cancelled`] when `progress` asked to stop.
pub fn restore_with_progress(
    req: &RestoreRequest,
    progress: &dyn Fn(u64, u64) -> ControlFlow<()>,
) -> Result<RestoreReport, Error> {
    let plan = plan_with_progress(&req.plan, progress)?;
    let mut report = RestoreReport {
        plan,
        restored: false,
        pgdata: req.pgdata.clone(),
        extracted: None,
        written: Vec::new(),
        removed: Vec::new(),
        next_steps: Vec::new(),
    };
    if !report.plan.reachable && !req.force {
        return Ok(report);
    }
    if req.pgdata.exists() {
        fsutil::ensure_no_running_server(&req.pgdata)?;
        let mut rd = std::fs::read_dir(&req.pgdata).at_path(&req.pgdata)?;
        if rd.next().is_some() {
            return Err(Error::Invalid(format!(
                "{} is not empty: pitr restores only into an empty or new directory",
                req.pgdata.display()
            )));
        }
    }
    let backup = Backup::open(&req.plan.backup)?;
    let opts = ExtractOptions {
        tablespace_oids: req.tablespaces.clone(),
        interrupt: req.interrupt.clone(),
        ..ExtractOptions::default()
    };
    // All or nothing: until the settings are written, a failure or an
    // interrupt removes what the extraction wrote (the guard, dropped).
    let (extracted, mut guard) = extract_guarded(&backup, &req.pgdata, &opts)?;
    // A standby.signal copied from the backup (pg_basebackup -R) would win over
    // recovery.signal and keep the server in standby mode forever.
    for stale in ["standby.signal", "recovery.conf"] {
        let p = req.pgdata.join(stale);
        if p.exists() {
            std::fs::remove_file(&p).at_path(&p)?;
            report.removed.push((p, "copied from the backup; it would override recovery.signal".into()));
        }
    }
    report.written = write_recovery_settings(&req.pgdata, &report.plan.settings, report.plan.signal)?;
    guard.commit();
    report.extracted = Some(extracted);
    report.restored = true;
    report.next_steps = next_steps(&report.plan, &req.pgdata);
    Ok(report)
}

fn next_steps(plan: &Plan, pgdata: &Path) -> Vec<String> {
    let d = pgdata.display();
    let mut v = vec![
        format!("pg_ctl -D {d} -l {d}/recovery.log start"),
        format!(
            "watch the log: grep -E 'recovery stopping|consistent recovery state|FATAL' {d}/recovery.log"
        ),
    ];
    if let Some(m) = plan.stop.as_ref().and_then(|s| s.log_message.as_ref()) {
        v.push(format!("expect: LOG:  {m}"));
    }
    match plan.settings.get("recovery_target_action").map(String::as_str) {
        Some("pause") => {
            v.push("recovery pauses at the target: check the data (read-only), then".to_string());
            v.push("  SELECT pg_wal_replay_resume();   -- ends recovery and promotes".to_string());
            v.push(format!(
                "  (pitr replay status / pitr replay resume --dsn ... do the same); new timeline {}",
                plan.new_timeline
            ));
        }
        Some("shutdown") => v.push("the server shuts down at the target; recovery.signal stays".to_string()),
        _ => v.push(format!("the server promotes at the end of recovery, on timeline {}", plan.new_timeline)),
    }
    v
}
