//! The lab itself: every step of the demo, in order.

use super::pgbin::PgBin;
use super::proc::{Interrupt, RunAs, Server, interrupted, run_with_timeout, shell_word};
use super::report::Reporter;
use pitr_core::backup::copy::copy_data_directory;
use pitr_core::live::{self, ConnectOptions, MarkOptions, PauseState, ResumeOutcome, Session};
use pitr_core::plan::find::{self, FindInput, FindRequest};
use pitr_core::plan::{Plan, PlanRequest, RestoreRequest, TargetSpec};
use pitr_core::{Lsn, SegmentName, WalSegSize};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The table dropped by mistake.
pub const TABLE: &str = "accounts";
/// The mark (and restore point) recorded before the risky change.
pub const MARK_NAME: &str = "before-cleanup";
/// Steps of the demo (for the `[n/N]` counter).
pub const STEPS: usize = 14;

/// How long to wait for a server to pause, archive a file, promote.
const WAIT: Duration = Duration::from_secs(60);

/// How the demo ended, when it did not succeed.
#[derive(Debug)]
pub enum Failure {
    /// Something could not be done (a program failed, a wait timed out): exit 2.
    Error(String),
    /// The recovery ran but did not give the table back, or PostgreSQL did not
    /// do what pitr predicted: exit 1.
    Mismatch(String),
    /// Ctrl-C (or SIGTERM/SIGHUP): exit 130.
    Interrupted,
}

impl Failure {
    /// The message.
    pub fn message(&self) -> String {
        match self {
            Failure::Error(m) | Failure::Mismatch(m) => m.clone(),
            Failure::Interrupted => "interrupted".to_string(),
        }
    }
}

impl From<String> for Failure {
    fn from(s: String) -> Failure {
        Failure::Error(s)
    }
}

type Res<T> = Result<T, Failure>;

/// The table's content at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableState {
    /// `count(*)`.
    pub rows: i64,
    /// md5 of every row in `id` order.
    pub checksum: String,
}

/// The transaction pitr found dropping the table.
#[derive(Debug, Clone, Serialize)]
pub struct FoundDrop {
    /// Its xid.
    pub xid: u32,
    /// The xid the server reported when it ran the DROP (for the cross-check).
    pub server_xid: u32,
    /// The commit record's LSN (where an exclusive xid target stops).
    pub record_lsn: Lsn,
    /// The commit record's end.
    pub end_lsn: Lsn,
    /// The commit time (RFC 3339, UTC).
    pub time: String,
    /// The WAL file holding the commit record.
    pub wal_file: String,
    /// The table's relfilenode.
    pub relfilenode: u32,
    /// The database's OID.
    pub database_oid: u32,
    /// Every relation file the commit dropped (`spc/db/relfilenode`).
    pub dropped_relations: Vec<String>,
    /// Commits since the backup that dropped relation files.
    pub commits_dropping_files: usize,
}

/// What the recovered server did, next to what the plan said.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RecoveryFacts {
    /// The `recovery stopping ...` line PostgreSQL logged (after `LOG:  `).
    pub log_line: Option<String>,
    /// The line the plan predicted.
    pub plan_log_line: Option<String>,
    /// The two are equal.
    pub log_line_matches: bool,
    /// `pg_last_wal_replay_lsn()` once paused.
    pub replay_lsn: Option<Lsn>,
    /// The plan's `replay_lsn`.
    pub plan_replay_lsn: Option<Lsn>,
    /// The two are equal.
    pub replay_lsn_matches: bool,
    /// The files PostgreSQL logged `restored log file "..." from archive` for.
    pub restored_files: Vec<String>,
    /// The plan's segment files.
    pub planned_files: Vec<String>,
    /// The timeline after promotion.
    pub new_timeline: Option<u32>,
}

/// The table before and after.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TableFacts {
    /// The table.
    pub name: &'static str,
    /// Just before the DROP.
    pub before: Option<TableState>,
    /// On the recovered server.
    pub after: Option<TableState>,
    /// Same rows and checksum.
    pub back: bool,
}

/// Everything the demo learnt (the `--json` summary's body).
#[derive(Debug, Default, Serialize)]
pub struct Facts {
    /// The table.
    pub table: TableFacts,
    /// The base backup: start and stop LSN.
    pub backup: Option<BTreeMap<&'static str, String>>,
    /// The mark recorded before the risky change.
    pub mark: Option<live::Mark>,
    /// The DROP, as pitr found it.
    #[serde(rename = "drop")]
    pub dropped: Option<FoundDrop>,
    /// The plan.
    pub plan: Option<Plan>,
    /// The recovery.
    pub recovery: RecoveryFacts,
}

/// The lab: binaries, work directory, servers and what was found.
#[derive(Debug)]
pub struct Lab {
    bin: PgBin,
    run_as: RunAs,
    /// The work directory (absolute).
    pub work: PathBuf,
    interrupt: Interrupt,
    /// The pitr program PostgreSQL's `restore_command` runs.
    pitr_exe: PathBuf,
    /// The first server (the damaged one).
    pub primary: Option<Server>,
    /// The server recovered from the backup.
    pub recovered: Option<Server>,
    /// What was found.
    pub facts: Facts,
    segsize: WalSegSize,
    backup_start: Lsn,
    timeline: u32,
}

/// A configuration value as a DBA writes it: bare when it is a simple word or
/// number, else in single quotes.
fn conf_quote(v: &str) -> String {
    let word = v.starts_with(|c: char| c.is_ascii_alphabetic())
        && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    let number = v.starts_with(|c: char| c.is_ascii_digit())
        && v.trim_start_matches(|c: char| c.is_ascii_digit()).bytes().all(|b| b.is_ascii_alphabetic());
    if word || number { v.to_string() } else { format!("'{}'", v.replace('\'', "''")) }
}

/// An SQL error with its detail.
fn pgerr(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => e.to_string(),
    }
}

fn connect(server: &Server) -> Res<Session> {
    let opts = ConnectOptions {
        dsn: server.dsn(),
        connect_timeout: Some(Duration::from_secs(10)),
        statement_timeout: Duration::from_secs(60),
        application_name: "pitr demo".into(),
    };
    Session::connect(&opts).map_err(|e| Failure::Error(e.to_string()))
}

fn exec(s: &mut Session, sql: &str) -> Res<()> {
    s.client().batch_execute(sql).map_err(|e| Failure::Error(format!("{sql}: {}", pgerr(&e))))
}

fn query_one(s: &mut Session, sql: &str) -> Res<postgres::Row> {
    s.client().query_one(sql, &[]).map_err(|e| Failure::Error(format!("{sql}: {}", pgerr(&e))))
}

fn get<'a, T: postgres::types::FromSql<'a>>(row: &'a postgres::Row, i: usize, sql: &str) -> Res<T> {
    row.try_get::<usize, T>(i).map_err(|e| Failure::Error(format!("{sql}: column {i}: {}", pgerr(&e))))
}

const CHECKSUM_SQL: &str = "SELECT count(*), md5(coalesce(string_agg(format('%s|%s|%s', id, owner, balance), \
                            ',' ORDER BY id), '')) FROM accounts";

fn table_state(s: &mut Session) -> Res<TableState> {
    let row = query_one(s, CHECKSUM_SQL)?;
    Ok(TableState { rows: get(&row, 0, CHECKSUM_SQL)?, checksum: get(&row, 1, CHECKSUM_SQL)? })
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_048_576.0)
}

impl Lab {
    /// A lab in `work` (absolute, existing, empty).
    pub fn new(bin: PgBin, run_as: RunAs, work: PathBuf, interrupt: Interrupt, pitr_exe: PathBuf) -> Lab {
        Lab {
            bin,
            run_as,
            work,
            interrupt,
            pitr_exe,
            primary: None,
            recovered: None,
            facts: Facts { table: TableFacts { name: TABLE, ..TableFacts::default() }, ..Facts::default() },
            segsize: WalSegSize::DEFAULT,
            backup_start: Lsn(0),
            timeline: 1,
        }
    }

    fn check_interrupt(&self) -> Res<()> {
        if interrupted(Some(&self.interrupt)) { Err(Failure::Interrupted) } else { Ok(()) }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.work.join(rel)
    }

    /// A directory the server user may write.
    fn server_dir(&self, rel: &str) -> Res<()> {
        let p = self.path(rel);
        fs::create_dir_all(&p).map_err(|e| format!("mkdir {}: {e}", p.display()))?;
        self.run_as.give(&p)?;
        Ok(())
    }

    fn pg_program(&self, name: &str, args: &[&str], timeout: Duration) -> Res<String> {
        let mut c = self.run_as.command(&self.bin.program(name));
        c.args(args).current_dir(&self.work);
        let out = run_with_timeout(&mut c, timeout, Some(&self.interrupt)).map_err(|e| {
            if interrupted(Some(&self.interrupt)) { Failure::Interrupted } else { Failure::Error(e) }
        })?;
        if !out.status.success() {
            return Err(Failure::Error(format!(
                "{name} failed ({}):\n{}{}",
                out.status,
                out.stdout.trim_end(),
                out.stderr.trim_end()
            )));
        }
        Ok(out.stdout)
    }

    /// Runs every step but the last (cleanup, see [`Lab::cleanup`]).
    pub fn run(&mut self, rep: &mut Reporter) -> Res<()> {
        self.cluster(rep)?;
        self.check_interrupt()?;
        self.load(rep)?;
        self.check_interrupt()?;
        self.backup(rep)?;
        self.check_interrupt()?;
        self.workload(rep)?;
        self.check_interrupt()?;
        self.mark(rep)?;
        self.check_interrupt()?;
        self.accident(rep)?;
        self.check_interrupt()?;
        self.stop_primary(rep)?;
        self.check_interrupt()?;
        let xid = self.find(rep)?;
        self.check_interrupt()?;
        self.plan(rep, xid)?;
        self.check_interrupt()?;
        self.restore(rep, xid)?;
        self.check_interrupt()?;
        let mut session = self.recover(rep)?;
        self.check_interrupt()?;
        self.promote(rep, &mut session)?;
        self.check_interrupt()?;
        self.verify(rep, &mut session)?;
        // Fail only now, so that a wrong prediction still shows the rest (the
        // recover step is already marked failed).
        let r = &self.facts.recovery;
        if !r.log_line_matches || !r.replay_lsn_matches {
            rep.finish();
            return Err(Failure::Mismatch(format!(
                "PostgreSQL did not stop where pitr planned: plan {:?} / replay LSN {:?}, server {:?} / {:?}",
                r.plan_log_line, r.plan_replay_lsn, r.log_line, r.replay_lsn
            )));
        }
        Ok(())
    }

    fn cluster(&mut self, rep: &mut Reporter) -> Res<()> {
        rep.step("cluster", "Create a cluster that archives its WAL");
        let archive = self.path("archive");
        for d in ["pgdata", "archive", "logs"] {
            self.server_dir(d)?;
        }
        if self.run_as.root {
            rep.shell("mkdir pgdata archive logs && chown postgres:postgres pgdata archive logs");
        } else {
            rep.shell("mkdir pgdata archive logs");
        }
        let args = [
            "-D",
            "pgdata",
            "--wal-segsize=1",
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ];
        rep.shell(format!("{}initdb {}", self.run_as.prefix(), args.join(" ")));
        self.pg_program("initdb", &args, Duration::from_secs(180))?;
        let archive_s = shell_word(&archive.display().to_string());
        let settings: Vec<(&str, String)> = vec![
            ("listen_addresses", "127.0.0.1".into()),
            ("unix_socket_directories", String::new()),
            ("wal_level", "replica".into()),
            ("archive_mode", "on".into()),
            ("archive_command", format!("test ! -f {archive_s}/%f && cp %p {archive_s}/%f")),
            ("restore_command", String::new()),
            ("max_connections", "20".into()),
            ("shared_buffers", "32MB".into()),
            ("fsync", "off".into()),
            ("timezone", "UTC".into()),
            ("log_timezone", "UTC".into()),
        ];
        rep.shell("cat >> pgdata/postgresql.conf <<'EOF'");
        let mut text = String::from("\n# pitr demo\n");
        for (k, v) in &settings {
            let line = format!("{k} = {}", conf_quote(v));
            rep.conf(line.clone());
            text.push_str(&line);
            text.push('\n');
        }
        rep.conf("EOF");
        let conf = self.path("pgdata/postgresql.conf");
        {
            use std::io::Write;
            let mut f = fs::OpenOptions::new()
                .append(true)
                .open(&conf)
                .map_err(|e| format!("open {}: {e}", conf.display()))?;
            f.write_all(text.as_bytes()).map_err(|e| format!("write {}: {e}", conf.display()))?;
        }
        rep.note("fsync = off only makes the demo faster; never on a server whose data matters");
        let mut server =
            Server::new("primary", &self.bin.dir, &self.run_as, &self.work, "pgdata", "logs/primary.log")?;
        rep.shell(server.start_command());
        let started = server.start(Some(&self.interrupt));
        self.primary = Some(server);
        for c in started? {
            rep.shell(c);
        }
        self.check_interrupt()?;
        let s = connect(self.primary_server()?)?;
        let info = s.server().clone();
        self.segsize = info.wal_segment_size;
        self.timeline = info.timeline.unwrap_or(1);
        let port = self.primary_server()?.port;
        rep.note(format!(
            "PostgreSQL {} listening on 127.0.0.1:{port}, WAL segments of {}, timeline {}, archiving into archive/",
            info.version, info.wal_segment_size, self.timeline
        ));
        rep.set("port", port);
        rep.set("server_version", &info.version);
        rep.set("wal_segment_size", info.wal_segment_size.bytes());
        rep.set("timeline", self.timeline);
        rep.set("system_id", info.system_id.map(|v| v.to_string()));
        Ok(())
    }

    fn primary_server(&self) -> Res<&Server> {
        self.primary.as_ref().ok_or_else(|| Failure::Error("internal: no primary server".into()))
    }

    fn primary_session(&self) -> Res<Session> {
        connect(self.primary_server()?)
    }

    fn load(&mut self, rep: &mut Reporter) -> Res<()> {
        rep.step("load", "Create the table that will be dropped by mistake");
        let mut s = self.primary_session()?;
        let sql = "CREATE TABLE accounts (id int PRIMARY KEY, owner text NOT NULL, balance numeric(12,2) NOT NULL);\n\
                   INSERT INTO accounts SELECT g, 'customer ' || g, (g * 7919 % 100000) / 100.0\n  \
                   FROM generate_series(1, 5000) g;";
        rep.sql(sql);
        exec(&mut s, sql)?;
        let st = table_state(&mut s)?;
        rep.note(format!("{} rows in {TABLE}", st.rows));
        rep.set("rows", st.rows);
        Ok(())
    }

    fn backup(&mut self, rep: &mut Reporter) -> Res<()> {
        rep.step("backup", "Take a base backup (low-level API and a file copy)");
        let mut s = self.primary_session()?;
        let major = s.server().major;
        let (start_sql, stop_sql) = if major.number() >= 15 {
            (
                "SELECT pg_backup_start('pitr demo', fast => true);",
                "SELECT lsn, labelfile, spcmapfile FROM pg_backup_stop(wait_for_archive => false);",
            )
        } else {
            (
                "SELECT pg_start_backup('pitr demo', fast => true, exclusive => false);",
                "SELECT lsn, labelfile, spcmapfile FROM pg_stop_backup(exclusive => false, wait_for_archive => false);",
            )
        };
        rep.sql(format!("{start_sql}   -- keep this session open until the stop"));
        let start =
            live::backup_start(&mut s, "pitr demo", true).map_err(|e| Failure::Error(e.to_string()))?;
        rep.shell("rsync -a --exclude='pg_wal/*' --exclude=postmaster.pid --exclude=postmaster.opts pgdata/ backup/");
        let copied =
            copy_data_directory(&self.path("pgdata"), &self.path("backup")).map_err(|e| e.to_string())?;
        let (files, bytes) = (copied.files, copied.bytes);
        rep.sql(stop_sql);
        let stop = live::backup_stop(&mut s, false).map_err(|e| Failure::Error(e.to_string()))?;
        rep.shell("cat > backup/backup_label   # the labelfile column, written into the copy");
        let label = self.path("backup/backup_label");
        fs::write(&label, &stop.label_file).map_err(|e| format!("write {}: {e}", label.display()))?;
        if let Some(map) = &stop.tablespace_map {
            let p = self.path("backup/tablespace_map");
            fs::write(&p, map).map_err(|e| format!("write {}: {e}", p.display()))?;
        }
        let stop_file = SegmentName::new(self.timeline, stop.lsn.prev_segment(self.segsize), self.segsize);
        self.wait_archived(&stop_file.to_string())?;
        self.backup_start = start;
        let start_file = SegmentName::of_lsn(self.timeline, start, self.segsize);
        rep.note(format!(
            "backup from {start} (WAL file {start_file}) to {} ({}), {files} files, {}; \
             {stop_file} is archived",
            stop.lsn,
            stop_file,
            mb(bytes)
        ));
        rep.note("pg_basebackup -D backup -c fast -X none does the same in one command");
        rep.set("start_lsn", start);
        rep.set("stop_lsn", stop.lsn);
        rep.set("start_wal_file", start_file.to_string());
        rep.set("files", files);
        rep.set("bytes", bytes);
        let mut b = BTreeMap::new();
        b.insert("start_lsn", start.to_string());
        b.insert("stop_lsn", stop.lsn.to_string());
        b.insert("start_wal_file", start_file.to_string());
        self.facts.backup = Some(b);
        Ok(())
    }

    /// Waits until `name` is in the archive and no longer `.ready`.
    fn wait_archived(&self, name: &str) -> Res<()> {
        let archived = self.path("archive").join(name);
        let ready = self.path("pgdata/pg_wal/archive_status").join(format!("{name}.ready"));
        let start = Instant::now();
        loop {
            if archived.is_file() && !ready.exists() {
                return Ok(());
            }
            self.check_interrupt()?;
            if start.elapsed() > WAIT {
                return Err(Failure::Error(format!(
                    "{name} was not archived within {} s (see archive_command failures in logs/primary.log)",
                    WAIT.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn workload(&mut self, rep: &mut Reporter) -> Res<()> {
        rep.step("workload", "Work goes on after the backup (replayed from the archive later)");
        let mut s = self.primary_session()?;
        let sql = "INSERT INTO accounts SELECT g, 'customer ' || g, (g * 7919 % 100000) / 100.0\n  \
                   FROM generate_series(5001, 10000) g;\n\
                   UPDATE accounts SET balance = balance + 10 WHERE id % 10 = 0;\n\
                   CREATE TABLE audit (id serial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), note text NOT NULL);\n\
                   INSERT INTO audit (note) VALUES ('interest paid');";
        rep.sql(sql);
        exec(&mut s, sql)?;
        let q = "SELECT (SELECT count(*) FROM accounts), pg_current_wal_lsn()::text";
        let row = query_one(&mut s, q)?;
        let rows: i64 = get(&row, 0, q)?;
        let lsn: String = get(&row, 1, q)?;
        rep.note(format!("{rows} rows in {TABLE}; WAL is at {lsn}"));
        rep.set("rows", rows);
        rep.set("wal_lsn", lsn);
        Ok(())
    }

    fn mark(&mut self, rep: &mut Reporter) -> Res<()> {
        rep.step("mark", "Record a mark before the risky change");
        let port = self.primary_server()?.port;
        rep.pitr(format!(
            "pitr mark --dsn 'host=127.0.0.1 port={port} user=postgres' --name {MARK_NAME} --log marks.jsonl"
        ));
        rep.sql(format!(
            "SELECT pg_create_restore_point('{MARK_NAME}');   -- what pitr mark runs, among others"
        ));
        let mut s = self.primary_session()?;
        let opts = MarkOptions { name: Some(MARK_NAME.to_string()), restore_point: true, switch: false };
        let m = live::mark(&mut s, &opts).map_err(|e| Failure::Error(e.to_string()))?;
        let log = self.path("marks.jsonl");
        live::append_mark(&log, &m).map_err(|e| Failure::Error(format!("cannot write the mark log: {e}")))?;
        rep.note(format!(
            "mark {MARK_NAME:?} at {} (WAL file {}), restore point ending at {}, written to marks.jsonl",
            m.lsn,
            m.wal_file,
            m.restore_point_lsn.map(|l| l.to_string()).unwrap_or_else(|| "-".into())
        ));
        rep.note(format!(
            "pitr plan --mark {MARK_NAME} --marks marks.jsonl would recover to this point; the demo goes further, \
             to just before the mistake"
        ));
        rep.set("lsn", m.lsn);
        rep.set("wal_file", m.wal_file.to_string());
        rep.set("restore_point_lsn", m.restore_point_lsn);
        rep.set("time", m.time.to_string());
        self.facts.mark = Some(m);
        Ok(())
    }

    fn accident(&mut self, rep: &mut Reporter) -> Res<()> {
        rep.step("drop", "The accident: DROP TABLE on the wrong server");
        let mut s = self.primary_session()?;
        let sql =
            "UPDATE accounts SET balance = balance - 1 WHERE id <= 100;   -- legitimate work, after the mark";
        rep.sql(sql);
        exec(&mut s, sql)?;
        rep.sql(format!("{CHECKSUM_SQL};"));
        let before = table_state(&mut s)?;
        rep.note(format!("{TABLE} holds {} rows, checksum {}", before.rows, before.checksum));
        let q = "SELECT pg_relation_filenode('accounts')::bigint, \
                 (SELECT oid FROM pg_database WHERE datname = current_database())::bigint";
        rep.sql(format!("{q};"));
        let row = query_one(&mut s, q)?;
        let relfilenode: i64 = get(&row, 0, q)?;
        let db: i64 = get(&row, 1, q)?;
        let relfilenode = u32::try_from(relfilenode).map_err(|_| format!("relfilenode {relfilenode}"))?;
        let db = u32::try_from(db).map_err(|_| format!("database oid {db}"))?;
        rep.note(format!(
            "its file is relfilenode {relfilenode} in database {db}: noted now, this is what pitr looks for in the WAL"
        ));
        rep.sql("DROP TABLE accounts;   -- oops");
        let mut tx = s.client().transaction().map_err(|e| Failure::Error(pgerr(&e)))?;
        tx.batch_execute("DROP TABLE accounts")
            .map_err(|e| Failure::Error(format!("DROP TABLE: {}", pgerr(&e))))?;
        let row = tx
            .query_one("SELECT pg_current_xact_id()::text", &[])
            .map_err(|e| Failure::Error(format!("pg_current_xact_id(): {}", pgerr(&e))))?;
        let xid_text: String = row.try_get(0).map_err(|e| Failure::Error(pgerr(&e)))?;
        tx.commit().map_err(|e| Failure::Error(format!("COMMIT: {}", pgerr(&e))))?;
        let full: u64 = xid_text.parse().map_err(|_| format!("pg_current_xact_id() = {xid_text:?}"))?;
        let server_xid = (full & 0xFFFF_FFFF) as u32;
        rep.note(format!(
            "the server committed the DROP as transaction {server_xid} (pitr does not use this number: it finds the \
             transaction in the WAL)"
        ));
        let sql = "INSERT INTO audit (note) VALUES ('after the accident 1');\n\
                   INSERT INTO audit (note) VALUES ('after the accident 2');\n\
                   INSERT INTO audit (note) VALUES ('after the accident 3');   -- three more commits";
        rep.sql(sql);
        exec(&mut s, sql)?;
        rep.sql("SELECT pg_switch_wal();   -- so that the DROP's WAL is archived now");
        let row = query_one(&mut s, "SELECT pg_switch_wal()::text")?;
        let switch: String = get(&row, 0, "pg_switch_wal()")?;
        let switch = Lsn::parse(&switch).map_err(|e| format!("pg_switch_wal() = {switch:?}: {e}"))?;
        let file =
            SegmentName::new(self.timeline, switch.prev_segment(self.segsize), self.segsize).to_string();
        self.wait_archived(&file)?;
        rep.note(format!("WAL switched at {switch}; {file} is archived"));
        rep.set("rows_before", before.rows);
        rep.set("checksum_before", &before.checksum);
        rep.set("relfilenode", relfilenode);
        rep.set("database_oid", db);
        rep.set("server_xid", server_xid);
        rep.set("switch_lsn", switch);
        rep.set("archived", &file);
        self.facts.table.before = Some(before);
        self.facts.dropped = Some(FoundDrop {
            xid: 0,
            server_xid,
            record_lsn: Lsn(0),
            end_lsn: Lsn(0),
            time: String::new(),
            wal_file: String::new(),
            relfilenode,
            database_oid: db,
            dropped_relations: Vec::new(),
            commits_dropping_files: 0,
        });
        Ok(())
    }

    fn stop_primary(&mut self, rep: &mut Reporter) -> Res<()> {
        rep.step("stop", "Stop the damaged server");
        let server = self.primary.as_mut().ok_or_else(|| Failure::Error("internal: no primary".into()))?;
        let cmds = server.stop();
        for c in cmds? {
            rep.shell(c);
        }
        let mut names: Vec<String> = fs::read_dir(self.path("archive"))
            .map_err(|e| format!("read archive: {e}"))?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let segments: Vec<&String> = names.iter().filter(|n| n.len() == 24).collect();
        rep.shell("ls archive");
        rep.note(format!(
            "the archive holds {} WAL segments ({} .. {}) and {} other file(s): {}",
            segments.len(),
            segments.first().map(|s| s.as_str()).unwrap_or("-"),
            segments.last().map(|s| s.as_str()).unwrap_or("-"),
            names.len() - segments.len(),
            names.iter().filter(|n| n.len() != 24).cloned().collect::<Vec<_>>().join(", ")
        ));
        rep.set("archive_files", &names);
        Ok(())
    }

    fn find(&mut self, rep: &mut Reporter) -> Res<u32> {
        rep.step("find", "Find the transaction that dropped the table, in the archived WAL");
        let d = self.facts.dropped.clone().ok_or_else(|| Failure::Error("internal: no drop".into()))?;
        rep.pitr("pitr find --backup backup --archive archive --table accounts");
        let mut req = FindRequest::new(FindInput::Archive {
            archive: self.path("archive"),
            backup: Some(self.path("backup")),
        });
        req.table = Some("accounts".into());
        let report = find::find(&req).map_err(|e| Failure::Error(e.to_string()))?;
        if let Some(t) = &report.table {
            let nodes: Vec<String> = t.matches.iter().map(|m| m.relfilenode.to_string()).collect();
            rep.note(format!(
                "the backup's catalog (pg_class in base/{}) names accounts with relfilenode {}",
                d.database_oid,
                nodes.join(", ")
            ));
        }
        if !report.relfilenodes.contains(&d.relfilenode) {
            return Err(Failure::Mismatch(format!(
                "pitr resolved accounts to relfilenode(s) {:?} from the backup's catalog, the server said {}",
                report.relfilenodes, d.relfilenode
            )));
        }
        let seg = self.segsize;
        let answer = report.answers.iter().find(|a| a.relfilenode == d.relfilenode);
        let hit = answer
            .and_then(|a| a.dropped_by)
            .and_then(|xid| report.transactions.iter().find(|x| x.xid == xid && !x.subxact));
        let Some(x) = hit else {
            return Err(Failure::Mismatch(format!(
                "no commit in the archive dropped relfilenode {} (read {} transaction ends from {}): {}",
                d.relfilenode,
                report.scanned.transaction_ends,
                report.scanned.from,
                answer.map(|a| a.message.as_str()).unwrap_or("no answer")
            )));
        };
        let dropped_relations: Vec<String> = x.dropped_relations.iter().map(|r| r.to_string()).collect();
        let found = FoundDrop {
            xid: x.xid,
            record_lsn: x.lsn,
            end_lsn: x.end_lsn,
            time: x.time.clone(),
            wal_file: SegmentName::of_lsn(x.timeline, x.lsn, seg).to_string(),
            dropped_relations,
            commits_dropping_files: report.transactions.iter().filter(|t| t.drops_relations).count(),
            ..d.clone()
        };
        rep.note(format!(
            "read {} WAL files from {} on ({} commits and aborts)",
            report.scanned.files.len(),
            report.scanned.from,
            report.scanned.transaction_ends
        ));
        rep.note(format!(
            "found: transaction {} dropped relfilenode {} (COMMIT at {}, {}, in WAL file {})",
            found.xid, found.relfilenode, found.record_lsn, found.time, found.wal_file
        ));
        rep.note(format!(
            "the same commit dropped {} relation files: {} (the table, its TOAST table and indexes)",
            found.dropped_relations.len(),
            found.dropped_relations.join(", ")
        ));
        if let Some(t) = answer.and_then(|a| a.target.as_ref()) {
            rep.note(format!("pitr find recommends: {}", t.args.join(" ")));
        }
        rep.set("xid", found.xid);
        rep.set("record_lsn", found.record_lsn);
        rep.set("end_lsn", found.end_lsn);
        rep.set("time", &found.time);
        rep.set("wal_file", &found.wal_file);
        rep.set("dropped_relations", &found.dropped_relations);
        rep.set("commits_dropping_files", found.commits_dropping_files);
        let xid = found.xid;
        let server_xid = found.server_xid;
        self.facts.dropped = Some(found);
        if xid != server_xid {
            return Err(Failure::Mismatch(format!(
                "pitr found transaction {xid} in the WAL but the server reported {server_xid}"
            )));
        }
        Ok(xid)
    }

    fn request(&self, xid: u32) -> PlanRequest {
        let mut req = PlanRequest::new(self.path("backup"), self.path("archive"));
        req.target = TargetSpec::Xid(xid.to_string());
        req.inclusive = false;
        req.restore_command = Some(format!(
            "{} archive get {} %f %p",
            shell_word(&self.pitr_exe.display().to_string()),
            shell_word(&self.path("archive").display().to_string())
        ));
        req
    }

    fn plan(&mut self, rep: &mut Reporter, xid: u32) -> Res<()> {
        rep.step("plan", "Plan the recovery to just before the DROP");
        rep.pitr(format!("pitr plan --backup backup --archive archive --target-xid {xid} --exclusive"));
        let p = pitr_core::plan::plan(&self.request(xid)).map_err(|e| Failure::Error(e.to_string()))?;
        rep.block(&crate::cmd::plan::render(&p));
        if let Some(st) = &p.stop {
            rep.set("stop_kind", &st.kind);
            rep.set("record_lsn", st.record_lsn);
            rep.set("replay_lsn", st.replay_lsn);
            rep.set("log_message", &st.log_message);
        }
        rep.set("reachable", p.reachable);
        rep.set("wal_files", &p.wal_files);
        let reachable = p.reachable;
        let errors: Vec<String> = p.errors().map(|e| format!("[{}] {}", e.code, e.message)).collect();
        self.facts.recovery.plan_log_line = p.stop.as_ref().and_then(|s| s.log_message.clone());
        self.facts.recovery.plan_replay_lsn = p.stop.as_ref().map(|s| s.replay_lsn);
        self.facts.recovery.planned_files = p.wal_files.iter().filter(|f| f.len() == 24).cloned().collect();
        self.facts.plan = Some(p);
        if !reachable {
            return Err(Failure::Mismatch(format!(
                "the plan says the target is not reachable: {}",
                errors.join("; ")
            )));
        }
        Ok(())
    }

    fn restore(&mut self, rep: &mut Reporter, xid: u32) -> Res<()> {
        rep.step("restore", "Restore the backup into a new data directory, with the recovery settings");
        rep.pitr(format!(
            "pitr restore --backup backup --archive archive --target-xid {xid} --exclusive --pgdata recovered"
        ));
        let req = RestoreRequest {
            plan: self.request(xid),
            pgdata: self.path("recovered"),
            force: false,
            tablespaces: BTreeMap::new(),
            interrupt: Some(self.interrupt.clone()),
        };
        let report = pitr_core::plan::restore(&req).map_err(|e| Failure::Error(e.to_string()))?;
        if !report.restored {
            return Err(Failure::Mismatch("pitr restore refused: the plan is unreachable".into()));
        }
        if let Some(x) = &report.extracted {
            rep.note(format!("copied {} files ({}) into recovered/", x.files, mb(x.bytes)));
            rep.set("files", x.files);
            rep.set("bytes", x.bytes);
        }
        let written: Vec<String> = report
            .written
            .iter()
            .map(|p| p.strip_prefix(&self.work).unwrap_or(p).display().to_string())
            .collect();
        rep.note(format!("wrote {}:", written.join(" and ")));
        for (k, v) in &report.plan.settings {
            rep.conf(format!("{k} = {}", pitr_core::conf::quote_value(v)));
        }
        rep.set("written", &written);
        rep.set("settings", &report.plan.settings);
        use std::os::unix::fs::PermissionsExt;
        let rec = self.path("recovered");
        fs::set_permissions(&rec, fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("chmod {}: {e}", rec.display()))?;
        if self.run_as.root {
            rep.shell("chown -R postgres:postgres recovered");
            self.run_as.give(&rec)?;
        }
        Ok(())
    }

    fn recover(&mut self, rep: &mut Reporter) -> Res<Session> {
        rep.step("recover", "Start the restored server: it replays the archive and pauses at the target");
        let mut server = Server::new(
            "recovered",
            &self.bin.dir,
            &self.run_as,
            &self.work,
            "recovered",
            "logs/recovered.log",
        )?;
        rep.shell(server.start_command());
        let started = server.start(Some(&self.interrupt));
        self.recovered = Some(server);
        for c in started? {
            rep.shell(c);
        }
        let server = self.recovered.as_ref().ok_or_else(|| Failure::Error("internal".into()))?;
        let mut s = connect(server)?;
        rep.sql("SELECT pg_is_in_recovery(), pg_get_wal_replay_pause_state(), pg_last_wal_replay_lsn();");
        let start = Instant::now();
        let status = loop {
            let st = live::replay_status(&mut s).map_err(|e| Failure::Error(e.to_string()))?;
            if !st.in_recovery {
                return Err(Failure::Mismatch(
                    "the server ended recovery instead of pausing at the target".into(),
                ));
            }
            if st.pause_state == Some(PauseState::Paused) && server.log_text().contains("recovery stopping") {
                // replay_status reads the replay LSN before the pause state:
                // read both again now that replay stands still.
                let again = live::replay_status(&mut s).map_err(|e| Failure::Error(e.to_string()))?;
                if again.pause_state == Some(PauseState::Paused) {
                    break again;
                }
            }
            self.check_interrupt()?;
            if start.elapsed() > WAIT {
                return Err(Failure::Error(format!(
                    "recovery did not pause within {} s (pause state {:?}, replay LSN {:?})",
                    WAIT.as_secs(),
                    st.pause_state,
                    st.replay_lsn
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        rep.note(format!(
            "in recovery, paused at replay LSN {}",
            status.replay_lsn.map(|l| l.to_string()).unwrap_or_else(|| "-".into())
        ));
        let log = server.log_text();
        let interesting = [
            "starting point-in-time recovery",
            "starting backup recovery",
            "redo starts at",
            "consistent recovery state reached",
            "recovery stopping",
            "pausing at the end of recovery",
            "recovery has paused",
        ];
        let mut restored = Vec::new();
        let mut shown = Vec::new();
        for line in log.lines() {
            let msg = line.split_once("LOG:  ").map(|(_, m)| m);
            if let Some(m) = msg {
                if let Some(rest) = m.strip_prefix("restored log file \"") {
                    if let Some((f, _)) = rest.split_once('"') {
                        restored.push(f.to_string());
                    }
                } else if interesting.iter().any(|i| m.starts_with(i)) {
                    shown.push(m.to_string());
                }
            }
        }
        rep.shell(format!("grep -E 'recovery|restored log file|consistent' {}", server.log));
        rep.block(&shown.iter().map(|l| format!("LOG:  {l}")).collect::<Vec<_>>().join("\n"));
        let log_line = log
            .lines()
            .filter_map(|l| l.split_once("LOG:  ").map(|(_, m)| m))
            .find(|m| m.starts_with("recovery stopping"))
            .map(str::to_string);
        let r = &mut self.facts.recovery;
        r.log_line = log_line;
        r.replay_lsn = status.replay_lsn;
        r.log_line_matches = r.log_line.is_some() && r.log_line == r.plan_log_line;
        r.replay_lsn_matches = r.replay_lsn.is_some() && r.replay_lsn == r.plan_replay_lsn;
        r.restored_files = restored;
        rep.note(format!("plan said:   {}", r.plan_log_line.as_deref().unwrap_or("(no line)")));
        rep.note(format!("server said: {}", r.log_line.as_deref().unwrap_or("(no line)")));
        rep.note(if r.log_line_matches {
            "same line: pitr predicted exactly where PostgreSQL stopped".to_string()
        } else {
            "DIFFERENT: pitr's prediction was wrong".to_string()
        });
        rep.note(format!(
            "pg_last_wal_replay_lsn() = {}, the plan said {} ({})",
            r.replay_lsn.map(|l| l.to_string()).unwrap_or_else(|| "-".into()),
            r.plan_replay_lsn.map(|l| l.to_string()).unwrap_or_else(|| "-".into()),
            if r.replay_lsn_matches { "same" } else { "DIFFERENT" }
        ));
        let missing: Vec<&String> =
            r.planned_files.iter().filter(|f| !r.restored_files.contains(f)).collect();
        rep.note(format!(
            "PostgreSQL restored {} WAL files from the archive ({} .. {}); the plan listed {}{}",
            r.restored_files.len(),
            r.restored_files.first().map(String::as_str).unwrap_or("-"),
            r.restored_files.last().map(String::as_str).unwrap_or("-"),
            r.planned_files.len(),
            if missing.is_empty() {
                ", all restored".to_string()
            } else {
                format!(
                    ", not restored: {}",
                    missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                )
            }
        ));
        let snapshot = r.clone();
        // The DROP's AccessExclusiveLock was replayed before its commit: the
        // table stays locked while recovery pauses before that commit.
        let q = "SELECT mode FROM pg_locks WHERE locktype = 'relation' AND granted\n  \
                 AND relation = (SELECT oid FROM pg_class WHERE relname = 'accounts')";
        rep.sql(format!("{q};"));
        let locks: Vec<String> = s
            .client()
            .query(q, &[])
            .map_err(|e| Failure::Error(format!("{q}: {}", pgerr(&e))))?
            .iter()
            .filter_map(|r| r.try_get::<usize, String>(0).ok())
            .collect();
        let locked = locks.iter().any(|m| m == "AccessExclusiveLock");
        if locked {
            rep.note(format!(
                "{TABLE} is still locked (AccessExclusiveLock): recovery replayed the DROP's lock and paused before \
                 its commit, so transaction {} is still in progress here; reading the table would wait until \
                 recovery ends",
                self.facts.dropped.as_ref().map(|d| d.xid).unwrap_or(0)
            ));
        } else {
            rep.note(format!(
                "locks on {TABLE}: {}",
                if locks.is_empty() { "none".into() } else { locks.join(", ") }
            ));
        }
        rep.set("table_locks_while_paused", &locks);
        if !snapshot.log_line_matches || !snapshot.replay_lsn_matches {
            rep.fail("PostgreSQL did not stop where pitr planned (see above)");
        }
        rep.set("log_line", &snapshot.log_line);
        rep.set("plan_log_line", &snapshot.plan_log_line);
        rep.set("log_line_matches", snapshot.log_line_matches);
        rep.set("replay_lsn", snapshot.replay_lsn);
        rep.set("plan_replay_lsn", snapshot.plan_replay_lsn);
        rep.set("replay_lsn_matches", snapshot.replay_lsn_matches);
        rep.set("restored_files", &snapshot.restored_files);
        Ok(s)
    }

    fn verify(&mut self, rep: &mut Reporter, s: &mut Session) -> Res<()> {
        rep.step("verify", "Check that the table and its rows are back");
        rep.sql(format!("{CHECKSUM_SQL};"));
        let after = table_state(s)?;
        let before = self.facts.table.before.clone();
        let back = before.as_ref() == Some(&after);
        rep.note(format!("{TABLE} holds {} rows, checksum {}", after.rows, after.checksum));
        if let Some(b) = &before {
            rep.note(format!(
                "before the DROP: {} rows, checksum {}: {}",
                b.rows,
                b.checksum,
                if back { "the same rows are back" } else { "DIFFERENT" }
            ));
        }
        let q = "SELECT count(*) FROM audit";
        rep.sql(format!("{q};"));
        let row = query_one(s, q)?;
        let audit: i64 = get(&row, 0, q)?;
        rep.note(format!(
            "audit holds {audit} row(s): the 3 written after the DROP are not there (recovery rewinds the whole \
             cluster; save such rows from the damaged server first)"
        ));
        rep.set("rows_after", after.rows);
        rep.set("checksum_after", &after.checksum);
        rep.set("back", back);
        rep.set("audit_rows", audit);
        self.facts.table.after = Some(after);
        self.facts.table.back = back;
        if !back {
            return Err(Failure::Mismatch(format!("{TABLE} did not come back with the same rows")));
        }
        Ok(())
    }

    fn promote(&mut self, rep: &mut Reporter, s: &mut Session) -> Res<()> {
        rep.step(
            "promote",
            "End recovery: resume, the server promotes to a new timeline and the DROP is gone",
        );
        let port = self.recovered.as_ref().map(|r| r.port).unwrap_or(0);
        rep.sql("SELECT pg_wal_replay_resume();");
        rep.pitr(format!("pitr replay resume --dsn 'host=127.0.0.1 port={port} user=postgres'   # the same"));
        let r = live::replay_resume(s, WAIT).map_err(|e| Failure::Error(e.to_string()))?;
        match r.outcome {
            ResumeOutcome::Promoted { timeline } => {
                let tl = timeline.unwrap_or(0);
                self.facts.recovery.new_timeline = timeline;
                rep.note(format!(
                    "promoted after {} ms: the server now writes on timeline {tl}; the unfinished DROP is rolled back",
                    r.waited_ms
                ));
                rep.set("new_timeline", timeline);
                if let Some(server) = &self.recovered {
                    let log = server.log_text();
                    let lines: Vec<String> = log
                        .lines()
                        .filter_map(|l| l.split_once("LOG:  ").map(|(_, m)| m))
                        .filter(|m| {
                            m.starts_with("selected new timeline ID")
                                || m.starts_with("archive recovery complete")
                        })
                        .map(|m| format!("LOG:  {m}"))
                        .collect();
                    rep.block(&lines.join("\n"));
                }
                if let Some(p) = &self.facts.plan {
                    if p.new_timeline != tl {
                        rep.note(format!("the plan expected timeline {}", p.new_timeline));
                    }
                }
                Ok(())
            }
            other => {
                Err(Failure::Error(format!("pg_wal_replay_resume() did not promote the server: {other:?}")))
            }
        }
    }

    /// Stops every server still running (fast, then immediate). Returns the
    /// commands run and the errors.
    pub fn stop_servers(&mut self, rep: &mut Reporter) -> Vec<String> {
        let mut errors = Vec::new();
        for server in [self.recovered.as_mut(), self.primary.as_mut()].into_iter().flatten() {
            match server.stop() {
                Ok(cmds) => {
                    for c in cmds {
                        rep.shell(c);
                    }
                }
                Err(e) => {
                    rep.fail(&e);
                    errors.push(e);
                }
            }
        }
        errors
    }

    /// The last lines of every server log, for a failure report.
    pub fn log_tails(&self) -> Vec<(String, Vec<String>)> {
        [self.primary.as_ref(), self.recovered.as_ref()]
            .into_iter()
            .flatten()
            .filter(|s| s.log_path().exists())
            .map(|s| (s.log.clone(), s.log_tail(25)))
            .collect()
    }

    /// The PostgreSQL binaries used.
    pub fn bin(&self) -> &PgBin {
        &self.bin
    }
}
