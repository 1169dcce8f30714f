//! Timeline history files (`TTTTTTTT.history`).
//!
//! When a server ends archive recovery and promotes, it starts a new timeline
//! and writes its history file: the parent's history copied verbatim, then one
//! line `<parent TLI>\t<switch LSN>\t<reason>\n` (with a blank line before it
//! when the parent had a history file). Each entry says "timeline `parent`
//! ended at `switch_lsn`; the next entry's timeline (or the file's own
//! timeline, for the last entry) begins there".
//!
//! [`TimelineHistory::parse`] reads a file exactly like PostgreSQL's
//! `readTimeLineHistory` (13 to 18):
//!
//! * the file is read in `fgets` chunks of at most 1023 bytes; a chunk that is
//!   empty, all white space, or starts with `#` after white space is skipped;
//! * each other chunk is scanned like `sscanf("%u\t%X/%X")`: white space
//!   (space, tab, `\v`, `\f`, `\r`) may precede each number, the tab may be
//!   any run of white space (even none), `+` signs and `0x` prefixes on the
//!   hex halves are accepted; the rest of the line is the free *reason* text,
//!   which pitr keeps;
//! * the server's errors, with their messages: `syntax error in history file`
//!   (no timeline ID / no switch point), `Timeline IDs must be in increasing
//!   sequence`, `Timeline IDs must be less than child timeline's ID`.
//!
//! Where `sscanf` would silently wrap a number (a `-` sign, a value beyond 32
//! bits) pitr reports an error instead: PostgreSQL never writes such a file,
//! and accepting a wrapped value would hide the damage.
//!
//! Problems the server does *not* detect (switch points going backwards, a
//! switch point of `0/0`, a parent timeline 0, an empty file, a history file
//! for timeline 1) are reported by [`TimelineHistory::issues`].
//!
//! The queries mirror `timeline.c`: [`TimelineHistory::timeline_of`]
//! (`tliOfPointInHistory`), [`TimelineHistory::switch_point`]
//! (`tliSwitchPoint`), [`TimelineHistory::contains`] (`tliInHistory`) and
//! [`TimelineHistory::ranges`] (the list `readTimeLineHistory` returns).
//! [`HistorySet`] loads every history file of a directory (an archive or
//! `pg_wal`), compressed or not, checks that they agree with each other and
//! answers `findNewestTimeLine`.

use crate::compress;
pub use crate::error::Severity;
use crate::error::{Error, IoError, IoResultExt, ParseError};
use crate::lsn::Lsn;
use crate::walfile::{TimeLineId, WalFileKind, WalFileName, history_file_name};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

const WHAT: &str = "timeline history";

/// `fgets` buffer of `readTimeLineHistory` (MAXPGPATH) minus the terminating NUL.
const FGETS_CHUNK: usize = 1023;

/// Largest history file pitr reads (a real one is a few hundred bytes per
/// timeline; this allows thousands of timelines).
pub const MAX_HISTORY_FILE_SIZE: u64 = 16 << 20;

/// One line of a history file: `parent` ended at `switch_lsn`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    /// The timeline that ended (the parent of the next one).
    pub parent: TimeLineId,
    /// Where it ended: the first LSN of the next timeline.
    pub switch_lsn: Lsn,
    /// The free text after the LSN, without the separating white space and the
    /// line end (e.g. `after transaction 728`, `no recovery target specified`).
    pub reason: String,
    /// 1-based line number in the file (0 for an entry built in memory).
    pub line: usize,
}

impl HistoryEntry {
    /// An entry built in memory (line number 0).
    pub fn new(parent: TimeLineId, switch_lsn: Lsn, reason: impl Into<String>) -> HistoryEntry {
        HistoryEntry { parent, switch_lsn, reason: reason.into(), line: 0 }
    }

    /// True when PostgreSQL ends this reason with its own newline, which leaves
    /// an extra blank line in the file: the reasons of time and LSN targets
    /// (`before 2026-11-24 00:57:58.019639+00`, `after LSN 0/50001A8`).
    /// Reasons of xid targets (`before transaction 728`) have none.
    pub fn reason_has_newline(&self) -> bool {
        let rest = self.reason.strip_prefix("before ").or_else(|| self.reason.strip_prefix("after "));
        match rest {
            Some(r) => r.starts_with("LSN ") || r.as_bytes().first().is_some_and(u8::is_ascii_digit),
            None => false,
        }
    }
}

/// A timeline's span on the way to a history's timeline: from `begin`
/// (inclusive) to `end` (exclusive). `None` means unbounded, like the server's
/// `InvalidXLogRecPtr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TimelineRange {
    /// The timeline.
    pub timeline: TimeLineId,
    /// First LSN on this timeline (`None`: from the beginning of WAL).
    pub begin: Option<Lsn>,
    /// First LSN no longer on this timeline (`None`: not ended, the tip).
    pub end: Option<Lsn>,
}

impl TimelineRange {
    /// True when `lsn` lies in `[begin, end)`.
    pub fn contains(&self, lsn: Lsn) -> bool {
        self.begin.is_none_or(|b| b <= lsn) && self.end.is_none_or(|e| lsn < e)
    }
}

/// Where a timeline ended on the way to a history's timeline, and which
/// timeline followed it (`tliSwitchPoint`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SwitchPoint {
    /// The first LSN of the next timeline.
    pub lsn: Lsn,
    /// The timeline that begins there.
    pub next_timeline: TimeLineId,
}

/// A failed query on a history, with the server's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimelineError {
    /// `tliSwitchPoint` on a timeline that is not an ancestor of (or equal to)
    /// the history's timeline.
    #[error("requested timeline {0} is not in this server's history")]
    NotInHistory(TimeLineId),
    /// `tliOfPointInHistory` found no timeline holding the LSN (only possible
    /// when switch points go backwards).
    #[error("timeline history was not contiguous (no timeline holds {0})")]
    NotContiguous(Lsn),
}

/// A problem found by [`TimelineHistory::issues`] or [`HistorySet`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryIssue {
    /// Warning or error.
    pub severity: Severity,
    /// The timeline whose history file has the problem.
    pub timeline: TimeLineId,
    /// 1-based line, when the problem is on one line.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for HistoryIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.severity, history_file_name(self.timeline))?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// The parsed history file of one timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimelineHistory {
    /// The timeline this history leads to (from the file name).
    pub timeline: TimeLineId,
    /// The entries, oldest first, as in the file.
    pub entries: Vec<HistoryEntry>,
}

impl TimelineHistory {
    /// The history of a timeline without a history file (timeline 1): no
    /// entries.
    pub fn root(timeline: TimeLineId) -> TimelineHistory {
        TimelineHistory { timeline, entries: Vec::new() }
    }

    /// Parses the text of `TTTTTTTT.history` for `timeline`, like
    /// `readTimeLineHistory`. Errors name the line.
    pub fn parse(timeline: TimeLineId, text: &str) -> Result<TimelineHistory, ParseError> {
        Self::parse_bytes(timeline, text.as_bytes())
    }

    /// [`TimelineHistory::parse`] on raw bytes (the reason text is decoded
    /// lossily when it is not UTF-8).
    pub fn parse_bytes(timeline: TimeLineId, bytes: &[u8]) -> Result<TimelineHistory, ParseError> {
        let mut entries: Vec<HistoryEntry> = Vec::new();
        let mut line_no = 1usize;
        let mut rest = bytes;
        while !rest.is_empty() {
            // fgets: up to and including '\n', at most FGETS_CHUNK bytes.
            let limit = rest.len().min(FGETS_CHUNK);
            let (chunk, ends_line) = match rest[..limit].iter().position(|&b| b == b'\n') {
                Some(nl) => (&rest[..=nl], true),
                None => (&rest[..limit], false),
            };
            let continued = chunk_is_continuation(bytes, rest);
            rest = &rest[chunk.len()..];
            let this_line = line_no;
            if ends_line {
                line_no += 1;
            }
            // The C string ends at the first NUL.
            let chunk = match chunk.iter().position(|&b| b == 0) {
                Some(p) => &chunk[..p],
                None => chunk,
            };
            let first = chunk.iter().position(|&b| !is_c_space(b));
            match first {
                None => continue,
                Some(p) if chunk[p] == b'#' => continue,
                Some(_) => {}
            }
            let shown = String::from_utf8_lossy(chunk.strip_suffix(b"\n").unwrap_or(chunk)).into_owned();
            let note = if continued {
                " (this is the rest of a line longer than 1023 bytes, which PostgreSQL reads as a line of its own)"
            } else {
                ""
            };
            let syntax = |hint: &str| {
                ParseError::new(WHAT, format!("syntax error in history file: {shown:?}: {hint}{note}"))
                    .at_line(this_line)
            };
            let mut s = Scanner { b: chunk, pos: 0 };
            let parent = match s.unsigned(10) {
                Scanned::Value(v) => v,
                Scanned::None => return Err(syntax("Expected a numeric timeline ID.")),
                Scanned::OutOfRange(at) => {
                    return Err(ParseError::new(
                        WHAT,
                        format!("timeline ID out of range in {shown:?} (PostgreSQL would wrap it silently)"),
                    )
                    .at_line(this_line)
                    .at_position(at));
                }
            };
            s.skip_space();
            let hi = s.unsigned(16);
            let lo = match hi {
                Scanned::Value(_) if s.eat(b'/') => s.unsigned(16),
                _ => Scanned::None,
            };
            let (hi, lo) = match (hi, lo) {
                (Scanned::Value(h), Scanned::Value(l)) => (h, l),
                (Scanned::OutOfRange(at), _) | (_, Scanned::OutOfRange(at)) => {
                    return Err(ParseError::new(
                        WHAT,
                        format!(
                            "switch point out of range in {shown:?} (PostgreSQL would truncate it silently)"
                        ),
                    )
                    .at_line(this_line)
                    .at_position(at));
                }
                _ => return Err(syntax("Expected a write-ahead log switchpoint location.")),
            };
            if entries.last().is_some_and(|last| parent <= last.parent) {
                return Err(ParseError::new(
                    WHAT,
                    format!(
                        "invalid data in history file: {shown:?}: Timeline IDs must be in increasing sequence."
                    ),
                )
                .at_line(this_line));
            }
            let reason_bytes = &chunk[s.pos..];
            let reason_bytes = trim_line_end(reason_bytes);
            let start =
                reason_bytes.iter().position(|&b| b != b'\t' && b != b' ').unwrap_or(reason_bytes.len());
            let reason = String::from_utf8_lossy(&reason_bytes[start..]).into_owned();
            entries.push(HistoryEntry {
                parent,
                switch_lsn: Lsn((u64::from(hi) << 32) | u64::from(lo)),
                reason,
                line: this_line,
            });
        }
        if let Some(last) = entries.last().filter(|last| timeline <= last.parent) {
            return Err(ParseError::new(
                WHAT,
                format!(
                    "invalid data in history file {:?}: Timeline IDs must be less than child timeline's ID.",
                    history_file_name(timeline)
                ),
            )
            .at_line(last.line));
        }
        Ok(TimelineHistory { timeline, entries })
    }

    /// Reads and parses a history file; the timeline comes from the file name
    /// (`TTTTTTTT.history`, possibly compressed), decompressed by extension.
    pub fn read(path: &Path) -> Result<TimelineHistory, Error> {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let timeline = match WalFileName::classify(name).kind {
            WalFileKind::History { timeline } => timeline,
            _ => {
                return Err(ParseError::new(
                    WHAT,
                    "the file name is not TTTTTTTT.history (8 upper-case hex digits)",
                )
                .in_file(path)
                .into());
            }
        };
        Self::read_for(path, timeline)
    }

    /// Reads and parses a history file of `timeline`, whatever its name.
    pub fn read_for(path: &Path, timeline: TimeLineId) -> Result<TimelineHistory, Error> {
        let bytes = compress::read_to_vec(path, MAX_HISTORY_FILE_SIZE)?;
        Ok(Self::parse_bytes(timeline, &bytes).map_err(|e| e.in_file(path))?)
    }

    /// The file text exactly as PostgreSQL's `writeTimeLineHistory` writes it:
    /// each entry `parent<TAB>LSN<TAB>reason<LF>`, a blank line before every
    /// entry but the first (the parent's file was copied, then `\n` written),
    /// and the extra line end PostgreSQL puts after time and LSN reasons (see
    /// [`HistoryEntry::reason_has_newline`]).
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        for (i, e) in self.entries.iter().enumerate() {
            if i > 0 {
                s.push('\n');
            }
            s.push_str(&format!("{}\t{}\t{}\n", e.parent, e.switch_lsn, e.reason));
            if e.reason_has_newline() {
                s.push('\n');
            }
        }
        s
    }

    /// The history of the child timeline `child` that forks from this one at
    /// `switch_lsn` (what promotion writes).
    pub fn child(&self, child: TimeLineId, switch_lsn: Lsn, reason: impl Into<String>) -> TimelineHistory {
        let mut entries = self.entries.clone();
        entries.push(HistoryEntry::new(self.timeline, switch_lsn, reason));
        TimelineHistory { timeline: child, entries }
    }

    /// The timeline this one was forked from, if any.
    pub fn parent(&self) -> Option<TimeLineId> {
        self.entries.last().map(|e| e.parent)
    }

    /// Where this timeline begins (the last switch point), `None` for a root.
    pub fn begin(&self) -> Option<Lsn> {
        self.entries.last().map(|e| e.switch_lsn).filter(|l| !l.is_invalid())
    }

    /// The list `readTimeLineHistory` returns: `(timeline, begin, end)`,
    /// **newest first**, starting with the history's own timeline (unbounded
    /// end). An empty history gives one unbounded range.
    pub fn ranges(&self) -> Vec<TimelineRange> {
        let mut v = self.ranges_oldest_first();
        v.reverse();
        v
    }

    /// [`TimelineHistory::ranges`] oldest first: the order WAL is replayed in.
    pub fn ranges_oldest_first(&self) -> Vec<TimelineRange> {
        let valid = |l: Lsn| if l.is_invalid() { None } else { Some(l) };
        let mut v = Vec::with_capacity(self.entries.len() + 1);
        let mut prev_end: Option<Lsn> = None;
        for e in &self.entries {
            let end = valid(e.switch_lsn);
            v.push(TimelineRange { timeline: e.parent, begin: prev_end, end });
            prev_end = end;
        }
        v.push(TimelineRange { timeline: self.timeline, begin: prev_end, end: None });
        v
    }

    /// The timeline that holds `lsn` on the way to this history's timeline
    /// (`tliOfPointInHistory`).
    pub fn timeline_of(&self, lsn: Lsn) -> Result<TimeLineId, TimelineError> {
        self.ranges()
            .into_iter()
            .find(|r| r.contains(lsn))
            .map(|r| r.timeline)
            .ok_or(TimelineError::NotContiguous(lsn))
    }

    /// Where `timeline` ended on the way to this history's timeline and which
    /// timeline followed (`tliSwitchPoint`); `Ok(None)` for the history's own
    /// timeline, which has not ended.
    pub fn switch_point(&self, timeline: TimeLineId) -> Result<Option<SwitchPoint>, TimelineError> {
        let ranges = self.ranges_oldest_first();
        for (i, r) in ranges.iter().enumerate() {
            if r.timeline == timeline {
                return Ok(match (r.end, ranges.get(i + 1)) {
                    (Some(lsn), Some(next)) => Some(SwitchPoint { lsn, next_timeline: next.timeline }),
                    _ => None,
                });
            }
        }
        Err(TimelineError::NotInHistory(timeline))
    }

    /// The range of `timeline` on the way to this history's timeline.
    pub fn range_of(&self, timeline: TimeLineId) -> Option<TimelineRange> {
        self.ranges().into_iter().find(|r| r.timeline == timeline)
    }

    /// True when `timeline` is this history's timeline or one of its ancestors
    /// (`tliInHistory`).
    pub fn contains(&self, timeline: TimeLineId) -> bool {
        timeline == self.timeline || self.entries.iter().any(|e| e.parent == timeline)
    }

    /// The ancestry, oldest first, ending with the history's own timeline.
    pub fn ancestry(&self) -> Vec<TimeLineId> {
        self.entries.iter().map(|e| e.parent).chain(std::iter::once(self.timeline)).collect()
    }

    /// True when `ancestor` is a strict ancestor of this history's timeline.
    pub fn descends_from(&self, ancestor: TimeLineId) -> bool {
        self.entries.iter().any(|e| e.parent == ancestor)
    }

    /// Problems the server does not check but that make a history wrong or
    /// suspicious: switch points that go backwards or are `0/0` (errors), a
    /// parent timeline 0 (error), no entries or a history file for timeline 1
    /// (warnings).
    pub fn issues(&self) -> Vec<HistoryIssue> {
        let mut v = Vec::new();
        let mut issue = |severity, line: Option<usize>, message: String| {
            v.push(HistoryIssue { severity, timeline: self.timeline, line, message });
        };
        if self.timeline == 0 {
            issue(Severity::Error, None, "timeline 0 does not exist".into());
        }
        if self.timeline == 1 {
            issue(
                Severity::Warning,
                None,
                "timeline 1 never has a history file; PostgreSQL does not read 00000001.history".into(),
            );
        }
        if self.entries.is_empty() && self.timeline > 1 {
            issue(
                Severity::Warning,
                None,
                format!(
                    "no entries: PostgreSQL accepts the file and treats timeline {} as having no parent",
                    self.timeline
                ),
            );
        }
        let mut prev: Option<&HistoryEntry> = None;
        for e in &self.entries {
            let line = (e.line > 0).then_some(e.line);
            if e.parent == 0 {
                issue(Severity::Error, line, "parent timeline 0 does not exist".into());
            }
            if e.switch_lsn.is_invalid() {
                issue(
                    Severity::Error,
                    line,
                    "switch point 0/0 is invalid (PostgreSQL reads it as \"never ended\")".into(),
                );
            }
            if let Some(p) = prev.filter(|p| e.switch_lsn < p.switch_lsn) {
                issue(
                    Severity::Error,
                    line,
                    format!(
                        "switch point {} of timeline {} is before the switch point {} of timeline {}: \
                         switch LSNs must not decrease",
                        e.switch_lsn, e.parent, p.switch_lsn, p.parent
                    ),
                );
            }
            prev = Some(e);
        }
        v
    }

    /// `Ok` unless [`TimelineHistory::issues`] has an error; the error names
    /// the line.
    pub fn validate(&self) -> Result<(), ParseError> {
        match self.issues().into_iter().find(|i| i.severity == Severity::Error) {
            None => Ok(()),
            Some(i) => {
                let e = ParseError::new(WHAT, i.message);
                Err(match i.line {
                    Some(l) => e.at_line(l),
                    None => e,
                })
            }
        }
    }
}

impl fmt::Display for TimelineHistory {
    /// The file text, as [`TimelineHistory::to_text`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// C `isspace` in the C locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r')
}

fn trim_line_end(b: &[u8]) -> &[u8] {
    let b = b.strip_suffix(b"\n").unwrap_or(b);
    b.strip_suffix(b"\r").unwrap_or(b)
}

/// True when `rest` starts in the middle of a physical line of `all` (the
/// previous fgets chunk did not end with a newline).
fn chunk_is_continuation(all: &[u8], rest: &[u8]) -> bool {
    let consumed = all.len() - rest.len();
    consumed > 0 && all.get(consumed - 1).is_some_and(|&b| b != b'\n')
}

enum Scanned {
    Value(u32),
    None,
    /// Out of the 32-bit range (or negative); position of the number.
    OutOfRange(usize),
}

/// A tiny `sscanf` for `%u` / `%X`.
struct Scanner<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(is_c_space) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// `%u` (radix 10) or `%X` (radix 16): leading white space, an optional
    /// sign, for radix 16 an optional `0x`, then at least one digit.
    fn unsigned(&mut self, radix: u32) -> Scanned {
        self.skip_space();
        let start = self.pos;
        let negative = match self.peek() {
            Some(b'+') => {
                self.pos += 1;
                false
            }
            Some(b'-') => {
                self.pos += 1;
                true
            }
            _ => false,
        };
        if radix == 16
            && self.peek() == Some(b'0')
            && matches!(self.b.get(self.pos + 1), Some(b'x' | b'X'))
            && self.b.get(self.pos + 2).is_some_and(u8::is_ascii_hexdigit)
        {
            self.pos += 2;
        }
        let digits_start = self.pos;
        let mut value: u64 = 0;
        let mut overflow = false;
        while let Some(d) = self.peek().and_then(|c| (c as char).to_digit(radix)) {
            value = match value.checked_mul(u64::from(radix)).and_then(|v| v.checked_add(u64::from(d))) {
                Some(v) => v,
                None => {
                    overflow = true;
                    u64::MAX
                }
            };
            self.pos += 1;
        }
        if self.pos == digits_start {
            self.pos = start;
            return Scanned::None;
        }
        match u32::try_from(value) {
            Ok(v) if !(overflow || negative && v != 0) => Scanned::Value(v),
            _ => Scanned::OutOfRange(start),
        }
    }
}

/// Every timeline history file of a directory (a WAL archive or `pg_wal`).
#[derive(Debug, Default, Serialize)]
pub struct HistorySet {
    /// The histories that parsed, by timeline.
    pub histories: BTreeMap<TimeLineId, TimelineHistory>,
    /// Every history file found, by timeline (also those that failed, which
    /// are in [`HistorySet::errors`]).
    pub files: BTreeMap<TimeLineId, PathBuf>,
    /// Files that could not be read or parsed.
    #[serde(serialize_with = "serialize_display_vec")]
    pub errors: Vec<Error>,
    /// Problems of single files and disagreements between files.
    pub issues: Vec<HistoryIssue>,
}

fn serialize_display_vec<S: serde::Serializer, T: fmt::Display>(v: &[T], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().map(|e| e.to_string()))
}

impl HistorySet {
    /// Reads every `TTTTTTTT.history` file (plain or compressed) in `dir`. A
    /// timeline present both plain and compressed is read from the plain file.
    /// Unreadable or invalid files end up in [`HistorySet::errors`]; only a
    /// directory that cannot be listed is an `Err`.
    pub fn load_dir(dir: &Path) -> Result<HistorySet, IoError> {
        let mut candidates: BTreeMap<TimeLineId, Vec<(bool, PathBuf)>> = BTreeMap::new();
        for entry in std::fs::read_dir(dir).at_path(dir)? {
            let entry = entry.at_path(dir)?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let f = WalFileName::classify(name);
            if let WalFileKind::History { timeline } = f.kind {
                candidates.entry(timeline).or_default().push((f.compression.is_some(), entry.path()));
            }
        }
        let mut set = HistorySet::default();
        for (tli, mut paths) in candidates {
            paths.sort();
            let Some((_, path)) = paths.into_iter().next() else { continue };
            match TimelineHistory::read_for(&path, tli) {
                Ok(h) => {
                    set.issues.extend(h.issues());
                    set.histories.insert(tli, h);
                }
                Err(e) => set.errors.push(e),
            }
            set.files.insert(tli, path);
        }
        set.cross_check();
        Ok(set)
    }

    /// A set from histories already parsed (checked against each other).
    pub fn from_histories(histories: impl IntoIterator<Item = TimelineHistory>) -> HistorySet {
        let mut set = HistorySet::default();
        for h in histories {
            set.issues.extend(h.issues());
            set.histories.insert(h.timeline, h);
        }
        set.cross_check();
        set
    }

    /// Each history must start with its parent's history (the server copies
    /// it verbatim): same parents, same switch points.
    fn cross_check(&mut self) {
        for h in self.histories.values() {
            let Some(last) = h.entries.last() else { continue };
            let parent = last.parent;
            let Some(ph) = self.histories.get(&parent) else {
                if parent > 1 {
                    self.issues.push(HistoryIssue {
                        severity: Severity::Warning,
                        timeline: h.timeline,
                        line: None,
                        message: format!(
                            "the history file of its parent timeline {parent} ({}) is missing",
                            history_file_name(parent)
                        ),
                    });
                }
                continue;
            };
            let prefix = &h.entries[..h.entries.len() - 1];
            let same = prefix.len() == ph.entries.len()
                && prefix
                    .iter()
                    .zip(&ph.entries)
                    .all(|(a, b)| a.parent == b.parent && a.switch_lsn == b.switch_lsn);
            if !same {
                self.issues.push(HistoryIssue {
                    severity: Severity::Error,
                    timeline: h.timeline,
                    line: None,
                    message: format!(
                        "does not start with the history of its parent timeline {parent}: \
                         the files come from different clusters or one was overwritten"
                    ),
                });
            }
        }
    }

    /// The history leading to `timeline`: its file's, or an empty one for
    /// timeline 1. `None` when a later timeline has no history file here.
    pub fn history_of(&self, timeline: TimeLineId) -> Option<TimelineHistory> {
        match self.histories.get(&timeline) {
            Some(h) => Some(h.clone()),
            None if timeline == 1 => Some(TimelineHistory::root(1)),
            None => None,
        }
    }

    /// `findNewestTimeLine(start)`: probes `start + 1`, `start + 2`, ... and
    /// stops at the first timeline without a history file; returns the last
    /// one found, or `start`. Like the server, a file that exists counts even
    /// when it is invalid (recovery then fails reading it).
    pub fn newest_from(&self, start: TimeLineId) -> TimeLineId {
        let mut newest = start;
        let mut probe = start.saturating_add(1);
        while probe > newest && (self.histories.contains_key(&probe) || self.files.contains_key(&probe)) {
            newest = probe;
            probe = probe.saturating_add(1);
        }
        newest
    }

    /// The children of `timeline` (timelines whose last entry's parent is it),
    /// in order.
    pub fn children_of(&self, timeline: TimeLineId) -> Vec<TimeLineId> {
        self.histories.values().filter(|h| h.parent() == Some(timeline)).map(|h| h.timeline).collect()
    }

    /// Timelines without a known parent: 1 when any history names it, and
    /// timelines whose history has no entries or whose parent has no history
    /// here (and is not 1).
    pub fn roots(&self) -> Vec<TimeLineId> {
        let mut roots: Vec<TimeLineId> = Vec::new();
        for h in self.histories.values() {
            match h.parent() {
                None => roots.push(h.timeline),
                Some(p) if !self.histories.contains_key(&p) && !roots.contains(&p) => roots.push(p),
                Some(_) => {}
            }
        }
        roots.sort_unstable();
        roots
    }

    /// True when no file failed and no issue is an error.
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty() && self.issues.iter().all(|i| i.severity != Severity::Error)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lsn(s: &str) -> Lsn {
        Lsn::parse(s).unwrap()
    }

    // Real files (recovery-semantics.md 3.1).
    const TL2: &str = "1\t0/5000220\tafter transaction 728\n";
    const TL3: &str = "1\t0/5000220\tafter transaction 728\n\n2\t0/6000000\tno recovery target specified\n";

    #[test]
    fn parses_real_files_and_keeps_reasons() {
        let h = TimelineHistory::parse(3, TL3).unwrap();
        assert_eq!(h.timeline, 3);
        assert_eq!(
            h.entries,
            vec![
                HistoryEntry {
                    parent: 1,
                    switch_lsn: lsn("0/5000220"),
                    reason: "after transaction 728".into(),
                    line: 1
                },
                HistoryEntry {
                    parent: 2,
                    switch_lsn: lsn("0/6000000"),
                    reason: "no recovery target specified".into(),
                    line: 3
                },
            ]
        );
        assert_eq!(h.to_text(), TL3);
        assert_eq!(TimelineHistory::parse(2, TL2).unwrap().to_text(), TL2);
        assert!(h.issues().is_empty());
    }

    #[test]
    fn time_and_lsn_reasons_keep_their_blank_line() {
        for text in [
            "1\t0/50001F8\tbefore 2026-11-24 00:57:58.019639+00\n\n",
            "1\t0/50001A8\tbefore LSN 0/50001A8\n\n",
            "1\t0/50001A8\tafter LSN 0/50001A8\n\n\n2\t0/7000000\tat restore point \"rp_one\"\n",
            "1\t0/2000100\treached consistency\n",
            "1\t0/2000100\tbefore transaction 12\n",
        ] {
            let tli = 1 + text.matches('\t').count() as u32 / 2;
            let h = TimelineHistory::parse(tli, text).unwrap();
            assert_eq!(h.to_text(), text, "{text:?}");
        }
    }

    #[test]
    fn grammar_like_sscanf() {
        // Comments, blank lines, spaces instead of tabs, leading white space, CRLF,
        // '+' sign, 0x prefix, space after the slash, no reason at all.
        let text = "# comment\n   \n  # indented comment\n \t1 0/10 reason one\r\n\
                    +2\t0x0/0x20\n3   0/ 30\t\tthree  \n";
        let h = TimelineHistory::parse(4, text).unwrap();
        let got: Vec<_> =
            h.entries.iter().map(|e| (e.parent, e.switch_lsn.0, e.reason.as_str(), e.line)).collect();
        assert_eq!(got, vec![(1, 0x10, "reason one", 4), (2, 0x20, "", 5), (3, 0x30, "three  ", 6)]);
        // An empty file is accepted (like the server).
        let h = TimelineHistory::parse(5, "\n# nothing\n").unwrap();
        assert!(h.entries.is_empty());
        assert_eq!(h.ranges(), vec![TimelineRange { timeline: 5, begin: None, end: None }]);
        assert_eq!(h.issues()[0].severity, Severity::Warning);
        // A NUL ends the line's C string.
        let h = TimelineHistory::parse(2, "1\t0/10\tre\0ason\n\0garbage\n").unwrap();
        assert_eq!(h.entries[0].reason, "re");
    }

    #[test]
    fn errors_mirror_the_server_with_line_numbers() {
        let cases: &[(&str, u32, usize, &str)] = &[
            ("\nabc\n", 2, 2, "Expected a numeric timeline ID."),
            ("1\n", 2, 1, "Expected a write-ahead log switchpoint location."),
            ("1\t0\n", 2, 1, "Expected a write-ahead log switchpoint location."),
            ("1\t0 /5\n", 2, 1, "Expected a write-ahead log switchpoint location."),
            ("10/5000220\n", 11, 1, "Expected a write-ahead log switchpoint location."),
            ("1\tzz/5\n", 2, 1, "Expected a write-ahead log switchpoint location."),
            ("1\t0/10\n\n1\t0/20\n", 3, 3, "Timeline IDs must be in increasing sequence."),
            ("2\t0/10\n1\t0/20\n", 3, 2, "Timeline IDs must be in increasing sequence."),
            ("1\t0/10\n2\t0/20\n", 2, 2, "Timeline IDs must be less than child timeline's ID."),
            ("1\t0/10\n", 1, 1, "Timeline IDs must be less than child timeline's ID."),
            ("4294967296\t0/10\n", 2, 1, "out of range"),
            ("-1\t0/10\n", 2, 1, "out of range"),
            ("1\t100000000/10\n", 2, 1, "out of range"),
        ];
        for (text, tli, line, msg) in cases {
            let e = TimelineHistory::parse(*tli, text).unwrap_err();
            assert_eq!(e.line, Some(*line), "{text:?}: {e}");
            assert!(e.message.contains(msg), "{text:?}: {e}");
            assert_eq!(e.what, "timeline history");
        }
    }

    #[test]
    fn long_lines_are_split_like_fgets() {
        // A reason longer than the server's line buffer: the rest is read as a
        // line of its own, which is a syntax error...
        let long = format!("1\t0/10\t{}\n", "x".repeat(1100));
        let e = TimelineHistory::parse(2, &long).unwrap_err();
        assert_eq!(e.line, Some(1));
        assert!(e.message.contains("longer than 1023 bytes"), "{e}");
        // ...unless the rest is white space.
        let long = format!("1\t0/10\tr{}\n", " ".repeat(1100));
        let h = TimelineHistory::parse(2, &long).unwrap();
        assert_eq!(h.entries.len(), 1);
    }

    #[test]
    fn queries_like_timeline_c() {
        let h = TimelineHistory::parse(3, TL3).unwrap();
        let r = |t, b: Option<&str>, e: Option<&str>| TimelineRange {
            timeline: t,
            begin: b.map(lsn),
            end: e.map(lsn),
        };
        // Example of recovery-semantics.md 3.2.
        assert_eq!(
            h.ranges(),
            vec![
                r(3, Some("0/6000000"), None),
                r(2, Some("0/5000220"), Some("0/6000000")),
                r(1, None, Some("0/5000220"))
            ]
        );
        assert_eq!(h.ranges_oldest_first().first().map(|r| r.timeline), Some(1));
        assert_eq!(h.timeline_of(lsn("0/0")), Ok(1));
        assert_eq!(h.timeline_of(lsn("0/500021F")), Ok(1));
        assert_eq!(h.timeline_of(lsn("0/5000220")), Ok(2));
        assert_eq!(h.timeline_of(lsn("0/5FFFFFF")), Ok(2));
        assert_eq!(h.timeline_of(lsn("0/6000000")), Ok(3));
        assert_eq!(h.timeline_of(Lsn::MAX), Ok(3));
        assert_eq!(h.switch_point(1), Ok(Some(SwitchPoint { lsn: lsn("0/5000220"), next_timeline: 2 })));
        assert_eq!(h.switch_point(2), Ok(Some(SwitchPoint { lsn: lsn("0/6000000"), next_timeline: 3 })));
        assert_eq!(h.switch_point(3), Ok(None));
        assert_eq!(h.switch_point(4), Err(TimelineError::NotInHistory(4)));
        assert_eq!(
            TimelineError::NotInHistory(4).to_string(),
            "requested timeline 4 is not in this server's history"
        );
        assert!(h.contains(1) && h.contains(2) && h.contains(3) && !h.contains(4));
        assert!(h.descends_from(1) && !h.descends_from(3));
        assert_eq!(h.ancestry(), vec![1, 2, 3]);
        assert_eq!(h.parent(), Some(2));
        assert_eq!(h.begin(), Some(lsn("0/6000000")));
        assert_eq!(h.range_of(2), Some(r(2, Some("0/5000220"), Some("0/6000000"))));
        let root = TimelineHistory::root(1);
        assert_eq!(root.timeline_of(lsn("5/0")), Ok(1));
        assert_eq!(root.switch_point(1), Ok(None));
    }

    #[test]
    fn issues_the_server_does_not_check() {
        let h = TimelineHistory::parse(3, "1\t0/6000000\n2\t0/5000000\n").unwrap();
        let issues = h.issues();
        assert_eq!(issues.len(), 1);
        assert_eq!((issues[0].severity, issues[0].line), (Severity::Error, Some(2)));
        assert!(issues[0].message.contains("must not decrease"));
        assert_eq!(h.validate().unwrap_err().line, Some(2));
        // The overlapping ranges leave a hole tliOfPointInHistory reports.
        assert_eq!(h.timeline_of(lsn("0/4000000")), Ok(1));
        let h = TimelineHistory::parse(2, "0\t0/0\n").unwrap();
        assert_eq!(h.issues().iter().filter(|i| i.severity == Severity::Error).count(), 2);
        // Equal switch points are fine.
        let h = TimelineHistory::parse(3, "1\t0/10\n2\t0/10\n").unwrap();
        assert!(h.validate().is_ok());
        assert!(TimelineHistory::parse(1, "").unwrap().issues()[0].message.contains("timeline 1"));
    }

    #[test]
    fn history_set_checks_files_against_each_other() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("00000002.history"), TL2).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, TL3.as_bytes()).unwrap();
        std::fs::write(dir.path().join("00000003.history.gz"), gz.finish().unwrap()).unwrap();
        // TL4 forked from TL1 (not from TL2's history): consistent.
        std::fs::write(dir.path().join("00000004.history"), "1\t0/A000280\tno recovery target specified\n")
            .unwrap();
        std::fs::write(dir.path().join("00000006.history"), "1\t0/10\n\n5\t0/20\n").unwrap();
        std::fs::write(dir.path().join("00000007.history"), "garbage\n").unwrap();
        std::fs::write(dir.path().join("000000010000000000000001"), "not a history").unwrap();
        let set = HistorySet::load_dir(dir.path()).unwrap();
        assert_eq!(set.histories.keys().copied().collect::<Vec<_>>(), vec![2, 3, 4, 6]);
        assert_eq!(set.errors.len(), 1);
        assert!(set.errors[0].to_string().contains("00000007.history:1"), "{}", set.errors[0]);
        assert_eq!(set.children_of(1), vec![2, 4]);
        assert_eq!(set.children_of(2), vec![3]);
        assert_eq!(set.roots(), vec![1, 5]);
        assert_eq!(set.newest_from(1), 4);
        assert_eq!(set.newest_from(4), 4);
        assert_eq!(set.newest_from(5), 7, "an invalid file counts, as for the server");
        assert_eq!(set.history_of(1), Some(TimelineHistory::root(1)));
        assert_eq!(set.history_of(5), None);
        assert_eq!(set.issues.len(), 1, "{:?}", set.issues);
        assert!(set.issues[0].message.contains("parent timeline 5"));
        assert!(!set.is_valid());
        // A TL3 file that disagrees with TL2's.
        std::fs::remove_file(dir.path().join("00000007.history")).unwrap();
        std::fs::write(dir.path().join("00000003.history"), "1\t0/5000228\tx\n\n2\t0/6000000\ty\n").unwrap();
        let set = HistorySet::load_dir(dir.path()).unwrap();
        assert_eq!(set.files[&3].file_name().unwrap(), "00000003.history", "plain preferred");
        assert!(
            set.issues.iter().any(|i| i.timeline == 3 && i.severity == Severity::Error),
            "{:?}",
            set.issues
        );
    }

    #[test]
    fn read_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("00000002.history");
        std::fs::write(&p, "1\tx\n").unwrap();
        let e = TimelineHistory::read(&p).unwrap_err().to_string();
        assert!(e.contains("00000002.history:1:"), "{e}");
        let q = dir.path().join("history.txt");
        std::fs::write(&q, TL2).unwrap();
        assert!(TimelineHistory::read(&q).is_err());
        assert_eq!(TimelineHistory::read_for(&q, 2).unwrap().entries.len(), 1);
    }

    fn arb_history() -> impl Strategy<Value = TimelineHistory> {
        let reason = prop_oneof![
            Just("no recovery target specified".to_string()),
            Just("reached consistency".to_string()),
            (1u32..).prop_map(|x| format!("after transaction {x}")),
            any::<u64>().prop_map(|l| format!("before LSN {}", Lsn(l))),
            Just("before 2026-11-24 00:57:58.019639+00".to_string()),
            "[a-zA-Z0-9 \"_.:+-]{0,40}".prop_map(|s| format!("at restore point \"{s}\"")),
            "[!-~][ -~]{0,30}[!-~]",
        ];
        (prop::collection::vec((1u32..1000, any::<u64>(), reason), 0..8)).prop_map(|raw| {
            let mut tli = 0u32;
            let mut entries = Vec::new();
            let mut lsns: Vec<u64> = raw.iter().map(|r| r.1).collect();
            lsns.sort_unstable();
            for ((step, _, reason), l) in raw.into_iter().zip(lsns) {
                tli += step;
                entries.push(HistoryEntry::new(tli, Lsn(l), reason));
            }
            TimelineHistory { timeline: tli + 1, entries }
        })
    }

    proptest! {
        #[test]
        fn format_parse_round_trip(h in arb_history()) {
            let text = h.to_text();
            let back = TimelineHistory::parse(h.timeline, &text).unwrap();
            let strip = |h: &TimelineHistory| h.entries.iter().map(|e| (e.parent, e.switch_lsn, e.reason.clone())).collect::<Vec<_>>();
            prop_assert_eq!(strip(&back), strip(&h));
            prop_assert_eq!(back.to_text(), text);
            // Every LSN's timeline is one of the ancestry, and its range holds it.
            for e in &h.entries {
                let t = back.timeline_of(e.switch_lsn).unwrap();
                prop_assert!(back.contains(t));
            }
        }

        #[test]
        fn parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300), tli in any::<u32>()) {
            if let Ok(h) = TimelineHistory::parse_bytes(tli, &bytes) {
                let _ = h.issues();
                let _ = h.ranges();
                let _ = h.timeline_of(Lsn(0x1000));
            }
        }

        #[test]
        fn parse_never_panics_on_history_like_text(s in "([0-9+ \t-]{0,4}[0-9A-Fa-fx/ \t]{0,12}[a-z \t]{0,5}\n?){0,6}") {
            let _ = TimelineHistory::parse(9, &s);
        }
    }
}
