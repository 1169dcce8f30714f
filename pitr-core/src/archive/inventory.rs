//! Scanning an archive directory into an [`Inventory`].

use super::layout::{self, DirKind, PathClass};
use super::problem::{Problem, ProblemCode, Severity, sort_problems};
use crate::compress;
use crate::error::{Error, IoError, IoResultExt};
use crate::history::{HistoryEntry, HistorySet, TimelineHistory};
use crate::label::BackupLabel;
use crate::lsn::{Lsn, WalSegSize};
use crate::version::PgMajor;
use crate::wal::SegmentHeader;
use crate::wal::page::LONG_HEADER_LEN;
use crate::walfile::{Compression, SegmentName, TimeLineId, WalFileKind, WalFileName};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

/// How many segments (in name order) are tried for a readable long page
/// header when the segment size is not given.
const HEADER_PROBES: usize = 16;
/// Largest history file read (a real one has a few hundred bytes per timeline).
const MAX_HISTORY_SIZE: u64 = 16 << 20;

/// How the archive is laid out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// Every file in one directory.
    Flat,
    /// `TTTTTTTTXXXXXXXX/` directories (Barman), possibly with files at the top.
    Nested,
    /// A pgBackRest stanza directory; `archive_id` (`15-1`) was inventoried.
    #[serde(rename = "pgbackrest")]
    PgBackRest {
        /// The archive id directory that was read (the highest id).
        archive_id: String,
    },
}

/// Options of [`Inventory::scan`].
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// The WAL segment size, when known; otherwise it is read from the first
    /// readable segment's long page header.
    pub seg_size: Option<WalSegSize>,
}

/// How one copy of a file is stored: which directory, compression,
/// pgBackRest checksum. Compact on purpose: the inventory of a million
/// segments holds one of these per file and rebuilds paths on demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Form {
    dir: u32,
    compression: Option<Compression>,
    sha1: Option<[u8; 20]>,
    /// Preference: lower is better (see [`rank`]).
    rank: u8,
}

#[derive(Debug, Clone, Copy)]
struct SegFile {
    name: SegmentName,
    form: Form,
}

/// Preference of a copy: top-level before nested, plain names before
/// pgBackRest-named, then by decompression cost (none, lz4, zstd, gzip, xz,
/// bzip2, brotli). `pitr archive get` probes in the same order.
pub(crate) fn compression_rank(c: Option<Compression>) -> u8 {
    match c {
        None => 0,
        Some(Compression::Lz4) => 1,
        Some(Compression::Zstd) => 2,
        Some(Compression::Gzip) => 3,
        Some(Compression::Xz) => 4,
        Some(Compression::Bzip2) => 5,
        Some(Compression::Brotli) => 6,
    }
}

/// The compressions in preference order (for probing).
pub(crate) const PROBE_ORDER: [Option<Compression>; 6] = [
    None,
    Some(Compression::Lz4),
    Some(Compression::Zstd),
    Some(Compression::Gzip),
    Some(Compression::Xz),
    Some(Compression::Bzip2),
];

fn rank(dir: u32, compression: Option<Compression>, sha1: bool) -> u8 {
    (u8::from(dir != 0) << 4) | (u8::from(sha1) << 3) | compression_rank(compression)
}

fn sha1_bytes(hex: &str) -> Option<[u8; 20]> {
    let b = hex.as_bytes();
    if b.len() != 40 {
        return None;
    }
    let mut out = [0u8; 20];
    for (i, o) in out.iter_mut().enumerate() {
        let hi = (b[2 * i] as char).to_digit(16)?;
        let lo = (b[2 * i + 1] as char).to_digit(16)?;
        *o = (hi * 16 + lo) as u8;
    }
    Some(out)
}

fn sha1_hex(b: &[u8; 20]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// One file of the archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArchivedFile {
    /// Full path.
    pub path: PathBuf,
    /// Path relative to the inventoried directory (`/`-separated).
    pub relative: String,
    /// Compression, from the extension.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compression: Option<Compression>,
    /// pgBackRest's SHA-1 of the uncompressed content, from the name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha1: Option<String>,
}

/// Every copy of one segment, preferred first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SegmentForms {
    /// The segment.
    pub name: SegmentName,
    /// Its copies, the preferred one first.
    pub files: Vec<ArchivedFile>,
}

/// A history file and what it says.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryFile {
    /// Its timeline.
    pub timeline: TimeLineId,
    /// The preferred copy.
    pub file: ArchivedFile,
    /// Other copies (compressed and plain side by side).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub copies: Vec<ArchivedFile>,
    /// The parsed file (`None` when it could not be read or parsed).
    #[serde(skip)]
    pub history: Option<TimelineHistory>,
    /// Why it could not be read or parsed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl HistoryFile {
    /// The entries, oldest first (none when the file is unusable).
    pub fn entries(&self) -> &[HistoryEntry] {
        match (&self.history, &self.error) {
            (Some(h), None) => &h.entries,
            _ => &[],
        }
    }

    /// The parent timeline (last entry), when the file parsed.
    pub fn parent(&self) -> Option<TimeLineId> {
        self.entries().last().map(|l| l.parent)
    }

    /// Where this timeline began (the last entry's switch LSN).
    pub fn switch_lsn(&self) -> Option<Lsn> {
        self.entries().last().map(|l| l.switch_lsn)
    }
}

/// A backup history (`.backup`) file.
#[derive(Debug, Clone, Serialize)]
pub struct BackupHistoryFile {
    /// The file.
    pub file: ArchivedFile,
    /// The segment in its name (stop timeline, start segment).
    pub segment: SegmentName,
    /// Offset of the start LSN in its name.
    pub offset: u32,
    /// What it says, when it parsed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info: Option<BackupLabel>,
    /// Why it could not be read or parsed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A range of consecutive missing segments on one timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Gap {
    /// First missing segment.
    pub first_missing: SegmentName,
    /// Last missing segment.
    pub last_missing: SegmentName,
    /// Number of missing segments.
    pub count: u64,
}

/// A timeline's span on the way to another: `(timeline, begin, end)`, `begin`
/// inclusive, `end` exclusive, `None` unbounded.
pub type TimelineSpan = (TimeLineId, Option<Lsn>, Option<Lsn>);

/// One timeline of the archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimelineSummary {
    /// The timeline ID.
    pub timeline: TimeLineId,
    /// Its parent, from its history file.
    pub parent: Option<TimeLineId>,
    /// Where it began, from its history file.
    pub switch_lsn: Option<Lsn>,
    /// First segment present.
    pub first: Option<SegmentName>,
    /// Last segment present.
    pub last: Option<SegmentName>,
    /// Number of distinct segments present.
    pub segments: u64,
    /// Missing ranges.
    pub gaps: Vec<Gap>,
    /// `.partial` files of this timeline (plain names).
    pub partial: Vec<String>,
}

/// The JSON form of an inventory (`pitr archive show --json`).
#[derive(Debug, Clone, Serialize)]
pub struct ArchiveSummary {
    /// The directory given.
    pub archive: PathBuf,
    /// Its layout.
    pub layout: Layout,
    /// Segment size in bytes, when known.
    pub wal_segment_size: Option<u64>,
    /// The system identifier (as a string: it does not fit a JSON double).
    pub system_id: Option<String>,
    /// PostgreSQL major version.
    pub pg_version: Option<u32>,
    /// Timelines, oldest first.
    pub timelines: Vec<TimelineSummary>,
    /// History files (relative paths), by timeline.
    pub history_files: Vec<String>,
    /// Backup history files (relative paths).
    pub backup_files: Vec<BackupHistoryFile>,
    /// Segments present in more than one copy, with their copies (preferred first).
    pub duplicates: Vec<SegmentForms>,
    /// Files not recognised (relative paths).
    pub unknown_files: Vec<String>,
    /// Total number of segment files (all copies).
    pub segment_files: u64,
    /// Problems.
    pub problems: Vec<Problem>,
}

/// What an archive holds. Built by [`Inventory::scan`].
#[derive(Debug, Clone)]
pub struct Inventory {
    given: PathBuf,
    root: PathBuf,
    layout: Layout,
    seg_size: Option<WalSegSize>,
    header: Option<(String, SegmentHeader)>,
    dirs: Vec<String>,
    files: Vec<SegFile>,
    partials: Vec<(SegmentName, ArchivedFile)>,
    history: BTreeMap<TimeLineId, HistoryFile>,
    backups: Vec<BackupHistoryFile>,
    unknown: Vec<String>,
    metadata: Vec<String>,
    timelines: Vec<TimelineSummary>,
    problems: Vec<Problem>,
}

/// Entries of one listed directory.
#[derive(Default)]
struct Listing {
    files: Vec<SegFile>,
    other: Vec<(WalFileName, ArchivedFile)>,
    unknown: Vec<String>,
    misplaced: Vec<String>,
    metadata: Vec<String>,
    subdirs: Vec<String>,
}

fn list_dir(
    root: &Path,
    rel_dir: &str,
    dir_index: u32,
    xlogid: Option<(u32, u32)>,
) -> Result<Listing, IoError> {
    let path = if rel_dir.is_empty() { root.to_path_buf() } else { root.join(rel_dir) };
    let mut out = Listing::default();
    let rel = |name: &str| if rel_dir.is_empty() { name.to_string() } else { format!("{rel_dir}/{name}") };
    for entry in fs::read_dir(&path).at_path(&path)? {
        let entry = entry.at_path(&path)?;
        let os_name = entry.file_name();
        let Some(name) = os_name.to_str() else {
            out.unknown.push(rel(&os_name.to_string_lossy()));
            continue;
        };
        let ft = entry.file_type().at_path(&entry.path())?;
        let is_dir = if ft.is_symlink() { entry.path().is_dir() } else { ft.is_dir() };
        if is_dir {
            if xlogid.is_none() && rel_dir.is_empty() {
                out.subdirs.push(name.to_string());
            } else {
                out.unknown.push(rel(name) + "/");
            }
            continue;
        }
        let class = match xlogid {
            Some(x) => layout::classify_nested(x, name),
            None => layout::classify_in(None, name),
        };
        match class {
            PathClass::Wal { file, .. } => {
                if let WalFileKind::Segment { segment } = file.kind {
                    let sha1 = file.sha1.as_deref().and_then(sha1_bytes);
                    out.files.push(SegFile {
                        name: segment,
                        form: Form {
                            dir: dir_index,
                            compression: file.compression,
                            sha1,
                            rank: rank(dir_index, file.compression, file.sha1.is_some()),
                        },
                    });
                } else {
                    let af = ArchivedFile {
                        path: path.join(name),
                        relative: rel(name),
                        compression: file.compression,
                        sha1: file.sha1.clone(),
                    };
                    out.other.push((file, af));
                }
            }
            PathClass::Metadata => out.metadata.push(rel(name)),
            PathClass::Misplaced(_) => out.misplaced.push(rel(name)),
            PathClass::Unknown => out.unknown.push(rel(name)),
        }
    }
    Ok(out)
}

impl Inventory {
    /// Scans `dir` (flat, nested, or a pgBackRest stanza directory). Fails only
    /// when the directory cannot be listed; everything wrong inside becomes a
    /// [`Problem`].
    pub fn scan(dir: &Path, opts: &ScanOptions) -> Result<Inventory, Error> {
        let mut problems = Vec::new();
        let top = list_dir(dir, "", 0, None)?;

        // A pgBackRest stanza directory: <version>-<id>/ directories and no WAL
        // at the top. Read the highest archive id.
        let mut archive_ids: Vec<(u32, String)> = top
            .subdirs
            .iter()
            .filter_map(|d| match layout::classify_dir(d) {
                DirKind::ArchiveId(a) => Some((a.id, d.clone())),
                _ => None,
            })
            .collect();
        let has_wal_at_top = !top.files.is_empty() || !top.other.is_empty();
        let has_xlogid = top.subdirs.iter().any(|d| matches!(layout::classify_dir(d), DirKind::XLogId));
        let (root, listing, mut layout_kind, mut extra_unknown, mut extra_meta) =
            if !archive_ids.is_empty() && !has_wal_at_top && !has_xlogid {
                archive_ids.sort();
                let (_, chosen) = archive_ids.pop().unwrap_or_default();
                for (_, other) in &archive_ids {
                    problems.push(Problem::warning(
                        ProblemCode::OtherArchiveId,
                        Some(format!("{other}/")),
                        format!(
                            "pgBackRest archive id {other} is not inventoried (only the newest, {chosen}); \
                             point pitr at {other}/ to inspect it"
                        ),
                    ));
                }
                let mut unknown = top.unknown.clone();
                unknown.extend(top.misplaced.iter().cloned());
                for d in &top.subdirs {
                    if !matches!(layout::classify_dir(d), DirKind::ArchiveId(_)) {
                        unknown.push(format!("{d}/"));
                    }
                }
                let root = dir.join(&chosen);
                let listing = list_dir(&root, "", 0, None)?;
                (root, listing, Layout::PgBackRest { archive_id: chosen }, unknown, top.metadata.clone())
            } else {
                (dir.to_path_buf(), top, Layout::Flat, Vec::new(), Vec::new())
            };

        let mut dirs = vec![String::new()];
        let mut nested = Vec::new();
        for d in &listing.subdirs {
            match layout::parse_xlogid_dir(d) {
                Some(x) => {
                    nested.push((dirs.len() as u32, d.clone(), x));
                    dirs.push(d.clone());
                }
                None => extra_unknown.push(format!("{d}/")),
            }
        }
        if !nested.is_empty() && layout_kind == Layout::Flat {
            layout_kind = Layout::Nested;
        }
        let sub: Vec<Result<Listing, IoError>> =
            nested.par_iter().map(|(i, d, x)| list_dir(&root, d, *i, Some(*x))).collect();

        let mut files = listing.files;
        let mut other = listing.other;
        let mut unknown = listing.unknown;
        let mut misplaced = listing.misplaced;
        unknown.append(&mut extra_unknown);
        extra_meta.extend(listing.metadata);
        for l in sub {
            let mut l = l?;
            files.append(&mut l.files);
            other.append(&mut l.other);
            unknown.append(&mut l.unknown);
            misplaced.append(&mut l.misplaced);
            extra_meta.append(&mut l.metadata);
        }
        files.sort_unstable_by_key(|f| (f.name, f.form.rank));
        unknown.sort();
        misplaced.sort();
        extra_meta.sort();

        let mut inv = Inventory {
            given: dir.to_path_buf(),
            root,
            layout: layout_kind,
            seg_size: opts.seg_size,
            header: None,
            dirs,
            files,
            partials: Vec::new(),
            history: BTreeMap::new(),
            backups: Vec::new(),
            unknown,
            metadata: extra_meta,
            timelines: Vec::new(),
            problems,
        };
        inv.read_first_header();
        inv.check_names();
        inv.classify_others(other);
        for m in misplaced {
            inv.problems.push(Problem::warning(
                ProblemCode::MisplacedFile,
                Some(m.clone()),
                "a WAL file in a directory that does not match its name: PostgreSQL's restore_command \
                 helpers will not look for it there",
            ));
        }
        for u in &inv.unknown {
            inv.problems.push(Problem::warning(
                ProblemCode::UnknownFile,
                Some(u.clone()),
                "not a WAL segment, history, backup history or .partial file",
            ));
        }
        inv.build_timelines();
        sort_problems(&mut inv.problems);
        Ok(inv)
    }

    fn file_of(&self, name: SegmentName, form: &Form) -> ArchivedFile {
        let mut file = name.to_string();
        if let Some(h) = &form.sha1 {
            file.push('-');
            file.push_str(&sha1_hex(h));
        }
        if let Some(c) = form.compression {
            file.push('.');
            file.push_str(c.extension());
        }
        let dir = self.dirs.get(form.dir as usize).map(String::as_str).unwrap_or("");
        let relative = if dir.is_empty() { file } else { format!("{dir}/{file}") };
        ArchivedFile {
            path: self.root.join(&relative),
            relative,
            compression: form.compression,
            sha1: form.sha1.as_ref().map(sha1_hex),
        }
    }

    /// Reads the long page header of the first readable segment (trying up to
    /// [`HEADER_PROBES`] files in name order): segment size, system id, major.
    fn read_first_header(&mut self) {
        let mut tried = 0;
        let mut last_name = None;
        let mut idx = 0;
        while idx < self.files.len() && tried < HEADER_PROBES {
            let f = self.files[idx];
            idx += 1;
            if last_name == Some(f.name) {
                continue;
            }
            last_name = Some(f.name);
            tried += 1;
            let af = self.file_of(f.name, &f.form);
            let Ok(mut r) = compress::open(&af.path) else { continue };
            let mut head = [0u8; LONG_HEADER_LEN];
            let mut got = 0;
            while got < LONG_HEADER_LEN {
                match r.read(&mut head[got..]) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got += n,
                }
            }
            let Ok(h) = SegmentHeader::parse(&head[..got], &af.path) else { continue };
            if self.seg_size.is_none() {
                self.seg_size = Some(h.seg_size);
            }
            self.header = Some((af.relative, h));
            return;
        }
        if self.seg_size.is_none() && !self.files.is_empty() {
            self.problems.push(Problem::error(
                ProblemCode::SegmentSizeUnknown,
                None,
                format!(
                    "no readable segment among the first {tried} tried: the WAL segment size is unknown \
                     (give it with --wal-segsize); gaps cannot be computed"
                ),
            ));
        }
    }

    /// Drops names impossible for the segment size (`seg >= segments per xlogid`).
    fn check_names(&mut self) {
        let Some(seg) = self.seg_size else { return };
        let per = seg.segments_per_xlogid();
        if self.files.iter().all(|f| u64::from(f.name.seg) < per) {
            return;
        }
        let mut bad = Vec::new();
        self.files.retain(|f| {
            let ok = u64::from(f.name.seg) < per;
            if !ok {
                bad.push(*f);
            }
            ok
        });
        for f in bad {
            let af = self.file_of(f.name, &f.form);
            self.problems.push(Problem::error(
                ProblemCode::InvalidSegmentName,
                Some(af.relative.clone()),
                format!("no segment of {seg} can have this name (its last part is at most {:08X})", per - 1),
            ));
            self.unknown.push(af.relative);
        }
    }

    fn classify_others(&mut self, other: Vec<(WalFileName, ArchivedFile)>) {
        let mut histories: BTreeMap<TimeLineId, Vec<ArchivedFile>> = BTreeMap::new();
        for (name, af) in other {
            if af.compression == Some(Compression::Brotli) {
                self.problems.push(Problem::warning(
                    ProblemCode::UnsupportedCompression,
                    Some(af.relative.clone()),
                    "brotli-compressed files cannot be read by pitr",
                ));
            }
            match name.kind {
                WalFileKind::Partial { segment } => self.partials.push((segment, af)),
                WalFileKind::History { timeline } => histories.entry(timeline).or_default().push(af),
                WalFileKind::BackupHistory { segment, offset } => {
                    let (info, mut errors) = match BackupLabel::read(&af.path) {
                        Err(e) => (None, vec![e.to_string()]),
                        Ok(l) => (Some(l), Vec::new()),
                    };
                    if let Some(l) = &info {
                        errors.extend(
                            l.issues
                                .iter()
                                .filter(|i| i.severity == Severity::Error)
                                .map(|i| i.message.clone()),
                        );
                        if let Some(seg) = self.seg_size {
                            let expected = l.history_file_name(seg);
                            let plain = format!("{segment}.{offset:08X}.backup");
                            if expected != plain {
                                errors.push(format!(
                                    "its content (start {} on timeline {}, stop timeline {}) gives the name {expected}",
                                    l.start.lsn,
                                    l.timeline(),
                                    l.end_timeline()
                                ));
                            }
                        }
                    }
                    let error = (!errors.is_empty()).then(|| errors.join("; "));
                    if let Some(e) = &error {
                        self.problems.push(Problem::warning(
                            ProblemCode::BackupFileInvalid,
                            Some(af.relative.clone()),
                            e.clone(),
                        ));
                    }
                    self.backups.push(BackupHistoryFile { file: af, segment, offset, info, error });
                }
                _ => self.unknown.push(af.relative),
            }
        }
        self.partials.sort_by(|a, b| (a.0, &a.1.relative).cmp(&(b.0, &b.1.relative)));
        self.backups.sort_by(|a, b| a.file.relative.cmp(&b.file.relative));
        for (tli, mut copies) in histories {
            copies.sort_by_key(|c| {
                (c.relative.contains('/'), compression_rank(c.compression), c.relative.clone())
            });
            let file = copies.remove(0);
            let (history, error) = match compress::read_to_vec(&file.path, MAX_HISTORY_SIZE) {
                Err(e) => (None, Some(e.to_string())),
                Ok(bytes) => match TimelineHistory::parse_bytes(tli, &bytes) {
                    Ok(h) => (Some(h), None),
                    Err(e) => (None, Some(e.to_string())),
                },
            };
            if let Some(e) = &error {
                self.problems.push(Problem::error(
                    ProblemCode::HistoryInvalid,
                    Some(file.relative.clone()),
                    e.clone(),
                ));
            }
            // What the server accepts but never writes (decreasing switch
            // points, 0/0, no entries, a history file for timeline 1).
            for issue in history.iter().flat_map(TimelineHistory::issues) {
                let line = issue.line.map_or(String::new(), |l| format!("line {l}: "));
                self.problems.push(Problem {
                    severity: issue.severity,
                    code: ProblemCode::HistoryInvalid,
                    file: Some(file.relative.clone()),
                    message: format!("{line}{}", issue.message),
                });
            }
            let error = error.or_else(|| {
                let h = history.as_ref()?;
                h.issues()
                    .iter()
                    .any(|i| i.severity == Severity::Error)
                    .then(|| "invalid entries".to_string())
            });
            self.history.insert(tli, HistoryFile { timeline: tli, file, copies, history, error });
        }
        self.check_history_chain();
    }

    /// Parents must have history files (above 1) and agree with their children.
    fn check_history_chain(&mut self) {
        let mut problems = Vec::new();
        for h in self.history.values() {
            if h.error.is_some() {
                continue;
            }
            let entries = h.entries();
            for (i, link) in entries.iter().enumerate() {
                if link.parent <= 1 {
                    continue;
                }
                match self.history.get(&link.parent) {
                    None => {
                        if i + 1 == entries.len() {
                            problems.push(Problem::error(
                                ProblemCode::HistoryParentMissing,
                                Some(h.file.relative.clone()),
                                format!(
                                    "timeline {} forked from timeline {} at {}, but {:08X}.history is not in the archive",
                                    h.timeline, link.parent, link.switch_lsn, link.parent
                                ),
                            ));
                        }
                    }
                    Some(p) if p.error.is_none() => {
                        let key = |e: &HistoryEntry| (e.parent, e.switch_lsn);
                        let same = p.entries().iter().map(key).eq(entries[..i].iter().map(key));
                        if !same && i + 1 == entries.len() {
                            problems.push(Problem::error(
                                ProblemCode::HistoryInvalid,
                                Some(h.file.relative.clone()),
                                format!(
                                    "its entries before timeline {} do not repeat {} (a history file copies its parent's)",
                                    link.parent, p.file.relative
                                ),
                            ));
                        }
                    }
                    Some(_) => {}
                }
            }
        }
        self.problems.extend(problems);
    }

    fn build_timelines(&mut self) {
        let mut tlis: std::collections::BTreeSet<TimeLineId> = self.history.keys().copied().collect();
        for h in self.history.values() {
            tlis.extend(h.entries().iter().map(|l| l.parent));
        }
        tlis.extend(self.partials.iter().map(|p| p.0.timeline));
        let mut i = 0;
        while i < self.files.len() {
            let t = self.files[i].name.timeline;
            tlis.insert(t);
            i = self.files.partition_point(|f| f.name.timeline <= t);
        }
        let mut out = Vec::new();
        let mut problems = Vec::new();
        for t in tlis {
            let range = self.timeline_range(t);
            let slice = &self.files[range];
            let hist = self.history.get(&t);
            let mut s = TimelineSummary {
                timeline: t,
                parent: hist.and_then(HistoryFile::parent),
                switch_lsn: hist.and_then(HistoryFile::switch_lsn),
                first: slice.first().map(|f| f.name),
                last: slice.last().map(|f| f.name),
                segments: 0,
                gaps: Vec::new(),
                partial: self
                    .partials
                    .iter()
                    .filter(|p| p.0.timeline == t)
                    .map(|p| format!("{}.partial", p.0))
                    .collect(),
            };
            let mut prev: Option<SegmentName> = None;
            for f in slice {
                if prev == Some(f.name) {
                    continue;
                }
                s.segments += 1;
                prev = Some(f.name);
            }
            if t > 1 && hist.is_none() && s.segments > 0 {
                problems.push(Problem::error(
                    ProblemCode::HistoryMissing,
                    Some(format!("{t:08X}.history")),
                    format!(
                        "timeline {t} has {} segment(s) but no history file: its parent and start are unknown",
                        s.segments
                    ),
                ));
            }
            if let Some(seg) = self.seg_size {
                self.timeline_gaps(t, seg, &mut s, &mut problems);
            }
            out.push(s);
        }
        self.timelines = out;
        self.problems.extend(problems);
    }

    /// Index range of timeline `t` in `files`.
    fn timeline_range(&self, t: TimeLineId) -> std::ops::Range<usize> {
        let lo = self.files.partition_point(|f| f.name.timeline < t);
        let hi = self.files.partition_point(|f| f.name.timeline <= t);
        lo..hi
    }

    fn timeline_gaps(
        &self,
        t: TimeLineId,
        seg: WalSegSize,
        s: &mut TimelineSummary,
        problems: &mut Vec<Problem>,
    ) {
        let slice = &self.files[self.timeline_range(t)];
        let segno = |n: SegmentName| n.segno(seg).unwrap_or(0);
        let mut push_gap = |from: u64, to: u64, why: &str, problems: &mut Vec<Problem>| {
            let g = Gap {
                first_missing: SegmentName::new(t, from, seg),
                last_missing: SegmentName::new(t, to, seg),
                count: to - from + 1,
            };
            let what = if g.count == 1 {
                format!("segment {} is missing", g.first_missing)
            } else {
                format!("{} segments are missing: {} to {}", g.count, g.first_missing, g.last_missing)
            };
            problems.push(Problem::error(
                ProblemCode::MissingSegment,
                Some(g.first_missing.to_string()),
                format!("{what}{why}"),
            ));
            s.gaps.push(g);
        };

        // The child's own copies are needed from its switch segment on, as
        // soon as the archive still holds parent WAL from before the switch (a
        // recovery can cross into this timeline there). Otherwise (cleaned up)
        // the range starts at the first segment present.
        if let (Some(first), Some(parent), Some(switch)) = (s.first, s.parent, s.switch_lsn) {
            let start = switch.segment(seg);
            let first_no = segno(first);
            let prange = self.timeline_range(parent);
            let parent_has_before = self.files[prange].first().is_some_and(|f| segno(f.name) <= start);
            if first_no > start && parent_has_before {
                push_gap(
                    start,
                    first_no - 1,
                    &format!(
                        " (timeline {t} begins at {switch} in segment {}; without its own copy PostgreSQL \
                         would silently replay timeline {parent}'s segment instead)",
                        SegmentName::new(t, start, seg)
                    ),
                    problems,
                );
            }
            if first_no < start {
                let before = slice.iter().filter(|f| segno(f.name) < start).count();
                problems.push(Problem::warning(
                    ProblemCode::TimelineMismatch,
                    Some(first.to_string()),
                    format!(
                        "{before} file(s) of timeline {t} lie before its start at {switch} (segment {})",
                        SegmentName::new(t, start, seg)
                    ),
                ));
            }
        }
        let mut prev: Option<u64> = None;
        for f in slice {
            let n = segno(f.name);
            if let Some(p) = prev {
                if n > p + 1 {
                    push_gap(p + 1, n - 1, "", problems);
                }
            }
            prev = Some(n);
        }
        s.gaps.sort_by_key(|g| g.first_missing);
    }

    /// The directory given to [`Inventory::scan`].
    pub fn archive_dir(&self) -> &Path {
        &self.given
    }

    /// The directory whose files were inventoried (the archive id directory
    /// for pgBackRest; otherwise the directory given).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The layout found.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The WAL segment size (given, or from the first readable segment).
    pub fn seg_size(&self) -> Option<WalSegSize> {
        self.seg_size
    }

    /// The first readable segment's long page header and its file.
    pub fn first_header(&self) -> Option<(&str, &SegmentHeader)> {
        self.header.as_ref().map(|(f, h)| (f.as_str(), h))
    }

    /// The system identifier, from the first readable segment.
    pub fn system_id(&self) -> Option<u64> {
        self.header.as_ref().map(|(_, h)| h.system_id)
    }

    /// The major version, from the first readable segment.
    pub fn pg_major(&self) -> Option<PgMajor> {
        self.header.as_ref().map(|(_, h)| h.major)
    }

    /// The timelines (every one with segments, `.partial` files or a history
    /// file, and every parent a history file names), oldest first.
    pub fn timelines(&self) -> &[TimelineSummary] {
        &self.timelines
    }

    /// One timeline's summary.
    pub fn timeline(&self, t: TimeLineId) -> Option<&TimelineSummary> {
        self.timelines.iter().find(|s| s.timeline == t)
    }

    /// History files by timeline.
    pub fn history(&self) -> &BTreeMap<TimeLineId, HistoryFile> {
        &self.history
    }

    /// The readable history files as a [`HistorySet`] (for the planner:
    /// `findNewestTimeLine`, target timeline resolution), whatever the layout
    /// and compression.
    pub fn history_set(&self) -> HistorySet {
        HistorySet::from_histories(
            self.history.values().filter(|h| h.error.is_none()).filter_map(|h| h.history.clone()),
        )
    }

    /// The path from the oldest ancestor to timeline `t`: `(timeline, begin,
    /// end)` with `begin` inclusive and `end` exclusive (`None`: unbounded), as
    /// `readTimeLineHistory` builds it but oldest first. `None` when `t > 1`
    /// has no readable history file.
    pub fn ancestry(&self, t: TimeLineId) -> Option<Vec<TimelineSpan>> {
        if t == 1 && !self.history.contains_key(&1) {
            return Some(vec![(1, None, None)]);
        }
        let h = self.history.get(&t)?;
        if h.error.is_some() {
            return None;
        }
        let mut out = Vec::with_capacity(h.entries().len() + 1);
        let mut begin = None;
        for l in h.entries() {
            out.push((l.parent, begin, Some(l.switch_lsn)));
            begin = Some(l.switch_lsn);
        }
        out.push((t, begin, None));
        Some(out)
    }

    /// Backup history files, by name.
    pub fn backups(&self) -> &[BackupHistoryFile] {
        &self.backups
    }

    /// `.partial` files with the segment they are a partial copy of.
    pub fn partials(&self) -> &[(SegmentName, ArchivedFile)] {
        &self.partials
    }

    /// Relative paths of files that are not WAL-related.
    pub fn unknown_files(&self) -> &[String] {
        &self.unknown
    }

    /// Backup tools' metadata files (`archive.info`, `xlog.db`).
    pub fn metadata_files(&self) -> &[String] {
        &self.metadata
    }

    /// Problems found while scanning (names, gaps, history chain).
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// Number of segment files (every copy).
    pub fn segment_file_count(&self) -> usize {
        self.files.len()
    }

    /// Number of distinct segments.
    pub fn segment_count(&self) -> u64 {
        self.timelines.iter().map(|t| t.segments).sum()
    }

    fn lookup(&self, name: SegmentName) -> &[SegFile] {
        let lo = self.files.partition_point(|f| f.name < name);
        let hi = lo + self.files[lo..].partition_point(|f| f.name == name);
        &self.files[lo..hi]
    }

    /// The preferred file of segment `segno` on timeline `t` (needs the
    /// segment size).
    pub fn segment_path(&self, t: TimeLineId, segno: u64) -> Option<PathBuf> {
        let seg = self.seg_size?;
        self.segment_file(SegmentName::new(t, segno, seg)).map(|f| f.path)
    }

    /// The preferred copy of a segment.
    pub fn segment_file(&self, name: SegmentName) -> Option<ArchivedFile> {
        self.lookup(name).first().map(|f| self.file_of(f.name, &f.form))
    }

    /// True when segment `segno` of timeline `t` is present (in any form).
    pub fn has_segment(&self, t: TimeLineId, segno: u64) -> bool {
        self.seg_size.is_some_and(|seg| !self.lookup(SegmentName::new(t, segno, seg)).is_empty())
    }

    /// Every copy of a segment, preferred first.
    pub fn segment_forms(&self, name: SegmentName) -> Option<SegmentForms> {
        let l = self.lookup(name);
        if l.is_empty() {
            return None;
        }
        Some(SegmentForms { name, files: l.iter().map(|f| self.file_of(f.name, &f.form)).collect() })
    }

    /// Distinct segments, in order.
    pub fn segments(&self) -> impl Iterator<Item = SegmentName> + '_ {
        let mut prev = None;
        self.files.iter().filter_map(move |f| {
            if prev == Some(f.name) {
                None
            } else {
                prev = Some(f.name);
                Some(f.name)
            }
        })
    }

    /// Every segment file (all copies) in order, preferred copy first.
    pub fn segment_files(&self) -> impl Iterator<Item = (SegmentName, ArchivedFile)> + '_ {
        self.files.iter().map(|f| (f.name, self.file_of(f.name, &f.form)))
    }

    /// The `i`-th segment file (all copies, in order): its segment, the file,
    /// whether it is the preferred copy and whether other copies exist.
    pub(crate) fn file_at(&self, i: usize) -> Option<(SegmentName, ArchivedFile, bool, bool)> {
        let f = self.files.get(i)?;
        let preferred = i == 0 || self.files[i - 1].name != f.name;
        let dup = !preferred || self.files.get(i + 1).is_some_and(|g| g.name == f.name);
        Some((f.name, self.file_of(f.name, &f.form), preferred, dup))
    }

    /// Segments present in more than one copy.
    pub fn duplicates(&self) -> Vec<SegmentForms> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.files.len() {
            let name = self.files[i].name;
            let j = i + self.files[i..].partition_point(|f| f.name == name);
            if j - i > 1 {
                out.push(SegmentForms {
                    name,
                    files: self.files[i..j].iter().map(|f| self.file_of(f.name, &f.form)).collect(),
                });
            }
            i = j;
        }
        out
    }

    /// The JSON summary, with `problems` (the scan's own, or more from [`super::verify`]).
    pub fn summary(&self, problems: &[Problem]) -> ArchiveSummary {
        ArchiveSummary {
            archive: self.given.clone(),
            layout: self.layout.clone(),
            wal_segment_size: self.seg_size.map(WalSegSize::bytes),
            system_id: self.system_id().map(|s| s.to_string()),
            pg_version: self.pg_major().map(PgMajor::number),
            timelines: self.timelines.clone(),
            history_files: self.history.values().map(|h| h.file.relative.clone()).collect(),
            backup_files: self.backups.clone(),
            duplicates: self.duplicates(),
            unknown_files: self.unknown.clone(),
            segment_files: self.files.len() as u64,
            problems: problems.to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::walfile::history_file_name;

    fn seg1() -> WalSegSize {
        WalSegSize::new(1 << 20).unwrap()
    }

    fn touch(dir: &Path, rel: &str) {
        let p = dir.join(rel);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(p, b"").unwrap();
    }

    fn scan(dir: &Path) -> Inventory {
        Inventory::scan(dir, &ScanOptions { seg_size: Some(seg1()) }).unwrap()
    }

    #[test]
    fn flat_gaps_partials_unknown() {
        let d = tempfile::tempdir().unwrap();
        for n in [1u64, 2, 3, 6, 7, 9] {
            touch(d.path(), &SegmentName::new(1, n, seg1()).to_string());
        }
        touch(d.path(), "000000010000000000000003.gz");
        touch(d.path(), "00000001000000000000000A.partial");
        touch(d.path(), "README");
        let inv = scan(d.path());
        assert_eq!(inv.layout(), &Layout::Flat);
        let t = inv.timeline(1).unwrap();
        assert_eq!(t.segments, 6);
        assert_eq!(t.first.unwrap().to_string(), "000000010000000000000001");
        assert_eq!(t.last.unwrap().to_string(), "000000010000000000000009");
        let gaps: Vec<_> =
            t.gaps.iter().map(|g| (g.first_missing.to_string(), g.last_missing.to_string())).collect();
        assert_eq!(
            gaps,
            vec![
                ("000000010000000000000004".into(), "000000010000000000000005".into()),
                ("000000010000000000000008".into(), "000000010000000000000008".into())
            ]
        );
        assert_eq!(t.partial, vec!["00000001000000000000000A.partial".to_string()]);
        assert_eq!(inv.unknown_files(), &["README".to_string()]);
        let codes: Vec<_> = inv.problems().iter().map(|p| p.code).collect();
        assert_eq!(codes.iter().filter(|c| **c == ProblemCode::MissingSegment).count(), 2);
        assert!(codes.contains(&ProblemCode::UnknownFile));
        // Preferred copy: plain before gzip.
        let forms = inv.segment_forms(SegmentName::new(1, 3, seg1())).unwrap();
        assert_eq!(forms.files.len(), 2);
        assert_eq!(forms.files[0].compression, None);
        assert_eq!(inv.duplicates().len(), 1);
        assert_eq!(inv.segment_path(1, 3).unwrap(), d.path().join("000000010000000000000003"));
        assert!(inv.segment_path(1, 4).is_none());
        assert!(inv.has_segment(1, 9));
    }

    #[test]
    fn nested_and_pgbackrest_layouts() {
        let d = tempfile::tempdir().unwrap();
        touch(d.path(), "0000000100000000/000000010000000000000001");
        touch(d.path(), "0000000100000000/000000010000000000000002.zst");
        touch(d.path(), "0000000200000000/000000010000000000000003");
        touch(d.path(), "xlog.db");
        let inv = scan(d.path());
        assert_eq!(inv.layout(), &Layout::Nested);
        assert_eq!(inv.timeline(1).unwrap().segments, 2);
        assert!(inv.problems().iter().any(|p| p.code == ProblemCode::MisplacedFile));
        assert_eq!(inv.metadata_files(), &["xlog.db".to_string()]);

        let d = tempfile::tempdir().unwrap();
        let h = "0123456789abcdef0123456789abcdef01234567";
        touch(d.path(), "archive.info");
        touch(d.path(), &format!("13-1/0000000100000000/000000010000000000000001-{h}.gz"));
        touch(d.path(), &format!("15-2/0000000100000000/000000010000000000000004-{h}.lz4"));
        touch(d.path(), &format!("15-2/0000000100000000/000000010000000000000005-{h}"));
        touch(d.path(), "15-2/00000002.history");
        let inv = scan(d.path());
        assert_eq!(inv.layout(), &Layout::PgBackRest { archive_id: "15-2".into() });
        let t = inv.timeline(1).unwrap();
        assert_eq!((t.segments, t.gaps.len()), (2, 0));
        let f = inv.segment_file(SegmentName::new(1, 4, seg1())).unwrap();
        assert_eq!(f.relative, format!("0000000100000000/000000010000000000000004-{h}.lz4"));
        assert_eq!(f.sha1.as_deref(), Some(h));
        assert!(f.path.is_file());
        assert!(inv.problems().iter().any(|p| p.code == ProblemCode::OtherArchiveId));
        assert!(inv.history().contains_key(&2));
    }

    #[test]
    fn child_timeline_gaps_start_at_the_switch() {
        let d = tempfile::tempdir().unwrap();
        for n in 1..=8u64 {
            touch(d.path(), &SegmentName::new(1, n, seg1()).to_string());
        }
        // Timeline 2 forked at 0/500220 (segment 5) but its segments 5 and 6
        // are missing: a gap of the child, not "everything below 7".
        fs::write(d.path().join(history_file_name(2)), "1\t0/500220\tno recovery target specified\n")
            .unwrap();
        for n in 7..=9u64 {
            touch(d.path(), &SegmentName::new(2, n, seg1()).to_string());
        }
        let inv = scan(d.path());
        let t2 = inv.timeline(2).unwrap();
        assert_eq!(t2.parent, Some(1));
        assert_eq!(t2.switch_lsn, Some(Lsn(0x50_0220)));
        assert_eq!(t2.gaps.len(), 1);
        assert_eq!(t2.gaps[0].first_missing.to_string(), "000000020000000000000005");
        assert_eq!(t2.gaps[0].last_missing.to_string(), "000000020000000000000006");
        assert!(inv.timeline(1).unwrap().gaps.is_empty());

        // Once the parent's WAL before the switch is gone, the child starts
        // where its segments start.
        for n in 1..=5u64 {
            fs::remove_file(d.path().join(SegmentName::new(1, n, seg1()).to_string())).unwrap();
        }
        let inv = scan(d.path());
        assert!(inv.timeline(2).unwrap().gaps.is_empty(), "{:?}", inv.problems());
        assert_eq!(
            inv.ancestry(2).unwrap(),
            vec![(1, None, Some(Lsn(0x50_0220))), (2, Some(Lsn(0x50_0220)), None)]
        );
    }

    #[test]
    fn history_problems() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("00000003.history"), "1\t0/500220\tx\n\n2\t0/6000000\ty\n").unwrap();
        fs::write(d.path().join("00000004.history"), "garbage\n").unwrap();
        touch(d.path(), "000000050000000000000001");
        let inv = scan(d.path());
        let codes: Vec<_> =
            inv.problems().iter().map(|p| (p.code, p.file.clone().unwrap_or_default())).collect();
        assert!(codes.contains(&(ProblemCode::HistoryParentMissing, "00000003.history".into())), "{codes:?}");
        assert!(codes.contains(&(ProblemCode::HistoryInvalid, "00000004.history".into())), "{codes:?}");
        assert!(codes.contains(&(ProblemCode::HistoryMissing, "00000005.history".into())), "{codes:?}");
        assert_eq!(inv.ancestry(4), None);
        let set = inv.history_set();
        assert!(set.history_of(3).is_some() && set.history_of(4).is_none());
        assert_eq!(inv.ancestry(3).unwrap().len(), 3);
    }

    #[test]
    fn unknown_segment_size_is_a_problem_not_a_failure() {
        let d = tempfile::tempdir().unwrap();
        touch(d.path(), "000000010000000000000001");
        let inv = Inventory::scan(d.path(), &ScanOptions::default()).unwrap();
        assert_eq!(inv.seg_size(), None);
        assert!(inv.problems().iter().any(|p| p.code == ProblemCode::SegmentSizeUnknown));
        assert_eq!(inv.timeline(1).unwrap().segments, 1);
        assert!(Inventory::scan(&d.path().join("nope"), &ScanOptions::default()).is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
        /// Gaps are exactly the missing runs between the first and last
        /// segment present, across xlogid boundaries (4096 per xlogid with 1 MB).
        #[test]
        fn gaps_are_the_missing_runs(present in proptest::collection::btree_set(4000u64..4300, 1..60)) {
            let d = tempfile::tempdir().unwrap();
            for n in &present {
                touch(d.path(), &SegmentName::new(1, *n, seg1()).to_string());
            }
            let inv = scan(d.path());
            let t = inv.timeline(1).unwrap();
            let v: Vec<u64> = present.iter().copied().collect();
            let mut expected = Vec::new();
            for w in v.windows(2) {
                if w[1] > w[0] + 1 {
                    expected.push((w[0] + 1, w[1] - 1));
                }
            }
            let got: Vec<(u64, u64)> = t
                .gaps
                .iter()
                .map(|g| (g.first_missing.segno(seg1()).unwrap(), g.last_missing.segno(seg1()).unwrap()))
                .collect();
            proptest::prop_assert_eq!(got, expected);
            proptest::prop_assert_eq!(t.segments, present.len() as u64);
            proptest::prop_assert_eq!(t.first.unwrap().segno(seg1()), v.first().copied());
            proptest::prop_assert_eq!(
                inv.problems().iter().filter(|p| p.code == ProblemCode::MissingSegment).count(),
                t.gaps.len()
            );
        }
    }
}
