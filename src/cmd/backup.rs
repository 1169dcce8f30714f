//! `pitr backup` (being built).

use crate::output::{CliError, CmdResult, Output};

#[derive(Debug, clap::Subcommand)]
pub enum Command {}

pub fn run(_cmd: &Command, _out: &Output) -> CmdResult {
    Err(CliError::new("pitr backup is not available yet"))
}
