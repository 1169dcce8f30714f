//! The segment long page header reader must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pitr_core::archive::SegmentHeader;

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = SegmentHeader::parse(data) {
        let _ = h.major();
        let _ = h.seg_size();
        let _ = h.describe_magic();
    }
    let _ = pitr_core::archive::read_segment_header(&mut &data[..]);
});
