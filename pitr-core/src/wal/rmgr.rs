//! Resource managers and record type names, per version, exactly as
//! `pg_waldump` prints them.
//!
//! The type names were read out of the `rm_identify` functions of real
//! PostgreSQL 13, 14, 15, 16, 17 and 18 server binaries for every `xl_info`
//! value (the test suite also compares them with `pg_waldump` 15's output).

use crate::version::PgMajor;
use std::borrow::Cow;

/// `RM_XLOG_ID`.
pub const RM_XLOG_ID: u8 = 0;
/// `RM_XACT_ID`.
pub const RM_XACT_ID: u8 = 1;
/// `RM_SMGR_ID`.
pub const RM_SMGR_ID: u8 = 2;
/// `RM_CLOG_ID`.
pub const RM_CLOG_ID: u8 = 3;
/// `RM_DBASE_ID`.
pub const RM_DBASE_ID: u8 = 4;
/// `RM_TBLSPC_ID`.
pub const RM_TBLSPC_ID: u8 = 5;
/// `RM_MULTIXACT_ID`.
pub const RM_MULTIXACT_ID: u8 = 6;
/// `RM_RELMAP_ID`.
pub const RM_RELMAP_ID: u8 = 7;
/// `RM_STANDBY_ID`.
pub const RM_STANDBY_ID: u8 = 8;
/// `RM_HEAP2_ID`.
pub const RM_HEAP2_ID: u8 = 9;
/// `RM_HEAP_ID`.
pub const RM_HEAP_ID: u8 = 10;
/// `RM_BTREE_ID`.
pub const RM_BTREE_ID: u8 = 11;
/// `RM_COMMIT_TS_ID`.
pub const RM_COMMIT_TS_ID: u8 = 18;
/// `RM_REPLORIGIN_ID`.
pub const RM_REPLORIGIN_ID: u8 = 19;
/// `RM_GENERIC_ID`.
pub const RM_GENERIC_ID: u8 = 20;
/// `RM_LOGICALMSG_ID`.
pub const RM_LOGICALMSG_ID: u8 = 21;
/// `RM_MAX_BUILTIN_ID`.
pub const RM_MAX_BUILTIN_ID: u8 = 21;
/// `RM_MIN_CUSTOM_ID` (15+).
pub const RM_MIN_CUSTOM_ID: u8 = 128;

/// Names of the built-in resource managers, indexed by id (identical in 13-18).
pub const RMGR_NAMES: [&str; 22] = [
    "XLOG",
    "Transaction",
    "Storage",
    "CLOG",
    "Database",
    "Tablespace",
    "MultiXact",
    "RelMap",
    "Standby",
    "Heap2",
    "Heap",
    "Btree",
    "Hash",
    "Gin",
    "Gist",
    "Sequence",
    "SPGist",
    "BRIN",
    "CommitTs",
    "ReplicationOrigin",
    "Generic",
    "LogicalMessage",
];

/// True when `rmid` is a valid resource manager id for the major: 0-21, and
/// custom ids 128-255 from 15 on.
pub fn is_valid_rmid(major: PgMajor, rmid: u8) -> bool {
    rmid <= RM_MAX_BUILTIN_ID || (major >= PgMajor::V15 && rmid >= RM_MIN_CUSTOM_ID)
}

/// The name pg_waldump prints for a resource manager: the built-in name, or
/// `custom###` for a custom one.
pub fn rmgr_name(rmid: u8) -> Cow<'static, str> {
    match RMGR_NAMES.get(usize::from(rmid)) {
        Some(n) => Cow::Borrowed(n),
        None => Cow::Owned(format!("custom{rmid:03}")),
    }
}

/// The resource manager id for a name (case-insensitive; `custom###` accepted).
pub fn rmgr_by_name(name: &str) -> Option<u8> {
    if let Some(i) = RMGR_NAMES.iter().position(|n| n.eq_ignore_ascii_case(name)) {
        return u8::try_from(i).ok();
    }
    let lower = name.to_ascii_lowercase();
    let digits = lower.strip_prefix("custom")?;
    let id: u8 = digits.parse().ok()?;
    (id >= RM_MIN_CUSTOM_ID).then_some(id)
}

/// The record type name (`rm_identify`) of `info` for a resource manager, as
/// pg_waldump prints it; `None` for an unknown type (pg_waldump then prints
/// `UNKNOWN (<hex>)`) and for custom resource managers.
pub fn record_type_name(major: PgMajor, rmid: u8, info: u8) -> Option<&'static str> {
    // CommitTs and ReplicationOrigin identify on the whole xl_info byte.
    if (rmid == RM_COMMIT_TS_ID || rmid == RM_REPLORIGIN_ID) && info & 0x0F != 0 {
        return None;
    }
    let n = major.number();
    let idx = usize::from(info >> 4);
    TYPE_NAMES
        .iter()
        .find(|(r, lo, hi, _)| *r == rmid && (*lo..=*hi).contains(&n))
        .and_then(|(_, _, _, names)| names.get(idx).copied().flatten())
}

/// The type label pg_waldump uses: the name, or `UNKNOWN (<hex of info & 0xF0>)`.
pub fn record_type_label(major: PgMajor, rmid: u8, info: u8) -> Cow<'static, str> {
    match record_type_name(major, rmid, info) {
        Some(n) => Cow::Borrowed(n),
        None => Cow::Owned(format!("UNKNOWN ({:x})", info & 0xF0)),
    }
}

/// The record type name for `name` under a resource manager (used to filter by
/// type); returns the `xl_info & 0xF0` values that carry it.
pub fn record_types_named(major: PgMajor, rmid: u8, name: &str) -> Vec<u8> {
    (0u8..16)
        .map(|i| i << 4)
        .filter(|info| record_type_name(major, rmid, *info).is_some_and(|n| n.eq_ignore_ascii_case(name)))
        .collect()
}

// Generated from the rm_identify functions of the server binaries of each
// major: (rmid, first major, last major, names for xl_info >> 4).
static TYPE_NAMES: &[(u8, u32, u32, [Option<&str>; 16])] = &[
    (
        0,
        13,
        16,
        [
            Some("CHECKPOINT_SHUTDOWN"),
            Some("CHECKPOINT_ONLINE"),
            Some("NOOP"),
            Some("NEXTOID"),
            Some("SWITCH"),
            Some("BACKUP_END"),
            Some("PARAMETER_CHANGE"),
            Some("RESTORE_POINT"),
            Some("FPW_CHANGE"),
            Some("END_OF_RECOVERY"),
            Some("FPI_FOR_HINT"),
            Some("FPI"),
            None,
            Some("OVERWRITE_CONTRECORD"),
            None,
            None,
        ],
    ),
    (
        0,
        17,
        18,
        [
            Some("CHECKPOINT_SHUTDOWN"),
            Some("CHECKPOINT_ONLINE"),
            Some("NOOP"),
            Some("NEXTOID"),
            Some("SWITCH"),
            Some("BACKUP_END"),
            Some("PARAMETER_CHANGE"),
            Some("RESTORE_POINT"),
            Some("FPW_CHANGE"),
            Some("END_OF_RECOVERY"),
            Some("FPI_FOR_HINT"),
            Some("FPI"),
            None,
            Some("OVERWRITE_CONTRECORD"),
            Some("CHECKPOINT_REDO"),
            None,
        ],
    ),
    (
        1,
        13,
        13,
        [
            Some("COMMIT"),
            Some("PREPARE"),
            Some("ABORT"),
            Some("COMMIT_PREPARED"),
            Some("ABORT_PREPARED"),
            Some("ASSIGNMENT"),
            None,
            None,
            Some("COMMIT"),
            Some("PREPARE"),
            Some("ABORT"),
            Some("COMMIT_PREPARED"),
            Some("ABORT_PREPARED"),
            Some("ASSIGNMENT"),
            None,
            None,
        ],
    ),
    (
        1,
        14,
        18,
        [
            Some("COMMIT"),
            Some("PREPARE"),
            Some("ABORT"),
            Some("COMMIT_PREPARED"),
            Some("ABORT_PREPARED"),
            Some("ASSIGNMENT"),
            Some("INVALIDATION"),
            None,
            Some("COMMIT"),
            Some("PREPARE"),
            Some("ABORT"),
            Some("COMMIT_PREPARED"),
            Some("ABORT_PREPARED"),
            Some("ASSIGNMENT"),
            Some("INVALIDATION"),
            None,
        ],
    ),
    (
        2,
        13,
        18,
        [
            None,
            Some("CREATE"),
            Some("TRUNCATE"),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        ],
    ),
    (
        3,
        13,
        18,
        [
            Some("ZEROPAGE"),
            Some("TRUNCATE"),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        ],
    ),
    (
        4,
        13,
        14,
        [
            Some("CREATE"),
            Some("DROP"),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        ],
    ),
    (
        4,
        15,
        18,
        [
            Some("CREATE_FILE_COPY"),
            Some("CREATE_WAL_LOG"),
            Some("DROP"),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        ],
    ),
    (
        5,
        13,
        18,
        [
            Some("CREATE"),
            Some("DROP"),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        ],
    ),
    (
        6,
        13,
        18,
        [
            Some("ZERO_OFF_PAGE"),
            Some("ZERO_MEM_PAGE"),
            Some("CREATE_ID"),
            Some("TRUNCATE_ID"),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        ],
    ),
    (
        7,
        13,
        18,
        [
            Some("UPDATE"),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        ],
    ),
    (
        8,
        13,
        18,
        [
            Some("LOCK"),
            Some("RUNNING_XACTS"),
            Some("INVALIDATIONS"),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        ],
    ),
    (
        9,
        13,
        13,
        [
            Some("REWRITE"),
            Some("CLEAN"),
            Some("FREEZE_PAGE"),
            Some("CLEANUP_INFO"),
            Some("VISIBLE"),
            Some("MULTI_INSERT"),
            Some("LOCK_UPDATED"),
            Some("NEW_CID"),
            None,
            None,
            None,
            None,
            None,
            Some("MULTI_INSERT+INIT"),
            None,
            None,
        ],
    ),
    (
        9,
        14,
        16,
        [
            Some("REWRITE"),
            Some("PRUNE"),
            Some("VACUUM"),
            Some("FREEZE_PAGE"),
            Some("VISIBLE"),
            Some("MULTI_INSERT"),
            Some("LOCK_UPDATED"),
            Some("NEW_CID"),
            None,
            None,
            None,
            None,
            None,
            Some("MULTI_INSERT+INIT"),
            None,
            None,
        ],
    ),
    (
        9,
        17,
        18,
        [
            Some("REWRITE"),
            Some("PRUNE_ON_ACCESS"),
            Some("PRUNE_VACUUM_SCAN"),
            Some("PRUNE_VACUUM_CLEANUP"),
            Some("VISIBLE"),
            Some("MULTI_INSERT"),
            Some("LOCK_UPDATED"),
            Some("NEW_CID"),
            None,
            None,
            None,
            None,
            None,
            Some("MULTI_INSERT+INIT"),
            None,
            None,
        ],
    ),
    (
        10,
        13,
        18,
        [
            Some("INSERT"),
            Some("DELETE"),
            Some("UPDATE"),
            Some("TRUNCATE"),
            Some("HOT_UPDATE"),
            Some("HEAP_CONFIRM"),
            Some("LOCK"),
            Some("INPLACE"),
            Some("INSERT+INIT"),
            None,
            Some("UPDATE+INIT"),
            None,
            Some("HOT_UPDATE+INIT"),
            None,
            None,
            None,
        ],
    ),
    (
        11,
        13,
        18,
        [
            Some("INSERT_LEAF"),
            Some("INSERT_UPPER"),
            Some("INSERT_META"),
            Some("SPLIT_L"),
            Some("SPLIT_R"),
            Some("INSERT_POST"),
            Some("DEDUP"),
            Some("DELETE"),
            Some("UNLINK_PAGE"),
            Some("UNLINK_PAGE_META"),
            Some("NEWROOT"),
            Some("MARK_PAGE_HALFDEAD"),
            Some("VACUUM"),
            Some("REUSE_PAGE"),
            Some("META_CLEANUP"),
            None,
        ],
    ),
    (
        12,
        13,
        18,
        [
            Some("INIT_META_PAGE"),
            Some("INIT_BITMAP_PAGE"),
            Some("INSERT"),
            Some("ADD_OVFL_PAGE"),
            Some("SPLIT_ALLOCATE_PAGE"),
            Some("SPLIT_PAGE"),
            Some("SPLIT_COMPLETE"),
            Some("MOVE_PAGE_CONTENTS"),
            Some("SQUEEZE_PAGE"),
            Some("DELETE"),
            Some("SPLIT_CLEANUP"),
            Some("UPDATE_META_PAGE"),
            Some("VACUUM_ONE_PAGE"),
            None,
            None,
            None,
        ],
    ),
    (
        13,
        13,
        18,
        [
            None,
            Some("CREATE_PTREE"),
            Some("INSERT"),
            Some("SPLIT"),
            Some("VACUUM_PAGE"),
            Some("DELETE_PAGE"),
            Some("UPDATE_META_PAGE"),
            Some("INSERT_LISTPAGE"),
            Some("DELETE_LISTPAGE"),
            Some("VACUUM_DATA_LEAF_PAGE"),
            None,
            None,
            None,
            None,
            None,
            None,
        ],
    ),
    (
        14,
        13,
        18,
        [
            Some("PAGE_UPDATE"),
            Some("DELETE"),
            Some("PAGE_REUSE"),
            Some("PAGE_SPLIT"),
            None,
            None,
            Some("PAGE_DELETE"),
            Some("ASSIGN_LSN"),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        ],
    ),
    (
        15,
        13,
        18,
        [
            Some("LOG"),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        ],
    ),
    (
        16,
        13,
        18,
        [
            None,
            Some("ADD_LEAF"),
            Some("MOVE_LEAFS"),
            Some("ADD_NODE"),
            Some("SPLIT_TUPLE"),
            Some("PICKSPLIT"),
            Some("VACUUM_LEAF"),
            Some("VACUUM_ROOT"),
            Some("VACUUM_REDIRECT"),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        ],
    ),
    (
        17,
        13,
        18,
        [
            Some("CREATE_INDEX"),
            Some("INSERT"),
            Some("UPDATE"),
            Some("SAMEPAGE_UPDATE"),
            Some("REVMAP_EXTEND"),
            Some("DESUMMARIZE"),
            None,
            None,
            None,
            Some("INSERT+INIT"),
            Some("UPDATE+INIT"),
            None,
            None,
            None,
            None,
            None,
        ],
    ),
    (
        18,
        13,
        13,
        [
            Some("ZEROPAGE"),
            Some("TRUNCATE"),
            Some("SETTS"),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        ],
    ),
    (
        18,
        14,
        18,
        [
            Some("ZEROPAGE"),
            Some("TRUNCATE"),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        ],
    ),
    (
        19,
        13,
        18,
        [
            Some("SET"),
            Some("DROP"),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        ],
    ),
    (
        20,
        13,
        18,
        [
            Some("Generic"),
            Some("Generic"),
            Some("Generic"),
            Some("Generic"),
            Some("Generic"),
            Some("Generic"),
            Some("Generic"),
            Some("Generic"),
            Some("Generic"),
            Some("Generic"),
            Some("Generic"),
            Some("Generic"),
            Some("Generic"),
            Some("Generic"),
            Some("Generic"),
            Some("Generic"),
        ],
    ),
    (
        21,
        13,
        18,
        [
            Some("MESSAGE"),
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        ],
    ),
];

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_change_where_the_versions_differ() {
        use PgMajor::*;
        assert_eq!(record_type_name(V15, RM_XLOG_ID, 0x00), Some("CHECKPOINT_SHUTDOWN"));
        assert_eq!(record_type_name(V16, RM_XLOG_ID, 0xE0), None);
        assert_eq!(record_type_name(V17, RM_XLOG_ID, 0xE0), Some("CHECKPOINT_REDO"));
        assert_eq!(record_type_name(V13, RM_XACT_ID, 0x60), None);
        assert_eq!(record_type_name(V14, RM_XACT_ID, 0x60), Some("INVALIDATION"));
        assert_eq!(record_type_name(V15, RM_XACT_ID, 0x80), Some("COMMIT"));
        assert_eq!(record_type_name(V13, RM_DBASE_ID, 0x10), Some("DROP"));
        assert_eq!(record_type_name(V15, RM_DBASE_ID, 0x10), Some("CREATE_WAL_LOG"));
        assert_eq!(record_type_name(V13, RM_HEAP2_ID, 0x10), Some("CLEAN"));
        assert_eq!(record_type_name(V16, RM_HEAP2_ID, 0x10), Some("PRUNE"));
        assert_eq!(record_type_name(V17, RM_HEAP2_ID, 0x10), Some("PRUNE_ON_ACCESS"));
        assert_eq!(record_type_name(V18, RM_HEAP_ID, 0x81), Some("INSERT+INIT"));
        assert_eq!(record_type_name(V13, RM_COMMIT_TS_ID, 0x20), Some("SETTS"));
        assert_eq!(record_type_name(V14, RM_COMMIT_TS_ID, 0x20), None);
        assert_eq!(record_type_name(V15, RM_COMMIT_TS_ID, 0x01), None);
        assert_eq!(record_type_name(V15, 130, 0x00), None);
        assert_eq!(record_type_label(V15, RM_GENERIC_ID, 0xF0), "Generic");
        assert_eq!(record_type_label(V15, RM_XLOG_ID, 0xC1), "UNKNOWN (c0)");
        // Every built-in rmgr has at least one name in every version.
        for m in PgMajor::ALL {
            for r in 0..=RM_MAX_BUILTIN_ID {
                assert!((0u8..16).any(|i| record_type_name(m, r, i << 4).is_some()), "{m} {r}");
            }
        }
    }

    #[test]
    fn rmgr_ids_and_names() {
        assert_eq!(rmgr_name(1), "Transaction");
        assert_eq!(rmgr_name(134), "custom134");
        assert_eq!(rmgr_by_name("heap2"), Some(RM_HEAP2_ID));
        assert_eq!(rmgr_by_name("custom134"), Some(134));
        assert_eq!(rmgr_by_name("custom12"), None);
        assert_eq!(rmgr_by_name("nope"), None);
        assert!(is_valid_rmid(PgMajor::V13, 21));
        assert!(!is_valid_rmid(PgMajor::V14, 128));
        assert!(is_valid_rmid(PgMajor::V15, 128));
        assert!(!is_valid_rmid(PgMajor::V18, 22));
        assert_eq!(record_types_named(PgMajor::V15, RM_XACT_ID, "commit"), vec![0x00, 0x80]);
    }
}
