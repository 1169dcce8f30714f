//! Log sequence numbers and WAL segment sizes.
//!
//! An [`Lsn`] is a byte position in the WAL stream of a cluster. Its text form is
//! `X/Y` (high and low 32 bits in hex). The server prints it unpadded in upper case
//! (`0/16B3748`); `pg_waldump` pads the low half (`0/016B3748`). Both parse.

use crate::error::ParseError;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A WAL position (`XLogRecPtr`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Lsn(pub u64);

impl Lsn {
    /// `InvalidXLogRecPtr`.
    pub const INVALID: Lsn = Lsn(0);
    /// The largest LSN.
    pub const MAX: Lsn = Lsn(u64::MAX);

    /// The raw 64-bit value.
    pub const fn as_u64(self) -> u64 {
        self.0
    }

    /// True for `0/0` (`InvalidXLogRecPtr`).
    pub const fn is_invalid(self) -> bool {
        self.0 == 0
    }

    /// High 32 bits (the "xlogid").
    pub const fn hi(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// Low 32 bits.
    pub const fn lo(self) -> u32 {
        self.0 as u32
    }

    /// Parses `X/Y`: 1 to 8 hex digits on each side, either case, nothing else.
    pub fn parse(text: &str) -> Result<Lsn, ParseError> {
        let err =
            |pos: usize, msg: &str| ParseError::new("LSN", format!("{msg} in {text:?}")).at_position(pos);
        let bytes = text.as_bytes();
        let slash = match bytes.iter().position(|&b| b == b'/') {
            Some(p) => p,
            None => {
                // Point at the first byte that is not a hex digit, or the end.
                let pos = bytes.iter().position(|b| !b.is_ascii_hexdigit()).unwrap_or(bytes.len());
                return Err(err(pos, "expected '/' between two hex numbers"));
            }
        };
        let half = |start: usize, end: usize| -> Result<u32, ParseError> {
            if start == end {
                return Err(err(start, "expected 1 to 8 hex digits"));
            }
            if let Some(off) = bytes[start..end].iter().position(|b| !b.is_ascii_hexdigit()) {
                return Err(err(start + off, "unexpected character"));
            }
            if end - start > 8 {
                return Err(err(start + 8, "more than 8 hex digits"));
            }
            // All hex digits, at most 8: cannot fail.
            u32::from_str_radix(&text[start..end], 16).map_err(|_| err(start, "bad hex number"))
        };
        let hi = half(0, slash)?;
        let lo = half(slash + 1, bytes.len())?;
        Ok(Lsn(((hi as u64) << 32) | lo as u64))
    }

    /// The `pg_waldump` form: low half zero-padded to 8 digits (`0/016B3748`).
    pub fn padded(self) -> impl fmt::Display {
        struct Padded(Lsn);
        impl fmt::Display for Padded {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:X}/{:08X}", self.0.hi(), self.0.lo())
            }
        }
        Padded(self)
    }

    /// `self + bytes`, or `None` on overflow.
    pub const fn checked_add(self, bytes: u64) -> Option<Lsn> {
        match self.0.checked_add(bytes) {
            Some(v) => Some(Lsn(v)),
            None => None,
        }
    }

    /// `self - bytes`, or `None` on underflow.
    pub const fn checked_sub(self, bytes: u64) -> Option<Lsn> {
        match self.0.checked_sub(bytes) {
            Some(v) => Some(Lsn(v)),
            None => None,
        }
    }

    /// Bytes from `earlier` to `self` (negative when `earlier` is later), as
    /// `pg_wal_lsn_diff` computes it.
    pub fn diff(self, earlier: Lsn) -> i128 {
        self.0 as i128 - earlier.0 as i128
    }

    /// Rounds up to a multiple of 8 (`MAXALIGN`), saturating.
    pub const fn maxalign(self) -> Lsn {
        Lsn(self.0.saturating_add(7) & !7)
    }

    /// Segment number holding this LSN.
    pub const fn segment(self, seg: WalSegSize) -> u64 {
        self.0 / seg.bytes()
    }

    /// Offset of this LSN inside its segment.
    pub const fn segment_offset(self, seg: WalSegSize) -> u64 {
        self.0 % seg.bytes()
    }

    /// Segment number holding the byte just *before* this LSN
    /// (`XLByteToPrevSeg`): the segment a record ending here lives in.
    pub const fn prev_segment(self, seg: WalSegSize) -> u64 {
        self.0.saturating_sub(1) / seg.bytes()
    }

    /// Offset of this LSN within its WAL page of `page_size` bytes.
    pub const fn page_offset(self, page_size: u32) -> u64 {
        self.0 % page_size as u64
    }
}

impl fmt::Display for Lsn {
    /// The server's form: `%X/%X`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = format!("{:X}/{:X}", self.hi(), self.lo());
        f.pad(&s)
    }
}

impl fmt::Debug for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Lsn({self})")
    }
}

impl FromStr for Lsn {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Lsn::parse(s)
    }
}

impl From<u64> for Lsn {
    fn from(v: u64) -> Lsn {
        Lsn(v)
    }
}

impl From<Lsn> for u64 {
    fn from(l: Lsn) -> u64 {
        l.0
    }
}

impl std::ops::Add<u64> for Lsn {
    type Output = Lsn;
    /// Panics on overflow in debug builds like any integer addition; use
    /// [`Lsn::checked_add`] on untrusted values.
    fn add(self, rhs: u64) -> Lsn {
        Lsn(self.0 + rhs)
    }
}

impl std::ops::Sub<Lsn> for Lsn {
    type Output = i128;
    fn sub(self, rhs: Lsn) -> i128 {
        self.diff(rhs)
    }
}

impl Serialize for Lsn {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Lsn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Lsn::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A WAL segment size: a power of two from 1 MiB to 1 GiB.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WalSegSize(u32);

impl WalSegSize {
    /// The smallest size (1 MiB).
    pub const MIN: u32 = 1 << 20;
    /// The largest size (1 GiB).
    pub const MAX: u32 = 1 << 30;
    /// PostgreSQL's default, 16 MiB.
    pub const DEFAULT: WalSegSize = WalSegSize(16 << 20);

    /// A size in bytes, if valid (`IsValidWalSegSize`).
    pub const fn new(bytes: u32) -> Option<WalSegSize> {
        if bytes.is_power_of_two() && bytes >= Self::MIN && bytes <= Self::MAX {
            Some(WalSegSize(bytes))
        } else {
            None
        }
    }

    /// A size in bytes, or a parse error naming the value.
    pub fn from_bytes(bytes: u64) -> Result<WalSegSize, ParseError> {
        u32::try_from(bytes).ok().and_then(WalSegSize::new).ok_or_else(|| {
            ParseError::new(
                "WAL segment size",
                format!("{bytes} bytes is not a power of two from 1 MiB to 1 GiB"),
            )
        })
    }

    /// Size in bytes.
    pub const fn bytes(self) -> u64 {
        self.0 as u64
    }

    /// Size in bytes as `u32`.
    pub const fn bytes_u32(self) -> u32 {
        self.0
    }

    /// Segments per 4 GiB "xlogid" (`XLogSegmentsPerXLogId`).
    pub const fn segments_per_xlogid(self) -> u64 {
        0x1_0000_0000 / self.0 as u64
    }

    /// First LSN of segment `segno`.
    pub const fn segment_start(self, segno: u64) -> Lsn {
        Lsn(segno.saturating_mul(self.0 as u64))
    }

    /// LSN just past the end of segment `segno`.
    pub const fn segment_end(self, segno: u64) -> Lsn {
        Lsn(segno.saturating_add(1).saturating_mul(self.0 as u64))
    }

    /// Parses `16MB`, `16 MB`, `1GB`, `1024kB`, `16777216` (bytes), `16` (MB, as
    /// `initdb --wal-segsize` takes it). Units are case-insensitive here.
    pub fn parse(text: &str) -> Result<WalSegSize, ParseError> {
        let err = |msg: String| ParseError::new("WAL segment size", msg);
        let t = text.trim();
        let digits_end = t.bytes().position(|b| !b.is_ascii_digit()).unwrap_or(t.len());
        if digits_end == 0 {
            return Err(err(format!("{text:?} does not start with a number")));
        }
        let n: u64 = t[..digits_end].parse().map_err(|_| err(format!("{text:?}: number too large")))?;
        let unit = t[digits_end..].trim();
        let mult: u64 = match unit.to_ascii_lowercase().as_str() {
            // A bare number is bytes when it is large, MB (initdb's unit) when small.
            "" if n >= u64::from(Self::MIN) => 1,
            "" => 1 << 20,
            "b" => 1,
            "k" | "kb" | "kib" => 1 << 10,
            "m" | "mb" | "mib" => 1 << 20,
            "g" | "gb" | "gib" => 1 << 30,
            _ => return Err(err(format!("{text:?}: unknown unit {unit:?} (use B, kB, MB or GB)"))),
        };
        let bytes = n.checked_mul(mult).ok_or_else(|| err(format!("{text:?}: too large")))?;
        WalSegSize::from_bytes(bytes)
            .map_err(|_| err(format!("{text:?} ({bytes} bytes) is not a power of two from 1 MB to 1 GB")))
    }
}

impl Default for WalSegSize {
    fn default() -> Self {
        WalSegSize::DEFAULT
    }
}

impl fmt::Display for WalSegSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 >= 1 << 30 { write!(f, "{}GB", self.0 >> 30) } else { write!(f, "{}MB", self.0 >> 20) }
    }
}

impl fmt::Debug for WalSegSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WalSegSize({self})")
    }
}

impl FromStr for WalSegSize {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        WalSegSize::parse(s)
    }
}

impl Serialize for WalSegSize {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.0)
    }
}

impl<'de> Deserialize<'de> for WalSegSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = u32::deserialize(d)?;
        WalSegSize::new(v).ok_or_else(|| serde::de::Error::custom(format!("invalid WAL segment size {v}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_server_and_waldump_forms() {
        assert_eq!(Lsn::parse("0/16B3748").unwrap(), Lsn(0x16B3748));
        assert_eq!(Lsn::parse("0/016b3748").unwrap(), Lsn(0x16B3748));
        assert_eq!(Lsn::parse("FFFFFFFF/FFFFFFFF").unwrap(), Lsn::MAX);
        assert_eq!(Lsn::parse("1/A3000000").unwrap(), Lsn(0x1_A300_0000));
        assert_eq!(Lsn(0x16B3748).to_string(), "0/16B3748");
        assert_eq!(Lsn(0x16B3748).padded().to_string(), "0/016B3748");
        assert_eq!(Lsn(0).to_string(), "0/0");
    }

    #[test]
    fn rejects_bad_text_naming_the_position() {
        for (text, pos) in [
            ("", 0),
            ("/", 0),
            ("0/", 2),
            ("/0", 0),
            ("0/1/2", 3),
            ("123456789/0", 8),
            ("0/123456789", 10),
            ("0x1/0", 1),
            (" 0/1", 0),
            ("0/1 ", 3),
            ("0/G", 2),
            ("+1/1", 0),
            ("-1/1", 0),
            ("16B3748", 7),
        ] {
            let e = Lsn::parse(text).unwrap_err();
            assert_eq!(e.position, Some(pos), "{text:?}: {e}");
            assert_eq!(e.what, "LSN");
        }
    }

    #[test]
    fn segment_arithmetic() {
        let seg16 = WalSegSize::DEFAULT;
        let l = Lsn(0x16B3748);
        assert_eq!(l.segment(seg16), 1);
        assert_eq!(l.segment_offset(seg16), 0x6B3748);
        assert_eq!(seg16.segment_start(2), Lsn(0x200_0000));
        assert_eq!(seg16.segment_end(2), Lsn(0x300_0000));
        assert_eq!(Lsn(0x300_0000).prev_segment(seg16), 2);
        assert_eq!(Lsn(0x7).maxalign(), Lsn(8));
        assert_eq!(Lsn(0x10).maxalign(), Lsn(0x10));
        assert_eq!(Lsn(0x20) - Lsn(0x10), 16);
        assert_eq!(Lsn(0x10) - Lsn(0x20), -16);
        assert_eq!(Lsn::MAX.checked_add(1), None);
    }

    #[test]
    fn segment_sizes() {
        assert_eq!(WalSegSize::parse("16MB").unwrap().bytes(), 16 << 20);
        assert_eq!(WalSegSize::parse("16 MB").unwrap().bytes(), 16 << 20);
        assert_eq!(WalSegSize::parse("1GB").unwrap().bytes(), 1 << 30);
        assert_eq!(WalSegSize::parse("1024kB").unwrap().bytes(), 1 << 20);
        assert_eq!(WalSegSize::parse("16777216").unwrap().bytes(), 16 << 20);
        assert_eq!(WalSegSize::parse("64").unwrap().bytes(), 64 << 20);
        for bad in ["", "MB", "3MB", "2GB", "512kB", "16XB", "0", "99999999999999999999999"] {
            assert!(WalSegSize::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(WalSegSize::new(1 << 20).unwrap().segments_per_xlogid(), 4096);
        assert_eq!(WalSegSize::new(1 << 30).unwrap().segments_per_xlogid(), 4);
        assert_eq!(WalSegSize::DEFAULT.to_string(), "16MB");
    }

    #[test]
    fn serde_uses_text_form() {
        let j = serde_json::to_string(&Lsn(0x16B3748)).unwrap();
        assert_eq!(j, "\"0/16B3748\"");
        let back: Lsn = serde_json::from_str("\"0/016b3748\"").unwrap();
        assert_eq!(back, Lsn(0x16B3748));
        assert!(serde_json::from_str::<Lsn>("\"zz\"").is_err());
    }

    proptest! {
        #[test]
        fn display_parse_round_trip(v in any::<u64>()) {
            let l = Lsn(v);
            prop_assert_eq!(Lsn::parse(&l.to_string()).unwrap(), l);
            prop_assert_eq!(Lsn::parse(&l.padded().to_string()).unwrap(), l);
            prop_assert_eq!(Lsn::parse(&l.to_string().to_lowercase()).unwrap(), l);
        }

        #[test]
        fn parse_never_panics(s in ".{0,24}") {
            let _ = Lsn::parse(&s);
            let _ = WalSegSize::parse(&s);
        }

        #[test]
        fn segment_and_offset_recompose(v in any::<u64>(), shift in 20u32..=30) {
            let seg = WalSegSize::new(1 << shift).unwrap();
            let l = Lsn(v);
            prop_assert_eq!(seg.segment_start(l.segment(seg)).0 + l.segment_offset(seg), v);
        }
    }
}
