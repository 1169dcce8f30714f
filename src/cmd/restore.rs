//! `pitr restore`: plan, then restore the backup into a new data directory with
//! the recovery settings. Refuses an unreachable plan unless `--force`, a
//! non-empty directory and a running server. All or nothing: a failure, or
//! Ctrl-C, before the settings are written removes what was copied. Exit 0
//! restored, 1 refused (unreachable), 2 usage or I/O error, 130 interrupted.

use super::plan::{TargetArgs, render};
use crate::output::{CliError, CmdResult, Output};
use pitr_core::Error;
use pitr_core::plan::{RestoreRequest, restore_with_progress};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub target: TargetArgs,
    /// The new data directory (must be absent or empty).
    #[arg(long, value_name = "DIR")]
    pub pgdata: PathBuf,
    /// Restore even if the plan says PostgreSQL will not reach the target.
    #[arg(long)]
    pub force: bool,
    /// Put tablespace OID elsewhere: OID=DIR (repeatable).
    #[arg(long = "tablespace", value_name = "OID=DIR")]
    pub tablespaces: Vec<String>,
}

pub fn run(args: &Args, out: &Output) -> CmdResult {
    let mut tablespaces = BTreeMap::new();
    for t in &args.tablespaces {
        let (oid, dir) = t
            .split_once('=')
            .and_then(|(o, d)| o.parse::<u32>().ok().map(|o| (o, PathBuf::from(d))))
            .ok_or_else(|| CliError::new(format!("--tablespace {t:?}: expected OID=DIR")))?;
        tablespaces.insert(oid, dir);
    }
    let interrupt = crate::interrupt::install("pitr restore", "stopping and removing what was written");
    let req = RestoreRequest {
        plan: args.target.request()?,
        pgdata: args.pgdata.clone(),
        force: args.force,
        tablespaces,
        interrupt: Some(interrupt.clone()),
    };
    let report = match out.wal_scan(Some(&interrupt), |progress| restore_with_progress(&req, progress)) {
        Ok(r) => r,
        Err(e @ (Error::Cancelled { .. } | Error::Interrupted)) => {
            out.error(&CliError::new(format!("{e}; nothing restored into {}", req.pgdata.display())));
            return Ok(ExitCode::from(130));
        }
        Err(e) => return Err(e.into()),
    };
    if out.json {
        out.print_json(&report)?;
    } else {
        print!("{}", render(&report.plan));
        println!();
        if !report.restored {
            println!("Nothing restored: the plan is unreachable (use --force to restore anyway).");
        } else {
            if let Some(x) = &report.extracted {
                println!(
                    "Restored      {} files ({} bytes, {} WAL files) into {}",
                    x.files,
                    x.bytes,
                    x.wal_files,
                    report.pgdata.display()
                );
            }
            for w in &report.written {
                println!("Wrote         {}", w.display());
            }
            for (r, why) in &report.removed {
                println!("Removed       {} ({why})", r.display());
            }
            println!("Next steps:");
            for s in &report.next_steps {
                println!("  {s}");
            }
        }
    }
    Ok(if report.restored { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
