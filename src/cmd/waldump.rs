//! `pitr waldump`: decode WAL records like pg_waldump, for PostgreSQL 13 to 18.
//!
//! Human output follows pg_waldump's line format; `--json` prints one JSON
//! object per line (see `docs/waldump-json.md`). Exit codes: 0 when WAL was read
//! to a clean end, 1 when damage was found (or a file was refused: another
//! cluster, recycled, unsupported version), 2 on usage or I/O errors.

use crate::output::{CliError, CmdResult, Output};
use pitr_core::Lsn;
use pitr_core::wal::decode::{Decoded, PgTimestamp, StandbyLock, XactKind, unix_seconds_rfc3339};
use pitr_core::wal::{
    DataFilter, ReadMethod, ReaderOptions, Record, Stats, TimelineChoice, WalEnd, WalError, WalReader,
    WalSource, decode_record, desc, rmgr,
};
use serde_json::{Map, Value, json};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Start reading at the first record at or after this LSN.
    #[arg(long, short = 's', value_name = "LSN")]
    start: Option<Lsn>,
    /// Stop before the first record at or after this LSN.
    #[arg(long, short = 'e', value_name = "LSN")]
    end: Option<Lsn>,
    /// Read only files of this timeline (default: for each segment, the highest
    /// timeline present).
    #[arg(long, short = 't', value_name = "N")]
    timeline: Option<u32>,
    /// Only records of this resource manager (repeatable; `--rmgr list` lists them).
    #[arg(long, short = 'r', value_name = "NAME")]
    rmgr: Vec<String>,
    /// Only records with this transaction id (`xl_xid`).
    #[arg(long, short = 'x', value_name = "XID")]
    xid: Option<u32>,
    /// Show statistics instead of records (`--stats=record`: per record type).
    #[arg(long, short = 'z', value_name = "record", num_args = 0..=1, default_missing_value = "rmgr", require_equals = true)]
    stats: Option<String>,
    /// Print no records, only errors (checks every CRC).
    #[arg(long, short = 'q')]
    quiet: bool,
    /// Also read `.partial` files found in directories.
    #[arg(long)]
    partial: bool,
    /// Data page size (`BLCKSZ`) of the cluster, for full-page image checks.
    #[arg(long, value_name = "BYTES", hide = true)]
    block_size: Option<u32>,
    /// Benchmark mode: read the files and compute CRC-32C over all their bytes,
    /// without parsing anything (with the reader's I/O method).
    #[arg(long, hide = true)]
    raw_crc: bool,
    /// Benchmark mode: load every byte of the files into memory first, then
    /// time passes over that memory alone (a plain read and a CRC-32C): the
    /// floor that no reader of these bytes can beat on this core.
    #[arg(long, hide = true)]
    memory_floor: bool,
    /// How segment files are read: `read` (read(2) into a buffer, the
    /// default) or `map` (memory-mapped windows; files must not be truncated
    /// while being read), for benchmarks.
    #[arg(long, hide = true, value_name = "map|read", default_value = "read")]
    read_method: String,
    /// WAL segment files and directories (pg_wal, a data directory, an archive).
    #[arg(value_name = "PATH", required = true)]
    paths: Vec<PathBuf>,
}

/// Where records are written: buffered stdout, lines.
struct Sink {
    out: std::io::BufWriter<std::io::StdoutLock<'static>>,
    line: String,
    /// The reader of stdout went away (`| head`): stop quietly.
    closed: bool,
}

impl Sink {
    fn new() -> Sink {
        Sink {
            out: std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock()),
            line: String::new(),
            closed: false,
        }
    }

    fn check(&mut self, r: std::io::Result<()>) -> Result<(), CliError> {
        match r {
            Ok(()) => Ok(()),
            Err(e) => {
                if e.kind() == std::io::ErrorKind::BrokenPipe {
                    self.closed = true;
                }
                Err(CliError::new(format!("stdout: {e}")))
            }
        }
    }

    fn emit(&mut self) -> Result<(), CliError> {
        self.line.push('\n');
        let r = self.out.write_all(self.line.as_bytes());
        self.line.clear();
        self.check(r)
    }

    fn json(&mut self, v: &Value) -> Result<(), CliError> {
        self.line.clear();
        self.line.push_str(&v.to_string());
        self.emit()
    }

    fn flush(&mut self) -> Result<(), CliError> {
        let r = self.out.flush();
        self.check(r)
    }
}

pub fn run(args: &Args, out: &Output) -> CmdResult {
    let mut sink = Sink::new();
    let r = run_into(args, out, &mut sink);
    if sink.closed {
        // The reader of our output went away: not an error.
        return Ok(ExitCode::SUCCESS);
    }
    r
}

fn run_into(args: &Args, out: &Output, sink: &mut Sink) -> CmdResult {
    if args.rmgr.iter().any(|r| r == "list") {
        for name in rmgr::RMGR_NAMES {
            println!("{name}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut rmgrs = Vec::new();
    for r in &args.rmgr {
        match rmgr::rmgr_by_name(r) {
            Some(id) => rmgrs.push(id),
            None => return Err(CliError::new(format!("unknown resource manager {r:?} (try --rmgr list)"))),
        }
    }
    let per_record = match args.stats.as_deref() {
        None => None,
        Some("rmgr") => Some(false),
        Some("record") => Some(true),
        Some(other) => {
            return Err(CliError::new(format!("--stats={other}: expected --stats or --stats=record")));
        }
    };
    if let (Some(s), Some(e)) = (args.start, args.end) {
        if e < s {
            return Err(CliError::new(format!("end LSN {e} is before start LSN {s}")));
        }
    }

    let mut source = WalSource::new().include_partial(args.partial);
    for p in &args.paths {
        source.add_path(p).map_err(|e| CliError::new(e.to_string()))?;
    }
    let read_method = match args.read_method.as_str() {
        "map" => ReadMethod::Map,
        "read" => ReadMethod::Read,
        other => return Err(CliError::new(format!("--read-method={other}: expected map or read"))),
    };
    if args.raw_crc {
        return raw_crc(&source, read_method);
    }
    if args.memory_floor {
        return memory_floor(&source);
    }
    let printing = per_record.is_none() && !args.quiet;
    let opts = ReaderOptions {
        start: args.start,
        end: args.end,
        timeline: args.timeline.map(TimelineChoice::Only).unwrap_or_default(),
        data: if printing { DataFilter::all() } else { DataFilter::none() },
        block_size: args.block_size,
        read_method,
        ..Default::default()
    };
    let mut reader = match WalReader::open(source, opts) {
        Ok(r) => r,
        Err(e) => return finish_error(e, out, sink, None),
    };
    let major = reader.info().major;
    let mut stats = per_record.map(|_| Stats::new(major));
    let mut first_lsn: Option<Lsn> = None;
    loop {
        let rec = match reader.next_record() {
            Ok(Some(rec)) => rec,
            Ok(None) => break,
            Err(e) => {
                if let (Some(s), Some(per)) = (&stats, per_record) {
                    print_stats(s, per, out, sink)?;
                }
                return finish_error(e, out, sink, first_lsn);
            }
        };
        first_lsn.get_or_insert(rec.lsn);
        if !rmgrs.is_empty() && !rmgrs.contains(&rec.rmid()) {
            continue;
        }
        if args.xid.is_some_and(|x| x != rec.xid()) {
            continue;
        }
        if let Some(s) = stats.as_mut() {
            s.add(&rec);
            continue;
        }
        if !printing {
            continue;
        }
        if out.json {
            let v = record_json(&rec);
            sink.json(&v)?;
        } else {
            desc::waldump_line(&rec, &mut sink.line);
            sink.emit()?;
        }
    }
    if let (Some(s), Some(per)) = (&stats, per_record) {
        print_stats(s, per, out, sink)?;
    }
    let end = reader.end().cloned();
    if let Some(end) = end {
        if out.json && per_record.is_none() {
            sink.json(&json!({ "end": end_json(&end) }))?;
        }
        sink.flush()?;
        if !out.json && !args.quiet && per_record.is_none() {
            eprintln!("pitr: {end}");
        }
    } else {
        sink.flush()?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_stats(s: &Stats, per_record: bool, out: &Output, sink: &mut Sink) -> Result<(), CliError> {
    if out.json {
        sink.json(&s.to_json(per_record))?;
    } else {
        sink.line.push_str(s.render(per_record).trim_end_matches('\n'));
        sink.emit()?;
    }
    sink.flush()
}

/// Reports the error that stopped reading: exit 1 for damage and refused
/// files, 2 for I/O and usage errors.
fn finish_error(e: WalError, out: &Output, sink: &mut Sink, first: Option<Lsn>) -> CmdResult {
    let code = match e {
        WalError::Io { .. }
        | WalError::NoSegments { .. }
        | WalError::StartNotFound { .. }
        | WalError::Invalid(_) => 2,
        _ => 1,
    };
    if out.json {
        let mut o = Map::new();
        o.insert("kind".into(), json!(e.kind()));
        o.insert("message".into(), json!(e.to_string()));
        o.insert("damage".into(), json!(e.is_damage()));
        o.insert("lsn".into(), json!(e.lsn()));
        o.insert("record_lsn".into(), json!(e.record_lsn()));
        o.insert("file".into(), json!(e.file().map(|f| f.display().to_string())));
        if let Some(f) = first {
            o.insert("first_lsn".into(), json!(f));
        }
        sink.json(&json!({ "error": o }))?;
    }
    sink.flush()?;
    eprintln!("pitr: error: {e}");
    Ok(ExitCode::from(code))
}

fn end_json(end: &WalEnd) -> Value {
    serde_json::to_value(end).unwrap_or(Value::Null)
}

fn raw_crc(source: &WalSource, method: ReadMethod) -> CmdResult {
    let mut crc = 0u32;
    let mut total: u64 = 0;
    let mut files: Vec<&pitr_core::wal::SourceFile> = source.files().iter().collect();
    files.sort_by_key(|f| f.name);
    for f in files {
        let (n, c) = pitr_core::wal::mapped::crc32c_file(&f.path, f.compression, method, crc)
            .map_err(|e| CliError::new(e.to_string()))?;
        crc = c;
        total += n;
    }
    println!("{total} bytes, crc32c {crc:08X}");
    Ok(ExitCode::SUCCESS)
}

/// Passes over the files' bytes held in memory (no file I/O, no page faults:
/// the buffer is written before it is timed). Prints the median seconds of
/// five passes of each kind.
fn memory_floor(source: &WalSource) -> CmdResult {
    const PASSES: usize = 5;
    const LIMIT: u64 = 8 << 30;
    let total: u64 =
        source.files().iter().filter_map(|f| std::fs::metadata(&f.path).ok()).map(|m| m.len()).sum();
    if total > LIMIT {
        return Err(CliError::new(format!(
            "--memory-floor: {total} bytes do not fit the 8 GiB this mode allows"
        )));
    }
    let mut files: Vec<&pitr_core::wal::SourceFile> = source.files().iter().collect();
    files.sort_by_key(|f| f.name);
    let mut buf = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    for f in files {
        let mut r =
            std::fs::File::open(&f.path).map_err(|e| CliError::new(format!("{}: {e}", f.path.display())))?;
        std::io::Read::read_to_end(&mut r, &mut buf)
            .map_err(|e| CliError::new(format!("{}: {e}", f.path.display())))?;
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    };
    let time = |f: &dyn Fn() -> u64| {
        let start = std::time::Instant::now();
        std::hint::black_box(f());
        start.elapsed().as_secs_f64()
    };
    // Eight independent lanes per 64 bytes: the loads, not the adds, set the pace.
    let sum = || {
        let mut acc = [0u64; 8];
        for chunk in buf.chunks_exact(64) {
            for (a, w) in acc.iter_mut().zip(chunk.chunks_exact(8)) {
                let mut b = [0u8; 8];
                b.copy_from_slice(w);
                *a = a.wrapping_add(u64::from_le_bytes(b));
            }
        }
        acc.iter().fold(0u64, |x, y| x ^ y)
    };
    let crc = || u64::from(crc32c::crc32c(&buf));
    let read_s = median((0..PASSES).map(|_| time(&sum)).collect());
    let crc_s = median((0..PASSES).map(|_| time(&crc)).collect());
    println!("{} bytes in memory: read pass {read_s:.3} s, crc32c pass {crc_s:.3} s", buf.len());
    Ok(ExitCode::SUCCESS)
}

fn ts(t: PgTimestamp) -> Value {
    json!(t.rfc3339())
}

/// One record as a JSON object (the stable format of `docs/waldump-json.md`).
pub fn record_json(rec: &Record<'_>) -> Value {
    let mut o = Map::new();
    o.insert("lsn".into(), json!(rec.lsn));
    o.insert("end_lsn".into(), json!(rec.end_lsn));
    o.insert("prev".into(), json!(rec.prev()));
    o.insert("rmgr".into(), json!(rec.rmgr_name()));
    o.insert("type".into(), json!(rmgr::record_type_label(rec.major, rec.rmid(), rec.info())));
    o.insert("info".into(), json!(rec.info()));
    o.insert("xid".into(), json!(rec.xid()));
    o.insert("tot_len".into(), json!(rec.tot_len()));
    o.insert("rec_len".into(), json!(rec.rec_len()));
    o.insert("fpi_len".into(), json!(rec.fpi_len));
    o.insert("timeline".into(), json!(rec.page_timeline));
    if let Some(t) = rec.toplevel_xid {
        o.insert("toplevel_xid".into(), json!(t));
    }
    if let Some(origin) = rec.origin {
        o.insert("origin".into(), json!(origin));
    }
    let blocks: Vec<Value> = rec
        .blocks()
        .iter()
        .map(|b| {
            let mut m = json!({
                "id": b.id,
                "spc": b.rel.spc,
                "db": b.rel.db,
                "rel": b.rel.rel,
                "fork": b.fork_name(),
                "blk": b.block,
                "has_image": b.image.is_some(),
            });
            if let (Some(img), Some(obj)) = (b.image, m.as_object_mut()) {
                obj.insert(
                    "image".into(),
                    json!({
                        "len": img.len,
                        "hole_offset": img.hole_offset,
                        "hole_length": img.hole_length,
                        "apply": img.apply,
                        "compression": img.compression,
                    }),
                );
            }
            m
        })
        .collect();
    o.insert("blocks".into(), Value::Array(blocks));
    let mut d = String::new();
    desc::describe(rec, &mut d);
    o.insert("desc".into(), json!(d));
    match decode_record(rec) {
        Ok(dec) => decoded_fields(&mut o, dec),
        Err(e) => {
            o.insert("decode_error".into(), json!(e.to_string()));
        }
    }
    Value::Object(o)
}

fn decoded_fields(o: &mut Map<String, Value>, d: Decoded<'_>) {
    let mut put = |k: &str, v: Value| {
        o.insert(k.to_string(), v);
    };
    let rel = |r: pitr_core::wal::RelFileLocator| json!({"spc": r.spc, "db": r.db, "rel": r.rel});
    match d {
        Decoded::XactFinish(x) => {
            let key = if x.kind.is_commit() { "commit_time" } else { "abort_time" };
            put(key, ts(x.time));
            put("subxacts", json!(x.subxacts.to_vec()));
            put("dropped_rels", Value::Array(x.rels.iter().map(rel).collect()));
            if matches!(x.kind, XactKind::CommitPrepared | XactKind::AbortPrepared)
                || x.twophase_xid.is_some()
            {
                put("twophase_xid", json!(x.twophase_xid));
            }
            if let Some(g) = x.gid {
                put("gid", json!(String::from_utf8_lossy(g)));
            }
            if let Some((db, tsid)) = x.db {
                put("db", json!(db));
                put("tablespace", json!(tsid));
            }
            if !x.dropped_stats.is_empty() {
                put("dropped_stats", json!(x.dropped_stats));
            }
            put("xinfo", json!(x.xinfo));
        }
        Decoded::XactPrepare(p) => {
            put("prepared_xid", json!(p.xid));
            put("gid", json!(String::from_utf8_lossy(p.gid)));
            put("prepared_at", ts(p.prepared_at));
            put("db", json!(p.db));
            put("subxacts", json!(p.subxacts.to_vec()));
            put("commit_rels", Value::Array(p.commit_rels.iter().map(rel).collect()));
            put("abort_rels", Value::Array(p.abort_rels.iter().map(rel).collect()));
        }
        Decoded::XactAssignment { xtop, subxacts } => {
            put("xtop", json!(xtop));
            put("subxacts", json!(subxacts.to_vec()));
        }
        Decoded::RestorePoint { time, name } => {
            put("name", json!(String::from_utf8_lossy(name)));
            put("time", ts(time));
        }
        Decoded::Checkpoint { shutdown, checkpoint: c } => {
            put("shutdown", json!(shutdown));
            put("redo", json!(c.redo));
            put("timeline", json!(c.timeline));
            put("prev_timeline", json!(c.prev_timeline));
            put("time", json!(unix_seconds_rfc3339(c.time)));
            put("full_page_writes", json!(c.full_page_writes));
            put("next_xid", json!(c.next_xid));
            put("next_oid", json!(c.next_oid));
            put("oldest_xid", json!(c.oldest_xid));
            put("oldest_active_xid", json!(c.oldest_active_xid));
            if let Some(w) = c.wal_level {
                put("wal_level", json!(w));
            }
        }
        Decoded::EndOfRecovery(e) => {
            put("timeline", json!(e.timeline));
            put("prev_timeline", json!(e.prev_timeline));
            put("time", ts(e.time));
        }
        Decoded::OverwriteContrecord { overwritten_lsn, time } => {
            put("overwritten_lsn", json!(overwritten_lsn));
            put("time", ts(time));
        }
        Decoded::BackupEnd(start) => put("backup_start", json!(start)),
        Decoded::NextOid(oid) => put("next_oid", json!(oid)),
        Decoded::FpwChange(b) => put("full_page_writes", json!(b)),
        Decoded::CheckpointRedo { wal_level } => put("wal_level", json!(wal_level)),
        Decoded::ParameterChange(p) => put("parameters", json!(p)),
        Decoded::SmgrCreate { rel: r, fork } => {
            put("rel", rel(r));
            put("fork", json!(fork));
        }
        Decoded::SmgrTruncate { blkno, rel: r, flags } => {
            put("rel", rel(r));
            put("blocks", json!(blkno));
            put("flags", json!(flags));
        }
        Decoded::HeapTruncate { db, flags, relids } => {
            put("db", json!(db));
            put("flags", json!(flags));
            put("relids", json!(relids.to_vec()));
        }
        Decoded::RunningXacts(r) => {
            put("next_xid", json!(r.next_xid));
            put("oldest_running_xid", json!(r.oldest_running_xid));
            put("latest_completed_xid", json!(r.latest_completed_xid));
            put("xids", json!(r.xids.to_vec()));
            put("subxids", json!(r.subxids.to_vec()));
            put("subxid_overflow", json!(r.subxid_overflow));
        }
        Decoded::StandbyLocks(locks) => {
            put("locks", json!(StandbyLock::iter(locks).collect::<Vec<_>>()));
        }
        Decoded::LogicalMessage { db, transactional, prefix, message } => {
            put("db", json!(db));
            put("transactional", json!(transactional));
            put("prefix", json!(String::from_utf8_lossy(prefix)));
            put("message_size", json!(message.len()));
        }
        Decoded::DbCreateFileCopy { db, ts: tsid, src_db, src_ts } => {
            put("db", json!(db));
            put("tablespace", json!(tsid));
            put("src_db", json!(src_db));
            put("src_tablespace", json!(src_ts));
        }
        Decoded::DbCreateWalLog { db, ts: tsid } => {
            put("db", json!(db));
            put("tablespace", json!(tsid));
        }
        Decoded::DbDrop { db, tablespaces } => {
            put("db", json!(db));
            put("tablespaces", json!(tablespaces.to_vec()));
        }
        _ => {}
    }
}
