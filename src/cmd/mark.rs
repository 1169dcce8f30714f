//! `pitr mark`: record a mark before a risky change (time, LSN, timeline, WAL
//! file, optional restore point and WAL switch) in an append-only JSON-lines
//! log. Exit 0 recorded, 1 recorded but not archived in time (`--switch`),
//! 2 error.

use super::check::ConnArgs;
use crate::output::{CliError, CmdResult, Output};
use pitr_core::live::mark::DEFAULT_MARK_LOG;
use pitr_core::live::{self, MarkOptions, MarkTarget};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Name of the mark; also creates a restore point of that name (at most 63 bytes) unless
    /// --no-restore-point.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Name the mark in the log only, without creating a restore point.
    #[arg(long, requires = "name")]
    pub no_restore_point: bool,
    /// Switch to a new WAL segment after the mark so that it is archived now, and wait for it.
    #[arg(long)]
    pub switch: bool,
    /// With --switch: seconds to wait until the mark's segment is archived (0: do not wait).
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub wait: u64,
    /// The mark log (JSON lines, appended to).
    #[arg(long, value_name = "FILE", default_value = DEFAULT_MARK_LOG)]
    pub log: PathBuf,
}

#[derive(serde::Serialize)]
struct Report<'a> {
    mark: &'a live::Mark,
    log: &'a std::path::Path,
    /// With --switch and a wait: whether the mark's segment was archived in time.
    archived: Option<bool>,
    /// What `pitr plan --mark NAME` will use.
    target: MarkTarget,
}

pub fn run(args: &Args, out: &Output) -> CmdResult {
    let mut session = args.conn.connect()?;
    let opts = MarkOptions {
        name: args.name.clone(),
        restore_point: args.name.is_some() && !args.no_restore_point,
        switch: args.switch,
    };
    let mark = live::mark(&mut session, &opts).map_err(|e| CliError::new(e.to_string()))?;
    live::append_mark(&args.log, &mark)
        .map_err(|e| CliError::new(format!("cannot write the mark log: {e}")))?;
    // The mark is safe in the log; now wait for the archive if asked.
    let archived = if args.switch && args.wait > 0 {
        Some(
            live::wait_archived(&mut session, &mark, Duration::from_secs(args.wait))
                .map_err(|e| CliError::new(e.to_string()))?,
        )
    } else {
        None
    };
    // The target as the planner will choose it, with the whole log in view.
    let target = match &mark.name {
        Some(n) => live::read_marks(&args.log)
            .ok()
            .and_then(|marks| live::mark_target(&marks, n).ok())
            .unwrap_or_else(|| mark.target()),
        None => mark.target(),
    };
    if out.json {
        out.print_json(&Report { mark: &mark, log: &args.log, archived, target })?;
    } else {
        let seg = mark.wal_segment_size;
        println!(
            "mark {}recorded in {}",
            mark.name.as_deref().map_or(String::new(), |n| format!("{n:?} ")),
            args.log.display()
        );
        println!("  time            {}", mark.time);
        println!(
            "  WAL position    {} (insert {}), timeline {}, file {}",
            mark.lsn,
            mark.insert_lsn.map_or_else(|| "?".to_string(), |l| l.to_string()),
            mark.timeline,
            mark.wal_file
        );
        if let Some(rp) = mark.restore_point_lsn {
            println!(
                "  restore point   {:?}, record ends at {rp} (file {})",
                mark.name.as_deref().unwrap_or(""),
                pitr_core::SegmentName::new(mark.timeline, rp.prev_segment(seg), seg)
            );
        }
        if let Some(sw) = mark.switch_lsn {
            println!("  WAL switched    at {sw}");
        }
        match archived {
            Some(true) => {
                println!("  archived        yes (pg_stat_archiver reports the mark's segment archived)")
            }
            Some(false) => println!(
                "  archived        NO: not archived within {} s, or archive_mode is off (see `pitr check`)",
                args.wait
            ),
            None => {}
        }
        let settings: Vec<String> =
            target.recovery_settings().iter().map(|(k, v)| format!("{k} = '{v}'")).collect();
        println!("  as a target     {}", settings.join(", "));
        println!("                  ({})", target.why);
        if let Some(n) = &mark.name {
            println!("  plan with       pitr plan --mark {n} --marks {}", args.log.display());
        }
    }
    Ok(if archived == Some(false) { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
