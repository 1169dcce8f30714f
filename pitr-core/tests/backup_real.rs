//! Base backups, `backup_manifest` and `pg_control` against real PostgreSQL
//! 13 to 18: what pitr reads must be what the server (SQL functions,
//! `pg_controldata`, `pg_verifybackup`) says, and what pitr restores must start.
//!
//! Backups come from `pg_basebackup` 15 (which also backs up 13 and 14
//! servers), and for 16 to 18 from the server itself (`BASE_BACKUP ... TARGET
//! 'server'` over a replication connection): that is how real version 2
//! manifests (17, 18) are produced here.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use pitr_core::backup::extract::{ExtractOptions, extract};
use pitr_core::backup::verify::{VerifyOptions, verify};
use pitr_core::backup::{Backup, BackupFormat, Severity, TarKind, archive_status};
use pitr_core::control::{ControlFile, DbState};
use pitr_core::manifest::{Manifest, with_recomputed_checksum};
use pitr_core::walfile::Compression;
use pitr_core::{Lsn, PgMajor};
use pitr_testkit::{BackupKind, Cluster, give_to_server_user, majors_under_test, pg_tool};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn cols(line: &str) -> Vec<String> {
    line.split('|').map(str::to_string).collect()
}

fn on_off(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}

/// pg_control's time as `pg_controldata` prints it with `LC_ALL=C TZ=UTC` (`%c`).
fn ctime(t: pitr_core::control::PgTime) -> String {
    t.timestamp().unwrap().strftime("%a %b %e %H:%M:%S %Y").to_string()
}

#[test]
fn pg_control_of_every_major_matches_the_server() {
    for major in majors_under_test() {
        let mut c = Cluster::new(major);
        c.sql("CREATE TABLE t AS SELECT generate_series(1, 1000) i; CHECKPOINT");
        let path = c.pgdata().join("global/pg_control");
        // SQL and file agree once no checkpoint runs in between: retry if one did.
        let (cf, row) = (0..5)
            .find_map(|_| {
                let row = cols(&c.sql(
                    "SELECT s.pg_control_version, s.catalog_version_no, s.system_identifier, \
                       extract(epoch from s.pg_control_last_modified)::bigint, \
                       c.checkpoint_lsn, c.redo_lsn, c.redo_wal_file, c.timeline_id, c.prev_timeline_id, \
                       c.full_page_writes, c.next_xid, c.next_oid, c.next_multixact_id, c.next_multi_offset, \
                       c.oldest_xid, c.oldest_xid_dbid, c.oldest_active_xid, c.oldest_multi_xid, \
                       c.oldest_multi_dbid, c.oldest_commit_ts_xid, c.newest_commit_ts_xid, \
                       extract(epoch from c.checkpoint_time)::bigint, \
                       r.min_recovery_end_lsn, r.min_recovery_end_timeline, r.backup_start_lsn, \
                       r.backup_end_lsn, r.end_of_backup_record_required, \
                       i.max_data_alignment, i.database_block_size, i.blocks_per_segment, i.wal_block_size, \
                       i.bytes_per_wal_segment, i.max_identifier_length, i.max_index_columns, \
                       i.max_toast_chunk_size, i.large_object_chunk_size, i.float8_pass_by_value, \
                       i.data_page_checksum_version \
                     FROM pg_control_system() s, pg_control_checkpoint() c, pg_control_recovery() r, \
                       pg_control_init() i",
                ));
                let cf = ControlFile::read(&path).unwrap();
                (cf.checkpoint.to_string() == row[4]).then_some((cf, row))
            })
            .expect("pg_control kept changing");
        let k = &cf.checkpoint_copy;
        let t = |b: bool| if b { "t" } else { "f" };
        let ours: Vec<String> = vec![
            cf.pg_control_version.to_string(),
            cf.catalog_version.to_string(),
            cf.system_identifier.to_string(),
            cf.time.0.to_string(),
            cf.checkpoint.to_string(),
            k.redo.to_string(),
            cf.redo_wal_file().to_string(),
            k.timeline.to_string(),
            k.prev_timeline.to_string(),
            t(k.full_page_writes).into(),
            k.next_xid.to_string(),
            k.next_oid.to_string(),
            k.next_multi.to_string(),
            k.next_multi_offset.to_string(),
            k.oldest_xid.to_string(),
            k.oldest_xid_db.to_string(),
            k.oldest_active_xid.to_string(),
            k.oldest_multi.to_string(),
            k.oldest_multi_db.to_string(),
            k.oldest_commit_ts_xid.to_string(),
            k.newest_commit_ts_xid.to_string(),
            k.time.0.to_string(),
            cf.min_recovery_point.to_string(),
            cf.min_recovery_point_timeline.to_string(),
            cf.backup_start_point.to_string(),
            cf.backup_end_point.to_string(),
            t(cf.backup_end_required).into(),
            cf.max_align.to_string(),
            cf.block_size.to_string(),
            cf.relseg_size.to_string(),
            cf.wal_block_size.to_string(),
            cf.wal_segment_size.bytes().to_string(),
            cf.name_data_len.to_string(),
            cf.index_max_keys.to_string(),
            cf.toast_max_chunk_size.to_string(),
            cf.large_object_chunk_size.to_string(),
            t(cf.float8_by_val).into(),
            cf.data_checksum_version.to_string(),
        ];
        assert_eq!(ours, row, "PostgreSQL {major}");
        assert_eq!(cf.major, PgMajor::from_number(major).unwrap());
        assert!(cf.crc_ok());
        assert_eq!(cf.state, DbState::InProduction);
        if major >= 18 {
            let signed = c.sql("SELECT default_char_signedness FROM pg_control_init()");
            assert_eq!(cf.default_char_signedness.map(t), Some(signed.as_str()));
        } else {
            assert_eq!(cf.default_char_signedness, None);
        }
        if major >= 17 {
            assert_eq!(k.wal_level.map(|w| w.to_string()).as_deref(), Some("replica"));
        } else {
            assert_eq!(k.wal_level, None);
        }
        // Settings recorded at startup.
        let settings = cols(&c.sql(
            "SELECT current_setting('wal_level') || '|' || current_setting('max_connections') || '|' || \
               current_setting('max_worker_processes') || '|' || current_setting('max_wal_senders') || '|' || \
               current_setting('max_prepared_transactions') || '|' || \
               current_setting('max_locks_per_transaction') || '|' || \
               current_setting('track_commit_timestamp') || '|' || current_setting('wal_log_hints')",
        ));
        let ours = vec![
            cf.wal_level.to_string(),
            cf.max_connections.to_string(),
            cf.max_worker_processes.to_string(),
            cf.max_wal_senders.to_string(),
            cf.max_prepared_xacts.to_string(),
            cf.max_locks_per_xact.to_string(),
            on_off(cf.track_commit_timestamp).to_string(),
            on_off(cf.wal_log_hints).to_string(),
        ];
        assert_eq!(ours, settings, "PostgreSQL {major}");
        assert!(cf.track_commit_timestamp && cf.max_prepared_xacts == 10);

        // After a clean shutdown: state and every line pg_controldata prints.
        c.stop();
        let cf = ControlFile::read(&path).unwrap();
        assert_eq!(cf.state, DbState::ShutDown);
        assert_eq!(cf.state.to_string(), "shut down");
        if cf.pg_control_version <= 1700 {
            // pg_controldata 15 reads the 13..17 layout (the CRC sits at 288).
            compare_with_pg_controldata(c.pgdata(), &cf, major);
        }
    }
}

fn compare_with_pg_controldata(pgdata: &Path, cf: &ControlFile, major: u32) {
    let out = Command::new(pg_tool("pg_controldata"))
        .arg("-D")
        .arg(pgdata)
        .env("LC_ALL", "C")
        .env("TZ", "UTC")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("WARNING"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: BTreeMap<&str, &str> =
        text.lines().filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim(), v.trim())).collect();
    let k = &cf.checkpoint_copy;
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    let expected: Vec<(&str, String)> = vec![
        ("pg_control version number", cf.pg_control_version.to_string()),
        ("Catalog version number", cf.catalog_version.to_string()),
        ("Database system identifier", cf.system_identifier.to_string()),
        ("Database cluster state", cf.state.to_string()),
        ("pg_control last modified", ctime(cf.time)),
        ("Latest checkpoint location", cf.checkpoint.to_string()),
        ("Latest checkpoint's REDO location", k.redo.to_string()),
        ("Latest checkpoint's REDO WAL file", cf.redo_wal_file().to_string()),
        ("Latest checkpoint's TimeLineID", k.timeline.to_string()),
        ("Latest checkpoint's PrevTimeLineID", k.prev_timeline.to_string()),
        ("Latest checkpoint's full_page_writes", on_off(k.full_page_writes).into()),
        ("Latest checkpoint's NextXID", k.next_xid.to_string()),
        ("Latest checkpoint's NextOID", k.next_oid.to_string()),
        ("Latest checkpoint's NextMultiXactId", k.next_multi.to_string()),
        ("Latest checkpoint's NextMultiOffset", k.next_multi_offset.to_string()),
        ("Latest checkpoint's oldestXID", k.oldest_xid.to_string()),
        ("Latest checkpoint's oldestXID's DB", k.oldest_xid_db.to_string()),
        ("Latest checkpoint's oldestActiveXID", k.oldest_active_xid.to_string()),
        ("Latest checkpoint's oldestMultiXid", k.oldest_multi.to_string()),
        ("Latest checkpoint's oldestMulti's DB", k.oldest_multi_db.to_string()),
        ("Latest checkpoint's oldestCommitTsXid", k.oldest_commit_ts_xid.to_string()),
        ("Latest checkpoint's newestCommitTsXid", k.newest_commit_ts_xid.to_string()),
        ("Time of latest checkpoint", ctime(k.time)),
        ("Fake LSN counter for unlogged rels", cf.unlogged_lsn.to_string()),
        ("Minimum recovery ending location", cf.min_recovery_point.to_string()),
        ("Min recovery ending loc's timeline", cf.min_recovery_point_timeline.to_string()),
        ("Backup start location", cf.backup_start_point.to_string()),
        ("Backup end location", cf.backup_end_point.to_string()),
        ("End-of-backup record required", yes_no(cf.backup_end_required).into()),
        ("wal_level setting", cf.wal_level.to_string()),
        ("wal_log_hints setting", on_off(cf.wal_log_hints).into()),
        ("max_connections setting", cf.max_connections.to_string()),
        ("max_worker_processes setting", cf.max_worker_processes.to_string()),
        ("max_wal_senders setting", cf.max_wal_senders.to_string()),
        ("max_prepared_xacts setting", cf.max_prepared_xacts.to_string()),
        ("max_locks_per_xact setting", cf.max_locks_per_xact.to_string()),
        ("track_commit_timestamp setting", on_off(cf.track_commit_timestamp).into()),
        ("Maximum data alignment", cf.max_align.to_string()),
        ("Database block size", cf.block_size.to_string()),
        ("Blocks per segment of large relation", cf.relseg_size.to_string()),
        ("WAL block size", cf.wal_block_size.to_string()),
        ("Bytes per WAL segment", cf.wal_segment_size.bytes().to_string()),
        ("Maximum length of identifiers", cf.name_data_len.to_string()),
        ("Maximum columns in an index", cf.index_max_keys.to_string()),
        ("Maximum size of a TOAST chunk", cf.toast_max_chunk_size.to_string()),
        ("Size of a large-object chunk", cf.large_object_chunk_size.to_string()),
        ("Float8 argument passing", if cf.float8_by_val { "by value" } else { "by reference" }.into()),
        ("Data page checksum version", cf.data_checksum_version.to_string()),
        ("Mock authentication nonce", cf.mock_authentication_nonce.clone()),
    ];
    for (key, want) in expected {
        assert_eq!(theirs.get(key).copied(), Some(want.as_str()), "PostgreSQL {major}: {key}");
    }
}

/// `pg_basebackup` (the Debian 15 client, which also backs up 13 and 14
/// servers) into a new directory; returns it.
fn pg_basebackup(c: &Cluster, name: &str, args: &[&str]) -> PathBuf {
    let dir = c.work_dir().join(name);
    let out = Command::new(pg_tool("pg_basebackup"))
        .arg("-D")
        .arg(&dir)
        .args(["-h", "127.0.0.1", "-U", "postgres", "-c", "fast", "-N", "-l", "pitr test"])
        .arg("-p")
        .arg(c.port().to_string())
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "pg_basebackup {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    c.wait_archived();
    dir
}

/// A backup written by the server itself (`BASE_BACKUP ... TARGET 'server'`,
/// 15 and later), sent over a replication connection with psql. psql does not
/// understand the reply stream and exits non-zero once the server is done;
/// the files are complete by then.
fn server_side_backup(c: &Cluster, name: &str, compression: Option<&str>) -> PathBuf {
    let dir = c.work_dir().join(name);
    let compression = compression.map(|m| format!(", COMPRESSION '{m}'")).unwrap_or_default();
    let cmd = format!(
        "BASE_BACKUP (LABEL 'pitr server-side', CHECKPOINT 'fast', MANIFEST 'yes', \
         TARGET 'server', TARGET_DETAIL '{}'{compression})",
        dir.display()
    );
    let out = Command::new(pg_tool("psql"))
        .arg(format!("host=127.0.0.1 port={} user=postgres dbname=postgres replication=database", c.port()))
        .args(["-X", "-A", "-t", "-c", &cmd])
        .output()
        .unwrap();
    let manifest = dir.join("backup_manifest");
    Manifest::read(&manifest).unwrap_or_else(|e| {
        panic!("server-side backup of {}: {e}\n{}", c.major(), String::from_utf8_lossy(&out.stderr))
    });
    dir
}

/// A cluster with a tablespace holding table `ts_t` (1000 rows) and a table
/// `big` in the default tablespace.
fn cluster_with_tablespace(major: u32) -> (Cluster, PathBuf, u32) {
    let c = Cluster::new(major);
    let ts = c.scratch_dir("ts1");
    c.sql(&format!("CREATE TABLESPACE t1 LOCATION '{}'", ts.display()));
    c.sql("CREATE TABLE ts_t TABLESPACE t1 AS SELECT generate_series(1, 1000) i");
    c.sql("CREATE TABLE big AS SELECT generate_series(1, 20000) i, md5(random()::text) m");
    let oid: u32 = c.sql("SELECT oid FROM pg_tablespace WHERE spcname = 't1'").parse().unwrap();
    (c, ts, oid)
}

fn errors(problems: &[pitr_core::backup::Problem]) -> Vec<String> {
    problems.iter().filter(|p| p.severity == Severity::Error).map(|p| p.message.clone()).collect()
}

fn read_all(path: &Path) -> Vec<u8> {
    let mut v = Vec::new();
    pitr_core::compress::open(path).unwrap().read_to_end(&mut v).unwrap();
    v
}

/// Rewrites a (possibly gzip-compressed) tar: `edit` sees each member's
/// path and contents and returns the new contents (`None` drops it); `extra`
/// members are appended.
fn rewrite_tar(
    src: &Path,
    dst: &Path,
    mut edit: impl FnMut(&str, Vec<u8>) -> Option<Vec<u8>>,
    extra: &[(&str, &[u8])],
) {
    let data = read_all(src);
    let mut ar = tar::Archive::new(&data[..]);
    let mut out = tar::Builder::new(Vec::new());
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let path = e.path().unwrap().to_string_lossy().into_owned();
        let mut header = e.header().clone();
        let mut body = Vec::new();
        e.read_to_end(&mut body).unwrap();
        let Some(body) = edit(&path, body) else { continue };
        header.set_size(body.len() as u64);
        out.append_data(&mut header, &path, &body[..]).unwrap();
    }
    for (name, body) in extra {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o600);
        h.set_size(body.len() as u64);
        out.append_data(&mut h, name, *body).unwrap();
    }
    let bytes = out.into_inner().unwrap();
    let gz = dst.extension().is_some_and(|e| e == "gz");
    let bytes = if gz {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&bytes).unwrap();
        enc.finish().unwrap()
    } else {
        bytes
    };
    fs::write(dst, bytes).unwrap();
}

fn copy_dir(src: &Path, dst: &Path) {
    fs::create_dir_all(dst).unwrap();
    for e in fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), dst.join(e.file_name())).unwrap();
    }
}

#[test]
fn pg_basebackup_tar_gzip_is_read_verified_tampered_and_restored() {
    let (c, ts_dir, oid) = cluster_with_tablespace(15);
    let sysid = c.sql("SELECT system_identifier FROM pg_control_system()");
    let b = c.base_backup(BackupKind::Tar { gzip: true });

    let backup = Backup::open(&b.dir).unwrap();
    assert_eq!(backup.format, BackupFormat::Tar);
    let names: Vec<(&str, TarKind, Option<Compression>)> =
        backup.tars.iter().map(|t| (t.name.as_str(), t.kind, t.compression)).collect();
    let ts_tar = format!("{oid}.tar.gz");
    assert_eq!(
        names,
        vec![
            ("base.tar.gz", TarKind::Base, Some(Compression::Gzip)),
            (ts_tar.as_str(), TarKind::Tablespace { oid }, Some(Compression::Gzip)),
            ("pg_wal.tar.gz", TarKind::Wal, Some(Compression::Gzip)),
        ]
    );
    assert_eq!(backup.label.as_ref().unwrap().text, b.label);
    let label = backup.backup_label().unwrap();
    assert_eq!(label.start.lsn, Lsn::parse(&b.start_lsn).unwrap());
    assert_eq!(label.label.as_deref(), Some("pitr test backup"));
    assert_eq!(backup.control.as_ref().unwrap().system_identifier.to_string(), sysid);
    assert_eq!(backup.pg_version.as_deref(), Some("15"));
    let map = backup.tablespace_map.as_ref().unwrap();
    assert_eq!(map.entries.len(), 1);
    assert_eq!((map.entries[0].oid, map.entries[0].location()), (oid, ts_dir.clone()));
    let ts = &backup.tablespaces[0];
    assert_eq!(
        (ts.oid, ts.archive.as_deref(), ts.location.as_deref()),
        (oid, Some(ts_tar.as_str()), Some(&*ts_dir))
    );
    assert!(ts.files >= 1 && ts.bytes >= 8192, "{ts:?}");
    let m = backup.manifest.as_ref().unwrap();
    assert_eq!(m.version, 1);
    assert!(backup.manifest_checksum_ok);
    assert_eq!(m.wal_ranges.len(), 1);
    assert_eq!(m.wal_ranges[0].start_lsn, Lsn::parse(&b.start_lsn).unwrap());
    assert_eq!(m.wal_ranges[0].end_lsn, Lsn::parse(&b.stop_lsn).unwrap());
    assert!(
        !backup.wal.is_empty() && backup.wal.iter().all(|w| w.archive.as_deref() == Some("pg_wal.tar.gz"))
    );
    // Every manifest file is in the listing with its size.
    let listed: BTreeMap<_, _> = backup.files.iter().map(|f| (f.path.clone(), f.size)).collect();
    for f in &m.files {
        assert_eq!(listed.get(&f.path), Some(&f.size), "{}", f.path);
    }
    assert!(errors(&backup.problems).is_empty(), "{:?}", backup.problems);

    // Verification: clean, then WAL from the archive too.
    let (_, r) = verify(&b.dir, &VerifyOptions::default()).unwrap();
    assert!(r.ok, "{:?}", r.problems);
    assert_eq!(r.manifest_files, m.files.len());
    // Everything but what pg_verifybackup ignores (postgresql.auto.conf here).
    let ignored = ["backup_manifest", "pg_wal", "postgresql.auto.conf", "recovery.signal", "standby.signal"];
    let checked: u64 = m
        .files
        .iter()
        .filter(|f| !ignored.iter().any(|i| f.path.is_under(i.as_bytes())))
        .map(|f| f.size)
        .sum();
    assert_eq!(r.bytes_checksummed, checked);
    assert_eq!(r.wal.source.as_deref(), Some("the backup's pg_wal"));
    let opts = VerifyOptions { archive: Some(c.archive_dir().to_path_buf()), ..Default::default() };
    let (_, r) = verify(&b.dir, &opts).unwrap();
    assert!(r.ok && r.wal.ranges[0].missing.is_empty(), "{:?}", r.problems);

    // Tampering with base.tar.gz: a flipped byte, a changed size, an extra
    // file, a missing file; each caught with pg_verifybackup's words.
    let size_of = |p: &str| m.files.iter().find(|f| f.path.as_str() == Some(p)).unwrap().size;
    type Edit = Box<dyn Fn(&str, Vec<u8>) -> Option<Vec<u8>>>;
    type Extra<'a> = Vec<(&'a str, &'a [u8])>;
    let cases: Vec<(&str, Edit, Extra<'_>, String)> = vec![
        (
            "flipped byte",
            Box::new(|p, mut d| {
                if p == "global/1262" {
                    d[100] ^= 0x40;
                }
                Some(d)
            }),
            vec![],
            "checksum mismatch for file \"global/1262\" in archive \"base.tar.gz\"".to_string(),
        ),
        (
            "changed size",
            Box::new(|p, mut d| {
                if p == "global/1260" {
                    d.push(0);
                }
                Some(d)
            }),
            vec![],
            format!(
                "file \"global/1260\" has size {} in archive \"base.tar.gz\" but size {} in the manifest",
                size_of("global/1260") + 1,
                size_of("global/1260")
            ),
        ),
        (
            "extra file",
            Box::new(|_, d| Some(d)),
            vec![("base/extra_file", &b"surprise"[..])],
            "file \"base/extra_file\" is present in archive \"base.tar.gz\" but not in the manifest"
                .to_string(),
        ),
        (
            "missing file",
            Box::new(|p, d| (p != "global/1213").then_some(d)),
            vec![],
            "\"global/1213\" is present in the manifest but not on disk".to_string(),
        ),
    ];
    for (what, edit, extra, want) in cases {
        let t = c.work_dir().join(format!("tampered-{}", what.replace(' ', "-")));
        copy_dir(&b.dir, &t);
        rewrite_tar(&b.dir.join("base.tar.gz"), &t.join("base.tar.gz"), edit, &extra);
        let (_, r) = verify(&t, &VerifyOptions::default()).unwrap();
        assert!(!r.ok, "{what}");
        assert_eq!(errors(&r.problems), vec![want], "{what}");
    }

    // A damaged manifest is refused as a whole.
    let t = c.work_dir().join("tampered-manifest");
    copy_dir(&b.dir, &t);
    let text = fs::read_to_string(t.join("backup_manifest")).unwrap().replacen(
        "\"Size\": 8192",
        "\"Size\": 8193",
        1,
    );
    fs::write(t.join("backup_manifest"), text).unwrap();
    let (_, r) = verify(&t, &VerifyOptions::default()).unwrap();
    assert_eq!(r.problems.iter().map(|p| p.code).collect::<Vec<_>>(), vec!["manifest_checksum"]);
    assert!(r.problems[0].message.contains("manifest checksum mismatch"));

    // Restore with the tablespace relocated; the server starts on it and
    // finds the data where the new tablespace_map says.
    let target = c.work_dir().join("restored");
    let new_ts = c.work_dir().join("restored_ts");
    let opts = ExtractOptions { tablespace_oids: [(oid, new_ts.clone())].into(), ..Default::default() };
    let report = extract(&backup, &target, &opts).unwrap();
    assert!(report.tablespace_map_rewritten);
    assert_eq!(report.tablespaces[0].location, new_ts);
    assert!(report.wal_files >= 1);
    assert_eq!(
        fs::read_to_string(target.join("tablespace_map")).unwrap(),
        format!("{oid} {}\n", new_ts.display())
    );
    assert_eq!(fs::read_link(target.join(format!("pg_tblspc/{oid}"))).unwrap(), new_ts);
    give_to_server_user(&new_ts);
    let r = Cluster::adopt(15, &target).conf("archive_mode", "off").start();
    assert!(r.wait_ready(Duration::from_secs(60)));
    assert_eq!(r.sql("SELECT count(*) FROM ts_t"), "1000");
    assert_eq!(r.sql("SELECT count(*) FROM big"), "20000");
    assert_eq!(
        r.sql("SELECT pg_tablespace_location(oid) FROM pg_tablespace WHERE spcname = 't1'"),
        new_ts.display().to_string()
    );
}

#[test]
fn pg_basebackup_lz4_and_zstd_and_13_14_servers() {
    let (c, _ts, oid) = cluster_with_tablespace(15);
    for (name, args, comp) in [
        ("client-lz4", ["-Ft", "--compress=client-lz4"], Compression::Lz4),
        ("server-zstd", ["-Ft", "--compress=server-zstd"], Compression::Zstd),
    ] {
        let dir = pg_basebackup(&c, name, &args);
        let backup = Backup::open(&dir).unwrap();
        let kinds: Vec<(TarKind, Option<Compression>)> =
            backup.tars.iter().map(|t| (t.kind, t.compression)).collect();
        // Only gzip applies to the WAL tar.
        assert_eq!(
            kinds,
            vec![
                (TarKind::Base, Some(comp)),
                (TarKind::Tablespace { oid }, Some(comp)),
                (TarKind::Wal, None)
            ],
            "{name}"
        );
        let (_, r) = verify(&dir, &VerifyOptions::default()).unwrap();
        assert!(r.ok, "{name}: {:?}", r.problems);
        assert!(r.bytes_checksummed > 1_000_000);

        // Extract, put the manifest beside it, and verify the result as a
        // plain backup: every byte came out where the manifest says.
        let target = c.work_dir().join(format!("{name}-restored"));
        let new_ts = c.work_dir().join(format!("{name}-ts"));
        let opts = ExtractOptions {
            tablespace_oids: [(oid, new_ts.clone())].into(),
            fsync: false,
            ..Default::default()
        };
        extract(&backup, &target, &opts).unwrap();
        fs::copy(dir.join("backup_manifest"), target.join("backup_manifest")).unwrap();
        // tablespace_map was rewritten for the new location.
        assert_eq!(
            fs::read_to_string(target.join("tablespace_map")).unwrap(),
            format!("{oid} {}\n", new_ts.display())
        );
        let opts = VerifyOptions { ignore: vec!["tablespace_map".into()], ..Default::default() };
        let (restored, r) = verify(&target, &opts).unwrap();
        assert_eq!(restored.format, BackupFormat::Plain);
        assert!(r.ok, "{name} extracted: {:?}", r.problems);
        assert_eq!(restored.tablespaces[0].location.as_deref(), Some(&*new_ts));
    }

    // pg_basebackup 15 also backs up 13 and 14 servers: real manifests from them.
    for major in majors_under_test().into_iter().filter(|m| *m < 15) {
        let (c, _ts, oid) = cluster_with_tablespace(major);
        let dir = pg_basebackup(&c, "tar", &["-Ft", "-z"]);
        let backup = Backup::open(&dir).unwrap();
        assert_eq!(backup.major(), PgMajor::from_number(major));
        assert_eq!(backup.tablespace_map.as_ref().unwrap().entries[0].oid, oid);
        let (_, r) =
            verify(&dir, &VerifyOptions { archive: Some(c.archive_dir().into()), ..Default::default() })
                .unwrap();
        assert!(r.ok, "{major}: {:?}", r.problems);
        assert_eq!(r.manifest_version, Some(1));
        let plain = pg_basebackup(
            &c,
            "plain",
            &["-Fp", "-T", &format!("{}={}", _ts.display(), c.work_dir().join("plain_ts").display())],
        );
        let (_, r) = verify(&plain, &VerifyOptions::default()).unwrap();
        assert!(r.ok, "{major} plain: {:?}", r.problems);
    }
}

/// Lines `pg_verifybackup -n` prints as errors.
fn pg_verifybackup_errors(dir: &Path) -> BTreeSet<String> {
    let out = Command::new(pg_tool("pg_verifybackup")).arg("-n").arg(dir).output().unwrap();
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter_map(|l| l.strip_prefix("pg_verifybackup: error: "))
        .map(str::to_string)
        .collect()
}

#[test]
fn plain_backup_verifies_like_pg_verifybackup() {
    let (c, ts, _oid) = cluster_with_tablespace(15);
    let new_ts = c.work_dir().join("plain_ts");
    let dir = pg_basebackup(&c, "plain", &["-Fp", "-T", &format!("{}={}", ts.display(), new_ts.display())]);
    let (backup, r) = verify(&dir, &VerifyOptions::default()).unwrap();
    assert!(r.ok, "{:?}", r.problems);
    assert!(pg_verifybackup_errors(&dir).is_empty());
    assert_eq!(backup.format, BackupFormat::Plain);
    // Plain pg_basebackup writes no tablespace_map: the link gives the location.
    assert!(backup.tablespace_map.is_none());
    assert_eq!(backup.tablespaces.len(), 1);
    assert_eq!(backup.tablespaces[0].location.as_deref(), Some(&*new_ts));
    assert!(backup.tablespaces[0].files >= 1);

    // Same damage, same messages.
    let f = dir.join("global/1262");
    let mut bytes = fs::read(&f).unwrap();
    bytes[200] ^= 1;
    fs::write(&f, bytes).unwrap();
    fs::OpenOptions::new().append(true).open(dir.join("global/1260")).unwrap().set_len(8192 * 3 + 5).unwrap();
    fs::write(dir.join("base/extra_file"), b"x").unwrap();
    fs::remove_file(dir.join("global/1213")).unwrap();
    // Ignored like pg_verifybackup ignores them.
    fs::write(dir.join("standby.signal"), b"").unwrap();
    fs::write(dir.join("pg_wal/junk"), b"").unwrap();

    let (_, r) = verify(&dir, &VerifyOptions::default()).unwrap();
    let ours: BTreeSet<String> = errors(&r.problems).into_iter().collect();
    let theirs = pg_verifybackup_errors(&dir);
    assert_eq!(theirs.len(), 4, "{theirs:?}");
    assert_eq!(ours, theirs);
}

#[test]
fn server_side_backups_give_real_version_2_manifests() {
    let majors: Vec<u32> = majors_under_test().into_iter().filter(|m| *m >= 15).collect();
    for major in majors {
        let (c, _ts, oid) = cluster_with_tablespace(major);
        // The 13/14/16/17/18 builds used here support only gzip; Debian's 15 has lz4.
        let compression = match major {
            15 => Some("lz4"),
            16 | 18 => Some("gzip"),
            _ => None,
        };
        let dir = server_side_backup(&c, "server", compression);
        c.sql("CREATE TABLE after_backup AS SELECT 1");
        c.switch_wal();
        let backup = Backup::open(&dir).unwrap();
        assert_eq!(backup.major(), PgMajor::from_number(major));
        assert!(backup.tars.iter().any(|t| t.kind == TarKind::Tablespace { oid }));
        let m = backup.manifest.as_ref().unwrap();
        let sysid: u64 = c.sql("SELECT system_identifier FROM pg_control_system()").parse().unwrap();
        if major >= 17 {
            assert_eq!((m.version, m.system_identifier), (2, Some(sysid)), "{major}");
        } else {
            assert_eq!((m.version, m.system_identifier), (1, None), "{major}");
        }
        // No WAL inside: a warning without --archive, checked with it.
        let (_, r) = verify(&dir, &VerifyOptions::default()).unwrap();
        assert!(r.ok, "{major}: {:?}", r.problems);
        assert!(r.problems.iter().any(|p| p.code == "wal_not_checked"));
        let (_, r) =
            verify(&dir, &VerifyOptions { archive: Some(c.archive_dir().into()), ..Default::default() })
                .unwrap();
        assert!(r.ok, "{major}: {:?}", r.problems);
        assert!(!r.wal.ranges.is_empty() && r.wal.ranges.iter().all(|x| x.missing.is_empty()));

        // Without a needed segment the archive check fails, naming it.
        let partial_archive = c.scratch_dir("partial_archive");
        for f in c.archived_files() {
            fs::copy(c.archive_dir().join(&f), partial_archive.join(&f)).unwrap();
        }
        let needed = r.wal.ranges[0].segments[0].to_string();
        fs::remove_file(partial_archive.join(&needed)).unwrap();
        let (_, r) =
            verify(&dir, &VerifyOptions { archive: Some(partial_archive.clone()), ..Default::default() })
                .unwrap();
        assert!(!r.ok);
        let missing: Vec<_> =
            r.problems.iter().filter(|p| p.code == "missing_wal").map(|p| p.file.clone()).collect();
        assert_eq!(missing, vec![Some(needed)]);

        if major >= 17 {
            // A version 2 manifest of another cluster: the system identifier check.
            let t = c.scratch_dir("other_cluster");
            copy_dir(&dir, &t);
            let text = fs::read_to_string(t.join("backup_manifest")).unwrap();
            let text =
                text.replace(&format!("\"System-Identifier\": {sysid}"), "\"System-Identifier\": 12345");
            fs::write(t.join("backup_manifest"), with_recomputed_checksum(text.as_bytes()).unwrap()).unwrap();
            let (_, r) = verify(&t, &VerifyOptions::default()).unwrap();
            assert_eq!(
                errors(&r.problems),
                vec![format!(
                    "global/pg_control: manifest system identifier is 12345, but control file has {sysid}"
                )]
            );
        }
    }
}

#[test]
fn version_2_manifest_derived_from_a_real_version_1() {
    let c = Cluster::new(15);
    let b = c.base_backup(BackupKind::Plain);
    let sysid = c.sql("SELECT system_identifier FROM pg_control_system()");
    let v1 = fs::read_to_string(b.dir.join("backup_manifest")).unwrap();
    let v2 = v1.replacen(
        "{ \"PostgreSQL-Backup-Manifest-Version\": 1,\n",
        &format!("{{ \"PostgreSQL-Backup-Manifest-Version\": 2,\n\"System-Identifier\": {sysid},\n"),
        1,
    );
    assert_ne!(v1, v2);
    fs::write(b.dir.join("backup_manifest"), with_recomputed_checksum(v2.as_bytes()).unwrap()).unwrap();
    let (backup, r) = verify(&b.dir, &VerifyOptions::default()).unwrap();
    assert!(r.ok, "{:?}", r.problems);
    assert_eq!(r.manifest_version, Some(2));
    assert_eq!(backup.manifest.unwrap().system_identifier.map(|s| s.to_string()), Some(sysid));

    // The manifest of another backup: its WAL range does not start where the label does.
    let other = c.base_backup(BackupKind::Plain);
    fs::copy(other.dir.join("backup_manifest"), b.dir.join("backup_manifest")).unwrap();
    let (_, r) = verify(&b.dir, &VerifyOptions::default()).unwrap();
    let mismatch: Vec<_> = r.problems.iter().filter(|p| p.code == "label_manifest_mismatch").collect();
    assert_eq!(mismatch.len(), 1, "{:?}", r.problems);
    assert!(mismatch[0].message.contains(&other.start_lsn) && mismatch[0].message.contains(&b.start_lsn));

    // A label claiming a standby backup while pg_control says "in production":
    // recovery would refuse it.
    let label = fs::read_to_string(other.dir.join("backup_label")).unwrap();
    fs::write(other.dir.join("backup_label"), label.replace("BACKUP FROM: primary", "BACKUP FROM: standby"))
        .unwrap();
    let backup = Backup::open(&other.dir).unwrap();
    let codes: Vec<_> = backup.problems.iter().map(|p| (p.code, p.severity)).collect();
    assert_eq!(codes, vec![("label_control_mismatch", Severity::Error)], "{:?}", backup.problems);
    assert!(backup.problems[0].message.contains("in production"));

    // A label the server would refuse (START TIMELINE differs from the file name's).
    fs::write(other.dir.join("backup_label"), label.replace("START TIMELINE: 1", "START TIMELINE: 2"))
        .unwrap();
    let backup = Backup::open(&other.dir).unwrap();
    assert!(
        backup.problems.iter().any(|p| p.code == "backup_label_issue" && p.severity == Severity::Error),
        "{:?}",
        backup.problems
    );
    fs::write(other.dir.join("backup_label"), "garbage\n").unwrap();
    let backup = Backup::open(&other.dir).unwrap();
    assert_eq!(backup.problems.iter().map(|p| p.code).collect::<Vec<_>>(), vec!["backup_label_invalid"]);
    assert!(backup.label.as_ref().unwrap().parsed.is_none());
}

#[test]
fn sql_api_backups_of_every_major_are_read_and_restored() {
    for major in majors_under_test() {
        let (c, ts_dir, oid) = cluster_with_tablespace(major);
        let b = c.base_backup(BackupKind::SqlApi);
        c.sql("INSERT INTO ts_t SELECT generate_series(1001, 1500)");
        c.switch_wal();

        let backup = Backup::open(&b.dir).unwrap();
        assert_eq!(backup.format, BackupFormat::Plain);
        assert_eq!(backup.major(), PgMajor::from_number(major));
        assert_eq!(backup.label.as_ref().unwrap().text, b.label);
        let map = backup.tablespace_map.as_ref().expect("the API returns a tablespace_map");
        assert_eq!((map.entries[0].oid, map.entries[0].location()), (oid, ts_dir.clone()));
        assert!(backup.problems.iter().any(|p| p.code == "no_manifest"));
        // Without a manifest, verification cannot succeed.
        let (_, r) = verify(&b.dir, &VerifyOptions::default()).unwrap();
        assert!(!r.ok);

        // Restore with the tablespace moved, recover from the archive.
        let target = c.work_dir().join("restored");
        let new_ts = c.work_dir().join("restored_ts");
        let opts = ExtractOptions { tablespace_oids: [(oid, new_ts.clone())].into(), ..Default::default() };
        let report = extract(&backup, &target, &opts).unwrap();
        assert!(report.tablespace_map_rewritten);
        fs::write(target.join("recovery.signal"), "").unwrap();
        give_to_server_user(&new_ts);
        let r = Cluster::adopt(major, &target)
            .conf("archive_mode", "off")
            .conf("restore_command", &format!("cp {}/%f %p", c.archive_dir().display()))
            .start();
        let start = std::time::Instant::now();
        while r.try_sql("SELECT pg_is_in_recovery()").as_deref() != Ok("f") {
            assert!(start.elapsed() < Duration::from_secs(120), "{major}: recovery did not end\n{}", r.log());
            std::thread::sleep(Duration::from_millis(100));
        }
        assert_eq!(r.sql("SELECT count(*) FROM ts_t"), "1500", "{major}");
        assert_eq!(
            r.sql("SELECT pg_tablespace_location(oid) FROM pg_tablespace WHERE spcname = 't1'"),
            new_ts.display().to_string(),
            "{major}"
        );
    }
}

#[test]
fn archiving_backlog_of_a_real_cluster() {
    let c = Cluster::new(15);
    c.sql("ALTER SYSTEM SET archive_command = 'false'; SELECT pg_reload_conf()");
    std::thread::sleep(Duration::from_millis(500));
    let mut switched = Vec::new();
    for _ in 0..3 {
        c.sql("CREATE TABLE IF NOT EXISTS t AS SELECT 1 i; INSERT INTO t VALUES (2)");
        switched.push(c.sql("SELECT pg_walfile_name(pg_current_wal_lsn())"));
        c.sql("SELECT pg_switch_wal()");
    }
    let b = archive_status::backlog(c.pgdata()).unwrap();
    for s in &switched {
        assert!(b.ready.contains(s), "{s} not ready: {b:?}");
    }
    assert_eq!(b.oldest_ready_segment.as_deref(), b.ready.first().map(String::as_str));
    assert!(b.ready_segments >= 3);

    c.sql("ALTER SYSTEM RESET archive_command; SELECT pg_reload_conf()");
    c.wait_archived();
    let b = archive_status::backlog(c.pgdata()).unwrap();
    assert!(b.is_empty(), "{b:?}");
    for s in &switched {
        assert!(b.done.contains(s), "{s} not done: {b:?}");
    }
}
