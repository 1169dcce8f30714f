//! Statistics per resource manager and per record type, like
//! `pg_waldump --stats` and `--stats=record`.

use super::record::Record;
use super::rmgr;
use crate::lsn::Lsn;
use crate::version::PgMajor;
use serde::Serialize;
use std::fmt::Write;

/// Counts and sizes of a group of records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StatsRow {
    /// Number of records.
    pub count: u64,
    /// Bytes without full-page images.
    pub rec_len: u64,
    /// Bytes of full-page images.
    pub fpi_len: u64,
}

impl StatsRow {
    fn add(&mut self, rec_len: u64, fpi_len: u64) {
        self.count += 1;
        self.rec_len += rec_len;
        self.fpi_len += fpi_len;
    }
}

/// Accumulated statistics of a record stream.
#[derive(Debug, Clone)]
pub struct Stats {
    major: PgMajor,
    /// First record's LSN.
    pub start: Option<Lsn>,
    /// End of the last record.
    pub end: Lsn,
    /// Total records.
    pub count: u64,
    rmgr: Vec<StatsRow>,
    record: Vec<[StatsRow; 16]>,
}

impl Stats {
    /// Empty statistics for WAL of `major`.
    pub fn new(major: PgMajor) -> Stats {
        Stats {
            major,
            start: None,
            end: Lsn(0),
            count: 0,
            rmgr: vec![StatsRow::default(); 256],
            record: vec![[StatsRow::default(); 16]; 256],
        }
    }

    /// Counts a record.
    #[inline]
    pub fn add(&mut self, rec: &Record<'_>) {
        self.start.get_or_insert(rec.lsn);
        self.end = rec.end_lsn;
        self.count += 1;
        let r = usize::from(rec.rmid());
        let fpi = u64::from(rec.fpi_len);
        let len = u64::from(rec.rec_len());
        if let Some(row) = self.rmgr.get_mut(r) {
            row.add(len, fpi);
        }
        // Like pg_waldump: Transaction records use the high bit of the type
        // nibble as a flag (XLOG_XACT_HAS_INFO), so only the opcode counts.
        let mut recid = usize::from(rec.info() >> 4);
        if rec.rmid() == rmgr::RM_XACT_ID {
            recid &= 0x07;
        }
        if let Some(row) = self.record.get_mut(r).and_then(|a| a.get_mut(recid)) {
            row.add(len, fpi);
        }
    }

    fn rmids(&self) -> impl Iterator<Item = u8> + '_ {
        (0u8..=255).filter(|r| rmgr::is_valid_rmid(self.major, *r))
    }

    /// The rows pg_waldump prints: `(name, row)`, per resource manager (all
    /// built-in ones, custom ones that occurred) or per record type (those that
    /// occurred).
    pub fn rows(&self, per_record: bool) -> Vec<(String, StatsRow)> {
        let mut out = Vec::new();
        for r in self.rmids() {
            let name = rmgr::rmgr_name(r);
            if per_record {
                for (j, row) in self.record.get(usize::from(r)).into_iter().flatten().enumerate() {
                    if row.count == 0 {
                        continue;
                    }
                    let info = (j as u8) << 4;
                    out.push((format!("{}/{}", name, rmgr::record_type_label(self.major, r, info)), *row));
                }
            } else {
                let row = self.rmgr.get(usize::from(r)).copied().unwrap_or_default();
                if r >= rmgr::RM_MIN_CUSTOM_ID && row.count == 0 {
                    continue;
                }
                out.push((name.into_owned(), row));
            }
        }
        out
    }

    /// Column totals: (count, rec_len, fpi_len).
    pub fn totals(&self) -> StatsRow {
        let mut t = StatsRow::default();
        for r in self.rmids() {
            if let Some(row) = self.rmgr.get(usize::from(r)) {
                t.count += row.count;
                t.rec_len += row.rec_len;
                t.fpi_len += row.fpi_len;
            }
        }
        t
    }

    /// pg_waldump's statistics text.
    pub fn render(&self, per_record: bool) -> String {
        let mut s = String::new();
        let t = self.totals();
        let total_len = t.rec_len + t.fpi_len;
        let pct = |n: u64, d: u64| if d == 0 { 0.0 } else { 100.0 * n as f64 / d as f64 };
        let _ = writeln!(s, "WAL statistics between {} and {}:", self.start.unwrap_or(self.end), self.end);
        let _ = writeln!(
            s,
            "{:<27} {:>20} {:>8} {:>20} {:>8} {:>20} {:>8} {:>20} {:>8}",
            "Type", "N", "(%)", "Record size", "(%)", "FPI size", "(%)", "Combined size", "(%)"
        );
        let _ = writeln!(
            s,
            "{:<27} {:>20} {:>8} {:>20} {:>8} {:>20} {:>8} {:>20} {:>8}",
            "----", "-", "---", "-----------", "---", "--------", "---", "-------------", "---"
        );
        for (name, row) in self.rows(per_record) {
            let tot = row.rec_len + row.fpi_len;
            let _ = writeln!(
                s,
                "{:<27} {:>20} ({:>6.2}) {:>20} ({:>6.2}) {:>20} ({:>6.2}) {:>20} ({:>6.2})",
                name,
                row.count,
                pct(row.count, t.count),
                row.rec_len,
                pct(row.rec_len, t.rec_len),
                row.fpi_len,
                pct(row.fpi_len, t.fpi_len),
                tot,
                pct(tot, total_len)
            );
        }
        let _ = writeln!(
            s,
            "{:<27} {:>20} {:>8} {:>20} {:>8} {:>20} {:>8} {:>20}",
            "", "--------", "", "--------", "", "--------", "", "--------"
        );
        let _ = writeln!(
            s,
            "{:<27} {:>20} {:<9}{:>20} {:<9}{:>20} {:<9}{:>20} {:<6}",
            "Total",
            self.count,
            "",
            t.rec_len,
            format!("[{:.2}%]", pct(t.rec_len, total_len)),
            t.fpi_len,
            format!("[{:.2}%]", pct(t.fpi_len, total_len)),
            total_len,
            "[100%]"
        );
        s
    }

    /// The statistics as JSON: `{start, end, count, rows: [{name, count, rec_len, fpi_len}]}`.
    pub fn to_json(&self, per_record: bool) -> serde_json::Value {
        let rows: Vec<serde_json::Value> = self
            .rows(per_record)
            .into_iter()
            .map(|(name, r)| {
                serde_json::json!({
                    "name": name,
                    "count": r.count,
                    "rec_len": r.rec_len,
                    "fpi_len": r.fpi_len,
                    "tot_len": r.rec_len + r.fpi_len,
                })
            })
            .collect();
        serde_json::json!({
            "start": self.start,
            "end": self.end,
            "count": self.count,
            "rows": rows,
        })
    }
}
