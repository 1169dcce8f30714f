//! `backup_label` and backup history (`*.backup`) files, PostgreSQL 13 to 18.
//!
//! A `backup_label` is written by `pg_backup_start`/`pg_backup_stop` (and
//! `pg_basebackup`, and `pg_rewind`) and read by the server when recovery
//! starts from a base backup:
//!
//! ```text
//! START WAL LOCATION: 0/2000028 (file 000000010000000000000002)
//! CHECKPOINT LOCATION: 0/2000060
//! BACKUP METHOD: streamed
//! BACKUP FROM: primary
//! START TIME: 2026-11-24 00:57:28 UTC
//! LABEL: my label
//! START TIMELINE: 1
//! ```
//!
//! 13 writes `BACKUP FROM: master`, 13 and 14 write `BACKUP METHOD:
//! pg_start_backup` for exclusive backups, `pg_rewind` writes only the first
//! five lines (`BACKUP METHOD: pg_rewind`), 17+ add `INCREMENTAL FROM LSN` and
//! `INCREMENTAL FROM TLI` at the end for incremental backups. A backup history
//! file (archived next to the WAL when a backup taken on a primary ends) has
//! the same lines plus `STOP WAL LOCATION` as line 2 and `STOP TIME` / `STOP
//! TIMELINE` after `START TIMELINE`.
//!
//! [`BackupLabel::parse`] keeps every line: known lines become fields, other
//! lines are kept in [`BackupLabel::unknown_lines`]. Times are kept as text and
//! parsed where possible (they are in the server's `log_timezone`, with a zone
//! abbreviation).
//!
//! # Errors and warnings
//!
//! pitr mirrors `read_backup_label` (the only reader; the server never reads
//! `.backup` files, the same rules are applied to them for consistency):
//!
//! * **parse errors** (`Err`): line 1 is not `START WAL LOCATION: X/X (file
//!   <24 hex digits>)` followed by a newline, line 2 (line 3 in a backup
//!   history file, after `STOP WAL LOCATION`) is not `CHECKPOINT LOCATION: X/X`
//!   followed by a newline. The server stops with `invalid data in file
//!   "backup_label"` (a CR before the newline counts: a label saved with CRLF
//!   line ends is refused). pitr is stricter than the server's `sscanf` on
//!   the file name, which must be 24 upper-case hex digits.
//! * **errors** in [`BackupLabel::issues`]: things the server refuses at
//!   startup: `START TIMELINE` differing from the timeline of the file name in
//!   line 1 (`Timeline ID parsed is %u, but expected %u.`), and a
//!   `backup_label` of an incremental backup (`this is an incremental backup,
//!   not a data directory`, 17+).
//! * **warnings**: what the server accepts although PostgreSQL never writes
//!   it: the file name in line 1 not naming the segment of the LSN (the server
//!   takes only the timeline from it; see [`BackupLabel::check`], which needs
//!   the segment size), `CHECKPOINT LOCATION` before `START WAL LOCATION`
//!   (the server does not compare them; redo starts at the checkpoint record's
//!   own redo pointer), a stop location before the start, unknown lines,
//!   repeated lines, lines out of the canonical order or blank lines (the
//!   server reads the optional lines in a fixed order with `fscanf`, so such a
//!   line may be skipped, and the ones after it too), an empty `LABEL` (the
//!   server then reads the next line as the label), unknown `BACKUP METHOD`
//!   or `BACKUP FROM` values, a non-numeric `START TIMELINE` (the server skips
//!   its check), a missing `BACKUP METHOD` in a `backup_label` (the server then
//!   does not wait for the end-of-backup record).

use crate::compress;
pub use crate::error::Severity;
use crate::error::{Error, ParseError};
use crate::lsn::{Lsn, WalSegSize};
use crate::walfile::{SegmentName, TimeLineId, backup_history_file_name};
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// Largest label file pitr reads.
pub const MAX_LABEL_FILE_SIZE: u64 = 1 << 20;

/// Which of the two files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LabelKind {
    /// `backup_label` in a data directory.
    BackupLabel,
    /// A backup history file `TTTTTTTTXXXXXXXXYYYYYYYY.OOOOOOOO.backup`.
    BackupHistory,
}

impl LabelKind {
    fn what(self) -> &'static str {
        match self {
            LabelKind::BackupLabel => "backup_label",
            LabelKind::BackupHistory => "backup history file",
        }
    }
}

/// The lines of both files, in the order PostgreSQL writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LabelField {
    /// `START WAL LOCATION: X/X (file NAME)`
    StartWalLocation,
    /// `STOP WAL LOCATION: X/X (file NAME)` (backup history only)
    StopWalLocation,
    /// `CHECKPOINT LOCATION: X/X`
    CheckpointLocation,
    /// `BACKUP METHOD: streamed|pg_start_backup|pg_rewind`
    BackupMethod,
    /// `BACKUP FROM: primary|master|standby`
    BackupFrom,
    /// `START TIME: YYYY-MM-DD HH:MM:SS ZONE`
    StartTime,
    /// `LABEL: text`
    Label,
    /// `START TIMELINE: N`
    StartTimeline,
    /// `STOP TIME: ...` (backup history only)
    StopTime,
    /// `STOP TIMELINE: N` (backup history only)
    StopTimeline,
    /// `INCREMENTAL FROM LSN: X/X` (17+, incremental backups)
    IncrementalFromLsn,
    /// `INCREMENTAL FROM TLI: N` (17+, incremental backups)
    IncrementalFromTli,
}

impl LabelField {
    /// Every field, in canonical order.
    pub const ALL: [LabelField; 12] = [
        LabelField::StartWalLocation,
        LabelField::StopWalLocation,
        LabelField::CheckpointLocation,
        LabelField::BackupMethod,
        LabelField::BackupFrom,
        LabelField::StartTime,
        LabelField::Label,
        LabelField::StartTimeline,
        LabelField::StopTime,
        LabelField::StopTimeline,
        LabelField::IncrementalFromLsn,
        LabelField::IncrementalFromTli,
    ];

    /// The key as written, without the `": "`.
    pub const fn key(self) -> &'static str {
        match self {
            LabelField::StartWalLocation => "START WAL LOCATION",
            LabelField::StopWalLocation => "STOP WAL LOCATION",
            LabelField::CheckpointLocation => "CHECKPOINT LOCATION",
            LabelField::BackupMethod => "BACKUP METHOD",
            LabelField::BackupFrom => "BACKUP FROM",
            LabelField::StartTime => "START TIME",
            LabelField::Label => "LABEL",
            LabelField::StartTimeline => "START TIMELINE",
            LabelField::StopTime => "STOP TIME",
            LabelField::StopTimeline => "STOP TIMELINE",
            LabelField::IncrementalFromLsn => "INCREMENTAL FROM LSN",
            LabelField::IncrementalFromTli => "INCREMENTAL FROM TLI",
        }
    }

    /// True for the lines only backup history files have.
    pub const fn history_only(self) -> bool {
        matches!(self, LabelField::StopWalLocation | LabelField::StopTime | LabelField::StopTimeline)
    }

    fn of_line(line: &str) -> Option<(LabelField, &str)> {
        LabelField::ALL.into_iter().find_map(|f| {
            let rest = line.strip_prefix(f.key())?.strip_prefix(':')?;
            Some((f, rest.strip_prefix(' ').unwrap_or(rest)))
        })
    }
}

/// A WAL location with the file name written next to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct WalLocation {
    /// The LSN.
    pub lsn: Lsn,
    /// The WAL file named in the line. PostgreSQL derives it from the LSN; the
    /// server takes the timeline of the backup from it.
    pub file: SegmentName,
}

impl WalLocation {
    /// The location of `lsn` on `timeline`, with the file name PostgreSQL writes.
    pub fn new(lsn: Lsn, timeline: TimeLineId, seg: WalSegSize) -> WalLocation {
        WalLocation { lsn, file: SegmentName::of_lsn(timeline, lsn, seg) }
    }
}

/// `BACKUP METHOD`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BackupMethod {
    /// `streamed`: `pg_basebackup` or the non-exclusive low-level API (the only
    /// method from 15 on). The server waits for the end-of-backup record.
    Streamed,
    /// `pg_start_backup`: an exclusive backup (13, 14).
    PgStartBackup,
    /// `pg_rewind`: a data directory rewound by `pg_rewind`.
    PgRewind,
    /// Anything else (kept as written).
    Other(String),
}

impl BackupMethod {
    /// The method for its text.
    pub fn from_text(s: &str) -> BackupMethod {
        match s {
            "streamed" => BackupMethod::Streamed,
            "pg_start_backup" => BackupMethod::PgStartBackup,
            "pg_rewind" => BackupMethod::PgRewind,
            other => BackupMethod::Other(other.to_string()),
        }
    }

    /// The text as written.
    pub fn as_str(&self) -> &str {
        match self {
            BackupMethod::Streamed => "streamed",
            BackupMethod::PgStartBackup => "pg_start_backup",
            BackupMethod::PgRewind => "pg_rewind",
            BackupMethod::Other(s) => s,
        }
    }
}

impl fmt::Display for BackupMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for BackupMethod {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// `BACKUP FROM`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BackupFrom {
    /// `primary` (14+).
    Primary,
    /// `master` (13).
    Master,
    /// `standby`: taken on a standby (no backup history file is written).
    Standby,
    /// Anything else (kept as written).
    Other(String),
}

impl BackupFrom {
    /// The value for its text.
    pub fn from_text(s: &str) -> BackupFrom {
        match s {
            "primary" => BackupFrom::Primary,
            "master" => BackupFrom::Master,
            "standby" => BackupFrom::Standby,
            other => BackupFrom::Other(other.to_string()),
        }
    }

    /// The text as written.
    pub fn as_str(&self) -> &str {
        match self {
            BackupFrom::Primary => "primary",
            BackupFrom::Master => "master",
            BackupFrom::Standby => "standby",
            BackupFrom::Other(s) => s,
        }
    }

    /// True for `standby` (the server then checks the control file is a standby's).
    pub fn is_standby(&self) -> bool {
        *self == BackupFrom::Standby
    }
}

impl fmt::Display for BackupFrom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for BackupFrom {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A `START TIME` / `STOP TIME` value: `YYYY-MM-DD HH:MM:SS ZONE`, written in
/// the server's `log_timezone`. `ZONE` is the zone's abbreviation (`UTC`,
/// `CET`, `EDT`) or, for zones without one, a numeric offset (`+03`,
/// `+0530`, `-0330`).
///
/// The text is always kept. The civil time is parsed when the text has the
/// right shape; the instant ([`LabelTime::timestamp`]) only when the zone
/// fixes the offset: `UTC`, `GMT`, `UCT`, `Z` and numeric offsets. Other
/// abbreviations are ambiguous without the server's `timezone_abbreviations`
/// (`IST`, `CST`), so they are not guessed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LabelTime {
    /// The text as written.
    pub text: String,
    /// The date and time, without the zone.
    pub local: Option<jiff::civil::DateTime>,
    /// The zone as written.
    pub zone: Option<String>,
    /// The instant, when the zone determines it.
    pub timestamp: Option<jiff::Timestamp>,
}

impl LabelTime {
    /// Parses a time value; never fails (unparsable parts are `None`).
    pub fn parse(text: &str) -> LabelTime {
        let mut t = LabelTime { text: text.to_string(), local: None, zone: None, timestamp: None };
        let (dt_text, zone) = match text.get(..19) {
            Some(d) => (d, text.get(19..).unwrap_or("")),
            None => return t,
        };
        let Ok(local) = jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S", dt_text) else {
            return t;
        };
        t.local = Some(local);
        let zone = match zone.strip_prefix(' ') {
            Some(z) if !z.is_empty() && !z.contains(char::is_whitespace) => z,
            _ => return t,
        };
        t.zone = Some(zone.to_string());
        t.timestamp = zone_offset_seconds(zone)
            .and_then(|s| jiff::tz::Offset::from_seconds(s).ok())
            .and_then(|o| o.to_timestamp(local).ok());
        t
    }

    /// A time as PostgreSQL writes it for an instant in UTC (`... UTC`).
    pub fn utc(ts: jiff::Timestamp) -> LabelTime {
        LabelTime::parse(&format!("{} UTC", ts.strftime("%Y-%m-%d %H:%M:%S")))
    }
}

impl fmt::Display for LabelTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The UTC offset a zone text fixes, in seconds: `UTC`/`GMT`/`UCT`/`Z`, `+HH`,
/// `+HHMM`, `+HH:MM` (and `-`).
fn zone_offset_seconds(zone: &str) -> Option<i32> {
    if matches!(zone, "UTC" | "GMT" | "UCT" | "Z" | "Zulu" | "Universal") {
        return Some(0);
    }
    let (sign, rest) = match zone.as_bytes().first()? {
        b'+' => (1, &zone[1..]),
        b'-' => (-1, &zone[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) || rest.starts_with(':') || rest.ends_with(':') {
        return None;
    }
    let (h, m) = match digits.len() {
        1 | 2 => (digits.parse::<i32>().ok()?, 0),
        4 => (digits[..2].parse::<i32>().ok()?, digits[2..].parse::<i32>().ok()?),
        _ => return None,
    };
    if h > 15 || m > 59 {
        return None;
    }
    Some(sign * (h * 3600 + m * 60))
}

/// A line pitr does not know, kept as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnknownLine {
    /// 1-based line number.
    pub line: usize,
    /// The line without its line end.
    pub text: String,
}

/// A problem in a label (see the module documentation for what is an error and
/// what is a warning).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LabelIssue {
    /// Warning or error.
    pub severity: Severity,
    /// 1-based line, when the problem is on one line.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for LabelIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.severity)?;
        if let Some(l) = self.line {
            write!(f, "line {l}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// A parsed `backup_label` or backup history file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupLabel {
    /// Which file it is (a history file has `STOP WAL LOCATION` as line 2).
    pub kind: LabelKind,
    /// `START WAL LOCATION`: the redo point where replay begins, and its file.
    pub start: WalLocation,
    /// `STOP WAL LOCATION` (backup history files).
    pub stop: Option<WalLocation>,
    /// `CHECKPOINT LOCATION`: the checkpoint record recovery starts from.
    pub checkpoint: Lsn,
    /// `BACKUP METHOD`.
    pub method: Option<BackupMethod>,
    /// `BACKUP FROM`.
    pub from: Option<BackupFrom>,
    /// `START TIME`.
    pub start_time: Option<LabelTime>,
    /// `LABEL` (verbatim, no quoting).
    pub label: Option<String>,
    /// `START TIMELINE`.
    pub start_timeline: Option<TimeLineId>,
    /// `STOP TIME` (backup history files).
    pub stop_time: Option<LabelTime>,
    /// `STOP TIMELINE` (backup history files).
    pub stop_timeline: Option<TimeLineId>,
    /// `INCREMENTAL FROM LSN` (17+).
    pub incremental_from_lsn: Option<Lsn>,
    /// `INCREMENTAL FROM TLI` (17+).
    pub incremental_from_tli: Option<TimeLineId>,
    /// Lines pitr does not know, kept.
    pub unknown_lines: Vec<UnknownLine>,
    /// Problems found while parsing (those that need the segment size come
    /// from [`BackupLabel::check`]).
    pub issues: Vec<LabelIssue>,
    /// Line number of each field read.
    #[serde(skip)]
    lines: BTreeMap<LabelField, usize>,
}

impl BackupLabel {
    /// A label with only the mandatory lines (everything else `None`).
    pub fn new(kind: LabelKind, start: WalLocation, checkpoint: Lsn) -> BackupLabel {
        BackupLabel {
            kind,
            start,
            stop: None,
            checkpoint,
            method: None,
            from: None,
            start_time: None,
            label: None,
            start_timeline: None,
            stop_time: None,
            stop_timeline: None,
            incremental_from_lsn: None,
            incremental_from_tli: None,
            unknown_lines: Vec::new(),
            issues: Vec::new(),
            lines: BTreeMap::new(),
        }
    }

    /// Parses either file; the kind is recognised by line 2 (`STOP WAL
    /// LOCATION` in a backup history file).
    pub fn parse(text: &str) -> Result<BackupLabel, ParseError> {
        Self::parse_bytes(text.as_bytes())
    }

    /// [`BackupLabel::parse`] on raw bytes (non-UTF-8 text is decoded lossily).
    pub fn parse_bytes(bytes: &[u8]) -> Result<BackupLabel, ParseError> {
        let second = split_lines(bytes).nth(1).map(|l| l.text);
        let kind = match second {
            Some(l) if l.starts_with(b"STOP WAL LOCATION:") => LabelKind::BackupHistory,
            _ => LabelKind::BackupLabel,
        };
        Self::parse_as(bytes, kind)
    }

    /// Parses a file that must be of `kind` (a backup history file given as
    /// `backup_label` is an error, as it is for the server).
    pub fn parse_as(bytes: &[u8], kind: LabelKind) -> Result<BackupLabel, ParseError> {
        let what = kind.what();
        let invalid = |line: usize, msg: String| {
            ParseError::new(what, format!("invalid data in file \"{what}\": {msg}")).at_line(line)
        };
        let lines: Vec<RawLine<'_>> = split_lines(bytes).collect();
        let mandatory: &[LabelField] = match kind {
            LabelKind::BackupLabel => &[LabelField::StartWalLocation, LabelField::CheckpointLocation],
            LabelKind::BackupHistory => {
                &[LabelField::StartWalLocation, LabelField::StopWalLocation, LabelField::CheckpointLocation]
            }
        };
        let mut start = None;
        let mut stop = None;
        let mut checkpoint = None;
        for (i, field) in mandatory.iter().enumerate() {
            let n = i + 1;
            let form = match field {
                LabelField::CheckpointLocation => "CHECKPOINT LOCATION: X/X",
                LabelField::StopWalLocation => "STOP WAL LOCATION: X/X (file <24 hex digits>)",
                _ => "START WAL LOCATION: X/X (file <24 hex digits>)",
            };
            let Some(raw) = lines.get(i) else {
                return Err(invalid(n, format!("missing line {n}, expected \"{form}\"")));
            };
            let text = String::from_utf8_lossy(raw.text);
            if text.ends_with('\r') {
                return Err(invalid(
                    n,
                    format!("line {n} ends with CR (CRLF line ends): expected \"{form}\""),
                ));
            }
            let value = match LabelField::of_line(&text) {
                Some((f, v)) if f == *field => v,
                _ => return Err(invalid(n, format!("line {n} must be \"{form}\", found {text:?}"))),
            };
            if !raw.newline {
                return Err(invalid(n, format!("line {n} does not end with a newline")));
            }
            let bad = |why: &str| invalid(n, format!("{why} in {text:?}, expected \"{form}\""));
            match field {
                LabelField::CheckpointLocation => {
                    checkpoint = Some(Lsn::parse(value).map_err(|_| bad("bad LSN"))?);
                }
                _ => {
                    let loc = parse_location(value).map_err(|why| bad(&why))?;
                    if *field == LabelField::StopWalLocation {
                        stop = Some(loc);
                    } else {
                        start = Some(loc);
                    }
                }
            }
        }
        let (Some(start), Some(checkpoint)) = (start, checkpoint) else {
            return Err(invalid(1, "missing START WAL LOCATION or CHECKPOINT LOCATION".into()));
        };
        let mut l = BackupLabel::new(kind, start, checkpoint);
        l.stop = stop;
        for (i, f) in mandatory.iter().enumerate() {
            l.lines.insert(*f, i + 1);
        }

        let mut last_field = *mandatory.last().unwrap_or(&LabelField::CheckpointLocation);
        let warn = |issues: &mut Vec<LabelIssue>, line: usize, msg: String| {
            issues.push(LabelIssue { severity: Severity::Warning, line: Some(line), message: msg });
        };
        let mut issues = Vec::new();
        for (i, raw) in lines.iter().enumerate().skip(mandatory.len()) {
            let n = i + 1;
            let text = String::from_utf8_lossy(raw.text);
            let text = text.strip_suffix('\r').unwrap_or(&text).to_string();
            if text.trim().is_empty() {
                warn(
                    &mut issues,
                    n,
                    "blank line: PostgreSQL never writes one and may skip the lines after it".into(),
                );
                continue;
            }
            let Some((field, value)) = LabelField::of_line(&text) else {
                warn(&mut issues, n, format!("unknown line {text:?} (kept, ignored by PostgreSQL)"));
                l.unknown_lines.push(UnknownLine { line: n, text });
                continue;
            };
            if let Some(first) = l.lines.get(&field) {
                warn(
                    &mut issues,
                    n,
                    format!("{} repeated (first on line {first}); the first one is used", field.key()),
                );
                continue;
            }
            if field < last_field {
                warn(
                    &mut issues,
                    n,
                    format!(
                        "{} after {}: PostgreSQL reads these lines in a fixed order and may not see it",
                        field.key(),
                        last_field.key()
                    ),
                );
            } else {
                last_field = field;
            }
            if field.history_only() && kind == LabelKind::BackupLabel {
                warn(
                    &mut issues,
                    n,
                    format!("{} belongs in a backup history file, not in backup_label", field.key()),
                );
            }
            l.lines.insert(field, n);
            let value = value.to_string();
            match field {
                LabelField::StartWalLocation
                | LabelField::StopWalLocation
                | LabelField::CheckpointLocation => {
                    // Only where the mandatory lines are; elsewhere it is out of
                    // place (reported above) and parsed for information.
                    match parse_location(&value) {
                        Ok(loc) if field == LabelField::StopWalLocation && l.stop.is_none() => {
                            l.stop = Some(loc)
                        }
                        Ok(_) => {}
                        Err(why) => warn(&mut issues, n, format!("{}: {why}", field.key())),
                    }
                }
                LabelField::BackupMethod => {
                    let m = BackupMethod::from_text(&value);
                    if let BackupMethod::Other(o) = &m {
                        warn(&mut issues, n, format!("unknown BACKUP METHOD {o:?}"));
                    }
                    l.method = Some(m);
                }
                LabelField::BackupFrom => {
                    let f = BackupFrom::from_text(&value);
                    if let BackupFrom::Other(o) = &f {
                        warn(&mut issues, n, format!("unknown BACKUP FROM {o:?}"));
                    }
                    l.from = Some(f);
                }
                LabelField::StartTime => l.start_time = Some(LabelTime::parse(&value)),
                LabelField::StopTime => l.stop_time = Some(LabelTime::parse(&value)),
                LabelField::Label => {
                    if value.trim().is_empty() {
                        warn(
                            &mut issues,
                            n,
                            "empty LABEL: PostgreSQL reads the next line as the label and skips it".into(),
                        );
                    }
                    l.label = Some(value);
                }
                LabelField::StartTimeline | LabelField::StopTimeline | LabelField::IncrementalFromTli => {
                    match parse_decimal_u32(&value) {
                        Some(t) => match field {
                            LabelField::StartTimeline => l.start_timeline = Some(t),
                            LabelField::StopTimeline => l.stop_timeline = Some(t),
                            _ => l.incremental_from_tli = Some(t),
                        },
                        None => warn(
                            &mut issues,
                            n,
                            format!(
                                "{} {value:?} is not a timeline ID; PostgreSQL ignores the line",
                                field.key()
                            ),
                        ),
                    }
                }
                LabelField::IncrementalFromLsn => match Lsn::parse(&value) {
                    Ok(x) => l.incremental_from_lsn = Some(x),
                    Err(e) => warn(&mut issues, n, format!("INCREMENTAL FROM LSN: {}", e.message)),
                },
            }
        }
        l.issues = issues;
        l.semantic_issues();
        Ok(l)
    }

    /// Reads a file: `*.backup` names are backup history files, anything else
    /// (`backup_label`) is recognised by content. Compressed files are
    /// decompressed by extension.
    pub fn read(path: &Path) -> Result<BackupLabel, Error> {
        let bytes = compress::read_to_vec(path, MAX_LABEL_FILE_SIZE)?;
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let res = if name == "backup_label" || name == "backup_label.old" {
            Self::parse_as(&bytes, LabelKind::BackupLabel)
        } else if name.contains(".backup") {
            Self::parse_as(&bytes, LabelKind::BackupHistory)
        } else {
            Self::parse_bytes(&bytes)
        };
        Ok(res.map_err(|e| e.in_file(path))?)
    }

    /// Checks that need no segment size; appended to `issues` at parse time.
    fn semantic_issues(&mut self) {
        let mut v = Vec::new();
        let file_tli = self.start.file.timeline;
        if let Some(t) = self.start_timeline.filter(|t| *t != file_tli) {
            v.push(LabelIssue {
                severity: Severity::Error,
                line: self.line_of(LabelField::StartTimeline),
                message: format!(
                    "invalid data in file \"backup_label\": Timeline ID parsed is {t}, but expected {file_tli} \
                     (the timeline of the file name in line 1); PostgreSQL refuses to start"
                ),
            });
        }
        if self.checkpoint < self.start.lsn {
            v.push(LabelIssue {
                severity: Severity::Warning,
                line: self.line_of(LabelField::CheckpointLocation),
                message: format!(
                    "CHECKPOINT LOCATION {} is before START WAL LOCATION {}: PostgreSQL never writes this \
                     (the redo point precedes its checkpoint record)",
                    self.checkpoint, self.start.lsn
                ),
            });
        }
        if let Some(stop) = self.stop.filter(|s| s.lsn < self.start.lsn) {
            v.push(LabelIssue {
                severity: Severity::Warning,
                line: self.line_of(LabelField::StopWalLocation),
                message: format!(
                    "STOP WAL LOCATION {} is before START WAL LOCATION {}",
                    stop.lsn, self.start.lsn
                ),
            });
        }
        if let Some((stop, t)) = self.stop.zip(self.stop_timeline).filter(|(s, t)| s.file.timeline != *t) {
            v.push(LabelIssue {
                severity: Severity::Warning,
                line: self.line_of(LabelField::StopTimeline),
                message: format!(
                    "STOP TIMELINE {t} differs from the timeline {} of the stop file name",
                    stop.file.timeline
                ),
            });
        }
        if self.incremental_from_lsn.is_some() != self.incremental_from_tli.is_some() {
            v.push(LabelIssue {
                severity: Severity::Warning,
                line: self
                    .line_of(LabelField::IncrementalFromLsn)
                    .or(self.line_of(LabelField::IncrementalFromTli)),
                message: "INCREMENTAL FROM LSN and INCREMENTAL FROM TLI come together".into(),
            });
        }
        match self.kind {
            LabelKind::BackupLabel => {
                if self.is_incremental() {
                    v.push(LabelIssue {
                        severity: Severity::Error,
                        line: self.line_of(LabelField::IncrementalFromLsn),
                        message:
                            "this is an incremental backup, not a data directory: PostgreSQL refuses to \
                                  start from it (use pg_combinebackup to reconstruct a valid data directory)"
                                .into(),
                    });
                }
                if self.method.is_none() {
                    v.push(LabelIssue {
                        severity: Severity::Warning,
                        line: None,
                        message:
                            "no BACKUP METHOD line: PostgreSQL will not wait for the end-of-backup record"
                                .into(),
                    });
                }
            }
            LabelKind::BackupHistory => {
                for f in [LabelField::StopTime, LabelField::StopTimeline] {
                    if self.line_of(f).is_none() {
                        v.push(LabelIssue {
                            severity: Severity::Warning,
                            line: None,
                            message: format!("no {} line (PostgreSQL always writes one)", f.key()),
                        });
                    }
                }
            }
        }
        self.issues.extend(v);
    }

    /// The 1-based line a field was read from.
    pub fn line_of(&self, field: LabelField) -> Option<usize> {
        self.lines.get(&field).copied()
    }

    /// Every issue: those found while parsing plus the checks that need the
    /// segment size (file names in `START`/`STOP WAL LOCATION` naming the
    /// segment of their LSN: warnings, the server ignores the segment part).
    pub fn check(&self, seg: WalSegSize) -> Vec<LabelIssue> {
        let mut v = self.issues.clone();
        let mut loc = |field: LabelField, w: &WalLocation| {
            let expected = SegmentName::of_lsn(w.file.timeline, w.lsn, seg);
            if expected != w.file {
                v.push(LabelIssue {
                    severity: Severity::Warning,
                    line: self.line_of(field),
                    message: format!(
                        "{}: file {} does not hold {} with {seg} segments (expected {expected}); \
                         PostgreSQL only takes the timeline from the name",
                        field.key(),
                        w.file,
                        w.lsn
                    ),
                });
            }
        };
        loc(LabelField::StartWalLocation, &self.start);
        if let Some(s) = &self.stop {
            loc(LabelField::StopWalLocation, s);
        }
        v
    }

    /// The WAL segment sizes (1 MB to 1 GB) for which the file names of the
    /// start (and stop) location name the segments of their LSNs: the label's
    /// own evidence of the cluster's segment size. Several sizes fit when the
    /// LSNs are small (every size fits `0/28` in segment 0).
    pub fn consistent_segment_sizes(&self) -> Vec<WalSegSize> {
        (20..=30)
            .filter_map(|shift| WalSegSize::new(1 << shift))
            .filter(|seg| {
                let fits = |w: &WalLocation| SegmentName::of_lsn(w.file.timeline, w.lsn, *seg) == w.file;
                fits(&self.start) && self.stop.as_ref().is_none_or(fits)
            })
            .collect()
    }

    /// True when [`BackupLabel::check`] finds no error.
    pub fn is_valid(&self, seg: WalSegSize) -> bool {
        self.check(seg).iter().all(|i| i.severity != Severity::Error)
    }

    /// The timeline the backup starts on, as the server takes it: from the file
    /// name in line 1.
    pub fn timeline(&self) -> TimeLineId {
        self.start.file.timeline
    }

    /// The timeline the backup ended on: `STOP TIMELINE`, else the stop file
    /// name's, else the start timeline.
    pub fn end_timeline(&self) -> TimeLineId {
        self.stop_timeline.or(self.stop.map(|s| s.file.timeline)).unwrap_or_else(|| self.timeline())
    }

    /// The first WAL segment recovery needs: the one holding the start LSN.
    pub fn start_segment(&self, seg: WalSegSize) -> SegmentName {
        SegmentName::of_lsn(self.timeline(), self.start.lsn, seg)
    }

    /// The segment holding the stop LSN (backup history files), on the stop
    /// timeline.
    pub fn stop_segment(&self, seg: WalSegSize) -> Option<SegmentName> {
        self.stop.map(|s| SegmentName::of_lsn(self.end_timeline(), s.lsn, seg))
    }

    /// The name of the backup history file this backup has (or would have) in
    /// the archive: `<stop TLI><start segment>.<start offset>.backup`.
    pub fn history_file_name(&self, seg: WalSegSize) -> String {
        backup_history_file_name(self.end_timeline(), self.start.lsn, seg)
    }

    /// True for a label with `BACKUP FROM: standby`.
    pub fn from_standby(&self) -> bool {
        self.from.as_ref().is_some_and(BackupFrom::is_standby)
    }

    /// True for `BACKUP METHOD: streamed`: the server waits for the
    /// end-of-backup record before the data is consistent
    /// (`backupEndRequired`).
    pub fn requires_backup_end(&self) -> bool {
        self.method == Some(BackupMethod::Streamed)
    }

    /// True for an incremental backup (17+).
    pub fn is_incremental(&self) -> bool {
        self.incremental_from_lsn.is_some()
    }

    /// The canonical text of the file (as PostgreSQL writes it, for
    /// [`BackupLabel::kind`]): known lines in order, `None` fields left out,
    /// unknown lines appended at the end.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let loc = |w: &WalLocation| format!("{} (file {})", w.lsn, w.file);
        for f in LabelField::ALL {
            if f.history_only() && self.kind == LabelKind::BackupLabel {
                continue;
            }
            let value = match f {
                LabelField::StartWalLocation => Some(loc(&self.start)),
                LabelField::StopWalLocation => self.stop.as_ref().map(loc),
                LabelField::CheckpointLocation => Some(self.checkpoint.to_string()),
                LabelField::BackupMethod => self.method.as_ref().map(|m| m.to_string()),
                LabelField::BackupFrom => self.from.as_ref().map(|m| m.to_string()),
                LabelField::StartTime => self.start_time.as_ref().map(|t| t.text.clone()),
                LabelField::Label => self.label.clone(),
                LabelField::StartTimeline => self.start_timeline.map(|t| t.to_string()),
                LabelField::StopTime => self.stop_time.as_ref().map(|t| t.text.clone()),
                LabelField::StopTimeline => self.stop_timeline.map(|t| t.to_string()),
                LabelField::IncrementalFromLsn => self.incremental_from_lsn.map(|l| l.to_string()),
                LabelField::IncrementalFromTli => self.incremental_from_tli.map(|t| t.to_string()),
            };
            if let Some(v) = value {
                s.push_str(f.key());
                s.push_str(": ");
                s.push_str(&v);
                s.push('\n');
            }
        }
        for u in &self.unknown_lines {
            s.push_str(&u.text);
            s.push('\n');
        }
        s
    }
}

impl fmt::Display for BackupLabel {
    /// The canonical text, as [`BackupLabel::to_text`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

struct RawLine<'a> {
    text: &'a [u8],
    newline: bool,
}

fn split_lines(bytes: &[u8]) -> impl Iterator<Item = RawLine<'_>> {
    let mut rest = bytes;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        match rest.iter().position(|&b| b == b'\n') {
            Some(p) => {
                let line = RawLine { text: &rest[..p], newline: true };
                rest = &rest[p + 1..];
                Some(line)
            }
            None => {
                let line = RawLine { text: rest, newline: false };
                rest = &[];
                Some(line)
            }
        }
    })
}

/// `X/X (file NAME)`.
fn parse_location(value: &str) -> Result<WalLocation, String> {
    let (lsn_text, rest) = value.split_once(" (file ").ok_or("expected \"X/X (file NAME)\"")?;
    let name = rest.strip_suffix(')').ok_or("missing ')' at the end")?;
    let lsn = Lsn::parse(lsn_text).map_err(|e| format!("bad LSN: {}", e.message))?;
    let file = SegmentName::parse(name).map_err(|e| format!("bad file name: {}", e.message))?;
    Ok(WalLocation { lsn, file })
}

/// A plain decimal `u32` (what `%u` reads from a PostgreSQL-written file).
fn parse_decimal_u32(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PG15_LABEL: &str = "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)
CHECKPOINT LOCATION: 0/2000060
BACKUP METHOD: streamed
BACKUP FROM: primary
START TIME: 2026-11-24 00:57:28 UTC
LABEL: my label O'Brien
START TIMELINE: 1
";
    const PG15_HISTORY: &str = "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)
STOP WAL LOCATION: 0/2000100 (file 000000010000000000000002)
CHECKPOINT LOCATION: 0/2000060
BACKUP METHOD: streamed
BACKUP FROM: primary
START TIME: 2026-11-24 00:57:28 UTC
LABEL: my label O'Brien
START TIMELINE: 1
STOP TIME: 2026-11-24 00:57:28 UTC
STOP TIMELINE: 1
";

    fn seg16() -> WalSegSize {
        WalSegSize::DEFAULT
    }

    #[test]
    fn parses_a_label_of_15() {
        let l = BackupLabel::parse(PG15_LABEL).unwrap();
        assert_eq!(l.kind, LabelKind::BackupLabel);
        assert_eq!(l.start.lsn, Lsn(0x2000028));
        assert_eq!(l.start.file.to_string(), "000000010000000000000002");
        assert_eq!(l.checkpoint, Lsn(0x2000060));
        assert_eq!(l.method, Some(BackupMethod::Streamed));
        assert_eq!(l.from, Some(BackupFrom::Primary));
        assert_eq!(l.label.as_deref(), Some("my label O'Brien"));
        assert_eq!(l.start_timeline, Some(1));
        let t = l.start_time.as_ref().unwrap();
        assert_eq!(t.text, "2026-11-24 00:57:28 UTC");
        assert_eq!(t.zone.as_deref(), Some("UTC"));
        assert_eq!(t.timestamp.unwrap().to_string(), "2026-11-24T00:57:28Z");
        assert!(l.issues.is_empty(), "{:?}", l.issues);
        assert!(l.check(seg16()).is_empty());
        assert_eq!(l.to_text(), PG15_LABEL);
        assert_eq!(l.timeline(), 1);
        assert_eq!(l.start_segment(seg16()).to_string(), "000000010000000000000002");
        assert_eq!(l.history_file_name(seg16()), "000000010000000000000002.00000028.backup");
        assert!(l.requires_backup_end() && !l.from_standby() && !l.is_incremental());
        assert_eq!(l.line_of(LabelField::StartTimeline), Some(7));
        assert_eq!(l.consistent_segment_sizes(), vec![seg16()]);
        let small =
            BackupLabel::parse(&PG15_LABEL.replace("0/2000028", "0/28").replace("02)", "00)")).unwrap();
        assert_eq!(small.consistent_segment_sizes().len(), 11);
    }

    #[test]
    fn parses_a_backup_history_file() {
        let l = BackupLabel::parse(PG15_HISTORY).unwrap();
        assert_eq!(l.kind, LabelKind::BackupHistory);
        assert_eq!(l.stop.unwrap().lsn, Lsn(0x2000100));
        assert_eq!(l.stop_timeline, Some(1));
        assert_eq!(l.stop_time.as_ref().unwrap().text, "2026-11-24 00:57:28 UTC");
        assert!(l.issues.is_empty(), "{:?}", l.issues);
        assert_eq!(l.to_text(), PG15_HISTORY);
        assert_eq!(l.stop_segment(seg16()).unwrap().to_string(), "000000010000000000000002");
        // As backup_label it is refused, as by the server.
        let e = BackupLabel::parse_as(PG15_HISTORY.as_bytes(), LabelKind::BackupLabel).unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(e.message.contains("CHECKPOINT LOCATION"), "{e}");
    }

    #[test]
    fn older_and_other_writers() {
        // 13: master; exclusive backups; pg_rewind's five lines; 17 incremental.
        let pg13 = PG15_LABEL.replace("primary", "master").replace("streamed", "pg_start_backup");
        let l = BackupLabel::parse(&pg13).unwrap();
        assert_eq!(l.from, Some(BackupFrom::Master));
        assert_eq!(l.method, Some(BackupMethod::PgStartBackup));
        assert!(!l.requires_backup_end());
        assert!(l.issues.is_empty());
        assert_eq!(l.to_text(), pg13);
        let rewind = "START WAL LOCATION: 0/3000028 (file 000000020000000000000003)\n\
                      CHECKPOINT LOCATION: 0/3000060\nBACKUP METHOD: pg_rewind\nBACKUP FROM: standby\n\
                      START TIME: 2026-11-24 01:57:28 CET\n";
        let l = BackupLabel::parse(rewind).unwrap();
        assert_eq!(l.method, Some(BackupMethod::PgRewind));
        assert!(l.from_standby());
        assert_eq!(l.timeline(), 2);
        let t = l.start_time.as_ref().unwrap();
        assert_eq!(t.zone.as_deref(), Some("CET"));
        assert!(t.local.is_some() && t.timestamp.is_none());
        assert!(l.issues.is_empty(), "{:?}", l.issues);
        assert_eq!(l.to_text(), rewind);
        let incr = format!("{PG15_LABEL}INCREMENTAL FROM LSN: 0/1000028\nINCREMENTAL FROM TLI: 1\n");
        let l = BackupLabel::parse(&incr).unwrap();
        assert!(l.is_incremental());
        assert_eq!(l.incremental_from_tli, Some(1));
        assert_eq!(l.issues.len(), 1);
        assert_eq!((l.issues[0].severity, l.issues[0].line), (Severity::Error, Some(8)));
        assert!(l.issues[0].message.contains("not a data directory"));
        assert_eq!(l.to_text(), incr);
        // The same lines in a backup history file are no problem.
        let hist = format!("{PG15_HISTORY}INCREMENTAL FROM LSN: 0/1000028\nINCREMENTAL FROM TLI: 1\n");
        let l = BackupLabel::parse(&hist).unwrap();
        assert!(l.issues.is_empty(), "{:?}", l.issues);
        assert_eq!(l.to_text(), hist);
    }

    #[test]
    fn mandatory_lines_are_errors_with_line_numbers() {
        let cases: &[(&str, usize, &str)] = &[
            ("", 1, "missing line 1"),
            ("CHECKPOINT LOCATION: 0/1\n", 1, "must be"),
            ("START WAL LOCATION: 0/2000028 (file 000000010000000000000002)", 1, "newline"),
            ("START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\r\n", 1, "CR"),
            ("START WAL LOCATION: 0/2000028 (file 00000001000000000000002)\n", 1, "bad file name"),
            ("START WAL LOCATION: 0/20000G8 (file 000000010000000000000002)\n", 1, "bad LSN"),
            ("START WAL LOCATION: 0/2000028 (file 000000010000000000000002\n", 1, "')'"),
            ("START WAL LOCATION: 0/2000028\n", 1, "expected"),
            ("START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\n", 2, "missing line 2"),
            (
                "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\nCHECKPOINT LOCATION: 0/2000060",
                2,
                "newline",
            ),
            (
                "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\nCHECKPOINT LOCATION: x\n",
                2,
                "bad LSN",
            ),
            (
                "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\nBACKUP METHOD: streamed\n",
                2,
                "must be",
            ),
        ];
        for (text, line, msg) in cases {
            let e = BackupLabel::parse(text).unwrap_err();
            assert_eq!(e.line, Some(*line), "{text:?}: {e}");
            assert!(e.message.contains(msg), "{text:?}: {e}");
            assert!(e.message.contains("invalid data in file \"backup_label\""), "{e}");
        }
        let e = BackupLabel::parse(
            "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\nSTOP WAL LOCATION: 0/1\n",
        )
        .unwrap_err();
        assert_eq!((e.what, e.line), ("backup history file", Some(2)));
    }

    #[test]
    fn errors_and_warnings_per_server_behaviour() {
        // START TIMELINE differs from the file name's TLI: the server refuses.
        let l = BackupLabel::parse(&PG15_LABEL.replace("START TIMELINE: 1", "START TIMELINE: 2")).unwrap();
        assert_eq!(l.issues.len(), 1);
        assert_eq!((l.issues[0].severity, l.issues[0].line), (Severity::Error, Some(7)));
        assert!(l.issues[0].message.contains("Timeline ID parsed is 2, but expected 1"));
        assert!(!l.is_valid(seg16()));
        // File name not matching the LSN: accepted by the server -> warning, needs the segment size.
        let moved = PG15_LABEL.replace("(file 000000010000000000000002)", "(file 000000010000000000000005)");
        let l = BackupLabel::parse(&moved).unwrap();
        assert!(l.issues.is_empty());
        let c = l.check(seg16());
        assert_eq!(c.len(), 1);
        assert_eq!((c[0].severity, c[0].line), (Severity::Warning, Some(1)));
        assert!(c[0].message.contains("expected 000000010000000000000002"), "{}", c[0]);
        assert!(l.is_valid(seg16()));
        // With 1 MB segments, 0/2000028 is in segment 0x20.
        let l = BackupLabel::parse(PG15_LABEL).unwrap();
        assert_eq!(l.check(WalSegSize::new(1 << 20).unwrap()).len(), 1);
        // CHECKPOINT before START: warning.
        let l = BackupLabel::parse(
            &PG15_LABEL.replace("CHECKPOINT LOCATION: 0/2000060", "CHECKPOINT LOCATION: 0/1000060"),
        )
        .unwrap();
        assert_eq!((l.issues[0].severity, l.issues[0].line), (Severity::Warning, Some(2)));
        // Unknown, repeated, out-of-order and blank lines; odd values.
        let odd = "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\n\
                   CHECKPOINT LOCATION: 0/2000060\n\
                   LABEL: x\n\
                   BACKUP METHOD: streamed\n\
                   BACKUP FROM: primary\n\
                   BACKUP FROM: standby\n\
                   \n\
                   FUTURE THING: 42\n\
                   START TIMELINE: one\n\
                   BACKUP FROM2: x\n";
        let l = BackupLabel::parse(odd).unwrap();
        let lines: Vec<_> = l.issues.iter().map(|i| (i.severity, i.line)).collect();
        assert_eq!(
            lines,
            vec![
                (Severity::Warning, Some(4)),
                (Severity::Warning, Some(5)),
                (Severity::Warning, Some(6)),
                (Severity::Warning, Some(7)),
                (Severity::Warning, Some(8)),
                (Severity::Warning, Some(9)),
                (Severity::Warning, Some(10)),
            ],
            "{:#?}",
            l.issues
        );
        assert_eq!(l.from, Some(BackupFrom::Primary));
        assert_eq!(l.unknown_lines.len(), 2);
        assert_eq!(l.unknown_lines[0], UnknownLine { line: 8, text: "FUTURE THING: 42".into() });
        assert!(l.to_text().ends_with("FUTURE THING: 42\nBACKUP FROM2: x\n"));
        // Missing BACKUP METHOD in a label; empty LABEL.
        let l =
            BackupLabel::parse(&PG15_LABEL.replace("BACKUP METHOD: streamed\n", "").replace("O'Brien", ""))
                .unwrap();
        assert_eq!(l.issues.len(), 1, "{:?}", l.issues);
        let l = BackupLabel::parse(&PG15_LABEL.replace("LABEL: my label O'Brien", "LABEL: ")).unwrap();
        assert!(l.issues[0].message.contains("empty LABEL"));
    }

    #[test]
    fn times() {
        let t = LabelTime::parse("2026-11-24 00:57:28 +0530");
        assert_eq!(t.timestamp.unwrap().to_string(), "2026-11-23T19:27:28Z");
        let t = LabelTime::parse("2026-11-24 00:57:28 -03");
        assert_eq!(t.timestamp.unwrap().to_string(), "2026-11-24T03:57:28Z");
        let t = LabelTime::parse("2026-11-24 00:57:28 -03:30");
        assert_eq!(t.timestamp.unwrap().to_string(), "2026-11-24T04:27:28Z");
        let t = LabelTime::parse("2026-11-24 00:57:28 GMT");
        assert_eq!(t.timestamp.unwrap().to_string(), "2026-11-24T00:57:28Z");
        for bad in
            ["", "yesterday", "2026-13-24 00:57:28 UTC", "2026-11-24 00:57:28", "2026-11-24 00:57:28 +9999"]
        {
            let t = LabelTime::parse(bad);
            assert_eq!(t.text, bad);
            assert!(t.timestamp.is_none(), "{bad}");
        }
        assert!(LabelTime::parse("2026-11-24 00:57:28").local.is_some());
        let ts: jiff::Timestamp = "2026-11-24T00:57:28Z".parse().unwrap();
        assert_eq!(LabelTime::utc(ts).text, "2026-11-24 00:57:28 UTC");
    }

    #[test]
    fn json_shape() {
        let l = BackupLabel::parse(PG15_HISTORY).unwrap();
        let j = serde_json::to_value(&l).unwrap();
        assert_eq!(j["kind"], "backup_history");
        assert_eq!(j["start"]["lsn"], "0/2000028");
        assert_eq!(j["start"]["file"], "000000010000000000000002");
        assert_eq!(j["method"], "streamed");
        assert_eq!(j["from"], "primary");
        assert_eq!(j["start_time"]["timestamp"], "2026-11-24T00:57:28Z");
        assert_eq!(j["stop_timeline"], 1);
    }

    fn arb_label() -> impl Strategy<Value = BackupLabel> {
        let text = "[!-~][ -~]{0,40}";
        (
            (any::<bool>(), 1u32..=0xFFFF, any::<u32>(), 0u64..(1 << 30), 20u32..=30),
            prop::option::of(prop_oneof![
                Just(BackupMethod::Streamed),
                Just(BackupMethod::PgStartBackup),
                Just(BackupMethod::PgRewind)
            ]),
            prop::option::of(prop_oneof![
                Just(BackupFrom::Primary),
                Just(BackupFrom::Master),
                Just(BackupFrom::Standby)
            ]),
            prop::option::of(text),
            (any::<bool>(), 0i64..4_000_000_000, prop::option::of((any::<u64>(), 1u32..100))),
            prop::collection::vec("[a-z][a-z ]{0,10}: [ -~]{0,10}", 0..3),
        )
            .prop_map(
                |((history, tli, start, extra, shift), method, from, label, (times, secs, incr), unknown)| {
                    let seg = WalSegSize::new(1 << shift).unwrap();
                    let start_lsn = Lsn(u64::from(start) << 8);
                    let kind = if history { LabelKind::BackupHistory } else { LabelKind::BackupLabel };
                    let mut l = BackupLabel::new(
                        kind,
                        WalLocation::new(start_lsn, tli, seg),
                        Lsn(start_lsn.0 + extra),
                    );
                    l.method = method;
                    l.from = from;
                    l.label = label;
                    l.start_timeline = Some(tli);
                    if times {
                        let ts = jiff::Timestamp::from_second(secs).unwrap();
                        l.start_time = Some(LabelTime::utc(ts));
                    }
                    if history {
                        l.stop = Some(WalLocation::new(Lsn(start_lsn.0 + 2 * extra), tli, seg));
                        l.stop_timeline = Some(tli);
                        l.stop_time = l.start_time.clone();
                    }
                    if let Some((x, t)) = incr {
                        l.incremental_from_lsn = Some(Lsn(x));
                        l.incremental_from_tli = Some(t);
                    }
                    l.unknown_lines = unknown
                        .into_iter()
                        .enumerate()
                        .map(|(i, text)| UnknownLine { line: i, text })
                        .collect();
                    l
                },
            )
    }

    proptest! {
        #[test]
        fn format_parse_round_trip(l in arb_label()) {
            let text = l.to_text();
            let back = BackupLabel::parse(&text).unwrap();
            prop_assert_eq!(back.kind, l.kind);
            prop_assert_eq!(back.start, l.start);
            prop_assert_eq!(back.stop, l.stop);
            prop_assert_eq!(back.checkpoint, l.checkpoint);
            prop_assert_eq!(&back.method, &l.method);
            prop_assert_eq!(&back.from, &l.from);
            prop_assert_eq!(&back.label, &l.label);
            prop_assert_eq!(&back.start_time, &l.start_time);
            prop_assert_eq!(back.start_timeline, l.start_timeline);
            prop_assert_eq!(&back.stop_time, &l.stop_time);
            prop_assert_eq!(back.stop_timeline, l.stop_timeline);
            prop_assert_eq!(back.incremental_from_lsn, l.incremental_from_lsn);
            prop_assert_eq!(back.incremental_from_tli, l.incremental_from_tli);
            let texts = |l: &BackupLabel| l.unknown_lines.iter().map(|u| u.text.clone()).collect::<Vec<_>>();
            prop_assert_eq!(texts(&back), texts(&l));
            prop_assert_eq!(back.to_text(), text);
        }

        #[test]
        fn parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
            if let Ok(l) = BackupLabel::parse_bytes(&bytes) {
                let _ = l.check(WalSegSize::DEFAULT);
                let _ = l.to_text();
            }
        }

        #[test]
        fn parse_never_panics_on_label_like_text(tail in "([A-Z ]{0,22}: ?[ -~]{0,30}\n?){0,8}") {
            let text = format!("{PG15_LABEL}{tail}");
            let l = BackupLabel::parse(&text).unwrap();
            let _ = l.check(WalSegSize::DEFAULT);
            let _ = BackupLabel::parse(&format!("START WAL LOCATION: 0/1 (file 000000010000000000000000)\n{tail}"));
        }
    }
}
