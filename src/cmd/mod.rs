//! One module per subcommand. Each has `Args` (clap) and `run`.

pub mod archive;
pub mod backup;
pub mod check;
pub mod demo;
pub mod find;
pub mod label;
pub mod lsn;
pub mod mark;
pub mod plan;
pub mod replay;
pub mod restore;
pub mod timeline;
pub mod waldump;
