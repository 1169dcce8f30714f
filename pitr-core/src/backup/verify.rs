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
}

impl std::fmt::Debug for VerifyOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyOptions")
            .field("archive", &self.archive)
            .field("skip_checksums", &self.skip_checksums)
            .field("ignore", &self.ignore)
            .field("wal_parser", &self.wal_parser.is_some())
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
            backup.read_contents(Some(&mut v))?;
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
