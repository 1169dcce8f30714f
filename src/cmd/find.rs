//! `pitr find` (being built).

use crate::output::{CliError, CmdResult, Output};

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: &Args, _out: &Output) -> CmdResult {
    Err(CliError::new("pitr find is not available yet"))
}
