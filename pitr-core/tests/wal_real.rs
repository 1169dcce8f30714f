//! The WAL reader against WAL written by real PostgreSQL servers, 13 to 18:
//! record lists identical to pg_waldump 15's, every CRC verified, commits with
//! the xids and timestamps SQL recorded, restore points, two-phase commits, a
//! logical message larger than a segment, compressed segments, and damage
//! (flipped bytes, truncation, bad prev-links, page headers, continuations,
//! recycled and foreign segments) reported at the right LSN and file.

#![allow(clippy::unwrap_used)]

use pitr_core::Lsn;
use pitr_core::wal::decode::{Decoded, XactKind};
use pitr_core::wal::{
    self, DataFilter, EndReason, Event, ReaderOptions, Stats, VerifyOptions, WalError, WalReader, WalSource,
    decode_record, desc, rmgr,
};
use pitr_testkit::{Cluster, majors_under_test, pg_tool};
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What the workload did, as SQL saw it.
struct Workload {
    /// (kind, xid, commit timestamp as RFC 3339 UTC with microseconds).
    commits: Vec<(String, u32, String)>,
    /// The prepared transaction's xid.
    prepared_xid: u32,
    /// The transaction with a released and a rolled-back savepoint.
    sub_top_xid: u32,
    /// What `pg_create_restore_point('pitr_rp')` returned.
    restore_point_end: Lsn,
    /// What `pg_logical_emit_message(.., 'pitr_big', 1.5 MB)` returned.
    big_message_end: Lsn,
    /// What the last `pg_switch_wal()` returned.
    switch_lsn: Lsn,
}

const BIG: usize = 1_500_000;

fn lsn(s: &str) -> Lsn {
    s.trim().parse().unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

fn run_workload(c: &Cluster) -> Workload {
    c.sql("CREATE TABLE t(a int primary key, b text); CREATE TABLE ids(kind text, x text)");
    for i in 0..5 {
        c.sql(&format!(
            "BEGIN; INSERT INTO t VALUES ({i}, repeat('x', 200)); \
             INSERT INTO ids VALUES ('plain', pg_current_xact_id()::text); COMMIT"
        ));
    }
    c.sql(
        "BEGIN; INSERT INTO ids VALUES ('sub', pg_current_xact_id()::text); \
         SAVEPOINT a; INSERT INTO t VALUES (100, 'a'); RELEASE a; \
         SAVEPOINT b; INSERT INTO t VALUES (101, 'b'); ROLLBACK TO b; COMMIT",
    );
    c.sql("BEGIN; INSERT INTO t VALUES (200, 'gone'); ROLLBACK");
    c.sql(
        "BEGIN; INSERT INTO t VALUES (300, 'p'); INSERT INTO ids VALUES ('2pc', pg_current_xact_id()::text); \
         PREPARE TRANSACTION 'pitr_gid'",
    );
    c.sql("COMMIT PREPARED 'pitr_gid'");
    let restore_point_end = lsn(&c.sql("SELECT pg_create_restore_point('pitr_rp')"));
    let big_message_end =
        lsn(&c.sql(&format!("SELECT pg_logical_emit_message(false, 'pitr_big', repeat('m', {BIG}))")));
    c.sql("CREATE TABLE t2 AS SELECT * FROM t; TRUNCATE t2; DROP TABLE t2");
    c.sql("CHECKPOINT");
    c.sql("UPDATE t SET b = 'y'");
    c.sql("INSERT INTO ids VALUES ('last', pg_current_xact_id()::text)");
    let switch_lsn = lsn(&c.switch_wal());
    let rows = c.sql(
        "SELECT kind, x, to_char(pg_xact_commit_timestamp(x::xid) AT TIME ZONE 'UTC', \
         'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM ids ORDER BY x::bigint",
    );
    let commits: Vec<(String, u32, String)> = rows
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            (f[0].to_string(), f[1].parse().unwrap(), f[2].to_string())
        })
        .collect();
    assert_eq!(commits.len(), 8, "{rows}");
    let find = |k: &str| commits.iter().find(|c| c.0 == k).map(|c| c.1).unwrap();
    Workload {
        prepared_xid: find("2pc"),
        sub_top_xid: find("sub"),
        commits,
        restore_point_end,
        big_message_end,
        switch_lsn,
    }
}

/// A record, owned.
#[derive(Debug, Clone, PartialEq)]
struct Rec {
    lsn: Lsn,
    end: Lsn,
    prev: Lsn,
    rmid: u8,
    info: u8,
    xid: u32,
    tot_len: u32,
    rec_len: u32,
    file: PathBuf,
    line: String,
}

/// Reads every record of `source` (all bytes kept); panics on damage.
fn read_all(source: WalSource, opts: ReaderOptions) -> (Vec<Rec>, pitr_core::wal::WalEnd, WalReader) {
    let mut r = WalReader::open(source, opts).unwrap();
    let mut out = Vec::new();
    while let Some(rec) =
        r.next_record().unwrap_or_else(|e| panic!("damage after {} records: {e}", out.len()))
    {
        let mut line = String::new();
        desc::waldump_line(&rec, &mut line);
        out.push(Rec {
            lsn: rec.lsn,
            end: rec.end_lsn,
            prev: rec.prev(),
            rmid: rec.rmid(),
            info: rec.info(),
            xid: rec.xid(),
            tot_len: rec.tot_len(),
            rec_len: rec.rec_len(),
            file: rec.file().to_path_buf(),
            line,
        });
    }
    let end = r.end().cloned().unwrap();
    (out, end, r)
}

/// Archived segment file names, sorted.
fn archived_segments(c: &Cluster) -> Vec<String> {
    c.archived_files().into_iter().filter(|n| n.len() == 24).collect()
}

/// Copies the archived segments into a fresh directory.
fn copy_archive(c: &Cluster, name: &str) -> PathBuf {
    let dir = c.scratch_dir(name);
    for n in archived_segments(c) {
        fs::copy(c.archive_dir().join(&n), dir.join(&n)).unwrap();
    }
    dir
}

fn checks_on_workload(c: &Cluster, w: &Workload) -> Vec<Rec> {
    let major = c.major();
    let (recs, end, reader) = read_all(WalSource::dir(c.archive_dir()).unwrap(), ReaderOptions::default());
    assert_eq!(reader.info().major.number(), major);
    assert!(recs.len() > 500, "PostgreSQL {major}: only {} records", recs.len());
    // The last archived segment ends with the switch; the next one is absent.
    let last = recs.last().unwrap();
    assert_eq!(rmgr::record_type_name(reader.info().major, last.rmid, last.info), Some("SWITCH"));
    assert!(matches!(end.reason, EndReason::NextSegmentAbsent { .. }), "{end}");
    // pg_switch_wal() returns the end of the switch record; the reader's end is
    // the end of that segment (the switch record "fills" it).
    assert_eq!(Lsn(last.lsn.0 + 24), w.switch_lsn);
    let seg = reader.info().seg_size;
    assert_eq!(end.end_lsn, seg.segment_end(last.lsn.segment(seg)));
    // prev-links chain and every record is where the previous one ended.
    for pair in recs.windows(2) {
        assert_eq!(pair[1].prev, pair[0].lsn);
        assert!(pair[1].lsn >= pair[0].end);
    }

    // Events.
    let mut s = wal::scan(WalSource::dir(c.archive_dir()).unwrap(), ReaderOptions::default()).unwrap();
    let mut commits: HashMap<u32, String> = HashMap::new();
    let mut commit_subxacts: HashMap<u32, Vec<u32>> = HashMap::new();
    let mut restore_points = Vec::new();
    let mut prepares = Vec::new();
    let mut commit_prepared = Vec::new();
    let mut aborts = Vec::new();
    let mut dropped = 0;
    let mut checkpoints = 0;
    let mut switches = 0;
    while let Some(ev) = s.next_event().unwrap() {
        match ev {
            Event::Commit(x) => {
                commits.insert(x.xid, x.time.rfc3339());
                commit_subxacts.insert(x.xid, x.subxacts.to_vec());
                if x.kind == XactKind::CommitPrepared {
                    assert_eq!(x.record_xid, 0);
                    commit_prepared.push((x.xid, x.twophase_xid, x.gid.map(|g| g.to_vec())));
                }
                dropped += x.dropped_rels.len();
            }
            Event::Abort(x) => aborts.push((x.xid, x.subxact, x.top_xid)),
            Event::Prepare { xid, gid, .. } => prepares.push((xid, gid.to_vec())),
            Event::RestorePoint { name, end_lsn, .. } => restore_points.push((name.to_vec(), end_lsn)),
            Event::Checkpoint { .. } => checkpoints += 1,
            Event::Switch { .. } => switches += 1,
            _ => {}
        }
    }
    assert!(s.end().is_some());
    for (kind, xid, time) in &w.commits {
        assert_eq!(commits.get(xid), Some(time), "PostgreSQL {major}: commit of {kind} xid {xid}");
    }
    assert_eq!(restore_points, vec![(b"pitr_rp".to_vec(), w.restore_point_end)], "PostgreSQL {major}");
    assert_eq!(prepares, vec![(w.prepared_xid, b"pitr_gid".to_vec())], "PostgreSQL {major}");
    assert_eq!(commit_prepared.len(), 1, "PostgreSQL {major}");
    assert_eq!(commit_prepared[0].0, w.prepared_xid);
    assert_eq!(commit_prepared[0].1, Some(w.prepared_xid));
    assert!(checkpoints >= 1 && switches >= 1);
    assert!(dropped >= 1, "PostgreSQL {major}: the DROP TABLE commit lists its files");
    // The released savepoint committed with its parent; the rolled-back one has
    // its own ABORT record, known as a subtransaction of the parent (logical
    // WAL carries the top-level xid).
    let subs = &commit_subxacts[&w.sub_top_xid];
    assert_eq!(subs.len(), 1, "PostgreSQL {major}: {subs:?}");
    let sub_aborts: Vec<_> =
        aborts.iter().filter(|a| a.0 > w.sub_top_xid && a.0 < w.sub_top_xid + 5).collect();
    assert!(!sub_aborts.is_empty(), "PostgreSQL {major}: {aborts:?}");
    if major >= 14 {
        assert!(
            sub_aborts.iter().any(|a| a.1 && a.2 == Some(w.sub_top_xid)),
            "PostgreSQL {major}: {aborts:?}"
        );
    }
    assert!(aborts.iter().any(|a| !a.1), "a plain top-level ROLLBACK: {aborts:?}");

    // The 1.5 MB logical message, larger than a 1 MB segment, read whole.
    let mut r = WalReader::open(WalSource::dir(c.archive_dir()).unwrap(), ReaderOptions::default()).unwrap();
    let seg = r.info().seg_size;
    let mut found = false;
    while let Some(rec) = r.next_record().unwrap() {
        if rec.rmid() != rmgr::RM_LOGICALMSG_ID {
            continue;
        }
        let Decoded::LogicalMessage { prefix, message, transactional, .. } = decode_record(&rec).unwrap()
        else {
            panic!("undecoded logical message")
        };
        if prefix == b"pitr_big" {
            assert!(!transactional);
            assert_eq!(message.len(), BIG);
            assert!(message.iter().all(|&b| b == b'm'));
            assert_eq!(rec.end_lsn, w.big_message_end);
            assert!(rec.end_lsn.segment(seg) > rec.lsn.segment(seg), "spans segments");
            assert!(rec.tot_len() as u64 > seg.bytes());
            found = true;
        }
    }
    assert!(found, "PostgreSQL {major}: big logical message not found");
    recs
}

fn cluster(major: u32) -> Cluster {
    Cluster::builder(major).conf("wal_level", "logical").conf("wal_compression", "on").start()
}

#[test]
fn every_major_reads_and_decodes_real_wal() {
    for major in majors_under_test() {
        let c = cluster(major);
        let w = run_workload(&c);
        let recs = checks_on_workload(&c, &w);
        // Every segment on its own: every record starting in it verifies.
        let segs = archived_segments(&c);
        for (i, n) in segs.iter().enumerate() {
            let next: Vec<PathBuf> = segs[i + 1..].iter().map(|n| c.archive_dir().join(n)).collect();
            let check = wal::verify_segment(
                &c.archive_dir().join(n),
                &VerifyOptions { next_segments: next.clone(), ..Default::default() },
            )
            .unwrap();
            assert!(check.is_ok(), "PostgreSQL {major} {n}: {:?}", check.damage);
            if let Some(wal::SegmentTail::ContinuesInNext { verified, .. }) = &check.tail {
                assert_eq!(*verified, !next.is_empty(), "PostgreSQL {major} {n}: {check:?}");
            }
            let in_seg = recs.iter().filter(|r| r.file.ends_with(n)).count() as u64;
            assert_eq!(check.records, in_seg, "PostgreSQL {major} {n}");
        }
        eprintln!("PostgreSQL {major}: {} records checked", recs.len());
    }
}

/// Parses pg_waldump's record lines: (lsn, rmgr, type, xid, rec_len, tot_len, prev, line).
/// (lsn, rmgr, type, xid, rec_len, tot_len, prev, line)
type DumpLine = (String, String, String, u32, u32, u32, String, String);

fn parse_waldump(out: &str) -> Vec<DumpLine> {
    out.lines()
        .filter(|l| l.starts_with("rmgr: "))
        .map(|l| {
            let rest = &l[6..];
            let rmgr = rest.split_whitespace().next().unwrap().to_string();
            let lens = l.split("len (rec/tot): ").nth(1).unwrap();
            let (rec, tot) = lens.split_once(", tx:").unwrap().0.split_once('/').unwrap();
            let tx = l.split("tx: ").nth(1).unwrap().split(',').next().unwrap().trim();
            let lsn = l.split("lsn: ").nth(1).unwrap().split(',').next().unwrap().to_string();
            let prev = l.split(", prev ").nth(1).unwrap().split(',').next().unwrap().to_string();
            let desc = l.split("desc: ").nth(1).unwrap();
            let ty = if desc.starts_with("UNKNOWN (") {
                desc.split(')').next().unwrap().to_string() + ")"
            } else {
                desc.split(' ').next().unwrap().to_string()
            };
            (
                lsn,
                rmgr,
                ty,
                tx.parse().unwrap(),
                rec.trim().parse().unwrap(),
                tot.trim().parse().unwrap(),
                prev,
                l.to_string(),
            )
        })
        .collect()
}

fn pg_waldump(args: &[&str]) -> String {
    let out = Command::new(pg_tool("pg_waldump")).args(args).env("TZ", "UTC").output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn pg15_records_and_stats_equal_pg_waldump() {
    let c = cluster(15);
    let w = run_workload(&c);
    // More of everything: FPIs, heap/btree traffic, a second checkpoint.
    c.sql("INSERT INTO t SELECT g, repeat('z', 50) FROM generate_series(1000, 9000) g");
    c.sql("CHECKPOINT");
    c.sql("UPDATE t SET b = 'w' WHERE a % 7 = 0; DELETE FROM t WHERE a % 11 = 0; VACUUM t");
    c.switch_wal();
    let segs = archived_segments(&c);
    let (first, last) = (segs.first().unwrap().as_str(), segs.last().unwrap().as_str());
    let archive = c.archive_dir().to_str().unwrap();
    let theirs = parse_waldump(&pg_waldump(&["-p", archive, first, last]));
    let (ours, _end, _) = read_all(WalSource::dir(c.archive_dir()).unwrap(), ReaderOptions::default());
    assert!(ours.len() > 10_000, "{} records", ours.len());
    assert_eq!(ours.len(), theirs.len());
    let full_rmgrs = [
        rmgr::RM_XLOG_ID,
        rmgr::RM_XACT_ID,
        rmgr::RM_SMGR_ID,
        rmgr::RM_DBASE_ID,
        rmgr::RM_STANDBY_ID,
        rmgr::RM_LOGICALMSG_ID,
    ];
    let mut full = 0;
    for (o, t) in ours.iter().zip(&theirs) {
        let key = (
            o.lsn.padded().to_string(),
            rmgr::rmgr_name(o.rmid).into_owned(),
            rmgr::record_type_label(pitr_core::PgMajor::V15, o.rmid, o.info).into_owned(),
            o.xid,
            o.rec_len,
            o.tot_len,
            o.prev.padded().to_string(),
        );
        assert_eq!(key, (t.0.clone(), t.1.clone(), t.2.clone(), t.3, t.4, t.5, t.6.clone()), "{}", t.7);
        // Whole line (desc and block references) for what pitr decodes.
        let heap_truncate = o.rmid == rmgr::RM_HEAP_ID && o.info & 0x70 == 0x30;
        if full_rmgrs.contains(&o.rmid) || heap_truncate {
            assert_eq!(o.line, t.7);
            full += 1;
        } else {
            // Block references: the tail after the rmgr's own description.
            let tail = |l: &str| l.find(", blkref #").map(|p| l[p..].to_string());
            assert_eq!(tail(&o.line), tail(&t.7), "{}", t.7);
        }
    }
    assert!(full > 50);
    // --stats and --stats=record.
    for per_record in [false, true] {
        let mut r = WalReader::open(
            WalSource::dir(c.archive_dir()).unwrap(),
            ReaderOptions { data: DataFilter::none(), ..Default::default() },
        )
        .unwrap();
        let mut stats = Stats::new(r.info().major);
        while let Some(rec) = r.next_record().unwrap() {
            stats.add(&rec);
        }
        let flag = if per_record { "--stats=record" } else { "--stats" };
        assert_eq!(stats.render(per_record), pg_waldump(&["-p", archive, flag, first, last]), "{flag}");
    }
    // Starting from an LSN in the middle of a record: pg_waldump and pitr both
    // start at the next record.
    let mid = Lsn(w.restore_point_end.0 - 10);
    let theirs =
        parse_waldump(&pg_waldump(&["-p", archive, "-s", &mid.to_string(), "-e", &w.switch_lsn.to_string()]));
    let opts = ReaderOptions { start: Some(mid), end: Some(w.switch_lsn), ..Default::default() };
    let (ours, end, _) = read_all(WalSource::dir(c.archive_dir()).unwrap(), opts);
    assert_eq!(end.reason, EndReason::EndLsn);
    let ours: Vec<String> = ours.iter().map(|r| r.lsn.padded().to_string()).collect();
    let theirs: Vec<String> = theirs.iter().map(|t| t.0.clone()).collect();
    assert_eq!(ours.first(), theirs.first());
    assert_eq!(ours.len(), theirs.len());
}

#[test]
fn compressed_segments_read_like_plain_ones() {
    let c = Cluster::new(15);
    c.sql("CREATE TABLE t AS SELECT g, repeat('x', 300) AS b FROM generate_series(1, 3000) g");
    c.switch_wal();
    let plain = copy_archive(&c, "plain");
    let (expected, _, _) = read_all(WalSource::dir(&plain).unwrap(), ReaderOptions::default());
    for (ext, prog) in [
        ("gz", vec!["gzip"]),
        ("zst", vec!["zstd", "-q", "--rm"]),
        ("xz", vec!["xz"]),
        ("bz2", vec!["bzip2"]),
    ] {
        if Command::new(prog[0]).arg("--version").output().is_err() {
            eprintln!("{} not installed; skipping .{ext}", prog[0]);
            continue;
        }
        let dir = copy_archive(&c, &format!("c_{ext}"));
        for e in fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let st = Command::new(prog[0]).args(&prog[1..]).arg(&p).status().unwrap();
            assert!(st.success());
            assert!(!p.exists() || ext == "zst" || ext == "lz4");
            let _ = fs::remove_file(&p);
        }
        let (got, _, _) = read_all(WalSource::dir(&dir).unwrap(), ReaderOptions::default());
        let strip = |v: &[Rec]| {
            v.iter().map(|r| (r.lsn, r.end, r.xid, r.tot_len, r.line.clone())).collect::<Vec<_>>()
        };
        assert_eq!(strip(&got), strip(&expected), ".{ext}");
        assert!(got[0].file.to_str().unwrap().ends_with(ext));
        let h = wal::segment_header(&got[0].file).unwrap();
        assert_eq!(h.major, pitr_core::PgMajor::V15);
    }
}

/// LSN -> offset in its segment file.
fn file_offset(l: Lsn, seg: u64) -> u64 {
    l.0 % seg
}

fn flip(path: &Path, off: u64) {
    let mut b = fs::read(path).unwrap();
    b[off as usize] ^= 0x5A;
    fs::write(path, b).unwrap();
}

#[test]
fn damage_is_found_at_the_right_lsn_and_file() {
    let c = Cluster::new(15);
    run_workload(&c);
    let seg_size = 1u64 << 20;
    let base = copy_archive(&c, "base");
    let (recs, _, _) = read_all(WalSource::dir(&base).unwrap(), ReaderOptions::default());
    let page = 8192u64;
    // A record inside one page, after the first segment, not the last one.
    let pick = |pred: &dyn Fn(&Rec) -> bool| recs.iter().find(|r| pred(r)).unwrap().clone();
    let single = pick(&|r| {
        r.tot_len > 60
            && r.lsn.0 / page == (r.lsn.0 + r.tot_len as u64 - 1) / page
            && r.lsn.0 > recs[0].lsn.0 + seg_size
    });
    let crossing = pick(&|r| {
        let next_page = (r.lsn.0 / page + 1) * page;
        r.lsn.0 / page != (r.lsn.0 + r.tot_len as u64 - 1) / page
            && r.tot_len < 8000
            && r.lsn > single.lsn
            && next_page % seg_size != 0
    });

    // 1. A flipped byte in a record's data: CRC error at that record, in that file.
    let segname = |l: u64| {
        pitr_core::SegmentName::new(1, l / seg_size, pitr_core::WalSegSize::new(seg_size as u32).unwrap())
            .to_string()
    };
    let cont_page = (crossing.lsn.0 / page + 1) * page;
    let cont_hdr = if cont_page % seg_size == 0 { 40 } else { 24 };
    for (i, (what, rec, target)) in [
        ("single-page", &single, single.lsn.0 + 30),
        ("page-crossing, in its continuation", &crossing, cont_page + cont_hdr + 1),
    ]
    .into_iter()
    .enumerate()
    {
        let dir = copy_archive(&c, &format!("flip{i}"));
        flip(&dir.join(segname(target)), file_offset(Lsn(target), seg_size));
        let mut r = WalReader::open(WalSource::dir(&dir).unwrap(), ReaderOptions::default()).unwrap();
        let err = loop {
            match r.next_record() {
                Ok(Some(_)) => {}
                Ok(None) => panic!("{what}: no error, {:?}", r.end()),
                Err(e) => break e,
            }
        };
        match &err {
            WalError::BadCrc { lsn, file: f, expected, found } => {
                assert_eq!(*lsn, rec.lsn, "{what}");
                assert_eq!(f.file_name(), rec.file.file_name(), "{what}");
                assert_ne!(expected, found);
            }
            other => panic!("{what}: {other}"),
        }
        assert!(err.is_damage());
        assert!(err.to_string().contains(&rec.lsn.to_string()), "{err}");
        // Verifying the segment alone (with its successor) reports the same.
        let check = wal::verify_segment(
            &dir.join(segname(rec.lsn.0)),
            &VerifyOptions {
                next_segments: [dir.join(segname(rec.lsn.0 + seg_size))]
                    .into_iter()
                    .filter(|p| p.exists())
                    .collect(),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(check.damage.as_ref().and_then(|e| e.lsn()), Some(rec.lsn), "{what}");
    }

    // 2. A segment truncated in the middle of a record: clean end at that record.
    {
        let dir = copy_archive(&c, "trunc");
        let rec = &single;
        let file = dir.join(rec.file.file_name().unwrap());
        let f = fs::OpenOptions::new().write(true).open(&file).unwrap();
        f.set_len(file_offset(rec.lsn, seg_size) + 10).unwrap();
        drop(f);
        let mut r = WalReader::open(WalSource::dir(&dir).unwrap(), ReaderOptions::default()).unwrap();
        let mut last_end = Lsn(0);
        while let Some(x) = r.next_record().unwrap() {
            last_end = x.end_lsn;
        }
        let end = r.end().unwrap();
        assert_eq!(end.reason, EndReason::Truncated, "{end}");
        assert_eq!(end.position, rec.lsn);
        assert_eq!(end.end_lsn, last_end);
        assert!(end.incomplete_record);
        assert_eq!(end.file.as_ref().unwrap().file_name(), rec.file.file_name());
        // Truncated at a page boundary: ends at the next record position, not damage.
        let f = fs::OpenOptions::new().write(true).open(&file).unwrap();
        f.set_len(file_offset(rec.lsn, seg_size) / page * page).unwrap();
        drop(f);
        let mut r = WalReader::open(WalSource::dir(&dir).unwrap(), ReaderOptions::default()).unwrap();
        while r.next_record().unwrap().is_some() {}
        assert_eq!(r.end().unwrap().reason, EndReason::Truncated);
        assert!(r.end().unwrap().position <= rec.lsn);
    }

    // 3. A bad xl_prev (with a valid CRC): damage at that record.
    {
        let dir = copy_archive(&c, "prev");
        let rec = &single;
        let file = dir.join(rec.file.file_name().unwrap());
        let mut b = fs::read(&file).unwrap();
        let off = file_offset(rec.lsn, seg_size) as usize;
        let bad_prev = rec.prev.0 - 8;
        b[off + 8..off + 16].copy_from_slice(&bad_prev.to_le_bytes());
        let tot = rec.tot_len as usize;
        let crc = pitr_core::wal::record::record_crc(&b[off..off + tot]);
        b[off + 20..off + 24].copy_from_slice(&crc.to_le_bytes());
        fs::write(&file, b).unwrap();
        let mut r = WalReader::open(WalSource::dir(&dir).unwrap(), ReaderOptions::default()).unwrap();
        let err = loop {
            match r.next_record() {
                Ok(Some(_)) => {}
                Ok(None) => panic!("no error"),
                Err(e) => break e,
            }
        };
        assert!(
            matches!(err, WalError::BadPrevLink { lsn, expected, found, .. } if lsn == rec.lsn && expected == rec.prev && found == Lsn(bad_prev)),
            "{err}"
        );
    }

    // 4. A bad page header (magic) in the middle of WAL: damage at that page.
    // 5. A continuation page without its flag: missing contrecord.
    {
        let cont_page = Lsn(cont_page);
        let seg_name = |l: Lsn| {
            pitr_core::SegmentName::new(
                1,
                l.0 / seg_size,
                pitr_core::WalSegSize::new(seg_size as u32).unwrap(),
            )
            .to_string()
        };
        let dir = copy_archive(&c, "magic");
        flip(&dir.join(seg_name(cont_page)), file_offset(cont_page, seg_size));
        let mut r = WalReader::open(WalSource::dir(&dir).unwrap(), ReaderOptions::default()).unwrap();
        let err = loop {
            match r.next_record() {
                Ok(Some(_)) => {}
                Ok(None) => panic!("no error"),
                Err(e) => break e,
            }
        };
        assert!(matches!(&err, WalError::BadMagic { lsn, .. } if *lsn == cont_page), "{err}");
        assert!(err.file().unwrap().ends_with(seg_name(cont_page)));

        let dir = copy_archive(&c, "contrec");
        let file = dir.join(seg_name(cont_page));
        let mut b = fs::read(&file).unwrap();
        let off = file_offset(cont_page, seg_size) as usize;
        b[off + 2] &= !0x01;
        fs::write(&file, b).unwrap();
        let mut r = WalReader::open(WalSource::dir(&dir).unwrap(), ReaderOptions::default()).unwrap();
        let err = loop {
            match r.next_record() {
                Ok(Some(_)) => {}
                Ok(None) => panic!("no error"),
                Err(e) => break e,
            }
        };
        assert!(
            matches!(&err, WalError::MissingContrecord { lsn, record, .. } if *lsn == cont_page && *record == crossing.lsn),
            "{err}"
        );
    }
}

#[test]
fn recycled_and_foreign_segments_are_refused_by_name() {
    let a = Cluster::new(15);
    a.sql("CREATE TABLE t AS SELECT g FROM generate_series(1, 20000) g");
    a.switch_wal();
    a.sql("INSERT INTO t VALUES (1)");
    a.switch_wal();
    let b = Cluster::new(15);
    b.sql("CREATE TABLE t AS SELECT g FROM generate_series(1, 20000) g");
    b.switch_wal();
    let seg = pitr_core::WalSegSize::new(1 << 20).unwrap();

    let segs = archived_segments(&a);
    let dir = a.scratch_dir("mixed");
    for n in &segs {
        fs::copy(a.archive_dir().join(n), dir.join(n)).unwrap();
    }
    let last = pitr_core::SegmentName::parse(segs.last().unwrap()).unwrap();
    let next_name = pitr_core::SegmentName::new(1, last.segno(seg).unwrap() + 1, seg).to_string();

    // A recycled segment: an old segment under a newer name, as the server
    // renames it. Named alone, or read first, it is refused by name.
    let recycled = dir.join(&next_name);
    fs::copy(a.archive_dir().join(&segs[0]), &recycled).unwrap();
    let e = wal::segment_header(&recycled).unwrap_err();
    assert!(matches!(&e, WalError::RecycledSegment { file, .. } if file == &recycled), "{e}");
    assert!(e.to_string().contains(&next_name) && e.to_string().contains("recycled"), "{e}");
    let e = WalReader::open(WalSource::from_paths(&[&recycled]).unwrap(), ReaderOptions::default())
        .unwrap()
        .next_record()
        .unwrap_err();
    assert!(matches!(e, WalError::RecycledSegment { .. }), "{e}");
    assert!(matches!(
        wal::verify_segment(&recycled, &VerifyOptions::default()),
        Err(WalError::RecycledSegment { .. })
    ));
    // Found after the last good segment in a directory, it is the end of WAL.
    let (_, end, _) = read_all(WalSource::dir(&dir).unwrap(), ReaderOptions::default());
    assert!(matches!(end.reason, EndReason::StaleSegment { .. }), "{end}");
    assert_eq!(end.file.as_deref(), Some(recycled.as_path()));

    // A segment of another cluster, with the right name: refused by name.
    fs::remove_file(&recycled).unwrap();
    let foreign_src = archived_segments(&b)
        .into_iter()
        .find(|n| pitr_core::SegmentName::parse(n).unwrap().segno(seg).unwrap() > 1)
        .unwrap();
    let foreign = dir.join(&next_name);
    let mut bytes = fs::read(b.archive_dir().join(&foreign_src)).unwrap();
    // Give it the right page addresses so that only the system id differs.
    let want = seg.segment_start(last.segno(seg).unwrap() + 1).0;
    let have = u64::from_le_bytes(bytes[8..16].try_into().unwrap());
    for p in (0..bytes.len()).step_by(8192) {
        let addr = u64::from_le_bytes(bytes[p + 8..p + 16].try_into().unwrap());
        if addr != 0 {
            bytes[p + 8..p + 16].copy_from_slice(&(addr - have + want).to_le_bytes());
        }
    }
    fs::write(&foreign, bytes).unwrap();
    let mut r = WalReader::open(WalSource::dir(&dir).unwrap(), ReaderOptions::default()).unwrap();
    let err = loop {
        match r.next_record() {
            Ok(Some(_)) => {}
            Ok(None) => panic!("no error: {:?}", r.end()),
            Err(e) => break e,
        }
    };
    assert!(matches!(&err, WalError::SystemIdMismatch { file, .. } if file == &foreign), "{err}");
    assert!(err.to_string().contains("another cluster"), "{err}");
    let sysid = wal::segment_header(&dir.join(&segs[0])).unwrap().system_id;
    let e = wal::verify_segment(&foreign, &VerifyOptions { system_id: Some(sysid), ..Default::default() })
        .unwrap_err();
    assert!(matches!(e, WalError::SystemIdMismatch { .. }), "{e}");
}

#[test]
fn pg_wal_of_a_stopped_cluster_ends_cleanly() {
    let mut c = Cluster::new(15);
    c.sql("CREATE TABLE t AS SELECT g FROM generate_series(1, 50000) g");
    c.sql("CHECKPOINT");
    c.sql("CREATE TABLE u AS SELECT g FROM generate_series(1, 50000) g");
    c.stop();
    let (recs, end, _) = read_all(WalSource::dir(c.pgdata()).unwrap(), ReaderOptions::default());
    // The last record is the shutdown checkpoint.
    let last = recs.last().unwrap();
    assert_eq!(
        rmgr::record_type_name(pitr_core::PgMajor::V15, last.rmid, last.info),
        Some("CHECKPOINT_SHUTDOWN")
    );
    assert!(
        matches!(
            end.reason,
            EndReason::ZeroLength
                | EndReason::StalePage { .. }
                | EndReason::ZeroPage
                | EndReason::StaleSegment { .. }
                | EndReason::NextSegmentAbsent { .. }
        ),
        "{end}"
    );
    assert_eq!(end.end_lsn, last.end);
    let theirs = parse_waldump(&pg_waldump(&[
        "-p",
        c.pgdata().join("pg_wal").to_str().unwrap(),
        "-s",
        &recs[0].lsn.to_string(),
    ]));
    assert_eq!(theirs.len(), recs.len());
    assert_eq!(theirs.last().unwrap().0, last.lsn.padded().to_string());
}

#[test]
fn promotion_gives_end_of_recovery_and_a_timeline_switch() {
    let primary = Cluster::new(15);
    primary.sql("CREATE TABLE t AS SELECT g FROM generate_series(1, 100) g");
    let backup = primary.base_backup(pitr_testkit::BackupKind::SqlApi);
    primary.sql("INSERT INTO t VALUES (1)");
    primary.switch_wal();
    // A standby restoring from the archive, then promoted.
    fs::write(backup.dir.join("standby.signal"), "").unwrap();
    let restore = format!("cp {}/%f %p", primary.archive_dir().display());
    let archive2 = primary.scratch_dir("archive2");
    let standby = Cluster::adopt(15, &backup.dir)
        .conf("restore_command", &restore)
        .conf("archive_mode", "on")
        .conf("archive_command", &format!("cp %p {}/%f", archive2.display()))
        .start();
    standby.promote();
    standby.sql("INSERT INTO t VALUES (2)");
    standby.switch_wal();
    let mut s = wal::scan(WalSource::dir(&archive2).unwrap(), ReaderOptions::default()).unwrap();
    let mut eor = None;
    let mut switch = None;
    while let Some(ev) = s.next_event().unwrap() {
        match ev {
            Event::EndOfRecovery { timeline, prev_timeline, .. } => eor = Some((timeline, prev_timeline)),
            Event::TimelineSwitch { from, to, .. } => switch = Some((from, to)),
            _ => {}
        }
    }
    assert_eq!(eor, Some((2, 1)));
    assert_eq!(switch, Some((1, 2)));
    // The backup's end is in the primary's WAL.
    let mut s = wal::scan(WalSource::dir(primary.archive_dir()).unwrap(), ReaderOptions::default()).unwrap();
    let mut ends = Vec::new();
    while let Some(ev) = s.next_event().unwrap() {
        if let Event::BackupEnd { start, lsn, .. } = ev {
            ends.push((start, lsn));
        }
    }
    assert_eq!(ends.len(), 1, "{ends:?}");
    assert_eq!(ends[0].0, lsn(&backup.start_lsn));
    assert!(ends[0].1 < lsn(&backup.stop_lsn));
}
