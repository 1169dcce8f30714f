//! `pitr demo` (being built).

use crate::output::{CliError, CmdResult, Output};

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: &Args, _out: &Output) -> CmdResult {
    Err(CliError::new("pitr demo is not available yet"))
}
