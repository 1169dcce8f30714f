//! The mark log parser (`pitr_core::live::parse_marks`) must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(marks) = pitr_core::live::parse_marks(&text) {
        // Whatever parses must be usable as a target.
        for m in &marks {
            let _ = m.target().recovery_settings();
            if let Some(n) = &m.name {
                let _ = pitr_core::live::mark_target(&marks, n);
            }
        }
    }
});
