//! The live-server module against real PostgreSQL servers of every major
//! (`pitr_testkit::majors_under_test()`): archiving health checks, marks and
//! restore points, the low-level backup API, and replay status/resume on a
//! recovery paused at a mark.

#![cfg(feature = "live")]
#![allow(clippy::unwrap_used)]

use pitr_core::live::check::{CheckOptions, CheckReport, Severity};
use pitr_core::live::mark::mark_segment;
use pitr_core::live::{
    self, ConnectOptions, LiveError, MarkOptions, MarkTargetKind, PauseState, ResumeOutcome, Session,
};
use pitr_core::{Lsn, SegmentName};
use pitr_testkit::{Cluster, majors_under_test};
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

fn session(c: &Cluster) -> Session {
    Session::connect(&ConnectOptions::new(c.dsn())).unwrap()
}

/// A cluster with nothing to complain about (the test kit's default has
/// archive_timeout = 0, which `check` warns about).
fn good_cluster(major: u32) -> Cluster {
    Cluster::builder(major).conf("archive_timeout", "60").start()
}

fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn codes(r: &CheckReport, min: Severity) -> Vec<&'static str> {
    let mut v: Vec<&str> = r.problems.iter().filter(|p| p.severity >= min).map(|p| p.code).collect();
    v.sort_unstable();
    v.dedup();
    v
}

fn lsn(c: &Cluster, sql: &str) -> Lsn {
    Lsn::parse(&c.sql(sql)).unwrap()
}

/// `pg_switch_wal()`, then waits until the segment is archived *and*
/// pg_stat_archiver says so (on 13 and 14 the statistics collector reports it
/// a little later).
fn switch_and_wait(c: &Cluster) {
    let end = Lsn::parse(&c.switch_wal()).unwrap();
    let seg = pitr_core::WalSegSize::new(1 << 20).unwrap();
    let want = SegmentName::new(1, end.prev_segment(seg), seg).to_string();
    wait_until("pg_stat_archiver", Duration::from_secs(30), || {
        c.sql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver") >= want
    });
}

fn failed_count(c: &Cluster) -> u64 {
    c.sql("SELECT failed_count FROM pg_stat_archiver").parse().unwrap()
}

#[test]
fn check_is_healthy_on_a_good_cluster_and_reports_what_the_server_says() {
    for m in majors_under_test() {
        let c = good_cluster(m);
        c.sql("CREATE TABLE t(i int); INSERT INTO t VALUES (1)");
        switch_and_wait(&c);
        let mut s = session(&c);
        let opts = CheckOptions { archive_dir: Some(c.archive_dir().to_path_buf()), ..Default::default() };
        let r = live::check(&mut s, &opts).unwrap();
        assert!(r.healthy, "{m}: {:#?}", r.problems);
        assert_eq!(codes(&r, Severity::Warning), Vec::<&str>::new(), "{m}");
        assert!(codes(&r, Severity::Info).contains(&"timezone"), "{m}");

        // Server facts, compared with SQL.
        assert_eq!(r.server.major.number(), m);
        assert_eq!(r.server.version_num.to_string(), c.sql("SHOW server_version_num"));
        assert_eq!(
            r.server.system_id.unwrap().to_string(),
            c.sql("SELECT system_identifier FROM pg_control_system()")
        );
        assert_eq!(r.server.timeline, Some(1));
        assert!(!r.server.in_recovery);
        assert_eq!(r.server.wal_segment_size.bytes(), 1 << 20);

        // Settings.
        let st = &r.settings;
        assert_eq!(st.wal_level.as_deref(), Some("replica"));
        assert_eq!(st.archive_mode.as_deref(), Some("on"));
        assert!(st.archive_command.as_deref().unwrap().contains("cp %p"), "{m}: {st:?}");
        assert_eq!(st.archive_library.is_some(), m >= 15, "{m}: archive_library exists from 15 on");
        assert_eq!(st.archive_timeout_s, Some(60));
        assert_eq!(st.max_wal_senders, Some(5));
        assert_eq!(st.wal_keep_size_mb, Some(0));
        assert_eq!(st.timezone.as_deref(), Some("UTC"));
        assert_eq!(st.full_page_writes, Some(true));
        assert!(st.pending_restart.is_empty());

        // Archiver and lag.
        assert_eq!(
            r.archiver.last_archived_wal.as_deref(),
            Some(c.sql("SELECT last_archived_wal FROM pg_stat_archiver").as_str())
        );
        assert!(r.archiver.archived_count >= 1 && !r.archiver.failing && r.archiver.failed_count == 0);
        assert!(r.archiver.last_archived_time.is_some());
        assert!(r.lag.segments.unwrap() <= 1, "{m}: {:?}", r.lag);
        assert!(r.lag.bytes.unwrap() < 2 << 20, "{m}: {:?}", r.lag);
        assert!(r.lag.ready_files.unwrap() <= 1, "{m}: {:?}", r.lag);
        let cur = r.lag.current_lsn.unwrap();
        let file = r.lag.current_wal_file.unwrap();
        assert_eq!(file, SegmentName::of_lsn(1, cur, r.server.wal_segment_size));
        if m >= 17 || cur.segment_offset(r.server.wal_segment_size) != 0 {
            assert_eq!(file.to_string(), c.sql(&format!("SELECT pg_walfile_name('{cur}')")));
        }

        // The archive cross-check.
        let ac = r.archive.as_ref().unwrap();
        assert_eq!(ac.last_archived_present, Some(true));
        assert!(ac.recent_missing.is_empty() && ac.recent_checked >= 1, "{m}: {ac:?}");
        assert_eq!(ac.system_id, r.server.system_id);
        assert!(ac.segments >= 1);

        // Another directory: empty, then holding a segment of another system.
        let other = c.scratch_dir("not-the-archive");
        let opts = CheckOptions { archive_dir: Some(other.clone()), ..Default::default() };
        let r2 = live::check(&mut s, &opts).unwrap();
        assert!(!r2.healthy);
        assert_eq!(
            codes(&r2, Severity::Error),
            ["archive_empty", "archive_missing_last", "archive_missing_recent"],
            "{m}"
        );
        let last = r.archiver.last_archived_wal.clone().unwrap();
        let mut bytes = fs::read(c.archive_dir().join(&last)).unwrap();
        let sysid = u64::from_le_bytes(bytes[24..32].try_into().unwrap());
        bytes[24..32].copy_from_slice(&(sysid ^ 1).to_le_bytes());
        fs::write(other.join(&last), &bytes).unwrap();
        let r3 = live::check(&mut s, &opts).unwrap();
        assert!(
            codes(&r3, Severity::Error).contains(&"archive_system_id_mismatch"),
            "{m}: {:#?}",
            r3.problems
        );
        assert_eq!(r3.archive.as_ref().unwrap().system_id, Some(sysid ^ 1));
    }
}

#[test]
fn check_finds_settings_problems_and_pending_restart() {
    for m in majors_under_test() {
        let c = good_cluster(m);
        let mut s = session(&c);
        let mut sql = String::from(
            "ALTER SYSTEM SET archive_timeout = 0; ALTER SYSTEM SET archive_mode = 'off'; \
             ALTER SYSTEM SET archive_command = 'cp %p /nowhere/%f.%x';",
        );
        if m >= 15 {
            sql.push_str("ALTER SYSTEM SET archive_library = 'basic_archive';");
        }
        sql.push_str("SELECT pg_reload_conf();");
        c.sql(&sql);
        let mut r = None;
        wait_until("the reload", Duration::from_secs(20), || {
            let rep = live::check(&mut s, &CheckOptions::default()).unwrap();
            let done = rep.settings.archive_timeout_s == Some(0) && !rep.settings.pending_restart.is_empty();
            r = Some(rep);
            done
        });
        let r = r.unwrap();
        assert!(!r.healthy);
        assert_eq!(r.settings.pending_restart, ["archive_mode"], "{m}");
        let mut want = vec!["archive_timeout_zero", "pending_restart"];
        want.push(match m {
            13 | 14 => "archive_command_bad_placeholder",
            15 => "archive_command_ignored",
            _ => "archive_command_and_library",
        });
        want.sort_unstable();
        assert_eq!(codes(&r, Severity::Warning), want, "{m}: {:#?}", r.problems);
        let pending = r.problems.iter().find(|p| p.code == "pending_restart").unwrap();
        assert_eq!(pending.check, "archive_mode");
        assert!(pending.message.contains("archive_mode"));
        if m >= 15 {
            // Without the library, the placeholder is what matters: an error from 16 on.
            c.sql("ALTER SYSTEM RESET archive_library; SELECT pg_reload_conf()");
            wait_until("archive_library reset", Duration::from_secs(20), || {
                let rep = live::check(&mut s, &CheckOptions::default()).unwrap();
                rep.problems.iter().any(|p| {
                    p.code == "archive_command_bad_placeholder"
                        && p.severity == if m >= 16 { Severity::Error } else { Severity::Warning }
                })
            });
        }
        // Undo everything: healthy again, nothing pending.
        c.sql(
            "ALTER SYSTEM RESET archive_timeout; ALTER SYSTEM RESET archive_mode; \
             ALTER SYSTEM RESET archive_command; SELECT pg_reload_conf()",
        );
        wait_until("the settings reset", Duration::from_secs(20), || {
            live::check(&mut s, &CheckOptions::default()).unwrap().healthy
        });
    }
}

#[test]
fn check_finds_archive_mode_off() {
    for m in majors_under_test() {
        let c = Cluster::builder(m).archiving(false).conf("archive_timeout", "60").start();
        c.sql("CREATE TABLE t(i int); INSERT INTO t VALUES (1); SELECT pg_switch_wal()");
        let mut s = session(&c);
        let r = live::check(&mut s, &CheckOptions::default()).unwrap();
        assert!(!r.healthy);
        assert_eq!(codes(&r, Severity::Warning), ["archive_mode_off"], "{m}: {:#?}", r.problems);
        let p = &r.problems[0];
        assert_eq!((p.severity, p.check), (Severity::Error, "archive_mode"));
        assert!(p.fix.contains("archive_mode = 'on'"), "{}", p.fix);
        assert_eq!(r.settings.archive_mode.as_deref(), Some("off"));
        // The server hides the command when archiving is off.
        assert_eq!(r.settings.archive_command, None, "{m}");
        assert_eq!((r.lag.segments, r.lag.bytes), (None, None));
        assert!(r.archiver.last_archived_wal.is_none());
    }
}

#[test]
fn check_finds_a_failing_and_lagging_archive_and_its_recovery() {
    for m in majors_under_test() {
        let c = good_cluster(m);
        c.sql("CREATE TABLE t(i int)");
        switch_and_wait(&c);
        let mut s = session(&c);
        let opts = CheckOptions::default();
        assert!(live::check(&mut s, &opts).unwrap().healthy);

        c.sql("ALTER SYSTEM SET archive_command = 'false'; SELECT pg_reload_conf()");
        wait_until("the reload", Duration::from_secs(20), || c.sql("SHOW archive_command") == "false");
        for i in 0..6 {
            c.sql(&format!("INSERT INTO t VALUES ({i}); SELECT pg_switch_wal()"));
        }
        wait_until("a failed attempt", Duration::from_secs(60), || failed_count(&c) >= 1);
        let r1 = live::check(&mut s, &opts).unwrap();
        assert!(!r1.healthy);
        assert!(r1.archiver.failing, "{m}: {:?}", r1.archiver);
        // `false` also uses neither %p nor %f, which check points out.
        assert_eq!(
            codes(&r1, Severity::Warning),
            ["archive_command_no_placeholder", "archive_failing", "archive_lagging"],
            "{m}: {:#?}",
            r1.problems
        );
        let failing = r1.problems.iter().find(|p| p.code == "archive_failing").unwrap();
        assert_eq!(failing.severity, Severity::Error);
        assert!(r1.archiver.last_failed_wal.is_some() && r1.archiver.failed_count >= 1);
        // Six segments were completed; at most one may have gone out before the reload.
        assert!(r1.lag.segments.unwrap() >= 5, "{m}: {:?}", r1.lag);
        assert!(r1.lag.ready_files.unwrap() >= 5, "{m}: {:?}", r1.lag);
        assert!(r1.lag.bytes.unwrap() >= 5 << 20, "{m}: {:?}", r1.lag);
        let last = SegmentName::parse(r1.archiver.last_archived_wal.as_deref().unwrap()).unwrap();
        let cur = r1.lag.current_wal_file.unwrap();
        let seg = r1.server.wal_segment_size;
        assert_eq!(r1.lag.segments.unwrap(), cur.segno(seg).unwrap() - last.segno(seg).unwrap() - 1);

        // The failed count grows with every new attempt.
        c.sql("INSERT INTO t VALUES (100); SELECT pg_switch_wal()");
        wait_until("another failed attempt", Duration::from_secs(90), || {
            failed_count(&c) > r1.archiver.failed_count
        });
        let r2 = live::check(&mut s, &opts).unwrap();
        assert!(r2.archiver.failed_count > r1.archiver.failed_count);
        assert!(r2.lag.segments.unwrap() > r1.lag.segments.unwrap(), "{m}: {:?} then {:?}", r1.lag, r2.lag);

        // Fixed: everything gets archived, the failures stay as a note.
        c.sql("ALTER SYSTEM RESET archive_command; SELECT pg_reload_conf()");
        wait_until("the reload", Duration::from_secs(20), || c.sql("SHOW archive_command") != "false");
        c.sql("INSERT INTO t VALUES (101); SELECT pg_switch_wal()");
        c.wait_archived();
        let mut r3 = None;
        wait_until("a healthy check", Duration::from_secs(30), || {
            let rep = live::check(&mut s, &opts).unwrap();
            let ok = rep.healthy;
            r3 = Some(rep);
            ok
        });
        let r3 = r3.unwrap();
        assert!(!r3.archiver.failing);
        assert!(codes(&r3, Severity::Info).contains(&"archive_failed_earlier"));
        assert!(r3.lag.segments.unwrap() <= 1);
    }
}

#[test]
fn marks_record_the_position_and_restore_points_reach_the_archive() {
    for m in majors_under_test() {
        let c = good_cluster(m);
        c.sql("CREATE TABLE t(i int); INSERT INTO t VALUES (1)");
        let mut s = session(&c);
        let seg = s.server().wal_segment_size;

        let before = lsn(&c, "SELECT pg_current_wal_insert_lsn()");
        let m1 = live::mark(&mut s, &MarkOptions::default()).unwrap();
        let after = lsn(&c, "SELECT pg_current_wal_insert_lsn()");
        assert!(before <= m1.lsn && m1.lsn <= after, "{m}: {before} {} {after}", m1.lsn);
        let ins = m1.insert_lsn.unwrap();
        assert!(m1.lsn <= ins && ins <= after);
        assert_eq!(m1.timeline, 1);
        assert_eq!(m1.wal_file, SegmentName::of_lsn(1, m1.lsn, seg));
        if m >= 17 || m1.lsn.segment_offset(seg) != 0 {
            assert_eq!(m1.wal_file.to_string(), c.sql(&format!("SELECT pg_walfile_name('{}')", m1.lsn)));
        }
        assert_eq!(
            m1.system_id.unwrap().to_string(),
            c.sql("SELECT system_identifier FROM pg_control_system()")
        );
        let now: jiff::Timestamp = c
            .sql("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
            .parse()
            .unwrap();
        let skew = now.duration_since(m1.time).abs();
        assert!(skew < jiff::SignedDuration::from_secs(60), "{m}: {} vs {now}", m1.time);
        assert_eq!((m1.name.as_deref(), m1.restore_point_lsn, m1.switch_lsn), (None, None, None));

        // A named mark with a restore point and a WAL switch.
        c.sql("INSERT INTO t VALUES (2)");
        let opts = MarkOptions { name: Some("before-change".into()), restore_point: true, switch: true };
        let m2 = live::mark(&mut s, &opts).unwrap();
        let rp = m2.restore_point_lsn.unwrap();
        let sw = m2.switch_lsn.unwrap();
        assert!(m2.lsn < rp && rp < sw, "{m}: {} {rp} {sw}", m2.lsn);
        // The switch record follows the restore point; the next segment starts after it.
        assert_eq!(lsn(&c, "SELECT pg_current_wal_insert_lsn()").segment(seg), sw.prev_segment(seg) + 1);
        assert!(live::wait_archived(&mut s, &m2, Duration::from_secs(60)).unwrap());
        let archived = c.archived_files();
        for segno in [m2.lsn.segment(seg), rp.prev_segment(seg), mark_segment(&m2)] {
            let name = SegmentName::new(1, segno, seg).to_string();
            assert!(archived.contains(&name), "{m}: {name} not in {archived:?}");
        }

        // Right after the switch the write position is exactly on a segment
        // boundary (unless a background process wrote WAL meanwhile): there
        // pg_walfile_name() names the previous segment on 13-16, and pitr names
        // the segment the LSN is in, as 17+ does.
        let m_edge = live::mark(&mut s, &MarkOptions::default()).unwrap();
        let sql_name = c.sql(&format!("SELECT pg_walfile_name('{}')", m_edge.lsn));
        if m_edge.lsn.segment_offset(seg) == 0 {
            assert_eq!(m_edge.wal_file, SegmentName::new(1, m_edge.lsn.segment(seg), seg));
            let prev = SegmentName::new(1, m_edge.lsn.segment(seg) - 1, seg).to_string();
            assert_eq!(sql_name, if m >= 17 { m_edge.wal_file.to_string() } else { prev }, "{m}");
            assert!(m_edge.insert_lsn.unwrap() > m_edge.lsn, "the insert position is past the page header");
        } else {
            eprintln!("{m}: WAL was written after the switch; the boundary case was not exercised");
            assert_eq!(m_edge.wal_file.to_string(), sql_name);
        }

        // A named mark without a restore point; bad names.
        let m3 = live::mark(
            &mut s,
            &MarkOptions { name: Some("log-only".into()), restore_point: false, switch: false },
        )
        .unwrap();
        assert_eq!(m3.restore_point_lsn, None);
        let long = MarkOptions { name: Some("x".repeat(64)), restore_point: true, switch: false };
        assert!(matches!(live::mark(&mut s, &long), Err(LiveError::Invalid(_))));

        // The log.
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("marks.jsonl");
        for mk in [&m1, &m2, &m3] {
            live::append_mark(&log, mk).unwrap();
        }
        let marks = live::read_marks(&log).unwrap();
        assert_eq!(marks, vec![m1.clone(), m2.clone(), m3.clone()]);
        let t = live::mark_target(&marks, "before-change").unwrap();
        assert_eq!(t.kind, MarkTargetKind::RestorePoint { name: "before-change".into(), end_lsn: rp });
        let t = live::mark_target(&marks, "log-only").unwrap();
        assert_eq!(t.kind, MarkTargetKind::Lsn { lsn: m3.insert_lsn.unwrap(), inclusive: false });
    }
}

/// Copies the data directory between the backup API calls made on `s`.
fn sql_api_backup(c: &Cluster, s: &mut Session, dir: &Path) -> Lsn {
    let start = live::backup_start(s, "pitr live test", true).unwrap();
    pitr_testkit::copy_data_dir(c.pgdata(), dir);
    let stop = live::backup_stop(s, true).unwrap();
    assert!(stop.lsn > start);
    assert!(stop.label_file.contains(&format!("START WAL LOCATION: {start} ")), "{}", stop.label_file);
    assert_eq!(stop.tablespace_map, None);
    fs::write(dir.join("backup_label"), &stop.label_file).unwrap();
    start
}

#[test]
fn replay_status_and_resume_on_a_recovery_paused_at_a_mark() {
    for m in majors_under_test() {
        let c = good_cluster(m);
        c.sql("CREATE TABLE t(i int); INSERT INTO t VALUES (1)");
        let mut s = session(&c);
        let restored = c.scratch_dir("restored");
        sql_api_backup(&c, &mut s, &restored);
        c.sql("INSERT INTO t VALUES (2)");
        let mk = live::mark(
            &mut s,
            &MarkOptions { name: Some("before-oops".into()), restore_point: true, switch: true },
        )
        .unwrap();
        assert!(live::wait_archived(&mut s, &mk, Duration::from_secs(60)).unwrap());
        c.sql("INSERT INTO t VALUES (3)");
        c.switch_wal();

        // Recovery settings from the mark, as the planner will write them.
        let target = live::mark_target(std::slice::from_ref(&mk), "before-oops").unwrap();
        let mut auto = fs::read_to_string(restored.join("postgresql.auto.conf")).unwrap_or_default();
        auto.push_str(&format!("restore_command = 'cp {}/%f %p'\n", c.archive_dir().display()));
        for (k, v) in target.recovery_settings() {
            auto.push_str(&format!("{k} = '{v}'\n"));
        }
        auto.push_str("recovery_target_action = 'pause'\n");
        fs::write(restored.join("postgresql.auto.conf"), auto).unwrap();
        fs::write(restored.join("recovery.signal"), "").unwrap();
        let elsewhere = c.scratch_dir("restored-archive");
        let r = Cluster::adopt(m, &restored)
            .conf("archive_command", &format!("cp %p {}/%f", elsewhere.display()))
            .start();

        let mut rs = session(&r);
        wait_until("the pause at the target", Duration::from_secs(60), || {
            live::replay_status(&mut rs).unwrap().pause_state == Some(PauseState::Paused)
        });
        let st = live::replay_status(&mut rs).unwrap();
        assert!(st.in_recovery);
        assert_eq!(st.replay_lsn, mk.restore_point_lsn, "{m}: paused right after the restore point");
        assert_eq!(st.receive_lsn, None);
        let last_commit = st.last_xact_replay_time.unwrap();
        assert!(last_commit <= mk.time, "{m}: {last_commit} after the mark {}", mk.time);
        assert_eq!(st.timeline, Some(1));
        assert_eq!(r.sql("SELECT string_agg(i::text, ',' ORDER BY i) FROM t"), "1,2");

        // What a recovering server refuses, and what check says about it.
        assert!(matches!(live::mark(&mut rs, &MarkOptions::default()), Err(LiveError::InRecovery { .. })));
        let cr = live::check(&mut rs, &CheckOptions::default()).unwrap();
        assert!(cr.server.in_recovery);
        assert!(codes(&cr, Severity::Info).contains(&"standby_not_archiving"), "{m}: {:#?}", cr.problems);
        assert_eq!(cr.lag.segments, None);

        // Resume: the recovery was paused at its target, so it promotes.
        let rep = live::replay_resume(&mut rs, Duration::from_secs(60)).unwrap();
        assert_eq!(rep.outcome, ResumeOutcome::Promoted { timeline: Some(2) }, "{m}: {rep:?}");
        assert_eq!(rep.before.pause_state, Some(PauseState::Paused));
        assert!(!rep.after.in_recovery);
        assert_eq!(r.sql("SELECT pg_is_in_recovery()"), "f");
        assert_eq!(r.sql("SELECT string_agg(i::text, ',' ORDER BY i) FROM t"), "1,2");
        assert_eq!(rs.server().timeline, Some(2));
        assert!(!rs.server().in_recovery);

        // Nothing to resume any more.
        assert!(matches!(
            live::replay_resume(&mut rs, Duration::from_secs(1)),
            Err(LiveError::NotInRecovery { .. })
        ));
        let st = live::replay_status(&mut rs).unwrap();
        assert!(!st.in_recovery && st.pause_state.is_none());
    }
}

#[test]
fn replay_resume_lets_a_paused_standby_replay_again() {
    for m in majors_under_test() {
        let c = good_cluster(m);
        c.sql("CREATE TABLE t(i int); INSERT INTO t VALUES (1)");
        let b = c.base_backup(pitr_testkit::BackupKind::SqlApi);
        c.switch_wal();
        // An archive-fed standby (standby.signal, restore_command, no target).
        let mut auto = fs::read_to_string(b.dir.join("postgresql.auto.conf")).unwrap_or_default();
        auto.push_str(&format!("restore_command = 'cp {}/%f %p'\n", c.archive_dir().display()));
        fs::write(b.dir.join("postgresql.auto.conf"), auto).unwrap();
        fs::write(b.dir.join("standby.signal"), "").unwrap();
        let elsewhere = c.scratch_dir("standby-archive");
        let r = Cluster::adopt(m, &b.dir)
            .conf("archive_command", &format!("cp %p {}/%f", elsewhere.display()))
            .conf("wal_retrieve_retry_interval", "200ms")
            .start();
        let mut rs = session(&r);
        let caught_up = lsn(&c, "SELECT pg_current_wal_lsn()");
        wait_until("the standby to catch up", Duration::from_secs(60), || {
            live::replay_status(&mut rs).unwrap().replay_lsn >= Some(Lsn(caught_up.0 - 0x100))
        });

        // Pause; new WAL is archived but not replayed.
        r.sql("SELECT pg_wal_replay_pause()");
        wait_until("the pause request", Duration::from_secs(30), || {
            live::replay_status(&mut rs).unwrap().pause_state != Some(PauseState::NotPaused)
        });
        let paused_at = live::replay_status(&mut rs).unwrap().replay_lsn;
        c.sql("INSERT INTO t VALUES (2)");
        c.switch_wal();
        std::thread::sleep(Duration::from_secs(1));
        let st = live::replay_status(&mut rs).unwrap();
        assert_eq!(st.replay_lsn, paused_at, "{m}: replay moved while paused");
        assert!(st.in_recovery && st.pause_state != Some(PauseState::NotPaused));

        let rep = live::replay_resume(&mut rs, Duration::from_secs(60)).unwrap();
        match rep.outcome {
            ResumeOutcome::Replaying { replay_lsn } => assert!(replay_lsn > paused_at, "{m}: {rep:?}"),
            other => panic!("{m}: expected replaying, got {other:?}"),
        }
        assert!(rep.after.in_recovery);
        assert_eq!(rep.after.pause_state, Some(PauseState::NotPaused));
        wait_until("row 2 on the standby", Duration::from_secs(60), || {
            r.sql("SELECT count(*) FROM t") == "2"
        });
    }
}

#[test]
fn an_unprivileged_role_gets_a_partial_check_and_clear_refusals() {
    for m in majors_under_test() {
        let c = good_cluster(m);
        switch_and_wait(&c);
        c.sql("CREATE ROLE watcher LOGIN");
        let dsn = format!("host=127.0.0.1 port={} user=watcher dbname=postgres", c.port());
        let mut s = Session::connect(&ConnectOptions::new(dsn.clone())).unwrap();
        let r = live::check(&mut s, &CheckOptions::default()).unwrap();
        assert_eq!(r.lag.ready_files, None, "{m}");
        assert!(codes(&r, Severity::Info).contains(&"ready_files_unavailable"), "{m}: {:#?}", r.problems);
        assert_eq!(r.settings.archive_mode.as_deref(), Some("on"));
        assert!(r.lag.segments.is_some(), "{m}: the lag still comes from pg_stat_archiver");
        // Restore points need a superuser or a GRANT: a clear error, no mark.
        let e =
            live::mark(&mut s, &MarkOptions { name: Some("x".into()), restore_point: true, switch: false })
                .unwrap_err()
                .to_string();
        assert!(e.contains("pg_create_restore_point") && e.contains("permission denied"), "{m}: {e}");
        // pg_monitor opens the archive_status directory.
        c.sql("GRANT pg_monitor TO watcher");
        let mut s = Session::connect(&ConnectOptions::new(dsn)).unwrap();
        let r = live::check(&mut s, &CheckOptions::default()).unwrap();
        assert!(r.lag.ready_files.is_some(), "{m}");
        assert!(r.healthy, "{m}: {:#?}", r.problems);
    }
}

#[test]
fn unreachable_servers_are_named() {
    let port = pitr_testkit::free_port();
    let e = Session::connect(&ConnectOptions {
        dsn: format!("host=127.0.0.1 port={port} user=postgres connect_timeout=2"),
        ..ConnectOptions::default()
    })
    .unwrap_err();
    assert!(e.is_connect());
    let text = e.to_string();
    assert!(text.contains(&format!("host=127.0.0.1 port={port}")), "{text}");
    assert!(matches!(Session::connect(&ConnectOptions::new("hots=x")), Err(LiveError::Dsn(_))));
}
