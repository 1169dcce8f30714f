//! WAL page headers: the short header on every page, the long header on the
//! first page of each segment, magic numbers, and the checks PostgreSQL makes
//! (`XLogReaderValidatePageHeader`).
//!
//! The page size (`XLOG_BLCKSZ`) and segment size are taken from the long header,
//! never assumed.

use super::error::WalError;
use crate::lsn::{Lsn, WalSegSize};
use crate::version::{OLD_WAL_MAGICS, PgMajor};
use serde::Serialize;
use std::path::Path;

/// Size of the short page header (`SizeOfXLogShortPHD`).
pub const SHORT_HEADER_LEN: usize = 24;
/// Size of the long page header (`SizeOfXLogLongPHD`).
pub const LONG_HEADER_LEN: usize = 40;

/// `XLP_FIRST_IS_CONTRECORD`: the page starts with the continuation of a record.
pub const XLP_FIRST_IS_CONTRECORD: u16 = 0x0001;
/// `XLP_LONG_HEADER`: the page has the long header.
pub const XLP_LONG_HEADER: u16 = 0x0002;
/// `XLP_BKP_REMOVABLE`: full-page images on this page may be removed.
pub const XLP_BKP_REMOVABLE: u16 = 0x0004;
/// `XLP_FIRST_IS_OVERWRITE_CONTRECORD`: a lost continuation was replaced.
pub const XLP_FIRST_IS_OVERWRITE_CONTRECORD: u16 = 0x0008;
/// Every valid `xlp_info` bit.
pub const XLP_ALL_FLAGS: u16 = 0x000F;

/// Smallest and largest WAL page size (`XLOG_BLCKSZ`): 1 kB to 64 kB, a power of two.
pub const MIN_PAGE_SIZE: u32 = 1024;
/// See [`MIN_PAGE_SIZE`].
pub const MAX_PAGE_SIZE: u32 = 65536;

/// A decoded page header (short part, plus the long part when present).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PageHeader {
    /// `xlp_magic`.
    pub magic: u16,
    /// `xlp_info` flags.
    pub info: u16,
    /// `xlp_tli`: timeline in force when the page was initialised.
    pub timeline: u32,
    /// `xlp_pageaddr`: LSN of the first byte of the page.
    pub pageaddr: Lsn,
    /// `xlp_rem_len`: bytes of a continued record still to come.
    pub rem_len: u32,
    /// The long-header fields, when `XLP_LONG_HEADER` is set.
    pub long: Option<LongHeader>,
}

/// The fields only the long page header has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LongHeader {
    /// `xlp_sysid`: the cluster's system identifier.
    pub system_id: u64,
    /// `xlp_seg_size`.
    pub seg_size: u32,
    /// `xlp_xlog_blcksz`.
    pub page_size: u32,
}

impl PageHeader {
    /// Length of this header on the page: 40 with the long header, else 24.
    pub fn len(&self) -> usize {
        if self.info & XLP_LONG_HEADER != 0 { LONG_HEADER_LEN } else { SHORT_HEADER_LEN }
    }

    /// Always false: a header is never empty (for clippy's `len` convention).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// `XLP_FIRST_IS_CONTRECORD` is set.
    pub fn is_contrecord(&self) -> bool {
        self.info & XLP_FIRST_IS_CONTRECORD != 0
    }

    /// `XLP_FIRST_IS_OVERWRITE_CONTRECORD` is set.
    pub fn is_overwrite_contrecord(&self) -> bool {
        self.info & XLP_FIRST_IS_OVERWRITE_CONTRECORD != 0
    }
}

#[inline]
pub(crate) fn le_u16(b: &[u8], off: usize) -> Option<u16> {
    b.get(off..off.checked_add(2)?).and_then(|s| <[u8; 2]>::try_from(s).ok()).map(u16::from_le_bytes)
}

#[inline]
pub(crate) fn le_u32(b: &[u8], off: usize) -> Option<u32> {
    b.get(off..off.checked_add(4)?).and_then(|s| <[u8; 4]>::try_from(s).ok()).map(u32::from_le_bytes)
}

#[inline]
pub(crate) fn le_u64(b: &[u8], off: usize) -> Option<u64> {
    b.get(off..off.checked_add(8)?).and_then(|s| <[u8; 8]>::try_from(s).ok()).map(u64::from_le_bytes)
}

/// Parses the page header at the start of `page` without validating it.
/// `None` when `page` is shorter than the header it announces.
pub fn parse_page_header(page: &[u8]) -> Option<PageHeader> {
    let magic = le_u16(page, 0)?;
    let info = le_u16(page, 2)?;
    let timeline = le_u32(page, 4)?;
    let pageaddr = Lsn(le_u64(page, 8)?);
    let rem_len = le_u32(page, 16)?;
    let long = if info & XLP_LONG_HEADER != 0 {
        Some(LongHeader {
            system_id: le_u64(page, 24)?,
            seg_size: le_u32(page, 32)?,
            page_size: le_u32(page, 36)?,
        })
    } else {
        None
    };
    Some(PageHeader { magic, info, timeline, pageaddr, rem_len, long })
}

/// What a page magic number says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MagicKind {
    /// A supported major (13 to 18).
    Supported(PgMajor),
    /// A major pitr recognises but does not read (9.6 to 12).
    Old(&'static str),
    /// A known magic, byte-swapped: big-endian WAL.
    BigEndian(Option<PgMajor>),
    /// Zero (unwritten page).
    Zero,
    /// Anything else.
    Unknown,
}

/// Classifies a page magic number.
pub fn classify_magic(magic: u16) -> MagicKind {
    if magic == 0 {
        return MagicKind::Zero;
    }
    if let Some(m) = PgMajor::from_wal_magic(magic) {
        return MagicKind::Supported(m);
    }
    if let Some((_, v)) = OLD_WAL_MAGICS.iter().find(|(m, _)| *m == magic) {
        return MagicKind::Old(v);
    }
    let swapped = magic.swap_bytes();
    if let Some(m) = PgMajor::from_wal_magic(swapped) {
        return MagicKind::BigEndian(Some(m));
    }
    if OLD_WAL_MAGICS.iter().any(|(m, _)| *m == swapped) {
        return MagicKind::BigEndian(None);
    }
    MagicKind::Unknown
}

/// The long header of a segment file, validated: everything needed to read the
/// segment and to tell which cluster and version wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SegmentHeader {
    /// The PostgreSQL major version (from the page magic).
    pub major: PgMajor,
    /// `xlp_magic`.
    pub magic: u16,
    /// `xlp_info` of the first page.
    pub info: u16,
    /// `xlp_tli` of the first page.
    pub timeline: u32,
    /// `xlp_pageaddr` of the first page: the segment's start LSN.
    pub pageaddr: Lsn,
    /// `xlp_rem_len` of the first page: bytes of a record continued from the
    /// previous segment.
    pub rem_len: u32,
    /// The cluster's system identifier.
    pub system_id: u64,
    /// The WAL segment size.
    #[serde(serialize_with = "ser_segsize")]
    pub seg_size: WalSegSize,
    /// The WAL page size (`XLOG_BLCKSZ`).
    pub page_size: u32,
}

fn ser_segsize<S: serde::Serializer>(v: &WalSegSize, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(v.bytes())
}

impl SegmentHeader {
    /// The segment number (`pageaddr / seg_size`).
    pub fn segno(&self) -> u64 {
        self.pageaddr.segment(self.seg_size)
    }

    /// Validates the first page header of a segment file (`first` holds at least
    /// its first 40 bytes). Checks magic, flags, the long header's segment and
    /// page sizes and that `xlp_pageaddr` is the start of a segment.
    pub fn parse(first: &[u8], file: &Path) -> Result<SegmentHeader, WalError> {
        let not_wal = |reason: String| WalError::NotWal { file: file.to_path_buf(), reason };
        let magic =
            le_u16(first, 0).ok_or_else(|| not_wal(format!("file has only {} bytes", first.len())))?;
        let major = match classify_magic(magic) {
            MagicKind::Supported(m) => m,
            MagicKind::Old(version) => {
                return Err(WalError::UnsupportedVersion { file: file.to_path_buf(), magic, version });
            }
            MagicKind::BigEndian(major) => {
                return Err(WalError::BigEndian { file: file.to_path_buf(), magic, major });
            }
            MagicKind::Zero => return Err(not_wal("first page is not written (zero magic)".into())),
            MagicKind::Unknown => return Err(not_wal(format!("unknown WAL page magic 0x{magic:04X}"))),
        };
        if first.len() < LONG_HEADER_LEN {
            return Err(not_wal(format!(
                "file has only {} bytes, less than a long page header",
                first.len()
            )));
        }
        let hdr = parse_page_header(first).ok_or_else(|| not_wal("truncated page header".into()))?;
        if hdr.info & !XLP_ALL_FLAGS != 0 || hdr.info & XLP_LONG_HEADER == 0 {
            return Err(WalError::BadPageInfo {
                file: file.to_path_buf(),
                lsn: hdr.pageaddr,
                found: hdr.info,
            });
        }
        let long = hdr.long.ok_or_else(|| not_wal("no long page header".into()))?;
        let seg_size = WalSegSize::new(long.seg_size).ok_or_else(|| {
            not_wal(format!("invalid WAL segment size {} in long page header", long.seg_size))
        })?;
        if !valid_page_size(long.page_size) || long.page_size > long.seg_size {
            return Err(not_wal(format!("invalid WAL page size {} in long page header", long.page_size)));
        }
        if hdr.pageaddr.segment_offset(seg_size) != 0 {
            return Err(not_wal(format!(
                "first page address {} is not the start of a {} segment",
                hdr.pageaddr, seg_size
            )));
        }
        Ok(SegmentHeader {
            major,
            magic,
            info: hdr.info,
            timeline: hdr.timeline,
            pageaddr: hdr.pageaddr,
            rem_len: hdr.rem_len,
            system_id: long.system_id,
            seg_size,
            page_size: long.page_size,
        })
    }
}

/// True for a valid `XLOG_BLCKSZ`: a power of two from 1 kB to 64 kB.
pub fn valid_page_size(size: u32) -> bool {
    size.is_power_of_two() && (MIN_PAGE_SIZE..=MAX_PAGE_SIZE).contains(&size)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The first 40 bytes of a real PostgreSQL 15 segment (system id
    /// 7711542463870412111, 16 MiB segments).
    const PG15_FIRST: [u8; 40] = [
        0x10, 0xd1, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x4f, 0x25, 0x56, 0x6d, 0x03, 0xe7, 0x04, 0x6b, 0x00, 0x00,
        0x00, 0x01, 0x00, 0x20, 0x00, 0x00,
    ];

    #[test]
    fn real_long_header() {
        let h = SegmentHeader::parse(&PG15_FIRST, Path::new("f")).unwrap();
        assert_eq!(h.major, PgMajor::V15);
        assert_eq!(h.info, 6);
        assert_eq!(h.timeline, 1);
        assert_eq!(h.pageaddr, Lsn(0x200_0000));
        assert_eq!(h.system_id, 7711542463870412111);
        assert_eq!(h.seg_size.bytes(), 16 << 20);
        assert_eq!(h.page_size, 8192);
        assert_eq!(h.segno(), 2);
        let p = parse_page_header(&PG15_FIRST).unwrap();
        assert_eq!(p.len(), 40);
        assert!(!p.is_contrecord());
    }

    #[test]
    fn magics_are_classified() {
        for m in PgMajor::ALL {
            assert_eq!(classify_magic(m.wal_magic()), MagicKind::Supported(m));
            assert_eq!(classify_magic(m.wal_magic().swap_bytes()), MagicKind::BigEndian(Some(m)));
        }
        assert_eq!(classify_magic(0xD101), MagicKind::Old("12"));
        assert_eq!(classify_magic(0xD093), MagicKind::Old("9.6"));
        assert_eq!(classify_magic(0), MagicKind::Zero);
        assert_eq!(classify_magic(0x1234), MagicKind::Unknown);
    }

    #[test]
    fn refusals_name_the_reason() {
        let f = Path::new("000000010000000000000002");
        let mut b = PG15_FIRST;
        b[0..2].copy_from_slice(&0xD101u16.to_le_bytes());
        let e = SegmentHeader::parse(&b, f).unwrap_err();
        assert!(matches!(e, WalError::UnsupportedVersion { version: "12", .. }), "{e}");
        assert!(e.to_string().contains("PostgreSQL 12"), "{e}");
        let mut b = PG15_FIRST;
        b[0..2].copy_from_slice(&0xD110u16.to_be_bytes());
        let e = SegmentHeader::parse(&b, f).unwrap_err();
        assert!(matches!(e, WalError::BigEndian { major: Some(PgMajor::V15), .. }), "{e}");
        let mut b = PG15_FIRST;
        b[2] = 0x16; // unknown flag 0x10
        assert!(matches!(SegmentHeader::parse(&b, f), Err(WalError::BadPageInfo { .. })));
        let mut b = PG15_FIRST;
        b[32..36].copy_from_slice(&3_000_000u32.to_le_bytes());
        assert!(matches!(SegmentHeader::parse(&b, f), Err(WalError::NotWal { .. })));
        let mut b = PG15_FIRST;
        b[36..40].copy_from_slice(&3000u32.to_le_bytes());
        assert!(matches!(SegmentHeader::parse(&b, f), Err(WalError::NotWal { .. })));
        assert!(matches!(SegmentHeader::parse(&PG15_FIRST[..10], f), Err(WalError::NotWal { .. })));
        assert!(matches!(SegmentHeader::parse(&[0u8; 40], f), Err(WalError::NotWal { .. })));
    }
}
