//! The base backup's catalog read by `pitr_core::backup::catalog` on real
//! servers: a tar backup (15) and a copied data directory (18), both after
//! `VACUUM FULL pg_class, pg_namespace` (so `pg_class` lives in the file the
//! relation map names, not in 1259, and `pg_namespace` in the file `pg_class`
//! names); schema-qualified names; damaged copies of real catalog pages never
//! panic.

#![allow(clippy::unwrap_used)]

use pitr_core::backup::Backup;
use pitr_core::backup::catalog::{
    RowState, heap_page_tuples, lookup_table, parse_pg_class, parse_pg_namespace, parse_qualified_name,
    parse_relmap,
};
use pitr_core::version::PgMajor;
use pitr_testkit::{BackupKind, Cluster, majors_under_test};
use std::fs;

fn setup(c: &Cluster) -> (u32, u32, u32) {
    c.sql(
        "CREATE SCHEMA app; CREATE TABLE app.orders(id int PRIMARY KEY, note text); \
         INSERT INTO app.orders SELECT g, 'n' FROM generate_series(1, 10) g; \
         CREATE TABLE public.orders(id int); VACUUM FULL pg_class; VACUUM FULL pg_namespace;",
    );
    let node = |q: &str| -> u32 { c.sql(&format!("SELECT pg_relation_filenode('{q}')")).parse().unwrap() };
    let class_node = node("pg_class");
    assert_ne!(class_node, 1259, "VACUUM FULL pg_class should have moved pg_class");
    (
        node("app.orders"),
        node("public.orders"),
        c.sql("SELECT oid FROM pg_database WHERE datname = 'postgres'").parse().unwrap(),
    )
}

fn check(backup: &Backup, app: u32, public: u32, db: u32) {
    let q = |s: &str| parse_qualified_name(s).unwrap();
    let r = lookup_table(backup, &q("app.orders"), None).unwrap();
    assert_eq!(r.matches.len(), 1, "{r:#?}");
    let m = &r.matches[0];
    assert_eq!((m.relfilenode, m.db, m.kind, m.schema.as_deref()), (app, db, 'r', Some("app")));
    assert_eq!(m.state, RowState::Live);
    assert!(r.notes.is_empty(), "{:?}", r.notes);
    // Unqualified: both schemas; the database filter.
    let r = lookup_table(backup, &q("ORDERS"), Some(db)).unwrap();
    let nodes: Vec<u32> = r.matches.iter().map(|m| m.relfilenode).collect();
    assert!(nodes.contains(&app) && nodes.contains(&public), "{r:#?}");
    assert!(lookup_table(backup, &q("orders"), Some(4_000_000)).is_err());
    assert!(lookup_table(backup, &q("nosuch.orders"), None).unwrap().matches.is_empty());
    // The index of app.orders is found by its name too.
    let r = lookup_table(backup, &q("app.orders_pkey"), None).unwrap();
    assert_eq!(r.matches.first().map(|m| m.kind), Some('i'));
    // A catalog reads from its map: pg_class itself (relfilenode 0 in pg_class).
    let r = lookup_table(backup, &q("pg_catalog.pg_class"), Some(db)).unwrap();
    assert!(r.matches.first().is_some_and(|m| m.relfilenode != 0 && m.relfilenode != 1259), "{r:#?}");
}

#[test]
fn tar_backup_15() {
    if !majors_under_test().contains(&15) {
        return;
    }
    let c = Cluster::new(15);
    let (app, public, db) = setup(&c);
    let b = c.base_backup(BackupKind::Tar { gzip: true });
    check(&Backup::open(&b.dir).unwrap(), app, public, db);
}

#[test]
fn copied_data_directory_18_and_damaged_pages() {
    let major = 18;
    if !majors_under_test().contains(&major) {
        return;
    }
    let c = Cluster::new(major);
    let (app, public, db) = setup(&c);
    let b = c.base_backup(BackupKind::SqlApi);
    let backup = Backup::open(&b.dir).unwrap();
    check(&backup, app, public, db);

    // Real pages, then damaged copies: errors or fewer rows, never a panic.
    let dir = b.dir.join("base").join(db.to_string());
    let map = parse_relmap(&fs::read(dir.join("pg_filenode.map")).unwrap(), PgMajor::V18).unwrap();
    let class = map.iter().find(|m| m.oid == 1259).unwrap().relfilenode;
    let bytes = fs::read(dir.join(class.to_string())).unwrap();
    let pages: Vec<&[u8]> = bytes.chunks_exact(8192).collect();
    let rows: usize = pages
        .iter()
        .map(|p| {
            heap_page_tuples(p, 8192)
                .unwrap()
                .iter()
                .filter(|t| parse_pg_class(t, PgMajor::V18).is_ok())
                .count()
        })
        .sum();
    assert!(rows > 300, "{rows} pg_class rows");
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..3000 {
        let mut p = pages[(next() % pages.len() as u64) as usize].to_vec();
        for _ in 0..(next() % 8 + 1) {
            let at = (next() % 8192) as usize;
            p[at] = next() as u8;
        }
        if let Ok(ts) = heap_page_tuples(&p, 8192) {
            for t in ts {
                let _ = parse_pg_class(&t, PgMajor::V18);
                let _ = parse_pg_namespace(&t);
                let _ = t.state();
            }
        }
        let _ = heap_page_tuples(&p[..(next() % 8192) as usize], 8192);
    }
}
