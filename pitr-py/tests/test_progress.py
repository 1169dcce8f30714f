"""The `progress` callbacks of pitr.plan, pitr.find and pitr.restore on the
test servers' base backup and archive: one call per WAL file the scan enters,
counting 1, 2, 3... of a constant total; a plan's count ends at its number
of WAL files; the results are the ones the calls give without a callback; an
exception in the callback (or an interrupt) stops the scan at that file and
is raised (for restore: before anything is written). That the GIL stays released while
scanning with a callback is checked with the other GIL checks, in
test_plan.py and test_find.py."""

from __future__ import annotations

import os
from typing import Dict, List, Optional, Tuple

import pytest

import pitr
from pitr import UnreachableTargetError


class Boom(Exception):
    """What the callbacks of these tests raise."""


class Recorder:
    """A progress callback recording its calls; raises `error` at call number
    `raise_at` (1-based) when given."""

    def __init__(self, raise_at: Optional[int] = None) -> None:
        self.calls: List[Tuple[int, int]] = []
        self.raise_at = raise_at
        self.error = Boom(f"stop at call {raise_at}")

    def __call__(self, done: int, total: int) -> None:
        self.calls.append((done, total))
        if len(self.calls) == self.raise_at:
            raise self.error


def counts(calls: List[Tuple[int, int]]) -> int:
    """Asserts that `calls` count 1, 2, ... N with one total >= N; returns the total."""
    assert calls, "the callback was not called"
    total = calls[0][1]
    assert calls == [(i, total) for i in range(1, len(calls) + 1)], calls
    assert total >= len(calls), calls
    return total


def tree(root: str) -> Dict[str, int]:
    """Every file under `root`, relative path -> size."""
    out = {}
    for d, _, files in os.walk(root):
        for name in files:
            path = os.path.join(d, name)
            out[os.path.relpath(path, root)] = os.lstat(path).st_size
    return out


def test_plan_reports_each_wal_file(real):
    b, a = real.backup, real.primary.archive_dir
    # The end of timeline 1: every file of the path is read, the count ends at the total.
    rec = Recorder()
    p = pitr.plan(b, a, timeline="current", progress=rec)
    total = counts(rec.calls)
    assert len(rec.calls) >= 2, rec.calls
    assert p.reachable, p.to_dict()
    assert rec.calls[-1][0] == total == len(p.wal_files), (rec.calls, p.wal_files)
    assert p.to_dict() == pitr.plan(b, a, timeline="current").to_dict()
    # A target: the scan stops counting at the file it stops in. The commit
    # may be in the last file of the archive; the backup's end is not (the
    # commit was made in a later segment).
    rec = Recorder()
    p = pitr.plan(b, a, target_xid=real.xid, timeline="current", progress=rec)
    counts(rec.calls)
    assert p.reachable and p.stop is not None and p.stop.xid == real.xid
    assert rec.calls[-1][0] == len(p.wal_files) <= total, (rec.calls, p.wal_files)
    assert p.to_dict() == pitr.plan(b, a, target_xid=real.xid, timeline="current").to_dict()
    rec = Recorder()
    p = pitr.plan(b, a, target="immediate", timeline="current", progress=rec)
    counts(rec.calls)
    assert p.reachable and p.stop is not None and p.stop.replay_lsn == pitr.Lsn(real.backup_stop)
    assert rec.calls[-1][0] == len(p.wal_files) < total, (rec.calls, p.wal_files)
    assert p.to_dict() == pitr.plan(b, a, target="immediate", timeline="current").to_dict()
    # Timeline 2 ('latest', the default): the plan lists its history file
    # first, which the scan does not count; the count ends at the segments.
    rec = Recorder()
    p = pitr.plan(b, a, progress=rec)
    counts(rec.calls)
    segments = [f["name"] for f in p.files if f["kind"] == "segment"]
    assert p.wal_files[0] == "00000002.history" and p.wal_files[1:] == segments
    assert rec.calls[-1][0] == len(segments), (rec.calls, p.wal_files)
    assert p.to_dict() == pitr.plan(b, a).to_dict()
    # progress=None is no callback.
    p = pitr.plan(b, a, target="immediate", timeline="current")
    assert pitr.plan(b, a, target="immediate", timeline="current", progress=None).to_dict() == p.to_dict()


def test_find_reports_each_wal_file(real):
    archive = real.primary.archive_dir
    rec = Recorder()
    r = pitr.find(archive, timeline="current", limit=None, progress=rec)
    total = counts(rec.calls)
    assert len(rec.calls) >= 2 and rec.calls[-1][0] == total, rec.calls
    assert r.found and r.to_dict() == pitr.find(archive, timeline="current", limit=None).to_dict()
    # From the backup's redo point: to the end again, the same report as without.
    rec = Recorder()
    r = pitr.find(archive, backup=real.backup, xid=real.xid, timeline="current", progress=rec)
    assert counts(rec.calls) == rec.calls[-1][0] <= total, rec.calls
    assert [t.xid for t in r.transactions] == [real.xid]
    assert r.to_dict() == pitr.find(archive, backup=real.backup, xid=real.xid, timeline="current").to_dict()
    # One plain WAL file.
    rec = Recorder()
    r = pitr.find(paths=[real.wal_segment], xid=real.xid, progress=rec)
    assert rec.calls == [(1, 1)] and [t.xid for t in r.transactions] == [real.xid]


def test_an_exception_in_the_callback_propagates(real):
    b, a = real.backup, real.primary.archive_dir
    full = Recorder()
    pitr.plan(b, a, timeline="current", progress=full)
    assert len(full.calls) >= 2, full.calls
    for raise_at in (1, 2):
        rec = Recorder(raise_at=raise_at)
        with pytest.raises(Boom) as e:
            pitr.plan(b, a, timeline="current", progress=rec)
        # The callback's own exception, and no call after it.
        assert e.value is rec.error
        assert rec.calls == full.calls[:raise_at]
    full = Recorder()
    pitr.find(a, timeline="current", limit=None, progress=full)
    rec = Recorder(raise_at=1)
    with pytest.raises(Boom) as e:
        pitr.find(a, timeline="current", limit=None, progress=rec)
    assert e.value is rec.error and rec.calls == full.calls[:1] and len(full.calls) >= 2

    # Any exception, BaseException too, and one the callback gets wrong itself.
    def interrupt(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        pitr.plan(b, a, timeline="current", progress=interrupt)
    with pytest.raises(TypeError):
        pitr.find(a, timeline="current", progress=lambda done: None)  # type: ignore[arg-type]


def test_progress_must_be_callable(real, tmp_path):
    b, a = real.backup, real.primary.archive_dir
    missing = str(tmp_path / "missing")
    # TypeError before any work: not the missing backup's PitrIOError.
    with pytest.raises(TypeError, match="progress must be a callable"):
        pitr.plan(missing, a, progress=42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="progress must be a callable"):
        pitr.find(missing, progress="10%")  # type: ignore[arg-type]
    pgdata = tmp_path / "pgdata"
    with pytest.raises(TypeError, match="progress must be a callable.* not list"):
        pitr.restore(b, a, pgdata, target="immediate", timeline="current", progress=[])  # type: ignore[arg-type]
    assert not pgdata.exists()


def test_restore_with_progress(real, tmp_path):
    b, a = real.backup, real.primary.archive_dir
    plain, watched = str(tmp_path / "plain"), str(tmp_path / "watched")
    without = pitr.restore(b, a, plain, target_xid=real.xid, timeline="current")
    rec = Recorder()
    report = pitr.restore(b, a, watched, target_xid=real.xid, timeline="current", progress=rec)
    counts(rec.calls)
    assert report["restored"] is True and report["plan"] == without["plan"]
    assert rec.calls[-1][0] == len(report["plan"]["wal_files"]), rec.calls
    # The same files, the same settings.
    assert tree(watched) == tree(plain)
    with open(os.path.join(watched, "postgresql.auto.conf")) as f:
        settings = f.read()
    with open(os.path.join(plain, "postgresql.auto.conf")) as f:
        assert settings == f.read() and f"recovery_target_xid = '{real.xid}'" in settings
    assert os.path.isfile(os.path.join(watched, "recovery.signal"))


def test_restore_when_the_callback_raises(real, tmp_path):
    """restore plans first and writes afterwards: an exception from the
    callback stops the planning scan and is raised before anything is
    written, whether or not the target is reachable (instead of
    UnreachableTargetError)."""
    b, a = real.backup, real.primary.archive_dir
    for xid, reachable in [(real.xid, True), (4000000, False)]:
        full = Recorder()
        if reachable:
            pitr.restore(b, a, str(tmp_path / "plain"), target_xid=xid, timeline="current", progress=full)
            assert os.path.isfile(os.path.join(tmp_path / "plain", "recovery.signal"))
        else:
            with pytest.raises(UnreachableTargetError):
                pitr.restore(b, a, str(tmp_path / "plain2"), target_xid=xid, timeline="current", progress=full)
        assert len(full.calls) >= 2, full.calls  # the backup's segment, then more
        for where in ["absent", "empty"]:
            pgdata = tmp_path / f"raised-{xid}-{where}"
            if where == "empty":
                pgdata.mkdir()
            rec = Recorder(raise_at=1)
            with pytest.raises(Boom) as e:
                pitr.restore(b, a, str(pgdata), target_xid=xid, timeline="current", progress=rec)
            assert e.value is rec.error and rec.calls == full.calls[:1]
            if where == "absent":
                assert not pgdata.exists()
            else:
                assert list(pgdata.iterdir()) == []


def test_an_interrupt_stops_the_scan(real, tmp_path):
    """Ctrl-C (here _thread.interrupt_main, the same pending SIGINT) during a
    scan raises KeyboardInterrupt from the call, with no further callback
    call, and a restore interrupted during its scan writes nothing."""
    import _thread

    b, a = real.backup, real.primary.archive_dir
    calls: List[Tuple[int, int]] = []

    def interrupt(done: int, total: int) -> None:
        calls.append((done, total))
        _thread.interrupt_main()

    with pytest.raises(KeyboardInterrupt):
        pitr.plan(b, a, timeline="current", progress=interrupt)
    assert calls == [(1, calls[0][1])]
    calls.clear()
    pgdata = tmp_path / "interrupted"
    with pytest.raises(KeyboardInterrupt):
        pitr.restore(b, a, str(pgdata), target_xid=real.xid, timeline="current", progress=interrupt)
    assert len(calls) == 1 and not pgdata.exists()

