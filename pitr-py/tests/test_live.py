"""check, mark, the mark log, replay_status and replay_resume against real
PostgreSQL 15 servers (conftest.py: a primary that archives, a restore paused
at its recovery target)."""

from __future__ import annotations

import datetime
import json
import pickle
import subprocess
import sys
import time

import pytest

import pitr
from gilcheck import Ticker
from pitr import (
    ArchiveLag,
    ArchiverStats,
    CheckReport,
    InvalidRequestError,
    Lsn,
    Mark,
    MarkTarget,
    ParseError,
    PauseState,
    PgMajor,
    PitrConnectionError,
    PitrError,
    PitrIOError,
    Problem,
    ServerError,
    ServerInfo,
    Severity,
    WalSegSize,
)

UNREACHABLE = "host=/nonexistent/pitr-socket-dir port=1"


def test_check_healthy_primary_with_archive(real):
    r = pitr.check(real.primary.dsn, real.primary.archive_dir)
    assert isinstance(r, CheckReport) and r.healthy, [p.to_dict() for p in r.problems]
    s = r.server
    assert isinstance(s, ServerInfo) and s.major == PgMajor.V15 and not s.in_recovery
    assert s.wal_segment_size == WalSegSize("1MB") and s.timeline == 1
    assert s.system_id == int(real.primary.value("SELECT system_identifier FROM pg_control_system()"))
    assert r.settings["wal_level"] == "replica" and r.settings["archive_mode"] == "on"
    a = r.archiver
    assert isinstance(a, ArchiverStats) and a.archived_count > 0 and not a.failing
    assert isinstance(a.last_archived_time, datetime.datetime) and a.last_archived_time.tzinfo is not None
    assert a.last_archived_wal == real.primary.value("SELECT last_archived_wal FROM pg_stat_archiver")
    lag = r.lag
    assert isinstance(lag, ArchiveLag) and isinstance(lag.current_lsn, Lsn)
    assert r.archive is not None and r.archive["last_archived_present"] is True
    assert r.archive["dir"] == real.primary.archive_dir
    assert all(p.severity == Severity.INFO for p in r.problems)
    assert r.worst("wal_level") is None
    d = r.to_dict()
    assert d["healthy"] is True and d["server"]["major"] == 15 and json.dumps(d)
    assert repr(r).startswith("<CheckReport healthy=True")


def test_check_finds_problems(real):
    r = pitr.check(real.primary.dsn, "/nonexistent/archive")
    assert not r.healthy
    (p,) = [p for p in r.problems if p.code == "archive_unreadable"]
    assert isinstance(p, Problem) and p.severity == Severity.ERROR and p.check == "archive"
    assert r.worst("archive") == Severity.ERROR and Severity.INFO < Severity.WARNING < Severity.ERROR
    assert p.to_dict()["code"] == "archive_unreadable" and p.apply in ("none", "reload", "restart")
    r = pitr.check(real.primary.dsn, max_lag_segments=0)
    assert r.archive is None


def test_check_as_a_role_without_privileges(real):
    dsn = real.primary.dsn.replace("user=postgres", "user=pitr_plain")
    r = pitr.check(dsn)
    # pg_ls_archive_statusdir() needs superuser or pg_monitor.
    assert r.lag.ready_files is None
    assert any(p.code == "ready_files_unavailable" and p.severity == Severity.INFO for p in r.problems)


def test_check_a_paused_restore(paused):
    r = pitr.check(paused.dsn)
    assert r.server.in_recovery


def test_connection_errors():
    with pytest.raises(PitrConnectionError) as e:
        pitr.check(UNREACHABLE, connect_timeout=2)
    err = e.value
    assert isinstance(err, ServerError) and isinstance(err, PitrError) and isinstance(err, ConnectionError)
    assert err.endpoint == "host=/nonexistent/pitr-socket-dir port=1"
    assert "cannot connect to" in str(err)
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is PitrConnectionError and back.endpoint == err.endpoint and str(back) == str(err)
    with pytest.raises(PitrConnectionError, match="invalid connection string"):
        pitr.check("port=notaport")
    for call in (pitr.mark, pitr.replay_status, pitr.replay_resume):
        with pytest.raises(PitrConnectionError):
            call(UNREACHABLE)
    with pytest.raises(ValueError):
        pitr.check(UNREACHABLE, connect_timeout=-1)


def test_live_error_mapping():
    from pitr._pitr import _core_error_for_test

    with pytest.raises(ServerError) as e:
        _core_error_for_test("server", "permission denied", "host=h port=1")
    assert e.value.endpoint == "host=h port=1" and not isinstance(e.value, ConnectionError)
    with pytest.raises(ServerError, match="PostgreSQL 12"):
        _core_error_for_test("unsupported", "PostgreSQL 12 is not supported", "host=h port=1")
    with pytest.raises(PitrConnectionError):
        _core_error_for_test("connect", "refused", "host=h port=1")
    with pytest.raises(InvalidRequestError, match="in recovery"):
        _core_error_for_test("in_recovery", "no marks here", "host=h port=1")


def test_mark_and_the_mark_log(real, tmp_path):
    log = tmp_path / "marks.jsonl"
    before = Lsn(real.primary.value("SELECT pg_current_wal_insert_lsn()"))
    m = pitr.mark(real.primary.dsn, "before_change", switch=True, log=log)
    assert isinstance(m, Mark) and m.name == "before_change" and m.format == 1
    # lsn is the write position, insert_lsn the insert position (never behind it).
    assert m.insert_lsn is not None and m.insert_lsn >= before and m.insert_lsn >= m.lsn
    assert m.timeline == 1 and m.wal_segment_size == WalSegSize("1MB")
    assert m.wal_file == pitr.SegmentName.of_lsn(1, m.lsn, "1MB")
    assert m.restore_point_lsn is not None and m.restore_point_lsn > m.lsn
    assert m.switch_lsn is not None and m.switch_lsn >= m.restore_point_lsn
    assert isinstance(m.time, datetime.datetime) and m.time.tzinfo is not None
    assert abs(m.time - datetime.datetime.now(datetime.timezone.utc)) < datetime.timedelta(minutes=5)
    assert m.system_id == int(real.primary.value("SELECT system_identifier FROM pg_control_system()"))
    # The restore point exists in WAL: the server can name the segment of its record end.
    assert real.primary.value(f"SELECT pg_walfile_name('{m.restore_point_lsn}')") == str(
        pitr.SegmentName(1, m.restore_point_lsn.prev_segment("1MB"), "1MB")
    )
    # The log line is the mark.
    (line,) = log.read_text().splitlines()
    assert json.loads(line) == m.to_dict()
    (back,) = pitr.read_marks(log)
    assert back == m
    assert pitr.parse_marks(log.read_text()) == [m]

    # Anonymous, unlogged: an LSN target.
    m2 = pitr.mark(real.primary.dsn)
    assert m2.name is None and m2.restore_point_lsn is None and m2.switch_lsn is None
    t2 = m2.target()
    assert t2.kind == "lsn" and t2.lsn == m2.insert_lsn and t2.inclusive is False and t2.name is None
    # Named without a restore point.
    m3 = pitr.mark(real.primary.dsn, "no_rp", restore_point=False)
    assert m3.name == "no_rp" and m3.restore_point_lsn is None
    pitr.append_mark(log, m3)
    pitr.append_mark(str(log), m2)
    marks = pitr.read_marks(str(log))
    assert marks == [m, m3, m2]

    t = pitr.mark_target(marks, "before_change")
    assert isinstance(t, MarkTarget) and t.kind == "restore_point" and t.name == "before_change"
    assert t.end_lsn == m.restore_point_lsn and t.lsn is None and t.inclusive is None and t.timeline == 1
    assert t.recovery_settings() == [("recovery_target_name", "before_change"), ("recovery_target_timeline", "1")]
    assert t.time == m.time and t.system_id == m.system_id and t.why
    assert t.to_dict()["type"] == "restore_point"
    assert pitr.find_mark(marks, "no_rp") == m3 and pitr.find_mark(marks, "other") is None
    with pytest.raises(InvalidRequestError, match="named marks: before_change, no_rp"):
        pitr.mark_target(marks, "other")
    # The same restore point name twice: the LSN form (see docs/live.md).
    again = pitr.mark(real.primary.dsn, "before_change")
    t = pitr.mark_target(marks + [again], "before_change")
    assert t.kind == "lsn" and t.lsn == again.restore_point_lsn and t.inclusive is False
    lt = again.lsn_target()
    assert (lt.kind, lt.lsn, lt.inclusive, lt.timeline) == (t.kind, t.lsn, t.inclusive, t.timeline)
    assert "names 2 restore points in the mark log" in t.why


def test_mark_refusals(real, paused, tmp_path):
    with pytest.raises(InvalidRequestError, match="at most 63"):
        pitr.mark(real.primary.dsn, "n" * 64)
    with pytest.raises(InvalidRequestError, match="cannot be empty"):
        pitr.mark(real.primary.dsn, "")
    with pytest.raises(InvalidRequestError, match="in recovery"):
        pitr.mark(paused.dsn, "x")
    plain = real.primary.dsn.replace("user=postgres", "user=pitr_plain")
    with pytest.raises(ServerError, match="pg_create_restore_point") as e:
        pitr.mark(plain, "x")
    assert e.value.endpoint and "port=5432" in e.value.endpoint
    with pytest.raises(PitrIOError) as io:
        pitr.mark(real.primary.dsn, log=tmp_path / "missing" / "marks.jsonl")
    assert io.value.filename == str(tmp_path / "missing" / "marks.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('# marks\n{"format": 1}\n')
    with pytest.raises(ParseError) as pe:
        pitr.read_marks(bad)
    assert (pe.value.file, pe.value.line) == (str(bad), 2)
    with pytest.raises(PitrIOError):
        pitr.read_marks(tmp_path / "none.jsonl")


def test_replay_status_and_resume(real, paused):
    s = pitr.replay_status(real.primary.dsn)
    assert not s.in_recovery and s.pause_state is None and s.timeline == 1
    assert isinstance(s.server_time, datetime.datetime)
    p = pitr.replay_status(paused.dsn)
    assert p.in_recovery and p.pause_state == PauseState.PAUSED and p.pause_state.value == "paused"
    assert isinstance(p.replay_lsn, Lsn) and p.replay_lsn >= Lsn(real.backup_stop)
    assert p.to_dict()["pause_state"] == "paused"
    with pytest.raises(InvalidRequestError, match="not in recovery"):
        pitr.replay_resume(real.primary.dsn, timeout=0)

    r = pitr.replay_resume(paused.dsn, timeout=60)
    assert r.outcome == "promoted"
    assert r.before.in_recovery and r.before.pause_state == PauseState.PAUSED
    assert not r.after.in_recovery and r.timeline is not None and r.timeline >= 2 and r.replay_lsn is None
    assert r.waited_ms >= 0 and r.to_dict()["outcome"] == "promoted"
    assert paused.value("SELECT pg_is_in_recovery()") == "f"
    assert not pitr.replay_status(paused.dsn).in_recovery


FAKE_SERVER = """
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen()
print("ready", flush=True)
conn, _ = s.accept()
time.sleep(float(sys.argv[2]))
conn.close()
"""


def test_live_calls_release_the_gil(tmp_path):
    """Python threads run while a live call waits for the server: a fake
    server (another process) accepts the connection and answers nothing for
    half a second, then hangs up."""
    server = subprocess.Popen(
        [sys.executable, "-c", FAKE_SERVER, str(tmp_path / ".s.PGSQL.5999"), "0.5"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        with Ticker(interval=0.001) as ticker:
            start = time.monotonic()
            with pytest.raises(PitrConnectionError):
                pitr.check(f"host={tmp_path} port=5999 user=postgres", connect_timeout=10)
            end = time.monotonic()
        assert end - start >= 0.4
        during = ticker.between(start, end)
        assert during >= 50, f"{during} ticks in {end - start:.2f} s: the GIL was held"
    finally:
        server.kill()
        server.wait()
