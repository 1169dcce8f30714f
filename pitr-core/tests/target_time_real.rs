//! recovery_target_time parsing compared with a real server: every text pitr
//! accepts must denote the instant PostgreSQL's `timestamptz` input gives it, and
//! the forms the server's configuration check rejects must be rejected.

#![allow(clippy::unwrap_used)]

use jiff::tz::TimeZone;
use pitr_core::plan::target::{DateOrder, format_target_time, parse_target_time};
use pitr_testkit::{Cluster, TestDir};

const ACCEPTED: &[&str] = &[
    "2026-11-24 00:57:57",
    "2026-11-24T00:57:57",
    "2026-11-24T00:57:57+00",
    "2026-11-24 00:57:57.5+05:30",
    "2026-11-24 00:57:57 Europe/Berlin",
    "2026-11-24 00:57:57 UTC",
    "2026-11-24 00:57:57 CET",
    "2026-11-24 00:57:57 EST",
    "Nov 24 00:57:57 2026",
    "11/24/2026 00:57:57",
    "2026-11-24",
    "2026-11-24 00:57:58.019639-0330",
    "Tue Nov 24 00:57:57 2026 America/New_York",
];

#[test]
fn accepted_times_match_timestamptz_input() {
    let c = Cluster::new(15);
    for zone in ["UTC", "America/New_York", "Asia/Kolkata"] {
        let tz = TimeZone::get(zone).unwrap();
        for text in ACCEPTED {
            let ours = parse_target_time(text, &tz, DateOrder::Mdy).unwrap_or_else(|e| panic!("{text}: {e}"));
            let theirs = c.sql(&format!(
                "SET timezone = '{zone}'; SET datestyle = 'iso, mdy'; \
                 SELECT to_char('{text}'::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"
            ));
            let ours_text = format_target_time(ours.time);
            let ours_norm = ours_text.trim_end_matches("+00");
            let ours_norm =
                if ours_norm.contains('.') { ours_norm.to_string() } else { format!("{ours_norm}.000000") };
            assert_eq!(ours_norm, theirs, "{text} in {zone}");
        }
    }
}

/// The server's configuration check (`postgres -C`) accepts exactly what we accept
/// among these forms, including the ones `timestamptz` input would take but the
/// recovery check refuses (Z, PST, special values).
#[test]
fn config_check_agrees() {
    let c = Cluster::builder(15).create();
    let dir = TestDir::new("tt");
    let cases: Vec<(&str, bool)> = ACCEPTED
        .iter()
        .map(|t| (*t, true))
        .chain([
            ("2026-11-24 00:57:57Z", false),
            ("2026-11-24 00:57:57 PST", false),
            ("epoch", false),
            ("now", false),
            ("infinity", false),
        ])
        .collect();
    for (text, ok) in cases {
        std::fs::write(c.pgdata().join("postgresql.auto.conf"), format!("recovery_target_time = '{text}'\n"))
            .unwrap();
        pitr_testkit::give_to_server_user(c.pgdata());
        let out = pitr_testkit::server_command(c.bin_dir().join("postgres"))
            .arg("-D")
            .arg(c.pgdata())
            .args(["-C", "recovery_target_time"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        let pg_ok = out.status.success();
        let ours_ok = parse_target_time(text, &TimeZone::UTC, DateOrder::Mdy).is_ok();
        assert_eq!(pg_ok, ok, "server on {text:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(ours_ok, ok, "pitr on {text:?}");
    }
}
