//! Archive inventory and verification on real archives written by real
//! PostgreSQL servers (pitr-testkit).

#![allow(clippy::unwrap_used)]

#[path = "common/timelines.rs"]
mod timelines;

use pitr_core::archive::get;
use pitr_core::archive::{Inventory, Layout, ProblemCode, ScanOptions, VerifyOptions, verify};
use pitr_core::{Lsn, SegmentName, WalSegSize};
use pitr_testkit::{Cluster, TestDir};
use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::Command;

fn seg1() -> WalSegSize {
    WalSegSize::new(1 << 20).unwrap()
}

fn name(s: &str) -> SegmentName {
    SegmentName::parse(s.trim()).unwrap()
}

fn segno(s: &str) -> u64 {
    name(s).segno(seg1()).unwrap()
}

fn scan(dir: &Path) -> Inventory {
    Inventory::scan(dir, &ScanOptions::default()).unwrap()
}

fn multi_timeline(major: u32) {
    let tl = timelines::build(major);
    let inv = scan(tl.archive());
    assert_eq!(inv.layout(), &Layout::Flat);
    assert_eq!(inv.seg_size(), Some(seg1()));
    assert_eq!(inv.system_id().unwrap().to_string(), tl.system_id);
    assert_eq!(inv.pg_major().unwrap().number(), major);
    assert!(inv.problems().is_empty(), "{major}: {:#?}", inv.problems());

    let tlis: Vec<u32> = inv.timelines().iter().map(|t| t.timeline).collect();
    assert_eq!(tlis, vec![1, 2, 3], "{major}");
    for facts in &tl.tl {
        let t = inv.timeline(facts.timeline).unwrap();
        assert_eq!(t.parent, facts.parent, "{major} TL{}", facts.timeline);
        assert_eq!(t.switch_lsn, facts.switch_lsn.as_deref().map(|l| Lsn::parse(l).unwrap()), "{major}");
        assert_eq!(t.first, Some(name(&facts.first)), "{major} TL{} first", facts.timeline);
        assert_eq!(t.last, Some(name(&facts.last)), "{major} TL{} last", facts.timeline);
        assert_eq!(t.segments, segno(&facts.last) - segno(&facts.first) + 1, "{major} TL{}", facts.timeline);
        assert!(t.gaps.is_empty() && t.partial.is_empty(), "{major}: {t:?}");
        if let (Some(text), Some(h)) = (&facts.history_text, inv.history().get(&facts.timeline)) {
            assert_eq!(h.entries().len() as u32, facts.timeline - 1, "{major}: {text}");
            // The switch segment of a child is its first one.
            let switch = h.switch_lsn().unwrap();
            assert_eq!(SegmentName::of_lsn(facts.timeline, switch, seg1()), name(&facts.first), "{major}");
        }
    }
    let s2 = Lsn::parse(tl.facts(2).switch_lsn.as_deref().unwrap()).unwrap();
    let s3 = Lsn::parse(tl.facts(3).switch_lsn.as_deref().unwrap()).unwrap();
    assert_eq!(
        inv.ancestry(3).unwrap(),
        vec![(1, None, Some(s2)), (2, Some(s2), Some(s3)), (3, Some(s3), None)]
    );

    // Backup history files of both backups, on their timelines.
    let starts: Vec<(String, u32)> = inv
        .backups()
        .iter()
        .map(|b| {
            let i = b.info.as_ref().unwrap();
            (i.start.lsn.to_string(), i.timeline())
        })
        .collect();
    assert_eq!(starts, vec![(tl.b1.start_lsn.clone(), 1), (tl.b2.start_lsn.clone(), 2)], "{major}");

    // The index the planner and `archive get` use.
    let first2 = segno(&tl.facts(2).first);
    assert_eq!(inv.segment_path(2, first2).unwrap(), tl.archive().join(tl.facts(2).first.trim()));
    assert!(inv.segment_path(2, first2 - 1).is_none());
    assert!(inv.has_segment(1, first2));

    let report = verify(&inv, &VerifyOptions { deep: true, progress: None });
    assert!(report.is_clean(), "{major}: {:#?}", report.summary.problems);
    assert_eq!(report.files_checked, inv.segment_count());
    assert!(
        matches!(report.deep, pitr_core::archive::DeepCheck::Done { segments, .. } if segments == inv.segment_count())
    );

    // A child's switch segment that does not repeat its parent's segment up
    // to the switch point (timeline 2 began in the middle of a segment).
    assert!(s2.segment_offset(seg1()) > 0x30, "{major}: the target fork should be mid-segment");
    let (_sw, swcopy) = timelines::copy_archive(tl.archive(), "switch");
    let child = swcopy.join(tl.facts(2).first.trim());
    let mut bytes = fs::read(&child).unwrap();
    bytes[0x30] ^= 0xFF;
    fs::write(&child, bytes).unwrap();
    let report = verify(&scan(&swcopy), &VerifyOptions::default());
    let found: Vec<_> =
        report.summary.problems.iter().map(|p| (p.code, p.file.clone().unwrap_or_default())).collect();
    assert_eq!(
        found,
        vec![(ProblemCode::SwitchPointMismatch, tl.facts(2).first.trim().to_string())],
        "{major}"
    );

    // Removed segments are gaps: one in the middle of timeline 1, and the
    // first (switch) segment of timeline 2, which PostgreSQL would silently
    // replace with timeline 1's copy.
    let (_keep, copy) = timelines::copy_archive(tl.archive(), "gaps");
    let mid = SegmentName::new(1, segno(&tl.facts(1).first) + 2, seg1());
    fs::remove_file(copy.join(mid.to_string())).unwrap();
    fs::remove_file(copy.join(tl.facts(2).first.trim())).unwrap();
    let inv = scan(&copy);
    let gaps: Vec<_> = inv
        .problems()
        .iter()
        .filter(|p| p.code == ProblemCode::MissingSegment)
        .map(|p| p.file.clone().unwrap())
        .collect();
    assert_eq!(gaps, vec![mid.to_string(), tl.facts(2).first.trim().to_string()], "{major}");
    let t2 = inv.timeline(2).unwrap();
    assert_eq!(t2.gaps.len(), 1);
    assert_eq!(t2.gaps[0].first_missing, name(&tl.facts(2).first));
    assert!(inv.problems().iter().any(|p| p.message.contains("silently")), "{:#?}", inv.problems());
    assert_eq!(inv.timeline(1).unwrap().gaps[0].first_missing, mid);
}

#[test]
fn multi_timeline_archive_15() {
    multi_timeline(15);
}

#[test]
fn multi_timeline_archive_18() {
    multi_timeline(18);
}

#[test]
fn multi_timeline_archive_13() {
    multi_timeline(13);
}

/// A cluster that archived `n` segments (1..=n), stopped.
fn archived_cluster(major: u32, n: usize) -> Cluster {
    let mut c = Cluster::new(major);
    c.sql("CREATE TABLE t(i int, pad text)");
    for _ in 0..n {
        c.sql("INSERT INTO t SELECT g, repeat('y', 100) FROM generate_series(1, 3000) g");
        c.switch_wal();
    }
    c.stop();
    c
}

#[test]
fn foreign_and_recycled_segments() {
    let a = archived_cluster(15, 5);
    let b = archived_cluster(15, 3);
    let sa = a.archived_files();
    let sb = b.archived_files();
    assert!(sa.len() >= 5, "{sa:?}");
    // Both clusters start archiving at the same segment (initdb writes the same WAL volume).
    assert_eq!(sa[0], sb[0]);
    let (_d, copy) = timelines::copy_archive(a.archive_dir(), "foreign");
    // A segment of another cluster under a name in this archive's range.
    fs::copy(b.archive_dir().join(&sb[1]), copy.join(&sa[1])).unwrap();
    // A "recycled" file: one segment's content under the name of the next.
    fs::copy(a.archive_dir().join(&sa[2]), copy.join(&sa[3])).unwrap();
    // A truncated segment.
    let f = fs::OpenOptions::new().write(true).open(copy.join(&sa[4])).unwrap();
    f.set_len(500_000).unwrap();
    let inv = scan(&copy);
    let report = verify(&inv, &VerifyOptions::default());
    let found: Vec<(ProblemCode, String)> =
        report.summary.problems.iter().map(|p| (p.code, p.file.clone().unwrap_or_default())).collect();
    assert_eq!(
        found,
        vec![
            (ProblemCode::SystemIdMismatch, sa[1].clone()),
            (ProblemCode::WrongPageaddr, sa[3].clone()),
            (ProblemCode::BadSize, sa[4].clone()),
        ],
        "{sa:?} {:#?}",
        report.summary.problems
    );
    assert!(report.summary.problems[0].message.contains(&inv.system_id().unwrap().to_string()));
}

fn compress(data: &[u8], ext: &str) -> Vec<u8> {
    match ext {
        "gz" => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "zst" => zstd::encode_all(data, 3).unwrap(),
        "lz4" => {
            let mut e = lz4_flex::frame::FrameEncoder::new(Vec::new());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "xz" => {
            let mut e = xz2::write::XzEncoder::new(Vec::new(), 1);
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "bz2" => {
            let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        _ => data.to_vec(),
    }
}

fn sha1sum(data: &[u8]) -> String {
    let mut child = Command::new("sha1sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap().split_whitespace().next().unwrap().to_string()
}

const EXTS: [&str; 6] = ["gz", "zst", "lz4", "xz", "bz2", ""];

fn compressed_copies(major: u32) {
    let c = archived_cluster(major, 6);
    let mut segs: Vec<String> = c.archived_files();
    assert!(segs.len() >= 6, "{segs:?}");
    let next = SegmentName::new(1, segno(segs.last().unwrap()) + 1, seg1()).to_string();
    segs.truncate(6);
    let originals: Vec<Vec<u8>> = segs.iter().map(|s| fs::read(c.archive_dir().join(s)).unwrap()).collect();
    let out = TestDir::new("get-out");

    // Flat: each segment in another compression (the first one compressed, so
    // the segment size comes from a decompressed header).
    let flat = TestDir::new("flat-compressed");
    for (i, s) in segs.iter().enumerate() {
        let file = if EXTS[i].is_empty() { s.clone() } else { format!("{s}.{}", EXTS[i]) };
        fs::write(flat.path().join(file), compress(&originals[i], EXTS[i])).unwrap();
    }
    // Barman-style nested and pgBackRest-named copies of the same segments.
    let barman = TestDir::new("barman");
    let pgbr = TestDir::new("pgbackrest");
    fs::write(pgbr.path().join("archive.info"), "[db]\n").unwrap();
    for (i, s) in segs.iter().enumerate() {
        let sub = barman.path().join(&s[..16]);
        fs::create_dir_all(&sub).unwrap();
        let file = if EXTS[i].is_empty() { s.clone() } else { format!("{s}.{}", EXTS[i]) };
        fs::write(sub.join(file), compress(&originals[i], EXTS[i])).unwrap();
        let sub = pgbr.path().join(format!("{major}-1")).join(&s[..16]);
        fs::create_dir_all(&sub).unwrap();
        let hashed = format!("{s}-{}", sha1sum(&originals[i]));
        let file = if EXTS[i].is_empty() { hashed } else { format!("{hashed}.{}", EXTS[i]) };
        fs::write(sub.join(file), compress(&originals[i], EXTS[i])).unwrap();
    }

    for (dir, layout) in [
        (flat.path(), Layout::Flat),
        (barman.path(), Layout::Nested),
        (pgbr.path(), Layout::PgBackRest { archive_id: format!("{major}-1") }),
    ] {
        let inv = scan(dir);
        assert_eq!(inv.layout(), &layout);
        assert_eq!(inv.seg_size(), Some(seg1()), "{major} {layout:?}");
        assert_eq!(inv.pg_major().unwrap().number(), major);
        let t = inv.timeline(1).unwrap();
        assert_eq!((t.segments, t.gaps.len()), (6, 0), "{major} {layout:?}");
        let report = verify(&inv, &VerifyOptions::default());
        assert!(report.is_clean(), "{major} {layout:?}: {:#?}", report.summary.problems);
        for (i, s) in segs.iter().enumerate() {
            let dest = out.path().join(format!("RECOVERYXLOG{i}"));
            let f = get::get(dir, s, &dest).unwrap();
            assert_eq!(
                fs::read(&dest).unwrap(),
                originals[i],
                "{major} {layout:?} {s} from {}",
                f.source.display()
            );
            assert_eq!(f.source, inv.segment_file(name(s)).unwrap().path, "{major} {layout:?}");
        }
        assert!(matches!(get::get(dir, &next, &out.path().join("x")), Err(get::GetError::NotFound { .. })));
    }

    // Duplicates: plain and compressed copies of one segment; the plain one is
    // preferred; a copy whose content differs is reported.
    let s2 = &segs[1];
    fs::write(flat.path().join(s2), &originals[1]).unwrap();
    let mut changed = originals[2].clone();
    changed[700_000] ^= 0xFF;
    fs::write(flat.path().join(format!("{}.zst", segs[2])), compress(&changed, "zst")).unwrap();
    let inv = scan(flat.path());
    assert_eq!(inv.segment_file(name(s2)).unwrap().compression, None);
    assert_eq!(inv.duplicates().len(), 2);
    let report = verify(&inv, &VerifyOptions::default());
    let found: Vec<(ProblemCode, String)> =
        report.summary.problems.iter().map(|p| (p.code, p.file.clone().unwrap_or_default())).collect();
    assert_eq!(found, vec![(ProblemCode::DuplicateMismatch, format!("{}.zst", segs[2]))], "{major}");
}

#[test]
fn compressed_and_pgbackrest_copies_every_major() {
    for major in pitr_testkit::majors_under_test() {
        compressed_copies(major);
    }
}

/// A streaming standby promoted while the primary runs archives the segment it
/// was receiving as `<segment>.partial` (recovery-semantics 3.7).
#[test]
fn promoted_standby_archives_a_partial_segment() {
    let primary = Cluster::new(15);
    primary.sql("CREATE TABLE t(i int); INSERT INTO t SELECT generate_series(1, 1000)");
    primary.switch_wal();
    let b = primary.base_backup(pitr_testkit::BackupKind::Plain);
    fs::write(b.dir.join("standby.signal"), "").unwrap();
    // The copied postgresql.conf archives into the primary's archive.
    let standby =
        Cluster::adopt(15, &b.dir).conf("primary_conninfo", &primary.dsn()).conf("hot_standby", "on").start();
    primary.sql("INSERT INTO t SELECT generate_series(1, 1000)");
    let target = primary.sql("SELECT pg_current_wal_lsn()");
    let start = std::time::Instant::now();
    while standby.sql(&format!("SELECT pg_last_wal_replay_lsn() >= '{target}'")) != "t" {
        assert!(start.elapsed() < std::time::Duration::from_secs(60), "standby did not catch up");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let receiving = primary.sql(&format!("SELECT pg_walfile_name('{target}')"));
    standby.promote();
    standby.wait_archived();

    let inv = scan(primary.archive_dir());
    let t1 = inv.timeline(1).unwrap();
    assert_eq!(t1.partial, vec![format!("{receiving}.partial")], "{:?}", primary.archived_files());
    assert_eq!(inv.timeline(2).unwrap().parent, Some(1));
    let report = verify(&inv, &VerifyOptions::default());
    assert_eq!(report.files_checked, inv.segment_count() + 1);
    assert!(report.is_clean(), "{:#?}", report.summary.problems);
}

/// `verify --deep` finds a flipped byte inside a record at that record's LSN
/// (pg_waldump 15 lists the records to pick one).
#[test]
fn deep_verification_finds_a_corrupted_byte_at_its_lsn() {
    let c = archived_cluster(15, 4);
    let segs = c.archived_files();
    let (_d, copy) = timelines::copy_archive(c.archive_dir(), "deep");
    let inv = scan(&copy);
    let clean = verify(&inv, &VerifyOptions { deep: true, progress: None });
    assert!(clean.is_clean(), "{:#?}", clean.summary.problems);
    match clean.deep {
        pitr_core::archive::DeepCheck::Done { segments, records } => {
            assert_eq!(segments, segs.len() as u64);
            assert!(records > 100, "{records}");
        }
        other => panic!("{other:?}"),
    }

    // A record of the second segment that lies well inside one page.
    let target = &segs[1];
    let start = SegmentName::parse(target).unwrap().start_lsn(seg1()).unwrap();
    let end = Lsn(start.0 + seg1().bytes());
    let out = Command::new(pitr_testkit::pg_tool("pg_waldump"))
        .arg("--start")
        .arg(start.to_string())
        .arg("--end")
        .arg(end.to_string())
        .arg("--path")
        .arg(&copy)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let lsn = text
        .lines()
        .filter_map(|l| {
            let tot: u64 = l
                .split("len (rec/tot):")
                .nth(1)?
                .split(',')
                .next()?
                .split('/')
                .nth(1)?
                .trim()
                .parse()
                .ok()?;
            let lsn = Lsn::parse(l.split("lsn: ").nth(1)?.split(',').next()?.trim()).ok()?;
            Some((lsn, tot))
        })
        .find(|(lsn, tot)| {
            let in_page = lsn.0 % 8192;
            lsn.0 - start.0 > 8192 && *tot >= 64 && in_page + 64 < 8192
        })
        .map(|(lsn, _)| lsn)
        .unwrap_or_else(|| panic!("no suitable record in pg_waldump output:\n{text}"));
    let path = copy.join(target);
    let mut bytes = fs::read(&path).unwrap();
    let at = (lsn.0 - start.0) as usize + 40;
    bytes[at] ^= 0x55;
    fs::write(&path, bytes).unwrap();

    let report = verify(&scan(&copy), &VerifyOptions { deep: true, progress: None });
    let found: Vec<_> =
        report.summary.problems.iter().map(|p| (p.code, p.file.clone().unwrap_or_default())).collect();
    assert_eq!(found, vec![(ProblemCode::CrcMismatch, target.clone())], "{:#?}", report.summary.problems);
    assert!(
        report.summary.problems[0].message.starts_with(&format!("at {lsn}:")),
        "{lsn}: {}",
        report.summary.problems[0].message
    );
    // Without --deep the header checks see nothing wrong.
    assert!(verify(&scan(&copy), &VerifyOptions::default()).is_clean());
}
