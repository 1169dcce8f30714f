//! PostgreSQL major versions supported by pitr (13 to 18) and the numbers that
//! identify them on disk.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A supported PostgreSQL major version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "u32", try_from = "u32")]
pub enum PgMajor {
    /// PostgreSQL 13
    V13,
    /// PostgreSQL 14
    V14,
    /// PostgreSQL 15
    V15,
    /// PostgreSQL 16
    V16,
    /// PostgreSQL 17
    V17,
    /// PostgreSQL 18
    V18,
}

/// WAL page magics of majors pitr recognises but does not read.
pub const OLD_WAL_MAGICS: &[(u16, &str)] = &[(0xD093, "9.6"), (0xD097, "10"), (0xD098, "11"), (0xD101, "12")];

impl PgMajor {
    /// All supported majors, oldest first.
    pub const ALL: [PgMajor; 6] =
        [PgMajor::V13, PgMajor::V14, PgMajor::V15, PgMajor::V16, PgMajor::V17, PgMajor::V18];

    /// The major as a number (13..=18).
    pub const fn number(self) -> u32 {
        match self {
            PgMajor::V13 => 13,
            PgMajor::V14 => 14,
            PgMajor::V15 => 15,
            PgMajor::V16 => 16,
            PgMajor::V17 => 17,
            PgMajor::V18 => 18,
        }
    }

    /// The major for a number, if supported.
    pub const fn from_number(n: u32) -> Option<PgMajor> {
        Some(match n {
            13 => PgMajor::V13,
            14 => PgMajor::V14,
            15 => PgMajor::V15,
            16 => PgMajor::V16,
            17 => PgMajor::V17,
            18 => PgMajor::V18,
            _ => return None,
        })
    }

    /// `XLOG_PAGE_MAGIC` of this major.
    pub const fn wal_magic(self) -> u16 {
        match self {
            PgMajor::V13 => 0xD106,
            PgMajor::V14 => 0xD10D,
            PgMajor::V15 => 0xD110,
            PgMajor::V16 => 0xD113,
            PgMajor::V17 => 0xD116,
            PgMajor::V18 => 0xD118,
        }
    }

    /// The major whose WAL page magic is `magic`.
    pub fn from_wal_magic(magic: u16) -> Option<PgMajor> {
        PgMajor::ALL.into_iter().find(|m| m.wal_magic() == magic)
    }

    /// `CATALOG_VERSION_NO` of this major (constant within a major).
    pub const fn catalog_version(self) -> u32 {
        match self {
            PgMajor::V13 => 202007201,
            PgMajor::V14 => 202107181,
            PgMajor::V15 => 202209061,
            PgMajor::V16 => 202307071,
            PgMajor::V17 => 202406281,
            PgMajor::V18 => 202506291,
        }
    }

    /// The major whose catalog version is `catversion`.
    pub fn from_catalog_version(catversion: u32) -> Option<PgMajor> {
        PgMajor::ALL.into_iter().find(|m| m.catalog_version() == catversion)
    }

    /// `PG_CONTROL_VERSION` of this major.
    pub const fn control_version(self) -> u32 {
        match self {
            PgMajor::V17 => 1700,
            PgMajor::V18 => 1800,
            _ => 1300,
        }
    }
}

impl fmt::Display for PgMajor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.number())
    }
}

impl From<PgMajor> for u32 {
    fn from(m: PgMajor) -> u32 {
        m.number()
    }
}

impl TryFrom<u32> for PgMajor {
    type Error = String;
    fn try_from(n: u32) -> Result<Self, String> {
        PgMajor::from_number(n).ok_or_else(|| format!("unsupported PostgreSQL major version {n}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magics_and_catalogs_round_trip() {
        for m in PgMajor::ALL {
            assert_eq!(PgMajor::from_wal_magic(m.wal_magic()), Some(m));
            assert_eq!(PgMajor::from_catalog_version(m.catalog_version()), Some(m));
            assert_eq!(PgMajor::from_number(m.number()), Some(m));
        }
        assert_eq!(PgMajor::from_wal_magic(0xD101), None);
        assert_eq!(PgMajor::V15.wal_magic(), 0xD110);
    }
}
