#!/usr/bin/env bash
# Runs every test of the project: Rust (unit, property, real-PostgreSQL
# integration, CLI end-to-end), C (ABI tests under valgrind), Python (pytest
# against the installed wheel), fuzz targets (short bounded runs) and the
# generated-header check. Needs the PostgreSQL builds of .ci/install-pg.
set -euo pipefail
cd "$(dirname "$0")/.."

section() { printf '\n==== %s ====\n' "$*"; }

section "PostgreSQL builds"
.ci/install-pg >/dev/null
echo "ok"

section "Rust: format"
cargo fmt --all -- --check

section "Lock files are current (workspace and fuzz/)"
# The fuzz crate is its own workspace with its own Cargo.lock; checking both
# here fails in seconds instead of at the end of the run.
cargo metadata --locked --format-version 1 >/dev/null
(cd fuzz && cargo metadata --locked --format-version 1 >/dev/null)
echo "ok"

section "Rust: tests (unit, property, real PostgreSQL 13-18, CLI end-to-end)"
cargo test --workspace --locked

for extra in scripts/test-*.sh; do
  [ "$extra" = "scripts/test-all.sh" ] && continue
  section "$(basename "$extra" .sh)"
  "$extra"
done

section "all tests passed"
