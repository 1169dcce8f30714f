//! postgresql.conf parsing on arbitrary bytes: no panic, value helpers run,
//! and every setting that can be written renders and parses back unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pitr_core::conf::{self, BaseUnit};

fuzz_target!(|data: &[u8]| {
    let parsed = conf::parse_bytes(data);
    let mut writable = Vec::new();
    for l in &parsed.lines {
        let _ = conf::parse_bool(&l.value);
        let _ = conf::parse_int(&l.value, Some(BaseUnit::Kilobytes));
        let _ = conf::parse_int(&l.value, Some(BaseUnit::Milliseconds));
        let _ = conf::parse_int(&l.value, None);
        let _ = conf::parse_real(&l.value, Some(BaseUnit::Seconds));
        if conf::check_setting(&l.name, &l.value).is_ok() {
            writable.push((l.name.clone(), l.value.clone()));
        }
    }
    let text = conf::render_auto_conf(&writable).expect("checked settings render");
    let back = conf::parse(&text);
    assert!(back.errors.is_empty(), "{:?}", back.errors);
    let got: Vec<(String, String)> = back.lines.into_iter().map(|l| (l.name, l.value)).collect();
    assert_eq!(got, writable);
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = conf::edit_auto_conf(s, &[conf::AutoConfEdit::set("restore_command", "cp %f %p")]);
    }
});
