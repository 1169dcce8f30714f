# Real PostgreSQL 15 data for the C tests, sourced by scripts/test-c.sh.
#
#   pg_fixtures_setup      a throwaway cluster with a WAL archive (and a copy
#                          of it as it is once set up, which does not grow), a
#                          plain base backup (pg_basebackup), a restore of it promoted to
#                          timeline 2 (its history file, its pg_control and
#                          pg_controldata's output), what the server says
#                          about its configuration (pg_settings), and a
#                          restore of the backup paused after a commit (where
#                          the server stopped, what it logged, the WAL files
#                          it fetched: what recovery plans are compared
#                          with); exports PITR_TEST_*
#   pg_fixtures_paused     (re)starts a restore of the base backup paused at
#                          its recovery target; exports PITR_TEST_PAUSED_DSN
#   pg_fixtures_teardown   stops every server and removes the directory
#
# Servers listen on a Unix socket in the fixture directory only. As root, they
# run as the `postgres` system user. PITR_PG15_BIN overrides where the
# PostgreSQL 15 binaries are (default: Debian's /usr/lib/postgresql/15/bin).

PG15_BIN=${PITR_PG15_BIN:-/usr/lib/postgresql/15/bin}
pg_fx_dir=
pg_fx_as=()

pg_fx_run() { "${pg_fx_as[@]}" "$PG15_BIN/$1" "${@:2}"; }
pg_fx_psql() { # pg_fx_psql PORT SQL
  pg_fx_run psql -h "$pg_fx_dir" -p "$1" -U postgres -d postgres -XAtq -v ON_ERROR_STOP=1 -c "$2"
}
pg_fx_wait() { # pg_fx_wait WHAT SECONDS COMMAND...: until COMMAND succeeds
  local what=$1 tries=$(($2 * 10)); shift 2
  until "$@" >/dev/null 2>&1; do
    tries=$((tries - 1))
    if [ "$tries" -le 0 ]; then echo "pg-fixtures: timed out waiting for $what" >&2; return 1; fi
    sleep 0.1
  done
}
pg_fx_start() { # pg_fx_start DATADIR PORT
  pg_fx_run pg_ctl -D "$1" -l "$1.log" -w -t 60 \
    -o "-c listen_addresses='' -c unix_socket_directories='$pg_fx_dir' -p $2" start >/dev/null \
    || { cat "$1.log" >&2; return 1; }
}
pg_fx_stop() { # pg_fx_stop DATADIR
  [ -f "$1/postmaster.pid" ] && pg_fx_run pg_ctl -D "$1" -m immediate -w stop >/dev/null 2>&1 || true
}

# A fresh copy of the base backup in NAME, with the recovery settings read
# from standard input and recovery.signal, started on PORT.
pg_fx_recover() { # pg_fx_recover NAME PORT < settings
  local d="$pg_fx_dir/$1"
  pg_fx_stop "$d"
  rm -rf "$d"
  cp -a "$pg_fx_dir/backup" "$d"
  cat >> "$d/postgresql.auto.conf"
  touch "$d/recovery.signal"
  [ ${#pg_fx_as[@]} -eq 0 ] || chown -R postgres: "$d"
  pg_fx_start "$d" "$2"
}

# A copy of the base backup set up to recover from the archive to the end of
# the backup (recovery_target = 'immediate') and then ACTION, archiving into
# the archive when ARCHIVE_MODE is on.
pg_fx_restore() { # pg_fx_restore NAME PORT ACTION ARCHIVE_MODE
  pg_fx_recover "$1" "$2" <<EOF
restore_command = 'cp $pg_fx_dir/archive/%f %p'
recovery_target = 'immediate'
recovery_target_action = '$3'
archive_mode = '$4'
EOF
}

pg_fixtures_setup() {
  if [ ! -x "$PG15_BIN/initdb" ]; then
    echo "pg-fixtures: PostgreSQL 15 not found in $PG15_BIN (run .ci/install-pg)" >&2
    return 1
  fi
  pg_fx_dir=$(mktemp -d /tmp/pitr-c-tests.XXXXXX)
  if [ "$(id -u)" = 0 ]; then
    pg_fx_as=(runuser -u postgres --)
    chown postgres: "$pg_fx_dir"
  fi
  local p="$pg_fx_dir/primary"
  mkdir "$pg_fx_dir/archive" "$pg_fx_dir/scratch"
  chmod 1777 "$pg_fx_dir/scratch"
  [ ${#pg_fx_as[@]} -eq 0 ] || chown postgres: "$pg_fx_dir/archive"
  pg_fx_run initdb -D "$p" -U postgres --auth=trust --no-sync --wal-segsize=1 >/dev/null
  cat >> "$p/postgresql.conf" <<EOF
# pitr C tests
wal_level = replica
archive_mode = on
archive_command = 'test ! -f $pg_fx_dir/archive/%f && cp %p $pg_fx_dir/archive/%f'
archive_timeout = 60
fsync = off
TimeZone = 'UTC'
log_timezone = 'UTC'
EOF
  pg_fx_start "$p" 5432
  pg_fx_psql 5432 "ALTER SYSTEM SET work_mem = '8MB'" >/dev/null
  pg_fx_psql 5432 "ALTER SYSTEM SET application_name = 'it''s pitr'" >/dev/null
  pg_fx_psql 5432 "SELECT pg_reload_conf()" >/dev/null
  pg_fx_psql 5432 "CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g" >/dev/null
  pg_fx_psql 5432 "CREATE ROLE pitr_plain LOGIN" >/dev/null

  # A plain base backup; pg_basebackup reports its start and end points.
  local log
  log=$(pg_fx_run pg_basebackup -h "$pg_fx_dir" -p 5432 -U postgres -D "$pg_fx_dir/backup" -Fp \
    -X stream -c fast -l "pitr C tests" -v 2>&1) || { echo "$log" >&2; return 1; }
  PITR_TEST_BACKUP_START=$(printf '%s\n' "$log" | sed -n 's/.*write-ahead log start point: \([0-9A-F/]*\) .*/\1/p')
  PITR_TEST_BACKUP_STOP=$(printf '%s\n' "$log" | sed -n 's/.*write-ahead log end point: \([0-9A-F/]*\).*/\1/p')
  [ -n "$PITR_TEST_BACKUP_START" ] && [ -n "$PITR_TEST_BACKUP_STOP" ] \
    || { echo "pg-fixtures: no start/end point in pg_basebackup's output:" >&2; echo "$log" >&2; return 1; }
  cp "$pg_fx_dir/backup/backup_label" "$pg_fx_dir/backup_label"
  # A copy of it with one file changed after the backup.
  cp -a "$pg_fx_dir/backup" "$pg_fx_dir/backup-tampered"
  echo "# changed after the backup" >> "$pg_fx_dir/backup-tampered/postgresql.conf"
  # The backup history file is archived once the backup has ended.
  pg_fx_psql 5432 "SELECT pg_switch_wal()" >/dev/null
  pg_fx_wait "the backup history file to be archived" 60 \
    sh -c "ls '$pg_fx_dir'/archive/*.backup"
  PITR_TEST_BACKUP_HISTORY=$(ls "$pg_fx_dir"/archive/*.backup | head -n1)

  # A commit and a restore point in one archived segment, and what pg_waldump
  # says about that segment.
  PITR_TEST_XID=$(pg_fx_psql 5432 "BEGIN; INSERT INTO t SELECT g FROM generate_series(1, 200) g; SELECT pg_current_xact_id(); COMMIT")
  PITR_TEST_RESTORE_POINT=$(pg_fx_psql 5432 "SELECT pg_create_restore_point('pitr_fixture')")
  PITR_TEST_WAL_SEGMENT="$pg_fx_dir/archive/$(pg_fx_psql 5432 "SELECT pg_walfile_name('$PITR_TEST_RESTORE_POINT')")"
  pg_fx_psql 5432 "SELECT pg_switch_wal()" >/dev/null
  pg_fx_wait "the restore point's segment to be archived" 60 test -f "$PITR_TEST_WAL_SEGMENT"
  # pg_waldump stops with an error at the end of the file; its output is what counts.
  LC_ALL=C TZ=UTC pg_fx_run pg_waldump "$PITR_TEST_WAL_SEGMENT" > "$pg_fx_dir/waldump.txt" 2>/dev/null || true
  LC_ALL=C TZ=UTC pg_fx_run pg_waldump --stats "$PITR_TEST_WAL_SEGMENT" > "$pg_fx_dir/waldump_stats.txt" 2>/dev/null || true

  # What the server says about its configuration: name, file, line.
  pg_fx_psql 5432 "SELECT name || '|' || sourcefile || '|' || sourceline FROM pg_settings
                   WHERE sourcefile IS NOT NULL ORDER BY name" > "$pg_fx_dir/pg_settings.txt"

  # A restore promoted at the end of the backup: timeline 2 and its history file.
  pg_fx_restore promoted 5433 promote on
  pg_fx_wait "the restore to be promoted" 60 \
    sh -c "[ \"\$(${pg_fx_as[*]} $PG15_BIN/psql -h '$pg_fx_dir' -p 5433 -U postgres -d postgres -XAtc \
      'SELECT pg_is_in_recovery()')\" = f ]"
  PITR_TEST_HISTORY="$pg_fx_dir/promoted/pg_wal/00000002.history"
  [ -f "$PITR_TEST_HISTORY" ] || { echo "pg-fixtures: no $PITR_TEST_HISTORY" >&2; return 1; }
  # The archiver copies the history file: let it finish before the immediate
  # stop (which would kill a half-done copy).
  pg_fx_wait "the history file of timeline 2 to be archived" 60 \
    cmp -s "$PITR_TEST_HISTORY" "$pg_fx_dir/archive/00000002.history"
  pg_fx_stop "$pg_fx_dir/promoted"
  # Its pg_control, and what pg_controldata says about it.
  cp "$pg_fx_dir/promoted/global/pg_control" "$pg_fx_dir/pg_control"
  LC_ALL=C TZ=UTC pg_fx_run pg_controldata -D "$pg_fx_dir/promoted" > "$pg_fx_dir/pg_controldata.txt"

  # A restore paused after the commit of PITR_TEST_XID, on timeline 1 (the
  # commit is after the point timeline 2 forked off): where the server
  # stopped, the line it logged, and the files restore_command fetched.
  local x="$pg_fx_dir/at_xid"
  pg_fx_recover at_xid 5435 <<EOF
restore_command = 'cp $pg_fx_dir/archive/%f %p && echo %f >> $pg_fx_dir/at_xid.fetched'
recovery_target_xid = '$PITR_TEST_XID'
recovery_target_timeline = 'current'
recovery_target_action = 'pause'
archive_mode = 'off'
EOF
  pg_fx_wait "the restore to pause after transaction $PITR_TEST_XID" 60 \
    sh -c "[ \"\$(${pg_fx_as[*]} $PG15_BIN/psql -h '$pg_fx_dir' -p 5435 -U postgres -d postgres -XAtc \
      'SELECT pg_get_wal_replay_pause_state()')\" = paused ]"
  PITR_TEST_XID_REPLAY_LSN=$(pg_fx_psql 5435 "SELECT pg_last_wal_replay_lsn()")
  PITR_TEST_XID_STOP_LOG=$(sed -n 's/.*LOG:  \(recovery stopping .*\)$/\1/p' "$x.log")
  [ -n "$PITR_TEST_XID_STOP_LOG" ] \
    || { echo "pg-fixtures: no 'recovery stopping' line in $x.log:" >&2; cat "$x.log" >&2; return 1; }
  pg_fx_stop "$x"

  # Wait until everything the primary completed is archived (for pitr_check).
  pg_fx_psql 5432 "SELECT pg_switch_wal()" >/dev/null
  pg_fx_wait "the primary's archive to catch up" 60 \
    sh -c "! ls '$p'/pg_wal/archive_status/*.ready"
  # The archive as it is now. The primary keeps archiving while the tests run
  # (their marks switch WAL; archive_timeout): results compared across calls
  # read this copy, which does not change.
  cp -a "$pg_fx_dir/archive" "$pg_fx_dir/archive-still"

  export PITR_TEST_DSN="host=$pg_fx_dir port=5432 user=postgres dbname=postgres"
  export PITR_TEST_PLAIN_DSN="host=$pg_fx_dir port=5432 user=pitr_plain dbname=postgres"
  export PITR_TEST_PGDATA="$p"
  export PITR_TEST_ARCHIVE="$pg_fx_dir/archive"
  export PITR_TEST_ARCHIVE_STILL="$pg_fx_dir/archive-still"
  export PITR_TEST_BACKUP_LABEL="$pg_fx_dir/backup_label"
  export PITR_TEST_BACKUP="$pg_fx_dir/backup"
  export PITR_TEST_BACKUP_TAMPERED="$pg_fx_dir/backup-tampered"
  export PITR_TEST_BACKUP_HISTORY PITR_TEST_BACKUP_START PITR_TEST_BACKUP_STOP PITR_TEST_HISTORY
  export PITR_TEST_PG_SETTINGS="$pg_fx_dir/pg_settings.txt"
  export PITR_TEST_TMP="$pg_fx_dir/scratch"
  export PITR_TEST_CONTROL="$pg_fx_dir/pg_control"
  export PITR_TEST_XID PITR_TEST_RESTORE_POINT PITR_TEST_WAL_SEGMENT
  export PITR_TEST_XID_REPLAY_LSN PITR_TEST_XID_STOP_LOG PITR_TEST_XID_FETCHED="$pg_fx_dir/at_xid.fetched"
  export PITR_TEST_WALDUMP="$pg_fx_dir/waldump.txt"
  export PITR_TEST_WALDUMP_STATS="$pg_fx_dir/waldump_stats.txt"
  export PITR_TEST_CONTROLDATA="$pg_fx_dir/pg_controldata.txt"
}

pg_fixtures_paused() {
  # Not archiving: the tests promote it, and the archive must stay as it is.
  pg_fx_restore paused 5434 pause off
  pg_fx_wait "the restore to pause at its target" 60 \
    sh -c "[ \"\$(${pg_fx_as[*]} $PG15_BIN/psql -h '$pg_fx_dir' -p 5434 -U postgres -d postgres -XAtc \
      'SELECT pg_get_wal_replay_pause_state()')\" = paused ]"
  PITR_TEST_PAUSED_REPLAY_LSN=$(pg_fx_psql 5434 "SELECT pg_last_wal_replay_lsn()")
  export PITR_TEST_PAUSED_REPLAY_LSN
  export PITR_TEST_PAUSED_DSN="host=$pg_fx_dir port=5434 user=postgres dbname=postgres"
}

pg_fixtures_teardown() {
  [ -n "$pg_fx_dir" ] || return 0
  local d
  for d in paused at_xid promoted primary; do pg_fx_stop "$pg_fx_dir/$d"; done
  rm -rf "$pg_fx_dir"
  pg_fx_dir=
}
