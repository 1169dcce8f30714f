#!/usr/bin/env bash
# Tests of the C ABI (pitr-ffi, include/pitr.h):
#   1. installs a debug build with scripts/install-c.sh into target/c-tests/prefix
#      and compiles everything through its pkg-config file (pitr.pc);
#   2. checks that every function declared in the header is called by tests/c;
#   3. checks that the header compiles on its own as C11 and (if g++ is there) C++;
#   4. builds tests/c with gcc -Wall -Wextra -Werror against the shared library
#      and runs them under valgrind (leaks and errors fail the run), then once
#      more linked statically;
#   5. builds the C example (examples/c) both ways and checks its output;
#   6. if the cbindgen binary is installed, checks that it reproduces the
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

echo "-- C tests, shared library, under valgrind"
"$cc" "${cflags[@]}" -pthread -DPITR_EXPECTED_VERSION="\"$version\"" -Itests/c \
  -o "$out/test_pitr" tests/c/test_pitr.c $(pkg-config --libs pitr)
# The binary must resolve libpitr through its SONAME, from the installed prefix.
readelf -d "$out/test_pitr" | grep -q 'NEEDED.*libpitr\.so\.[0-9]'
LD_LIBRARY_PATH="$libdir" valgrind -q --leak-check=full --show-leak-kinds=definite,indirect,possible \
  --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 "$out/test_pitr"

echo "-- C tests, static library"
"$cc" "${cflags[@]}" -pthread -DPITR_EXPECTED_VERSION="\"$version\"" -Itests/c \
  -o "$out/test_pitr_static" tests/c/test_pitr.c "${static_libs[@]}"
if readelf -d "$out/test_pitr_static" | grep -q 'NEEDED.*libpitr'; then
  echo "statically linked test still needs libpitr.so" >&2
  exit 1
fi
"$out/test_pitr_static" > "$out/static.log" || { cat "$out/static.log"; exit 1; }
tail -n1 "$out/static.log"

echo "-- C example (examples/c/walname.c)"
"$cc" "${cflags[@]}" -o "$out/walname" examples/c/walname.c $(pkg-config --libs pitr)
"$cc" "${cflags[@]}" -o "$out/walname_static" examples/c/walname.c "${static_libs[@]}"
expect() { # expect EXIT_STATUS EXPECTED_STDOUT -- ARGS...
  local want_rc=$1 want=$2; shift 3
  for bin in "$out/walname" "$out/walname_static"; do
    local got rc=0
    got=$(LD_LIBRARY_PATH="$libdir" valgrind -q --leak-check=full --error-exitcode=99 "$bin" "$@" 2>"$out/example.err") || rc=$?
    if [ "$rc" != "$want_rc" ] || [ "$got" != "$want" ]; then
      echo "walname $* (${bin##*/}): exit $rc, output:" >&2
      printf '%s\n' "$got" >&2
      cat "$out/example.err" >&2
      echo "expected exit $want_rc, output:" >&2
      printf '%s\n' "$want" >&2
      exit 1
    fi
  done
}
expect 0 'lsn      0/16B3748 (pg_waldump: 0/016B3748)
segment  000000010000000000000001 (timeline 1, 16MB segments)
offset   7026504 (0x6B3748)' -- 0/16B3748
expect 0 'lsn      1/A3000028 (pg_waldump: 1/A3000028)
segment  000000020000000100000A30 (timeline 2, 1MB segments)
offset   40 (0x28)' -- 1/A3000028 2 1MB
expect 0 '{"kind":"segment","segment":"000000010000000000000002","compression":"gzip"}' -- 000000010000000000000002.gz
expect 2 '' -- 0/XYZ
expect 2 '' -- backup_label
expect 2 '' -- 0/1 1 3MB
grep -q "invalid LSN" "$out/example.err" || true
echo "ok"

if command -v cbindgen >/dev/null 2>&1; then
  echo "-- cbindgen binary reproduces include/pitr.h"
  cbindgen --quiet --config pitr-ffi/cbindgen.toml --crate pitr-ffi --output "$out/pitr.h" pitr-ffi
  cmp "$out/pitr.h" include/pitr.h
  echo "ok"
fi

# The closing line of the C test runner (shared-library run under valgrind).
LD_LIBRARY_PATH="$libdir" "$out/test_pitr" | tail -n1
