//! Throughput of the WAL reader on WAL generated at bench time (synthetic,
//! pgbench-like: small heap/btree records with block references, commits,
//! some 8 kB page images, a checkpoint now and then), against a raw CRC-32C
//! pass over the same files, with both I/O methods of the reader (mapped
//! windows and read(2)).
//!
//! `cargo bench --bench wal_reader`. The comparison with pg_waldump on real
//! pgbench WAL is `benches/waldump-vs-pg.sh`.

#![allow(clippy::unwrap_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pitr_core::wal::mapped::crc32c_file;
use pitr_core::wal::synth::{SynthBlock, SynthWal};
use pitr_core::wal::{
    DataFilter, ReadMethod, ReaderOptions, RelFileLocator, Stats, WalReader, WalSource, scan,
};
use pitr_core::{PgMajor, WalSegSize};
use std::hint::black_box;
use std::path::Path;

const MB: usize = 64;

fn generate(dir: &Path) -> u64 {
    let seg = WalSegSize::new(16 << 20).unwrap();
    let mut w = SynthWal::new(PgMajor::V15, seg, 8192, 1);
    let rel = RelFileLocator { spc: 1663, db: 5, rel: 16397 };
    let mut xid = 1000u32;
    let mut i = 0u64;
    while w.position().0 < seg.segment_start(1).0 + (MB as u64) * (1 << 20) {
        i += 1;
        let block = SynthBlock { rel, fork: 0, block: (i % 5000) as u32, data: vec![(i % 251) as u8; 40] };
        // UPDATE (heap), index insert (btree), then a commit.
        w.push(10, 0x20, xid, std::slice::from_ref(&block), &[1u8; 14]);
        w.push(11, 0x00, xid, &[SynthBlock { data: vec![7; 16], ..block.clone() }], &[2u8; 2]);
        if i % 7 == 0 {
            // A page image's worth of data.
            w.push(0, 0xB0, 0, &[], &vec![(i % 13) as u8; 8000]);
        }
        let mut commit = Vec::new();
        commit.extend_from_slice(&(i as i64 * 1000).to_le_bytes());
        w.push(1, 0x00, xid, &[], &commit);
        xid += 1;
        if i % 20000 == 0 {
            w.push(8, 0x10, 0, &[], &[0u8; 24]);
        }
    }
    let files = w.write_to(dir).unwrap();
    files.iter().map(|f| std::fs::metadata(f).unwrap().len()).sum()
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let bytes = generate(dir.path());
    let mut g = c.benchmark_group("wal");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(bytes));

    // The raw baseline and the verifying reader, with each I/O method
    // (memory-mapped windows, the default; read(2) into a buffer).
    for (name, method) in [("", ReadMethod::Read), ("_map", ReadMethod::Map)] {
        g.bench_function(format!("raw_crc32c{name}"), |b| {
            b.iter(|| {
                let mut files: Vec<_> =
                    std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).collect();
                files.sort();
                let mut crc = 0u32;
                for f in files {
                    crc = crc32c_file(&f, None, method, crc).unwrap().1;
                }
                black_box(crc)
            })
        });

        g.bench_function(format!("read_verify_only{name}"), |b| {
            b.iter(|| {
                let opts =
                    ReaderOptions { data: DataFilter::none(), read_method: method, ..Default::default() };
                let mut r = WalReader::open(WalSource::dir(dir.path()).unwrap(), opts).unwrap();
                let mut n = 0u64;
                while let Some(rec) = r.next_record().unwrap() {
                    n += u64::from(rec.tot_len());
                }
                black_box(n)
            })
        });
    }

    g.bench_function("read_all_data", |b| {
        b.iter(|| {
            let mut r =
                WalReader::open(WalSource::dir(dir.path()).unwrap(), ReaderOptions::default()).unwrap();
            let mut n = 0usize;
            while let Some(rec) = r.next_record().unwrap() {
                n += rec.main_data().map_or(0, |m| m.len());
            }
            black_box(n)
        })
    });

    g.bench_function("stats", |b| {
        b.iter(|| {
            let opts = ReaderOptions { data: DataFilter::none(), ..Default::default() };
            let mut r = WalReader::open(WalSource::dir(dir.path()).unwrap(), opts).unwrap();
            let mut s = Stats::new(PgMajor::V15);
            while let Some(rec) = r.next_record().unwrap() {
                s.add(&rec);
            }
            black_box(s.count)
        })
    });

    g.bench_function("scan_events", |b| {
        b.iter(|| {
            let mut s = scan(WalSource::dir(dir.path()).unwrap(), ReaderOptions::default()).unwrap();
            let mut n = 0u64;
            while let Some(ev) = s.next_event().unwrap() {
                n += ev.lsn().0 & 1;
            }
            black_box(n)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
