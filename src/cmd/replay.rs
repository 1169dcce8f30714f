//! `pitr replay status|resume`: a server replaying WAL (a standby, or a
//! restore paused at its target). Exit 0 in recovery (status) or resumed,
//! 1 not in recovery or still paused, 2 error.

use super::check::ConnArgs;
use crate::output::{CliError, CmdResult, Output};
use pitr_core::live::{self, LiveError, ReplayStatus, ResumeOutcome};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Show replay LSN, receive LSN, last replayed transaction time and pause state.
    Status {
        #[command(flatten)]
        conn: ConnArgs,
    },
    /// Resume replay (pg_wal_replay_resume()) and wait until the server is promoted or replays again.
    Resume {
        #[command(flatten)]
        conn: ConnArgs,
        /// Seconds to wait for promotion or for replay to move on (0: do not wait).
        #[arg(long, value_name = "SECS", default_value_t = 60)]
        timeout: u64,
    },
}

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref().map_or_else(|| "(none)".to_string(), |x| x.to_string())
}

fn print_status(s: &ReplayStatus, indent: &str) {
    println!("{indent}in recovery           {}", if s.in_recovery { "yes" } else { "no" });
    if let Some(p) = s.pause_state {
        println!("{indent}pause state           {p}");
    }
    println!("{indent}replay LSN            {}", opt(&s.replay_lsn));
    println!("{indent}receive LSN           {}", opt(&s.receive_lsn));
    println!("{indent}last replayed commit  {}", opt(&s.last_xact_replay_time));
    println!("{indent}server time           {}", opt(&s.server_time));
    println!("{indent}timeline              {}", opt(&s.timeline));
}

const NOT_IN_RECOVERY: &str = "the server is not in recovery: nothing is being replayed (it is a primary, or \
                               its recovery has ended)";

pub fn run(cmd: &Command, out: &Output) -> CmdResult {
    match cmd {
        Command::Status { conn } => {
            let mut session = conn.connect()?;
            let s = live::replay_status(&mut session).map_err(|e| CliError::new(e.to_string()))?;
            if out.json {
                out.print_json(&s)?;
            } else {
                if !s.in_recovery {
                    eprintln!("pitr: {NOT_IN_RECOVERY}");
                }
                print_status(&s, "");
                if s.pause_state == Some(live::PauseState::Paused) {
                    println!(
                        "paused: `pitr replay resume` continues (at a recovery target with \
                         recovery_target_action = 'pause', that promotes the server)"
                    );
                }
            }
            Ok(if s.in_recovery { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
        Command::Resume { conn, timeout } => {
            let mut session = conn.connect()?;
            match live::replay_resume(&mut session, Duration::from_secs(*timeout)) {
                Err(LiveError::NotInRecovery { .. }) => {
                    if out.json {
                        out.print_json(
                            &serde_json::json!({ "in_recovery": false, "message": NOT_IN_RECOVERY }),
                        )?;
                    }
                    eprintln!("pitr: {NOT_IN_RECOVERY}");
                    Ok(ExitCode::from(1))
                }
                Err(e) => Err(CliError::new(e.to_string())),
                Ok(r) => {
                    if out.json {
                        out.print_json(&r)?;
                    } else {
                        println!("before:");
                        print_status(&r.before, "  ");
                        match &r.outcome {
                            ResumeOutcome::Promoted { timeline } => println!(
                                "resumed: the server left recovery (promoted) on timeline {} after {} ms",
                                opt(timeline),
                                r.waited_ms
                            ),
                            ResumeOutcome::Replaying { replay_lsn } => {
                                println!("resumed: replaying again, now at {}", opt(replay_lsn))
                            }
                            ResumeOutcome::Resumed => println!(
                                "resumed: not paused any more, still in recovery, nothing replayed within {timeout} s \
                                 (waiting for WAL?)"
                            ),
                            ResumeOutcome::StillPaused => {
                                println!("NOT resumed: replay is still paused after {timeout} s")
                            }
                        }
                        println!("after:");
                        print_status(&r.after, "  ");
                    }
                    Ok(if r.outcome == ResumeOutcome::StillPaused {
                        ExitCode::from(1)
                    } else {
                        ExitCode::SUCCESS
                    })
                }
            }
        }
    }
}
