#!/usr/bin/env bash
# Builds every cargo-fuzz target in fuzz/ and runs each for a short bounded
# time (FUZZ_SECONDS, default 20). Needs a nightly toolchain and cargo-fuzz;
# both are installed when missing (set FUZZ_NO_INSTALL=1 to only type-check
# the targets instead).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-20}

have_tools() { cargo +nightly --version >/dev/null 2>&1 && cargo fuzz --version >/dev/null 2>&1; }

if ! have_tools && [ "${FUZZ_NO_INSTALL:-0}" != 1 ]; then
  cargo +nightly --version >/dev/null 2>&1 || rustup toolchain install nightly --profile minimal
  cargo fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked
fi

if ! have_tools; then
  echo "nightly or cargo-fuzz unavailable: type-checking the fuzz targets only"
  exec cargo check --manifest-path fuzz/Cargo.toml --locked
fi

cd fuzz
cargo +nightly fuzz build
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for target in $(cargo +nightly fuzz list); do
  if ! cargo +nightly fuzz run "$target" -- -max_total_time="$seconds" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "fuzz target $target failed (crash input in fuzz/artifacts/$target)" >&2
    exit 1
  fi
  echo "$target: $(grep -E '^Done' "$log" || echo 'ran')"
done
