//! Base backups: a plain data directory copy, `pg_basebackup -Ft` output
//! (`base.tar`, `pg_wal.tar`, `<oid>.tar`, optionally `.gz`, `.lz4` or
//! `.zst`), or just a `backup_label` / backup history (`.backup`) file
//! describing one.
//!
//! [`Backup::open`] reads everything a planner needs without extracting
//! anything: `backup_label`, `tablespace_map`, `backup_manifest`,
//! `global/pg_control`, `PG_VERSION`, the list of files with their sizes,
//! the WAL files included. [`Backup::visit`] streams every entry with its
//! contents; [`verify::verify`] checks a backup against its manifest like
//! `pg_verifybackup` (for tar backups too) in one pass; [`extract::extract`]
//! restores a backup into an empty directory; [`archive_status`] reads a data
//! directory's archiving backlog.
//!
//! Files that cannot be parsed do not make [`Backup::open`] fail: each is
//! reported in [`Backup::problems`] and the rest is still read, so that a
//! damaged backup can be shown. Only I/O errors on the backup's container
//! (the directory, a tar stream) fail.

pub mod archive_status;
pub mod catalog;
pub mod copy;
pub mod extract;
pub mod source;
pub mod tablespace_map;
pub mod verify;
pub mod wal;

use crate::control::{CONTROL_FILE_PATH, ControlError, ControlFile};
pub use crate::error::Severity;
use crate::error::{Error, IoError, IoResultExt};
use crate::label::BackupLabel;
pub use crate::label::LabelKind;
use crate::manifest::{BackupPath, MANIFEST_FILE, Manifest, ManifestVerifier};
use crate::version::PgMajor;
use crate::walfile::{Compression, WalFileKind, WalFileName};
use serde::Serialize;
use source::{Area, Entry, EntryKind, Flow};
use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
pub use tablespace_map::{MapEscaping, TablespaceMap, TablespaceMapEntry};

/// Largest `backup_label`, `tablespace_map` or `PG_VERSION` read into memory.
const SMALL_FILE_LIMIT: u64 = 1 << 20;

/// How a backup is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BackupFormat {
    /// A data directory (`pg_basebackup -Fp`, or a copy made with the backup API).
    Plain,
    /// `pg_basebackup -Ft` output.
    Tar,
    /// A bare `backup_label` file.
    Label,
    /// A backup history file (`<segment>.<offset>.backup`).
    BackupHistory,
}

/// What a tar file of a tar-format backup holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TarKind {
    /// `base.tar`: the main data directory.
    Base,
    /// `pg_wal.tar`: WAL streamed during the backup.
    Wal,
    /// `<oid>.tar`: a tablespace.
    Tablespace {
        /// The tablespace OID.
        oid: u32,
    },
}

/// One tar file of a tar-format backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TarFile {
    /// File name (`base.tar.gz`).
    pub name: String,
    /// Full path.
    #[serde(skip)]
    pub path: PathBuf,
    /// What it holds.
    #[serde(flatten)]
    pub kind: TarKind,
    /// Compression, from the name.
    pub compression: Option<Compression>,
    /// Size on disk (compressed).
    pub size: u64,
}

impl TarFile {
    /// Recognises a tar file name of `pg_basebackup -Ft`:
    /// `base`, `pg_wal` or a tablespace OID, then `.tar`, `.tar.gz`, `.tgz`,
    /// `.tar.lz4` or `.tar.zst`.
    pub fn classify(name: &str) -> Option<(TarKind, Option<Compression>)> {
        let (stem, compression) = [
            (".tar", None),
            (".tar.gz", Some(Compression::Gzip)),
            (".tgz", Some(Compression::Gzip)),
            (".tar.lz4", Some(Compression::Lz4)),
            (".tar.zst", Some(Compression::Zstd)),
        ]
        .into_iter()
        .find_map(|(ext, c)| name.strip_suffix(ext).map(|s| (s, c)))?;
        let kind = match stem {
            "base" => TarKind::Base,
            "pg_wal" => TarKind::Wal,
            s => TarKind::Tablespace { oid: source::parse_oid(s.as_bytes())? },
        };
        Some((kind, compression))
    }
}

/// A backup's `backup_label` (or `.backup` file): where it was read, its raw
/// text and, when it parses, its contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LabelText {
    /// Which file it is.
    pub kind: LabelKind,
    /// Where it was read from (`/backups/b1/backup_label`, or
    /// `/backups/b1/base.tar.gz:backup_label`).
    pub source: String,
    /// The file's contents (invalid UTF-8 replaced).
    pub text: String,
    /// The parsed file ([`crate::label::BackupLabel`]); `None` when it does
    /// not parse (the reason is in the backup's problems).
    pub parsed: Option<BackupLabel>,
}

impl LabelText {
    /// Parses `bytes` as a file of `kind`; a parse error is returned beside.
    fn new(kind: LabelKind, source: String, bytes: &[u8]) -> (LabelText, Option<crate::error::ParseError>) {
        let (parsed, err) = match BackupLabel::parse_as(bytes, kind) {
            Ok(l) => (Some(l), None),
            Err(e) => (None, Some(e)),
        };
        (LabelText { kind, source, text: String::from_utf8_lossy(bytes).into_owned(), parsed }, err)
    }
}

/// One file of the backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupFile {
    /// Path relative to the data directory (tablespaces as `pg_tblspc/<oid>/...`).
    pub path: BackupPath,
    /// Size in bytes.
    pub size: u64,
    /// The tar file holding it (tar backups).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archive: Option<String>,
}

/// A tablespace of the backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tablespace {
    /// The OID.
    pub oid: u32,
    /// Its location: from `tablespace_map` (tar and API backups) or the
    /// `pg_tblspc/<oid>` symbolic link (plain `pg_basebackup` backups).
    pub location: Option<PathBuf>,
    /// The tar file holding it (tar backups).
    pub archive: Option<String>,
    /// Where `pg_tblspc/<oid>` points (plain backups).
    pub link: Option<PathBuf>,
    /// An in-place tablespace: a directory inside `pg_tblspc` rather than a
    /// link (`allow_in_place_tablespaces`, 15 and later).
    pub in_place: bool,
    /// Number of files.
    pub files: u64,
    /// Total size of its files.
    pub bytes: u64,
}

/// A WAL file included in the backup (`pg_wal/`, `pg_wal.tar`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncludedWal {
    /// The file name.
    pub name: String,
    /// Its size.
    pub size: u64,
    /// The tar file holding it (tar backups).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archive: Option<String>,
}

/// A problem found in a backup. Codes are listed in `docs/backup-json.md`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// `error` or `warning`.
    pub severity: Severity,
    /// A stable code (`checksum_mismatch`, `missing_wal`, ...).
    pub code: &'static str,
    /// The file concerned, when there is one.
    pub file: Option<String>,
    /// A human-readable message.
    pub message: String,
}

impl Problem {
    /// An error.
    pub fn error(code: &'static str, file: Option<String>, message: impl Into<String>) -> Problem {
        Problem { severity: Severity::Error, code, file, message: message.into() }
    }
    /// A warning.
    pub fn warning(code: &'static str, file: Option<String>, message: impl Into<String>) -> Problem {
        Problem { severity: Severity::Warning, code, file, message: message.into() }
    }
}

/// A base backup, read without extracting it.
#[derive(Debug, Clone)]
pub struct Backup {
    /// The path given to [`Backup::open`] (a directory, or the label/history file).
    pub path: PathBuf,
    /// How it is stored.
    pub format: BackupFormat,
    /// Tar files, base first, then tablespaces by OID, then WAL (tar backups).
    pub tars: Vec<TarFile>,
    /// `backup_label` (or the `.backup` file's text).
    pub label: Option<LabelText>,
    /// `tablespace_map`, when present and valid.
    pub tablespace_map: Option<TablespaceMap>,
    /// `backup_manifest`, when present and well-formed (even if its own
    /// checksum is wrong: see [`Backup::manifest_checksum_ok`]).
    pub manifest: Option<Manifest>,
    /// Whether the manifest's `Manifest-Checksum` matched.
    pub manifest_checksum_ok: bool,
    /// `global/pg_control`, when present and decodable (even with a bad CRC:
    /// see [`ControlFile::crc_ok`]).
    pub control: Option<ControlFile>,
    /// `PG_VERSION`, trimmed.
    pub pg_version: Option<String>,
    /// Every regular file (WAL included), in walk order.
    pub files: Vec<BackupFile>,
    /// WAL files included in the backup.
    pub wal: Vec<IncludedWal>,
    /// Tablespaces.
    pub tablespaces: Vec<Tablespace>,
    /// Problems found while reading.
    pub problems: Vec<Problem>,
}

impl Backup {
    /// Opens a backup: a plain directory (one with `PG_VERSION`), a directory
    /// of `pg_basebackup -Ft` output (one with `base.tar*`; a path to the
    /// `base.tar*` file itself also works), a `backup_label` file or a
    /// backup history file. One pass over the contents of every tar file.
    pub fn open(path: &Path) -> Result<Backup, Error> {
        let mut backup = Backup::locate(path)?;
        backup.read_contents(None)?;
        Ok(backup)
    }

    /// Decides the format and reads what needs no walk (tar file list,
    /// manifest, label files); contents come with [`Backup::read_contents`].
    pub(crate) fn locate(path: &Path) -> Result<Backup, Error> {
        let meta = fs::metadata(path).at_path(path)?;
        let mut b = Backup {
            path: path.to_path_buf(),
            format: BackupFormat::Plain,
            tars: Vec::new(),
            label: None,
            tablespace_map: None,
            manifest: None,
            manifest_checksum_ok: false,
            control: None,
            pg_version: None,
            files: Vec::new(),
            wal: Vec::new(),
            tablespaces: Vec::new(),
            problems: Vec::new(),
        };
        if meta.is_file() {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if TarFile::classify(&name).is_some_and(|(k, _)| k == TarKind::Base) {
                let dir = match path.parent() {
                    Some(p) if !p.as_os_str().is_empty() => p,
                    _ => Path::new("."),
                };
                return Backup::locate(dir);
            }
            let kind = if matches!(WalFileName::classify(&name).kind, WalFileKind::BackupHistory { .. }) {
                b.format = BackupFormat::BackupHistory;
                LabelKind::BackupHistory
            } else {
                b.format = BackupFormat::Label;
                LabelKind::BackupLabel
            };
            let bytes = read_limited(path, SMALL_FILE_LIMIT)?;
            let (label, err) = LabelText::new(kind, path.display().to_string(), &bytes);
            b.label = Some(label);
            b.label_problems(err, None);
            return Ok(b);
        }
        if !meta.is_dir() {
            return Err(Error::Invalid(format!("{}: not a file or directory", path.display())));
        }
        if path.join("PG_VERSION").exists() {
            b.format = BackupFormat::Plain;
        } else {
            let mut tars = Vec::new();
            let mut names: Vec<String> = Vec::new();
            for e in fs::read_dir(path).at_path(path)? {
                let e = e.at_path(path)?;
                names.push(e.file_name().to_string_lossy().into_owned());
            }
            names.sort();
            let mut unexpected = Vec::new();
            for name in names {
                let p = path.join(&name);
                if name == MANIFEST_FILE {
                    continue;
                }
                match TarFile::classify(&name) {
                    Some((kind, compression)) if p.is_file() => {
                        let size = fs::metadata(&p).at_path(&p)?.len();
                        tars.push(TarFile { name, path: p, kind, compression, size });
                    }
                    _ => unexpected.push(name),
                }
            }
            if !tars.iter().any(|t| t.kind == TarKind::Base) {
                return Err(Error::Invalid(format!(
                    "{}: not a base backup: no PG_VERSION (plain format) and no base.tar (tar format)",
                    path.display()
                )));
            }
            tars.sort_by_key(|t| match t.kind {
                TarKind::Base => (0, 0),
                TarKind::Tablespace { oid } => (1, oid),
                TarKind::Wal => (2, 0),
            });
            b.format = BackupFormat::Tar;
            b.tars = tars;
            for name in unexpected {
                b.problems.push(Problem::error(
                    "unexpected_file",
                    Some(name.clone()),
                    format!("file \"{name}\" is not expected in a tar format backup"),
                ));
            }
        }
        let mpath = path.join(MANIFEST_FILE);
        match fs::read(&mpath) {
            Ok(bytes) => match Manifest::parse_lenient(&bytes, &mpath) {
                Ok((m, checksum_error)) => {
                    b.manifest_checksum_ok = checksum_error.is_none();
                    if let Some(e) = checksum_error {
                        b.problems.push(Problem::error(
                            "manifest_checksum",
                            Some(MANIFEST_FILE.into()),
                            e.to_string(),
                        ));
                    }
                    b.manifest = Some(m);
                }
                Err(e) => b.problems.push(Problem::error(
                    "manifest_invalid",
                    Some(MANIFEST_FILE.into()),
                    e.to_string(),
                )),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => b.problems.push(Problem::warning(
                "no_manifest",
                Some(MANIFEST_FILE.into()),
                "the backup has no backup_manifest: file contents cannot be verified",
            )),
            Err(e) => return Err(IoError::new(mpath, e).into()),
        }
        Ok(b)
    }

    /// Walks the contents once, collecting metadata and, with `verifier`,
    /// checking every file against the manifest.
    pub(crate) fn read_contents(&mut self, verifier: Option<&mut ManifestVerifier<'_>>) -> Result<(), Error> {
        self.read_contents_with(verifier, None)
    }

    /// [`Backup::read_contents`], calling `progress` with the bytes of files walked so far.
    pub(crate) fn read_contents_with(
        &mut self,
        verifier: Option<&mut ManifestVerifier<'_>>,
        progress: Option<&dyn Fn(u64)>,
    ) -> Result<(), Error> {
        if matches!(self.format, BackupFormat::Label | BackupFormat::BackupHistory) {
            return Ok(());
        }
        let mut c = Collector::new(verifier);
        c.progress = progress;
        match self.format {
            BackupFormat::Plain => source::walk_dir(&self.path, &mut |e, r| c.visit(e, r))?,
            BackupFormat::Tar => {
                for t in &self.tars {
                    if let Err(e) = source::walk_tar(t, &mut |e, r| c.visit(e, r)) {
                        // A damaged tar stream: report it, go on with the others.
                        c.problems.push(Problem::error("read_error", Some(t.name.clone()), e.to_string()));
                    }
                }
            }
            BackupFormat::Label | BackupFormat::BackupHistory => {}
        }
        self.finish_contents(c);
        Ok(())
    }

    fn finish_contents(&mut self, c: Collector<'_, '_>) {
        let (format, root) = (self.format, self.path.clone());
        let origins = c.small_origin.clone();
        let display = move |rel: &str| -> String {
            match (format, origins.get(rel)) {
                (BackupFormat::Tar, Some(archive)) => format!("{}:{rel}", root.join(archive).display()),
                _ => root.join(rel).display().to_string(),
            }
        };
        self.files = c.files;
        self.wal = c.wal;
        self.problems.extend(c.problems);

        if let Some(v) = c.small.get("PG_VERSION") {
            self.pg_version = Some(String::from_utf8_lossy(v).trim().to_string());
        }
        match c.small.get(CONTROL_FILE_PATH) {
            None => self.problems.push(Problem::error(
                "no_control_file",
                Some(CONTROL_FILE_PATH.into()),
                "global/pg_control is missing: this is not a complete data directory",
            )),
            Some(bytes) => match ControlFile::parse_unverified(bytes, Path::new(&display(CONTROL_FILE_PATH)))
            {
                Ok(cf) => {
                    if !cf.crc_ok() {
                        let e = ControlError::BadCrc {
                            file: PathBuf::from(display(CONTROL_FILE_PATH)),
                            stored: cf.crc,
                            computed: cf.computed_crc,
                        };
                        self.problems.push(Problem::error(
                            "control_file_crc",
                            Some(CONTROL_FILE_PATH.into()),
                            e.to_string(),
                        ));
                    }
                    self.control = Some(cf);
                }
                Err(e) => self.problems.push(Problem::error(
                    "control_file_invalid",
                    Some(CONTROL_FILE_PATH.into()),
                    e.to_string(),
                )),
            },
        }
        if let (Some(v), Some(cf)) = (&self.pg_version, &self.control) {
            if v != &cf.major.number().to_string() {
                self.problems.push(Problem::error(
                    "pg_version_mismatch",
                    Some("PG_VERSION".into()),
                    format!("PG_VERSION says {v:?} but global/pg_control is from PostgreSQL {}", cf.major),
                ));
            }
        }
        if let Some(cf) = &self.control {
            if cf.wal_level == crate::control::WalLevel::Minimal {
                self.problems.push(Problem::error(
                    "wal_level_minimal",
                    Some(CONTROL_FILE_PATH.into()),
                    "the server ran with wal_level=minimal: its WAL cannot be used for archive recovery",
                ));
            }
        }
        if self.pg_version.is_none() && self.format == BackupFormat::Tar {
            self.problems.push(Problem::warning(
                "no_pg_version",
                Some("PG_VERSION".into()),
                "PG_VERSION is missing",
            ));
        }

        match c.small.get("backup_label") {
            Some(bytes) => {
                let (label, err) = LabelText::new(LabelKind::BackupLabel, display("backup_label"), bytes);
                self.label = Some(label);
                let seg = self.control.as_ref().map(|c| c.wal_segment_size);
                self.label_problems(err, seg);
                self.label_versus_control();
            }
            None => self.problems.push(Problem::warning(
                "no_backup_label",
                Some("backup_label".into()),
                "no backup_label: recovery would start from pg_control's checkpoint; \
                 this is a crash-consistent copy, not a base backup",
            )),
        }
        if let Some(bytes) = c.small.get("tablespace_map") {
            let escaping = self.major().map(MapEscaping::of).unwrap_or(MapEscaping::Pg14);
            match TablespaceMap::parse(bytes, escaping, Path::new(&display("tablespace_map"))) {
                Ok(m) => self.tablespace_map = Some(m),
                Err(e) => self.problems.push(Problem::error(
                    "tablespace_map_invalid",
                    Some("tablespace_map".into()),
                    e.to_string(),
                )),
            }
            if self.label.is_none() {
                self.problems.push(Problem::warning(
                    "tablespace_map_without_label",
                    Some("tablespace_map".into()),
                    "tablespace_map is ignored by recovery without backup_label",
                ));
            }
        }
        if c.incremental {
            self.problems.push(Problem::error(
                "incremental_backup",
                None,
                "this is an incremental backup (INCREMENTAL.* files): reconstruct a full one with pg_combinebackup first",
            ));
        }

        // Tablespaces: from the map, the pg_tblspc links and the tar files.
        let mut ts: BTreeMap<u32, Tablespace> = BTreeMap::new();
        let blank = |oid| Tablespace {
            oid,
            location: None,
            archive: None,
            link: None,
            in_place: false,
            files: 0,
            bytes: 0,
        };
        if let Some(m) = &self.tablespace_map {
            for e in &m.entries {
                ts.entry(e.oid).or_insert_with(|| blank(e.oid)).location = Some(e.location());
            }
        }
        for (oid, target) in &c.links {
            let t = ts.entry(*oid).or_insert_with(|| blank(*oid));
            t.link = Some(target.clone());
            if t.location.is_none() {
                t.location = Some(target.clone());
            }
        }
        for oid in &c.ts_dirs {
            let t = ts.entry(*oid).or_insert_with(|| blank(*oid));
            t.in_place = t.link.is_none() && t.location.is_none();
        }
        for t in &self.tars {
            if let TarKind::Tablespace { oid } = t.kind {
                ts.entry(oid).or_insert_with(|| blank(oid)).archive = Some(t.name.clone());
            }
        }
        for (oid, (files, bytes)) in &c.ts_stats {
            let t = ts.entry(*oid).or_insert_with(|| blank(*oid));
            t.files = *files;
            t.bytes = *bytes;
        }
        if self.format == BackupFormat::Tar {
            for t in ts.values() {
                if t.archive.is_some() && t.location.is_none() {
                    self.problems.push(Problem::error(
                        "tablespace_mismatch",
                        t.archive.clone(),
                        format!("tablespace {} has a tar file but no line in tablespace_map", t.oid),
                    ));
                }
                if t.archive.is_none() && t.location.is_some() {
                    self.problems.push(Problem::error(
                        "tablespace_mismatch",
                        Some("tablespace_map".into()),
                        format!("tablespace {} is in tablespace_map but its {}.tar is missing", t.oid, t.oid),
                    ));
                }
            }
        }
        self.tablespaces = ts.into_values().collect();
    }

    /// Reports a label that does not parse, and the label's own issues
    /// (with the checks that need the segment size when it is known).
    fn label_problems(&mut self, err: Option<crate::error::ParseError>, seg: Option<crate::lsn::WalSegSize>) {
        let Some(label) = &self.label else { return };
        let file = Some(match label.kind {
            LabelKind::BackupLabel => "backup_label".to_string(),
            LabelKind::BackupHistory => label.source.clone(),
        });
        if let Some(e) = err {
            self.problems.push(Problem::error("backup_label_invalid", file.clone(), e.to_string()));
        }
        let Some(parsed) = &label.parsed else { return };
        let issues = match seg {
            Some(seg) => parsed.check(seg),
            None => parsed.issues.clone(),
        };
        for i in issues {
            let message = match i.line {
                Some(l) => format!("{}: line {l}: {}", label.source, i.message),
                None => format!("{}: {}", label.source, i.message),
            };
            self.problems.push(Problem {
                severity: i.severity,
                code: "backup_label_issue",
                file: file.clone(),
                message,
            });
        }
    }

    /// What recovery checks between `backup_label` and `pg_control`, and the
    /// manifest's WAL range against the label's start.
    fn label_versus_control(&mut self) {
        let Some(label) = self.label.as_ref().and_then(|l| l.parsed.as_ref()) else { return };
        let mut found = Vec::new();
        if let Some(cf) = &self.control {
            if label.from_standby() {
                use crate::control::DbState;
                if !matches!(cf.state, DbState::InArchiveRecovery | DbState::ShutDownInRecovery) {
                    found.push(Problem::error(
                        "label_control_mismatch",
                        Some("backup_label".into()),
                        format!(
                            "backup_label says BACKUP FROM: standby but global/pg_control's state is \"{}\": \
                             recovery stops with \"backup_label contains data inconsistent with control file\"",
                            cf.state
                        ),
                    ));
                } else if cf.min_recovery_point < label.start.lsn {
                    found.push(Problem::error(
                        "label_control_mismatch",
                        Some("backup_label".into()),
                        format!(
                            "backup from a standby: global/pg_control's minimum recovery point {} is before the \
                             backup's start {}",
                            cf.min_recovery_point, label.start.lsn
                        ),
                    ));
                }
            }
        }
        if let Some(m) = &self.manifest {
            // WAL-Ranges are newest timeline first: the last one starts the backup.
            if let Some(first) = m.wal_ranges.last() {
                if first.start_lsn != label.start.lsn || first.timeline != label.timeline() {
                    found.push(Problem::error(
                        "label_manifest_mismatch",
                        Some(MANIFEST_FILE.into()),
                        format!(
                            "backup_manifest starts its WAL range at {} on timeline {} but backup_label starts at \
                             {} on timeline {}: the manifest belongs to another backup",
                            first.start_lsn,
                            first.timeline,
                            label.start.lsn,
                            label.timeline()
                        ),
                    ));
                }
            }
        }
        self.problems.extend(found);
    }

    /// The parsed `backup_label` (or `.backup` file), when it parses.
    pub fn backup_label(&self) -> Option<&BackupLabel> {
        self.label.as_ref().and_then(|l| l.parsed.as_ref())
    }

    /// The major version: from `pg_control`, else `PG_VERSION`.
    pub fn major(&self) -> Option<PgMajor> {
        self.control.as_ref().map(|c| c.major).or_else(|| {
            self.pg_version.as_deref().and_then(|v| v.parse().ok()).and_then(PgMajor::from_number)
        })
    }

    /// Total size of the backup's regular files (WAL included).
    pub fn total_size(&self) -> u64 {
        self.files.iter().map(|f| f.size).fold(0, u64::saturating_add)
    }

    /// True when a problem of severity error was found.
    pub fn has_errors(&self) -> bool {
        self.problems.iter().any(|p| p.severity == Severity::Error)
    }

    /// Streams every entry of the backup with its contents, in order (plain:
    /// sorted by name at every level; tar: base, tablespaces, WAL, each in
    /// archive order). Nothing for label-only backups.
    pub fn visit(&self, visitor: &mut source::Visitor<'_>) -> Result<(), Error> {
        match self.format {
            BackupFormat::Plain => source::walk_dir(&self.path, visitor),
            BackupFormat::Tar => source::walk_tars(&self.tars, visitor),
            BackupFormat::Label | BackupFormat::BackupHistory => Ok(()),
        }
    }

    /// A serializable summary (what `pitr backup show --json` prints), with
    /// the file list only when `with_files`.
    pub fn summary(&self, with_files: bool) -> BackupSummary<'_> {
        BackupSummary {
            path: &self.path,
            format: self.format,
            major: self.major(),
            pg_version: self.pg_version.as_deref(),
            tars: &self.tars,
            label: self.label.as_ref(),
            tablespace_map: self.tablespace_map.as_ref(),
            tablespaces: &self.tablespaces,
            manifest: self.manifest.as_ref().map(|m| ManifestSummary {
                version: m.version,
                system_identifier: m.system_identifier.map(|s| s.to_string()),
                files: m.files.len(),
                total_size: m.total_size(),
                checksum_algorithms: m.checksum_algorithms().iter().map(|a| a.name()).collect(),
                wal_ranges: &m.wal_ranges,
                checksum_ok: self.manifest_checksum_ok,
            }),
            control: self.control.as_ref(),
            file_count: self.files.len(),
            total_size: self.total_size(),
            wal: &self.wal,
            files: with_files.then_some(&self.files[..]),
            problems: &self.problems,
        }
    }
}

/// The JSON form of a [`Backup`] (see `docs/backup-json.md`).
#[derive(Debug, Serialize)]
pub struct BackupSummary<'a> {
    /// The path opened.
    pub path: &'a Path,
    /// Storage format.
    pub format: BackupFormat,
    /// Major version (pg_control, else PG_VERSION).
    pub major: Option<PgMajor>,
    /// `PG_VERSION`.
    pub pg_version: Option<&'a str>,
    /// Tar files.
    pub tars: &'a [TarFile],
    /// `backup_label` text.
    pub label: Option<&'a LabelText>,
    /// `tablespace_map`.
    pub tablespace_map: Option<&'a TablespaceMap>,
    /// Tablespaces.
    pub tablespaces: &'a [Tablespace],
    /// Manifest summary.
    pub manifest: Option<ManifestSummary<'a>>,
    /// `pg_control`.
    pub control: Option<&'a ControlFile>,
    /// Number of regular files.
    pub file_count: usize,
    /// Their total size.
    pub total_size: u64,
    /// WAL files included.
    pub wal: &'a [IncludedWal],
    /// Every file (only when asked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<&'a [BackupFile]>,
    /// Problems.
    pub problems: &'a [Problem],
}

/// The manifest part of [`BackupSummary`].
#[derive(Debug, Serialize)]
pub struct ManifestSummary<'a> {
    /// Manifest version.
    pub version: u32,
    /// `System-Identifier` (version 2), as a decimal string.
    pub system_identifier: Option<String>,
    /// Number of files listed.
    pub files: usize,
    /// Their total size.
    pub total_size: u64,
    /// Checksum algorithms used.
    pub checksum_algorithms: Vec<&'static str>,
    /// `WAL-Ranges`.
    pub wal_ranges: &'a [crate::manifest::WalRange],
    /// Whether `Manifest-Checksum` matched.
    pub checksum_ok: bool,
}

/// Gathers metadata (and verifies) during a walk.
struct Collector<'v, 'm> {
    verifier: Option<&'v mut ManifestVerifier<'m>>,
    progress: Option<&'v dyn Fn(u64)>,
    walked: u64,
    small: BTreeMap<&'static str, Vec<u8>>,
    small_origin: BTreeMap<&'static str, String>,
    files: Vec<BackupFile>,
    wal: Vec<IncludedWal>,
    links: Vec<(u32, PathBuf)>,
    ts_dirs: Vec<u32>,
    ts_stats: BTreeMap<u32, (u64, u64)>,
    incremental: bool,
    problems: Vec<Problem>,
}

/// Files read into memory during the walk.
const SMALL_FILES: [&str; 4] = ["backup_label", "tablespace_map", CONTROL_FILE_PATH, "PG_VERSION"];

impl<'v, 'm> Collector<'v, 'm> {
    fn new(verifier: Option<&'v mut ManifestVerifier<'m>>) -> Self {
        Collector {
            verifier,
            progress: None,
            walked: 0,
            small: BTreeMap::new(),
            small_origin: BTreeMap::new(),
            files: Vec::new(),
            wal: Vec::new(),
            links: Vec::new(),
            ts_dirs: Vec::new(),
            ts_stats: BTreeMap::new(),
            incremental: false,
            problems: Vec::new(),
        }
    }

    fn visit(&mut self, e: &Entry<'_>, r: &mut dyn Read) -> Result<Flow, Error> {
        let shown = e.path.to_string_lossy().into_owned();
        let archive = match e.origin {
            source::Origin::Tar { archive, .. } => Some(archive.to_string()),
            source::Origin::Disk(_) => None,
        };
        if e.escapes {
            let member = match e.origin {
                source::Origin::Tar { member, .. } => member.to_string(),
                source::Origin::Disk(_) => shown.clone(),
            };
            self.problems.push(Problem::error(
                "unsafe_path",
                archive.clone(),
                format!(
                    "member \"{member}\" of \"{}\" points outside the backup",
                    archive.as_deref().unwrap_or("")
                ),
            ));
            return Ok(Flow::Continue);
        }
        match &e.kind {
            EntryKind::Dir => {
                if let Area::Tablespace(oid) = e.area {
                    if e.path.as_bytes() == format!("pg_tblspc/{oid}").as_bytes() {
                        self.ts_dirs.push(oid);
                    }
                }
                return Ok(Flow::Continue);
            }
            EntryKind::Symlink { target } => {
                if let Area::Tablespace(oid) = e.area {
                    if e.path.as_bytes() == format!("pg_tblspc/{oid}").as_bytes() {
                        self.links.push((oid, target.clone()));
                    }
                }
                return Ok(Flow::Continue);
            }
            EntryKind::Other { what } => {
                if let Some(v) = self.verifier.as_deref_mut() {
                    if !v.is_ignored(e.path.as_bytes()) {
                        self.problems.push(Problem::error(
                            "not_regular_file",
                            Some(shown.clone()),
                            format!("\"{shown}\" is not a regular file or directory ({what})"),
                        ));
                    }
                }
                return Ok(Flow::Continue);
            }
            EntryKind::File => {}
        }

        self.files.push(BackupFile { path: e.path.clone(), size: e.size, archive: archive.clone() });
        let last = e.path.as_bytes().rsplit(|&c| c == b'/').next().unwrap_or(&[]);
        if last.starts_with(b"INCREMENTAL.") {
            self.incremental = true;
        }
        match e.area {
            Area::Tablespace(oid) => {
                let s = self.ts_stats.entry(oid).or_insert((0, 0));
                s.0 += 1;
                s.1 = s.1.saturating_add(e.size);
            }
            Area::Wal => {
                let rel = e.path.as_bytes().strip_prefix(b"pg_wal/").unwrap_or(&[]);
                if !rel.contains(&b'/') {
                    let name = String::from_utf8_lossy(rel).into_owned();
                    if !WalFileName::classify(&name).is_unknown() {
                        self.wal.push(IncludedWal { name, size: e.size, archive: archive.clone() });
                    }
                }
            }
            Area::Base => {}
        }

        let small = SMALL_FILES.iter().find(|s| s.as_bytes() == e.path.as_bytes()).copied();
        let mut head = Vec::new();
        if let Some(name) = small {
            let limit = if name == CONTROL_FILE_PATH { 8192 } else { SMALL_FILE_LIMIT };
            r.take(limit).read_to_end(&mut head).map_err(read_error)?;
            self.small.insert(name, head.clone());
            if let Some(a) = &archive {
                self.small_origin.insert(name, a.clone());
            }
        }
        if let Some(v) = self.verifier.as_deref_mut() {
            let location = match e.origin {
                source::Origin::Disk(_) => crate::manifest::Location::Disk,
                source::Origin::Tar { archive, member } => {
                    crate::manifest::Location::Archive { archive, member }
                }
            };
            let mut chained = (&head[..]).chain(r);
            if let Err(err) = v.check_file(e.path.as_bytes(), e.size, location, &mut chained) {
                match e.origin {
                    // A file that cannot be read: report it and go on.
                    source::Origin::Disk(p) => self.problems.push(Problem::error(
                        "read_error",
                        Some(shown.clone()),
                        format!("could not read file \"{}\": {err}", p.display()),
                    )),
                    // The tar stream itself is broken: stop this archive.
                    source::Origin::Tar { .. } => return Err(read_error(err)),
                }
            }
        }
        self.walked = self.walked.saturating_add(e.size);
        if let Some(p) = self.progress {
            p(self.walked);
        }
        Ok(Flow::Continue)
    }
}

/// An I/O error while reading an entry; the walker adds the path.
fn read_error(e: std::io::Error) -> Error {
    Error::Io(IoError::new(PathBuf::new(), e))
}

/// Reads at most `limit` bytes of a file (more is an error).
fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, IoError> {
    let mut buf = Vec::new();
    fs::File::open(path).at_path(path)?.take(limit + 1).read_to_end(&mut buf).at_path(path)?;
    if buf.len() as u64 > limit {
        return Err(IoError::new(
            path,
            std::io::Error::new(std::io::ErrorKind::InvalidData, format!("larger than {limit} bytes")),
        ));
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tar_names() {
        assert_eq!(TarFile::classify("base.tar"), Some((TarKind::Base, None)));
        assert_eq!(TarFile::classify("base.tar.gz"), Some((TarKind::Base, Some(Compression::Gzip))));
        assert_eq!(TarFile::classify("base.tgz"), Some((TarKind::Base, Some(Compression::Gzip))));
        assert_eq!(TarFile::classify("pg_wal.tar"), Some((TarKind::Wal, None)));
        assert_eq!(
            TarFile::classify("16384.tar.lz4"),
            Some((TarKind::Tablespace { oid: 16384 }, Some(Compression::Lz4)))
        );
        assert_eq!(
            TarFile::classify("16384.tar.zst"),
            Some((TarKind::Tablespace { oid: 16384 }, Some(Compression::Zstd)))
        );
        assert_eq!(TarFile::classify("0.tar"), None);
        assert_eq!(TarFile::classify("base.tar.xz"), None);
        assert_eq!(TarFile::classify("backup_manifest"), None);
        assert_eq!(TarFile::classify("x16384.tar"), None);
    }
}
