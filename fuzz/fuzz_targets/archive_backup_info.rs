//! The archive's reader of backup_label / .backup lines must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(info) = pitr_core::archive::parse_backup_info(&text) {
        let _ = info.start_timeline();
    }
});
