//! `tablespace_map`: one line `<oid> <path>\n` per tablespace symlink under
//! `pg_tblspc`, written by `pg_backup_stop()` and tar-format `pg_basebackup`,
//! read by recovery before replay to recreate the symlinks.
//!
//! Escaping differs by version (checked against real servers):
//!
//! * 14 and later: `\`, LF and CR in the path are written with a backslash
//!   before them; the reader drops a backslash before *any* character. An
//!   unescaped CR or LF ends a line; empty lines (such as the LF of a CRLF
//!   pair) are skipped. The OID is everything before the first space; at least
//!   one character must follow that space. The file must end with a newline.
//! * 13: only LF and CR are escaped; other backslashes are written and read
//!   as is.
//!
//! Anything the server would reject (`FATAL: invalid data in file
//! "tablespace_map"`) is a [`ParseError`] here.

use crate::error::ParseError;
use crate::version::PgMajor;
use serde::{Serialize, Serializer};
use std::path::{Path, PathBuf};

const WHAT: &str = "tablespace_map";

/// The escaping convention of a server version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MapEscaping {
    /// PostgreSQL 13: backslash escapes only CR and LF.
    Pg13,
    /// PostgreSQL 14 and later: backslash escapes any character, and `\` itself is escaped.
    Pg14,
}

impl MapEscaping {
    /// The convention of `major`.
    pub fn of(major: PgMajor) -> MapEscaping {
        if major <= PgMajor::V13 { MapEscaping::Pg13 } else { MapEscaping::Pg14 }
    }
}

/// One tablespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TablespaceMapEntry {
    /// The tablespace OID (the symlink name under `pg_tblspc`).
    pub oid: u32,
    /// Where the symlink points (the tablespace location), unescaped; kept as
    /// raw bytes, serialized as (lossy) text.
    #[serde(serialize_with = "ser_lossy")]
    pub path: Vec<u8>,
}

impl TablespaceMapEntry {
    /// The location as a platform path.
    pub fn location(&self) -> PathBuf {
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            PathBuf::from(std::ffi::OsStr::from_bytes(&self.path))
        }
        #[cfg(not(unix))]
        {
            PathBuf::from(String::from_utf8_lossy(&self.path).into_owned())
        }
    }
}

fn ser_lossy<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(v))
}

/// A parsed `tablespace_map`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct TablespaceMap {
    /// The entries, in file order.
    pub entries: Vec<TablespaceMapEntry>,
}

impl TablespaceMap {
    /// Parses `bytes` with the escaping of `escaping`. `file` names the input in errors.
    pub fn parse(bytes: &[u8], escaping: MapEscaping, file: &Path) -> Result<TablespaceMap, ParseError> {
        let mut entries: Vec<TablespaceMapEntry> = Vec::new();
        let mut line: Vec<u8> = Vec::new();
        let mut line_no = 1usize;
        let mut line_start = 0usize;
        let mut escaped = false;
        for (pos, &ch) in bytes.iter().enumerate() {
            let ends_line = (ch == b'\n' || ch == b'\r') && !escaped;
            if ends_line {
                if !line.is_empty() {
                    let e = parse_line(&line).map_err(|msg| {
                        ParseError::new(WHAT, msg).at_line(line_no).at_position(line_start).in_file(file)
                    })?;
                    if entries.iter().any(|x| x.oid == e.oid) {
                        return Err(ParseError::new(WHAT, format!("tablespace {} is listed twice", e.oid))
                            .at_line(line_no)
                            .in_file(file));
                    }
                    entries.push(e);
                    line.clear();
                }
                if ch == b'\n' {
                    line_no += 1;
                }
                line_start = pos + 1;
                continue;
            }
            match escaping {
                MapEscaping::Pg14 => {
                    if !escaped && ch == b'\\' {
                        escaped = true;
                    } else {
                        line.push(ch);
                        escaped = false;
                    }
                }
                MapEscaping::Pg13 => {
                    if escaped && (ch == b'\n' || ch == b'\r') {
                        // The backslash that escaped this newline is replaced by it.
                        line.pop();
                        line.push(ch);
                        escaped = false;
                    } else {
                        line.push(ch);
                        escaped = ch == b'\\';
                    }
                }
            }
        }
        if !line.is_empty() || (escaping == MapEscaping::Pg14 && escaped) {
            return Err(ParseError::new(WHAT, "last line does not end with a newline")
                .at_line(line_no)
                .at_position(line_start)
                .in_file(file));
        }
        Ok(TablespaceMap { entries })
    }

    /// The entry of tablespace `oid`.
    pub fn get(&self, oid: u32) -> Option<&TablespaceMapEntry> {
        self.entries.iter().find(|e| e.oid == oid)
    }

    /// The file as the server of `escaping` writes it.
    pub fn to_bytes(&self, escaping: MapEscaping) -> Vec<u8> {
        let mut out = Vec::new();
        for e in &self.entries {
            out.extend_from_slice(e.oid.to_string().as_bytes());
            out.push(b' ');
            for &c in &e.path {
                let escape = match escaping {
                    MapEscaping::Pg14 => matches!(c, b'\\' | b'\n' | b'\r'),
                    MapEscaping::Pg13 => matches!(c, b'\n' | b'\r'),
                };
                if escape {
                    out.push(b'\\');
                }
                out.push(c);
            }
            out.push(b'\n');
        }
        out
    }
}

/// `<oid> <path>` of one unescaped line: the OID is everything before the
/// first space and must be a positive decimal number; the path is everything
/// after that space and must not be empty.
fn parse_line(line: &[u8]) -> Result<TablespaceMapEntry, String> {
    let Some(space) = line.iter().position(|&c| c == b' ') else {
        return Err("expected \"<oid> <path>\"".into());
    };
    let (oid, rest) = line.split_at(space);
    let path = rest.get(1..).unwrap_or(&[]);
    if oid.is_empty() {
        return Err("line starts with a space: expected a tablespace OID".into());
    }
    if path.is_empty() {
        return Err("no path after the tablespace OID".into());
    }
    let oid_text = String::from_utf8_lossy(oid);
    let oid: u32 = match std::str::from_utf8(oid).ok().filter(|s| s.bytes().all(|b| b.is_ascii_digit())) {
        Some(s) => s.parse().map_err(|_| format!("tablespace OID {oid_text:?} is out of range"))?,
        None => return Err(format!("tablespace OID {oid_text:?} is not a number")),
    };
    if oid == 0 {
        return Err("tablespace OID 0 is invalid".into());
    }
    Ok(TablespaceMapEntry { oid, path: path.to_vec() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(b: &[u8], e: MapEscaping) -> Result<TablespaceMap, ParseError> {
        TablespaceMap::parse(b, e, Path::new("tablespace_map"))
    }

    #[test]
    fn server_output_parses() {
        // Bytes written by pg_basebackup 15 and by pg_backup_stop() of 14 and 13.
        let m = p(b"16384 /tmp/pgdev/ts15\n", MapEscaping::Pg14).unwrap();
        assert_eq!(m.entries, vec![TablespaceMapEntry { oid: 16384, path: b"/tmp/pgdev/ts15".to_vec() }]);
        let m14 = p(b"16384 /tmp/pgdev/ts14\\\\b\n", MapEscaping::Pg14).unwrap();
        assert_eq!(m14.entries[0].path, b"/tmp/pgdev/ts14\\b");
        let m13 = p(b"16384 /tmp/pgdev/ts13\\b\n", MapEscaping::Pg13).unwrap();
        assert_eq!(m13.entries[0].path, b"/tmp/pgdev/ts13\\b");
        assert_eq!(m13.entries[0].location(), Path::new("/tmp/pgdev/ts13\\b"));
        assert!(p(b"", MapEscaping::Pg14).unwrap().entries.is_empty());
    }

    #[test]
    fn escapes_newlines_spaces_and_crlf() {
        let m = p(b"1 /a\\\nb\n2  leading space\r\n\n3 /c\\\\\\\rd\n", MapEscaping::Pg14).unwrap();
        let got: Vec<_> = m.entries.iter().map(|e| (e.oid, e.path.clone())).collect();
        assert_eq!(
            got,
            vec![(1, b"/a\nb".to_vec()), (2, b" leading space".to_vec()), (3, b"/c\\\rd".to_vec())]
        );
        // 13: backslash-newline is a newline in the path, other backslashes stay.
        let m = p(b"1 /a\\\nb\\c\n", MapEscaping::Pg13).unwrap();
        assert_eq!(m.entries[0].path, b"/a\nb\\c");
    }

    #[test]
    fn rejects_what_the_server_rejects() {
        for (input, want) in [
            (&b"16384\n"[..], "expected"),
            (b"16384 \n", "no path"),
            (b" /x\n", "starts with a space"),
            (b"abc /x\n", "not a number"),
            (b"0 /x\n", "invalid"),
            (b"99999999999 /x\n", "out of range"),
            (b"1 /x", "newline"),
            (b"1 /x\n1 /y\n", "twice"),
            (b"1 /x\\", "newline"),
        ] {
            let e = p(input, MapEscaping::Pg14).unwrap_err();
            assert!(e.to_string().contains(want), "{input:?}: {e}");
            assert!(e.to_string().starts_with("tablespace_map:"), "{e}");
        }
        let e = p(b"1 /x\n2\n", MapEscaping::Pg14).unwrap_err();
        assert_eq!(e.line, Some(2));
    }

    fn path_bytes() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![Just(b'\\'), Just(b'\n'), Just(b'\r'), Just(b' '), any::<u8>()],
            1..40,
        )
    }

    proptest! {
        #[test]
        fn round_trips_14(entries in proptest::collection::btree_map(1u32.., path_bytes(), 0..5)) {
            let map = TablespaceMap {
                entries: entries.into_iter().map(|(oid, path)| TablespaceMapEntry { oid, path }).collect(),
            };
            let bytes = map.to_bytes(MapEscaping::Pg14);
            prop_assert_eq!(p(&bytes, MapEscaping::Pg14).unwrap(), map);
        }

        #[test]
        fn round_trips_13_without_trailing_backslash(
            entries in proptest::collection::btree_map(1u32.., path_bytes(), 0..5)
        ) {
            // In 13 a path whose last byte is a backslash, or with a backslash
            // before a newline, is ambiguous: the server cannot read it back either.
            let ok = |p: &Vec<u8>| p.last() != Some(&b'\\') && !p.windows(2).any(|w| w[0] == b'\\' && (w[1] == b'\n' || w[1] == b'\r'));
            let map = TablespaceMap {
                entries: entries.into_iter().filter(|(_, p)| ok(p)).map(|(oid, path)| TablespaceMapEntry { oid, path }).collect(),
            };
            let bytes = map.to_bytes(MapEscaping::Pg13);
            prop_assert_eq!(p(&bytes, MapEscaping::Pg13).unwrap(), map);
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = p(&bytes, MapEscaping::Pg13);
            let _ = p(&bytes, MapEscaping::Pg14);
        }
    }
}
