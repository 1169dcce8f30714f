//! Gives the shared library a SONAME tied to the ABI version
//! (`libpitr.so.<PITR_ABI_VERSION>`), so that programs linked against one ABI
//! never load an incompatible library.

use std::fs;

fn main() {
    println!("cargo:rerun-if-changed=src/version.rs");
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if target_os != "linux" {
        return;
    }
    let source = fs::read_to_string("src/version.rs").unwrap_or_default();
    let abi = source
        .lines()
        .find_map(|l| l.strip_prefix("pub const PITR_ABI_VERSION: u32 = "))
        .and_then(|rest| rest.trim_end_matches(';').trim().parse::<u32>().ok());
    match abi {
        Some(abi) => println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libpitr.so.{abi}"),
        None => {
            panic!("pitr-ffi/build.rs: cannot find `pub const PITR_ABI_VERSION: u32 = N;` in src/version.rs")
        }
    }
}
