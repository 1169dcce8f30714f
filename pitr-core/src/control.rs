//! `global/pg_control` for PostgreSQL 13 to 18.
//!
//! The file is 8192 bytes; the first 296 hold `ControlFileData` in the
//! server's native byte order and C layout, followed by its CRC-32C. Three
//! layouts exist:
//!
//! * 13, 14, 15, 16 (`pg_control_version` 1300): CRC at offset 288;
//! * 17 (1700): same offsets, but the checkpoint copy carries `wal_level` in
//!   what used to be padding;
//! * 18 (1800): `default_char_signedness` inserted at 256, the nonce moved
//!   by one byte and the CRC moved to 292.
//!
//! `pg_control_version` cannot tell 13 to 16 apart, so the major version comes
//! from `catalog_version_no` ([`PgMajor::from_catalog_version`]).
//!
//! Only little-endian 64-bit builds (`MAXALIGN` 8) are read; a file written by
//! a big-endian server, or one whose `maxAlign`/`floatFormat` do not match, is
//! refused with a typed error rather than misread.

use crate::error::{IoError, IoResultExt};
use crate::lsn::{Lsn, WalSegSize};
use crate::version::PgMajor;
use crate::walfile::{SegmentName, TimeLineId};
use serde::{Serialize, Serializer};
use std::fmt;
use std::path::{Path, PathBuf};

/// Size of `global/pg_control` on disk (`PG_CONTROL_FILE_SIZE`).
pub const PG_CONTROL_FILE_SIZE: usize = 8192;

/// `sizeof(ControlFileData)` in every major 13 to 18.
pub const CONTROL_DATA_SIZE: usize = 296;

/// Size of the embedded `CheckPoint` struct (13 to 18).
pub const CHECKPOINT_SIZE: usize = 88;

/// `FLOATFORMAT_VALUE`: the `floatFormat` a compatible build writes.
pub const FLOAT_FORMAT_VALUE: f64 = 1234567.0;

/// The `MAXALIGN` pitr supports.
pub const MAX_ALIGN: u32 = 8;

/// Path of the control file inside a data directory (`XLOG_CONTROL_FILE`).
pub const CONTROL_FILE_PATH: &str = "global/pg_control";

/// `pg_control_version` values pitr reads.
const KNOWN_CONTROL_VERSIONS: [u32; 3] = [1300, 1700, 1800];

/// `pg_control_version` of 9.6 to 12 (recognised, to detect a byte-swapped file).
const OLD_CONTROL_VERSIONS: [u32; 4] = [960, 1002, 1100, 1201];

/// Why a `pg_control` file could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ControlError {
    /// Shorter than `sizeof(ControlFileData)`.
    #[error("{}: pg_control is truncated: {len} bytes, at least {CONTROL_DATA_SIZE} expected", file.display())]
    Truncated {
        /// The file.
        file: PathBuf,
        /// Its length.
        len: usize,
    },
    /// The stored CRC does not match the contents.
    #[error(
        "{}: pg_control CRC mismatch: stored {stored:08X}, computed {computed:08X} (the file is damaged)",
        file.display()
    )]
    BadCrc {
        /// The file.
        file: PathBuf,
        /// CRC stored in the file.
        stored: u32,
        /// CRC computed over its contents.
        computed: u32,
    },
    /// `pg_control_version` / `catalog_version_no` of a major pitr does not read.
    #[error(
        "{}: unsupported pg_control: version {pg_control_version}, catalog version {catalog_version} \
         (pitr reads PostgreSQL 13 to 18)",
        file.display()
    )]
    UnknownVersion {
        /// The file.
        file: PathBuf,
        /// `pg_control_version` as read (little-endian).
        pg_control_version: u32,
        /// `catalog_version_no` as read (little-endian).
        catalog_version: u32,
    },
    /// Written by a server of another byte order or alignment.
    #[error("{}: pg_control was written by an incompatible platform: {detail}", file.display())]
    Platform {
        /// The file.
        file: PathBuf,
        /// What did not match.
        detail: String,
    },
    /// A field holds a value no server writes (with a valid CRC).
    #[error("{}: invalid pg_control: {detail}", file.display())]
    Invalid {
        /// The file.
        file: PathBuf,
        /// The field and its value.
        detail: String,
    },
    /// The file could not be read.
    #[error(transparent)]
    Io(#[from] IoError),
}

/// `DBState`: the cluster state, printed like `pg_controldata` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DbState {
    /// `DB_STARTUP` (0): "starting up".
    StartingUp,
    /// `DB_SHUTDOWNED` (1): "shut down".
    ShutDown,
    /// `DB_SHUTDOWNED_IN_RECOVERY` (2): "shut down in recovery".
    ShutDownInRecovery,
    /// `DB_SHUTDOWNING` (3): "shutting down".
    ShuttingDown,
    /// `DB_IN_CRASH_RECOVERY` (4): "in crash recovery".
    InCrashRecovery,
    /// `DB_IN_ARCHIVE_RECOVERY` (5): "in archive recovery".
    InArchiveRecovery,
    /// `DB_IN_PRODUCTION` (6): "in production".
    InProduction,
    /// Any other value.
    Unknown(i32),
}

impl DbState {
    /// The state for the on-disk number.
    pub const fn from_raw(v: i32) -> DbState {
        match v {
            0 => DbState::StartingUp,
            1 => DbState::ShutDown,
            2 => DbState::ShutDownInRecovery,
            3 => DbState::ShuttingDown,
            4 => DbState::InCrashRecovery,
            5 => DbState::InArchiveRecovery,
            6 => DbState::InProduction,
            n => DbState::Unknown(n),
        }
    }

    /// The on-disk number.
    pub const fn raw(self) -> i32 {
        match self {
            DbState::StartingUp => 0,
            DbState::ShutDown => 1,
            DbState::ShutDownInRecovery => 2,
            DbState::ShuttingDown => 3,
            DbState::InCrashRecovery => 4,
            DbState::InArchiveRecovery => 5,
            DbState::InProduction => 6,
            DbState::Unknown(n) => n,
        }
    }

    /// True when the server was shut down cleanly (`shut down` or `shut down in recovery`).
    pub const fn is_shut_down(self) -> bool {
        matches!(self, DbState::ShutDown | DbState::ShutDownInRecovery)
    }
}

impl fmt::Display for DbState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DbState::StartingUp => "starting up",
            DbState::ShutDown => "shut down",
            DbState::ShutDownInRecovery => "shut down in recovery",
            DbState::ShuttingDown => "shutting down",
            DbState::InCrashRecovery => "in crash recovery",
            DbState::InArchiveRecovery => "in archive recovery",
            DbState::InProduction => "in production",
            DbState::Unknown(n) => return write!(f, "unrecognized status code {n}"),
        })
    }
}

impl Serialize for DbState {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// `wal_level`, printed like `pg_controldata` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WalLevel {
    /// `minimal` (0): WAL cannot be used for archive recovery.
    Minimal,
    /// `replica` (1).
    Replica,
    /// `logical` (2).
    Logical,
    /// Any other value.
    Unknown(i32),
}

impl WalLevel {
    /// The level for the on-disk number.
    pub const fn from_raw(v: i32) -> WalLevel {
        match v {
            0 => WalLevel::Minimal,
            1 => WalLevel::Replica,
            2 => WalLevel::Logical,
            n => WalLevel::Unknown(n),
        }
    }
}

impl fmt::Display for WalLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WalLevel::Minimal => f.write_str("minimal"),
            WalLevel::Replica => f.write_str("replica"),
            WalLevel::Logical => f.write_str("logical"),
            WalLevel::Unknown(n) => write!(f, "unrecognized wal_level {n}"),
        }
    }
}

impl Serialize for WalLevel {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A `FullTransactionId` (epoch in the high 32 bits), printed `epoch:xid`
/// like `pg_controldata` and `pg_waldump` do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FullXid(pub u64);

impl FullXid {
    /// The epoch (high 32 bits).
    pub const fn epoch(self) -> u32 {
        (self.0 >> 32) as u32
    }
    /// The 32-bit transaction ID.
    pub const fn xid(self) -> u32 {
        self.0 as u32
    }
}

impl fmt::Display for FullXid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.epoch(), self.xid())
    }
}

impl Serialize for FullXid {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A `pg_time_t`: seconds since 1970-01-01 UTC. Serialized as an RFC 3339
/// UTC timestamp (`2026-11-24T01:23:23Z`); a value outside the years
/// -9999..9999 is serialized as its number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PgTime(pub i64);

impl PgTime {
    /// The time as a [`jiff::Timestamp`], if representable.
    pub fn timestamp(self) -> Option<jiff::Timestamp> {
        jiff::Timestamp::from_second(self.0).ok()
    }
}

impl fmt::Display for PgTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.timestamp() {
            Some(t) => write!(f, "{}", t.strftime("%Y-%m-%d %H:%M:%S UTC")),
            None => write!(f, "@{}", self.0),
        }
    }
}

impl Serialize for PgTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.timestamp() {
            Some(t) => s.collect_str(&t),
            None => s.serialize_i64(self.0),
        }
    }
}

/// The `CheckPoint` struct: payload of checkpoint records, and the copy of the
/// latest one kept in `pg_control`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckPoint {
    /// REDO start point (`redo`).
    pub redo: Lsn,
    /// `ThisTimeLineID`.
    pub timeline: TimeLineId,
    /// `PrevTimeLineID` (differs from `timeline` only in the first checkpoint of a new timeline).
    pub prev_timeline: TimeLineId,
    /// `fullPageWrites`.
    pub full_page_writes: bool,
    /// `wal_level` (17 and later; `None` before).
    pub wal_level: Option<WalLevel>,
    /// `nextXid` (`nextFullXid` in 13).
    pub next_xid: FullXid,
    /// `nextOid`.
    pub next_oid: u32,
    /// `nextMulti`.
    pub next_multi: u32,
    /// `nextMultiOffset`.
    pub next_multi_offset: u32,
    /// `oldestXid`.
    pub oldest_xid: u32,
    /// `oldestXidDB`.
    pub oldest_xid_db: u32,
    /// `oldestMulti`.
    pub oldest_multi: u32,
    /// `oldestMultiDB`.
    pub oldest_multi_db: u32,
    /// `time`: when the checkpoint was taken.
    pub time: PgTime,
    /// `oldestCommitTsXid`.
    pub oldest_commit_ts_xid: u32,
    /// `newestCommitTsXid`.
    pub newest_commit_ts_xid: u32,
    /// `oldestActiveXid` (0 for shutdown checkpoints).
    pub oldest_active_xid: u32,
}

impl CheckPoint {
    /// Decodes the 88-byte `CheckPoint` of `major` (little-endian).
    pub fn decode(b: &[u8; CHECKPOINT_SIZE], major: PgMajor) -> CheckPoint {
        let r = Le(b);
        CheckPoint {
            redo: Lsn(r.u64(0)),
            timeline: r.u32(8),
            prev_timeline: r.u32(12),
            full_page_writes: r.bool(16),
            wal_level: (major >= PgMajor::V17).then(|| WalLevel::from_raw(r.i32(20))),
            next_xid: FullXid(r.u64(24)),
            next_oid: r.u32(32),
            next_multi: r.u32(36),
            next_multi_offset: r.u32(40),
            oldest_xid: r.u32(44),
            oldest_xid_db: r.u32(48),
            oldest_multi: r.u32(52),
            oldest_multi_db: r.u32(56),
            time: PgTime(r.i64(64)),
            oldest_commit_ts_xid: r.u32(72),
            newest_commit_ts_xid: r.u32(76),
            oldest_active_xid: r.u32(80),
        }
    }
}

/// A decoded `global/pg_control`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ControlFile {
    /// The major version (from `catalog_version_no`).
    pub major: PgMajor,
    /// `pg_control_version` (1300, 1700 or 1800).
    pub pg_control_version: u32,
    /// `catalog_version_no`.
    pub catalog_version: u32,
    /// `system_identifier` (serialized as a decimal string: it does not fit a JSON double).
    #[serde(serialize_with = "ser_u64_string")]
    pub system_identifier: u64,
    /// `state`.
    pub state: DbState,
    /// `time`: last update of the file.
    pub time: PgTime,
    /// `checkPoint`: LSN of the latest checkpoint record.
    pub checkpoint: Lsn,
    /// `checkPointCopy`: that record's payload.
    pub checkpoint_copy: CheckPoint,
    /// `unloggedLSN`.
    pub unlogged_lsn: Lsn,
    /// `minRecoveryPoint`.
    pub min_recovery_point: Lsn,
    /// `minRecoveryPointTLI`.
    pub min_recovery_point_timeline: TimeLineId,
    /// `backupStartPoint`.
    pub backup_start_point: Lsn,
    /// `backupEndPoint`.
    pub backup_end_point: Lsn,
    /// `backupEndRequired`.
    pub backup_end_required: bool,
    /// `wal_level` the server ran with.
    pub wal_level: WalLevel,
    /// `wal_log_hints`.
    pub wal_log_hints: bool,
    /// `MaxConnections` (hot-standby parameter).
    pub max_connections: i32,
    /// `max_worker_processes` (hot-standby parameter).
    pub max_worker_processes: i32,
    /// `max_wal_senders` (hot-standby parameter).
    pub max_wal_senders: i32,
    /// `max_prepared_xacts` (hot-standby parameter).
    pub max_prepared_xacts: i32,
    /// `max_locks_per_xact` (hot-standby parameter).
    pub max_locks_per_xact: i32,
    /// `track_commit_timestamp`.
    pub track_commit_timestamp: bool,
    /// `maxAlign` (always 8 here).
    pub max_align: u32,
    /// `floatFormat` (always 1234567.0 here).
    pub float_format: f64,
    /// `blcksz`: data page size.
    pub block_size: u32,
    /// `relseg_size`: blocks per relation segment file.
    pub relseg_size: u32,
    /// `xlog_blcksz`: WAL page size.
    pub wal_block_size: u32,
    /// `xlog_seg_size`: WAL segment size.
    pub wal_segment_size: WalSegSize,
    /// `nameDataLen`.
    pub name_data_len: u32,
    /// `indexMaxKeys`.
    pub index_max_keys: u32,
    /// `toast_max_chunk_size`.
    pub toast_max_chunk_size: u32,
    /// `loblksize`.
    pub large_object_chunk_size: u32,
    /// `float8ByVal`.
    pub float8_by_val: bool,
    /// `data_checksum_version` (0 = data checksums off).
    pub data_checksum_version: u32,
    /// `default_char_signedness` (18 and later; `None` before).
    pub default_char_signedness: Option<bool>,
    /// `mock_authentication_nonce`, in hex.
    pub mock_authentication_nonce: String,
    /// The stored CRC-32C.
    pub crc: u32,
    /// The CRC-32C computed over the contents (equal to `crc` unless parsed
    /// with [`ControlFile::parse_unverified`]).
    pub computed_crc: u32,
}

fn ser_u64_string<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// Little-endian reads at fixed offsets of a fixed-size buffer.
struct Le<'a, const N: usize>(&'a [u8; N]);

impl<const N: usize> Le<'_, N> {
    fn arr<const K: usize>(&self, off: usize) -> [u8; K] {
        let mut out = [0u8; K];
        if let Some(s) = self.0.get(off..off + K) {
            out.copy_from_slice(s);
        }
        out
    }
    fn u64(&self, off: usize) -> u64 {
        u64::from_le_bytes(self.arr(off))
    }
    fn i64(&self, off: usize) -> i64 {
        i64::from_le_bytes(self.arr(off))
    }
    fn u32(&self, off: usize) -> u32 {
        u32::from_le_bytes(self.arr(off))
    }
    fn i32(&self, off: usize) -> i32 {
        i32::from_le_bytes(self.arr(off))
    }
    fn f64(&self, off: usize) -> f64 {
        f64::from_le_bytes(self.arr(off))
    }
    fn bool(&self, off: usize) -> bool {
        self.arr::<1>(off)[0] != 0
    }
}

/// Offset of the CRC for a `pg_control_version`.
pub const fn crc_offset(pg_control_version: u32) -> usize {
    if pg_control_version >= 1800 { 292 } else { 288 }
}

impl ControlFile {
    /// Reads and decodes `path` (strict: see [`ControlFile::parse`]).
    pub fn read(path: &Path) -> Result<ControlFile, ControlError> {
        let bytes = read_prefix(path, PG_CONTROL_FILE_SIZE)?;
        ControlFile::parse(&bytes, path)
    }

    /// Decodes a `pg_control` image. `file` names it in errors. Fails on a
    /// truncated file, an unknown or big-endian version, a CRC mismatch, an
    /// incompatible platform (`maxAlign`, `floatFormat`) or an impossible WAL
    /// segment or page size.
    pub fn parse(bytes: &[u8], file: &Path) -> Result<ControlFile, ControlError> {
        let cf = ControlFile::parse_unverified(bytes, file)?;
        if cf.crc != cf.computed_crc {
            return Err(ControlError::BadCrc {
                file: file.to_path_buf(),
                stored: cf.crc,
                computed: cf.computed_crc,
            });
        }
        Ok(cf)
    }

    /// Like [`ControlFile::parse`] but accepts a CRC mismatch (as
    /// `pg_controldata` does, with a warning): compare
    /// [`ControlFile::crc`] with [`ControlFile::computed_crc`]. Every other
    /// check still applies.
    pub fn parse_unverified(bytes: &[u8], file: &Path) -> Result<ControlFile, ControlError> {
        let Some(head) = bytes.get(..CONTROL_DATA_SIZE) else {
            return Err(ControlError::Truncated { file: file.to_path_buf(), len: bytes.len() });
        };
        let mut buf = [0u8; CONTROL_DATA_SIZE];
        buf.copy_from_slice(head);
        let r = Le(&buf);

        let version = r.u32(8);
        let catalog = r.u32(12);
        if !KNOWN_CONTROL_VERSIONS.contains(&version) {
            let swapped = version.swap_bytes();
            if KNOWN_CONTROL_VERSIONS.contains(&swapped) || OLD_CONTROL_VERSIONS.contains(&swapped) {
                return Err(ControlError::Platform {
                    file: file.to_path_buf(),
                    detail: format!(
                        "pg_control_version reads {version} in little-endian but {swapped} in big-endian: \
                         the cluster was created on a big-endian machine"
                    ),
                });
            }
            return Err(ControlError::UnknownVersion {
                file: file.to_path_buf(),
                pg_control_version: version,
                catalog_version: catalog,
            });
        }
        let major = match PgMajor::from_catalog_version(catalog) {
            Some(m) if m.control_version() == version => m,
            _ => {
                return Err(ControlError::UnknownVersion {
                    file: file.to_path_buf(),
                    pg_control_version: version,
                    catalog_version: catalog,
                });
            }
        };

        let crc_off = crc_offset(version);
        let computed_crc = crc32c::crc32c(buf.get(..crc_off).unwrap_or(&[]));
        let crc = r.u32(crc_off);

        let max_align = r.u32(204);
        let float_format = r.f64(208);
        if max_align != MAX_ALIGN {
            return Err(ControlError::Platform {
                file: file.to_path_buf(),
                detail: format!("maxAlign is {max_align}, pitr reads files of MAXALIGN {MAX_ALIGN} builds"),
            });
        }
        if float_format != FLOAT_FORMAT_VALUE {
            return Err(ControlError::Platform {
                file: file.to_path_buf(),
                detail: format!(
                    "floatFormat is {float_format}, expected {FLOAT_FORMAT_VALUE} (another byte order or float format)"
                ),
            });
        }

        let xlog_seg = r.u32(228);
        let Some(wal_segment_size) = WalSegSize::new(xlog_seg) else {
            return Err(ControlError::Invalid {
                file: file.to_path_buf(),
                detail: format!("WAL segment size {xlog_seg} is not a power of two from 1 MB to 1 GB"),
            });
        };
        let wal_block_size = r.u32(224);
        if !wal_block_size.is_power_of_two() || !(1024..=65536).contains(&wal_block_size) {
            return Err(ControlError::Invalid {
                file: file.to_path_buf(),
                detail: format!("WAL block size {wal_block_size} is not a power of two from 1 kB to 64 kB"),
            });
        }

        let mut ckpt = [0u8; CHECKPOINT_SIZE];
        ckpt.copy_from_slice(&r.arr::<CHECKPOINT_SIZE>(40));
        let (default_char_signedness, nonce) = if major >= PgMajor::V18 {
            (Some(r.bool(256)), r.arr::<32>(257))
        } else {
            (None, r.arr::<32>(256))
        };

        Ok(ControlFile {
            major,
            pg_control_version: version,
            catalog_version: catalog,
            system_identifier: r.u64(0),
            state: DbState::from_raw(r.i32(16)),
            time: PgTime(r.i64(24)),
            checkpoint: Lsn(r.u64(32)),
            checkpoint_copy: CheckPoint::decode(&ckpt, major),
            unlogged_lsn: Lsn(r.u64(128)),
            min_recovery_point: Lsn(r.u64(136)),
            min_recovery_point_timeline: r.u32(144),
            backup_start_point: Lsn(r.u64(152)),
            backup_end_point: Lsn(r.u64(160)),
            backup_end_required: r.bool(168),
            wal_level: WalLevel::from_raw(r.i32(172)),
            wal_log_hints: r.bool(176),
            max_connections: r.i32(180),
            max_worker_processes: r.i32(184),
            max_wal_senders: r.i32(188),
            max_prepared_xacts: r.i32(192),
            max_locks_per_xact: r.i32(196),
            track_commit_timestamp: r.bool(200),
            max_align,
            float_format,
            block_size: r.u32(216),
            relseg_size: r.u32(220),
            wal_block_size,
            wal_segment_size,
            name_data_len: r.u32(232),
            index_max_keys: r.u32(236),
            toast_max_chunk_size: r.u32(240),
            large_object_chunk_size: r.u32(244),
            float8_by_val: r.bool(248),
            data_checksum_version: r.u32(252),
            default_char_signedness,
            mock_authentication_nonce: hex(&nonce),
            crc,
            computed_crc,
        })
    }

    /// True when the stored CRC matches the contents.
    pub fn crc_ok(&self) -> bool {
        self.crc == self.computed_crc
    }

    /// The WAL file holding the latest checkpoint's REDO point
    /// ("Latest checkpoint's REDO WAL file").
    pub fn redo_wal_file(&self) -> SegmentName {
        SegmentName::of_lsn(self.checkpoint_copy.timeline, self.checkpoint_copy.redo, self.wal_segment_size)
    }

    /// True when data checksums are enabled.
    pub fn data_checksums(&self) -> bool {
        self.data_checksum_version != 0
    }
}

/// Reads at most `limit` bytes of `path`.
fn read_prefix(path: &Path, limit: usize) -> Result<Vec<u8>, IoError> {
    use std::io::Read;
    let f = std::fs::File::open(path).at_path(path)?;
    let mut buf = Vec::with_capacity(limit);
    f.take(limit as u64).read_to_end(&mut buf).at_path(path)?;
    Ok(buf)
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Builds a valid `pg_control` image of `major` with recognisable values.
    pub(crate) fn sample(major: PgMajor) -> Vec<u8> {
        let mut b = vec![0u8; PG_CONTROL_FILE_SIZE];
        let mut put = |off: usize, v: &[u8]| b[off..off + v.len()].copy_from_slice(v);
        put(0, &7_315_000_000_000_000_001u64.to_le_bytes());
        put(8, &major.control_version().to_le_bytes());
        put(12, &major.catalog_version().to_le_bytes());
        put(16, &6i32.to_le_bytes());
        put(24, &1_795_483_403i64.to_le_bytes());
        put(32, &0x2026F98u64.to_le_bytes());
        put(40, &0x2026F60u64.to_le_bytes());
        put(48, &3u32.to_le_bytes());
        put(52, &2u32.to_le_bytes());
        put(56, &[1]);
        put(60, &2i32.to_le_bytes());
        put(64, &((7u64 << 32) | 735).to_le_bytes());
        put(72, &16384u32.to_le_bytes());
        put(104, &1_795_483_400i64.to_le_bytes());
        put(136, &0x3000000u64.to_le_bytes());
        put(144, &3u32.to_le_bytes());
        put(172, &1i32.to_le_bytes());
        put(180, &100i32.to_le_bytes());
        put(184, &8i32.to_le_bytes());
        put(188, &10i32.to_le_bytes());
        put(192, &5i32.to_le_bytes());
        put(196, &64i32.to_le_bytes());
        put(200, &[1]);
        put(204, &8u32.to_le_bytes());
        put(208, &FLOAT_FORMAT_VALUE.to_le_bytes());
        put(216, &8192u32.to_le_bytes());
        put(220, &131072u32.to_le_bytes());
        put(224, &8192u32.to_le_bytes());
        put(228, &(16u32 << 20).to_le_bytes());
        put(232, &64u32.to_le_bytes());
        put(236, &32u32.to_le_bytes());
        put(240, &1996u32.to_le_bytes());
        put(244, &2048u32.to_le_bytes());
        put(248, &[1]);
        put(252, &1u32.to_le_bytes());
        if major >= PgMajor::V18 {
            put(256, &[1]);
            put(257, &[0xAB; 32]);
        } else {
            put(256, &[0xAB; 32]);
        }
        let off = crc_offset(major.control_version());
        let crc = crc32c::crc32c(&b[..off]);
        b[off..off + 4].copy_from_slice(&crc.to_le_bytes());
        b
    }

    #[test]
    fn every_major_layout_decodes() {
        for major in PgMajor::ALL {
            let b = sample(major);
            let cf = ControlFile::parse(&b, Path::new("pg_control")).unwrap();
            assert_eq!(cf.major, major);
            assert_eq!(cf.system_identifier, 7_315_000_000_000_000_001);
            assert_eq!(cf.state, DbState::InProduction);
            assert_eq!(cf.state.to_string(), "in production");
            assert_eq!(cf.checkpoint, Lsn(0x2026F98));
            assert_eq!(cf.checkpoint_copy.redo, Lsn(0x2026F60));
            assert_eq!(cf.checkpoint_copy.timeline, 3);
            assert_eq!(cf.checkpoint_copy.prev_timeline, 2);
            assert_eq!(cf.checkpoint_copy.next_xid.to_string(), "7:735");
            assert_eq!(cf.checkpoint_copy.next_oid, 16384);
            assert_eq!(cf.checkpoint_copy.time.to_string(), "2026-11-24 01:23:20 UTC");
            let want_level = (major >= PgMajor::V17).then_some(WalLevel::Logical);
            assert_eq!(cf.checkpoint_copy.wal_level, want_level, "{major}");
            assert_eq!(cf.min_recovery_point, Lsn(0x3000000));
            assert_eq!(cf.min_recovery_point_timeline, 3);
            assert_eq!(cf.wal_level, WalLevel::Replica);
            assert_eq!(
                (
                    cf.max_connections,
                    cf.max_worker_processes,
                    cf.max_wal_senders,
                    cf.max_prepared_xacts,
                    cf.max_locks_per_xact
                ),
                (100, 8, 10, 5, 64)
            );
            assert!(cf.track_commit_timestamp);
            assert_eq!(cf.wal_segment_size, WalSegSize::DEFAULT);
            assert_eq!(cf.block_size, 8192);
            assert_eq!(cf.data_checksum_version, 1);
            assert_eq!(cf.default_char_signedness, (major >= PgMajor::V18).then_some(true));
            assert_eq!(cf.mock_authentication_nonce, "ab".repeat(32));
            assert_eq!(cf.redo_wal_file().to_string(), "000000030000000000000002");
            let j = serde_json::to_value(&cf).unwrap();
            assert_eq!(j["system_identifier"], "7315000000000000001");
            assert_eq!(j["state"], "in production");
            assert_eq!(j["checkpoint_copy"]["next_xid"], "7:735");
            assert_eq!(j["time"], "2026-11-24T01:23:23Z");
        }
    }

    #[test]
    fn bad_crc_names_file_and_both_values() {
        for major in [PgMajor::V15, PgMajor::V18] {
            let mut b = sample(major);
            b[100] ^= 1;
            let e = ControlFile::parse(&b, Path::new("data/global/pg_control")).unwrap_err();
            let ControlError::BadCrc { stored, computed, .. } = &e else { panic!("{e}") };
            assert_ne!(stored, computed);
            let msg = e.to_string();
            assert!(
                msg.contains("data/global/pg_control") && msg.contains(&format!("{stored:08X}")),
                "{msg}"
            );
            // Lenient parsing still decodes.
            let cf = ControlFile::parse_unverified(&b, Path::new("x")).unwrap();
            assert!(!cf.crc_ok());
        }
    }

    #[test]
    fn crc_at_the_wrong_offset_is_refused() {
        // An 18 file whose CRC was written at 288 (as 17 would) fails.
        let mut b = sample(PgMajor::V18);
        let crc = crc32c::crc32c(&b[..288]);
        b[288..292].copy_from_slice(&crc.to_le_bytes());
        b[292..296].copy_from_slice(&[0; 4]);
        assert!(matches!(ControlFile::parse(&b, Path::new("x")), Err(ControlError::BadCrc { .. })));
    }

    #[test]
    fn truncated_unknown_and_big_endian() {
        let b = sample(PgMajor::V16);
        assert!(matches!(
            ControlFile::parse(&b[..295], Path::new("x")),
            Err(ControlError::Truncated { len: 295, .. })
        ));
        assert!(ControlFile::parse(&b[..296], Path::new("x")).is_ok());

        let mut old = b.clone();
        old[8..12].copy_from_slice(&1201u32.to_le_bytes());
        assert!(matches!(
            ControlFile::parse(&old, Path::new("x")),
            Err(ControlError::UnknownVersion { pg_control_version: 1201, .. })
        ));

        let mut cat = b.clone();
        cat[12..16].copy_from_slice(&202_501_011u32.to_le_bytes());
        assert!(matches!(ControlFile::parse(&cat, Path::new("x")), Err(ControlError::UnknownVersion { .. })));

        // 17's catalog version with 1300 is inconsistent.
        let mut mixed = b.clone();
        mixed[12..16].copy_from_slice(&PgMajor::V17.catalog_version().to_le_bytes());
        assert!(matches!(
            ControlFile::parse(&mixed, Path::new("x")),
            Err(ControlError::UnknownVersion { .. })
        ));

        let mut be = b.clone();
        be[8..12].copy_from_slice(&1300u32.to_be_bytes());
        let e = ControlFile::parse(&be, Path::new("x")).unwrap_err();
        assert!(matches!(e, ControlError::Platform { .. }), "{e}");
        assert!(e.to_string().contains("big-endian"), "{e}");
    }

    fn with_crc(mut b: Vec<u8>, major: PgMajor) -> Vec<u8> {
        let off = crc_offset(major.control_version());
        let crc = crc32c::crc32c(&b[..off]);
        b[off..off + 4].copy_from_slice(&crc.to_le_bytes());
        b
    }

    #[test]
    fn platform_and_size_checks() {
        let m = PgMajor::V15;
        let mut b = sample(m);
        b[204..208].copy_from_slice(&4u32.to_le_bytes());
        let e = ControlFile::parse(&with_crc(b, m), Path::new("x")).unwrap_err();
        assert!(e.to_string().contains("maxAlign"), "{e}");

        let mut b = sample(m);
        b[208..216].copy_from_slice(&FLOAT_FORMAT_VALUE.to_be_bytes());
        let e = ControlFile::parse(&with_crc(b, m), Path::new("x")).unwrap_err();
        assert!(e.to_string().contains("floatFormat"), "{e}");

        let mut b = sample(m);
        b[228..232].copy_from_slice(&12345u32.to_le_bytes());
        let e = ControlFile::parse(&with_crc(b, m), Path::new("x")).unwrap_err();
        assert!(matches!(e, ControlError::Invalid { .. }), "{e}");

        let mut b = sample(m);
        b[224..228].copy_from_slice(&100u32.to_le_bytes());
        assert!(matches!(
            ControlFile::parse(&with_crc(b, m), Path::new("x")),
            Err(ControlError::Invalid { .. })
        ));
    }

    #[test]
    fn states_and_levels_print_like_pg_controldata() {
        let names = [
            "starting up",
            "shut down",
            "shut down in recovery",
            "shutting down",
            "in crash recovery",
            "in archive recovery",
            "in production",
        ];
        for (i, n) in names.iter().enumerate() {
            let s = DbState::from_raw(i as i32);
            assert_eq!(s.to_string(), *n);
            assert_eq!(s.raw(), i as i32);
        }
        assert_eq!(DbState::from_raw(9).to_string(), "unrecognized status code 9");
        assert_eq!(WalLevel::from_raw(0).to_string(), "minimal");
        assert_eq!(WalLevel::from_raw(2).to_string(), "logical");
        assert!(DbState::ShutDownInRecovery.is_shut_down());
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = ControlFile::parse(&bytes, Path::new("x"));
            let _ = ControlFile::parse_unverified(&bytes, Path::new("x"));
        }

        #[test]
        fn any_bit_flip_before_the_crc_is_caught(major in 0usize..6, pos in 0usize..288, bit in 0u8..8) {
            let major = PgMajor::ALL[major];
            let mut b = sample(major);
            b[pos] ^= 1 << bit;
            prop_assert!(ControlFile::parse(&b, Path::new("x")).is_err());
        }

        #[test]
        fn fields_round_trip(sysid in any::<u64>(), ckpt in any::<u64>(), tli in any::<u32>(), xid in any::<u64>()) {
            let mut b = sample(PgMajor::V17);
            b[0..8].copy_from_slice(&sysid.to_le_bytes());
            b[32..40].copy_from_slice(&ckpt.to_le_bytes());
            b[48..52].copy_from_slice(&tli.to_le_bytes());
            b[64..72].copy_from_slice(&xid.to_le_bytes());
            let b = with_crc(b, PgMajor::V17);
            let cf = ControlFile::parse(&b, Path::new("x")).unwrap();
            prop_assert_eq!(cf.system_identifier, sysid);
            prop_assert_eq!(cf.checkpoint, Lsn(ckpt));
            prop_assert_eq!(cf.checkpoint_copy.timeline, tli);
            prop_assert_eq!(cf.checkpoint_copy.next_xid, FullXid(xid));
        }
    }
}
