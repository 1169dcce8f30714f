//! WAL reading for PostgreSQL 13 to 18: pages, records, CRC, decoders, scanning.
//!
//! Layers, from the bytes up:
//! * [`page`]: page headers (short and long), magic numbers, version detection;
//! * [`record`]: the record header, block references and main data;
//! * [`rmgr`]: resource manager and record type names, as pg_waldump prints them;
//! * [`decode`](mod@decode): payloads recovery planning needs (commits, checkpoints, ...);
//! * [`desc`]: pg_waldump's text for a record;
//! * [`mapped`]: how segment bytes reach memory (memory-mapped windows or
//!   `read(2)`, see [`ReadMethod`]);
//! * [`source`] and [`WalReader`]: the record stream across pages and segments
//!   from files and directories (compressed or not), telling a clean end of WAL
//!   ([`WalEnd`]) from damage ([`WalError`]);
//! * [`scan`](mod@scan): the planner's event stream (commits, aborts, restore points,
//!   checkpoints, timeline switches...);
//! * [`stats`]: `--stats` like pg_waldump;
//! * [`verify_segment`]: CRC-check every record starting in one segment.
//!
//! The entry points:
//!
//! ```no_run
//! use pitr_core::wal::{self, ReaderOptions, WalReader, WalSource};
//! // One file's identity.
//! let h = wal::segment_header("/archive/000000010000000000000003".as_ref())?;
//! // Every record from an LSN on.
//! let opts = ReaderOptions { start: Some("0/3000028".parse().unwrap()), ..Default::default() };
//! let mut r = WalReader::open(WalSource::dir("/archive")?, opts)?;
//! while let Some(rec) = r.next_record()? {
//!     let _ = (rec.lsn, rec.xid(), rec.type_name());
//! }
//! # Ok::<(), pitr_core::wal::WalError>(())
//! ```

pub mod decode;
pub mod desc;
mod error;
pub mod mapped;
pub mod page;
mod reader;
pub mod record;
pub mod rmgr;
pub mod scan;
pub mod source;
pub mod stats;
pub mod synth;
mod verify;

pub use decode::{Decoded, PgTimestamp, decode, decode_record};
pub use error::{EndReason, WalEnd, WalError};
pub use mapped::ReadMethod;
pub use page::SegmentHeader;
pub use reader::{DataFilter, ReaderOptions, StreamInfo, TimelineChoice, WalReader, segment_header};
pub use record::{BlockRef, Record, RecordHeader, RelFileLocator};
pub use scan::{Event, ScanDetail, ScanOptions, Scanner, XactEvent, scan, scan_with};
pub use source::{SourceFile, WalSource};
pub use stats::Stats;
pub use verify::{SegmentCheck, SegmentTail, VerifyOptions, verify_segment};
