//! End-to-end tests of `pitr lsn`, `pitr timeline` and `pitr label`: the
//! built binary, compared with a real server where the answer comes from
//! PostgreSQL (`pg_walfile_name_offset`, `pg_wal_lsn_diff`, real backups).

#![allow(clippy::unwrap_used)]

use pitr_testkit::{BackupKind, Cluster, majors_under_test};
use serde_json::Value;
use std::fs;
use std::path::Path;
use std::process::{Command, Output};

fn pitr(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pitr")).args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn json(args: &[&str]) -> (i32, Value) {
    let mut a = vec!["--json"];
    a.extend_from_slice(args);
    let o = pitr(&a);
    let v = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}\n{}\n{}", stdout(&o), String::from_utf8_lossy(&o.stderr)));
    (o.status.code().unwrap(), v)
}

/// Deterministic pseudo-random LSNs (xorshift).
fn lsns(n: usize, seed: u64, max: u64) -> Vec<u64> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % max
        })
        .collect()
}

fn fmt_lsn(v: u64) -> String {
    format!("{:X}/{:X}", v >> 32, v as u32)
}

#[test]
fn lsn_example_of_the_issue() {
    let o = pitr(&["lsn", "0/16B3748", "--timeline", "1", "--wal-segsize", "16MB"]);
    assert!(o.status.success());
    let out = stdout(&o);
    assert!(out.contains("000000010000000000000001"), "{out}");
    assert!(out.contains("0x6B3748"), "{out}");
    assert!(out.contains("0/016B3748") && out.contains("23803720"), "{out}");
}

#[test]
fn lsn_forms_file_names_distances_and_errors() {
    let (code, v) = json(&["lsn", "0/016b3748", "000000020000000000000003", "--wal-segsize", "1MB"]);
    assert_eq!(code, 0);
    assert_eq!(v["lsn"], "0/16B3748");
    assert_eq!(v["padded"], "0/016B3748");
    assert_eq!(v["decimal"], 0x16B3748);
    assert_eq!(v["file"], "000000010000000000000016");
    assert_eq!(v["offset_hex"], "0xB3748");
    assert_eq!(v["wal_segsize"], 1 << 20);
    assert_eq!(v["other"]["input_kind"], "wal_file");
    assert_eq!(v["other"]["lsn"], "0/300000");
    assert_eq!(v["other"]["timeline"], 2);
    assert_eq!(v["other"]["on_segment_boundary"], true);
    assert_eq!(v["distance"]["bytes"], 0x300000 - 0x16B3748);
    assert_eq!(v["distance"]["human"], "-19.7 MiB");
    assert_eq!(v["distance"]["segments"], 0x16 - 3 + 1);
    // A file name alone gives its start, with the right segment size.
    let (_, v) = json(&["lsn", "0000000100000001000000A3"]);
    assert_eq!(v["lsn"], "1/A3000000");
    let (_, v) = json(&["lsn", "000000010000000100000001", "--wal-segsize", "1GB"]);
    assert_eq!(v["lsn"], "1/40000000");
    // Errors: exit 2 with a message naming the problem.
    for bad in [
        vec!["lsn", "0/G"],
        vec!["lsn", "16B3748"],
        vec!["lsn", "0/1", "--wal-segsize", "3MB"],
        vec!["lsn", "000000010000000000000100", "--wal-segsize", "1GB"],
        vec!["lsn", "000000010000000000000001", "--timeline", "2"],
    ] {
        let o = pitr(&bad);
        assert_eq!(o.status.code(), Some(2), "{bad:?}");
        assert!(String::from_utf8_lossy(&o.stderr).contains("pitr: error:"), "{bad:?}");
    }
}

/// `pitr lsn` against `pg_walfile_name_offset` and `pg_wal_lsn_diff`: 15 with
/// 16 MB segments (the issue's example), and every other major with 1 MB.
#[test]
fn lsn_matches_pg_walfile_name_offset() {
    for major in majors_under_test() {
        let (mb, c) = if major == 15 {
            (16u64, Cluster::builder(15).wal_segsize_mb(16).archiving(false).start())
        } else {
            (1, Cluster::builder(major).archiving(false).start())
        };
        let seg_bytes = mb << 20;
        let segsize = format!("{mb}MB");
        let mut values = lsns(40, 0x9E37_79B9_7F4A_7C15 ^ u64::from(major), 1 << 40);
        values.push(0x16B3748);
        values.push(1);
        values.retain(|v| v % seg_bytes != 0);
        let list: Vec<String> = values.iter().map(|v| format!("'{}'", fmt_lsn(*v))).collect();
        let sql = format!(
            "SELECT l, (pg_walfile_name_offset(l::pg_lsn)).file_name, \
             (pg_walfile_name_offset(l::pg_lsn)).file_offset FROM unnest(ARRAY[{}]) AS l",
            list.join(",")
        );
        let rows = c.sql(&sql);
        let mut n = 0;
        for row in rows.lines() {
            let parts: Vec<&str> = row.split('|').collect();
            let (l, file, offset) = (parts[0], parts[1], parts[2]);
            let (code, v) = json(&["lsn", l, "--timeline", "1", "--wal-segsize", &segsize]);
            assert_eq!(code, 0);
            assert_eq!(v["file"], file, "{major}: {l}");
            assert_eq!(v["offset"].as_u64().unwrap().to_string(), offset, "{major}: {l}");
            n += 1;
        }
        assert_eq!(n, values.len());
        if major == 15 {
            let (_, v) = json(&["lsn", "0/16B3748", "--timeline", "1", "--wal-segsize", "16MB"]);
            assert_eq!(
                c.sql("SELECT file_name || ' ' || file_offset FROM pg_walfile_name_offset('0/16B3748')"),
                format!("{} {}", v["file"].as_str().unwrap(), v["offset"])
            );
        }

        // Segment boundaries: PostgreSQL 13-16 name the previous file (with
        // offset 0), 17+ the file holding the byte, as pitr does.
        let boundary = fmt_lsn(2 * seg_bytes);
        let server = c.sql(&format!(
            "SELECT file_name || ' ' || file_offset FROM pg_walfile_name_offset('{boundary}')"
        ));
        let (_, v) = json(&["lsn", &boundary, "--wal-segsize", &segsize]);
        assert_eq!(v["file"], "000000010000000000000002");
        assert_eq!(v["on_segment_boundary"], true);
        let expected_server =
            if major >= 17 { "000000010000000000000002 0" } else { "000000010000000000000001 0" };
        assert_eq!(server, expected_server, "{major}: boundary behaviour of pg_walfile_name_offset");

        // Distances like pg_wal_lsn_diff.
        let a = fmt_lsn(values[0]);
        let b = fmt_lsn(values[1]);
        let diff = c.sql(&format!("SELECT pg_wal_lsn_diff('{b}', '{a}')"));
        let (_, v) = json(&["lsn", &a, &b, "--wal-segsize", &segsize]);
        assert_eq!(v["distance"]["bytes"].to_string(), diff, "{major}");
    }
}

#[test]
fn label_of_real_backups() {
    let c = Cluster::builder(15).wal_segsize_mb(16).start();
    c.sql("CREATE TABLE t AS SELECT generate_series(1, 10000) i");
    let b = c.base_backup(BackupKind::SqlApi);
    // A data directory means its backup_label.
    let (code, v) = json(&["label", b.dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["valid"], true);
    assert_eq!(v["label"]["kind"], "backup_label");
    assert_eq!(v["label"]["start"]["lsn"], b.start_lsn.as_str());
    assert_eq!(v["label"]["from"], "primary");
    assert_eq!(v["wal_segsize"]["bytes"], 16 << 20);
    assert_eq!(v["wal_segsize"]["source"], "inferred");
    let start_file = c.sql(&format!("SELECT pg_walfile_name('{}')", b.start_lsn));
    assert_eq!(v["derived"]["start_segment"], start_file.as_str());
    assert_eq!(v["issues"].as_array().unwrap().len(), 0);
    // Its backup history file in the archive.
    let history = v["derived"]["history_file"].as_str().unwrap().to_string();
    let path = c.archive_dir().join(&history);
    let (code, v) = json(&["label", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["label"]["kind"], "backup_history");
    assert_eq!(v["label"]["stop"]["lsn"], b.stop_lsn.as_str());
    assert_eq!(v["derived"]["history_file"], history.as_str());
    // Text output.
    let o = pitr(&["label", path.to_str().unwrap()]);
    let out = stdout(&o);
    assert!(
        out.contains("backup history file") && out.contains(&start_file) && out.ends_with("valid\n"),
        "{out}"
    );
    // A broken copy: exit 1, errors named by line.
    let broken = b.dir.join("backup_label");
    let text = fs::read_to_string(&broken).unwrap().replace("START TIMELINE: 1", "START TIMELINE: 7");
    fs::write(&broken, text).unwrap();
    let (code, v) = json(&["label", b.dir.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(v["valid"], false);
    assert_eq!(v["issues"][0]["severity"], "error");
    assert_eq!(v["issues"][0]["line"], 7);
    fs::write(&broken, "START WAL LOCATION: 0/1\n").unwrap();
    let (code, v) = json(&["label", broken.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(v["error"].as_str().unwrap().contains("backup_label:1:"), "{v}");
    // No backup_label at all: usage error.
    assert_eq!(pitr(&["label", c.pgdata().to_str().unwrap()]).status.code(), Some(2));
}

fn write(dir: &Path, name: &str, text: &str) {
    fs::write(dir.join(name), text).unwrap();
}

#[test]
fn timeline_files_and_directories() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    write(dir, "00000002.history", "1\t0/5000220\tafter transaction 728\n");
    write(
        dir,
        "00000003.history",
        "1\t0/5000220\tafter transaction 728\n\n2\t0/6000000\tno recovery target specified\n",
    );
    write(dir, "00000004.history", "1\t0/A000280\tbefore LSN 0/A000280\n\n");
    let (code, v) = json(&["timeline", dir.join("00000003.history").to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(v["valid"], true);
    assert_eq!(v["timeline"], 3);
    assert_eq!(v["history"]["entries"][1]["line"], 3);
    assert_eq!(v["history"]["entries"][1]["reason"], "no recovery target specified");
    let ranges = v["ranges"].as_array().unwrap();
    assert_eq!(ranges.len(), 3);
    assert_eq!(ranges[0]["timeline"], 1);
    assert_eq!(ranges[0]["begin"], Value::Null);
    assert_eq!(ranges[0]["end"], "0/5000220");
    assert_eq!(ranges[2]["end"], Value::Null);

    let (code, v) = json(&["timeline", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["newest_from_1"], 4);
    assert_eq!(v["tree"][0]["timeline"], 1);
    let kids: Vec<u64> = v["tree"][0]["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["timeline"].as_u64().unwrap())
        .collect();
    assert_eq!(kids, vec![2, 4]);
    assert_eq!(v["tree"][0]["children"][0]["children"][0]["timeline"], 3);
    let o = pitr(&["timeline", dir.to_str().unwrap()]);
    let out = stdout(&o);
    assert!(out.contains("└── timeline 3  from 2 at 0/6000000"), "{out}");

    // Invalid files: exit 1, the line named.
    write(dir, "00000005.history", "1\t0/10\n\n3\t0/5\n");
    let (code, v) = json(&["timeline", dir.join("00000005.history").to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(v["issues"][0]["line"], 3);
    write(dir, "00000006.history", "1\t0/10\nnot a line\n");
    let (code, v) = json(&["timeline", dir.join("00000006.history").to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(v["error"].as_str().unwrap().contains("00000006.history:2:"), "{v}");
    let (code, v) = json(&["timeline", dir.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(v["valid"], false);
    // A file with another name needs --timeline.
    write(dir, "tl.txt", "1\t0/10\n");
    assert_eq!(pitr(&["timeline", dir.join("tl.txt").to_str().unwrap()]).status.code(), Some(2));
    let (code, v) = json(&["timeline", "--timeline", "2", dir.join("tl.txt").to_str().unwrap()]);
    assert_eq!((code, &v["timeline"]), (0, &Value::from(2)));
    assert_eq!(pitr(&["timeline", dir.join("missing").to_str().unwrap()]).status.code(), Some(2));
}
