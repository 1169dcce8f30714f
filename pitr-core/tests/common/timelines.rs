//! A real archive with three timelines, shared by the archive tests of
//! pitr-core and of the command line (included with `#[path]`).
//!
//! Timeline 1: a cluster takes SQL-API backup `b1`, writes WAL over several
//! segments and stops. Timeline 2: `b1` is restored with a recovery target (a
//! commit in the middle of timeline 1's WAL) and `recovery_target_action =
//! promote`, archiving into the same directory; it takes SQL-API backup `b2`,
//! writes WAL and stops. Timeline 3: `b2` is restored without a target (end of
//! WAL) and promotes; it writes WAL and stops. What the servers report is
//! recorded to compare the inventory with.

#![allow(dead_code, clippy::unwrap_used)]

use pitr_testkit::scenario::restore_and_start;
use pitr_testkit::{Backup, BackupKind, Cluster, TestDir};
use std::path::{Path, PathBuf};

/// What the servers reported for one timeline.
#[derive(Debug, Clone)]
pub struct TimelineFacts {
    pub timeline: u32,
    /// The parent named by the server's own history file (none for 1).
    pub parent: Option<u32>,
    /// The switch LSN from the server's own `pg_wal/<tli>.history` (`pg_read_file`).
    pub switch_lsn: Option<String>,
    /// The server's own history file text.
    pub history_text: Option<String>,
    /// First segment the timeline wrote (pg_ls_waldir at initdb for 1;
    /// pg_walfile_name(pg_current_wal_lsn()) right after promotion for the others).
    pub first: String,
    /// `pg_walfile_name(pg_switch_wal())` of the last switch on the timeline.
    pub last: String,
}

/// The built archive.
#[derive(Debug)]
pub struct Timelines {
    pub major: u32,
    pub archive_dir: TestDir,
    pub system_id: String,
    pub tl: Vec<TimelineFacts>,
    pub b1: Backup,
    pub b2: Backup,
    /// Clusters (stopped), kept so that the backups' directories live on.
    pub clusters: Vec<Cluster>,
    /// Directories of the restored data directories (dropped after the clusters).
    pub work: Vec<TestDir>,
    /// Rows of `t` at the end of timeline 3.
    pub final_rows: String,
}

impl Timelines {
    pub fn archive(&self) -> &Path {
        self.archive_dir.path()
    }

    pub fn facts(&self, tli: u32) -> &TimelineFacts {
        &self.tl[(tli - 1) as usize]
    }
}

fn write_wal(c: &Cluster, tag: &str, segments: usize) -> String {
    let mut last = String::new();
    for i in 0..segments {
        c.sql(&format!("INSERT INTO t SELECT '{tag}', g, repeat('x', 200) FROM generate_series(1, 1500) g"));
        if i + 1 == segments {
            last = c.sql("SELECT pg_walfile_name(pg_switch_wal())");
        } else {
            c.sql("SELECT pg_switch_wal()");
        }
    }
    c.wait_archived();
    last
}

fn history_of(c: &Cluster, tli: u32) -> (String, String) {
    let text = c.sql(&format!("SELECT pg_read_file('pg_wal/{tli:08X}.history')"));
    let last = text.lines().rfind(|l| !l.trim().is_empty()).unwrap();
    (text.clone(), last.split('\t').nth(1).unwrap().to_string())
}

fn promoted_facts(c: &Cluster, tli: u32) -> (Option<u32>, String, String) {
    c.sql("CHECKPOINT");
    let now = c.sql("SELECT timeline_id FROM pg_control_checkpoint()");
    assert_eq!(now, tli.to_string(), "server is not on timeline {tli}");
    let (text, switch) = history_of(c, tli);
    let last = text.lines().rfind(|l| !l.trim().is_empty()).unwrap();
    let parent: u32 = last.split('\t').next().unwrap().parse().unwrap();
    (Some(parent), text, switch)
}

/// Builds the three-timeline archive on `major`.
pub fn build(major: u32) -> Timelines {
    let archive_dir = TestDir::new(&format!("tl-archive{major}"));
    let archive = archive_dir.path().to_path_buf();
    let mut c1 = Cluster::builder(major).archive_dir(&archive).start();
    let first1 = c1.sql("SELECT min(name) FROM pg_ls_waldir() WHERE name ~ '^[0-9A-F]{24}$'");
    let system_id = c1.sql("SELECT system_identifier FROM pg_control_system()");
    c1.sql("CREATE TABLE t(tag text, i int, pad text)");
    let b1 = c1.base_backup(BackupKind::SqlApi);
    write_wal(&c1, "tl1-a", 2);
    let target_xid =
        c1.sql("BEGIN; INSERT INTO t VALUES ('tl1-target', 0, ''); SELECT txid_current(); COMMIT;");
    let last1 = write_wal(&c1, "tl1-b", 3);
    c1.stop();

    // Timeline 2: PITR to the target commit, promote.
    let work2 = TestDir::new(&format!("tl2-{major}"));
    let pgdata2 = work2.subdir("pgdata");
    let mut c2 = restore_and_start(
        major,
        &b1,
        &pgdata2,
        &archive,
        &format!("recovery_target_xid = '{}'\nrecovery_target_action = 'promote'\n", target_xid.trim()),
    );
    let first2 = c2.sql("SELECT pg_walfile_name(pg_current_wal_lsn())");
    let (parent2, hist2, switch2) = promoted_facts(&c2, 2);
    // The recovery settings were appended to postgresql.auto.conf; a backup of
    // this server must not carry them.
    c2.sql("ALTER SYSTEM RESET ALL");
    write_wal(&c2, "tl2-a", 1);
    let b2 = c2.base_backup(BackupKind::SqlApi);
    let last2 = write_wal(&c2, "tl2-b", 2);
    c2.stop();

    // Timeline 3: b2 restored to the end of WAL, promoted.
    let work3 = TestDir::new(&format!("tl3-{major}"));
    let pgdata3 = work3.subdir("pgdata");
    let mut c3 = restore_and_start(major, &b2, &pgdata3, &archive, "recovery_target_action = 'promote'\n");
    let first3 = c3.sql("SELECT pg_walfile_name(pg_current_wal_lsn())");
    let (parent3, hist3, switch3) = promoted_facts(&c3, 3);
    write_wal(&c3, "tl3-a", 2);
    // Reading sets hint bits, which (with data checksums, the default from 18
    // on) writes WAL: switch once more after it.
    let final_rows = c3.sql("SELECT tag, count(*) FROM t GROUP BY tag ORDER BY tag");
    let last3 = c3.sql("SELECT pg_walfile_name(pg_switch_wal())");
    c3.wait_archived();
    c3.stop();

    Timelines {
        major,
        archive_dir,
        system_id,
        tl: vec![
            TimelineFacts {
                timeline: 1,
                parent: None,
                switch_lsn: None,
                history_text: None,
                first: first1,
                last: last1,
            },
            TimelineFacts {
                timeline: 2,
                parent: parent2,
                switch_lsn: Some(switch2),
                history_text: Some(hist2),
                first: first2,
                last: last2,
            },
            TimelineFacts {
                timeline: 3,
                parent: parent3,
                switch_lsn: Some(switch3),
                history_text: Some(hist3),
                first: first3,
                last: last3,
            },
        ],
        b1,
        b2,
        clusters: vec![c1, c2, c3],
        work: vec![work2, work3],
        final_rows,
    }
}

/// Copies every file of `from` (flat) into a new directory.
pub fn copy_archive(from: &Path, name: &str) -> (TestDir, PathBuf) {
    let d = TestDir::new(name);
    let to = d.path().to_path_buf();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
    pitr_testkit::give_to_server_user(&to);
    (d, to)
}
