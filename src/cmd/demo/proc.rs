//! The little process handling the demo needs: running PostgreSQL programs
//! (as the `postgres` system user when pitr runs as root, like a DBA's
//! `runuser -u postgres --`), with a timeout on every wait, and servers that
//! are stopped whatever happens (fast shutdown, then immediate).

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

pub use crate::interrupt::Interrupt;

/// True once an interrupt was asked for.
pub fn interrupted(flag: Option<&Interrupt>) -> bool {
    flag.is_some_and(|f| f.load(Ordering::SeqCst))
}

/// What a finished program printed.
#[derive(Debug)]
pub struct Finished {
    /// Its exit status.
    pub status: ExitStatus,
    /// Standard output (lossy UTF-8).
    pub stdout: String,
    /// Standard error (lossy UTF-8).
    pub stderr: String,
}

fn reader(mut r: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// Runs `cmd` (stdin closed, output captured) and waits at most `timeout`; a
/// program still running then, or when `interrupt` is set, is killed.
pub fn run_with_timeout(
    cmd: &mut Command,
    timeout: Duration,
    interrupt: Option<&Interrupt>,
) -> Result<Finished, String> {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| format!("cannot run {}: {e}", program_name(cmd)))?;
    let out = child.stdout.take().map(reader);
    let err = child.stderr.take().map(reader);
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) => {}
            Err(e) => return Err(format!("waiting for {}: {e}", program_name(cmd))),
        }
        let stop = if interrupted(interrupt) {
            Some("interrupted".to_string())
        } else if start.elapsed() >= timeout {
            Some(format!("timed out after {} s", timeout.as_secs()))
        } else {
            None
        };
        if let Some(why) = stop {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{} {why}", program_name(cmd)));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = out.and_then(|h| h.join().ok()).unwrap_or_default();
    let stderr = err.and_then(|h| h.join().ok()).unwrap_or_default();
    Ok(Finished { status, stdout, stderr })
}

fn program_name(cmd: &Command) -> String {
    let prog = cmd.get_program().to_string_lossy().into_owned();
    if prog == "runuser" {
        // runuser -u postgres -- PROGRAM ...
        if let Some(p) = cmd.get_args().nth(3) {
            return p.to_string_lossy().into_owned();
        }
    }
    prog
}

/// Quotes a word for a POSIX shell when it needs it.
pub fn shell_word(s: &str) -> String {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"/._-+:=@%,".contains(&b)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Who runs the PostgreSQL programs.
#[derive(Debug, Clone)]
pub struct RunAs {
    /// pitr runs as root: PostgreSQL programs run as `postgres` (they refuse
    /// root) through `runuser -u postgres --`, and the directories they write
    /// are given to that user.
    pub root: bool,
}

/// The system user PostgreSQL runs as when pitr runs as root.
pub const SERVER_USER: &str = "postgres";

impl RunAs {
    /// Detects root; as root, checks that the `postgres` user and `runuser` exist.
    pub fn detect() -> Result<RunAs, String> {
        let root = effective_uid().is_some_and(|u| u == 0);
        if root {
            let mut id = Command::new("id");
            id.args(["-u", SERVER_USER]);
            let ok =
                run_with_timeout(&mut id, Duration::from_secs(10), None).is_ok_and(|o| o.status.success());
            if !ok {
                return Err(format!(
                    "running as root, but there is no '{SERVER_USER}' system user to run PostgreSQL as \
                     (initdb and postgres refuse to run as root): create it (useradd --system {SERVER_USER}) \
                     or run pitr demo as an ordinary user"
                ));
            }
            let mut ru = Command::new("runuser");
            ru.arg("--help");
            if run_with_timeout(&mut ru, Duration::from_secs(10), None).is_err() {
                return Err("running as root, but runuser (util-linux) is not installed: it is needed to run \
                            PostgreSQL as the postgres user; install util-linux or run pitr demo as an ordinary user"
                    .into());
            }
        }
        Ok(RunAs { root })
    }

    /// A command running `program` as the server user.
    pub fn command(&self, program: &Path) -> Command {
        if self.root {
            let mut c = Command::new("runuser");
            c.args(["-u", SERVER_USER, "--"]).arg(program);
            c
        } else {
            Command::new(program)
        }
    }

    /// What a DBA types before a PostgreSQL program (`runuser -u postgres -- `
    /// as root, nothing otherwise).
    pub fn prefix(&self) -> &'static str {
        if self.root { "runuser -u postgres -- " } else { "" }
    }

    /// Gives `path` (recursively) to the server user, as root.
    pub fn give(&self, path: &Path) -> Result<(), String> {
        if !self.root {
            return Ok(());
        }
        let mut c = Command::new("chown");
        c.args(["-R", &format!("{SERVER_USER}:{SERVER_USER}")]).arg(path);
        let out = run_with_timeout(&mut c, Duration::from_secs(60), None)?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!("chown -R {SERVER_USER} {} failed: {}", path.display(), out.stderr.trim()))
        }
    }

    /// True when the server user can run `program` (as root: a binary under a
    /// directory closed to `postgres` cannot be its `restore_command`).
    pub fn can_execute(&self, program: &Path) -> bool {
        let mut c = self.command(program);
        c.arg("--version");
        run_with_timeout(&mut c, Duration::from_secs(20), None).is_ok_and(|o| o.status.success())
    }

    /// True when the server user can enter `dir` (every parent open to it).
    pub fn can_enter(&self, dir: &Path) -> bool {
        if !self.root {
            return true;
        }
        let mut c = self.command(Path::new("test"));
        c.arg("-x").arg(dir);
        run_with_timeout(&mut c, Duration::from_secs(10), None).is_ok_and(|o| o.status.success())
    }
}

/// The effective user id, from `/proc/self/status` (else `id -u`).
fn effective_uid() -> Option<u32> {
    if let Ok(s) = std::fs::read_to_string("/proc/self/status") {
        if let Some(uid) = s
            .lines()
            .find(|l| l.starts_with("Uid:"))
            .and_then(|l| l.split_whitespace().nth(2))
            .and_then(|u| u.parse().ok())
        {
            return Some(uid);
        }
    }
    let mut c = Command::new("id");
    c.arg("-u");
    run_with_timeout(&mut c, Duration::from_secs(10), None).ok().and_then(|o| o.stdout.trim().parse().ok())
}

/// A free TCP port on 127.0.0.1 (the kernel's choice).
pub fn free_port() -> Result<u16, String> {
    let l =
        TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot find a free port on 127.0.0.1: {e}"))?;
    l.local_addr().map(|a| a.port()).map_err(|e| format!("cannot find a free port on 127.0.0.1: {e}"))
}

/// How long `pg_ctl` may take to start or stop a server.
pub const PG_CTL_TIMEOUT: Duration = Duration::from_secs(60);

/// A PostgreSQL server of the demo. Stopped when dropped if still running.
#[derive(Debug)]
pub struct Server {
    /// `primary` or `recovered`, for messages.
    pub name: &'static str,
    pg_ctl: PathBuf,
    run_as: RunAs,
    /// The work directory (commands run there; paths are shown relative to it).
    cwd: PathBuf,
    /// Data directory, relative to `cwd`.
    pub pgdata: String,
    /// Server log, relative to `cwd`.
    pub log: String,
    /// TCP port on 127.0.0.1.
    pub port: u16,
}

impl Server {
    /// A server of `pgdata` (relative to `cwd`) logging into `log`, to be
    /// started on a free port.
    pub fn new(
        name: &'static str,
        bin: &Path,
        run_as: &RunAs,
        cwd: &Path,
        pgdata: &str,
        log: &str,
    ) -> Result<Server, String> {
        Ok(Server {
            name,
            pg_ctl: bin.join("pg_ctl"),
            run_as: run_as.clone(),
            cwd: cwd.to_path_buf(),
            pgdata: pgdata.to_string(),
            log: log.to_string(),
            port: free_port()?,
        })
    }

    /// The data directory's absolute path.
    pub fn pgdata_path(&self) -> PathBuf {
        self.cwd.join(&self.pgdata)
    }

    /// The log's absolute path.
    pub fn log_path(&self) -> PathBuf {
        self.cwd.join(&self.log)
    }

    /// The server log so far.
    pub fn log_text(&self) -> String {
        std::fs::read(self.log_path()).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default()
    }

    /// The last `n` lines of the log.
    pub fn log_tail(&self, n: usize) -> Vec<String> {
        let text = self.log_text();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].iter().map(|s| s.to_string()).collect()
    }

    /// True while `postmaster.pid` exists.
    pub fn is_running(&self) -> bool {
        self.pgdata_path().join("postmaster.pid").exists()
    }

    /// A libpq connection string.
    pub fn dsn(&self) -> String {
        format!("host=127.0.0.1 port={} user=postgres dbname=postgres", self.port)
    }

    fn pg_ctl(&self) -> Command {
        let mut c = self.run_as.command(&self.pg_ctl);
        c.current_dir(&self.cwd);
        c
    }

    /// The start command as a DBA types it.
    pub fn start_command(&self) -> String {
        format!(
            "{}pg_ctl -D {} -l {} -w -t {} -o \"-p {}\" start",
            self.run_as.prefix(),
            shell_word(&self.pgdata),
            shell_word(&self.log),
            PG_CTL_TIMEOUT.as_secs(),
            self.port
        )
    }

    /// Starts the server ([`Server::start_command`]); a port taken in the
    /// meantime is retried with another one. Returns the commands of those
    /// retries.
    pub fn start(&mut self, interrupt: Option<&Interrupt>) -> Result<Vec<String>, String> {
        let mut commands = Vec::new();
        for attempt in 0..3 {
            if attempt > 0 {
                self.port = free_port()?;
                commands.push(self.start_command());
            }
            let before = self.log_text().len();
            let mut c = self.pg_ctl();
            c.args(["-D", &self.pgdata, "-l", &self.log, "-w", "-t"])
                .arg(PG_CTL_TIMEOUT.as_secs().to_string())
                .arg("-o")
                .arg(format!("-p {}", self.port))
                .arg("start");
            let out = run_with_timeout(&mut c, PG_CTL_TIMEOUT + Duration::from_secs(10), interrupt)?;
            if out.status.success() {
                return Ok(commands);
            }
            let log = self.log_text();
            let new = log.get(before..).unwrap_or(&log);
            if (new.contains("could not bind") || new.contains("Address already in use"))
                && !self.is_running()
            {
                continue;
            }
            return Err(format!(
                "the {} server did not start: pg_ctl start failed ({}): {}",
                self.name,
                out.status,
                out.stderr.trim().replace('\n', " ")
            ));
        }
        Err(format!("the {} server did not start: no free port found in 3 attempts", self.name))
    }

    /// Stops the server if it runs: `pg_ctl stop -m fast`, then `-m immediate`
    /// if that did not finish in time. Returns the commands run.
    pub fn stop(&mut self) -> Result<Vec<String>, String> {
        let mut commands = Vec::new();
        if !self.is_running() {
            return Ok(commands);
        }
        let mut last_err = String::new();
        for (mode, secs) in [("fast", 30u64), ("immediate", 30)] {
            commands.push(format!(
                "{}pg_ctl -D {} -w -t {secs} -m {mode} stop",
                self.run_as.prefix(),
                shell_word(&self.pgdata)
            ));
            let mut c = self.pg_ctl();
            c.args(["-D", &self.pgdata, "-w", "-t", &secs.to_string(), "-m", mode, "stop"]);
            match run_with_timeout(&mut c, Duration::from_secs(secs + 10), None) {
                Ok(o) if o.status.success() || !self.is_running() => return Ok(commands),
                Ok(o) => {
                    last_err = format!("pg_ctl stop -m {mode} failed ({}): {}", o.status, o.stderr.trim())
                }
                Err(e) => last_err = e,
            }
        }
        Err(format!("the {} server could not be stopped: {last_err}", self.name))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}
