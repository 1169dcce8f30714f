//! A model of PostgreSQL's redo loop for planning: which record recovery stops
//! at, when it becomes consistent, and what `pg_last_wal_replay_lsn()` reports.
//!
//! It mirrors `PerformWalRecovery`, `recoveryStopsBefore`, `recoveryStopsAfter`
//! and `CheckRecoveryConsistency` (recovery-semantics.md §1.4, §2, §4.2): before
//! each record the "stop before" rules run, then the record is applied (a
//! `BACKUP_END` of this backup sets the backup end point; consistency is
//! checked), then the "stop after" rules run.
//!
//! The input is a stream of [`ReplayRecord`]s (what the WAL scanner reports,
//! reduced to what the rules look at); the model knows nothing of files.

use super::target::RecoveryTarget;
use crate::lsn::Lsn;
use jiff::Timestamp;
use serde::Serialize;

/// What the stop rules need to know about one WAL record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayRecord {
    /// Where the record starts (`ReadRecPtr`).
    pub start: Lsn,
    /// Where it ends as the reader reports it (`EndRecPtr`: MAXALIGNed; a page
    /// boundary when the record ends exactly at the end of a page).
    pub end: Lsn,
    /// The `xl_xid` of the record.
    pub xid: u32,
    /// What kind of record it is, as far as recovery targets care.
    pub kind: ReplayKind,
}

/// Record kinds the stop rules distinguish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayKind {
    /// `XLOG_XACT_COMMIT` (`xid` = the record's xid) or `COMMIT_PREPARED`
    /// (`xid` = the prepared transaction's xid).
    Commit {
        /// The transaction the record ends.
        xid: u32,
        /// `xact_time`.
        time: Timestamp,
        /// True for `COMMIT_PREPARED`.
        prepared: bool,
    },
    /// `XLOG_XACT_ABORT` or `ABORT_PREPARED`.
    Abort {
        /// The transaction the record ends (a subtransaction's xid for the abort
        /// of a rolled-back subtransaction).
        xid: u32,
        /// `xact_time`.
        time: Timestamp,
        /// True for `ABORT_PREPARED`.
        prepared: bool,
    },
    /// Any other Transaction-rmgr record (PREPARE, ASSIGNMENT, INVALIDATION):
    /// the `immediate` "stop after" rule looks at these.
    OtherXact,
    /// `XLOG_RESTORE_POINT`.
    RestorePoint {
        /// Its name.
        name: String,
        /// `rp_time`.
        time: Timestamp,
    },
    /// `XLOG_BACKUP_END` with the start LSN of the backup it ends.
    BackupEnd {
        /// The backup's start (redo) LSN from the payload.
        backup_start: Lsn,
    },
    /// Anything else.
    Other,
}

/// How the backup becomes consistent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsistencyRule {
    /// A backup from a primary: consistent once the `BACKUP_END` record whose
    /// payload is `backup_start` has been replayed (at that record's end).
    BackupEndRecord {
        /// The backup's redo start (START WAL LOCATION).
        backup_start: Lsn,
    },
    /// A backup from a standby (or a known end point): consistent once replay
    /// reaches this LSN (`pg_control.minRecoveryPoint`).
    At(Lsn),
}

/// Why the model stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopKind {
    /// Stopped before applying the record.
    Before,
    /// Stopped after applying the record.
    After,
    /// No target: replayed everything available.
    EndOfWal,
    /// `immediate`: stopped once consistent.
    Consistent,
}

/// Where replay stops, as PostgreSQL will log and report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopPoint {
    /// Before, after, end of WAL, consistent.
    pub kind: StopKind,
    /// The deciding record (None for end of WAL and for `immediate`).
    pub record: Option<ReplayRecord>,
    /// `pg_last_wal_replay_lsn()` once recovery pauses there: the end of the
    /// last applied record.
    pub replay_lsn: Lsn,
}

/// The outcome of modelling replay over the available WAL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayOutcome {
    /// Recovery stops at the target (or, with no target, at the end of WAL)
    /// after reaching consistency.
    Stops(StopPoint),
    /// `FATAL: requested recovery stop point is before consistent recovery point`.
    StopBeforeConsistency(StopPoint),
    /// `FATAL: recovery ended before configured recovery target was reached`
    /// (the WAL ran out; `last_end` is the end of the last record replayed).
    TargetNotReached {
        /// End of the last replayed record.
        last_end: Lsn,
        /// Whether consistency had been reached.
        consistent: bool,
    },
    /// No target and the WAL ended before the backup became consistent:
    /// `FATAL: WAL ends before end of online backup` (or `... before
    /// consistent recovery point` for a standby backup).
    EndsBeforeConsistency {
        /// End of the last replayed record.
        last_end: Lsn,
    },
}

/// Extra facts the model collects while replaying.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayFacts {
    /// Where consistency was reached (end of the record that made it so).
    pub consistent_at: Option<Lsn>,
    /// Commit/abort records around the stop whose time goes backwards
    /// (record LSN, its time, the latest time seen before it).
    pub time_regressions: Vec<(Lsn, Timestamp, Timestamp)>,
    /// The last commit/abort replayed (`last completed transaction was at log time`).
    pub last_xact: Option<ReplayRecord>,
    /// Records seen.
    pub records: u64,
}

/// The redo-loop model. Feed records in WAL order with [`Replay::feed`]; it
/// returns `Some(outcome)` once recovery would stop. Call [`Replay::finish`]
/// when the WAL runs out.
#[derive(Debug, Clone)]
pub struct Replay {
    target: RecoveryTarget,
    inclusive: bool,
    rule: ConsistencyRule,
    backup_end_point: Option<Lsn>,
    consistent: bool,
    last_end: Lsn,
    latest_xact_time: Option<Timestamp>,
    /// Collected facts.
    pub facts: ReplayFacts,
}

impl Replay {
    /// A model for `target` (with `recovery_target_inclusive`), starting at the
    /// backup's redo point `redo`.
    pub fn new(target: RecoveryTarget, inclusive: bool, rule: ConsistencyRule, redo: Lsn) -> Replay {
        let backup_end_point = match rule {
            ConsistencyRule::At(l) => Some(l),
            ConsistencyRule::BackupEndRecord { .. } => None,
        };
        Replay {
            target,
            inclusive,
            rule,
            backup_end_point,
            consistent: false,
            last_end: redo,
            latest_xact_time: None,
            facts: ReplayFacts::default(),
        }
    }

    /// True once the model has reached consistency.
    pub fn is_consistent(&self) -> bool {
        self.consistent
    }

    /// End of the last applied record.
    pub fn last_end(&self) -> Lsn {
        self.last_end
    }

    fn stop(&self, kind: StopKind, record: Option<&ReplayRecord>, replay_lsn: Lsn) -> ReplayOutcome {
        let p = StopPoint { kind, record: record.cloned(), replay_lsn };
        if self.consistent { ReplayOutcome::Stops(p) } else { ReplayOutcome::StopBeforeConsistency(p) }
    }

    /// Runs the rules for one record. Returns the outcome when recovery stops.
    pub fn feed(&mut self, r: &ReplayRecord) -> Option<ReplayOutcome> {
        self.facts.records += 1;
        if let Some(o) = self.stops_before(r) {
            return Some(o);
        }
        self.apply(r);
        self.stops_after(r)
    }

    fn stops_before(&mut self, r: &ReplayRecord) -> Option<ReplayOutcome> {
        match &self.target {
            RecoveryTarget::Immediate if self.consistent => {
                return Some(self.stop(StopKind::Consistent, None, self.last_end));
            }
            RecoveryTarget::Lsn { lsn } if !self.inclusive && r.start >= *lsn => {
                return Some(self.stop(StopKind::Before, Some(r), self.last_end));
            }
            _ => {}
        }
        let (xid, time) = match &r.kind {
            ReplayKind::Commit { xid, time, .. } | ReplayKind::Abort { xid, time, .. } => (*xid, *time),
            _ => return None,
        };
        if let Some(latest) = self.latest_xact_time {
            if time < latest {
                self.facts.time_regressions.push((r.start, time, latest));
            }
        }
        self.latest_xact_time = Some(self.latest_xact_time.map_or(time, |l| l.max(time)));
        let stops = match &self.target {
            RecoveryTarget::Xid { xid: t } => !self.inclusive && xid == *t,
            RecoveryTarget::Time { time: t, .. } => {
                if self.inclusive {
                    time > *t
                } else {
                    time >= *t
                }
            }
            _ => false,
        };
        if stops { Some(self.stop(StopKind::Before, Some(r), self.last_end)) } else { None }
    }

    fn apply(&mut self, r: &ReplayRecord) {
        if let (
            ReplayKind::BackupEnd { backup_start },
            ConsistencyRule::BackupEndRecord { backup_start: ours },
        ) = (&r.kind, self.rule)
        {
            if *backup_start == ours && self.backup_end_point.is_none() {
                self.backup_end_point = Some(r.end);
            }
        }
        if matches!(r.kind, ReplayKind::Commit { .. } | ReplayKind::Abort { .. }) {
            self.facts.last_xact = Some(r.clone());
        }
        self.last_end = r.end;
        if !self.consistent {
            if let Some(end) = self.backup_end_point {
                if end <= self.last_end {
                    self.consistent = true;
                    self.facts.consistent_at = Some(self.last_end);
                }
            }
        }
    }

    fn stops_after(&mut self, r: &ReplayRecord) -> Option<ReplayOutcome> {
        match (&self.target, &r.kind) {
            (RecoveryTarget::Name { name }, ReplayKind::RestorePoint { name: n, .. }) if n == name => {
                return Some(self.stop(StopKind::After, Some(r), self.last_end));
            }
            (RecoveryTarget::Lsn { lsn }, _) if self.inclusive && r.start >= *lsn => {
                return Some(self.stop(StopKind::After, Some(r), self.last_end));
            }
            _ => {}
        }
        let is_xact =
            matches!(r.kind, ReplayKind::Commit { .. } | ReplayKind::Abort { .. } | ReplayKind::OtherXact);
        if !is_xact {
            return None;
        }
        if let (
            RecoveryTarget::Xid { xid: t },
            ReplayKind::Commit { xid, .. } | ReplayKind::Abort { xid, .. },
        ) = (&self.target, &r.kind)
        {
            if self.inclusive && xid == t {
                return Some(self.stop(StopKind::After, Some(r), self.last_end));
            }
        }
        if matches!(self.target, RecoveryTarget::Immediate) && self.consistent {
            return Some(self.stop(StopKind::Consistent, None, self.last_end));
        }
        None
    }

    /// The outcome when the available WAL ends (no more records).
    pub fn finish(&self) -> ReplayOutcome {
        match self.target {
            RecoveryTarget::EndOfWal if self.consistent => ReplayOutcome::Stops(StopPoint {
                kind: StopKind::EndOfWal,
                record: None,
                replay_lsn: self.last_end,
            }),
            RecoveryTarget::EndOfWal => ReplayOutcome::EndsBeforeConsistency { last_end: self.last_end },
            _ => ReplayOutcome::TargetNotReached { last_end: self.last_end, consistent: self.consistent },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: i64) -> Timestamp {
        Timestamp::from_second(1_795_000_000 + s).unwrap()
    }

    /// recovery-semantics.md §1.5: the measured WAL after a backup
    /// (start 0/2000028, BACKUP_END making it consistent at 0/2000100).
    fn wal() -> Vec<ReplayRecord> {
        let r = |start: u64, end: u64, xid: u32, kind: ReplayKind| ReplayRecord {
            start: Lsn(start),
            end: Lsn(end),
            xid,
            kind,
        };
        vec![
            r(0x2000028, 0x2000060, 0, ReplayKind::Other),
            r(0x2000060, 0x20000D8, 0, ReplayKind::Other),
            r(0x20000D8, 0x2000100, 0, ReplayKind::BackupEnd { backup_start: Lsn(0x2000028) }),
            r(0x5000060, 0x5000118, 727, ReplayKind::Other),
            r(0x5000118, 0x5000140, 727, ReplayKind::Commit { xid: 727, time: ts(3), prepared: false }),
            r(0x5000140, 0x50001A8, 0, ReplayKind::RestorePoint { name: "rp_one".into(), time: ts(5) }),
            r(0x50001A8, 0x50001F8, 728, ReplayKind::Other),
            r(0x50001F8, 0x5000220, 728, ReplayKind::Commit { xid: 728, time: ts(8), prepared: false }),
            r(0x5000258, 0x50002A0, 729, ReplayKind::Other),
            r(0x50002A0, 0x50002C8, 729, ReplayKind::Abort { xid: 729, time: ts(10), prepared: false }),
            r(0x50002C8, 0x5000310, 730, ReplayKind::Other),
            r(0x5000310, 0x5000338, 730, ReplayKind::Commit { xid: 730, time: ts(12), prepared: false }),
            r(0x5000338, 0x6000000, 0, ReplayKind::Other),
        ]
    }

    fn run(target: RecoveryTarget, inclusive: bool) -> ReplayOutcome {
        let mut m = Replay::new(
            target,
            inclusive,
            ConsistencyRule::BackupEndRecord { backup_start: Lsn(0x2000028) },
            Lsn(0x2000028),
        );
        for r in wal() {
            if let Some(o) = m.feed(&r) {
                return o;
            }
        }
        m.finish()
    }

    fn stop(o: ReplayOutcome) -> (StopKind, Option<u64>, u64) {
        match o {
            ReplayOutcome::Stops(p) => (p.kind, p.record.map(|r| r.start.0), p.replay_lsn.0),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn measured_table_of_section_1_5() {
        use RecoveryTarget as T;
        use StopKind::*;
        assert_eq!(stop(run(T::Xid { xid: 728 }, true)), (After, Some(0x50001F8), 0x5000220));
        assert_eq!(stop(run(T::Xid { xid: 728 }, false)), (Before, Some(0x50001F8), 0x50001F8));
        assert_eq!(stop(run(T::Xid { xid: 729 }, true)), (After, Some(0x50002A0), 0x50002C8));
        for incl in [true, false] {
            assert_eq!(
                stop(run(T::Name { name: "rp_one".into() }, incl)),
                (After, Some(0x5000140), 0x50001A8)
            );
        }
        let time = |s| T::Time { time: ts(s), text: String::new() };
        assert_eq!(stop(run(time(6), true)), (Before, Some(0x50001F8), 0x50001F8));
        assert_eq!(stop(run(time(8), false)), (Before, Some(0x50001F8), 0x50001F8));
        assert_eq!(stop(run(time(8), true)), (Before, Some(0x50002A0), 0x50002A0));
        assert_eq!(stop(run(T::Lsn { lsn: Lsn(0x50001A8) }, true)), (After, Some(0x50001A8), 0x50001F8));
        assert_eq!(stop(run(T::Lsn { lsn: Lsn(0x50001A8) }, false)), (Before, Some(0x50001A8), 0x50001A8));
        assert_eq!(stop(run(T::Lsn { lsn: Lsn(0x50001A0) }, true)), (After, Some(0x50001A8), 0x50001F8));
        assert_eq!(stop(run(T::Immediate, true)), (Consistent, None, 0x2000100));
        // A time before the backup: stops before the first commit after consistency.
        assert_eq!(stop(run(time(-1000), true)), (Before, Some(0x5000118), 0x5000118));
        assert_eq!(stop(run(T::Xid { xid: 730 }, true)), (After, Some(0x5000310), 0x5000338));
        assert_eq!(stop(run(T::EndOfWal, true)), (EndOfWal, None, 0x6000000));
    }

    #[test]
    fn unreachable_and_too_early() {
        use RecoveryTarget as T;
        assert!(matches!(
            run(T::Xid { xid: 999 }, true),
            ReplayOutcome::TargetNotReached { last_end: Lsn(0x6000000), consistent: true }
        ));
        assert!(matches!(
            run(T::Time { time: ts(100), text: String::new() }, true),
            ReplayOutcome::TargetNotReached { .. }
        ));
        assert!(matches!(run(T::Name { name: "nope".into() }, true), ReplayOutcome::TargetNotReached { .. }));
        // An LSN inside the backup's WAL stops before consistency (§2.2).
        assert!(matches!(
            run(T::Lsn { lsn: Lsn(0x2000050) }, true),
            ReplayOutcome::StopBeforeConsistency(StopPoint { kind: StopKind::After, .. })
        ));
        assert!(matches!(
            run(T::Lsn { lsn: Lsn(0x1000000) }, false),
            ReplayOutcome::StopBeforeConsistency(_)
        ));
    }

    #[test]
    fn immediate_needs_a_record_after_consistency() {
        let mut m = Replay::new(
            RecoveryTarget::Immediate,
            true,
            ConsistencyRule::BackupEndRecord { backup_start: Lsn(0x2000028) },
            Lsn(0x2000028),
        );
        for r in &wal()[..3] {
            assert!(m.feed(r).is_none());
        }
        assert!(matches!(m.finish(), ReplayOutcome::TargetNotReached { consistent: true, .. }));
    }

    #[test]
    fn end_of_wal_before_backup_end() {
        let mut m = Replay::new(
            RecoveryTarget::EndOfWal,
            true,
            ConsistencyRule::BackupEndRecord { backup_start: Lsn(0x2000028) },
            Lsn(0x2000028),
        );
        for r in &wal()[..2] {
            assert!(m.feed(r).is_none());
        }
        assert_eq!(m.finish(), ReplayOutcome::EndsBeforeConsistency { last_end: Lsn(0x20000D8) });
    }

    #[test]
    fn standby_backup_consistent_at_min_recovery_point() {
        let mut m =
            Replay::new(RecoveryTarget::Immediate, true, ConsistencyRule::At(Lsn(0x5000140)), Lsn(0x2000028));
        let mut out = None;
        for r in wal() {
            if let Some(o) = m.feed(&r) {
                out = Some(o);
                break;
            }
        }
        // Consistent after the commit ending at 0/5000140 (an xact record): the
        // "after" rule fires on it.
        assert_eq!(stop(out.unwrap()), (StopKind::Consistent, None, 0x5000140));
    }

    #[test]
    fn other_backups_end_records_are_ignored_and_regressions_noted() {
        let mut recs = wal();
        recs[2].kind = ReplayKind::BackupEnd { backup_start: Lsn(0x1000028) };
        let mut m = Replay::new(
            RecoveryTarget::EndOfWal,
            true,
            ConsistencyRule::BackupEndRecord { backup_start: Lsn(0x2000028) },
            Lsn(0x2000028),
        );
        for r in &recs {
            assert!(m.feed(r).is_none());
        }
        assert!(matches!(m.finish(), ReplayOutcome::EndsBeforeConsistency { .. }));

        let mut recs = wal();
        recs[9].kind = ReplayKind::Abort { xid: 729, time: ts(1), prepared: false };
        let mut m = Replay::new(
            RecoveryTarget::EndOfWal,
            true,
            ConsistencyRule::BackupEndRecord { backup_start: Lsn(0x2000028) },
            Lsn(0x2000028),
        );
        for r in &recs {
            m.feed(r);
        }
        assert_eq!(m.facts.time_regressions.len(), 1);
        assert_eq!(m.facts.time_regressions[0].0, Lsn(0x50002A0));
        assert_eq!(m.facts.consistent_at, Some(Lsn(0x2000100)));
        assert_eq!(m.facts.last_xact.as_ref().map(|r| r.start), Some(Lsn(0x5000310)));
    }
}
