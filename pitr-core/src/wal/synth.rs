//! A writer of synthetic WAL, for tests, fuzzing seeds and benchmarks: records
//! with valid headers, CRCs and `xl_prev` chains, laid out on pages and
//! segments exactly as the server does (page headers, continuation records,
//! long headers, `XLOG_SWITCH`). Not meant to produce WAL a server would replay.

use super::page::{LONG_HEADER_LEN, SHORT_HEADER_LEN, XLP_FIRST_IS_CONTRECORD, XLP_LONG_HEADER};
use super::record::{RECORD_HEADER_LEN, RelFileLocator, record_crc};
use crate::lsn::{Lsn, WalSegSize};
use crate::version::PgMajor;
use crate::walfile::SegmentName;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A block reference of a synthetic record (no full-page image).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthBlock {
    /// The relation.
    pub rel: RelFileLocator,
    /// Fork number.
    pub fork: u8,
    /// Block number.
    pub block: u32,
    /// Per-block data.
    pub data: Vec<u8>,
}

/// Builds WAL segments in memory.
#[derive(Debug, Clone)]
pub struct SynthWal {
    major: PgMajor,
    system_id: u64,
    seg_size: WalSegSize,
    page_size: u32,
    timeline: u32,
    pos: Lsn,
    prev: Lsn,
    segs: BTreeMap<u64, Vec<u8>>,
}

impl SynthWal {
    /// WAL of `major` starting at the first record position of segment `segno`.
    pub fn new(major: PgMajor, seg_size: WalSegSize, page_size: u32, segno: u64) -> SynthWal {
        let start = seg_size.segment_start(segno);
        SynthWal {
            major,
            system_id: 7_000_000_000_000_000_001,
            seg_size,
            page_size,
            timeline: 1,
            pos: Lsn(start.0 + LONG_HEADER_LEN as u64),
            prev: Lsn(0),
            segs: BTreeMap::new(),
        }
    }

    /// Sets the system identifier written in long headers.
    #[must_use]
    pub fn system_id(mut self, id: u64) -> SynthWal {
        self.system_id = id;
        self
    }

    /// Where the next record will start (before skipping a page header).
    pub fn position(&self) -> Lsn {
        self.pos
    }

    /// The record bytes (header with `xl_prev` and CRC filled in later) for
    /// `rmid`/`info`/`xid`, block references and main data.
    pub fn build(rmid: u8, info: u8, xid: u32, blocks: &[SynthBlock], main: &[u8]) -> Vec<u8> {
        let mut r = vec![0u8; RECORD_HEADER_LEN];
        let mut last_rel: Option<RelFileLocator> = None;
        for (i, b) in blocks.iter().enumerate() {
            let mut flags = b.fork & 0x0F;
            if !b.data.is_empty() {
                flags |= 0x20;
            }
            let same = last_rel == Some(b.rel);
            if same {
                flags |= 0x80;
            }
            r.push(i as u8);
            r.push(flags);
            r.extend_from_slice(&(b.data.len() as u16).to_le_bytes());
            if !same {
                for v in [b.rel.spc, b.rel.db, b.rel.rel] {
                    r.extend_from_slice(&v.to_le_bytes());
                }
                last_rel = Some(b.rel);
            }
            r.extend_from_slice(&b.block.to_le_bytes());
        }
        if !main.is_empty() {
            if main.len() <= 255 {
                r.push(255);
                r.push(main.len() as u8);
            } else {
                r.push(254);
                r.extend_from_slice(&(main.len() as u32).to_le_bytes());
            }
        }
        for b in blocks {
            r.extend_from_slice(&b.data);
        }
        r.extend_from_slice(main);
        let tot = r.len() as u32;
        r[0..4].copy_from_slice(&tot.to_le_bytes());
        r[4..8].copy_from_slice(&xid.to_le_bytes());
        r[16] = info;
        r[17] = rmid;
        r
    }

    /// Appends a record; returns its start and (MAXALIGNed) end.
    pub fn push(&mut self, rmid: u8, info: u8, xid: u32, blocks: &[SynthBlock], main: &[u8]) -> (Lsn, Lsn) {
        let rec = Self::build(rmid, info, xid, blocks, main);
        self.push_record(rec)
    }

    /// Appends prepared record bytes (`xl_tot_len`, `xl_xid`, `xl_info`,
    /// `xl_rmid` set; `xl_prev` and the CRC are filled in here).
    pub fn push_record(&mut self, mut rec: Vec<u8>) -> (Lsn, Lsn) {
        let page = u64::from(self.page_size);
        let page_of = |l: Lsn| Lsn(l.0 - l.0 % page);
        if self.pos.0 % page == 0 {
            self.ensure_header(self.pos);
            self.pos = Lsn(self.pos.0 + self.header_len(self.pos) as u64);
        } else {
            self.ensure_header(page_of(self.pos));
        }
        let start = self.pos;
        if rec.len() >= RECORD_HEADER_LEN {
            rec[8..16].copy_from_slice(&self.prev.0.to_le_bytes());
            let crc = record_crc(&rec);
            rec[20..24].copy_from_slice(&crc.to_le_bytes());
        }
        let total = rec.len();
        let mut done = 0;
        loop {
            let page_end = (self.pos.0 / page + 1) * page;
            let n = ((page_end - self.pos.0) as usize).min(total - done);
            self.write(self.pos, &rec[done..done + n]);
            done += n;
            self.pos = Lsn(self.pos.0 + n as u64);
            if done >= total {
                break;
            }
            // Continue on the next page.
            self.write_page_header(self.pos, (total - done) as u32, true);
            self.pos = Lsn(self.pos.0 + self.header_len(self.pos) as u64);
        }
        self.prev = start;
        let end = self.pos.maxalign();
        self.pos = end;
        (start, end)
    }

    fn ensure_header(&mut self, page_start: Lsn) {
        if !self.page_written(page_start) {
            self.write_page_header(page_start, 0, false);
        }
    }

    /// Simulates a crash in the middle of a record that crosses a page
    /// boundary, followed by the fix PostgreSQL makes: the first page of a
    /// record of `len` bytes is written, its continuation is lost, and the next
    /// page starts with `XLP_FIRST_IS_OVERWRITE_CONTRECORD` and an
    /// `XLOG_OVERWRITE_CONTRECORD` record naming `overwritten` (normally the
    /// aborted record's LSN). Returns (aborted record, overwrite record).
    pub fn push_overwritten(&mut self, len: usize, overwritten: Option<Lsn>, time: i64) -> (Lsn, Lsn) {
        let page = u64::from(self.page_size);
        if self.pos.0 % page == 0 {
            self.ensure_header(self.pos);
            self.pos = Lsn(self.pos.0 + self.header_len(self.pos) as u64);
        }
        let start = self.pos;
        let page_end = (start.0 / page + 1) * page;
        let len = len.max((page_end - start.0) as usize + 8);
        let mut rec = Self::build(10, 0, 1, &[], &vec![0xAB; len]);
        rec[8..16].copy_from_slice(&self.prev.0.to_le_bytes());
        let crc = record_crc(&rec);
        rec[20..24].copy_from_slice(&crc.to_le_bytes());
        let first = (page_end - start.0) as usize;
        self.write(start, &rec[..first]);
        // The next page: overwrite flag, then the overwrite record.
        let next = Lsn(page_end);
        let long = next.0 % self.seg_size.bytes() == 0;
        self.write_page_header(next, 0, false);
        let mut info = super::page::XLP_FIRST_IS_OVERWRITE_CONTRECORD;
        if long {
            info |= XLP_LONG_HEADER;
        }
        self.write(Lsn(next.0 + 2), &info.to_le_bytes());
        self.pos = next;
        let mut main = Vec::new();
        main.extend_from_slice(&overwritten.unwrap_or(start).0.to_le_bytes());
        main.extend_from_slice(&time.to_le_bytes());
        let (lsn, _) = self.push(0, 0xD0, 0, &[], &main);
        (start, lsn)
    }

    /// Writes, at the next page boundary after the last record, a page that
    /// belongs to an older segment (as in a recycled file). Returns its start.
    pub fn stale_page(&mut self) -> Lsn {
        let page = u64::from(self.page_size);
        let next = Lsn(self.pos.0.div_ceil(page) * page);
        let old = Lsn(next.0 - self.seg_size.bytes());
        let saved = self.pos;
        self.write_page_header(next, 0, false);
        self.write(Lsn(next.0 + 8), &old.0.to_le_bytes());
        // Some stale bytes where a record would be.
        self.write(Lsn(next.0 + self.header_len(next) as u64), &[0x40, 0, 0, 0, 9, 9, 9, 9]);
        self.pos = saved;
        next
    }

    /// Appends an `XLOG_SWITCH` record and moves to the next segment.
    pub fn switch(&mut self) -> Lsn {
        let (start, _) = self.push(0, 0x40, 0, &[], &[]);
        let seg = self.seg_size.bytes();
        self.pos = Lsn(self.pos.0.div_ceil(seg) * seg);
        start
    }

    fn header_len(&self, page_start: Lsn) -> usize {
        if page_start.0 % self.seg_size.bytes() == 0 { LONG_HEADER_LEN } else { SHORT_HEADER_LEN }
    }

    fn page_written(&self, page_start: Lsn) -> bool {
        let segno = page_start.segment(self.seg_size);
        let off = page_start.segment_offset(self.seg_size) as usize;
        self.segs.get(&segno).is_some_and(|s| s.get(off..off + 2).is_some_and(|m| m != [0, 0]))
    }

    fn write_page_header(&mut self, page_start: Lsn, rem_len: u32, cont: bool) {
        let long = page_start.0 % self.seg_size.bytes() == 0;
        let mut h = vec![0u8; if long { LONG_HEADER_LEN } else { SHORT_HEADER_LEN }];
        let mut info = 0u16;
        if cont {
            info |= XLP_FIRST_IS_CONTRECORD;
        }
        if long {
            info |= XLP_LONG_HEADER;
        }
        h[0..2].copy_from_slice(&self.major.wal_magic().to_le_bytes());
        h[2..4].copy_from_slice(&info.to_le_bytes());
        h[4..8].copy_from_slice(&self.timeline.to_le_bytes());
        h[8..16].copy_from_slice(&page_start.0.to_le_bytes());
        h[16..20].copy_from_slice(&(if cont { rem_len } else { 0 }).to_le_bytes());
        if long {
            h[24..32].copy_from_slice(&self.system_id.to_le_bytes());
            h[32..36].copy_from_slice(&self.seg_size.bytes_u32().to_le_bytes());
            h[36..40].copy_from_slice(&self.page_size.to_le_bytes());
        }
        self.write(page_start, &h);
    }

    fn write(&mut self, at: Lsn, bytes: &[u8]) {
        let segno = at.segment(self.seg_size);
        let off = at.segment_offset(self.seg_size) as usize;
        let seg_len = self.seg_size.bytes() as usize;
        let s = self.segs.entry(segno).or_insert_with(|| vec![0u8; seg_len]);
        s[off..off + bytes.len()].copy_from_slice(bytes);
    }

    /// The segments built so far: (segment number, bytes). A segment's first
    /// page always has its long header, even when no record starts in it.
    pub fn segments(&mut self) -> &BTreeMap<u64, Vec<u8>> {
        let segnos: Vec<u64> = self.segs.keys().copied().collect();
        for segno in segnos {
            let start = self.seg_size.segment_start(segno);
            if !self.page_written(start) {
                self.write_page_header(start, 0, false);
            }
        }
        &self.segs
    }

    /// Writes the segments into `dir` (named for timeline 1); returns the paths.
    pub fn write_to(&mut self, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
        self.write_to_timeline(dir, 1, 0)
    }

    /// Writes the segments numbered `from_segno` and up into `dir`, named for
    /// timeline `tli`; returns the paths.
    pub fn write_to_timeline(
        &mut self,
        dir: &Path,
        tli: u32,
        from_segno: u64,
    ) -> std::io::Result<Vec<PathBuf>> {
        let seg = self.seg_size;
        let mut out = Vec::new();
        for (segno, bytes) in self.segments().range(from_segno..) {
            let p = dir.join(SegmentName::new(tli, *segno, seg).to_string());
            std::fs::write(&p, bytes)?;
            out.push(p);
        }
        Ok(out)
    }
}
