//! `pitr find` end to end on real WAL of every major
//! (`pitr_testkit::majors_under_test()`), on the recorded three-timeline
//! scenario (`pitr_testkit::scenario`): the commits, the abort and the
//! two-phase commit are listed with the xids and commit times SQL recorded;
//! `--relfilenode` and `--table` (read from the base backup's catalog) find the
//! `DROP TABLE victim` and propose `--target-xid <drop> --exclusive`; on 15 and
//! 18 that target is restored with `pitr restore` and the real server brings
//! `victim` back with its 100 rows. A TRUNCATE after a base backup is found
//! through the old relfilenode, and `--modified` lists a DELETE.

#![allow(clippy::unwrap_used)]

use pitr_testkit::scenario::Scenario;
use pitr_testkit::{BackupKind, Cluster, majors_under_test};
use serde_json::Value;
use std::fs;
use std::process::Command;
use std::time::{Duration, Instant};

const PITR: &str = env!("CARGO_BIN_EXE_pitr");

fn pitr(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(PITR).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn find_json(args: &[&str]) -> (i32, Value) {
    let mut a = vec!["find", "--json"];
    a.extend_from_slice(args);
    let (code, out, err) = pitr(&a);
    let v = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("pitr {a:?}: not JSON ({e}), exit {code}\n{out}\n{err}"));
    (code, v)
}

/// `YYYY-MM-DD HH:MM:SS.ffffff` (as the scenario records) to find's RFC 3339 form.
fn rfc(t: &str) -> String {
    format!("{}Z", t.replace(' ', "T"))
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect()
}

fn wait_paused(c: &Cluster) {
    let sql = if c.major() >= 14 {
        "SELECT pg_get_wal_replay_pause_state() = 'paused'"
    } else {
        "SELECT pg_is_wal_replay_paused()"
    };
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(90) {
        if c.try_sql(sql).map(|v| v == "t").unwrap_or(false) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("recovery did not pause:\n{}", c.log());
}

fn check_scenario(s: &Scenario, prove_restore: bool) {
    let major = s.major;
    let archive = s.archive().display().to_string();
    let backup = s.backup.dir.display().to_string();
    let victim = s.victim_relfilenode.to_string();
    let tl1 = ["c2", "c3", "a4", "p5", "c6", "drop", "c7"];

    // Everything on timeline 1's path from the backup.
    let (code, r) = find_json(&["--archive", &archive, "--backup", &backup, "--timeline", "1"]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["timeline"], 1);
    assert_eq!(r["pg_version"], major);
    let txs = r["transactions"].as_array().unwrap();
    let by_xid = |xid: u32| txs.iter().find(|t| t["xid"] == xid);
    let mut last_lsn = String::new();
    for name in tl1 {
        let st = s.step(name);
        let t = by_xid(st.xid)
            .unwrap_or_else(|| panic!("{major}: step {name} (xid {}) not listed: {r:#}", st.xid));
        let kind = t["kind"].as_str().unwrap();
        match name {
            "a4" => {
                assert_eq!(kind, "abort", "{t:#}");
                assert_eq!(t["subxact"], false);
                // The scenario records the clock just after the ROLLBACK.
                assert!(t["time"].as_str().unwrap() <= rfc(&st.time).as_str(), "{t:#} vs {}", st.time);
            }
            "p5" => {
                assert_eq!(kind, "commit_prepared", "{t:#}");
                assert_eq!(t["time"], rfc(&st.time));
                assert_eq!(t["gid"].as_str().unwrap_or("p5"), "p5");
            }
            _ => {
                assert_eq!(kind, "commit", "{t:#}");
                assert_eq!(t["time"], rfc(&st.time), "{major}: commit time of {name}");
            }
        }
        assert_eq!(t["timeline"], 1);
        assert_eq!(t["drops_relations"], name == "drop", "{t:#}");
        // The exact targets around it.
        let xid = st.xid.to_string();
        assert_eq!(
            strs(&t["before"]["xid"]["args"]),
            ["--target-xid", &xid, "--exclusive", "--target-timeline", "1"]
        );
        assert_eq!(strs(&t["after"]["xid"]["args"]), ["--target-xid", &xid, "--target-timeline", "1"]);
        assert_eq!(t["before"]["xid"]["settings"]["recovery_target_inclusive"], "off");
        assert_eq!(t["before"]["recommended"], "xid");
        assert_eq!(t["before"]["xid"]["exact"], true);
        assert_eq!(t["before"]["replay_lsn"], t["lsn"]);
        assert_eq!(t["after"]["replay_lsn"], t["end_lsn"]);
        assert_eq!(t["before"]["reachable_from_backup"], true, "{t:#}");
        // The scenario pauses 30 ms between steps: time targets are exact too.
        assert_eq!(t["before"]["time"]["exact"], true, "{t:#}");
        assert_eq!(t["after"]["time"]["exact"], true, "{t:#}");
        let lsn = t["lsn"].as_str().unwrap().to_string();
        assert!(pitr_core::Lsn::parse(&lsn).unwrap() > pitr_core::Lsn::parse(&last_lsn).unwrap_or_default());
        last_lsn = lsn;
    }
    let drop = by_xid(s.step("drop").xid).unwrap();
    let dropped = drop["dropped_relations"].as_array().unwrap();
    assert!(dropped.iter().any(|d| d["relfilenode"] == s.victim_relfilenode), "{drop:#}");
    assert!(r["consistent_lsn"].is_string());

    // Who dropped victim, and the target: from the relfilenode...
    let (code, r) =
        find_json(&["--archive", &archive, "--backup", &backup, "--timeline", "1", "--relfilenode", &victim]);
    assert_eq!(code, 0, "{r:#}");
    let drop_xid = s.step("drop").xid;
    assert_eq!(r["transactions"].as_array().unwrap().len(), 1, "{r:#}");
    assert_eq!(r["transactions"][0]["xid"], drop_xid);
    let ans = &r["answers"][0];
    assert_eq!(ans["relfilenode"], s.victim_relfilenode);
    assert_eq!(ans["dropped_by"], drop_xid);
    let target = strs(&ans["target"]["args"]);
    assert_eq!(target, ["--target-xid", &drop_xid.to_string(), "--exclusive", "--target-timeline", "1"]);
    assert_eq!(
        strs(&ans["lsn_target"]["args"])[..2],
        ["--target-lsn".to_string(), drop["lsn"].as_str().unwrap().to_string()]
    );

    // ... and from the table name, read from the backup's own catalog.
    let (code, t) = find_json(&[
        "--archive",
        &archive,
        "--backup",
        &backup,
        "--timeline",
        "1",
        "--table",
        "public.victim",
    ]);
    assert_eq!(code, 0, "{t:#}");
    let m = &t["table"]["matches"];
    assert_eq!(m.as_array().unwrap().len(), 1, "{major}: {t:#}");
    assert_eq!(m[0]["relfilenode"], s.victim_relfilenode, "{major}: {t:#}");
    assert_eq!(m[0]["kind"], "r");
    assert_eq!(m[0]["schema"], "public");
    assert_eq!(m[0]["state"], "live");
    assert_eq!(t["answers"][0]["target"], ans["target"]);
    // The human form names the same target.
    let (code, human, _) =
        pitr(&["find", "--archive", &archive, "--backup", &backup, "--timeline", "1", "--table", "victim"]);
    assert_eq!(code, 0);
    assert!(human.contains(&format!("--target-xid {drop_xid} --exclusive --target-timeline 1")), "{human}");

    // Not on the latest timeline's path (timeline 2 forked before the drop).
    // Read from the archive's start, the path shows only the CREATE TABLE.
    let (_, r3) = find_json(&["--archive", &archive, "--relfilenode", &victim]);
    assert_eq!(r3["timeline"], 3);
    assert!(r3["answers"][0]["dropped_by"].is_null() && r3["answers"][0]["target"].is_null(), "{r3:#}");
    let (code, r3b) = find_json(&["--archive", &archive, "--backup", &backup, "--relfilenode", &victim]);
    assert_eq!(code, 1, "{r3b:#}");
    assert!(r3b["transactions"].as_array().unwrap().is_empty());
    assert!(r3["problems"].as_array().unwrap().iter().any(|p| p["code"] == "other_timelines"), "{r3:#}");

    // Filters: one xid; aborts only; an LSN window; a time window.
    let p5 = s.step("p5").xid;
    let (code, r) = find_json(&["--archive", &archive, "--timeline", "1", "--xid", &p5.to_string()]);
    assert_eq!(code, 0);
    assert_eq!(r["transactions"].as_array().unwrap().len(), 1);
    assert_eq!(r["transactions"][0]["kind"], "commit_prepared");
    let (_, r) = find_json(&["--archive", &archive, "--backup", &backup, "--timeline", "1", "--aborts"]);
    let aborts: Vec<u64> =
        r["transactions"].as_array().unwrap().iter().map(|t| t["xid"].as_u64().unwrap()).collect();
    assert!(aborts.contains(&u64::from(s.step("a4").xid)), "{aborts:?}");
    assert!(r["transactions"].as_array().unwrap().iter().all(|t| t["kind"] == "abort"));
    let (_, r) = find_json(&[
        "--archive",
        &archive,
        "--timeline",
        "1",
        "--from",
        &s.step("c3").time,
        "--to",
        &s.step("c6").time,
        "--timezone",
        "UTC",
    ]);
    let got: Vec<u64> =
        r["transactions"].as_array().unwrap().iter().map(|t| t["xid"].as_u64().unwrap()).collect();
    let want: Vec<u64> = ["c3", "a4", "p5", "c6"].iter().map(|n| u64::from(s.step(n).xid)).collect();
    assert_eq!(got, want, "{r:#}");
    let c3_lsn = by_xid(s.step("c3").xid).unwrap()["lsn"].as_str().unwrap().to_string();
    let (_, r) = find_json(&["--archive", &archive, "--timeline", "1", "--from", &c3_lsn, "--to", &c3_lsn]);
    assert_eq!(r["transactions"].as_array().unwrap().len(), 1, "{r:#}");
    assert_eq!(r["transactions"][0]["xid"], s.step("c3").xid);
    // Plain WAL paths (the archive directory, timeline 1's files only).
    let (code, r) = find_json(&[&archive, "--timeline", "1", "--relfilenode", &victim]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["answers"][0]["dropped_by"], drop_xid);

    if prove_restore {
        // The proof: restore with the proposed target; victim is back with its 100 rows.
        let pgdata = s.scratch("restore-victim");
        fs::remove_dir(&pgdata).unwrap();
        let pgdata_s = pgdata.display().to_string();
        let rc = format!("{PITR} archive get {archive} %f %p");
        let mut args = vec![
            "restore",
            "--backup",
            &backup,
            "--archive",
            &archive,
            "--pgdata",
            &pgdata_s,
            "--restore-command",
            &rc,
        ];
        let target_refs: Vec<&str> = target.iter().map(String::as_str).collect();
        args.extend_from_slice(&target_refs);
        let (code, out, err) = pitr(&args);
        assert_eq!(code, 0, "pitr restore: {out}\n{err}");
        let c = Cluster::adopt(major, &pgdata)
            .conf("archive_mode", "off")
            .try_start()
            .map_err(|(_, e)| e)
            .unwrap();
        wait_paused(&c);
        assert!(
            c.log().contains(&format!("recovery stopping before commit of transaction {drop_xid}")),
            "{}",
            c.log()
        );
        assert_eq!(c.sql("SELECT string_agg(id::text, ',' ORDER BY id) FROM t"), "1,2,3,5,6");
        assert_eq!(c.sql("SELECT pg_last_wal_replay_lsn()"), drop["lsn"].as_str().unwrap());
        // Paused just before the commit, the DROP's replayed AccessExclusiveLock
        // still holds victim: promote (the DROP is then aborted), then read it.
        c.sql("SELECT pg_wal_replay_resume()");
        let start = Instant::now();
        while c.try_sql("SELECT pg_is_in_recovery()").map(|v| v != "f").unwrap_or(true) {
            assert!(start.elapsed() < Duration::from_secs(90), "did not promote:\n{}", c.log());
            std::thread::sleep(Duration::from_millis(100));
        }
        assert_eq!(c.sql("SELECT count(*) FROM victim"), "100");
        assert_eq!(c.sql("SELECT count(DISTINCT note) FROM victim WHERE note = 'row ' || id"), "100");
    }
}

fn run(major: u32, prove_restore: bool) {
    if !majors_under_test().contains(&major) {
        return;
    }
    let s = Scenario::build(major);
    check_scenario(&s, prove_restore);
}

#[test]
fn find_13() {
    run(13, false);
}
#[test]
fn find_14() {
    run(14, false);
}
#[test]
fn find_15_with_restore() {
    run(15, true);
}
#[test]
fn find_16() {
    run(16, false);
}
#[test]
fn find_17() {
    run(17, false);
}
#[test]
fn find_18_with_restore() {
    run(18, true);
}

/// TRUNCATE after a base backup: the commit drops the old relfilenode, which
/// the backup's catalog knows; the live server knows only the new one, whose
/// Storage CREATE leads to the same transaction. `--modified` lists a DELETE.
#[test]
fn truncate_and_delete_after_a_backup() {
    let major = 15;
    if !majors_under_test().contains(&major) {
        return;
    }
    let c = Cluster::new(major);
    c.sql(
        "CREATE TABLE tt(id int); INSERT INTO tt SELECT generate_series(1, 50); CREATE TABLE other(id int)",
    );
    let old: u32 = c.sql("SELECT pg_relation_filenode('tt')").parse().unwrap();
    let db: u32 = c.sql("SELECT oid FROM pg_database WHERE datname = current_database()").parse().unwrap();
    let b = c.base_backup(BackupKind::SqlApi);
    let del: u32 =
        c.sql("BEGIN; DELETE FROM tt WHERE id <= 10; SELECT txid_current(); COMMIT;").parse().unwrap();
    c.sql("INSERT INTO other VALUES (1)");
    let trunc: u32 = c.sql("BEGIN; TRUNCATE tt; SELECT txid_current(); COMMIT;").parse().unwrap();
    let new: u32 = c.sql("SELECT pg_relation_filenode('tt')").parse().unwrap();
    assert_ne!(old, new);
    c.switch_wal();
    let archive = c.archive_dir().display().to_string();
    let backup = b.dir.display().to_string();

    // From the backup's catalog: the old relfilenode, dropped by the TRUNCATE.
    let (code, r) = find_json(&["--archive", &archive, "--backup", &backup, "--table", "tt"]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["relfilenodes"], serde_json::json!([old]));
    assert_eq!(r["answers"][0]["dropped_by"], trunc, "{r:#}");
    assert_eq!(
        strs(&r["answers"][0]["target"]["args"])[..3],
        ["--target-xid".to_string(), trunc.to_string(), "--exclusive".to_string()]
    );

    // From the live server: the new relfilenode; its creation leads to the TRUNCATE.
    let (code, r) = find_json(&["--archive", &archive, "--table", "tt", "--dsn", &c.dsn()]);
    assert_eq!(r["table"]["source"], "live");
    assert_eq!(r["relfilenodes"], serde_json::json!([new]), "{r:#}");
    let creates: Vec<&Value> =
        r["storage"].as_array().unwrap().iter().filter(|e| e["kind"] == "create").collect();
    assert!(!creates.is_empty(), "{r:#}");
    // TRUNCATE logs the new file's creation with its xid (checked on 15).
    assert!(creates.iter().any(|e| e["xid"] == trunc), "{r:#}");
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["answers"][0]["created_by"], trunc, "{r:#}");
    assert_eq!(
        strs(&r["answers"][0]["target"]["args"])[..3],
        ["--target-xid".to_string(), trunc.to_string(), "--exclusive".to_string()]
    );
    let t = &r["transactions"][0];
    assert_eq!(t["xid"], trunc);
    assert!(t["dropped_relations"].as_array().unwrap().iter().any(|d| d["relfilenode"] == old), "{t:#}");

    // --modified: the DELETE (and the TRUNCATE), not the insert into another table.
    let (code, r) = find_json(&[
        "--archive",
        &archive,
        "--backup",
        &backup,
        "--table",
        "tt",
        "--modified",
        "--commits-only",
    ]);
    assert_eq!(code, 0);
    let xids: Vec<u64> =
        r["transactions"].as_array().unwrap().iter().map(|t| t["xid"].as_u64().unwrap()).collect();
    assert_eq!(xids, [u64::from(del), u64::from(trunc)], "{r:#}");
    let d = &r["transactions"][0];
    assert!(d["matched"][0].as_str().unwrap().contains(&format!("wrote relfilenode {old}")), "{d:#}");
    assert!(d["wrote"].as_array().unwrap().iter().any(|w| w["relfilenode"] == old && w["db"] == db));

    // --db: the transactions of this database; another OID has none.
    let (code, r) = find_json(&["--archive", &archive, "--backup", &backup, "--db", &db.to_string()]);
    assert_eq!(code, 0);
    let xids: Vec<u64> =
        r["transactions"].as_array().unwrap().iter().map(|t| t["xid"].as_u64().unwrap()).collect();
    assert!(xids.contains(&u64::from(del)) && xids.contains(&u64::from(trunc)), "{xids:?}");
    let (code, r) = find_json(&["--archive", &archive, "--backup", &backup, "--db", "4242"]);
    assert_eq!(code, 1, "{r:#}");

    // Usage errors: exit 2.
    let (code, _, err) = pitr(&["find", "--archive", &archive, "--table", "tt"]);
    assert_eq!(code, 2);
    assert!(err.contains("--backup") && err.contains("--dsn"), "{err}");
    let (code, _, err) = pitr(&["find", "--archive", &archive, "--from", "yesterday"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, _) = pitr(&["find", "--archive", &archive, "--aborts", "--commits-only"]);
    assert_eq!(code, 2);
    let (code, _, err) = pitr(&["find", "--archive", &archive, "--backup", &backup, "--table", "nosuch"]);
    assert_eq!(code, 2);
    assert!(err.contains("no relation"), "{err}");
}
