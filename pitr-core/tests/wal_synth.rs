//! Property tests of the WAL reader on synthetic WAL (laid out like the
//! server's: page headers, continuations, long headers, switches), for page
//! sizes 1 kB to 32 kB: what is written is read back exactly; a start LSN
//! anywhere gives the next record; damage or truncation anywhere never panics
//! and never yields a record that was not written.

#![allow(clippy::unwrap_used)]

use pitr_core::Lsn;
use pitr_core::PgMajor;
use pitr_core::WalSegSize;
use pitr_core::wal::synth::{SynthBlock, SynthWal};
use pitr_core::wal::{
    DataFilter, EndReason, ReadMethod, ReaderOptions, RelFileLocator, WalError, WalReader, WalSource,
    decode_record, desc,
};
use proptest::prelude::*;
use std::path::Path;

#[derive(Debug, Clone)]
struct Spec {
    rmid: u8,
    info: u8,
    xid: u32,
    blocks: Vec<SynthBlock>,
    main: Vec<u8>,
    switch_after: bool,
}

#[derive(Debug, Clone, PartialEq)]
struct Got {
    lsn: Lsn,
    end: Lsn,
    xid: u32,
    rmid: u8,
    info: u8,
    main: Option<Vec<u8>>,
    blocks: Vec<(u32, u32, Vec<u8>)>,
}

fn spec() -> impl Strategy<Value = Spec> {
    let size = prop_oneof![8 => 0usize..200, 3 => 200usize..3000, 1 => 3000usize..40_000];
    (
        prop::sample::select(vec![9u8, 10, 11, 21, 150]),
        0u8..16,
        any::<u32>(),
        prop::collection::vec((0u32..4, any::<u32>(), 0usize..300), 0..4),
        size,
        any::<u8>(),
        prop::bool::weighted(0.03),
    )
        .prop_map(|(rmid, t, xid, blocks, len, fill, switch_after)| Spec {
            rmid,
            info: t << 4,
            xid,
            blocks: blocks
                .into_iter()
                .map(|(rel, blk, dlen)| SynthBlock {
                    rel: RelFileLocator { spc: 1663, db: 5, rel: 16384 + rel },
                    fork: 0,
                    block: blk,
                    data: vec![fill ^ 0x33; dlen],
                })
                .collect(),
            main: (0..len).map(|i| fill.wrapping_add(i as u8)).collect(),
            switch_after,
        })
}

/// Writes the records; returns what a reader must see.
fn write(dir: &Path, page: u32, specs: &[Spec]) -> Vec<Got> {
    let seg = WalSegSize::new(1 << 20).unwrap();
    let mut w = SynthWal::new(PgMajor::V16, seg, page, 3);
    let mut out = Vec::new();
    for s in specs {
        let (lsn, end) = w.push(s.rmid, s.info, s.xid, &s.blocks, &s.main);
        out.push(Got {
            lsn,
            end,
            xid: s.xid,
            rmid: s.rmid,
            info: s.info,
            main: Some(s.main.clone()),
            blocks: s.blocks.iter().map(|b| (b.rel.rel, b.block, b.data.clone())).collect(),
        });
        if s.switch_after {
            let lsn = w.switch();
            let end = w.position();
            out.push(Got { lsn, end, xid: 0, rmid: 0, info: 0x40, main: Some(vec![]), blocks: vec![] });
        }
    }
    w.write_to(dir).unwrap();
    out
}

fn read(dir: &Path, opts: ReaderOptions) -> (Vec<Got>, Result<EndReason, WalError>) {
    let mut r = match WalReader::open(WalSource::dir(dir).unwrap(), opts) {
        Ok(r) => r,
        Err(e) => return (Vec::new(), Err(e)),
    };
    let mut out = Vec::new();
    let mut line = String::new();
    loop {
        match r.next_record() {
            Ok(Some(rec)) => {
                // Decoding and describing never panic either.
                let _ = decode_record(&rec);
                line.clear();
                desc::waldump_line(&rec, &mut line);
                out.push(Got {
                    lsn: rec.lsn,
                    end: rec.end_lsn,
                    xid: rec.xid(),
                    rmid: rec.rmid(),
                    info: rec.info(),
                    main: rec.main_data().map(|m| m.to_vec()),
                    blocks: rec
                        .blocks()
                        .iter()
                        .map(|b| {
                            (b.rel.rel, b.block, rec.block_data(b).map(|d| d.to_vec()).unwrap_or_default())
                        })
                        .collect(),
                });
            }
            Ok(None) => return (out, Ok(r.end().unwrap().reason.clone())),
            Err(e) => return (out, Err(e)),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn written_records_are_read_back(specs in prop::collection::vec(spec(), 1..120), page in prop::sample::select(vec![1024u32, 8192, 32768])) {
        let dir = tempfile::tempdir().unwrap();
        let expected = write(dir.path(), page, &specs);
        let (got, end) = read(dir.path(), ReaderOptions::default());
        prop_assert_eq!(&got, &expected);
        let end = end.unwrap();
        prop_assert!(matches!(end, EndReason::ZeroLength | EndReason::ZeroPage | EndReason::NextSegmentAbsent { .. }), "{:?}", end);
        // Without keeping data: the same records, and the crossing ones have no bytes.
        let (lean, _) = read(dir.path(), ReaderOptions { data: DataFilter::none(), ..Default::default() });
        prop_assert_eq!(lean.len(), expected.len());
        for (l, e) in lean.iter().zip(&expected) {
            prop_assert_eq!((l.lsn, l.end, l.xid), (e.lsn, e.end, e.xid));
            if let Some(m) = &l.main {
                prop_assert_eq!(Some(m), e.main.as_ref());
            }
        }
    }

    #[test]
    fn any_start_lsn_gives_the_next_record(mut specs in prop::collection::vec(spec(), 1..60), frac in 0.0f64..1.0) {
        // (A start inside the unused tail of a switched segment finds nothing, as
        // in PostgreSQL: no switches here.)
        specs.iter_mut().for_each(|s| s.switch_after = false);
        let dir = tempfile::tempdir().unwrap();
        let expected = write(dir.path(), 8192, &specs);
        let first = expected[0].lsn.0 - 40;
        let last = expected.last().unwrap().end.0;
        let start = Lsn(first + ((last - first) as f64 * frac) as u64);
        let (got, _) = read(dir.path(), ReaderOptions { start: Some(start), ..Default::default() });
        let want: Vec<Got> = expected.iter().filter(|g| g.lsn >= start).cloned().collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn damage_never_panics_nor_invents_records(
        specs in prop::collection::vec(spec(), 1..60),
        flips in prop::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4),
        cut in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let expected = write(dir.path(), 8192, &specs);
        let mut files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        // Only damage the written part of the WAL.
        let written_end = expected.last().unwrap().end.0;
        for (idx, x) in &flips {
            let pos = 3 * (1u64 << 20) + idx.index((written_end - 3 * (1 << 20)) as usize) as u64;
            let f = &files[((pos >> 20) - 3) as usize];
            let mut b = std::fs::read(f).unwrap();
            b[(pos & 0xFFFFF) as usize] ^= x;
            std::fs::write(f, b).unwrap();
        }
        if let Some(c) = cut {
            let f = files.last().unwrap();
            let len = std::fs::metadata(f).unwrap().len();
            std::fs::OpenOptions::new().write(true).open(f).unwrap().set_len(c.index(len as usize) as u64).unwrap();
        }
        let (got, end) = read(dir.path(), ReaderOptions::default());
        // Whatever was read is a prefix of what was written (a flipped byte in
        // padding or an unused page tail changes nothing).
        prop_assert!(got.len() <= expected.len());
        prop_assert_eq!(&got[..], &expected[..got.len()]);
        // Reading with read(2) instead of mapping the files: the same records,
        // the same end or damage.
        let (got_read, end_read) = read(dir.path(), ReaderOptions { read_method: ReadMethod::Read, ..Default::default() });
        prop_assert_eq!(&got_read, &got);
        prop_assert_eq!(format!("{end:?}"), format!("{end_read:?}"));
    }
}

#[test]
fn records_larger_than_a_segment_cross_several_segments() {
    let dir = tempfile::tempdir().unwrap();
    let seg = WalSegSize::new(1 << 20).unwrap();
    let mut w = SynthWal::new(PgMajor::V18, seg, 8192, 1);
    let big: Vec<u8> = (0..2_600_000u32).map(|i| (i % 251) as u8).collect();
    w.push(21, 0, 7, &[], b"small");
    let (lsn, end) = w.push(21, 0, 8, &[], &big);
    w.push(21, 0, 9, &[], b"after");
    let files = w.write_to(dir.path()).unwrap();
    assert_eq!(files.len(), 3);
    let (got, end_reason) = read(dir.path(), ReaderOptions::default());
    assert_eq!(got.len(), 3);
    assert_eq!((got[1].lsn, got[1].end), (lsn, end));
    assert_eq!(got[1].main.as_deref(), Some(&big[..]));
    assert_eq!(got[2].main.as_deref(), Some(&b"after"[..]));
    assert!(end_reason.is_ok());
    // Starting in the middle of the big record's continuation: the next record.
    let (got, _) =
        read(dir.path(), ReaderOptions { start: Some(Lsn(lsn.0 + 1_500_000)), ..Default::default() });
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].xid, 9);
    // Without the last segment: a clean end inside the big record.
    std::fs::remove_file(&files[2]).unwrap();
    let mut r = WalReader::open(WalSource::dir(dir.path()).unwrap(), ReaderOptions::default()).unwrap();
    assert_eq!(r.next_record().unwrap().unwrap().xid(), 7);
    assert!(r.next_record().unwrap().is_none());
    let e = r.end().unwrap();
    assert!(matches!(e.reason, EndReason::NextSegmentAbsent { .. }));
    assert!(e.incomplete_record);
    assert_eq!(e.position, lsn);
}

#[test]
fn page_sizes_and_segment_sizes_come_from_the_long_header() {
    for (seg_mb, page) in [(1u32, 1024u32), (2, 4096), (64, 65536)] {
        let dir = tempfile::tempdir().unwrap();
        let seg = WalSegSize::new(seg_mb << 20).unwrap();
        let mut w = SynthWal::new(PgMajor::V13, seg, page, 5);
        let mut lsns = Vec::new();
        for i in 0..200u32 {
            lsns.push(w.push(10, 0, i, &[], &vec![i as u8; (i as usize * 37) % 5000]).0);
        }
        w.write_to(dir.path()).unwrap();
        let r = WalReader::open(WalSource::dir(dir.path()).unwrap(), ReaderOptions::default()).unwrap();
        assert_eq!((r.info().seg_size, r.info().page_size), (seg, page));
        let (got, _) = read(dir.path(), ReaderOptions::default());
        assert_eq!(got.iter().map(|g| g.lsn).collect::<Vec<_>>(), lsns, "{seg_mb} MB / {page}");
    }
}

#[test]
fn a_record_header_straddling_a_page_boundary() {
    let dir = tempfile::tempdir().unwrap();
    let seg = WalSegSize::new(1 << 20).unwrap();
    let mut w = SynthWal::new(PgMajor::V15, seg, 8192, 1);
    // First record at offset 40; make the second start 8 bytes before the page end.
    let (a, a_end) = w.push(10, 0, 1, &[], &vec![1u8; 8184 - 40 - 29]);
    assert_eq!(a_end.0 % 8192, 8184);
    let (b, _) = w.push(10, 0, 2, &[], &[2u8; 100]);
    assert_eq!(b, a_end);
    w.push(10, 0, 3, &[], &[3u8; 10]);
    w.write_to(dir.path()).unwrap();
    let (got, _) = read(dir.path(), ReaderOptions::default());
    assert_eq!(got.iter().map(|g| (g.lsn, g.xid)).collect::<Vec<_>>()[..2], [(a, 1), (b, 2)]);
    assert_eq!(got[1].main.as_deref(), Some(&[2u8; 100][..]));
    let (got, _) = read(dir.path(), ReaderOptions { start: Some(b), ..Default::default() });
    assert_eq!(got[0].xid, 2);
    // Damage in the part of the header on the next page (xl_info) is a CRC error at b.
    let f = dir.path().join("000000010000000000000001");
    let mut bytes = std::fs::read(&f).unwrap();
    bytes[8192 + 24 + 8] ^= 0x10;
    std::fs::write(&f, bytes).unwrap();
    let (got, end) = read(dir.path(), ReaderOptions::default());
    assert_eq!(got.len(), 1);
    assert!(matches!(end, Err(WalError::BadCrc { lsn, .. }) if lsn == b), "{end:?}");
}

#[test]
fn overwrite_contrecord_drops_the_incomplete_record() {
    let dir = tempfile::tempdir().unwrap();
    let seg = WalSegSize::new(1 << 20).unwrap();
    let mut w = SynthWal::new(PgMajor::V15, seg, 8192, 1);
    let (a, _) = w.push(10, 0, 1, &[], &[1u8; 3000]);
    let (aborted, over) = w.push_overwritten(20_000, None, 12345);
    let (c, _) = w.push(10, 0, 3, &[], &[3u8; 10]);
    w.write_to(dir.path()).unwrap();
    let mut r = WalReader::open(WalSource::dir(dir.path()).unwrap(), ReaderOptions::default()).unwrap();
    assert_eq!(r.next_record().unwrap().unwrap().lsn, a);
    let o = r.next_record().unwrap().unwrap();
    assert_eq!(o.lsn, over);
    assert_eq!(o.prev(), a, "the overwrite record follows the record before the aborted one");
    assert_eq!(o.type_name(), Some("OVERWRITE_CONTRECORD"));
    match decode_record(&o).unwrap() {
        pitr_core::wal::Decoded::OverwriteContrecord { overwritten_lsn, .. } => {
            assert_eq!(overwritten_lsn, aborted)
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(r.next_record().unwrap().unwrap().lsn, c);
    // The scanner reports it.
    let mut s = pitr_core::wal::scan(WalSource::dir(dir.path()).unwrap(), ReaderOptions::default()).unwrap();
    let ev = s.next_event().unwrap().unwrap();
    assert!(
        matches!(ev, pitr_core::wal::Event::OverwriteContrecord { overwritten, .. } if overwritten == aborted)
    );

    // An overwrite record naming another LSN is damage.
    let dir = tempfile::tempdir().unwrap();
    let mut w = SynthWal::new(PgMajor::V15, seg, 8192, 1);
    w.push(10, 0, 1, &[], &[1u8; 3000]);
    let (_, over) = w.push_overwritten(20_000, Some(Lsn(0x1234)), 1);
    w.write_to(dir.path()).unwrap();
    let (_, end) = read(dir.path(), ReaderOptions::default());
    assert!(
        matches!(end, Err(WalError::OverwriteMismatch { lsn, found, .. }) if lsn == over && found == Lsn(0x1234)),
        "{end:?}"
    );
}

#[test]
fn a_stale_page_after_the_last_record_is_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let seg = WalSegSize::new(1 << 20).unwrap();
    let mut w = SynthWal::new(PgMajor::V17, seg, 8192, 2);
    let mut last = Lsn(0);
    for i in 0..30 {
        last = w.push(10, 0, i, &[], &[i as u8; 700]).1;
    }
    // Fill the current page up to its end so the next record would start on the stale page.
    let page_end = Lsn(last.0.div_ceil(8192) * 8192);
    let fill = (page_end.0 - last.0) as usize;
    if fill >= 32 {
        last = w.push(10, 0, 99, &[], &vec![0u8; fill - 29]).1;
    }
    assert_eq!(last.0 % 8192, 0, "{last}");
    let stale = w.stale_page();
    w.write_to(dir.path()).unwrap();
    let (got, end) = read(dir.path(), ReaderOptions::default());
    assert_eq!(got.last().unwrap().end, last);
    match end.unwrap() {
        EndReason::StalePage { found } => assert_eq!(found, Lsn(stale.0 - (1 << 20))),
        other => panic!("{other:?}"),
    }
}

#[test]
fn timelines_are_chosen_per_segment() {
    let dir = tempfile::tempdir().unwrap();
    let seg = WalSegSize::new(1 << 20).unwrap();
    // Timeline 1: segments 1..=4; timeline 2 forks in segment 3.
    let mut t1 = SynthWal::new(PgMajor::V15, seg, 8192, 1);
    let mut t2 = SynthWal::new(PgMajor::V15, seg, 8192, 1);
    let fork = seg.segment_start(3).0 + 300_000;
    let mut i = 0u32;
    while t1.position().0 < fork {
        t1.push(10, 0, i, &[], &[1u8; 5000]);
        t2.push(10, 0, i, &[], &[1u8; 5000]);
        i += 1;
    }
    while t1.position().0 < seg.segment_start(4).0 + 100_000 {
        t1.push(10, 0, 10_000 + i, &[], &[1u8; 5000]);
        t2.push(10, 0, 20_000 + i, &[], &[2u8; 5000]);
        i += 1;
    }
    t1.write_to_timeline(dir.path(), 1, 0).unwrap();
    t2.write_to_timeline(dir.path(), 2, 3).unwrap();
    let xids = |choice: pitr_core::wal::TimelineChoice| {
        let (got, _) = read(dir.path(), ReaderOptions { timeline: choice, ..Default::default() });
        got.iter().map(|g| g.xid).collect::<Vec<_>>()
    };
    use pitr_core::wal::TimelineChoice::*;
    let hist = xids(History(vec![(1, Lsn(0)), (2, Lsn(fork))]));
    assert!(hist.iter().any(|x| *x >= 20_000) && !hist.iter().any(|x| (10_000..20_000).contains(x)));
    assert_eq!(xids(Highest), hist);
    let only1 = xids(Only(1));
    assert!(only1.iter().any(|x| (10_000..20_000).contains(x)) && !only1.iter().any(|x| *x >= 20_000));
    // Timeline 2 alone starts in segment 3.
    let only2 = xids(Only(2));
    assert!(!only2.is_empty() && only2.iter().all(|x| *x >= 20_000 || *x < 10_000));
}

#[test]
fn partial_files_only_when_asked_and_old_versions_refused() {
    let dir = tempfile::tempdir().unwrap();
    let seg = WalSegSize::new(1 << 20).unwrap();
    let mut w = SynthWal::new(PgMajor::V14, seg, 8192, 1);
    while w.position().0 < seg.segment_start(2).0 + 5000 {
        w.push(10, 0, 1, &[], &[1u8; 3000]);
    }
    let files = w.write_to(dir.path()).unwrap();
    let partial = dir.path().join("000000010000000000000002.partial");
    std::fs::rename(&files[1], &partial).unwrap();
    let count = |s: WalSource| {
        let mut r = WalReader::open(s, ReaderOptions::default()).unwrap();
        let mut n = 0;
        while r.next_record().unwrap().is_some() {
            n += 1;
        }
        (n, r.end().unwrap().reason.clone())
    };
    let (n_dir, end) = count(WalSource::dir(dir.path()).unwrap());
    assert!(matches!(end, EndReason::NextSegmentAbsent { .. }));
    let (n_partial, _) = count(WalSource::new().include_partial(true).tap_add(dir.path()));
    assert!(n_partial > n_dir);
    let (n_explicit, _) = count(WalSource::from_paths(&[&files[0], &partial]).unwrap());
    assert_eq!(n_explicit, n_partial);

    // PostgreSQL 12 WAL is refused by name; so is big-endian WAL.
    for (magic, needle) in
        [(0xD101u16.to_le_bytes(), "PostgreSQL 12"), (0xD10Du16.to_be_bytes(), "big-endian")]
    {
        let mut b = std::fs::read(&files[0]).unwrap();
        b[0..2].copy_from_slice(&magic);
        std::fs::write(&files[0], &b).unwrap();
        let e = WalReader::open(WalSource::from_paths(&[&files[0]]).unwrap(), ReaderOptions::default())
            .unwrap_err();
        assert!(e.to_string().contains(needle), "{e}");
    }
}

trait TapAdd {
    fn tap_add(self, p: &Path) -> WalSource;
}

impl TapAdd for WalSource {
    fn tap_add(mut self, p: &Path) -> WalSource {
        self.add_path(p).unwrap();
        self
    }
}

#[test]
fn the_last_possible_segment_does_not_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let seg = WalSegSize::new(1 << 20).unwrap();
    let segno = u64::MAX / (1 << 20);
    let mut w = SynthWal::new(PgMajor::V15, seg, 8192, segno);
    let mut last = Lsn(0);
    for i in 0..5 {
        last = w.push(10, 0, i, &[], &[1u8; 100]).0;
    }
    let files = w.write_to(dir.path()).unwrap();
    let (got, end) = read(dir.path(), ReaderOptions::default());
    assert_eq!(got.len(), 5);
    assert!(end.is_ok());
    // A huge xl_tot_len in the last record, near the end of the LSN space.
    let mut b = std::fs::read(&files[0]).unwrap();
    let off = (last.0 % (1 << 20)) as usize;
    b[off..off + 4].copy_from_slice(&0x3FFF_FFF0u32.to_le_bytes());
    std::fs::write(&files[0], b).unwrap();
    let (got, _) = read(dir.path(), ReaderOptions::default());
    assert_eq!(got.len(), 4);
}
