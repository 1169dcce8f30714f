"""Inventory on the test servers' real archive and on a damaged copy."""

from __future__ import annotations

import shutil

import pytest

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
