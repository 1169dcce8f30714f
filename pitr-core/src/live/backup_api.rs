//! The low-level (non-exclusive) backup API of each major: what a file-copy
//! base backup calls before and after copying the data directory.
//!
//! | major | start | stop |
//! |---|---|---|
//! | 13, 14 | `pg_start_backup(label, fast, false)` | `pg_stop_backup(false, wait_for_archive)` |
//! | 15+ | `pg_backup_start(label, fast)` | `pg_backup_stop(wait_for_archive)` |
//!
//! The session that started the backup must stay open until it is stopped.
//! The stop returns the `backup_label` (and `tablespace_map`) text, which the
//! caller must write into the copy, never into the live data directory.

use super::LiveError;
use super::conn::Session;
use crate::lsn::Lsn;
use crate::version::PgMajor;
use serde::Serialize;
use std::time::Duration;

/// The SQL of the start and stop calls for `major` (parameters: `$1` label,
/// `$2` fast; `$1` wait_for_archive).
pub const fn backup_functions(major: PgMajor) -> (&'static str, &'static str) {
    match major {
        PgMajor::V13 | PgMajor::V14 => (
            "SELECT pg_start_backup($1, $2, false)",
            "SELECT lsn, labelfile, spcmapfile FROM pg_stop_backup(false, $1)",
        ),
        _ => ("SELECT pg_backup_start($1, $2)", "SELECT lsn, labelfile, spcmapfile FROM pg_backup_stop($1)"),
    }
}

/// What the stop call returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupStop {
    /// The stop LSN.
    pub lsn: Lsn,
    /// The text to write as `backup_label` in the copy.
    pub label_file: String,
    /// The text to write as `tablespace_map` in the copy (`None` without
    /// tablespaces).
    pub tablespace_map: Option<String>,
}

/// Starts a non-exclusive backup; returns the start (redo) LSN. `fast`
/// requests an immediate checkpoint (else this waits for a spread one, so no
/// statement timeout applies).
pub fn backup_start(session: &mut Session, label: &str, fast: bool) -> Result<Lsn, LiveError> {
    let (start, _) = backup_functions(session.server().major);
    session.with_statement_timeout(Duration::ZERO, |s| {
        let what = "backup start";
        let row = s.query_one(what, start, &[&label, &fast])?;
        s.lsn_col(&row, 0, what)?.ok_or_else(|| s.unexpected(what, "returned NULL"))
    })
}

/// Stops the backup started on this session. With `wait_for_archive` the call
/// waits until the WAL the backup needs is archived (no statement timeout).
pub fn backup_stop(session: &mut Session, wait_for_archive: bool) -> Result<BackupStop, LiveError> {
    let (_, stop) = backup_functions(session.server().major);
    session.with_statement_timeout(Duration::ZERO, |s| {
        let what = "backup stop";
        let row = s.query_one(what, stop, &[&wait_for_archive])?;
        let lsn = s.lsn_col(&row, 0, what)?.ok_or_else(|| s.unexpected(what, "no stop LSN"))?;
        let label_file: String =
            s.col(&row, 1, what)?.ok_or_else(|| s.unexpected(what, "no backup_label text"))?;
        let tablespace_map: Option<String> = s.col::<String>(&row, 2, what)?.filter(|m| !m.is_empty());
        Ok(BackupStop { lsn, label_file, tablespace_map })
    })
}
