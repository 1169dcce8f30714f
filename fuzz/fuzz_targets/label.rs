//! backup_label / backup history parsing on arbitrary bytes: no panic, the
//! checks run, and the canonical text of a parsed label parses back to the
//! same locations.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pitr_core::label::BackupLabel;
use pitr_core::WalSegSize;

fuzz_target!(|data: &[u8]| {
    let Ok(l) = BackupLabel::parse_bytes(data) else { return };
    let _ = l.check(WalSegSize::DEFAULT);
    let _ = l.consistent_segment_sizes();
    let _ = l.history_file_name(WalSegSize::DEFAULT);
    let back = BackupLabel::parse(&l.to_text()).expect("canonical text parses");
    assert_eq!((back.kind, back.start, back.stop, back.checkpoint), (l.kind, l.start, l.stop, l.checkpoint));
    assert_eq!(back.to_text(), l.to_text());
});
