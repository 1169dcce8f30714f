//! Payload decoders (commit, abort, prepare, checkpoint, restore point, ...)
//! never panic: the first three bytes pick the major, resource manager and
//! `xl_info`, the rest is the main data.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pitr_core::PgMajor;
use pitr_core::wal::decode::{Decoded, decode};

fuzz_target!(|data: &[u8]| {
    let [v, rmid, info, main @ ..] = data else { return };
    let major = PgMajor::ALL[usize::from(*v) % PgMajor::ALL.len()];
    if let Ok(d) = decode(major, rmid % 22, *info, main) {
        // Walk the in-place arrays.
        match d {
            Decoded::XactFinish(x) => {
                let _ = (x.subxacts.to_vec(), x.rels.to_vec(), x.dropped_stats.iter().count(), x.invals.iter().count());
            }
            Decoded::XactPrepare(p) => {
                let _ = (p.subxacts.to_vec(), p.commit_rels.to_vec(), p.abort_rels.to_vec(), p.invals.iter().count());
            }
            Decoded::RunningXacts(r) => {
                let _ = (r.xids.to_vec(), r.subxids.to_vec());
            }
            _ => {}
        }
    }
});
