"""Backup and verify_backup on the test servers' pg_basebackup."""

from __future__ import annotations

import shutil

import pytest

from pitr import Backup, BackupLabel, ControlFile, InvalidRequestError, Lsn, PgMajor, PitrIOError, verify_backup


def test_open_a_real_backup(real):
    b = Backup.open(real.backup)
    assert b.format == "plain" and b.major == PgMajor.V15 and b.pg_version == "15"
    assert not b.has_errors and b.manifest_checksum_ok and b.total_size > 0
    assert isinstance(b.label, BackupLabel) and b.label == BackupLabel.read(real.backup_label)
    assert b.label.start_lsn == Lsn(real.backup_start)
    c = b.control
    assert isinstance(c, ControlFile)
    assert c.system_identifier == int(real.controldata["Database system identifier"]) and c.timeline == 1
    d = b.to_dict()
    assert d["format"] == "plain" and d["manifest"] is not None and not d.get("files")
    assert any(f["path"] == "PG_VERSION" for f in b.to_dict(with_files=True)["files"])
    bare = Backup.open(real.backup_label)
    assert bare.format == "label" and bare.control is None and bare.label == b.label
    with pytest.raises(PitrIOError):
        Backup.open(real.backup + "-missing")


def test_verify_real_and_tampered(real, tmp_path):
    report = verify_backup(real.backup)
    assert report["ok"] is True
    assert verify_backup(real.backup, archive=real.primary.archive_dir, skip_checksums=True)["ok"] is True
    tampered = tmp_path / "backup"
    shutil.copytree(real.backup, tampered, symlinks=True)
    with open(tampered / "postgresql.conf", "a") as f:
        f.write("# changed after the backup\n")
    report = verify_backup(tampered)
    assert report["ok"] is False and "postgresql.conf" in str(report)


def test_extract_a_real_backup(real, tmp_path):
    b = Backup.open(real.backup)
    target = tmp_path / "pgdata"
    report = b.extract(target)
    assert report["target"] == str(target) and report["files"] > 0 and report["wal_files"] > 0
    assert report["tablespaces"] == [] and report["tablespace_map_rewritten"] is False
    assert (target / "PG_VERSION").read_text() == open(f"{real.backup}/PG_VERSION").read()
    assert (target / "backup_label").exists() and oct(target.stat().st_mode & 0o777) == "0o700"
    with pytest.raises(InvalidRequestError, match="not empty"):
        b.extract(target)
    nowal = b.extract(tmp_path / "nowal", include_wal=False)
    assert nowal["wal_files"] == 0 and nowal["files"] < report["files"]
    with pytest.raises(InvalidRequestError, match="cannot be restored"):
        Backup.open(real.backup_label).extract(tmp_path / "other")
    assert not (tmp_path / "other").exists()
    with pytest.raises(TypeError):
        b.extract(tmp_path / "other", tablespaces={"x": "/t"})  # type: ignore[dict-item]
