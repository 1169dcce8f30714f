//! `pitr archive` end to end, on real archives and real recoveries.

#![allow(clippy::unwrap_used)]

#[path = "../pitr-core/tests/common/timelines.rs"]
mod timelines;

use pitr_testkit::{Cluster, TestDir};
use serde_json::Value;
use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const PITR: &str = env!("CARGO_BIN_EXE_pitr");

fn pitr(args: &[&str]) -> Output {
    Command::new(PITR).args(args).output().unwrap()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    })
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn files(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect()
}

/// Restores `backup` into a fresh data directory with `restore_command =
/// 'pitr archive get ARCHIVE %f %p'` and no target, starts it (archiving off)
/// and waits until it has replayed everything and promoted.
fn recover_with_pitr_get(major: u32, backup_dir: &Path, archive: &Path, work: &TestDir) -> Cluster {
    let pgdata = work.path().join("pgdata");
    pitr_testkit::copy_data_dir(backup_dir, &pgdata);
    fs::copy(backup_dir.join("backup_label"), pgdata.join("backup_label")).unwrap();
    let mut auto = fs::read_to_string(pgdata.join("postgresql.auto.conf")).unwrap_or_default();
    auto.push_str(&format!("restore_command = '{PITR} archive get {} %f %p'\n", archive.display()));
    fs::write(pgdata.join("postgresql.auto.conf"), auto).unwrap();
    fs::write(pgdata.join("recovery.signal"), "").unwrap();
    let c = Cluster::adopt(major, &pgdata).conf("archive_mode", "off").start();
    let start = Instant::now();
    while c.sql("SELECT pg_is_in_recovery()") == "t" {
        assert!(start.elapsed() < Duration::from_secs(120), "recovery did not finish:\n{}", c.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    c
}

fn show_verify_get_and_recover(major: u32) {
    let tl = timelines::build(major);
    let archive = tl.archive().to_str().unwrap().to_string();

    // show --json: the documented fields.
    let out = pitr(&["archive", "show", "--json", &archive]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    let v = json(&out);
    assert_eq!(v["wal_segment_size"], 1 << 20);
    assert_eq!(v["system_id"], tl.system_id.as_str());
    assert_eq!(v["pg_version"], major);
    let tls = v["timelines"].as_array().unwrap();
    assert_eq!(tls.len(), 3);
    for (t, facts) in tls.iter().zip(&tl.tl) {
        assert_eq!(t["timeline"], facts.timeline);
        assert_eq!(t["parent"], facts.parent.map_or(Value::Null, Value::from));
        assert_eq!(t["switch_lsn"], facts.switch_lsn.clone().map_or(Value::Null, Value::from));
        assert_eq!(t["first"], facts.first.as_str());
        assert_eq!(t["last"], facts.last.as_str());
        assert_eq!(t["gaps"], Value::Array(vec![]));
        assert_eq!(t["partial"], Value::Array(vec![]));
        assert!(t["segments"].as_u64().unwrap() >= 2);
    }
    assert_eq!(v["history_files"], serde_json::json!(["00000002.history", "00000003.history"]));
    assert_eq!(v["backup_files"].as_array().unwrap().len(), 2);
    assert_eq!(v["problems"], Value::Array(vec![]));

    // Human output: the tree and the ranges.
    let out = pitr(&["archive", "show", &archive]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("{} .. {}", tl.facts(3).first, tl.facts(3).last)), "{text}");
    assert!(text.contains("└─ 2 (at"), "{text}");
    assert!(text.contains("No problems found."), "{text}");

    // verify: clean, then a removed segment is exit 1 with a missing_segment.
    let out = pitr(&["archive", "verify", &archive]);
    assert_eq!(
        code(&out),
        0,
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // No progress bar when stderr is not a terminal.
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    let (_gap_dir, gap) = timelines::copy_archive(tl.archive(), "cli-gap");
    let victim = tls[0]["first"].as_str().unwrap().to_string();
    let (tli, rest) = victim.split_at(8);
    let next = format!("{tli}{:016X}", u64::from_str_radix(rest, 16).unwrap() + 1);
    fs::remove_file(gap.join(&next)).unwrap();
    let out = pitr(&["archive", "verify", "--json", gap.to_str().unwrap()]);
    assert_eq!(code(&out), 1);
    let v = json(&out);
    let problems = v["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0]["code"], "missing_segment");
    assert_eq!(problems[0]["severity"], "error");
    assert_eq!(problems[0]["file"], next.as_str());

    // A compressed copy of the archive (zstd and gzip, history files gzipped).
    let z = TestDir::new("cli-compressed");
    for (i, name) in files(tl.archive()).iter().enumerate() {
        let data = fs::read(tl.archive().join(name)).unwrap();
        let (file, bytes) = if i % 2 == 0 {
            (format!("{name}.zst"), zstd::encode_all(&data[..], 3).unwrap())
        } else {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(&data).unwrap();
            (format!("{name}.gz"), e.finish().unwrap())
        };
        fs::write(z.path().join(file), bytes).unwrap();
    }
    let zs = z.path().to_str().unwrap();
    let out = pitr(&["archive", "verify", zs]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stdout));

    // get: byte-identical, absent = 1 with one short line, other errors = 2.
    let scratch = TestDir::new("cli-get");
    let dest = scratch.path().join("RECOVERYXLOG");
    let first3 = tl.facts(3).first.clone();
    let out = pitr(&["archive", "get", zs, &first3, dest.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(fs::read(&dest).unwrap(), fs::read(tl.archive().join(&first3)).unwrap());
    let out = pitr(&["archive", "get", zs, "00000004.history", dest.to_str().unwrap()]);
    assert_eq!(code(&out), 1);
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
    assert!(out.stdout.is_empty());
    let out = pitr(&["archive", "get", zs, "not-a-wal-file", dest.to_str().unwrap()]);
    assert_eq!(code(&out), 2);
    let out = pitr(&["archive", "get", zs, &first3, scratch.path().join("no/such/dir/x").to_str().unwrap()]);
    assert_eq!(code(&out), 2);

    // A real recovery through `pitr archive get` on the compressed archive:
    // b1 on timeline 1, latest timeline (3) to its end.
    let work = TestDir::new("cli-recover");
    let c = recover_with_pitr_get(major, &tl.b1.dir, z.path(), &work);
    assert_eq!(c.sql("SELECT tag, count(*) FROM t GROUP BY tag ORDER BY tag"), tl.final_rows);
    let log = c.log();
    assert!(log.contains(&format!("restored log file \"{}\" from archive", tl.facts(3).last)), "{log}");
    assert!(log.contains("restored log file \"00000003.history\" from archive"), "{log}");
}

#[test]
fn show_verify_get_and_recover_15() {
    show_verify_get_and_recover(15);
}

#[test]
fn show_verify_get_and_recover_18() {
    show_verify_get_and_recover(18);
}

#[test]
fn cleanup_keeps_what_a_kept_backup_needs() {
    let major = 15;
    let tl = timelines::build(major);
    let (_d, copy) = timelines::copy_archive(tl.archive(), "cli-cleanup");
    let dir = copy.to_str().unwrap();
    let b2 = tl.b2.dir.to_str().unwrap();

    let out = pitr(&["archive", "cleanup", dir]);
    assert_eq!(code(&out), 2, "a kept backup is required");

    let before = files(&copy);
    let out = pitr(&["archive", "cleanup", "--json", dir, "--keep-backup", b2]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    let plan = json(&out);
    assert_eq!(files(&copy), before, "a dry run removes nothing");
    let listed: BTreeSet<String> = plan["remove"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["relative"].as_str().unwrap().to_string())
        .collect();

    // Expected: every timeline 1 file (no kept backup can reach timeline 1),
    // timeline 2 before b2's start segment, b1's backup history file.
    let b2_start = pitr_core::Lsn::parse(&tl.b2.start_lsn).unwrap();
    let seg = pitr_core::WalSegSize::new(1 << 20).unwrap();
    let b2_seg = pitr_core::SegmentName::of_lsn(2, b2_start, seg);
    let expected: BTreeSet<String> = before
        .iter()
        .filter(|f| {
            let c = pitr_core::WalFileName::classify(f);
            match c.kind {
                pitr_core::WalFileKind::Segment { segment } => {
                    segment.timeline == 1 || (segment.timeline == 2 && segment < b2_seg)
                }
                pitr_core::WalFileKind::BackupHistory { segment, .. } => segment.timeline == 1,
                _ => false,
            }
        })
        .cloned()
        .collect();
    assert_eq!(listed, expected);
    assert!(listed.iter().all(|f| !f.ends_with(".history")));

    // Human dry run shows reasons.
    let out = pitr(&["archive", "cleanup", dir, "--keep-backup", b2]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Would remove") && text.contains("cannot be reached"), "{text}");

    // --delete removes exactly that list.
    let out = pitr(&["archive", "cleanup", "--json", dir, "--keep-backup", b2, "--delete"]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    let removed: BTreeSet<String> =
        json(&out)["removed"].as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_string()).collect();
    assert_eq!(removed, expected);
    let after = files(&copy);
    assert_eq!(before.difference(&after).cloned().collect::<BTreeSet<_>>(), expected);

    // What is left is enough: b2 recovers to the end of timeline 3.
    let out = pitr(&["archive", "verify", dir]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stdout));
    let work = TestDir::new("cli-cleanup-recover");
    let c = recover_with_pitr_get(major, &tl.b2.dir, &copy, &work);
    assert_eq!(c.sql("SELECT tag, count(*) FROM t GROUP BY tag ORDER BY tag"), tl.final_rows);

    // The kept backup can be named by its .backup file too: same plan.
    let b2_file = after.iter().find(|f| f.ends_with(".backup")).unwrap();
    let out =
        pitr(&["archive", "cleanup", "--json", dir, "--keep-backup", copy.join(b2_file).to_str().unwrap()]);
    assert_eq!(json(&out)["remove"], Value::Array(vec![]));
}

#[test]
fn deep_verification_reports_damage_per_segment() {
    let mut c = Cluster::new(15);
    c.sql("CREATE TABLE t(i int, pad text)");
    for _ in 0..3 {
        c.sql("INSERT INTO t SELECT g, repeat('z', 100) FROM generate_series(1, 3000) g");
        c.switch_wal();
    }
    c.stop();
    let (_d, copy) = timelines::copy_archive(c.archive_dir(), "cli-deep");
    let dir = copy.to_str().unwrap();
    let out = pitr(&["archive", "verify", "--deep", "--json", dir]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stdout));
    let v = json(&out);
    assert_eq!(v["deep"]["status"], "done");
    assert_eq!(v["deep"]["segments"], v["timelines"][0]["segments"]);

    // Damage in the middle of the second segment: exit 1, one problem naming it.
    let seg = &c.archived_files()[1];
    let path = copy.join(seg);
    let mut bytes = fs::read(&path).unwrap();
    for b in &mut bytes[300_000..300_064] {
        *b ^= 0x5A;
    }
    fs::write(&path, bytes).unwrap();
    let out = pitr(&["archive", "verify", "--deep", "--json", dir]);
    assert_eq!(code(&out), 1);
    let v = json(&out);
    let problems = v["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0]["file"], seg.as_str());
    assert!(
        ["crc_mismatch", "invalid_record"].contains(&problems[0]["code"].as_str().unwrap()),
        "{problems:?}"
    );
    // Without --deep, the damage is invisible to the header checks.
    assert_eq!(code(&pitr(&["archive", "verify", dir])), 0);
}

#[test]
fn cleanup_reads_tar_backups_and_refuses_another_clusters_backup() {
    let a = Cluster::new(15);
    a.sql("CREATE TABLE t(i int, pad text)");
    for _ in 0..2 {
        a.sql("INSERT INTO t SELECT g, repeat('q', 100) FROM generate_series(1, 3000) g");
        a.switch_wal();
    }
    let tar = a.base_backup(pitr_testkit::BackupKind::Tar { gzip: true });
    a.switch_wal();
    let b = Cluster::new(15);
    let foreign = b.base_backup(pitr_testkit::BackupKind::SqlApi);
    let archive = a.archive_dir().to_str().unwrap();

    // The tar backup's label is read from base.tar.gz: everything before its
    // start segment goes, nothing after.
    let out = pitr(&["archive", "cleanup", "--json", archive, "--keep-backup", tar.dir.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    let v = json(&out);
    assert_eq!(v["kept_backups"][0]["info"]["start"]["lsn"], tar.start_lsn.as_str());
    let start = pitr_core::SegmentName::of_lsn(
        1,
        pitr_core::Lsn::parse(&tar.start_lsn).unwrap(),
        pitr_core::WalSegSize::new(1 << 20).unwrap(),
    );
    let listed: Vec<String> =
        v["remove"].as_array().unwrap().iter().map(|r| r["relative"].as_str().unwrap().to_string()).collect();
    let expected: Vec<String> = a
        .archived_files()
        .into_iter()
        .filter(|f| f.len() == 24 && pitr_core::SegmentName::parse(f).unwrap() < start)
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(listed, expected);

    // A backup of another cluster is refused, and nothing is removed.
    let before = files(a.archive_dir());
    let out =
        pitr(&["archive", "cleanup", archive, "--keep-backup", foreign.dir.to_str().unwrap(), "--delete"]);
    assert_eq!(code(&out), 2);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("belongs to system"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(files(a.archive_dir()), before);
}
