//! Inventory of a large flat archive: `PITR_BENCH_SEGMENTS` (default
//! 1,000,000) empty files named like 16 MB segments of timeline 1, created
//! once in a temporary directory. `benches/inventory-vs-ls.sh` compares the
//! command line with `ls -f` on the same kind of directory.

#![allow(clippy::unwrap_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use pitr_core::archive::{Inventory, ScanOptions};
use pitr_core::{SegmentName, WalSegSize};
use std::fs::File;
use std::time::{Duration, Instant};

fn segments() -> u64 {
    std::env::var("PITR_BENCH_SEGMENTS").ok().and_then(|s| s.parse().ok()).unwrap_or(1_000_000)
}

fn inventory(c: &mut Criterion) {
    let n = segments();
    let seg = WalSegSize::DEFAULT;
    let dir = tempfile::Builder::new().prefix("pitr-bench-archive-").tempdir().unwrap();
    let t = Instant::now();
    for segno in 1..=n {
        File::create(dir.path().join(SegmentName::new(1, segno, seg).to_string())).unwrap();
    }
    eprintln!("created {n} files in {:.1?}", t.elapsed());
    let opts = ScanOptions { seg_size: Some(seg) };
    // Check once that the inventory is right before timing it.
    let inv = Inventory::scan(dir.path(), &opts).unwrap();
    assert_eq!(inv.segment_count(), n);
    assert!(inv.timeline(1).unwrap().gaps.is_empty());

    let mut g = c.benchmark_group("archive_inventory");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function(format!("flat_{n}_segments"), |b| {
        b.iter(|| {
            let inv = Inventory::scan(dir.path(), &opts).unwrap();
            assert_eq!(inv.segment_file_count() as u64, n);
            inv
        })
    });
    g.finish();
}

criterion_group!(benches, inventory);
criterion_main!(benches);
