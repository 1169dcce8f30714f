//! Verifying a base backup like `pg_verifybackup`, for plain and tar
//! backups of any major 13 to 18, in one pass over the contents:
//!
//! * the manifest itself (structure, `Manifest-Checksum`);
//! * every file's presence, size and checksum, and files that the manifest
//!   does not list (ignoring `backup_manifest`, `pg_wal`,
//!   `postgresql.auto.conf`, `recovery.signal`, `standby.signal`);
//! * `global/pg_control` (CRC, and for a version 2 manifest its system
//!   identifier), `PG_VERSION`, `backup_label`, `tablespace_map`;
//! * the WAL the backup needs (`WAL-Ranges`): present by name in the archive
//!   given, or else in the backup's own `pg_wal`; read through a
//!   [`WalRangeParser`] when one is given.

use super::wal::{RangeCheck, WalRangeParser, WalSource, check_ranges};
use super::{Backup, BackupFormat, Problem, Severity};
use crate::error::Error;
use crate::lsn::WalSegSize;
use crate::manifest::{FileProblemKind, ManifestVerifier};
use crate::version::PgMajor;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What to verify.
#[derive(Default)]
pub struct VerifyOptions<'a> {
    /// Check the WAL ranges against this archive directory (flat or nested)
    /// instead of the backup's own `pg_wal`.
    pub archive: Option<PathBuf>,
    /// Check presence and sizes only (`pg_verifybackup -s`).
    pub skip_checksums: bool,
    /// More paths to ignore (`pg_verifybackup -i`).
    pub ignore: Vec<String>,
    /// Reads the WAL of each range (the WAL reader); `None` checks names only.
    pub wal_parser: Option<&'a dyn WalRangeParser>,
    /// Called after each file with (bytes of files walked so far, total size
    /// the manifest lists), for a progress display.
    pub progress: Option<&'a dyn Fn(u64, u64)>,
}

impl std::fmt::Debug for VerifyOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyOptions")
            .field("archive", &self.archive)
            .field("skip_checksums", &self.skip_checksums)
            .field("ignore", &self.ignore)
            .field("wal_parser", &self.wal_parser.is_some())
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

/// The WAL part of a [`VerifyReport`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct WalReport {
    /// Where the WAL was looked for (`archive /x`, `the backup's pg_wal`), or
    /// `None` when it was not checked.
    pub source: Option<String>,
    /// The segment size used (from `pg_control`).
    pub segment_size: Option<WalSegSize>,
    /// One entry per `WAL-Ranges` entry.
    pub ranges: Vec<RangeCheck>,
    /// Whether the records were read (a [`WalRangeParser`] was given), not
    /// only the file names checked.
    pub parsed: bool,
}

/// The result of [`verify`] (what `pitr backup verify --json` prints).
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// The backup.
    pub path: PathBuf,
    /// Its format.
    pub format: BackupFormat,
    /// Major version.
    pub major: Option<PgMajor>,
    /// Manifest version, when there is a usable manifest.
    pub manifest_version: Option<u32>,
    /// System identifier (pg_control), as a decimal string.
    pub system_identifier: Option<String>,
    /// Files listed in the manifest.
    pub manifest_files: usize,
    /// Bytes whose checksum was computed.
    pub bytes_checksummed: u64,
    /// Whether file checksums were checked.
    pub checksums_checked: bool,
    /// The WAL check.
    pub wal: WalReport,
    /// Every problem found (errors and warnings).
    pub problems: Vec<Problem>,
    /// True when no problem is an error.
    pub ok: bool,
}

/// Verifies the backup at `path` (plain directory or tar output). Problems
/// are reported in the [`VerifyReport`]; `Err` only when the backup cannot
/// be read at all (no such directory, not a backup, a label file alone).
pub fn verify(path: &Path, opts: &VerifyOptions<'_>) -> Result<(Backup, VerifyReport), Error> {
    let mut backup = Backup::locate(path)?;
    if matches!(backup.format, BackupFormat::Label | BackupFormat::BackupHistory) {
        return Err(Error::Invalid(format!(
            "{}: a backup_label or .backup file alone cannot be verified; give the backup directory",
            path.display()
        )));
    }
    // Without a manifest there is nothing to verify files against: an error here.
    for p in &mut backup.problems {
        if p.code == "no_manifest" {
            p.severity = Severity::Error;
        }
    }
    let manifest = backup.manifest.clone().filter(|_| backup.manifest_checksum_ok);
    let mut bytes_checksummed = 0;
    match &manifest {
        Some(m) => {
            let mut v = ManifestVerifier::new(m);
            if opts.skip_checksums {
                v.skip_checksums();
            }
            for i in &opts.ignore {
                v.ignore(i);
            }
            let total = m.total_size();
            let progress = opts.progress.map(|f| move |done: u64| f(done, total));
            backup.read_contents_with(Some(&mut v), progress.as_ref().map(|f| f as &dyn Fn(u64)))?;
            bytes_checksummed = v.bytes_checksummed();
            for p in v.finish() {
                let code = match p.kind {
                    FileProblemKind::NotInManifest => "not_in_manifest",
                    FileProblemKind::NotInBackup => "not_in_backup",
                    FileProblemKind::SizeMismatch => "size_mismatch",
                    FileProblemKind::ChecksumMismatch => "checksum_mismatch",
                    FileProblemKind::ChecksumLength => "checksum_length",
                    FileProblemKind::ReadSizeMismatch => "read_size_mismatch",
                    FileProblemKind::NotRegularFile => "not_regular_file",
                };
                backup.problems.push(Problem::error(code, Some(p.path.to_string()), p.message));
            }
        }
        None => backup.read_contents(None)?,
    }

    // One cluster: manifest (v2) and pg_control.
    if let (Some(m), Some(cf)) = (&manifest, &backup.control) {
        if let Some(sysid) = m.system_identifier {
            if sysid != cf.system_identifier {
                backup.problems.push(Problem::error(
                    "system_identifier_mismatch",
                    Some(crate::control::CONTROL_FILE_PATH.into()),
                    format!(
                        "{}: manifest system identifier is {sysid}, but control file has {}",
                        crate::control::CONTROL_FILE_PATH,
                        cf.system_identifier
                    ),
                ));
            }
        }
    }

    let wal = check_wal(&mut backup, manifest.as_ref(), opts)?;

    let ok = !backup.problems.iter().any(|p| p.severity == Severity::Error);
    let report = VerifyReport {
        path: path.to_path_buf(),
        format: backup.format,
        major: backup.major(),
        manifest_version: manifest.as_ref().map(|m| m.version),
        system_identifier: backup.control.as_ref().map(|c| c.system_identifier.to_string()),
        manifest_files: manifest.as_ref().map_or(0, |m| m.files.len()),
        bytes_checksummed,
        checksums_checked: manifest.is_some() && !opts.skip_checksums,
        wal,
        problems: backup.problems.clone(),
        ok,
    };
    Ok((backup, report))
}

fn check_wal(
    backup: &mut Backup,
    manifest: Option<&crate::manifest::Manifest>,
    opts: &VerifyOptions<'_>,
) -> Result<WalReport, Error> {
    let mut report = WalReport { parsed: opts.wal_parser.is_some(), ..WalReport::default() };
    let Some(m) = manifest else { return Ok(report) };
    if m.wal_ranges.is_empty() {
        return Ok(report);
    }
    let Some(seg) = backup.control.as_ref().map(|c| c.wal_segment_size) else {
        backup.problems.push(Problem::warning(
            "wal_not_checked",
            None,
            "the WAL ranges were not checked: the WAL segment size is unknown without global/pg_control",
        ));
        return Ok(report);
    };
    report.segment_size = Some(seg);
    let source = match &opts.archive {
        Some(dir) => WalSource::from_archive_dir(dir)?,
        None => match WalSource::from_backup(backup) {
            Some(s) => s,
            None => {
                backup.problems.push(Problem::warning(
                    "wal_not_checked",
                    None,
                    "the backup holds no WAL (pg_basebackup -X none?): give the archive with --archive \
                     to check that the WAL it needs is there",
                ));
                return Ok(report);
            }
        },
    };
    report.source = Some(source.description.clone());
    let (ranges, problems) = check_ranges(&m.wal_ranges, seg, &source, opts.wal_parser);
    report.ranges = ranges;
    backup.problems.extend(problems);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::with_recomputed_checksum;
    use std::cell::Cell;
    use std::fs;

    /// A tiny plain "backup": PG_VERSION and one relation file, with a manifest.
    fn synthetic(dir: &Path) {
        fs::create_dir_all(dir.join("base/1")).unwrap();
        fs::write(dir.join("PG_VERSION"), "15\n").unwrap();
        fs::write(dir.join("base/1/1259"), "abc").unwrap();
        fs::write(dir.join("postgresql.auto.conf"), "# edited after the backup\n").unwrap();
        let m = "{ \"PostgreSQL-Backup-Manifest-Version\": 1,\n\"Files\": [\n\
{ \"Path\": \"PG_VERSION\", \"Size\": 3, \"Last-Modified\": \"2026-11-24 00:57:28 GMT\", \"Checksum-Algorithm\": \"CRC32C\", \"Checksum\": \"8a744722\" },\n\
{ \"Path\": \"base/1/1259\", \"Size\": 3, \"Last-Modified\": \"2026-11-24 00:57:28 GMT\", \"Checksum-Algorithm\": \"SHA256\", \"Checksum\": \"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\" }\n\
],\n\"WAL-Ranges\": [\n{ \"Timeline\": 1, \"Start-LSN\": \"0/2000028\", \"End-LSN\": \"0/2000100\" }\n],\n\
\"Manifest-Checksum\": \"\"}\n";
        fs::write(dir.join("backup_manifest"), with_recomputed_checksum(m.as_bytes()).unwrap()).unwrap();
    }

    fn codes(r: &VerifyReport) -> Vec<&'static str> {
        r.problems.iter().filter(|p| p.severity == Severity::Error).map(|p| p.code).collect()
    }

    #[test]
    fn files_checked_and_progress_reported() {
        let d = tempfile::tempdir().unwrap();
        synthetic(d.path());
        let seen = Cell::new((0, 0));
        let progress = |done, total| seen.set((done, total));
        let opts = VerifyOptions { progress: Some(&progress), ..Default::default() };
        let (_, r) = verify(d.path(), &opts).unwrap();
        // No pg_control in this synthetic backup: that is the only error.
        assert_eq!(codes(&r), vec!["no_control_file"]);
        assert_eq!(r.bytes_checksummed, 6);
        assert!(r.checksums_checked);
        assert_eq!(seen.get().1, 6);
        assert!(seen.get().0 >= 6);
        assert!(r.problems.iter().any(|p| p.code == "wal_not_checked"));

        fs::write(d.path().join("base/1/1259"), "abd").unwrap();
        let (_, r) = verify(d.path(), &VerifyOptions::default()).unwrap();
        assert_eq!(codes(&r), vec!["no_control_file", "checksum_mismatch"]);
        let (_, r) = verify(d.path(), &VerifyOptions { skip_checksums: true, ..Default::default() }).unwrap();
        assert_eq!(codes(&r), vec!["no_control_file"]);
        assert!(!r.checksums_checked);
        let (_, r) =
            verify(d.path(), &VerifyOptions { ignore: vec!["base".into()], ..Default::default() }).unwrap();
        assert_eq!(codes(&r), vec!["no_control_file"]);

        fs::remove_file(d.path().join("backup_manifest")).unwrap();
        let (_, r) = verify(d.path(), &VerifyOptions::default()).unwrap();
        assert!(codes(&r).contains(&"no_manifest"));
        assert!(!r.ok);
        assert_eq!(r.manifest_version, None);
    }

    #[test]
    fn label_files_cannot_be_verified() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("backup_label");
        fs::write(&p, "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\n").unwrap();
        assert!(verify(&p, &VerifyOptions::default()).is_err());
        let b = Backup::open(&p).unwrap();
        assert_eq!(b.format, BackupFormat::Label);
        assert!(b.label.unwrap().text.starts_with("START WAL LOCATION"));
    }
}
