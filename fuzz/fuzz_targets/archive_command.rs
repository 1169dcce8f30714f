//! The placeholder scanner used on archive_command (`scan_placeholders`) and
//! the archived-file-name arithmetic of `pitr check` must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pitr_core::live::check::{archived_through, compute_lag, scan_placeholders};
use pitr_core::{Lsn, WalSegSize};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = scan_placeholders(&text, &['p', 'f']);
    let _ = scan_placeholders(&text, &['f', 'p', 'r']);
    let seg =
        WalSegSize::new(1 << (20 + (data.first().copied().unwrap_or(0) % 11) as u32)).unwrap_or_default();
    let _ = archived_through(&text, seg);
    let lsn = data.iter().take(8).fold(0u64, |a, b| (a << 8) | u64::from(*b));
    let _ = compute_lag(Lsn(lsn), &text, seg);
});
