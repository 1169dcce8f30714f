//! `pitr check`, `pitr mark` and `pitr replay` end to end, against real
//! servers of every major (`pitr_testkit::majors_under_test()`).

#![allow(clippy::unwrap_used)]

use pitr_testkit::{BackupKind, Cluster, majors_under_test};
use serde_json::Value;
use std::fs;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn pitr(args: &[&str], cwd: Option<&Path>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pitr"));
    cmd.args(args);
    if let Some(d) = cwd {
        cmd.current_dir(d);
    }
    cmd.output().unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", stdout(o), stderr(o)))
}

fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn good_cluster(major: u32) -> Cluster {
    Cluster::builder(major).conf("archive_timeout", "60").start()
}

/// Switches WAL and waits until pg_stat_archiver reports something archived
/// (13 and 14 report it a little late).
fn switch_and_wait(c: &Cluster) {
    c.switch_wal();
    wait_until("pg_stat_archiver", Duration::from_secs(30), || {
        c.sql("SELECT last_archived_wal IS NOT NULL FROM pg_stat_archiver") == "t"
    });
}

fn problem_codes(doc: &Value) -> Vec<String> {
    doc["problems"].as_array().unwrap().iter().map(|p| p["code"].as_str().unwrap().to_string()).collect()
}

#[test]
fn check_healthy_cluster_text_and_json() {
    for m in majors_under_test() {
        let c = good_cluster(m);
        c.sql("CREATE TABLE t(i int); INSERT INTO t VALUES (1)");
        switch_and_wait(&c);
        let dsn = c.dsn();
        let archive = c.archive_dir().to_str().unwrap().to_string();

        let o = pitr(&["check", "--dsn", &dsn, "--archive", &archive], None);
        assert_eq!(code(&o), 0, "{m}: {}{}", stdout(&o), stderr(&o));
        let text = stdout(&o);
        for line in
            ["[ok]   wal_level", "[ok]   archive_mode", "[ok]   archive_command", "[ok]   archive directory"]
        {
            assert!(text.contains(line), "{m}: {line:?} missing in\n{text}");
        }
        assert!(text.contains("healthy: 0 error(s), 0 warning(s)"), "{m}:\n{text}");
        assert!(text.contains(&format!("host=127.0.0.1 port={}", c.port())), "{m}:\n{text}");

        let o = pitr(&["check", "--dsn", &dsn, "--archive", &archive, "--json"], None);
        assert_eq!(code(&o), 0, "{m}: {}", stderr(&o));
        let d = json(&o);
        assert_eq!(d["healthy"], true);
        let srv = &d["server"];
        assert_eq!(srv["major"], m);
        assert!(srv["version"].as_str().unwrap().starts_with(&m.to_string()));
        assert_eq!(srv["system_id"], c.sql("SELECT system_identifier FROM pg_control_system()"));
        assert_eq!(srv["timeline"], 1);
        assert_eq!(srv["in_recovery"], false);
        assert_eq!(srv["wal_segment_size"], 1 << 20);
        assert_eq!(d["settings"]["archive_mode"], "on");
        assert_eq!(d["settings"]["wal_level"], "replica");
        assert_eq!(d["settings"]["archive_timeout_s"], 60);
        assert!(d["archiver"]["archived_count"].as_u64().unwrap() >= 1);
        assert_eq!(d["archiver"]["failing"], false);
        assert!(d["lag"]["segments"].as_u64().unwrap() <= 1);
        assert!(d["lag"]["bytes"].is_u64());
        assert_eq!(d["archive"]["last_archived_present"], true);
        assert_eq!(d["archive"]["system_id"], srv["system_id"]);
        for p in d["problems"].as_array().unwrap() {
            assert_eq!(p["severity"], "info", "{m}: {p}");
            for k in ["code", "check", "message", "fix", "apply"] {
                assert!(p[k].is_string(), "{m}: {k} in {p}");
            }
        }
    }
}

#[test]
fn check_reports_archive_mode_off_and_a_failing_archive() {
    for m in majors_under_test() {
        // archive_mode = off.
        let c = Cluster::builder(m).archiving(false).conf("archive_timeout", "60").start();
        let o = pitr(&["check", "--dsn", &c.dsn()], None);
        assert_eq!(code(&o), 1, "{m}: {}", stdout(&o));
        let text = stdout(&o);
        assert!(text.contains("[FAIL] archive_mode"), "{m}:\n{text}");
        assert!(text.contains("error   archive_mode_off (archive_mode)"), "{m}:\n{text}");
        assert!(
            text.contains("ALTER SYSTEM SET archive_mode = 'on'") && text.contains("[needs a restart]"),
            "{text}"
        );
        assert!(text.contains("NOT healthy"), "{m}:\n{text}");
        let d = json(&pitr(&["check", "--dsn", &c.dsn(), "--json"], None));
        assert_eq!(d["healthy"], false);
        let p = d["problems"].as_array().unwrap().iter().find(|p| p["code"] == "archive_mode_off").unwrap();
        assert_eq!((p["severity"].as_str(), p["apply"].as_str()), (Some("error"), Some("restart")));
        assert_eq!(d["lag"]["segments"], Value::Null);
        // A mark is recorded, but it will never reach an archive: exit 1 at once.
        let dir = tempfile::tempdir().unwrap();
        let start = Instant::now();
        let o = pitr(&["mark", "--dsn", &c.dsn(), "--switch", "--wait", "30"], Some(dir.path()));
        assert_eq!(code(&o), 1, "{m}: {}", stderr(&o));
        assert!(start.elapsed() < Duration::from_secs(20));
        assert!(stdout(&o).contains("archived        NO"), "{}", stdout(&o));
        assert_eq!(fs::read_to_string(dir.path().join("pitr-marks.jsonl")).unwrap().lines().count(), 1);
        drop(c);

        // archive_command = 'false', several segments behind.
        let c = good_cluster(m);
        c.sql("CREATE TABLE t(i int)");
        switch_and_wait(&c);
        c.sql("ALTER SYSTEM SET archive_command = 'false'; SELECT pg_reload_conf()");
        wait_until("the reload", Duration::from_secs(20), || c.sql("SHOW archive_command") == "false");
        for i in 0..6 {
            c.sql(&format!("INSERT INTO t VALUES ({i}); SELECT pg_switch_wal()"));
        }
        wait_until("a failure", Duration::from_secs(60), || {
            c.sql("SELECT failed_count > 0 FROM pg_stat_archiver") == "t"
        });
        let o = pitr(&["check", "--dsn", &c.dsn(), "--json"], None);
        assert_eq!(code(&o), 1);
        let d = json(&o);
        let codes = problem_codes(&d);
        for want in ["archive_failing", "archive_lagging"] {
            assert!(codes.iter().any(|c| c == want), "{m}: {want} not in {codes:?}");
        }
        assert_eq!(d["archiver"]["failing"], true);
        assert!(d["archiver"]["failed_count"].as_u64().unwrap() >= 1);
        assert!(d["lag"]["segments"].as_u64().unwrap() >= 5, "{m}: {}", d["lag"]);
        let o = pitr(&["check", "--dsn", &c.dsn(), "--max-lag-segments", "100"], None);
        assert!(
            stdout(&o).contains("[FAIL] archiver") && stdout(&o).contains("FAILING NOW"),
            "{}",
            stdout(&o)
        );
        assert!(!stdout(&o).contains("archive_lagging"), "{}", stdout(&o));
    }
}

#[test]
fn mark_appends_to_the_log_and_switch_archives_the_mark() {
    for m in majors_under_test() {
        let c = good_cluster(m);
        c.sql("CREATE TABLE t(i int); INSERT INTO t VALUES (1)");
        let dir = tempfile::tempdir().unwrap();
        let dsn = c.dsn();

        // Default log in the current directory, no name.
        let before = c.sql("SELECT pg_current_wal_insert_lsn() - '0/0'");
        let o = pitr(&["mark", "--dsn", &dsn], Some(dir.path()));
        assert_eq!(code(&o), 0, "{m}: {}", stderr(&o));
        let after = c.sql("SELECT pg_current_wal_insert_lsn() - '0/0'");
        let log = dir.path().join("pitr-marks.jsonl");
        let text = fs::read_to_string(&log).unwrap();
        assert_eq!(text.lines().count(), 1);
        let m1: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        let lsn = m1["lsn"].as_str().unwrap();
        let pos = c.sql(&format!("SELECT '{lsn}'::pg_lsn - '0/0'"));
        let num = |s: &str| s.parse::<u64>().unwrap();
        assert!(num(&before) <= num(&pos) && num(&pos) <= num(&after), "{m}: {before} {pos} {after}");
        assert_eq!(m1["timeline"], 1);
        assert_eq!(m1["restore_point_lsn"], Value::Null);
        assert_eq!(m1["system_id"], c.sql("SELECT system_identifier FROM pg_control_system()"));
        let walfile = c.sql(&format!("SELECT pg_walfile_name('{lsn}')"));
        if m >= 17 || !lsn.ends_with("00000") {
            assert_eq!(m1["wal_file"], walfile, "{m}");
        }

        // Named, with a restore point and a switch, into another log, JSON output.
        let log2 = dir.path().join("sub-marks.jsonl");
        let o = pitr(
            &[
                "mark",
                "--dsn",
                &dsn,
                "--name",
                "before-migration",
                "--switch",
                "--log",
                log2.to_str().unwrap(),
                "--json",
            ],
            None,
        );
        assert_eq!(code(&o), 0, "{m}: {}", stderr(&o));
        let d = json(&o);
        assert_eq!(d["archived"], true);
        assert_eq!(d["target"]["type"], "restore_point");
        assert_eq!(d["target"]["name"], "before-migration");
        let mk = &d["mark"];
        let rp = mk["restore_point_lsn"].as_str().unwrap();
        assert_eq!(d["target"]["end_lsn"], rp);
        assert!(mk["switch_lsn"].is_string());
        let logged: Value = serde_json::from_str(fs::read_to_string(&log2).unwrap().trim()).unwrap();
        assert_eq!(&logged, mk);
        let wal_file = mk["wal_file"].as_str().unwrap();
        assert!(c.archived_files().iter().any(|f| f == wal_file), "{m}: {wal_file} not archived");

        // Named without a restore point; a name too long for a restore point.
        let o = pitr(&["mark", "--dsn", &dsn, "--name", "note", "--no-restore-point"], Some(dir.path()));
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        assert!(stdout(&o).contains("recovery_target_lsn"), "{}", stdout(&o));
        assert!(stdout(&o).contains("pitr plan --mark note"), "{}", stdout(&o));
        let long = "n".repeat(64);
        let o = pitr(&["mark", "--dsn", &dsn, "--name", &long], Some(dir.path()));
        assert_eq!(code(&o), 2);
        assert!(stderr(&o).contains("63"), "{}", stderr(&o));
        assert_eq!(fs::read_to_string(&log).unwrap().lines().count(), 2, "nothing logged for a refused mark");
    }
}

#[test]
fn replay_status_and_resume_promote_a_paused_restore() {
    for m in majors_under_test() {
        let c = good_cluster(m);
        c.sql("CREATE TABLE t(i int); INSERT INTO t VALUES (1)");
        let b = c.base_backup(BackupKind::SqlApi);
        c.sql("INSERT INTO t VALUES (2)");
        let work = c.scratch_dir("marks");
        let log = work.join("marks.jsonl");
        let o = pitr(
            &["mark", "--dsn", &c.dsn(), "--name", "pre", "--switch", "--log", log.to_str().unwrap()],
            None,
        );
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        c.sql("INSERT INTO t VALUES (3)");
        c.switch_wal();
        let mark: Value = serde_json::from_str(fs::read_to_string(&log).unwrap().trim()).unwrap();
        let rp = mark["restore_point_lsn"].as_str().unwrap().to_string();

        // A primary: nothing to show or resume.
        let o = pitr(&["replay", "status", "--dsn", &c.dsn()], None);
        assert_eq!(code(&o), 1);
        assert!(stderr(&o).contains("not in recovery"), "{}", stderr(&o));
        let o = pitr(&["replay", "resume", "--dsn", &c.dsn(), "--json"], None);
        assert_eq!(code(&o), 1);
        assert_eq!(json(&o)["in_recovery"], false);

        let mut auto = fs::read_to_string(b.dir.join("postgresql.auto.conf")).unwrap_or_default();
        auto.push_str(&format!(
            "restore_command = 'cp {}/%f %p'\nrecovery_target_name = 'pre'\nrecovery_target_action = 'pause'\n",
            c.archive_dir().display()
        ));
        fs::write(b.dir.join("postgresql.auto.conf"), auto).unwrap();
        fs::write(b.dir.join("recovery.signal"), "").unwrap();
        let elsewhere = c.scratch_dir("restored-archive");
        let r = Cluster::adopt(m, &b.dir)
            .conf("archive_command", &format!("cp %p {}/%f", elsewhere.display()))
            .start();

        let mut st = Value::Null;
        wait_until("the pause", Duration::from_secs(60), || {
            let o = pitr(&["replay", "status", "--dsn", &r.dsn(), "--json"], None);
            assert_eq!(code(&o), 0, "{}", stderr(&o));
            st = json(&o);
            st["pause_state"] == "paused"
        });
        assert_eq!(st["in_recovery"], true);
        assert_eq!(st["replay_lsn"], rp.as_str(), "{m}");
        assert!(st["last_xact_replay_time"].is_string());
        assert_eq!(st["receive_lsn"], Value::Null);
        let o = pitr(&["replay", "status", "--dsn", &r.dsn()], None);
        let text = stdout(&o);
        assert!(text.contains("pause state           paused") && text.contains(&rp), "{text}");

        let o = pitr(&["replay", "resume", "--dsn", &r.dsn(), "--json"], None);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let d = json(&o);
        assert_eq!(d["outcome"], "promoted", "{d}");
        assert_eq!(d["timeline"], 2);
        assert_eq!(d["before"]["pause_state"], "paused");
        assert_eq!(d["after"]["in_recovery"], false);
        assert_eq!(r.sql("SELECT pg_is_in_recovery()"), "f");
        assert_eq!(r.sql("SELECT string_agg(i::text, ',' ORDER BY i) FROM t"), "1,2");
    }
}

#[test]
fn unreachable_server_exits_2_naming_host_and_port() {
    let port = pitr_testkit::free_port();
    let dsn = format!("host=127.0.0.1 port={port} user=postgres");
    for args in [
        vec!["check", "--dsn", &dsn],
        vec!["mark", "--dsn", &dsn],
        vec!["replay", "status", "--dsn", &dsn],
        vec!["replay", "resume", "--dsn", &dsn],
    ] {
        let o = pitr(&args, None);
        assert_eq!(code(&o), 2, "{args:?}");
        let e = stderr(&o);
        assert!(e.contains(&format!("cannot connect to host=127.0.0.1 port={port}")), "{args:?}: {e}");
    }
    let o = pitr(&["check", "--dsn", &dsn, "--json", "--connect-timeout", "1"], None);
    assert_eq!(code(&o), 2);
    assert!(json(&o)["error"].as_str().unwrap().contains("cannot connect"));
    let o = pitr(&["check", "--dsn", "nonsense"], None);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("invalid connection string"), "{}", stderr(&o));
}
