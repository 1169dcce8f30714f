//! `pitr find`: the commits and aborts of a time or LSN window, with their
//! xid, time, LSN and the relation files each dropped, and for each the exact
//! recovery targets that stop just before and just after it; or, for a
//! relfilenode (or a table name resolved through the base backup's catalog or
//! a live server), the transaction that dropped or rewrote it and the exclusive
//! target that gets the table back.
//!
//! WAL is read along the timeline path recovery would follow, with the
//! planner's choices ([`super::timeline::resolve_target_timeline`],
//! [`super::timeline::pick_segments`]), from a base backup's redo point or from
//! the start of the archive, or from plain WAL files. The JSON form is
//! documented in `docs/find.md`.
//!
//! Which target is safe (recovery-semantics.md §1.4):
//! * `recovery_target_xid` is matched by equality on commit/abort records: the
//!   `before` target (`--exclusive`) stops exactly before the record and the
//!   `after` target exactly after it, provided no earlier record on the path
//!   carries the same xid (checked);
//! * `recovery_target_lsn` with the record's start LSN is exact too (any record
//!   is checked);
//! * `recovery_target_time` stops before the *first* commit/abort whose time is
//!   `>=` (exclusive) or `>` (inclusive) the target, in WAL order: it is exact
//!   only when no earlier record has a time at or after this one's, and (for
//!   `after`) the next commit/abort is strictly later. Commits sharing a
//!   microsecond, or times going backwards (clock steps, commit-time skew
//!   between sessions), make it stop elsewhere; each target says whether it is
//!   exact and why not.

use super::model::{Problem, TimelineStep};
use super::planner::{Store, backup_config, server_settings};
use super::progress::FileProgress;
use super::target::{self, TimelineTarget};
use super::timeline;
use crate::archive::{Inventory, ScanOptions};
use crate::backup::Backup;
use crate::backup::catalog::{self, CatalogMatch, QualifiedName};
use crate::error::Error;
use crate::history::TimelineHistory;
use crate::lsn::Lsn;
use crate::wal::decode::XactKind;
use crate::wal::scan::{Event, ScanDetail};
use crate::wal::{self, ReaderOptions, RelFileLocator, TimelineChoice, WalSource};
use crate::walfile::{SegmentName, TimeLineId};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ops::ControlFlow;
use std::path::PathBuf;

/// Where the WAL comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FindInput {
    /// A WAL archive, read along the timeline path; from a base backup's redo
    /// point when `backup` is given (then the backup's `pg_wal` also counts,
    /// its `TimeZone` reads times without a zone, and its catalog can resolve
    /// `--table`).
    Archive {
        /// The archive directory.
        archive: PathBuf,
        /// A base backup (plain, tar, `backup_label` or `.backup` file).
        backup: Option<PathBuf>,
    },
    /// WAL files or directories (`pg_wal`, a copy of segments), read in order
    /// like `pg_waldump` reads them; no timeline history is followed.
    Paths(Vec<PathBuf>),
}

/// Which transaction ends to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KindFilter {
    /// Commits and aborts.
    #[default]
    All,
    /// Commits (plain and prepared) only.
    CommitsOnly,
    /// Aborts (top-level, subtransaction, prepared) only.
    AbortsOnly,
}

/// What to look for.
#[derive(Debug, Clone)]
pub struct FindRequest {
    /// The WAL.
    pub input: FindInput,
    /// Start of the window: an LSN (`X/Y`) or a time (read like
    /// `recovery_target_time`), inclusive.
    pub from: Option<String>,
    /// End of the window, inclusive, same forms.
    pub to: Option<String>,
    /// The timeline whose path is read (`recovery_target_timeline`); default latest.
    pub timeline: TimelineTarget,
    /// Only this transaction (top-level xid, a subtransaction's xid, or a
    /// prepared transaction's xid).
    pub xid: Option<u32>,
    /// Only transactions that dropped, truncated or created these relfilenodes.
    pub relfilenodes: Vec<u32>,
    /// A table name (`[schema.]name`) resolved to relfilenodes through the base
    /// backup's catalog, or the live server of [`FindRequest::dsn`].
    pub table: Option<String>,
    /// A live server to resolve [`FindRequest::table`] (feature `live`).
    pub dsn: Option<String>,
    /// Only transactions of this database (OID).
    pub db: Option<u32>,
    /// Commits only, aborts only, or both.
    pub kinds: KindFilter,
    /// Only transactions that dropped relation files.
    pub drops_only: bool,
    /// Also list transactions that wrote the relfilenodes searched (an
    /// `UPDATE`/`DELETE` without `WHERE`), not only those that dropped them.
    pub modified: bool,
    /// Time zone for window times without one (default: the backup's
    /// `TimeZone`, else UTC).
    pub timezone: Option<String>,
    /// At most this many transactions listed (the rest are counted).
    pub limit: Option<usize>,
}

impl FindRequest {
    /// Every commit and abort of `input`, on the latest timeline.
    pub fn new(input: FindInput) -> FindRequest {
        FindRequest {
            input,
            from: None,
            to: None,
            timeline: TimelineTarget::Latest,
            xid: None,
            relfilenodes: Vec::new(),
            table: None,
            dsn: None,
            db: None,
            kinds: KindFilter::All,
            drops_only: false,
            modified: false,
            timezone: None,
            limit: None,
        }
    }
}

/// A window bound as understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Bound {
    /// A record LSN.
    Lsn {
        /// The LSN.
        lsn: Lsn,
    },
    /// A commit/abort time.
    Time {
        /// The instant (RFC 3339 UTC in JSON).
        #[serde(serialize_with = "ser_time")]
        time: Timestamp,
    },
}

fn ser_time<S: serde::Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(*t))
}

/// The window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Window {
    /// Inclusive start.
    pub from: Option<Bound>,
    /// Inclusive end.
    pub to: Option<Bound>,
}

impl Window {
    /// The LSN bounds only (storage records have no time).
    fn contains_lsn(&self, lsn: Lsn) -> bool {
        let lo = match self.from {
            Some(Bound::Lsn { lsn: l }) => lsn >= l,
            _ => true,
        };
        let hi = match self.to {
            Some(Bound::Lsn { lsn: l }) => lsn <= l,
            _ => true,
        };
        lo && hi
    }

    fn contains(&self, lsn: Lsn, time: Option<Timestamp>) -> bool {
        let ok = |b: &Option<Bound>, lower: bool| match b {
            None => true,
            Some(Bound::Lsn { lsn: l }) => {
                if lower {
                    lsn >= *l
                } else {
                    lsn <= *l
                }
            }
            Some(Bound::Time { time: t }) => time.is_some_and(|x| if lower { x >= *t } else { x <= *t }),
        };
        ok(&self.from, true) && ok(&self.to, false)
    }
}

/// A relation file (`spc/db/relfilenode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct RelFile {
    /// Tablespace OID.
    pub spc: u32,
    /// Database OID.
    pub db: u32,
    /// Relfilenode.
    pub relfilenode: u32,
}

impl From<RelFileLocator> for RelFile {
    fn from(r: RelFileLocator) -> RelFile {
        RelFile { spc: r.spc, db: r.db, relfilenode: r.rel }
    }
}

impl std::fmt::Display for RelFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.spc, self.db, self.relfilenode)
    }
}

/// One way to express a recovery target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetOption {
    /// True when PostgreSQL stops exactly there with it.
    pub exact: bool,
    /// The `pitr plan` / `pitr restore` options.
    pub args: Vec<String>,
    /// The recovery settings (name -> value as written).
    pub settings: BTreeMap<String, String>,
    /// Why it is not exact, or a caveat.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The targets that stop just before (or just after) one transaction end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Targets {
    /// What `pg_last_wal_replay_lsn()` reports once recovery pauses there.
    pub replay_lsn: Lsn,
    /// The option to use: `xid` (exact by equality), else `lsn`.
    pub recommended: &'static str,
    /// `recovery_target_xid`.
    pub xid: TargetOption,
    /// `recovery_target_lsn`.
    pub lsn: TargetOption,
    /// `recovery_target_time`.
    pub time: TargetOption,
    /// With a base backup: false when the stop would come before the backup is
    /// consistent (PostgreSQL refuses: "requested recovery stop point is before
    /// consistent recovery point"); absent when unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reachable_from_backup: Option<bool>,
}

impl Targets {
    /// The recommended option.
    pub fn recommended(&self) -> &TargetOption {
        if self.recommended == "lsn" { &self.lsn } else { &self.xid }
    }
}

/// One transaction end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FoundXact {
    /// `commit`, `abort`, `commit_prepared`, `abort_prepared`.
    pub kind: XactKind,
    /// The xid `recovery_target_xid` matches: the prepared transaction's for
    /// `*_prepared`, the subtransaction's for a subtransaction abort.
    pub xid: u32,
    /// True for the abort of a subtransaction (`ROLLBACK TO SAVEPOINT`).
    pub subxact: bool,
    /// The top-level transaction of an aborted subtransaction, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_xid: Option<u32>,
    /// Subtransactions ended with it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subxacts: Vec<u32>,
    /// The prepared transaction's GID, when logged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gid: Option<String>,
    /// Database OID, when the record names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub db: Option<u32>,
    /// Commit/abort time, RFC 3339 UTC with microseconds.
    pub time: String,
    /// The record's LSN.
    pub lsn: Lsn,
    /// The record's end.
    pub end_lsn: Lsn,
    /// The timeline the record is on.
    pub timeline: TimeLineId,
    /// True when the record drops relation files.
    pub drops_relations: bool,
    /// The relation files dropped at commit (for an abort: the files the
    /// transaction had created, removed).
    pub dropped_relations: Vec<RelFile>,
    /// The relation files its records wrote (only with `--modified` or `--db`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wrote: Option<Vec<RelFile>>,
    /// Why it matched the filters (relfilenode and xid searches).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub matched: Vec<String>,
    /// Targets that stop just before it (nothing of it applied).
    pub before: Targets,
    /// Targets that stop just after it (it is applied).
    pub after: Targets,
}

/// A relation file event of a relfilenode search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StorageEvent {
    /// `create` (Storage CREATE), `truncate` (Storage TRUNCATE) or
    /// `heap_truncate` (Heap TRUNCATE, `wal_level = logical`).
    pub kind: &'static str,
    /// Record LSN.
    pub lsn: Lsn,
    /// Timeline.
    pub timeline: TimeLineId,
    /// `xl_xid` (0 when the record carries none).
    pub xid: u32,
    /// The relation file (create, truncate).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rel: Option<RelFile>,
    /// The fork (create).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fork: Option<i32>,
    /// New length in blocks (truncate).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocks: Option<u32>,
    /// pg_class OIDs (heap_truncate).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub relids: Vec<u32>,
    /// What it means.
    pub note: String,
}

/// The answer for one relfilenode searched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RelfilenodeAnswer {
    /// The relfilenode.
    pub relfilenode: u32,
    /// The committed transaction that dropped it (DROP, TRUNCATE, VACUUM FULL,
    /// CLUSTER, a rewriting ALTER TABLE), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dropped_by: Option<u32>,
    /// The transaction whose records created it (a rewrite gave the table this
    /// file), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<u32>,
    /// The target that gets the relation back as it was just before that
    /// transaction (exclusive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<TargetOption>,
    /// The same as an LSN target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lsn_target: Option<TargetOption>,
    /// In words.
    pub message: String,
}

/// How `--table` was resolved.
#[derive(Debug, Clone, Serialize)]
pub struct TableResolution {
    /// The name as parsed.
    pub name: QualifiedName,
    /// `backup` (its catalog) or `live`.
    pub source: &'static str,
    /// The relations found (every row version still in a backup's catalog).
    pub matches: Vec<CatalogMatch>,
    /// Pages or files that could not be read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// What was read.
#[derive(Debug, Clone, Serialize)]
pub struct Scanned {
    /// Where reading started.
    pub from: Lsn,
    /// End of the last record read.
    pub to: Lsn,
    /// Files read, in order.
    pub files: Vec<String>,
    /// Commit and abort records read (in and out of the window).
    pub transaction_ends: u64,
    /// Why reading stopped.
    pub end: String,
}

/// The answer of [`find`].
#[derive(Debug, Clone, Serialize)]
pub struct FindReport {
    /// True when a transaction (or a relfilenode answer) was found.
    pub found: bool,
    /// PostgreSQL major of the WAL.
    pub pg_version: u32,
    /// The timeline whose path was read (absent for plain WAL paths without `--timeline N`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeline: Option<TimeLineId>,
    /// The path.
    pub timeline_path: Vec<TimelineStep>,
    /// The window.
    pub window: Window,
    /// What was read.
    pub scanned: Scanned,
    /// With a base backup: where it becomes consistent (the earliest stop point).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consistent_lsn: Option<Lsn>,
    /// The relfilenodes searched (given, and resolved from `--table`).
    pub relfilenodes: Vec<u32>,
    /// How `--table` was resolved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<TableResolution>,
    /// The transaction ends found, in WAL order.
    pub transactions: Vec<FoundXact>,
    /// Matching transaction ends left out by the limit.
    pub more: u64,
    /// Relation file events of the relfilenodes searched.
    pub storage: Vec<StorageEvent>,
    /// Per relfilenode: who dropped it and the target to use.
    pub answers: Vec<RelfilenodeAnswer>,
    /// Warnings (ambiguous times, damage, gaps) and hints.
    pub problems: Vec<Problem>,
}

/// The owned facts of a commit/abort event.
struct Xact {
    kind: XactKind,
    xid: u32,
    subxact: bool,
    top_xid: Option<u32>,
    subxacts: Vec<u32>,
    gid: Option<String>,
    db: Option<u32>,
    time: Timestamp,
    lsn: Lsn,
    end_lsn: Lsn,
    dropped: Vec<RelFile>,
    touched: Vec<RelFile>,
}

enum Owned {
    Xact(Xact),
    Storage(StorageEvent, Option<u32>),
    BackupEnd { end_lsn: Lsn, start: Lsn },
    Other,
}

/// What the stream tells about time and xid targets so far.
#[derive(Default)]
struct Tracker {
    max_time: Option<Timestamp>,
    seen_xids: HashSet<u32>,
    xids_complete: bool,
    regressions: Vec<(Lsn, Timestamp, Timestamp)>,
    regression_count: u64,
    shared: Vec<(Lsn, u32, Timestamp)>,
    shared_count: u64,
}

/// Most xids remembered for the duplicate check.
const MAX_SEEN_XIDS: usize = 8 << 20;

/// Reads a window bound: an LSN when it parses as one, else a time.
fn parse_bound(text: &str, tz: &TimeZone, order: target::DateOrder) -> Result<Bound, Error> {
    if let Ok(lsn) = Lsn::parse(text) {
        return Ok(Bound::Lsn { lsn });
    }
    let p = target::parse_target_time(text, tz, order).map_err(|e| {
        Error::Invalid(format!(
            "{text:?} is neither an LSN (X/Y) nor a time PostgreSQL accepts: {}",
            e.message
        ))
    })?;
    Ok(Bound::Time { time: p.time })
}

fn rfc3339(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Finds transaction ends (see the module documentation). Errors are for
/// inputs that cannot be read at all; damage met while reading is a problem
/// in the report, which then covers the WAL read up to it.
pub fn find(req: &FindRequest) -> Result<FindReport, Error> {
    find_with_progress(req, &|_, _| ControlFlow::Continue(()))
}

/// [`find`], calling `progress(done, total)` as the WAL scan enters each
/// file (`done` files of the `total` it reads at most). When `progress`
/// returns [`ControlFlow::Break`], the scan stops there.
///
/// # Errors
/// As [`find`]; [`Error::Cancelled`] when `progress` asked to stop.
pub fn find_with_progress(
    req: &FindRequest,
    progress: &dyn Fn(u64, u64) -> ControlFlow<()>,
) -> Result<FindReport, Error> {
    if !req.relfilenodes.is_empty() || req.table.is_some() {
        // fine
    } else if req.modified {
        return Err(Error::Invalid("--modified needs --relfilenode or --table".into()));
    }
    let mut problems: Vec<Problem> = Vec::new();

    // The backup (optional) and the settings it brings.
    let backup = match &req.input {
        FindInput::Archive { backup: Some(b), .. } => Some(Backup::open(b)?),
        _ => None,
    };
    let config = backup.as_ref().and_then(backup_config);
    let tz_name = req.timezone.clone().or_else(|| {
        if config.as_ref().and_then(|c| c.value("timezone")).is_none() { Some("UTC".into()) } else { None }
    });
    let settings = server_settings(config.as_ref(), tz_name.as_deref())?;
    let window = Window {
        from: req
            .from
            .as_deref()
            .map(|t| parse_bound(t, &settings.timezone, settings.date_order))
            .transpose()?,
        to: req.to.as_deref().map(|t| parse_bound(t, &settings.timezone, settings.date_order)).transpose()?,
    };

    // --table: relfilenodes (and pg_class OIDs) to search for.
    let mut relfilenodes: BTreeSet<u32> = req.relfilenodes.iter().copied().collect();
    let mut table_oids: BTreeSet<u32> = BTreeSet::new();
    let table = match &req.table {
        None => None,
        Some(text) => {
            let name = catalog::parse_qualified_name(text)?;
            let res = resolve_table(req, backup.as_ref(), &name)?;
            if res.matches.is_empty() {
                return Err(Error::Invalid(format!(
                    "no relation {text:?} in the {}{}",
                    if res.source == "live" { "live server's catalog" } else { "base backup's catalog" },
                    if res.source == "live" {
                        " (a dropped table is no longer there: give --backup to read an older catalog, or --relfilenode)"
                    } else {
                        " (a table created after the backup is not there: use --dsn or --relfilenode)"
                    }
                )));
            }
            for m in &res.matches {
                if m.relfilenode != 0 {
                    relfilenodes.insert(m.relfilenode);
                }
                table_oids.insert(m.oid);
            }
            Some(res)
        }
    };
    if req.table.is_some() && relfilenodes.is_empty() {
        return Err(Error::Invalid("the relation has no storage (view, partitioned table...)".into()));
    }
    let searching = !relfilenodes.is_empty();

    // The WAL to read.
    let mut opts = ReaderOptions::default();
    let mut history: Option<TimelineHistory> = None;
    let mut off_path: Vec<TimeLineId> = Vec::new();
    let mut timeline_path = Vec::new();
    let mut redo: Option<Lsn> = None;
    let mut consistent_from_control: Option<Lsn> = None;
    let mut major = backup.as_ref().and_then(|b| b.major()).map(|m| m.number()).unwrap_or(0);
    let source = match &req.input {
        FindInput::Paths(paths) => {
            if paths.is_empty() {
                return Err(Error::Invalid("no WAL files or directories given".into()));
            }
            let mut s = WalSource::new();
            for p in paths {
                s.add_path(p)?;
            }
            if let TimelineTarget::Numbered(n) = req.timeline {
                opts.timeline = TimelineChoice::Only(n);
            }
            if let Some(Bound::Lsn { lsn }) = window.from {
                opts.start = Some(lsn);
            }
            s
        }
        FindInput::Archive { archive, .. } => {
            let control = backup.as_ref().and_then(|b| b.control.as_ref());
            let label = match &backup {
                Some(b) => Some(b.label.as_ref().and_then(|l| l.parsed.clone()).ok_or_else(|| {
                    Error::Invalid(format!("{}: no readable backup_label", b.path.display()))
                })?),
                None => None,
            };
            let seg_hint = control.map(|c| c.wal_segment_size);
            let inventory = Inventory::scan(archive, &ScanOptions { seg_size: seg_hint })?;
            let seg = seg_hint
                .or_else(|| inventory.seg_size())
                .or_else(|| label.as_ref().and_then(|l| l.consistent_segment_sizes().first().copied()))
                .ok_or_else(|| Error::Invalid(format!("{}: no readable WAL segment", archive.display())))?;
            if major == 0 {
                major = inventory.pg_major().map(|m| m.number()).unwrap_or(0);
            }
            opts.system_id = control.map(|c| c.system_identifier).or_else(|| inventory.system_id());
            let store = match &backup {
                Some(b) => Store::new(&inventory, b),
                None => Store::new_archive(&inventory),
            };
            let histories = inventory.history_set();
            let first_on_disk = inventory.segments().next();
            let initial = match (control, &label) {
                (Some(c), _) if c.min_recovery_point_timeline > c.checkpoint_copy.timeline => {
                    c.min_recovery_point_timeline
                }
                (Some(c), _) => c.checkpoint_copy.timeline,
                (None, Some(l)) => l.timeline(),
                (None, None) => first_on_disk.map(|s| s.timeline).ok_or_else(|| {
                    Error::Invalid(format!("{}: no WAL segment in the archive", archive.display()))
                })?,
            };
            let h = timeline::resolve_target_timeline(initial, req.timeline, &histories).map_err(|r| {
                Error::Invalid(format!("{} (the archive has no history file for it)", r.postgres_message().0))
            })?;
            if let Some(l) = &label {
                if let Err(r) = timeline::check_checkpoint_on_path(&h, l.checkpoint, l.timeline()) {
                    let (m, d) = r.postgres_message();
                    return Err(Error::Invalid(format!(
                        "{m}{}: the backup is not on the path of timeline {}; use --timeline current",
                        d.map(|d| format!(" ({d})")).unwrap_or_default(),
                        h.timeline
                    )));
                }
                redo = Some(l.start.lsn);
                if l.from_standby() {
                    consistent_from_control = control
                        .map(|c| c.min_recovery_point)
                        .filter(|l| !l.is_invalid())
                        .or(l.stop.as_ref().map(|s| s.lsn));
                }
            }
            let ranges = h.ranges();
            let exists = |t: TimeLineId, s: u64| store.path(t, s, seg).is_some();
            let on_path = |n: &SegmentName| h.contains(n.timeline);
            let (first_seg, start_tli, start) = match (&label, &window.from) {
                (Some(l), _) => {
                    let ck = timeline::pick_segment(&ranges, l.checkpoint.segment(seg), 0, seg, exists);
                    (l.start.lsn.segment(seg), ck.chosen.unwrap_or(0), Some(l.start.lsn))
                }
                (None, Some(Bound::Lsn { lsn })) => (lsn.segment(seg), 0, Some(*lsn)),
                (None, _) => {
                    let first =
                        inventory.segments().filter(on_path).filter_map(|n| n.segno(seg)).min().ok_or_else(
                            || {
                                Error::Invalid(format!(
                                    "{}: no WAL segment of timeline {}'s path in the archive",
                                    archive.display(),
                                    h.timeline
                                ))
                            },
                        )?;
                    (first, 0, None)
                }
            };
            let mut last_seg = store.last_segno(seg, first_seg);
            if let Some(Bound::Lsn { lsn }) = window.to {
                last_seg = last_seg.min(lsn.segment(seg).saturating_add(1)).max(first_seg);
            }
            let (picks, missing) =
                timeline::pick_segments(&ranges, first_seg..=last_seg, start_tli, seg, exists);
            for p in &picks {
                if p.is_fallback() {
                    problems.push(
                        Problem::warning(
                            "switch_segment_missing",
                            format!(
                                "{} is missing: recovery (and this scan) reads timeline {}'s copy of the segment instead",
                                SegmentName::new(p.expected, p.segno, seg),
                                p.chosen.unwrap_or(0)
                            ),
                        )
                        .file(SegmentName::new(p.expected, p.segno, seg).to_string()),
                    );
                }
            }
            if let Some(m) = missing {
                let name = SegmentName::new(m.expected, m.segno, seg);
                let cur = picks.last().and_then(|p| p.chosen).unwrap_or(start_tli);
                let later = (m.segno + 1..=last_seg)
                    .any(|s| timeline::pick_segment(&ranges, s, cur, seg, exists).chosen.is_some());
                if later {
                    problems.push(
                        Problem::warning(
                            "missing_segment",
                            format!("{name} is missing from the archive: the scan (and recovery) ends there"),
                        )
                        .file(name.to_string()),
                    );
                }
            }
            let source_files: Vec<PathBuf> =
                picks.iter().filter_map(|p| p.chosen.and_then(|t| store.path(t, p.segno, seg))).collect();
            if source_files.is_empty() {
                return Err(Error::Invalid(format!(
                    "{}: no WAL segment on timeline {}'s path from {}",
                    archive.display(),
                    h.timeline,
                    SegmentName::new(h.timeline, first_seg, seg)
                )));
            }
            opts.start = start;
            timeline_path = h
                .ranges_oldest_first()
                .into_iter()
                .filter(|r| r.end.is_none_or(|e| start.is_none_or(|s| e > s)))
                .map(|r| TimelineStep {
                    timeline: r.timeline,
                    from: r.begin.map_or(start.unwrap_or_default(), |b| b.max(start.unwrap_or_default())),
                    to: r.end,
                })
                .collect();
            // Timelines with WAL the path does not read (for the hint when nothing is found).
            for t in inventory.timelines() {
                let off = match h.range_of(t.timeline) {
                    None => t.segments > 0,
                    Some(r) => match (r.end, t.last.and_then(|l| l.segno(seg))) {
                        (Some(e), Some(last)) => last >= e.segment(seg),
                        _ => false,
                    },
                };
                if off {
                    off_path.push(t.timeline);
                }
            }
            history = Some(h);
            WalSource::from_paths(&source_files)?
        }
    };
    if let Some(Bound::Lsn { lsn }) = window.to {
        opts.end = lsn.checked_add(1);
    }

    let detail = ScanDetail { storage: searching, touched: req.db.is_some() || req.modified };
    let mut scanner = wal::scan_with(source, opts.clone(), detail)?;
    if major == 0 {
        major = scanner.reader().info().major.number();
    }
    let followed_tli = history.as_ref().map(|h| h.timeline).or(match req.timeline {
        TimelineTarget::Numbered(n) => Some(n),
        _ => None,
    });

    let mut tracker = Tracker { xids_complete: true, ..Tracker::default() };
    let mut out: Vec<FoundXact> = Vec::new();
    let mut more: u64 = 0;
    let mut storage: Vec<StorageEvent> = Vec::new();
    let mut storage_xids: HashMap<u32, Vec<String>> = HashMap::new();
    let mut created_by: HashMap<u32, u32> = HashMap::new();
    let mut dropped_by: BTreeMap<u32, usize> = BTreeMap::new();
    let mut consistent = consistent_from_control;
    let mut transaction_ends: u64 = 0;
    // The last listed transaction waiting for the next record's time.
    let mut pending: Option<(usize, Option<Timestamp>)> = None;
    let mut damage: Option<wal::WalError> = None;
    let mut first_lsn: Option<Lsn> = None;
    let timeline_of = |lsn: Lsn, page_tli: TimeLineId| -> TimeLineId {
        history.as_ref().and_then(|h| h.timeline_of(lsn).ok()).unwrap_or(page_tli)
    };

    let mut files = FileProgress::new(progress, scanner.reader().files().len() as u64);
    loop {
        files.step(scanner.reader().current_file())?;
        let owned = match scanner.next_event() {
            Ok(None) => break,
            Err(e) => {
                damage = Some(e);
                break;
            }
            Ok(Some(ev)) => own(&ev, searching, &relfilenodes, &table_oids),
        };
        let page_tli = scanner.reader().current().map(|r| r.page_timeline).unwrap_or(0);
        match owned {
            Owned::Other => {}
            Owned::BackupEnd { end_lsn, start } => {
                if redo == Some(start) && consistent.is_none() {
                    consistent = Some(end_lsn);
                }
            }
            Owned::Storage(mut ev, created) => {
                ev.timeline = timeline_of(ev.lsn, page_tli);
                if ev.xid != 0 {
                    storage_xids.entry(ev.xid).or_default().push(ev.note.clone());
                    if let Some(c) = created {
                        created_by.insert(c, ev.xid);
                    }
                }
                if window.contains_lsn(ev.lsn) {
                    storage.push(ev);
                }
            }
            Owned::Xact(x) => {
                transaction_ends += 1;
                first_lsn.get_or_insert(x.lsn);
                // The previous listed transaction's "after" time target.
                if let Some((i, max_before)) = pending.take() {
                    if let Some(f) = out.get_mut(i) {
                        finish_after_time(f, max_before, Some(x.time));
                    }
                }
                let before_time_exact = tracker.max_time.is_none_or(|m| m < x.time);
                let max_before = tracker.max_time;
                let xid_first = !tracker.seen_xids.contains(&x.xid);
                if let Some(m) = tracker.max_time {
                    if x.time < m {
                        tracker.regression_count += 1;
                        if tracker.regressions.len() < 5 {
                            tracker.regressions.push((x.lsn, x.time, m));
                        }
                    } else if x.time == m {
                        tracker.shared_count += 1;
                        if tracker.shared.len() < 5 {
                            tracker.shared.push((x.lsn, x.xid, x.time));
                        }
                    }
                }
                tracker.max_time = Some(tracker.max_time.map_or(x.time, |m| m.max(x.time)));
                if tracker.xids_complete {
                    if tracker.seen_xids.len() >= MAX_SEEN_XIDS {
                        tracker.xids_complete = false;
                        tracker.seen_xids.clear();
                    } else {
                        tracker.seen_xids.insert(x.xid);
                    }
                }

                if !window.contains(x.lsn, Some(x.time)) {
                    continue;
                }
                let Some(matched) = matches(req, &x, &relfilenodes, &storage_xids) else { continue };
                if req.limit.is_some_and(|l| out.len() >= l) {
                    more += 1;
                    continue;
                }
                let tli = timeline_of(x.lsn, page_tli);
                let target_tli = followed_tli.unwrap_or(tli);
                let f = found(
                    x,
                    matched,
                    tli,
                    target_tli,
                    before_time_exact,
                    xid_first || !tracker.xids_complete,
                    tracker.xids_complete,
                    consistent,
                    redo.is_some(),
                    req.db.is_some() || req.modified,
                );
                if f.kind.is_commit() {
                    for r in &f.dropped_relations {
                        if relfilenodes.contains(&r.relfilenode) && req.db.is_none_or(|d| d == r.db) {
                            dropped_by.entry(r.relfilenode).or_insert(out.len());
                        }
                    }
                }
                pending = Some((out.len(), max_before));
                out.push(f);
            }
        }
    }
    if let Some((i, max_before)) = pending.take() {
        if let Some(f) = out.get_mut(i) {
            finish_after_time(f, max_before, None);
        }
    }
    // Consistency learnt after some transactions were listed.
    if redo.is_some() {
        for f in &mut out {
            f.before.reachable_from_backup = consistent.map(|c| f.lsn >= c);
            f.after.reachable_from_backup = consistent.map(|c| f.end_lsn >= c);
            for t in [&mut f.before, &mut f.after] {
                if t.reachable_from_backup == Some(false) {
                    let n = format!(
                        "this base backup is consistent only from {}: PostgreSQL would refuse this stop \
                         (\"requested recovery stop point is before consistent recovery point\"); use an older backup",
                        consistent.unwrap_or_default()
                    );
                    t.xid.note.get_or_insert(n);
                }
            }
        }
    }

    // Warnings about time targets.
    if let Some((lsn, t, m)) = tracker.regressions.first() {
        problems.push(
            Problem::warning(
                "commit_times_out_of_order",
                format!(
                    "commit/abort times go backwards {} time(s) (first at {lsn}: {} after {}): a time target \
                     stops at the first record later than it in WAL order; use the xid targets",
                    tracker.regression_count,
                    rfc3339(*t),
                    rfc3339(*m)
                ),
            )
            .lsn(*lsn),
        );
    }
    if let Some((lsn, xid, t)) = tracker.shared.first() {
        problems.push(
            Problem::warning(
                "commit_times_shared",
                format!(
                    "{} commit/abort record(s) share their microsecond with an earlier one (first: transaction {xid} \
                     at {lsn}, {}): a time target cannot separate them; use the xid targets",
                    tracker.shared_count,
                    rfc3339(*t)
                ),
            )
            .lsn(*lsn),
        );
    }
    if !tracker.xids_complete {
        problems.push(Problem::warning(
            "xid_check_incomplete",
            format!("more than {MAX_SEEN_XIDS} transactions read: xid targets were not checked for repeats"),
        ));
    }
    if let Some(e) = &damage {
        problems.push(
            Problem::warning(
                "wal_damaged",
                format!("WAL is damaged: {e}; the scan (and recovery) ends there"),
            )
            .file(e.file().map(|f| f.display().to_string()).unwrap_or_default())
            .lsn(e.lsn().unwrap_or_default()),
        );
    }

    // Answers per relfilenode.
    let mut answers = Vec::new();
    for n in &relfilenodes {
        let a = match dropped_by.get(n).and_then(|i| out.get(*i)) {
            Some(f) => RelfilenodeAnswer {
                relfilenode: *n,
                dropped_by: Some(f.xid),
                created_by: created_by.get(n).copied(),
                target: Some(f.before.xid.clone()),
                lsn_target: Some(f.before.lsn.clone()),
                message: format!(
                    "relfilenode {n} was dropped by transaction {} ({} at {}, {}, timeline {}): recover to just \
                     before it with {}",
                    f.xid,
                    kind_name(f.kind),
                    f.lsn,
                    f.time,
                    f.timeline,
                    f.before.xid.args.join(" ")
                ),
            },
            None => {
                let creator = created_by.get(n).and_then(|x| out.iter().find(|f| f.xid == *x));
                match creator {
                    Some(f) if f.kind.is_commit() && f.drops_relations => RelfilenodeAnswer {
                        relfilenode: *n,
                        dropped_by: None,
                        created_by: Some(f.xid),
                        target: Some(f.before.xid.clone()),
                        lsn_target: Some(f.before.lsn.clone()),
                        message: format!(
                            "relfilenode {n} was created by transaction {} ({} at {}){}: recover to just before it \
                             with {} to get the relation's previous file back",
                            f.xid,
                            kind_name(f.kind),
                            f.lsn,
                            if f.drops_relations {
                                format!(
                                    ", which dropped {}",
                                    f.dropped_relations
                                        .iter()
                                        .map(|r| r.to_string())
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                )
                            } else {
                                String::new()
                            },
                            f.before.xid.args.join(" ")
                        ),
                    },
                    _ => RelfilenodeAnswer {
                        relfilenode: *n,
                        dropped_by: None,
                        created_by: created_by.get(n).copied(),
                        target: None,
                        lsn_target: None,
                        message: format!(
                            "{}no committed transaction on {} drops relfilenode {n}{}",
                            match created_by.get(n) {
                                Some(x) => format!("relfilenode {n} was created by transaction {x}; "),
                                None => String::new(),
                            },
                            match followed_tli {
                                Some(t) => format!("the path of timeline {t}"),
                                None => "the WAL read".into(),
                            },
                            if window.from.is_some() || window.to.is_some() { " in the window" } else { "" }
                        ),
                    },
                }
            }
        };
        answers.push(a);
    }
    if searching && answers.iter().all(|a| a.target.is_none()) && !off_path.is_empty() {
        let others: Vec<String> = off_path.iter().map(|t| t.to_string()).collect();
        problems.push(Problem::warning(
            "other_timelines",
            format!(
                "the archive also has WAL of timeline(s) {} off this path (after they were left): the drop may \
                 have happened there (try --timeline N)",
                others.join(", ")
            ),
        ));
    }

    let found = !out.is_empty() || answers.iter().any(|a| a.target.is_some());
    let files = scanner.reader().files().iter().map(|f| f.name.to_string()).collect();
    let end = match (&damage, scanner.end()) {
        (Some(e), _) => format!("damage: {e}"),
        (None, Some(e)) => e.to_string(),
        (None, None) => "end of the window".into(),
    };
    Ok(FindReport {
        found,
        pg_version: major,
        timeline: followed_tli,
        timeline_path,
        window,
        scanned: Scanned {
            from: opts.start.or(first_lsn).unwrap_or_default(),
            to: scanner.reader().last_end(),
            files,
            transaction_ends,
            end,
        },
        consistent_lsn: consistent,
        relfilenodes: relfilenodes.into_iter().collect(),
        table,
        transactions: out,
        more,
        storage,
        answers,
        problems,
    })
}

fn kind_name(k: XactKind) -> &'static str {
    match k {
        XactKind::Commit => "commit",
        XactKind::Abort => "abort",
        XactKind::CommitPrepared => "commit prepared",
        XactKind::AbortPrepared => "abort prepared",
    }
}

/// Copies what is needed out of an event.
fn own(ev: &Event<'_>, searching: bool, rels: &BTreeSet<u32>, oids: &BTreeSet<u32>) -> Owned {
    match ev {
        Event::Commit(x) | Event::Abort(x) => Owned::Xact(Xact {
            kind: x.kind,
            xid: x.xid,
            subxact: x.subxact,
            top_xid: x.top_xid,
            subxacts: x.subxacts.to_vec(),
            gid: x.gid.map(|g| String::from_utf8_lossy(g).into_owned()),
            db: x.db,
            time: x.time.to_jiff().unwrap_or(Timestamp::UNIX_EPOCH),
            lsn: x.lsn,
            end_lsn: x.end_lsn,
            dropped: x.dropped_rels.iter().map(RelFile::from).collect(),
            touched: x.touched.iter().copied().map(RelFile::from).collect(),
        }),
        Event::BackupEnd { end_lsn, start, .. } => Owned::BackupEnd { end_lsn: *end_lsn, start: *start },
        Event::StorageCreate { lsn, xid, rel, fork, .. } if searching && rels.contains(&rel.rel) => {
            let note = if *fork == 0 {
                format!(
                    "relation file {} created (a new table or index, or the new file of a rewrite)",
                    RelFile::from(*rel)
                )
            } else {
                format!("fork {fork} of relation file {} created", RelFile::from(*rel))
            };
            Owned::Storage(
                StorageEvent {
                    kind: "create",
                    lsn: *lsn,
                    timeline: 0,
                    xid: *xid,
                    rel: Some(RelFile::from(*rel)),
                    fork: Some(*fork),
                    blocks: None,
                    relids: Vec::new(),
                    note,
                },
                (*fork == 0).then_some(rel.rel),
            )
        }
        Event::StorageTruncate { lsn, xid, rel, blocks, .. } if searching && rels.contains(&rel.rel) => {
            Owned::Storage(
                StorageEvent {
                    kind: "truncate",
                    lsn: *lsn,
                    timeline: 0,
                    xid: *xid,
                    rel: Some(RelFile::from(*rel)),
                    fork: None,
                    blocks: Some(*blocks),
                    relids: Vec::new(),
                    note: format!(
                        "relation file {} truncated to {blocks} block(s) in place (VACUUM, or TRUNCATE of a table \
                     created in the same transaction)",
                        RelFile::from(*rel)
                    ),
                },
                None,
            )
        }
        Event::HeapTruncate { lsn, xid, db, relids, .. } if searching => {
            let ids = relids.to_vec();
            let by_oid: Vec<u32> = ids.iter().copied().filter(|i| oids.contains(i)).collect();
            let by_node: Vec<u32> =
                ids.iter().copied().filter(|i| rels.contains(i) && !oids.contains(i)).collect();
            if by_oid.is_empty() && by_node.is_empty() {
                return Owned::Other;
            }
            let note = if !by_oid.is_empty() {
                format!("TRUNCATE of relation OID(s) {by_oid:?} in database {db}")
            } else {
                format!(
                    "TRUNCATE of relation OID(s) {by_node:?} in database {db}: Heap TRUNCATE names pg_class OIDs, \
                     which equal the relfilenode only until the table's first rewrite"
                )
            };
            Owned::Storage(
                StorageEvent {
                    kind: "heap_truncate",
                    lsn: *lsn,
                    timeline: 0,
                    xid: *xid,
                    rel: None,
                    fork: None,
                    blocks: None,
                    relids: ids,
                    note,
                },
                None,
            )
        }
        _ => Owned::Other,
    }
}

/// Why `x` matches the request's filters, or `None`.
fn matches(
    req: &FindRequest,
    x: &Xact,
    rels: &BTreeSet<u32>,
    storage_xids: &HashMap<u32, Vec<String>>,
) -> Option<Vec<String>> {
    let commit = x.kind.is_commit();
    match req.kinds {
        KindFilter::CommitsOnly if !commit => return None,
        KindFilter::AbortsOnly if commit => return None,
        _ => {}
    }
    if req.drops_only && x.dropped.is_empty() {
        return None;
    }
    let mut why = Vec::new();
    if let Some(want) = req.xid {
        if x.xid == want {
            why.push(format!("transaction {want}"));
        } else if x.top_xid == Some(want) {
            why.push(format!("subtransaction of {want}"));
        } else if x.subxacts.contains(&want) {
            why.push(format!(
                "{want} is a subtransaction of {}: recovery_target_xid must name {} (the subtransaction's xid \
                 matches no record)",
                x.xid, x.xid
            ));
        } else {
            return None;
        }
    }
    if let Some(db) = req.db {
        let in_db =
            x.db == Some(db) || x.dropped.iter().any(|r| r.db == db) || x.touched.iter().any(|r| r.db == db);
        if !in_db {
            return None;
        }
    }
    if !rels.is_empty() {
        let db_ok = |r: &RelFile| req.db.is_none_or(|d| d == r.db);
        let mut hit = false;
        for r in x.dropped.iter().filter(|r| rels.contains(&r.relfilenode) && db_ok(r)) {
            hit = true;
            why.push(if commit {
                format!("drops relfilenode {} ({r})", r.relfilenode)
            } else {
                format!(
                    "removes relfilenode {} ({r}), a file the aborted transaction had created",
                    r.relfilenode
                )
            });
        }
        for xid in std::iter::once(x.xid).chain(x.subxacts.iter().copied()) {
            if let Some(notes) = storage_xids.get(&xid) {
                hit = true;
                why.extend(notes.iter().cloned());
            }
        }
        if req.modified {
            for r in x.touched.iter().filter(|r| rels.contains(&r.relfilenode) && db_ok(r)) {
                hit = true;
                why.push(format!("wrote relfilenode {} ({r})", r.relfilenode));
            }
        }
        if !hit {
            return None;
        }
    }
    Some(why)
}

fn option(args: Vec<String>, settings: &[(&str, String)], exact: bool, note: Option<String>) -> TargetOption {
    TargetOption {
        exact,
        args,
        settings: settings.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
        note,
    }
}

#[allow(clippy::too_many_arguments)]
fn found(
    x: Xact,
    matched: Vec<String>,
    tli: TimeLineId,
    target_tli: TimeLineId,
    before_time_exact: bool,
    xid_first: bool,
    xids_checked: bool,
    consistent: Option<Lsn>,
    with_backup: bool,
    with_touched: bool,
) -> FoundXact {
    let tl = target_tli.to_string();
    let xid = x.xid.to_string();
    let time_text = target::format_target_time(x.time);
    let xid_note = if !xid_first {
        Some(format!(
            "an earlier commit/abort record on this path has xid {xid}: recovery_target_xid would stop there; use the LSN target"
        ))
    } else if !xids_checked {
        Some("not checked for an earlier record with the same xid (too many transactions read)".into())
    } else if x.subxact {
        Some(format!(
            "the abort of subtransaction {xid}{}: its top-level transaction ends later",
            x.top_xid.map(|t| format!(" (of {t})")).unwrap_or_default()
        ))
    } else {
        None
    };
    let mk = |before: bool| -> Targets {
        let excl: &[&str] = if before { &["--exclusive"] } else { &[] };
        let mut xa = vec!["--target-xid".to_string(), xid.clone()];
        let mut la = vec!["--target-lsn".to_string(), x.lsn.to_string()];
        let mut ta = vec!["--target-time".to_string(), time_text.clone()];
        for a in [&mut xa, &mut la, &mut ta] {
            a.extend(excl.iter().map(|s| s.to_string()));
            a.extend(["--target-timeline".to_string(), tl.clone()]);
        }
        let incl = if before { vec![("recovery_target_inclusive", "off".to_string())] } else { Vec::new() };
        let tls = ("recovery_target_timeline", tl.clone());
        let set = |name: &'static str, v: String| {
            let mut s = vec![(name, v)];
            s.extend(incl.iter().cloned());
            s.push(tls.clone());
            s
        };
        let time_exact = before && before_time_exact;
        let time_note = if before {
            (!before_time_exact).then(|| {
                "an earlier commit/abort record has a time at or after this one's: a time target would stop \
                 before that record instead"
                    .to_string()
            })
        } else {
            Some("pending".into())
        };
        let reachable = if with_backup {
            consistent.map(|c| if before { x.lsn >= c } else { x.end_lsn >= c })
        } else {
            None
        };
        Targets {
            replay_lsn: if before { x.lsn } else { x.end_lsn },
            recommended: if xid_first { "xid" } else { "lsn" },
            xid: option(xa, &set("recovery_target_xid", xid.clone()), xid_first, xid_note.clone()),
            lsn: option(la, &set("recovery_target_lsn", x.lsn.to_string()), true, None),
            time: option(ta, &set("recovery_target_time", time_text.clone()), time_exact, time_note),
            reachable_from_backup: reachable,
        }
    };
    let before = mk(true);
    let after = mk(false);
    FoundXact {
        kind: x.kind,
        xid: x.xid,
        subxact: x.subxact,
        top_xid: x.top_xid,
        subxacts: x.subxacts,
        gid: x.gid,
        db: x.db,
        time: rfc3339(x.time),
        lsn: x.lsn,
        end_lsn: x.end_lsn,
        timeline: tli,
        drops_relations: !x.dropped.is_empty(),
        dropped_relations: x.dropped,
        wrote: with_touched.then_some(x.touched),
        matched,
        before,
        after,
    }
}

/// Settles the "after" time target of `f` once the next record's time is known.
fn finish_after_time(f: &mut FoundXact, max_before: Option<Timestamp>, next: Option<Timestamp>) {
    let Ok(t) = f.time.parse::<Timestamp>() else { return };
    let t_opt = &mut f.after.time;
    let no_later_earlier = max_before.is_none_or(|m| m <= t);
    let (exact, note) = match next {
        None => (
            false,
            Some(
                "no later commit/abort in the WAL read: an inclusive time target would not be reached \
                 (\"recovery ended before configured recovery target was reached\")"
                    .to_string(),
            ),
        ),
        Some(n) if n <= t => (
            false,
            Some(format!(
                "the next commit/abort has time {} (not later than this one): an inclusive time target applies it too",
                rfc3339(n)
            )),
        ),
        Some(_) if !no_later_earlier => (
            false,
            Some(
                "an earlier commit/abort record has a later time: a time target would stop before it".into(),
            ),
        ),
        Some(_) => (true, None),
    };
    t_opt.exact = exact;
    t_opt.note = note;
}

fn resolve_table(
    req: &FindRequest,
    backup: Option<&Backup>,
    name: &QualifiedName,
) -> Result<TableResolution, Error> {
    if let Some(dsn) = &req.dsn {
        return live_lookup(dsn, name);
    }
    let Some(b) = backup else {
        return Err(Error::Invalid(
            "--table needs --backup (its catalog) or --dsn (a live server) to find the relfilenode".into(),
        ));
    };
    let res = catalog::lookup_table(b, name, req.db)?;
    Ok(TableResolution { name: name.clone(), source: "backup", matches: res.matches, notes: res.notes })
}

#[cfg(feature = "live")]
fn live_lookup(dsn: &str, name: &QualifiedName) -> Result<TableResolution, Error> {
    use crate::live::{ConnectOptions, Session};
    let mut s = Session::connect(&ConnectOptions::new(dsn)).map_err(|e| Error::Invalid(e.to_string()))?;
    let endpoint = s.endpoint().to_string();
    let rows = s
        .client()
        .query(
            "SELECT (SELECT oid FROM pg_database WHERE datname = current_database())::int8, n.nspname::text, \
             c.relname::text, c.oid::int8, coalesce(pg_relation_filenode(c.oid), 0)::int8, c.reltablespace::int8, \
             c.relkind::text, c.relpersistence::text, n.oid::int8 \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relname = $1 AND ($2::text IS NULL OR n.nspname = $2) ORDER BY 2, 3",
            &[&name.name, &name.schema],
        )
        .map_err(|e| Error::Invalid(format!("{endpoint}: looking up {:?}: {e}", name.name)))?;
    let mut matches = Vec::new();
    for r in rows {
        let get = |i: usize| -> Result<i64, Error> {
            r.try_get::<_, Option<i64>>(i)
                .map_err(|e| Error::Invalid(format!("{endpoint}: {e}")))
                .map(|v| v.unwrap_or(0))
        };
        let text = |i: usize| -> Result<String, Error> {
            r.try_get::<_, Option<String>>(i)
                .map_err(|e| Error::Invalid(format!("{endpoint}: {e}")))
                .map(|v| v.unwrap_or_default())
        };
        let oid = |v: i64| u32::try_from(v).unwrap_or(0);
        matches.push(CatalogMatch {
            db: oid(get(0)?),
            schema: Some(text(1)?),
            namespace_oid: oid(get(8)?),
            name: text(2)?,
            oid: oid(get(3)?),
            relfilenode: oid(get(4)?),
            tablespace: oid(get(5)?),
            kind: text(6)?.chars().next().unwrap_or('?'),
            persistence: text(7)?.chars().next().unwrap_or('?'),
            xmin: 0,
            xmax: 0,
            state: catalog::RowState::Live,
        });
    }
    Ok(TableResolution { name: name.clone(), source: "live", matches, notes: Vec::new() })
}

#[cfg(not(feature = "live"))]
fn live_lookup(_dsn: &str, _name: &QualifiedName) -> Result<TableResolution, Error> {
    Err(Error::Invalid("this build of pitr-core has no live-server support (feature \"live\")".into()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn xact(xid: u32, time: &str, lsn: u64) -> Xact {
        Xact {
            kind: XactKind::Commit,
            xid,
            subxact: false,
            top_xid: None,
            subxacts: vec![xid + 100],
            gid: None,
            db: None,
            time: ts(time),
            lsn: Lsn(lsn),
            end_lsn: Lsn(lsn + 0x20),
            dropped: vec![RelFile { spc: 1663, db: 5, relfilenode: 16384 }],
            touched: Vec::new(),
        }
    }

    #[test]
    fn targets_before_and_after() {
        let f = found(
            xact(740, "2026-01-01T00:00:01.5Z", 0x5000400),
            vec![],
            1,
            3,
            true,
            true,
            true,
            None,
            false,
            false,
        );
        assert_eq!(f.before.xid.args, ["--target-xid", "740", "--exclusive", "--target-timeline", "3"]);
        assert_eq!(f.before.xid.settings["recovery_target_inclusive"], "off");
        assert_eq!(f.before.lsn.args[..2], ["--target-lsn", "0/5000400"]);
        assert_eq!(f.before.replay_lsn, Lsn(0x5000400));
        assert_eq!(f.after.xid.args, ["--target-xid", "740", "--target-timeline", "3"]);
        assert!(!f.after.xid.settings.contains_key("recovery_target_inclusive"));
        assert_eq!(f.after.replay_lsn, Lsn(0x5000420));
        assert_eq!(f.before.time.args[1], "2026-01-01 00:00:01.500000+00");
        assert!(f.before.time.exact);
        assert_eq!(f.before.recommended, "xid");
        // A repeated xid: the LSN target is recommended.
        let f = found(
            xact(740, "2026-01-01T00:00:01Z", 0x5000400),
            vec![],
            1,
            1,
            false,
            false,
            true,
            None,
            false,
            false,
        );
        assert_eq!(f.before.recommended, "lsn");
        assert!(!f.before.xid.exact && !f.before.time.exact);
        // Before the consistency point of the backup.
        let f = found(
            xact(740, "2026-01-01T00:00:01Z", 0x5000400),
            vec![],
            1,
            1,
            true,
            true,
            true,
            Some(Lsn(0x5000410)),
            true,
            false,
        );
        assert_eq!(f.before.reachable_from_backup, Some(false));
        assert_eq!(f.after.reachable_from_backup, Some(true));
    }

    #[test]
    fn inclusive_time_target_needs_a_strictly_later_next_commit() {
        let mut f = found(
            xact(740, "2026-01-01T00:00:01Z", 0x5000400),
            vec![],
            1,
            1,
            true,
            true,
            true,
            None,
            false,
            false,
        );
        finish_after_time(&mut f, None, Some(ts("2026-01-01T00:00:02Z")));
        assert!(f.after.time.exact);
        finish_after_time(&mut f, None, Some(ts("2026-01-01T00:00:01Z")));
        assert!(!f.after.time.exact);
        finish_after_time(&mut f, None, None);
        assert!(!f.after.time.exact);
        finish_after_time(&mut f, Some(ts("2026-01-01T00:00:05Z")), Some(ts("2026-01-01T00:00:06Z")));
        assert!(!f.after.time.exact);
    }

    #[test]
    fn filters() {
        let mut req = FindRequest::new(FindInput::Paths(vec![]));
        let rels: BTreeSet<u32> = [16384].into();
        let none = HashMap::new();
        let x = xact(740, "2026-01-01T00:00:01Z", 0x100);
        assert!(matches(&req, &x, &rels, &none).unwrap()[0].contains("drops relfilenode 16384"));
        assert!(matches(&req, &x, &[99].into(), &none).is_none());
        req.kinds = KindFilter::AbortsOnly;
        assert!(matches(&req, &x, &rels, &none).is_none());
        req.kinds = KindFilter::All;
        req.xid = Some(840);
        assert!(matches(&req, &x, &BTreeSet::new(), &none).unwrap()[0].contains("subtransaction of 740"));
        req.xid = Some(741);
        assert!(matches(&req, &x, &BTreeSet::new(), &none).is_none());
        req.xid = None;
        req.db = Some(5);
        assert!(matches(&req, &x, &BTreeSet::new(), &none).is_some());
        req.db = Some(6);
        assert!(matches(&req, &x, &BTreeSet::new(), &none).is_none());
    }

    #[test]
    fn bounds_are_lsns_or_times() {
        let tz = TimeZone::UTC;
        let o = target::DateOrder::Mdy;
        assert_eq!(parse_bound("0/5000400", &tz, o).unwrap(), Bound::Lsn { lsn: Lsn(0x5000400) });
        assert!(matches!(parse_bound("2026-01-01 10:00:00", &tz, o).unwrap(), Bound::Time { .. }));
        assert!(parse_bound("yesterday", &tz, o).is_err());
        let w = Window { from: Some(Bound::Time { time: ts("2026-01-01T00:00:00Z") }), to: None };
        assert!(w.contains(Lsn(1), Some(ts("2026-01-01T00:00:00Z"))));
        assert!(!w.contains(Lsn(1), Some(ts("2025-12-31T23:59:59Z"))));
    }
}
