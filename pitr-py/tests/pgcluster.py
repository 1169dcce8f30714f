"""Throwaway PostgreSQL 15 servers for the tests that need real server data.

Debian's PostgreSQL 15 build, as installed by .ci/install-pg (PITR_PG15_BIN
overrides its directory). Each server has its own directory and listens on a
Unix socket there only. As root, servers run as the `postgres` system user.

    c = Cluster(wal_segsize_mb=1, archive=True)    # initdb + start
    c.sql("SELECT 1"); c.dsn; c.data; c.archive_dir
    start, stop = c.base_backup(path)              # pg_basebackup -Fp
    r = Cluster.restore(path, archive=c.archive_dir, action="pause")
    r.wait_until("SELECT pg_get_wal_replay_pause_state()", "paused")
    c.stop()                                       # stops and removes everything
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
from typing import Dict, List, Optional, Tuple

import pytest

PG_BIN = os.environ.get("PITR_PG15_BIN", "/usr/lib/postgresql/15/bin")


def _run_as() -> List[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _chown(path: str) -> None:
    if os.geteuid() != 0:
        return
    pw = pwd.getpwnam("postgres")
    for root, dirs, files in os.walk(path):
        os.chown(root, pw.pw_uid, pw.pw_gid)
        for name in dirs + files:
            os.lchown(os.path.join(root, name), pw.pw_uid, pw.pw_gid)


class Cluster:
    def __init__(
        self,
        wal_segsize_mb: int = 1,
        archive: bool = False,
        conf: Optional[Dict[str, str]] = None,
        _initdb: bool = True,
    ) -> None:
        if not os.path.exists(os.path.join(PG_BIN, "initdb")):
            pytest.fail(f"PostgreSQL 15 not found in {PG_BIN} (run .ci/install-pg)")
        self.seg_mb = wal_segsize_mb
        self.dir = tempfile.mkdtemp(prefix="pitr-py-pg-")
        self.data = os.path.join(self.dir, "data")
        self.archive_dir = os.path.join(self.dir, "archive")
        os.mkdir(self.archive_dir)
        self.run_as = _run_as()
        _chown(self.dir)
        self.running = False
        if not _initdb:
            return
        self._run("initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "--no-sync",
                  f"--wal-segsize={wal_segsize_mb}")
        settings = {"fsync": "off", "TimeZone": "'UTC'", "log_timezone": "'UTC'"}
        if archive:
            settings.update({
                "wal_level": "replica",
                "archive_mode": "on",
                "archive_command": f"'test ! -f {self.archive_dir}/%f && cp %p {self.archive_dir}/%f'",
                "archive_timeout": "60",
            })
        settings.update(conf or {})
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("# pitr Python tests\n")
            for k, v in settings.items():
                f.write(f"{k} = {v}\n")
        self.start()

    # -- running tools and SQL

    def _run(self, tool: str, *args: str, check: bool = True, stderr: bool = False) -> str:
        """Runs a PostgreSQL tool (from /, which the postgres user can enter, in
        the C locale and UTC); returns its standard output (and error output
        with `stderr`)."""
        cmd = self.run_as + [os.path.join(PG_BIN, tool), *args]
        env = dict(os.environ, LC_ALL="C", TZ="UTC")
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=180, cwd="/", env=env)
        if check and done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stdout}{done.stderr}")
        return done.stdout + done.stderr if stderr else done.stdout

    @property
    def dsn(self) -> str:
        return f"host={self.dir} port=5432 user=postgres dbname=postgres"

    def sql(self, query: str, user: str = "postgres") -> List[List[str]]:
        out = self._run("psql", "-h", self.dir, "-p", "5432", "-U", user, "-d", "postgres", "-XAtq",
                        "-v", "ON_ERROR_STOP=1", "-F", "\t", "-c", query)
        return [line.split("\t") for line in out.splitlines() if line]

    def value(self, query: str) -> str:
        rows = self.sql(query)
        assert len(rows) == 1 and len(rows[0]) == 1, rows
        return rows[0][0]

    def wait_until(self, query: str, expected: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                last = self.value(query)
                if last == expected:
                    return
            except RuntimeError as e:  # not accepting connections yet
                last = str(e)
            time.sleep(0.1)
        raise TimeoutError(f"{query!r} did not become {expected!r} (last: {last!r})")

    # -- lifecycle

    def start(self) -> None:
        opts = f"-c listen_addresses='' -c unix_socket_directories='{self.dir}' -p 5432"
        self._run("pg_ctl", "-D", self.data, "-o", opts, "-l", os.path.join(self.dir, "log"), "-w", "-t", "120",
                  "start")
        self.running = True

    def stop(self) -> None:
        try:
            if self.running:
                self._run("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop", check=False)
                self.running = False
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- WAL and backups

    def controldata(self) -> Dict[str, str]:
        """pg_controldata's output as a dict."""
        out = self._run("pg_controldata", "-D", self.data)
        return {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in out.splitlines() if ":" in line)}

    def switch_wal(self) -> None:
        self.sql("SELECT pg_switch_wal()")

    def wait_archived(self, timeout: float = 60) -> None:
        """Until no .ready file is left in pg_wal/archive_status."""
        status = os.path.join(self.data, "pg_wal", "archive_status")
        deadline = time.monotonic() + timeout
        while any(n.endswith(".ready") for n in os.listdir(status)):
            if time.monotonic() > deadline:
                raise TimeoutError("archiving did not catch up")
            time.sleep(0.1)

    def base_backup(self, path: str, label: str = "pitr Python tests") -> Tuple[str, str]:
        """A plain pg_basebackup into `path`; returns the start and end points it reports."""
        parent = os.path.dirname(path)
        _chown(parent)
        out = self._run("pg_basebackup", "-h", self.dir, "-p", "5432", "-U", "postgres", "-D", path, "-Fp",
                        "-X", "stream", "-c", "fast", "-l", label, "-v", stderr=True)
        start = re.search(r"write-ahead log start point: ([0-9A-F]+/[0-9A-F]+)", out)
        stop = re.search(r"write-ahead log end point: ([0-9A-F]+/[0-9A-F]+)", out)
        assert start and stop, out
        return start.group(1), stop.group(1)

    @classmethod
    def restore(cls, backup: str, archive: str, action: str, archive_into: Optional[str] = None) -> "Cluster":
        """A copy of a plain base backup, recovering from `archive` to the end
        of the backup (recovery_target = 'immediate') and then `action`;
        archiving into `archive_into` when given."""
        c = cls(_initdb=False)
        shutil.copytree(backup, c.data, symlinks=True)
        with open(os.path.join(c.data, "postgresql.auto.conf"), "a") as f:
            f.write(f"restore_command = 'cp {archive}/%f %p'\n")
            f.write("recovery_target = 'immediate'\n")
            f.write(f"recovery_target_action = '{action}'\n")
            if archive_into:
                f.write(f"archive_command = 'test ! -f {archive_into}/%f && cp %p {archive_into}/%f'\n")
            else:
                f.write("archive_mode = 'off'\n")
        open(os.path.join(c.data, "recovery.signal"), "w").close()
        os.chmod(c.data, 0o700)
        _chown(c.dir)
        c.start()
        return c
