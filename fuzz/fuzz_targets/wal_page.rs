//! WAL page headers: parsing, magic classification and long-header validation
//! never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pitr_core::wal::page::{SegmentHeader, classify_magic, parse_page_header};

fuzz_target!(|data: &[u8]| {
    if let Some(h) = parse_page_header(data) {
        let _ = classify_magic(h.magic);
        let _ = h.len();
    }
    let _ = SegmentHeader::parse(data, std::path::Path::new("000000010000000000000001"));
});
