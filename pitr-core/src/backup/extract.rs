//! Restoring a base backup (plain or tar) into an empty directory, with its
//! tablespaces, optionally relocated.
//!
//! Safety rules:
//!
//! * the target data directory, and every tablespace directory, must be
//!   empty or absent; nothing is ever overwritten (files are created with
//!   `O_EXCL`);
//! * a tar member that is absolute or climbs out with `..`, or that would be
//!   written through a symbolic link created earlier in the extraction, is
//!   refused: nothing is ever written outside the target directories;
//! * permissions are preserved (owner always gets `rwx` on directories and
//!   `rw` on files); the data directory and tablespace directories are `0700`;
//! * on failure everything created is removed: directories the extraction
//!   created are deleted, directories that existed (empty) are emptied again;
//!   the same when the caller raises [`ExtractOptions::interrupt`] (checked
//!   before each file; Ctrl-C in the command line).
//!
//! `postmaster.pid` and `postmaster.opts` are never restored (a copy of a
//! running server's data directory may contain them). When a tablespace is
//! relocated, `tablespace_map` (tar and API backups) is rewritten with the new
//! location, because recovery recreates the `pg_tblspc` links from it.

use super::source::{Area, Entry, EntryKind, Flow};
use super::{Backup, BackupFormat, MapEscaping, TablespaceMap};
use crate::error::{Error, IoError, IoResultExt};
use crate::fsutil;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Options of [`extract`].
#[derive(Debug, Clone)]
pub struct ExtractOptions {
    /// New locations by tablespace OID.
    pub tablespace_oids: BTreeMap<u32, PathBuf>,
    /// New locations by old location (`pg_basebackup -T OLDDIR=NEWDIR`).
    pub tablespace_paths: Vec<(PathBuf, PathBuf)>,
    /// Restore the WAL included in the backup into `pg_wal` (default true).
    pub include_wal: bool,
    /// fsync every file and directory written (default true).
    pub fsync: bool,
    /// Raised by the caller (e.g. from a signal handler) to stop: checked
    /// before each file and at the end; the extraction then removes what it wrote and fails
    /// with [`Error::Interrupted`].
    pub interrupt: Option<Arc<AtomicBool>>,
}

impl Default for ExtractOptions {
    fn default() -> Self {
        ExtractOptions {
            tablespace_oids: BTreeMap::new(),
            tablespace_paths: Vec::new(),
            include_wal: true,
            fsync: true,
            interrupt: None,
        }
    }
}

/// A tablespace as restored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExtractedTablespace {
    /// OID.
    pub oid: u32,
    /// Where it was written (and where `pg_tblspc/<oid>` points).
    pub location: PathBuf,
    /// True when this is not the original location.
    pub relocated: bool,
    /// An in-place tablespace, restored as a directory in `pg_tblspc`.
    pub in_place: bool,
}

/// What [`extract`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExtractReport {
    /// The data directory written.
    pub target: PathBuf,
    /// Regular files written (WAL included).
    pub files: u64,
    /// Bytes written.
    pub bytes: u64,
    /// WAL files written into `pg_wal`.
    pub wal_files: u64,
    /// Tablespaces.
    pub tablespaces: Vec<ExtractedTablespace>,
    /// Whether `tablespace_map` was rewritten with new locations.
    pub tablespace_map_rewritten: bool,
    /// Entries deliberately not restored (`postmaster.pid`, WAL when not asked).
    pub skipped: Vec<String>,
}

/// Files of a data directory that must never be restored.
const NEVER_RESTORED: [&str; 2] = ["postmaster.pid", "postmaster.opts"];

/// Extracts `backup` into `target` (created if absent; must be empty if
/// present). See the module documentation for the rules.
pub fn extract(backup: &Backup, target: &Path, opts: &ExtractOptions) -> Result<ExtractReport, Error> {
    let (report, mut guard) = extract_guarded(backup, target, opts)?;
    guard.commit();
    Ok(report)
}

/// [`extract`], leaving the removal of what it wrote to the caller: dropping
/// the guard uncommitted removes it (restore commits only once the recovery
/// settings are written too).
pub(crate) fn extract_guarded(
    backup: &Backup,
    target: &Path,
    opts: &ExtractOptions,
) -> Result<(ExtractReport, Guard), Error> {
    if matches!(backup.format, BackupFormat::Label | BackupFormat::BackupHistory) {
        return Err(Error::Invalid(format!(
            "{}: a backup_label or .backup file alone cannot be restored",
            backup.path.display()
        )));
    }
    let target = absolute(target)?;

    // Where each tablespace goes.
    let mut ts: Vec<ExtractedTablespace> = Vec::new();
    for t in &backup.tablespaces {
        let remapped = opts.tablespace_oids.get(&t.oid).cloned().or_else(|| {
            let original = t.location.as_ref()?;
            opts.tablespace_paths.iter().find(|(old, _)| old == original).map(|(_, new)| new.clone())
        });
        if t.in_place {
            if remapped.is_some() {
                return Err(Error::Invalid(format!(
                    "tablespace {} is an in-place tablespace (a directory in pg_tblspc): it cannot be relocated",
                    t.oid
                )));
            }
            let location = target.join("pg_tblspc").join(t.oid.to_string());
            ts.push(ExtractedTablespace { oid: t.oid, location, relocated: false, in_place: true });
            continue;
        }
        let Some(original) = &t.location else {
            return Err(Error::Invalid(format!(
                "tablespace {} has no known location (no tablespace_map line, no pg_tblspc link)",
                t.oid
            )));
        };
        let has_contents = match backup.format {
            BackupFormat::Tar => t.archive.is_some(),
            _ => t.link.is_some(),
        };
        if !has_contents {
            return Err(Error::Invalid(format!(
                "tablespace {} is listed in tablespace_map but its contents are not in the backup ({})",
                t.oid,
                if backup.format == BackupFormat::Tar { "no tar file" } else { "no pg_tblspc link" }
            )));
        }
        if remapped.is_none() && !original.is_absolute() {
            return Err(Error::Invalid(format!(
                "tablespace {} has a relative location {}: give it a new location",
                t.oid,
                original.display()
            )));
        }
        let location = absolute(&remapped.unwrap_or_else(|| original.clone()))?;
        if location.starts_with(&target) || target.starts_with(&location) {
            return Err(Error::Invalid(format!(
                "tablespace {} cannot be restored to {}: it overlaps the data directory",
                t.oid,
                location.display()
            )));
        }
        if ts.iter().any(|o| o.location.starts_with(&location) || location.starts_with(&o.location)) {
            return Err(Error::Invalid(format!(
                "two tablespaces would be restored to overlapping directories ({})",
                location.display()
            )));
        }
        ts.push(ExtractedTablespace {
            oid: t.oid,
            relocated: &location != original,
            location,
            in_place: false,
        });
    }
    for oid in opts.tablespace_oids.keys() {
        if !ts.iter().any(|t| t.oid == *oid) {
            return Err(Error::Invalid(format!("the backup has no tablespace {oid}")));
        }
    }
    for (old, _) in &opts.tablespace_paths {
        if !backup.tablespaces.iter().any(|t| t.location.as_ref() == Some(old)) {
            return Err(Error::Invalid(format!("the backup has no tablespace at {}", old.display())));
        }
    }

    let mut guard = Guard::default();
    guard.prepare_root(&target)?;
    for t in ts.iter().filter(|t| !t.in_place) {
        guard.prepare_root(&t.location)?;
    }

    let mut ex = Extractor {
        target: &target,
        ts: &ts,
        opts,
        links: HashSet::new(),
        report: ExtractReport {
            target: target.clone(),
            files: 0,
            bytes: 0,
            wal_files: 0,
            tablespaces: ts.clone(),
            tablespace_map_rewritten: false,
            skipped: Vec::new(),
        },
        dirs: Vec::new(),
    };
    backup.visit(&mut |e, r| ex.entry(e, r))?;

    // pg_wal (and archive_status) must exist; pg_tblspc links point at the
    // (possibly relocated) tablespaces.
    for d in ["pg_wal", "pg_wal/archive_status", "pg_tblspc"] {
        ex.ensure_dir(&target, Path::new(d), 0o700)?;
    }
    for t in &ts {
        let link = target.join("pg_tblspc").join(t.oid.to_string());
        if t.in_place {
            ex.ensure_dir(&target, &PathBuf::from("pg_tblspc").join(t.oid.to_string()), 0o700)?;
        } else {
            make_symlink(&t.location, &link)?;
        }
    }
    if ts.iter().any(|t| t.relocated) {
        if let Some(map) = &backup.tablespace_map {
            let mut new = map.clone();
            for e in &mut new.entries {
                if let Some(t) = ts.iter().find(|t| t.oid == e.oid) {
                    e.path = path_bytes(&t.location);
                }
            }
            let escaping = backup.major().map(MapEscaping::of).unwrap_or(MapEscaping::Pg14);
            rewrite_map(&target, &new, escaping)?;
            ex.report.tablespace_map_rewritten = true;
        }
    }
    if opts.fsync {
        let mut dirs = ex.dirs.clone();
        dirs.push(target.clone());
        dirs.extend(ts.iter().filter(|t| !t.in_place).map(|t| t.location.clone()));
        for d in dirs {
            fsutil::sync_dir(&d)?;
        }
    }
    interrupted(opts)?;
    Ok((ex.report, guard))
}

/// [`Error::Interrupted`] once the caller raised `opts.interrupt`.
fn interrupted(opts: &ExtractOptions) -> Result<(), Error> {
    match &opts.interrupt {
        Some(flag) if flag.load(Ordering::SeqCst) => Err(Error::Interrupted),
        _ => Ok(()),
    }
}

fn rewrite_map(target: &Path, map: &TablespaceMap, escaping: MapEscaping) -> Result<(), Error> {
    let p = target.join("tablespace_map");
    // The file was just created by the extraction; keep its permissions.
    let mode = fs::metadata(&p).map(|m| permissions_mode(&m)).unwrap_or(0o600);
    fsutil::atomic_write(&p, &map.to_bytes(escaping))?;
    set_mode(&p, mode)?;
    Ok(())
}

struct Extractor<'a> {
    target: &'a Path,
    ts: &'a [ExtractedTablespace],
    opts: &'a ExtractOptions,
    /// Symbolic links created, as (root, relative path): nothing is written below them.
    links: HashSet<(PathBuf, PathBuf)>,
    report: ExtractReport,
    /// Directories created (for the final fsync).
    dirs: Vec<PathBuf>,
}

impl Extractor<'_> {
    fn entry(&mut self, e: &Entry<'_>, r: &mut dyn Read) -> Result<Flow, Error> {
        interrupted(self.opts)?;
        let shown = e.path.to_string_lossy().into_owned();
        if e.escapes {
            return Err(Error::Invalid(format!(
                "refusing to extract \"{}\": it points outside the target directory",
                match e.origin {
                    super::source::Origin::Tar { member, archive } => format!("{archive}:{member}"),
                    super::source::Origin::Disk(p) => p.display().to_string(),
                }
            )));
        }
        let rel = e.path.to_path_buf();
        // Where the entry goes: (root directory, path below it).
        let (root, sub): (PathBuf, PathBuf) = match e.area {
            Area::Tablespace(oid) => {
                let prefix = PathBuf::from("pg_tblspc").join(oid.to_string());
                let sub = rel.strip_prefix(&prefix).map(Path::to_path_buf).unwrap_or_default();
                if sub.as_os_str().is_empty() {
                    // The pg_tblspc/<oid> link or directory itself: created at the end.
                    return Ok(Flow::Continue);
                }
                let Some(t) = self.ts.iter().find(|t| t.oid == oid) else {
                    return Err(Error::Invalid(format!(
                        "\"{shown}\" belongs to tablespace {oid}, which has no location"
                    )));
                };
                if t.in_place { (self.target.to_path_buf(), rel.clone()) } else { (t.location.clone(), sub) }
            }
            Area::Wal if !self.opts.include_wal && e.kind != EntryKind::Dir => {
                self.report.skipped.push(shown);
                return Ok(Flow::Continue);
            }
            _ => (self.target.to_path_buf(), rel.clone()),
        };
        if e.area == Area::Base && NEVER_RESTORED.iter().any(|n| Path::new(n) == rel) {
            self.report.skipped.push(shown);
            return Ok(Flow::Continue);
        }
        if !is_plain_relative(&sub) {
            return Err(Error::Invalid(format!(
                "refusing to extract \"{shown}\": not a plain relative path"
            )));
        }
        self.refuse_through_link(&root, &sub, &shown)?;
        match &e.kind {
            EntryKind::Dir => {
                self.ensure_dir(&root, &sub, e.mode | 0o700)?;
            }
            EntryKind::File => {
                if let Some(parent) = sub.parent() {
                    self.ensure_dir(&root, parent, 0o700)?;
                }
                let dest = root.join(&sub);
                let n = write_new_file(&dest, r, e.mode, e.mtime, self.opts.fsync)?;
                if n != e.size {
                    return Err(Error::Invalid(format!(
                        "\"{shown}\": {n} bytes read, {} expected (the backup changed or is truncated)",
                        e.size
                    )));
                }
                self.report.files += 1;
                self.report.bytes += n;
                if e.area == Area::Wal {
                    self.report.wal_files += 1;
                }
            }
            EntryKind::Symlink { target } => {
                if let Some(parent) = sub.parent() {
                    self.ensure_dir(&root, parent, 0o700)?;
                }
                make_symlink(target, &root.join(&sub))?;
                self.links.insert((root.clone(), sub.clone()));
            }
            EntryKind::Other { what } => {
                return Err(Error::Invalid(format!("cannot restore \"{shown}\": {what}")));
            }
        }
        Ok(Flow::Continue)
    }

    /// Refuses a path that goes through a symbolic link created by the extraction.
    fn refuse_through_link(&self, root: &Path, sub: &Path, shown: &str) -> Result<(), Error> {
        let mut prefix = PathBuf::new();
        for c in sub.components() {
            prefix.push(c);
            if prefix.as_path() != sub && self.links.contains(&(root.to_path_buf(), prefix.clone())) {
                return Err(Error::Invalid(format!(
                    "refusing to extract \"{shown}\": it would be written through the symbolic link {}",
                    prefix.display()
                )));
            }
        }
        Ok(())
    }

    /// Creates `root/sub` and missing parents below `root` with `mode`.
    fn ensure_dir(&mut self, root: &Path, sub: &Path, mode: u32) -> Result<(), Error> {
        let mut p = root.to_path_buf();
        for c in sub.components() {
            p.push(c);
            match fs::symlink_metadata(&p) {
                Ok(m) if m.is_dir() => continue,
                Ok(_) => {
                    return Err(Error::Invalid(format!("{} exists and is not a directory", p.display())));
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    fs::create_dir(&p).at_path(&p)?;
                    set_mode(&p, (mode & 0o777) | 0o700)?;
                    self.dirs.push(p.clone());
                }
                Err(e) => return Err(IoError::new(&p, e).into()),
            }
        }
        Ok(())
    }
}

/// Only normal components (no root, no `..`, no `.`).
fn is_plain_relative(p: &Path) -> bool {
    p.components().all(|c| matches!(c, Component::Normal(_)))
}

fn write_new_file(
    dest: &Path,
    r: &mut dyn Read,
    mode: u32,
    mtime: Option<u64>,
    sync: bool,
) -> Result<u64, Error> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f: File = opts.open(dest).at_path(dest)?;
    let n = {
        let mut w = io::BufWriter::with_capacity(256 * 1024, &mut f);
        let n = io::copy(r, &mut w).map_err(|e| Error::Io(IoError::new(PathBuf::new(), e)))?;
        w.flush().at_path(dest)?;
        n
    };
    if let Some(t) = mtime {
        let _ = f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(t));
    }
    if sync {
        f.sync_all().at_path(dest)?;
    }
    set_mode(dest, (mode & 0o777) | 0o600)?;
    Ok(n)
}

#[cfg(unix)]
fn make_symlink(target: &Path, link: &Path) -> Result<(), Error> {
    std::os::unix::fs::symlink(target, link).at_path(link)?;
    Ok(())
}

#[cfg(not(unix))]
fn make_symlink(_target: &Path, link: &Path) -> Result<(), Error> {
    Err(Error::Invalid(format!("{}: symbolic links are not supported on this platform", link.display())))
}

#[cfg(unix)]
fn set_mode(p: &Path, mode: u32) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).at_path(p)?;
    Ok(())
}

#[cfg(not(unix))]
fn set_mode(_p: &Path, _mode: u32) -> Result<(), Error> {
    Ok(())
}

#[cfg(unix)]
fn permissions_mode(m: &fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    m.permissions().mode() & 0o777
}

#[cfg(not(unix))]
fn permissions_mode(_m: &fs::Metadata) -> u32 {
    0o600
}

fn path_bytes(p: &Path) -> Vec<u8> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        p.as_os_str().as_bytes().to_vec()
    }
    #[cfg(not(unix))]
    {
        p.to_string_lossy().into_owned().into_bytes()
    }
}

fn absolute(p: &Path) -> Result<PathBuf, Error> {
    let abs = if p.is_absolute() { p.to_path_buf() } else { std::env::current_dir().at_path(p)?.join(p) };
    // Lexically clean `.` and `..` (the directory may not exist yet).
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    Ok(out)
}

/// Tracks what the extraction created, to remove it on failure (when dropped
/// without [`commit`](Guard::commit)).
#[derive(Default)]
pub(crate) struct Guard {
    /// Directories created (the topmost of each chain).
    created: Vec<PathBuf>,
    /// Directories that existed, empty, and must be emptied again.
    emptied: Vec<PathBuf>,
    committed: bool,
}

impl Guard {
    /// Makes `dir` an empty directory owned by the extraction: creates it
    /// (and missing parents) or checks that it is empty.
    fn prepare_root(&mut self, dir: &Path) -> Result<(), Error> {
        match fs::symlink_metadata(dir) {
            Ok(m) if m.is_dir() => {
                if fs::read_dir(dir).at_path(dir)?.next().is_some() {
                    return Err(Error::Invalid(format!(
                        "{} exists and is not empty: pitr restores only into an empty or new directory",
                        dir.display()
                    )));
                }
                set_mode(dir, 0o700)?;
                self.emptied.push(dir.to_path_buf());
            }
            Ok(_) => {
                return Err(Error::Invalid(format!("{} exists and is not a directory", dir.display())));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                // Create missing ancestors one by one, remembering the topmost.
                let mut missing = Vec::new();
                let mut p = dir.to_path_buf();
                while !p.as_os_str().is_empty() && !p.exists() {
                    missing.push(p.clone());
                    if !p.pop() {
                        break;
                    }
                }
                for d in missing.iter().rev() {
                    fs::create_dir(d).at_path(d)?;
                    if missing.last() == Some(d) {
                        self.created.push(d.clone());
                    }
                }
                set_mode(dir, 0o700)?;
            }
            Err(e) => return Err(IoError::new(dir, e).into()),
        }
        Ok(())
    }

    pub(crate) fn commit(&mut self) {
        self.committed = true;
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        for d in &self.created {
            let _ = fs::remove_dir_all(d);
        }
        for d in &self.emptied {
            if let Ok(rd) = fs::read_dir(d) {
                for e in rd.flatten() {
                    let p = e.path();
                    match e.file_type() {
                        Ok(t) if t.is_dir() => {
                            let _ = fs::remove_dir_all(&p);
                        }
                        _ => {
                            let _ = fs::remove_file(&p);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_backup(dir: &Path, build: impl FnOnce(&mut tar::Builder<File>)) -> Backup {
        let f = File::create(dir.join("base.tar")).unwrap();
        let mut b = tar::Builder::new(f);
        build(&mut b);
        b.finish().unwrap();
        Backup::open(dir).unwrap()
    }

    fn add_file(b: &mut tar::Builder<File>, name: &str, data: &[u8]) {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o640);
        h.set_entry_type(tar::EntryType::Regular);
        // Bypass the builder's own path checks to write hostile names.
        let raw = h.as_old_mut();
        raw.name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_cksum();
        b.append(&h, data).unwrap();
    }

    fn add_symlink(b: &mut tar::Builder<File>, name: &str, target: &str) {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        h.set_mode(0o777);
        b.append_link(&mut h, name, target).unwrap();
    }

    #[test]
    fn extracts_and_keeps_modes() {
        let src = tempfile::tempdir().unwrap();
        let backup = tar_backup(src.path(), |b| {
            add_file(b, "PG_VERSION", b"15\n");
            add_file(b, "base/1/1259", &[7u8; 100]);
            add_file(b, "postmaster.pid", b"123\n");
        });
        let out = tempfile::tempdir().unwrap();
        let target = out.path().join("new/pgdata");
        let opts = ExtractOptions { fsync: false, ..ExtractOptions::default() };
        let r = extract(&backup, &target, &opts).unwrap();
        assert_eq!((r.files, r.bytes), (2, 103));
        assert_eq!(r.skipped, vec!["postmaster.pid"]);
        assert_eq!(fs::read(target.join("PG_VERSION")).unwrap(), b"15\n");
        assert!(!target.join("postmaster.pid").exists());
        assert!(target.join("pg_wal/archive_status").is_dir());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&target), 0o700);
            assert_eq!(mode(&target.join("base/1/1259")), 0o640);
        }
        // A second extraction into the now non-empty directory is refused and
        // leaves it alone.
        let e = extract(&backup, &target, &opts).unwrap_err();
        assert!(e.to_string().contains("not empty"), "{e}");
        assert_eq!(fs::read(target.join("PG_VERSION")).unwrap(), b"15\n");
    }

    #[test]
    fn an_interrupt_stops_and_cleans_up() {
        let src = tempfile::tempdir().unwrap();
        let backup = tar_backup(src.path(), |b| {
            add_file(b, "PG_VERSION", b"15\n");
            add_file(b, "global/x", b"abc");
        });
        let out = tempfile::tempdir().unwrap();
        let flag = Arc::new(AtomicBool::new(true));
        let opts = ExtractOptions { fsync: false, interrupt: Some(flag.clone()), ..Default::default() };
        // A new directory (and its new parents) is removed again.
        let target = out.path().join("a/pgdata");
        let e = extract(&backup, &target, &opts).unwrap_err();
        assert!(matches!(e, Error::Interrupted), "{e}");
        assert_eq!(e.to_string(), "interrupted: stopped by the caller; what was written has been removed");
        assert!(!out.path().join("a").exists());
        // An existing empty directory is emptied again.
        let empty = out.path().join("empty");
        fs::create_dir(&empty).unwrap();
        assert!(matches!(extract(&backup, &empty, &opts), Err(Error::Interrupted)));
        assert_eq!(fs::read_dir(&empty).unwrap().count(), 0);
        // Not raised: the extraction runs.
        flag.store(false, Ordering::SeqCst);
        assert_eq!(extract(&backup, &empty, &opts).unwrap().files, 2);
    }

    #[test]
    fn refuses_traversal_and_cleans_up() {
        for (name, hostile) in [
            (
                "dotdot",
                Box::new(|b: &mut tar::Builder<File>| add_file(b, "../escaped", b"x")) as Box<dyn Fn(&mut _)>,
            ),
            ("absolute", Box::new(|b: &mut tar::Builder<File>| add_file(b, "/tmp/escaped-abs", b"x"))),
            (
                "through a link",
                Box::new(|b: &mut tar::Builder<File>| {
                    add_symlink(b, "conf", "/tmp");
                    add_file(b, "conf/escaped-link", b"x");
                }),
            ),
        ] {
            let src = tempfile::tempdir().unwrap();
            let backup = tar_backup(src.path(), |b| {
                add_file(b, "PG_VERSION", b"15\n");
                add_file(b, "global/x", b"abc");
                hostile(b);
            });
            let out = tempfile::tempdir().unwrap();
            let target = out.path().join("a/b/pgdata");
            let e = extract(&backup, &target, &ExtractOptions { fsync: false, ..Default::default() })
                .unwrap_err();
            assert!(e.to_string().contains("refusing"), "{name}: {e}");
            assert!(!out.path().join("a").exists(), "{name}: created directories removed");
            assert!(!out.path().join("escaped").exists());
            assert!(!Path::new("/tmp/escaped-link").exists());
            assert!(!Path::new("/tmp/escaped-abs").exists());

            // An existing empty target is emptied again, not removed.
            let empty = out.path().join("empty");
            fs::create_dir(&empty).unwrap();
            assert!(
                extract(&backup, &empty, &ExtractOptions { fsync: false, ..Default::default() }).is_err()
            );
            assert!(empty.is_dir());
            assert_eq!(fs::read_dir(&empty).unwrap().count(), 0, "{name}");
        }
    }

    fn add_dir(b: &mut tar::Builder<File>, name: &str) {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_size(0);
        h.set_mode(0o700);
        b.append_data(&mut h, name, &[][..]).unwrap();
    }

    #[test]
    fn tablespaces_need_their_contents() {
        // A tablespace_map line without the tablespace's tar: refused, nothing created.
        let src = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        let ts = out.path().join("ts");
        let backup = tar_backup(src.path(), |b| {
            add_file(b, "PG_VERSION", b"15\n");
            add_file(b, "tablespace_map", format!("16384 {}\n", ts.display()).as_bytes());
        });
        let e = extract(
            &backup,
            &out.path().join("pgdata"),
            &ExtractOptions { fsync: false, ..Default::default() },
        )
        .unwrap_err();
        assert!(e.to_string().contains("not in the backup"), "{e}");
        assert!(!ts.exists() && !out.path().join("pgdata").exists());

        // A relative location is refused unless relocated.
        let src = tempfile::tempdir().unwrap();
        let f = File::create(src.path().join("16384.tar")).unwrap();
        let mut b = tar::Builder::new(f);
        add_file(&mut b, "PG_15_202209061/1/2", b"data");
        b.finish().unwrap();
        let backup = tar_backup(src.path(), |b| {
            add_file(b, "PG_VERSION", b"15\n");
            add_file(b, "tablespace_map", b"16384 relative/ts\n");
        });
        let opts = ExtractOptions { fsync: false, ..Default::default() };
        let e = extract(&backup, &out.path().join("pgdata"), &opts).unwrap_err();
        assert!(e.to_string().contains("relative location"), "{e}");
        let opts = ExtractOptions {
            tablespace_oids: [(16384, ts.clone())].into(),
            fsync: false,
            ..Default::default()
        };
        let r = extract(&backup, &out.path().join("pgdata"), &opts).unwrap();
        assert!(r.tablespace_map_rewritten);
        assert_eq!(fs::read(ts.join("PG_15_202209061/1/2")).unwrap(), b"data");
        assert_eq!(fs::read_link(out.path().join("pgdata/pg_tblspc/16384")).unwrap(), ts);
        assert_eq!(
            fs::read_to_string(out.path().join("pgdata/tablespace_map")).unwrap(),
            format!("16384 {}\n", ts.display())
        );
    }

    #[test]
    fn in_place_tablespaces_stay_in_place() {
        let src = tempfile::tempdir().unwrap();
        let backup = tar_backup(src.path(), |b| {
            add_file(b, "PG_VERSION", b"16\n");
            add_dir(b, "pg_tblspc/");
            add_dir(b, "pg_tblspc/16500/");
            add_file(b, "pg_tblspc/16500/PG_16_202307071/5/1", b"x");
        });
        assert!(backup.tablespaces[0].in_place, "{:?}", backup.tablespaces);
        let out = tempfile::tempdir().unwrap();
        let target = out.path().join("pgdata");
        let r = extract(&backup, &target, &ExtractOptions { fsync: false, ..Default::default() }).unwrap();
        assert!(r.tablespaces[0].in_place);
        assert!(fs::symlink_metadata(target.join("pg_tblspc/16500")).unwrap().is_dir());
        assert_eq!(fs::read(target.join("pg_tblspc/16500/PG_16_202307071/5/1")).unwrap(), b"x");
        let moved = ExtractOptions {
            tablespace_oids: [(16500, out.path().join("elsewhere"))].into(),
            fsync: false,
            ..Default::default()
        };
        assert!(extract(&backup, &out.path().join("other"), &moved).is_err());
    }

    #[test]
    fn plain_backup_with_linked_tablespace() {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("backup");
        let ts = root.path().join("ts_orig");
        fs::create_dir_all(data.join("pg_tblspc")).unwrap();
        fs::create_dir_all(ts.join("PG_15_202209061/5")).unwrap();
        fs::write(data.join("PG_VERSION"), "15\n").unwrap();
        fs::write(ts.join("PG_15_202209061/5/16385"), "rel").unwrap();
        std::os::unix::fs::symlink(&ts, data.join("pg_tblspc/16384")).unwrap();
        let backup = Backup::open(&data).unwrap();
        let t = &backup.tablespaces[0];
        assert_eq!((t.oid, t.link.as_deref(), t.files), (16384, Some(ts.as_path()), 1));
        let new_ts = root.path().join("ts_new");
        let opts = ExtractOptions {
            tablespace_paths: vec![(ts.clone(), new_ts.clone())],
            fsync: false,
            ..Default::default()
        };
        let r = extract(&backup, &root.path().join("restored"), &opts).unwrap();
        assert!(!r.tablespace_map_rewritten, "no map in a plain pg_basebackup backup");
        assert_eq!(fs::read_to_string(new_ts.join("PG_15_202209061/5/16385")).unwrap(), "rel");
        assert_eq!(fs::read_link(root.path().join("restored/pg_tblspc/16384")).unwrap(), new_ts);
        // Restoring onto the original location is refused: it is not empty.
        let e = extract(
            &backup,
            &root.path().join("again"),
            &ExtractOptions { fsync: false, ..Default::default() },
        )
        .unwrap_err();
        assert!(e.to_string().contains("not empty"), "{e}");
        assert!(!root.path().join("again").exists());
    }

    #[test]
    fn paths() {
        assert!(is_plain_relative(Path::new("a/b")));
        assert!(!is_plain_relative(Path::new("/a")));
        assert!(!is_plain_relative(Path::new("a/../b")));
        assert_eq!(absolute(Path::new("/x/./y/../z")).unwrap(), PathBuf::from("/x/z"));
    }
}
