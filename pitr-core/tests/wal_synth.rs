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
    DataFilter, EndReason, ReaderOptions, RelFileLocator, WalError, WalReader, WalSource, decode_record, desc,
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
        let (got, _end) = read(dir.path(), ReaderOptions::default());
        // Whatever was read is a prefix of what was written (a flipped byte in
        // padding or an unused page tail changes nothing).
        prop_assert!(got.len() <= expected.len());
        prop_assert_eq!(&got[..], &expected[..got.len()]);
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
