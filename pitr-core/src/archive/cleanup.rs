//! Timeline-aware archive cleanup: which files no kept backup can ever need.
//!
//! A kept backup `K` starts replay at its redo LSN `L` (`START WAL LOCATION`)
//! on timeline `T` (the timeline in the start segment's name). From `L` on,
//! PostgreSQL reads segment `n` from the newest timeline of the target
//! timeline's path that had begun by `n`, so recovery from `K` can only read:
//!
//! * segments numbered at or after `L`'s segment `s`, and
//! * only on timelines `K` can reach: `T` itself, and every timeline whose
//!   history passes through `T` and left `T` *after* `L` (a timeline that
//!   forked off `T` before `L` is refused by the server: "requested timeline
//!   is not a child of this server's history"). A timeline whose history file
//!   is missing or unreadable counts as reachable (we cannot prove otherwise).
//!
//! A segment or `.partial` file of timeline `X`, number `n`, is removable when
//! for **every** kept backup it is either before that backup's start segment
//! (`n < s`) or on a timeline that backup cannot reach. Every copy of a segment
//! (plain, compressed, pgBackRest-named) shares the decision.
//!
//! Never removed: history files (any timeline: cheap, and recovery probes
//! them), the `.backup` file of a kept backup, a `.backup` file whose start
//! segment is kept or that cannot be read, unknown, misplaced and metadata
//! files. The rule is documented for users in `docs/archive.md`.

use super::inventory::{ArchivedFile, Inventory};
use crate::error::{Error, IoError};
use crate::label::BackupLabel;
use crate::lsn::WalSegSize;
use crate::walfile::{SegmentName, TimeLineId};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// A backup that must stay recoverable.
#[derive(Debug, Clone, Serialize)]
pub struct KeptBackup {
    /// Where it was read from (a backup directory, a `backup_label`, a tar file or a `.backup` file).
    pub source: PathBuf,
    /// What its label says.
    pub info: BackupLabel,
    /// The system identifier from its `global/pg_control`, when it has one.
    pub system_id: Option<u64>,
}

/// Reads a kept backup with [`crate::backup::Backup::open`]: a backup
/// directory (plain, or `pg_basebackup -Ft` output with `base.tar[.gz|.lz4|.zst]`),
/// a `base.tar*` file, a `backup_label` file or a backup history (`.backup`)
/// file. Its `backup_label` must parse.
pub fn read_kept_backup(path: &Path) -> Result<KeptBackup, Error> {
    let backup = crate::backup::Backup::open(path)?;
    let info = backup.backup_label().cloned().ok_or_else(|| {
        let why: Vec<String> = backup
            .problems
            .iter()
            .filter(|p| p.severity == crate::error::Severity::Error)
            .map(|p| p.message.clone())
            .collect();
        let why = if why.is_empty() { "no backup_label found".to_string() } else { why.join("; ") };
        Error::Invalid(format!("{}: not usable as a kept backup: {why}", path.display()))
    })?;
    let system_id = backup.control.as_ref().map(|c| c.system_identifier);
    Ok(KeptBackup { source: path.to_path_buf(), info, system_id })
}

/// Why a file may be removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RemovalReason {
    /// It lies before the start segment of every kept backup.
    BeforeEveryBackup,
    /// No kept backup can reach its timeline from its start (and it is not
    /// after every start on a reachable timeline).
    TimelineNotReachable,
    /// A backup history file of a backup that is not kept, whose start
    /// segment is removed too.
    BackupNotKept,
}

/// One file to remove, with the reason.
#[derive(Debug, Clone, Serialize)]
pub struct Removal {
    /// The file.
    #[serde(flatten)]
    pub file: ArchivedFile,
    /// `segment`, `partial` or `backup_history`.
    pub kind: &'static str,
    /// Why.
    pub reason: RemovalReason,
    /// The reason in words.
    pub message: String,
}

/// The result of [`plan`].
#[derive(Debug, Clone, Serialize)]
pub struct CleanupPlan {
    /// The kept backups.
    pub kept_backups: Vec<KeptBackup>,
    /// The files to remove, in name order.
    pub remove: Vec<Removal>,
    /// Segment, partial and backup history files kept.
    pub kept_files: u64,
    /// Things the operator should know (a kept backup whose WAL is not in the archive, ...).
    pub warnings: Vec<String>,
}

/// `Ok` when a kept backup needs the file, else why it may go.
type Decision = Result<(), (RemovalReason, String)>;

struct Reach<'a> {
    inv: &'a Inventory,
    kept: &'a [KeptBackup],
    seg: WalSegSize,
}

impl Reach<'_> {
    /// Can kept backup `k` reach timeline `x`?
    fn reaches(&self, k: &KeptBackup, x: TimeLineId) -> bool {
        let t = k.info.timeline();
        if x == t {
            return true;
        }
        match self.inv.ancestry(x) {
            // Unknown history: assume it can.
            None => true,
            Some(path) => {
                path.iter().any(|(tli, _, end)| *tli == t && end.is_some_and(|e| e > k.info.start.lsn))
            }
        }
    }

    /// Is segment `n` of timeline `x` needed by some kept backup? If not, why.
    fn decide(&self, x: TimeLineId, n: u64) -> Decision {
        let mut all_before = true;
        for k in self.kept {
            let s = k.info.start.lsn.segment(self.seg);
            if n >= s {
                all_before = false;
                if self.reaches(k, x) {
                    return Ok(());
                }
            }
        }
        if all_before {
            Err((
                RemovalReason::BeforeEveryBackup,
                "before the start segment of every kept backup".to_string(),
            ))
        } else {
            Err((
                RemovalReason::TimelineNotReachable,
                format!(
                    "timeline {x} cannot be reached from any kept backup that starts at or before this segment"
                ),
            ))
        }
    }
}

/// Computes which files of `inv` no backup of `kept` can need. Refuses an
/// empty `kept` and an archive whose segment size is unknown.
pub fn plan(inv: &Inventory, kept: &[KeptBackup]) -> Result<CleanupPlan, Error> {
    if kept.is_empty() {
        return Err(Error::Invalid("refusing to clean an archive without a kept backup".to_string()));
    }
    let seg = inv.seg_size().ok_or_else(|| {
        Error::Invalid(
            "the WAL segment size of the archive is unknown (give it with --wal-segsize)".to_string(),
        )
    })?;
    let reach = Reach { inv, kept, seg };
    let mut remove = Vec::new();
    let mut kept_files = 0u64;
    let mut warnings = Vec::new();

    for k in kept {
        if let (Some(b), Some(a)) = (k.system_id, inv.system_id()) {
            if a != b {
                return Err(Error::Invalid(format!(
                    "kept backup {} belongs to system {b}, the archive to system {a}: refusing to clean",
                    k.source.display()
                )));
            }
        }
        let start = SegmentName::of_lsn(k.info.timeline(), k.info.start.lsn, seg);
        if inv.segment_file(start).is_none() {
            warnings.push(format!(
                "kept backup {} starts in {start}, which is not in the archive: it cannot be recovered from this archive",
                k.source.display()
            ));
        }
    }

    let mut decisions: Vec<(SegmentName, Decision)> = Vec::new();
    for name in inv.segments() {
        let n = name.segno(seg).unwrap_or(u64::MAX);
        decisions.push((name, reach.decide(name.timeline, n)));
    }
    for (name, d) in &decisions {
        let forms = inv.segment_forms(*name).map(|f| f.files).unwrap_or_default();
        match d {
            Ok(()) => kept_files += forms.len() as u64,
            Err((reason, message)) => {
                for file in forms {
                    remove.push(Removal { file, kind: "segment", reason: *reason, message: message.clone() });
                }
            }
        }
    }
    for (name, file) in inv.partials() {
        let n = name.segno(seg).unwrap_or(u64::MAX);
        match reach.decide(name.timeline, n) {
            Ok(()) => kept_files += 1,
            Err((reason, message)) => {
                remove.push(Removal { file: file.clone(), kind: "partial", reason, message })
            }
        }
    }
    for b in inv.backups() {
        let Some(info) = &b.info else {
            kept_files += 1;
            continue;
        };
        let is_kept = kept.iter().any(|k| k.info.start.lsn == info.start.lsn);
        let n = info.start.lsn.segment(seg);
        let start_removable = reach.decide(info.timeline(), n).is_err();
        if is_kept || !start_removable {
            kept_files += 1;
        } else {
            remove.push(Removal {
                file: b.file.clone(),
                kind: "backup_history",
                reason: RemovalReason::BackupNotKept,
                message: format!(
                    "backup history of a backup that is not kept (started at {}), whose start segment is removed",
                    info.start.lsn
                ),
            });
        }
    }
    remove.sort_by(|a, b| a.file.relative.cmp(&b.file.relative));
    Ok(CleanupPlan { kept_backups: kept.to_vec(), remove, kept_files, warnings })
}

/// Removes exactly the files of `plan`, in order. Returns each file with the
/// outcome (a file already gone counts as removed).
pub fn execute(plan: &CleanupPlan) -> Vec<(&Removal, Result<(), IoError>)> {
    plan.remove
        .iter()
        .map(|r| {
            let res = match std::fs::remove_file(&r.file.path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(IoError::new(&r.file.path, e)),
            };
            (r, res)
        })
        .collect()
}

/// What [`run`] did: the document of `pitr archive cleanup --json`.
#[derive(Debug, Clone, Serialize)]
pub struct CleanupReport {
    /// The archive directory.
    pub archive: PathBuf,
    /// True when the files were removed, false for a dry run.
    pub deleted: bool,
    /// The plan.
    #[serde(flatten)]
    pub plan: CleanupPlan,
    /// The files removed (relative names), with `delete`.
    pub removed: Vec<String>,
    /// The files that could not be removed, in words.
    pub errors: Vec<String>,
}

impl CleanupReport {
    /// The failures to remove, in one sentence (`None` when every planned
    /// file was removed or nothing was deleted).
    pub fn failure(&self) -> Option<String> {
        (!self.errors.is_empty()).then(|| {
            format!(
                "could not remove {} of {} files: {}",
                self.errors.len(),
                self.plan.remove.len(),
                self.errors.join("; ")
            )
        })
    }
}

/// Reads the kept backups, plans, and with `delete` removes exactly the
/// planned files ([`execute`]); failures to remove are collected in
/// [`CleanupReport::errors`], not returned as an error, so that the caller
/// can show what was removed.
pub fn run(inv: &Inventory, keep_backups: &[PathBuf], delete: bool) -> Result<CleanupReport, Error> {
    let kept: Vec<KeptBackup> = keep_backups.iter().map(|p| read_kept_backup(p)).collect::<Result<_, _>>()?;
    let plan = plan(inv, &kept)?;
    let mut removed = Vec::new();
    let mut errors = Vec::new();
    if delete {
        for (r, res) in execute(&plan) {
            match res {
                Ok(()) => removed.push(r.file.relative.clone()),
                Err(e) => errors.push(e.to_string()),
            }
        }
    }
    Ok(CleanupReport { archive: inv.archive_dir().to_path_buf(), deleted: delete, plan, removed, errors })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::ScanOptions;
    use crate::lsn::Lsn;
    use std::fs;

    fn seg1() -> WalSegSize {
        WalSegSize::new(1 << 20).unwrap()
    }

    fn kept(tli: TimeLineId, lsn: u64) -> KeptBackup {
        let start = SegmentName::of_lsn(tli, Lsn(lsn), seg1());
        let text = format!(
            "START WAL LOCATION: {} (file {start})\nCHECKPOINT LOCATION: {}\n",
            Lsn(lsn),
            Lsn(lsn + 0x38)
        );
        KeptBackup {
            source: PathBuf::from(format!("b{tli}")),
            info: BackupLabel::parse(&text).unwrap(),
            system_id: None,
        }
    }

    /// TL1 1..=9, TL2 forked at 0/500220 with 5..=8, TL3 forked from TL2 at
    /// 0/700000 with 7..=9, TL4 forked from TL1 at 0/300100 (segments 3, 4).
    fn archive() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        let touch = |t: u32, n: u64| {
            fs::write(d.path().join(SegmentName::new(t, n, seg1()).to_string()), b"").unwrap()
        };
        (1..=9).for_each(|n| touch(1, n));
        (5..=8).for_each(|n| touch(2, n));
        (7..=9).for_each(|n| touch(3, n));
        (3..=4).for_each(|n| touch(4, n));
        fs::write(d.path().join("00000002.history"), "1\t0/500220\tx\n").unwrap();
        fs::write(d.path().join("00000003.history"), "1\t0/500220\tx\n\n2\t0/700000\ty\n").unwrap();
        fs::write(d.path().join("00000004.history"), "1\t0/300100\tz\n").unwrap();
        fs::write(d.path().join("000000010000000000000005.partial"), b"").unwrap();
        fs::write(d.path().join("notes.txt"), b"").unwrap();
        d
    }

    fn removed(d: &Path, kept_backups: &[KeptBackup]) -> Vec<String> {
        let inv = Inventory::scan(d, &ScanOptions { seg_size: Some(seg1()) }).unwrap();
        plan(&inv, kept_backups).unwrap().remove.into_iter().map(|r| r.file.relative).collect()
    }

    #[test]
    fn failure_counts_what_could_not_be_removed() {
        let d = archive();
        let inv = Inventory::scan(d.path(), &ScanOptions { seg_size: Some(seg1()) }).unwrap();
        let plan = plan(&inv, &[kept(1, 0x500028)]).unwrap();
        let mut report = CleanupReport {
            archive: d.path().to_path_buf(),
            deleted: true,
            plan,
            removed: Vec::new(),
            errors: Vec::new(),
        };
        assert!(!report.plan.remove.is_empty());
        assert_eq!(report.failure(), None);
        report.errors = vec!["a: denied".into(), "b: denied".into()];
        assert_eq!(
            report.failure().as_deref(),
            Some(
                format!("could not remove 2 of {} files: a: denied; b: denied", report.plan.remove.len())
                    .as_str()
            )
        );
    }

    #[test]
    fn backup_on_timeline_1_before_every_fork_keeps_every_branch_from_its_start() {
        let d = archive();
        let r = removed(d.path(), &[kept(1, 0x20_0028)]);
        assert_eq!(r, vec!["000000010000000000000001".to_string()]);
    }

    #[test]
    fn backup_on_timeline_2_drops_timeline_1_and_the_branch_it_cannot_reach() {
        let d = archive();
        let r = removed(d.path(), &[kept(2, 0x60_0028)]);
        let mut expect: Vec<String> = (1..=9).map(|n| SegmentName::new(1, n, seg1()).to_string()).collect();
        expect.push("000000010000000000000005.partial".into());
        expect.push("000000020000000000000005".into());
        expect.extend((3..=4).map(|n| SegmentName::new(4, n, seg1()).to_string()));
        expect.sort();
        assert_eq!(r, expect);
    }

    #[test]
    fn a_branch_forked_before_the_backup_started_is_not_reachable() {
        let d = archive();
        // Backup on TL1 at 0/400028: TL4 forked at 0/300100 before it.
        let r = removed(d.path(), &[kept(1, 0x40_0028)]);
        assert!(r.contains(&"000000040000000000000004".to_string()), "{r:?}");
        assert!(!r.contains(&"000000020000000000000005".to_string()), "{r:?}");
        // Two kept backups: the union of what they need is kept.
        let r = removed(d.path(), &[kept(1, 0x40_0028), kept(4, 0x30_0200)]);
        assert_eq!(r, (1..=3).map(|n| SegmentName::new(1, n, seg1()).to_string()).collect::<Vec<_>>());
    }

    #[test]
    fn unknown_history_is_kept_and_history_files_never_go() {
        let d = archive();
        fs::remove_file(d.path().join("00000004.history")).unwrap();
        fs::write(d.path().join("000000040000000000000007"), b"").unwrap();
        let r = removed(d.path(), &[kept(2, 0x60_0028)]);
        // Without its history, timeline 4 may be reachable: only what lies
        // before every kept start goes.
        assert!(r.contains(&"000000040000000000000004".to_string()), "{r:?}");
        assert!(!r.contains(&"000000040000000000000007".to_string()), "{r:?}");
        assert!(!r.iter().any(|f| f.ends_with(".history") || f == "notes.txt"), "{r:?}");
        let inv = Inventory::scan(d.path(), &ScanOptions { seg_size: Some(seg1()) }).unwrap();
        assert!(plan(&inv, &[]).is_err());
    }
}
