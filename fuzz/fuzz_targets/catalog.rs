//! The base backup catalog readers never panic: `pg_filenode.map` of every
//! layout, heap pages (a page-sized input is also read as `pg_class` and
//! `pg_namespace` rows of every major), and `[schema.]name` arguments.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pitr_core::backup::catalog::{
    heap_page_tuples, parse_pg_class, parse_pg_namespace, parse_qualified_name, parse_relmap,
};
use pitr_core::version::PgMajor;

fuzz_target!(|data: &[u8]| {
    for major in [PgMajor::V15, PgMajor::V16] {
        if let Ok(m) = parse_relmap(data, major) {
            assert!(m.len() <= 64);
        }
    }
    // Pad or cut to a small page size so short inputs reach the tuple code.
    let mut page = data.to_vec();
    page.resize(1024, 0);
    for p in [&page[..], data] {
        if let Ok(ts) = heap_page_tuples(p, 1024) {
            for t in ts {
                for major in [PgMajor::V13, PgMajor::V18] {
                    let _ = parse_pg_class(&t, major);
                }
                let _ = parse_pg_namespace(&t);
                let _ = t.state();
            }
        }
    }
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(q) = parse_qualified_name(s) {
            assert!(!q.name.is_empty());
        }
    }
});
