#!/usr/bin/env bash
# Tests of the C ABI (pitr-ffi, include/pitr.h):
#   1. installs a debug build with scripts/install-c.sh into target/c-tests/prefix
#      and compiles everything through its pkg-config file (pitr.pc);
#   2. checks that every function declared in the header is called by tests/c;
#   3. checks that the header compiles on its own as C11 and (if g++ is there) C++;
#   4. starts throwaway PostgreSQL 15 servers with real data for the tests
#      (tests/c/pg-fixtures.sh: a primary with a WAL archive, a pg_basebackup,
#      a restore promoted to timeline 2, a restore paused at its target);
#   5. builds tests/c with gcc -Wall -Wextra -Werror against the shared library
#      and runs them under valgrind (leaks and errors fail the run), then once
#      more linked statically (against a fresh paused restore);
#   6. builds the C examples (examples/c) both ways and checks their output
#      (plan_recovery against what the paused restore of the fixtures did);
#   7. if the cbindgen binary is installed, checks that it reproduces the
#      committed header byte for byte (the pitr-ffi `header` test always checks
#      the same with cbindgen's library).
# Prints "N passed, N failed" (the C test runner's line) and exits non-zero on failure.
set -euo pipefail
cd "$(dirname "$0")/.."

out=target/c-tests
prefix="$PWD/$out/prefix"
rm -rf "$out"
mkdir -p "$out"

scripts/install-c.sh --prefix "$prefix" --debug
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
version=$(pkg-config --modversion pitr)
cc=${CC:-gcc}
cflags=(-std=c11 -Wall -Wextra -Werror -Wpedantic -g $(pkg-config --cflags pitr))
libdir=$(pkg-config --variable=libdir pitr)
static_libs=("$libdir/libpitr.a" $(pkg-config --variable=native_static_libs pitr))

echo "-- every function in include/pitr.h is exercised by tests/c"
missing=0
for fn in $(grep -oE '\bpitr_[a-z0-9_]+\(' include/pitr.h | tr -d '(' | sort -u); do
  if ! grep -qE "\b$fn\b" tests/c/*.c; then
    echo "not tested: $fn" >&2
    missing=1
  fi
done
[ "$missing" = 0 ] || { echo "tests/c does not call every function of the header" >&2; exit 1; }
echo "ok"

echo "-- the header compiles on its own"
printf '#include <pitr.h>\nint main(void) { return pitr_abi_version() == PITR_ABI_VERSION ? 0 : 1; }\n' > "$out/standalone.c"
"$cc" "${cflags[@]}" -o "$out/standalone" "$out/standalone.c" $(pkg-config --libs pitr)
LD_LIBRARY_PATH="$libdir" "$out/standalone"
if command -v g++ >/dev/null 2>&1; then
  g++ -std=c++17 -Wall -Wextra -Werror -x c++ -fsyntax-only $(pkg-config --cflags pitr) "$out/standalone.c"
fi
echo "ok"

echo "-- PostgreSQL 15 servers for the tests"
# shellcheck source=tests/c/pg-fixtures.sh
source tests/c/pg-fixtures.sh
trap pg_fixtures_teardown EXIT
pg_fixtures_setup
pg_fixtures_paused
echo "ok"

echo "-- C tests, shared library, under valgrind"
"$cc" "${cflags[@]}" -pthread -DPITR_EXPECTED_VERSION="\"$version\"" -Itests/c \
  -o "$out/test_pitr" tests/c/*.c $(pkg-config --libs pitr)
# The binary must resolve libpitr through its SONAME, from the installed prefix.
readelf -d "$out/test_pitr" | grep -q 'NEEDED.*libpitr\.so\.[0-9]'
# tests/c/valgrind.supp lists the (bounded, process-lifetime) allocations that
# are not leaks.
LD_LIBRARY_PATH="$libdir" valgrind -q --leak-check=full --show-leak-kinds=definite,indirect,possible \
  --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 --num-callers=50 \
  --suppressions=tests/c/valgrind.supp "$out/test_pitr" \
  | tee "$out/valgrind.log"

echo "-- C tests, static library"
"$cc" "${cflags[@]}" -pthread -DPITR_EXPECTED_VERSION="\"$version\"" -Itests/c \
  -o "$out/test_pitr_static" tests/c/*.c "${static_libs[@]}"
if readelf -d "$out/test_pitr_static" | grep -q 'NEEDED.*libpitr'; then
  echo "statically linked test still needs libpitr.so" >&2
  exit 1
fi
pg_fixtures_paused # the first run promoted it
"$out/test_pitr_static" > "$out/static.log" || { cat "$out/static.log"; exit 1; }
tail -n1 "$out/static.log"

echo "-- C examples (examples/c)"
for example in walname recovery_facts plan_recovery; do
  "$cc" "${cflags[@]}" -o "$out/$example" "examples/c/$example.c" $(pkg-config --libs pitr)
  "$cc" "${cflags[@]}" -o "$out/${example}_static" "examples/c/$example.c" "${static_libs[@]}"
done
expect() { # expect EXAMPLE EXIT_STATUS EXPECTED_STDOUT -- ARGS...
  local example=$1 want_rc=$2 want=$3; shift 4
  for bin in "$out/$example" "$out/${example}_static"; do
    local got rc=0
    got=$(LD_LIBRARY_PATH="$libdir" valgrind -q --leak-check=full --error-exitcode=99 --num-callers=50 \
      --suppressions=tests/c/valgrind.supp "$bin" "$@" 2>"$out/example.err") || rc=$?
    if [ "$rc" != "$want_rc" ] || [ "$got" != "$want" ]; then
      echo "$example $* (${bin##*/}): exit $rc, output:" >&2
      printf '%s\n' "$got" >&2
      cat "$out/example.err" >&2
      echo "expected exit $want_rc, output:" >&2
      printf '%s\n' "$want" >&2
      exit 1
    fi
  done
}
expect walname 0 'lsn      0/16B3748 (pg_waldump: 0/016B3748)
segment  000000010000000000000001 (timeline 1, 16MB segments)
offset   7026504 (0x6B3748)' -- 0/16B3748
expect walname 0 'lsn      1/A3000028 (pg_waldump: 1/A3000028)
segment  000000020000000100000A30 (timeline 2, 1MB segments)
offset   40 (0x28)' -- 1/A3000028 2 1MB
expect walname 0 '{"kind":"segment","segment":"000000010000000000000002","compression":"gzip"}' -- 000000010000000000000002.gz
expect walname 2 '' -- 0/XYZ
expect walname 2 '' -- backup_label
expect walname 2 '' -- 0/1 1 3MB
grep -q "invalid LSN" "$out/example.err" || true

# recovery_facts on a backup and an archive with timelines 1 -> 2 -> 3.
ex="$out/example"
mkdir -p "$ex/archive"
printf '1\t0/5000220\tafter transaction 728\n' > "$ex/archive/00000002.history"
printf '1\t0/5000220\tafter transaction 728\n\n2\t0/6000000\tno recovery target specified\n' \
  > "$ex/archive/00000003.history"
label() { # label START_LSN FILE CHECKPOINT
  printf 'START WAL LOCATION: %s (file %s)\nCHECKPOINT LOCATION: %s\nBACKUP METHOD: streamed\nBACKUP FROM: primary\nSTART TIME: 2026-11-24 00:57:28 UTC\nLABEL: nightly\nSTART TIMELINE: 1\n' "$@"
}
label 0/2000028 000000010000000000000002 0/2000060 > "$ex/backup_label"
label 0/6000028 000000010000000000000006 0/6000060 > "$ex/late_backup_label"
header='# Do not edit this file manually!
# It will be overwritten by the ALTER SYSTEM command.'
expect recovery_facts 0 "backup     0/2000028 on timeline 1 (file 000000010000000000000002), checkpoint 0/2000060
timeline   newest reachable from 1: 3 (1 -> 2 -> 3)
           timeline 1 ends at 0/5000220 (then 2)
           the backup lies on that history: usable
target     2026-11-23 23:57:57+00
postgresql.auto.conf:
$header
recovery_target_time = '2026-11-23 23:57:57+00'
recovery_target_timeline = '3'" -- "$ex/backup_label" "$ex/archive" "2026-11-24 00:57:57" Europe/Berlin
expect recovery_facts 1 "backup     0/6000028 on timeline 1 (file 000000010000000000000006), checkpoint 0/6000060
timeline   newest reachable from 1: 3 (1 -> 2 -> 3)
           timeline 1 ends at 0/5000220 (then 2)
           the backup starts on timeline 1 after it ended there
           recovery from this backup cannot follow that timeline
postgresql.auto.conf:
$header
recovery_target_timeline = '3'" -- "$ex/late_backup_label" "$ex/archive"
expect recovery_facts 2 '' -- "$ex/missing_label" "$ex/archive"
grep -q "recovery_facts: backup_label: .*missing_label" "$out/example.err"
expect recovery_facts 2 "backup     0/2000028 on timeline 1 (file 000000010000000000000002), checkpoint 0/2000060
timeline   newest reachable from 1: 3 (1 -> 2 -> 3)
           timeline 1 ends at 0/5000220 (then 2)
           the backup lies on that history: usable" -- "$ex/backup_label" "$ex/archive" now
grep -q "recovery_facts: target time: .*special values are not allowed" "$out/example.err"
# ...and on the real base backup and archive of the test servers.
start_file=$(sed -n 's/^START WAL LOCATION: .* (file \(.*\))$/\1/p' "$PITR_TEST_BACKUP_LABEL")
checkpoint=$(sed -n 's/^CHECKPOINT LOCATION: //p' "$PITR_TEST_BACKUP_LABEL")
switch=$(cut -f2 "$PITR_TEST_HISTORY")
expect recovery_facts 0 "backup     $PITR_TEST_BACKUP_START on timeline 1 (file $start_file), checkpoint $checkpoint
timeline   newest reachable from 1: 2 (1 -> 2)
           timeline 1 ends at $switch (then 2)
           the backup lies on that history: usable
postgresql.auto.conf:
$header
recovery_target_timeline = '2'" -- "$PITR_TEST_BACKUP_LABEL" "$PITR_TEST_ARCHIVE"
# plan_recovery on the real backup and archive: what the server did when it
# recovered the same backup to the same transaction (pg-fixtures.sh).
run_example() { # run_example EXAMPLE ARGS...: output in $got, exit status in $rc, for both builds
  local example=$1; shift
  local bin g r
  got= rc=
  for bin in "$out/$example" "$out/${example}_static"; do
    r=0
    g=$(LD_LIBRARY_PATH="$libdir" valgrind -q --leak-check=full --error-exitcode=99 --num-callers=50 \
      --suppressions=tests/c/valgrind.supp "$bin" "$@" 2>"$out/example.err") || r=$?
    if [ -n "$rc" ] && { [ "$r" != "$rc" ] || [ "$g" != "$got" ]; }; then
      echo "$example $*: the shared and static builds disagree" >&2
      exit 1
    fi
    got=$g rc=$r
  done
}
must_print() { # must_print LINE: the last run_example printed exactly this line
  if ! printf '%s\n' "$got" | grep -qxF -- "$1"; then
    printf 'plan_recovery: no line %s in:\n%s\n' "$1" "$got" >&2
    cat "$out/example.err" >&2
    exit 1
  fi
}
run_example plan_recovery "$PITR_TEST_BACKUP" "$PITR_TEST_ARCHIVE" "xid:$PITR_TEST_XID" current
[ "$rc" = 0 ] || { echo "plan_recovery: exit $rc for a reachable target" >&2; printf '%s\n' "$got" >&2; exit 1; }
must_print "reachable  yes"
must_print "target     XID $PITR_TEST_XID on timeline 1 (PostgreSQL 15)"
must_print "           pg_last_wal_replay_lsn() = $PITR_TEST_XID_REPLAY_LSN"
must_print "           LOG:  $PITR_TEST_XID_STOP_LOG"
must_print "           recovery_target_xid = '$PITR_TEST_XID'"
must_print "           recovery_target_timeline = 'current'"
# Every WAL file it lists was fetched by the server.
while read -r f; do
  grep -qxF "$f" "$PITR_TEST_XID_FETCHED" || { echo "plan_recovery: $f was not fetched by the server" >&2; exit 1; }
done < <(printf '%s\n' "$got" | sed -n '/^WAL files/,/^settings/{/^           [0-9A-F]/s/^ *//p}')
run_example plan_recovery "$PITR_TEST_BACKUP" "$PITR_TEST_ARCHIVE" xid:4000000 current
[ "$rc" = 1 ] || { echo "plan_recovery: exit $rc for an unreachable target" >&2; exit 1; }
must_print "stop       none: recovery does not get to a stop"
must_print "           PostgreSQL: recovery ended before configured recovery target was reached"
run_example plan_recovery "$PITR_TEST_BACKUP" "$PITR_TEST_ARCHIVE" now
[ "$rc" = 2 ] && [ -z "$got" ] || { echo "plan_recovery: exit $rc for a bad target" >&2; exit 1; }
grep -q "plan_recovery: plan: .*special values are not allowed" "$out/example.err"
echo "ok"

if command -v cbindgen >/dev/null 2>&1; then
  echo "-- cbindgen binary reproduces include/pitr.h"
  cbindgen --quiet --config pitr-ffi/cbindgen.toml --crate pitr-ffi --output "$out/pitr.h" pitr-ffi
  cmp "$out/pitr.h" include/pitr.h
  echo "ok"
fi

# The closing line of the C test runner (shared-library run under valgrind).
tail -n1 "$out/valgrind.log"
