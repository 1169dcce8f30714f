//! Connections: defaults like libpq's, timeouts, error messages naming the
//! server, NULL-safe column access.

use super::{LiveError, ServerInfo};
use crate::lsn::{Lsn, WalSegSize};
use crate::version::PgMajor;
use crate::walfile::TimeLineId;
use postgres::config::Host;
use postgres::types::{FromSql, ToSql};
use postgres::{Client, Config, NoTls, Row};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

/// The connect timeout when nothing else sets one.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How to reach a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectOptions {
    /// A libpq connection string, key/value (`host=db1 port=5432 user=postgres`)
    /// or URL (`postgresql://postgres@db1:5432/postgres`). Missing parts come
    /// from `PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE`, `PGPASSWORD`,
    /// `PGCONNECT_TIMEOUT` and `PGAPPNAME` like libpq; with no host at all the
    /// Unix socket in `/var/run/postgresql` or `/tmp` is used when it exists,
    /// else `localhost`. TLS is not supported (`sslmode=require` fails).
    pub dsn: String,
    /// Connect timeout per host, unless the connection string sets
    /// `connect_timeout`. `None` (the default): `PGCONNECT_TIMEOUT`, else
    /// [`DEFAULT_CONNECT_TIMEOUT`]. Zero waits as long as the system does.
    pub connect_timeout: Option<Duration>,
    /// `statement_timeout` set for the session; zero disables it. Default 30 s.
    pub statement_timeout: Duration,
    /// `application_name` when the connection string has none. Default `pitr`.
    pub application_name: String,
}

impl ConnectOptions {
    /// Options for `dsn` with the default timeouts.
    pub fn new(dsn: impl Into<String>) -> Self {
        ConnectOptions { dsn: dsn.into(), ..ConnectOptions::default() }
    }
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            dsn: String::new(),
            connect_timeout: None,
            statement_timeout: Duration::from_secs(30),
            application_name: "pitr".to_string(),
        }
    }
}

/// An open connection plus what pitr knows about the server.
pub struct Session {
    client: Client,
    endpoint: String,
    server: ServerInfo,
    statement_timeout: Duration,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("endpoint", &self.endpoint).field("server", &self.server).finish()
    }
}

impl Session {
    /// Connects, sets the statement timeout and reads [`ServerInfo`]. A server
    /// that cannot be reached gives [`LiveError::Connect`] naming host and port;
    /// a major other than 13 to 18 gives [`LiveError::Unsupported`].
    pub fn connect(opts: &ConnectOptions) -> Result<Session, LiveError> {
        let (config, endpoint) = resolve_config(opts, &|k| std::env::var(k).ok(), &|p| p.exists())?;
        let client = config
            .connect(NoTls)
            .map_err(|e| LiveError::Connect { endpoint: endpoint.clone(), message: describe(&e) })?;
        Session::with_client(client, endpoint, opts.statement_timeout)
    }

    /// Wraps a client that is already connected (its settings are left as they
    /// are, except `statement_timeout`). `endpoint` names the server in errors.
    pub fn with_client(
        client: Client,
        endpoint: impl Into<String>,
        statement_timeout: Duration,
    ) -> Result<Session, LiveError> {
        let endpoint = endpoint.into();
        let placeholder = ServerInfo {
            version: String::new(),
            version_num: 0,
            major: PgMajor::V13,
            system_id: None,
            timeline: None,
            checkpoint_timeline: None,
            in_recovery: false,
            wal_segment_size: WalSegSize::DEFAULT,
        };
        let mut s = Session { client, endpoint, server: placeholder, statement_timeout };
        s.set_statement_timeout(statement_timeout)?;
        s.refresh()?;
        Ok(s)
    }

    /// `host=... port=...` of the server, for messages.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// What was learnt at connect time (or at the last [`Session::refresh`]).
    pub fn server(&self) -> &ServerInfo {
        &self.server
    }

    /// The underlying client, for queries pitr does not provide.
    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    /// Reads [`ServerInfo`] again (after a promotion, for instance).
    pub fn refresh(&mut self) -> Result<&ServerInfo, LiveError> {
        let what = "server version and state";
        let row = self.query_one(
            what,
            "SELECT current_setting('server_version'), current_setting('server_version_num'), \
             pg_is_in_recovery(), current_setting('wal_segment_size')",
            &[],
        )?;
        let version: String = self.col(&row, 0, what)?.unwrap_or_default();
        let num_text: String = self.col(&row, 1, what)?.unwrap_or_default();
        let in_recovery: bool = self.col(&row, 2, what)?.unwrap_or(false);
        let seg_text: String = self.col(&row, 3, what)?.unwrap_or_default();
        let version_num: u32 = num_text
            .trim()
            .parse()
            .map_err(|_| self.unexpected(what, format!("server_version_num {num_text:?} is not a number")))?;
        let major_num = version_num / 10000;
        let major = PgMajor::from_number(major_num).ok_or_else(|| LiveError::Unsupported {
            endpoint: self.endpoint.clone(),
            message: format!(
                "PostgreSQL {version} (major {major_num}) is not supported: pitr supports 13 to 18"
            ),
        })?;
        let wal_segment_size =
            WalSegSize::parse(&seg_text).map_err(|e| self.unexpected("wal_segment_size", e.to_string()))?;

        // pg_control_system() may be refused to unprivileged roles.
        let system_id = match self.client.query_opt("SELECT system_identifier FROM pg_control_system()", &[])
        {
            Ok(Some(r)) => r.try_get::<_, Option<i64>>(0).ok().flatten().map(|v| v as u64),
            _ => None,
        };
        let checkpoint_timeline = self.checkpoint_timeline();
        let timeline = if in_recovery { checkpoint_timeline } else { self.insert_timeline()? };
        self.server = ServerInfo {
            version,
            version_num,
            major,
            system_id,
            timeline,
            checkpoint_timeline,
            in_recovery,
            wal_segment_size,
        };
        Ok(&self.server)
    }

    /// The timeline of the latest checkpoint (`pg_control_checkpoint()`), if allowed.
    pub(crate) fn checkpoint_timeline(&mut self) -> Option<TimeLineId> {
        match self.client.query_opt("SELECT timeline_id FROM pg_control_checkpoint()", &[]) {
            Ok(Some(r)) => r.try_get::<_, Option<i32>>(0).ok().flatten().and_then(|v| u32::try_from(v).ok()),
            _ => None,
        }
    }

    /// The timeline WAL is inserted on, from the first 8 digits of
    /// `pg_walfile_name()` (a primary only).
    pub(crate) fn insert_timeline(&mut self) -> Result<Option<TimeLineId>, LiveError> {
        let what = "current timeline (pg_walfile_name)";
        let row = self.query_one(what, "SELECT pg_walfile_name(pg_current_wal_lsn())", &[])?;
        let name: Option<String> = self.col(&row, 0, what)?;
        Ok(name.and_then(|n| n.get(0..8).and_then(|h| u32::from_str_radix(h, 16).ok())))
    }

    /// Sets `statement_timeout` (zero disables it).
    pub fn set_statement_timeout(&mut self, timeout: Duration) -> Result<(), LiveError> {
        let ms = timeout.as_millis().min(i32::MAX as u128);
        self.client
            .batch_execute(&format!("SET statement_timeout = {ms}"))
            .map_err(|e| self.query_error("SET statement_timeout", &e))?;
        Ok(())
    }

    /// Runs `f` with `statement_timeout` set to `timeout`, then restores the
    /// session's own timeout.
    pub(crate) fn with_statement_timeout<T>(
        &mut self,
        timeout: Duration,
        f: impl FnOnce(&mut Session) -> Result<T, LiveError>,
    ) -> Result<T, LiveError> {
        self.set_statement_timeout(timeout)?;
        let result = f(self);
        let restore = self.set_statement_timeout(self.statement_timeout);
        let value = result?;
        restore?;
        Ok(value)
    }

    pub(crate) fn query_error(&self, what: &str, e: &postgres::Error) -> LiveError {
        LiveError::Query { endpoint: self.endpoint.clone(), what: what.to_string(), message: describe(e) }
    }

    pub(crate) fn unexpected(&self, what: &str, message: impl Into<String>) -> LiveError {
        LiveError::Query { endpoint: self.endpoint.clone(), what: what.to_string(), message: message.into() }
    }

    /// Exactly one row.
    pub(crate) fn query_one(
        &mut self,
        what: &str,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, LiveError> {
        match self.client.query(sql, params) {
            Ok(mut rows) if rows.len() == 1 => Ok(rows.remove(0)),
            Ok(rows) => Err(self.unexpected(what, format!("expected one row, got {}", rows.len()))),
            Err(e) => Err(self.query_error(what, &e)),
        }
    }

    /// Any number of rows.
    pub(crate) fn query(
        &mut self,
        what: &str,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, LiveError> {
        self.client.query(sql, params).map_err(|e| self.query_error(what, &e))
    }

    /// Column `idx` of `row`, NULL as `None`; a type mismatch is an error, never a panic.
    pub(crate) fn col<'a, T: FromSql<'a>>(
        &self,
        row: &'a Row,
        idx: usize,
        what: &str,
    ) -> Result<Option<T>, LiveError> {
        row.try_get::<usize, Option<T>>(idx)
            .map_err(|e| self.unexpected(what, format!("column {idx}: {}", describe(&e))))
    }

    /// An LSN column (`pg_lsn`), NULL as `None`.
    pub(crate) fn lsn_col(&self, row: &Row, idx: usize, what: &str) -> Result<Option<Lsn>, LiveError> {
        Ok(self.col::<postgres::types::PgLsn>(row, idx, what)?.map(|l| Lsn(u64::from(l))))
    }

    /// A `timestamptz` column as a [`jiff::Timestamp`], NULL as `None`.
    pub(crate) fn time_col(
        &self,
        row: &Row,
        idx: usize,
        what: &str,
    ) -> Result<Option<jiff::Timestamp>, LiveError> {
        match self.col::<std::time::SystemTime>(row, idx, what)? {
            None => Ok(None),
            Some(t) => jiff::Timestamp::try_from(t)
                .map(Some)
                .map_err(|e| self.unexpected(what, format!("column {idx}: timestamp out of range: {e}"))),
        }
    }
}

/// A server error as `ERROR: message (DETAIL: ...; HINT: ...)`, or the client
/// error with its causes.
pub(crate) fn describe(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut s = format!("{}: {}", db.severity(), db.message());
        if let Some(d) = db.detail() {
            s.push_str(&format!(" (DETAIL: {d})"));
        }
        if let Some(h) = db.hint() {
            s.push_str(&format!(" (HINT: {h})"));
        }
        return s;
    }
    let mut s = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let c = cause.to_string();
        if !s.contains(&c) {
            s.push_str(": ");
            s.push_str(&c);
        }
        source = cause.source();
    }
    s
}

/// Parses the connection string and fills what is missing from the
/// environment; returns the configuration and the `host=... port=...` text.
pub(crate) fn resolve_config(
    opts: &ConnectOptions,
    env: &dyn Fn(&str) -> Option<String>,
    exists: &dyn Fn(&Path) -> bool,
) -> Result<(Config, String), LiveError> {
    let dsn = opts.dsn.trim();
    let mut config = if dsn.is_empty() {
        Config::new()
    } else {
        Config::from_str(dsn).map_err(|e| LiveError::Dsn(describe(&e)))?
    };
    let nonempty = |k: &str| env(k).filter(|v| !v.is_empty());
    if config.get_ports().is_empty() {
        if let Some(p) = nonempty("PGPORT") {
            let port: u16 =
                p.trim().parse().map_err(|_| LiveError::Dsn(format!("PGPORT={p:?} is not a port")))?;
            config.port(port);
        }
    }
    let port = config.get_ports().first().copied().unwrap_or(5432);
    if config.get_hosts().is_empty() && config.get_hostaddrs().is_empty() {
        match nonempty("PGHOST") {
            Some(hosts) => {
                for h in hosts.split(',') {
                    if h.starts_with('/') {
                        config.host_path(h);
                    } else {
                        config.host(h);
                    }
                }
            }
            None => {
                let socket_dir = ["/var/run/postgresql", "/tmp"]
                    .into_iter()
                    .find(|d| exists(&Path::new(d).join(format!(".s.PGSQL.{port}"))));
                match socket_dir {
                    Some(d) => {
                        config.host_path(d);
                    }
                    None => {
                        config.host("localhost");
                    }
                }
            }
        }
    }
    if config.get_user().is_none() {
        if let Some(u) = nonempty("PGUSER") {
            config.user(&u);
        }
    }
    if config.get_dbname().is_none() {
        if let Some(d) = nonempty("PGDATABASE") {
            config.dbname(&d);
        }
    }
    if config.get_password().is_none() {
        if let Some(p) = env("PGPASSWORD") {
            config.password(p);
        }
    }
    if config.get_application_name().is_none() {
        config.application_name(&nonempty("PGAPPNAME").unwrap_or_else(|| opts.application_name.clone()));
    }
    if config.get_connect_timeout().is_none() {
        let from_env = || {
            nonempty("PGCONNECT_TIMEOUT")
                .and_then(|v| v.trim().parse::<u64>().ok())
                .filter(|s| *s > 0)
                .map(Duration::from_secs)
        };
        let t = opts.connect_timeout.or_else(from_env).unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        if !t.is_zero() {
            config.connect_timeout(t);
        }
    }
    let endpoint = endpoint_of(&config);
    Ok((config, endpoint))
}

/// `host=a,b port=5432` (what libpq users recognise).
fn endpoint_of(config: &Config) -> String {
    let mut hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            Host::Tcp(s) => s.clone(),
            Host::Unix(p) => p.display().to_string(),
        })
        .collect();
    if hosts.is_empty() {
        hosts = config.get_hostaddrs().iter().map(|a| a.to_string()).collect();
    }
    let ports: Vec<String> = if config.get_ports().is_empty() {
        vec!["5432".to_string()]
    } else {
        config.get_ports().iter().map(|p| p.to_string()).collect()
    };
    format!("host={} port={}", hosts.join(","), ports.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn resolve(dsn: &str, env: &[(&str, &str)], sockets: &[&str]) -> Result<(Config, String), LiveError> {
        let env: HashMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let sockets: Vec<String> = sockets.iter().map(|s| s.to_string()).collect();
        resolve_config(&ConnectOptions::new(dsn), &|k| env.get(k).cloned(), &|p| {
            sockets.iter().any(|s| Path::new(s) == p)
        })
    }

    #[test]
    fn key_value_and_url_forms_name_the_endpoint() {
        let (c, e) = resolve("host=db1 port=6543 user=alice dbname=x", &[], &[]).unwrap();
        assert_eq!(e, "host=db1 port=6543");
        assert_eq!(c.get_user(), Some("alice"));
        assert_eq!(c.get_connect_timeout(), Some(&Duration::from_secs(10)));
        assert_eq!(c.get_application_name(), Some("pitr"));
        let (_, e) = resolve("postgresql://bob@db2:5433/postgres", &[], &[]).unwrap();
        assert_eq!(e, "host=db2 port=5433");
    }

    #[test]
    fn environment_fills_the_gaps_like_libpq() {
        let (c, e) = resolve(
            "",
            &[
                ("PGHOST", "h1,/run/pg"),
                ("PGPORT", "5999"),
                ("PGUSER", "u"),
                ("PGDATABASE", "d"),
                ("PGCONNECT_TIMEOUT", "3"),
                ("PGAPPNAME", "app"),
            ],
            &[],
        )
        .unwrap();
        assert_eq!(e, "host=h1,/run/pg port=5999");
        assert_eq!(c.get_user(), Some("u"));
        assert_eq!(c.get_dbname(), Some("d"));
        assert_eq!(c.get_connect_timeout(), Some(&Duration::from_secs(3)));
        assert_eq!(c.get_application_name(), Some("app"));
        // An explicit option beats the environment; the connection string beats both.
        let env: HashMap<String, String> = [("PGCONNECT_TIMEOUT".to_string(), "3".to_string())].into();
        let opts =
            ConnectOptions { connect_timeout: Some(Duration::from_secs(5)), ..ConnectOptions::new("host=h") };
        let (c, _) = resolve_config(&opts, &|k| env.get(k).cloned(), &|_| false).unwrap();
        assert_eq!(c.get_connect_timeout(), Some(&Duration::from_secs(5)));
        let opts = ConnectOptions {
            connect_timeout: Some(Duration::from_secs(5)),
            ..ConnectOptions::new("host=h connect_timeout=8")
        };
        let (c, _) = resolve_config(&opts, &|k| env.get(k).cloned(), &|_| false).unwrap();
        assert_eq!(c.get_connect_timeout(), Some(&Duration::from_secs(8)));
        // The connection string wins over the environment.
        let (c, e) =
            resolve("host=x port=1 user=v connect_timeout=7", &[("PGHOST", "h"), ("PGUSER", "u")], &[])
                .unwrap();
        assert_eq!(e, "host=x port=1");
        assert_eq!(c.get_user(), Some("v"));
        assert_eq!(c.get_connect_timeout(), Some(&Duration::from_secs(7)));
    }

    #[test]
    fn no_host_uses_an_existing_socket_or_localhost() {
        let (_, e) = resolve("", &[], &["/tmp/.s.PGSQL.5432"]).unwrap();
        assert_eq!(e, "host=/tmp port=5432");
        let (_, e) =
            resolve("port=6000", &[], &["/var/run/postgresql/.s.PGSQL.6000", "/tmp/.s.PGSQL.6000"]).unwrap();
        assert_eq!(e, "host=/var/run/postgresql port=6000");
        let (_, e) = resolve("", &[], &[]).unwrap();
        assert_eq!(e, "host=localhost port=5432");
    }

    #[test]
    fn bad_strings_are_errors() {
        assert!(matches!(resolve("host=", &[], &[]).map(|_| ()), Ok(()) | Err(LiveError::Dsn(_))));
        assert!(matches!(resolve("nonsense", &[], &[]), Err(LiveError::Dsn(_))));
        assert!(matches!(resolve("port=notaport", &[], &[]), Err(LiveError::Dsn(_))));
        assert!(matches!(resolve("", &[("PGPORT", "x")], &[]), Err(LiveError::Dsn(_))));
    }
}
