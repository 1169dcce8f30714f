//! The proof: `pitr plan` predicts what PostgreSQL 13-18 recovery actually does.
//!
//! For every major, a recorded three-timeline history (see
//! `pitr_testkit::scenario`) is planned against a matrix of targets; each
//! reachable plan is restored with `pitr restore` and started on the real server
//! with a `restore_command` that logs what it fetched. The test asserts that
//! PostgreSQL's `recovery stopping ...` line is the one the plan predicted,
//! `pg_last_wal_replay_lsn()` equals the plan's `replay_lsn`, every planned file
//! was fetched (in the planned order), and the recovered rows are those
//! committed at the target. Every refused plan is started anyway (`--force`)
//! and must fail with the FATAL the plan named.

#![allow(clippy::unwrap_used)]

use pitr_testkit::scenario::Scenario;
use pitr_testkit::{Cluster, give_to_server_user};
use serde_json::Value;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const PITR: &str = env!("CARGO_BIN_EXE_pitr");

/// What a case expects.
enum Expect {
    /// Reachable; recovery pauses (or, without a target, ends) with these rows.
    Rows(&'static [i32]),
    /// Unreachable with this problem code; PostgreSQL fails with this FATAL.
    Fatal { code: &'static str, fatal: &'static str },
    /// Refused as a usage error (exit 2) naming this text.
    Usage(&'static str),
}

struct Case {
    name: String,
    args: Vec<String>,
    expect: Expect,
    /// Remove these archive files (by name) in a private copy of the archive.
    remove: Vec<String>,
    backup: Which,
    /// Remove the second segment the unmodified plan fetches.
    remove_planned_segment: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Which {
    Early,
    Late,
    Later,
}

fn case(name: &str, args: &[&str], expect: Expect) -> Case {
    Case {
        name: name.to_string(),
        args: args.iter().map(|s| s.to_string()).collect(),
        expect,
        remove: Vec::new(),
        backup: Which::Early,
        remove_planned_segment: false,
    }
}

fn pitr(args: &[String]) -> (i32, String, String) {
    let out = Command::new(PITR).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Midpoint between two `YYYY-MM-DD HH:MM:SS.ffffff` UTC times, as a target with +00.
fn between(a: &str, b: &str) -> String {
    let ta: jiff::Timestamp = format!("{a}Z").replace(' ', "T").parse().unwrap();
    let tb: jiff::Timestamp = format!("{b}Z").replace(' ', "T").parse().unwrap();
    let mid = jiff::Timestamp::from_microsecond((ta.as_microsecond() + tb.as_microsecond()) / 2).unwrap();
    format!("{}+00", mid.strftime("%Y-%m-%d %H:%M:%S%.6f"))
}

fn matrix(s: &Scenario) -> Vec<Case> {
    let st = |n: &str| s.step(n);
    let xid = |n: &str| st(n).xid.to_string();
    let exact = |n: &str| format!("{}+00", st(n).time);
    let seg_of_switch_on_tl2 = {
        // The TL2 copy of the segment holding the 1 -> 2 switch point (1 MB segments).
        let sp = pitr_core::Lsn::parse(&s.switch_points[&2]).unwrap();
        let seg = pitr_core::WalSegSize::new(1 << 20).unwrap();
        pitr_core::SegmentName::of_lsn(2, sp, seg).to_string()
    };
    let mut v = vec![
        case("xid inclusive", &["--target-xid", &xid("c3")], Expect::Rows(&[1, 2, 3])),
        case("xid exclusive", &["--target-xid", &xid("c3"), "--exclusive"], Expect::Rows(&[1, 2])),
        case("xid of an abort", &["--target-xid", &xid("a4")], Expect::Rows(&[1, 2, 3])),
        case("xid of a two-phase commit", &["--target-xid", &xid("p5")], Expect::Rows(&[1, 2, 3, 5])),
        case(
            "time between commits",
            &["--target-time", &between(&st("rp_one").time, &st("c3").time)],
            Expect::Rows(&[1, 2]),
        ),
        case(
            "time exactly at a commit, inclusive",
            &["--target-time", &exact("c3")],
            Expect::Rows(&[1, 2, 3]),
        ),
        case(
            "time exactly at a commit, exclusive",
            &["--target-time", &exact("c3"), "--exclusive"],
            Expect::Rows(&[1, 2]),
        ),
        case("lsn inclusive", &["--target-lsn", &st("c3").lsn_after], Expect::Rows(&[1, 2, 3])),
        case(
            "lsn exclusive",
            &["--target-lsn", &st("c3").lsn_after, "--exclusive"],
            Expect::Rows(&[1, 2, 3]),
        ),
        case("restore point", &["--target-name", "rp_one"], Expect::Rows(&[1, 2])),
        case("immediate", &["--target", "immediate"], Expect::Rows(&[1])),
        case("end of WAL on the latest timeline", &[], Expect::Rows(&[1, 2, 3, 5, 6, 20, 30])),
        case("end of WAL on timeline 2", &["--target-timeline", "2"], Expect::Rows(&[1, 2, 3, 5, 6, 20])),
        case(
            "xid past the fork on the current timeline",
            &["--target-xid", &xid("c7"), "--target-timeline", "current"],
            Expect::Rows(&[1, 2, 3, 5, 6, 7]),
        ),
        case(
            "xid past the fork on timeline 1",
            &["--target-xid", &xid("c7"), "--target-timeline", "1"],
            Expect::Rows(&[1, 2, 3, 5, 6, 7]),
        ),
        case("xid on timeline 3", &["--target-xid", &xid("t3_c30")], Expect::Rows(&[1, 2, 3, 5, 6, 20, 30])),
        case(
            "restore point only on timeline 1, latest timeline",
            &["--target-name", "rp_tl1"],
            Expect::Fatal {
                code: "target_not_reached",
                fatal: "recovery ended before configured recovery target was reached",
            },
        ),
        case(
            "restore point only on timeline 1, timeline 1",
            &["--target-name", "rp_tl1", "--target-timeline", "1"],
            Expect::Rows(&[1, 2, 3, 5, 6, 7]),
        ),
        case(
            "time after the last commit",
            &["--target-time", "2099-01-01 00:00:00+00"],
            Expect::Fatal {
                code: "target_not_reached",
                fatal: "recovery ended before configured recovery target was reached",
            },
        ),
        case(
            "lsn before consistency",
            &["--target-lsn", &s.backup.start_lsn],
            Expect::Fatal {
                code: "stop_before_consistency",
                fatal: "requested recovery stop point is before consistent recovery point",
            },
        ),
        case(
            "timeline that does not exist",
            &["--target-timeline", "9"],
            Expect::Fatal {
                code: "target_timeline_missing",
                fatal: "recovery target timeline 9 does not exist",
            },
        ),
        case(
            "several targets",
            &["--target-xid", &xid("c3"), "--target-name", "rp_one"],
            Expect::Usage("multiple recovery targets"),
        ),
        case("malformed xid", &["--target-xid", "abc"], Expect::Usage("recovery_target_xid")),
        case(
            "malformed time",
            &["--target-time", "2026-11-24 00:57:57Z"],
            Expect::Usage("recovery_target_time"),
        ),
    ];
    let mut missing = case(
        "missing segment",
        &["--target-name", "rp_tl1", "--target-timeline", "1"],
        Expect::Fatal {
            code: "missing_segment",
            fatal: "recovery ended before configured recovery target was reached",
        },
    );
    missing.remove_planned_segment = true;
    v.push(missing);
    let mut switch_missing = case(
        "child timeline's copy of the switch segment missing",
        &["--target-timeline", "2"],
        Expect::Fatal { code: "switch_segment_missing", fatal: "" },
    );
    switch_missing.remove.push(seg_of_switch_on_tl2);
    v.push(switch_missing);
    // The late backup's checkpoint segment: timelines 2 and 3 have their own
    // copies of it (recovery reads one and cannot find the checkpoint), unless
    // they ended before it (then recovery reads timeline 1's and refuses the
    // timeline).
    let late_ckpt = {
        let l =
            pitr_core::Lsn::parse(pitr_testkit::label_field(&s.late_backup.label, "CHECKPOINT LOCATION: "))
                .unwrap();
        pitr_core::SegmentName::of_lsn(3, l, pitr_core::WalSegSize::new(1 << 20).unwrap())
    };
    let covered =
        [3u32, 2].iter().any(|t| s.archive().join(late_ckpt.with_timeline(*t).to_string()).exists());
    let mut late = case(
        "backup taken just after the fork, latest timeline",
        &[],
        if covered {
            Expect::Fatal {
                code: "checkpoint_unreadable",
                fatal: "could not locate required checkpoint record",
            }
        } else {
            Expect::Fatal {
                code: "not_a_child",
                fatal: "requested timeline 3 is not a child of this server's history",
            }
        },
    );
    late.backup = Which::Late;
    v.push(late);
    let mut not_child = case(
        "backup taken after the fork, beyond the other timelines' WAL, latest timeline",
        &[],
        Expect::Fatal {
            code: "not_a_child",
            fatal: "requested timeline 3 is not a child of this server's history",
        },
    );
    not_child.backup = Which::Later;
    v.push(not_child);
    let mut current = case(
        "backup taken after the fork, current timeline",
        &["--target-timeline", "current"],
        Expect::Rows(&[1, 2, 3, 5, 6, 7]),
    );
    current.backup = Which::Later;
    v.push(current);
    v
}

/// Copies the archive without some files (for the damage cases).
fn archive_without(s: &Scenario, remove: &[String], dir: &Path) -> String {
    for e in fs::read_dir(s.archive()).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        if !remove.contains(&name) {
            fs::copy(e.path(), dir.join(&name)).unwrap();
        }
    }
    give_to_server_user(dir);
    dir.display().to_string()
}

fn wait_log(c: &Cluster, text: &str) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(90) {
        if c.log().contains(text) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

fn run_case(s: &Scenario, k: usize, case: &Case) -> Result<(), String> {
    let backup = match case.backup {
        Which::Early => &s.backup,
        Which::Late => &s.late_backup,
        Which::Later => &s.later_backup,
    };
    let mut remove = case.remove.clone();
    if case.remove_planned_segment {
        let mut args: Vec<String> =
            vec!["plan".into(), "--json".into(), "--backup".into(), backup.dir.display().to_string()];
        args.extend(["--archive".into(), s.archive().display().to_string()]);
        args.extend(case.args.iter().cloned());
        let (_, out, _) = pitr(&args);
        let plan: Value = serde_json::from_str(&out).map_err(|e| format!("plan JSON: {e}\n{out}"))?;
        let segs: Vec<String> = plan["wal_files"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_str())
            .filter(|n| n.len() == 24)
            .map(str::to_string)
            .collect();
        remove.push(segs.get(1).cloned().ok_or_else(|| format!("too few planned segments: {segs:?}"))?);
    }
    let archive = if remove.is_empty() {
        s.archive().display().to_string()
    } else {
        archive_without(s, &remove, &s.scratch(&format!("archive{k}")))
    };
    let mut plan_args: Vec<String> =
        vec!["plan".into(), "--json".into(), "--backup".into(), backup.dir.display().to_string()];
    plan_args.extend(["--archive".into(), archive.clone()]);
    plan_args.extend(case.args.iter().cloned());
    let (code, out, err) = pitr(&plan_args);

    if let Expect::Usage(text) = case.expect {
        if code != 2 || !(err.contains(text) || out.contains(text)) {
            return Err(format!("expected a usage error naming {text:?}, got exit {code}\n{out}\n{err}"));
        }
        return Ok(());
    }
    let plan: Value = serde_json::from_str(&out).map_err(|e| format!("plan JSON: {e}\n{out}\n{err}"))?;
    let reachable = plan["reachable"].as_bool().unwrap_or(false);

    // Restore (with --force for the refused plans) and start the real server.
    let pgdata = s.scratch(&format!("restore{k}"));
    fs::remove_dir(&pgdata).unwrap();
    let fetch_log = s.scratch(&format!("fetch{k}")).join("fetched");
    let restore_command = format!("{PITR} archive get {archive} %f %p && echo %f >> {}", fetch_log.display());
    let mut restore_args: Vec<String> = vec![
        "restore".into(),
        "--backup".into(),
        backup.dir.display().to_string(),
        "--archive".into(),
        archive.clone(),
        "--pgdata".into(),
        pgdata.display().to_string(),
        "--restore-command".into(),
        restore_command,
    ];
    restore_args.extend(case.args.iter().cloned());
    if !reachable {
        restore_args.push("--force".into());
    }
    let (rcode, rout, rerr) = pitr(&restore_args);
    if rcode != 0 {
        return Err(format!("pitr restore failed ({rcode}):\n{rout}\n{rerr}"));
    }
    let started = Cluster::adopt(s.major, &pgdata).conf("archive_mode", "off").try_start();

    match &case.expect {
        Expect::Rows(rows) => {
            if code != 0 || !reachable {
                return Err(format!("expected a reachable plan, got exit {code}:\n{out}"));
            }
            let c = started.map_err(|(_, e)| format!("server did not start: {e}"))?;
            if !c.wait_recovery_settled() {
                return Err(format!("recovery did not pause:\n{}", c.log()));
            }
            let mut errs = String::new();
            let stop = &plan["stop"];
            if let Some(msg) = stop["log_message"].as_str() {
                if !c.log().contains(&format!("LOG:  {msg}")) {
                    let log = c.log();
                    let got: Vec<&str> = log.lines().filter(|l| l.contains("recovery stopping")).collect();
                    let _ = writeln!(errs, "log line: planned {msg:?}, server said {got:?}");
                }
            } else if c.log().contains("recovery stopping") {
                let _ = writeln!(errs, "plan predicted no stop line, the server logged one");
            }
            let replay = c.sql("SELECT pg_last_wal_replay_lsn()");
            if stop["replay_lsn"].as_str() != Some(replay.as_str()) {
                let _ = writeln!(errs, "replay LSN: planned {}, server {replay}", stop["replay_lsn"]);
            }
            let got_rows = c.sql("SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM t");
            let want_rows = rows.iter().map(|r| r.to_string()).collect::<Vec<_>>().join(",");
            if got_rows != want_rows {
                let _ = writeln!(errs, "rows: expected {want_rows}, server has {got_rows}");
            }
            let fetched = fs::read_to_string(&fetch_log).unwrap_or_default();
            let fetched: Vec<&str> = fetched.lines().collect();
            let planned: Vec<&str> =
                plan["wal_files"].as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
            let mut last_pos = 0;
            for f in &planned {
                match fetched.iter().position(|g| g == f) {
                    None => {
                        let _ = writeln!(errs, "planned file {f} was never fetched (fetched: {fetched:?})");
                    }
                    Some(p) if f.len() == 24 && p < last_pos => {
                        let _ = writeln!(errs, "{f} fetched out of the planned order (fetched: {fetched:?})");
                    }
                    Some(p) => {
                        if f.len() == 24 {
                            last_pos = p;
                        }
                    }
                }
            }
            if errs.is_empty() { Ok(()) } else { Err(format!("{errs}--- plan ---\n{out}")) }
        }
        Expect::Fatal { code: want, fatal } => {
            if code != 1 || reachable {
                return Err(format!("expected an unreachable plan (exit 1), got exit {code}:\n{out}"));
            }
            let problems = plan["problems"].as_array().unwrap();
            let p = problems.iter().find(|p| p["code"] == *want);
            let Some(p) = p else {
                return Err(format!("no problem with code {want}:\n{out}"));
            };
            if fatal.is_empty() {
                return Ok(()); // PostgreSQL would not complain (silent wrong branch)
            }
            if !p["postgres_message"].as_str().unwrap_or("").contains(fatal) {
                return Err(format!("problem does not name PostgreSQL's message {fatal:?}:\n{out}"));
            }
            let log = match started {
                Ok(c) => {
                    if !wait_log(&c, fatal) {
                        return Err(format!("server did not fail with {fatal:?}:\n{}", c.log()));
                    }
                    c.log()
                }
                Err((_, e)) => e,
            };
            if !log.contains(&format!("FATAL:  {fatal}")) {
                return Err(format!("server log lacks FATAL {fatal:?}:\n{log}"));
            }
            Ok(())
        }
        Expect::Usage(_) => unreachable!(),
    }
}

fn prove(major: u32) {
    if !pitr_testkit::majors_under_test().contains(&major) {
        return;
    }
    let s = Scenario::build(major);
    let mut failures = String::new();
    for (k, c) in matrix(&s).iter().enumerate() {
        if let Err(e) = run_case(&s, k, c) {
            let _ =
                writeln!(failures, "\n### PostgreSQL {major}, case {k} \"{}\" ({:?}):\n{e}", c.name, c.args);
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

#[test]
fn proof_13() {
    prove(13);
}
#[test]
fn proof_14() {
    prove(14);
}
#[test]
fn proof_15() {
    prove(15);
}
#[test]
fn proof_16() {
    prove(16);
}
#[test]
fn proof_17() {
    prove(17);
}
#[test]
fn proof_18() {
    prove(18);
}
