//! Record headers and block references (`DecodeXLogRecord`'s layout) never
//! panic: the first byte picks the major version, the rest is the record.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pitr_core::PgMajor;
use pitr_core::wal::record::{RecordHeader, decode_headers, record_crc};

fuzz_target!(|data: &[u8]| {
    let Some((&v, rec)) = data.split_first() else { return };
    let major = PgMajor::ALL[usize::from(v) % PgMajor::ALL.len()];
    if let Some(h) = rec.get(..24).and_then(|h| <&[u8; 24]>::try_from(h).ok()) {
        let _ = RecordHeader::parse(h);
    }
    let _ = record_crc(rec);
    let mut blocks = Vec::new();
    let block_size = if v & 0x80 != 0 { Some(8192) } else { None };
    let _ = decode_headers(rec, rec.len() as u32, major, block_size, &mut blocks);
    let _ = decode_headers(rec, u32::from(v) << 4, major, block_size, &mut blocks);
});
