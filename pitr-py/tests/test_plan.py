"""pitr.plan, RecoveryPlan, pitr.restore and write_recovery_settings on the
test servers' pg_basebackup and archive; the plan of a restore is compared
with what PostgreSQL then does when it recovers it."""

from __future__ import annotations

import datetime
import json
import os
import time

import pytest

import pitr
from gilcheck import Ticker
from pgcluster import Cluster, _chown
from pitr import (
    InvalidRequestError,
    Lsn,
    ParseError,
    PitrIOError,
    PlanProblem,
    RecoveryPlan,
    RecoveryStop,
    Severity,
    StopKind,
    TargetAction,
    TimelineTarget,
    UnreachableTargetError,
)


def test_restored_server_does_what_the_plan_says(real):
    """pitr.restore to a commit on timeline 1, then a real server started on
    the restored directory: it stops where the plan says, logs the line the
    plan says, and fetches the files the plan lists, in that order."""
    archive = real.primary.archive_dir
    c = Cluster(_initdb=False)
    try:
        fetched = os.path.join(c.dir, "fetched")
        command = f"cp {archive}/%f %p && echo %f >> {fetched}"
        p = pitr.plan(real.backup, archive, target_xid=real.xid, timeline="current", restore_command=command)
        assert isinstance(p, RecoveryPlan) and p.reachable, p.to_dict()
        report = pitr.restore(
            real.backup, archive, c.data, target_xid=real.xid, timeline="current", restore_command=command
        )
        assert report["restored"] is True and report["plan"] == p.to_dict()
        assert os.path.exists(os.path.join(c.data, "recovery.signal"))
        with open(os.path.join(c.data, "postgresql.auto.conf")) as f:
            auto = f.read()
        assert f"recovery_target_xid = '{real.xid}'" in auto and "recovery_target_timeline = 'current'" in auto
        with open(os.path.join(c.data, "postgresql.auto.conf"), "a") as f:
            f.write("archive_mode = 'off'\n")
        _chown(c.dir)
        c.start()
        c.wait_until("SELECT pg_get_wal_replay_pause_state()", "paused")
        stop = p.stop
        assert isinstance(stop, RecoveryStop)
        assert stop.replay_lsn == Lsn(c.value("SELECT pg_last_wal_replay_lsn()"))
        with open(os.path.join(c.dir, "log")) as f:
            log = f.read()
        assert stop.log_message and f"LOG:  {stop.log_message}\n" in log, log
        with open(fetched) as f:
            got = f.read().split()
        last = -1
        for name in p.wal_files:
            assert name in got, (name, got)
            if len(name) == 24:
                assert got.index(name) > last, (name, got)
                last = got.index(name)
    finally:
        c.stop()


def test_plan_to_a_commit(real):
    p = pitr.plan(real.backup, real.primary.archive_dir, target_xid=real.xid, timeline=TimelineTarget.CURRENT)
    assert p.reachable and p.check() is p and p.errors == []
    assert p.target == f"XID {real.xid}" and p.timeline == 1 and p.pg_version == 15
    assert p.redo_lsn == Lsn(real.backup_start) and p.consistent_lsn == Lsn(real.backup_stop)
    assert p.checkpoint_lsn == pitr.BackupLabel.read(real.backup_label).checkpoint
    assert p.timeline_path == [(1, Lsn(real.backup_start), None)]
    assert p.new_timeline == 3 and p.signal == "recovery.signal"
    stop = p.stop
    assert stop is not None
    assert stop.kind == StopKind.AFTER and stop.kind.value == "after"
    assert stop.record == "COMMIT" and stop.xid == real.xid and stop.timeline == 1
    assert stop.record_lsn is not None and stop.record_end_lsn == stop.replay_lsn > stop.record_lsn
    # Times are aware datetimes, in UTC, matching the log line.
    t = stop.time
    assert isinstance(t, datetime.datetime) and t.utcoffset() == datetime.timedelta(0)
    assert p.last_transaction_time == t
    assert stop.log_message == (
        f"recovery stopping after commit of transaction {real.xid}, time "
        + t.strftime("%Y-%m-%d %H:%M:%S.%f").rstrip("0").rstrip(".")
        + "+00"
    )
    assert p.settings == {
        "recovery_target_action": "pause",
        "recovery_target_timeline": "current",
        "recovery_target_xid": str(real.xid),
        "restore_command": p.settings["restore_command"],
    }
    assert "archive get" in p.settings["restore_command"]
    assert p.wal_files == [f["name"] for f in p.files]
    assert all(f["kind"] == "segment" and os.path.exists(f["path"]) for f in p.files)
    assert all(isinstance(x, PlanProblem) and x.severity == Severity.WARNING for x in p.problems)
    d = p.to_dict()
    assert d["reachable"] is True and d["stop"] == stop.to_dict()
    assert d["stop"]["replay_lsn"] == str(stop.replay_lsn) and d["stop"]["kind"] == "after"
    assert "RecoveryPlan XID" in repr(p) and "reachable" in repr(p)


def test_unreachable_target(real, tmp_path):
    archive = real.primary.archive_dir
    p = pitr.plan(real.backup, archive, target_xid=4000000, timeline=1)
    assert not p.reachable and p.stop is None
    (err,) = [x for x in p.errors if x.code == "target_not_reached"]
    assert err.severity == Severity.ERROR and err in p.problems
    assert err.postgres_message == "recovery ended before configured recovery target was reached"
    assert err.to_dict()["code"] == "target_not_reached"
    with pytest.raises(UnreachableTargetError) as e:
        p.check()
    assert isinstance(e.value.plan, RecoveryPlan) and e.value.plan.to_dict() == p.to_dict()
    assert "target_not_reached" in str(e.value)
    # restore refuses and writes nothing, unless forced.
    pgdata = tmp_path / "pgdata"
    with pytest.raises(UnreachableTargetError) as e:
        pitr.restore(real.backup, archive, pgdata, target_xid="4000000", timeline="current")
    assert e.value.plan is not None and not e.value.plan.reachable
    assert not pgdata.exists()
    report = pitr.restore(real.backup, archive, pgdata, target_xid=4000000, timeline="current", force=True)
    assert report["restored"] is True and report["plan"]["reachable"] is False
    assert (pgdata / "PG_VERSION").exists()
    with pytest.raises(InvalidRequestError, match="not empty"):
        pitr.restore(real.backup, archive, pgdata, force=True)


def test_end_of_wal_across_a_missing_timeline(real):
    """Timeline 2 exists by its history file only: PostgreSQL would read
    timeline 1's segments instead; the plan says so with errors."""
    p = pitr.plan(real.backup, real.primary.archive_dir, action=TargetAction.PROMOTE)
    assert not p.reachable and p.target == "end of WAL" and p.timeline == 2
    assert p.stop is not None and p.stop.kind == StopKind.END_OF_WAL and p.stop.record is None
    (tl1, tl2) = p.timeline_path
    switch = pitr.TimelineHistory.read(real.history).switch_point(1)
    assert switch is not None
    assert tl1[0] == 1 and tl1[2] == switch.lsn and tl2 == (2, switch.lsn, None)
    assert p.wal_files[0] == "00000002.history" and p.files[0]["kind"] == "history"
    missing = [x for x in p.errors if x.code == "switch_segment_missing"]
    assert missing and all(x.file and x.file.startswith("00000002") and x.hint for x in missing)
    # No target: the action is not written.
    assert set(p.settings) == {"recovery_target_timeline", "restore_command"}


def test_other_targets(real):
    archive = real.primary.archive_dir
    xid_plan = pitr.plan(real.backup, archive, target_xid=str(real.xid), timeline="current")
    commit = xid_plan.stop
    assert commit is not None and commit.time is not None and commit.record_lsn is not None
    p = pitr.plan(real.backup, archive, target_name="pitr_fixture", timeline="1")
    assert p.stop is not None and p.stop.record == "RESTORE_POINT" and p.stop.kind == StopKind.AFTER
    assert p.stop.record_end_lsn == Lsn(real.restore_point) and p.stop.xid is None
    assert p.settings["recovery_target_name"] == "pitr_fixture"
    # A time as an aware datetime (any zone) and as text; exclusive: before the commit.
    berlin = datetime.timezone(datetime.timedelta(hours=1))
    for target_time in (commit.time.astimezone(berlin), commit.log_message and commit.log_message.split(", time ")[1]):
        p = pitr.plan(real.backup, archive, target_time=target_time, inclusive=False, timeline="current")
        assert p.reachable and p.stop is not None
        assert (p.stop.kind, p.stop.record, p.stop.xid) == (StopKind.BEFORE, "COMMIT", real.xid)
        assert p.settings["recovery_target_inclusive"] == "off"
    assert p.settings["recovery_target_time"] == pitr.format_target_time(commit.time)
    for lsn in (commit.record_lsn, str(commit.record_lsn), int(commit.record_lsn)):
        p = pitr.plan(real.backup, archive, target_lsn=lsn, inclusive=False, timeline="current", timezone="Asia/Tokyo")
        assert p.stop is not None and p.stop.kind == StopKind.BEFORE and p.stop.record_lsn == commit.record_lsn
    p = pitr.plan(real.backup, archive, target="immediate", timeline="current")
    assert p.reachable and p.stop is not None and p.stop.kind == StopKind.CONSISTENT
    assert p.stop.replay_lsn == p.consistent_lsn == Lsn(real.backup_stop)
    assert p.settings["recovery_target"] == "immediate"


def test_plan_argument_errors(real, tmp_path):
    b, a = real.backup, real.primary.archive_dir
    with pytest.raises(InvalidRequestError, match="at most one"):
        pitr.plan(b, a, target_xid=1000, target_name="x")
    with pytest.raises(InvalidRequestError, match="immediate"):
        pitr.plan(b, a, target="now")
    with pytest.raises(ParseError, match="special values"):
        pitr.plan(b, a, target_time="now")
    with pytest.raises(TypeError):
        pitr.plan(b, a, target_time=datetime.datetime(2026, 1, 1))  # naive: its zone would be a guess
    with pytest.raises(TypeError):
        pitr.plan(b, a, target_xid=1.5)  # type: ignore[arg-type]
    with pytest.raises(ParseError):
        pitr.plan(b, a, target_xid="abc")
    with pytest.raises(ParseError):
        pitr.plan(b, a, target_lsn="0/XYZ")
    with pytest.raises(ParseError):
        pitr.plan(b, a, timeline="Latest")
    with pytest.raises(ValueError):
        pitr.plan(b, a, timeline=0)
    with pytest.raises(TypeError):
        pitr.plan(b, a, timeline=1.0)  # type: ignore[arg-type]
    with pytest.raises(ParseError):
        pitr.plan(b, a, action="stop")
    with pytest.raises(TypeError):
        pitr.plan(b, a, action=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="time zone"):
        pitr.plan(b, a, timezone="Mars/Olympus_Mons")
    with pytest.raises(PitrIOError) as e:
        pitr.plan(str(tmp_path / "missing"), a)
    assert e.value.file == str(tmp_path / "missing")
    with pytest.raises(PitrIOError):
        pitr.plan(b, str(tmp_path / "missing"))
    with pytest.raises((InvalidRequestError, ParseError)):
        pitr.plan(str(tmp_path), a)


def test_plan_releases_the_gil(real):
    """Without and with a progress callback. The callback is a C function
    (dict.__setitem__, called as progress(done, total)): running it cannot
    hand the GIL to the ticker, so ticks inside the calls with it mean the
    scan itself ran without the GIL."""
    seen: dict = {}
    with Ticker() as ticker:
        durations = []
        during = {False: 0, True: 0}
        for i in range(10):
            with_progress = i % 2 == 1
            start = time.monotonic()
            pitr.plan(real.backup, real.primary.archive_dir, target_xid=real.xid, timeline="current",
                      progress=seen.__setitem__ if with_progress else None)
            end = time.monotonic()
            durations.append(end - start)
            during[with_progress] += ticker.inside(start, end)
    # Held for the whole call, the ticker would not run inside it at all.
    assert during[False] >= 5, f"{during[False]} ticks in {sum(durations):.3f} s: the GIL was held"
    assert during[True] >= 5, f"{during[True]} ticks with a progress callback: the GIL was held"
    assert seen and sorted(seen) == list(range(1, len(seen) + 1)), seen


def test_write_recovery_settings(real, tmp_path):
    (tmp_path / "postgresql.auto.conf").write_text("work_mem = '8MB'\nrecovery_target_name = 'old'\n")
    written = pitr.write_recovery_settings(
        tmp_path, {"recovery_target_lsn": "0/3000000", "restore_command": "cp '/a b/%f' %p"}, "standby.signal"
    )
    assert written == [str(tmp_path / "postgresql.auto.conf"), str(tmp_path / "standby.signal")]
    text = (tmp_path / "postgresql.auto.conf").read_text()
    assert "work_mem = '8MB'" in text and "recovery_target_name" not in text
    assert "recovery_target_lsn = '0/3000000'" in text and "restore_command = 'cp ''/a b/%f'' %p'" in text
    p = pitr.plan(real.backup, real.primary.archive_dir, target_xid=real.xid, timeline="current")
    assert p.write_settings(tmp_path) == [str(tmp_path / "postgresql.auto.conf"), str(tmp_path / "recovery.signal")]
    text = (tmp_path / "postgresql.auto.conf").read_text()
    assert f"recovery_target_xid = '{real.xid}'" in text and "recovery_target_lsn" not in text
    with pytest.raises(InvalidRequestError, match="other.signal"):
        pitr.write_recovery_settings(tmp_path, {}, "other.signal")
    with pytest.raises(ParseError):
        pitr.write_recovery_settings(tmp_path, {"recovery target": "x"})
    with pytest.raises(TypeError):
        pitr.write_recovery_settings(tmp_path, {"restore_command": 1})  # type: ignore[dict-item]
    with pytest.raises(PitrIOError):
        pitr.write_recovery_settings(tmp_path / "missing", {})
    (tmp_path / "postmaster.pid").write_text("12345\n")
    with pytest.raises(InvalidRequestError):
        pitr.write_recovery_settings(tmp_path, {})
    with pytest.raises(InvalidRequestError):
        p.write_settings(tmp_path)
    assert f"recovery_target_xid = '{real.xid}'" in (tmp_path / "postgresql.auto.conf").read_text()


EXAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "python", "plan_recovery.py")


def test_example_plans_a_recovery(real):
    """examples/python/plan_recovery.py on the real backup and archive."""
    import subprocess
    import sys

    def run(*args: str) -> "subprocess.CompletedProcess[str]":
        return subprocess.run([sys.executable, EXAMPLE, real.backup, real.primary.archive_dir, *args],
                              capture_output=True, text=True, timeout=120)

    p = pitr.plan(real.backup, real.primary.archive_dir, target_xid=real.xid, timeline="current")
    assert p.stop is not None
    done = run("--xid", str(real.xid), "--timeline", "current")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "reachable  yes"
    assert f"           pg_last_wal_replay_lsn() = {p.stop.replay_lsn}" in lines
    assert f"           LOG:  {p.stop.log_message}" in lines
    assert f"           recovery_target_xid = '{real.xid}'" in lines
    assert [f"           {name}" for name in p.wal_files] == [x for x in lines if x.startswith("           0000")]
    # --progress: the same plan, and a line on stderr per WAL file the scan enters.
    watched = run("--xid", str(real.xid), "--timeline", "current", "--progress")
    assert watched.returncode == 0 and watched.stdout == done.stdout, watched.stderr
    progress = watched.stderr.splitlines()
    assert progress and len(progress) == len(p.wal_files), (progress, p.wal_files)
    total = int(progress[0].split(" of ")[1].split()[0])
    assert progress == [f"reading WAL file {i} of {total} ({100 * i // total}%)" for i in range(1, len(progress) + 1)]
    done = run("--xid", "4000000", "--timeline", "current")
    assert done.returncode == 1 and "[target_not_reached]" in done.stdout
    done = run("--time", "now")
    assert done.returncode == 2 and "special values" in done.stderr
    done = run("--immediate", "--timeline", "current", "--json")
    assert done.returncode == 0 and json.loads(done.stdout)["stop"]["kind"] == "consistent"
