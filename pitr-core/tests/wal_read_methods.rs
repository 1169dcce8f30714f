//! The two ways the WAL reader brings segment bytes into memory (memory-mapped
//! windows, `read(2)` into a buffer) give the same records, the same end and the
//! same damage, on segments larger than a mapping window (records crossing
//! window boundaries, files cut at and around window boundaries); and the raw
//! CRC pass of the benchmark computes the CRC of the file's bytes either way.

#![allow(clippy::unwrap_used)]

use pitr_core::Lsn;
use pitr_core::PgMajor;
use pitr_core::WalSegSize;
use pitr_core::wal::mapped::{WINDOW, crc32c_file};
use pitr_core::wal::synth::{SynthBlock, SynthWal};
use pitr_core::wal::{ReadMethod, ReaderOptions, RelFileLocator, WalReader, WalSource};
use std::path::Path;

#[derive(Debug, Clone, PartialEq)]
struct Got {
    lsn: Lsn,
    end: Lsn,
    xid: u32,
    main: Option<Vec<u8>>,
    blocks: Vec<(u32, Vec<u8>)>,
}

/// Every record (with its bytes) and how reading stopped: the end or the error.
fn read(dir: &Path, method: ReadMethod) -> (Vec<Got>, String) {
    let opts = ReaderOptions { read_method: method, ..Default::default() };
    let mut r = WalReader::open(WalSource::dir(dir).unwrap(), opts).unwrap();
    let mut out = Vec::new();
    loop {
        match r.next_record() {
            Ok(Some(rec)) => out.push(Got {
                lsn: rec.lsn,
                end: rec.end_lsn,
                xid: rec.xid(),
                main: rec.main_data().map(|m| m.to_vec()),
                blocks: rec
                    .blocks()
                    .iter()
                    .map(|b| (b.block, rec.block_data(b).map(|d| d.to_vec()).unwrap_or_default()))
                    .collect(),
            }),
            Ok(None) => {
                let e = r.end().unwrap();
                return (
                    out,
                    format!(
                        "end {} at {} ({:?}), incomplete {}",
                        e.end_lsn, e.position, e.reason, e.incomplete_record
                    ),
                );
            }
            Err(e) => return (out, format!("error {e}")),
        }
    }
}

/// About 21 MB of WAL in 16 MB segments: small records, records crossing pages,
/// and records of several MB crossing mapping windows and the segment boundary.
fn write(dir: &Path) -> Vec<Got> {
    let seg = WalSegSize::new(16 << 20).unwrap();
    let mut w = SynthWal::new(PgMajor::V17, seg, 8192, 1);
    let rel = RelFileLocator { spc: 1663, db: 5, rel: 16384 };
    let mut out = Vec::new();
    let mut i = 0u32;
    while w.position().0 < seg.segment_start(2).0 + 5_000_000 {
        let len = match i % 97 {
            0 => 4_500_000 + (i as usize % 7) * 1000,
            n if n % 5 == 0 => 20_000 + n as usize * 31,
            n => (n as usize * 53) % 700,
        };
        let main: Vec<u8> = (0..len).map(|k| (k as u32 ^ i) as u8).collect();
        let blocks = if i % 3 == 0 {
            vec![SynthBlock { rel, fork: 0, block: i, data: vec![i as u8; 40 + i as usize % 90] }]
        } else {
            vec![]
        };
        let (lsn, end) = w.push(10, 0, i, &blocks, &main);
        out.push(Got {
            lsn,
            end,
            xid: i,
            main: Some(main),
            blocks: blocks.iter().map(|b| (b.block, b.data.clone())).collect(),
        });
        i += 1;
    }
    w.write_to(dir).unwrap();
    out
}

#[test]
fn read_methods_agree_across_mapping_windows_and_cuts() {
    let dir = tempfile::tempdir().unwrap();
    let expected = write(dir.path());
    let mut files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert_eq!(files.len(), 2);
    // Records cross mapping windows, and one crosses into the second segment.
    let w = WINDOW;
    let seg0 = 16u64 << 20;
    assert!(expected.iter().any(|g| g.lsn.0 % seg0 < w && g.end.0 % seg0 > w));
    assert!(expected.iter().any(|g| g.lsn.0 < 2 * seg0 && g.end.0 > 2 * seg0));

    let (mapped, mapped_end) = read(dir.path(), ReadMethod::Map);
    let (read_, read_end) = read(dir.path(), ReadMethod::Read);
    assert_eq!(mapped, expected);
    assert_eq!(read_, expected);
    assert_eq!(mapped_end, read_end);

    // Cut the first segment at, just before and just after window boundaries,
    // inside a page header, inside a big record: both methods stop at the same
    // place with the same records, a prefix of what was written.
    let original = std::fs::read(&files[0]).unwrap();
    for cut in [w, w - 3, w + 1, w + 20, 2 * w + 8192 * 3 + 100, 3 * w - 8192, 3 * w + 12, 14_000_001] {
        let cdir = tempfile::tempdir().unwrap();
        let name = files[0].file_name().unwrap();
        std::fs::write(cdir.path().join(name), &original[..cut as usize]).unwrap();
        std::fs::copy(&files[1], cdir.path().join(files[1].file_name().unwrap())).unwrap();
        let (m, m_end) = read(cdir.path(), ReadMethod::Map);
        let (r, r_end) = read(cdir.path(), ReadMethod::Read);
        assert_eq!(m, r, "cut at {cut}");
        assert_eq!(m_end, r_end, "cut at {cut}");
        assert!(m.len() < expected.len(), "cut at {cut}");
        assert_eq!(&m[..], &expected[..m.len()], "cut at {cut}");
        // The cut is where reading stopped: the first record not read ends past it.
        let seg_start = expected[0].lsn.0 - expected[0].lsn.0 % seg0;
        assert!(expected[m.len()].end.0 > seg_start + cut, "cut at {cut}: {m_end}");
        assert!(m_end.contains("Truncated") || m_end.contains("ZeroPage"), "cut at {cut}: {m_end}");
    }

    // A flipped byte past the first window: the same CRC error either way.
    let mut damaged = original.clone();
    damaged[(w + 1_000_000) as usize] ^= 0x40;
    let ddir = tempfile::tempdir().unwrap();
    std::fs::write(ddir.path().join(files[0].file_name().unwrap()), &damaged).unwrap();
    let (m, m_end) = read(ddir.path(), ReadMethod::Map);
    let (r, r_end) = read(ddir.path(), ReadMethod::Read);
    assert_eq!((m.len(), &m_end), (r.len(), &r_end));
    assert!(m_end.starts_with("error") && m_end.contains("checksum"), "{m_end}");
    // At the record holding the flipped byte.
    let seg_start = expected[0].lsn.0 - expected[0].lsn.0 % seg0;
    let hit = expected[m.len()].clone();
    assert!(hit.lsn.0 <= seg_start + w + 1_000_000 && hit.end.0 > seg_start + w + 1_000_000);
    assert!(m_end.contains(&format!("record at {}", hit.lsn)), "{m_end}");
}

#[test]
fn raw_crc_pass_is_the_crc_of_the_bytes_with_both_methods() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bytes");
    // Longer than two windows and not a multiple of the page size.
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let bytes: Vec<u8> = (0..(2 * WINDOW as usize + 12_345))
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(&path, &bytes).unwrap();
    let want = crc32c::crc32c(&bytes);
    for method in [ReadMethod::Map, ReadMethod::Read] {
        assert_eq!(crc32c_file(&path, None, method, 0).unwrap(), (bytes.len() as u64, want), "{method:?}");
    }
    // Appending to a running CRC, as for a list of files.
    let (_, first) = crc32c_file(&path, None, ReadMethod::Map, 0).unwrap();
    let (_, both) = crc32c_file(&path, None, ReadMethod::Map, first).unwrap();
    let twice = [&bytes[..], &bytes[..]].concat();
    assert_eq!(both, crc32c::crc32c(&twice));
    // An empty file.
    let empty = dir.path().join("empty");
    std::fs::write(&empty, b"").unwrap();
    assert_eq!(crc32c_file(&empty, None, ReadMethod::Map, 0).unwrap(), (0, 0));
}
