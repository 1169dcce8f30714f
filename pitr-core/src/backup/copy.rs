//! Copying a data directory the way a base backup does: the copy step of a
//! low-level backup (between `live::backup_start` and
//! `live::backup_stop`, feature `live`), or a plain backup copied into a new data
//! directory before a restore.
//!
//! What is left out follows what `pg_basebackup` leaves out: the contents of
//! the directories the server recreates or that only matter to a running
//! server ([`EXCLUDED_CONTENTS`], kept as empty directories, `pg_wal` with
//! its `archive_status`), the top-level files of [`EXCLUDED_FILES`] (a
//! running server's pid file, and the `backup_label`/`tablespace_map` that
//! the backup API hands back separately), temporary files (`pgsql_tmp*`)
//! and relation cache init files (`pg_internal.init`).
//!
//! The source may be a running server: a file that vanishes while the copy
//! runs is skipped (WAL replay recreates or removes it), as the backup API
//! allows. The destination must be absent or an empty directory, so that
//! nothing that was there is overwritten; it ends with mode 0700 as
//! PostgreSQL requires.

use crate::error::{IoError, IoResultExt};
use serde::Serialize;
use std::fs;
use std::io::ErrorKind;
use std::path::Path;

/// Top-level directories whose contents a base backup leaves out; the
/// directories themselves are created empty.
pub const EXCLUDED_CONTENTS: &[&str] = &[
    "pg_wal",
    "pg_dynshmem",
    "pg_notify",
    "pg_replslot",
    "pg_serial",
    "pg_snapshots",
    "pg_stat_tmp",
    "pg_subtrans",
];

/// Top-level files a base backup leaves out.
pub const EXCLUDED_FILES: &[&str] = &[
    "postmaster.pid",
    "postmaster.opts",
    "backup_label",
    "tablespace_map",
    "postgresql.auto.conf.tmp",
    "current_logfiles.tmp",
];

/// What [`copy_data_directory`] copied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CopyStats {
    /// Regular files copied.
    pub files: u64,
    /// Bytes copied.
    pub bytes: u64,
}

/// True for a file name left out at any depth: temporary files and relation
/// cache init files.
fn excluded_anywhere(name: &str) -> bool {
    name.starts_with("pgsql_tmp") || name == "pg_internal.init"
}

/// Copies the data directory `src` into `dst` (absent or empty), leaving out
/// what a base backup leaves out (see the module documentation). Symbolic
/// links (tablespaces in `pg_tblspc`) are copied as links.
///
/// # Errors
/// [`IoError`] naming the file when `dst` is not empty or a file cannot be
/// read or written (other than a file vanishing from `src`).
pub fn copy_data_directory(src: &Path, dst: &Path) -> Result<CopyStats, IoError> {
    match fs::read_dir(dst) {
        Ok(mut rd) => {
            if rd.next().is_some() {
                return Err(IoError::new(
                    dst,
                    std::io::Error::new(ErrorKind::AlreadyExists, "the destination is not empty"),
                ));
            }
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(IoError::new(dst, e)),
    }
    fs::metadata(src).at_path(src)?;
    let mut stats = CopyStats::default();
    walk(src, dst, true, &mut stats)?;
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(dst, fs::Permissions::from_mode(0o700)).at_path(dst)?;
    Ok(stats)
}

fn walk(src: &Path, dst: &Path, top: bool, stats: &mut CopyStats) -> Result<(), IoError> {
    fs::create_dir_all(dst).at_path(dst)?;
    let rd = match fs::read_dir(src) {
        Ok(rd) => rd,
        // A directory removed while copying (a dropped database).
        Err(e) if e.kind() == ErrorKind::NotFound && !top => return Ok(()),
        Err(e) => return Err(IoError::new(src, e)),
    };
    for entry in rd {
        let entry = entry.at_path(src)?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let from = entry.path();
        let to = dst.join(entry.file_name());
        if (top && EXCLUDED_FILES.contains(&name.as_ref())) || excluded_anywhere(&name) {
            continue;
        }
        let meta = match fs::symlink_metadata(&from) {
            Ok(m) => m,
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(e) => return Err(IoError::new(from, e)),
        };
        if meta.is_dir() {
            if top && EXCLUDED_CONTENTS.contains(&name.as_ref()) {
                fs::create_dir_all(&to).at_path(&to)?;
                if name == "pg_wal" {
                    let status = to.join("archive_status");
                    fs::create_dir_all(&status).at_path(&status)?;
                }
                continue;
            }
            walk(&from, &to, false, stats)?;
        } else if meta.file_type().is_symlink() {
            let target = match fs::read_link(&from) {
                Ok(t) => t,
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(IoError::new(from, e)),
            };
            std::os::unix::fs::symlink(target, &to).at_path(&to)?;
        } else {
            match fs::copy(&from, &to) {
                Ok(b) => {
                    stats.files += 1;
                    stats.bytes += b;
                }
                // A file removed from `src` while copying.
                Err(e) if e.kind() == ErrorKind::NotFound && !from.exists() => {}
                Err(e) => return Err(IoError::new(from, e)),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(root: &Path) -> Vec<String> {
        fn go(dir: &Path, root: &Path, out: &mut Vec<String>) {
            for e in fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                let meta = fs::symlink_metadata(&p).unwrap();
                if meta.is_dir() {
                    out.push(format!("{rel}/"));
                    go(&p, root, out);
                } else if meta.file_type().is_symlink() {
                    out.push(format!("{rel} -> {}", fs::read_link(&p).unwrap().display()));
                } else {
                    out.push(rel);
                }
            }
        }
        let mut v = Vec::new();
        go(root, root, &mut v);
        v.sort();
        v
    }

    #[test]
    fn leaves_out_what_a_base_backup_leaves_out() {
        let t = tempfile::tempdir().unwrap();
        let src = t.path().join("pgdata");
        for d in
            ["base/1/pgsql_tmp", "global", "pg_wal/archive_status", "pg_replslot/s", "pg_tblspc", "pg_xact"]
        {
            fs::create_dir_all(src.join(d)).unwrap();
        }
        for (f, body) in [
            ("PG_VERSION", "15\n"),
            ("postmaster.pid", "123\n"),
            ("postmaster.opts", "x"),
            ("backup_label", "old"),
            ("base/1/1259", "heap"),
            ("base/1/pg_internal.init", "cache"),
            ("base/1/pgsql_tmp/pgsql_tmp1.0", "tmp"),
            ("global/pg_control", "control"),
            ("pg_wal/000000010000000000000001", "wal"),
            ("pg_wal/archive_status/000000010000000000000001.ready", ""),
            ("pg_replslot/s/state", "slot"),
            ("pg_xact/0000", "xact"),
        ] {
            fs::write(src.join(f), body).unwrap();
        }
        std::os::unix::fs::symlink("/nonexistent/ts", src.join("pg_tblspc/16384")).unwrap();

        let dst = t.path().join("copy");
        let stats = copy_data_directory(&src, &dst).unwrap();
        assert_eq!(
            tree(&dst),
            [
                "PG_VERSION",
                "base/",
                "base/1/",
                "base/1/1259",
                "global/",
                "global/pg_control",
                "pg_replslot/",
                "pg_tblspc/",
                "pg_tblspc/16384 -> /nonexistent/ts",
                "pg_wal/",
                "pg_wal/archive_status/",
                "pg_xact/",
                "pg_xact/0000",
            ]
        );
        assert_eq!(stats, CopyStats { files: 4, bytes: (3 + 4 + 7 + 4) as u64 });
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(fs::metadata(&dst).unwrap().permissions().mode() & 0o777, 0o700);
    }

    #[test]
    fn refuses_a_destination_that_is_not_empty() {
        let t = tempfile::tempdir().unwrap();
        let src = t.path().join("src");
        let dst = t.path().join("dst");
        fs::create_dir_all(&src).unwrap();
        fs::write(src.join("PG_VERSION"), "15\n").unwrap();
        fs::create_dir_all(&dst).unwrap();
        fs::write(dst.join("PG_VERSION"), "mine\n").unwrap();
        let err = copy_data_directory(&src, &dst).unwrap_err();
        assert_eq!(err.path, dst);
        assert_eq!(err.source.kind(), ErrorKind::AlreadyExists);
        assert_eq!(fs::read_to_string(dst.join("PG_VERSION")).unwrap(), "mine\n");
        // An empty one is fine, and a missing source is an error naming it.
        fs::remove_file(dst.join("PG_VERSION")).unwrap();
        copy_data_directory(&src, &dst).unwrap();
        let missing = t.path().join("missing");
        assert_eq!(copy_data_directory(&missing, &t.path().join("d2")).unwrap_err().path, missing);
    }
}
