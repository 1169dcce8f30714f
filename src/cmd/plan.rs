//! `pitr plan` (being built).

use crate::output::{CliError, CmdResult, Output};

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: &Args, _out: &Output) -> CmdResult {
    Err(CliError::new("pitr plan is not available yet"))
}
