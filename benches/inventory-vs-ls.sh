#!/usr/bin/env bash
# Times `pitr archive show --json` against `ls -f` on a flat directory of N
# empty files named like 16 MB WAL segments (N = $1, default 1000000) and
# prints the ratio. Best of 3 runs each, caches warm.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
cargo build --release --quiet --bin pitr
pitr=target/release/pitr
dir=$(mktemp -d "${TMPDIR:-/tmp}/pitr-inventory-vs-ls.XXXXXX")
trap 'rm -rf "$dir"' EXIT
echo "creating $n files in $dir ..."
awk -v n="$n" 'BEGIN { for (s = 1; s <= n; s++) printf "%08X%08X%08X\n", 1, int(s / 256), s % 256 }' |
  (cd "$dir" && xargs touch)

best() { # best wall time in seconds of 3 runs of "$@"
  local best=""
  for _ in 1 2 3; do
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null
    t1=$(date +%s.%N)
    best=$(echo "$t0 $t1 $best" | awk '{ d = $2 - $1; if ($3 == "" || d < $3) print d; else print $3 }')
  done
  echo "$best"
}

count=$(ls -f "$dir" | wc -l)
echo "ls -f lists $count entries"
t_ls=$(best ls -f "$dir")
t_pitr=$(best "$pitr" archive show --json --wal-segsize 16MB "$dir")
segments=$("$pitr" archive show --json --wal-segsize 16MB "$dir" | grep -m1 '"segments"' | tr -dc 0-9)
echo "pitr archive show: $segments segments"
awk -v a="$t_pitr" -v b="$t_ls" -v n="$n" 'BEGIN {
  printf "ls -f:             %.3f s\npitr archive show: %.3f s\nratio pitr / ls -f: %.2f (N = %d)\n", b, a, a / b, n }'
