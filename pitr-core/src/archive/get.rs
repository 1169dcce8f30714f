//! The `restore_command` helper: `pitr archive get ARCHIVE %f %p`.
//!
//! PostgreSQL runs `restore_command` once per WAL segment and for every history
//! file it probes (most of which do not exist), so this must be fast and must
//! tell "absent" apart from "broken":
//!
//! * the names a file can have are probed directly, in the order the
//!   inventory prefers them ([`super::Inventory`]): in the archive directory,
//!   then in the nested `TTTTTTTTXXXXXXXX/` directory, each plain then
//!   `.lz4`, `.zst`, `.gz`, `.xz`, `.bz2`; pgBackRest-named copies
//!   (`NAME-<sha1>[.ext]`) are looked for by listing only that one nested
//!   directory; a pgBackRest stanza directory (with `archive.info`) is
//!   searched in its archive ids, newest first;
//! * the copy is decompressed into a temporary file next to `%p`, fsynced and
//!   renamed (`fsutil::atomic_write_from`); a segment must start with a long
//!   page header whose page address is the segment's start and must be exactly
//!   the segment size that header states, otherwise nothing is written and the
//!   next copy (if any) is tried;
//! * [`GetError::NotFound`] only when no copy exists.

use super::inventory::PROBE_ORDER;
use super::layout::{self, DirKind};
use crate::error::IoError;
use crate::fsutil;
use crate::lsn::WalSegSize;
use crate::walfile::{SegmentName, WalFileKind, WalFileName};
use crate::{compress, error::IoResultExt};
use std::fs;
use std::io::{self, Read};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

/// Why [`get`] did not restore a file.
#[derive(Debug, thiserror::Error)]
pub enum GetError {
    /// No copy of the file is in the archive (the only case PostgreSQL should
    /// take as "not there").
    #[error("{name} is not in {}", archive.display())]
    NotFound {
        /// The requested name.
        name: String,
        /// The archive.
        archive: PathBuf,
    },
    /// The requested name is not a WAL segment, history, backup history or
    /// partial file name.
    #[error("{0:?} is not a WAL file name")]
    BadName(String),
    /// Copies exist but none could be restored (damaged, wrong size, I/O).
    #[error("{0}")]
    Failed(String),
    /// The archive cannot be read, or `%p` cannot be written.
    #[error(transparent)]
    Io(#[from] IoError),
}

/// A restored file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The archive file it came from.
    pub source: PathBuf,
    /// Bytes written to the destination.
    pub bytes: u64,
}

fn is_file(p: &Path) -> bool {
    fs::metadata(p).is_ok_and(|m| m.is_file())
}

/// Copies of `plain` in `dir` with pgBackRest names (`NAME-<sha1>[.ext]`), in
/// preference order. Lists `dir` (one nested directory, never the archive root).
fn hashed_copies(dir: &Path, plain: &str) -> Vec<PathBuf> {
    let Ok(rd) = fs::read_dir(dir) else { return Vec::new() };
    let prefix = format!("{plain}-");
    let mut found: Vec<(u8, PathBuf)> = rd
        .filter_map(Result::ok)
        .filter_map(|e| {
            let n = e.file_name();
            let n = n.to_str()?;
            if !n.starts_with(&prefix) {
                return None;
            }
            let c = WalFileName::classify(n);
            (c.sha1.is_some() && c.plain_name().as_deref() == Some(plain))
                .then(|| (super::inventory::compression_rank(c.compression), e.path()))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, p)| p).collect()
}

/// Every copy of `name` in the archive, in the order [`get`] tries them.
/// Probes names directly; lists only a nested directory (for pgBackRest
/// names) and, for a pgBackRest stanza, the stanza directory.
pub fn find_copies(archive: &Path, name: &str) -> Result<Vec<PathBuf>, GetError> {
    let mut out = Vec::new();
    visit_copies(archive, name, |p| {
        out.push(p.to_path_buf());
        ControlFlow::Continue(())
    })?;
    Ok(out)
}

/// Calls `f` with each copy of `name` in [`find_copies`] order, lazily: the
/// probing stops as soon as `f` breaks (so a direct hit costs a few `stat`s).
fn visit_copies(
    archive: &Path,
    name: &str,
    mut f: impl FnMut(&Path) -> ControlFlow<()>,
) -> Result<(), GetError> {
    let wf = WalFileName::classify(name);
    let plain = match (&wf.kind, wf.compression, &wf.sha1) {
        (WalFileKind::Unknown | WalFileKind::ArchiveStatus { .. }, _, _)
        | (_, Some(_), _)
        | (_, _, Some(_)) => {
            return Err(GetError::BadName(name.to_string()));
        }
        _ => name,
    };
    let nested = layout::nested_dir(&wf);
    let mut visit_root = |root: &Path| -> ControlFlow<()> {
        let mut dirs = vec![root.to_path_buf()];
        if let Some(n) = &nested {
            dirs.push(root.join(n));
        }
        for (i, dir) in dirs.iter().enumerate() {
            for c in PROBE_ORDER {
                let p = match c {
                    None => dir.join(plain),
                    Some(c) => dir.join(format!("{plain}.{}", c.extension())),
                };
                if is_file(&p) {
                    f(&p)?;
                }
            }
            if i > 0 {
                for p in hashed_copies(dir, plain) {
                    f(&p)?;
                }
            }
        }
        ControlFlow::Continue(())
    };
    if visit_root(archive).is_break() {
        return Ok(());
    }
    if archive.join("archive.info").is_file() {
        // A pgBackRest stanza directory: its archive ids, newest first.
        let mut ids: Vec<(u32, PathBuf)> = fs::read_dir(archive)
            .at_path(archive)?
            .filter_map(Result::ok)
            .filter_map(|e| {
                let n = e.file_name();
                match layout::classify_dir(n.to_str()?) {
                    DirKind::ArchiveId(a) => Some((a.id, e.path())),
                    _ => None,
                }
            })
            .collect();
        ids.sort_by_key(|(id, _)| std::cmp::Reverse(*id));
        for (_, root) in ids {
            if visit_root(&root).is_break() {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Restores `name` (`%f`) from `archive` into `dest` (`%p`): the first copy
/// (in [`find_copies`] order) that decompresses and, for a segment, has a
/// valid first page header and exactly the segment size.
pub fn get(archive: &Path, name: &str, dest: &Path) -> Result<Fetched, GetError> {
    if !archive.is_dir() {
        return Err(GetError::Io(IoError::new(
            archive,
            io::Error::new(io::ErrorKind::NotFound, "archive directory not found"),
        )));
    }
    let segment = WalFileName::classify(name).segment();
    let mut failures = Vec::new();
    let mut fetched = None;
    visit_copies(archive, name, |src| {
        let result = compress::open(src).and_then(|r| {
            let mut r: Box<dyn Read> = match segment {
                Some(s) => Box::new(CheckedSegment::new(r, s)),
                None => r,
            };
            fsutil::atomic_write_from(dest, &mut *r)
        });
        match result {
            Ok(bytes) => {
                fetched = Some(Fetched { source: src.to_path_buf(), bytes });
                ControlFlow::Break(())
            }
            // A damaged copy or a failure to write the destination: either way
            // try the next copy; all errors are reported together.
            Err(e) => {
                failures.push(format!("{}: {}", src.display(), e.source));
                ControlFlow::Continue(())
            }
        }
    })?;
    match fetched {
        Some(f) => Ok(f),
        None if failures.is_empty() => {
            Err(GetError::NotFound { name: name.to_string(), archive: archive.to_path_buf() })
        }
        None => Err(GetError::Failed(format!("no usable copy of {name}: {}", failures.join("; ")))),
    }
}

/// Passes a segment through, checking its first page header (long header,
/// valid segment size, page address = the name's segment start) and that it is
/// exactly that segment size; an `InvalidData` error otherwise, so that the
/// atomic write is abandoned.
struct CheckedSegment<R> {
    inner: R,
    name: SegmentName,
    head: [u8; 40],
    count: u64,
    seg: Option<WalSegSize>,
}

impl<R: Read> CheckedSegment<R> {
    fn new(inner: R, name: SegmentName) -> Self {
        CheckedSegment { inner, name, head: [0; 40], count: 0, seg: None }
    }

    fn bad(&self, msg: String) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, format!("not a valid copy of {}: {msg}", self.name))
    }

    fn check_header(&mut self) -> io::Result<()> {
        let name = self.name.to_string();
        let h = crate::wal::SegmentHeader::parse(&self.head, Path::new(&name)).map_err(|e| {
            let m = e.to_string();
            self.bad(m.strip_prefix(&format!("{name}: ")).map(str::to_string).unwrap_or(m))
        })?;
        let seg = h.seg_size;
        let start = self
            .name
            .start_lsn(seg)
            .ok_or_else(|| self.bad(format!("the name is impossible for {seg} segments")))?;
        if h.pageaddr != start {
            return Err(
                self.bad(format!("its first page is at {}, not {start} (recycled or misnamed)", h.pageaddr))
            );
        }
        self.seg = Some(seg);
        Ok(())
    }
}

impl<R: Read> Read for CheckedSegment<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        if n == 0 {
            let expected = self.seg.map_or(40, WalSegSize::bytes);
            if self.count < 40 || self.count != expected {
                return Err(self.bad(format!("{} bytes instead of {expected}", self.count)));
            }
            return Ok(0);
        }
        let before = self.count;
        self.count += n as u64;
        if before < 40 {
            let take = (40 - before as usize).min(n);
            self.head[before as usize..before as usize + take].copy_from_slice(&buf[..take]);
            if self.count >= 40 {
                self.check_header()?;
            }
        }
        if let Some(seg) = self.seg {
            if self.count > seg.bytes() {
                return Err(self.bad(format!("larger than the segment size {seg}")));
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_segment(name: &str, seg: u32) -> Vec<u8> {
        // A header-only stand-in: the real-WAL tests are in tests/archive_real.rs.
        let s = SegmentName::parse(name).unwrap();
        let ws = WalSegSize::new(seg).unwrap();
        let mut v = vec![0u8; seg as usize];
        v[0..2].copy_from_slice(&0xD110u16.to_le_bytes());
        v[2..4].copy_from_slice(&2u16.to_le_bytes());
        v[4..8].copy_from_slice(&s.timeline.to_le_bytes());
        v[8..16].copy_from_slice(&s.start_lsn(ws).unwrap().0.to_le_bytes());
        v[32..36].copy_from_slice(&seg.to_le_bytes());
        v[36..40].copy_from_slice(&8192u32.to_le_bytes());
        v
    }

    #[test]
    fn probes_and_checks() {
        let d = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        let name = "000000010000000000000003";
        let data = fake_segment(name, 1 << 20);
        fs::create_dir(d.path().join("0000000100000000")).unwrap();
        fs::write(
            d.path().join("0000000100000000").join(format!("{name}.zst")),
            zstd::encode_all(&data[..], 1).unwrap(),
        )
        .unwrap();
        let dest = out.path().join("RECOVERYXLOG");
        let f = get(d.path(), name, &dest).unwrap();
        assert_eq!(f.bytes, 1 << 20);
        assert_eq!(fs::read(&dest).unwrap(), data);

        assert!(matches!(get(d.path(), "000000010000000000000004", &dest), Err(GetError::NotFound { .. })));
        assert!(matches!(get(d.path(), "00000002.history", &dest), Err(GetError::NotFound { .. })));
        assert!(matches!(get(d.path(), "nonsense", &dest), Err(GetError::BadName(_))));

        // A truncated plain copy is refused and the compressed one used instead.
        fs::write(d.path().join(name), &data[..1000]).unwrap();
        let f = get(d.path(), name, &dest).unwrap();
        assert!(f.source.to_string_lossy().ends_with(".zst"));
        // A misnamed segment (pageaddr of another) is refused.
        let other = "000000010000000000000005";
        fs::write(d.path().join(other), &data).unwrap();
        let e = get(d.path(), other, &out.path().join("x")).unwrap_err();
        assert!(matches!(e, GetError::Failed(_)), "{e}");
        assert!(!out.path().join("x").exists());
        let leftovers: Vec<_> = fs::read_dir(out.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(leftovers.len(), 1, "{leftovers:?}");
    }

    #[test]
    fn probe_order_and_pgbackrest_archive_ids() {
        let d = tempfile::tempdir().unwrap();
        let name = "000000010000000000000003";
        let sub = "0000000100000000";
        let h = "0123456789abcdef0123456789abcdef01234567";
        fs::write(d.path().join("archive.info"), "").unwrap();
        for (dir, file) in [
            ("15-2", format!("{sub}/{name}-{h}.gz")),
            ("15-2", format!("{sub}/{name}-{h}")),
            ("13-1", format!("{sub}/{name}.zst")),
            ("15-2", format!("{sub}/{name}.bz2")),
        ] {
            let p = d.path().join(dir).join(file);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, b"").unwrap();
        }
        fs::write(d.path().join("15-2/00000002.history"), b"").unwrap();
        let rel = |v: Vec<PathBuf>| -> Vec<String> {
            v.iter().map(|p| p.strip_prefix(d.path()).unwrap().to_string_lossy().into_owned()).collect()
        };
        assert_eq!(
            rel(find_copies(d.path(), name).unwrap()),
            vec![
                format!("15-2/{sub}/{name}.bz2"),
                format!("15-2/{sub}/{name}-{h}"),
                format!("15-2/{sub}/{name}-{h}.gz"),
                format!("13-1/{sub}/{name}.zst"),
            ]
        );
        assert_eq!(rel(find_copies(d.path(), "00000002.history").unwrap()), vec!["15-2/00000002.history"]);
        assert!(find_copies(d.path(), "00000003.history").unwrap().is_empty());
        assert!(matches!(find_copies(d.path(), &format!("{name}.gz")), Err(GetError::BadName(_))));
    }
}
