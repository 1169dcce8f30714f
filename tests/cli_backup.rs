//! `pitr backup show` and `pitr backup verify`, end to end, on real backups.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use pitr_testkit::{BackupKind, Cluster};
use serde_json::Value;
use std::fs;
use std::path::Path;
use std::process::{Command, Output};

fn pitr(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pitr")).args(args).output().unwrap()
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn show_and_verify_a_tar_backup() {
    let c = Cluster::new(15);
    let ts = c.scratch_dir("ts");
    c.sql(&format!(
        "CREATE TABLESPACE t1 LOCATION '{}'; CREATE TABLE x TABLESPACE t1 AS SELECT 1 i",
        ts.display()
    ));
    let oid = c.sql("SELECT oid FROM pg_tablespace WHERE spcname = 't1'");
    let sysid = c.sql("SELECT system_identifier FROM pg_control_system()");
    let b = c.base_backup(BackupKind::Tar { gzip: true });
    let dir = p(&b.dir);

    // show --json
    let o = pitr(&["--json", "backup", "show", dir]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let j = json(&o);
    assert_eq!(j["format"], "tar");
    assert_eq!(j["major"], 15);
    assert_eq!(j["pg_version"], "15");
    assert_eq!(j["control"]["system_identifier"], sysid.as_str());
    assert_eq!(j["control"]["wal_segment_size"], 1 << 20);
    assert_eq!(j["control"]["checkpoint_copy"]["redo"], b.start_lsn.as_str());
    assert_eq!(j["label"]["kind"], "backup_label");
    assert_eq!(j["label"]["text"], b.label.as_str());
    assert_eq!(j["label"]["parsed"]["start"]["lsn"], b.start_lsn.as_str());
    assert_eq!(j["label"]["parsed"]["label"], "pitr test backup");
    assert_eq!(j["manifest"]["version"], 1);
    assert_eq!(j["manifest"]["checksum_ok"], true);
    assert_eq!(j["manifest"]["wal_ranges"][0]["start_lsn"], b.start_lsn.as_str());
    assert_eq!(j["manifest"]["wal_ranges"][0]["end_lsn"], b.stop_lsn.as_str());
    assert_eq!(j["tablespaces"][0]["oid"].to_string(), oid);
    assert_eq!(j["tablespaces"][0]["location"], p(&ts));
    assert_eq!(j["tablespaces"][0]["archive"], format!("{oid}.tar.gz"));
    assert_eq!(j["tars"][0]["name"], "base.tar.gz");
    assert_eq!(j["tars"][0]["compression"], "gzip");
    assert!(j["file_count"].as_u64().unwrap() > 500);
    assert!(j.get("files").is_none());
    assert_eq!(j["problems"], Value::Array(vec![]));
    let o = pitr(&["--json", "backup", "show", "--files", dir]);
    let files = json(&o)["files"].as_array().unwrap().clone();
    assert!(
        files
            .iter()
            .any(|f| f["path"] == "global/pg_control" && f["size"] == 8192 && f["archive"] == "base.tar.gz")
    );

    // show, human
    let o = pitr(&["backup", "show", dir]);
    let t = text(&o);
    assert!(t.contains("tar (base.tar.gz"), "{t}");
    assert!(t.contains(&format!("system identifier    {sysid}")), "{t}");
    assert!(t.contains(&format!(" {} (file ", b.start_lsn)), "{t}");
    assert!(t.contains("pitr test backup"), "{t}");
    assert!(t.contains(&format!("tablespace {oid}")), "{t}");

    // verify: clean, human and JSON; with the archive.
    let o = pitr(&["backup", "verify", dir]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).ends_with("backup successfully verified\n"), "{}", text(&o));
    let o = pitr(&["--json", "backup", "verify", "--archive", p(c.archive_dir()), dir]);
    assert_eq!(o.status.code(), Some(0));
    let j = json(&o);
    assert_eq!(j["ok"], true);
    assert_eq!(j["manifest_version"], 1);
    assert_eq!(j["checksums_checked"], true);
    assert_eq!(j["wal"]["source"], format!("archive {}", c.archive_dir().display()));
    assert_eq!(j["wal"]["ranges"][0]["missing"], Value::Array(vec![]));
    assert_eq!(j["wal"]["ranges"][0]["parsed"], true, "the WAL range is read record by record");
    let o = pitr(&["--json", "backup", "verify", "-n", "--archive", p(c.archive_dir()), dir]);
    assert_eq!(json(&o)["wal"]["ranges"][0]["parsed"], Value::Null);

    // A flipped byte inside the range's first record: the names are all there,
    // but reading the WAL fails at that record.
    let needed = j["wal"]["ranges"][0]["segments"][0].as_str().unwrap().to_string();
    let damaged = c.scratch_dir("damaged");
    for f in c.archived_files() {
        fs::copy(c.archive_dir().join(&f), damaged.join(&f)).unwrap();
    }
    let start = pitr_core::Lsn::parse(&b.start_lsn).unwrap();
    let mut bytes = fs::read(damaged.join(&needed)).unwrap();
    let off = (start.as_u64() % (1 << 20)) as usize + 30;
    bytes[off] ^= 0xFF;
    fs::write(damaged.join(&needed), bytes).unwrap();
    let o = pitr(&["--json", "backup", "verify", "--archive", p(&damaged), dir]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let j = json(&o);
    assert_eq!(j["wal"]["ranges"][0]["parsed"], false);
    let msg = j["problems"][0]["message"].as_str().unwrap();
    assert_eq!(j["problems"][0]["code"], "wal_parse_failed");
    assert!(msg.contains("WAL parsing failed for timeline 1") && msg.contains(&b.start_lsn), "{msg}");

    // The archive without the first needed segment: exit 1, named.
    let partial = c.scratch_dir("partial");
    for f in c.archived_files().iter().filter(|f| **f != needed) {
        fs::copy(c.archive_dir().join(f), partial.join(f)).unwrap();
    }
    let o = pitr(&["--json", "backup", "verify", "--archive", p(&partial), dir]);
    assert_eq!(o.status.code(), Some(1));
    let j = json(&o);
    assert_eq!(j["ok"], false);
    assert_eq!(j["problems"][0]["code"], "missing_wal");
    assert_eq!(j["problems"][0]["severity"], "error");
    assert_eq!(j["problems"][0]["file"], needed.as_str());
    let o = pitr(&["backup", "verify", "--archive", p(&partial), dir]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains(&format!("error: WAL file {needed} needed by the backup")), "{}", text(&o));
    assert!(text(&o).contains("backup verification failed: 1 error(s)"), "{}", text(&o));

    // The backup history file from the archive is a backup description too.
    let history = c.archived_files().into_iter().find(|f| f.ends_with(".backup")).unwrap();
    let o = pitr(&["--json", "backup", "show", p(&c.archive_dir().join(&history))]);
    assert!(o.status.success());
    let j = json(&o);
    assert_eq!(j["format"], "backup_history");
    assert!(j["label"]["text"].as_str().unwrap().contains(&format!("STOP WAL LOCATION: {}", b.stop_lsn)));
    assert_eq!(j["label"]["parsed"]["stop"]["lsn"], b.stop_lsn.as_str());
    assert_eq!(j["label"]["kind"], "backup_history");
}

#[test]
fn verify_reports_damage_and_usage_errors() {
    let c = Cluster::new(15);
    let b = c.base_backup(BackupKind::Plain);
    let dir = p(&b.dir);
    let o = pitr(&["backup", "verify", dir]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    fs::remove_file(b.dir.join("global/1213")).unwrap();
    fs::write(b.dir.join("extra"), "x").unwrap();
    let o = pitr(&["backup", "verify", dir]);
    assert_eq!(o.status.code(), Some(1));
    let t = text(&o);
    assert!(t.contains("error: \"extra\" is present on disk but not in the manifest"), "{t}");
    assert!(t.contains("error: \"global/1213\" is present in the manifest but not on disk"), "{t}");
    let o = pitr(&["--json", "backup", "verify", dir]);
    assert_eq!(o.status.code(), Some(1));
    let codes: Vec<String> = json(&o)["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(codes, vec!["not_in_manifest", "not_in_backup"]);

    // A damaged pg_control: show still works and says so.
    let pgc = b.dir.join("global/pg_control");
    let mut bytes = fs::read(&pgc).unwrap();
    bytes[40] ^= 1;
    fs::write(&pgc, bytes).unwrap();
    let o = pitr(&["--json", "backup", "show", dir]);
    assert!(o.status.success());
    let j = json(&o);
    assert!(j["problems"].as_array().unwrap().iter().any(|p| p["code"] == "control_file_crc"));

    // Usage and I/O errors: exit 2.
    let o = pitr(&["backup", "verify", "/nonexistent/backup"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).starts_with("pitr: error: /nonexistent/backup"));
    let o = pitr(&["--json", "backup", "verify", "--archive", "/nonexistent/archive", dir]);
    assert_eq!(o.status.code(), Some(2));
    assert!(json(&o)["error"].as_str().unwrap().contains("/nonexistent/archive"));
    let empty = c.scratch_dir("empty");
    let o = pitr(&["backup", "show", p(&empty)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a base backup"));
    let o = pitr(&["backup", "verify", p(&b.dir.join("backup_label"))]);
    assert_eq!(o.status.code(), Some(2));
    let o = pitr(&["backup", "verify"]);
    assert_eq!(o.status.code(), Some(2));
}
