//! A server replaying WAL (a standby, or a restore paused at its target):
//! where replay is, whether it is paused, and resuming it.
//!
//! Pause state: `pg_get_wal_replay_pause_state()` on 14 and later (`not
//! paused`, `pause requested`, `paused`); `pg_is_wal_replay_paused()` on 13,
//! which only knows paused or not.
//!
//! Resuming a recovery paused at its target (`recovery_target_action =
//! 'pause'`) promotes the server; resuming a standby paused with
//! `pg_wal_replay_pause()` lets it replay again. [`replay_resume`] reports
//! which happened.

use super::LiveError;
use super::conn::Session;
use crate::lsn::Lsn;
use crate::version::PgMajor;
use crate::walfile::TimeLineId;
use jiff::Timestamp;
use serde::Serialize;
use std::time::{Duration, Instant};

/// Replay pause state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PauseState {
    /// Replaying (or waiting for WAL).
    NotPaused,
    /// A pause was requested and replay has not stopped yet (14+).
    PauseRequested,
    /// Replay is paused (at a recovery target with `recovery_target_action =
    /// 'pause'`, or by `pg_wal_replay_pause()`).
    Paused,
}

impl PauseState {
    /// Parses `pg_get_wal_replay_pause_state()`'s text.
    pub fn parse(text: &str) -> Option<PauseState> {
        match text {
            "not paused" => Some(PauseState::NotPaused),
            "pause requested" => Some(PauseState::PauseRequested),
            "paused" => Some(PauseState::Paused),
            _ => None,
        }
    }
}

impl std::fmt::Display for PauseState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PauseState::NotPaused => "not paused",
            PauseState::PauseRequested => "pause requested",
            PauseState::Paused => "paused",
        })
    }
}

/// Where replay is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReplayStatus {
    /// `pg_is_in_recovery()`.
    pub in_recovery: bool,
    /// The pause state (`None` when not in recovery).
    pub pause_state: Option<PauseState>,
    /// `pg_last_wal_replay_lsn()`: the end of the last record replayed
    /// (while paused at a target, the stop point).
    pub replay_lsn: Option<Lsn>,
    /// `pg_last_wal_receive_lsn()`: streaming only, `None` otherwise.
    pub receive_lsn: Option<Lsn>,
    /// `pg_last_xact_replay_timestamp()`: commit time of the last replayed
    /// commit or abort; `None` when none was replayed since startup.
    pub last_xact_replay_time: Option<Timestamp>,
    /// The server's `clock_timestamp()`.
    pub server_time: Option<Timestamp>,
    /// On a server no longer in recovery, the timeline it writes on; in
    /// recovery, the timeline of its latest restartpoint.
    pub timeline: Option<TimeLineId>,
}

/// Reads the replay state (works on any server; `in_recovery` tells).
pub fn replay_status(session: &mut Session) -> Result<ReplayStatus, LiveError> {
    let what = "replay status";
    let row = session.query_one(
        what,
        "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn(), pg_last_wal_receive_lsn(), \
         pg_last_xact_replay_timestamp(), clock_timestamp()",
        &[],
    )?;
    let in_recovery: bool = session.col(&row, 0, what)?.unwrap_or(false);
    let replay_lsn = session.lsn_col(&row, 1, what)?;
    let receive_lsn = session.lsn_col(&row, 2, what)?;
    let last_xact_replay_time = session.time_col(&row, 3, what)?;
    let server_time = session.time_col(&row, 4, what)?;
    let mut in_recovery = in_recovery;
    let pause_state = if in_recovery {
        match pause_state(session) {
            Ok(p) => Some(p),
            // Promotion finished between the two queries.
            Err(e) => {
                if still_in_recovery(session)? {
                    return Err(e);
                }
                in_recovery = false;
                None
            }
        }
    } else {
        None
    };
    let timeline = if in_recovery { session.checkpoint_timeline() } else { session.insert_timeline()? };
    Ok(ReplayStatus {
        in_recovery,
        pause_state,
        replay_lsn,
        receive_lsn,
        last_xact_replay_time,
        server_time,
        timeline,
    })
}

fn still_in_recovery(session: &mut Session) -> Result<bool, LiveError> {
    let what = "pg_is_in_recovery()";
    let row = session.query_one(what, "SELECT pg_is_in_recovery()", &[])?;
    Ok(session.col(&row, 0, what)?.unwrap_or(false))
}

fn pause_state(session: &mut Session) -> Result<PauseState, LiveError> {
    if session.server().major >= PgMajor::V14 {
        let what = "pg_get_wal_replay_pause_state()";
        let row = session.query_one(what, "SELECT pg_get_wal_replay_pause_state()", &[])?;
        let text: Option<String> = session.col(&row, 0, what)?;
        let text = text.unwrap_or_default();
        PauseState::parse(&text)
            .ok_or_else(|| session.unexpected(what, format!("unknown pause state {text:?}")))
    } else {
        let what = "pg_is_wal_replay_paused()";
        let row = session.query_one(what, "SELECT pg_is_wal_replay_paused()", &[])?;
        let paused: bool = session.col(&row, 0, what)?.unwrap_or(false);
        Ok(if paused { PauseState::Paused } else { PauseState::NotPaused })
    }
}

/// What happened after `pg_wal_replay_resume()`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ResumeOutcome {
    /// The server left recovery: it was paused at its recovery target, and
    /// resuming promoted it.
    Promoted {
        /// The new timeline.
        timeline: Option<TimeLineId>,
    },
    /// Still in recovery, replaying: the replay LSN moved past where it was.
    Replaying {
        /// The replay LSN when this was seen.
        replay_lsn: Option<Lsn>,
    },
    /// Still in recovery and not paused, but no WAL was replayed within the
    /// wait (a standby waiting for WAL), or the wait was zero.
    Resumed,
    /// Still paused when the wait ended.
    StillPaused,
}

/// The result of [`replay_resume`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResumeReport {
    /// The state before resuming.
    pub before: ReplayStatus,
    /// What happened.
    #[serde(flatten)]
    pub outcome: ResumeOutcome,
    /// The state when the wait ended.
    pub after: ReplayStatus,
    /// How long pitr waited, in milliseconds.
    pub waited_ms: u64,
}

/// Calls `pg_wal_replay_resume()` and waits up to `timeout` (polling every
/// 100 ms) until the server has left recovery (promoted) or replays again.
/// A server not in recovery is [`LiveError::NotInRecovery`].
pub fn replay_resume(session: &mut Session, timeout: Duration) -> Result<ResumeReport, LiveError> {
    let before = replay_status(session)?;
    if !before.in_recovery {
        return Err(LiveError::NotInRecovery {
            endpoint: session.endpoint().to_string(),
            action: "there is no replay to resume".into(),
        });
    }
    let what = "pg_wal_replay_resume()";
    session.query(what, "SELECT pg_wal_replay_resume()", &[]).map(|_| ())?;
    let start = Instant::now();
    loop {
        let now = replay_status(session)?;
        let elapsed = start.elapsed();
        let outcome = if !now.in_recovery {
            Some(ResumeOutcome::Promoted { timeline: now.timeline })
        } else if now.pause_state == Some(PauseState::NotPaused)
            && now.replay_lsn.is_some()
            && now.replay_lsn > before.replay_lsn
        {
            Some(ResumeOutcome::Replaying { replay_lsn: now.replay_lsn })
        } else if elapsed >= timeout {
            Some(if now.pause_state == Some(PauseState::NotPaused) {
                ResumeOutcome::Resumed
            } else {
                ResumeOutcome::StillPaused
            })
        } else {
            None
        };
        if let Some(outcome) = outcome {
            if matches!(outcome, ResumeOutcome::Promoted { .. }) {
                let _ = session.refresh();
            }
            return Ok(ResumeReport {
                before,
                outcome,
                after: now,
                waited_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pause_states() {
        for s in [PauseState::NotPaused, PauseState::PauseRequested, PauseState::Paused] {
            assert_eq!(PauseState::parse(&s.to_string()), Some(s));
        }
        assert_eq!(PauseState::parse("Paused"), None);
        assert_eq!(serde_json::to_value(PauseState::PauseRequested).unwrap(), "pause_requested");
    }
}
