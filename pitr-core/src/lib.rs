//! # pitr-core
//!
//! Everything PostgreSQL point-in-time recovery is made of, read and checked in
//! pure Rust, for PostgreSQL 13 to 18:
//!
//! * text formats: [`lsn`] (LSNs, segment sizes), [`walfile`] (WAL file names),
//!   [`history`] (timeline history files), [`label`] (`backup_label` and backup
//!   history files), [`conf`] (`postgresql.conf` / `postgresql.auto.conf`);
//! * binary formats: [`wal`] (pages, records, CRC, decoders, scanning),
//!   [`control`] (`pg_control`), [`manifest`] (`backup_manifest`);
//! * collections: [`archive`] (inventory, verification, `restore_command`
//!   helper, cleanup), [`backup`] (plain and tar base backups);
//! * decisions: [`plan`] (recovery planning, `find`, restore);
//! * a live server: [`live`] (feature `live`).
//!
//! No function in this crate panics on malformed input: every parser returns a
//! typed error naming the file and the line, offset or LSN.

pub mod archive;
pub mod backup;
pub mod compress;
pub mod conf;
pub mod control;
pub mod error;
pub mod fsutil;
pub mod history;
pub mod label;
#[cfg(feature = "live")]
pub mod live;
pub mod lsn;
pub mod manifest;
pub mod plan;
pub mod version;
pub mod wal;
pub mod walfile;

pub use error::{Error, IoError, ParseError, Result};
pub use lsn::{Lsn, WalSegSize};
pub use version::PgMajor;
pub use walfile::{SegmentName, TimeLineId, WalFileKind, WalFileName};

/// The library version (from Cargo).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
