//! Where WAL comes from: segment files given one by one, directories (a
//! `pg_wal`, a data directory, an archive, including pgBackRest's
//! `<16 hex>/` sub-directories), plain or compressed (`.gz .zst .lz4 .xz .bz2`).
//! `.partial` files are read only when asked for (explicitly named, or
//! [`WalSource::include_partial`]).

use super::error::WalError;
use crate::walfile::{Compression, SegmentName, WalFileKind, WalFileName};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

/// One WAL segment file known to a [`WalSource`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Its path.
    pub path: PathBuf,
    /// The segment it holds (from its name).
    pub name: SegmentName,
    /// A `.partial` file.
    pub partial: bool,
    /// Compression, from the extension.
    pub compression: Option<Compression>,
    /// Named explicitly (not found by scanning a directory).
    pub explicit: bool,
}

/// A set of WAL segment files to read from.
#[derive(Debug, Clone, Default)]
pub struct WalSource {
    files: Vec<SourceFile>,
    what: Vec<String>,
    include_partial: bool,
}

impl WalSource {
    /// An empty source; add paths with [`WalSource::add_path`].
    pub fn new() -> WalSource {
        WalSource::default()
    }

    /// Files and directories: each path is a segment file (taken even when it
    /// is `.partial`) or a directory (scanned, see the module documentation).
    pub fn from_paths<P: AsRef<Path>>(paths: &[P]) -> Result<WalSource, WalError> {
        let mut s = WalSource::new();
        for p in paths {
            s.add_path(p.as_ref())?;
        }
        Ok(s)
    }

    /// A directory.
    pub fn dir(path: impl AsRef<Path>) -> Result<WalSource, WalError> {
        Self::from_paths(&[path.as_ref()])
    }

    /// Also take `.partial` files found in directories (they are always taken
    /// when named explicitly). Call before adding directories.
    #[must_use]
    pub fn include_partial(mut self, yes: bool) -> WalSource {
        self.include_partial = yes;
        self
    }

    /// Adds a file or a directory.
    pub fn add_path(&mut self, path: &Path) -> Result<(), WalError> {
        let meta = std::fs::metadata(path).map_err(|e| WalError::io(path, e))?;
        self.what.push(path.display().to_string());
        if meta.is_dir() {
            let dir = if path.join("pg_wal").is_dir() && path.join("PG_VERSION").is_file() {
                path.join("pg_wal")
            } else {
                path.to_path_buf()
            };
            self.scan_dir(&dir, 0)
        } else {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let c = WalFileName::classify(name);
            let (seg, partial) = match c.kind {
                WalFileKind::Segment { segment } => (segment, false),
                WalFileKind::Partial { segment } => (segment, true),
                _ => {
                    return Err(WalError::NotWal {
                        file: path.to_path_buf(),
                        reason: "the file name is not a WAL segment name".into(),
                    });
                }
            };
            self.push(SourceFile {
                path: path.to_path_buf(),
                name: seg,
                partial,
                compression: c.compression,
                explicit: true,
            });
            Ok(())
        }
    }

    fn scan_dir(&mut self, dir: &Path, depth: u32) -> Result<(), WalError> {
        let rd = std::fs::read_dir(dir).map_err(|e| WalError::io(dir, e))?;
        let mut entries: Vec<PathBuf> = Vec::new();
        for e in rd {
            let e = e.map_err(|e| WalError::io(dir, e))?;
            entries.push(e.path());
        }
        entries.sort();
        for p in entries {
            let Some(name) = p.file_name().and_then(|n| n.to_str()) else { continue };
            if p.is_dir() {
                // pgBackRest keeps segments in <16 hex digits>/ sub-directories.
                if depth == 0 && name.len() == 16 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
                    self.scan_dir(&p, depth + 1)?;
                }
                continue;
            }
            let c = WalFileName::classify(name);
            let (seg, partial) = match c.kind {
                WalFileKind::Segment { segment } => (segment, false),
                WalFileKind::Partial { segment } if self.include_partial => (segment, true),
                _ => continue,
            };
            self.push(SourceFile {
                path: p,
                name: seg,
                partial,
                compression: c.compression,
                explicit: false,
            });
        }
        Ok(())
    }

    fn push(&mut self, f: SourceFile) {
        self.files.push(f);
    }

    /// The files, as added.
    pub fn files(&self) -> &[SourceFile] {
        &self.files
    }

    /// True when no file was found.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    pub(crate) fn describe(&self) -> String {
        if self.what.is_empty() { "no paths".to_string() } else { self.what.join(", ") }
    }

    pub(crate) fn into_files(self) -> Vec<SourceFile> {
        self.files
    }
}

/// Opens a (possibly compressed) file as a byte stream.
pub(crate) fn open_stream(
    path: &Path,
    compression: Option<Compression>,
) -> Result<Box<dyn Read + Send>, WalError> {
    let f = File::open(path).map_err(|e| WalError::io(path, e))?;
    let io = |e: std::io::Error| WalError::io(path, e);
    Ok(match compression {
        None => Box::new(f),
        Some(Compression::Gzip) => {
            Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(1 << 16, f)))
        }
        Some(Compression::Zstd) => Box::new(zstd::stream::read::Decoder::new(f).map_err(io)?),
        Some(Compression::Lz4) => {
            Box::new(lz4_flex::frame::FrameDecoder::new(BufReader::with_capacity(1 << 16, f)))
        }
        Some(Compression::Xz) => {
            Box::new(xz2::read::XzDecoder::new_multi_decoder(BufReader::with_capacity(1 << 16, f)))
        }
        Some(Compression::Bzip2) => {
            Box::new(bzip2::read::MultiBzDecoder::new(BufReader::with_capacity(1 << 16, f)))
        }
        Some(Compression::Brotli) => {
            return Err(io(std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                "brotli (.br) files are not supported",
            )));
        }
    })
}

/// Reads until `buf` is full or the stream ends; returns the bytes read.
pub(crate) fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        let Some(rest) = buf.get_mut(n..) else { break };
        match r.read(rest) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
