//! A tar-format backup built from arbitrary bytes (`base.tar`, compressed or
//! not, with a small valid manifest beside it): opening, verifying and
//! extracting never panic, and extraction never writes outside its target.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pitr_core::backup::Backup;
use pitr_core::backup::extract::{ExtractOptions, extract};
use pitr_core::backup::verify::{VerifyOptions, verify};
use std::fs;

const MANIFEST: &str = "{ \"PostgreSQL-Backup-Manifest-Version\": 1,\n\
\"Files\": [\n\
{ \"Path\": \"PG_VERSION\", \"Size\": 3, \"Last-Modified\": \"2026-11-24 00:57:28 GMT\", \"Checksum-Algorithm\": \"CRC32C\", \"Checksum\": \"8a744722\" }\n\
],\n\
\"WAL-Ranges\": [\n\
{ \"Timeline\": 1, \"Start-LSN\": \"0/2000028\", \"End-LSN\": \"0/2000100\" }\n\
],\n\
\"Manifest-Checksum\": \"x\"}\n";

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let name = ["base.tar", "base.tar.gz", "base.tar.lz4", "base.tar.zst"][usize::from(selector % 4)];
    let root = tempfile::tempdir().unwrap();
    let backup_dir = root.path().join("backup");
    fs::create_dir(&backup_dir).unwrap();
    fs::write(backup_dir.join(name), body).unwrap();
    let manifest = pitr_core::manifest::with_recomputed_checksum(MANIFEST.as_bytes()).unwrap();
    fs::write(backup_dir.join("backup_manifest"), manifest).unwrap();

    let _ = verify(&backup_dir, &VerifyOptions::default());
    let Ok(backup) = Backup::open(&backup_dir) else { return };
    let sandbox = root.path().join("sandbox");
    fs::create_dir(&sandbox).unwrap();
    let target = sandbox.join("out");
    let opts = ExtractOptions { fsync: false, ..ExtractOptions::default() };
    let result = extract(&backup, &target, &opts);
    // Nothing but the target appears beside it; on failure not even that.
    let beside: Vec<_> = fs::read_dir(&sandbox).unwrap().map(|e| e.unwrap().file_name()).collect();
    match result {
        Ok(_) => assert_eq!(beside, vec![std::ffi::OsString::from("out")]),
        Err(_) => assert!(beside.is_empty(), "{beside:?}"),
    }
    let top: Vec<_> = fs::read_dir(root.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(top.len(), 2, "{top:?}");
});
