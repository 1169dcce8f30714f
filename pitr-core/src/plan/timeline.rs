//! The timeline side of planning, as PostgreSQL does it at startup
//! (recovery-semantics.md §3.3-3.5): choosing the recovery target timeline,
//! checking that the backup lies on its path, and choosing which timeline's
//! copy of each segment recovery reads (`XLogFileReadAnyTLI`).

use super::target::TimelineTarget;
use crate::history::{HistorySet, TimelineHistory, TimelineRange};
use crate::lsn::{Lsn, WalSegSize};
use crate::walfile::TimeLineId;

/// Why a timeline could not be used, with PostgreSQL's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimelineRefusal {
    /// `recovery target timeline N does not exist`.
    Missing(TimeLineId),
    /// `requested timeline N is not a child of this server's history`.
    NotAChild {
        /// The requested timeline.
        target: TimeLineId,
        /// The backup's checkpoint.
        checkpoint: Lsn,
        /// Its timeline.
        checkpoint_tli: TimeLineId,
        /// Where the requested timeline's history left `checkpoint_tli`.
        fork: Lsn,
    },
    /// `requested timeline N is not in this server's history`... of the
    /// checkpoint's timeline: the checkpoint's timeline is not an ancestor.
    NotInHistory {
        /// The requested timeline.
        target: TimeLineId,
        /// The backup's checkpoint timeline.
        checkpoint_tli: TimeLineId,
    },
}

impl TimelineRefusal {
    /// The FATAL message PostgreSQL prints (first line), and its DETAIL if any.
    pub fn postgres_message(&self) -> (String, Option<String>) {
        match self {
            TimelineRefusal::Missing(t) => (format!("recovery target timeline {t} does not exist"), None),
            TimelineRefusal::NotAChild { target, checkpoint, checkpoint_tli, fork } => (
                format!("requested timeline {target} is not a child of this server's history"),
                Some(format!(
                    "Latest checkpoint is at {checkpoint} on timeline {checkpoint_tli}, but in the history of the \
                     requested timeline, the server forked off from that timeline at {fork}."
                )),
            ),
            TimelineRefusal::NotInHistory { checkpoint_tli, .. } => {
                (format!("requested timeline {checkpoint_tli} is not in this server's history"), None)
            }
        }
    }
}

/// The recovery target timeline PostgreSQL will choose, and its history.
///
/// `initial` is the timeline of the data directory's control file
/// (`minRecoveryPointTLI` if larger than the checkpoint's, else the
/// checkpoint's); `histories` are the history files recovery can fetch.
pub fn resolve_target_timeline(
    initial: TimeLineId,
    target: TimelineTarget,
    histories: &HistorySet,
) -> Result<TimelineHistory, TimelineRefusal> {
    let tli = match target {
        TimelineTarget::Current => initial,
        TimelineTarget::Latest => histories.newest_from(initial),
        TimelineTarget::Numbered(n) => n,
    };
    histories.history_of(tli).ok_or(TimelineRefusal::Missing(tli))
}

/// Checks that the backup's checkpoint lies on the target timeline's path
/// (`InitWalRecovery`): `tliOfPointInHistory(checkpoint) == checkpoint_tli`.
pub fn check_checkpoint_on_path(
    history: &TimelineHistory,
    checkpoint: Lsn,
    checkpoint_tli: TimeLineId,
) -> Result<(), TimelineRefusal> {
    match history.timeline_of(checkpoint) {
        Ok(t) if t == checkpoint_tli => Ok(()),
        _ => match history.switch_point(checkpoint_tli) {
            Ok(Some(sp)) => Err(TimelineRefusal::NotAChild {
                target: history.timeline,
                checkpoint,
                checkpoint_tli,
                fork: sp.lsn,
            }),
            _ => Err(TimelineRefusal::NotInHistory { target: history.timeline, checkpoint_tli }),
        },
    }
}

/// How recovery will get one segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentPick {
    /// Segment number.
    pub segno: u64,
    /// The timeline whose copy the path calls for: the newest timeline of the
    /// path that has begun by this segment (and is not older than the last
    /// file opened).
    pub expected: TimeLineId,
    /// The timeline whose copy recovery will actually open (`None`: no copy on
    /// any eligible timeline, so WAL ends here).
    pub chosen: Option<TimeLineId>,
}

impl SegmentPick {
    /// True when recovery will read an older timeline's copy because the
    /// expected one is missing (PostgreSQL does so silently).
    pub fn is_fallback(&self) -> bool {
        self.chosen.is_some_and(|c| c != self.expected)
    }
}

/// The model of `XLogFileReadAnyTLI`: walks the path newest timeline first,
/// skips timelines that had not begun by `segno`, stops at timelines older
/// than the last file opened (`cur_file_tli`), and takes the first copy that
/// `exists`.
pub fn pick_segment(
    ranges_newest_first: &[TimelineRange],
    segno: u64,
    cur_file_tli: TimeLineId,
    seg: WalSegSize,
    exists: impl Fn(TimeLineId, u64) -> bool,
) -> SegmentPick {
    let mut expected = None;
    for r in ranges_newest_first {
        if r.timeline < cur_file_tli {
            break;
        }
        if let Some(b) = r.begin {
            if segno < b.segment(seg) {
                continue;
            }
        }
        expected.get_or_insert(r.timeline);
        if exists(r.timeline, segno) {
            return SegmentPick { segno, expected: expected.unwrap_or(r.timeline), chosen: Some(r.timeline) };
        }
    }
    SegmentPick { segno, expected: expected.unwrap_or(cur_file_tli), chosen: None }
}

/// [`pick_segment`] for consecutive segments, as recovery reads them: each
/// pick starts from the timeline of the file opened before it (`start_tli` for
/// the first). Returns the picks up to the first segment no eligible timeline
/// has, and that one (`None` when every segment of `segnos` was found).
pub fn pick_segments(
    ranges_newest_first: &[TimelineRange],
    segnos: std::ops::RangeInclusive<u64>,
    start_tli: TimeLineId,
    seg: WalSegSize,
    exists: impl Fn(TimeLineId, u64) -> bool,
) -> (Vec<SegmentPick>, Option<SegmentPick>) {
    let mut picks = Vec::new();
    let mut cur = start_tli;
    for s in segnos {
        let p = pick_segment(ranges_newest_first, s, cur, seg, &exists);
        match p.chosen {
            Some(t) => {
                cur = t;
                picks.push(p);
            }
            None => return (picks, Some(p)),
        }
    }
    (picks, None)
}

/// The history files recovery fetches for `target` (every timeline of its
/// path above 1, oldest first; the target's own last).
pub fn history_files_needed(history: &TimelineHistory) -> Vec<TimeLineId> {
    history.ancestry().into_iter().filter(|t| *t > 1).collect()
}

/// The timeline the server will choose when it promotes at the end of this
/// recovery: one more than the newest timeline reachable from the target by
/// consecutive history files (`findNewestTimeLine(target) + 1`).
pub fn next_timeline(target: TimeLineId, histories: &HistorySet) -> TimeLineId {
    histories.newest_from(target).saturating_add(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> HistorySet {
        // recovery-semantics.md 3.1: TL2 forks at 0/5000220, TL3 at 0/6000000.
        let h2 = TimelineHistory::parse(2, "1\t0/5000220\tafter transaction 728\n").unwrap();
        let h3 = TimelineHistory::parse(
            3,
            "1\t0/5000220\tafter transaction 728\n\n2\t0/6000000\tno recovery target specified\n",
        )
        .unwrap();
        HistorySet::from_histories([h2, h3])
    }

    #[test]
    fn target_timeline_resolution() {
        let s = set();
        assert_eq!(resolve_target_timeline(1, TimelineTarget::Latest, &s).unwrap().timeline, 3);
        assert_eq!(resolve_target_timeline(1, TimelineTarget::Current, &s).unwrap().timeline, 1);
        assert_eq!(resolve_target_timeline(1, TimelineTarget::Numbered(2), &s).unwrap().timeline, 2);
        assert_eq!(resolve_target_timeline(1, TimelineTarget::Numbered(1), &s).unwrap().timeline, 1);
        let e = resolve_target_timeline(1, TimelineTarget::Numbered(9), &s).unwrap_err();
        assert_eq!(e.postgres_message().0, "recovery target timeline 9 does not exist");
        assert_eq!(next_timeline(1, &s), 4);
        assert_eq!(next_timeline(3, &s), 4);
    }

    #[test]
    fn checkpoint_must_lie_on_the_path() {
        let s = set();
        let h3 = s.history_of(3).unwrap();
        check_checkpoint_on_path(&h3, Lsn(0x2000060), 1).unwrap();
        // The classic trap: a backup taken on TL1 after the fork (exp: 0/7000060).
        let e = check_checkpoint_on_path(&h3, Lsn(0x7000060), 1).unwrap_err();
        let (msg, detail) = e.postgres_message();
        assert_eq!(msg, "requested timeline 3 is not a child of this server's history");
        assert_eq!(
            detail.unwrap(),
            "Latest checkpoint is at 0/7000060 on timeline 1, but in the history of the requested \
             timeline, the server forked off from that timeline at 0/5000220."
        );
        let h2 = s.history_of(2).unwrap();
        let e = check_checkpoint_on_path(&h2, Lsn(0x6000100), 3).unwrap_err();
        assert!(matches!(e, TimelineRefusal::NotInHistory { .. }));
    }

    #[test]
    fn segment_choice_follows_xlogfilereadanytli() {
        let seg = WalSegSize::DEFAULT;
        let ranges = set().history_of(3).unwrap().ranges();
        let all = |_: TimeLineId, _: u64| true;
        // Observed requests (3.5): segments 2-4 only on TL1, 5 on TL2, 6 on TL3.
        for s in 2..=4 {
            assert_eq!(pick_segment(&ranges, s, 0, seg, all).chosen, Some(1));
        }
        assert_eq!(pick_segment(&ranges, 5, 1, seg, all).chosen, Some(2));
        assert_eq!(pick_segment(&ranges, 6, 2, seg, all).chosen, Some(3));
        // TL2's copy of the switch segment missing: falls back to TL1, silently.
        let no_tl2_5 = |t: TimeLineId, s: u64| !(t == 2 && s == 5);
        let p = pick_segment(&ranges, 5, 1, seg, no_tl2_5);
        assert_eq!((p.expected, p.chosen), (2, Some(1)));
        assert!(p.is_fallback());
        // Never an older timeline than the last file opened.
        let only_tl1 = |t: TimeLineId, _: u64| t == 1;
        let p = pick_segment(&ranges, 6, 2, seg, only_tl1);
        assert_eq!(p.chosen, None);
        assert_eq!(p.expected, 3);
        assert_eq!(history_files_needed(&set().history_of(3).unwrap()), vec![2, 3]);
        // Consecutive picks: 2-4 on TL1, 5 on TL2, 6 on TL3; a hole ends the walk.
        let (picks, missing) = pick_segments(&ranges, 2..=6, 1, seg, all);
        let chosen: Vec<_> = picks.iter().map(|p| (p.segno, p.chosen)).collect();
        assert_eq!(chosen, [(2, Some(1)), (3, Some(1)), (4, Some(1)), (5, Some(2)), (6, Some(3))]);
        assert!(missing.is_none());
        let hole = |t: TimeLineId, s: u64| !(s == 4 && t == 1);
        let (picks, missing) = pick_segments(&ranges, 2..=6, 1, seg, hole);
        assert_eq!(picks.len(), 2);
        assert_eq!(missing.map(|m| (m.segno, m.expected)), Some((4, 1)));
    }
}
