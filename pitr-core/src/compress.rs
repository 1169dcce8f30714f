//! Transparent decompression of archived files by extension: `.gz`, `.zst`,
//! `.lz4` (frame format), `.xz`, `.bz2`. `.br` is recognised by
//! [`crate::walfile`] but not decompressed (no well-kept streaming decoder is
//! a dependency); opening one is an error that names the file.

use crate::error::{IoError, IoResultExt};
use crate::walfile::{Compression, WalFileName};
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

/// Wraps `inner` in a decoder for `compression` (`None`: no decoding).
pub fn decoder<'a, R: Read + 'a>(
    inner: R,
    compression: Option<Compression>,
) -> io::Result<Box<dyn Read + 'a>> {
    Ok(match compression {
        None => Box::new(inner),
        Some(Compression::Gzip) => Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(inner))),
        Some(Compression::Zstd) => Box::new(zstd::stream::read::Decoder::new(inner)?),
        Some(Compression::Lz4) => Box::new(lz4_flex::frame::FrameDecoder::new(BufReader::new(inner))),
        Some(Compression::Xz) => Box::new(xz2::read::XzDecoder::new_multi_decoder(BufReader::new(inner))),
        Some(Compression::Bzip2) => Box::new(bzip2::read::MultiBzDecoder::new(BufReader::new(inner))),
        Some(Compression::Brotli) => {
            return Err(io::Error::new(io::ErrorKind::Unsupported, "brotli (.br) files are not supported"));
        }
    })
}

/// The compression of a file, from its extension (any file name, not only WAL).
pub fn compression_of(path: &Path) -> Option<Compression> {
    let name = path.file_name()?.to_str()?;
    let by_wal = WalFileName::classify(name).compression;
    by_wal.or_else(|| path.extension().and_then(|e| e.to_str()).and_then(Compression::from_extension))
}

/// Opens `path` and decodes it according to its extension.
pub fn open(path: &Path) -> Result<Box<dyn Read>, IoError> {
    let f = File::open(path).at_path(path)?;
    decoder(f, compression_of(path)).at_path(path)
}

/// Reads a whole (possibly compressed) file, refusing to grow past `limit` bytes
/// of decompressed output.
pub fn read_to_vec(path: &Path, limit: u64) -> Result<Vec<u8>, IoError> {
    let mut r = open(path)?.take(limit.saturating_add(1));
    let mut buf = Vec::new();
    r.read_to_end(&mut buf).at_path(path)?;
    if buf.len() as u64 > limit {
        return Err(IoError::new(
            path,
            io::Error::new(io::ErrorKind::InvalidData, format!("decompresses to more than {limit} bytes")),
        ));
    }
    Ok(buf)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::io::Write;

    fn compressed(data: &[u8], c: Compression) -> Vec<u8> {
        match c {
            Compression::Gzip => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            Compression::Zstd => zstd::encode_all(data, 1).unwrap(),
            Compression::Lz4 => {
                let mut e = lz4_flex::frame::FrameEncoder::new(Vec::new());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            Compression::Xz => {
                let mut e = xz2::write::XzEncoder::new(Vec::new(), 1);
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            Compression::Bzip2 => {
                let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            Compression::Brotli => unreachable!(),
        }
    }

    #[test]
    fn every_supported_compression_round_trips() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let dir = tempfile::tempdir().unwrap();
        for c in [Compression::Gzip, Compression::Zstd, Compression::Lz4, Compression::Xz, Compression::Bzip2]
        {
            let p = dir.path().join(format!("000000010000000000000001.{}", c.extension()));
            std::fs::write(&p, compressed(&data, c)).unwrap();
            assert_eq!(compression_of(&p), Some(c));
            assert_eq!(read_to_vec(&p, 1 << 20).unwrap(), data, "{c}");
            assert!(read_to_vec(&p, 1000).is_err());
        }
    }

    #[test]
    fn garbage_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        for c in [Compression::Gzip, Compression::Zstd, Compression::Lz4, Compression::Xz, Compression::Bzip2]
        {
            let p = dir.path().join(format!("x.{}", c.extension()));
            std::fs::write(&p, b"this is not compressed at all").unwrap();
            let e = read_to_vec(&p, 1 << 20).unwrap_err();
            assert!(e.to_string().contains(&format!("x.{}", c.extension())), "{e}");
        }
        let p = dir.path().join("x.br");
        std::fs::write(&p, b"x").unwrap();
        assert!(open(&p).is_err());
    }
}
