//! A data directory's archiving backlog: `pg_wal/archive_status/<name>.ready`
//! (waiting for `archive_command`) versus `<name>.done` (archived, or never
//! needs archiving).

use crate::error::{Error, IoResultExt};
use crate::walfile::{ArchiveStatus, WalFileKind, WalFileName};
use serde::Serialize;
use std::fs;
use std::path::Path;

/// The contents of `pg_wal/archive_status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ArchiveBacklog {
    /// Files waiting to be archived, in the order the archiver takes them:
    /// history files first, then by name (oldest segment first).
    pub ready: Vec<String>,
    /// Files archived (sorted by name).
    pub done: Vec<String>,
    /// Anything else in the directory (temporary files, unknown names).
    pub other: Vec<String>,
    /// Number of `.ready` full segments.
    pub ready_segments: usize,
    /// The oldest `.ready` segment, the one the archiver is stuck on if archiving fails.
    pub oldest_ready_segment: Option<String>,
}

impl ArchiveBacklog {
    /// True when nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.ready.is_empty()
    }
}

/// Reads `<pgdata>/pg_wal/archive_status`. A missing directory is an empty
/// backlog (the server recreates it).
pub fn backlog(pgdata: &Path) -> Result<ArchiveBacklog, Error> {
    let dir = pgdata.join("pg_wal").join("archive_status");
    let mut b = ArchiveBacklog::default();
    let entries = match fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(b),
        Err(e) => return Err(crate::error::IoError::new(&dir, e).into()),
    };
    let mut ready: Vec<(bool, String)> = Vec::new();
    for e in entries {
        let name = e.at_path(&dir)?.file_name().to_string_lossy().into_owned();
        match WalFileName::classify(&name).kind {
            WalFileKind::ArchiveStatus { of, status: ArchiveStatus::Ready } => {
                let is_history = matches!(WalFileName::classify(&of).kind, WalFileKind::History { .. });
                ready.push((!is_history, of));
            }
            WalFileKind::ArchiveStatus { of, status: ArchiveStatus::Done } => b.done.push(of),
            _ => b.other.push(name),
        }
    }
    ready.sort();
    b.ready = ready.into_iter().map(|(_, n)| n).collect();
    b.done.sort();
    b.other.sort();
    let segments: Vec<&String> =
        b.ready.iter().filter(|n| WalFileName::classify(n).segment().is_some()).collect();
    b.ready_segments = segments.len();
    b.oldest_ready_segment = segments.first().map(|s| (*s).clone());
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_like_the_archiver() {
        let d = tempfile::tempdir().unwrap();
        let s = d.path().join("pg_wal/archive_status");
        fs::create_dir_all(&s).unwrap();
        for n in [
            "000000010000000000000005.ready",
            "000000010000000000000003.ready",
            "00000002.history.ready",
            "000000010000000000000002.done",
            "000000010000000000000002.00000028.backup.done",
            "000000010000000000000004.partial.ready",
            "junk.tmp",
        ] {
            fs::write(s.join(n), "").unwrap();
        }
        let b = backlog(d.path()).unwrap();
        assert_eq!(
            b.ready,
            vec![
                "00000002.history",
                "000000010000000000000003",
                "000000010000000000000004.partial",
                "000000010000000000000005"
            ]
        );
        assert_eq!(b.done, vec!["000000010000000000000002", "000000010000000000000002.00000028.backup"]);
        assert_eq!(b.other, vec!["junk.tmp"]);
        assert_eq!(b.ready_segments, 2);
        assert_eq!(b.oldest_ready_segment.as_deref(), Some("000000010000000000000003"));
        assert!(!b.is_empty());

        let empty = tempfile::tempdir().unwrap();
        assert!(backlog(empty.path()).unwrap().is_empty());
    }
}
