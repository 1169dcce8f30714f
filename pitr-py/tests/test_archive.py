"""Inventory on the test servers' real archive and on a damaged copy;
archive_get and Inventory.cleanup on the real archive and copies of it."""

from __future__ import annotations

import os
import shutil

import pytest

import pitr
from pitr import HistorySet, Inventory, PgMajor, PitrIOError, WalFileName, WalReader, WalSegSize


def test_real_archive(real):
    inv = Inventory.scan(real.primary.archive_dir)
    assert inv.seg_size == WalSegSize("1MB") and inv.pg_major == PgMajor.V15
    assert inv.system_id == int(real.controldata["Database system identifier"])
    assert inv.segment_count >= 2
    segno = WalFileName.classify(real.wal_segment.rsplit("/", 1)[1]).segno("1MB")
    assert inv.segment_path(1, segno) == real.wal_segment and inv.has_segment(1, segno)
    assert inv.segment_path(9, segno) is None and not inv.has_segment(1, 100000)
    assert 1 in [t["timeline"] for t in inv.timelines]
    hs = inv.history_set()
    assert isinstance(hs, HistorySet) and hs.newest_from(1) == 2
    d = inv.to_dict()
    assert d["system_id"] == real.controldata["Database system identifier"] and d["pg_version"] == 15
    assert any(h.endswith("00000002.history") for h in d["history_files"])
    report = inv.verify(deep=True)
    assert report["files_checked"] > 0
    assert not [p for p in report["problems"] if p["code"] in ("crc_mismatch", "invalid_record")]
    with pytest.raises(PitrIOError):
        Inventory.scan(real.primary.archive_dir + "/missing")


def test_damage_needs_the_deep_check(real, tmp_path):
    page = 8192
    victim = next(
        rec
        for rec in WalReader(real.wal_segment)
        if rec.rmgr == "Heap" and rec.lsn.segment_offset("1MB") % page + rec.total_length <= page
    )
    copy = tmp_path / real.wal_segment.rsplit("/", 1)[1]
    shutil.copy(real.wal_segment, copy)
    data = bytearray(copy.read_bytes())
    data[victim.lsn.segment_offset("1MB") + victim.total_length - 1] ^= 0xFF
    copy.write_bytes(bytes(data))
    inv = Inventory.scan(tmp_path, seg_size="1MB")
    assert inv.verify()["problems"] == []
    problems = inv.verify(deep=True)["problems"]
    assert [p["code"] for p in problems] == ["crc_mismatch"]


def test_archive_get(real, tmp_path):
    archive = real.primary.archive_dir
    name = os.path.basename(real.wal_segment)
    dest = tmp_path / "RECOVERYXLOG"
    assert pitr.archive_get(archive, name, dest) == real.wal_segment
    with open(real.wal_segment, "rb") as f:
        assert dest.read_bytes() == f.read()
    assert pitr.archive_get(archive, "00000002.history", dest) == os.path.join(archive, "00000002.history")
    assert dest.read_text().startswith("1\t")
    # Not there: None (the history files PostgreSQL probes), not an exception.
    assert pitr.archive_get(archive, "00000009.history", dest) is None
    assert pitr.archive_get(archive, "0000000100000000000000FF", dest) is None
    # Only a broken copy: an error, not "not there".
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / name).write_bytes(b"not a WAL segment")
    with pytest.raises(pitr.CorruptWalError) as e:
        pitr.archive_get(broken, name, dest)
    assert e.value.file == str(dest) and str(broken / name) in str(e.value)
    with pytest.raises(pitr.ParseError) as pe:
        pitr.archive_get(archive, "backup_label", dest)
    assert pe.value.what == "WAL file name"
    with pytest.raises(pitr.PitrIOError):
        pitr.archive_get(tmp_path / "missing", name, dest)


def test_inventory_cleanup(real, tmp_path):
    """A copy of the real archive, keeping a backup that starts at the restore
    point's segment: every segment before it goes, and the real backup's
    history file (that backup is not kept); a dry run first."""
    copy = tmp_path / "archive"
    shutil.copytree(real.primary.archive_dir, copy)
    name = os.path.basename(real.wal_segment)
    label = tmp_path / "late" / "backup_label"
    label.parent.mkdir()
    label.write_text(
        f"START WAL LOCATION: {real.restore_point} (file {name})\nCHECKPOINT LOCATION: {real.restore_point}\n"
        "BACKUP METHOD: streamed\nBACKUP FROM: primary\nSTART TIME: 2026-11-24 00:57:28 UTC\nLABEL: late\n"
        "START TIMELINE: 1\n"
    )
    inv = pitr.Inventory.scan(copy)
    dry = inv.cleanup([label])
    assert dry["deleted"] is False and dry["removed"] == [] and len(dry["remove"]) >= 2
    reasons = {r["reason"] for r in dry["remove"]}
    assert reasons == {"before_every_backup", "backup_not_kept"}
    start = str(pitr.SegmentName.of_lsn(1, real.backup_start, "1MB"))
    assert start in [r["relative"] for r in dry["remove"]] and (copy / start).exists()
    # Keeping the real backup too keeps its WAL.
    assert len(inv.cleanup([label, real.backup])["remove"]) < len(dry["remove"])
    done = inv.cleanup([str(label)], delete=True)
    assert done["deleted"] is True and sorted(done["removed"]) == sorted(r["relative"] for r in dry["remove"])
    assert not (copy / start).exists() and (copy / name).exists() and (copy / "00000002.history").exists()
    assert pitr.Inventory.scan(copy).cleanup([label])["remove"] == []
    with pytest.raises(pitr.InvalidRequestError, match="without a kept backup"):
        inv.cleanup([])
    with pytest.raises(pitr.PitrIOError):
        inv.cleanup([tmp_path / "missing"])
