//! pg_waldump's text: the record line (`rmgr: ... desc: ...`) with the `desc`
//! part for the record types pitr decodes, in the layout of the major that
//! wrote the WAL (checked byte for byte against pg_waldump 15).
//!
//! Timestamps are printed in UTC (pg_waldump uses the local time zone).

use super::decode::{Decoded, InvalList, InvalMsg, PgTimestamp, StatsList, XactFinish, decode_record};
use super::record::{Record, RelFileLocator, fork_name};
use super::rmgr;
use crate::version::PgMajor;
use std::fmt::Write;

const GLOBALTABLESPACE_OID: u32 = 1664;
const DEFAULTTABLESPACE_OID: u32 = 1663;

/// The path of a relation fork as PostgreSQL prints it (`relpathperm`):
/// `base/5/16384`, `global/1262`, `pg_tblspc/16400/PG_15_202209061/5/16401`,
/// with `_fsm`, `_vm` or `_init` for other forks.
pub fn relpath(major: PgMajor, rel: RelFileLocator, fork: i32) -> String {
    let mut s = if rel.spc == GLOBALTABLESPACE_OID {
        format!("global/{}", rel.rel)
    } else if rel.spc == DEFAULTTABLESPACE_OID {
        format!("base/{}/{}", rel.db, rel.rel)
    } else {
        format!(
            "pg_tblspc/{}/PG_{}_{}/{}/{}",
            rel.spc,
            major.number(),
            major.catalog_version(),
            rel.db,
            rel.rel
        )
    };
    if fork != 0 {
        let name = u8::try_from(fork).map(fork_name).unwrap_or("?");
        s.push('_');
        s.push_str(name);
    }
    s
}

fn wal_level_name(level: i32) -> &'static str {
    match level {
        0 => "minimal",
        1 => "replica",
        2 => "logical",
        _ => "?",
    }
}

fn ts(t: PgTimestamp) -> String {
    t.waldump()
}

fn lossy(b: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(b)
}

fn desc_invals(out: &mut String, invals: &InvalList<'_>, db: u32, tsid: u32, init_file: bool) {
    if invals.is_empty() {
        return;
    }
    if init_file {
        let _ = write!(out, "; relcache init file inval dbid {db} tsid {tsid}");
    }
    out.push_str("; inval msgs:");
    for m in invals.iter() {
        let _ = match m {
            InvalMsg::Catcache { id } => write!(out, " catcache {id}"),
            InvalMsg::Catalog { cat } => write!(out, " catalog {cat}"),
            InvalMsg::Relcache { rel } => write!(out, " relcache {rel}"),
            InvalMsg::Smgr => write!(out, " smgr"),
            InvalMsg::Relmap { db } => write!(out, " relmap db {db}"),
            InvalMsg::Snapshot { rel } => write!(out, " snapshot {rel}"),
            InvalMsg::Relsync { rel } => write!(out, " relsync {rel}"),
            InvalMsg::Unknown { id } => write!(out, " unrecognized id {id}"),
        };
    }
}

fn desc_rels(
    out: &mut String,
    major: PgMajor,
    label: &str,
    rels: impl ExactSizeIterator<Item = RelFileLocator>,
) {
    if rels.len() == 0 {
        return;
    }
    let _ = write!(out, "; {label}:");
    for r in rels {
        out.push(' ');
        out.push_str(&relpath(major, r, 0));
    }
}

fn desc_subxacts(out: &mut String, subxacts: impl ExactSizeIterator<Item = u32>) {
    if subxacts.len() == 0 {
        return;
    }
    out.push_str("; subxacts:");
    for x in subxacts {
        let _ = write!(out, " {x}");
    }
}

fn desc_stats(out: &mut String, prefix: &str, stats: &StatsList<'_>) {
    if stats.is_empty() {
        return;
    }
    let _ = write!(out, "; {prefix}dropped stats:");
    for s in stats.iter() {
        let _ = write!(out, " {}/{}/{}", s.kind, s.db, s.objid);
    }
}

fn desc_finish(out: &mut String, major: PgMajor, x: &XactFinish<'_>, origin_id: Option<u16>) {
    use super::decode::xinfo::*;
    if let Some(xid) = x.twophase_xid {
        if xid != 0 {
            let _ = write!(out, "{xid}: ");
        }
    }
    out.push_str(&ts(x.time));
    desc_rels(out, major, "rels", x.rels.iter());
    desc_subxacts(out, x.subxacts.iter());
    let origin = |out: &mut String| {
        if let Some((lsn, t)) = x.origin {
            let _ = write!(out, "; origin: node {}, lsn {}, at {}", origin_id.unwrap_or(0), lsn, ts(t));
        }
    };
    if x.kind.is_commit() {
        desc_stats(out, "", &x.dropped_stats);
        let (db, tsid) = x.db.unwrap_or((0, 0));
        desc_invals(out, &x.invals, db, tsid, x.xinfo & UPDATE_RELCACHE_FILE != 0);
        if major >= PgMajor::V15 && x.xinfo & APPLY_FEEDBACK != 0 {
            out.push_str("; apply_feedback");
        }
        if x.xinfo & FORCE_SYNC_COMMIT != 0 {
            out.push_str("; sync");
        }
        origin(out);
    } else {
        origin(out);
        desc_stats(out, "", &x.dropped_stats);
    }
}

/// Writes the `desc` part of pg_waldump's line for a decoded record (what
/// follows the record type name and a space); nothing for the types pitr does
/// not decode or when the record's bytes were not kept.
pub fn describe(rec: &Record<'_>, out: &mut String) {
    let major = rec.major;
    let d = match decode_record(rec) {
        Ok(d) => d,
        Err(e) => {
            let _ = write!(out, "<undecodable: {}>", e.message);
            return;
        }
    };
    match d {
        Decoded::Checkpoint { shutdown, checkpoint: c } => {
            let _ = write!(
                out,
                "redo {}; tli {}; prev tli {}; fpw {}; ",
                c.redo, c.timeline, c.prev_timeline, c.full_page_writes
            );
            if let Some(w) = c.wal_level {
                let _ = write!(out, "wal_level {}; ", wal_level_name(w));
            }
            let _ = write!(
                out,
                "xid {}:{}; oid {}; multi {}; offset {}; oldest xid {} in DB {}; oldest multi {} in DB {}; oldest/newest commit timestamp xid: {}/{}; oldest running xid {}; {}",
                c.next_xid >> 32,
                c.next_xid as u32,
                c.next_oid,
                c.next_multi,
                c.next_multi_offset,
                c.oldest_xid,
                c.oldest_xid_db,
                c.oldest_multi,
                c.oldest_multi_db,
                c.oldest_commit_ts_xid,
                c.newest_commit_ts_xid,
                c.oldest_active_xid,
                if shutdown { "shutdown" } else { "online" }
            );
        }
        Decoded::NextOid(oid) => {
            let _ = write!(out, "{oid}");
        }
        Decoded::Switch => {}
        Decoded::BackupEnd(lsn) => {
            let _ = write!(out, "{lsn}");
        }
        Decoded::ParameterChange(p) => {
            let onoff = |b: bool| if b { "on" } else { "off" };
            let _ = write!(
                out,
                "max_connections={} max_worker_processes={} max_wal_senders={} max_prepared_xacts={} max_locks_per_xact={} wal_level={} wal_log_hints={} track_commit_timestamp={}",
                p.max_connections,
                p.max_worker_processes,
                p.max_wal_senders,
                p.max_prepared_xacts,
                p.max_locks_per_xact,
                wal_level_name(p.wal_level),
                onoff(p.wal_log_hints),
                onoff(p.track_commit_timestamp)
            );
        }
        Decoded::RestorePoint { name, .. } => out.push_str(&lossy(name)),
        Decoded::FpwChange(b) => out.push_str(if b { "true" } else { "false" }),
        Decoded::EndOfRecovery(e) => {
            let _ = write!(out, "tli {}; prev tli {}; time {}", e.timeline, e.prev_timeline, ts(e.time));
            if let Some(w) = e.wal_level {
                let _ = write!(out, "; wal_level {}", wal_level_name(w));
            }
        }
        Decoded::OverwriteContrecord { overwritten_lsn, time } => {
            let _ = write!(out, "lsn {}; time {}", overwritten_lsn, ts(time));
        }
        Decoded::CheckpointRedo { wal_level } => {
            let _ = write!(out, "wal_level {}", wal_level_name(wal_level));
        }
        Decoded::XactFinish(x) => desc_finish(out, major, &x, rec.origin),
        Decoded::XactPrepare(p) => {
            let _ = write!(out, "gid {}: {}", lossy(p.gid), ts(p.prepared_at));
            desc_rels(out, major, "rels(commit)", p.commit_rels.iter());
            desc_rels(out, major, "rels(abort)", p.abort_rels.iter());
            desc_stats(out, "commit ", &p.commit_stats);
            desc_stats(out, "abort ", &p.abort_stats);
            desc_subxacts(out, p.subxacts.iter());
            desc_invals(out, &p.invals, p.db, 0, p.init_file_inval);
        }
        Decoded::XactAssignment { xtop, subxacts } => {
            let _ = write!(out, "xtop {xtop}: subxacts:");
            for x in subxacts.iter() {
                let _ = write!(out, " {x}");
            }
        }
        Decoded::XactInvalidations(invals) => desc_invals(out, &invals, 0, 0, false),
        Decoded::SmgrCreate { rel, fork } => out.push_str(&relpath(major, rel, fork)),
        Decoded::SmgrTruncate { blkno, rel, flags } => {
            let _ = write!(out, "{} to {} blocks flags {}", relpath(major, rel, 0), blkno, flags);
        }
        Decoded::HeapTruncate { flags, relids, .. } => {
            if major >= PgMajor::V16 {
                let mut f = Vec::new();
                if flags & 0x01 != 0 {
                    f.push("CASCADE");
                }
                if flags & 0x02 != 0 {
                    f.push("RESTART_SEQS");
                }
                let ids: Vec<String> = relids.iter().map(|r| r.to_string()).collect();
                let _ = write!(
                    out,
                    "flags: [{}], nrelids: {}, relids: [{}]",
                    f.join(", "),
                    relids.len(),
                    ids.join(", ")
                );
            } else {
                if flags & 0x01 != 0 {
                    out.push_str("cascade ");
                }
                if flags & 0x02 != 0 {
                    out.push_str("restart_seqs ");
                }
                let _ = write!(out, "nrelids {} relids", relids.len());
                for r in relids.iter() {
                    let _ = write!(out, " {r}");
                }
            }
        }
        Decoded::StandbyLocks(locks) => {
            for l in super::decode::StandbyLock::iter(locks) {
                let _ = write!(out, "xid {} db {} rel {} ", l.xid, l.db, l.rel);
            }
        }
        Decoded::RunningXacts(r) => {
            let _ = write!(
                out,
                "nextXid {} latestCompletedXid {} oldestRunningXid {}",
                r.next_xid, r.latest_completed_xid, r.oldest_running_xid
            );
            if !r.xids.is_empty() {
                let _ = write!(out, "; {} xacts:", r.xids.len());
                for x in r.xids.iter() {
                    let _ = write!(out, " {x}");
                }
            }
            if major >= PgMajor::V16 {
                if r.subxid_overflow {
                    out.push_str("; subxid overflowed");
                }
                if !r.subxids.is_empty() {
                    let _ = write!(out, "; {} subxacts:", r.subxids.len());
                    for x in r.subxids.iter() {
                        let _ = write!(out, " {x}");
                    }
                }
            } else if r.subxid_overflow {
                out.push_str("; subxid ovf");
            }
        }
        Decoded::StandbyInvalidations { db, ts: tsid, relcache_init_file, invals } => {
            desc_invals(out, &invals, db, tsid, relcache_init_file)
        }
        Decoded::DbCreateFileCopy { db, ts: tsid, src_db, src_ts } => {
            let _ = write!(out, "copy dir {src_ts}/{src_db} to {tsid}/{db}");
        }
        Decoded::DbCreateWalLog { db, ts: tsid } => {
            let _ = write!(out, "create dir {tsid}/{db}");
        }
        Decoded::DbDrop { db, tablespaces } => {
            out.push_str("dir");
            for t in tablespaces.iter() {
                let _ = write!(out, " {t}/{db}");
            }
        }
        Decoded::LogicalMessage { transactional, prefix, message, .. } => {
            if major <= PgMajor::V13 {
                let _ = write!(
                    out,
                    "{} message size {} bytes",
                    if transactional { "transactional" } else { "nontransactional" },
                    message.len()
                );
            } else {
                let _ = write!(
                    out,
                    "{}, prefix \"{}\"; payload ({} bytes): ",
                    if transactional { "transactional" } else { "non-transactional" },
                    lossy(prefix),
                    message.len()
                );
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.reserve(message.len() * 3);
                for (i, b) in message.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    out.push(char::from(HEX[usize::from(b >> 4)]));
                    out.push(char::from(HEX[usize::from(b & 15)]));
                }
            }
        }
        Decoded::Other => {}
    }
}

/// Writes pg_waldump's line for a record (without the trailing newline):
/// `rmgr: %-11s len (rec/tot): %6u/%6u, tx: %10u, lsn: %X/%08X, prev %X/%08X, desc: TYPE desc[, blkref ...]`.
pub fn waldump_line(rec: &Record<'_>, out: &mut String) {
    let _ = write!(
        out,
        "rmgr: {:<11} len (rec/tot): {:>6}/{:>6}, tx: {:>10}, lsn: {}, prev {}, desc: {} ",
        rec.rmgr_name(),
        rec.rec_len(),
        rec.tot_len(),
        rec.xid(),
        rec.lsn.padded(),
        rec.prev().padded(),
        rmgr::record_type_label(rec.major, rec.rmid(), rec.info()),
    );
    describe(rec, out);
    for b in rec.blocks() {
        let _ = write!(out, ", blkref #{}: rel {}", b.id, b.rel);
        if b.fork != 0 {
            let _ = write!(out, " fork {}", b.fork_name());
        }
        let _ = write!(out, " blk {}", b.block);
        if let Some(img) = b.image {
            out.push_str(if img.apply { " FPW" } else { " FPW for WAL verification" });
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn relpaths() {
        let r = |spc, db, rel| RelFileLocator { spc, db, rel };
        assert_eq!(relpath(PgMajor::V15, r(1663, 5, 16384), 0), "base/5/16384");
        assert_eq!(relpath(PgMajor::V15, r(1663, 5, 16384), 2), "base/5/16384_vm");
        assert_eq!(relpath(PgMajor::V15, r(1664, 0, 1262), 1), "global/1262_fsm");
        assert_eq!(relpath(PgMajor::V15, r(16400, 5, 16401), 0), "pg_tblspc/16400/PG_15_202209061/5/16401");
    }
}
