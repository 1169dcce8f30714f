#!/usr/bin/env bash
# Times `pitr waldump -q` against `pg_waldump -q` (PostgreSQL 15) on the same
# ~1 GB of pgbench WAL, and against a raw CRC-32C pass over the same bytes
# (`pitr waldump --raw-crc`, a hidden benchmark mode that reads the files with
# the reader's own I/O method). Measures peak RSS.
#
# pitr reads segments with read(2) into a reused 1 MiB buffer by default; the
# rows marked "(map)" use `--read-method map` (memory-mapped 4 MiB windows),
# for both pitr and the raw pass, so each ratio compares like with like. Peak
# RSS is the kernel's maximum resident set (/usr/bin/time %M): with mapping it
# includes the file-cache pages of the mapped window (at most 4 MiB).
#
# Last, the memory floor (`pitr waldump --memory-floor`, hidden): the same
# bytes are loaded into memory first, then a plain read pass and a CRC-32C
# pass over that memory are timed (no file I/O, no page faults). No reader
# that looks at every byte (a CRC check must) can be faster than the read pass
# on this core; the script compares it with the time the 5x goal allows.
#
# Each round runs every program once, in turn (so load from other processes
# spreads over all of them); the table shows the median of RUNS rounds, after
# one warm-up run of each that also fills the page cache.
#
# Usage: benches/waldump-vs-pg.sh            (WAL_MB=1024 by default)
#        WAL_MB=256 RUNS=5 benches/waldump-vs-pg.sh
#        KEEP=1 ... keeps the work directory (its path is printed).
#        WAL_DIR=<dir> ... times the segments already in <dir> (e.g. a kept
#        work directory's wal/) instead of generating new WAL.
#
# Needs PostgreSQL 15 binaries (PGBIN, default /usr/lib/postgresql/15/bin) with
# initdb, pg_ctl, pgbench, psql and pg_waldump. When run as root, the throwaway
# cluster runs as the `postgres` user. Every process is pinned to one core with
# taskset when available.
set -euo pipefail

WAL_MB=${WAL_MB:-1024}
RUNS=${RUNS:-3}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PORT=${PORT:-$((20000 + RANDOM % 20000))}

for t in initdb pg_ctl pgbench psql pg_waldump; do
    [ -x "$PGBIN/$t" ] || { echo "missing $PGBIN/$t" >&2; exit 2; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/pitr-bench.XXXXXX")
as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
cleanup() {
    as_pg "$PGBIN/pg_ctl" -D "$WORK/data" -m immediate stop >/dev/null 2>&1 || true
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
[ "$(id -u)" = 0 ] && chown postgres "$WORK"

echo "== building pitr (release)"
(cd "$ROOT" && cargo build --release --quiet --bin pitr)
PITR=$ROOT/target/release/pitr

if [ -n "${WAL_DIR:-}" ]; then
    rmdir "$WORK" 2>/dev/null || true
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/pitr-bench.XXXXXX")
    ln -s "$(cd "$WAL_DIR" && pwd)" "$WORK/wal"
else
echo "== generating ${WAL_MB} MB of pgbench WAL with PostgreSQL 15 (16 MB segments)"
as_pg mkdir -p "$WORK/wal"
as_pg "$PGBIN/initdb" -D "$WORK/data" -U postgres -A trust >/dev/null
cat >>"$WORK/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$WORK'
archive_mode = on
archive_command = 'cp %p $WORK/wal/%f'
max_wal_size = 4GB
checkpoint_timeout = 30s
full_page_writes = on
# The cluster is thrown away: no need to wait for the disk.
fsync = off
synchronous_commit = off
CONF
as_pg "$PGBIN/pg_ctl" -D "$WORK/data" -l "$WORK/server.log" -w start >/dev/null
PSQL=("$PGBIN/psql" -XAtq -h 127.0.0.1 -p "$PORT" -U postgres -d postgres)
start_lsn=$("${PSQL[@]}" -c "SELECT pg_current_wal_lsn()")
"$PGBIN/pgbench" -h 127.0.0.1 -p "$PORT" -U postgres -i -q -s 10 postgres >/dev/null 2>&1
while :; do
    bytes=$("${PSQL[@]}" -c "SELECT pg_current_wal_lsn() - '$start_lsn'::pg_lsn")
    [ "${bytes%.*}" -ge $((WAL_MB * 1024 * 1024)) ] && break
    "$PGBIN/pgbench" -h 127.0.0.1 -p "$PORT" -U postgres -n -c 4 -j 2 -T 5 postgres >/dev/null 2>&1
done
"${PSQL[@]}" -c "SELECT pg_switch_wal()" >/dev/null
# Wait for the archiver.
for _ in $(seq 1 600); do
    ready=$(ls "$WORK/data/pg_wal/archive_status" | grep -c '\.ready$' || true)
    [ "$ready" = 0 ] && break
    sleep 0.2
done
as_pg "$PGBIN/pg_ctl" -D "$WORK/data" -w stop >/dev/null
fi

mapfile -t SEGS < <(ls "$WORK/wal" | grep -E '^[0-9A-F]{24}$' | sort)
FIRST=${SEGS[0]}
LAST=${SEGS[${#SEGS[@]}-1]}
TOTAL=$(du -cbL "$WORK"/wal/* | tail -1 | cut -f1)
echo "   ${#SEGS[@]} segments, $((TOTAL / 1024 / 1024)) MB ($FIRST .. $LAST)"

PIN=()
command -v taskset >/dev/null && PIN=(taskset -c 0)
TIME=()
[ -x /usr/bin/time ] && /usr/bin/time -f "%e %M" -o /dev/null true 2>/dev/null && TIME=(/usr/bin/time -f "%e %M" -o "$WORK/time.out")

# Runs one command once; prints "seconds max_rss_kb".
run_once() {
    local t m out
    if [ ${#TIME[@]} -gt 0 ]; then
        "${TIME[@]}" "${PIN[@]}" "$@" >/dev/null 2>&1 || true
        out=$(tail -1 "$WORK/time.out")
        t=${out% *}; m=${out#* }
    else
        local s e pid peak=0 cur
        s=$(date +%s.%N)
        "${PIN[@]}" "$@" >/dev/null 2>&1 & pid=$!
        while kill -0 "$pid" 2>/dev/null; do
            cur=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
            [ "${cur:-0}" -gt "$peak" ] && peak=$cur
            sleep 0.01
        done
        wait "$pid" || true
        e=$(date +%s.%N)
        t=$(echo "$e - $s" | bc); m=$peak
    fi
    echo "$t $m"
}

median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }

echo "== checking that both tools read the same records"
n_pg=$("$PGBIN/pg_waldump" -p "$WORK/wal" "$FIRST" "$LAST" 2>/dev/null | wc -l)
n_pitr=$("$PITR" waldump "$WORK/wal" 2>/dev/null | wc -l)
echo "   pg_waldump: $n_pg records, pitr: $n_pitr records"
[ "$n_pg" = "$n_pitr" ] || { echo "record counts differ" >&2; exit 1; }
"$PITR" waldump -q "$WORK/wal" || { echo "pitr waldump -q failed" >&2; exit 1; }
"$PITR" waldump -q --read-method map "$WORK/wal" || { echo "pitr waldump -q (map) failed" >&2; exit 1; }

NAMES=(pg pitr pitr_map stats raw raw_map)
LABELS=("pg_waldump -q" "pitr waldump -q" "pitr waldump -q (map)" "pitr waldump --stats=record" "raw CRC-32C pass" "raw CRC-32C pass (map)")
cmd_of() {
    case $1 in
        pg) echo "$PGBIN/pg_waldump -q -p $WORK/wal $FIRST $LAST" ;;
        pitr) echo "$PITR waldump -q $WORK/wal" ;;
        pitr_map) echo "$PITR waldump -q --read-method map $WORK/wal" ;;
        stats) echo "$PITR waldump --stats=record $WORK/wal" ;;
        raw) echo "$PITR waldump --raw-crc $WORK/wal" ;;
        raw_map) echo "$PITR waldump --raw-crc --read-method map $WORK/wal" ;;
    esac
}
declare -A TIMES RSS
for n in "${NAMES[@]}"; do
    # shellcheck disable=SC2046
    $(cmd_of "$n") >/dev/null 2>&1 || true   # warm-up
    TIMES[$n]=""; RSS[$n]=0
done
echo "== timing ($RUNS rounds, programs alternated, one core)"
for _ in $(seq 1 "$RUNS"); do
    for n in "${NAMES[@]}"; do
        # shellcheck disable=SC2046
        read -r t m < <(run_once $(cmd_of "$n"))
        TIMES[$n]="${TIMES[$n]} $t"
        [ "$m" -gt "${RSS[$n]}" ] && RSS[$n]=$m
    done
done
declare -A MED
for n in "${NAMES[@]}"; do
    MED[$n]=$(echo "${TIMES[$n]}" | median)
done
t_pg=${MED[pg]}; t_pitr=${MED[pitr]}; t_raw=${MED[raw]}
t_pitr_map=${MED[pitr_map]}; t_raw_map=${MED[raw_map]}
m_pitr=${RSS[pitr]}

mbps() { echo "scale=0; $TOTAL / 1048576 / $1" | bc; }
printf "%-30s %10s %13s %14s   %s\n" "program" "median" "throughput" "peak RSS" "each run (s)"
for i in "${!NAMES[@]}"; do
    n=${NAMES[$i]}
    printf "%-30s %8s s %8s MB/s %11s MB  %s\n" "${LABELS[$i]}" "${MED[$n]}" "$(mbps "${MED[$n]}")" "$((RSS[$n] / 1024))" "${TIMES[$n]}"
done
echo
echo "speed-up over pg_waldump -q:        $(echo "scale=2; $t_pg / $t_pitr" | bc)x   (goal >= 5x; map: $(echo "scale=2; $t_pg / $t_pitr_map" | bc)x; raw pass: $(echo "scale=2; $t_pg / $t_raw" | bc)x)"
echo "time relative to raw CRC-32C pass:  $(echo "scale=2; $t_pitr / $t_raw" | bc)x   (goal <= 2x; map: $(echo "scale=2; $t_pitr_map / $t_raw_map" | bc)x)"
echo "peak RSS of pitr waldump -q:        $((m_pitr / 1024)) MB   (goal <= 64 MB)"

echo
echo "== memory floor (the bytes already in memory, median of 5 passes, one core)"
floor=$("${PIN[@]}" "$PITR" waldump --memory-floor "$WORK/wal")
echo "   $floor"
t_read=$(echo "$floor" | sed -E 's/.*read pass ([0-9.]+) s.*/\1/')
t_goal=$(printf "%.3f" "$(echo "scale=4; $t_pg / 5" | bc)")
echo "5x over pg_waldump -q allows:       ${t_goal} s; one read of the bytes from memory takes ${t_read} s"
if [ "$(echo "$t_read > $t_goal" | bc)" = 1 ]; then
    echo "   -> on this machine the 5x goal is below the memory floor: no reader of every byte can reach it"
fi
