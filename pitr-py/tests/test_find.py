"""pitr.find on the test servers' archive and base backup: the transaction
the fixtures committed, its targets checked against the planner (and, through
the planner's tests, against a real recovery)."""

from __future__ import annotations

import datetime
import time

import pytest

import pitr
from gilcheck import Ticker
from pitr import FindReport, FoundTransaction, InvalidRequestError, Lsn, PitrIOError


def test_find_the_commit_and_its_targets(real):
    archive = real.primary.archive_dir
    r = pitr.find(archive, backup=real.backup, xid=real.xid, timeline="current")
    assert isinstance(r, FindReport) and r.found and r.pg_version == 15 and r.timeline == 1
    assert r.consistent_lsn == Lsn(real.backup_stop) and r.more == 0
    (t,) = r.transactions
    assert isinstance(t, FoundTransaction)
    assert (t.kind, t.xid, t.subxact, t.timeline) == ("commit", real.xid, False, 1)
    assert t.end_lsn > t.lsn and t.dropped_relations == []
    assert isinstance(t.time, datetime.datetime) and t.time.utcoffset() == datetime.timedelta(0)
    # The targets find gives are the ones the planner (proven against real
    # recoveries in test_plan.py) stops at.
    p = pitr.plan(real.backup, archive, target_xid=real.xid, timeline="current")
    assert p.stop is not None
    assert t.after["replay_lsn"] == str(p.stop.replay_lsn) and t.time == p.stop.time
    assert t.settings(after=True) == {"recovery_target_xid": str(real.xid), "recovery_target_timeline": "1"}
    assert t.settings() == {
        "recovery_target_xid": str(real.xid),
        "recovery_target_inclusive": "off",
        "recovery_target_timeline": "1",
    }
    before = pitr.plan(real.backup, archive, target_xid=real.xid, inclusive=False, timeline="current")
    assert before.stop is not None and t.before["replay_lsn"] == str(before.stop.replay_lsn)
    assert t.before["reachable_from_backup"] is True
    assert r.to_dict()["transactions"][0] == t.to_dict()
    assert str(real.xid) in repr(t)


def test_find_windows_paths_and_filters(real):
    archive = real.primary.archive_dir
    everything = pitr.find(archive, timeline="current", limit=None)
    assert everything.found and any(t.xid == real.xid for t in everything.transactions)
    commit = next(t for t in everything.transactions if t.xid == real.xid)
    # A window by LSN, by text time, by aware datetime (any zone).
    for start, end in [
        (commit.lsn, commit.lsn),
        (str(commit.lsn), str(commit.end_lsn)),
        (commit.time, commit.time),
        (commit.time.astimezone(datetime.timezone(datetime.timedelta(hours=-5))), None),
    ]:
        r = pitr.find(archive, start=start, end=end, timeline=1)
        assert commit in r.transactions, (start, end, r.to_dict())
        assert all(t.lsn >= commit.lsn for t in r.transactions)
    assert pitr.find(archive, kinds="aborts", timeline="current").transactions == [
        t for t in everything.transactions if t.kind.startswith("abort")
    ]
    one = pitr.find(archive, timeline="current", limit=1)
    assert len(one.transactions) == 1 and one.more == len(everything.transactions) - 1
    # Plain WAL files, read in order.
    r = pitr.find(paths=[real.wal_segment], xid=real.xid)
    assert [t.xid for t in r.transactions] == [real.xid] and r.timeline is None
    # Nothing found is not an error.
    r = pitr.find(archive, xid=4000000, timeline="current")
    assert not r.found and r.transactions == []
    # A table, resolved through the backup's catalog.
    r = pitr.find(archive, backup=real.backup, table="t", timeline="current")
    assert r.to_dict()["table"]["source"] == "backup" and r.relfilenodes


def test_find_errors(real, tmp_path):
    archive = real.primary.archive_dir
    with pytest.raises(InvalidRequestError):
        pitr.find()
    with pytest.raises(InvalidRequestError):
        pitr.find(archive, paths=[real.wal_segment])
    with pytest.raises(InvalidRequestError):
        pitr.find(paths=[real.wal_segment], backup=real.backup)
    with pytest.raises(InvalidRequestError, match="neither an LSN"):
        pitr.find(archive, start="not a time")
    with pytest.raises(InvalidRequestError):
        pitr.find(archive, modified=True)
    with pytest.raises(TypeError):
        pitr.find(archive, start=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        pitr.find(archive, kinds="some")
    with pytest.raises(ValueError):
        pitr.find(archive, timezone="Mars/Olympus_Mons")
    with pytest.raises(PitrIOError):
        pitr.find(str(tmp_path / "missing"))


def test_find_releases_the_gil(real):
    """Without and with a progress callback (a C function, as in
    test_plan_releases_the_gil: it cannot let the ticker in itself)."""
    seen: dict = {}
    with Ticker() as ticker:
        during = {False: 0, True: 0}
        for i in range(10):
            with_progress = i % 2 == 1
            start = time.monotonic()
            pitr.find(real.primary.archive_dir, timeline="current", limit=None,
                      progress=seen.__setitem__ if with_progress else None)
            end = time.monotonic()
            during[with_progress] += ticker.inside(start, end)
    assert during[False] >= 5, f"{during[False]} ticks: the GIL was held"
    assert during[True] >= 5, f"{during[True]} ticks with a progress callback: the GIL was held"
    assert seen and sorted(seen) == list(range(1, len(seen) + 1)), seen
