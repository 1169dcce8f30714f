//! `Lsn::parse` and `WalSegSize::parse` on arbitrary text: no panic, and a
//! parsed LSN prints back to the same value in both forms.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pitr_core::{Lsn, WalSegSize};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(lsn) = Lsn::parse(text) {
        assert_eq!(Lsn::parse(&lsn.to_string()).ok(), Some(lsn));
        assert_eq!(Lsn::parse(&lsn.padded().to_string()).ok(), Some(lsn));
        for shift in 20..=30 {
            if let Some(seg) = WalSegSize::new(1 << shift) {
                let _ = lsn.segment(seg);
                let _ = lsn.segment_offset(seg);
                let _ = lsn.prev_segment(seg);
            }
        }
    }
    if let Ok(seg) = WalSegSize::parse(text) {
        assert_eq!(WalSegSize::parse(&seg.to_string()).ok(), Some(seg));
    }
});
