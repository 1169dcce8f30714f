//! Archive layouts: where a WAL file lives in a flat or nested archive.
//!
//! * **Flat**: every file in one directory (`archive_command = 'cp %p DIR/%f'`).
//! * **Nested** (Barman's `wals/`): segments, `.partial` and `.backup` files in a
//!   directory named after the first 16 hex digits of their name (timeline and
//!   "xlogid": `0000000100000000/000000010000000000000001`), history files at
//!   the top.
//! * **pgBackRest**: `<stanza>/<version>-<id>/` (for example `15-1/`) holds a
//!   nested archive whose files carry the SHA-1 of their content and usually a
//!   compression extension: `0000000100000000/000000010000000000000001-<sha1>.gz`.
//!   The stanza directory also has `archive.info`.
//!
//! The functions here classify names and relative paths; they never touch the
//! file system and never fail (anything unrecognised is [`PathClass::Unknown`]).

use crate::walfile::{WalFileKind, WalFileName};

/// Files written by backup tools next to the WAL that are not WAL and not
/// unknown: pgBackRest's `archive.info` (and its copy), Barman's `xlog.db`.
pub const METADATA_FILES: &[&str] = &["archive.info", "archive.info.copy", "xlog.db"];

/// A pgBackRest archive id directory name: `<version>-<id>` (`15-1`, `9.6-3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveId<'a> {
    /// The PostgreSQL version as pgBackRest writes it (`15`, `9.6`).
    pub version: &'a str,
    /// The archive id (increases with each `stanza-upgrade`).
    pub id: u32,
}

/// What a directory name inside an archive is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirKind<'a> {
    /// `TTTTTTTTXXXXXXXX`: segments of one timeline and xlogid.
    XLogId,
    /// A pgBackRest archive id directory.
    ArchiveId(ArchiveId<'a>),
    /// Anything else (not descended into).
    Other,
}

fn is_upper_hex(c: u8) -> bool {
    c.is_ascii_digit() || (b'A'..=b'F').contains(&c)
}

/// Parses a pgBackRest archive id directory name.
pub fn parse_archive_id(name: &str) -> Option<ArchiveId<'_>> {
    let (version, id) = name.rsplit_once('-')?;
    let id_ok = !id.is_empty() && id.len() <= 9 && id.bytes().all(|b| b.is_ascii_digit());
    let mut parts = version.split('.');
    let major = parts.next()?;
    let minor = parts.next();
    let num = |s: &str| !s.is_empty() && s.len() <= 3 && s.bytes().all(|b| b.is_ascii_digit());
    if !id_ok || !num(major) || minor.is_some_and(|m| !num(m)) || parts.next().is_some() {
        return None;
    }
    Some(ArchiveId { version, id: id.parse().ok()? })
}

/// The timeline and xlogid of a nested directory name `TTTTTTTTXXXXXXXX`.
pub fn parse_xlogid_dir(name: &str) -> Option<(u32, u32)> {
    let b = name.as_bytes();
    if b.len() != 16 || !b.iter().all(|&c| is_upper_hex(c)) {
        return None;
    }
    let hex = |s: &[u8]| s.iter().fold(0u32, |acc, &c| (acc << 4) | (c as char).to_digit(16).unwrap_or(0));
    Some((hex(&b[..8]), hex(&b[8..])))
}

/// True when `file` belongs in the nested directory of timeline/xlogid `dir`.
pub fn belongs_in(file: &WalFileName, dir: (u32, u32)) -> bool {
    match file.kind {
        WalFileKind::Segment { segment }
        | WalFileKind::Partial { segment }
        | WalFileKind::BackupHistory { segment, .. } => (segment.timeline, segment.log) == dir,
        _ => false,
    }
}

/// Classifies a directory name.
pub fn classify_dir(name: &str) -> DirKind<'_> {
    if parse_xlogid_dir(name).is_some() {
        DirKind::XLogId
    } else if let Some(a) = parse_archive_id(name) {
        DirKind::ArchiveId(a)
    } else {
        DirKind::Other
    }
}

/// The nested directory (`TTTTTTTTXXXXXXXX`) where a file of this kind lives
/// in Barman's and pgBackRest's layouts, or `None` for files that live at the
/// top (history files) and files that are not WAL.
pub fn nested_dir(file: &WalFileName) -> Option<String> {
    match file.kind {
        WalFileKind::Segment { segment }
        | WalFileKind::Partial { segment }
        | WalFileKind::BackupHistory { segment, .. } => {
            Some(format!("{:08X}{:08X}", segment.timeline, segment.log))
        }
        _ => None,
    }
}

/// Where a file was found, relative to the archive root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathClass {
    /// A WAL-related file in the place its layout puts it.
    Wal {
        /// The classified name.
        file: WalFileName,
        /// True when it sits in a nested `TTTTTTTTXXXXXXXX/` directory.
        nested: bool,
    },
    /// A backup tool's metadata file ([`METADATA_FILES`]).
    Metadata,
    /// A WAL-related name in a nested directory that does not match it (for
    /// example a timeline 2 segment under `0000000100000000/`), or a history
    /// file in a nested directory.
    Misplaced(WalFileName),
    /// Anything else.
    Unknown,
}

/// Classifies a path relative to the archive root (components separated by
/// `/`): `NAME` at the top, or `TTTTTTTTXXXXXXXX/NAME`.
pub fn classify_path(rel: &str) -> PathClass {
    let mut comps = rel.split('/').filter(|c| !c.is_empty());
    let (dir, name) = match (comps.next(), comps.next(), comps.next()) {
        (Some(name), None, _) => (None, name),
        (Some(dir), Some(name), None) => (Some(dir), name),
        _ => return PathClass::Unknown,
    };
    classify_in(dir, name)
}

/// Classifies file `name` found at the top (`dir = None`) or in directory
/// `dir` of the archive.
pub fn classify_in(dir: Option<&str>, name: &str) -> PathClass {
    match dir {
        None => {
            let file = WalFileName::classify(name);
            if file.is_unknown() || matches!(file.kind, WalFileKind::ArchiveStatus { .. }) {
                if METADATA_FILES.contains(&name) { PathClass::Metadata } else { PathClass::Unknown }
            } else {
                PathClass::Wal { file, nested: false }
            }
        }
        Some(d) => match parse_xlogid_dir(d) {
            Some(xlogid) => classify_nested(xlogid, name),
            None => PathClass::Unknown,
        },
    }
}

/// Classifies file `name` found in the nested directory of timeline/xlogid
/// `xlogid` (see [`parse_xlogid_dir`]). Allocates nothing for plain names.
pub fn classify_nested(xlogid: (u32, u32), name: &str) -> PathClass {
    let file = WalFileName::classify(name);
    if belongs_in(&file, xlogid) {
        PathClass::Wal { file, nested: true }
    } else if file.is_unknown() || matches!(file.kind, WalFileKind::ArchiveStatus { .. }) {
        PathClass::Unknown
    } else {
        PathClass::Misplaced(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn archive_ids() {
        assert_eq!(parse_archive_id("15-1"), Some(ArchiveId { version: "15", id: 1 }));
        assert_eq!(parse_archive_id("9.6-12"), Some(ArchiveId { version: "9.6", id: 12 }));
        for bad in ["15", "-1", "15-", "a-1", "15-x", "1.2.3-1", "15--1", "1234-1", "15-1234567890"] {
            assert_eq!(parse_archive_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn paths() {
        let seg = "000000010000000000000001";
        assert!(matches!(classify_path(seg), PathClass::Wal { nested: false, .. }));
        assert!(matches!(
            classify_path(&format!("0000000100000000/{seg}")),
            PathClass::Wal { nested: true, .. }
        ));
        assert!(matches!(
            classify_path(&format!("0000000100000000/{seg}-{}.gz", "a".repeat(40))),
            PathClass::Wal { nested: true, .. }
        ));
        assert!(matches!(classify_path(&format!("0000000200000000/{seg}")), PathClass::Misplaced(_)));
        assert!(matches!(classify_path("0000000100000000/00000002.history"), PathClass::Misplaced(_)));
        assert!(matches!(classify_path("00000002.history"), PathClass::Wal { nested: false, .. }));
        assert!(matches!(
            classify_path("0000000100000000/000000010000000000000002.00000028.backup"),
            PathClass::Wal { nested: true, .. }
        ));
        assert_eq!(classify_path("archive.info"), PathClass::Metadata);
        assert_eq!(classify_path("notes.txt"), PathClass::Unknown);
        assert_eq!(classify_path("a/b/c"), PathClass::Unknown);
        assert_eq!(classify_path(&format!("other/{seg}")), PathClass::Unknown);
        assert_eq!(classify_path(&format!("{seg}.ready")), PathClass::Unknown);
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,80}") {
            let _ = classify_path(&s);
            let _ = classify_dir(&s);
            let _ = parse_archive_id(&s);
        }

        #[test]
        fn a_segment_in_its_own_directory_is_nested(tli in 1u32.., log in 0u32.., seg in 0u32..0x1000) {
            let name = format!("{tli:08X}{log:08X}{seg:08X}");
            let class = classify_path(&format!("{}/{name}", &name[..16]));
            prop_assert!(matches!(class, PathClass::Wal { nested: true, .. }), "{:?}", class);
        }
    }
}
