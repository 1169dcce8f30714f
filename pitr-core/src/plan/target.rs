//! Recovery targets and how PostgreSQL reads their settings
//! (`recovery_target*`, recovery-semantics.md §1.1-1.3).
//!
//! Values PostgreSQL would reject are rejected here with the message the server
//! would print; values PostgreSQL would silently misread (an xid of `abc` reads
//! as 0, a timeline `Latest` as 0) are refused with an explanation, because the
//! planner never writes a setting whose meaning differs from what the user asked.

use crate::error::ParseError;
use crate::lsn::Lsn;
use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{Offset, TimeZone};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What recovery should stop at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RecoveryTarget {
    /// No target: replay to the end of available WAL.
    EndOfWal,
    /// `recovery_target = 'immediate'`: stop as soon as the backup is consistent.
    Immediate,
    /// `recovery_target_time`: stop before the first commit/abort later than this.
    Time {
        /// The instant.
        time: Timestamp,
        /// The text as given (for messages).
        text: String,
    },
    /// `recovery_target_xid`: stop at the commit/abort of this top-level xid.
    Xid {
        /// The 32-bit transaction id.
        xid: u32,
    },
    /// `recovery_target_lsn`: stop at the first record starting at or after this.
    Lsn {
        /// The LSN.
        lsn: Lsn,
    },
    /// `recovery_target_name`: stop after the first restore point of this name.
    Name {
        /// The restore point name (at most 63 bytes).
        name: String,
    },
}

impl RecoveryTarget {
    /// True when `recovery_target_inclusive` applies (xid, time, lsn).
    pub fn uses_inclusive(&self) -> bool {
        matches!(self, RecoveryTarget::Time { .. } | RecoveryTarget::Xid { .. } | RecoveryTarget::Lsn { .. })
    }

    /// The setting that expresses this target and its value as written in a
    /// configuration file (unquoted), or `None` for [`RecoveryTarget::EndOfWal`].
    pub fn setting(&self) -> Option<(&'static str, String)> {
        Some(match self {
            RecoveryTarget::EndOfWal => return None,
            RecoveryTarget::Immediate => ("recovery_target", "immediate".to_string()),
            RecoveryTarget::Time { time, .. } => ("recovery_target_time", format_target_time(*time)),
            RecoveryTarget::Xid { xid } => ("recovery_target_xid", xid.to_string()),
            RecoveryTarget::Lsn { lsn } => ("recovery_target_lsn", lsn.to_string()),
            RecoveryTarget::Name { name } => ("recovery_target_name", name.clone()),
        })
    }
}

impl fmt::Display for RecoveryTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecoveryTarget::EndOfWal => f.write_str("end of WAL"),
            RecoveryTarget::Immediate => f.write_str("earliest consistent point"),
            RecoveryTarget::Time { time, .. } => write!(f, "time {}", format_target_time(*time)),
            RecoveryTarget::Xid { xid } => write!(f, "XID {xid}"),
            RecoveryTarget::Lsn { lsn } => write!(f, "WAL location (LSN) \"{lsn}\""),
            RecoveryTarget::Name { name } => write!(f, "restore point \"{name}\""),
        }
    }
}

/// `recovery_target_timeline`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TimelineTarget {
    /// The timeline of the backup's control file.
    Current,
    /// The newest timeline reachable by consecutive history files (the default).
    #[default]
    Latest,
    /// A numbered timeline.
    Numbered(u32),
}

impl TimelineTarget {
    /// Parses `current`, `latest` (lower case, as the server compares) or a
    /// decimal timeline >= 1.
    pub fn parse(text: &str) -> Result<TimelineTarget, ParseError> {
        match text {
            "current" => Ok(TimelineTarget::Current),
            "latest" => Ok(TimelineTarget::Latest),
            _ => match text.parse::<u32>() {
                Ok(n) if n >= 1 && text.bytes().all(|b| b.is_ascii_digit()) => {
                    Ok(TimelineTarget::Numbered(n))
                }
                _ => Err(ParseError::new(
                    "recovery_target_timeline",
                    format!(
                        "{text:?}: use current, latest or a timeline number >= 1 \
                         (PostgreSQL would read this as timeline 0 and fail with \
                         \"recovery target timeline 0 does not exist\")"
                    ),
                )),
            },
        }
    }

    /// The value as written in a configuration file.
    pub fn setting_value(self) -> String {
        match self {
            TimelineTarget::Current => "current".into(),
            TimelineTarget::Latest => "latest".into(),
            TimelineTarget::Numbered(n) => n.to_string(),
        }
    }
}

impl fmt::Display for TimelineTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.setting_value())
    }
}

/// `recovery_target_action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TargetAction {
    /// Pause (hot standby must be on), then `pg_wal_replay_resume()` promotes.
    #[default]
    Pause,
    /// Promote at once.
    Promote,
    /// Shut down; `recovery.signal` stays.
    Shutdown,
}

impl TargetAction {
    /// Parses `pause`, `promote`, `shutdown` (case-insensitive, like the server's enum lookup).
    pub fn parse(text: &str) -> Result<TargetAction, ParseError> {
        match text.to_ascii_lowercase().as_str() {
            "pause" => Ok(TargetAction::Pause),
            "promote" => Ok(TargetAction::Promote),
            "shutdown" => Ok(TargetAction::Shutdown),
            _ => Err(ParseError::new(
                "recovery_target_action",
                format!(
                    "invalid value for parameter \"recovery_target_action\": \"{text}\" (available values: pause, promote, shutdown)"
                ),
            )),
        }
    }

    /// The setting value.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetAction::Pause => "pause",
            TargetAction::Promote => "promote",
            TargetAction::Shutdown => "shutdown",
        }
    }
}

impl fmt::Display for TargetAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parses `recovery_target_xid` the strict way: a plain decimal number from 3 to
/// 4294967295. (The server uses `strtou64(base 0)` and truncates to 32 bits, so
/// `abc` silently becomes 0 and `4294967824` becomes 528; pitr refuses both.)
pub fn parse_xid(text: &str) -> Result<u32, ParseError> {
    let err = |m: String| ParseError::new("recovery_target_xid", m);
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err(format!(
            "{text:?} is not a decimal transaction ID (PostgreSQL would read it as {} \
             and recovery would end before the target)",
            strtou64_base0(text) as u32
        )));
    }
    if text.len() > 1 && text.starts_with('0') {
        return Err(err(format!("{text:?}: a leading zero makes PostgreSQL read the number as octal")));
    }
    let v: u64 = text.parse().map_err(|_| err(format!("{text:?} is out of range")))?;
    let xid = u32::try_from(v).map_err(|_| {
        err(format!(
            "{text} does not fit in 32 bits (PostgreSQL would truncate it to {}); give the plain 32-bit xid",
            v as u32
        ))
    })?;
    if xid < 3 {
        return Err(err(format!("{xid} is a special transaction ID that never commits")));
    }
    Ok(xid)
}

/// What `strtou64(text, NULL, 0)` returns on glibc for junk (used only for messages).
fn strtou64_base0(text: &str) -> u64 {
    let t = text.trim_start();
    let (digits, radix) = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        (h, 16)
    } else if t.starts_with('0') {
        (t, 8)
    } else {
        (t, 10)
    };
    let end = digits.find(|c: char| !c.is_digit(radix)).unwrap_or(digits.len());
    u64::from_str_radix(&digits[..end], radix).unwrap_or(0)
}

/// Parses `recovery_target_name`: non-empty, at most 63 bytes.
pub fn parse_name(text: &str) -> Result<String, ParseError> {
    if text.is_empty() {
        return Err(ParseError::new("recovery_target_name", "empty restore point name"));
    }
    if text.len() > 63 {
        return Err(ParseError::new(
            "recovery_target_name",
            format!("recovery_target_name is too long (maximum 63 characters): {} bytes", text.len()),
        ));
    }
    if text.contains('\n') || text.contains('\r') || text.contains('\0') {
        return Err(ParseError::new("recovery_target_name", "newline or NUL in restore point name"));
    }
    Ok(text.to_string())
}

/// The order of day, month and year in ambiguous numeric dates (`DateStyle`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum DateOrder {
    /// Month/day/year (PostgreSQL's default, `DateStyle = 'ISO, MDY'`).
    #[default]
    Mdy,
    /// Day/month/year.
    Dmy,
    /// Year/month/day.
    Ymd,
}

impl DateOrder {
    /// The order from a `DateStyle` value such as `ISO, DMY` (default MDY).
    pub fn from_datestyle(datestyle: &str) -> DateOrder {
        let up = datestyle.to_ascii_uppercase();
        let has = |w: &str| up.split(|c: char| c == ',' || c.is_whitespace()).any(|t| t == w);
        if has("DMY") || has("EURO") || has("EUROPEAN") {
            DateOrder::Dmy
        } else if has("YMD") {
            DateOrder::Ymd
        } else {
            DateOrder::Mdy
        }
    }
}

/// How a target time was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedTime {
    /// The instant.
    pub time: Timestamp,
    /// False when the text had no zone and `default_zone` was used.
    pub had_zone: bool,
}

/// Parses a `recovery_target_time` the way PostgreSQL does at startup
/// (`timestamptz_in` with the server's `TimeZone` and `DateStyle`), rejecting
/// what its configuration check rejects: `now`, `today`, `tomorrow`,
/// `yesterday`, `epoch`, `infinity`, and time-zone abbreviations that are not
/// also zone names (`Z`, `PST`); numeric offsets and full zone names are fine.
///
/// Accepted shapes: `YYYY-MM-DD[( |T)HH:MM[:SS[.ffffff]]][zone]`,
/// `MM/DD/YYYY ...` (per `DateStyle`), `Mon DD [HH:MM:SS] YYYY`,
/// `DD Mon YYYY ...`, an optional leading weekday name; zone is `+HH`,
/// `+HH:MM`, `+HHMM`, `-...`, or a tz database name (`UTC`, `Europe/Berlin`).
pub fn parse_target_time(
    text: &str,
    default_zone: &TimeZone,
    order: DateOrder,
) -> Result<ParsedTime, ParseError> {
    let invalid = |why: &str| {
        ParseError::new(
            "recovery_target_time",
            format!("invalid value for parameter \"recovery_target_time\": \"{text}\" ({why})"),
        )
    };
    let lower = text.trim().to_ascii_lowercase();
    if ["now", "today", "tomorrow", "yesterday", "epoch", "infinity", "-infinity", "+infinity", "allballs"]
        .contains(&lower.as_str())
    {
        return Err(invalid("special values are not allowed"));
    }

    // Tokenise: split on whitespace; split a 'T' between a date and a time; split
    // a numeric zone glued to a time ("00:57:57+05:30").
    let mut tokens: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        let w = word.trim_end_matches(',');
        if let Some((d, t)) = split_iso_t(w) {
            tokens.push(d.to_string());
            tokens.push(t.to_string());
        } else {
            tokens.push(w.to_string());
        }
    }
    let mut expanded = Vec::new();
    for t in tokens {
        if t.contains(':') && !t.contains('/') {
            if let Some(p) = t.char_indices().skip(1).find(|&(_, c)| c == '+' || c == '-').map(|(p, _)| p) {
                expanded.push(t[..p].to_string());
                expanded.push(t[p..].to_string());
                continue;
            }
            if let Some(stripped) = t.strip_suffix(['Z', 'z']) {
                if stripped.contains(':') {
                    return Err(invalid("time zone abbreviation \"Z\" is not a time zone name"));
                }
            }
        }
        expanded.push(t);
    }
    if expanded.is_empty() {
        return Err(invalid("empty"));
    }

    let mut date: Option<Date> = None;
    let mut time: Option<Time> = None;
    let mut zone: Option<TimeZone> = None;
    let mut month_name: Option<i8> = None;
    let mut loose_numbers: Vec<String> = Vec::new();

    for tok in &expanded {
        let t = tok.as_str();
        if t.contains(':') && t.chars().next().is_some_and(|c| c.is_ascii_digit()) {
            if time.is_some() {
                return Err(invalid("two times"));
            }
            time = Some(parse_hms(t).ok_or_else(|| invalid("bad time of day"))?);
        } else if t.starts_with(['+', '-']) {
            if zone.is_some() {
                return Err(invalid("two time zones"));
            }
            zone = Some(parse_offset(t).ok_or_else(|| invalid("bad numeric time zone"))?);
        } else if t.contains('-') && t.chars().next().is_some_and(|c| c.is_ascii_digit()) {
            date = Some(parse_numeric_date(t, '-', order).ok_or_else(|| invalid("bad date"))?);
        } else if t.contains('/') && t.chars().next().is_some_and(|c| c.is_ascii_digit()) {
            date = Some(parse_numeric_date(t, '/', order).ok_or_else(|| invalid("bad date"))?);
        } else if t.bytes().all(|b| b.is_ascii_digit()) {
            loose_numbers.push(t.to_string());
        } else if let Some(m) = month_number(t) {
            month_name = Some(m);
        } else if is_weekday(t) || t.eq_ignore_ascii_case("at") {
            continue;
        } else {
            // A zone name: must be a tz database name (abbreviations are not
            // loaded when the server checks recovery_target_time).
            if zone.is_some() {
                return Err(invalid("two time zones"));
            }
            match TimeZone::get(t) {
                Ok(z) => zone = Some(z),
                Err(_) => {
                    return Err(invalid(&format!(
                        "\"{t}\" is not a time zone name; use a numeric offset such as +00 or a name such as UTC or Europe/Berlin"
                    )));
                }
            }
        }
    }

    if date.is_none() {
        // "Nov 24 2026" / "24 Nov 2026" / "Nov 24 00:57:57 2026".
        let Some(m) = month_name else { return Err(invalid("no date")) };
        let (day, year) = match loose_numbers.as_slice() {
            [a, b] if a.len() <= 2 => (a, b),
            [a, b] if b.len() <= 2 => (b, a),
            _ => return Err(invalid("cannot tell day and year apart")),
        };
        let year = pg_year(year).ok_or_else(|| invalid("bad year"))?;
        let day: i8 = day.parse().map_err(|_| invalid("bad day"))?;
        let d = Date::new(year, m, day).map_err(|_| invalid("no such date"))?;
        date = Some(d);
    } else if !loose_numbers.is_empty() || month_name.is_some() {
        return Err(invalid("unexpected extra fields"));
    }

    let Some(date) = date else { return Err(invalid("no date")) };
    let dt = DateTime::from_parts(date, time.unwrap_or(Time::midnight()));
    let had_zone = zone.is_some();
    let tz = zone.unwrap_or_else(|| default_zone.clone());
    let zoned = dt.to_zoned(tz).map_err(|e| invalid(&e.to_string()))?;
    Ok(ParsedTime { time: zoned.timestamp(), had_zone })
}

fn split_iso_t(w: &str) -> Option<(&str, &str)> {
    let p = w.find(['T', 't'])?;
    let (d, t) = (&w[..p], &w[p + 1..]);
    if d.contains('-')
        && d.starts_with(|c: char| c.is_ascii_digit())
        && t.starts_with(|c: char| c.is_ascii_digit())
    {
        Some((d, t))
    } else {
        None
    }
}

fn parse_hms(t: &str) -> Option<Time> {
    let mut parts = t.split(':');
    let h: i8 = parts.next()?.parse().ok()?;
    let m: i8 = parts.next()?.parse().ok()?;
    let (s, ns) = match parts.next() {
        None => (0i8, 0i32),
        Some(sec) => {
            let (whole, frac) = sec.split_once('.').unwrap_or((sec, ""));
            let s: i8 = whole.parse().ok()?;
            if !frac.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            // PostgreSQL keeps microseconds (rounding the 7th digit).
            let mut digits: String = frac.chars().take(9).collect();
            while digits.len() < 9 {
                digits.push('0');
            }
            let ns: i64 = digits.parse().ok()?;
            let us = (ns + 500) / 1000;
            (s, i32::try_from(us * 1000).ok()?)
        }
    };
    if parts.next().is_some() {
        return None;
    }
    if h == 24 && m == 0 && s == 0 && ns == 0 {
        return None; // "24:00:00" is valid in PostgreSQL but means next day; refuse for clarity.
    }
    Time::new(h, m, s, ns.min(999_999_000)).ok()
}

fn parse_offset(t: &str) -> Option<TimeZone> {
    let sign: i32 = if t.starts_with('-') { -1 } else { 1 };
    let body = t.get(1..)?;
    // Each field is plain digits: `str::parse` alone would also take a sign
    // ("+-08:00") and a huge hour would overflow the seconds.
    let field = |x: &str| -> Option<i32> {
        if x.is_empty() || x.len() > 9 || !x.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        x.parse().ok()
    };
    let (h, m, s): (i32, i32, i32) = if body.contains(':') {
        let mut p = body.split(':');
        let h = field(p.next()?)?;
        let m = p.next().map(field).unwrap_or(Some(0))?;
        let s = p.next().map(field).unwrap_or(Some(0))?;
        if p.next().is_some() {
            return None;
        }
        (h, m, s)
    } else if body.bytes().all(|b| b.is_ascii_digit()) {
        match body.len() {
            1 | 2 => (body.parse().ok()?, 0, 0),
            4 => (body[..2].parse().ok()?, body[2..].parse().ok()?, 0),
            6 => (body[..2].parse().ok()?, body[2..4].parse().ok()?, body[4..].parse().ok()?),
            _ => return None,
        }
    } else {
        return None;
    };
    if h > 15 || m > 59 || s > 59 {
        return None;
    }
    let secs = sign * (h * 3600 + m * 60 + s);
    Some(TimeZone::fixed(Offset::from_seconds(secs).ok()?))
}

/// A year field as PostgreSQL reads it: one or two digits mean 1970..2069,
/// three or more are literal; year 0 does not exist ("date/time field value
/// out of range").
fn pg_year(field: &str) -> Option<i16> {
    let y: i16 = field.parse().ok()?;
    let y = match field.len() {
        0 => return None,
        1 | 2 if y < 70 => y + 2000,
        1 | 2 => y + 1900,
        _ => y,
    };
    (y != 0).then_some(y)
}

/// Three numeric fields separated by `-` or `/`: a first field of three or
/// more digits is the year (`YYYY-MM-DD`); otherwise `DateStyle`'s order
/// decides (`08-06-10` is 2010-08-06 in MDY, 2010-06-08 in DMY, 2008-06-10 in
/// YMD), as PostgreSQL reads them.
fn parse_numeric_date(t: &str, sep: char, order: DateOrder) -> Option<Date> {
    let p: Vec<&str> = t.split(sep).collect();
    let [a, b, c] = p.as_slice() else { return None };
    if !p.iter().all(|f| !f.is_empty() && f.bytes().all(|x| x.is_ascii_digit())) {
        return None;
    }
    let (y, m, d) = if a.len() >= 3 {
        (*a, *b, *c)
    } else {
        match order {
            DateOrder::Ymd => (*a, *b, *c),
            DateOrder::Mdy => (*c, *a, *b),
            DateOrder::Dmy => (*c, *b, *a),
        }
    };
    Date::new(pg_year(y)?, m.parse().ok()?, d.parse().ok()?).ok()
}

fn month_number(t: &str) -> Option<i8> {
    const MONTHS: [&str; 12] =
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    let l = t.to_ascii_lowercase();
    if l.len() < 3 {
        return None;
    }
    MONTHS.iter().position(|m| l.starts_with(m) && is_month_spelling(&l, m)).map(|i| i as i8 + 1)
}

fn is_month_spelling(l: &str, abbrev: &str) -> bool {
    const FULL: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    l == abbrev || FULL.iter().any(|f| f.starts_with(abbrev) && (*f == l || l == "sept"))
}

fn is_weekday(t: &str) -> bool {
    const DAYS: [&str; 7] = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];
    let l = t.to_ascii_lowercase();
    l.len() >= 3 && DAYS.iter().any(|d| d.starts_with(&l))
}

/// Formats a target time the way pitr writes it into a configuration file:
/// `YYYY-MM-DD HH:MM:SS[.ffffff]+00` (UTC, explicit numeric offset, microseconds
/// only when non-zero), which every major parses identically whatever its
/// `TimeZone` and `DateStyle`.
pub fn format_target_time(t: Timestamp) -> String {
    let z = t.to_zoned(TimeZone::UTC);
    let us = z.subsec_nanosecond() / 1000;
    if us == 0 {
        format!("{}+00", z.strftime("%Y-%m-%d %H:%M:%S"))
    } else {
        format!("{}.{us:06}+00", z.strftime("%Y-%m-%d %H:%M:%S"))
    }
}

/// Formats a time like PostgreSQL's log lines in a zone (`2026-11-24
/// 00:57:58.019639+00`: trailing zeros of the fraction dropped, offset as
/// `+HH` or `+HH:MM`).
pub fn format_pg_time(t: Timestamp, tz: &TimeZone) -> String {
    let z = t.to_zoned(tz.clone());
    let mut s = z.strftime("%Y-%m-%d %H:%M:%S").to_string();
    let us = z.subsec_nanosecond() / 1000;
    if us != 0 {
        let frac = format!("{us:06}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    let off = z.offset().seconds();
    let sign = if off < 0 { '-' } else { '+' };
    let off = off.abs();
    s.push_str(&format!("{sign}{:02}", off / 3600));
    if off % 3600 != 0 {
        s.push_str(&format!(":{:02}", (off % 3600) / 60));
    }
    s
}

/// `TimestampTz` (microseconds since 2000-01-01 UTC) to a [`Timestamp`].
pub fn timestamp_from_pg(micros: i64) -> Option<Timestamp> {
    const PG_EPOCH_UNIX_SECS: i64 = 946_684_800;
    let unix_us = micros.checked_add(PG_EPOCH_UNIX_SECS.checked_mul(1_000_000)?)?;
    Timestamp::from_microsecond(unix_us).ok()
}

/// A [`Timestamp`] as `TimestampTz` (microseconds since 2000-01-01 UTC).
pub fn timestamp_to_pg(t: Timestamp) -> i64 {
    const PG_EPOCH_UNIX_US: i64 = 946_684_800_000_000;
    (t.as_microsecond()).saturating_sub(PG_EPOCH_UNIX_US)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> Result<String, ParseError> {
        parse_target_time(text, &TimeZone::UTC, DateOrder::Mdy).map(|p| format_target_time(p.time))
    }

    #[test]
    fn multibyte_text_is_an_error_not_a_panic() {
        // Found by the recovery_target fuzz target: byte slicing inside a character.
        for text in [
            "[\u{fffd}",
            "\u{e9}:00",
            "2026-01-01 \u{e9}12:00",
            "mon\u{e9}",
            "+\u{e9}",
            "\u{fffd}\u{fffd}:+1",
        ] {
            assert!(utc(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn years_and_field_orders_as_postgresql_reads_them() {
        // What PostgreSQL 15 answered for '...'::timestamptz with TimeZone UTC.
        let at = |text: &str, order: DateOrder| {
            parse_target_time(text, &TimeZone::UTC, order).map(|p| format_target_time(p.time))
        };
        for (text, order, want) in [
            ("8/8/4", DateOrder::Mdy, "2004-08-08 00:00:00+00"),
            ("8/8/69", DateOrder::Mdy, "2069-08-08 00:00:00+00"),
            ("8/8/70", DateOrder::Mdy, "1970-08-08 00:00:00+00"),
            ("8/8/008", DateOrder::Mdy, "0008-08-08 00:00:00+00"),
            ("0008-06-08 00:00:00+00", DateOrder::Mdy, "0008-06-08 00:00:00+00"),
            ("999-01-01", DateOrder::Mdy, "0999-01-01 00:00:00+00"),
            ("aug 1 0", DateOrder::Mdy, "2000-08-01 00:00:00+00"),
            ("jun 8 8", DateOrder::Mdy, "2008-06-08 00:00:00+00"),
            ("jun 8 0008", DateOrder::Mdy, "0008-06-08 00:00:00+00"),
            ("08-06-10", DateOrder::Mdy, "2010-08-06 00:00:00+00"),
            ("08-06-10", DateOrder::Dmy, "2010-06-08 00:00:00+00"),
            ("08-06-10", DateOrder::Ymd, "2008-06-10 00:00:00+00"),
            ("08/06/10", DateOrder::Ymd, "2008-06-10 00:00:00+00"),
            ("10/06/2008", DateOrder::Mdy, "2008-10-06 00:00:00+00"),
            ("10/06/2008", DateOrder::Dmy, "2008-06-10 00:00:00+00"),
            ("2008/06/10", DateOrder::Dmy, "2008-06-10 00:00:00+00"),
        ] {
            assert_eq!(at(text, order).as_deref(), Ok(want), "{text:?} {order:?}");
        }
        for (text, order) in
            [("0000-08-01", DateOrder::Mdy), ("wed aug 0", DateOrder::Mdy), ("10/06/2008", DateOrder::Ymd)]
        {
            assert!(at(text, order).is_err(), "{text:?} {order:?}");
        }
    }

    #[test]
    fn accepts_what_postgresql_accepts() {
        // recovery-semantics.md 1.3, TimeZone UTC.
        assert_eq!(utc("2026-11-24 00:57:57").unwrap(), "2026-11-24 00:57:57+00");
        assert_eq!(utc("2026-11-24T00:57:57").unwrap(), "2026-11-24 00:57:57+00");
        assert_eq!(utc("2026-11-24T00:57:57+00").unwrap(), "2026-11-24 00:57:57+00");
        assert_eq!(utc("2026-11-24 00:57:57.5+05:30").unwrap(), "2026-11-23 19:27:57.500000+00");
        assert_eq!(utc("2026-11-24 00:57:57 Europe/Berlin").unwrap(), "2026-11-23 23:57:57+00");
        assert_eq!(utc("2026-11-24 00:57:57 UTC").unwrap(), "2026-11-24 00:57:57+00");
        assert_eq!(utc("2026-11-24 00:57:57 CET").unwrap(), "2026-11-23 23:57:57+00");
        assert_eq!(utc("2026-11-24 00:57:57 EST").unwrap(), "2026-11-24 05:57:57+00");
        assert_eq!(utc("Nov 24 00:57:57 2026").unwrap(), "2026-11-24 00:57:57+00");
        assert_eq!(utc("Tue Nov 24 00:57:57 2026 UTC").unwrap(), "2026-11-24 00:57:57+00");
        assert_eq!(utc("11/24/2026 00:57:57").unwrap(), "2026-11-24 00:57:57+00");
        assert_eq!(utc("2026-11-24").unwrap(), "2026-11-24 00:00:00+00");
        assert_eq!(utc("2026-11-24 00:57:58.019639+00").unwrap(), "2026-11-24 00:57:58.019639+00");
        assert_eq!(utc("2026-11-24 00:57:57-0330").unwrap(), "2026-11-24 04:27:57+00");
        let dmy = parse_target_time("24/11/2026 00:57:57", &TimeZone::UTC, DateOrder::Dmy).unwrap();
        assert_eq!(format_target_time(dmy.time), "2026-11-24 00:57:57+00");
    }

    #[test]
    fn rejects_what_postgresql_rejects() {
        for bad in [
            "2026-11-24 00:57:57Z",
            "2026-11-24T00:57:57Z",
            "2026-11-24 00:57:57 PST",
            "epoch",
            "now",
            "today",
            "tomorrow",
            "yesterday",
            "infinity",
            "-infinity",
            "1732409877",
            "",
            "2026-13-01",
            "2026-02-30 00:00:00",
            "2026-11-24 25:00:00",
            "2026-11-24 00:57:57 +05:30 UTC",
            // A signed or oversized zone field (found by fuzzing: the hour
            // overflowed when turned into seconds).
            "2026-11-24 00:57:57+-08:00",
            "000+-0890089008:0:0",
            "2026-11-24 00:57:57+05:30:00:00",
            "garbage",
        ] {
            let e = utc(bad).unwrap_err();
            assert!(e.message.contains("recovery_target_time"), "{bad}: {e}");
        }
    }

    #[test]
    fn zoneless_times_use_the_server_zone() {
        let ny = TimeZone::get("America/New_York").unwrap();
        let p = parse_target_time("2026-11-24 00:57:57", &ny, DateOrder::Mdy).unwrap();
        assert!(!p.had_zone);
        assert_eq!(format_target_time(p.time), "2026-11-24 05:57:57+00");
        assert_eq!(format_pg_time(p.time, &ny), "2026-11-24 00:57:57-05");
        let p = parse_target_time("2026-11-24 00:57:57+00", &ny, DateOrder::Mdy).unwrap();
        assert!(p.had_zone);
    }

    #[test]
    fn pg_log_time_format() {
        let t = Timestamp::from_microsecond(1_795_481_878_019_639).unwrap();
        assert_eq!(format_pg_time(t, &TimeZone::UTC), "2026-11-24 00:57:58.019639+00");
        let t = Timestamp::from_microsecond(1_795_481_876_008_150).unwrap();
        assert_eq!(format_pg_time(t, &TimeZone::UTC), "2026-11-24 00:57:56.00815+00");
        let kolkata = TimeZone::get("Asia/Kolkata").unwrap();
        assert_eq!(format_pg_time(t, &kolkata), "2026-11-24 06:27:56.00815+05:30");
    }

    #[test]
    fn pg_epoch_conversions() {
        // wal-format.md 5.8: 848 798 603 719 858 us after 2000-01-01 = 2026-11-24 01:23:23.719858 UTC.
        let t = timestamp_from_pg(848_798_603_719_858).unwrap();
        assert_eq!(format_target_time(t), "2026-11-24 01:23:23.719858+00");
        assert_eq!(timestamp_to_pg(t), 848_798_603_719_858);
        assert!(timestamp_from_pg(i64::MAX).is_none());
    }

    #[test]
    fn xids() {
        assert_eq!(parse_xid("728").unwrap(), 728);
        assert_eq!(parse_xid("4294967295").unwrap(), u32::MAX);
        for bad in ["", "abc", "0x2D8", "0728", "2", "0", "4294967824", "-5", "7 28", "72a"] {
            assert!(parse_xid(bad).is_err(), "{bad}");
        }
        let e = parse_xid("abc").unwrap_err();
        assert!(e.message.contains("read it as 0"), "{e}");
        let e = parse_xid("4294967824").unwrap_err();
        assert!(e.message.contains("528"), "{e}");
    }

    #[test]
    fn names_timelines_actions() {
        assert!(parse_name(&"x".repeat(63)).is_ok());
        assert!(parse_name(&"x".repeat(64)).unwrap_err().message.contains("maximum 63"));
        assert_eq!(TimelineTarget::parse("latest").unwrap(), TimelineTarget::Latest);
        assert_eq!(TimelineTarget::parse("current").unwrap(), TimelineTarget::Current);
        assert_eq!(TimelineTarget::parse("3").unwrap(), TimelineTarget::Numbered(3));
        for bad in ["Latest", "0", "0x2", "two", ""] {
            assert!(TimelineTarget::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(TargetAction::parse("PROMOTE").unwrap(), TargetAction::Promote);
        assert!(TargetAction::parse("resume").is_err());
    }

    #[test]
    fn target_settings() {
        let t = RecoveryTarget::Lsn { lsn: Lsn(0x50001A8) };
        assert_eq!(t.setting(), Some(("recovery_target_lsn", "0/50001A8".to_string())));
        assert!(t.uses_inclusive());
        assert!(!RecoveryTarget::Name { name: "x".into() }.uses_inclusive());
        assert_eq!(RecoveryTarget::EndOfWal.setting(), None);
    }

    #[test]
    fn datestyle_order() {
        assert_eq!(DateOrder::from_datestyle("iso, mdy"), DateOrder::Mdy);
        assert_eq!(DateOrder::from_datestyle("ISO, DMY"), DateOrder::Dmy);
        assert_eq!(DateOrder::from_datestyle("German"), DateOrder::Mdy);
        assert_eq!(DateOrder::from_datestyle("Postgres, European"), DateOrder::Dmy);
    }
}
