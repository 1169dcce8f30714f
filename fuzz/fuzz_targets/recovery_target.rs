//! Recovery target settings as PostgreSQL reads them (`pitr_core::plan::target`):
//! `recovery_target_time` in several zones and date orders, xid, name,
//! timeline and action never panic; a time that parses is written back in
//! pitr's form (`format_target_time`), which parses to the same instant in
//! any zone and date order, and the log form (`format_pg_time`) is total.
#![no_main]

use jiff::tz::{Offset, TimeZone};
use libfuzzer_sys::fuzz_target;
use pitr_core::plan::target::{
    DateOrder, TargetAction, TimelineTarget, format_pg_time, format_target_time, parse_name,
    parse_target_time, parse_xid,
};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = TimelineTarget::parse(&text);
    let _ = TargetAction::parse(&text);
    let _ = parse_xid(&text);
    let _ = parse_name(&text);
    let _ = DateOrder::from_datestyle(&text);
    let zones = [
        TimeZone::UTC,
        TimeZone::fixed(Offset::from_seconds(5 * 3600 + 1800).unwrap_or(Offset::UTC)),
        TimeZone::fixed(Offset::from_seconds(-8 * 3600).unwrap_or(Offset::UTC)),
    ];
    for (zone, order) in zones.iter().zip([DateOrder::Mdy, DateOrder::Dmy, DateOrder::Ymd]) {
        let Ok(p) = parse_target_time(&text, zone, order) else { continue };
        let _ = format_pg_time(p.time, zone);
        let written = format_target_time(p.time);
        for (other, o) in zones.iter().zip([DateOrder::Ymd, DateOrder::Mdy, DateOrder::Dmy]) {
            let back = parse_target_time(&written, other, o).expect("pitr's own form parses");
            assert_eq!(back.time, p.time, "{text:?} -> {written:?}");
        }
    }
});
