//! Walking the contents of a base backup, plain or tar, one entry at a time
//! with its contents as a stream (nothing is extracted or held in memory).
//!
//! Every entry is named by its path relative to the data directory, the way
//! `backup_manifest` names files: tablespace contents as
//! `pg_tblspc/<oid>/<path inside the tablespace>`, WAL as `pg_wal/<name>`.

use super::{TarFile, TarKind};
use crate::compress;
use crate::error::{Error, IoError, IoResultExt};
use crate::manifest::BackupPath;
use std::fs::{self, File};
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

/// What an entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file of `Entry::size` bytes.
    File,
    /// A directory.
    Dir,
    /// A symbolic link (in a plain backup, only `pg_tblspc/<oid>` links are
    /// reported as links, and their targets are walked too; other links are
    /// followed like `pg_verifybackup` does).
    Symlink {
        /// Where it points, as stored.
        target: PathBuf,
    },
    /// Anything else (device, FIFO, socket, hard link in a tar), or a path
    /// that could not be examined (`what` says which).
    Other {
        /// A description.
        what: String,
    },
}

/// Which part of the backup an entry belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Area {
    /// The main data directory.
    Base,
    /// `pg_wal` (directory, or `pg_wal.tar`).
    Wal,
    /// A tablespace (its `<oid>.tar`, or the target of `pg_tblspc/<oid>`).
    Tablespace(u32),
}

/// Where an entry comes from.
#[derive(Debug, Clone, Copy)]
pub enum Origin<'a> {
    /// A file in a plain backup directory (the real path, symlinks followed).
    Disk(&'a Path),
    /// A member of a tar file.
    Tar {
        /// The tar file's name (`base.tar.gz`).
        archive: &'a str,
        /// The member's name as stored in the archive.
        member: &'a str,
    },
}

/// One entry of a backup.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    /// Path relative to the data directory (normalized: no `.`, no empty
    /// components, no trailing `/`).
    pub path: &'a BackupPath,
    /// What it is.
    pub kind: EntryKind,
    /// Size in bytes (0 for non-files).
    pub size: u64,
    /// Permission bits (`st_mode & 0o7777`).
    pub mode: u32,
    /// Modification time (seconds since the epoch), when known.
    pub mtime: Option<u64>,
    /// The part of the backup.
    pub area: Area,
    /// Where it was read from.
    pub origin: Origin<'a>,
    /// The member name could not be made relative without escaping the
    /// backup (absolute, or `..` going above the root). Such entries are
    /// reported, never extracted.
    pub escapes: bool,
}

/// Whether to go on walking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Next entry.
    Continue,
    /// Stop the walk (successfully).
    Stop,
}

/// A visitor: called once per entry with a reader of its contents (empty for
/// non-files). Reading is optional; unread contents are skipped.
pub type Visitor<'v> = dyn FnMut(&Entry<'_>, &mut dyn Read) -> Result<Flow, Error> + 'v;

/// Normalizes a tar member name: drops `.` and empty components and a
/// leading `/`, resolves `..`. Returns the path and whether it escaped (was
/// absolute or went above the root).
pub fn normalize_member(name: &[u8]) -> (Vec<u8>, bool) {
    let mut escapes = name.first() == Some(&b'/');
    let mut parts: Vec<&[u8]> = Vec::new();
    for part in name.split(|&c| c == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                if parts.pop().is_none() {
                    escapes = true;
                }
            }
            p => parts.push(p),
        }
    }
    (parts.join(&b'/'), escapes)
}

/// Walks the tar files of a backup in order (base first, tablespaces, WAL last).
pub(crate) fn walk_tars(tars: &[TarFile], visitor: &mut Visitor<'_>) -> Result<(), Error> {
    for t in tars {
        if walk_tar(t, visitor)? == Flow::Stop {
            break;
        }
    }
    Ok(())
}

/// Walks one tar file.
pub(crate) fn walk_tar(t: &TarFile, visitor: &mut Visitor<'_>) -> Result<Flow, Error> {
    let f = File::open(&t.path).at_path(&t.path)?;
    match t.compression {
        None => {
            let mut ar = tar::Archive::new(f);
            let entries = ar.entries_with_seek().at_path(&t.path)?;
            walk_entries(t, entries, visitor)
        }
        Some(c) => {
            let dec = compress::decoder(BufReader::with_capacity(256 * 1024, f), Some(c)).at_path(&t.path)?;
            let mut ar = tar::Archive::new(dec);
            let entries = ar.entries().at_path(&t.path)?;
            walk_entries(t, entries, visitor)
        }
    }
}

fn walk_entries<R: Read>(
    t: &TarFile,
    entries: tar::Entries<'_, R>,
    visitor: &mut Visitor<'_>,
) -> Result<Flow, Error> {
    let prefix: Vec<u8> = match t.kind {
        TarKind::Base => Vec::new(),
        TarKind::Wal => b"pg_wal/".to_vec(),
        TarKind::Tablespace { oid } => format!("pg_tblspc/{oid}/").into_bytes(),
    };
    let area = match t.kind {
        TarKind::Base => None,
        TarKind::Wal => Some(Area::Wal),
        TarKind::Tablespace { oid } => Some(Area::Tablespace(oid)),
    };
    for entry in entries {
        let mut e = entry.map_err(|e| tar_error(t, None, e))?;
        let member_bytes = e.path_bytes().into_owned();
        let member = String::from_utf8_lossy(&member_bytes).into_owned();
        let (rel, escapes) = normalize_member(&member_bytes);
        if rel.is_empty() && !escapes {
            // The archive root itself ("./").
            continue;
        }
        let mut full = prefix.clone();
        full.extend_from_slice(&rel);
        let path = BackupPath::from_bytes(full);
        let header = e.header();
        let mode = header.mode().unwrap_or(0o600) & 0o7777;
        let mtime = header.mtime().ok();
        let kind = match header.entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => EntryKind::File,
            tar::EntryType::Directory => EntryKind::Dir,
            tar::EntryType::Symlink => {
                let target = e.link_name_bytes().map(|b| bytes_to_path(&b)).unwrap_or_default();
                EntryKind::Symlink { target }
            }
            tar::EntryType::Link => EntryKind::Other { what: "hard link".into() },
            other => EntryKind::Other { what: format!("tar entry of type {other:?}") },
        };
        let size = if kind == EntryKind::File { e.size() } else { 0 };
        let area = area.unwrap_or_else(|| area_of(path.as_bytes()));
        let entry = Entry {
            path: &path,
            kind,
            size,
            mode,
            mtime,
            area,
            origin: Origin::Tar { archive: &t.name, member: &member },
            escapes,
        };
        let flow = visitor(&entry, &mut e).map_err(|err| match err {
            Error::Io(io) if io.path.as_os_str().is_empty() => tar_error(t, Some(&member), io.source),
            other => other,
        })?;
        if flow == Flow::Stop {
            return Ok(Flow::Stop);
        }
    }
    Ok(Flow::Continue)
}

/// An I/O error inside a tar file, naming the file and the member.
fn tar_error(t: &TarFile, member: Option<&str>, e: io::Error) -> Error {
    let msg = match member {
        Some(m) => format!("member {m:?}: {e}"),
        None => e.to_string(),
    };
    Error::Io(IoError::new(&t.path, io::Error::new(e.kind(), msg)))
}

/// The area of a path in the main data directory.
pub(crate) fn area_of(path: &[u8]) -> Area {
    if path == b"pg_wal" || path.starts_with(b"pg_wal/") {
        return Area::Wal;
    }
    if let Some(rest) = path.strip_prefix(b"pg_tblspc/") {
        let oid_part = rest.split(|&c| c == b'/').next().unwrap_or(&[]);
        if let Some(oid) = parse_oid(oid_part) {
            return Area::Tablespace(oid);
        }
    }
    Area::Base
}

/// A positive decimal OID.
pub(crate) fn parse_oid(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 10 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(b).ok()?.parse().ok().filter(|&o| o != 0)
}

pub(crate) fn bytes_to_path(b: &[u8]) -> PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        PathBuf::from(std::ffi::OsStr::from_bytes(b))
    }
    #[cfg(not(unix))]
    {
        PathBuf::from(String::from_utf8_lossy(b).into_owned())
    }
}

fn name_bytes(name: &std::ffi::OsStr) -> Vec<u8> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        name.as_bytes().to_vec()
    }
    #[cfg(not(unix))]
    {
        name.to_string_lossy().into_owned().into_bytes()
    }
}

/// A file opened on first read.
struct LazyFile<'a> {
    path: &'a Path,
    file: Option<File>,
}

impl Read for LazyFile<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.file.is_none() {
            self.file = Some(File::open(self.path)?);
        }
        match &mut self.file {
            Some(f) => f.read(buf),
            None => Ok(0),
        }
    }
}

/// Walks a plain backup directory, sorted by name at every level.
pub(crate) fn walk_dir(root: &Path, visitor: &mut Visitor<'_>) -> Result<(), Error> {
    let mut seen_dirs = Vec::new();
    remember_dir(root, &mut seen_dirs);
    walk_dir_inner(root, &[], visitor, &mut seen_dirs, 0).map(|_| ())
}

#[cfg(unix)]
fn dir_id(meta: &fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn dir_id(_meta: &fs::Metadata) -> (u64, u64) {
    (0, 0)
}

fn remember_dir(p: &Path, seen: &mut Vec<(u64, u64)>) -> bool {
    match fs::metadata(p) {
        Ok(m) => {
            let id = dir_id(&m);
            if cfg!(unix) && seen.contains(&id) {
                return false;
            }
            seen.push(id);
            true
        }
        Err(_) => true,
    }
}

#[cfg(unix)]
fn mode_of(meta: &fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
fn mode_of(meta: &fs::Metadata) -> u32 {
    if meta.is_dir() { 0o700 } else { 0o600 }
}

fn mtime_of(meta: &fs::Metadata) -> Option<u64> {
    meta.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok().map(|d| d.as_secs())
}

const MAX_DEPTH: usize = 64;

fn walk_dir_inner(
    dir: &Path,
    rel: &[u8],
    visitor: &mut Visitor<'_>,
    seen: &mut Vec<(u64, u64)>,
    depth: usize,
) -> Result<Flow, Error> {
    let mut names: Vec<std::ffi::OsString> = Vec::new();
    for e in fs::read_dir(dir).at_path(dir)? {
        names.push(e.at_path(dir)?.file_name());
    }
    names.sort_by_key(|n| name_bytes(n));
    for name in names {
        let fs_path = dir.join(&name);
        let mut relpath = rel.to_vec();
        if !relpath.is_empty() {
            relpath.push(b'/');
        }
        relpath.extend_from_slice(&name_bytes(&name));
        let path = BackupPath::from_bytes(relpath.clone());
        let area = area_of(&relpath);
        let lmeta = fs::symlink_metadata(&fs_path).at_path(&fs_path)?;
        let mut base = Entry {
            path: &path,
            kind: EntryKind::File,
            size: 0,
            mode: mode_of(&lmeta),
            mtime: mtime_of(&lmeta),
            area,
            origin: Origin::Disk(&fs_path),
            escapes: false,
        };
        let is_tblspc_link =
            lmeta.file_type().is_symlink() && rel == b"pg_tblspc" && parse_oid(&name_bytes(&name)).is_some();
        if is_tblspc_link {
            let target = fs::read_link(&fs_path).at_path(&fs_path)?;
            let link = Entry { kind: EntryKind::Symlink { target }, ..base.clone() };
            if visitor(&link, &mut io::empty())? == Flow::Stop {
                return Ok(Flow::Stop);
            }
        }
        // Follow symbolic links, as pg_verifybackup does (stat, not lstat).
        let meta = match fs::metadata(&fs_path) {
            Ok(m) => m,
            Err(e) => {
                base.kind = EntryKind::Other { what: format!("could not stat file or directory: {e}") };
                if visitor(&base, &mut io::empty())? == Flow::Stop {
                    return Ok(Flow::Stop);
                }
                continue;
            }
        };
        base.mode = mode_of(&meta);
        base.mtime = mtime_of(&meta);
        if meta.is_dir() {
            if depth >= MAX_DEPTH || !remember_dir(&fs_path, seen) {
                base.kind = EntryKind::Other { what: "directory loop through symbolic links".into() };
                if visitor(&base, &mut io::empty())? == Flow::Stop {
                    return Ok(Flow::Stop);
                }
                continue;
            }
            if !is_tblspc_link {
                base.kind = EntryKind::Dir;
                if visitor(&base, &mut io::empty())? == Flow::Stop {
                    return Ok(Flow::Stop);
                }
            }
            if walk_dir_inner(&fs_path, &relpath, visitor, seen, depth + 1)? == Flow::Stop {
                return Ok(Flow::Stop);
            }
        } else if meta.is_file() {
            base.kind = EntryKind::File;
            base.size = meta.len();
            let mut r = LazyFile { path: &fs_path, file: None };
            let flow = visitor(&base, &mut r).map_err(|err| match err {
                Error::Io(io) if io.path.as_os_str().is_empty() => {
                    Error::Io(IoError::new(&fs_path, io.source))
                }
                other => other,
            })?;
            if flow == Flow::Stop {
                return Ok(Flow::Stop);
            }
        } else {
            base.kind = EntryKind::Other { what: "not a regular file or directory".into() };
            if visitor(&base, &mut io::empty())? == Flow::Stop {
                return Ok(Flow::Stop);
            }
        }
    }
    Ok(Flow::Continue)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn member_names_normalize() {
        assert_eq!(normalize_member(b"./pg_wal/archive_status/"), (b"pg_wal/archive_status".to_vec(), false));
        assert_eq!(normalize_member(b"base/1/../2//x"), (b"base/2/x".to_vec(), false));
        assert_eq!(normalize_member(b"../etc/passwd"), (b"etc/passwd".to_vec(), true));
        assert_eq!(normalize_member(b"/etc/passwd"), (b"etc/passwd".to_vec(), true));
        assert_eq!(normalize_member(b"./"), (Vec::new(), false));
    }

    #[test]
    fn areas() {
        assert_eq!(area_of(b"pg_wal/000000010000000000000001"), Area::Wal);
        assert_eq!(area_of(b"pg_wal"), Area::Wal);
        assert_eq!(area_of(b"pg_walx"), Area::Base);
        assert_eq!(area_of(b"pg_tblspc/16384/PG_15_202209061/5/1"), Area::Tablespace(16384));
        assert_eq!(area_of(b"pg_tblspc/x"), Area::Base);
        assert_eq!(parse_oid(b"0"), None);
        assert_eq!(parse_oid(b"4294967295"), Some(u32::MAX));
        assert_eq!(parse_oid(b"4294967296"), None);
    }

    proptest! {
        #[test]
        fn normalized_paths_never_escape(name in proptest::collection::vec(prop_oneof![Just(b'/'), Just(b'.'), Just(b'a')], 0..30)) {
            let (p, _) = normalize_member(&name);
            prop_assert!(!p.starts_with(b"/"));
            prop_assert!(!p.split(|&c| c == b'/').any(|c| c == b".." || c == b"." || c.is_empty()) || p.is_empty());
        }
    }
}
