"""Shared pytest configuration: the suite runs against the installed wheel."""

import dataclasses
import glob
import os
import shutil
import tempfile
import time
from typing import Dict, Iterator, List, Tuple

import pytest
from hypothesis import HealthCheck, settings

from pgcluster import Cluster

# Deterministic enough for CI, thorough enough to find edge cases.
settings.register_profile(
    "ci",
    max_examples=int(os.environ.get("PITR_HYPOTHESIS_EXAMPLES", "400")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ci")


# ---------------------------------------------------------------------------
# Real server data, made once per session (see pgcluster.py): a primary that
# archives, a pg_basebackup of it, the backup history file the server
# archived, and a restore of the backup promoted to timeline 2 (its history
# file, its pg_control and pg_controldata's output), plus a fresh restore paused at its target for each test that wants
# one.

@dataclasses.dataclass
class RealData:
    primary: Cluster
    backup: str
    backup_start: str
    backup_stop: str
    backup_label: str
    backup_history: str
    history: str
    pg_settings: List[Tuple[str, str, int]]
    control: str
    controldata: Dict[str, str]
    wal_segment: str
    xid: int
    restore_point: str
    waldump: List[str]
    waldump_total: int


@pytest.fixture(scope="session")
def real() -> Iterator[RealData]:
    primary = Cluster(archive=True)
    work = tempfile.mkdtemp(prefix="pitr-py-real-")
    try:
        primary.sql("ALTER SYSTEM SET work_mem = '8MB'")
        primary.sql("SELECT pg_reload_conf()")
        primary.sql("CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g")
        primary.sql("CREATE ROLE pitr_plain LOGIN")
        backup = f"{work}/backup"
        start, stop = primary.base_backup(backup)
        primary.switch_wal()
        deadline = time.monotonic() + 60
        while not glob.glob(f"{primary.archive_dir}/*.backup"):
            assert time.monotonic() < deadline, "the backup history file was not archived"
            time.sleep(0.1)
        (backup_history,) = glob.glob(f"{primary.archive_dir}/*.backup")
        # A commit and a restore point in one archived segment, and pg_waldump's view of it.
        xid = int(primary.value(
            "BEGIN; INSERT INTO t SELECT g FROM generate_series(1, 200) g; SELECT pg_current_xact_id(); COMMIT"
        ))
        restore_point = primary.value("SELECT pg_create_restore_point('pitr_fixture')")
        segment_name = primary.value(f"SELECT pg_walfile_name('{restore_point}')")
        wal_segment = f"{primary.archive_dir}/{segment_name}"
        primary.switch_wal()
        deadline = time.monotonic() + 60
        while not os.path.exists(wal_segment):
            assert time.monotonic() < deadline, "the restore point's segment was not archived"
            time.sleep(0.1)
        # pg_waldump stops with an error at the end of the file; its output is what counts.
        waldump = primary._run("pg_waldump", wal_segment, check=False).splitlines()
        stats = primary._run("pg_waldump", "--stats", wal_segment, check=False)
        waldump_total = int(next(line.split()[1] for line in stats.splitlines() if line.startswith("Total")))
        rows = primary.sql(
            "SELECT name, sourcefile, sourceline FROM pg_settings WHERE sourcefile IS NOT NULL ORDER BY name"
        )
        promoted = Cluster.restore(backup, primary.archive_dir, "promote", archive_into=primary.archive_dir)
        try:
            promoted.wait_until("SELECT pg_is_in_recovery()", "f")
            history = f"{work}/00000002.history"
            shutil.copy(f"{promoted.data}/pg_wal/00000002.history", history)
            # The archiver copies the history file: let it finish before the
            # immediate stop (which would kill a half-done copy).
            with open(history, "rb") as f:
                content = f.read()
            archived = f"{primary.archive_dir}/00000002.history"
            deadline = time.monotonic() + 60
            while not (os.path.exists(archived) and open(archived, "rb").read() == content):
                assert time.monotonic() < deadline, "the history file of timeline 2 was not archived"
                time.sleep(0.1)
            promoted._run("pg_ctl", "-D", promoted.data, "-m", "immediate", "-w", "stop")
            promoted.running = False
            control = f"{work}/pg_control"
            shutil.copy(f"{promoted.data}/global/pg_control", control)
            controldata = promoted.controldata()
        finally:
            promoted.stop()
        primary.switch_wal()
        primary.wait_archived()
        yield RealData(
            primary=primary,
            backup=backup,
            backup_start=start,
            backup_stop=stop,
            backup_label=f"{backup}/backup_label",
            backup_history=backup_history,
            history=history,
            pg_settings=[(n, f, int(line)) for n, f, line in rows],
            control=control,
            controldata=controldata,
            wal_segment=wal_segment,
            xid=xid,
            restore_point=restore_point,
            waldump=[line for line in waldump if line.startswith("rmgr: ")],
            waldump_total=waldump_total,
        )
    finally:
        primary.stop()
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture
def paused(real: RealData) -> Iterator[Cluster]:
    """A restore of the base backup, paused at its recovery target."""
    c = Cluster.restore(real.backup, real.primary.archive_dir, "pause")
    try:
        c.wait_until("SELECT pg_get_wal_replay_pause_state()", "paused")
        yield c
    finally:
        c.stop()
