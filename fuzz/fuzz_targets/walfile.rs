//! WAL file name classification on arbitrary names: no panic, and a
//! recognised name formats back to a name classified the same way.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pitr_core::walfile::{SegmentName, WalFileName};
use pitr_core::WalSegSize;

fuzz_target!(|data: &[u8]| {
    let Ok(name) = std::str::from_utf8(data) else { return };
    let f = WalFileName::classify(name);
    if !f.is_unknown() {
        assert_eq!(WalFileName::classify(&f.to_string()), f);
        let _ = f.wal_name();
        let _ = f.plain_name();
    }
    if let Ok(s) = SegmentName::parse(name) {
        assert_eq!(s.to_string(), name);
        for shift in 20..=30 {
            if let Some(seg) = WalSegSize::new(1 << shift) {
                if let Some(segno) = s.segno(seg) {
                    assert_eq!(SegmentName::new(s.timeline, segno, seg), s);
                }
                let _ = s.start_lsn(seg);
            }
        }
    }
});
