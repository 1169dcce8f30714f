//! `pitr restore` is all or nothing: Ctrl-C while it copies the backup stops
//! it, removes what it wrote (a new data directory is removed, an existing
//! empty one is emptied again) and exits with 130.

#![allow(clippy::unwrap_used)]

use pitr_testkit::{BackupKind, Cluster};
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `pitr restore` of `backup` to the backup's own end (`--target immediate`).
fn restore(backup: &Path, archive: &Path, pgdata: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pitr"));
    cmd.args(["restore", "--backup"])
        .arg(backup)
        .arg("--archive")
        .arg(archive)
        .args(["--target", "immediate", "--pgdata"])
        .arg(pgdata);
    cmd
}

fn has_entries(dir: &Path) -> bool {
    fs::read_dir(dir).map(|mut d| d.next().is_some()).unwrap_or(false)
}

#[test]
fn ctrl_c_during_the_copy_removes_what_was_written() {
    let c = Cluster::new(15);
    // Enough data (random, so gzip cannot shrink it much) that the copy takes
    // a while after the first file lands.
    c.sql("CREATE TABLE big AS SELECT g, md5(random()::text) || md5(random()::text) AS pad FROM generate_series(1, 600000) g");
    let b = c.base_backup(BackupKind::Tar { gzip: true });
    c.switch_wal();
    c.wait_archived();
    for existing in [false, true] {
        let pgdata = c.scratch_dir(if existing { "restore-into-empty" } else { "restore-new" });
        if !existing {
            fs::remove_dir(&pgdata).unwrap();
        }
        let mut child = restore(&b.dir, c.archive_dir(), &pgdata)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The copy has begun once the first entry is in the data directory.
        let deadline = Instant::now() + Duration::from_secs(120);
        while !has_entries(&pgdata) {
            assert!(child.try_wait().unwrap().is_none(), "pitr restore ended before copying anything");
            assert!(Instant::now() < deadline, "pitr restore did not start copying");
            std::thread::sleep(Duration::from_millis(1));
        }
        let kill = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
        assert!(kill.success());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(130), "{err}");
        assert!(err.contains("pitr restore: interrupted: stopping and removing what was written"), "{err}");
        assert!(
            err.contains("interrupted: stopped by the caller; what was written has been removed"),
            "{err}"
        );
        if existing {
            assert!(pgdata.is_dir() && !has_entries(&pgdata), "{} is not empty again", pgdata.display());
        } else {
            assert!(!pgdata.exists(), "{} was not removed", pgdata.display());
        }
    }
    // Uninterrupted, the same restore completes.
    let pgdata = c.scratch_dir("restore-done");
    let out = restore(&b.dir, c.archive_dir(), &pgdata).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(pgdata.join("recovery.signal").is_file() && pgdata.join("base").is_dir());
}
