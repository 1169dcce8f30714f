#!/usr/bin/env bash
# Times `pitr waldump -q` against `pg_waldump -q` (PostgreSQL 15) on the same
# ~1 GB of pgbench WAL, and against a raw CRC-32C pass over the same bytes
# (`pitr waldump --raw-crc`, a hidden benchmark mode). Measures peak RSS.
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

# Runs a command RUNS times (after one warm-up that also fills the page cache);
# prints "best_seconds max_rss_kb".
measure() {
    local best="" rss=0 out t m
    "$@" >/dev/null 2>&1 || true
    for _ in $(seq 1 "$RUNS"); do
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
        if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then best=$t; fi
        [ "$m" -gt "$rss" ] && rss=$m
    done
    echo "$best $rss"
}

echo "== checking that both tools read the same records"
n_pg=$("$PGBIN/pg_waldump" -p "$WORK/wal" "$FIRST" "$LAST" 2>/dev/null | wc -l)
n_pitr=$("$PITR" waldump "$WORK/wal" 2>/dev/null | wc -l)
echo "   pg_waldump: $n_pg records, pitr: $n_pitr records"
[ "$n_pg" = "$n_pitr" ] || { echo "record counts differ" >&2; exit 1; }
"$PITR" waldump -q "$WORK/wal" || { echo "pitr waldump -q failed" >&2; exit 1; }

echo "== timing (best of $RUNS, one core)"
read -r t_pg m_pg < <(measure "$PGBIN/pg_waldump" -q -p "$WORK/wal" "$FIRST" "$LAST")
read -r t_pitr m_pitr < <(measure "$PITR" waldump -q "$WORK/wal")
read -r t_raw m_raw < <(measure "$PITR" waldump --raw-crc "$WORK/wal")
read -r t_stats m_stats < <(measure "$PITR" waldump --stats=record "$WORK/wal")

mbps() { echo "scale=0; $TOTAL / 1048576 / $1" | bc; }
printf "%-28s %8s s %8s MB/s %8s MB RSS\n" "pg_waldump -q" "$t_pg" "$(mbps "$t_pg")" "$((m_pg / 1024))"
printf "%-28s %8s s %8s MB/s %8s MB RSS\n" "pitr waldump -q" "$t_pitr" "$(mbps "$t_pitr")" "$((m_pitr / 1024))"
printf "%-28s %8s s %8s MB/s %8s MB RSS\n" "pitr waldump --stats=record" "$t_stats" "$(mbps "$t_stats")" "$((m_stats / 1024))"
printf "%-28s %8s s %8s MB/s %8s MB RSS\n" "raw CRC-32C pass" "$t_raw" "$(mbps "$t_raw")" "$((m_raw / 1024))"
echo
echo "speed-up over pg_waldump -q:        $(echo "scale=2; $t_pg / $t_pitr" | bc)x   (goal >= 5x)"
echo "time relative to raw CRC-32C pass:  $(echo "scale=2; $t_pitr / $t_raw" | bc)x   (goal <= 2x)"
echo "peak RSS of pitr waldump -q:        $((m_pitr / 1024)) MB   (goal <= 64 MB)"
