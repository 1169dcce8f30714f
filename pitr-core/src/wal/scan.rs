//! The recovery planner's view of WAL: a stream of events (commits, aborts,
//! prepares, restore points, checkpoints, end of recovery, timeline switches,
//! backup ends, switches) read without materialising records: only the records
//! that carry events are decoded, in place.
//!
//! [`scan_with`] can add, for `pitr find`, the relation file events (Storage
//! `CREATE` / `TRUNCATE`, Heap `TRUNCATE`) and, for every transaction end, the
//! relation files its records wrote ([`XactEvent::touched`]).

use super::decode::{Decoded, PgTimestamp, RelList, U32List, XactKind, decode_record};
use super::error::{WalEnd, WalError};
use super::reader::{DataFilter, ReaderOptions, WalReader};
use super::record::{Record, RelFileLocator};
use super::rmgr::{RM_HEAP_ID, RM_SMGR_ID, RM_STANDBY_ID, RM_XACT_ID, RM_XLOG_ID};
use super::source::WalSource;
use crate::lsn::Lsn;
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// Options of [`scan`]: those of the reader (`data` is replaced by what the
/// scanner needs).
pub type ScanOptions = ReaderOptions;

/// What [`scan_with`] reports beyond the planner's events (both off in [`scan`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScanDetail {
    /// Report Storage `CREATE` / `TRUNCATE` and Heap `TRUNCATE` records
    /// ([`Event::StorageCreate`], [`Event::StorageTruncate`], [`Event::HeapTruncate`]).
    pub storage: bool,
    /// Remember which relation files each transaction's records wrote (from
    /// their block references) and report them with its end
    /// ([`XactEvent::touched`]).
    pub touched: bool,
}

/// Most relation files remembered per transaction for [`XactEvent::touched`].
pub const MAX_TOUCHED: usize = 256;

/// The end of a transaction (commit or abort, plain or prepared).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct XactEvent<'a> {
    /// The record's LSN (where `recovery_target_inclusive = false` stops).
    pub lsn: Lsn,
    /// The record's end (where an inclusive target stops).
    pub end_lsn: Lsn,
    /// Commit, abort, commit prepared or abort prepared.
    pub kind: XactKind,
    /// The transaction the record ends, as recovery matches `recovery_target_xid`:
    /// the prepared transaction's xid for `*_PREPARED`, else `xl_xid`.
    pub xid: u32,
    /// `xl_xid` of the record (0 for `*_PREPARED`).
    pub record_xid: u32,
    /// Commit/abort timestamp.
    pub time: PgTimestamp,
    /// True when this is the abort of a subtransaction (`ROLLBACK TO SAVEPOINT`),
    /// as far as the WAL read so far tells (see [`XactEvent::top_xid`]).
    pub subxact: bool,
    /// The top-level transaction of an aborted subtransaction, when known (from
    /// `XLR_BLOCK_ID_TOPLEVEL_XID` or an `ASSIGNMENT` record).
    pub top_xid: Option<u32>,
    /// Subtransactions ended with it.
    pub subxacts: U32List<'a>,
    /// Relation files dropped by a commit (or created files removed by an abort).
    pub dropped_rels: RelList<'a>,
    /// The prepared transaction's xid (`*_PREPARED`).
    pub twophase_xid: Option<u32>,
    /// The prepared transaction's GID, when logged.
    #[serde(serialize_with = "ser_bytes_opt")]
    pub gid: Option<&'a [u8]>,
    /// Database OID, when logged.
    pub db: Option<u32>,
    /// The relation files the transaction (and its subtransactions ended with
    /// it) wrote, in first-write order, without duplicates: only with
    /// [`ScanDetail::touched`], and only for records read by this scan (at most
    /// [`MAX_TOUCHED`]; see [`XactEvent::touched_truncated`]).
    #[serde(serialize_with = "ser_rels")]
    pub touched: &'a [RelFileLocator],
    /// True when the transaction wrote more relation files than
    /// [`MAX_TOUCHED`] (the list is cut).
    pub touched_truncated: bool,
}

fn ser_rels<S: serde::Serializer>(b: &[RelFileLocator], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(b.iter().map(|r| [r.spc, r.db, r.rel]))
}

fn ser_bytes<S: serde::Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(b))
}

fn ser_bytes_opt<S: serde::Serializer>(b: &Option<&[u8]>, s: S) -> Result<S::Ok, S::Error> {
    match b {
        Some(b) => ser_bytes(b, s),
        None => s.serialize_none(),
    }
}

/// An event of the WAL stream that matters for recovery planning.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event<'a> {
    /// A commit (plain or prepared).
    Commit(XactEvent<'a>),
    /// An abort (plain, of a subtransaction, or prepared).
    Abort(XactEvent<'a>),
    /// `PREPARE TRANSACTION`: the transaction is not finished yet.
    Prepare {
        /// Record LSN.
        lsn: Lsn,
        /// Record end.
        end_lsn: Lsn,
        /// The prepared xid.
        xid: u32,
        /// The GID.
        #[serde(serialize_with = "ser_bytes")]
        gid: &'a [u8],
        /// `prepared_at`.
        time: PgTimestamp,
    },
    /// `pg_create_restore_point()`.
    RestorePoint {
        /// Record LSN.
        lsn: Lsn,
        /// Record end (the LSN the function returned).
        end_lsn: Lsn,
        /// The name.
        #[serde(serialize_with = "ser_bytes")]
        name: &'a [u8],
        /// When.
        time: PgTimestamp,
    },
    /// A checkpoint record.
    Checkpoint {
        /// Record LSN.
        lsn: Lsn,
        /// Record end.
        end_lsn: Lsn,
        /// Shutdown (or end-of-recovery) checkpoint.
        shutdown: bool,
        /// REDO point.
        redo: Lsn,
        /// Timeline.
        timeline: u32,
        /// Previous timeline (differs in the first checkpoint of a timeline).
        prev_timeline: u32,
        /// Time, seconds since the Unix epoch.
        time: i64,
        /// `nextXid` (epoch << 32 | xid).
        next_xid: u64,
        /// `oldestActiveXid`.
        oldest_active_xid: u32,
    },
    /// `END_OF_RECOVERY` (promotion).
    EndOfRecovery {
        /// Record LSN.
        lsn: Lsn,
        /// Record end.
        end_lsn: Lsn,
        /// New timeline.
        timeline: u32,
        /// Previous timeline.
        prev_timeline: u32,
        /// When.
        time: PgTimestamp,
    },
    /// A new timeline begins (after an `END_OF_RECOVERY` or a checkpoint whose
    /// previous timeline differs).
    TimelineSwitch {
        /// LSN of the record that marks it.
        lsn: Lsn,
        /// That record's end.
        end_lsn: Lsn,
        /// Old timeline.
        from: u32,
        /// New timeline.
        to: u32,
    },
    /// `BACKUP_END`: an online base backup that started at `start` has ended.
    BackupEnd {
        /// Record LSN.
        lsn: Lsn,
        /// Record end.
        end_lsn: Lsn,
        /// The backup's start LSN.
        start: Lsn,
    },
    /// `XLOG_SWITCH`.
    Switch {
        /// Record LSN.
        lsn: Lsn,
        /// The end of its segment.
        end_lsn: Lsn,
    },
    /// `OVERWRITE_CONTRECORD`: an incomplete record at `overwritten` was dropped.
    OverwriteContrecord {
        /// Record LSN.
        lsn: Lsn,
        /// Record end.
        end_lsn: Lsn,
        /// The dropped record.
        overwritten: Lsn,
    },
    /// Storage `CREATE` (only with [`ScanDetail::storage`]): a relation file
    /// fork was created (new table, index, or the new file of a rewrite).
    StorageCreate {
        /// Record LSN.
        lsn: Lsn,
        /// Record end.
        end_lsn: Lsn,
        /// `xl_xid` (often 0: the file is created before the transaction has an xid).
        xid: u32,
        /// The relation file.
        rel: RelFileLocator,
        /// The fork (0 main, 1 fsm, 2 vm, 3 init).
        fork: i32,
    },
    /// Storage `TRUNCATE` (only with [`ScanDetail::storage`]): a relation file
    /// was cut to `blocks` blocks (VACUUM, or TRUNCATE of a table created in
    /// the same transaction).
    StorageTruncate {
        /// Record LSN.
        lsn: Lsn,
        /// Record end.
        end_lsn: Lsn,
        /// `xl_xid`.
        xid: u32,
        /// The relation file.
        rel: RelFileLocator,
        /// New length in blocks.
        blocks: u32,
        /// `SMGR_TRUNCATE_*` flags.
        flags: i32,
    },
    /// Heap `TRUNCATE` (only with [`ScanDetail::storage`]; logged for SQL
    /// `TRUNCATE` under `wal_level = logical`).
    HeapTruncate {
        /// Record LSN.
        lsn: Lsn,
        /// Record end.
        end_lsn: Lsn,
        /// `xl_xid`.
        xid: u32,
        /// Database OID.
        db: u32,
        /// `XLH_TRUNCATE_*` flags.
        flags: u8,
        /// pg_class OIDs (not relfilenodes) of the truncated relations.
        relids: U32List<'a>,
    },
}

impl Event<'_> {
    /// The LSN of the record carrying the event.
    pub fn lsn(&self) -> Lsn {
        match self {
            Event::Commit(x) | Event::Abort(x) => x.lsn,
            Event::Prepare { lsn, .. }
            | Event::RestorePoint { lsn, .. }
            | Event::Checkpoint { lsn, .. }
            | Event::EndOfRecovery { lsn, .. }
            | Event::TimelineSwitch { lsn, .. }
            | Event::BackupEnd { lsn, .. }
            | Event::Switch { lsn, .. }
            | Event::OverwriteContrecord { lsn, .. }
            | Event::StorageCreate { lsn, .. }
            | Event::StorageTruncate { lsn, .. }
            | Event::HeapTruncate { lsn, .. } => *lsn,
        }
    }
}

/// Streams [`Event`]s; see [`scan`].
#[derive(Debug)]
pub struct Scanner {
    reader: WalReader,
    parent: HashMap<u32, u32>,
    known_subxids: HashSet<u32>,
    pending: Option<(Lsn, Lsn, u32, u32)>,
    detail: ScanDetail,
    /// Relation files written, per xid (with [`ScanDetail::touched`]).
    touched: HashMap<u32, Touched>,
    /// The list reported with the last transaction end.
    ended: Touched,
}

#[derive(Debug, Default)]
struct Touched {
    rels: Vec<RelFileLocator>,
    truncated: bool,
}

impl Touched {
    fn add(&mut self, r: RelFileLocator) {
        if !self.rels.contains(&r) {
            if self.rels.len() < MAX_TOUCHED {
                self.rels.push(r);
            } else {
                self.truncated = true;
            }
        }
    }
}

/// Bound of the subtransaction bookkeeping (entries are dropped as their
/// transactions end; this only protects against WAL where they never do).
const MAX_TRACKED: usize = 1 << 20;

/// Starts scanning `source` for planner events.
pub fn scan(source: WalSource, opts: ScanOptions) -> Result<Scanner, WalError> {
    scan_with(source, opts, ScanDetail::default())
}

/// Like [`scan`], with the extra events and facts `detail` asks for.
pub fn scan_with(source: WalSource, opts: ScanOptions, detail: ScanDetail) -> Result<Scanner, WalError> {
    let mut data = DataFilter::none().with_rmgr(RM_XACT_ID).with_rmgr(RM_STANDBY_ID).with_rmgr(RM_XLOG_ID);
    if detail.storage {
        data = data
            .with_record(RM_SMGR_ID, 0x10)
            .with_record(RM_SMGR_ID, 0x20)
            .with_record(RM_HEAP_ID, 0x30)
            .with_record(RM_HEAP_ID, 0xB0);
    }
    let opts = ReaderOptions { data, ..opts };
    // XLOG full-page images are never needed.
    let mut data = opts.data.clone();
    for t in [0x20u8, 0xA0, 0xB0] {
        data = without(data, RM_XLOG_ID, t);
    }
    let opts = ReaderOptions { data, ..opts };
    let mut s = Scanner::new(WalReader::open(source, opts)?);
    s.detail = detail;
    Ok(s)
}

fn without(f: DataFilter, rmid: u8, info: u8) -> DataFilter {
    // Rebuild: keep everything the filter has except (rmid, info).
    let mut out = DataFilter::none();
    for r in 0..=255u8 {
        for i in 0..16u8 {
            if f.wants(r, i << 4) && !(r == rmid && i << 4 == info) {
                out = out.with_record(r, i << 4);
            }
        }
    }
    out
}

impl Scanner {
    /// Wraps a reader (whose [`ReaderOptions::data`] must keep the XLOG,
    /// Transaction and Standby records).
    pub fn new(reader: WalReader) -> Scanner {
        Scanner {
            reader,
            parent: HashMap::new(),
            known_subxids: HashSet::new(),
            pending: None,
            detail: ScanDetail::default(),
            touched: HashMap::new(),
            ended: Touched::default(),
        }
    }

    /// The underlying reader (stream information, files, end).
    pub fn reader(&self) -> &WalReader {
        &self.reader
    }

    /// After [`Scanner::next_event`] returned `Ok(None)`: where and why WAL ended.
    pub fn end(&self) -> Option<&WalEnd> {
        self.reader.end()
    }

    /// Updates the subtransaction bookkeeping; true when the record carries an event.
    fn track(
        parent: &mut HashMap<u32, u32>,
        known: &mut HashSet<u32>,
        touched: Option<&mut HashMap<u32, Touched>>,
        rec: &Record<'_>,
    ) -> Result<bool, WalError> {
        if parent.len() > MAX_TRACKED || known.len() > MAX_TRACKED {
            parent.clear();
            known.clear();
        }
        if let Some(top) = rec.toplevel_xid {
            if top != rec.xid() && rec.xid() != 0 {
                parent.insert(rec.xid(), top);
            }
        }
        if let Some(t) = touched {
            if rec.xid() != 0 && !rec.blocks().is_empty() {
                if t.len() > MAX_TRACKED {
                    t.clear();
                }
                let e = t.entry(rec.xid()).or_default();
                for b in rec.blocks() {
                    e.add(b.rel);
                }
            }
        }
        let rmid = rec.rmid();
        let storage = rmid == RM_SMGR_ID || (rmid == RM_HEAP_ID && rec.info() & 0x70 == 0x30);
        if rmid != RM_XLOG_ID && rmid != RM_XACT_ID && rmid != RM_STANDBY_ID && !storage {
            return Ok(false);
        }
        if storage && rec.main_data().is_none() {
            // Not asked for (ScanDetail::storage off).
            return Ok(false);
        }
        let d = decode_record(rec).map_err(|e| WalError::InvalidRecord {
            file: rec.file().to_path_buf(),
            lsn: rec.lsn,
            reason: e.to_string(),
        })?;
        Ok(match d {
            Decoded::XactAssignment { xtop, subxacts } => {
                for s in subxacts.iter() {
                    parent.insert(s, xtop);
                }
                false
            }
            Decoded::RunningXacts(r) => {
                known.extend(r.subxids.iter());
                false
            }
            Decoded::XactFinish(_)
            | Decoded::XactPrepare(_)
            | Decoded::RestorePoint { .. }
            | Decoded::Checkpoint { .. }
            | Decoded::EndOfRecovery(_)
            | Decoded::BackupEnd(_)
            | Decoded::Switch
            | Decoded::OverwriteContrecord { .. }
            | Decoded::SmgrCreate { .. }
            | Decoded::SmgrTruncate { .. }
            | Decoded::HeapTruncate { .. } => true,
            _ => false,
        })
    }

    /// Collects (and forgets) what `xid` and `subxacts` wrote into `ended`.
    fn end_touched(
        touched: &mut HashMap<u32, Touched>,
        ended: &mut Touched,
        enabled: bool,
        xid: u32,
        subxacts: &U32List<'_>,
    ) {
        ended.rels.clear();
        ended.truncated = false;
        if !enabled {
            return;
        }
        for x in std::iter::once(xid).chain(subxacts.iter()) {
            if let Some(t) = touched.remove(&x) {
                ended.truncated |= t.truncated;
                for r in t.rels {
                    ended.add(r);
                }
            }
        }
    }

    /// The next event, `Ok(None)` at the end of WAL (see [`Scanner::end`]), or
    /// the damage found.
    pub fn next_event(&mut self) -> Result<Option<Event<'_>>, WalError> {
        if let Some((lsn, end_lsn, from, to)) = self.pending.take() {
            return Ok(Some(Event::TimelineSwitch { lsn, end_lsn, from, to }));
        }
        loop {
            let touched = if self.detail.touched { Some(&mut self.touched) } else { None };
            let interesting = match self.reader.next_record()? {
                None => return Ok(None),
                Some(rec) => Self::track(&mut self.parent, &mut self.known_subxids, touched, &rec)?,
            };
            if interesting {
                break;
            }
        }
        let Some(rec) = self.reader.current() else { return Ok(None) };
        let d = decode_record(&rec).map_err(|e| WalError::InvalidRecord {
            file: rec.file().to_path_buf(),
            lsn: rec.lsn,
            reason: e.to_string(),
        })?;
        let (lsn, end_lsn) = (rec.lsn, rec.end_lsn);
        let ev = match d {
            Decoded::XactFinish(x) => {
                let prepared = matches!(x.kind, XactKind::CommitPrepared | XactKind::AbortPrepared);
                let xid = if prepared { x.twophase_xid.unwrap_or(0) } else { rec.xid() };
                let mut top_xid = None;
                let mut subxact = false;
                if x.kind == XactKind::Abort {
                    top_xid = self.parent.get(&xid).copied().or(rec.toplevel_xid.filter(|t| *t != xid));
                    subxact = top_xid.is_some() || self.known_subxids.contains(&xid);
                }
                self.parent.remove(&xid);
                self.known_subxids.remove(&xid);
                for s in x.subxacts.iter() {
                    self.parent.remove(&s);
                    self.known_subxids.remove(&s);
                }
                // A prepared transaction's records carry its own xid.
                Self::end_touched(&mut self.touched, &mut self.ended, self.detail.touched, xid, &x.subxacts);
                let e = XactEvent {
                    lsn,
                    end_lsn,
                    kind: x.kind,
                    xid,
                    record_xid: rec.xid(),
                    time: x.time,
                    subxact,
                    top_xid,
                    subxacts: x.subxacts,
                    dropped_rels: x.rels,
                    twophase_xid: x.twophase_xid,
                    gid: x.gid,
                    db: x.db.map(|(db, _)| db),
                    touched: &self.ended.rels,
                    touched_truncated: self.ended.truncated,
                };
                if x.kind.is_commit() { Event::Commit(e) } else { Event::Abort(e) }
            }
            Decoded::XactPrepare(p) => {
                Event::Prepare { lsn, end_lsn, xid: p.xid, gid: p.gid, time: p.prepared_at }
            }
            Decoded::RestorePoint { time, name } => Event::RestorePoint { lsn, end_lsn, name, time },
            Decoded::Checkpoint { shutdown, checkpoint: c } => {
                if c.timeline != c.prev_timeline {
                    self.pending = Some((lsn, end_lsn, c.prev_timeline, c.timeline));
                }
                Event::Checkpoint {
                    lsn,
                    end_lsn,
                    shutdown,
                    redo: c.redo,
                    timeline: c.timeline,
                    prev_timeline: c.prev_timeline,
                    time: c.time,
                    next_xid: c.next_xid,
                    oldest_active_xid: c.oldest_active_xid,
                }
            }
            Decoded::EndOfRecovery(e) => {
                if e.timeline != e.prev_timeline {
                    self.pending = Some((lsn, end_lsn, e.prev_timeline, e.timeline));
                }
                Event::EndOfRecovery {
                    lsn,
                    end_lsn,
                    timeline: e.timeline,
                    prev_timeline: e.prev_timeline,
                    time: e.time,
                }
            }
            Decoded::BackupEnd(start) => Event::BackupEnd { lsn, end_lsn, start },
            Decoded::Switch => Event::Switch { lsn, end_lsn },
            Decoded::OverwriteContrecord { overwritten_lsn, .. } => {
                Event::OverwriteContrecord { lsn, end_lsn, overwritten: overwritten_lsn }
            }
            Decoded::SmgrCreate { rel, fork } => {
                Event::StorageCreate { lsn, end_lsn, xid: rec.xid(), rel, fork }
            }
            Decoded::SmgrTruncate { blkno, rel, flags } => {
                Event::StorageTruncate { lsn, end_lsn, xid: rec.xid(), rel, blocks: blkno, flags }
            }
            Decoded::HeapTruncate { db, flags, relids } => {
                Event::HeapTruncate { lsn, end_lsn, xid: rec.xid(), db, flags, relids }
            }
            // `track` selects exactly the records handled above.
            _ => return Err(WalError::Invalid(format!("internal: unexpected event record at {lsn}"))),
        };
        Ok(Some(ev))
    }
}
