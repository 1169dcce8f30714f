//! `backup_manifest` parsing never panics, and a parsed manifest can drive the
//! verifier over arbitrary file contents and the WAL-range check.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pitr_core::WalSegSize;
use pitr_core::backup::wal::{WalSource, check_ranges};
use pitr_core::manifest::{Location, Manifest, ManifestVerifier};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok((m, checksum_error)) = Manifest::parse_lenient(data, Path::new("backup_manifest")) else { return };
    assert_eq!(checksum_error.is_none(), Manifest::parse(data, Path::new("backup_manifest")).is_ok());
    let mut v = ManifestVerifier::new(&m);
    for (i, f) in m.files.iter().enumerate().take(64) {
        let body = data.get(..(i % 7)).unwrap_or(&[]);
        let _ = v.check_file(f.path.as_bytes(), f.size.min(body.len() as u64 + 1), Location::Disk, &mut &body[..]);
    }
    let _ = v.check_file(b"not/listed", 3, Location::Archive { archive: "base.tar", member: "x" }, &mut &b"abc"[..]);
    let _ = v.finish();
    let seg = WalSegSize::new(1 << 20).unwrap();
    let (checks, _) = check_ranges(&m.wal_ranges, seg, &WalSource::default(), None);
    assert_eq!(checks.len(), m.wal_ranges.len());
});
