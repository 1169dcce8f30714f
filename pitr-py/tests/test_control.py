"""ControlFile on a real server's pg_control, against pg_controldata."""

from __future__ import annotations

import datetime

import pytest

from pitr import ControlFile, Lsn, ParseError, PgMajor, PitrIOError, SegmentName, WalSegSize


def test_matches_pg_controldata(real):
    c = ControlFile.read(real.control)
    d = real.controldata
    assert c.major == PgMajor.V15 and c.crc_ok
    assert c.pg_control_version == int(d["pg_control version number"])
    assert c.catalog_version == int(d["Catalog version number"])
    assert c.system_identifier == int(d["Database system identifier"])
    assert c.state == d["Database cluster state"]
    assert c.checkpoint == Lsn(d["Latest checkpoint location"])
    assert c.redo == Lsn(d["Latest checkpoint's REDO location"])
    assert str(c.redo_wal_file()) == d["Latest checkpoint's REDO WAL file"]
    assert c.timeline == int(d["Latest checkpoint's TimeLineID"]) == 2
    assert c.prev_timeline == int(d["Latest checkpoint's PrevTimeLineID"])
    assert c.next_xid == d["Latest checkpoint's NextXID"]
    assert c.full_page_writes == (d["Latest checkpoint's full_page_writes"] == "on")
    assert c.min_recovery_point == Lsn(d["Minimum recovery ending location"])
    assert c.min_recovery_point_timeline == int(d["Min recovery ending loc's timeline"])
    assert c.backup_start_point == Lsn(d["Backup start location"])
    assert c.backup_end_point == Lsn(d["Backup end location"])
    assert c.backup_end_required == (d["End-of-backup record required"] == "yes")
    assert c.wal_level == d["wal_level setting"]
    assert c.wal_log_hints == (d["wal_log_hints setting"] == "on")
    assert c.wal_segment_size == WalSegSize(int(d["Bytes per WAL segment"]))
    assert c.block_size == int(d["Database block size"])
    assert c.wal_block_size == int(d["WAL block size"])
    assert c.data_checksum_version == int(d["Data page checksum version"])
    assert c.data_checksums == (c.data_checksum_version != 0)
    # pg_controldata prints times in the local zone (UTC here), asctime-style.
    fmt = "%a %b %d %H:%M:%S %Y"
    utc = datetime.timezone.utc
    assert c.checkpoint_time == datetime.datetime.strptime(d["Time of latest checkpoint"], fmt).replace(tzinfo=utc)
    assert c.time == datetime.datetime.strptime(d["pg_control last modified"], fmt).replace(tzinfo=utc)
    dd = c.to_dict()
    assert dd["system_identifier"] == d["Database system identifier"] and dd["major"] == 15
    assert repr(c).startswith("<ControlFile PostgreSQL 15 system ")


def test_parse_and_damage(real, tmp_path):
    with open(real.control, "rb") as f:
        data = f.read()
    assert ControlFile.parse(data) == ControlFile.read(real.control)
    assert ControlFile.parse(data[:296]).checkpoint == ControlFile.read(real.control).checkpoint
    damaged = bytearray(data)
    damaged[100] ^= 0x40
    with pytest.raises(ParseError, match="CRC mismatch") as e:
        ControlFile.parse(bytes(damaged), "copy")
    assert e.value.file == "copy" and e.value.what == "pg_control"
    assert not ControlFile.parse(bytes(damaged), verify_crc=False).crc_ok
    with pytest.raises(ParseError, match="truncated"):
        ControlFile.parse(data[:100])
    old = bytearray(data)
    old[8:12] = (1201).to_bytes(4, "little")  # PostgreSQL 12
    with pytest.raises(ParseError, match="pitr reads PostgreSQL 13 to 18"):
        ControlFile.parse(bytes(old), verify_crc=False)
    with pytest.raises(PitrIOError) as io:
        ControlFile.read(tmp_path / "pg_control")
    assert io.value.errno == 2
    assert isinstance(ControlFile.read(real.control).redo_wal_file(), SegmentName)
