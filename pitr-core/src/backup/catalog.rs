//! Table names to relfilenodes from a base backup's own catalog, without a
//! server: `pg_filenode.map` (the relation mapper), then the heap pages of
//! `pg_class` and `pg_namespace` in each database directory, for PostgreSQL 13
//! to 18.
//!
//! A base backup is a fuzzy copy: a page may have been copied while the server
//! was writing it. Every page is checked (header bounds, line pointers, tuple
//! headers) and a page that does not hold together is skipped with a note;
//! nothing here panics, whatever the bytes. Page checksums are not verified.
//! Every version of a `pg_class` row still on the pages is reported (a row
//! updated by `TRUNCATE`, `VACUUM FULL` or `ALTER TABLE` leaves the old version
//! with the old relfilenode until it is pruned), each with its `xmin`/`xmax`
//! and what the hint bits say about it.

use super::source::Flow;
use super::{Backup, BackupFormat};
use crate::error::{Error, ParseError};
use crate::version::PgMajor;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

/// `pg_class`'s OID (a mapped catalog).
pub const PG_CLASS_OID: u32 = 1259;
/// `pg_namespace`'s OID.
pub const PG_NAMESPACE_OID: u32 = 2615;
/// Size of a page header (`SizeOfPageHeaderData`).
pub const PAGE_HEADER_SIZE: usize = 24;
/// Size of a heap tuple header without its null bitmap (`SizeofHeapTupleHeader`).
pub const HEAP_TUPLE_HEADER_SIZE: usize = 23;
/// `RELMAPPER_FILEMAGIC`.
pub const RELMAP_MAGIC: u32 = 0x0059_2717;
/// `NAMEDATALEN`.
const NAMEDATALEN: usize = 64;

// Heap tuple `t_infomask` bits.
const HEAP_HASNULL: u16 = 0x0001;
const HEAP_XMAX_LOCK_ONLY: u16 = 0x0080;
const HEAP_XMIN_COMMITTED: u16 = 0x0100;
const HEAP_XMIN_INVALID: u16 = 0x0200;
const HEAP_XMAX_INVALID: u16 = 0x0800;
const HEAP_NATTS_MASK: u16 = 0x07FF;

/// One `(catalog OID, relfilenode)` entry of a `pg_filenode.map`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RelMapping {
    /// The mapped catalog's OID.
    pub oid: u32,
    /// Its relfilenode.
    pub relfilenode: u32,
}

/// Parses a `pg_filenode.map` written by `major`: 512 bytes with 62 slots up
/// to 15, 524 bytes with 64 slots from 16; the CRC-32C must match.
pub fn parse_relmap(bytes: &[u8], major: PgMajor) -> Result<Vec<RelMapping>, ParseError> {
    let (slots, size) = if major >= PgMajor::V16 { (64usize, 524usize) } else { (62, 512) };
    let err = |m: String| ParseError::new("pg_filenode.map", m);
    if bytes.len() != size {
        return Err(err(format!("{} bytes, expected {size} for PostgreSQL {}", bytes.len(), major.number())));
    }
    let magic = le_u32(bytes, 0).unwrap_or(0);
    if magic != RELMAP_MAGIC {
        return Err(err(format!("bad magic {magic:#x} (expected {RELMAP_MAGIC:#x})")).at_position(0));
    }
    let crc_at = 8 + slots * 8;
    let stored = le_u32(bytes, crc_at).unwrap_or(0);
    let computed = crc32c::crc32c(bytes.get(..crc_at).unwrap_or(&[]));
    if stored != computed {
        return Err(err(format!("CRC mismatch: stored {stored:#010x}, computed {computed:#010x}"))
            .at_position(crc_at));
    }
    let n = le_u32(bytes, 4).unwrap_or(0) as usize;
    if n > slots {
        return Err(err(format!("{n} mappings, at most {slots} fit")).at_position(4));
    }
    Ok((0..n)
        .filter_map(|i| {
            let at = 8 + i * 8;
            Some(RelMapping { oid: le_u32(bytes, at)?, relfilenode: le_u32(bytes, at + 4)? })
        })
        .collect())
}

/// A tuple on a heap page (`LP_NORMAL` line pointer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeapTuple<'a> {
    /// Line pointer number (1-based offset number).
    pub offset: u16,
    /// `t_xmin`.
    pub xmin: u32,
    /// `t_xmax`.
    pub xmax: u32,
    /// `t_infomask`.
    pub infomask: u16,
    /// Number of attributes stored (`t_infomask2 & HEAP_NATTS_MASK`).
    pub natts: u16,
    /// The null bitmap, when `HEAP_HASNULL` (bit set = not null).
    pub nulls: Option<&'a [u8]>,
    /// The attribute data (from `t_hoff`).
    pub data: &'a [u8],
}

impl HeapTuple<'_> {
    /// True when attribute `attnum` (1-based) is stored and not null.
    pub fn has_attr(&self, attnum: u16) -> bool {
        if attnum == 0 || attnum > self.natts {
            return false;
        }
        match self.nulls {
            None => true,
            Some(bits) => {
                let i = usize::from(attnum - 1);
                bits.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0)
            }
        }
    }

    /// What the hint bits say about this row version.
    pub fn state(&self) -> RowState {
        let m = self.infomask;
        if m & HEAP_XMIN_INVALID != 0 && m & HEAP_XMIN_COMMITTED == 0 {
            RowState::Aborted
        } else if self.xmax != 0 && m & HEAP_XMAX_INVALID == 0 && m & HEAP_XMAX_LOCK_ONLY == 0 {
            RowState::Superseded
        } else {
            RowState::Live
        }
    }
}

/// The state of a row version as far as its header tells (hint bits are not
/// always set: a row shown `live` may have been deleted by a transaction whose
/// commit the backup's pages do not record yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowState {
    /// No valid `xmax`: the current version at backup time.
    Live,
    /// Deleted or replaced by transaction `xmax` (an older version).
    Superseded,
    /// Inserted by a transaction that aborted.
    Aborted,
}

/// Parses one heap page of `block_size` bytes and returns its tuples. A new
/// (all-zero) page has none. Errors name the offset in the page.
pub fn heap_page_tuples(page: &[u8], block_size: usize) -> Result<Vec<HeapTuple<'_>>, ParseError> {
    let err = |m: String, at: usize| ParseError::new("heap page", m).at_position(at);
    if page.len() != block_size || !(1024..=32768).contains(&block_size) {
        return Err(err(format!("{} bytes, expected a page of {block_size}", page.len()), 0));
    }
    let u16_at = |o: usize| le_u16(page, o).unwrap_or(0);
    let lower = usize::from(u16_at(12));
    let upper = usize::from(u16_at(14));
    let special = usize::from(u16_at(16));
    let size_version = u16_at(18);
    if upper == 0 {
        // PageIsNew: an initialised-later page; must be all zero to be trusted.
        return if page.iter().all(|b| *b == 0) {
            Ok(Vec::new())
        } else {
            Err(err("pd_upper is 0 but the page is not all zero".into(), 14))
        };
    }
    if usize::from(size_version & 0xFF00) != block_size || size_version & 0x00FF != 4 {
        return Err(err(
            format!("pd_pagesize_version {size_version:#06x} is not a version-4 page of {block_size}"),
            18,
        ));
    }
    if lower < PAGE_HEADER_SIZE || lower > upper || upper > special || special > block_size {
        return Err(err(
            format!("inconsistent pd_lower {lower}, pd_upper {upper}, pd_special {special}"),
            12,
        ));
    }
    if special != block_size {
        return Err(err(format!("pd_special {special}: not a heap page"), 16));
    }
    let n = (lower - PAGE_HEADER_SIZE) / 4;
    let mut out = Vec::new();
    for i in 0..n {
        let at = PAGE_HEADER_SIZE + i * 4;
        let lp = le_u32(page, at).unwrap_or(0);
        let off = (lp & 0x7FFF) as usize;
        let flags = (lp >> 15) & 3;
        let len = (lp >> 17) as usize;
        if flags != 1 {
            continue; // unused, redirect or dead
        }
        if off < upper || len < HEAP_TUPLE_HEADER_SIZE || off.checked_add(len).is_none_or(|e| e > special) {
            return Err(err(
                format!("line pointer {} points outside the tuple area ({off}, {len})", i + 1),
                at,
            ));
        }
        let Some(t) = page.get(off..off + len) else {
            return Err(err(format!("line pointer {} out of the page", i + 1), at));
        };
        let infomask2 = le_u16(t, 18).unwrap_or(0);
        let infomask = le_u16(t, 20).unwrap_or(0);
        let hoff = usize::from(t.get(22).copied().unwrap_or(0));
        let natts = infomask2 & HEAP_NATTS_MASK;
        let nulls = if infomask & HEAP_HASNULL != 0 {
            let nb = usize::from(natts).div_ceil(8);
            let Some(b) = t.get(HEAP_TUPLE_HEADER_SIZE..HEAP_TUPLE_HEADER_SIZE + nb) else {
                return Err(err(format!("tuple {} too short for its null bitmap", i + 1), off));
            };
            if HEAP_TUPLE_HEADER_SIZE + nb > hoff {
                return Err(err(format!("tuple {}: t_hoff {hoff} inside the null bitmap", i + 1), off));
            }
            Some(b)
        } else {
            None
        };
        if hoff < HEAP_TUPLE_HEADER_SIZE || hoff > len {
            return Err(err(format!("tuple {}: t_hoff {hoff} out of range", i + 1), off));
        }
        out.push(HeapTuple {
            offset: u16::try_from(i + 1).unwrap_or(u16::MAX),
            xmin: le_u32(t, 0).unwrap_or(0),
            xmax: le_u32(t, 4).unwrap_or(0),
            infomask,
            natts,
            nulls,
            data: t.get(hoff..).unwrap_or(&[]),
        });
    }
    Ok(out)
}

/// The fixed-width head of a `pg_class` row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PgClassRow {
    /// `oid`.
    pub oid: u32,
    /// `relname`.
    pub relname: String,
    /// `relnamespace`.
    pub relnamespace: u32,
    /// `relfilenode` (0 for mapped catalogs and relations without storage).
    pub relfilenode: u32,
    /// `reltablespace` (0: the database's default).
    pub reltablespace: u32,
    /// `relpersistence` (`p`, `u`, `t`).
    pub relpersistence: char,
    /// `relkind` (`r` table, `i` index, `t` TOAST, `m` matview, `p` partitioned, ...).
    pub relkind: char,
}

/// Offsets of `relpersistence` and `relkind` in a `pg_class` row (18 added
/// `relallfrozen` before `reltoastrelid`).
fn pg_class_tail(major: PgMajor) -> (usize, usize, u16) {
    if major >= PgMajor::V18 { (118, 119, 18) } else { (114, 115, 17) }
}

/// Reads the head of a `pg_class` tuple (attributes 1 to 9, `relpersistence`
/// and `relkind`; all fixed-width and NOT NULL, so at fixed offsets).
pub fn parse_pg_class(t: &HeapTuple<'_>, major: PgMajor) -> Result<PgClassRow, ParseError> {
    let (pers_at, kind_at, kind_attnum) = pg_class_tail(major);
    let err = |m: &str| ParseError::new("pg_class tuple", m.to_string()).at_position(usize::from(t.offset));
    if (1..=kind_attnum).any(|a| !t.has_attr(a)) {
        return Err(err("a NOT NULL column is missing or null: not a pg_class row"));
    }
    let d = t.data;
    let name = d.get(4..4 + NAMEDATALEN).ok_or_else(|| err("tuple too short"))?;
    Ok(PgClassRow {
        oid: le_u32(d, 0).ok_or_else(|| err("tuple too short"))?,
        relname: c_name(name)?,
        relnamespace: le_u32(d, 68).ok_or_else(|| err("tuple too short"))?,
        relfilenode: le_u32(d, 88).ok_or_else(|| err("tuple too short"))?,
        reltablespace: le_u32(d, 92).ok_or_else(|| err("tuple too short"))?,
        relpersistence: char::from(*d.get(pers_at).ok_or_else(|| err("tuple too short"))?),
        relkind: char::from(*d.get(kind_at).ok_or_else(|| err("tuple too short"))?),
    })
}

/// Reads `(oid, nspname)` from a `pg_namespace` tuple.
pub fn parse_pg_namespace(t: &HeapTuple<'_>) -> Result<(u32, String), ParseError> {
    let err =
        |m: &str| ParseError::new("pg_namespace tuple", m.to_string()).at_position(usize::from(t.offset));
    if !t.has_attr(1) || !t.has_attr(2) {
        return Err(err("oid or nspname missing"));
    }
    let oid = le_u32(t.data, 0).ok_or_else(|| err("tuple too short"))?;
    let name = t.data.get(4..4 + NAMEDATALEN).ok_or_else(|| err("tuple too short"))?;
    Ok((oid, c_name(name)?))
}

/// A NUL-terminated `name` (valid UTF-8 required; the catalog's names are in
/// the server encoding, UTF-8 in practice).
fn c_name(b: &[u8]) -> Result<String, ParseError> {
    let end = b.iter().position(|c| *c == 0).ok_or_else(|| ParseError::new("name", "no NUL terminator"))?;
    let s = b.get(..end).unwrap_or(&[]);
    std::str::from_utf8(s).map(str::to_string).map_err(|_| ParseError::new("name", "not valid UTF-8"))
}

/// A relation name as given on a command line: `table`, `schema.table`,
/// with PostgreSQL's identifier rules (unquoted parts are folded to lower
/// case; `"..."` keeps case, dots and spaces, `""` is a quote).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QualifiedName {
    /// The schema, when given.
    pub schema: Option<String>,
    /// The relation name.
    pub name: String,
}

/// Parses `[schema.]name` (see [`QualifiedName`]).
pub fn parse_qualified_name(text: &str) -> Result<QualifiedName, ParseError> {
    let err = |m: String, at: usize| ParseError::new("table name", m).at_position(at);
    let mut parts: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut chars = text.char_indices().peekable();
    let mut started = false;
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                if started && !cur.is_empty() {
                    return Err(err(format!("unexpected quote in {text:?}"), i));
                }
                started = true;
                loop {
                    match chars.next() {
                        Some((_, '"')) => {
                            if chars.peek().is_some_and(|(_, c)| *c == '"') {
                                chars.next();
                                cur.push('"');
                            } else {
                                break;
                            }
                        }
                        Some((_, c)) => cur.push(c),
                        None => return Err(err(format!("unterminated quoted identifier in {text:?}"), i)),
                    }
                }
                if chars.peek().is_some_and(|(_, c)| *c != '.') {
                    return Err(err(format!("text after a quoted identifier in {text:?}"), i));
                }
            }
            '.' => {
                if cur.is_empty() {
                    return Err(err(format!("empty name part in {text:?}"), i));
                }
                parts.push(std::mem::take(&mut cur));
                started = false;
            }
            c if c.is_whitespace() || c == '\0' => {
                return Err(err(format!("{c:?} in an unquoted name (quote it)"), i));
            }
            c => {
                started = true;
                cur.extend(c.to_lowercase());
            }
        }
    }
    if cur.is_empty() {
        return Err(err(format!("empty name part in {text:?}"), text.len()));
    }
    parts.push(cur);
    for p in &parts {
        if p.len() >= NAMEDATALEN {
            return Err(err(format!("{p:?} is longer than {} bytes", NAMEDATALEN - 1), 0));
        }
    }
    match parts.len() {
        1 => Ok(QualifiedName { schema: None, name: parts.pop().unwrap_or_default() }),
        2 => {
            let name = parts.pop().unwrap_or_default();
            Ok(QualifiedName { schema: parts.pop(), name })
        }
        _ => Err(err(format!("{text:?}: give table or schema.table"), 0)),
    }
}

/// A relation of the backup's catalog with the name asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CatalogMatch {
    /// Database OID (the directory `base/<db>`).
    pub db: u32,
    /// The schema's name (`None` when `pg_namespace` could not be read).
    pub schema: Option<String>,
    /// `relnamespace`.
    pub namespace_oid: u32,
    /// `relname`.
    pub name: String,
    /// `oid` (what Heap `TRUNCATE` records name).
    pub oid: u32,
    /// The relfilenode (resolved through the map for mapped catalogs; 0 for
    /// relations without storage, such as partitioned tables and views).
    pub relfilenode: u32,
    /// `reltablespace` (0: the database's default).
    pub tablespace: u32,
    /// `relkind`.
    pub kind: char,
    /// `relpersistence`.
    pub persistence: char,
    /// `xmin` of this row version.
    pub xmin: u32,
    /// `xmax` of this row version (0: none).
    pub xmax: u32,
    /// What the row's hint bits say.
    pub state: RowState,
}

/// The answer of [`lookup_table`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct CatalogLookup {
    /// Matches, one per relation file (the current row version when there is
    /// one, else the newest), ordered by database, OID, relfilenode.
    pub matches: Vec<CatalogMatch>,
    /// Databases whose catalog was read.
    pub databases: Vec<u32>,
    /// Pages or files that could not be read (each names the file and offset).
    pub notes: Vec<String>,
}

impl CatalogLookup {
    /// The distinct relfilenodes of the matches (storage only).
    pub fn relfilenodes(&self) -> BTreeSet<u32> {
        self.matches.iter().map(|m| m.relfilenode).filter(|r| *r != 0).collect()
    }
}

/// Database directories and their files, read from a plain or tar backup.
struct Files {
    /// db OID -> directory prefix (`base/5`, `pg_tblspc/16400/PG_15_202209061/16401`).
    dirs: BTreeMap<u32, String>,
}

/// Splits `base/<db>/<file>` or `pg_tblspc/<spc>/<version dir>/<db>/<file>`.
fn db_file(path: &str) -> Option<(u32, String, &str)> {
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        ["base", db, file] => Some((db.parse().ok()?, format!("base/{db}"), file)),
        ["pg_tblspc", spc, ver, db, file] if ver.starts_with("PG_") => {
            Some((db.parse().ok()?, format!("pg_tblspc/{spc}/{ver}/{db}"), file))
        }
        _ => None,
    }
}

/// Reads the files `want` selects (path relative to the data directory) into memory.
fn read_files(
    backup: &Backup,
    limit: u64,
    want: &dyn Fn(&str) -> bool,
) -> Result<BTreeMap<String, Vec<u8>>, Error> {
    let mut out = BTreeMap::new();
    backup.visit(&mut |e, r: &mut dyn Read| {
        let Some(p) = e.path.as_str() else { return Ok(Flow::Continue) };
        if e.kind == super::source::EntryKind::File && !e.escapes && want(p) {
            let mut buf = Vec::new();
            r.take(limit)
                .read_to_end(&mut buf)
                .map_err(|err| Error::Io(crate::error::IoError::new(backup.path.join(p), err)))?;
            out.insert(p.to_string(), buf);
        }
        Ok(Flow::Continue)
    })?;
    Ok(out)
}

/// The pages of relation file `dir/<filenode>` (with its `.N` segments, in order).
fn relation_pages(
    files: &BTreeMap<String, Vec<u8>>,
    dir: &str,
    filenode: u32,
    block_size: usize,
    notes: &mut Vec<String>,
) -> Vec<(String, usize, Vec<u8>)> {
    let mut segs: Vec<(u32, &String, &Vec<u8>)> = files
        .iter()
        .filter_map(|(p, b)| {
            let rest = p.strip_prefix(dir)?.strip_prefix('/')?;
            let (node, seg) = match rest.split_once('.') {
                Some((n, s)) => (n, s.parse::<u32>().ok()?),
                None => (rest, 0),
            };
            (node.parse::<u32>().ok()? == filenode).then_some((seg, p, b))
        })
        .collect();
    segs.sort_by_key(|(s, _, _)| *s);
    let mut pages = Vec::new();
    for (_, p, b) in segs {
        let whole = b.len() / block_size * block_size;
        if whole != b.len() {
            notes.push(format!("{p}: {} bytes past the last whole page ignored", b.len() - whole));
        }
        for (i, chunk) in b.get(..whole).unwrap_or(&[]).chunks_exact(block_size).enumerate() {
            pages.push((p.clone(), i, chunk.to_vec()));
        }
    }
    pages
}

/// Finds relations named `name` (optionally in `schema`, optionally only in
/// database `db`) in a plain or tar base backup's catalog, every database
/// searched. A relation created after the backup is not there (use a live
/// server, or the relfilenode from the server's log or `pg_class`).
pub fn lookup_table(backup: &Backup, name: &QualifiedName, db: Option<u32>) -> Result<CatalogLookup, Error> {
    if !matches!(backup.format, BackupFormat::Plain | BackupFormat::Tar) {
        return Err(Error::Invalid(format!(
            "{}: the catalog can only be read from a plain or tar backup (this is a {:?})",
            backup.path.display(),
            backup.format
        )));
    }
    let major = backup.major().ok_or_else(|| {
        Error::Invalid(format!("{}: cannot tell the PostgreSQL version of the backup", backup.path.display()))
    })?;
    let block_size = backup.control.as_ref().map(|c| c.block_size as usize).unwrap_or(8192);
    let mut out = CatalogLookup::default();
    let wanted_db = |d: u32| db.is_none_or(|x| x == d);

    // Pass 1: the relation maps.
    let maps = read_files(backup, 4096, &|p| {
        db_file(p).is_some_and(|(d, _, f)| f == "pg_filenode.map" && wanted_db(d))
    })?;
    let mut dbs = Files { dirs: BTreeMap::new() };
    let mut class_nodes: BTreeMap<u32, u32> = BTreeMap::new();
    for (path, bytes) in &maps {
        let Some((d, dir, _)) = db_file(path) else { continue };
        match parse_relmap(bytes, major) {
            Ok(m) => match m.iter().find(|m| m.oid == PG_CLASS_OID) {
                Some(c) => {
                    dbs.dirs.insert(d, dir);
                    class_nodes.insert(d, c.relfilenode);
                }
                None => out.notes.push(format!("{path}: no mapping for pg_class")),
            },
            Err(e) => out.notes.push(format!("{path}: {e}")),
        }
    }
    if dbs.dirs.is_empty() {
        return Err(Error::Invalid(format!(
            "{}: no readable pg_filenode.map in any database directory{}",
            backup.path.display(),
            db.map(|d| format!(" (database {d})")).unwrap_or_default()
        )));
    }

    // Pass 2: pg_class of every database.
    let classes = read_files(backup, u64::MAX, &|p| {
        db_file(p).is_some_and(|(d, _, f)| {
            let node = f.split('.').next().and_then(|n| n.parse::<u32>().ok());
            class_nodes.get(&d).is_some_and(|c| Some(*c) == node)
        })
    })?;
    let mut rows: BTreeMap<u32, Vec<(PgClassRow, u32, u32, RowState)>> = BTreeMap::new();
    let mut nsp_nodes: BTreeMap<u32, BTreeSet<u32>> = BTreeMap::new();
    for (d, dir) in &dbs.dirs {
        let Some(node) = class_nodes.get(d) else { continue };
        let pages = relation_pages(&classes, dir, *node, block_size, &mut out.notes);
        if pages.is_empty() {
            out.notes.push(format!("{dir}/{node}: pg_class not found in the backup"));
            continue;
        }
        out.databases.push(*d);
        for (file, blk, page) in &pages {
            let tuples = match heap_page_tuples(page, block_size) {
                Ok(t) => t,
                Err(e) => {
                    out.notes.push(format!("{file} block {blk}: {e}"));
                    continue;
                }
            };
            for t in tuples {
                match parse_pg_class(&t, major) {
                    Ok(r) => {
                        if r.oid == PG_NAMESPACE_OID && r.relfilenode != 0 {
                            nsp_nodes.entry(*d).or_default().insert(r.relfilenode);
                        }
                        if r.relname == name.name {
                            rows.entry(*d).or_default().push((r, t.xmin, t.xmax, t.state()));
                        }
                    }
                    Err(e) => out.notes.push(format!("{file} block {blk}: {e}")),
                }
            }
        }
    }

    // Pass 3: pg_namespace, for schema names.
    let nsps = read_files(backup, u64::MAX, &|p| {
        db_file(p).is_some_and(|(d, _, f)| {
            let node = f.split('.').next().and_then(|n| n.parse::<u32>().ok());
            rows.contains_key(&d) && nsp_nodes.get(&d).is_some_and(|s| node.is_some_and(|n| s.contains(&n)))
        })
    })?;
    for (d, found) in rows {
        let Some(dir) = dbs.dirs.get(&d) else { continue };
        let mut names: BTreeMap<u32, BTreeSet<String>> = BTreeMap::new();
        for node in nsp_nodes.get(&d).into_iter().flatten() {
            for (file, blk, page) in relation_pages(&nsps, dir, *node, block_size, &mut out.notes) {
                match heap_page_tuples(&page, block_size) {
                    Ok(ts) => {
                        for t in ts {
                            if t.state() == RowState::Aborted {
                                continue;
                            }
                            match parse_pg_namespace(&t) {
                                Ok((oid, n)) => {
                                    names.entry(oid).or_default().insert(n);
                                }
                                Err(e) => out.notes.push(format!("{file} block {blk}: {e}")),
                            }
                        }
                    }
                    Err(e) => out.notes.push(format!("{file} block {blk}: {e}")),
                }
            }
        }
        let map = maps.get(&format!("{dir}/pg_filenode.map")).and_then(|b| parse_relmap(b, major).ok());
        for (r, xmin, xmax, state) in found {
            let schemas = names.get(&r.relnamespace);
            let schema = schemas.and_then(|s| {
                name.schema
                    .as_ref()
                    .filter(|want| s.contains(*want))
                    .cloned()
                    .or_else(|| s.iter().next().cloned())
            });
            if let Some(want) = &name.schema {
                if !schemas.is_some_and(|s| s.contains(want)) {
                    continue;
                }
            }
            let relfilenode = if r.relfilenode == 0 {
                map.as_ref()
                    .and_then(|m| m.iter().find(|m| m.oid == r.oid))
                    .map(|m| m.relfilenode)
                    .unwrap_or(0)
            } else {
                r.relfilenode
            };
            out.matches.push(CatalogMatch {
                db: d,
                schema,
                namespace_oid: r.relnamespace,
                name: r.relname,
                oid: r.oid,
                relfilenode,
                tablespace: r.reltablespace,
                kind: r.relkind,
                persistence: r.relpersistence,
                xmin,
                xmax,
                state,
            });
        }
    }
    // One entry per relation file: the current version when there is one (a
    // row updated by its own creating transaction leaves a superseded copy
    // with the same relfilenode).
    let rank = |s: RowState| match s {
        RowState::Live => 0,
        RowState::Superseded => 1,
        RowState::Aborted => 2,
    };
    out.matches.sort_by_key(|m| (m.db, m.oid, m.relfilenode, rank(m.state), std::cmp::Reverse(m.xmin)));
    out.matches.dedup_by_key(|m| (m.db, m.oid, m.relfilenode));
    Ok(out)
}

fn le_u16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at.checked_add(2)?)?.try_into().ok()?))
}

fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn relmap(major: PgMajor, maps: &[(u32, u32)]) -> Vec<u8> {
        let (slots, size) = if major >= PgMajor::V16 { (64, 524) } else { (62, 512) };
        let mut b = vec![0u8; size];
        b[0..4].copy_from_slice(&RELMAP_MAGIC.to_le_bytes());
        b[4..8].copy_from_slice(&(maps.len() as u32).to_le_bytes());
        for (i, (o, f)) in maps.iter().enumerate() {
            b[8 + i * 8..12 + i * 8].copy_from_slice(&o.to_le_bytes());
            b[12 + i * 8..16 + i * 8].copy_from_slice(&f.to_le_bytes());
        }
        let crc_at = 8 + slots * 8;
        let crc = crc32c::crc32c(&b[..crc_at]);
        b[crc_at..crc_at + 4].copy_from_slice(&crc.to_le_bytes());
        b
    }

    #[test]
    fn relmap_layouts_per_major() {
        for major in [PgMajor::V13, PgMajor::V15, PgMajor::V16, PgMajor::V18] {
            let b = relmap(major, &[(1259, 1259), (1249, 16500)]);
            let m = parse_relmap(&b, major).unwrap();
            assert_eq!(m[1], RelMapping { oid: 1249, relfilenode: 16500 });
            let mut bad = b.clone();
            bad[12] ^= 1;
            assert!(parse_relmap(&bad, major).unwrap_err().message.contains("CRC"));
        }
        // A 15 map is not a 16 map.
        let b = relmap(PgMajor::V15, &[(1259, 1259)]);
        assert!(parse_relmap(&b, PgMajor::V16).is_err());
    }

    /// A heap page with the given tuples (header + data).
    fn page(tuples: &[(u32, u32, u16, u16, Vec<u8>)]) -> Vec<u8> {
        let bs = 8192usize;
        let mut p = vec![0u8; bs];
        let mut upper = bs;
        let n = tuples.len();
        for (i, (xmin, xmax, infomask, natts, data)) in tuples.iter().enumerate() {
            let hoff = 24usize;
            let len = hoff + data.len();
            upper = (upper - len) & !7;
            let t = &mut p[upper..upper + len];
            t[0..4].copy_from_slice(&xmin.to_le_bytes());
            t[4..8].copy_from_slice(&xmax.to_le_bytes());
            t[18..20].copy_from_slice(&natts.to_le_bytes());
            t[20..22].copy_from_slice(&infomask.to_le_bytes());
            t[22] = hoff as u8;
            t[hoff..].copy_from_slice(data);
            let lp = (upper as u32) | (1 << 15) | ((len as u32) << 17);
            p[24 + i * 4..28 + i * 4].copy_from_slice(&lp.to_le_bytes());
        }
        p[12..14].copy_from_slice(&((24 + n * 4) as u16).to_le_bytes());
        p[14..16].copy_from_slice(&(upper as u16).to_le_bytes());
        p[16..18].copy_from_slice(&(bs as u16).to_le_bytes());
        p[18..20].copy_from_slice(&(0x2000u16 | 4).to_le_bytes());
        p
    }

    fn class_row(major: PgMajor, oid: u32, name: &str, nsp: u32, node: u32, kind: u8) -> Vec<u8> {
        let mut d = vec![0u8; 140];
        d[0..4].copy_from_slice(&oid.to_le_bytes());
        d[4..4 + name.len()].copy_from_slice(name.as_bytes());
        d[68..72].copy_from_slice(&nsp.to_le_bytes());
        d[88..92].copy_from_slice(&node.to_le_bytes());
        let (p, k, _) = pg_class_tail(major);
        d[p] = b'p';
        d[k] = kind;
        d
    }

    #[test]
    fn pg_class_rows_per_major() {
        for major in [PgMajor::V13, PgMajor::V17, PgMajor::V18] {
            let natts = 33;
            let p = page(&[
                (740, 0, HEAP_XMAX_INVALID, natts, class_row(major, 16384, "victim", 2200, 16384, b'r')),
                (741, 750, 0, natts, class_row(major, 16390, "t", 2200, 16399, b'r')),
            ]);
            let ts = heap_page_tuples(&p, 8192).unwrap();
            assert_eq!(ts.len(), 2);
            let r = parse_pg_class(&ts[0], major).unwrap();
            assert_eq!((r.oid, r.relname.as_str(), r.relfilenode, r.relkind), (16384, "victim", 16384, 'r'));
            assert_eq!(ts[0].state(), RowState::Live);
            assert_eq!(ts[1].state(), RowState::Superseded);
            // Too few attributes: not a pg_class row.
            let short = page(&[(740, 0, 0, 5, class_row(major, 1, "x", 1, 1, b'r'))]);
            assert!(parse_pg_class(&heap_page_tuples(&short, 8192).unwrap()[0], major).is_err());
        }
    }

    #[test]
    fn broken_pages_are_errors_not_panics() {
        assert!(heap_page_tuples(&[0u8; 8192], 8192).unwrap().is_empty());
        let good = page(&[(740, 0, 0, 33, class_row(PgMajor::V15, 1, "x", 1, 1, b'r'))]);
        for at in [12usize, 14, 16, 18, 24, 26] {
            let mut p = good.clone();
            p[at] ^= 0xFF;
            p[at + 1] ^= 0x7F;
            let _ = heap_page_tuples(&p, 8192);
        }
        let mut p = good.clone();
        p[14] = 0;
        p[15] = 0;
        assert!(heap_page_tuples(&p, 8192).is_err());
        assert!(heap_page_tuples(&good[..100], 8192).is_err());
    }

    #[test]
    fn qualified_names_follow_identifier_rules() {
        let q = |s: &str| parse_qualified_name(s).map(|q| (q.schema, q.name));
        assert_eq!(q("Victim").unwrap(), (None, "victim".into()));
        assert_eq!(q("app.Orders").unwrap(), (Some("app".into()), "orders".into()));
        assert_eq!(q("\"My.Schema\".\"T \"\"x\"\"\"").unwrap(), (Some("My.Schema".into()), "T \"x\"".into()));
        for bad in ["", "a.", ".a", "a.b.c", "\"abc", "a b", "\"a\"b", &"x".repeat(64)] {
            assert!(parse_qualified_name(bad).is_err(), "{bad:?}");
        }
    }
}
