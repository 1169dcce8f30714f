//! Archive layout path and directory-name classification must never panic and
//! must agree with itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pitr_core::archive::layout::{self, PathClass};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let class = layout::classify_path(s);
    if let PathClass::Wal { file, nested: true } = &class {
        // A nested file's directory is the one its name asks for.
        let dir = layout::nested_dir(file).expect("nested files have a directory");
        assert!(s.split('/').any(|c| c == dir), "{s:?} {dir}");
    }
    let _ = layout::classify_dir(s);
    let _ = layout::parse_archive_id(s);
    if let Some(x) = layout::parse_xlogid_dir(s) {
        let _ = layout::classify_nested(x, s);
    }
    for (i, _) in s.char_indices() {
        let _ = layout::classify_in(Some(&s[..i]), &s[i..]);
    }
});
