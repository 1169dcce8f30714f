//! Golden tests against real PostgreSQL 13-18: `backup_label` and backup
//! history files written by real backups, timeline history files written by
//! real promotions, `postgresql.conf` as the server reads it
//! (`pg_file_settings`, `current_setting`) and `postgresql.auto.conf` as
//! `ALTER SYSTEM` writes it.

#![allow(clippy::unwrap_used)]

use pitr_core::conf::{self, AutoConfEdit, ConfigSet};
use pitr_core::history::{HistorySet, TimelineHistory};
use pitr_core::label::{BackupFrom, BackupLabel, BackupMethod, LabelKind};
use pitr_core::{Lsn, WalSegSize};
use pitr_testkit::{Backup, BackupKind, Cluster, majors_under_test};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn seg1mb() -> WalSegSize {
    WalSegSize::new(1 << 20).unwrap()
}

fn lsn(s: &str) -> Lsn {
    Lsn::parse(s.trim()).unwrap()
}

/// The label of a backup taken on a primary, and its backup history file.
fn check_primary_backup(c: &Cluster, b: &Backup) {
    let major = c.major();
    let seg = seg1mb();
    let label = BackupLabel::parse_as(b.label.as_bytes(), LabelKind::BackupLabel).unwrap();
    assert_eq!(label.to_text(), b.label, "{major}: the canonical form is what PostgreSQL writes");
    assert!(label.check(seg).is_empty(), "{major}: {:?}", label.check(seg));
    assert!(label.consistent_segment_sizes().contains(&seg), "{major}");
    assert_eq!(label.start.lsn, lsn(&b.start_lsn), "{major}");
    assert!(label.checkpoint >= label.start.lsn, "{major}");
    assert_eq!(label.timeline(), 1);
    assert_eq!(label.start_timeline, Some(1));
    assert_eq!(label.method, Some(BackupMethod::Streamed), "{major}");
    let from = if major == 13 { BackupFrom::Master } else { BackupFrom::Primary };
    assert_eq!(label.from, Some(from), "{major}");
    assert_eq!(label.label.as_deref(), Some("pitr test backup"));
    let t = label.start_time.clone().unwrap();
    assert_eq!(t.zone.as_deref(), Some("UTC"), "{major}: log_timezone is UTC");
    let age = jiff::Timestamp::now().duration_since(t.timestamp.unwrap());
    assert!(age.as_secs() >= 0 && age.as_secs() < 600, "{major}: start time {} is not now", t.text);
    // The file in the backup reads the same.
    if b.kind != (BackupKind::Tar { gzip: true }) && b.kind != (BackupKind::Tar { gzip: false }) {
        assert_eq!(BackupLabel::read(&b.dir.join("backup_label")).unwrap(), label);
    }

    // The backup history file, archived next to the WAL.
    let name = label.history_file_name(seg);
    let path = c.archive_dir().join(&name);
    assert!(path.is_file(), "{major}: {name} not in the archive: {:?}", c.archived_files());
    let text = fs::read_to_string(&path).unwrap();
    let h = BackupLabel::read(&path).unwrap();
    assert_eq!(h.kind, LabelKind::BackupHistory);
    assert_eq!(h.to_text(), text, "{major}: the canonical form is what PostgreSQL writes");
    assert!(h.check(seg).is_empty(), "{major}: {:?}", h.check(seg));
    assert_eq!(h.start, label.start);
    assert_eq!(h.checkpoint, label.checkpoint);
    assert_eq!((&h.method, &h.from, &h.label), (&label.method, &label.from, &label.label));
    assert_eq!(h.start_time, label.start_time);
    let stop = h.stop.unwrap();
    assert_eq!(stop.lsn, lsn(&b.stop_lsn), "{major}: STOP WAL LOCATION is pg_backup_stop's LSN");
    assert_eq!(h.stop_timeline, Some(1));
    assert_eq!(h.end_timeline(), 1);
    assert_eq!(h.history_file_name(seg), name);
    let stop_time = h.stop_time.clone().unwrap().timestamp.unwrap();
    assert!(stop_time >= t.timestamp.unwrap());
    // The stop segment is archived (pg_backup_stop waited for it).
    let stop_seg = h.stop_segment(seg).unwrap().to_string();
    assert!(c.archive_dir().join(&stop_seg).is_file(), "{major}: {stop_seg} not archived");
}

/// Tricky `postgresql.conf` content: the server's reading (pg_file_settings
/// and, after a reload, current_setting) equals pitr's.
fn check_conf_like_the_server(c: Cluster) -> Cluster {
    let major = c.major();
    let pgdata = &c.pgdata().to_path_buf();
    fs::create_dir_all(pgdata.join("sub")).unwrap();
    fs::create_dir_all(pgdata.join("conf.d")).unwrap();
    let main = pgdata.join("postgresql.conf");
    let mut text = fs::read_to_string(&main).unwrap();
    text.push_str(
        "\n# pitr golden test\n\
         pitr.a = 'it''s a \\'quoted\\' \\\\ back\\tslash\\101'\n\
         pitr.b 0x3c\n\
         pitr.c = my-cluster.01:x/y   # trailing comment\n\
         Pitr.D = -.5e-3\n\
         pitr.e=on#no space\n\
         pitr.f = 'octal \\0101 and \\60'\n\
         pitr.g = 'a\\x\\\"'\n\
         pitr.h = ''''\n\
         pitr.i = .\n\
         pitr.j = 0xZ\n\
         pitr.k = x.y.z\n\
         \t  work_mem\t=\t'3MB'\r\n\
         include 'sub/inc.conf'\n\
         include_if_exists 'missing.conf'\n\
         INCLUDE_DIR 'conf.d'\n\
         pitr.z = 'last'\n",
    );
    fs::write(&main, text).unwrap();
    fs::write(pgdata.join("sub/inc.conf"), "pitr.a = 'from include'\ninclude 'inc2.conf'\n").unwrap();
    fs::write(pgdata.join("sub/inc2.conf"), "PITR.B = 'nested, relative to sub/'\n").unwrap();
    fs::write(pgdata.join("conf.d/20-b.conf"), "pitr.m = 'second'\n").unwrap();
    fs::write(pgdata.join("conf.d/10-a.conf"), "pitr.m = 'first'\npitr.n = 'n'\n").unwrap();
    fs::write(pgdata.join("conf.d/.hidden.conf"), "pitr.m = 'hidden'\n").unwrap();
    fs::write(pgdata.join("conf.d/x.conf.bak"), "pitr.m = 'bak'\n").unwrap();
    pitr_testkit::give_to_server_user(pgdata);

    let ours = ConfigSet::load_data_dir(pgdata);
    assert!(ours.is_ok(), "{major}: {:?}", ours.errors);
    let canon = |p: &Path| fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let mut client = c.client();
    let rows = client
        .query(
            "SELECT sourcefile, sourceline, name, setting, error FROM pg_file_settings ORDER BY seqno",
            &[],
        )
        .unwrap();
    let server: Vec<(PathBuf, i32, String, String)> = rows
        .iter()
        .map(|r| {
            let err: Option<String> = r.get(4);
            assert!(err.is_none(), "{major}: server error {err:?}");
            (canon(Path::new(&r.get::<_, String>(0))), r.get(1), r.get(2), r.get(3))
        })
        .collect();
    let mine: Vec<(PathBuf, i32, String, String)> = ours
        .settings
        .iter()
        .map(|s| (canon(&s.file), i32::try_from(s.line).unwrap(), s.name.clone(), s.value.clone()))
        .collect();
    assert_eq!(mine, server, "{major}: pitr reads postgresql.conf like pg_file_settings");

    // Reload and compare the effective values of the custom settings.
    client.execute("SELECT pg_reload_conf()", &[]).unwrap();
    let start = Instant::now();
    loop {
        let v: Option<String> =
            client.query_one("SELECT current_setting('pitr.z', true)", &[]).unwrap().get(0);
        if v.as_deref() == Some("last") {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{major}: reload not applied");
        std::thread::sleep(Duration::from_millis(50));
    }
    for s in ours.effective() {
        if !s.name.to_ascii_lowercase().starts_with("pitr.") && !s.name.eq_ignore_ascii_case("work_mem") {
            continue;
        }
        let v: Option<String> =
            client.query_one("SELECT current_setting($1, true)", &[&s.name]).unwrap().get(0);
        assert_eq!(v.as_deref(), Some(s.value.as_str()), "{major}: {}", s.name);
    }
    assert_eq!(ours.value("pitr.a"), Some("from include"));
    assert_eq!(ours.value("pitr.m"), Some("second"));

    // Syntax errors: the same lines as the server's.
    fs::write(
        pgdata.join("conf.d/30-bad.conf"),
        "pitr.k = 4 MB\n\
         pitr.ok1 = 'fine'\n\
         pitr.l = 1.5min\n\
         pitr.m = a.b\n\
         pitr.n = 0/1\n\
         pitr.o = 'unterminated\n\
         pitr.p 1 2\n\
         pitr.q =\n\
         pitr.ok2 = x.y.z\n\
         pitr.r = 1e5\n\
         pitr.s = 2026-11-24\n\
         pitr.t = %m\n\
         a.b.c = 1\n\
         pitr.u = -\n",
    )
    .unwrap();
    pitr_testkit::give_to_server_user(pgdata);
    let ours = ConfigSet::load_data_dir(pgdata);
    let mine: Vec<(PathBuf, usize, String)> = ours
        .errors
        .iter()
        .map(|e| {
            let near = e.message.split_once("near ").map(|(_, t)| t.to_string()).unwrap_or_default();
            (canon(e.file.as_deref().unwrap()), e.line.unwrap(), near)
        })
        .collect();
    assert_eq!(mine.len(), 12, "{major}: {:#?}", ours.errors);
    // pg_file_settings stops at the first error of a file...
    let rows = client
        .query(
            "SELECT sourcefile, sourceline FROM pg_file_settings WHERE error IS NOT NULL ORDER BY seqno",
            &[],
        )
        .unwrap();
    let server: Vec<(PathBuf, usize)> = rows
        .iter()
        .map(|r| (canon(Path::new(&r.get::<_, String>(0))), usize::try_from(r.get::<_, i32>(1)).unwrap()))
        .collect();
    assert_eq!(server, vec![(mine[0].0.clone(), mine[0].1)], "{major}: first syntax error");
    // ...the postmaster reports them all when it refuses to start.
    drop(client);
    let mut c = c;
    c.stop();
    let before = c.log().len();
    let e = c.try_start().unwrap_err();
    let log = c.log()[before..].to_string();
    assert!(e.contains("contains errors") || log.contains("contains errors"), "{major}: {e}");
    let logged: Vec<(PathBuf, usize, String)> = log
        .lines()
        .filter_map(|l| {
            let rest = l.split_once("syntax error in file \"")?.1;
            let (file, rest) = rest.split_once("\" line ")?;
            let (line, near) = rest.split_once(", near ")?;
            Some((canon(Path::new(file)), line.parse().ok()?, near.to_string()))
        })
        .collect();
    assert_eq!(mine, logged, "{major}: every syntax error, line and token, as the postmaster logs them");
    // Like the server, postgresql.auto.conf is not read after errors.
    assert!(!ours.files.iter().any(|f| f.ends_with("postgresql.auto.conf")));
    fs::remove_file(pgdata.join("conf.d/30-bad.conf")).unwrap();
    c.start();
    c
}

/// `ALTER SYSTEM` writes `postgresql.auto.conf` exactly as pitr's editor does.
fn check_alter_system(c: &Cluster) {
    let major = c.major();
    let auto = c.pgdata().join("postgresql.auto.conf");
    let mut mine = fs::read_to_string(&auto).unwrap();
    assert_eq!(mine, conf::AUTO_CONF_HEADER, "{major}: initdb's auto.conf");
    let steps: &[(&str, &str, Option<&str>)] = &[
        (
            "ALTER SYSTEM SET archive_command = 'cp %p /x/it''s a\\b\"q %f'",
            "archive_command",
            Some("cp %p /x/it's a\\b\"q %f"),
        ),
        ("ALTER SYSTEM SET work_mem = '64MB'", "work_mem", Some("64MB")),
        ("ALTER SYSTEM SET statement_timeout = '1min'", "statement_timeout", Some("1min")),
        ("ALTER SYSTEM SET work_mem = 4096", "work_mem", Some("4096")),
        ("ALTER SYSTEM SET search_path = 'a', 'b c'", "search_path", Some("a, \"b c\"")),
        ("ALTER SYSTEM RESET statement_timeout", "statement_timeout", None),
        (
            "ALTER SYSTEM SET restore_command = 'cp \"/arch ive/%f\" \"%p\" # not a comment'",
            "restore_command",
            Some("cp \"/arch ive/%f\" \"%p\" # not a comment"),
        ),
        ("ALTER SYSTEM SET recovery_target_name = E'tab\\there'", "recovery_target_name", Some("tab\there")),
    ];
    for (sql, name, value) in steps {
        c.sql(sql);
        let edit = match value {
            Some(v) => AutoConfEdit::set(*name, *v),
            None => AutoConfEdit::remove(*name),
        };
        mine = conf::edit_auto_conf(&mine, &[edit]).unwrap();
        let server = fs::read_to_string(&auto).unwrap();
        assert_eq!(mine, server, "{major}: after {sql}");
    }
    // Read back: the values round-trip.
    let set = ConfigSet::from_text(&mine, &auto);
    assert!(set.is_ok());
    assert_eq!(set.value("archive_command"), Some("cp %p /x/it's a\\b\"q %f"));
    assert_eq!(set.value("search_path"), Some("a, \"b c\""));
    c.sql("ALTER SYSTEM RESET ALL");
    assert_eq!(fs::read_to_string(&auto).unwrap(), conf::AUTO_CONF_HEADER);
}

/// `parse_int` / `parse_real` against the server's own parsing of the same
/// values (`set_config`, then `pg_settings.setting` in the base unit), hints
/// included.
fn check_value_parsing_like_the_server(c: &Cluster) {
    use pitr_core::conf::BaseUnit;
    let major = c.major();
    let mut client = c.client();
    let values = [
        "64",
        "4MB",
        "4 MB",
        " 4MB ",
        "1.5GB",
        "0.5kB",
        "1.5kB",
        "4mb",
        "4 M B",
        "0x40",
        "010",
        "08",
        "1e3",
        ".5",
        "100.5",
        "2.5",
        "-1",
        "3000000000",
        "1TB",
        "2500us",
        "3500us",
        "1.5min",
        "1min",
        "1h",
        "1d",
        "1 sec",
        "1s",
        "abc",
        "",
        "64kB ",
        "1e",
        "0.7s",
        "1.5 h",
    ];
    let params: [(&str, BaseUnit, bool); 5] = [
        ("work_mem", BaseUnit::Kilobytes, false),
        ("effective_cache_size", BaseUnit::Blocks, false),
        ("idle_in_transaction_session_timeout", BaseUnit::Milliseconds, false),
        ("lock_timeout", BaseUnit::Milliseconds, false),
        ("vacuum_cost_delay", BaseUnit::Milliseconds, true),
    ];
    let mut compared = 0;
    for (param, unit, real) in params {
        let range = client
            .query_one("SELECT min_val::float8, max_val::float8 FROM pg_settings WHERE name = $1", &[&param])
            .unwrap();
        let (min, max): (f64, f64) = (range.get(0), range.get(1));
        for v in values {
            let ours: Result<f64, _> = if real {
                conf::parse_real(v, Some(unit))
            } else {
                conf::parse_int(v, Some(unit)).map(f64::from)
            };
            let server = client.query_one("SELECT set_config($1, $2, false)", &[&param, &v]);
            match (ours, server) {
                (Ok(x), Ok(_)) => {
                    let setting: String = client
                        .query_one("SELECT setting FROM pg_settings WHERE name = $1", &[&param])
                        .unwrap()
                        .get(0);
                    let s: f64 = setting.parse().unwrap();
                    assert!((s - x).abs() < 1e-9, "{major}: {param} = {v:?}: server {setting}, pitr {x}");
                    compared += 1;
                }
                (Ok(x), Err(e)) => {
                    let msg = e.as_db_error().map(|d| d.message().to_string()).unwrap_or_default();
                    assert!(
                        msg.contains("outside the valid range") && (x < min || x > max),
                        "{major}: {param} = {v:?}: pitr {x}, server: {msg}"
                    );
                }
                (Err(ours), Err(e)) => {
                    let db = e.as_db_error().unwrap();
                    assert!(
                        db.message().starts_with("invalid value for parameter"),
                        "{major}: {v:?}: {}",
                        db.message()
                    );
                    assert_eq!(ours.hint, db.hint(), "{major}: {param} = {v:?}");
                }
                (Err(ours), Ok(_)) => panic!("{major}: {param} = {v:?}: server accepts, pitr says {ours}"),
            }
        }
    }
    assert!(compared > 40, "{major}: only {compared} accepted values compared");
}

#[test]
fn real_labels_backup_history_files_and_configuration_of_every_major() {
    for major in majors_under_test() {
        let c = Cluster::new(major);
        c.sql("CREATE TABLE t(i int); INSERT INTO t SELECT generate_series(1, 1000)");
        let b = c.base_backup(BackupKind::SqlApi);
        check_primary_backup(&c, &b);
        if major == 15 {
            let p = c.base_backup(BackupKind::Plain);
            check_primary_backup(&c, &p);
            let t = c.base_backup(BackupKind::Tar { gzip: false });
            check_primary_backup(&c, &t);
        }
        let c = check_conf_like_the_server(c);
        check_alter_system(&c);
        check_value_parsing_like_the_server(&c);
    }
}

fn wait_for(c: &Cluster, sql: &str, want: &str) {
    let start = Instant::now();
    loop {
        if c.try_sql(sql).ok().as_deref() == Some(want) {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "{sql} never returned {want}\n{}", c.log());
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Recovery settings written with pitr's own auto.conf editor.
fn write_recovery_settings(pgdata: &Path, archive: &Path, extra: &[(&str, &str)]) {
    let auto = pgdata.join("postgresql.auto.conf");
    let existing = fs::read_to_string(&auto).unwrap_or_default();
    let mut edits = vec![AutoConfEdit::set("restore_command", format!("cp {}/%f %p", archive.display()))];
    edits.extend(extra.iter().map(|(n, v)| AutoConfEdit::set(*n, *v)));
    fs::write(&auto, conf::edit_auto_conf(&existing, &edits).unwrap()).unwrap();
    fs::write(pgdata.join("recovery.signal"), "").unwrap();
}

/// Two promotions: timeline 2 from a PITR to an LSN (paused, then promoted),
/// timeline 3 from a second restore following timeline 2 to its end.
fn promotion_chain(major: u32) {
    let c = Cluster::new(major);
    c.sql("CREATE TABLE t(i int)");
    let b = c.base_backup(BackupKind::SqlApi);
    let pristine = c.scratch_dir("restore3");
    pitr_testkit::copy_data_dir(&b.dir, &pristine);
    // (copy_data_dir leaves out backup_label, as a backup tool would.)
    fs::copy(b.dir.join("backup_label"), pristine.join("backup_label")).unwrap();
    c.sql("INSERT INTO t VALUES (1)");
    let target = c.sql("SELECT pg_current_wal_insert_lsn()");
    c.sql("INSERT INTO t VALUES (2)");
    c.switch_wal();

    // Timeline 2.
    write_recovery_settings(
        &b.dir,
        c.archive_dir(),
        &[("recovery_target_lsn", &target), ("recovery_target_action", "pause")],
    );
    let mut c2 = Cluster::adopt(major, &b.dir).start();
    wait_for(&c2, "SELECT pg_is_wal_replay_paused()", "t");
    let backup_files = |c: &Cluster| -> Vec<String> {
        c.archived_files().into_iter().filter(|f| f.ends_with(".backup")).collect()
    };
    let before = backup_files(&c);
    assert_eq!(before.len(), 1, "{major}: {before:?}");
    // A backup taken on a standby says so, and leaves no backup history file.
    let sb = c2.base_backup(BackupKind::SqlApi);
    let sl = BackupLabel::parse_as(sb.label.as_bytes(), LabelKind::BackupLabel).unwrap();
    assert_eq!(sl.from, Some(BackupFrom::Standby), "{major}: {}", sb.label);
    assert!(sl.from_standby());
    assert_eq!(sl.to_text(), sb.label, "{major}");
    assert!(sl.check(seg1mb()).is_empty(), "{major}: {:?}", sl.check(seg1mb()));
    c2.promote();
    c2.sql("INSERT INTO t VALUES (3)");
    c2.switch_wal();
    assert_eq!(backup_files(&c), before, "{major}: a standby backup writes no backup history file");
    c2.stop();

    let h2_path = c.archive_dir().join("00000002.history");
    let h2_text = fs::read_to_string(&h2_path).unwrap();
    let h2 = TimelineHistory::read(&h2_path).unwrap();
    assert_eq!(h2.to_text(), h2_text, "{major}: formatted exactly as PostgreSQL wrote it");
    assert_eq!(h2.entries.len(), 1);
    let e = &h2.entries[0];
    assert_eq!(e.parent, 1);
    assert!(e.reason.starts_with("after LSN "), "{major}: {:?}", e.reason);
    assert!(h2_text.ends_with("\n\n"), "{major}: LSN reasons end with their own newline: {h2_text:?}");
    assert!(e.switch_lsn >= lsn(&target), "{major}");
    assert_eq!(h2.timeline_of(lsn(&target)), Ok(1));
    assert_eq!(h2.timeline_of(e.switch_lsn), Ok(2));
    assert!(h2.issues().is_empty());

    // Timeline 3: restore the backup again, follow the latest timeline to its end.
    write_recovery_settings(&pristine, c.archive_dir(), &[]);
    let c3 = Cluster::adopt(major, &pristine).start();
    wait_for(&c3, "SELECT pg_is_in_recovery()", "f");
    assert_eq!(c3.sql("SELECT timeline_id FROM pg_control_checkpoint()"), "3", "{major}");
    assert_eq!(c3.sql("SELECT string_agg(i::text, ',' ORDER BY i) FROM t"), "1,3", "{major}");
    c3.switch_wal();

    let h3_path = c.archive_dir().join("00000003.history");
    let h3_text = fs::read_to_string(&h3_path).unwrap();
    let h3 = TimelineHistory::read(&h3_path).unwrap();
    assert_eq!(h3.to_text(), h3_text, "{major}: formatted exactly as PostgreSQL wrote it");
    assert!(h3_text.starts_with(&h2_text), "{major}: the parent's file is copied verbatim");
    assert_eq!(h3.entries.len(), 2);
    assert_eq!(h3.entries[1].parent, 2);
    assert_eq!(h3.entries[1].reason, "no recovery target specified");
    assert_eq!(h3.entries[1].line, 4, "{major}: after the blank lines");
    assert_eq!(h3.ancestry(), vec![1, 2, 3]);
    let ranges = h3.ranges();
    assert_eq!(ranges.iter().map(|r| r.timeline).collect::<Vec<_>>(), vec![3, 2, 1]);
    assert_eq!(ranges[1].begin, Some(e.switch_lsn));
    assert_eq!(h3.switch_point(2).unwrap().unwrap().next_timeline, 3);

    let set = HistorySet::load_dir(c.archive_dir()).unwrap();
    assert!(set.is_valid(), "{major}: {:?} {:?}", set.errors, set.issues);
    assert_eq!(set.histories.keys().copied().collect::<Vec<_>>(), vec![2, 3]);
    assert_eq!(set.children_of(1), vec![2]);
    assert_eq!(set.children_of(2), vec![3]);
    assert_eq!(set.newest_from(1), 3, "{major}: what recovery_target_timeline = 'latest' picks");
    // The segment holding the 1 -> 2 switch exists on timeline 2 in the archive.
    let seg = seg1mb();
    let first_tl2 = pitr_core::SegmentName::of_lsn(2, e.switch_lsn, seg).to_string();
    assert!(c.archive_dir().join(&first_tl2).is_file(), "{major}: {first_tl2}: {:?}", c.archived_files());
}

#[test]
fn real_timeline_history_files_from_promotions() {
    for major in majors_under_test().into_iter().filter(|m| [13, 15, 18].contains(m)) {
        promotion_chain(major);
    }
}
