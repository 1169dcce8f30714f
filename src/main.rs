//! `pitr`: PostgreSQL point-in-time recovery toolkit (command line).

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod cmd;
mod interrupt;
mod output;

/// PostgreSQL point-in-time recovery: know whether a target is reachable, and
/// exactly what PostgreSQL will do, before anything is restored.
#[derive(Debug, Parser)]
#[command(name = "pitr", version, propagate_version = true, max_term_width = 100)]
struct Cli {
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Parse an LSN, convert it to a WAL file name and offset, or measure a distance.
    Lsn(cmd::lsn::Args),
    /// Show and check a timeline history file (or every history file in a directory).
    Timeline(cmd::timeline::Args),
    /// Show a backup_label or backup history (.backup) file.
    Label(cmd::label::Args),
    /// Decode WAL records like pg_waldump, for PostgreSQL 13 to 18.
    Waldump(cmd::waldump::Args),
    /// Inventory, verify, fetch from and clean a WAL archive.
    #[command(subcommand)]
    Archive(cmd::archive::Command),
    /// Show and verify a base backup (plain directory or tar).
    #[command(subcommand)]
    Backup(cmd::backup::Command),
    /// Plan a recovery: is the target reachable, where will PostgreSQL stop, which WAL will it fetch.
    Plan(cmd::plan::Args),
    /// Find commits and aborts (and dropped relations) to choose a recovery target.
    Find(cmd::find::Args),
    /// Restore a base backup into a new data directory with recovery settings.
    Restore(cmd::restore::Args),
    /// Check a live server's archiving health.
    Check(cmd::check::Args),
    /// Record a mark (time, LSN, timeline, restore point) before a risky change.
    Mark(cmd::mark::Args),
    /// Watch or resume a server that is replaying WAL.
    #[command(subcommand)]
    Replay(cmd::replay::Command),
    /// Run the whole lab: archive, back up, drop a table by mistake, find it, plan, restore, check.
    Demo(cmd::demo::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let out = output::Output::new(cli.json);
    let result = match &cli.command {
        Command::Lsn(a) => cmd::lsn::run(a, &out),
        Command::Timeline(a) => cmd::timeline::run(a, &out),
        Command::Label(a) => cmd::label::run(a, &out),
        Command::Waldump(a) => cmd::waldump::run(a, &out),
        Command::Archive(c) => cmd::archive::run(c, &out),
        Command::Backup(c) => cmd::backup::run(c, &out),
        Command::Plan(a) => cmd::plan::run(a, &out),
        Command::Find(a) => cmd::find::run(a, &out),
        Command::Restore(a) => cmd::restore::run(a, &out),
        Command::Check(a) => cmd::check::run(a, &out),
        Command::Mark(a) => cmd::mark::run(a, &out),
        Command::Replay(c) => cmd::replay::run(c, &out),
        Command::Demo(a) => cmd::demo::run(a, &out),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            out.error(&e);
            ExitCode::from(2)
        }
    }
}
