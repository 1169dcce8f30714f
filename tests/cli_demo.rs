//! `pitr demo` end to end, with the server programs of every major
//! (`pitr_testkit::majors_under_test()`): the whole lab runs, the DROP is found
//! in the WAL, PostgreSQL stops where the plan said, the table comes back, and
//! nothing is left behind (no server, no directory); plus the errors and
//! Ctrl-C.

#![allow(clippy::unwrap_used)]

use pitr_testkit::{majors_under_test, pg_bin};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn pitr(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pitr")).args(args).stdin(Stdio::null()).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn bin_dir(major: u32) -> String {
    pg_bin(major).unwrap().display().to_string()
}

/// The text after `prefix` on the first line that contains it.
fn after<'a>(out: &'a str, prefix: &str) -> Option<&'a str> {
    out.lines().find_map(|l| l.split_once(prefix).map(|(_, rest)| rest))
}

/// A temporary directory the PostgreSQL server user can enter (when the tests
/// run as root, PostgreSQL runs as `postgres`).
fn open_tempdir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let t = tempfile::tempdir().unwrap();
    std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    t
}

/// Processes whose command line or working directory mentions `needle`
/// (servers left behind: a postmaster works in its data directory).
fn processes_mentioning(needle: &str) -> Vec<String> {
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().filter_map(|e| e.ok()) {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            let cwd =
                std::fs::read_link(e.path().join("cwd")).map(|p| p.display().to_string()).unwrap_or_default();
            if cmd.contains(needle) || cwd.contains(needle) {
                v.push(format!("{name}: {cmd} (in {cwd})"));
            }
        }
    }
    v
}

#[test]
fn demo_runs_for_every_major() {
    for major in majors_under_test() {
        let start = Instant::now();
        let o = pitr(&["demo", "--pg-bin", &bin_dir(major)]);
        let out = text(&o.stdout);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "{major}:\n{out}\n{err}");
        eprintln!("PostgreSQL {major}: pitr demo took {:.1} s", start.elapsed().as_secs_f64());

        let version = after(&out, "PostgreSQL ").unwrap();
        assert!(version.starts_with(&major.to_string()), "{major}: {version}");
        // The xid the server gave the DROP, and the one pitr found in the WAL.
        let server_xid = after(&out, "the server committed the DROP as transaction ")
            .and_then(|r| r.split_whitespace().next())
            .unwrap_or_else(|| panic!("{major}: no DROP line\n{out}"));
        let found =
            after(&out, "-> found: transaction ").unwrap_or_else(|| panic!("{major}: nothing found\n{out}"));
        assert!(found.starts_with(&format!("{server_xid} dropped relfilenode ")), "{major}: {found}");
        // The plan's stop line is the server's.
        let planned = after(&out, "-> plan said:   ").unwrap();
        let logged = after(&out, "-> server said: ").unwrap();
        assert_eq!(planned, logged, "{major}:\n{out}");
        assert!(
            logged
                .starts_with(&format!("recovery stopping before commit of transaction {server_xid}, time ")),
            "{major}: {logged}"
        );
        assert!(out.contains("PostgreSQL will log: recovery stopping before commit of transaction"), "{out}");
        assert!(out.contains(&format!("LOG:  {logged}")), "{major}: the log line is not shown\n{out}");
        assert!(out.contains("-> same line: pitr predicted exactly where PostgreSQL stopped"), "{out}");
        assert!(out.contains("the same rows are back"), "{major}:\n{out}");
        assert!(out.contains("accounts is back with the same 10000 rows"), "{major}:\n{out}");
        // Commands a DBA would type are shown.
        for cmd in [
            "initdb -D pgdata --wal-segsize=1",
            "archive_command = ",
            "pitr plan --backup backup",
            "pitr restore",
        ] {
            assert!(out.contains(cmd), "{major}: {cmd:?} not shown\n{out}");
        }
        // The temporary directory is gone and no server is left.
        let dir = after(&out, "Work directory ").and_then(|r| r.split(" (").next()).unwrap();
        assert!(!Path::new(dir).exists(), "{major}: {dir} was not removed");
        assert!(processes_mentioning(dir).is_empty(), "{major}: {:?}", processes_mentioning(dir));
    }
}

#[test]
fn demo_json_summary_for_every_major() {
    for major in majors_under_test() {
        let tmp = open_tempdir();
        let dir = tmp.path().join(format!("demo{major}"));
        let o =
            pitr(&["demo", "--json", "--keep", "--dir", dir.to_str().unwrap(), "--pg-bin", &bin_dir(major)]);
        let out = text(&o.stdout);
        assert_eq!(o.status.code(), Some(0), "{major}:\n{out}\n{}", text(&o.stderr));
        let d: Value =
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("{major}: not JSON ({e}):\n{out}"));
        assert_eq!(d["ok"], true, "{major}: {d:#}");
        assert_eq!(d["outcome"], "recovered");
        assert_eq!(d["exit_code"], 0);
        assert_eq!(d["postgres"]["major"], major);
        assert_eq!(d["kept"], true);
        assert!(d["duration_ms"].as_u64().unwrap() > 0);

        // The DROP: found in the WAL, the server's own xid, the plan's target.
        let drop = &d["drop"];
        let xid = drop["xid"].as_u64().unwrap();
        assert_eq!(drop["server_xid"].as_u64(), Some(xid), "{major}: {drop:#}");
        assert_eq!(drop["commits_dropping_files"], 1);
        let rel = drop["relfilenode"].as_u64().unwrap();
        assert!(
            drop["dropped_relations"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r.as_str().unwrap().ends_with(&format!("/{rel}"))),
            "{drop:#}"
        );
        let plan = &d["plan"];
        assert_eq!(plan["reachable"], true);
        assert_eq!(plan["stop"]["kind"], "before");
        assert_eq!(plan["stop"]["xid"].as_u64(), Some(xid));
        assert_eq!(plan["stop"]["record_lsn"], drop["record_lsn"]);
        assert_eq!(plan["settings"]["recovery_target_xid"], xid.to_string());
        assert_eq!(plan["settings"]["recovery_target_inclusive"], "off");

        // What PostgreSQL did is what the plan said.
        let r = &d["recovery"];
        assert_eq!(r["log_line"], r["plan_log_line"], "{major}: {r:#}");
        assert_eq!(r["log_line"], plan["stop"]["log_message"]);
        assert_eq!(r["log_line_matches"], true);
        assert_eq!(r["replay_lsn"], plan["stop"]["replay_lsn"]);
        assert_eq!(r["replay_lsn_matches"], true);
        assert_eq!(r["new_timeline"], plan["new_timeline"]);
        let restored: Vec<&str> =
            r["restored_files"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        for f in r["planned_files"].as_array().unwrap() {
            assert!(restored.contains(&f.as_str().unwrap()), "{major}: {f} not restored: {r:#}");
        }

        // The table came back with the same rows.
        let t = &d["table"];
        assert_eq!(t["back"], true);
        assert_eq!(t["before"], t["after"]);
        assert_eq!(t["after"]["rows"], 10000);
        assert_eq!(t["after"]["checksum"].as_str().unwrap().len(), 32);

        // Every step, in order, each with its commands.
        let steps: Vec<&str> =
            d["steps"].as_array().unwrap().iter().map(|s| s["step"].as_str().unwrap()).collect();
        assert_eq!(
            steps,
            [
                "cluster", "load", "backup", "workload", "mark", "drop", "stop", "find", "plan", "restore",
                "recover", "promote", "verify", "cleanup"
            ]
        );
        for s in d["steps"].as_array().unwrap() {
            assert_eq!(s["ok"], true, "{major}: {s:#}");
            assert!(!s["commands"].as_array().unwrap().is_empty(), "{major}: no commands in {s:#}");
        }
        let recover = d["steps"].as_array().unwrap().iter().find(|s| s["step"] == "recover").unwrap();
        assert_eq!(recover["found"]["table_locks_while_paused"][0], "AccessExclusiveLock", "{recover:#}");

        // --keep: everything is there, the servers are stopped.
        assert_eq!(Path::new(d["dir"].as_str().unwrap()), std::fs::canonicalize(&dir).unwrap());
        let marks = std::fs::read_to_string(dir.join("marks.jsonl")).unwrap();
        assert!(marks.contains("\"name\":\"before-cleanup\""), "{marks}");
        assert_eq!(d["mark"]["name"], "before-cleanup");
        let log = std::fs::read_to_string(dir.join("logs/recovered.log")).unwrap();
        assert!(log.contains(r["log_line"].as_str().unwrap()), "{log}");
        for pgdata in ["pgdata", "recovered"] {
            assert!(!dir.join(pgdata).join("postmaster.pid").exists(), "{major}: {pgdata} still running");
        }
        assert!(dir.join("backup/backup_label").is_file());
        assert!(
            dir.join("archive/00000002.history").is_file() || log.contains("selected new timeline ID: 2")
        );
    }
}

/// The README's first command: no --pg-bin, the programs are found on PATH,
/// by pg_config or in the Debian layout.
#[test]
fn demo_finds_postgres_by_itself() {
    let o = pitr(&["demo", "--json"]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}\n{}", text(&o.stderr));
    let d: Value = serde_json::from_str(&out).unwrap();
    let major = d["postgres"]["major"].as_u64().unwrap();
    assert!((13..=18).contains(&major), "{d:#}");
    assert_ne!(d["postgres"]["found_by"], "--pg-bin");
    assert_eq!(d["table"]["back"], true);
    assert!(!Path::new(d["dir"].as_str().unwrap()).exists());
}

#[test]
fn missing_or_wrong_pg_bin_is_a_clear_error() {
    let o = pitr(&["demo", "--pg-bin", "/nonexistent/pg/bin"]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("--pg-bin /nonexistent/pg/bin: no such directory"), "{err}");
    assert!(err.contains("initdb, pg_ctl"), "{err}");

    let empty = tempfile::tempdir().unwrap();
    let o = pitr(&["demo", "--json", "--pg-bin", empty.path().to_str().unwrap()]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("has no initdb, pg_ctl, postgres"), "{err}");
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(doc["error"].as_str().unwrap().contains("--pg-bin"), "{doc}");
}

#[test]
fn a_server_that_does_not_start_is_reported_with_its_log() {
    use std::os::unix::fs::PermissionsExt;
    let major = majors_under_test()[0];
    let real = pg_bin(major).unwrap();
    let tmp = open_tempdir();
    // The real programs, but pg_ctl starts the server with a setting it refuses.
    let bin = tmp.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    for p in ["initdb", "postgres"] {
        std::os::unix::fs::symlink(real.join(p), bin.join(p)).unwrap();
    }
    let script = format!(
        "#!/bin/sh\ncase \" $* \" in *\" start \"*) exec {0}/pg_ctl \"$@\" -o '-c shared_buffers=nonsense' ;; esac\n\
         exec {0}/pg_ctl \"$@\"\n",
        real.display()
    );
    std::fs::write(bin.join("pg_ctl"), script).unwrap();
    std::fs::set_permissions(bin.join("pg_ctl"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let dir = tmp.path().join("demo");
    let o = pitr(&["demo", "--json", "--dir", dir.to_str().unwrap(), "--pg-bin", bin.to_str().unwrap()]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(2), "{out}\n{}", text(&o.stderr));
    let d: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(d["ok"], false);
    assert_eq!(d["outcome"], "error");
    assert!(d["error"].as_str().unwrap().contains("the primary server did not start"), "{d:#}");
    let steps = d["steps"].as_array().unwrap();
    assert_eq!(steps[0]["step"], "cluster");
    assert_eq!(steps[0]["ok"], false);
    assert_eq!(steps.last().unwrap()["step"], "cleanup");
    let log = d["server_logs"]["logs/primary.log"].as_array().unwrap();
    assert!(log.iter().any(|l| l.as_str().unwrap().contains("shared_buffers")), "{log:?}");
    assert!(!dir.exists(), "{} was not removed", dir.display());
    assert!(processes_mentioning(dir.to_str().unwrap()).is_empty());
}

#[test]
fn a_non_empty_dir_is_refused_and_left_alone() {
    let major = majors_under_test()[0];
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("precious"), "data").unwrap();
    let o = pitr(&["demo", "--dir", d.path().to_str().unwrap(), "--pg-bin", &bin_dir(major)]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("is not empty"), "{err}");
    assert_eq!(std::fs::read_to_string(d.path().join("precious")).unwrap(), "data");
}

#[test]
fn ctrl_c_stops_the_servers_and_removes_the_directory() {
    let major = majors_under_test()[0];
    let tmp = open_tempdir();
    let dir: PathBuf = tmp.path().join("demo");
    let mut child = Command::new(env!("CARGO_BIN_EXE_pitr"))
        .args(["demo", "--dir", dir.to_str().unwrap(), "--pg-bin", &bin_dir(major)])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // Wait until the first server runs (the table is being created), then interrupt.
    let start = Instant::now();
    let mut seen = Vec::new();
    loop {
        let line =
            rx.recv_timeout(Duration::from_secs(60)).unwrap_or_else(|_| panic!("no progress: {seen:?}"));
        let go = line.starts_with("[2/");
        seen.push(line);
        if go {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "{seen:?}");
    }
    assert!(dir.join("pgdata/postmaster.pid").exists(), "the server should be running: {seen:?}");
    let kill = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "pitr demo did not stop after Ctrl-C");
        std::thread::sleep(Duration::from_millis(50));
    };
    let rest: Vec<String> = rx.try_iter().collect();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(130), "{seen:?}\n{rest:?}\n{err}");
    assert!(err.contains("interrupted"), "{err}");
    assert!(rest.iter().any(|l| l.contains("pg_ctl -D pgdata") && l.contains("stop")), "{rest:?}");
    assert!(!dir.exists(), "{} was not removed", dir.display());
    let left = processes_mentioning(dir.to_str().unwrap());
    assert!(left.is_empty(), "processes left behind: {left:?}");
}
