//! `pg_control` decoding never panics; a CRC-valid image decodes the same
//! strictly and leniently.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pitr_core::control::ControlFile;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let file = Path::new("global/pg_control");
    let strict = ControlFile::parse(data, file);
    let lenient = ControlFile::parse_unverified(data, file);
    if let Ok(cf) = &strict {
        assert!(cf.crc_ok());
        assert_eq!(lenient.as_ref().ok(), Some(cf));
    }
    if let Ok(cf) = lenient {
        let _ = cf.redo_wal_file();
        let _ = cf.checkpoint_copy.time.to_string();
    }
});
