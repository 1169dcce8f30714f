//! File-system helpers for everything that writes: atomic replacement (temp
//! file, fsync, rename, fsync of the directory) and the running-server guard.

use crate::error::{Error, IoError, IoResultExt};
use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

/// Writes `contents` to `path` atomically: a temporary file in the same
/// directory is written and fsynced, renamed over `path`, and the directory is
/// fsynced. Readers see either the old file or the new one, never a mix.
pub fn atomic_write(path: &Path, contents: &[u8]) -> Result<(), IoError> {
    let dir = parent_dir(path);
    let mut tmp = tempfile::Builder::new().prefix(".pitr-tmp-").tempfile_in(dir).at_path(dir)?;
    tmp.write_all(contents).at_path(tmp.path())?;
    tmp.as_file().sync_all().at_path(tmp.path())?;
    tmp.persist(path).map_err(|e| IoError::new(path, e.error))?;
    sync_dir(dir)
}

/// Copies everything `reader` yields into `path` atomically (see [`atomic_write`]).
/// Returns the number of bytes written.
pub fn atomic_write_from(path: &Path, reader: &mut dyn std::io::Read) -> Result<u64, IoError> {
    let dir = parent_dir(path);
    let mut tmp = tempfile::Builder::new().prefix(".pitr-tmp-").tempfile_in(dir).at_path(dir)?;
    let n = std::io::copy(reader, tmp.as_file_mut()).at_path(path)?;
    tmp.as_file().sync_all().at_path(tmp.path())?;
    tmp.persist(path).map_err(|e| IoError::new(path, e.error))?;
    sync_dir(dir)?;
    Ok(n)
}

/// fsyncs a directory so that a rename inside it is durable.
pub fn sync_dir(dir: &Path) -> Result<(), IoError> {
    File::open(dir).and_then(|d| d.sync_all()).at_path(dir)
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Refuses to touch a data directory whose server may be running: a
/// `postmaster.pid` is present. (A stale pid file after a crash must be
/// removed by the operator, who knows whether the server is really down.)
pub fn ensure_no_running_server(pgdata: &Path) -> Result<(), Error> {
    let pid = pgdata.join("postmaster.pid");
    match fs::symlink_metadata(&pid) {
        Ok(_) => Err(Error::Invalid(format!(
            "{} exists: a server may be running on {}; stop it (pg_ctl stop) before pitr writes there",
            pid.display(),
            pgdata.display()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(IoError::new(pid, e).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("postgresql.auto.conf");
        atomic_write(&p, b"a = '1'\n").unwrap();
        atomic_write(&p, b"b = '2'\n").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"b = '2'\n");
        let names: Vec<_> = fs::read_dir(d.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn atomic_write_fails_cleanly_in_missing_dir() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("nope").join("f");
        let e = atomic_write(&p, b"x").unwrap_err();
        assert!(e.to_string().contains("nope"), "{e}");
    }

    #[test]
    fn refuses_running_server() {
        let d = tempfile::tempdir().unwrap();
        ensure_no_running_server(d.path()).unwrap();
        fs::write(d.path().join("postmaster.pid"), "1234\n").unwrap();
        let e = ensure_no_running_server(d.path()).unwrap_err();
        assert!(e.to_string().contains("postmaster.pid"), "{e}");
    }
}
