//! Recovery planning: from a base backup, a WAL archive and a target, what
//! PostgreSQL will do (recovery-semantics.md §1-4, §9).

pub mod model;
pub mod replay;
pub mod target;
pub mod timeline;

pub use target::{DateOrder, RecoveryTarget, TargetAction, TimelineTarget};
