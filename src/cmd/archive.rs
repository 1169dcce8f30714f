//! `pitr archive`: show, verify, get (restore_command helper), cleanup.

use crate::output::{CliError, CmdResult, Output};
use pitr_core::WalSegSize;
use pitr_core::archive::cleanup;
use pitr_core::archive::get::{self, GetError};
use pitr_core::archive::{DeepCheck, Inventory, Problem, ScanOptions, Severity, VerifyOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Inventory, verify, fetch from and clean a WAL archive.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Inventory an archive: timelines with their ranges, gaps and .partial files, the history
    /// chain, backup history files, duplicates and unknown files.
    Show(ShowArgs),
    /// Check every segment's header (system id, segment size, version, page address, timeline),
    /// sizes, duplicates and the history chain; --deep checks every record's CRC. Exit 0 clean,
    /// 1 problems found, 2 usage or I/O error.
    Verify(VerifyArgs),
    /// restore_command helper: restore_command = 'pitr archive get ARCHIVE %f %p'. Exit 0
    /// restored, 1 not in the archive, 2 any other error.
    Get(GetArgs),
    /// List (or with --delete remove) the files no kept backup can ever need, timeline-aware.
    Cleanup(CleanupArgs),
}

/// Arguments of `pitr archive show`.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The archive directory (flat, Barman-style nested, or a pgBackRest stanza directory).
    pub dir: PathBuf,
    /// WAL segment size (e.g. 16MB) when no segment is readable.
    #[arg(long, value_name = "SIZE")]
    pub wal_segsize: Option<String>,
}

/// Arguments of `pitr archive verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The archive directory.
    pub dir: PathBuf,
    /// Also check every record's CRC (reads every segment completely, on all cores).
    #[arg(long)]
    pub deep: bool,
    /// WAL segment size (e.g. 16MB) when no segment is readable.
    #[arg(long, value_name = "SIZE")]
    pub wal_segsize: Option<String>,
}

/// Arguments of `pitr archive get`.
#[derive(Debug, clap::Args)]
pub struct GetArgs {
    /// The archive directory.
    pub archive: PathBuf,
    /// The file PostgreSQL asks for (%f): a segment or history file name.
    pub name: String,
    /// Where to write it (%p), relative to the data directory.
    pub dest: PathBuf,
}

/// Arguments of `pitr archive cleanup`.
#[derive(Debug, clap::Args)]
pub struct CleanupArgs {
    /// The archive directory.
    pub dir: PathBuf,
    /// A backup to keep recoverable: a backup directory (plain or tar), a backup_label file or a
    /// .backup history file. At least one; repeat for more.
    #[arg(long = "keep-backup", value_name = "PATH", required = true, num_args = 1..)]
    pub keep_backup: Vec<PathBuf>,
    /// Remove the listed files (default: only list them).
    #[arg(long)]
    pub delete: bool,
    /// WAL segment size (e.g. 16MB) when no segment is readable.
    #[arg(long, value_name = "SIZE")]
    pub wal_segsize: Option<String>,
}

pub fn run(cmd: &Command, out: &Output) -> CmdResult {
    match cmd {
        Command::Show(a) => show(a, out),
        Command::Verify(a) => verify(a, out),
        Command::Get(a) => get_cmd(a),
        Command::Cleanup(a) => cleanup_cmd(a, out),
    }
}

fn scan(dir: &Path, wal_segsize: &Option<String>) -> Result<Inventory, CliError> {
    let seg_size = match wal_segsize {
        Some(s) => Some(WalSegSize::parse(s)?),
        None => None,
    };
    if !dir.is_dir() {
        return Err(CliError::new(format!("{}: not a directory", dir.display())));
    }
    Ok(Inventory::scan(dir, &ScanOptions { seg_size })?)
}

fn show(a: &ShowArgs, out: &Output) -> CmdResult {
    let inv = scan(&a.dir, &a.wal_segsize)?;
    if out.json {
        out.print_json(&inv.summary(inv.problems()))?;
    } else {
        let mut s = String::new();
        write_inventory(&mut s, &inv);
        write_problems(&mut s, inv.problems());
        print!("{s}");
    }
    Ok(ExitCode::SUCCESS)
}

fn write_inventory(s: &mut String, inv: &Inventory) {
    use std::fmt::Write as _;
    let _ = writeln!(s, "Archive {} ({})", inv.archive_dir().display(), layout_name(inv));
    let seg = inv.seg_size().map_or("unknown".to_string(), |s| s.to_string());
    let sysid = inv.system_id().map_or("unknown".to_string(), |s| s.to_string());
    let ver = inv.pg_major().map_or("unknown".to_string(), |m| m.to_string());
    let _ = writeln!(s, "WAL segment size {seg}, system identifier {sysid}, PostgreSQL {ver}");
    let _ = writeln!(
        s,
        "{} segment files ({} distinct segments), {} history files, {} backup history files",
        inv.segment_file_count(),
        inv.segment_count(),
        inv.history().len(),
        inv.backups().len()
    );
    let _ = writeln!(s, "\nTimelines:");
    for t in inv.timelines() {
        let from = match (t.parent, t.switch_lsn) {
            (Some(p), Some(l)) => format!(" (from timeline {p} at {l})"),
            _ => String::new(),
        };
        let range = match (t.first, t.last) {
            (Some(f), Some(l)) => format!("{f} .. {l}, {} segments", t.segments),
            _ => "no segments".to_string(),
        };
        let _ = writeln!(s, "  {:>3}{from}: {range}", t.timeline);
        for g in &t.gaps {
            let _ =
                writeln!(s, "       gap: {} .. {} ({} missing)", g.first_missing, g.last_missing, g.count);
        }
        for p in &t.partial {
            let _ = writeln!(s, "       partial: {p}");
        }
    }
    if !inv.history().is_empty() {
        let _ = writeln!(s, "\nHistory:");
        // A tree: roots are timelines without a known parent.
        let tls: Vec<_> = inv.timelines().to_vec();
        fn walk(
            s: &mut String,
            tls: &[pitr_core::archive::TimelineSummary],
            node: u32,
            prefix: &str,
            last: bool,
            top: bool,
        ) {
            use std::fmt::Write as _;
            let t = tls.iter().find(|t| t.timeline == node);
            let at = t.and_then(|t| t.switch_lsn).map_or(String::new(), |l| format!(" (at {l})"));
            if top {
                let _ = writeln!(s, "  {node}{at}");
            } else {
                let _ = writeln!(s, "  {prefix}{}{node}{at}", if last { "└─ " } else { "├─ " });
            }
            let kids: Vec<u32> = tls.iter().filter(|c| c.parent == Some(node)).map(|c| c.timeline).collect();
            let child_prefix =
                if top { String::new() } else { format!("{prefix}{}", if last { "   " } else { "│  " }) };
            for (i, k) in kids.iter().enumerate() {
                walk(s, tls, *k, &child_prefix, i + 1 == kids.len(), false);
            }
        }
        for root in tls.iter().filter(|t| t.parent.is_none()) {
            walk(s, &tls, root.timeline, "", true, true);
        }
    }
    if !inv.backups().is_empty() {
        let _ = writeln!(s, "\nBackups:");
        for b in inv.backups() {
            match &b.info {
                Some(i) => {
                    let stop = i.stop.map_or("?".to_string(), |l| l.lsn.to_string());
                    let label = i.label.as_deref().unwrap_or("");
                    let _ = writeln!(
                        s,
                        "  {}: start {} on timeline {}, stop {stop}, label {label:?}",
                        b.file.relative,
                        i.start.lsn,
                        i.timeline()
                    );
                }
                None => {
                    let _ = writeln!(s, "  {}: unreadable", b.file.relative);
                }
            }
        }
    }
    let dups = inv.duplicates();
    if !dups.is_empty() {
        let _ = writeln!(s, "\n{} segments have several copies (the first is used):", dups.len());
        for d in dups.iter().take(20) {
            let names: Vec<_> = d.files.iter().map(|f| f.relative.as_str()).collect();
            let _ = writeln!(s, "  {}", names.join(", "));
        }
        if dups.len() > 20 {
            let _ = writeln!(s, "  ...");
        }
    }
}

fn layout_name(inv: &Inventory) -> String {
    match inv.layout() {
        pitr_core::archive::Layout::Flat => "flat".to_string(),
        pitr_core::archive::Layout::Nested => "nested".to_string(),
        pitr_core::archive::Layout::PgBackRest { archive_id } => {
            format!("pgBackRest, archive id {archive_id}")
        }
    }
}

fn write_problems(s: &mut String, problems: &[Problem]) {
    use std::fmt::Write as _;
    if problems.is_empty() {
        let _ = writeln!(s, "\nNo problems found.");
        return;
    }
    let errors = problems.iter().filter(|p| p.severity == Severity::Error).count();
    let _ = writeln!(s, "\nProblems ({errors} errors, {} warnings):", problems.len() - errors);
    for p in problems {
        let _ = writeln!(s, "  {p}");
    }
}

fn verify(a: &VerifyArgs, out: &Output) -> CmdResult {
    let inv = scan(&a.dir, &a.wal_segsize)?;
    let total = (inv.segment_file_count() + inv.partials().len()) as u64;
    let bar = out.progress_bar("{bar:40} {pos}/{len} files {elapsed} (eta {eta})");
    bar.set_length(total);
    let tick = || bar.inc(1);
    let report = pitr_core::archive::verify(&inv, &VerifyOptions { deep: a.deep, progress: Some(&tick) });
    bar.finish_and_clear();
    if out.json {
        out.print_json(&report)?;
    } else {
        let mut s = String::new();
        write_inventory(&mut s, &inv);
        use std::fmt::Write as _;
        let _ = writeln!(
            s,
            "\nChecked {} files{}.",
            report.files_checked,
            match &report.deep {
                DeepCheck::Done { segments, records } => {
                    format!(", and the CRC of {records} records in {segments} segments")
                }
                _ => String::new(),
            }
        );
        write_problems(&mut s, &report.summary.problems);
        print!("{s}");
    }
    Ok(if report.is_clean() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn get_cmd(a: &GetArgs) -> CmdResult {
    match get::get(&a.archive, &a.name, &a.dest) {
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(GetError::NotFound { name, archive }) => {
            let _ =
                writeln!(std::io::stderr(), "pitr archive get: {name} not found in {}", archive.display());
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(CliError::new(format!("archive get: {e}"))),
    }
}

fn cleanup_cmd(a: &CleanupArgs, out: &Output) -> CmdResult {
    let inv = scan(&a.dir, &a.wal_segsize)?;
    let report = cleanup::run(&inv, &a.keep_backup, a.delete)?;
    let (plan, removed) = (&report.plan, &report.removed);
    if out.json {
        out.print_json(&report)?;
    } else {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "Kept backups:");
        for k in &plan.kept_backups {
            let _ = writeln!(
                stdout,
                "  {}: start {} on timeline {}",
                k.source.display(),
                k.info.start.lsn,
                k.info.timeline()
            );
        }
        for w in &plan.warnings {
            let _ = writeln!(stdout, "warning: {w}");
        }
        if a.delete {
            let _ = writeln!(stdout, "Removed {} files:", removed.len());
            for r in removed {
                let _ = writeln!(stdout, "  {r}");
            }
        } else {
            let _ = writeln!(
                stdout,
                "Would remove {} files (dry run; add --delete to remove exactly these):",
                plan.remove.len()
            );
            for r in &plan.remove {
                let _ = writeln!(stdout, "  {}  ({})", r.file.relative, r.message);
            }
        }
        let _ = writeln!(
            stdout,
            "Keeping {} WAL files, every history file and every unknown file.",
            plan.kept_files
        );
    }
    if let Some(msg) = report.failure() {
        return Err(CliError::new(msg));
    }
    Ok(ExitCode::SUCCESS)
}
