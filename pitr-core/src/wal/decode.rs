//! Decoders of the record payloads recovery planning needs, per version:
//! Transaction (commit, abort, prepare, commit/abort prepared, assignment,
//! invalidations), XLOG (checkpoints, restore point, switch, backup end, end of
//! recovery, parameter change, overwrite contrecord, checkpoint redo...),
//! Storage create/truncate, Heap truncate, Standby (running xacts, locks,
//! invalidations), Database and LogicalMessage.
//!
//! Decoders take a record's main data and return views into it: arrays
//! (subtransactions, relations, ...) are read in place, nothing is allocated.

use super::page::{le_u16, le_u32, le_u64};
use super::record::{Record, RelFileLocator};
use super::rmgr::*;
use crate::lsn::Lsn;
use crate::version::PgMajor;
use serde::Serialize;
use std::fmt;

/// Microseconds from the Unix epoch to PostgreSQL's epoch (2000-01-01 UTC).
pub const PG_EPOCH_OFFSET_MICROS: i64 = 946_684_800_000_000;

/// A `TimestampTz`: microseconds since 2000-01-01 00:00:00 UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PgTimestamp(pub i64);

impl PgTimestamp {
    /// As a [`jiff::Timestamp`], when in range.
    pub fn to_jiff(self) -> Option<jiff::Timestamp> {
        let unix = self.0.checked_add(PG_EPOCH_OFFSET_MICROS)?;
        jiff::Timestamp::from_microsecond(unix).ok()
    }

    /// From a [`jiff::Timestamp`] (truncated to microseconds).
    pub fn from_jiff(ts: jiff::Timestamp) -> Option<PgTimestamp> {
        let micros = ts.as_microsecond();
        micros.checked_sub(PG_EPOCH_OFFSET_MICROS).map(PgTimestamp)
    }

    /// RFC 3339 in UTC with microseconds: `2026-11-24T01:23:23.719858Z`.
    pub fn rfc3339(self) -> String {
        match self.to_jiff() {
            Some(t) => format!("{}", t.strftime("%Y-%m-%dT%H:%M:%S%.6fZ")),
            None => format!("@{}", self.0),
        }
    }

    /// pg_waldump's form, in UTC: `2026-11-24 01:23:23.719858 UTC`.
    pub fn waldump(self) -> String {
        match self.to_jiff() {
            Some(t) => format!("{} UTC", t.strftime("%Y-%m-%d %H:%M:%S%.6f")),
            None => format!("@{}", self.0),
        }
    }
}

impl fmt::Display for PgTimestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rfc3339())
    }
}

impl Serialize for PgTimestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.rfc3339())
    }
}

/// A `pg_time_t` (seconds since the Unix epoch) as RFC 3339 UTC.
pub fn unix_seconds_rfc3339(secs: i64) -> String {
    match jiff::Timestamp::from_second(secs) {
        Ok(t) => format!("{}", t.strftime("%Y-%m-%dT%H:%M:%SZ")),
        Err(_) => format!("@{secs}"),
    }
}

/// A payload that does not have the layout its record type requires.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {message}")]
pub struct DecodeError {
    /// The record type being decoded.
    pub what: &'static str,
    /// What is wrong.
    pub message: String,
}

/// A little cursor over main data, returning [`DecodeError`] instead of panicking.
struct Cur<'a> {
    b: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Cur<'a> {
    fn new(b: &'a [u8], what: &'static str) -> Self {
        Cur { b, pos: 0, what }
    }
    fn err(&self, msg: impl Into<String>) -> DecodeError {
        DecodeError { what: self.what, message: msg.into() }
    }
    fn short(&self, need: usize) -> DecodeError {
        self.err(format!(
            "{} bytes of main data, needs at least {}",
            self.b.len(),
            self.pos.saturating_add(need)
        ))
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).ok_or_else(|| self.short(n))?;
        let s = self.b.get(self.pos..end).ok_or_else(|| self.short(n))?;
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?.first().copied().unwrap_or(0))
    }
    fn u16(&mut self) -> Result<u16, DecodeError> {
        let s = self.take(2)?;
        le_u16(s, 0).ok_or_else(|| self.short(2))
    }
    fn u32(&mut self) -> Result<u32, DecodeError> {
        let s = self.take(4)?;
        le_u32(s, 0).ok_or_else(|| self.short(4))
    }
    fn i32(&mut self) -> Result<i32, DecodeError> {
        Ok(self.u32()? as i32)
    }
    fn u64(&mut self) -> Result<u64, DecodeError> {
        let s = self.take(8)?;
        le_u64(s, 0).ok_or_else(|| self.short(8))
    }
    fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(self.u64()? as i64)
    }
    fn count(&mut self, name: &str) -> Result<usize, DecodeError> {
        let n = self.i32()?;
        usize::try_from(n).map_err(|_| self.err(format!("negative {name} count {n}")))
    }
    fn array(&mut self, n: usize, size: usize) -> Result<&'a [u8], DecodeError> {
        let len = n.checked_mul(size).ok_or_else(|| self.err("array too large"))?;
        self.take(len)
    }
    fn skip_to(&mut self, pos: usize) -> Result<(), DecodeError> {
        if pos > self.b.len() {
            return Err(self.short(pos - self.pos.min(pos)));
        }
        self.pos = pos;
        Ok(())
    }
    fn rest(&self) -> &'a [u8] {
        self.b.get(self.pos..).unwrap_or(&[])
    }
    fn finish(&self) -> Result<(), DecodeError> {
        if self.pos == self.b.len() {
            Ok(())
        } else {
            Err(self.err(format!("{} bytes of main data, {} expected", self.b.len(), self.pos)))
        }
    }
}

fn maxalign(n: usize) -> usize {
    n.saturating_add(7) & !7
}

/// An in-place array of `u32` values (xids, OIDs).
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct U32List<'a>(&'a [u8]);

impl<'a> U32List<'a> {
    /// Number of values.
    pub fn len(&self) -> usize {
        self.0.len() / 4
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.len() < 4
    }
    /// The values.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = u32> + 'a {
        self.0.chunks_exact(4).map(|c| le_u32(c, 0).unwrap_or(0))
    }
    /// Copies the values.
    pub fn to_vec(&self) -> Vec<u32> {
        self.iter().collect()
    }
    /// True when `v` is in the list.
    pub fn contains(&self, v: u32) -> bool {
        self.iter().any(|x| x == v)
    }
}

impl fmt::Debug for U32List<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for U32List<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// An in-place array of relation files (12 bytes each).
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct RelList<'a>(&'a [u8]);

impl<'a> RelList<'a> {
    /// Number of relations.
    pub fn len(&self) -> usize {
        self.0.len() / 12
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.len() < 12
    }
    /// The relations.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = RelFileLocator> + 'a {
        self.0.chunks_exact(12).map(|c| RelFileLocator::read(c, 0).unwrap_or_default())
    }
    /// Copies the relations.
    pub fn to_vec(&self) -> Vec<RelFileLocator> {
        self.iter().collect()
    }
}

impl fmt::Debug for RelList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for RelList<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// A dropped statistics entry (`xl_xact_stats_item`, 15+).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DroppedStat {
    /// Statistics kind: 1 database, 2 relation, 3 function, 4 replication slot,
    /// 5 subscription (18 adds more).
    pub kind: i32,
    /// Database OID.
    pub db: u32,
    /// Object id (64-bit in 18, 32-bit before).
    pub objid: u64,
}

/// An in-place array of dropped statistics entries (12 bytes each in 15-17,
/// 16 in 18).
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct StatsList<'a> {
    bytes: &'a [u8],
    item: usize,
}

impl<'a> StatsList<'a> {
    /// The size of one item for a major.
    pub fn item_size(major: PgMajor) -> usize {
        if major >= PgMajor::V18 { 16 } else { 12 }
    }
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.bytes.len().checked_div(self.item).unwrap_or(0)
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The entries.
    pub fn iter(&self) -> impl Iterator<Item = DroppedStat> + 'a {
        let item = self.item.max(12);
        let wide = item == 16;
        self.bytes.chunks_exact(item).map(move |c| DroppedStat {
            kind: le_u32(c, 0).unwrap_or(0) as i32,
            db: le_u32(c, 4).unwrap_or(0),
            objid: if wide {
                u64::from(le_u32(c, 8).unwrap_or(0)) | (u64::from(le_u32(c, 12).unwrap_or(0)) << 32)
            } else {
                u64::from(le_u32(c, 8).unwrap_or(0))
            },
        })
    }
}

impl fmt::Debug for StatsList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for StatsList<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// A shared invalidation message (16 bytes), as pg_waldump describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalMsg {
    /// Catalog cache entry (id >= 0).
    Catcache {
        /// The catcache id.
        id: i8,
    },
    /// Whole catalog (`SHAREDINVALCATALOG_ID`, -1).
    Catalog {
        /// Catalog OID.
        cat: u32,
    },
    /// Relation cache entry (-2).
    Relcache {
        /// Relation OID.
        rel: u32,
    },
    /// Storage manager (-3).
    Smgr,
    /// Relation mapper (-4).
    Relmap {
        /// Database OID.
        db: u32,
    },
    /// Snapshot (-5).
    Snapshot {
        /// Relation OID.
        rel: u32,
    },
    /// Publication relation sync (-6, 18+).
    Relsync {
        /// Relation OID.
        rel: u32,
    },
    /// Anything else.
    Unknown {
        /// The id byte.
        id: i8,
    },
}

/// An in-place array of invalidation messages.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct InvalList<'a> {
    bytes: &'a [u8],
    major: Option<PgMajor>,
}

impl<'a> InvalList<'a> {
    /// Number of messages.
    pub fn len(&self) -> usize {
        self.bytes.len() / 16
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.bytes.len() < 16
    }
    /// The messages.
    pub fn iter(&self) -> impl Iterator<Item = InvalMsg> + 'a {
        let relsync = self.major.is_some_and(|m| m >= PgMajor::V18);
        self.bytes.chunks_exact(16).map(move |c| {
            let id = c.first().copied().unwrap_or(0) as i8;
            let at8 = le_u32(c, 8).unwrap_or(0);
            match id {
                0.. => InvalMsg::Catcache { id },
                -1 => InvalMsg::Catalog { cat: at8 },
                -2 => InvalMsg::Relcache { rel: at8 },
                -3 => InvalMsg::Smgr,
                -4 => InvalMsg::Relmap { db: le_u32(c, 4).unwrap_or(0) },
                -5 => InvalMsg::Snapshot { rel: at8 },
                -6 if relsync => InvalMsg::Relsync { rel: at8 },
                _ => InvalMsg::Unknown { id },
            }
        })
    }
}

impl fmt::Debug for InvalList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Reads a NUL-terminated string from a fixed-size field (bytes after the first
/// NUL are garbage and ignored).
fn c_string(b: &[u8]) -> &[u8] {
    match b.iter().position(|&c| c == 0) {
        Some(p) => b.get(..p).unwrap_or(b),
        None => b,
    }
}

/// Which kind of transaction end a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum XactKind {
    /// `COMMIT`.
    Commit,
    /// `ABORT`.
    Abort,
    /// `COMMIT_PREPARED`.
    CommitPrepared,
    /// `ABORT_PREPARED`.
    AbortPrepared,
}

impl XactKind {
    /// True for the two commit kinds.
    pub fn is_commit(self) -> bool {
        matches!(self, XactKind::Commit | XactKind::CommitPrepared)
    }
}

/// `xinfo` bits.
pub mod xinfo {
    /// `XACT_XINFO_HAS_DBINFO`.
    pub const HAS_DBINFO: u32 = 1 << 0;
    /// `XACT_XINFO_HAS_SUBXACTS`.
    pub const HAS_SUBXACTS: u32 = 1 << 1;
    /// `XACT_XINFO_HAS_RELFILENODES` / `_RELFILELOCATORS`.
    pub const HAS_RELFILENODES: u32 = 1 << 2;
    /// `XACT_XINFO_HAS_INVALS`.
    pub const HAS_INVALS: u32 = 1 << 3;
    /// `XACT_XINFO_HAS_TWOPHASE`.
    pub const HAS_TWOPHASE: u32 = 1 << 4;
    /// `XACT_XINFO_HAS_ORIGIN`.
    pub const HAS_ORIGIN: u32 = 1 << 5;
    /// `XACT_XINFO_HAS_AE_LOCKS`.
    pub const HAS_AE_LOCKS: u32 = 1 << 6;
    /// `XACT_XINFO_HAS_GID`.
    pub const HAS_GID: u32 = 1 << 7;
    /// `XACT_XINFO_HAS_DROPPED_STATS` (15+).
    pub const HAS_DROPPED_STATS: u32 = 1 << 8;
    /// `XACT_COMPLETION_APPLY_FEEDBACK`.
    pub const APPLY_FEEDBACK: u32 = 1 << 29;
    /// `XACT_COMPLETION_UPDATE_RELCACHE_FILE`.
    pub const UPDATE_RELCACHE_FILE: u32 = 1 << 30;
    /// `XACT_COMPLETION_FORCE_SYNC_COMMIT`.
    pub const FORCE_SYNC_COMMIT: u32 = 1 << 31;
}

/// A commit or abort record (plain or prepared), with all its optional parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XactFinish<'a> {
    /// Commit, abort, commit prepared or abort prepared.
    pub kind: XactKind,
    /// `xact_time`: the commit/abort timestamp recovery targets compare with.
    pub time: PgTimestamp,
    /// `xinfo` flags (0 when absent).
    pub xinfo: u32,
    /// Database and tablespace OIDs, when logged.
    pub db: Option<(u32, u32)>,
    /// Subtransactions committed (or aborted) with it.
    pub subxacts: U32List<'a>,
    /// Relation files dropped at commit, or created files removed at abort.
    pub rels: RelList<'a>,
    /// Dropped statistics entries (15+).
    pub dropped_stats: StatsList<'a>,
    /// Invalidation messages (commit only).
    pub invals: InvalList<'a>,
    /// The prepared transaction's xid (`COMMIT_PREPARED`/`ABORT_PREPARED`).
    pub twophase_xid: Option<u32>,
    /// The prepared transaction's GID, when logged (`wal_level = logical`).
    pub gid: Option<&'a [u8]>,
    /// Replication origin LSN and timestamp.
    pub origin: Option<(Lsn, PgTimestamp)>,
}

/// `XLOG_XACT_PREPARE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XactPrepare<'a> {
    /// The prepared transaction's xid.
    pub xid: u32,
    /// Database OID.
    pub db: u32,
    /// `prepared_at`.
    pub prepared_at: PgTimestamp,
    /// Owner role OID.
    pub owner: u32,
    /// The GID.
    pub gid: &'a [u8],
    /// Subtransactions.
    pub subxacts: U32List<'a>,
    /// Relations to drop at commit.
    pub commit_rels: RelList<'a>,
    /// Relations to drop at abort.
    pub abort_rels: RelList<'a>,
    /// Statistics to drop at commit (15+).
    pub commit_stats: StatsList<'a>,
    /// Statistics to drop at abort (15+).
    pub abort_stats: StatsList<'a>,
    /// Invalidation messages.
    pub invals: InvalList<'a>,
    /// Relcache init file invalidation.
    pub init_file_inval: bool,
    /// Replication origin LSN.
    pub origin_lsn: Lsn,
    /// Replication origin timestamp.
    pub origin_time: PgTimestamp,
}

/// `CheckPoint` (main data of checkpoint records).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Checkpoint {
    /// REDO start point.
    pub redo: Lsn,
    /// `ThisTimeLineID`.
    pub timeline: u32,
    /// `PrevTimeLineID`.
    pub prev_timeline: u32,
    /// `fullPageWrites`.
    pub full_page_writes: bool,
    /// `wal_level` (17+).
    pub wal_level: Option<i32>,
    /// `nextXid` (epoch << 32 | xid).
    pub next_xid: u64,
    /// `nextOid`.
    pub next_oid: u32,
    /// `nextMulti`.
    pub next_multi: u32,
    /// `nextMultiOffset`.
    pub next_multi_offset: u32,
    /// `oldestXid`.
    pub oldest_xid: u32,
    /// `oldestXidDB`.
    pub oldest_xid_db: u32,
    /// `oldestMulti`.
    pub oldest_multi: u32,
    /// `oldestMultiDB`.
    pub oldest_multi_db: u32,
    /// `time`: seconds since the Unix epoch.
    pub time: i64,
    /// `oldestCommitTsXid`.
    pub oldest_commit_ts_xid: u32,
    /// `newestCommitTsXid`.
    pub newest_commit_ts_xid: u32,
    /// `oldestActiveXid`.
    pub oldest_active_xid: u32,
}

/// `xl_end_of_recovery`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct EndOfRecovery {
    /// `end_time`.
    pub time: PgTimestamp,
    /// `ThisTimeLineID`.
    pub timeline: u32,
    /// `PrevTimeLineID`.
    pub prev_timeline: u32,
    /// `wal_level` (17+).
    pub wal_level: Option<i32>,
}

/// `xl_parameter_change`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ParameterChange {
    /// `max_connections`.
    pub max_connections: i32,
    /// `max_worker_processes`.
    pub max_worker_processes: i32,
    /// `max_wal_senders`.
    pub max_wal_senders: i32,
    /// `max_prepared_transactions`.
    pub max_prepared_xacts: i32,
    /// `max_locks_per_transaction`.
    pub max_locks_per_xact: i32,
    /// `wal_level`: 0 minimal, 1 replica, 2 logical.
    pub wal_level: i32,
    /// `wal_log_hints`.
    pub wal_log_hints: bool,
    /// `track_commit_timestamp`.
    pub track_commit_timestamp: bool,
}

/// `xl_running_xacts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunningXacts<'a> {
    /// `subxid_overflow`.
    pub subxid_overflow: bool,
    /// `nextXid`.
    pub next_xid: u32,
    /// `oldestRunningXid`.
    pub oldest_running_xid: u32,
    /// `latestCompletedXid`.
    pub latest_completed_xid: u32,
    /// Running top-level xids.
    pub xids: U32List<'a>,
    /// Running subtransaction xids.
    pub subxids: U32List<'a>,
}

/// One lock of a `Standby LOCK` record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StandbyLock {
    /// Holding transaction.
    pub xid: u32,
    /// Database OID.
    pub db: u32,
    /// Relation OID.
    pub rel: u32,
}

/// A decoded record payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decoded<'a> {
    /// `CHECKPOINT_SHUTDOWN` or `CHECKPOINT_ONLINE`.
    Checkpoint {
        /// True for a shutdown checkpoint.
        shutdown: bool,
        /// The payload.
        checkpoint: Checkpoint,
    },
    /// `NEXTOID`.
    NextOid(u32),
    /// `SWITCH`.
    Switch,
    /// `BACKUP_END`: start LSN of the backup that ended.
    BackupEnd(Lsn),
    /// `PARAMETER_CHANGE`.
    ParameterChange(ParameterChange),
    /// `RESTORE_POINT`.
    RestorePoint {
        /// `rp_time`.
        time: PgTimestamp,
        /// The name (bytes up to the first NUL).
        name: &'a [u8],
    },
    /// `FPW_CHANGE`.
    FpwChange(bool),
    /// `END_OF_RECOVERY`.
    EndOfRecovery(EndOfRecovery),
    /// `OVERWRITE_CONTRECORD`.
    OverwriteContrecord {
        /// LSN of the record that was dropped.
        overwritten_lsn: Lsn,
        /// When.
        time: PgTimestamp,
    },
    /// `CHECKPOINT_REDO` (17+).
    CheckpointRedo {
        /// `wal_level`.
        wal_level: i32,
    },
    /// A commit or abort (plain or prepared).
    XactFinish(XactFinish<'a>),
    /// `PREPARE`.
    XactPrepare(XactPrepare<'a>),
    /// `ASSIGNMENT`.
    XactAssignment {
        /// Top-level xid.
        xtop: u32,
        /// Its subtransactions.
        subxacts: U32List<'a>,
    },
    /// Transaction `INVALIDATION` (14+).
    XactInvalidations(InvalList<'a>),
    /// Storage `CREATE`.
    SmgrCreate {
        /// The relation file.
        rel: RelFileLocator,
        /// The fork.
        fork: i32,
    },
    /// Storage `TRUNCATE`.
    SmgrTruncate {
        /// New length in blocks.
        blkno: u32,
        /// The relation file.
        rel: RelFileLocator,
        /// `SMGR_TRUNCATE_*` flags.
        flags: i32,
    },
    /// Heap `TRUNCATE` (SQL TRUNCATE under `wal_level = logical`).
    HeapTruncate {
        /// Database OID.
        db: u32,
        /// `XLH_TRUNCATE_*` flags.
        flags: u8,
        /// pg_class OIDs of the truncated relations.
        relids: U32List<'a>,
    },
    /// Standby `LOCK`.
    StandbyLocks(&'a [u8]),
    /// Standby `RUNNING_XACTS`.
    RunningXacts(RunningXacts<'a>),
    /// Standby `INVALIDATIONS`.
    StandbyInvalidations {
        /// Database OID.
        db: u32,
        /// Tablespace OID.
        ts: u32,
        /// Relcache init file invalidation.
        relcache_init_file: bool,
        /// The messages.
        invals: InvalList<'a>,
    },
    /// Database `CREATE` (13-14) / `CREATE_FILE_COPY` (15+).
    DbCreateFileCopy {
        /// New database OID.
        db: u32,
        /// Its tablespace.
        ts: u32,
        /// Template database OID.
        src_db: u32,
        /// Template tablespace.
        src_ts: u32,
    },
    /// Database `CREATE_WAL_LOG` (15+).
    DbCreateWalLog {
        /// New database OID.
        db: u32,
        /// Its tablespace.
        ts: u32,
    },
    /// Database `DROP`.
    DbDrop {
        /// Database OID.
        db: u32,
        /// Tablespaces it had files in.
        tablespaces: U32List<'a>,
    },
    /// LogicalMessage `MESSAGE`.
    LogicalMessage {
        /// Database OID.
        db: u32,
        /// Transactional message.
        transactional: bool,
        /// Prefix (without its NUL).
        prefix: &'a [u8],
        /// Payload.
        message: &'a [u8],
    },
    /// A record type pitr does not decode.
    Other,
}

impl StandbyLock {
    /// Iterates the locks of a [`Decoded::StandbyLocks`] payload.
    pub fn iter(bytes: &[u8]) -> impl Iterator<Item = StandbyLock> + '_ {
        bytes.chunks_exact(12).map(|c| StandbyLock {
            xid: le_u32(c, 0).unwrap_or(0),
            db: le_u32(c, 4).unwrap_or(0),
            rel: le_u32(c, 8).unwrap_or(0),
        })
    }
}

/// True when [`decode`] decodes records of this resource manager and type.
pub fn is_decoded(major: PgMajor, rmid: u8, info: u8) -> bool {
    let t = info & 0xF0;
    match rmid {
        RM_XLOG_ID => !matches!(t, 0x20 | 0xA0 | 0xB0 | 0xC0 | 0xF0) && (t != 0xE0 || major >= PgMajor::V17),
        RM_XACT_ID => (info & 0x70) != 0x70 && ((info & 0x70) != 0x60 || major >= PgMajor::V14),
        RM_SMGR_ID => t == 0x10 || t == 0x20,
        RM_DBASE_ID => t == 0x00 || t == 0x10 || (t == 0x20 && major >= PgMajor::V15),
        RM_STANDBY_ID => t <= 0x20,
        RM_HEAP_ID => info & 0x70 == 0x30,
        RM_LOGICALMSG_ID => t == 0x00,
        _ => false,
    }
}

/// Decodes the main data `main` of a record of resource manager `rmid` with
/// `xl_info` `info`, written by `major`. Record types pitr does not decode give
/// [`Decoded::Other`].
pub fn decode(major: PgMajor, rmid: u8, info: u8, main: &[u8]) -> Result<Decoded<'_>, DecodeError> {
    match rmid {
        RM_XLOG_ID => decode_xlog(major, info, main),
        RM_XACT_ID => decode_xact(major, info, main),
        RM_SMGR_ID => decode_smgr(info, main),
        RM_DBASE_ID => decode_dbase(major, info, main),
        RM_STANDBY_ID => decode_standby(major, info, main),
        RM_HEAP_ID if info & 0x70 == 0x30 => {
            let mut c = Cur::new(main, "Heap TRUNCATE");
            let db = c.u32()?;
            let n = c.u32()? as usize;
            let flags = c.u8()?;
            c.take(3)?;
            let relids = U32List(c.array(n, 4)?);
            c.finish()?;
            Ok(Decoded::HeapTruncate { db, flags, relids })
        }
        RM_LOGICALMSG_ID if info & 0xF0 == 0 => {
            let mut c = Cur::new(main, "LogicalMessage MESSAGE");
            let db = c.u32()?;
            let transactional = c.u8()? != 0;
            c.take(3)?;
            let prefix_size = usize::try_from(c.u64()?).map_err(|_| c.err("prefix too large"))?;
            let message_size = usize::try_from(c.u64()?).map_err(|_| c.err("message too large"))?;
            let prefix = c.take(prefix_size)?;
            let message = c.take(message_size)?;
            c.finish()?;
            Ok(Decoded::LogicalMessage { db, transactional, prefix: c_string(prefix), message })
        }
        _ => Ok(Decoded::Other),
    }
}

/// Decodes a record's main data (see [`decode`]); records whose bytes the reader
/// did not keep give [`Decoded::Other`].
pub fn decode_record<'a>(rec: &Record<'a>) -> Result<Decoded<'a>, DecodeError> {
    match rec.main_data() {
        Some(main) => decode(rec.major, rec.header.rmid, rec.header.info, main),
        None if rec.is_switch() => Ok(Decoded::Switch),
        None => Ok(Decoded::Other),
    }
}

fn read_checkpoint(c: &mut Cur<'_>, major: PgMajor) -> Result<Checkpoint, DecodeError> {
    let redo = Lsn(c.u64()?);
    let timeline = c.u32()?;
    let prev_timeline = c.u32()?;
    let full_page_writes = c.u8()? != 0;
    c.take(3)?;
    let wl = c.i32()?;
    let wal_level = (major >= PgMajor::V17).then_some(wl);
    let next_xid = c.u64()?;
    let next_oid = c.u32()?;
    let next_multi = c.u32()?;
    let next_multi_offset = c.u32()?;
    let oldest_xid = c.u32()?;
    let oldest_xid_db = c.u32()?;
    let oldest_multi = c.u32()?;
    let oldest_multi_db = c.u32()?;
    c.take(4)?;
    let time = c.i64()?;
    let oldest_commit_ts_xid = c.u32()?;
    let newest_commit_ts_xid = c.u32()?;
    let oldest_active_xid = c.u32()?;
    c.take(4)?;
    Ok(Checkpoint {
        redo,
        timeline,
        prev_timeline,
        full_page_writes,
        wal_level,
        next_xid,
        next_oid,
        next_multi,
        next_multi_offset,
        oldest_xid,
        oldest_xid_db,
        oldest_multi,
        oldest_multi_db,
        time,
        oldest_commit_ts_xid,
        newest_commit_ts_xid,
        oldest_active_xid,
    })
}

fn decode_xlog(major: PgMajor, info: u8, main: &[u8]) -> Result<Decoded<'_>, DecodeError> {
    let t = info & 0xF0;
    let what = match t {
        0x00 => "XLOG CHECKPOINT_SHUTDOWN",
        0x10 => "XLOG CHECKPOINT_ONLINE",
        0x30 => "XLOG NEXTOID",
        0x40 => "XLOG SWITCH",
        0x50 => "XLOG BACKUP_END",
        0x60 => "XLOG PARAMETER_CHANGE",
        0x70 => "XLOG RESTORE_POINT",
        0x80 => "XLOG FPW_CHANGE",
        0x90 => "XLOG END_OF_RECOVERY",
        0xD0 => "XLOG OVERWRITE_CONTRECORD",
        0xE0 if major >= PgMajor::V17 => "XLOG CHECKPOINT_REDO",
        _ => return Ok(Decoded::Other),
    };
    let mut c = Cur::new(main, what);
    let d = match t {
        0x00 | 0x10 => {
            Decoded::Checkpoint { shutdown: t == 0x00, checkpoint: read_checkpoint(&mut c, major)? }
        }
        0x30 => Decoded::NextOid(c.u32()?),
        0x40 => Decoded::Switch,
        0x50 => Decoded::BackupEnd(Lsn(c.u64()?)),
        0x60 => {
            let p = ParameterChange {
                max_connections: c.i32()?,
                max_worker_processes: c.i32()?,
                max_wal_senders: c.i32()?,
                max_prepared_xacts: c.i32()?,
                max_locks_per_xact: c.i32()?,
                wal_level: c.i32()?,
                wal_log_hints: c.u8()? != 0,
                track_commit_timestamp: c.u8()? != 0,
            };
            c.take(2)?;
            Decoded::ParameterChange(p)
        }
        0x70 => {
            let time = PgTimestamp(c.i64()?);
            let name = c_string(c.take(64)?);
            Decoded::RestorePoint { time, name }
        }
        0x80 => Decoded::FpwChange(c.u8()? != 0),
        0x90 => {
            let time = PgTimestamp(c.i64()?);
            let timeline = c.u32()?;
            let prev_timeline = c.u32()?;
            let wal_level = if major >= PgMajor::V17 {
                let w = c.i32()?;
                c.take(4)?;
                Some(w)
            } else {
                None
            };
            Decoded::EndOfRecovery(EndOfRecovery { time, timeline, prev_timeline, wal_level })
        }
        0xD0 => Decoded::OverwriteContrecord { overwritten_lsn: Lsn(c.u64()?), time: PgTimestamp(c.i64()?) },
        _ => Decoded::CheckpointRedo { wal_level: c.i32()? },
    };
    c.finish()?;
    Ok(d)
}

fn decode_xact(major: PgMajor, info: u8, main: &[u8]) -> Result<Decoded<'_>, DecodeError> {
    let op = info & 0x70;
    match op {
        0x00 | 0x20 | 0x30 | 0x40 => {
            let kind = match op {
                0x00 => XactKind::Commit,
                0x20 => XactKind::Abort,
                0x30 => XactKind::CommitPrepared,
                _ => XactKind::AbortPrepared,
            };
            let what = match kind {
                XactKind::Commit => "Transaction COMMIT",
                XactKind::Abort => "Transaction ABORT",
                XactKind::CommitPrepared => "Transaction COMMIT_PREPARED",
                XactKind::AbortPrepared => "Transaction ABORT_PREPARED",
            };
            let mut c = Cur::new(main, what);
            let time = PgTimestamp(c.i64()?);
            let xi = if info & 0x80 != 0 { c.u32()? } else { 0 };
            let db = if xi & xinfo::HAS_DBINFO != 0 { Some((c.u32()?, c.u32()?)) } else { None };
            let subxacts = if xi & xinfo::HAS_SUBXACTS != 0 {
                let n = c.count("subxact")?;
                U32List(c.array(n, 4)?)
            } else {
                U32List::default()
            };
            let rels = if xi & xinfo::HAS_RELFILENODES != 0 {
                let n = c.count("relation")?;
                RelList(c.array(n, 12)?)
            } else {
                RelList::default()
            };
            let item = StatsList::item_size(major);
            let dropped_stats = if major >= PgMajor::V15 && xi & xinfo::HAS_DROPPED_STATS != 0 {
                let n = c.count("dropped stats")?;
                StatsList { bytes: c.array(n, item)?, item }
            } else {
                StatsList { bytes: &[], item }
            };
            let invals = if kind.is_commit() && xi & xinfo::HAS_INVALS != 0 {
                let n = c.count("invalidation message")?;
                InvalList { bytes: c.array(n, 16)?, major: Some(major) }
            } else {
                InvalList { bytes: &[], major: Some(major) }
            };
            let (twophase_xid, gid) = if xi & xinfo::HAS_TWOPHASE != 0 {
                let x = c.u32()?;
                let gid = if xi & xinfo::HAS_GID != 0 {
                    let rest = c.rest();
                    let len =
                        rest.iter().position(|&b| b == 0).ok_or_else(|| c.err("GID is not terminated"))?;
                    let g = c.take(len)?;
                    c.take(1)?;
                    Some(g)
                } else {
                    None
                };
                (Some(x), gid)
            } else {
                (None, None)
            };
            let origin =
                if xi & xinfo::HAS_ORIGIN != 0 { Some((Lsn(c.u64()?), PgTimestamp(c.i64()?))) } else { None };
            c.finish()?;
            Ok(Decoded::XactFinish(XactFinish {
                kind,
                time,
                xinfo: xi,
                db,
                subxacts,
                rels,
                dropped_stats,
                invals,
                twophase_xid,
                gid,
                origin,
            }))
        }
        0x10 => decode_prepare(major, main).map(Decoded::XactPrepare),
        0x50 => {
            let mut c = Cur::new(main, "Transaction ASSIGNMENT");
            let xtop = c.u32()?;
            let n = c.count("subxact")?;
            let subxacts = U32List(c.array(n, 4)?);
            c.finish()?;
            Ok(Decoded::XactAssignment { xtop, subxacts })
        }
        0x60 if major >= PgMajor::V14 => {
            let mut c = Cur::new(main, "Transaction INVALIDATION");
            let n = c.count("invalidation message")?;
            let invals = InvalList { bytes: c.array(n, 16)?, major: Some(major) };
            c.finish()?;
            Ok(Decoded::XactInvalidations(invals))
        }
        _ => Ok(Decoded::Other),
    }
}

fn decode_prepare(major: PgMajor, main: &[u8]) -> Result<XactPrepare<'_>, DecodeError> {
    let mut c = Cur::new(main, "Transaction PREPARE");
    let _magic = c.u32()?;
    let _total_len = c.u32()?;
    let xid = c.u32()?;
    let db = c.u32()?;
    let prepared_at = PgTimestamp(c.i64()?);
    let owner = c.u32()?;
    let nsubxacts = c.count("subxact")?;
    let ncommitrels = c.count("commit relation")?;
    let nabortrels = c.count("abort relation")?;
    let (ncommitstats, nabortstats) =
        if major >= PgMajor::V15 { (c.count("commit stats")?, c.count("abort stats")?) } else { (0, 0) };
    let ninvals = c.count("invalidation message")?;
    let init_file_inval = c.u8()? != 0;
    c.take(1)?;
    let gidlen = usize::from(c.u16()?);
    let origin_lsn = Lsn(c.u64()?);
    let origin_time = PgTimestamp(c.i64()?);
    let header = c.pos;
    c.skip_to(maxalign(header))?;
    let gid = c_string(c.take(gidlen)?);
    let subxacts = U32List(aligned(&mut c, nsubxacts.saturating_mul(4))?);
    let commit_rels = RelList(aligned(&mut c, ncommitrels.saturating_mul(12))?);
    let abort_rels = RelList(aligned(&mut c, nabortrels.saturating_mul(12))?);
    let item = StatsList::item_size(major);
    let commit_stats = StatsList { bytes: aligned(&mut c, ncommitstats.saturating_mul(item))?, item };
    let abort_stats = StatsList { bytes: aligned(&mut c, nabortstats.saturating_mul(item))?, item };
    let invals = InvalList { bytes: aligned(&mut c, ninvals.saturating_mul(16))?, major: Some(major) };
    // The rest of the main data is the two-phase state records; not decoded.
    Ok(XactPrepare {
        xid,
        db,
        prepared_at,
        owner,
        gid,
        subxacts,
        commit_rels,
        abort_rels,
        commit_stats,
        abort_stats,
        invals,
        init_file_inval,
        origin_lsn,
        origin_time,
    })
}

/// Takes `bytes` bytes, then skips the padding to the next multiple of 8.
fn aligned<'a>(c: &mut Cur<'a>, bytes: usize) -> Result<&'a [u8], DecodeError> {
    let start = c.pos;
    let s = c.take(bytes)?;
    c.skip_to(start + maxalign(bytes)).map(|_| s)
}

fn decode_smgr(info: u8, main: &[u8]) -> Result<Decoded<'_>, DecodeError> {
    match info & 0xF0 {
        0x10 => {
            let mut c = Cur::new(main, "Storage CREATE");
            let rel = RelFileLocator { spc: c.u32()?, db: c.u32()?, rel: c.u32()? };
            let fork = c.i32()?;
            c.finish()?;
            Ok(Decoded::SmgrCreate { rel, fork })
        }
        0x20 => {
            let mut c = Cur::new(main, "Storage TRUNCATE");
            let blkno = c.u32()?;
            let rel = RelFileLocator { spc: c.u32()?, db: c.u32()?, rel: c.u32()? };
            let flags = c.i32()?;
            c.finish()?;
            Ok(Decoded::SmgrTruncate { blkno, rel, flags })
        }
        _ => Ok(Decoded::Other),
    }
}

fn decode_dbase(major: PgMajor, info: u8, main: &[u8]) -> Result<Decoded<'_>, DecodeError> {
    let t = info & 0xF0;
    let drop = if major >= PgMajor::V15 { 0x20 } else { 0x10 };
    if t == 0x00 {
        let mut c = Cur::new(main, "Database CREATE");
        let d = Decoded::DbCreateFileCopy { db: c.u32()?, ts: c.u32()?, src_db: c.u32()?, src_ts: c.u32()? };
        c.finish()?;
        Ok(d)
    } else if t == drop {
        let mut c = Cur::new(main, "Database DROP");
        let db = c.u32()?;
        let n = c.count("tablespace")?;
        let tablespaces = U32List(c.array(n, 4)?);
        c.finish()?;
        Ok(Decoded::DbDrop { db, tablespaces })
    } else if t == 0x10 && major >= PgMajor::V15 {
        let mut c = Cur::new(main, "Database CREATE_WAL_LOG");
        let d = Decoded::DbCreateWalLog { db: c.u32()?, ts: c.u32()? };
        c.finish()?;
        Ok(d)
    } else {
        Ok(Decoded::Other)
    }
}

fn decode_standby(major: PgMajor, info: u8, main: &[u8]) -> Result<Decoded<'_>, DecodeError> {
    match info & 0xF0 {
        0x00 => {
            let mut c = Cur::new(main, "Standby LOCK");
            let n = c.count("lock")?;
            let locks = c.array(n, 12)?;
            c.finish()?;
            Ok(Decoded::StandbyLocks(locks))
        }
        0x10 => {
            let mut c = Cur::new(main, "Standby RUNNING_XACTS");
            let xcnt = c.count("xact")?;
            let subxcnt = c.count("subxact")?;
            let subxid_overflow = c.u8()? != 0;
            c.take(3)?;
            let next_xid = c.u32()?;
            let oldest_running_xid = c.u32()?;
            let latest_completed_xid = c.u32()?;
            let xids = U32List(c.array(xcnt, 4)?);
            let subxids = U32List(c.array(subxcnt, 4)?);
            c.finish()?;
            Ok(Decoded::RunningXacts(RunningXacts {
                subxid_overflow,
                next_xid,
                oldest_running_xid,
                latest_completed_xid,
                xids,
                subxids,
            }))
        }
        0x20 => {
            let mut c = Cur::new(main, "Standby INVALIDATIONS");
            let db = c.u32()?;
            let ts = c.u32()?;
            let relcache_init_file = c.u8()? != 0;
            c.take(3)?;
            let n = c.count("invalidation message")?;
            let invals = InvalList { bytes: c.array(n, 16)?, major: Some(major) };
            c.finish()?;
            Ok(Decoded::StandbyInvalidations { db, ts, relcache_init_file, invals })
        }
        _ => Ok(Decoded::Other),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reference_commit_payload() {
        // Main data of the reference COMMIT with two subxacts (PG 15).
        let main = [
            0xb2, 0xb4, 0x42, 0x53, 0xfa, 0x03, 0x03, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
            0xd7, 0x02, 0x00, 0x00, 0xd8, 0x02, 0x00, 0x00,
        ];
        let Decoded::XactFinish(x) = decode(PgMajor::V15, RM_XACT_ID, 0x80, &main).unwrap() else { panic!() };
        assert_eq!(x.kind, XactKind::Commit);
        assert_eq!(x.time.rfc3339(), "2026-11-24T01:23:23.719858Z");
        assert_eq!(x.time.waldump(), "2026-11-24 01:23:23.719858 UTC");
        assert_eq!(x.subxacts.to_vec(), vec![727, 728]);
        assert!(x.rels.is_empty());
        assert_eq!(x.twophase_xid, None);
        // One byte too few or too many is an error, never a panic.
        assert!(decode(PgMajor::V15, RM_XACT_ID, 0x80, &main[..23]).is_err());
        let mut longer = main.to_vec();
        longer.push(0);
        assert!(decode(PgMajor::V15, RM_XACT_ID, 0x80, &longer).is_err());
    }

    #[test]
    fn commit_prepared_payload() {
        // COMMIT_PREPARED of the reference: xinfo 0x50, twophase xid 730.
        let main = [0x3e, 0xb6, 0x42, 0x53, 0xfa, 0x03, 0x03, 0x00, 0x50, 0, 0, 0, 0xda, 0x02, 0, 0];
        let Decoded::XactFinish(x) = decode(PgMajor::V15, RM_XACT_ID, 0xB0, &main).unwrap() else { panic!() };
        assert_eq!(x.kind, XactKind::CommitPrepared);
        assert_eq!(x.twophase_xid, Some(730));
        assert_eq!(x.xinfo, 0x50);
    }

    #[test]
    fn dropped_stats_item_size_per_version() {
        let mut main = vec![0u8; 8];
        main.extend_from_slice(&(xinfo::HAS_DROPPED_STATS).to_le_bytes());
        main.extend_from_slice(&1i32.to_le_bytes());
        for v in [2u32, 5, 16389] {
            main.extend_from_slice(&v.to_le_bytes());
        }
        let Decoded::XactFinish(x) = decode(PgMajor::V17, RM_XACT_ID, 0x80, &main).unwrap() else { panic!() };
        assert_eq!(
            x.dropped_stats.iter().collect::<Vec<_>>(),
            vec![DroppedStat { kind: 2, db: 5, objid: 16389 }]
        );
        // 18 has 16-byte items: the same bytes are short by 4.
        assert!(decode(PgMajor::V18, RM_XACT_ID, 0x80, &main).is_err());
        main.extend_from_slice(&1u32.to_le_bytes());
        let Decoded::XactFinish(x) = decode(PgMajor::V18, RM_XACT_ID, 0x80, &main).unwrap() else { panic!() };
        assert_eq!(x.dropped_stats.iter().next().unwrap().objid, (1u64 << 32) | 16389);
    }

    #[test]
    fn restore_point_name_stops_at_nul() {
        let mut main = vec![0u8; 72];
        main[8..14].copy_from_slice(b"rp_one");
        main[15] = 0x77; // garbage after the NUL
        let Decoded::RestorePoint { name, .. } = decode(PgMajor::V15, RM_XLOG_ID, 0x70, &main).unwrap()
        else {
            panic!()
        };
        assert_eq!(name, b"rp_one");
        assert!(decode(PgMajor::V15, RM_XLOG_ID, 0x70, &main[..71]).is_err());
    }

    #[test]
    fn end_of_recovery_size_per_version() {
        let mut main = vec![0u8; 16];
        main[8] = 2;
        main[12] = 1;
        let Decoded::EndOfRecovery(e) = decode(PgMajor::V16, RM_XLOG_ID, 0x90, &main).unwrap() else {
            panic!()
        };
        assert_eq!((e.timeline, e.prev_timeline, e.wal_level), (2, 1, None));
        assert!(decode(PgMajor::V17, RM_XLOG_ID, 0x90, &main).is_err());
        main.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]);
        let Decoded::EndOfRecovery(e) = decode(PgMajor::V17, RM_XLOG_ID, 0x90, &main).unwrap() else {
            panic!()
        };
        assert_eq!(e.wal_level, Some(1));
    }

    #[test]
    fn timestamps() {
        assert_eq!(PgTimestamp(0).rfc3339(), "2000-01-01T00:00:00.000000Z");
        assert_eq!(PgTimestamp(-1).rfc3339(), "1999-12-31T23:59:59.999999Z");
        assert_eq!(unix_seconds_rfc3339(1795483403), "2026-11-24T01:23:23Z");
        let t = PgTimestamp(848_798_603_719_858);
        assert_eq!(PgTimestamp::from_jiff(t.to_jiff().unwrap()), Some(t));
        assert!(PgTimestamp(i64::MAX).rfc3339().starts_with('@'));
    }

    #[test]
    fn decode_never_panics_on_short_input() {
        for m in PgMajor::ALL {
            for rmid in 0..=21u8 {
                for info in (0..=255u8).step_by(16) {
                    for len in 0..100 {
                        let _ = decode(m, rmid, info, &vec![0xFF; len]);
                        let _ = decode(m, rmid, info | 0x80, &vec![0x01; len]);
                    }
                }
            }
        }
    }
}
