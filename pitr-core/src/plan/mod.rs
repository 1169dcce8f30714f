//! Recovery planning: from a base backup, a WAL archive and a target, what
//! PostgreSQL will do (recovery-semantics.md §1-4, §9).

pub mod find;
pub mod model;
pub mod planner;
mod progress;
pub mod replay;
pub mod restore;
pub mod target;
pub mod timeline;

pub use find::{FindInput, FindReport, FindRequest, KindFilter, find, find_with_progress};
pub use model::{Plan, PlannedFile, Problem, Stop, TimelineStep};
pub use planner::{PlanRequest, TargetSpec, default_restore_command, plan, plan_with_progress};
pub use restore::{RestoreReport, RestoreRequest, restore, restore_with_progress, write_recovery_settings};
pub use target::{DateOrder, RecoveryTarget, TargetAction, TimelineTarget};
