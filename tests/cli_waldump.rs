//! `pitr waldump` end to end, on WAL of a real PostgreSQL 15 server, compared
//! with pg_waldump 15; JSON Lines output; exit codes for clean ends, damage and
//! usage errors.

#![allow(clippy::unwrap_used)]

use pitr_testkit::{Cluster, pg_tool};
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn pitr(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pitr")).args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn pg_waldump(args: &[&str]) -> String {
    let out = Command::new(pg_tool("pg_waldump")).args(args).env("TZ", "UTC").output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

struct Setup {
    c: Cluster,
    xid: u32,
    commit_time: String,
    segs: Vec<String>,
}

fn setup() -> Setup {
    let c = Cluster::new(15);
    c.sql("CREATE TABLE t(a int primary key, b text)");
    c.sql("INSERT INTO t SELECT g, repeat('v', 100) FROM generate_series(1, 3000) g");
    let xid: u32 =
        c.sql("BEGIN; INSERT INTO t VALUES (0, 'x'); SELECT pg_current_xact_id(); COMMIT").parse().unwrap();
    c.sql("BEGIN; INSERT INTO t VALUES (-1, 'p'); PREPARE TRANSACTION 'g1'");
    c.sql("COMMIT PREPARED 'g1'");
    c.sql("SELECT pg_create_restore_point('cli_rp')");
    c.sql("CHECKPOINT");
    c.sql("UPDATE t SET b = 'w' WHERE a % 3 = 0");
    c.switch_wal();
    let commit_time = c.sql(&format!(
        "SELECT to_char(pg_xact_commit_timestamp('{xid}'::xid) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
    ));
    let segs = c.archived_files().into_iter().filter(|n| n.len() == 24).collect();
    Setup { c, xid, commit_time, segs }
}

fn key(line: &str) -> String {
    // Everything up to and including the record type.
    let (head, desc) = line.split_once("desc: ").unwrap();
    format!("{head}desc: {}", desc.split(' ').next().unwrap())
}

#[test]
fn text_stats_and_json_match_pg_waldump_and_sql() {
    let s = setup();
    let archive = s.c.archive_dir().to_str().unwrap().to_string();
    let (first, last) = (s.segs.first().unwrap().as_str(), s.segs.last().unwrap().as_str());

    // Text: same records, same keys; whole lines for decoded resource managers.
    let o = pitr(&["waldump", &archive]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("end of WAL"), "{}", stderr(&o));
    let ours = stdout(&o);
    let theirs = pg_waldump(&["-p", &archive, first, last]);
    let ours: Vec<&str> = ours.lines().collect();
    let theirs: Vec<&str> = theirs.lines().collect();
    assert!(ours.len() > 1000);
    assert_eq!(ours.len(), theirs.len());
    for (o, t) in ours.iter().zip(&theirs) {
        assert_eq!(key(o), key(t));
        if ["rmgr: Transaction", "rmgr: XLOG", "rmgr: Standby", "rmgr: Storage"]
            .iter()
            .any(|p| t.starts_with(p))
        {
            assert_eq!(o, t);
        }
    }

    // Statistics, byte for byte.
    for flag in ["--stats", "--stats=record"] {
        let o = pitr(&["waldump", flag, &archive]);
        assert!(o.status.success());
        assert_eq!(stdout(&o), pg_waldump(&["-p", &archive, flag, first, last]), "{flag}");
    }

    // Filters.
    let o = pitr(&["waldump", "--rmgr", "Transaction", "--xid", &s.xid.to_string(), &archive]);
    let lines: Vec<String> = stdout(&o).lines().map(String::from).collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("desc: COMMIT "), "{}", lines[0]);
    let o = pitr(&["waldump", "--rmgr", "nope", &archive]);
    assert_eq!(o.status.code(), Some(2));

    // -q: nothing on stdout, exit 0.
    let o = pitr(&["waldump", "-q", &archive]);
    assert_eq!(o.status.code(), Some(0));
    assert!(o.stdout.is_empty());

    // JSON Lines.
    let o = pitr(&["waldump", "--json", &archive]);
    assert!(o.status.success());
    let values: Vec<Value> = stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(values.len(), theirs.len() + 1);
    for v in &values[..values.len() - 1] {
        for k in ["lsn", "end_lsn", "prev", "rmgr", "type", "xid", "tot_len", "blocks"] {
            assert!(v.get(k).is_some(), "{k} missing in {v}");
        }
        for b in v["blocks"].as_array().unwrap() {
            for k in ["id", "spc", "db", "rel", "fork", "blk", "has_image"] {
                assert!(b.get(k).is_some(), "{k} missing in {b}");
            }
        }
    }
    let commit = values.iter().find(|v| v["type"] == "COMMIT" && v["xid"] == s.xid).unwrap();
    assert_eq!(commit["commit_time"], Value::String(s.commit_time.clone()));
    assert!(commit["subxacts"].as_array().unwrap().is_empty());
    let cp = values.iter().find(|v| v["type"] == "COMMIT_PREPARED").unwrap();
    assert!(cp["twophase_xid"].as_u64().unwrap() > 0);
    assert_eq!(cp["xid"], 0);
    let rp_pos = values.iter().position(|v| v["type"] == "RESTORE_POINT").unwrap();
    let rp = &values[rp_pos];
    assert_eq!(rp["name"], "cli_rp");
    assert!(rp["time"].as_str().unwrap().ends_with('Z'));
    let ck = values[rp_pos..].iter().find(|v| v["type"] == "CHECKPOINT_ONLINE").unwrap();
    assert_eq!(ck["timeline"], 1);
    assert_eq!(ck["prev_timeline"], 1);
    assert!(ck["redo"].as_str().unwrap().contains('/'));
    let end = &values.last().unwrap()["end"];
    assert_eq!(end["reason"], "next_segment_absent");
    // The LSN in the text output is pg_waldump's; in JSON the server's form.
    let lsn_text = commit["lsn"].as_str().unwrap();
    assert!(!lsn_text.contains("/0"));

    // --start/--end select the same records as pg_waldump.
    let start = rp["lsn"].as_str().unwrap().to_string();
    let endl = ck["lsn"].as_str().unwrap().to_string();
    let o = pitr(&["waldump", "--start", &start, "--end", &endl, &archive]);
    let theirs = pg_waldump(&["-p", &archive, "-s", &start, "-e", &endl]);
    let a: Vec<String> = stdout(&o).lines().map(key).collect();
    let b: Vec<String> = theirs.lines().map(key).collect();
    assert_eq!(a, b);
    assert!(!a.is_empty());
}

fn copy_segments(s: &Setup, name: &str) -> PathBuf {
    let dir = s.c.scratch_dir(name);
    for n in &s.segs {
        fs::copy(s.c.archive_dir().join(n), dir.join(n)).unwrap();
    }
    dir
}

fn json_lines(o: &Output) -> Vec<Value> {
    stdout(o).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn damage_exit_codes_and_messages() {
    let s = setup();
    let dir = copy_segments(&s, "damaged");
    let d = dir.to_str().unwrap();
    // Find a commit record and flip a byte in it.
    let values = json_lines(&pitr(&["waldump", "--json", d]));
    let commit = values.iter().find(|v| v["type"] == "COMMIT" && v["xid"] == s.xid).unwrap();
    let lsn: pitr_core::Lsn = commit["lsn"].as_str().unwrap().parse().unwrap();
    let seg = pitr_core::WalSegSize::new(1 << 20).unwrap();
    let file = dir.join(pitr_core::SegmentName::of_lsn(1, lsn, seg).to_string());
    let mut b = fs::read(&file).unwrap();
    b[lsn.segment_offset(seg) as usize + 26] ^= 0xFF;
    fs::write(&file, b).unwrap();

    let o = pitr(&["waldump", "-q", d]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains(&lsn.to_string()) && err.contains(file.file_name().unwrap().to_str().unwrap()),
        "{err}"
    );
    assert!(err.contains("checksum"), "{err}");

    let o = pitr(&["waldump", "--json", d]);
    assert_eq!(o.status.code(), Some(1));
    let values = json_lines(&o);
    let e = &values.last().unwrap()["error"];
    assert_eq!(e["kind"], "bad_crc");
    assert_eq!(e["damage"], true);
    assert_eq!(e["lsn"], Value::String(lsn.to_string()));
    assert_eq!(e["file"], Value::String(file.display().to_string()));
    // Every record before it was printed.
    assert!(values[values.len() - 2]["end_lsn"].as_str().unwrap().parse::<pitr_core::Lsn>().unwrap() <= lsn);

    // A recycled segment named explicitly: refused by name, exit 1.
    let recycled = dir.join("0000000100000000000000FF");
    fs::copy(s.c.archive_dir().join(&s.segs[0]), &recycled).unwrap();
    let o = pitr(&["waldump", recycled.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("recycled") && stderr(&o).contains("0000000100000000000000FF"),
        "{}",
        stderr(&o)
    );

    // Usage and I/O errors: exit 2.
    assert_eq!(pitr(&["waldump"]).status.code(), Some(2));
    assert_eq!(pitr(&["waldump", "/nonexistent/pitr/dir"]).status.code(), Some(2));
    let empty = s.c.scratch_dir("empty");
    let o = pitr(&["waldump", empty.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no WAL segment"), "{}", stderr(&o));
    let not_wal = empty.join("notes.txt");
    fs::write(&not_wal, "hello").unwrap();
    assert_eq!(pitr(&["waldump", not_wal.to_str().unwrap()]).status.code(), Some(2));
}

#[test]
fn truncated_segment_is_a_clean_end() {
    let s = setup();
    let dir = copy_segments(&s, "truncated");
    let last = dir.join(s.segs.last().unwrap());
    let f = fs::OpenOptions::new().write(true).open(&last).unwrap();
    f.set_len(5000).unwrap();
    drop(f);
    let o = pitr(&["waldump", "--json", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let values = json_lines(&o);
    let end = &values.last().unwrap()["end"];
    assert_eq!(end["reason"], "truncated");
    assert_eq!(end["file"], Value::String(last.display().to_string()));
    let last_rec = &values[values.len() - 2];
    assert_eq!(end["end_lsn"], last_rec["end_lsn"]);
    let _ = Path::new(".");
}

/// The benchmark's hidden baselines read every byte of the segments: the raw
/// pass prints their CRC-32C in name order, the memory floor their count.
#[test]
fn benchmark_baselines_cover_every_byte() {
    let s = setup();
    let dir = copy_segments(&s, "baselines");
    let mut names = s.segs.clone();
    names.sort();
    let bytes: Vec<u8> = names.iter().flat_map(|n| fs::read(dir.join(n)).unwrap()).collect();
    let d = dir.to_str().unwrap();
    for method in ["read", "map"] {
        let o = pitr(&["waldump", "--raw-crc", "--read-method", method, d]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(
            stdout(&o).trim(),
            format!("{} bytes, crc32c {:08X}", bytes.len(), crc32c::crc32c(&bytes))
        );
    }
    let o = pitr(&["waldump", "--memory-floor", d]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with(&format!("{} bytes in memory: read pass ", bytes.len())), "{out}");
    assert!(out.contains(" s, crc32c pass ") && out.trim_end().ends_with(" s"), "{out}");
}
