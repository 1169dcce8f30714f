//! `pitr demo`: the whole point-in-time recovery lab in one command, on local
//! PostgreSQL binaries, in a throwaway directory: a cluster that archives its
//! WAL, a base backup, work with a mark, an accidental `DROP TABLE`, the
//! transaction found in the archived WAL, `pitr plan` to just before it,
//! `pitr restore`, the recovered server paused at the target with the table
//! and its rows back, promotion, and everything stopped and removed.
//!
//! Each step prints the commands a DBA would type and what they found;
//! `--json` prints a summary instead (`docs/demo.md`). Exit 0 when the table
//! came back with the same rows and PostgreSQL stopped where the plan said;
//! 1 when it did not; 2 when the demo could not run (no binaries, a server
//! that did not start, a wait that timed out); 130 when interrupted.

mod lab;
mod pgbin;
mod proc;
mod report;

use crate::output::{CliError, CmdResult, Output};
use lab::{Failure, Lab, STEPS};
use pgbin::PgBin;
use proc::RunAs;
use report::Reporter;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory of the PostgreSQL server programs (initdb, pg_ctl, postgres), major 13 to 18.
    /// Default: the newest found on PATH, by pg_config --bindir, or in /usr/lib/postgresql/<major>/bin.
    #[arg(long, value_name = "DIR")]
    pub pg_bin: Option<PathBuf>,
    /// Work in this directory (new or empty) instead of a new temporary directory.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Keep the work directory (clusters, archive, backup, logs, mark log) at the end.
    #[arg(long)]
    pub keep: bool,
}

/// The work directory: created (or emptied) for the demo, removed at the end
/// (also when the demo panics: it is dropped after the servers are stopped).
#[derive(Debug)]
struct WorkDir {
    path: PathBuf,
    /// The demo created the directory itself (else it only fills it).
    created: bool,
    /// Leave it in place when dropped.
    keep: bool,
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if !self.keep && self.path.exists() {
            let _ = self.remove();
        }
    }
}

impl WorkDir {
    fn create(dir: Option<&Path>, run_as: &RunAs) -> Result<WorkDir, CliError> {
        let (path, created) = match dir {
            None => {
                let t = tempfile::Builder::new()
                    .prefix("pitr-demo-")
                    .tempdir()
                    .map_err(|e| CliError::new(format!("cannot create a temporary directory: {e}")))?;
                (t.keep(), true)
            }
            Some(d) => {
                if d.exists() {
                    if !d.is_dir() {
                        return Err(CliError::new(format!("--dir {}: not a directory", d.display())));
                    }
                    let mut rd = std::fs::read_dir(d)
                        .map_err(|e| CliError::new(format!("--dir {}: {e}", d.display())))?;
                    if rd.next().is_some() {
                        return Err(CliError::new(format!(
                            "--dir {}: the directory is not empty (give a new or empty directory)",
                            d.display()
                        )));
                    }
                    (d.to_path_buf(), false)
                } else {
                    std::fs::create_dir_all(d).map_err(|e| {
                        CliError::new(format!("--dir {}: cannot create it: {e}", d.display()))
                    })?;
                    (d.to_path_buf(), true)
                }
            }
        };
        let path = std::fs::canonicalize(&path).unwrap_or(path);
        let w = WorkDir { path, created, keep: false };
        use std::os::unix::fs::PermissionsExt;
        let prepared = std::fs::set_permissions(&w.path, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| format!("chmod {}: {e}", w.path.display()));
        if let Err(e) = prepared {
            w.remove();
            return Err(CliError::new(e));
        }
        if run_as.root && !run_as.can_enter(&w.path) {
            let msg = format!(
                "the postgres user cannot enter {} (a parent directory is closed to it): give --dir a directory \
                 it can reach, e.g. under /tmp",
                w.path.display()
            );
            w.remove();
            return Err(CliError::new(msg));
        }
        Ok(w)
    }

    /// Removes what the demo created.
    fn remove(&self) -> Option<String> {
        let r = if self.created {
            std::fs::remove_dir_all(&self.path)
        } else {
            std::fs::read_dir(&self.path).and_then(|rd| {
                for e in rd {
                    let p = e?.path();
                    if p.is_dir() && !p.is_symlink() {
                        std::fs::remove_dir_all(&p)?;
                    } else {
                        std::fs::remove_file(&p)?;
                    }
                }
                Ok(())
            })
        };
        r.err().map(|e| format!("could not remove {}: {e}", self.path.display()))
    }
}

/// The program `restore_command` runs: this pitr, or a copy the server user
/// can execute (as root, when this binary lives where `postgres` cannot go).
fn pitr_for_server(run_as: &RunAs, work: &Path) -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot tell where pitr is: {e}"))?;
    if run_as.can_execute(&exe) {
        return Ok(exe);
    }
    let dir = work.join("bin");
    std::fs::create_dir_all(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
    let copy = dir.join("pitr");
    std::fs::copy(&exe, &copy).map_err(|e| format!("copy {} to {}: {e}", exe.display(), copy.display()))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
        .and_then(|()| std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)))
        .map_err(|e| format!("chmod {}: {e}", copy.display()))?;
    if run_as.can_execute(&copy) {
        Ok(copy)
    } else {
        Err(format!("the postgres user cannot run pitr ({} nor its copy {})", exe.display(), copy.display()))
    }
}

/// The `--json` document.
#[derive(Debug, Serialize)]
struct Summary<'a> {
    /// True when the table came back and PostgreSQL stopped as planned.
    ok: bool,
    /// `recovered`, `mismatch`, `error` or `interrupted`.
    outcome: &'static str,
    exit_code: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    postgres: &'a PgBin,
    /// The user PostgreSQL ran as when pitr ran as root.
    run_as: Option<&'static str>,
    dir: &'a Path,
    kept: bool,
    duration_ms: u64,
    #[serde(flatten)]
    facts: &'a lab::Facts,
    steps: &'a [report::StepRecord],
    /// The last lines of each server log, when something failed.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    server_logs: BTreeMap<String, Vec<String>>,
}

pub fn run(args: &Args, out: &Output) -> CmdResult {
    let started = Instant::now();
    let (bin, others) = pgbin::find(args.pg_bin.as_deref()).map_err(|e| CliError::new(e.0))?;
    let run_as = RunAs::detect().map_err(CliError::new)?;
    let interrupt = crate::interrupt::install("pitr demo", "stopping the servers and cleaning up");
    let mut work = WorkDir::create(args.dir.as_deref(), &run_as)?;
    let pitr_exe = match pitr_for_server(&run_as, &work.path) {
        Ok(p) => p,
        Err(e) => {
            work.remove();
            return Err(CliError::new(e));
        }
    };

    let mut rep = Reporter::new(out.json, STEPS);
    rep.say("pitr demo: recover a table dropped by mistake, with point-in-time recovery");
    let also = if others.is_empty() {
        String::new()
    } else {
        format!(
            "; also found: {}",
            others
                .iter()
                .map(|o| format!("{} in {}", o.major, o.dir.display()))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    rep.say(&format!("PostgreSQL {} from {} ({}{also})", bin.version, bin.dir.display(), bin.found_by));
    rep.say(&format!(
        "Work directory {} ({}); every command below runs there:",
        work.path.display(),
        if args.keep { "kept at the end" } else { "removed at the end; --keep keeps it" }
    ));
    rep.say(&format!("  $ cd {}", proc::shell_word(&work.path.display().to_string())));
    if run_as.root {
        rep.say("Running as root: PostgreSQL programs run as the postgres user (runuser -u postgres --).");
    }

    let mut lab = Lab::new(bin, run_as.clone(), work.path.clone(), interrupt.clone(), pitr_exe);
    let mut result = lab.run(&mut rep);
    if result.is_err() && interrupt.load(Ordering::SeqCst) {
        result = Err(Failure::Interrupted);
    }
    let mut server_logs = BTreeMap::new();
    if let Err(f) = &result {
        rep.fail(&f.message());
        if !matches!(f, Failure::Interrupted) {
            for (log, tail) in lab.log_tails() {
                if !out.json {
                    eprintln!("--- the last lines of {log} ---");
                    for l in &tail {
                        eprintln!("{l}");
                    }
                }
                server_logs.insert(log, tail);
            }
        }
    }

    rep.step("cleanup", "Stop everything and clean up");
    let stop_errors = lab.stop_servers(&mut rep);
    let kept = args.keep || !stop_errors.is_empty();
    work.keep = kept;
    if kept {
        if !stop_errors.is_empty() {
            rep.note(format!("a server could not be stopped: {} is left as it is", work.path.display()));
        } else {
            rep.note(format!("kept {} (--keep)", work.path.display()));
        }
    } else {
        rep.shell(format!("rm -rf {}", proc::shell_word(&work.path.display().to_string())));
        if let Some(e) = work.remove() {
            rep.fail(&e);
        } else {
            rep.note("removed");
        }
    }
    rep.finish();

    let elapsed = started.elapsed();
    let (outcome, code) = match &result {
        Ok(()) => ("recovered", 0u8),
        Err(Failure::Mismatch(_)) => ("mismatch", 1),
        Err(Failure::Error(_)) => ("error", 2),
        Err(Failure::Interrupted) => ("interrupted", 130),
    };
    if out.json {
        let summary = Summary {
            ok: result.is_ok(),
            outcome,
            exit_code: code,
            error: result.as_ref().err().map(Failure::message),
            postgres: lab.bin(),
            run_as: run_as.root.then_some(proc::SERVER_USER),
            dir: &work.path,
            kept,
            duration_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            facts: &lab.facts,
            steps: &rep.steps,
            server_logs,
        };
        out.print_json(&summary)?;
    } else {
        rep.say("");
        match &result {
            Ok(()) => {
                let rows = lab.facts.table.after.as_ref().map(|t| t.rows).unwrap_or(0);
                rep.say(&format!(
                    "Done in {:.1} s: {} is back with the same {rows} rows, and PostgreSQL stopped exactly where \
                     pitr planned.",
                    elapsed.as_secs_f64(),
                    lab::TABLE
                ));
            }
            Err(Failure::Interrupted) => {
                eprintln!("pitr demo: interrupted after {:.1} s", elapsed.as_secs_f64())
            }
            Err(f) => {
                let what = if matches!(f, Failure::Mismatch(_)) { "FAILED" } else { "error" };
                eprintln!("pitr demo: {what} after {:.1} s: {}", elapsed.as_secs_f64(), f.message());
            }
        }
    }
    Ok(ExitCode::from(code))
}
