//! `backup_manifest` (PostgreSQL 13 and later): parsing, the manifest
//! checksum, and verification of a backup's files against it.
//!
//! The manifest is a JSON object whose first key must be
//! `PostgreSQL-Backup-Manifest-Version` (1 in 13 to 16, 2 in 17 and later,
//! which adds `System-Identifier`), then `Files`, `WAL-Ranges` and, as the
//! last key on the last line, `Manifest-Checksum`: the SHA-256 of every byte
//! up to and including the second-to-last newline.
//!
//! [`ManifestVerifier`] checks the files of a backup (plain or tar, fed one
//! by one with their contents as a stream) like `pg_verifybackup` does, and
//! reports problems in its words.

use crate::error::{IoError, IoResultExt};
use crate::lsn::Lsn;
use crate::walfile::TimeLineId;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Serialize, Serializer};
use sha2::Digest;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// File name of the manifest in a backup directory.
pub const MANIFEST_FILE: &str = "backup_manifest";

/// Paths `pg_verifybackup` never checks (a path matches when it equals one of
/// them or lies below it): the manifest itself, WAL (fetched separately), and
/// files `pg_basebackup -R` creates or edits.
pub const DEFAULT_IGNORED: [&str; 5] =
    [MANIFEST_FILE, "pg_wal", "postgresql.auto.conf", "recovery.signal", "standby.signal"];

/// A path inside a backup, relative to the data directory, with `/`
/// separators. Kept as bytes: a manifest's `Encoded-Path` may name a file
/// whose name is not UTF-8.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct BackupPath(Vec<u8>);

impl BackupPath {
    /// From raw bytes.
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> BackupPath {
        BackupPath(bytes.into())
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The path as text, if it is UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// The path as text, invalid UTF-8 replaced.
    pub fn to_string_lossy(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }

    /// The path as a platform path (relative).
    pub fn to_path_buf(&self) -> PathBuf {
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            PathBuf::from(std::ffi::OsStr::from_bytes(&self.0))
        }
        #[cfg(not(unix))]
        {
            PathBuf::from(self.to_string_lossy().into_owned())
        }
    }

    /// True when `self` is `prefix` or lies below it (`aa/bb` is below `aa`,
    /// `aa/bbb` is not below `aa/bb`).
    pub fn is_under(&self, prefix: &[u8]) -> bool {
        is_under(&self.0, prefix)
    }
}

fn is_under(path: &[u8], prefix: &[u8]) -> bool {
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.first() == Some(&b'/'),
        None => false,
    }
}

impl From<&str> for BackupPath {
    fn from(s: &str) -> Self {
        BackupPath(s.as_bytes().to_vec())
    }
}

impl fmt::Display for BackupPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string_lossy())
    }
}

impl fmt::Debug for BackupPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.to_string_lossy())
    }
}

impl Serialize for BackupPath {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string_lossy())
    }
}

/// A file checksum algorithm of `--manifest-checksums`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChecksumAlgorithm {
    /// CRC-32C (the default), stored as the in-memory bytes of the CRC value
    /// (little-endian on every platform pitr reads).
    Crc32c,
    /// SHA-224.
    Sha224,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl ChecksumAlgorithm {
    /// Parses an algorithm name, case-insensitively. `Ok(None)` for `NONE`.
    pub fn parse(name: &str) -> Result<Option<ChecksumAlgorithm>, UnknownAlgorithm> {
        Ok(Some(match name.to_ascii_uppercase().as_str() {
            "NONE" => return Ok(None),
            "CRC32C" => ChecksumAlgorithm::Crc32c,
            "SHA224" => ChecksumAlgorithm::Sha224,
            "SHA256" => ChecksumAlgorithm::Sha256,
            "SHA384" => ChecksumAlgorithm::Sha384,
            "SHA512" => ChecksumAlgorithm::Sha512,
            _ => return Err(UnknownAlgorithm(name.to_string())),
        }))
    }

    /// The name as the server writes it (`CRC32C`, `SHA256`, ...).
    pub const fn name(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Crc32c => "CRC32C",
            ChecksumAlgorithm::Sha224 => "SHA224",
            ChecksumAlgorithm::Sha256 => "SHA256",
            ChecksumAlgorithm::Sha384 => "SHA384",
            ChecksumAlgorithm::Sha512 => "SHA512",
        }
    }

    /// Length of the checksum in bytes.
    pub const fn digest_len(self) -> usize {
        match self {
            ChecksumAlgorithm::Crc32c => 4,
            ChecksumAlgorithm::Sha224 => 28,
            ChecksumAlgorithm::Sha256 => 32,
            ChecksumAlgorithm::Sha384 => 48,
            ChecksumAlgorithm::Sha512 => 64,
        }
    }
}

/// A checksum algorithm name pitr does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unrecognized checksum algorithm: \"{0}\"")]
pub struct UnknownAlgorithm(pub String);

impl fmt::Display for ChecksumAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for ChecksumAlgorithm {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// An incremental checksum computation.
#[derive(Debug, Clone)]
pub enum Checksummer {
    /// CRC-32C (finalised value so far).
    Crc32c(u32),
    /// SHA-224.
    Sha224(sha2::Sha224),
    /// SHA-256.
    Sha256(sha2::Sha256),
    /// SHA-384.
    Sha384(sha2::Sha384),
    /// SHA-512.
    Sha512(sha2::Sha512),
}

impl Checksummer {
    /// A fresh computation.
    pub fn new(alg: ChecksumAlgorithm) -> Checksummer {
        match alg {
            ChecksumAlgorithm::Crc32c => Checksummer::Crc32c(0),
            ChecksumAlgorithm::Sha224 => Checksummer::Sha224(sha2::Sha224::new()),
            ChecksumAlgorithm::Sha256 => Checksummer::Sha256(sha2::Sha256::new()),
            ChecksumAlgorithm::Sha384 => Checksummer::Sha384(sha2::Sha384::new()),
            ChecksumAlgorithm::Sha512 => Checksummer::Sha512(sha2::Sha512::new()),
        }
    }

    /// Feeds bytes.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Checksummer::Crc32c(c) => *c = crc32c::crc32c_append(*c, data),
            Checksummer::Sha224(h) => h.update(data),
            Checksummer::Sha256(h) => h.update(data),
            Checksummer::Sha384(h) => h.update(data),
            Checksummer::Sha512(h) => h.update(data),
        }
    }

    /// The checksum bytes, as the manifest stores them.
    pub fn finish(self) -> Vec<u8> {
        match self {
            Checksummer::Crc32c(c) => c.to_le_bytes().to_vec(),
            Checksummer::Sha224(h) => h.finalize().to_vec(),
            Checksummer::Sha256(h) => h.finalize().to_vec(),
            Checksummer::Sha384(h) => h.finalize().to_vec(),
            Checksummer::Sha512(h) => h.finalize().to_vec(),
        }
    }

    /// Checksums everything `r` yields; returns the checksum and the byte count.
    pub fn of_reader(alg: ChecksumAlgorithm, r: &mut dyn Read) -> io::Result<(Vec<u8>, u64)> {
        let mut c = Checksummer::new(alg);
        let mut buf = vec![0u8; 128 * 1024];
        let mut n = 0u64;
        loop {
            let k = match r.read(&mut buf) {
                Ok(0) => break,
                Ok(k) => k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            c.update(buf.get(..k).unwrap_or(&[]));
            n += k as u64;
        }
        Ok((c.finish(), n))
    }
}

/// A file's checksum as the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileChecksum {
    /// The algorithm.
    pub algorithm: ChecksumAlgorithm,
    /// The checksum bytes (serialized in lower-case hex).
    #[serde(serialize_with = "ser_hex")]
    pub value: Vec<u8>,
}

fn ser_hex<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&to_hex(v))
}

/// One entry of `Files`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManifestFile {
    /// `Path` (or the decoded `Encoded-Path`).
    pub path: BackupPath,
    /// `Size` in bytes.
    pub size: u64,
    /// `Last-Modified` as written (`YYYY-MM-DD HH:MM:SS GMT`); not verified.
    pub last_modified: Option<String>,
    /// `Checksum-Algorithm` and `Checksum`; `None` for `NONE`.
    pub checksum: Option<FileChecksum>,
}

/// One entry of `WAL-Ranges`: the WAL of one timeline the backup needs to
/// become consistent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct WalRange {
    /// `Timeline`.
    pub timeline: TimeLineId,
    /// `Start-LSN`.
    pub start_lsn: Lsn,
    /// `End-LSN`.
    pub end_lsn: Lsn,
}

/// A parsed `backup_manifest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Manifest {
    /// `PostgreSQL-Backup-Manifest-Version`: 1 or 2.
    pub version: u32,
    /// `System-Identifier` (version 2; serialized as a decimal string).
    #[serde(serialize_with = "ser_opt_u64_string")]
    pub system_identifier: Option<u64>,
    /// `Files`, in manifest order.
    pub files: Vec<ManifestFile>,
    /// `WAL-Ranges`, in manifest order (newest timeline first).
    pub wal_ranges: Vec<WalRange>,
    /// `Manifest-Checksum` as written.
    pub manifest_checksum: String,
    /// SHA-256 computed over the manifest, in lower-case hex.
    pub computed_checksum: String,
}

fn ser_opt_u64_string<S: Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.collect_str(v),
        None => s.serialize_none(),
    }
}

/// Why a manifest could not be used. Messages follow `pg_verifybackup`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// Not a well-formed manifest (JSON syntax, structure, field values).
    #[error("{}: could not parse backup manifest: {message}", file.display())]
    Parse {
        /// The manifest file.
        file: PathBuf,
        /// What was wrong (with the JSON line and column when known).
        message: String,
    },
    /// Two entries with the same path.
    #[error("{}: duplicate path name in backup manifest: \"{path}\"", file.display())]
    DuplicatePath {
        /// The manifest file.
        file: PathBuf,
        /// The repeated path.
        path: BackupPath,
    },
    /// An unknown `Checksum-Algorithm`.
    #[error("{}: unrecognized checksum algorithm: \"{algorithm}\"", file.display())]
    UnknownAlgorithm {
        /// The manifest file.
        file: PathBuf,
        /// The algorithm name as written.
        algorithm: String,
    },
    /// A `Checksum` that is not hex.
    #[error("{}: invalid checksum for file \"{path}\": \"{checksum}\"", file.display())]
    InvalidFileChecksum {
        /// The manifest file.
        file: PathBuf,
        /// The file whose checksum is bad.
        path: BackupPath,
        /// The value as written.
        checksum: String,
    },
    /// No `Manifest-Checksum`.
    #[error("{}: manifest has no checksum", file.display())]
    NoChecksum {
        /// The manifest file.
        file: PathBuf,
    },
    /// A `Manifest-Checksum` that is not 64 hex digits.
    #[error("{}: invalid manifest checksum: \"{value}\"", file.display())]
    InvalidChecksum {
        /// The manifest file.
        file: PathBuf,
        /// The value as written.
        value: String,
    },
    /// The manifest's contents do not match `Manifest-Checksum`.
    #[error("{}: manifest checksum mismatch (manifest says {expected}, contents hash to {computed})", file.display())]
    ChecksumMismatch {
        /// The manifest file.
        file: PathBuf,
        /// `Manifest-Checksum`.
        expected: String,
        /// SHA-256 of the contents.
        computed: String,
    },
    /// The manifest could not be read.
    #[error(transparent)]
    Io(#[from] IoError),
}

impl ManifestError {
    /// True for errors about the manifest checksum line and value (the
    /// manifest parsed, but cannot be trusted), as opposed to structure errors.
    pub fn is_checksum_error(&self) -> bool {
        matches!(
            self,
            ManifestError::NoChecksum { .. }
                | ManifestError::InvalidChecksum { .. }
                | ManifestError::ChecksumMismatch { .. }
        )
    }
}

impl Manifest {
    /// Reads and parses `path` (strict, see [`Manifest::parse`]).
    pub fn read(path: &Path) -> Result<Manifest, ManifestError> {
        let bytes = std::fs::read(path).at_path(path)?;
        Manifest::parse(&bytes, path)
    }

    /// Parses a manifest and verifies its `Manifest-Checksum`. `file` names it in errors.
    pub fn parse(bytes: &[u8], file: &Path) -> Result<Manifest, ManifestError> {
        let (m, checksum_error) = Manifest::parse_lenient(bytes, file)?;
        match checksum_error {
            Some(e) => Err(e),
            None => Ok(m),
        }
    }

    /// Parses a manifest; a wrong or missing `Manifest-Checksum` is returned
    /// beside the manifest instead of failing (so that it can still be shown).
    /// Structure errors fail.
    pub fn parse_lenient(
        bytes: &[u8],
        file: &Path,
    ) -> Result<(Manifest, Option<ManifestError>), ManifestError> {
        let side = RefCell::new(None);
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let parsed =
            TopSeed { file, side: &side }.deserialize(&mut de).and_then(|raw| de.end().map(|()| raw));
        let raw = match parsed {
            Ok(raw) => raw,
            Err(e) => {
                if let Some(err) = side.into_inner() {
                    return Err(err);
                }
                return Err(ManifestError::Parse { file: file.to_path_buf(), message: e.to_string() });
            }
        };
        let parse_err =
            |message: &str| ManifestError::Parse { file: file.to_path_buf(), message: message.into() };
        if raw.version == 2 && raw.system_identifier.is_none() {
            return Err(parse_err("manifest version 2 has no System-Identifier"));
        }

        // The checksum covers everything through the second-to-last newline.
        let computed = match checksummed_prefix(bytes) {
            Ok(prefix) => to_hex(&sha2::Sha256::digest(prefix)),
            Err(msg) => return Err(parse_err(msg)),
        };
        let manifest = Manifest {
            version: raw.version,
            system_identifier: raw.system_identifier,
            files: raw.files,
            wal_ranges: raw.wal_ranges,
            manifest_checksum: raw.checksum.clone().unwrap_or_default(),
            computed_checksum: computed.clone(),
        };
        let checksum_error = match raw.checksum {
            None => Some(ManifestError::NoChecksum { file: file.to_path_buf() }),
            Some(v) if v.len() != 64 || from_hex(&v).is_none() => {
                Some(ManifestError::InvalidChecksum { file: file.to_path_buf(), value: v })
            }
            Some(v) if !v.eq_ignore_ascii_case(&computed) => {
                Some(ManifestError::ChecksumMismatch { file: file.to_path_buf(), expected: v, computed })
            }
            Some(_) => None,
        };
        Ok((manifest, checksum_error))
    }

    /// The entry for `path`, if any.
    pub fn file(&self, path: &[u8]) -> Option<&ManifestFile> {
        self.files.iter().find(|f| f.path.as_bytes() == path)
    }

    /// Sum of the sizes of every listed file.
    pub fn total_size(&self) -> u64 {
        self.files.iter().map(|f| f.size).fold(0u64, u64::saturating_add)
    }

    /// The checksum algorithms used, each once, in order of first use.
    pub fn checksum_algorithms(&self) -> Vec<ChecksumAlgorithm> {
        let mut v = Vec::new();
        for f in &self.files {
            if let Some(c) = &f.checksum {
                if !v.contains(&c.algorithm) {
                    v.push(c.algorithm);
                }
            }
        }
        v
    }
}

/// The part of a manifest its checksum covers: through the second-to-last
/// newline. The file must end with a newline and have at least two lines.
fn checksummed_prefix(bytes: &[u8]) -> Result<&[u8], &'static str> {
    let mut newlines = bytes.iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(i, _)| i).rev();
    let (Some(last), Some(penultimate)) = (newlines.next(), newlines.next()) else {
        return Err("expected at least 2 lines");
    };
    if last + 1 != bytes.len() {
        return Err("last line not newline-terminated");
    }
    Ok(bytes.get(..=penultimate).unwrap_or(bytes))
}

/// Replaces the `Manifest-Checksum` of `bytes` (the whole last line) with a
/// freshly computed one, as the server would write it. Returns `None` when
/// `bytes` does not have at least two newline-terminated lines. Meant for
/// tools and tests that derive a manifest from another.
pub fn with_recomputed_checksum(bytes: &[u8]) -> Option<Vec<u8>> {
    let prefix = checksummed_prefix(bytes).ok()?;
    let sum = to_hex(&sha2::Sha256::digest(prefix));
    let mut out = prefix.to_vec();
    out.extend_from_slice(format!("\"Manifest-Checksum\": \"{sum}\"}}\n").as_bytes());
    Some(out)
}

pub(crate) fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

pub(crate) fn from_hex(s: &str) -> Option<Vec<u8>> {
    fn nib(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let b = s.as_bytes();
    if b.len() % 2 != 0 {
        return None;
    }
    b.chunks_exact(2).map(|p| Some(nib(p[0])? << 4 | nib(p[1])?)).collect()
}

// ---------------------------------------------------------------------------
// JSON structure (serde visitors keep the document order, so the version can
// be required to come first, and files are collected without an
// intermediate tree).

struct RawManifest {
    version: u32,
    system_identifier: Option<u64>,
    files: Vec<ManifestFile>,
    wal_ranges: Vec<WalRange>,
    checksum: Option<String>,
}

/// Carries typed errors out of serde, which only knows strings.
type Side<'a> = &'a RefCell<Option<ManifestError>>;

struct TopSeed<'a> {
    file: &'a Path,
    side: Side<'a>,
}

impl<'de> DeserializeSeed<'de> for TopSeed<'_> {
    type Value = RawManifest;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<RawManifest, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TopSeed<'_> {
    type Value = RawManifest;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a backup manifest object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawManifest, A::Error> {
        let mut raw = RawManifest {
            version: 0,
            system_identifier: None,
            files: Vec::new(),
            wal_ranges: Vec::new(),
            checksum: None,
        };
        let mut first = true;
        let mut index: HashMap<BackupPath, ()> = HashMap::new();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if raw.checksum.is_some() {
                return Err(de::Error::custom(format!(
                    "unexpected object field \"{key}\" after Manifest-Checksum"
                )));
            }
            if first {
                if key != "PostgreSQL-Backup-Manifest-Version" {
                    return Err(de::Error::custom("expected version indicator"));
                }
                first = false;
                let v: Scalar = map.next_value()?;
                raw.version = match v.as_u64() {
                    Some(v @ (1 | 2)) => v as u32,
                    Some(_) => return Err(de::Error::custom("unexpected manifest version")),
                    None => return Err(de::Error::custom("manifest version not an integer")),
                };
                continue;
            }
            match key.as_ref() {
                "System-Identifier" => {
                    let v: Scalar = map.next_value()?;
                    raw.system_identifier = Some(
                        v.as_u64()
                            .ok_or_else(|| de::Error::custom("manifest system identifier not an integer"))?,
                    );
                }
                "Files" => map.next_value_seed(FilesSeed {
                    file: self.file,
                    side: self.side,
                    out: &mut raw.files,
                    index: &mut index,
                })?,
                "WAL-Ranges" => map.next_value_seed(RangesSeed { out: &mut raw.wal_ranges })?,
                "Manifest-Checksum" => {
                    let v: Scalar = map.next_value()?;
                    raw.checksum = Some(v.into_text());
                }
                _ => return Err(de::Error::custom(format!("unrecognized top-level field \"{key}\""))),
            }
        }
        if first {
            return Err(de::Error::custom("expected version indicator"));
        }
        Ok(raw)
    }
}

/// A JSON scalar, kept as text (the server's parser sees every scalar as a
/// token, so `1` and `"1"` are the same to it).
enum Scalar {
    Num(u64),
    Text(String),
    Other(String),
}

impl Scalar {
    fn as_u64(&self) -> Option<u64> {
        match self {
            Scalar::Num(n) => Some(*n),
            Scalar::Text(t) if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) => t.parse().ok(),
            _ => None,
        }
    }
    fn into_text(self) -> String {
        match self {
            Scalar::Num(n) => n.to_string(),
            Scalar::Text(t) | Scalar::Other(t) => t,
        }
    }
}

impl<'de> de::Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or number")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar::Num(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar::Other(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar::Other(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar::Other(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar::Other("null".into()))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar::Text(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
                Ok(Scalar::Text(v))
            }
        }
        d.deserialize_any(V)
    }
}

struct FilesSeed<'a> {
    file: &'a Path,
    side: Side<'a>,
    out: &'a mut Vec<ManifestFile>,
    index: &'a mut HashMap<BackupPath, ()>,
}

impl<'de> DeserializeSeed<'de> for FilesSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for FilesSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of file objects")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(f) = seq.next_element_seed(FileSeed { file: self.file, side: self.side })? {
            if self.index.insert(f.path.clone(), ()).is_some() {
                *self.side.borrow_mut() = Some(ManifestError::DuplicatePath {
                    file: self.file.to_path_buf(),
                    path: f.path.clone(),
                });
                return Err(de::Error::custom("duplicate path name"));
            }
            self.out.push(f);
        }
        Ok(())
    }
}

struct FileSeed<'a> {
    file: &'a Path,
    side: Side<'a>,
}

impl<'de> DeserializeSeed<'de> for FileSeed<'_> {
    type Value = ManifestFile;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<ManifestFile, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FileSeed<'_> {
    type Value = ManifestFile;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a file object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ManifestFile, A::Error> {
        let (mut path, mut encoded, mut size, mut modified, mut algorithm, mut checksum) =
            (None, None, None, None, None, None);
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let v: Scalar = map.next_value()?;
            match key.as_ref() {
                "Path" => path = Some(v.into_text()),
                "Encoded-Path" => encoded = Some(v.into_text()),
                "Size" => size = Some(v),
                "Last-Modified" => modified = Some(v.into_text()),
                "Checksum-Algorithm" => algorithm = Some(v.into_text()),
                "Checksum" => checksum = Some(v.into_text()),
                _ => return Err(de::Error::custom(format!("unexpected file field \"{key}\""))),
            }
        }
        let path = match (path, encoded) {
            (None, None) => return Err(de::Error::custom("missing path name")),
            (Some(_), Some(_)) => return Err(de::Error::custom("both path name and encoded path name")),
            (Some(p), None) => BackupPath(p.into_bytes()),
            (None, Some(e)) => {
                BackupPath(from_hex(&e).ok_or_else(|| de::Error::custom("could not decode file name"))?)
            }
        };
        let size = match size {
            None => return Err(de::Error::custom("missing size")),
            Some(s) => s.as_u64().ok_or_else(|| de::Error::custom("file size is not an integer"))?,
        };
        if algorithm.is_none() && checksum.is_some() {
            return Err(de::Error::custom("checksum without algorithm"));
        }
        let algorithm = match algorithm {
            None => None,
            Some(name) => match ChecksumAlgorithm::parse(&name) {
                Ok(a) => a,
                Err(_) => {
                    *self.side.borrow_mut() = Some(ManifestError::UnknownAlgorithm {
                        file: self.file.to_path_buf(),
                        algorithm: name,
                    });
                    return Err(de::Error::custom("unrecognized checksum algorithm"));
                }
            },
        };
        let checksum = match (algorithm, checksum) {
            (None, _) => None,
            (Some(algorithm), None) => Some(FileChecksum { algorithm, value: Vec::new() }),
            (Some(algorithm), Some(text)) => match from_hex(&text) {
                Some(value) => Some(FileChecksum { algorithm, value }),
                None => {
                    *self.side.borrow_mut() = Some(ManifestError::InvalidFileChecksum {
                        file: self.file.to_path_buf(),
                        path,
                        checksum: text,
                    });
                    return Err(de::Error::custom("invalid checksum"));
                }
            },
        };
        Ok(ManifestFile { path, size, last_modified: modified, checksum })
    }
}

struct RangesSeed<'a> {
    out: &'a mut Vec<WalRange>,
}

impl<'de> DeserializeSeed<'de> for RangesSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RangesSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of WAL range objects")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(r) = seq.next_element_seed(RangeSeed)? {
            self.out.push(r);
        }
        Ok(())
    }
}

struct RangeSeed;

impl<'de> DeserializeSeed<'de> for RangeSeed {
    type Value = WalRange;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<WalRange, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RangeSeed {
    type Value = WalRange;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a WAL range object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<WalRange, A::Error> {
        let (mut tli, mut start, mut end) = (None, None, None);
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let v: Scalar = map.next_value()?;
            match key.as_ref() {
                "Timeline" => tli = Some(v),
                "Start-LSN" => start = Some(v.into_text()),
                "End-LSN" => end = Some(v.into_text()),
                _ => return Err(de::Error::custom(format!("unexpected WAL range field \"{key}\""))),
            }
        }
        let tli = tli.ok_or_else(|| de::Error::custom("missing timeline"))?;
        let start = start.ok_or_else(|| de::Error::custom("missing start LSN"))?;
        let end = end.ok_or_else(|| de::Error::custom("missing end LSN"))?;
        let timeline = tli
            .as_u64()
            .and_then(|t| u32::try_from(t).ok())
            .ok_or_else(|| de::Error::custom("timeline is not an integer"))?;
        let start_lsn = Lsn::parse(&start).map_err(|_| de::Error::custom("could not parse start LSN"))?;
        let end_lsn = Lsn::parse(&end).map_err(|_| de::Error::custom("could not parse end LSN"))?;
        Ok(WalRange { timeline, start_lsn, end_lsn })
    }
}

// ---------------------------------------------------------------------------
// Verification

/// What kind of problem a file has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileProblemKind {
    /// In the backup but not in the manifest.
    NotInManifest,
    /// In the manifest but not in the backup.
    NotInBackup,
    /// Size differs from the manifest.
    SizeMismatch,
    /// Checksum differs from the manifest.
    ChecksumMismatch,
    /// The manifest's checksum has the wrong length for its algorithm.
    ChecksumLength,
    /// Fewer or more bytes were read than the size said.
    ReadSizeMismatch,
    /// Neither a regular file nor a directory (plain backups).
    NotRegularFile,
}

/// One problem found by [`ManifestVerifier`], worded like `pg_verifybackup`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileProblem {
    /// The kind of problem.
    pub kind: FileProblemKind,
    /// The file (path in the backup, as the manifest names it).
    pub path: BackupPath,
    /// The message.
    pub message: String,
}

/// Where a checked file was found, for messages.
#[derive(Debug, Clone, Copy)]
pub enum Location<'a> {
    /// A plain backup directory.
    Disk,
    /// A member of a tar archive (`member`: its name in the archive).
    Archive {
        /// The archive's file name (`base.tar.gz`).
        archive: &'a str,
        /// The member's name inside the archive.
        member: &'a str,
    },
}

/// Checks a backup's files against a manifest, one file at a time, in any
/// order, without holding file contents in memory.
#[derive(Debug)]
pub struct ManifestVerifier<'m> {
    manifest: &'m Manifest,
    index: HashMap<&'m [u8], usize>,
    seen: Vec<bool>,
    ignore: Vec<Vec<u8>>,
    verify_checksums: bool,
    problems: Vec<FileProblem>,
    bytes_checksummed: u64,
}

impl<'m> ManifestVerifier<'m> {
    /// A verifier ignoring [`DEFAULT_IGNORED`], checking checksums.
    pub fn new(manifest: &'m Manifest) -> ManifestVerifier<'m> {
        let index = manifest.files.iter().enumerate().map(|(i, f)| (f.path.as_bytes(), i)).collect();
        ManifestVerifier {
            manifest,
            index,
            seen: vec![false; manifest.files.len()],
            ignore: DEFAULT_IGNORED.iter().map(|s| s.as_bytes().to_vec()).collect(),
            verify_checksums: true,
            problems: Vec::new(),
            bytes_checksummed: 0,
        }
    }

    /// Turns checksum verification off (sizes and presence are still checked).
    pub fn skip_checksums(&mut self) {
        self.verify_checksums = false;
    }

    /// Ignores `path` and everything below it (`pg_verifybackup -i`).
    pub fn ignore(&mut self, path: &str) {
        self.ignore.push(path.trim_end_matches('/').as_bytes().to_vec());
    }

    /// True when `path` is ignored.
    pub fn is_ignored(&self, path: &[u8]) -> bool {
        self.ignore.iter().any(|p| is_under(path, p))
    }

    /// True when a file at `path` with `size` would need its contents read
    /// (it is listed, not ignored, has the right size and a checksum to verify).
    pub fn wants_contents(&self, path: &[u8], size: u64) -> bool {
        if !self.verify_checksums || self.is_ignored(path) {
            return false;
        }
        match self.index.get(path).and_then(|&i| self.manifest.files.get(i)) {
            Some(m) => m.size == size && m.checksum.is_some(),
            None => false,
        }
    }

    /// Checks one regular file found at `path` (relative to the data
    /// directory; tablespace files as `pg_tblspc/<oid>/...`) with `size`
    /// bytes. `content` is read to the end only when its checksum must be
    /// verified. An error reading `content` is returned as is.
    pub fn check_file(
        &mut self,
        path: &[u8],
        size: u64,
        location: Location<'_>,
        content: &mut dyn Read,
    ) -> io::Result<()> {
        if self.is_ignored(path) {
            return Ok(());
        }
        let shown = String::from_utf8_lossy(path);
        let Some(&i) = self.index.get(path) else {
            let message = match location {
                Location::Disk => format!("\"{shown}\" is present on disk but not in the manifest"),
                Location::Archive { archive, member } => {
                    format!("file \"{member}\" is present in archive \"{archive}\" but not in the manifest")
                }
            };
            self.push(FileProblemKind::NotInManifest, path, message);
            return Ok(());
        };
        let Some(m) = self.manifest.files.get(i) else { return Ok(()) };
        if let Some(s) = self.seen.get_mut(i) {
            *s = true;
        }
        if m.size != size {
            let message = match location {
                Location::Disk => {
                    format!("\"{shown}\" has size {size} on disk but size {} in the manifest", m.size)
                }
                Location::Archive { archive, member } => format!(
                    "file \"{member}\" has size {size} in archive \"{archive}\" but size {} in the manifest",
                    m.size
                ),
            };
            self.push(FileProblemKind::SizeMismatch, path, message);
            return Ok(());
        }
        let Some(expected) = &m.checksum else { return Ok(()) };
        if !self.verify_checksums {
            return Ok(());
        }
        let (actual, read) = Checksummer::of_reader(expected.algorithm, content)?;
        self.bytes_checksummed += read;
        let in_archive = match location {
            Location::Disk => String::new(),
            Location::Archive { archive, .. } => format!(" in archive \"{archive}\""),
        };
        if read != m.size {
            let message = match location {
                Location::Disk => {
                    format!("file \"{shown}\" should contain {} bytes, but read {read}", m.size)
                }
                Location::Archive { .. } => {
                    format!(
                        "file \"{shown}\"{in_archive} should contain {} bytes, but {read} bytes were read",
                        m.size
                    )
                }
            };
            self.push(FileProblemKind::ReadSizeMismatch, path, message);
        } else if actual.len() != expected.value.len() {
            let message = format!(
                "file \"{shown}\"{in_archive} has checksum of length {}, but expected {}",
                expected.value.len(),
                actual.len()
            );
            self.push(FileProblemKind::ChecksumLength, path, message);
        } else if actual != expected.value {
            self.push(
                FileProblemKind::ChecksumMismatch,
                path,
                format!("checksum mismatch for file \"{shown}\"{in_archive}"),
            );
        }
        Ok(())
    }

    /// Reports something at `path` that is neither a regular file nor a
    /// directory (plain backups).
    pub fn not_regular(&mut self, path: &[u8]) {
        if self.is_ignored(path) {
            return;
        }
        let message = format!("\"{}\" is not a regular file or directory", String::from_utf8_lossy(path));
        self.push(FileProblemKind::NotRegularFile, path, message);
    }

    /// Bytes checksummed so far.
    pub fn bytes_checksummed(&self) -> u64 {
        self.bytes_checksummed
    }

    /// Ends the check: adds every listed file that was never seen, and returns
    /// all problems.
    pub fn finish(mut self) -> Vec<FileProblem> {
        for (i, f) in self.manifest.files.iter().enumerate() {
            if !self.seen.get(i).copied().unwrap_or(false) && !self.is_ignored(f.path.as_bytes()) {
                let message = format!("\"{}\" is present in the manifest but not on disk", f.path);
                self.problems.push(FileProblem {
                    kind: FileProblemKind::NotInBackup,
                    path: f.path.clone(),
                    message,
                });
            }
        }
        self.problems
    }

    fn push(&mut self, kind: FileProblemKind, path: &[u8], message: String) {
        self.problems.push(FileProblem { kind, path: BackupPath(path.to_vec()), message });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A manifest as the server writes it (v1, two files, one range).
    pub(crate) fn sample_v1() -> Vec<u8> {
        let body = "{ \"PostgreSQL-Backup-Manifest-Version\": 1,\n\
\"Files\": [\n\
{ \"Path\": \"PG_VERSION\", \"Size\": 3, \"Last-Modified\": \"2026-11-24 00:57:28 GMT\", \"Checksum-Algorithm\": \"CRC32C\", \"Checksum\": \"8a744722\" },\n\
{ \"Path\": \"global/empty\", \"Size\": 0, \"Last-Modified\": \"2026-11-24 00:57:28 GMT\", \"Checksum-Algorithm\": \"CRC32C\", \"Checksum\": \"00000000\" }\n\
],\n\
\"WAL-Ranges\": [\n\
{ \"Timeline\": 1, \"Start-LSN\": \"0/2000028\", \"End-LSN\": \"0/2000100\" }\n\
],\n\
\"Manifest-Checksum\": \"x\"}\n";
        with_recomputed_checksum(body.as_bytes()).unwrap()
    }

    fn parse(b: &[u8]) -> Result<Manifest, ManifestError> {
        Manifest::parse(b, Path::new("backup_manifest"))
    }

    fn edit(from: &str, to: &str) -> Vec<u8> {
        let s = String::from_utf8(sample_v1()).unwrap().replace(from, to);
        with_recomputed_checksum(s.as_bytes()).unwrap()
    }

    #[test]
    fn parses_server_layout() {
        let m = parse(&sample_v1()).unwrap();
        assert_eq!(m.version, 1);
        assert_eq!(m.system_identifier, None);
        assert_eq!(m.files.len(), 2);
        assert_eq!(m.files[0].path.as_str(), Some("PG_VERSION"));
        assert_eq!(m.files[0].size, 3);
        let c = m.files[0].checksum.as_ref().unwrap();
        assert_eq!((c.algorithm, to_hex(&c.value).as_str()), (ChecksumAlgorithm::Crc32c, "8a744722"));
        assert_eq!(
            m.wal_ranges,
            vec![WalRange { timeline: 1, start_lsn: Lsn(0x2000028), end_lsn: Lsn(0x2000100) }]
        );
        assert_eq!(m.manifest_checksum, m.computed_checksum);
        assert_eq!(m.total_size(), 3);
    }

    #[test]
    fn crc32c_is_stored_little_endian() {
        // The reference example: CRC-32C of "15\n" is 0x2247748A, written 8a744722.
        let (sum, n) = Checksummer::of_reader(ChecksumAlgorithm::Crc32c, &mut &b"15\n"[..]).unwrap();
        assert_eq!((to_hex(&sum), n), ("8a744722".to_string(), 3));
        let (sum, _) = Checksummer::of_reader(ChecksumAlgorithm::Sha256, &mut &b""[..]).unwrap();
        assert_eq!(to_hex(&sum), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        for a in [
            ChecksumAlgorithm::Crc32c,
            ChecksumAlgorithm::Sha224,
            ChecksumAlgorithm::Sha256,
            ChecksumAlgorithm::Sha384,
            ChecksumAlgorithm::Sha512,
        ] {
            assert_eq!(Checksummer::of_reader(a, &mut &b"abc"[..]).unwrap().0.len(), a.digest_len());
            assert_eq!(ChecksumAlgorithm::parse(&a.name().to_lowercase()), Ok(Some(a)));
        }
        assert_eq!(ChecksumAlgorithm::parse("none"), Ok(None));
        assert_eq!(ChecksumAlgorithm::parse("md5"), Err(UnknownAlgorithm("md5".into())));
    }

    #[test]
    fn version_two_needs_a_system_identifier() {
        let v2 = edit(
            "{ \"PostgreSQL-Backup-Manifest-Version\": 1,\n",
            "{ \"PostgreSQL-Backup-Manifest-Version\": 2,\n\"System-Identifier\": 7711535754351096776,\n",
        );
        let m = parse(&v2).unwrap();
        assert_eq!((m.version, m.system_identifier), (2, Some(7711535754351096776)));
        let j = serde_json::to_value(&m).unwrap();
        assert_eq!(j["system_identifier"], "7711535754351096776");

        let bad =
            edit("\"PostgreSQL-Backup-Manifest-Version\": 1", "\"PostgreSQL-Backup-Manifest-Version\": 2");
        assert!(parse(&bad).unwrap_err().to_string().contains("System-Identifier"));
    }

    #[test]
    fn structure_errors_use_the_servers_words() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "{ \"PostgreSQL-Backup-Manifest-Version\": 1,\n\"Files\"",
                "{ \"Files\": [],\n\"X\"",
                "expected version indicator",
            ),
            ("Version\": 1", "Version\": 3", "unexpected manifest version"),
            ("Version\": 1", "Version\": \"one\"", "manifest version not an integer"),
            ("\"Files\"", "\"Filez\"", "unrecognized top-level field"),
            ("\"Path\": \"PG_VERSION\", ", "", "missing path name"),
            (
                "\"Path\": \"PG_VERSION\"",
                "\"Path\": \"a\", \"Encoded-Path\": \"61\"",
                "both path name and encoded path name",
            ),
            ("\"Size\": 3, ", "", "missing size"),
            ("\"Size\": 3", "\"Size\": -3", "file size is not an integer"),
            ("\"Size\": 3", "\"Size\": 3, \"Owner\": 0", "unexpected file field"),
            (
                "\"Checksum-Algorithm\": \"CRC32C\", \"Checksum\": \"8a744722\"",
                "\"Checksum\": \"8a744722\"",
                "checksum without algorithm",
            ),
            ("\"Timeline\": 1, ", "", "missing timeline"),
            ("\"Start-LSN\": \"0/2000028\", ", "", "missing start LSN"),
            ("\"0/2000100\"", "\"0-2000100\"", "could not parse end LSN"),
            ("\"Timeline\": 1", "\"Timeline\": 1.5", "timeline is not an integer"),
            ("\"Path\": \"PG_VERSION\"", "\"Encoded-Path\": \"5G\"", "could not decode file name"),
        ];
        for (from, to, want) in cases {
            let e = parse(&edit(from, to)).unwrap_err();
            assert!(matches!(e, ManifestError::Parse { .. }), "{e}");
            let msg = e.to_string();
            assert!(
                msg.contains("could not parse backup manifest") && msg.contains(want),
                "{from} -> {to}: {msg}"
            );
        }
    }

    #[test]
    fn typed_errors() {
        let e = parse(&edit("\"Path\": \"global/empty\"", "\"Path\": \"PG_VERSION\"")).unwrap_err();
        assert_eq!(e.to_string(), "backup_manifest: duplicate path name in backup manifest: \"PG_VERSION\"");
        let e = parse(&edit("\"CRC32C\", \"Checksum\": \"8a", "\"MD5\", \"Checksum\": \"8a")).unwrap_err();
        assert!(
            matches!(e, ManifestError::UnknownAlgorithm { ref algorithm, .. } if algorithm == "MD5"),
            "{e}"
        );
        let e = parse(&edit("\"8a744722\"", "\"8a74472\"")).unwrap_err();
        assert_eq!(e.to_string(), "backup_manifest: invalid checksum for file \"PG_VERSION\": \"8a74472\"");
        let e = parse(&edit("\"8a744722\"", "\"zz744722\"")).unwrap_err();
        assert!(matches!(e, ManifestError::InvalidFileChecksum { .. }), "{e}");
    }

    #[test]
    fn encoded_paths_decode_to_bytes() {
        let m = parse(&edit("\"Path\": \"PG_VERSION\"", "\"Encoded-Path\": \"66ff6f\"")).unwrap();
        assert_eq!(m.files[0].path.as_bytes(), b"f\xffo");
        assert_eq!(m.files[0].path.as_str(), None);
        let m =
            parse(&edit("\"Path\": \"PG_VERSION\"", "\"Encoded-Path\": \"50475F56455253494F4E\"")).unwrap();
        assert_eq!(m.files[0].path.as_str(), Some("PG_VERSION"));
    }

    #[test]
    fn manifest_checksum_rules() {
        let good = sample_v1();
        // One changed byte in the body.
        let s = String::from_utf8(good.clone()).unwrap().replace("\"Size\": 3", "\"Size\": 4");
        let e = parse(s.as_bytes()).unwrap_err();
        assert!(matches!(e, ManifestError::ChecksumMismatch { .. }));
        assert!(e.to_string().contains("manifest checksum mismatch"), "{e}");
        let (m, err) = Manifest::parse_lenient(s.as_bytes(), Path::new("m")).unwrap();
        assert!(err.unwrap().is_checksum_error());
        assert_eq!(m.files[0].size, 4);

        // Upper-case hex is accepted (the server decodes hex case-insensitively).
        let up = {
            let m = parse(&good).unwrap();
            String::from_utf8(good.clone())
                .unwrap()
                .replace(&m.manifest_checksum, &m.manifest_checksum.to_uppercase())
        };
        parse(up.as_bytes()).unwrap();

        let s = String::from_utf8(good.clone()).unwrap();
        let no_nl = s.trim_end_matches('\n');
        assert!(
            parse(no_nl.as_bytes()).unwrap_err().to_string().contains("last line not newline-terminated")
        );
        let one_line = s.replace('\n', " ") + "\n";
        assert!(parse(one_line.as_bytes()).unwrap_err().to_string().contains("expected at least 2 lines"));
        let cut =
            s.rsplit_once("\"Manifest-Checksum\"").unwrap().0.trim_end_matches(",\n").to_string() + "}\n";
        let e = parse(cut.as_bytes()).unwrap_err();
        assert!(matches!(e, ManifestError::NoChecksum { .. }), "{e}");
        let short = edit("\"x\"", "\"x\"");
        let bad = String::from_utf8(short).unwrap();
        let bad = format!(
            "{}\"Manifest-Checksum\": \"abc\"}}\n",
            bad.rsplit_once("\"Manifest-Checksum\"").unwrap().0
        );
        let e = parse(bad.as_bytes()).unwrap_err();
        assert_eq!(e.to_string(), "backup_manifest: invalid manifest checksum: \"abc\"");
        // Nothing may follow the checksum.
        let after = s.replace("\"}\n", "\", \"X\": 1}\n");
        assert!(parse(after.as_bytes()).unwrap_err().to_string().contains("unexpected object field"));
        // Trailing garbage after the object.
        let trailing = format!("{s}x\n");
        assert!(matches!(parse(trailing.as_bytes()), Err(ManifestError::Parse { .. })));
    }

    #[test]
    fn verifier_reports_like_pg_verifybackup() {
        let m = parse(&sample_v1()).unwrap();
        let mut v = ManifestVerifier::new(&m);
        assert!(v.wants_contents(b"PG_VERSION", 3));
        assert!(!v.wants_contents(b"PG_VERSION", 4));
        v.check_file(b"PG_VERSION", 3, Location::Disk, &mut &b"16\n"[..]).unwrap();
        v.check_file(b"extra", 1, Location::Disk, &mut &b"x"[..]).unwrap();
        v.check_file(b"pg_wal/000000010000000000000001", 5, Location::Disk, &mut &b"x"[..]).unwrap();
        v.check_file(b"postgresql.auto.conf", 5, Location::Disk, &mut &b"x"[..]).unwrap();
        v.not_regular(b"fifo");
        let p = v.finish();
        let msgs: Vec<_> = p.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(
            msgs,
            vec![
                "checksum mismatch for file \"PG_VERSION\"",
                "\"extra\" is present on disk but not in the manifest",
                "\"fifo\" is not a regular file or directory",
                "\"global/empty\" is present in the manifest but not on disk",
            ]
        );

        let mut v = ManifestVerifier::new(&m);
        let loc = Location::Archive { archive: "base.tar.gz", member: "PG_VERSION" };
        v.check_file(b"PG_VERSION", 2, loc, &mut &b"1\n"[..]).unwrap();
        v.check_file(
            b"global/empty",
            0,
            Location::Archive { archive: "base.tar.gz", member: "global/empty" },
            &mut &b""[..],
        )
        .unwrap();
        v.check_file(b"x", 0, Location::Archive { archive: "base.tar.gz", member: "./x" }, &mut &b""[..])
            .unwrap();
        let msgs: Vec<_> = v.finish().into_iter().map(|p| p.message).collect();
        assert_eq!(
            msgs,
            vec![
                "file \"PG_VERSION\" has size 2 in archive \"base.tar.gz\" but size 3 in the manifest",
                "file \"./x\" is present in archive \"base.tar.gz\" but not in the manifest",
            ]
        );

        // A short read, a checksum of the wrong length.
        let mut v = ManifestVerifier::new(&m);
        v.check_file(b"PG_VERSION", 3, Location::Disk, &mut &b"15"[..]).unwrap();
        let p = v.finish();
        assert_eq!(p[0].message, "file \"PG_VERSION\" should contain 3 bytes, but read 2");
        let m2 = parse(&edit("\"8a744722\"", "\"8a7447\"")).unwrap();
        let mut v = ManifestVerifier::new(&m2);
        v.check_file(b"PG_VERSION", 3, Location::Disk, &mut &b"15\n"[..]).unwrap();
        assert_eq!(v.finish()[0].message, "file \"PG_VERSION\" has checksum of length 3, but expected 4");

        // All good; skip_checksums reads nothing.
        let mut v = ManifestVerifier::new(&m);
        v.check_file(b"PG_VERSION", 3, Location::Disk, &mut &b"15\n"[..]).unwrap();
        v.check_file(b"global/empty", 0, Location::Disk, &mut &b""[..]).unwrap();
        assert_eq!(v.bytes_checksummed(), 3);
        assert!(v.finish().is_empty());
        let mut v = ManifestVerifier::new(&m);
        v.skip_checksums();
        v.ignore("global/");
        assert!(v.is_ignored(b"global/empty") && !v.is_ignored(b"globalx"));
        v.check_file(b"PG_VERSION", 3, Location::Disk, &mut &b"xx\n"[..]).unwrap();
        assert!(v.finish().is_empty());
    }

    #[test]
    fn prefix_matching() {
        assert!(is_under(b"pg_wal", b"pg_wal"));
        assert!(is_under(b"pg_wal/x", b"pg_wal"));
        assert!(!is_under(b"pg_walx", b"pg_wal"));
        assert!(!is_under(b"aa/bbb", b"aa/bb"));
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = Manifest::parse_lenient(&bytes, Path::new("m"));
        }

        #[test]
        fn mutated_manifests_never_panic(pos in 0usize..600, byte in any::<u8>()) {
            let mut b = sample_v1();
            let p = pos % b.len();
            b[p] = byte;
            let _ = Manifest::parse_lenient(&b, Path::new("m"));
        }

        #[test]
        fn hex_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(from_hex(&to_hex(&bytes)), Some(bytes.clone()));
            prop_assert_eq!(from_hex(&to_hex(&bytes).to_uppercase()), Some(bytes));
        }

        #[test]
        fn crc32c_streaming_equals_one_shot(data in proptest::collection::vec(any::<u8>(), 0..3000), cut in 0usize..3000) {
            let cut = cut.min(data.len());
            let mut c = Checksummer::new(ChecksumAlgorithm::Crc32c);
            c.update(&data[..cut]);
            c.update(&data[cut..]);
            prop_assert_eq!(c.finish(), crc32c::crc32c(&data).to_le_bytes().to_vec());
        }
    }
}
