//! Progress of the long WAL scans (`plan_with_progress`, `find_with_progress`,
//! `restore_with_progress`) on real WAL: one call per segment file entered,
//! counting 1, 2, 3... of the files the scan may read; a scan that stops at
//! its target stops counting there; the report is the one the plain call
//! gives. A callback that returns `Break` stops the scan there with
//! `Error::Cancelled`, and a cancelled restore writes nothing; nor does one
//! whose interrupt flag is raised (`Error::Interrupted`).

#![allow(clippy::unwrap_used)]

use pitr_core::Error;
use pitr_core::plan::{
    FindInput, FindRequest, PlanRequest, RestoreRequest, TargetSpec, find, find_with_progress, plan,
    plan_with_progress, restore_with_progress,
};
use pitr_testkit::{BackupKind, Cluster, majors_under_test};
use std::cell::RefCell;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// The `(done, total)` calls of a progress callback; asks to stop at call
/// `stop_at` when set.
#[derive(Default)]
struct Calls(RefCell<Vec<(u64, u64)>>, Option<usize>);

impl Calls {
    fn stopping_at(call: usize) -> Calls {
        Calls(RefCell::default(), Some(call))
    }

    fn push(&self, done: u64, total: u64) -> ControlFlow<()> {
        let mut calls = self.0.borrow_mut();
        calls.push((done, total));
        if self.1 == Some(calls.len()) { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    }
}

/// `calls` count 1, 2, ... with one total, and end at `last`.
fn assert_counts(calls: &[(u64, u64)], last: u64) {
    assert!(!calls.is_empty());
    let total = calls[0].1;
    for (i, (done, t)) in calls.iter().enumerate() {
        assert_eq!((*done, *t), (i as u64 + 1, total), "{calls:?}");
    }
    assert_eq!(calls.last().unwrap().0, last, "{calls:?}");
}

#[test]
fn plan_find_and_restore_report_each_segment_file() {
    let major = if majors_under_test().contains(&15) { 15 } else { *majors_under_test().last().unwrap() };
    let c = Cluster::new(major);
    c.sql("CREATE TABLE t(i int, pad text)");
    let b = c.base_backup(BackupKind::SqlApi);
    // Several 1 MB segments of WAL after the backup, a target in the middle.
    let mut middle = String::new();
    for round in 0..6 {
        c.sql(&format!(
            "INSERT INTO t SELECT g, repeat('x', 200) FROM generate_series(1, 3000) g -- {round}"
        ));
        if round == 2 {
            middle = c.sql("SELECT pg_current_wal_insert_lsn()");
        }
    }
    c.switch_wal();
    c.wait_archived();

    // End of WAL: every file of the path is read, the last call is the total.
    let req = PlanRequest::new(&b.dir, c.archive_dir());
    let calls = Calls::default();
    let with = plan_with_progress(&req, &|d, t| calls.push(d, t)).unwrap();
    let calls = calls.0.into_inner();
    let total = calls[0].1;
    assert!(total >= 5, "{calls:?}");
    assert_counts(&calls, total);
    let without = plan(&req).unwrap();
    assert_eq!(serde_json::to_value(&with).unwrap(), serde_json::to_value(&without).unwrap());
    assert!(with.reachable, "{with:#?}");
    assert_eq!(with.wal_files.len() as u64, total, "{:?} {calls:?}", with.wal_files);

    // A target in the middle: the scan stops counting where it stops.
    let mut mid = PlanRequest::new(&b.dir, c.archive_dir());
    mid.target = TargetSpec::Lsn(middle.clone());
    let calls = Calls::default();
    let p = plan_with_progress(&mid, &|d, t| calls.push(d, t)).unwrap();
    let calls = calls.0.into_inner();
    assert!(p.reachable, "{p:#?}");
    let stopped_at = calls.last().unwrap().0;
    assert!(stopped_at < total, "target {middle}, {calls:?}");
    assert_counts(&calls, stopped_at);
    assert_eq!(p.wal_files.len() as u64, stopped_at, "{:?} {calls:?}", p.wal_files);

    // find over the archive from the backup: every file, same report as find().
    let freq = FindRequest::new(FindInput::Archive {
        archive: c.archive_dir().to_path_buf(),
        backup: Some(b.dir.clone()),
    });
    let calls = Calls::default();
    let found = find_with_progress(&freq, &|d, t| calls.push(d, t)).unwrap();
    let calls = calls.0.into_inner();
    assert_counts(&calls, calls[0].1);
    assert!(calls[0].1 >= total, "{calls:?}");
    assert_eq!(serde_json::to_value(&found).unwrap(), serde_json::to_value(find(&freq).unwrap()).unwrap());

    // restore reports the plan's scan, then restores.
    let pgdata = c.scratch_dir("progress-restore");
    let rreq = RestoreRequest {
        plan: mid,
        pgdata: pgdata.clone(),
        force: false,
        tablespaces: Default::default(),
        interrupt: None,
    };
    let calls = Calls::default();
    let report = restore_with_progress(&rreq, &|d, t| calls.push(d, t)).unwrap();
    assert!(report.restored, "{report:#?}");
    assert_counts(&calls.0.into_inner(), stopped_at);
    assert!(pgdata.join("recovery.signal").is_file());

    // Cancelled at the second file: the error names it, nothing more is read.
    for stop in [1, 2] {
        let calls = Calls::stopping_at(stop);
        let e = plan_with_progress(&req, &|d, t| calls.push(d, t)).unwrap_err();
        assert!(matches!(e, Error::Cancelled { done, total: t } if done == stop as u64 && t == total), "{e}");
        assert_eq!(e.to_string(), format!("cancelled by the caller at WAL file {stop} of {total}"));
        assert_counts(&calls.0.into_inner(), stop as u64);
        let calls = Calls::stopping_at(stop);
        let e = find_with_progress(&freq, &|d, t| calls.push(d, t)).unwrap_err();
        assert!(matches!(e, Error::Cancelled { done, .. } if done == stop as u64), "{e}");
        assert_counts(&calls.0.into_inner(), stop as u64);
    }
    // A cancelled restore writes nothing: a new directory is not created, an
    // empty one stays empty.
    for (name, create) in [("cancelled-new", false), ("cancelled-empty", true)] {
        let pgdata = c.scratch_dir(name);
        std::fs::remove_dir(&pgdata).unwrap();
        if create {
            std::fs::create_dir(&pgdata).unwrap();
        }
        let req = RestoreRequest { pgdata: pgdata.clone(), ..rreq.clone() };
        let calls = Calls::stopping_at(2);
        let e = restore_with_progress(&req, &|d, t| calls.push(d, t)).unwrap_err();
        assert!(matches!(e, Error::Cancelled { done: 2, .. }), "{e}");
        let nothing_written = |pgdata: &std::path::Path| {
            if create {
                assert_eq!(std::fs::read_dir(pgdata).unwrap().count(), 0);
            } else {
                assert!(!pgdata.exists());
            }
        };
        nothing_written(&pgdata);
        // The interrupt flag (raised here before the call): the scan is done,
        // the copy stops at its first file and is removed again.
        let flag = Arc::new(AtomicBool::new(true));
        let req = RestoreRequest { interrupt: Some(flag), ..req };
        let e = restore_with_progress(&req, &|d, t| calls.push(d, t)).unwrap_err();
        assert!(matches!(e, Error::Interrupted), "{e}");
        nothing_written(&pgdata);
    }
}
