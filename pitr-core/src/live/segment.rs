//! The long page header at the start of a WAL segment, just enough of it to
//! compare an archive's system identifier with a server's.
//!
//! A stop-gap kept private and small on purpose: it is to be replaced by the
//! WAL reader's segment header function once that lands.

use crate::compress;
use std::io::Read;
use std::path::Path;

/// `XLP_LONG_HEADER` in `xlp_info`.
const XLP_LONG_HEADER: u16 = 0x0002;
/// Bytes of `XLogLongPageHeaderData` that matter here (through `xlp_xlog_blcksz`).
const LONG_HEADER_LEN: usize = 40;

/// The fields of a segment's first page header that pitr checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LongHeader {
    /// `xlp_magic`: identifies the major version.
    pub magic: u16,
    /// `xlp_tli`.
    pub timeline: u32,
    /// `xlp_pageaddr`: the LSN of the segment's first byte.
    pub page_addr: u64,
    /// `xlp_sysid`.
    pub system_id: u64,
    /// `xlp_seg_size`.
    pub seg_size: u32,
}

/// Parses the first 40 bytes of a segment.
pub(crate) fn parse_long_header(bytes: &[u8]) -> Result<LongHeader, String> {
    let b = bytes.get(..LONG_HEADER_LEN).ok_or_else(|| {
        format!("only {} bytes: a WAL segment starts with a {LONG_HEADER_LEN}-byte header", bytes.len())
    })?;
    let u16_at = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
    let u32_at = |o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
    let u64_at = |o: usize| u64::from(u32_at(o)) | (u64::from(u32_at(o + 4)) << 32);
    let info = u16_at(2);
    if info & XLP_LONG_HEADER == 0 {
        return Err(format!("the first page has no long header (xlp_info {info:#06x}): not a WAL segment"));
    }
    Ok(LongHeader {
        magic: u16_at(0),
        timeline: u32_at(4),
        page_addr: u64_at(8),
        system_id: u64_at(24),
        seg_size: u32_at(32),
    })
}

/// Reads the long header of a segment file (compressed copies are decoded
/// by extension).
pub(crate) fn read_long_header(path: &Path) -> Result<LongHeader, String> {
    let reader = compress::open(path).map_err(|e| e.to_string())?;
    let mut buf = Vec::with_capacity(LONG_HEADER_LEN);
    reader
        .take(LONG_HEADER_LEN as u64)
        .read_to_end(&mut buf)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    parse_long_header(&buf).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_fields_and_rejects_short_or_short_header_pages() {
        let mut b = vec![0u8; 64];
        b[0..2].copy_from_slice(&0xD110u16.to_le_bytes());
        b[2..4].copy_from_slice(&0x0006u16.to_le_bytes());
        b[4..8].copy_from_slice(&3u32.to_le_bytes());
        b[8..16].copy_from_slice(&0x0500_0000u64.to_le_bytes());
        b[24..32].copy_from_slice(&0x6B04_E703_6D56_254Fu64.to_le_bytes());
        b[32..36].copy_from_slice(&(1u32 << 20).to_le_bytes());
        let h = parse_long_header(&b).unwrap();
        assert_eq!(
            h,
            LongHeader {
                magic: 0xD110,
                timeline: 3,
                page_addr: 0x0500_0000,
                system_id: 0x6B04_E703_6D56_254F,
                seg_size: 1 << 20
            }
        );
        assert!(parse_long_header(&b[..39]).is_err());
        b[2] = 0x04;
        assert!(parse_long_header(&b).unwrap_err().contains("no long header"));
    }
}
