//! A recorded PITR history on a real server, shared by the tests that need
//! "known commits, an abort, a two-phase commit, a restore point, a DROP TABLE
//! and timelines 2 and 3".
//!
//! A table `t(id)` holds row 1 and a table `victim` 100 rows when the base
//! backup (SQL API) is taken. On timeline 1, after the base backup, in this order (each a separate
//! transaction, with its xid and commit timestamp recorded):
//!
//! | step | what | rows of `t` after it |
//! |---|---|---|
//! | `c2` | INSERT 2, COMMIT | 1, 2 |
//! | restore point `rp_one` | | |
//! | `c3` | INSERT 3, COMMIT | 1, 2, 3 |
//! | `a4` | INSERT 4, ROLLBACK (an abort record) | 1, 2, 3 |
//! | `p5` | INSERT 5, PREPARE TRANSACTION, COMMIT PREPARED | 1, 2, 3, 5 |
//! | `c6` | INSERT 6, COMMIT | 1, 2, 3, 5, 6 |
//! | `drop` | DROP TABLE victim | |
//! | `c7` | INSERT 7, COMMIT | 1, 2, 3, 5, 6, 7 |
//!
//! then `pg_switch_wal()`. Timeline 2 is made by restoring the backup with
//! `recovery_target_xid = <c6>` and `recovery_target_action = promote`: it
//! forks after `c6`, inserts 20 (`t2_c20`) and switches WAL. Timeline 3 is
//! made by restoring the backup again with `recovery_target_timeline = latest`
//! and no target: it replays timeline 2 to its end, promotes, inserts 30
//! (`t3_c30`) and switches WAL. Every server archives into one archive; all
//! are stopped when the scenario is built.

use crate::{Backup, BackupKind, Cluster, TestDir};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One recorded transaction (or restore point) of the scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Step name (`c2`, `rp_one`, `a4`, `p5`, ...).
    pub name: String,
    /// Timeline it happened on.
    pub timeline: u32,
    /// Transaction id (0 for the restore point).
    pub xid: u32,
    /// Commit/abort time as recorded by the server, `YYYY-MM-DD HH:MM:SS.ffffff` UTC
    /// (for an abort: the clock just after it; for the restore point: just before).
    pub time: String,
    /// `pg_current_wal_lsn()` right after the step.
    pub lsn_after: String,
    /// Rows of `t` visible once this step is applied.
    pub rows_after: Vec<i32>,
}

/// The built scenario. Servers are stopped; the archive and the backup remain
/// until the scenario is dropped.
#[derive(Debug)]
pub struct Scenario {
    /// Major version.
    pub major: u32,
    /// The primary (timeline 1), stopped. Its work dir holds the backup.
    pub primary: Cluster,
    /// The base backup (SQL API) taken after row 1.
    pub backup: Backup,
    /// A second base backup taken on timeline 1 right after `c7` (and the
    /// restore point `rp_tl1`, which exists only on timeline 1), i.e. after
    /// timeline 2 forked off, while timelines 2 and 3 have their own copies of
    /// the segment holding its checkpoint.
    pub late_backup: Backup,
    /// A third base backup taken on timeline 1 several segments later, beyond
    /// the WAL of timelines 2 and 3: the backup of the "not a child" trap.
    pub later_backup: Backup,
    /// Steps in the order they happened.
    pub steps: Vec<Step>,
    /// `relfilenode` of the dropped table `victim`.
    pub victim_relfilenode: u32,
    /// The first LSN of timeline 2 (its switch point) and of timeline 3, as the
    /// history files say.
    pub switch_points: BTreeMap<u32, String>,
    dir: TestDir,
}

impl Scenario {
    /// The WAL archive (every timeline).
    pub fn archive(&self) -> &Path {
        self.primary.archive_dir()
    }

    /// A step by name.
    pub fn step(&self, name: &str) -> &Step {
        self.steps.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no step {name}"))
    }

    /// A fresh, empty directory the server user can write (for restores).
    pub fn scratch(&self, name: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        assert!(!p.exists(), "{} already used", p.display());
        self.dir.subdir(name)
    }

    /// Builds the scenario on `major` (takes a few seconds).
    pub fn build(major: u32) -> Scenario {
        let dir = TestDir::new(&format!("scenario{major}"));
        let mut primary = Cluster::new(major);
        primary.sql(
            "CREATE TABLE t(id int PRIMARY KEY); INSERT INTO t VALUES (1);\
             CREATE TABLE victim(id int, note text); INSERT INTO victim SELECT g, 'row ' || g FROM generate_series(1, 100) g;",
        );
        let victim_relfilenode: u32 =
            primary.sql("SELECT relfilenode FROM pg_class WHERE relname = 'victim'").parse().unwrap();
        let backup = primary.base_backup(BackupKind::SqlApi);
        let mut steps = Vec::new();
        let mut rows = vec![1];

        let commit = |c: &Cluster, name: &str, tl: u32, row: i32, rows: &mut Vec<i32>| -> Step {
            let xid: u32 = c
                .sql(&format!("BEGIN; INSERT INTO t VALUES ({row}); SELECT txid_current(); COMMIT;"))
                .trim()
                .parse()
                .unwrap();
            rows.push(row);
            rows.sort();
            step_after(c, name, tl, xid, commit_time(c, xid), rows.clone())
        };
        let pause = || std::thread::sleep(Duration::from_millis(30));

        steps.push(commit(&primary, "c2", 1, 2, &mut rows));
        pause();
        let rp_time = now(&primary);
        primary.sql("SELECT pg_create_restore_point('rp_one')");
        steps.push(step_after(&primary, "rp_one", 1, 0, rp_time, rows.clone()));
        pause();
        steps.push(commit(&primary, "c3", 1, 3, &mut rows));
        pause();
        let xid: u32 = primary
            .sql("BEGIN; INSERT INTO t VALUES (4); SELECT txid_current(); ROLLBACK;")
            .trim()
            .parse()
            .unwrap();
        steps.push(step_after(&primary, "a4", 1, xid, now(&primary), rows.clone()));
        pause();
        let xid: u32 = primary
            .sql("BEGIN; INSERT INTO t VALUES (5); SELECT txid_current(); PREPARE TRANSACTION 'p5';")
            .trim()
            .parse()
            .unwrap();
        pause();
        primary.sql("COMMIT PREPARED 'p5'");
        rows.push(5);
        steps.push(step_after(&primary, "p5", 1, xid, commit_time(&primary, xid), rows.clone()));
        pause();
        steps.push(commit(&primary, "c6", 1, 6, &mut rows));
        pause();
        let xid: u32 =
            primary.sql("BEGIN; DROP TABLE victim; SELECT txid_current(); COMMIT;").trim().parse().unwrap();
        steps.push(step_after(&primary, "drop", 1, xid, commit_time(&primary, xid), rows.clone()));
        pause();
        steps.push(commit(&primary, "c7", 1, 7, &mut rows));
        primary.sql("SELECT pg_create_restore_point('rp_tl1')");
        let late_backup = primary.base_backup(BackupKind::SqlApi);
        primary.sql("CREATE TABLE filler(x text)");
        for _ in 0..6 {
            primary.sql("INSERT INTO filler VALUES (repeat('x', 1000))");
            primary.switch_wal();
        }
        let later_backup = primary.base_backup(BackupKind::SqlApi);
        primary.switch_wal();
        primary.stop();

        // Timeline 2: PITR to c6 (inclusive) and promote.
        let c6 = steps.iter().find(|s| s.name == "c6").unwrap().clone();
        let tl2 = restore_and_start(
            major,
            &backup,
            &dir.subdir("tl2"),
            primary.archive_dir(),
            &format!("recovery_target_xid = '{}'\nrecovery_target_action = 'promote'\n", c6.xid),
        );
        let mut rows2 = c6.rows_after.clone();
        steps.push(commit(&tl2, "t2_c20", 2, 20, &mut rows2));
        tl2.switch_wal();
        drop(tl2);

        // Timeline 3: replay timeline 2 to its end and promote.
        let tl3 = restore_and_start(
            major,
            &backup,
            &dir.subdir("tl3"),
            primary.archive_dir(),
            "recovery_target_timeline = 'latest'\n",
        );
        let mut rows3 = rows2.clone();
        steps.push(commit(&tl3, "t3_c30", 3, 30, &mut rows3));
        tl3.switch_wal();
        drop(tl3);

        let mut switch_points = BTreeMap::new();
        for tli in [2u32, 3] {
            let h = fs::read_to_string(primary.archive_dir().join(format!("{tli:08X}.history")))
                .unwrap_or_else(|e| panic!("{tli:08X}.history missing from the archive: {e}"));
            let last = h.lines().rfind(|l| !l.trim().is_empty()).unwrap();
            switch_points.insert(tli, last.split('\t').nth(1).unwrap().to_string());
        }
        Scenario {
            major,
            primary,
            backup,
            late_backup,
            later_backup,
            steps,
            victim_relfilenode,
            switch_points,
            dir,
        }
    }
}

fn now(c: &Cluster) -> String {
    c.sql("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')")
}

fn commit_time(c: &Cluster, xid: u32) -> String {
    c.sql(&format!(
        "SELECT to_char(pg_xact_commit_timestamp('{xid}'::xid) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"
    ))
}

fn step_after(c: &Cluster, name: &str, timeline: u32, xid: u32, time: String, rows_after: Vec<i32>) -> Step {
    let lsn_after = c.sql("SELECT pg_current_wal_lsn()");
    Step { name: name.to_string(), timeline, xid, time, lsn_after, rows_after }
}

/// Copies a SQL-API or plain backup into `pgdata` (a fresh directory), writes
/// `recovery.signal` and `restore_command` plus `settings` into
/// `postgresql.auto.conf`, starts it and waits until it has left recovery
/// (the settings must make it promote).
pub fn restore_and_start(
    major: u32,
    backup: &Backup,
    pgdata: &Path,
    archive: &Path,
    settings: &str,
) -> Cluster {
    assert!(matches!(backup.kind, BackupKind::SqlApi | BackupKind::Plain));
    crate::copy_data_dir(&backup.dir, pgdata);
    for f in ["backup_label", "tablespace_map"] {
        if backup.dir.join(f).exists() {
            fs::copy(backup.dir.join(f), pgdata.join(f)).unwrap();
        }
    }
    let mut auto = fs::read_to_string(pgdata.join("postgresql.auto.conf")).unwrap_or_default();
    auto.push_str(&format!("restore_command = 'cp {}/%f %p'\n{settings}", archive.display()));
    fs::write(pgdata.join("postgresql.auto.conf"), auto).unwrap();
    fs::write(pgdata.join("recovery.signal"), "").unwrap();
    let c = Cluster::adopt(major, pgdata).archive_dir(archive).start();
    let start = Instant::now();
    while c.sql("SELECT pg_is_in_recovery()") == "t" {
        assert!(start.elapsed() < Duration::from_secs(120), "restored server did not promote:\n{}", c.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_builds_three_timelines() {
        for major in crate::majors_under_test() {
            check(&Scenario::build(major));
        }
    }

    fn check(s: &Scenario) {
        let names: Vec<&str> = s.steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["c2", "rp_one", "c3", "a4", "p5", "c6", "drop", "c7", "t2_c20", "t3_c30"]);
        assert_eq!(s.step("t3_c30").rows_after, vec![1, 2, 3, 5, 6, 20, 30]);
        let files = s.primary.archived_files();
        for f in ["00000002.history", "00000003.history"] {
            assert!(files.iter().any(|n| n == f), "{files:?}");
        }
        assert!(files.iter().any(|n| n.starts_with("00000003") && n.len() == 24), "{files:?}");
        assert!(s.switch_points[&2].contains('/'));
        assert!(s.step("p5").xid > s.step("a4").xid);
    }
}
