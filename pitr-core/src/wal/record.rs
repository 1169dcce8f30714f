//! WAL records: the fixed `XLogRecord` header, block references (with the
//! per-version full-page-image flags) and main data, as `DecodeXLogRecord`
//! lays them out.
//!
//! A [`Record`] borrows from the reader: the record bytes are a zero-copy view
//! into the reader's segment buffer when the record lies within one page, and a
//! view of a reassembly buffer (reused from record to record) otherwise.

use super::page::{le_u16, le_u32, le_u64};
use super::rmgr;
use crate::lsn::Lsn;
use crate::version::PgMajor;
use serde::Serialize;
use std::fmt;
use std::path::Path;

/// Size of the fixed record header (`SizeOfXLogRecord`).
pub const RECORD_HEADER_LEN: usize = 24;
/// Largest `xl_tot_len` accepted (PostgreSQL's allocation limit, 1 GiB - 1).
pub const MAX_RECORD_LEN: u32 = 0x3FFF_FFFF;
/// `XLR_MAX_BLOCK_ID`.
pub const MAX_BLOCK_ID: u8 = 32;
/// `XLR_BLOCK_ID_DATA_SHORT`.
pub const BLOCK_ID_DATA_SHORT: u8 = 255;
/// `XLR_BLOCK_ID_DATA_LONG`.
pub const BLOCK_ID_DATA_LONG: u8 = 254;
/// `XLR_BLOCK_ID_ORIGIN`.
pub const BLOCK_ID_ORIGIN: u8 = 253;
/// `XLR_BLOCK_ID_TOPLEVEL_XID` (14+).
pub const BLOCK_ID_TOPLEVEL_XID: u8 = 252;

/// `BKPBLOCK_FORK_MASK`.
pub const BKPBLOCK_FORK_MASK: u8 = 0x0F;
/// `BKPBLOCK_HAS_IMAGE`.
pub const BKPBLOCK_HAS_IMAGE: u8 = 0x10;
/// `BKPBLOCK_HAS_DATA`.
pub const BKPBLOCK_HAS_DATA: u8 = 0x20;
/// `BKPBLOCK_WILL_INIT`.
pub const BKPBLOCK_WILL_INIT: u8 = 0x40;
/// `BKPBLOCK_SAME_REL`.
pub const BKPBLOCK_SAME_REL: u8 = 0x80;

/// The fixed 24-byte header of every record (`XLogRecord`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct RecordHeader {
    /// `xl_tot_len`: total length including this header.
    pub tot_len: u32,
    /// `xl_xid`.
    pub xid: u32,
    /// `xl_prev`: start of the previous record.
    pub prev: Lsn,
    /// `xl_info`: high nibble = record type, low nibble = generic flags.
    pub info: u8,
    /// `xl_rmid`: resource manager.
    pub rmid: u8,
    /// `xl_crc`: CRC-32C of the record.
    pub crc: u32,
}

impl RecordHeader {
    /// Parses the 24 header bytes.
    pub fn parse(b: &[u8; RECORD_HEADER_LEN]) -> RecordHeader {
        let u32at = |o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
        RecordHeader {
            tot_len: u32at(0),
            xid: u32at(4),
            prev: Lsn(u64::from(u32at(8)) | (u64::from(u32at(12)) << 32)),
            info: b[16],
            rmid: b[17],
            crc: u32at(20),
        }
    }

    /// Serialises the header back to its 24 bytes (padding zero).
    pub fn to_bytes(&self) -> [u8; RECORD_HEADER_LEN] {
        let mut b = [0u8; RECORD_HEADER_LEN];
        b[0..4].copy_from_slice(&self.tot_len.to_le_bytes());
        b[4..8].copy_from_slice(&self.xid.to_le_bytes());
        b[8..16].copy_from_slice(&self.prev.0.to_le_bytes());
        b[16] = self.info;
        b[17] = self.rmid;
        b[20..24].copy_from_slice(&self.crc.to_le_bytes());
        b
    }
}

/// CRC-32C of a whole (reassembled) record, as PostgreSQL computes it: the bytes
/// after the fixed header, then the header up to `xl_crc`.
pub fn record_crc(rec: &[u8]) -> u32 {
    let body = rec.get(RECORD_HEADER_LEN..).unwrap_or(&[]);
    let head = rec.get(..20).unwrap_or(rec);
    crc32c::crc32c_append(crc32c::crc32c(body), head)
}

/// A relation file (`RelFileNode` in 13-15, `RelFileLocator` in 16-18).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub struct RelFileLocator {
    /// Tablespace OID.
    pub spc: u32,
    /// Database OID (0 for shared relations).
    pub db: u32,
    /// Relfilenode number (not the pg_class OID).
    pub rel: u32,
}

impl RelFileLocator {
    pub(crate) fn read(b: &[u8], off: usize) -> Option<RelFileLocator> {
        Some(RelFileLocator { spc: le_u32(b, off)?, db: le_u32(b, off + 4)?, rel: le_u32(b, off + 8)? })
    }
}

impl fmt::Display for RelFileLocator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.spc, self.db, self.rel)
    }
}

/// How a full-page image is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageCompression {
    /// Not compressed.
    None,
    /// pglz (the only method in 13 and 14).
    Pglz,
    /// LZ4 (15+).
    Lz4,
    /// Zstandard (15+).
    Zstd,
}

/// A full-page image attached to a block reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BlockImage {
    /// Bytes of image stored in the record (`bimg_len`).
    pub len: u16,
    /// Start of the "hole" (unused middle of the page) omitted from the image.
    pub hole_offset: u16,
    /// Length of the hole.
    pub hole_length: u16,
    /// Raw `bimg_info` flags (their meaning changed in 15).
    pub bimg_info: u8,
    /// Redo restores the image (`BKPIMAGE_APPLY`); false for images logged
    /// only for `wal_consistency_checking`.
    pub apply: bool,
    /// Compression method.
    pub compression: ImageCompression,
}

/// A block reference of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BlockRef {
    /// Block reference id (0 to 32).
    pub id: u8,
    /// The relation file.
    pub rel: RelFileLocator,
    /// Fork number: 0 main, 1 fsm, 2 visibility map, 3 init.
    pub fork: u8,
    /// Block number.
    pub block: u32,
    /// Raw `fork_flags` byte.
    pub flags: u8,
    /// Bytes of per-block data.
    pub data_len: u16,
    /// The full-page image, if any.
    pub image: Option<BlockImage>,
    /// Offset of the image in the record (when present).
    #[serde(skip)]
    pub image_offset: u32,
    /// Offset of the block data in the record.
    #[serde(skip)]
    pub data_offset: u32,
}

impl BlockRef {
    /// `BKPBLOCK_WILL_INIT`: redo re-initialises the page.
    pub fn will_init(&self) -> bool {
        self.flags & BKPBLOCK_WILL_INIT != 0
    }

    /// The fork's name as PostgreSQL prints it (`main`, `fsm`, `vm`, `init`).
    pub fn fork_name(&self) -> &'static str {
        fork_name(self.fork)
    }
}

/// The name of a fork number (`forkNames[]`).
pub fn fork_name(fork: u8) -> &'static str {
    match fork {
        0 => "main",
        1 => "fsm",
        2 => "vm",
        3 => "init",
        _ => "?",
    }
}

/// What a record's fragment headers say, besides its block references.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecordLayout {
    /// `XLR_BLOCK_ID_ORIGIN`: the replication origin.
    pub origin: Option<u16>,
    /// `XLR_BLOCK_ID_TOPLEVEL_XID` (14+).
    pub toplevel_xid: Option<u32>,
    /// Length of the main data (the last bytes of the record).
    pub main_len: u32,
    /// Total length of the full-page images.
    pub fpi_len: u32,
}

/// Decodes the fragment headers of a record whose first bytes are `rec` (at
/// least the whole header region; the whole record when available) and whose
/// length is `tot_len`, like `DecodeXLogRecord`. Block references go to `blocks`
/// (cleared first). `block_size` is the data page size (`BLCKSZ`) when known;
/// without it the checks that depend on it are skipped and 8192 is assumed for
/// hole lengths of uncompressed images.
pub fn decode_headers(
    rec: &[u8],
    tot_len: u32,
    major: PgMajor,
    block_size: Option<u32>,
    blocks: &mut Vec<BlockRef>,
) -> Result<RecordLayout, String> {
    blocks.clear();
    let mut layout = RecordLayout::default();
    let tot = tot_len as usize;
    if tot < RECORD_HEADER_LEN {
        return Err(format!("record length {tot_len} is below the header size"));
    }
    let mut pos = RECORD_HEADER_LEN;
    let mut remaining = tot - RECORD_HEADER_LEN;
    let mut datatotal: usize = 0;
    let mut max_block_id: i32 = -1;
    let mut last_rel: Option<RelFileLocator> = None;
    let short = || "record with invalid length".to_string();

    macro_rules! take {
        ($n:expr, $read:expr) => {{
            if remaining < $n {
                return Err(short());
            }
            let v = $read(rec, pos).ok_or_else(|| "record header region is too long".to_string())?;
            pos += $n;
            remaining -= $n;
            v
        }};
    }
    let u8at = |b: &[u8], o: usize| b.get(o).copied();

    while remaining > datatotal {
        let id: u8 = take!(1, u8at);
        match id {
            BLOCK_ID_DATA_SHORT => {
                let len: u8 = take!(1, u8at);
                layout.main_len = u32::from(len);
                datatotal += usize::from(len);
                break;
            }
            BLOCK_ID_DATA_LONG => {
                let len: u32 = take!(4, le_u32);
                layout.main_len = len;
                datatotal = datatotal.saturating_add(len as usize);
                break;
            }
            BLOCK_ID_ORIGIN => {
                layout.origin = Some(take!(2, le_u16));
            }
            BLOCK_ID_TOPLEVEL_XID if major >= PgMajor::V14 => {
                layout.toplevel_xid = Some(take!(4, le_u32));
            }
            0..=MAX_BLOCK_ID => {
                if i32::from(id) <= max_block_id {
                    return Err(format!("out-of-order block_id {id}"));
                }
                max_block_id = i32::from(id);
                let flags: u8 = take!(1, u8at);
                let data_len: u16 = take!(2, le_u16);
                let has_data = flags & BKPBLOCK_HAS_DATA != 0;
                if has_data && data_len == 0 {
                    return Err("BKPBLOCK_HAS_DATA set, but no data included".into());
                }
                if !has_data && data_len != 0 {
                    return Err(format!("BKPBLOCK_HAS_DATA not set, but data length is {data_len}"));
                }
                datatotal += usize::from(data_len);
                let image = if flags & BKPBLOCK_HAS_IMAGE != 0 {
                    let len: u16 = take!(2, le_u16);
                    let hole_offset: u16 = take!(2, le_u16);
                    let bimg_info: u8 = take!(1, u8at);
                    let (apply, compression) = image_flags(major, bimg_info);
                    let has_hole = bimg_info & 0x01 != 0;
                    let compressed = compression != ImageCompression::None;
                    let hole_length: u16 = if has_hole && compressed {
                        take!(2, le_u16)
                    } else if has_hole {
                        let bs = block_size.unwrap_or(8192);
                        u16::try_from(bs.saturating_sub(u32::from(len))).unwrap_or(u16::MAX)
                    } else {
                        0
                    };
                    datatotal += usize::from(len);
                    if has_hole && (hole_offset == 0 || hole_length == 0) {
                        return Err(format!(
                            "BKPIMAGE_HAS_HOLE set, but hole offset {hole_offset} length {hole_length} block image length {len}"
                        ));
                    }
                    if !has_hole && hole_offset != 0 {
                        return Err(format!(
                            "BKPIMAGE_HAS_HOLE not set, but hole offset {hole_offset} length {hole_length}"
                        ));
                    }
                    if let Some(bs) = block_size {
                        let full = u32::from(len) == bs;
                        if full == (has_hole || compressed) {
                            return Err(format!(
                                "invalid full-page image: length {len}, hole {hole_offset}/{hole_length}, info 0x{bimg_info:02X}"
                            ));
                        }
                    }
                    layout.fpi_len += u32::from(len);
                    Some(BlockImage { len, hole_offset, hole_length, bimg_info, apply, compression })
                } else {
                    None
                };
                let rel = if flags & BKPBLOCK_SAME_REL == 0 {
                    let r: RelFileLocator = take!(12, RelFileLocator::read);
                    last_rel = Some(r);
                    r
                } else {
                    last_rel.ok_or_else(|| "BKPBLOCK_SAME_REL set but no previous rel".to_string())?
                };
                let block: u32 = take!(4, le_u32);
                blocks.push(BlockRef {
                    id,
                    rel,
                    fork: flags & BKPBLOCK_FORK_MASK,
                    block,
                    flags,
                    data_len,
                    image,
                    image_offset: 0,
                    data_offset: 0,
                });
            }
            other => return Err(format!("invalid block_id {other}")),
        }
    }
    if remaining != datatotal {
        return Err(short());
    }
    // Data area: per block its image then its data, then the main data.
    let mut off = pos as u32;
    for b in blocks.iter_mut() {
        b.image_offset = off;
        if let Some(img) = &b.image {
            off += u32::from(img.len);
        }
        b.data_offset = off;
        off += u32::from(b.data_len);
    }
    Ok(layout)
}

/// Meaning of `bimg_info` for a major: (apply, compression).
pub fn image_flags(major: PgMajor, bimg_info: u8) -> (bool, ImageCompression) {
    if major <= PgMajor::V14 {
        let compression = if bimg_info & 0x02 != 0 { ImageCompression::Pglz } else { ImageCompression::None };
        (bimg_info & 0x04 != 0, compression)
    } else {
        let compression = if bimg_info & 0x04 != 0 {
            ImageCompression::Pglz
        } else if bimg_info & 0x08 != 0 {
            ImageCompression::Lz4
        } else if bimg_info & 0x10 != 0 {
            ImageCompression::Zstd
        } else {
            ImageCompression::None
        };
        (bimg_info & 0x02 != 0, compression)
    }
}

/// A WAL record read by [`super::WalReader`].
///
/// The record's bytes ([`Record::bytes`]) and main data ([`Record::main_data`])
/// are available when the reader was asked for them (see
/// [`super::ReaderOptions::data`]); header, block references and lengths always
/// are.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    /// Start of the record.
    pub lsn: Lsn,
    /// MAXALIGNed end of the record (PostgreSQL's `EndRecPtr`); for
    /// `XLOG_SWITCH`, the end of the segment.
    pub end_lsn: Lsn,
    /// The fixed header.
    pub header: RecordHeader,
    /// Replication origin of the session that wrote it (`XLR_BLOCK_ID_ORIGIN`).
    pub origin: Option<u16>,
    /// Top-level xid, on the first record of a subtransaction under
    /// `wal_level = logical` (14+).
    pub toplevel_xid: Option<u32>,
    /// Total bytes of full-page images in the record.
    pub fpi_len: u32,
    /// Length of the main data.
    pub main_len: u32,
    /// `xlp_tli` of the page where the record starts.
    pub page_timeline: u32,
    /// The PostgreSQL major that wrote it.
    pub major: PgMajor,
    pub(crate) blocks: &'a [BlockRef],
    pub(crate) bytes: Option<&'a [u8]>,
    pub(crate) file: &'a Path,
}

impl<'a> Record<'a> {
    /// The resource manager id.
    pub fn rmid(&self) -> u8 {
        self.header.rmid
    }

    /// `xl_info`.
    pub fn info(&self) -> u8 {
        self.header.info
    }

    /// `xl_xid`.
    pub fn xid(&self) -> u32 {
        self.header.xid
    }

    /// `xl_prev`.
    pub fn prev(&self) -> Lsn {
        self.header.prev
    }

    /// `xl_tot_len`.
    pub fn tot_len(&self) -> u32 {
        self.header.tot_len
    }

    /// Length without full-page images (pg_waldump's "rec" length).
    pub fn rec_len(&self) -> u32 {
        self.header.tot_len.saturating_sub(self.fpi_len)
    }

    /// The resource manager name as pg_waldump prints it.
    pub fn rmgr_name(&self) -> std::borrow::Cow<'static, str> {
        rmgr::rmgr_name(self.header.rmid)
    }

    /// The record type name as pg_waldump prints it (`COMMIT`, `INSERT+INIT`...),
    /// or `None` when the resource manager does not know the type.
    pub fn type_name(&self) -> Option<&'static str> {
        rmgr::record_type_name(self.major, self.header.rmid, self.header.info)
    }

    /// The block references, in block-id order.
    pub fn blocks(&self) -> &'a [BlockRef] {
        self.blocks
    }

    /// The whole record (header included, page headers removed), when the reader
    /// kept it.
    pub fn bytes(&self) -> Option<&'a [u8]> {
        self.bytes
    }

    /// The main data, when the reader kept the record's bytes.
    pub fn main_data(&self) -> Option<&'a [u8]> {
        let b = self.bytes?;
        let start = b.len().checked_sub(self.main_len as usize)?;
        b.get(start..)
    }

    /// The image bytes of a block reference, when kept.
    pub fn block_image(&self, block: &BlockRef) -> Option<&'a [u8]> {
        let img = block.image?;
        let start = block.image_offset as usize;
        self.bytes?.get(start..start + usize::from(img.len))
    }

    /// The data bytes of a block reference, when kept.
    pub fn block_data(&self, block: &BlockRef) -> Option<&'a [u8]> {
        let start = block.data_offset as usize;
        self.bytes?.get(start..start + usize::from(block.data_len))
    }

    /// The segment file the record starts in.
    pub fn file(&self) -> &'a Path {
        self.file
    }

    /// True for an `XLOG_SWITCH` record.
    pub fn is_switch(&self) -> bool {
        self.header.rmid == 0 && self.header.info & 0xF0 == 0x40
    }
}

/// Reads an `XLogRecPtr` at `off`.
pub(crate) fn lsn_at(b: &[u8], off: usize) -> Option<Lsn> {
    le_u64(b, off).map(Lsn)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The COMMIT record of the reference (PG 15, LSN 0/201E708, 50 bytes).
    const COMMIT: [u8; 50] = [
        0x32, 0x00, 0x00, 0x00, 0xd6, 0x02, 0x00, 0x00, 0xc8, 0xe6, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x80,
        0x01, 0x00, 0x00, 0x58, 0xa7, 0x5e, 0xcc, 0xff, 0x18, 0xb2, 0xb4, 0x42, 0x53, 0xfa, 0x03, 0x03, 0x00,
        0x02, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0xd7, 0x02, 0x00, 0x00, 0xd8, 0x02, 0x00, 0x00,
    ];

    #[test]
    fn real_commit_record() {
        let h = RecordHeader::parse(COMMIT[..24].try_into().unwrap());
        assert_eq!(h.tot_len, 50);
        assert_eq!(h.xid, 726);
        assert_eq!(h.prev, Lsn(0x201E6C8));
        assert_eq!(h.info, 0x80);
        assert_eq!(h.rmid, 1);
        assert_eq!(h.crc, 0xCC5EA758);
        assert_eq!(record_crc(&COMMIT), h.crc);
        assert_eq!(h.to_bytes(), COMMIT[..24]);
        let mut blocks = Vec::new();
        let l = decode_headers(&COMMIT, 50, PgMajor::V15, Some(8192), &mut blocks).unwrap();
        assert_eq!(l.main_len, 24);
        assert!(blocks.is_empty());
        let mut bad = COMMIT;
        bad[40] ^= 1;
        assert_ne!(record_crc(&bad), h.crc);
    }

    #[test]
    fn block_headers() {
        // id 0, fork main, HAS_IMAGE|HAS_DATA, data 3; image len 100 hole 40 info
        // (15: hole|apply|pglz) + hole length 8000; rel 1663/5/16384; blk 7;
        // id 1 SAME_REL blk 8 no data; main data short 2.
        let mut r = vec![0u8; 24];
        r.extend_from_slice(&[0, 0x30, 3, 0]);
        r.extend_from_slice(&100u16.to_le_bytes());
        r.extend_from_slice(&40u16.to_le_bytes());
        r.push(0x07);
        r.extend_from_slice(&8000u16.to_le_bytes());
        for v in [1663u32, 5, 16384, 7] {
            r.extend_from_slice(&v.to_le_bytes());
        }
        r.extend_from_slice(&[1, 0x80, 0, 0]);
        r.extend_from_slice(&8u32.to_le_bytes());
        r.extend_from_slice(&[255, 2]);
        let hdr_end = r.len();
        r.extend(std::iter::repeat_n(0xAA, 100 + 3 + 2));
        let tot = r.len() as u32;
        let mut blocks = Vec::new();
        let l = decode_headers(&r, tot, PgMajor::V15, Some(8192), &mut blocks).unwrap();
        assert_eq!(l.fpi_len, 100);
        assert_eq!(l.main_len, 2);
        assert_eq!(blocks.len(), 2);
        let img = blocks[0].image.unwrap();
        assert_eq!((img.len, img.hole_offset, img.hole_length), (100, 40, 8000));
        assert_eq!(img.compression, ImageCompression::Pglz);
        assert!(img.apply);
        assert_eq!(blocks[0].image_offset as usize, hdr_end);
        assert_eq!(blocks[0].data_offset as usize, hdr_end + 100);
        assert_eq!(blocks[1].rel, RelFileLocator { spc: 1663, db: 5, rel: 16384 });
        assert_eq!(blocks[1].block, 8);
        // The same bytes mean "hole + compressed + apply" in 14: the 0x02 bit is
        // "compressed" there, so the hole length is still read.
        let l14 = decode_headers(&r, tot, PgMajor::V14, Some(8192), &mut blocks).unwrap();
        assert_eq!(l14.fpi_len, 100);
        // One byte too many or too few is an invalid length.
        assert!(decode_headers(&r, tot + 1, PgMajor::V15, Some(8192), &mut blocks).is_err());
        assert!(decode_headers(&r, tot - 1, PgMajor::V15, Some(8192), &mut blocks).is_err());
        // Out-of-order ids.
        let mut bad = r.clone();
        bad[hdr_end - 10] = 0;
        assert!(
            decode_headers(&bad, tot, PgMajor::V15, Some(8192), &mut blocks)
                .unwrap_err()
                .contains("out-of-order")
        );
    }

    #[test]
    fn toplevel_xid_only_from_14() {
        let mut r = vec![0u8; 24];
        r.extend_from_slice(&[252, 1, 2, 0, 0, 255, 0]);
        let tot = r.len() as u32;
        let mut blocks = Vec::new();
        let l = decode_headers(&r, tot, PgMajor::V14, None, &mut blocks).unwrap();
        assert_eq!(l.toplevel_xid, Some(0x201));
        assert!(
            decode_headers(&r, tot, PgMajor::V13, None, &mut blocks)
                .unwrap_err()
                .contains("invalid block_id 252")
        );
    }

    #[test]
    fn image_flag_meanings() {
        assert_eq!(image_flags(PgMajor::V13, 0x05), (true, ImageCompression::None));
        assert_eq!(image_flags(PgMajor::V13, 0x07), (true, ImageCompression::Pglz));
        assert_eq!(image_flags(PgMajor::V15, 0x03), (true, ImageCompression::None));
        assert_eq!(image_flags(PgMajor::V15, 0x0B), (true, ImageCompression::Lz4));
        assert_eq!(image_flags(PgMajor::V15, 0x13), (true, ImageCompression::Zstd));
        assert_eq!(image_flags(PgMajor::V18, 0x06), (true, ImageCompression::Pglz));
    }
}
