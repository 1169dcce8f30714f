//! The planner: from a base backup, a WAL archive and a target, what
//! PostgreSQL's recovery will do, found by replaying the archive's WAL through
//! the model of the redo loop ([`super::replay`]) along the timeline path and
//! file choices PostgreSQL makes ([`super::timeline`]).

use super::model::{Plan, PlannedFile, Problem, Stop, TimelineStep};
use super::progress::FileProgress;
use super::replay::{ConsistencyRule, Replay, ReplayKind, ReplayOutcome, ReplayRecord, StopKind, StopPoint};
use super::target::{self, DateOrder, RecoveryTarget, TargetAction, TimelineTarget};
use super::timeline::{self, SegmentPick};
use crate::archive::{Inventory, ScanOptions};
use crate::backup::{Backup, BackupFormat};
use crate::conf::{self, ConfigSet};
use crate::error::{Error, ParseError};
use crate::history::{HistorySet, TimelineHistory};
use crate::label::BackupLabel;
use crate::lsn::{Lsn, WalSegSize};
use crate::wal::decode::{Decoded, XactKind};
use crate::wal::{self, DataFilter, ReaderOptions, WalReader, WalSource};
use crate::walfile::{SegmentName, TimeLineId, history_file_name};
use jiff::tz::TimeZone;
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

/// A recovery target as the user gave it (text), parsed by the planner once it
/// knows the server's `TimeZone` and `DateStyle`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TargetSpec {
    /// No target: the end of available WAL.
    #[default]
    EndOfWal,
    /// `recovery_target = 'immediate'`.
    Immediate,
    /// `recovery_target_time`.
    Time(String),
    /// `recovery_target_xid`.
    Xid(String),
    /// `recovery_target_lsn`.
    Lsn(String),
    /// `recovery_target_name`.
    Name(String),
    /// An already parsed target.
    Parsed(RecoveryTarget),
}

/// What to plan.
#[derive(Debug, Clone)]
pub struct PlanRequest {
    /// A base backup: a plain data directory, `pg_basebackup -Ft` output, its
    /// `backup_label`, or a backup history (`.backup`) file.
    pub backup: PathBuf,
    /// The WAL archive.
    pub archive: PathBuf,
    /// The target.
    pub target: TargetSpec,
    /// `recovery_target_inclusive` (PostgreSQL's default: true).
    pub inclusive: bool,
    /// `recovery_target_timeline` (default `latest`).
    pub timeline: TimelineTarget,
    /// `recovery_target_action` (default `pause`).
    pub action: TargetAction,
    /// The server's `TimeZone` for a target time without a zone; default:
    /// the backup's configuration, else `GMT` (the server's built-in default).
    pub timezone: Option<String>,
    /// `restore_command` to write; default `pitr archive get ARCHIVE %f %p`.
    pub restore_command: Option<String>,
}

impl PlanRequest {
    /// A request with PostgreSQL's defaults (end of WAL, inclusive, latest, pause).
    pub fn new(backup: impl Into<PathBuf>, archive: impl Into<PathBuf>) -> PlanRequest {
        PlanRequest {
            backup: backup.into(),
            archive: archive.into(),
            target: TargetSpec::EndOfWal,
            inclusive: true,
            timeline: TimelineTarget::Latest,
            action: TargetAction::Pause,
            timezone: None,
            restore_command: None,
        }
    }
}

/// The server settings of the backup that matter for planning.
#[derive(Debug, Clone)]
pub(super) struct ServerSettings {
    pub(super) timezone: TimeZone,
    pub(super) timezone_name: String,
    pub(super) date_order: DateOrder,
    hot_standby: bool,
    recovery_min_apply_delay: Option<String>,
    archive_mode_on: bool,
    archive_command: Option<String>,
}

/// Reads the backup's effective configuration (plain: the data directory with
/// includes; tar: `postgresql.conf` then `postgresql.auto.conf` from base.tar).
pub(super) fn backup_config(backup: &Backup) -> Option<ConfigSet> {
    match backup.format {
        BackupFormat::Plain => Some(ConfigSet::load_data_dir(&backup.path)),
        BackupFormat::Tar => {
            let mut main = None;
            let mut auto = None;
            let _ = backup.visit(&mut |e, r: &mut dyn Read| {
                let name = e.path.as_bytes();
                if name == b"postgresql.conf" || name == b"postgresql.auto.conf" {
                    let mut s = String::new();
                    let _ = r.take(16 << 20).read_to_string(&mut s);
                    if name == b"postgresql.conf" {
                        main = Some(s);
                    } else {
                        auto = Some(s);
                    }
                }
                Ok(crate::backup::source::Flow::Continue)
            });
            let mut text = main?;
            if let Some(a) = auto {
                text.push('\n');
                text.push_str(&a);
            }
            Some(ConfigSet::from_text(&text, &backup.path.join("base.tar:postgresql.conf")))
        }
        // A backup_label inside a data directory: that directory's configuration.
        BackupFormat::Label => {
            let dir = backup.path.parent()?;
            dir.join("PG_VERSION").is_file().then(|| ConfigSet::load_data_dir(dir))
        }
        BackupFormat::BackupHistory => None,
    }
}

pub(super) fn server_settings(
    config: Option<&ConfigSet>,
    tz_override: Option<&str>,
) -> Result<ServerSettings, Error> {
    let get = |n: &str| config.and_then(|c| c.value(n)).map(str::to_string);
    let tz_name = tz_override.map(str::to_string).or_else(|| get("timezone")).unwrap_or_else(|| "GMT".into());
    let timezone = TimeZone::get(&tz_name).map_err(|_| {
        Error::Invalid(format!(
            "unknown time zone {tz_name:?} (give an IANA name such as UTC or Europe/Berlin)"
        ))
    })?;
    Ok(ServerSettings {
        timezone,
        timezone_name: tz_name,
        date_order: DateOrder::from_datestyle(&get("datestyle").unwrap_or_default()),
        hot_standby: get("hot_standby").map(|v| conf::parse_bool(&v).unwrap_or(true)).unwrap_or(true),
        recovery_min_apply_delay: get("recovery_min_apply_delay").filter(|v| v != "0" && !v.is_empty()),
        archive_mode_on: get("archive_mode").is_some_and(|v| {
            let v = v.to_ascii_lowercase();
            v == "always" || conf::parse_bool(&v).unwrap_or(false)
        }),
        archive_command: get("archive_command").filter(|v| !v.is_empty()),
    })
}

fn parse_target(spec: &TargetSpec, s: &ServerSettings) -> Result<(RecoveryTarget, Vec<Problem>), Error> {
    let mut warnings = Vec::new();
    let t = match spec {
        TargetSpec::EndOfWal => RecoveryTarget::EndOfWal,
        TargetSpec::Immediate => RecoveryTarget::Immediate,
        TargetSpec::Time(text) => {
            let p = target::parse_target_time(text, &s.timezone, s.date_order)?;
            if !p.had_zone {
                warnings.push(Problem::warning(
                    "time_without_zone",
                    format!(
                        "the target time {text:?} has no time zone: it is read in the server's TimeZone \
                         ({}), as PostgreSQL will; pitr writes it with an explicit offset",
                        s.timezone_name
                    ),
                ));
            }
            RecoveryTarget::Time { time: p.time, text: text.clone() }
        }
        TargetSpec::Xid(text) => RecoveryTarget::Xid { xid: target::parse_xid(text)? },
        TargetSpec::Lsn(text) => RecoveryTarget::Lsn {
            lsn: Lsn::parse(text).map_err(|e| {
                ParseError::new(
                    "recovery_target_lsn",
                    format!(
                        "invalid value for parameter \"recovery_target_lsn\": \"{text}\" ({})",
                        e.message
                    ),
                )
            })?,
        },
        TargetSpec::Name(text) => RecoveryTarget::Name { name: target::parse_name(text)? },
        TargetSpec::Parsed(t) => t.clone(),
    };
    Ok((t, warnings))
}

/// Where each segment recovery reads comes from.
pub(super) struct Store<'a> {
    inventory: &'a Inventory,
    /// Segments in the backup's own `pg_wal` (plain backups), by name.
    backup_wal: HashMap<SegmentName, PathBuf>,
}

impl<'a> Store<'a> {
    /// The archive, plus the segments of a plain backup's `pg_wal`.
    pub(super) fn new(inventory: &'a Inventory, backup: &Backup) -> Store<'a> {
        let mut backup_wal = HashMap::new();
        if backup.format == BackupFormat::Plain {
            for w in &backup.wal {
                if let Some(s) = crate::walfile::WalFileName::classify(&w.name).segment() {
                    backup_wal.insert(s, backup.path.join("pg_wal").join(&w.name));
                }
            }
        }
        Store { inventory, backup_wal }
    }

    /// The archive alone.
    pub(super) fn new_archive(inventory: &'a Inventory) -> Store<'a> {
        Store { inventory, backup_wal: HashMap::new() }
    }

    /// The last segment number either place has (`default` for an empty archive).
    pub(super) fn last_segno(&self, seg: WalSegSize, default: u64) -> u64 {
        let a = self.inventory.segments().filter_map(|n| n.segno(seg)).max().unwrap_or(default);
        a.max(self.backup_wal.keys().filter_map(|n| n.segno(seg)).max().unwrap_or(0))
    }

    /// The file of segment `segno` on timeline `tli`, if either place has it.
    pub(super) fn path(&self, tli: TimeLineId, segno: u64, seg: WalSegSize) -> Option<PathBuf> {
        // The archive first: PostgreSQL prefers restore_command over pg_wal.
        self.inventory
            .segment_path(tli, segno)
            .or_else(|| self.backup_wal.get(&SegmentName::new(tli, segno, seg)).cloned())
    }
}

/// Plans a recovery. Errors are for inputs that cannot be read at all (exit
/// 2); everything PostgreSQL would refuse is a [`Problem`] in the plan.
pub fn plan(req: &PlanRequest) -> Result<Plan, Error> {
    plan_with_progress(req, &|_, _| ControlFlow::Continue(()))
}

/// [`plan`], calling `progress(done, total)` as the WAL scan enters each
/// segment file (`done` files of `total` to read at most: the scan stops
/// early when the target is found). When `progress` returns
/// [`ControlFlow::Break`], the scan stops there.
///
/// # Errors
/// As [`plan`]; [`Error::Cancelled`] when `progress` asked to stop.
pub fn plan_with_progress(
    req: &PlanRequest,
    progress: &dyn Fn(u64, u64) -> ControlFlow<()>,
) -> Result<Plan, Error> {
    let backup = Backup::open(&req.backup)?;
    let label: BackupLabel = backup
        .label
        .as_ref()
        .and_then(|l| l.parsed.clone())
        .ok_or_else(|| Error::Invalid(format!("{}: no readable backup_label", req.backup.display())))?;
    let config = backup_config(&backup);
    let settings = server_settings(config.as_ref(), req.timezone.as_deref())?;
    let (target, mut problems) = parse_target(&req.target, &settings)?;
    if config.is_none() && req.timezone.is_none() {
        problems.push(Problem::warning(
            "configuration_unknown",
            "the backup description carries no server configuration: TimeZone is taken as GMT (the server's \
             built-in default) for target times without a zone and for log times (give --timezone), and \
             hot_standby as on",
        ));
    }

    let control = backup.control.as_ref();
    let seg_hint = control.map(|c| c.wal_segment_size);
    let inventory = Inventory::scan(&req.archive, &ScanOptions { seg_size: seg_hint })?;
    let seg = seg_hint
        .or_else(|| inventory.seg_size())
        .or_else(|| label.consistent_segment_sizes().first().copied())
        .ok_or_else(|| {
            Error::Invalid("cannot tell the WAL segment size: no pg_control and no readable segment".into())
        })?;
    let major = backup.major().or_else(|| inventory.pg_major()).map(|m| m.number()).unwrap_or(0);

    let store = Store::new(&inventory, &backup);

    let label_tli = label.timeline();
    let redo = label.start.lsn;
    let checkpoint = label.checkpoint;
    let system_id = control.map(|c| c.system_identifier).or_else(|| inventory.system_id());

    if let (Some(c), Some(a)) = (control.map(|c| c.system_identifier), inventory.system_id()) {
        if c != a {
            problems.push(
                Problem::error(
                    "system_id_mismatch",
                    format!("the archive's WAL is from database system {a}, the backup is from {c}"),
                )
                .postgres(format!(
                    "WAL file is from different database system: WAL file database system identifier is {a}, \
                     pg_control database system identifier is {c}"
                )),
            );
        }
    }
    if label.is_incremental() {
        problems.push(
            Problem::error("incremental_backup", "this is an incremental backup; combine it first")
                .postgres("this is an incremental backup, not a data directory")
                .hint("Use pg_combinebackup to reconstruct a valid data directory."),
        );
    }
    if let Some(c) = control {
        if c.wal_level == crate::control::WalLevel::Minimal {
            problems.push(
                Problem::error("wal_level_minimal", "the backup's cluster ran with wal_level=minimal")
                    .postgres("WAL was generated with wal_level=minimal, cannot continue recovering"),
            );
        }
    }

    // The recovery target timeline and its history.
    let histories: HistorySet = inventory.history_set();
    let initial_tli = match control {
        Some(c) if c.min_recovery_point_timeline > c.checkpoint_copy.timeline => {
            c.min_recovery_point_timeline
        }
        Some(c) => c.checkpoint_copy.timeline,
        None => label_tli,
    };
    let mut settings_out = BTreeMap::new();
    let restore_command =
        req.restore_command.clone().unwrap_or_else(|| default_restore_command(&req.archive));
    settings_out.insert("restore_command".to_string(), restore_command);
    if let Some((name, value)) = target.setting() {
        settings_out.insert(name.to_string(), value);
    }
    if target.uses_inclusive() && !req.inclusive {
        settings_out.insert("recovery_target_inclusive".into(), "off".into());
    }
    settings_out.insert("recovery_target_timeline".into(), req.timeline.setting_value());
    if !matches!(target, RecoveryTarget::EndOfWal) {
        settings_out.insert("recovery_target_action".into(), req.action.as_str().into());
    }
    if settings.recovery_min_apply_delay.is_some() {
        settings_out.insert("recovery_min_apply_delay".into(), "0".into());
    }

    let mut out = Plan {
        reachable: false,
        target: target.to_string(),
        timeline: initial_tli,
        timeline_path: Vec::new(),
        redo_lsn: redo,
        checkpoint_lsn: checkpoint,
        consistent_lsn: None,
        stop: None,
        wal_files: Vec::new(),
        files: Vec::new(),
        settings: settings_out,
        signal: "recovery.signal",
        new_timeline: timeline::next_timeline(initial_tli, &histories),
        last_transaction_time: None,
        pg_version: major,
        problems: Vec::new(),
    };

    let history: TimelineHistory =
        match timeline::resolve_target_timeline(initial_tli, req.timeline, &histories) {
            Ok(h) => h,
            Err(refusal) => {
                let (msg, _) = refusal.postgres_message();
                problems.push(
                    Problem::error(
                        "target_timeline_missing",
                        format!(
                            "{msg}: the archive has no {}",
                            match req.timeline {
                                TimelineTarget::Numbered(n) => history_file_name(n),
                                _ => "history file for it".into(),
                            }
                        ),
                    )
                    .postgres(msg),
                );
                return Ok(finish(out, problems));
            }
        };
    out.timeline = history.timeline;
    out.new_timeline = timeline::next_timeline(history.timeline, &histories);
    if let Some(c) = control {
        if label.from_standby() && !c.min_recovery_point.is_invalid() {
            if let Ok(t) = history.timeline_of(c.min_recovery_point) {
                if t != c.min_recovery_point_timeline {
                    problems.push(Problem::error(
                        "min_recovery_point_off_path",
                        format!(
                            "requested timeline {} does not contain minimum recovery point {} on timeline {}",
                            history.timeline, c.min_recovery_point, c.min_recovery_point_timeline
                        ),
                    ).postgres(format!(
                        "requested timeline {} does not contain minimum recovery point {} on timeline {}",
                        history.timeline, c.min_recovery_point, c.min_recovery_point_timeline
                    )));
                    return Ok(finish(out, problems));
                }
            }
        }
    }

    // History files recovery fetches.
    for tli in timeline::history_files_needed(&history) {
        if let Some(h) = inventory.history().get(&tli) {
            out.files.push(PlannedFile {
                name: history_file_name(tli),
                kind: "history",
                path: h.file.path.clone(),
                timeline: tli,
            });
        }
    }

    // Segment choices, the checkpoint's segment first (it is read first).
    let ranges = history.ranges();
    let ckpt_seg = checkpoint.segment(seg);
    let redo_seg = redo.segment(seg);
    let exists = |t: TimeLineId, s: u64| store.path(t, s, seg).is_some();
    let ckpt_pick = timeline::pick_segment(&ranges, ckpt_seg, 0, seg, exists);
    let Some(ckpt_tli) = ckpt_pick.chosen else {
        let name = SegmentName::new(ckpt_pick.expected, ckpt_seg, seg);
        problems.push(
            Problem::error(
                "missing_segment",
                format!("{name}, holding the backup's checkpoint record {checkpoint}, is not in the archive"),
            )
            .file(name.to_string())
            .lsn(checkpoint)
            .postgres("could not locate required checkpoint record"),
        );
        return Ok(finish(out, problems));
    };
    // PostgreSQL reads the checkpoint record first, from the file it picks for
    // that segment; only then does it check the timeline.
    if let Some(path) = store.path(ckpt_tli, ckpt_seg, seg) {
        if let Err(why) = read_checkpoint_record(&path, checkpoint, system_id) {
            problems.push(
                Problem::error(
                    "checkpoint_unreadable",
                    format!(
                        "the backup's checkpoint record {checkpoint} cannot be read from {} (the copy recovery \
                         picks for timeline {}): {why}",
                        SegmentName::new(ckpt_tli, ckpt_seg, seg),
                        history.timeline
                    ),
                )
                .file(SegmentName::new(ckpt_tli, ckpt_seg, seg).to_string())
                .lsn(checkpoint)
                .postgres("could not locate required checkpoint record")
                .hint(if ckpt_tli != label_tli {
                    "the target timeline forked off before the backup: use --target-timeline current".to_string()
                } else {
                    "the archive's copy of this segment is damaged".to_string()
                }),
            );
            return Ok(finish(out, problems));
        }
    }
    if let Err(refusal) = timeline::check_checkpoint_on_path(&history, checkpoint, label_tli) {
        let (msg, detail) = refusal.postgres_message();
        let mut p = Problem::error(
            "not_a_child",
            format!(
                "the backup's checkpoint {checkpoint} on timeline {label_tli} is not on the path of timeline {}",
                history.timeline
            ),
        )
        .lsn(checkpoint)
        .postgres(match &detail {
            Some(d) => format!("{msg}\nDETAIL:  {d}"),
            None => msg,
        });
        if req.timeline == TimelineTarget::Latest {
            p = p.hint("recover along the backup's own timeline with --target-timeline current");
        }
        problems.push(p);
        return Ok(finish(out, problems));
    }
    // Sequential picks from the redo segment on, until a segment is missing.
    let max_seg = store.last_segno(seg, redo_seg);
    let (picks, missing): (Vec<SegmentPick>, Option<SegmentPick>) =
        timeline::pick_segments(&ranges, redo_seg..=max_seg, ckpt_tli, seg, exists);
    let cur = picks.last().and_then(|p| p.chosen).unwrap_or(ckpt_tli);

    // Read the WAL along those files through the redo-loop model.
    let rule = if label.from_standby() {
        match control {
            Some(c) if !c.min_recovery_point.is_invalid() => ConsistencyRule::At(c.min_recovery_point),
            _ => ConsistencyRule::At(label.stop.as_ref().map(|s| s.lsn).unwrap_or(redo)),
        }
    } else {
        ConsistencyRule::BackupEndRecord { backup_start: redo }
    };
    let mut replay = Replay::new(target.clone(), req.inclusive, rule, redo);
    let paths: Vec<PathBuf> =
        picks.iter().filter_map(|p| p.chosen.and_then(|t| store.path(t, p.segno, seg))).collect();
    let mut outcome: Option<ReplayOutcome> = None;
    let mut last_record: Option<ReplayRecord> = None;
    let mut damage: Option<wal::WalError> = None;
    let mut restore_points: HashMap<String, Vec<Lsn>> = HashMap::new();
    let mut read_end = redo;
    if !paths.is_empty() {
        let source = WalSource::from_paths(&paths)?;
        let opts = ReaderOptions {
            start: Some(redo),
            system_id,
            data: DataFilter::none()
                .with_rmgr(crate::wal::rmgr::RM_XACT_ID)
                .with_rmgr(crate::wal::rmgr::RM_XLOG_ID),
            ..Default::default()
        };
        let mut files = FileProgress::new(progress, paths.len() as u64);
        match WalReader::open(source, opts) {
            Ok(mut reader) => loop {
                files.step(reader.current_file())?;
                match reader.next_record() {
                    Ok(Some(rec)) => {
                        let r = replay_record(&rec);
                        if let ReplayKind::RestorePoint { name, .. } = &r.kind {
                            restore_points.entry(name.clone()).or_default().push(r.start);
                        }
                        read_end = r.end;
                        if outcome.is_none() {
                            if let Some(o) = replay.feed(&r) {
                                outcome = Some(o);
                                last_record = Some(r);
                                // Keep reading restore points only when the name
                                // target needs the duplicate check; else stop.
                                if !matches!(target, RecoveryTarget::Name { .. }) {
                                    break;
                                }
                            } else {
                                last_record = Some(r);
                            }
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        damage = Some(e);
                        break;
                    }
                }
            },
            Err(e) => damage = Some(e),
        }
    }
    let _ = read_end;
    let outcome = outcome.unwrap_or_else(|| replay.finish());

    // Which segments are needed: up to the one holding the end of the deciding
    // record (for end of WAL: every segment read).
    let last_needed_seg = match (&outcome, &last_record) {
        (ReplayOutcome::Stops(StopPoint { kind: StopKind::EndOfWal, .. }), _)
        | (ReplayOutcome::TargetNotReached { .. }, _)
        | (ReplayOutcome::EndsBeforeConsistency { .. }, _) => picks.last().map(|p| p.segno),
        (_, Some(r)) => Some(r.end.prev_segment(seg).max(r.start.segment(seg))),
        _ => picks.last().map(|p| p.segno),
    };
    let mut seg_files: Vec<PlannedFile> = Vec::new();
    if ckpt_seg != redo_seg {
        if let Some(path) = store.path(ckpt_tli, ckpt_seg, seg) {
            seg_files.push(PlannedFile {
                name: SegmentName::new(ckpt_tli, ckpt_seg, seg).to_string(),
                kind: "segment",
                path,
                timeline: ckpt_tli,
            });
        }
    }
    for p in &picks {
        if last_needed_seg.is_some_and(|l| p.segno > l) {
            break;
        }
        let Some(t) = p.chosen else { break };
        if p.segno == ckpt_seg && ckpt_seg != redo_seg {
            continue;
        }
        if p.is_fallback() {
            let want = SegmentName::new(p.expected, p.segno, seg);
            let got = SegmentName::new(t, p.segno, seg);
            problems.push(
                Problem::error(
                    "switch_segment_missing",
                    format!(
                        "{want} (timeline {}'s copy of segment {}) is missing; PostgreSQL would read {got} instead \
                         and silently replay timeline {t}'s branch",
                        p.expected, p.segno
                    ),
                )
                .file(want.to_string())
                .postgres(format!("(no error) recovery reads {got} and follows timeline {t} past the switch point"))
                .hint(format!("put {want} into the archive")),
            );
        }
        if let Some(path) = store.path(t, p.segno, seg) {
            seg_files.push(PlannedFile {
                name: SegmentName::new(t, p.segno, seg).to_string(),
                kind: "segment",
                path,
                timeline: t,
            });
        }
    }
    out.files.extend(seg_files);
    out.wal_files = out.files.iter().map(|f| f.name.clone()).collect();
    out.consistent_lsn = replay.facts.consistent_at.or(match rule {
        ConsistencyRule::At(l) => Some(l),
        ConsistencyRule::BackupEndRecord { .. } => label.stop.as_ref().map(|s| s.lsn),
    });
    out.last_transaction_time = replay.facts.last_xact.as_ref().and_then(|r| match &r.kind {
        ReplayKind::Commit { time, .. } | ReplayKind::Abort { time, .. } => Some(rfc3339(*time)),
        _ => None,
    });
    out.timeline_path = timeline_path(&history, redo);

    // Why WAL ended, when it mattered.
    let wal_end_problem = |problems: &mut Vec<Problem>, pg: &str| {
        if let Some(e) = &damage {
            problems.push(
                Problem::error("wal_damaged", format!("WAL is damaged: {e}; recovery ends there"))
                    .postgres(pg.to_string())
                    .file(e.file().map(|f| f.display().to_string()).unwrap_or_default())
                    .lsn(e.lsn().unwrap_or_default()),
            );
        } else if let Some(m) = &missing {
            let name = SegmentName::new(m.expected, m.segno, seg);
            // Later WAL that recovery could still read (never an older timeline
            // than the last file opened) makes the missing file a gap, not the end.
            let later = (m.segno + 1..=max_seg)
                .any(|s| timeline::pick_segment(&ranges, s, cur, seg, exists).chosen.is_some());
            if later {
                problems.push(
                    Problem::error(
                        "missing_segment",
                        format!("{name} is missing from the archive (later WAL exists): recovery ends there"),
                    )
                    .file(name.to_string())
                    .postgres(pg.to_string()),
                );
            }
        }
    };

    match outcome {
        ReplayOutcome::Stops(p) => {
            out.stop = Some(stop_of(&p, &target, &history, &settings.timezone));
            if let Some(e) = &damage {
                // Replay reached the target before the damage: only a warning.
                problems.push(Problem::warning(
                    "wal_damaged_after_target",
                    format!("WAL after the stop point is damaged: {e}"),
                ));
            }
            if matches!(p.kind, StopKind::EndOfWal) {
                wal_end_problem(&mut problems, "(no error) recovery ends at the damage or gap and promotes");
                // A damaged or gapped end-of-WAL recovery silently stops early: an error.
            }
        }
        ReplayOutcome::StopBeforeConsistency(p) => {
            out.stop = Some(stop_of(&p, &target, &history, &settings.timezone));
            problems.push(
                Problem::error(
                    "stop_before_consistency",
                    format!(
                        "the target is reached at {} before the backup is consistent ({}): choose a later target",
                        p.record.as_ref().map(|r| r.start).unwrap_or(p.replay_lsn),
                        out.consistent_lsn.map(|l| l.to_string()).unwrap_or_else(|| "unknown".into())
                    ),
                )
                .lsn(p.record.as_ref().map(|r| r.start).unwrap_or(p.replay_lsn))
                .postgres("requested recovery stop point is before consistent recovery point"),
            );
        }
        ReplayOutcome::TargetNotReached { last_end, consistent } => {
            let pg = "recovery ended before configured recovery target was reached";
            let before = problems.len();
            wal_end_problem(&mut problems, pg);
            if problems.len() == before {
                let why = match &target {
                    RecoveryTarget::Immediate => "no WAL record follows the consistency point".to_string(),
                    RecoveryTarget::Time { .. } => format!(
                        "no commit or abort after the target time in the WAL of timeline {}'s path (it ends at {last_end})",
                        history.timeline
                    ),
                    _ => format!(
                        "the WAL on the path of timeline {} ends at {last_end} without it",
                        history.timeline
                    ),
                };
                let why = match &missing {
                    Some(m) => format!(
                        "{why} (the next file, {}, is not in the archive)",
                        SegmentName::new(m.expected, m.segno, seg)
                    ),
                    None => why,
                };
                let _ = consistent;
                problems.push(
                    Problem::error("target_not_reached", format!("{target} is not in the archive: {why}"))
                        .lsn(last_end)
                        .postgres(pg),
                );
            }
        }
        ReplayOutcome::EndsBeforeConsistency { last_end } => {
            let pg = if label.from_standby() {
                "WAL ends before consistent recovery point"
            } else {
                "WAL ends before end of online backup"
            };
            let before = problems.len();
            wal_end_problem(&mut problems, pg);
            if problems.len() == before {
                problems.push(
                    Problem::error(
                        "wal_ends_before_consistency",
                        format!("the WAL ends at {last_end}, before the backup is consistent"),
                    )
                    .lsn(last_end)
                    .postgres(pg)
                    .hint("All WAL generated while online backup was taken must be available at recovery."),
                );
            }
        }
    }

    // Warnings.
    if let RecoveryTarget::Name { name } = &target {
        if let Some(v) = restore_points.get(name) {
            if v.len() > 1 {
                problems.push(Problem::warning(
                    "duplicate_restore_point",
                    format!(
                        "restore point \"{name}\" occurs {} times after the backup ({}); PostgreSQL stops at the first",
                        v.len(),
                        v.iter().map(|l| l.to_string()).collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
        }
    }
    if let RecoveryTarget::Time { .. } = &target {
        if let Some((lsn, t, latest)) = replay.facts.time_regressions.first() {
            problems.push(Problem::warning(
                "commit_times_out_of_order",
                format!(
                    "commit/abort times go backwards at {lsn} ({} after {}): a time target stops at the first record \
                     later than the target, so transactions with earlier times after it are not applied",
                    rfc3339(*t),
                    rfc3339(*latest)
                ),
            ).lsn(*lsn));
        }
    }
    if matches!(req.action, TargetAction::Pause)
        && !settings.hot_standby
        && !matches!(target, RecoveryTarget::EndOfWal)
    {
        problems.push(Problem::warning(
            "pause_without_hot_standby",
            "hot_standby is off in the backup's configuration: PostgreSQL shuts down at the target instead of pausing",
        ).postgres("shutdown at recovery target"));
    }
    if settings.recovery_min_apply_delay.is_some() {
        problems.push(Problem::warning(
            "recovery_min_apply_delay",
            "the backup's configuration sets recovery_min_apply_delay; pitr sets it to 0 for the restore",
        ));
    }
    // Partial files of timelines on the path that hold WAL past what the archive has.
    for (name, f) in inventory.partials() {
        if history.contains(name.timeline) {
            if let (Some(segno), Some(last)) = (name.segno(seg), picks.last()) {
                if segno > last.segno || (segno == last.segno + 1) {
                    problems.push(Problem::warning(
                        "partial_holds_later_wal",
                        format!(
                            "{} holds WAL of timeline {} past the last complete segment; recovery never fetches .partial \
                             files: copy it into the archive without the suffix to use it",
                            f.relative, name.timeline
                        ),
                    ).file(f.relative.clone()));
                }
            }
        }
    }
    // The new timeline must not exist already in the archive the restored server archives to.
    if settings.archive_mode_on
        && settings.archive_command.is_some()
        && inventory.history().contains_key(&out.new_timeline)
    {
        problems.push(Problem::warning(
            "new_timeline_exists",
            format!("timeline {} already has a history file in the archive", out.new_timeline),
        ));
    }
    let _ = major;
    Ok(finish(out, problems))
}

fn finish(mut out: Plan, problems: Vec<Problem>) -> Plan {
    out.reachable = !problems.iter().any(|p| p.is_error());
    out.problems = problems;
    out
}

/// `pitr archive get ARCHIVE %f %p` with this executable's path.
pub fn default_restore_command(archive: &Path) -> String {
    let exe = std::env::current_exe()
        .ok()
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n == "pitr"))
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "pitr".to_string());
    format!("{} archive get {} %f %p", shell_word(&exe), shell_word(&archive.display().to_string()))
}

fn shell_word(s: &str) -> String {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"/._-+:=@%,".contains(&b)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

fn rfc3339(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

fn timeline_path(history: &TimelineHistory, redo: Lsn) -> Vec<TimelineStep> {
    history
        .ranges_oldest_first()
        .into_iter()
        .filter(|r| r.end.is_none_or(|e| e > redo))
        .map(|r| TimelineStep {
            timeline: r.timeline,
            from: r.begin.map_or(redo, |b| b.max(redo)),
            to: r.end,
        })
        .collect()
}

fn replay_record(rec: &wal::Record<'_>) -> ReplayRecord {
    use crate::wal::rmgr::{RM_XACT_ID, RM_XLOG_ID};
    let kind = match rec.rmid() {
        RM_XACT_ID => match wal::decode_record(rec) {
            Ok(Decoded::XactFinish(f)) => {
                let time = f.time.to_jiff().unwrap_or(jiff::Timestamp::UNIX_EPOCH);
                let xid = f.twophase_xid.unwrap_or(rec.xid());
                let prepared = matches!(f.kind, XactKind::CommitPrepared | XactKind::AbortPrepared);
                if f.kind.is_commit() {
                    ReplayKind::Commit { xid, time, prepared }
                } else {
                    ReplayKind::Abort { xid, time, prepared }
                }
            }
            _ => ReplayKind::OtherXact,
        },
        RM_XLOG_ID => match wal::decode_record(rec) {
            Ok(Decoded::RestorePoint { time, name }) => ReplayKind::RestorePoint {
                name: String::from_utf8_lossy(name).into_owned(),
                time: time.to_jiff().unwrap_or(jiff::Timestamp::UNIX_EPOCH),
            },
            Ok(Decoded::BackupEnd(start)) => ReplayKind::BackupEnd { backup_start: start },
            _ => ReplayKind::Other,
        },
        _ => ReplayKind::Other,
    };
    ReplayRecord { start: rec.lsn, end: rec.end_lsn, xid: rec.xid(), kind }
}

fn stop_of(p: &StopPoint, target: &RecoveryTarget, history: &TimelineHistory, tz: &TimeZone) -> Stop {
    let rec = p.record.as_ref();
    let before_after = if p.kind == StopKind::Before { "before" } else { "after" };
    let (xid, time, record, log_message) = match rec.map(|r| &r.kind) {
        Some(ReplayKind::Commit { xid, time, prepared }) => (
            Some(*xid),
            Some(*time),
            Some(if *prepared { "COMMIT_PREPARED" } else { "COMMIT" }),
            Some(format!(
                "recovery stopping {before_after} commit of transaction {xid}, time {}",
                target::format_pg_time(*time, tz)
            )),
        ),
        Some(ReplayKind::Abort { xid, time, prepared }) => (
            Some(*xid),
            Some(*time),
            Some(if *prepared { "ABORT_PREPARED" } else { "ABORT" }),
            Some(format!(
                "recovery stopping {before_after} abort of transaction {xid}, time {}",
                target::format_pg_time(*time, tz)
            )),
        ),
        Some(ReplayKind::RestorePoint { name, time }) => (
            None,
            Some(*time),
            Some("RESTORE_POINT"),
            Some(format!(
                "recovery stopping at restore point \"{name}\", time {}",
                target::format_pg_time(*time, tz)
            )),
        ),
        Some(_) => (
            rec.map(|r| r.xid).filter(|x| *x != 0),
            None,
            None,
            rec.map(|r| format!("recovery stopping {before_after} WAL location (LSN) \"{}\"", r.start)),
        ),
        None => (
            None,
            None,
            None,
            if p.kind == StopKind::Consistent {
                Some("recovery stopping after reaching consistency".to_string())
            } else {
                None
            },
        ),
    };
    // An LSN target stops on any record: the message is always the LSN form.
    let log_message = match (rec, target) {
        (Some(r), RecoveryTarget::Lsn { .. }) => {
            Some(format!("recovery stopping {before_after} WAL location (LSN) \"{}\"", r.start))
        }
        _ => log_message,
    };
    let at = rec.map(|r| r.start).unwrap_or(p.replay_lsn);
    Stop {
        kind: p.kind.clone(),
        record_lsn: rec.map(|r| r.start),
        record_end_lsn: rec.map(|r| r.end),
        replay_lsn: p.replay_lsn,
        xid,
        time: time.map(rfc3339),
        record: record.map(str::to_string),
        log_message,
        timeline: history.timeline_of(at).unwrap_or(history.timeline),
    }
}

/// Reads the record at `lsn` from one segment file; it must be a checkpoint.
fn read_checkpoint_record(path: &Path, lsn: Lsn, system_id: Option<u64>) -> Result<(), String> {
    let source = WalSource::from_paths(&[path]).map_err(|e| e.to_string())?;
    let opts = ReaderOptions {
        start: Some(lsn),
        system_id,
        data: DataFilter::none().with_rmgr(crate::wal::rmgr::RM_XLOG_ID),
        ..Default::default()
    };
    let mut reader = WalReader::open(source, opts).map_err(|e| e.to_string())?;
    match reader.next_record() {
        Ok(Some(rec)) if rec.lsn == lsn => match wal::decode_record(&rec) {
            Ok(Decoded::Checkpoint { .. }) => Ok(()),
            _ => Err(format!("the record at {lsn} is not a checkpoint")),
        },
        Ok(Some(rec)) => Err(format!("no record starts at {lsn} (next one at {})", rec.lsn)),
        Ok(None) => Err(format!("no record at {lsn}")),
        Err(e) => Err(e.to_string()),
    }
}
