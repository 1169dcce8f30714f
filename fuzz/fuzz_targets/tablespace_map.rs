//! `tablespace_map` parsing never panics with either escaping, and what the
//! 14+ writer produces reads back identically.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pitr_core::backup::{MapEscaping, TablespaceMap};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let file = Path::new("tablespace_map");
    let _ = TablespaceMap::parse(data, MapEscaping::Pg13, file);
    if let Ok(m) = TablespaceMap::parse(data, MapEscaping::Pg14, file) {
        let again = TablespaceMap::parse(&m.to_bytes(MapEscaping::Pg14), MapEscaping::Pg14, file);
        assert_eq!(again.as_ref().ok(), Some(&m));
    }
});
