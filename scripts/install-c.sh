#!/usr/bin/env bash
# Builds the C library (pitr-ffi) and installs it with its header and a
# pkg-config file:
#
#   PREFIX/include/pitr.h
#   PREFIX/lib/libpitr.so.<abi> (+ libpitr.so symlink), PREFIX/lib/libpitr.a
#   PREFIX/lib/pkgconfig/pitr.pc
#
# Usage: scripts/install-c.sh [--prefix DIR] [--debug]
#   --prefix DIR  where to install (default: $PREFIX, else /usr/local)
#   --debug       install a debug build instead of a release build
#
# Then: PKG_CONFIG_PATH=DIR/lib/pkgconfig pkg-config --cflags --libs pitr
set -euo pipefail
cd "$(dirname "$0")/.."

prefix=${PREFIX:-/usr/local}
profile=release
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix=$2; shift 2 ;;
    --prefix=*) prefix=${1#--prefix=}; shift ;;
    --debug) profile=debug; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "install-c.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)

cargo_args=(rustc -p pitr-ffi --lib --locked)
[ "$profile" = release ] && cargo_args+=(--release)
# One build of every crate type; rustc's note lists what the static library needs.
build_log=$(cargo "${cargo_args[@]}" -- --print native-static-libs 2>&1) || { echo "$build_log" >&2; exit 1; }
native_libs=$(printf '%s\n' "$build_log" | sed -n 's/.*native-static-libs: //p' | tail -n1)
if [ -z "$native_libs" ]; then
  echo "install-c.sh: rustc did not report the native static libraries" >&2
  exit 1
fi

target_dir=${CARGO_TARGET_DIR:-target}
libdir_src="$target_dir/$profile"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
abi=$(sed -n 's/^pub const PITR_ABI_VERSION: u32 = \([0-9]*\);/\1/p' pitr-ffi/src/version.rs)

install -d "$prefix/include" "$prefix/lib/pkgconfig"
install -m 644 include/pitr.h "$prefix/include/pitr.h"
install -m 644 "$libdir_src/libpitr.a" "$prefix/lib/libpitr.a"
install -m 755 "$libdir_src/libpitr.so" "$prefix/lib/libpitr.so.$abi"
ln -sfn "libpitr.so.$abi" "$prefix/lib/libpitr.so"
sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$version|" -e "s|@NATIVE_STATIC_LIBS@|$native_libs|" \
  pitr-ffi/pitr.pc.in > "$prefix/lib/pkgconfig/pitr.pc"
echo "installed pitr $version (ABI $abi, $profile build) into $prefix"
