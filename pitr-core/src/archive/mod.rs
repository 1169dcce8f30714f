//! WAL archives: inventory, verification, the `restore_command` helper and
//! timeline-aware cleanup.
//!
//! * [`Inventory::scan`] lists an archive directory, flat or nested (Barman's
//!   `<first 16 hex digits>/` directories, pgBackRest's
//!   `<version>-<id>/<first 16 hex digits>/`), and builds the index the
//!   planner and `pitr archive get` use: segment `(timeline, segno)` to the
//!   preferred file ([`Inventory::segment_path`]), the timelines with their
//!   ranges and gaps ([`TimelineSummary`]), the history chain
//!   ([`HistoryFile`]), backup history files ([`BackupHistoryFile`]),
//!   `.partial` files, duplicate copies and unknown files.
//! * [`verify()`] reads every segment's long page header (and the whole file
//!   when it must count decompressed bytes or compare duplicate copies) and
//!   reports [`Problem`]s with stable [`ProblemCode`]s.
//! * [`get`] is the `restore_command` helper: it probes the names a file can
//!   have in the archive (no directory scan for a direct hit) and writes the
//!   decompressed, size-checked copy atomically.
//! * [`cleanup`] computes which files no kept backup can ever need.
//!
//! The user-facing description, including the JSON formats, is
//! `docs/archive.md`.

pub mod cleanup;
pub mod get;
mod inventory;
pub mod layout;
mod problem;
mod verify;

pub use inventory::{
    ArchiveSummary, ArchivedFile, BackupHistoryFile, Gap, HistoryFile, Inventory, Layout, ScanOptions,
    SegmentForms, TimelineSpan, TimelineSummary,
};
pub use problem::{Problem, ProblemCode, Severity};
pub use verify::{DeepCheck, VerifyOptions, VerifyReport, verify};
