//! Finding the PostgreSQL server programs the demo runs (`initdb`, `pg_ctl`,
//! `postgres`): `--pg-bin DIR`, else every directory of `PATH` holding them,
//! `pg_config --bindir`, and the usual package layouts; the newest supported
//! major wins.

use super::proc::run_with_timeout;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The programs the demo needs.
pub const PROGRAMS: [&str; 3] = ["initdb", "pg_ctl", "postgres"];

/// The majors pitr supports.
pub const MAJORS: std::ops::RangeInclusive<u32> = 13..=18;

/// A directory of PostgreSQL server programs and their version.
#[derive(Debug, Clone, Serialize)]
pub struct PgBin {
    /// The directory (symbolic links resolved).
    pub dir: PathBuf,
    /// `postgres --version` without the program name, e.g. `15.8 (Debian 15.8-1)`.
    pub version: String,
    /// The major version.
    pub major: u32,
    /// How it was found (`--pg-bin`, `PATH`, `pg_config`, a package layout).
    pub found_by: String,
}

impl PgBin {
    /// A program of this directory.
    pub fn program(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// Why no usable directory was found.
#[derive(Debug)]
pub struct NotFound(pub String);

/// Reads `postgres --version` of a directory holding the three programs.
/// (`postgres --version` is answered before the server's refusal to run as
/// root, so it works for every user.)
pub fn inspect(dir: &Path, found_by: &str) -> Result<PgBin, String> {
    let missing: Vec<&str> = PROGRAMS.iter().copied().filter(|p| !is_executable(&dir.join(p))).collect();
    if !missing.is_empty() {
        return Err(format!("{} has no {}", dir.display(), missing.join(", ")));
    }
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let mut cmd = Command::new(dir.join("postgres"));
    cmd.arg("--version");
    let out = run_with_timeout(&mut cmd, Duration::from_secs(20), None)
        .map_err(|e| format!("{}: {e}", dir.join("postgres").display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} --version failed ({}): {}",
            dir.join("postgres").display(),
            out.status,
            out.stderr.trim()
        ));
    }
    let (version, major) = parse_version(&out.stdout).ok_or_else(|| {
        format!("{} --version printed {:?}", dir.join("postgres").display(), out.stdout.trim())
    })?;
    Ok(PgBin { dir, version, major, found_by: found_by.to_string() })
}

/// Parses `postgres (PostgreSQL) 15.8 (Debian 15.8-1.pgdg120+1)`: the version
/// text after `(PostgreSQL) ` and its major.
pub fn parse_version(text: &str) -> Option<(String, u32)> {
    let line = text.lines().next()?.trim();
    let rest = line.split_once("(PostgreSQL)").map(|(_, r)| r.trim()).unwrap_or(line);
    let first = rest.split_whitespace().next()?;
    let digits: String = first.chars().take_while(char::is_ascii_digit).collect();
    let major: u32 = digits.parse().ok()?;
    Some((rest.to_string(), major))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The directories of `PATH` (its value given) that hold `postgres`, with
/// symbolic links resolved (Debian's `/usr/local/bin` links, Homebrew's): the
/// real directory has the other programs.
fn path_candidates(path: Option<&std::ffi::OsStr>) -> Vec<(PathBuf, String)> {
    let mut v = Vec::new();
    if let Some(path) = path {
        for d in std::env::split_paths(path) {
            if d.join("postgres").is_file() {
                let real = std::fs::canonicalize(d.join("postgres"))
                    .ok()
                    .and_then(|p| p.parent().map(Path::to_path_buf))
                    .unwrap_or(d.clone());
                v.push((real, "PATH".into()));
            }
        }
    }
    v
}

/// Directories worth looking at, in order, with how each was found.
fn candidates() -> Vec<(PathBuf, String)> {
    let mut v = path_candidates(std::env::var_os("PATH").as_deref());
    let mut pg_config = Command::new("pg_config");
    pg_config.arg("--bindir");
    if let Ok(out) = run_with_timeout(&mut pg_config, Duration::from_secs(10), None) {
        if out.status.success() {
            let d = out.stdout.trim();
            if !d.is_empty() {
                v.push((PathBuf::from(d), "pg_config --bindir".into()));
            }
        }
    }
    for m in MAJORS.rev() {
        v.push((
            PathBuf::from(format!("/usr/lib/postgresql/{m}/bin")),
            "/usr/lib/postgresql/<major>/bin".into(),
        ));
        v.push((PathBuf::from(format!("/usr/pgsql-{m}/bin")), "/usr/pgsql-<major>/bin".into()));
    }
    v.push((PathBuf::from("/usr/local/pgsql/bin"), "/usr/local/pgsql/bin".into()));
    v
}

/// Where [`find`] looks, for messages.
pub const WHERE_LOOKED: &str = "PATH, pg_config --bindir, /usr/lib/postgresql/<major>/bin, \
                                /usr/pgsql-<major>/bin and /usr/local/pgsql/bin";

/// The directory to use: `--pg-bin` when given (it must hold the programs of a
/// supported major), else the newest supported major found. Also returns the
/// other usable directories found (for the report).
pub fn find(explicit: Option<&Path>) -> Result<(PgBin, Vec<PgBin>), NotFound> {
    if let Some(dir) = explicit {
        if !dir.is_dir() {
            return Err(NotFound(format!(
                "--pg-bin {}: no such directory (it must hold the PostgreSQL server programs initdb, pg_ctl \
                 and postgres, e.g. /usr/lib/postgresql/17/bin)",
                dir.display()
            )));
        }
        let b = inspect(dir, "--pg-bin").map_err(|e| {
            NotFound(format!("--pg-bin {}: {e} (it must hold initdb, pg_ctl and postgres)", dir.display()))
        })?;
        if !MAJORS.contains(&b.major) {
            return Err(NotFound(format!(
                "--pg-bin {}: PostgreSQL {} is not supported: pitr supports 13 to 18",
                dir.display(),
                b.version
            )));
        }
        return Ok((b, Vec::new()));
    }
    choose(candidates())
}

/// The newest supported major among `candidates` (the first found among
/// equals), and the other usable ones.
fn choose(candidates: Vec<(PathBuf, String)>) -> Result<(PgBin, Vec<PgBin>), NotFound> {
    let mut found: Vec<PgBin> = Vec::new();
    let mut skipped: Vec<String> = Vec::new();
    let mut seen: Vec<PathBuf> = Vec::new();
    for (dir, how) in candidates {
        let real = std::fs::canonicalize(&dir).unwrap_or(dir.clone());
        if seen.contains(&real) || !dir.join("postgres").exists() {
            continue;
        }
        seen.push(real);
        match inspect(&dir, &how) {
            Ok(b) if MAJORS.contains(&b.major) => found.push(b),
            Ok(b) => skipped.push(format!("PostgreSQL {} in {} (not supported)", b.version, b.dir.display())),
            Err(e) => skipped.push(e),
        }
    }
    // Newest major first; among equals, the first found (the sort is stable).
    found.sort_by_key(|b| std::cmp::Reverse(b.major));
    if found.is_empty() {
        let mut msg = format!(
            "no PostgreSQL server programs (initdb, pg_ctl, postgres) of a supported major (13 to 18) found; \
             looked in {WHERE_LOOKED}. Install PostgreSQL (Debian/Ubuntu: apt-get install postgresql) or give \
             --pg-bin DIR"
        );
        if !skipped.is_empty() {
            msg.push_str(&format!(" (not usable: {})", skipped.join("; ")));
        }
        return Err(NotFound(msg));
    }
    let chosen = found.remove(0);
    Ok((chosen, found))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(
            parse_version("postgres (PostgreSQL) 15.8 (Debian 15.8-1.pgdg120+1)\n"),
            Some(("15.8 (Debian 15.8-1.pgdg120+1)".to_string(), 15))
        );
        assert_eq!(parse_version("postgres (PostgreSQL) 18.4"), Some(("18.4".to_string(), 18)));
        assert_eq!(parse_version("postgres (PostgreSQL) 18beta1"), Some(("18beta1".to_string(), 18)));
        assert_eq!(parse_version(""), None);
        assert_eq!(parse_version("something else"), None);
    }

    /// A directory of symbolic links to a major's programs, as a package
    /// manager makes in a directory of PATH.
    fn links_to(major: u32) -> tempfile::TempDir {
        let bin = pitr_testkit::pg_bin(major).unwrap();
        let d = tempfile::tempdir().unwrap();
        for p in PROGRAMS {
            std::os::unix::fs::symlink(bin.join(p), d.path().join(p)).unwrap();
        }
        d
    }

    #[test]
    fn path_links_lead_to_the_real_directory() {
        let majors = pitr_testkit::available_majors();
        let m = *majors.first().unwrap();
        let links = links_to(m);
        let empty = tempfile::tempdir().unwrap();
        let path = std::env::join_paths([empty.path(), links.path()]).unwrap();
        let c = path_candidates(Some(&path));
        let real = std::fs::canonicalize(pitr_testkit::pg_bin(m).unwrap()).unwrap();
        assert_eq!(c, vec![(real.clone(), "PATH".to_string())]);
        let (b, others) = choose(c).unwrap();
        assert_eq!((b.major, b.dir, others.len()), (m, real, 0));
    }

    #[test]
    fn the_newest_major_wins() {
        let majors = pitr_testkit::available_majors();
        let cands: Vec<(PathBuf, String)> =
            majors.iter().map(|m| (pitr_testkit::pg_bin(*m).unwrap(), format!("test {m}"))).collect();
        let (b, others) = choose(cands.clone()).unwrap();
        assert_eq!(b.major, *majors.iter().max().unwrap());
        assert_eq!(others.len(), majors.len() - 1);
        // The same directory twice counts once; directories without the programs are skipped.
        let mut twice = cands;
        twice.push(twice[0].clone());
        twice.insert(0, (PathBuf::from("/nonexistent"), "test".into()));
        let (b2, others2) = choose(twice).unwrap();
        assert_eq!((b2.major, others2.len()), (b.major, others.len()));
        // Nothing usable: a clear message.
        let e = choose(vec![(PathBuf::from("/nonexistent"), "test".into())]).unwrap_err().0;
        assert!(e.contains("no PostgreSQL server programs") && e.contains("--pg-bin"), "{e}");
    }

    #[test]
    fn explicit_directory_must_hold_the_programs() {
        let d = tempfile::tempdir().unwrap();
        let e = find(Some(d.path())).unwrap_err().0;
        assert!(e.contains("has no initdb, pg_ctl, postgres"), "{e}");
        let e = find(Some(&d.path().join("nope"))).unwrap_err().0;
        assert!(e.contains("no such directory"), "{e}");
    }
}
