//! The record stream: a segment file whose first page header is valid and whose
//! remaining bytes are arbitrary is read, decoded, described, counted and
//! scanned without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pitr_core::wal::synth::SynthWal;
use pitr_core::wal::{ReaderOptions, Stats, WalReader, WalSource, decode_record, desc, scan};
use pitr_core::{PgMajor, WalSegSize};
use std::sync::OnceLock;

fn dir() -> &'static std::path::Path {
    static DIR: OnceLock<std::path::PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("pitr-fuzz-wal-stream-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&v, rest)) = data.split_first() else { return };
    let major = PgMajor::ALL[usize::from(v) % PgMajor::ALL.len()];
    let page = [1024u32, 8192, 32768][usize::from(v >> 4) % 3];
    let seg = WalSegSize::new(1 << 20).unwrap();
    // A valid long header, then the fuzzer's bytes.
    let mut w = SynthWal::new(major, seg, page, 1);
    w.push(10, 0, 1, &[], b"seed");
    let mut bytes = w.segments().get(&1).unwrap()[..40].to_vec();
    bytes.extend_from_slice(rest);
    bytes.truncate(1 << 20);
    let path = dir().join("000000010000000000000001");
    std::fs::write(&path, &bytes).unwrap();

    if let Ok(mut r) = WalReader::open(WalSource::dir(dir()).unwrap(), ReaderOptions::default()) {
        let mut stats = Stats::new(major);
        let mut line = String::new();
        while let Ok(Some(rec)) = r.next_record() {
            let _ = decode_record(&rec);
            line.clear();
            desc::waldump_line(&rec, &mut line);
            stats.add(&rec);
        }
        let _ = stats.render(true);
    }
    if let Ok(mut s) = scan(WalSource::dir(dir()).unwrap(), ReaderOptions::default()) {
        while let Ok(Some(_)) = s.next_event() {}
    }
});
