//! The record stream: from a start LSN, across pages and segments, with every
//! check PostgreSQL's reader makes, telling a clean end of WAL from damage.
//!
//! Design for speed and bounded memory:
//! * segment files are read in chunks of 1 MiB into one reused buffer (never
//!   a whole segment into memory); with [`ReadMethod::Map`] (opt-in), a
//!   regular, uncompressed segment is instead memory-mapped one window of
//!   [`WINDOW`](super::mapped::WINDOW) bytes at a time (no copy of the bytes;
//!   see [`ReadMethod`] for the invariant this relies on);
//! * page and record headers are parsed in place;
//! * a record lying within one page is returned as a view of that buffer
//!   (zero-copy); a record crossing pages is checked fragment by fragment (CRC
//!   computed incrementally, no copy) and reassembled into a reused buffer only
//!   when its bytes are wanted ([`ReaderOptions::data`]);
//! * nothing is allocated per record.

use super::error::{EndReason, WalEnd, WalError};
use super::mapped::{self, ReadMethod};
use super::page::{self, LONG_HEADER_LEN, PageHeader, SHORT_HEADER_LEN, SegmentHeader, XLP_ALL_FLAGS};
use super::record::{self, BlockRef, MAX_RECORD_LEN, RECORD_HEADER_LEN, Record, RecordHeader, RecordLayout};
use super::rmgr;
use super::source::{SourceFile, WalSource, open_stream, read_full};
use crate::lsn::{Lsn, WalSegSize};
use crate::version::PgMajor;
use crate::walfile::{SegmentName, TimeLineId};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Bytes read from a segment file at a time.
const CHUNK: usize = 1 << 20;
/// Record bytes kept for decoding the headers of a record that is not
/// reassembled (the largest possible header region is below 1000 bytes).
const PREFIX: usize = 1024;

/// Which records' bytes the reader keeps (reassembling records that cross
/// pages). Records within one page are always available; this decides whether
/// records crossing pages are copied together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataFilter {
    /// Bit `info >> 4` of entry `rmid`.
    want: Box<[u16; 256]>,
}

impl DataFilter {
    /// Keep every record's bytes.
    pub fn all() -> DataFilter {
        DataFilter { want: Box::new([u16::MAX; 256]) }
    }

    /// Keep no record's bytes (verification, statistics).
    pub fn none() -> DataFilter {
        DataFilter { want: Box::new([0; 256]) }
    }

    /// Also keep all records of resource manager `rmid`.
    #[must_use]
    pub fn with_rmgr(mut self, rmid: u8) -> DataFilter {
        self.want[usize::from(rmid)] = u16::MAX;
        self
    }

    /// Also keep records of resource manager `rmid` whose `xl_info & 0xF0` is `info`.
    #[must_use]
    pub fn with_record(mut self, rmid: u8, info: u8) -> DataFilter {
        self.want[usize::from(rmid)] |= 1 << (info >> 4);
        self
    }

    /// True when records of `rmid` with `info` are kept.
    #[inline]
    pub fn wants(&self, rmid: u8, info: u8) -> bool {
        self.want[usize::from(rmid)] & (1 << (info >> 4)) != 0
    }
}

impl Default for DataFilter {
    fn default() -> Self {
        DataFilter::all()
    }
}

/// Which file to read for each segment number when several timelines have one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TimelineChoice {
    /// The highest timeline that has the segment.
    #[default]
    Highest,
    /// Only files of this timeline.
    Only(TimeLineId),
    /// Follow a timeline history: `(timeline, begin LSN)` pairs (the first
    /// timeline begins at 0). For each segment the newest timeline that has
    /// begun by the end of the segment is read, as recovery does.
    History(Vec<(TimeLineId, Lsn)>),
}

/// Options of [`WalReader::open`].
#[derive(Debug, Clone, Default)]
pub struct ReaderOptions {
    /// Where to start: the first record at or after this LSN. Default: the first
    /// record starting in the lowest segment.
    pub start: Option<Lsn>,
    /// Stop before the first record starting at or after this LSN.
    pub end: Option<Lsn>,
    /// Which timeline's files to read.
    pub timeline: TimelineChoice,
    /// Which records' bytes to keep (default: all).
    pub data: DataFilter,
    /// The cluster's system identifier, when known (e.g. from `pg_control`);
    /// otherwise the first segment's.
    pub system_id: Option<u64>,
    /// The data page size (`BLCKSZ`) when known, for the full-page image checks
    /// that depend on it.
    pub block_size: Option<u32>,
    /// How segment bytes are brought into memory (default: `read(2)` into a
    /// reused buffer; [`ReadMethod::Map`] maps regular uncompressed files).
    pub read_method: ReadMethod,
}

/// What a stream is: version and sizes, from the first segment's long header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct StreamInfo {
    /// PostgreSQL major.
    pub major: PgMajor,
    /// System identifier.
    pub system_id: u64,
    /// Segment size.
    #[serde(serialize_with = "ser_segsize")]
    pub seg_size: WalSegSize,
    /// WAL page size.
    pub page_size: u32,
}

fn ser_segsize<S: serde::Serializer>(v: &WalSegSize, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(v.bytes())
}

enum Input {
    /// A regular uncompressed file, mapped window by window.
    Mapped(File),
    Plain(File),
    Stream(Box<dyn Read + Send>),
}

impl Input {
    fn read_into(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Input::Plain(f) | Input::Mapped(f) => read_full(f, buf),
            Input::Stream(r) => read_full(r.as_mut(), buf),
        }
    }

    /// Skips `n` bytes.
    fn skip(&mut self, n: u64, scratch: &mut [u8]) -> std::io::Result<u64> {
        match self {
            Input::Plain(f) | Input::Mapped(f) => {
                f.seek(SeekFrom::Current(i64::try_from(n).unwrap_or(i64::MAX)))?;
                Ok(n)
            }
            Input::Stream(r) => {
                let mut left = n;
                while left > 0 {
                    let k = usize::try_from(left).unwrap_or(usize::MAX).min(scratch.len());
                    let Some(s) = scratch.get_mut(..k) else { break };
                    let got = read_full(r.as_mut(), s)?;
                    if got == 0 {
                        break;
                    }
                    left -= got as u64;
                }
                Ok(n - left)
            }
        }
    }
}

/// The bytes of the open segment the reader looks at: a window of the mapped
/// file, or the read buffer.
#[derive(Default)]
struct Buf {
    owned: Vec<u8>,
    map: Option<memmap2::Mmap>,
}

impl std::ops::Deref for Buf {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        match &self.map {
            Some(m) => m,
            None => &self.owned,
        }
    }
}

struct OpenSeg {
    segno: u64,
    file: usize,
    input: Input,
    /// Segment offset of `buf[0]`.
    buf_off: u64,
    buf_len: usize,
    /// Offset of the input's read position.
    input_pos: u64,
    /// Set once the file ended: its length.
    file_end: Option<u64>,
}

#[derive(Debug, Clone, Copy)]
struct PageInfo {
    start: Lsn,
    hdr_len: usize,
    info: u16,
    rem_len: u32,
    timeline: u32,
}

/// How the last record's bytes can be found.
#[derive(Debug, Clone, Copy)]
enum Bytes {
    /// `buf[start..start+len]` of the open segment.
    Single(usize, usize),
    /// The reassembly buffer.
    Assembled,
    /// Not kept.
    None,
}

#[derive(Debug, Clone, Copy)]
struct RecLoc {
    lsn: Lsn,
    end: Lsn,
    header: RecordHeader,
    layout: RecordLayout,
    bytes: Bytes,
    timeline: u32,
    file: usize,
}

/// State of a record being read across pages.
struct Asm {
    lsn: Lsn,
    skipping: bool,
    tot: usize,
    got: usize,
    crc: u32,
    header: Option<RecordHeader>,
    assembling: bool,
    hdr_buf: [u8; RECORD_HEADER_LEN],
}

enum Stop {
    End(EndReason, Lsn, Option<usize>, bool),
    Err(WalError),
}

impl From<WalError> for Stop {
    fn from(e: WalError) -> Stop {
        Stop::Err(e)
    }
}

/// Reads WAL records in order, from a [`WalSource`].
///
/// ```no_run
/// use pitr_core::wal::{ReaderOptions, WalReader, WalSource};
/// let mut r = WalReader::open(WalSource::dir("/archive")?, ReaderOptions::default())?;
/// while let Some(rec) = r.next_record()? {
///     println!("{} {} {:?}", rec.lsn, rec.rmgr_name(), rec.type_name());
/// }
/// println!("{}", r.end().expect("ended cleanly"));
/// # Ok::<(), pitr_core::wal::WalError>(())
/// ```
pub struct WalReader {
    files: Vec<SourceFile>,
    index: BTreeMap<u64, Vec<usize>>,
    info: StreamInfo,
    opts: ReaderOptions,
    buf: Buf,
    seg: Option<OpenSeg>,
    page: Option<PageInfo>,
    next: Lsn,
    positioning: bool,
    skip_before: Lsn,
    expected_prev: Option<Lsn>,
    last_end: Lsn,
    last_tli: u32,
    blocks: Vec<BlockRef>,
    assembly: Vec<u8>,
    prefix: Box<[u8; PREFIX]>,
    overwritten: Option<Lsn>,
    done: bool,
    end: Option<WalEnd>,
    records: u64,
    segments_opened: u64,
    last: Option<RecLoc>,
}

impl std::fmt::Debug for WalReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalReader")
            .field("info", &self.info)
            .field("next", &self.next)
            .field("records", &self.records)
            .field("end", &self.end)
            .finish_non_exhaustive()
    }
}

fn wal_err_path(files: &[SourceFile], idx: usize) -> PathBuf {
    files.get(idx).map(|f| f.path.clone()).unwrap_or_default()
}

impl WalReader {
    /// Opens a stream of WAL from `source`: finds the segment size, page size,
    /// version and system identifier in the first readable segment's long
    /// header, and positions at `opts.start` (or the first record of the
    /// lowest segment). Nothing else is read until [`WalReader::next_record`].
    pub fn open(source: WalSource, opts: ReaderOptions) -> Result<WalReader, WalError> {
        if source.is_empty() {
            return Err(WalError::NoSegments { what: source.describe() });
        }
        let mut files = source.into_files();
        files.sort_by(|a, b| {
            (a.name.log, a.name.seg, a.name.timeline, a.partial, a.compression.is_some(), !a.explicit).cmp(&(
                b.name.log,
                b.name.seg,
                b.name.timeline,
                b.partial,
                b.compression.is_some(),
                !b.explicit,
            ))
        });
        // Stream parameters from the first file whose long header is valid
        // (preferring the file holding the start LSN once the size is known).
        let mut first_err = None;
        let mut hdr = None;
        for f in &files {
            match read_segment_header(&f.path, f.compression) {
                Ok(h) => {
                    hdr = Some(h);
                    break;
                }
                Err(e) => {
                    if first_err.is_none() {
                        first_err = Some(e);
                    }
                }
            }
        }
        let Some(hdr) = hdr else {
            return Err(first_err.unwrap_or(WalError::NoSegments { what: "the given paths".into() }));
        };
        let info = StreamInfo {
            major: hdr.major,
            system_id: opts.system_id.unwrap_or(hdr.system_id),
            seg_size: hdr.seg_size,
            page_size: hdr.page_size,
        };
        let mut index: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
        for (i, f) in files.iter().enumerate() {
            if let Some(segno) = f.name.segno(info.seg_size) {
                index.entry(segno).or_default().push(i);
            }
        }
        let mut r = WalReader {
            files,
            index,
            info,
            opts,
            buf: Buf::default(),
            seg: None,
            page: None,
            next: Lsn(0),
            positioning: true,
            skip_before: Lsn(0),
            expected_prev: None,
            last_end: Lsn(0),
            last_tli: 0,
            blocks: Vec::with_capacity(8),
            assembly: Vec::new(),
            prefix: Box::new([0u8; PREFIX]),
            overwritten: None,
            done: false,
            end: None,
            records: 0,
            segments_opened: 0,
            last: None,
        };
        let seg = info.seg_size;
        let start = match r.opts.start {
            Some(s) => {
                let segno = s.segment(seg);
                if r.pick_file(segno).is_none() {
                    let tli = r.guess_timeline(segno);
                    return Err(WalError::StartNotFound {
                        lsn: s,
                        segment: SegmentName::new(tli, segno, seg),
                    });
                }
                s
            }
            None => {
                let first = r.index.keys().copied().find(|s| r.pick_file(*s).is_some());
                match first {
                    Some(s) => seg.segment_start(s),
                    None => return Err(WalError::NoSegments { what: "the timeline asked for".into() }),
                }
            }
        };
        let page = u64::from(info.page_size);
        r.next = Lsn(start.0 - start.0 % page);
        r.skip_before = start;
        r.last_end = start;
        Ok(r)
    }

    /// The stream's version and sizes.
    pub fn info(&self) -> StreamInfo {
        self.info
    }

    /// The files of the source, sorted.
    pub fn files(&self) -> &[SourceFile] {
        &self.files
    }

    /// Records returned so far.
    pub fn records_read(&self) -> u64 {
        self.records
    }

    /// After [`WalReader::next_record`] returned `Ok(None)`: where and why the
    /// stream ended.
    pub fn end(&self) -> Option<&WalEnd> {
        self.end.as_ref()
    }

    /// End of the last record read (or the start position).
    pub fn last_end(&self) -> Lsn {
        self.last_end
    }

    /// The next record, `Ok(None)` at a clean end of WAL (see
    /// [`WalReader::end`]), or the damage found. After an error or the end,
    /// further calls return `Ok(None)`.
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, WalError> {
        if self.done {
            return Ok(None);
        }
        match self.read_next() {
            Ok(loc) => {
                self.records += 1;
                self.last = Some(loc);
                Ok(Some(self.make_record(loc)))
            }
            Err(Stop::End(reason, position, file, incomplete)) => {
                self.done = true;
                self.last = None;
                self.end = Some(WalEnd {
                    end_lsn: self.last_end,
                    position,
                    file: file.map(|i| wal_err_path(&self.files, i)),
                    reason,
                    incomplete_record: incomplete,
                });
                Ok(None)
            }
            Err(Stop::Err(e)) => {
                self.done = true;
                self.last = None;
                Err(e)
            }
        }
    }

    /// The record last returned by [`WalReader::next_record`], again.
    pub fn current(&self) -> Option<Record<'_>> {
        if self.done {
            return None;
        }
        self.last.map(|loc| self.make_record(loc))
    }

    fn make_record(&self, loc: RecLoc) -> Record<'_> {
        let bytes = match loc.bytes {
            Bytes::Single(s, l) => self.buf.get(s..s + l),
            Bytes::Assembled => Some(&self.assembly[..]),
            Bytes::None => None,
        };
        Record {
            lsn: loc.lsn,
            end_lsn: loc.end,
            header: loc.header,
            origin: loc.layout.origin,
            toplevel_xid: loc.layout.toplevel_xid,
            fpi_len: loc.layout.fpi_len,
            main_len: loc.layout.main_len,
            page_timeline: loc.timeline,
            major: self.info.major,
            blocks: &self.blocks,
            bytes,
            file: self.files.get(loc.file).map(|f| f.path.as_path()).unwrap_or(Path::new("")),
        }
    }

    fn guess_timeline(&self, segno: u64) -> TimeLineId {
        match &self.opts.timeline {
            TimelineChoice::Only(t) => *t,
            TimelineChoice::History(h) => {
                let seg_end = self.info.seg_size.segment_end(segno);
                h.iter().filter(|(_, begin)| *begin < seg_end).map(|(t, _)| *t).max().unwrap_or(1)
            }
            TimelineChoice::Highest => self.files.iter().map(|f| f.name.timeline).max().unwrap_or(1),
        }
    }

    /// The file to read for a segment number.
    fn pick_file(&self, segno: u64) -> Option<usize> {
        let cands = self.index.get(&segno)?;
        let tli_ok = |i: &usize| -> Option<TimeLineId> { self.files.get(*i).map(|f| f.name.timeline) };
        match &self.opts.timeline {
            TimelineChoice::Only(t) => cands.iter().copied().find(|i| tli_ok(i) == Some(*t)),
            TimelineChoice::Highest => {
                let best = cands.iter().filter_map(tli_ok).max()?;
                cands.iter().copied().find(|i| tli_ok(i) == Some(best))
            }
            TimelineChoice::History(h) => {
                let seg_end = self.info.seg_size.segment_end(segno);
                let mut tlis: Vec<TimeLineId> =
                    h.iter().filter(|(_, begin)| *begin < seg_end).map(|(t, _)| *t).collect();
                tlis.sort_unstable_by(|a, b| b.cmp(a));
                tlis.into_iter().find_map(|t| cands.iter().copied().find(|i| tli_ok(i) == Some(t)))
            }
        }
    }

    fn segment_name(&self, segno: u64) -> SegmentName {
        SegmentName::new(self.guess_timeline(segno), segno, self.info.seg_size)
    }

    /// The index in [`files`](Self::files) of the segment file being read
    /// (`None` before the first segment is opened and after the end): with a
    /// source of one file per segment, `index + 1` of `files().len()` is how
    /// far a scan has come.
    pub fn current_file(&self) -> Option<usize> {
        self.seg.as_ref().map(|s| s.file)
    }

    fn path_of(&self, idx: Option<usize>) -> PathBuf {
        idx.map(|i| wal_err_path(&self.files, i)).unwrap_or_default()
    }

    fn end_here(&self, reason: EndReason, position: Lsn, incomplete: bool) -> Stop {
        Stop::End(reason, position, self.current_file(), incomplete)
    }

    /// Opens segment `segno` and validates its long header.
    fn open_segment(&mut self, segno: u64, position: Lsn, incomplete: bool) -> Result<(), Stop> {
        self.seg = None;
        self.page = None;
        let Some(fi) = self.pick_file(segno) else {
            return Err(Stop::End(
                EndReason::NextSegmentAbsent { segment: self.segment_name(segno) },
                position,
                None,
                incomplete,
            ));
        };
        let (path, compression, explicit) = match self.files.get(fi) {
            Some(f) => (f.path.clone(), f.compression, f.explicit),
            None => return Err(Stop::Err(WalError::Invalid("internal: file index out of range".into()))),
        };
        self.buf.map = None;
        let input = open_input(&path, compression, self.opts.read_method)?;
        if !matches!(input, Input::Mapped(..)) && self.buf.owned.len() != CHUNK {
            self.buf.owned = vec![0u8; CHUNK];
        }
        self.seg =
            Some(OpenSeg { segno, file: fi, input, buf_off: 0, buf_len: 0, input_pos: 0, file_end: None });
        self.fill(0)?;
        let first_stream = self.segments_opened == 0;
        self.segments_opened += 1;
        let avail = self.seg.as_ref().map(|s| s.buf_len).unwrap_or(0);
        let first = self.buf.get(..avail).unwrap_or(&[]);
        if avail < LONG_HEADER_LEN {
            if first.iter().all(|&b| b == 0) && avail > 0 {
                return Err(Stop::End(EndReason::ZeroPage, position, Some(fi), incomplete));
            }
            return Err(Stop::End(EndReason::Truncated, position, Some(fi), incomplete));
        }
        if page::le_u16(first, 0) == Some(0) && page::le_u64(first, 8) == Some(0) {
            // A pre-allocated, never written segment.
            return Err(Stop::End(EndReason::ZeroPage, position, Some(fi), incomplete));
        }
        let h = SegmentHeader::parse(first, &path)?;
        if h.major != self.info.major {
            return Err(Stop::Err(WalError::MajorMismatch {
                file: path,
                expected: self.info.major,
                found: h.major,
            }));
        }
        if h.system_id != self.info.system_id {
            return Err(Stop::Err(WalError::SystemIdMismatch {
                file: path,
                expected: self.info.system_id,
                found: h.system_id,
            }));
        }
        if h.seg_size != self.info.seg_size {
            return Err(Stop::Err(WalError::SegmentSizeMismatch {
                file: path,
                expected: self.info.seg_size.bytes_u32(),
                found: h.seg_size.bytes_u32(),
            }));
        }
        if h.page_size != self.info.page_size {
            return Err(Stop::Err(WalError::PageSizeMismatch {
                file: path,
                expected: self.info.page_size,
                found: h.page_size,
            }));
        }
        let expected = self.info.seg_size.segment_start(segno);
        if h.pageaddr != expected {
            if h.pageaddr < expected {
                if explicit || first_stream {
                    return Err(Stop::Err(WalError::RecycledSegment {
                        file: path,
                        expected,
                        found: h.pageaddr,
                    }));
                }
                return Err(Stop::End(
                    EndReason::StaleSegment { found: h.pageaddr },
                    position,
                    Some(fi),
                    incomplete,
                ));
            }
            return Err(Stop::Err(WalError::UnexpectedPageAddr {
                file: path,
                lsn: expected,
                found: h.pageaddr,
            }));
        }
        Ok(())
    }

    /// Fills the buffer with the chunk starting at segment offset `off`.
    fn fill(&mut self, off: u64) -> Result<(), Stop> {
        let Some(seg) = self.seg.as_mut() else { return Ok(()) };
        let path = match self.files.get(seg.file) {
            Some(f) => &f.path,
            None => return Err(Stop::Err(WalError::Invalid("internal: file index out of range".into()))),
        };
        let seg_size = self.info.seg_size.bytes();
        if let Input::Mapped(file) = &seg.input {
            // Map the window holding `off`, never past the file's current end
            // (nor the segment's).
            let len = mapped::mappable_len(file).unwrap_or(0);
            let start = off - off % mapped::WINDOW;
            let stop = (start + mapped::WINDOW).min(seg_size).min(len);
            self.buf.map = None;
            seg.buf_off = start;
            seg.buf_len = 0;
            if stop > start {
                let n = usize::try_from(stop - start).unwrap_or(0);
                let map = mapped::map_window(file, start, n).map_err(|e| WalError::io(path, e))?;
                seg.buf_len = map.len();
                self.buf.map = Some(map);
            }
            seg.input_pos = stop.max(start);
            if len < seg_size && stop >= len {
                seg.file_end = Some(len);
            }
            return Ok(());
        }
        if off < seg.input_pos {
            // Never happens when reading forward; reopen to be safe.
            let Some(f) = self.files.get(seg.file) else { return Ok(()) };
            seg.input = open_input(&f.path, f.compression, self.opts.read_method)?;
            seg.input_pos = 0;
            seg.file_end = None;
        }
        if off > seg.input_pos {
            let want = off - seg.input_pos;
            let got = seg.input.skip(want, &mut self.buf.owned).map_err(|e| WalError::io(path, e))?;
            seg.input_pos += got;
            if got < want {
                seg.file_end = Some(seg.input_pos);
                seg.buf_off = off;
                seg.buf_len = 0;
                return Ok(());
            }
        }
        let left = usize::try_from(seg_size.saturating_sub(off)).unwrap_or(usize::MAX);
        let n = CHUNK.min(left);
        let dst = self.buf.owned.get_mut(..n).unwrap_or(&mut []);
        let got = seg.input.read_into(dst).map_err(|e| WalError::io(path, e))?;
        seg.input_pos += got as u64;
        seg.buf_off = off;
        seg.buf_len = got;
        if got < n {
            seg.file_end = Some(seg.input_pos);
        }
        Ok(())
    }

    /// Makes sure the page at segment offset `off` is in the buffer; returns
    /// (start in buffer, bytes available of the page).
    #[inline]
    fn load_page(&mut self, off: u64) -> Result<(usize, usize), Stop> {
        let page = self.info.page_size as usize;
        let (inside, avail) = match &self.seg {
            Some(s) => {
                let end = s.buf_off + s.buf_len as u64;
                (off >= s.buf_off && off < end, end.saturating_sub(off))
            }
            None => (false, 0),
        };
        if !inside || (avail < page as u64 && self.seg.as_ref().is_some_and(|s| s.file_end.is_none())) {
            self.fill(off)?;
        }
        let Some(s) = &self.seg else { return Ok((0, 0)) };
        if off < s.buf_off {
            return Ok((0, 0));
        }
        let start = (off - s.buf_off) as usize;
        let avail = s.buf_len.saturating_sub(start).min(page);
        Ok((start, avail))
    }

    /// Enters the page starting at `start`: loads and validates it (once per
    /// page: the next record on the same page finds it here).
    #[inline]
    fn enter_page(&mut self, start: Lsn, position: Lsn, incomplete: bool) -> Result<PageInfo, Stop> {
        if let Some(p) = self.page {
            if p.start == start {
                return Ok(p);
            }
        }
        self.enter_new_page(start, position, incomplete)
    }

    #[inline(never)]
    fn enter_new_page(&mut self, start: Lsn, position: Lsn, incomplete: bool) -> Result<PageInfo, Stop> {
        let seg_size = self.info.seg_size;
        let segno = start.segment(seg_size);
        if self.seg.as_ref().map(|s| s.segno) != Some(segno) {
            self.open_segment(segno, position, incomplete)?;
        }
        let off = start.segment_offset(seg_size);
        let (bstart, avail) = self.load_page(off)?;
        let file = self.current_file();
        if avail < SHORT_HEADER_LEN {
            return Err(Stop::End(EndReason::Truncated, position, file, incomplete));
        }
        let pbytes = self.buf.get(bstart..bstart + avail).unwrap_or(&[]);
        let hdr: PageHeader = match page::parse_page_header(pbytes) {
            Some(h) => h,
            None => return Err(Stop::End(EndReason::Truncated, position, file, incomplete)),
        };
        let path = || self.path_of(file);
        if hdr.magic == 0 && hdr.pageaddr.0 == 0 {
            return Err(Stop::End(EndReason::ZeroPage, position, file, incomplete));
        }
        let magic = self.info.major.wal_magic();
        if hdr.magic != magic {
            return Err(Stop::Err(WalError::BadMagic {
                file: path(),
                lsn: start,
                expected: magic,
                found: hdr.magic,
            }));
        }
        if hdr.info & !XLP_ALL_FLAGS != 0 || (off == 0 && hdr.long.is_none()) {
            return Err(Stop::Err(WalError::BadPageInfo { file: path(), lsn: start, found: hdr.info }));
        }
        if let Some(l) = hdr.long {
            if l.system_id != self.info.system_id {
                return Err(Stop::Err(WalError::SystemIdMismatch {
                    file: path(),
                    expected: self.info.system_id,
                    found: l.system_id,
                }));
            }
            if l.seg_size != seg_size.bytes_u32() {
                return Err(Stop::Err(WalError::SegmentSizeMismatch {
                    file: path(),
                    expected: seg_size.bytes_u32(),
                    found: l.seg_size,
                }));
            }
            if l.page_size != self.info.page_size {
                return Err(Stop::Err(WalError::PageSizeMismatch {
                    file: path(),
                    expected: self.info.page_size,
                    found: l.page_size,
                }));
            }
        }
        if hdr.pageaddr != start {
            let stale = hdr.pageaddr < start && (start.0 - hdr.pageaddr.0) % seg_size.bytes() == 0;
            if stale {
                return Err(Stop::End(
                    EndReason::StalePage { found: hdr.pageaddr },
                    position,
                    file,
                    incomplete,
                ));
            }
            return Err(Stop::Err(WalError::UnexpectedPageAddr {
                file: path(),
                lsn: start,
                found: hdr.pageaddr,
            }));
        }
        if hdr.timeline < self.last_tli {
            return Err(Stop::Err(WalError::TimelineRegressed {
                file: path(),
                lsn: start,
                previous: self.last_tli,
                found: hdr.timeline,
            }));
        }
        let hdr_len = hdr.len();
        if avail < hdr_len {
            return Err(Stop::End(EndReason::Truncated, position, file, incomplete));
        }
        self.last_tli = hdr.timeline;
        let p = PageInfo { start, hdr_len, info: hdr.info, rem_len: hdr.rem_len, timeline: hdr.timeline };
        self.page = Some(p);
        Ok(p)
    }

    /// Validates the fixed header of the record at `lsn`.
    #[inline]
    fn check_header(&self, lsn: Lsn, h: &RecordHeader, file: Option<usize>) -> Result<(), WalError> {
        if !rmgr::is_valid_rmid(self.info.major, h.rmid) {
            return Err(WalError::InvalidRmgr { file: self.path_of(file), lsn, rmid: h.rmid });
        }
        match self.expected_prev {
            Some(p) if h.prev != p => {
                Err(WalError::BadPrevLink { file: self.path_of(file), lsn, expected: p, found: h.prev })
            }
            None if h.prev >= lsn => {
                Err(WalError::BadPrevLink { file: self.path_of(file), lsn, expected: lsn, found: h.prev })
            }
            _ => Ok(()),
        }
    }

    fn read_next(&mut self) -> Result<RecLoc, Stop> {
        let page_size = u64::from(self.info.page_size);
        let seg_bytes = self.info.seg_size.bytes();
        'outer: loop {
            let mut lsn = self.next;
            if let Some(end) = self.opts.end {
                if lsn >= end && !self.positioning {
                    return Err(Stop::End(EndReason::EndLsn, lsn, self.current_file(), false));
                }
            }
            let page_start = Lsn(lsn.0 - lsn.0 % page_size);
            let p = self.enter_page(page_start, lsn, false)?;
            let mut off = (lsn.0 - page_start.0) as usize;
            if off == 0 {
                if p.info & page::XLP_FIRST_IS_CONTRECORD != 0 && p.rem_len > 0 {
                    if self.positioning {
                        let space = page_size as usize - p.hdr_len;
                        self.next = if p.rem_len as usize >= space {
                            Lsn(page_start.0.saturating_add(page_size))
                        } else {
                            Lsn(page_start.0.saturating_add(p.hdr_len as u64 + u64::from(p.rem_len)))
                                .maxalign()
                        };
                        continue 'outer;
                    }
                    return Err(Stop::Err(WalError::ContrecordRequested {
                        file: self.path_of(self.current_file()),
                        lsn: Lsn(page_start.0 + p.hdr_len as u64),
                    }));
                }
                off = p.hdr_len;
                lsn = Lsn(page_start.0 + off as u64);
            } else if off < p.hdr_len {
                return Err(Stop::Err(WalError::InvalidRecord {
                    file: self.path_of(self.current_file()),
                    lsn,
                    reason: format!("invalid record offset at {lsn}"),
                }));
            }
            self.positioning = false;
            if let Some(end) = self.opts.end {
                if lsn >= end {
                    return Err(Stop::End(EndReason::EndLsn, lsn, self.current_file(), false));
                }
            }
            let file = self.current_file();
            let file_idx = file.unwrap_or(0);
            let seg_off = page_start.segment_offset(self.info.seg_size);
            let (bstart, avail) = self.load_page(seg_off)?;
            let rec_avail = avail.saturating_sub(off);
            let rbase = bstart + off;
            let Some(tot_len) = page::le_u32(self.buf.get(rbase..rbase + rec_avail).unwrap_or(&[]), 0) else {
                return Err(self.end_here(EndReason::Truncated, lsn, false));
            };
            if tot_len == 0 {
                return Err(self.end_here(EndReason::ZeroLength, lsn, false));
            }
            if (tot_len as usize) < RECORD_HEADER_LEN || tot_len > MAX_RECORD_LEN {
                return Err(Stop::Err(WalError::InvalidRecordLength {
                    file: self.path_of(file),
                    lsn,
                    len: tot_len,
                }));
            }
            let space = page_size as usize - off;
            let skipping = lsn < self.skip_before;
            if tot_len as usize <= space {
                // The whole record is on this page: zero-copy.
                if (tot_len as usize) > rec_avail {
                    return Err(self.end_here(EndReason::Truncated, lsn, true));
                }
                let rec = self.buf.get(rbase..rbase + tot_len as usize).unwrap_or(&[]);
                let hb: &[u8; RECORD_HEADER_LEN] =
                    match rec.get(..RECORD_HEADER_LEN).and_then(|s| s.try_into().ok()) {
                        Some(h) => h,
                        None => return Err(self.end_here(EndReason::Truncated, lsn, true)),
                    };
                let header = RecordHeader::parse(hb);
                self.check_header(lsn, &header, file)?;
                let crc = record::record_crc(rec);
                if crc != header.crc {
                    return Err(Stop::Err(WalError::BadCrc {
                        file: self.path_of(file),
                        lsn,
                        expected: header.crc,
                        found: crc,
                    }));
                }
                let layout = record::decode_headers(
                    rec,
                    tot_len,
                    self.info.major,
                    self.opts.block_size,
                    &mut self.blocks,
                )
                .map_err(|reason| WalError::InvalidRecord {
                    file: self.path_of(file),
                    lsn,
                    reason,
                })?;
                let mut end = Lsn(lsn.0.saturating_add(u64::from(tot_len))).maxalign();
                self.finish_record(lsn, &header, &layout, file)?;
                if header.rmid == rmgr::RM_XLOG_ID && header.info & 0xF0 == 0x40 {
                    end = Lsn(round_up(lsn.0.saturating_add(u64::from(tot_len)), seg_bytes));
                }
                self.next = end;
                self.last_end = end;
                if skipping {
                    continue 'outer;
                }
                return Ok(RecLoc {
                    lsn,
                    end,
                    header,
                    layout,
                    bytes: Bytes::Single(rbase, tot_len as usize),
                    timeline: p.timeline,
                    file: file_idx,
                });
            }

            // The record crosses pages.
            if rec_avail < space {
                return Err(self.end_here(EndReason::Truncated, lsn, true));
            }
            let tot = tot_len as usize;
            if self.assembly.capacity() > 4 * CHUNK {
                self.assembly = Vec::new();
            }
            self.assembly.clear();
            let mut asm = Asm {
                lsn,
                skipping,
                tot,
                got: 0,
                crc: 0,
                header: None,
                assembling: false,
                hdr_buf: [0u8; RECORD_HEADER_LEN],
            };
            self.fragment(&mut asm, rbase, space, file)?;
            let mut pg = page_start;
            let mut end_pos;
            loop {
                pg = Lsn(pg.0.saturating_add(page_size));
                let cp = match self.enter_page(pg, lsn, true) {
                    Ok(cp) => cp,
                    Err(Stop::End(reason, _, f, _)) => return Err(Stop::End(reason, lsn, f, true)),
                    Err(e) => return Err(e),
                };
                let cfile = self.current_file();
                if cp.info & page::XLP_FIRST_IS_OVERWRITE_CONTRECORD != 0 {
                    // The rest of this record was lost and overwritten: drop
                    // it and restart at this page.
                    self.overwritten = Some(lsn);
                    self.next = pg;
                    continue 'outer;
                }
                if cp.info & page::XLP_FIRST_IS_CONTRECORD == 0 {
                    return Err(Stop::Err(WalError::MissingContrecord {
                        file: self.path_of(cfile),
                        lsn: pg,
                        record: lsn,
                    }));
                }
                let remaining = (tot - asm.got) as u32;
                if cp.rem_len == 0 || cp.rem_len != remaining {
                    return Err(Stop::Err(WalError::BadContrecordLength {
                        file: self.path_of(cfile),
                        lsn: pg,
                        record: lsn,
                        expected: remaining,
                        found: cp.rem_len,
                    }));
                }
                let cspace = page_size as usize - cp.hdr_len;
                let flen = (remaining as usize).min(cspace);
                let coff = pg.segment_offset(self.info.seg_size);
                let (cb, cavail) = self.load_page(coff)?;
                if cavail < cp.hdr_len + flen {
                    return Err(Stop::End(EndReason::Truncated, lsn, cfile, true));
                }
                self.fragment(&mut asm, cb + cp.hdr_len, flen, cfile)?;
                if asm.got >= tot {
                    end_pos = Lsn(pg.0.saturating_add((cp.hdr_len + flen) as u64));
                    break;
                }
            }
            let Asm { header, assembling, crc, hdr_buf, .. } = asm;
            let Some(header) = header else {
                return Err(Stop::Err(WalError::InvalidRecord {
                    file: self.path_of(file),
                    lsn,
                    reason: "record header incomplete".into(),
                }));
            };
            let crc = crc32c::crc32c_append(crc, hdr_buf.get(..20).unwrap_or(&[]));
            if crc != header.crc {
                return Err(Stop::Err(WalError::BadCrc {
                    file: self.path_of(file),
                    lsn,
                    expected: header.crc,
                    found: crc,
                }));
            }
            let layout = {
                let src: &[u8] = if assembling {
                    &self.assembly
                } else {
                    self.prefix.get(..tot.min(PREFIX)).unwrap_or(&[])
                };
                record::decode_headers(src, tot_len, self.info.major, self.opts.block_size, &mut self.blocks)
                    .map_err(|reason| WalError::InvalidRecord { file: self.path_of(file), lsn, reason })?
            };
            self.finish_record(lsn, &header, &layout, file)?;
            if header.rmid == rmgr::RM_XLOG_ID && header.info & 0xF0 == 0x40 {
                end_pos = Lsn(round_up(end_pos.0, seg_bytes));
            }
            let end = end_pos.maxalign();
            self.next = end;
            self.last_end = end;
            if skipping {
                continue 'outer;
            }
            return Ok(RecLoc {
                lsn,
                end,
                header,
                layout,
                bytes: if assembling { Bytes::Assembled } else { Bytes::None },
                timeline: p.timeline,
                file: file_idx,
            });
        }
    }

    /// Processes the fragment `buf[fstart..fstart+flen]`, record bytes
    /// `[a.got, a.got+flen)`: header and prefix capture, CRC, header checks once
    /// the header is complete, reassembly when wanted.
    fn fragment(&mut self, a: &mut Asm, fstart: usize, flen: usize, file: Option<usize>) -> Result<(), Stop> {
        let data = self.buf.get(fstart..fstart + flen).unwrap_or(&[]);
        let at = a.got;
        if at < RECORD_HEADER_LEN {
            let n = (RECORD_HEADER_LEN - at).min(flen);
            if let (Some(d), Some(s)) = (a.hdr_buf.get_mut(at..at + n), data.get(..n)) {
                d.copy_from_slice(s);
            }
        }
        if at < PREFIX {
            let n = (PREFIX - at).min(flen);
            if let (Some(d), Some(s)) = (self.prefix.get_mut(at..at + n), data.get(..n)) {
                d.copy_from_slice(s);
            }
        }
        let skip = RECORD_HEADER_LEN.saturating_sub(at).min(flen);
        a.crc = crc32c::crc32c_append(a.crc, data.get(skip..).unwrap_or(&[]));
        if a.header.is_none() && at + flen >= RECORD_HEADER_LEN {
            let h = RecordHeader::parse(&a.hdr_buf);
            self.check_header(a.lsn, &h, file)?;
            a.header = Some(h);
            if !a.skipping && self.opts.data.wants(h.rmid, h.info) {
                a.assembling = true;
                self.assembly.reserve(a.tot);
                // The bytes before this fragment (part of the header) are in the prefix.
                let before = self.prefix.get(..at).unwrap_or(&[]);
                self.assembly.extend_from_slice(before);
            }
        }
        if a.assembling {
            let data = self.buf.get(fstart..fstart + flen).unwrap_or(&[]);
            self.assembly.extend_from_slice(data);
        }
        a.got += flen;
        Ok(())
    }

    /// Bookkeeping after a record passed every check.
    #[inline]
    fn finish_record(
        &mut self,
        lsn: Lsn,
        header: &RecordHeader,
        _layout: &RecordLayout,
        file: Option<usize>,
    ) -> Result<(), Stop> {
        self.expected_prev = Some(lsn);
        if let Some(dropped) = self.overwritten.take() {
            // The first record after a dropped partial record must be the
            // OVERWRITE_CONTRECORD naming it.
            if header.rmid == rmgr::RM_XLOG_ID && header.info & 0xF0 == 0xD0 {
                let found = self.overwrite_lsn();
                if let Some(found) = found {
                    if found != dropped {
                        return Err(Stop::Err(WalError::OverwriteMismatch {
                            file: self.path_of(file),
                            lsn,
                            expected: dropped,
                            found,
                        }));
                    }
                }
            }
        }
        Ok(())
    }

    /// `overwritten_lsn` of the OVERWRITE_CONTRECORD record just read (always
    /// within one page: it is 42 bytes at the start of a page).
    fn overwrite_lsn(&self) -> Option<Lsn> {
        let p = self.page?;
        let s = self.seg.as_ref()?;
        let off = p.start.segment_offset(self.info.seg_size).checked_sub(s.buf_off)? as usize + p.hdr_len;
        // 24-byte header + 2-byte short data header, then the payload.
        record::lsn_at(&self.buf, off + RECORD_HEADER_LEN + 2)
    }
}

/// Opens a segment file for reading with `method`: mapped when it is a regular
/// uncompressed file and mapping was asked for.
fn open_input(
    path: &Path,
    compression: Option<crate::walfile::Compression>,
    method: ReadMethod,
) -> Result<Input, WalError> {
    if compression.is_some() {
        return Ok(Input::Stream(open_stream(path, compression)?));
    }
    let f = File::open(path).map_err(|e| WalError::io(path, e))?;
    if method == ReadMethod::Map && mapped::mappable_len(&f).is_some() {
        return Ok(Input::Mapped(f));
    }
    Ok(Input::Plain(f))
}

/// `v` rounded up to a multiple of `m`, saturating.
fn round_up(v: u64, m: u64) -> u64 {
    v.div_ceil(m).saturating_mul(m)
}

/// Reads and validates the long header of one segment file (plain or
/// compressed): version, system identifier, segment and page sizes, timeline,
/// page address. The page address is also checked against the file name when
/// the name is a WAL segment name: a recycled file gives
/// [`WalError::RecycledSegment`].
pub fn segment_header(path: &Path) -> Result<SegmentHeader, WalError> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let c = crate::walfile::WalFileName::classify(name);
    let h = read_segment_header(path, c.compression)?;
    let seg = match c.kind {
        crate::walfile::WalFileKind::Segment { segment }
        | crate::walfile::WalFileKind::Partial { segment } => Some(segment),
        _ => None,
    };
    if let Some(expected) = seg.and_then(|s| s.start_lsn(h.seg_size)) {
        if h.pageaddr < expected {
            return Err(WalError::RecycledSegment { file: path.to_path_buf(), expected, found: h.pageaddr });
        }
        if h.pageaddr != expected {
            return Err(WalError::UnexpectedPageAddr {
                file: path.to_path_buf(),
                lsn: expected,
                found: h.pageaddr,
            });
        }
    }
    Ok(h)
}

/// Reads the first page header of a file without checking it against the name.
pub(crate) fn read_segment_header(
    path: &Path,
    compression: Option<crate::walfile::Compression>,
) -> Result<SegmentHeader, WalError> {
    let mut r = open_stream(path, compression)?;
    let mut b = [0u8; LONG_HEADER_LEN];
    let n = read_full(r.as_mut(), &mut b).map_err(|e| WalError::io(path, e))?;
    SegmentHeader::parse(b.get(..n).unwrap_or(&[]), path)
}
