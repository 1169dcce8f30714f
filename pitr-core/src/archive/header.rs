//! The long page header at the start of every WAL segment (`XLogLongPageHeaderData`,
//! identical in PostgreSQL 13 to 18), as the archive needs it: system id,
//! segment size, timeline, page address, magic.
//!
//! SEAM: this is a minimal reader of the 40 header bytes, kept until
//! `pitr_core::wal::segment_header` is available; the archive module will then
//! use the WAL reader's header type and this file goes away. It reads no
//! records.

use crate::error::ParseError;
use crate::lsn::{Lsn, WalSegSize};
use crate::version::{OLD_WAL_MAGICS, PgMajor};
use crate::walfile::TimeLineId;
use std::io::Read;

/// `SizeOfXLogLongPHD`: bytes of the long page header.
pub const LONG_HEADER_SIZE: usize = 40;

const XLP_LONG_HEADER: u16 = 0x0002;
const XLP_ALL_FLAGS: u16 = 0x000F;

/// The fields of a segment's first page header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentHeader {
    /// `xlp_magic`.
    pub magic: u16,
    /// `xlp_info`.
    pub info: u16,
    /// `xlp_tli`: timeline in effect when the page was initialised.
    pub timeline: TimeLineId,
    /// `xlp_pageaddr`: LSN of the page's first byte.
    pub pageaddr: Lsn,
    /// `xlp_sysid`: the cluster's system identifier.
    pub system_id: u64,
    /// `xlp_seg_size` in bytes (as written; may be invalid in a damaged file).
    pub seg_size_bytes: u32,
    /// `xlp_xlog_blcksz`.
    pub block_size: u32,
}

impl SegmentHeader {
    /// Decodes the first 40 bytes of a segment (little-endian). Refuses input
    /// that is not a long page header: too short, no `XLP_LONG_HEADER`, unknown
    /// flag bits, a big-endian magic.
    pub fn parse(bytes: &[u8]) -> Result<SegmentHeader, ParseError> {
        let what = "WAL segment header";
        let Some(b) = bytes.get(..LONG_HEADER_SIZE) else {
            return Err(ParseError::new(
                what,
                format!("{} bytes, a segment starts with a {LONG_HEADER_SIZE}-byte header", bytes.len()),
            ));
        };
        let u16_at = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
        let u32_at = |o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
        let u64_at = |o: usize| u64::from(u32_at(o)) | (u64::from(u32_at(o + 4)) << 32);
        let magic = u16_at(0);
        let info = u16_at(2);
        if magic & 0xF000 != 0xD000 && magic.swap_bytes() & 0xF000 == 0xD000 {
            return Err(ParseError::new(
                what,
                format!(
                    "magic {:#06X} read little-endian looks byte-swapped: big-endian WAL is not supported",
                    magic
                ),
            )
            .at_position(0));
        }
        if info & !XLP_ALL_FLAGS != 0 {
            return Err(ParseError::new(what, format!("invalid info bits {info:#06X}")).at_position(2));
        }
        if info & XLP_LONG_HEADER == 0 {
            return Err(ParseError::new(
                what,
                format!("the first page has no long header (info bits {info:#06X})"),
            )
            .at_position(2));
        }
        Ok(SegmentHeader {
            magic,
            info,
            timeline: u32_at(4),
            pageaddr: Lsn(u64_at(8)),
            system_id: u64_at(24),
            seg_size_bytes: u32_at(32),
            block_size: u32_at(36),
        })
    }

    /// The supported major whose WAL this is.
    pub fn major(&self) -> Option<PgMajor> {
        PgMajor::from_wal_magic(self.magic)
    }

    /// The segment size, if `xlp_seg_size` is a valid one.
    pub fn seg_size(&self) -> Option<WalSegSize> {
        WalSegSize::new(self.seg_size_bytes)
    }

    /// Words for an unsupported magic: the old major it belongs to, or "not WAL".
    pub fn describe_magic(&self) -> String {
        if let Some(m) = self.major() {
            return format!("PostgreSQL {m}");
        }
        match OLD_WAL_MAGICS.iter().find(|(m, _)| *m == self.magic) {
            Some((_, v)) => format!("PostgreSQL {v} (not supported: pitr reads 13 to 18)"),
            None => format!("unknown WAL page magic {:#06X}", self.magic),
        }
    }
}

/// Reads and decodes the header from a (possibly decompressing) reader.
pub fn read_segment_header(r: &mut dyn Read) -> Result<SegmentHeader, std::io::Error> {
    let mut buf = [0u8; LONG_HEADER_SIZE];
    let mut got = 0;
    while got < LONG_HEADER_SIZE {
        let n = r.read(&mut buf[got..])?;
        if n == 0 {
            break;
        }
        got += n;
    }
    SegmentHeader::parse(&buf[..got])
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 40 bytes of wal-format.md 2.6 (segment 000000010000000000000002 of a
    /// PostgreSQL 15 cluster, 16 MB segments).
    const REAL: [u8; 40] = [
        0x10, 0xd1, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x4f, 0x25, 0x56, 0x6d, 0x03, 0xe7, 0x04, 0x6b, 0x00, 0x00,
        0x00, 0x01, 0x00, 0x20, 0x00, 0x00,
    ];

    #[test]
    fn decodes_the_documented_header() {
        let h = SegmentHeader::parse(&REAL).unwrap();
        assert_eq!(h.major(), Some(PgMajor::V15));
        assert_eq!(h.timeline, 1);
        assert_eq!(h.pageaddr, Lsn(0x0200_0000));
        assert_eq!(h.system_id, 7711542463870412111);
        assert_eq!(h.seg_size(), WalSegSize::new(16 << 20));
        assert_eq!(h.block_size, 8192);
    }

    #[test]
    fn refuses_short_swapped_and_short_header_pages() {
        assert!(SegmentHeader::parse(&REAL[..39]).is_err());
        let mut swapped = REAL;
        swapped.swap(0, 1);
        assert!(SegmentHeader::parse(&swapped).unwrap_err().to_string().contains("big-endian"));
        let mut short = REAL;
        short[2] = 0x05;
        assert!(SegmentHeader::parse(&short).is_err());
        let mut bad = REAL;
        bad[2] = 0x16;
        assert!(SegmentHeader::parse(&bad).is_err());
        let mut old = REAL;
        old[0] = 0x01;
        old[1] = 0xD1;
        let h = SegmentHeader::parse(&old).unwrap();
        assert!(h.describe_magic().contains("12"), "{}", h.describe_magic());
    }
}
