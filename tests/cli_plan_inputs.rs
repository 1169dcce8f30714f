//! `pitr plan` on every form of backup description (plain directory, gzip tar
//! backup, its `backup_label`, the archived `.backup` file), with a mark as the
//! target, and the planner's warnings, on a real PostgreSQL 15 cluster.

#![allow(clippy::unwrap_used)]

use pitr_testkit::{BackupKind, Cluster};
use serde_json::Value;
use std::process::Command;

const PITR: &str = env!("CARGO_BIN_EXE_pitr");

fn plan(args: &[&str]) -> (i32, Value) {
    let out = Command::new(PITR).arg("plan").arg("--json").args(args).output().unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    });
    (out.status.code().unwrap(), v)
}

fn codes(p: &Value) -> Vec<String> {
    p["problems"].as_array().unwrap().iter().map(|x| x["code"].as_str().unwrap().to_string()).collect()
}

#[test]
fn every_backup_form_plans_the_same_stop() {
    let c = Cluster::builder(15).conf("hot_standby", "off").conf("timezone", "America/New_York").start();
    c.sql("CREATE TABLE t(i int)");
    let tar = c.base_backup(BackupKind::Tar { gzip: true });
    let plain = c.base_backup(BackupKind::Plain);
    let xid = c.sql("BEGIN; INSERT INTO t VALUES (1); SELECT txid_current(); COMMIT;");
    c.sql("SELECT pg_create_restore_point('rp')");
    c.sql("INSERT INTO t VALUES (2)");
    c.sql("SELECT pg_create_restore_point('rp')");
    c.sql("INSERT INTO t VALUES (3)");
    c.switch_wal();
    let archive = c.archive_dir().display().to_string();
    let backup_file = c
        .archived_files()
        .into_iter()
        .find(|f| {
            f.ends_with(".backup")
                && pitr_testkit::label_field(
                    &std::fs::read_to_string(c.archive_dir().join(f)).unwrap(),
                    "START WAL LOCATION: ",
                )
                .starts_with(&format!("{} ", plain.start_lsn))
        })
        .unwrap();
    let forms = [
        plain.dir.display().to_string(),
        plain.dir.join("backup_label").display().to_string(),
        c.archive_dir().join(&backup_file).display().to_string(),
    ];
    let mut stops = Vec::new();
    for b in &forms {
        let (code, p) = plan(&["--backup", b, "--archive", &archive, "--target-xid", &xid]);
        assert_eq!(code, 0, "{b}: {p:#}");
        assert_eq!(p["stop"]["kind"], "after");
        assert_eq!(p["stop"]["xid"].to_string(), xid);
        assert_eq!(p["consistent_lsn"], plain.stop_lsn.as_str(), "{b}");
        if b.ends_with(".backup") {
            // No configuration travels with a .backup file.
            assert!(codes(&p).contains(&"configuration_unknown".to_string()), "{b}: {p:#}");
        } else {
            // hot_standby = off in the backup's configuration: a pause becomes a shutdown.
            assert!(codes(&p).contains(&"pause_without_hot_standby".to_string()), "{b}: {p:#}");
        }
        let st = &p["stop"];
        stops.push((
            st["record_lsn"].clone(),
            st["replay_lsn"].clone(),
            st["xid"].clone(),
            st["time"].clone(),
        ));
    }
    assert!(stops.windows(2).all(|w| w[0] == w[1]), "{stops:#?}");

    // The tar backup: an earlier backup, the same transaction.
    let (code, p) =
        plan(&["--backup", &tar.dir.display().to_string(), "--archive", &archive, "--target-xid", &xid]);
    assert_eq!(code, 0, "{p:#}");
    assert_eq!(p["stop"]["record_lsn"], stops[0].0);
    assert_eq!(p["consistent_lsn"], tar.stop_lsn.as_str());
    // Its log line prints the time in the backup's TimeZone (America/New_York).
    let msg = p["stop"]["log_message"].as_str().unwrap();
    assert!(msg.ends_with("-05") || msg.ends_with("-04"), "{msg}");

    // A restore point name used twice: stop at the first, with a warning.
    let (code, p) = plan(&["--backup", &forms[0], "--archive", &archive, "--target-name", "rp"]);
    assert_eq!(code, 0);
    assert!(codes(&p).contains(&"duplicate_restore_point".to_string()), "{p:#}");

    // A time without a zone is read in the backup's TimeZone, with a warning;
    // --timezone overrides it.
    let (_, p) =
        plan(&["--backup", &forms[0], "--archive", &archive, "--target-time", "2099-01-01 00:00:00"]);
    assert!(codes(&p).contains(&"time_without_zone".to_string()));
    assert_eq!(p["settings"]["recovery_target_time"], "2099-01-01 05:00:00+00");
    let (_, p) = plan(&[
        "--backup",
        &forms[0],
        "--archive",
        &archive,
        "--target-time",
        "2099-01-01 00:00:00",
        "--timezone",
        "UTC",
    ]);
    assert_eq!(p["settings"]["recovery_target_time"], "2099-01-01 00:00:00+00");
}

#[test]
fn a_mark_is_a_plan_target() {
    let c = Cluster::new(15);
    c.sql("CREATE TABLE t(i int); INSERT INTO t VALUES (1)");
    let b = c.base_backup(BackupKind::SqlApi);
    c.sql("INSERT INTO t VALUES (2)");
    let log = c.scratch_dir("marks").join("marks.jsonl");
    let out = Command::new(PITR)
        .args(["mark", "--dsn", &c.dsn(), "--name", "before_upgrade", "--switch", "--log"])
        .arg(&log)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rp_end = c.sql("SELECT pg_current_wal_lsn()");
    c.sql("INSERT INTO t VALUES (3)");
    c.switch_wal();
    let (code, p) = plan(&[
        "--backup",
        &b.dir.display().to_string(),
        "--archive",
        &c.archive_dir().display().to_string(),
        "--mark",
        "before_upgrade",
        "--marks",
        &log.display().to_string(),
    ]);
    assert_eq!(code, 0, "{p:#}");
    assert_eq!(p["settings"]["recovery_target_name"], "before_upgrade");
    assert_eq!(p["stop"]["record"], "RESTORE_POINT");
    assert_eq!(
        p["stop"]["log_message"].as_str().unwrap().split(',').next().unwrap(),
        "recovery stopping at restore point \"before_upgrade\""
    );
    let _ = rp_end;
    // An unknown mark is a usage error naming the known ones.
    let out = Command::new(PITR)
        .args([
            "plan",
            "--backup",
            &b.dir.display().to_string(),
            "--archive",
            &c.archive_dir().display().to_string(),
        ])
        .args(["--mark", "nope", "--marks"])
        .arg(&log)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("before_upgrade"));
}
