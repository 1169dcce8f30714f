//! `pitr backup show PATH` and `pitr backup verify PATH [--archive DIR]`.

use crate::output::{CliError, CmdResult, Output};
use pitr_core::backup::verify::{VerifyOptions, VerifyReport, verify};
use pitr_core::backup::wal::WalReaderParser;
use pitr_core::backup::{Backup, BackupFormat, LabelKind, Problem, Severity};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Show a base backup: format, label, pg_control, manifest, tablespaces, WAL.
    ///
    /// PATH is a plain backup directory, a directory of pg_basebackup -Ft output
    /// (base.tar[.gz|.lz4|.zst], pg_wal.tar, <oid>.tar), a backup_label file or a
    /// backup history (.backup) file. Nothing is extracted.
    Show {
        /// The backup.
        path: PathBuf,
        /// Also list every file with its size.
        #[arg(long)]
        files: bool,
    },
    /// Verify a base backup against its backup_manifest, like pg_verifybackup
    /// (plain or tar, any major 13 to 18), and check that the WAL it needs exists.
    ///
    /// Exit status: 0 when the backup verified, 1 when problems were found,
    /// 2 on usage or I/O errors.
    Verify {
        /// The backup directory.
        path: PathBuf,
        /// Look for the WAL the backup needs (manifest WAL-Ranges) in this archive
        /// directory (flat or nested) instead of the backup's own pg_wal.
        #[arg(long, value_name = "DIR")]
        archive: Option<PathBuf>,
        /// Check presence and sizes only, not checksums.
        #[arg(long)]
        skip_checksums: bool,
        /// Ignore this path (relative to the data directory) and everything below it.
        #[arg(long, value_name = "PATH")]
        ignore: Vec<String>,
        /// Only check that the WAL files exist; do not read their records
        /// (like pg_verifybackup -n).
        #[arg(long, short = 'n')]
        no_parse_wal: bool,
    },
}

pub fn run(cmd: &Command, out: &Output) -> CmdResult {
    match cmd {
        Command::Show { path, files } => show(path, *files, out),
        Command::Verify { path, archive, skip_checksums, ignore, no_parse_wal } => {
            if let Some(a) = archive {
                if !a.is_dir() {
                    return Err(CliError::new(format!("{}: not a directory", a.display())));
                }
            }
            let bar = out.progress_bar("{bar:40} {bytes}/{total_bytes} ({eta} left)");
            let tick = Output::tick(&bar);
            let opts = VerifyOptions {
                archive: archive.clone(),
                skip_checksums: *skip_checksums,
                ignore: ignore.clone(),
                wal_parser: if *no_parse_wal { None } else { Some(&WalReaderParser) },
                progress: Some(&tick),
            };
            let result = verify(path, &opts);
            bar.finish_and_clear();
            let (_, report) = result?;
            if out.json {
                out.print_json(&report)?;
            } else {
                emit(&print_verify(&report))?;
            }
            Ok(if report.ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
        }
    }
}

fn show(path: &std::path::Path, with_files: bool, out: &Output) -> CmdResult {
    let b = Backup::open(path)?;
    if out.json {
        out.print_json(&b.summary(with_files))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut o = String::new();
    macro_rules! row {
        ($k:expr, $v:expr $(,)?) => {
            let _ = writeln!(o, "{:<20} {}", $k, $v);
        };
    }
    row!("backup", &b.path.display());
    let format = match b.format {
        BackupFormat::Plain => "plain directory".to_string(),
        BackupFormat::Tar => {
            format!("tar ({})", b.tars.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", "))
        }
        BackupFormat::Label => "backup_label file only".to_string(),
        BackupFormat::BackupHistory => "backup history file only".to_string(),
    };
    row!("format", &format);
    if let Some(m) = b.major() {
        row!("PostgreSQL", &m);
    }
    if let Some(cf) = &b.control {
        row!("system identifier", &cf.system_identifier);
    }
    if !matches!(b.format, BackupFormat::Label | BackupFormat::BackupHistory) {
        row!("files", &format!("{} ({})", b.files.len(), human_size(b.total_size())));
    }
    if let Some(l) = &b.label {
        let what = match l.kind {
            LabelKind::BackupLabel => "backup_label",
            LabelKind::BackupHistory => "backup history",
        };
        row!(what, &l.source);
        match &l.parsed {
            Some(p) => {
                let opt = |v: Option<String>| v.unwrap_or_else(|| "(none)".into());
                row!(
                    "  start",
                    &format!("{} (file {}), timeline {}", p.start.lsn, p.start.file, p.timeline())
                );
                if let Some(stop) = &p.stop {
                    row!(
                        "  stop",
                        &format!("{} (file {}), timeline {}", stop.lsn, stop.file, p.end_timeline())
                    );
                }
                row!("  checkpoint", &p.checkpoint);
                row!(
                    "  method, from",
                    &format!(
                        "{}, {}",
                        opt(p.method.as_ref().map(|m| m.as_str().to_string())),
                        opt(p.from.as_ref().map(|f| f.as_str().to_string()))
                    ),
                );
                row!("  start time", &opt(p.start_time.as_ref().map(|t| t.to_string())));
                if let Some(t) = &p.stop_time {
                    row!("  stop time", t);
                }
                row!("  label", &opt(p.label.clone()));
                if let Some(lsn) = p.incremental_from_lsn {
                    row!("  incremental from", &lsn);
                }
            }
            None => {
                for line in l.text.lines() {
                    let _ = writeln!(o, "    {line}");
                }
            }
        }
    }
    if let Some(cf) = &b.control {
        let _ = writeln!(o, "pg_control");
        let c = &cf.checkpoint_copy;
        row!("  state", &cf.state);
        row!(
            "  checkpoint",
            &format!("{} (REDO {}, timeline {}, {})", cf.checkpoint, c.redo, c.timeline, c.time),
        );
        row!("  REDO WAL file", &cf.redo_wal_file());
        row!("  next XID", &c.next_xid);
        if !cf.min_recovery_point.is_invalid() {
            row!(
                "  min recovery point",
                &format!("{} on timeline {}", cf.min_recovery_point, cf.min_recovery_point_timeline),
            );
        }
        if !cf.backup_start_point.is_invalid() || !cf.backup_end_point.is_invalid() {
            row!(
                "  backup start/end",
                &format!(
                    "{} / {}{}",
                    cf.backup_start_point,
                    cf.backup_end_point,
                    if cf.backup_end_required { " (end-of-backup record required)" } else { "" }
                ),
            );
        }
        row!("  wal_level", &cf.wal_level);
        row!(
            "  hot standby",
            &format!(
                "max_connections {}, max_worker_processes {}, max_wal_senders {}, \
                 max_prepared_transactions {}, max_locks_per_transaction {}",
                cf.max_connections,
                cf.max_worker_processes,
                cf.max_wal_senders,
                cf.max_prepared_xacts,
                cf.max_locks_per_xact
            ),
        );
        row!("  WAL segment size", &cf.wal_segment_size);
        row!("  data checksums", &if cf.data_checksums() { "on" } else { "off" });
        row!(
            "  CRC",
            &if cf.crc_ok() {
                "ok".to_string()
            } else {
                format!("BAD (stored {:08X}, computed {:08X})", cf.crc, cf.computed_crc)
            },
        );
    }
    if let Some(m) = &b.manifest {
        let algs: Vec<&str> = m.checksum_algorithms().iter().map(|a| a.name()).collect();
        row!(
            "manifest",
            &format!(
                "version {}, {} files ({}), checksums {}, manifest checksum {}",
                m.version,
                m.files.len(),
                human_size(m.total_size()),
                if algs.is_empty() { "none".to_string() } else { algs.join(", ") },
                if b.manifest_checksum_ok { "ok" } else { "BAD" }
            ),
        );
        for r in &m.wal_ranges {
            row!("  WAL range", &format!("timeline {}: {} to {}", r.timeline, r.start_lsn, r.end_lsn));
        }
    }
    for t in &b.tablespaces {
        let loc = t.location.as_ref().map(|l| l.display().to_string()).unwrap_or_else(|| "(unknown)".into());
        let archive = t.archive.as_ref().map(|a| format!(", {a}")).unwrap_or_default();
        row!(
            &format!("tablespace {}", t.oid),
            &format!("{loc} ({} files, {}{archive})", t.files, human_size(t.bytes)),
        );
    }
    if !b.wal.is_empty() {
        let first = b.wal.first().map(|w| w.name.as_str()).unwrap_or("");
        let last = b.wal.last().map(|w| w.name.as_str()).unwrap_or("");
        row!("WAL included", &format!("{} files ({first} .. {last})", b.wal.len()));
    } else if !matches!(b.format, BackupFormat::Label | BackupFormat::BackupHistory) {
        row!("WAL included", &"none");
    }
    if with_files {
        let _ = writeln!(o, "files:");
        for f in &b.files {
            let _ = match &f.archive {
                Some(a) => writeln!(o, "  {:>12}  {}  ({a})", f.size, f.path),
                None => writeln!(o, "  {:>12}  {}", f.size, f.path),
            };
        }
    }
    print_problems(&mut o, &b.problems);
    emit(&o)?;
    Ok(ExitCode::SUCCESS)
}

fn print_problems(o: &mut String, problems: &[Problem]) {
    for p in problems {
        let sev = match p.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let _ = writeln!(o, "{sev}: {}", p.message);
    }
}

fn print_verify(r: &VerifyReport) -> String {
    let mut o = String::new();
    print_problems(&mut o, &r.problems);
    if r.manifest_version.is_some() {
        let what = if r.checksums_checked { "sizes and checksums" } else { "sizes" };
        let _ = writeln!(
            o,
            "manifest: {} files checked ({what}, {} checksummed)",
            r.manifest_files,
            human_size(r.bytes_checksummed)
        );
    }
    if let Some(src) = &r.wal.source {
        for c in &r.wal.ranges {
            let how = match c.parsed {
                Some(true) => "records read",
                Some(false) => "records could not be read",
                None => "present by name",
            };
            if c.missing.is_empty() {
                let _ = writeln!(
                    o,
                    "WAL: timeline {} {} to {}: {} file(s) {how} in {src}",
                    c.range.timeline,
                    c.range.start_lsn,
                    c.range.end_lsn,
                    c.segments.len()
                );
            } else {
                let _ = writeln!(
                    o,
                    "WAL: timeline {} {} to {}: {} of {} file(s) missing from {src}",
                    c.range.timeline,
                    c.range.start_lsn,
                    c.range.end_lsn,
                    c.missing.len(),
                    c.segments.len()
                );
            }
        }
    }
    let errors = r.problems.iter().filter(|p| p.severity == Severity::Error).count();
    let warnings = r.problems.len() - errors;
    if r.ok {
        let _ = writeln!(o, "backup successfully verified");
    } else {
        let _ = writeln!(o, "backup verification failed: {errors} error(s), {warnings} warning(s)");
    }
    o
}

/// Writes text to stdout; a closed pipe (`pitr ... | head`) ends quietly.
fn emit(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::new(format!("writing to stdout: {e}"))),
    }
}

fn human_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 { format!("{n} B") } else { format!("{v:.1} {}", UNITS[u]) }
}
