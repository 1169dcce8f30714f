//! Marks: "this is where we were before the risky change".
//!
//! [`mark`] records the server's time, WAL position, timeline and WAL file,
//! optionally creates a restore point and switches WAL; [`append_mark`] adds
//! it to a JSON-lines log (one object per line, appended with `O_APPEND` and
//! fsync, never rewritten); [`read_marks`] reads the log back, and
//! [`mark_target`] turns a named mark into a recovery target.
//!
//! Which target, and why (also in `docs/live.md`):
//! * a mark with a restore point whose name is unique in the log:
//!   `recovery_target_name` = the name. Recovery stops right after the restore
//!   point record; the target is a real WAL record that recovery reports by
//!   name in its log.
//! * a mark with a restore point whose name occurs more than once in the log:
//!   recovery stops at the *first* restore point of that name after the
//!   backup's start, which may be an older one. The target is then
//!   `recovery_target_lsn` = the end of this mark's restore point record with
//!   `recovery_target_inclusive = false`: recovery stops before the first
//!   record at or after that LSN, i.e. right after the same restore point.
//! * a mark without a restore point: `recovery_target_lsn` = the insert
//!   position at the mark (`pg_current_wal_insert_lsn()`) with
//!   `recovery_target_inclusive = false`: everything inserted before the mark
//!   is replayed, nothing inserted after it. The WAL write position
//!   (`pg_current_wal_lsn()`, recorded as `lsn`) can lag the insert position,
//!   so it would cut off records inserted just before the mark.
//! * never the time: `recovery_target_time` only looks at commit records, is
//!   compared at microsecond resolution with commit times that do not follow
//!   WAL order exactly, and its text is read in the restored server's TimeZone.
//!
//! Every target also names the mark's timeline (`recovery_target_timeline`),
//! so that recovery follows the history the mark was taken on.

use super::LiveError;
use super::check::archived_through;
use super::conn::Session;
use crate::error::{Error, IoError, IoResultExt, ParseError};
use crate::fsutil;
use crate::lsn::{Lsn, WalSegSize};
use crate::plan::{RecoveryTarget, TimelineTarget};
use crate::walfile::{SegmentName, TimeLineId};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, Instant};

/// The mark log format this version writes and reads.
pub const MARK_FORMAT: u32 = 1;
/// Longest restore point name, in bytes (`MAXFNAMELEN - 1`).
pub const MAX_RESTORE_POINT_NAME: usize = 63;
/// The default mark log, in the current directory.
pub const DEFAULT_MARK_LOG: &str = "pitr-marks.jsonl";

/// A recorded mark: one line of the mark log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    /// Format of this record ([`MARK_FORMAT`]).
    pub format: u32,
    /// The mark's name (also the restore point's name when one was created).
    #[serde(default)]
    pub name: Option<String>,
    /// The server's `clock_timestamp()` at the mark, RFC 3339 in UTC.
    pub time: Timestamp,
    /// `pg_current_wal_lsn()` at the mark (the WAL write position).
    pub lsn: Lsn,
    /// `pg_current_wal_insert_lsn()` at the mark: the next record starts here
    /// or later. Used as the target of a mark without a restore point.
    #[serde(default)]
    pub insert_lsn: Option<Lsn>,
    /// The timeline WAL was written on.
    pub timeline: TimeLineId,
    /// The segment holding `lsn` on `timeline`, computed (not
    /// `pg_walfile_name()`, which on 13 to 16 names the previous segment for
    /// an LSN exactly on a segment boundary).
    pub wal_file: SegmentName,
    /// `wal_segment_size` in bytes.
    pub wal_segment_size: WalSegSize,
    /// The database system identifier (decimal string), when the server
    /// allowed `pg_control_system()`.
    #[serde(default, with = "opt_u64_text")]
    pub system_id: Option<u64>,
    /// `server_version` at the mark.
    #[serde(default)]
    pub server_version: Option<String>,
    /// The LSN `pg_create_restore_point(name)` returned: the *end* of the
    /// restore point record. `None` when no restore point was created.
    #[serde(default)]
    pub restore_point_lsn: Option<Lsn>,
    /// The LSN `pg_switch_wal()` returned (the end of the switch record), with
    /// `--switch`.
    #[serde(default)]
    pub switch_lsn: Option<Lsn>,
}

mod opt_u64_text {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(n) => s.collect_str(n),
            None => s.serialize_none(),
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Text {
        Str(String),
        Num(u64),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        match Option::<Text>::deserialize(d)? {
            None => Ok(None),
            Some(Text::Num(n)) => Ok(Some(n)),
            Some(Text::Str(s)) => s
                .parse()
                .map(Some)
                .map_err(|_| serde::de::Error::custom(format!("system_id {s:?} is not a decimal number"))),
        }
    }
}

impl Mark {
    /// Checks that the fields agree with each other (what [`read_marks`]
    /// enforces on every line).
    pub fn validate(&self) -> Result<(), String> {
        if self.format != MARK_FORMAT {
            return Err(format!(
                "format {} is not supported (this pitr reads format {MARK_FORMAT})",
                self.format
            ));
        }
        if self.timeline == 0 {
            return Err("timeline 0 does not exist".into());
        }
        let expected = SegmentName::of_lsn(self.timeline, self.lsn, self.wal_segment_size);
        if self.wal_file != expected {
            return Err(format!(
                "wal_file {} does not hold lsn {} on timeline {} with {} segments (expected {expected})",
                self.wal_file, self.lsn, self.timeline, self.wal_segment_size
            ));
        }
        if let Some(i) = self.insert_lsn {
            if i < self.lsn {
                return Err(format!("insert_lsn {i} is before lsn {}", self.lsn));
            }
        }
        if let Some(rp) = self.restore_point_lsn {
            let Some(name) = &self.name else {
                return Err("restore_point_lsn without a name".into());
            };
            if name.len() > MAX_RESTORE_POINT_NAME {
                return Err(format!(
                    "restore point name is {} bytes (at most {MAX_RESTORE_POINT_NAME})",
                    name.len()
                ));
            }
            if rp <= self.lsn {
                return Err(format!("restore_point_lsn {rp} is not after lsn {}", self.lsn));
            }
        }
        Ok(())
    }

    /// This mark as a recovery target, ignoring other marks of the same name
    /// (see [`mark_target`] for the choice made with the whole log).
    pub fn target(&self) -> MarkTarget {
        match (&self.name, self.restore_point_lsn) {
            (Some(name), Some(end)) => MarkTarget {
                kind: MarkTargetKind::RestorePoint { name: name.clone(), end_lsn: end },
                timeline: self.timeline,
                time: self.time,
                system_id: self.system_id,
                why: format!(
                    "the mark created restore point {name:?}; recovery stops right after that record, which ends at {end}"
                ),
            },
            _ => self.lsn_target(),
        }
    }

    /// This mark as an LSN target: after its restore point if it has one
    /// (the end of that record, exclusive), else before the first record
    /// inserted after the mark (the insert LSN, exclusive).
    pub fn lsn_target(&self) -> MarkTarget {
        let (lsn, why) = match self.restore_point_lsn {
            Some(end) => (
                end,
                format!(
                    "stop before the first record at or after {end}, where this mark's restore point ends"
                ),
            ),
            None => {
                let l = self.insert_lsn.unwrap_or(self.lsn);
                (
                    l,
                    format!(
                        "no restore point: stop before the first WAL record written after the mark (at or after {l})"
                    ),
                )
            }
        };
        MarkTarget {
            kind: MarkTargetKind::Lsn { lsn, inclusive: false },
            timeline: self.timeline,
            time: self.time,
            system_id: self.system_id,
            why,
        }
    }
}

/// A mark turned into a recovery target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MarkTarget {
    /// The target.
    #[serde(flatten)]
    pub kind: MarkTargetKind,
    /// The mark's timeline (`recovery_target_timeline`).
    pub timeline: TimeLineId,
    /// When the mark was taken (for display; not the target).
    pub time: Timestamp,
    /// The system identifier recorded with the mark, to check against the
    /// backup and the archive.
    #[serde(serialize_with = "super::ser_opt_u64_string")]
    pub system_id: Option<u64>,
    /// Why this form of target was chosen.
    pub why: String,
}

/// The form of a mark's target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MarkTargetKind {
    /// `recovery_target_name`.
    RestorePoint {
        /// The restore point name.
        name: String,
        /// Where its record ends (what `pg_create_restore_point` returned);
        /// recovery stops here.
        end_lsn: Lsn,
    },
    /// `recovery_target_lsn` with `recovery_target_inclusive`.
    Lsn {
        /// The LSN.
        lsn: Lsn,
        /// Always false for marks: stop before the record at or after `lsn`.
        inclusive: bool,
    },
}

impl MarkTarget {
    /// The recovery settings for this target, in the order to write them:
    /// the target, `recovery_target_inclusive` for an LSN, and
    /// `recovery_target_timeline`.
    pub fn recovery_settings(&self) -> Vec<(&'static str, String)> {
        let mut v = match &self.kind {
            MarkTargetKind::RestorePoint { name, .. } => vec![("recovery_target_name", name.clone())],
            MarkTargetKind::Lsn { lsn, inclusive } => vec![
                ("recovery_target_lsn", lsn.to_string()),
                ("recovery_target_inclusive", if *inclusive { "true" } else { "false" }.to_string()),
            ],
        };
        v.push(("recovery_target_timeline", self.timeline.to_string()));
        v
    }

    /// The planner's form of this target: the target, `recovery_target_inclusive`
    /// when it applies (always `Some(false)` for an LSN target), and the
    /// timeline (the mark's, by number).
    pub fn to_recovery_target(&self) -> (RecoveryTarget, Option<bool>, TimelineTarget) {
        let timeline = TimelineTarget::Numbered(self.timeline);
        match &self.kind {
            MarkTargetKind::RestorePoint { name, .. } => {
                (RecoveryTarget::Name { name: name.clone() }, None, timeline)
            }
            MarkTargetKind::Lsn { lsn, inclusive } => {
                (RecoveryTarget::Lsn { lsn: *lsn }, Some(*inclusive), timeline)
            }
        }
    }
}

/// Options of [`mark`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MarkOptions {
    /// The mark's name.
    pub name: Option<String>,
    /// Create a restore point named `name` (needs a name, at most 63 bytes).
    pub restore_point: bool,
    /// `pg_switch_wal()` after the mark, so that its segment is archived now.
    pub switch: bool,
}

/// Records a mark on a primary (not written anywhere: see [`append_mark`]).
///
/// Order: time and positions in one statement, then the restore point, then
/// the switch. Needs superuser or a GRANT for `pg_create_restore_point` and
/// `pg_switch_wal`.
pub fn mark(session: &mut Session, opts: &MarkOptions) -> Result<Mark, LiveError> {
    if let Some(n) = &opts.name {
        if n.is_empty() {
            return Err(LiveError::Invalid("a mark name cannot be empty".into()));
        }
        if opts.restore_point && n.len() > MAX_RESTORE_POINT_NAME {
            return Err(LiveError::Invalid(format!(
                "mark name {n:?} is {} bytes: a restore point name has at most {MAX_RESTORE_POINT_NAME}",
                n.len()
            )));
        }
    } else if opts.restore_point {
        return Err(LiveError::Invalid("a restore point needs a name".into()));
    }
    let server = session.refresh()?.clone();
    if server.in_recovery {
        return Err(LiveError::InRecovery {
            endpoint: session.endpoint().to_string(),
            action: "a mark needs pg_current_wal_lsn() and restore points, which only a primary has".into(),
        });
    }
    let what = "mark position";
    let row = session.query_one(
        what,
        "SELECT clock_timestamp(), pg_current_wal_lsn(), pg_current_wal_insert_lsn(), \
         pg_walfile_name(pg_current_wal_lsn())",
        &[],
    )?;
    let time = session
        .time_col(&row, 0, what)?
        .ok_or_else(|| session.unexpected(what, "clock_timestamp() is NULL"))?;
    let lsn = session
        .lsn_col(&row, 1, what)?
        .ok_or_else(|| session.unexpected(what, "pg_current_wal_lsn() is NULL"))?;
    let insert_lsn = session.lsn_col(&row, 2, what)?;
    let walfile: Option<String> = session.col(&row, 3, what)?;
    let timeline = walfile
        .as_deref()
        .and_then(|n| n.get(0..8))
        .and_then(|h| u32::from_str_radix(h, 16).ok())
        .or(server.timeline)
        .ok_or_else(|| {
            session.unexpected(what, format!("cannot tell the timeline from pg_walfile_name() = {walfile:?}"))
        })?;
    let seg = server.wal_segment_size;

    let restore_point_lsn = match (&opts.name, opts.restore_point) {
        (Some(name), true) => {
            let what = "pg_create_restore_point";
            let row = session.query_one(what, "SELECT pg_create_restore_point($1)", &[name])?;
            Some(session.lsn_col(&row, 0, what)?.ok_or_else(|| session.unexpected(what, "returned NULL"))?)
        }
        _ => None,
    };
    let switch_lsn = if opts.switch {
        let what = "pg_switch_wal";
        let row = session.query_one(what, "SELECT pg_switch_wal()", &[])?;
        Some(session.lsn_col(&row, 0, what)?.ok_or_else(|| session.unexpected(what, "returned NULL"))?)
    } else {
        None
    };
    Ok(Mark {
        format: MARK_FORMAT,
        name: opts.name.clone(),
        time,
        lsn,
        insert_lsn,
        timeline,
        wal_file: SegmentName::of_lsn(timeline, lsn, seg),
        wal_segment_size: seg,
        system_id: server.system_id,
        server_version: Some(server.version.clone()),
        restore_point_lsn,
        switch_lsn,
    })
}

/// The segment number that must be archived for the mark to be usable: the
/// one holding the end of the last record the mark wrote (the switch record,
/// the restore point), else the mark's own segment.
pub fn mark_segment(mark: &Mark) -> u64 {
    let seg = mark.wal_segment_size;
    let mut s = mark.lsn.segment(seg);
    for end in [mark.restore_point_lsn, mark.switch_lsn].into_iter().flatten() {
        s = s.max(end.prev_segment(seg));
    }
    s
}

/// Waits until `pg_stat_archiver` reports the mark's segment
/// ([`mark_segment`]) archived, polling every 100 ms. Returns false on timeout,
/// and at once when `archive_mode` is off (nothing will ever be archived).
pub fn wait_archived(session: &mut Session, mark: &Mark, timeout: Duration) -> Result<bool, LiveError> {
    let want = mark_segment(mark);
    let what = "archive_mode";
    let row = session.query_one(what, "SELECT current_setting('archive_mode')", &[])?;
    if session.col::<String>(&row, 0, what)?.as_deref() == Some("off") {
        return Ok(false);
    }
    let start = Instant::now();
    loop {
        let what = "pg_stat_archiver";
        let row = session.query_one(what, "SELECT last_archived_wal FROM pg_stat_archiver", &[])?;
        let last: Option<String> = session.col(&row, 0, what)?;
        if last.as_deref().and_then(|l| archived_through(l, mark.wal_segment_size)).is_some_and(|s| s >= want)
        {
            return Ok(true);
        }
        if start.elapsed() >= timeout {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Appends `mark` as one line to the log at `path` (created if missing):
/// `O_APPEND`, one write, fsync (and fsync of the directory when the file is
/// new). The file is never rewritten; a last line without its newline (an
/// interrupted write) is closed first so that the new mark stays on a line of
/// its own.
pub fn append_mark(path: &Path, mark: &Mark) -> Result<(), IoError> {
    let mut line = serde_json::to_string(mark).map_err(|e| IoError::new(path, std::io::Error::other(e)))?;
    line.push('\n');
    let existed = path.exists();
    let mut f = OpenOptions::new().read(true).append(true).create(true).open(path).at_path(path)?;
    let len = f.metadata().at_path(path)?.len();
    if len > 0 {
        let mut last = [0u8; 1];
        f.seek(SeekFrom::Start(len - 1)).at_path(path)?;
        f.read_exact(&mut last).at_path(path)?;
        if last[0] != b'\n' {
            line.insert(0, '\n');
        }
    }
    f.write_all(line.as_bytes()).at_path(path)?;
    f.sync_all().at_path(path)?;
    if !existed {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        fsutil::sync_dir(dir)?;
    }
    Ok(())
}

/// Reads a mark log. Errors name the file and the line.
pub fn read_marks(path: &Path) -> Result<Vec<Mark>, Error> {
    let text = std::fs::read(path).at_path(path)?;
    let text = String::from_utf8(text)
        .map_err(|e| ParseError::new("mark log", format!("not UTF-8: {e}")).in_file(path))?;
    parse_marks(&text).map_err(|e| Error::Parse(e.in_file(path)))
}

/// Parses mark log text: one JSON object per line; blank lines and lines
/// starting with `#` are skipped. Each mark is [validated](Mark::validate).
pub fn parse_marks(text: &str) -> Result<Vec<Mark>, ParseError> {
    let mut marks = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let m: Mark = serde_json::from_str(t).map_err(|e| {
            let msg = e.to_string();
            let msg = match msg.rfind(" at line ") {
                Some(p) => msg[..p].to_string(),
                None => msg,
            };
            let lead = line.len() - line.trim_start().len();
            ParseError::new("mark log", msg).at_line(n).at_position(lead + e.column().saturating_sub(1))
        })?;
        m.validate().map_err(|msg| ParseError::new("mark log", msg).at_line(n))?;
        marks.push(m);
    }
    Ok(marks)
}

/// The mark named `name`; when several have that name, the last one (the most
/// recent: the log is in the order marks were taken).
pub fn find_mark<'a>(marks: &'a [Mark], name: &str) -> Option<&'a Mark> {
    marks.iter().rev().find(|m| m.name.as_deref() == Some(name))
}

/// The recovery target of the mark named `name` (the last of that name): its
/// restore point when the name is unique among the log's restore points, else
/// the equivalent LSN target (see the module documentation).
pub fn mark_target(marks: &[Mark], name: &str) -> Result<MarkTarget, Error> {
    let Some(m) = find_mark(marks, name) else {
        let mut known: Vec<&str> = marks.iter().filter_map(|m| m.name.as_deref()).collect();
        known.sort_unstable();
        known.dedup();
        return Err(Error::Invalid(if known.is_empty() {
            format!("no mark named {name:?}: the mark log has no named marks")
        } else {
            format!("no mark named {name:?} (named marks: {})", known.join(", "))
        }));
    };
    let same_name_rps =
        marks.iter().filter(|x| x.name.as_deref() == Some(name) && x.restore_point_lsn.is_some()).count();
    if m.restore_point_lsn.is_some() && same_name_rps > 1 {
        let mut t = m.lsn_target();
        t.why = format!(
            "{name:?} names {same_name_rps} restore points in the mark log and recovery_target_name stops at the \
             first one after the backup's start; the last mark's restore point ends at {}, so the target is that \
             LSN, exclusive, which stops right after the same record",
            m.restore_point_lsn.unwrap_or(m.lsn)
        );
        return Ok(t);
    }
    Ok(m.target())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: Option<&str>, rp: Option<u64>) -> Mark {
        let seg = WalSegSize::new(1 << 20).unwrap();
        Mark {
            format: MARK_FORMAT,
            name: name.map(str::to_string),
            time: "2025-03-01T08:00:00.123456Z".parse().unwrap(),
            lsn: Lsn(0x30_0060),
            insert_lsn: Some(Lsn(0x30_0098)),
            timeline: 1,
            wal_file: SegmentName::of_lsn(1, Lsn(0x30_0060), seg),
            wal_segment_size: seg,
            system_id: Some(7_400_000_000_000_000_001),
            server_version: Some("15.8".into()),
            restore_point_lsn: rp.map(Lsn),
            switch_lsn: None,
        }
    }

    #[test]
    fn json_round_trip_and_stable_field_forms() {
        let m = sample(Some("before"), Some(0x30_00F0));
        let line = serde_json::to_string(&m).unwrap();
        assert!(line.contains(r#""time":"2025-03-01T08:00:00.123456Z""#), "{line}");
        assert!(line.contains(r#""lsn":"0/300060""#), "{line}");
        assert!(line.contains(r#""wal_file":"000000010000000000000003""#), "{line}");
        assert!(line.contains(r#""system_id":"7400000000000000001""#), "{line}");
        assert!(line.contains(r#""wal_segment_size":1048576"#), "{line}");
        let back: Mark = serde_json::from_str(&line).unwrap();
        assert_eq!(back, m);
        assert_eq!(parse_marks(&format!("{line}\n\n# comment\n{line}\n")).unwrap().len(), 2);
    }

    #[test]
    fn minimal_hand_written_mark() {
        let m = parse_marks(
            r#"{"format":1,"time":"2025-03-01T09:00:00+01:00","lsn":"0/300060","timeline":1,"wal_file":"000000010000000000000003","wal_segment_size":1048576,"system_id":7}"#,
        )
        .unwrap();
        assert_eq!(m[0].time.to_string(), "2025-03-01T08:00:00Z");
        assert_eq!(m[0].system_id, Some(7));
        assert_eq!(m[0].target().kind, MarkTargetKind::Lsn { lsn: Lsn(0x30_0060), inclusive: false });
    }

    #[test]
    fn parse_errors_name_the_line_and_position() {
        let good = serde_json::to_string(&sample(None, None)).unwrap();
        let e = parse_marks(&format!("{good}\n  {{\"format\":1, oops}}\n")).unwrap_err();
        assert_eq!(e.line, Some(2));
        assert_eq!(e.position, Some(15), "{e}");
        assert!(!e.message.contains("at line"), "{e}");
        let e = parse_marks(&format!("\n{}\n", good.replace("\"0/300060\"", "\"0/zz\""))).unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(e.to_string().contains("LSN"), "{e}");
        let e =
            parse_marks(&good.replace("000000010000000000000003", "000000010000000000000004")).unwrap_err();
        assert!(e.message.contains("does not hold lsn"), "{e}");
        let e = parse_marks(&good.replace("\"format\":1", "\"format\":2")).unwrap_err();
        assert!(e.message.contains("format 2"), "{e}");
        let e = parse_marks(&good.replace("\"time\":", "\"when\":")).unwrap_err();
        assert!(e.message.contains("missing field `time`"), "{e}");
        let rp = serde_json::to_string(&sample(Some("x"), Some(0x30_0010))).unwrap();
        assert!(parse_marks(&rp).unwrap_err().message.contains("not after lsn"));
        let anon = serde_json::to_string(&sample(None, Some(0x30_00F0))).unwrap();
        assert!(parse_marks(&anon).unwrap_err().message.contains("without a name"));
        let long = serde_json::to_string(&sample(Some(&"n".repeat(64)), Some(0x30_00F0))).unwrap();
        assert!(parse_marks(&long).unwrap_err().message.contains("64 bytes"));
    }

    #[test]
    fn last_mark_of_a_name_wins_and_targets_are_chosen() {
        let a1 = sample(Some("a"), Some(0x30_00F0));
        let mut a2 = sample(Some("a"), Some(0x50_00F0));
        a2.lsn = Lsn(0x50_0060);
        a2.insert_lsn = Some(Lsn(0x50_0060));
        a2.wal_file = SegmentName::of_lsn(1, a2.lsn, a2.wal_segment_size);
        let b = sample(Some("b"), None);
        let c = sample(Some("c"), Some(0x30_00F0));
        let marks = vec![a1, a2.clone(), b, c];
        assert_eq!(find_mark(&marks, "a"), Some(&a2));
        assert_eq!(find_mark(&marks, "zz"), None);

        // Unique restore point: by name.
        let t = mark_target(&marks, "c").unwrap();
        assert_eq!(t.kind, MarkTargetKind::RestorePoint { name: "c".into(), end_lsn: Lsn(0x30_00F0) });
        assert_eq!(
            t.recovery_settings(),
            vec![("recovery_target_name", "c".to_string()), ("recovery_target_timeline", "1".to_string())]
        );
        // Name used twice: the last one's restore point end, exclusive.
        let t = mark_target(&marks, "a").unwrap();
        assert_eq!(t.kind, MarkTargetKind::Lsn { lsn: Lsn(0x50_00F0), inclusive: false });
        assert!(t.why.contains("2 restore points"), "{}", t.why);
        // No restore point: the insert LSN, exclusive.
        let t = mark_target(&marks, "b").unwrap();
        assert_eq!(t.kind, MarkTargetKind::Lsn { lsn: Lsn(0x30_0098), inclusive: false });
        assert_eq!(
            t.recovery_settings(),
            vec![
                ("recovery_target_lsn", "0/300098".to_string()),
                ("recovery_target_inclusive", "false".to_string()),
                ("recovery_target_timeline", "1".to_string())
            ]
        );
        assert_eq!(
            t.to_recovery_target(),
            (RecoveryTarget::Lsn { lsn: Lsn(0x30_0098) }, Some(false), TimelineTarget::Numbered(1))
        );
        let tc = mark_target(&marks, "c").unwrap();
        assert_eq!(
            tc.to_recovery_target(),
            (RecoveryTarget::Name { name: "c".into() }, None, TimelineTarget::Numbered(1))
        );
        let e = mark_target(&marks, "zz").unwrap_err().to_string();
        assert!(e.contains("named marks: a, b, c"), "{e}");
        let j = serde_json::to_value(&t).unwrap();
        assert_eq!(j["type"], "lsn");
        assert_eq!(j["lsn"], "0/300098");
        assert_eq!(j["system_id"], "7400000000000000001");
    }

    #[test]
    fn mark_segment_covers_restore_point_and_switch() {
        let mut m = sample(Some("a"), Some(0x30_00F0));
        assert_eq!(mark_segment(&m), 3);
        m.switch_lsn = Some(Lsn(0x40_0000)); // end of the switch record = end of segment 3
        assert_eq!(mark_segment(&m), 3);
        m.switch_lsn = Some(Lsn(0x40_0018));
        assert_eq!(mark_segment(&m), 4);
    }

    #[test]
    fn append_never_rewrites_and_repairs_a_torn_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("marks.jsonl");
        let m1 = sample(Some("one"), None);
        let m2 = sample(Some("two"), Some(0x30_00F0));
        append_mark(&log, &m1).unwrap();
        let first = std::fs::read(&log).unwrap();
        append_mark(&log, &m2).unwrap();
        let both = std::fs::read(&log).unwrap();
        assert!(both.starts_with(&first));
        assert_eq!(read_marks(&log).unwrap(), vec![m1.clone(), m2.clone()]);
        // A torn line (no newline): the next mark starts on its own line, and
        // reading reports the torn line by number.
        std::fs::OpenOptions::new().append(true).open(&log).unwrap().write_all(b"{\"format\":1").unwrap();
        append_mark(&log, &m1).unwrap();
        let text = std::fs::read_to_string(&log).unwrap();
        assert_eq!(text.lines().count(), 4);
        match read_marks(&log).unwrap_err() {
            Error::Parse(e) => {
                assert_eq!(e.line, Some(3));
                assert_eq!(e.file.as_deref(), Some(log.as_path()));
            }
            other => panic!("{other}"),
        }
        assert!(matches!(read_marks(&dir.path().join("none")), Err(Error::Io(_))));
    }
}
