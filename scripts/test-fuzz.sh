#!/usr/bin/env bash
# Builds every fuzz target in fuzz/ (cargo-fuzz layout, libFuzzer) and runs each
# for a short bounded time (FUZZ_SECONDS, default 5 per target). A crash or a
# panic fails the run and leaves the input in fuzz/artifacts/<target>/.
#
# The targets are built with the same instrumentation `cargo fuzz build -s none`
# uses (SanitizerCoverage through stable -C flags, --cfg fuzzing, debug
# assertions and overflow checks), so the stable toolchain is enough and no
# extra tool has to be installed. With `cargo fuzz` and a nightly toolchain
# present you can also run them the usual way: `cd fuzz && cargo +nightly fuzz run lsn`.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds=${FUZZ_SECONDS:-5}
# A fixed seed keeps CI reproducible; FUZZ_SEED=0 lets libFuzzer pick one.
seed=${FUZZ_SEED:-1}
target_dir=${CARGO_TARGET_DIR:-target}

export RUSTFLAGS="-Cpasses=sancov-module \
-Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
-Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares \
--cfg fuzzing -Cdebug-assertions -Coverflow-checks"

# An explicit --target keeps the instrumentation out of build scripts.
host=$(rustc -vV | sed -n 's/^host: //p')
cargo build --release --locked --bins --target "$host"

targets=$(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^pitr-fuzz$')
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for t in $targets; do
  mkdir -p "artifacts/$t" "corpus/$t"
  if ! "$target_dir/$host/release/$t" -max_total_time="$seconds" -seed="$seed" -rss_limit_mb=2048 \
      -artifact_prefix="artifacts/$t/" "corpus/$t" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "fuzz target $t failed: crash input in fuzz/artifacts/$t/" >&2
    exit 1
  fi
  printf '%-16s %s\n' "$t" "$(grep -E '^Done [0-9]+ runs' "$log" || echo ran)"
done
