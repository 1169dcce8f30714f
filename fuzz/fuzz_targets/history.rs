//! Timeline history parsing on arbitrary bytes (the first 4 bytes choose the
//! file's timeline): no panic, the queries run, and the canonical text of a
//! parsed history parses back to the same entries (when its lines fit the
//! server's 1023-byte line reads).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pitr_core::history::TimelineHistory;
use pitr_core::Lsn;

fuzz_target!(|data: &[u8]| {
    let (tli, body) = match data.split_first_chunk::<4>() {
        Some((head, rest)) => (u32::from_le_bytes(*head), rest),
        None => (2, data),
    };
    let Ok(h) = TimelineHistory::parse_bytes(tli, body) else { return };
    let _ = h.issues();
    let _ = h.validate();
    for r in h.ranges() {
        let _ = h.timeline_of(r.begin.unwrap_or(Lsn(0)));
        let _ = h.switch_point(r.timeline);
    }
    let text = h.to_text();
    // A reason decoded lossily (invalid UTF-8 becomes U+FFFD, 3 bytes) can
    // make a canonical line longer than the 1023-byte `fgets` chunk, which
    // PostgreSQL itself would read back as two lines: no round trip then.
    if text.lines().any(|l| l.len() >= 1023) {
        return;
    }
    let back = TimelineHistory::parse(tli, &text).expect("canonical text parses");
    let key = |h: &TimelineHistory| h.entries.iter().map(|e| (e.parent, e.switch_lsn)).collect::<Vec<_>>();
    assert_eq!(key(&back), key(&h));
});
