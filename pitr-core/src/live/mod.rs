//! Talking to a live PostgreSQL server (13 to 18), with the synchronous
//! [`postgres`] client (feature `live`).
//!
//! * [`mod@check`]: is the server ready for point-in-time recovery? Settings,
//!   archiver statistics, how far the archive lags, and (optionally) a
//!   cross-check of the WAL archive directory. Every problem has a severity, a
//!   stable code and the exact fix ([`check::CheckReport`]).
//! * [`mod@mark`]: record a *mark* (time, LSN, timeline, WAL file, optional restore
//!   point, optional WAL switch) before a risky change, in an append-only JSON
//!   lines log; read it back and turn a mark into a recovery target
//!   ([`mark::mark_target`]).
//! * [`replay`]: watch a server that replays WAL (replay LSN, pause state) and
//!   resume it ([`replay::replay_resume`]).
//! * [`backup_api`]: the low-level backup functions of each major
//!   (`pg_backup_start`/`pg_backup_stop`, `pg_start_backup`/`pg_stop_backup`).
//!
//! Everything goes through a [`Session`]: a connection with a connect timeout,
//! a statement timeout, and the facts every operation needs ([`ServerInfo`]).
//! No function here panics on what a server returns: columns that can be NULL
//! are read as `Option`, and a value of an unexpected type is an error.
//!
//! ```no_run
//! use pitr_core::live::{self, ConnectOptions, Session};
//! let mut s = Session::connect(&ConnectOptions::new("host=db1 user=postgres"))?;
//! let report = live::check::check(&mut s, &live::check::CheckOptions::default())?;
//! println!("healthy: {}", report.healthy);
//! # Ok::<(), live::LiveError>(())
//! ```

pub mod backup_api;
pub mod check;
mod conn;
pub mod mark;
pub mod replay;
mod segment;

pub use backup_api::{BackupStop, backup_start, backup_stop};
pub use check::{CheckOptions, CheckReport, Problem, Severity, check};
pub use conn::{ConnectOptions, DEFAULT_CONNECT_TIMEOUT, Session};
pub use mark::{
    Mark, MarkOptions, MarkTarget, MarkTargetKind, append_mark, find_mark, mark, mark_target, parse_marks,
    read_marks, wait_archived,
};
pub use replay::{PauseState, ReplayStatus, ResumeOutcome, ResumeReport, replay_resume, replay_status};

use crate::error::{IoError, ParseError};
use crate::lsn::WalSegSize;
use crate::version::PgMajor;
use crate::walfile::TimeLineId;
use serde::Serialize;

/// An error talking to a live server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LiveError {
    /// The connection string could not be parsed.
    #[error("invalid connection string: {0}")]
    Dsn(String),
    /// The server could not be reached or refused the connection.
    #[error("cannot connect to {endpoint}: {message}")]
    Connect {
        /// `host=... port=...` of the server(s) tried.
        endpoint: String,
        /// Why.
        message: String,
    },
    /// A query failed (or returned something unexpected).
    #[error("{endpoint}: {what}: {message}")]
    Query {
        /// The server.
        endpoint: String,
        /// What was being asked, e.g. `"pg_stat_archiver"`.
        what: String,
        /// The server's error (with detail and hint) or what was unexpected.
        message: String,
    },
    /// The operation needs a server in recovery and this one is not.
    #[error("{endpoint}: the server is not in recovery (pg_is_in_recovery() is false): {action}")]
    NotInRecovery {
        /// The server.
        endpoint: String,
        /// What could not be done.
        action: String,
    },
    /// The operation needs a primary and this server is in recovery.
    #[error("{endpoint}: the server is in recovery (a standby or a restore in progress): {action}")]
    InRecovery {
        /// The server.
        endpoint: String,
        /// What could not be done.
        action: String,
    },
    /// The server's major version is not one pitr supports.
    #[error("{endpoint}: {message}")]
    Unsupported {
        /// The server.
        endpoint: String,
        /// Which version, and what is supported.
        message: String,
    },
    /// A request that cannot be carried out as asked (a restore point name that
    /// is too long, for instance).
    #[error("{0}")]
    Invalid(String),
    /// A file could not be read or written (the mark log, the archive).
    #[error(transparent)]
    Io(#[from] IoError),
    /// A file did not follow its format (the mark log).
    #[error(transparent)]
    Parse(#[from] ParseError),
}

impl LiveError {
    /// True when the server could not be reached at all (the CLI exits 2).
    pub fn is_connect(&self) -> bool {
        matches!(self, LiveError::Connect { .. } | LiveError::Dsn(_))
    }
}

/// What pitr learns about a server when it connects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerInfo {
    /// `server_version`, e.g. `15.8 (Debian 15.8-1.pgdg120+1)`.
    pub version: String,
    /// `server_version_num`, e.g. `150008`.
    pub version_num: u32,
    /// The major version.
    pub major: PgMajor,
    /// `pg_control_system().system_identifier`, when the function is allowed.
    /// Serialised as a decimal string (it does not fit a JSON double).
    #[serde(serialize_with = "ser_opt_u64_string")]
    pub system_id: Option<u64>,
    /// The timeline: on a primary the timeline WAL is being written on (from
    /// `pg_walfile_name(pg_current_wal_lsn())`, correct right after a
    /// promotion); in recovery the timeline of the latest checkpoint or
    /// restartpoint (`pg_control_checkpoint()`). `None` when not allowed.
    pub timeline: Option<TimeLineId>,
    /// `pg_control_checkpoint().timeline_id`: the timeline of the latest
    /// checkpoint (or restartpoint). Right after a promotion it can still name
    /// the old timeline until the next checkpoint. `None` when not allowed.
    pub checkpoint_timeline: Option<TimeLineId>,
    /// `pg_is_in_recovery()`.
    pub in_recovery: bool,
    /// `wal_segment_size`.
    pub wal_segment_size: WalSegSize,
}

pub(crate) fn ser_opt_u64_string<S: serde::Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(n) => s.collect_str(n),
        None => s.serialize_none(),
    }
}
