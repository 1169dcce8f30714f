//! SEAMS: the few lines of timeline history files and of `backup_label` /
//! backup history files that the archive needs, until `pitr_core::history`
//! and `pitr_core::label` are available. Each function here is to be replaced
//! by a call into those modules; nothing else in the archive module parses
//! these formats.

use crate::error::ParseError;
use crate::lsn::Lsn;
use crate::walfile::{SegmentName, TimeLineId};
use serde::Serialize;

/// One entry of a history file: timeline `parent` ended at `switch_lsn` (the
/// next entry's timeline, or the file's own for the last entry, begins there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HistoryLink {
    /// The timeline that ended.
    pub parent: TimeLineId,
    /// Where it ended (exclusive) and its child began.
    pub switch_lsn: Lsn,
}

/// SEAM (to be replaced by `pitr_core::history::TimelineHistory::parse_bytes`):
/// the entries of a history file, oldest first, read like
/// `readTimeLineHistory` (comment and blank lines skipped, the first two
/// fields of each line, increasing timeline IDs below the file's own).
pub(crate) fn parse_history(timeline: TimeLineId, bytes: &[u8]) -> Result<Vec<HistoryLink>, ParseError> {
    let what = "timeline history";
    let text = std::str::from_utf8(bytes)
        .map_err(|e| ParseError::new(what, "not valid UTF-8").at_position(e.valid_up_to()))?;
    let mut links: Vec<HistoryLink> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let mut fields = t.split(|c: char| c.is_ascii_whitespace()).filter(|f| !f.is_empty());
        let parent: TimeLineId = fields.next().and_then(|f| f.parse().ok()).ok_or_else(|| {
            ParseError::new(what, "syntax error: expected a numeric timeline ID").at_line(i + 1)
        })?;
        let switch_lsn = fields.next().and_then(|f| Lsn::parse(f).ok()).ok_or_else(|| {
            ParseError::new(what, "syntax error: expected a write-ahead log switchpoint location")
                .at_line(i + 1)
        })?;
        if links.last().is_some_and(|l| parent <= l.parent) {
            return Err(ParseError::new(what, "timeline IDs must be in increasing sequence").at_line(i + 1));
        }
        if parent >= timeline {
            return Err(
                ParseError::new(what, "timeline IDs must be less than child timeline's ID").at_line(i + 1)
            );
        }
        links.push(HistoryLink { parent, switch_lsn });
    }
    Ok(links)
}

/// What the archive needs from a `backup_label` or a backup history
/// (`.backup`) file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupInfo {
    /// `START WAL LOCATION`: the redo LSN replay starts from.
    pub start_lsn: Lsn,
    /// The segment named on the `START WAL LOCATION` line; its timeline is the
    /// one recovery starts on.
    pub start_segment: SegmentName,
    /// `CHECKPOINT LOCATION`, when present.
    pub checkpoint_lsn: Option<Lsn>,
    /// `STOP WAL LOCATION` (backup history files only).
    pub stop_lsn: Option<Lsn>,
    /// `STOP TIMELINE` (backup history files only).
    pub stop_timeline: Option<TimeLineId>,
    /// `LABEL`.
    pub label: Option<String>,
    /// `START TIME` as written.
    pub start_time: Option<String>,
    /// `STOP TIME` as written.
    pub stop_time: Option<String>,
}

impl BackupInfo {
    /// The timeline recovery of this backup starts on (from the start segment
    /// name, as the server reads it).
    pub fn start_timeline(&self) -> TimeLineId {
        self.start_segment.timeline
    }
}

/// SEAM (to be replaced by `pitr_core::label`): parses the lines of a
/// `backup_label` or `.backup` file that the archive uses. `START WAL
/// LOCATION: X/Y (file NAME)` is required; the other lines are optional.
pub fn parse_backup_info(text: &str) -> Result<BackupInfo, ParseError> {
    let what = "backup label";
    let mut start = None;
    let mut info = BackupInfo {
        start_lsn: Lsn::INVALID,
        start_segment: SegmentName { timeline: 0, log: 0, seg: 0 },
        checkpoint_lsn: None,
        stop_lsn: None,
        stop_timeline: None,
        label: None,
        start_time: None,
        stop_time: None,
    };
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let err = |m: &str| ParseError::new(what, m.to_string()).at_line(n);
        if let Some(rest) = line.strip_prefix("START WAL LOCATION: ") {
            let (lsn, file) = lsn_and_file(rest).ok_or_else(|| err("expected `X/Y (file NAME)`"))?;
            start = Some((lsn, file));
        } else if let Some(rest) = line.strip_prefix("STOP WAL LOCATION: ") {
            let (lsn, _) = lsn_and_file(rest).ok_or_else(|| err("expected `X/Y (file NAME)`"))?;
            info.stop_lsn = Some(lsn);
        } else if let Some(rest) = line.strip_prefix("CHECKPOINT LOCATION: ") {
            info.checkpoint_lsn = Some(Lsn::parse(rest.trim()).map_err(|e| err(&e.message))?);
        } else if let Some(rest) = line.strip_prefix("STOP TIMELINE: ") {
            info.stop_timeline = Some(rest.trim().parse().map_err(|_| err("expected a timeline ID"))?);
        } else if let Some(rest) = line.strip_prefix("LABEL: ") {
            info.label = Some(rest.to_string());
        } else if let Some(rest) = line.strip_prefix("START TIME: ") {
            info.start_time = Some(rest.to_string());
        } else if let Some(rest) = line.strip_prefix("STOP TIME: ") {
            info.stop_time = Some(rest.to_string());
        }
    }
    let (lsn, file) = start.ok_or_else(|| ParseError::new(what, "no START WAL LOCATION line"))?;
    info.start_lsn = lsn;
    info.start_segment = file;
    Ok(info)
}

fn lsn_and_file(rest: &str) -> Option<(Lsn, SegmentName)> {
    let (lsn, file) = rest.split_once(" (file ")?;
    let file = file.strip_suffix(')')?;
    Some((Lsn::parse(lsn.trim()).ok()?, SegmentName::parse(file).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_entries_like_the_server() {
        let text = "1\t0/5000220\tafter transaction 728\n\n2\t0/6000000\tno recovery target specified\n";
        let l = parse_history(3, text.as_bytes()).unwrap();
        assert_eq!(
            l,
            vec![
                HistoryLink { parent: 1, switch_lsn: Lsn(0x500_0220) },
                HistoryLink { parent: 2, switch_lsn: Lsn(0x600_0000) }
            ]
        );
        assert!(parse_history(2, b"1\t0/5000220\n1\t0/6000000\n").is_err());
        assert!(parse_history(2, b"2\t0/5000220\n").is_err());
        assert!(parse_history(2, b"x\t0/5000220\n").is_err());
        assert!(parse_history(2, b"1\tnope\n").is_err());
        assert_eq!(parse_history(2, b"# c\n\n").unwrap(), vec![]);
    }

    #[test]
    fn backup_history_file() {
        let text = "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\n\
STOP WAL LOCATION: 0/2000100 (file 000000010000000000000002)\n\
CHECKPOINT LOCATION: 0/2000060\nBACKUP METHOD: streamed\nBACKUP FROM: primary\n\
START TIME: 2026-11-24 00:57:28 UTC\nLABEL: my label O'Brien\nSTART TIMELINE: 1\n\
STOP TIME: 2026-11-24 00:57:28 UTC\nSTOP TIMELINE: 1\n";
        let b = parse_backup_info(text).unwrap();
        assert_eq!(b.start_lsn, Lsn(0x200_0028));
        assert_eq!(b.stop_lsn, Some(Lsn(0x200_0100)));
        assert_eq!(b.checkpoint_lsn, Some(Lsn(0x200_0060)));
        assert_eq!(b.start_timeline(), 1);
        assert_eq!(b.stop_timeline, Some(1));
        assert_eq!(b.label.as_deref(), Some("my label O'Brien"));
        assert!(parse_backup_info("LABEL: x\n").is_err());
        assert!(parse_backup_info("START WAL LOCATION: 0/2000028 (file 0000000100000000000002)\n").is_err());
    }
}
