"""WalReader, wal_stats and wal_events on a real archived segment, record by
record against pg_waldump."""

from __future__ import annotations

import datetime
import re

import pytest

import pitr
from pitr import CorruptWalError, Lsn, PgMajor, PitrIOError, WalReader, WalRecord, WalSegSize

LINE = re.compile(
    r"rmgr: (\S+)\s+len \(rec/tot\):\s+(\d+)/\s*(\d+), tx:\s+(\d+), lsn: (\S+), prev (\S+), desc: (.*)$"
)


def test_records_match_pg_waldump(real):
    r = WalReader(real.wal_segment)
    assert r.major == PgMajor.V15 and r.segment_size == WalSegSize("1MB")
    assert r.system_identifier == int(real.controldata["Database system identifier"])
    assert r.end is None and r.records_read == 0
    records = list(r)
    assert len(records) == len(real.waldump) >= 200 and r.records_read == len(records)
    described = 0
    for rec, line in zip(records, real.waldump):
        m = LINE.match(line)
        assert m, line
        rmgr, rec_len, tot_len, xid, lsn, prev, desc = m.groups()
        assert isinstance(rec, WalRecord)
        assert (rec.rmgr, rec.length, rec.total_length, rec.xid) == (rmgr, int(rec_len), int(tot_len), int(xid))
        assert (rec.lsn, rec.prev) == (Lsn(lsn), Lsn(prev))
        assert rec.end_lsn > rec.lsn and rec.timeline == 1 and rec.file == real.wal_segment
        assert rec.type_name is not None and desc.startswith(rec.type_name)
        if rec.description.rstrip() == desc.rstrip():
            described += 1
        else:
            # Records pitr does not describe (heap inserts): type and block references.
            blk = desc[desc.index(", blkref"):] if ", blkref" in desc else ""
            assert rec.description.rstrip() == (rec.type_name + " " + blk).rstrip(), (rec, line)
    assert described >= 3
    (commit,) = [rec for rec in records if rec.xact_kind == "commit" and rec.xid == real.xid]
    assert commit.type_name == "COMMIT" and commit.rmid == 1
    assert isinstance(commit.xact_time, datetime.datetime) and commit.xact_time.tzinfo is not None
    assert abs(commit.xact_time - datetime.datetime.now(datetime.timezone.utc)) < datetime.timedelta(hours=1)
    (rp,) = [rec for rec in records if rec.restore_point is not None]
    assert rp.restore_point == "pitr_fixture" and rp.end_lsn == Lsn(real.restore_point)
    assert rp.description == "RESTORE_POINT pitr_fixture"
    assert records[-1].type_name == "SWITCH"
    assert r.end is not None and "reason" in r.end and Lsn(r.end["end_lsn"]) == records[-1].end_lsn
    d = rp.to_dict()
    assert d["restore_point"] == "pitr_fixture" and d["lsn"] == str(rp.lsn)


def test_ranges_directories_and_bulk(real):
    rp_end = Lsn(real.restore_point)
    # The archive directory, from the restore point's end: the switch record.
    first = next(iter(WalReader(real.primary.archive_dir, start=rp_end)))
    assert first.lsn == rp_end and first.type_name == "SWITCH"
    # Stop before the restore point's end.
    last = list(WalReader(real.wal_segment, end=str(rp_end)))[-1]
    assert last.restore_point == "pitr_fixture"

    stats = pitr.wal_stats(real.wal_segment)
    assert stats["count"] == real.waldump_total == len(real.waldump)
    rows = {row["name"]: row for row in stats["rows"]}
    assert rows["Transaction"]["count"] >= 1 and rows["Heap"]["count"] >= 200
    per = pitr.wal_stats(real.wal_segment, per_record=True)
    assert any(row["name"] == "Transaction/COMMIT" for row in per["rows"])

    events = pitr.wal_events(real.primary.archive_dir)
    commits = [e for e in events if e["event"] == "commit" and e["xid"] == real.xid]
    assert len(commits) == 1
    (rp,) = [e for e in events if e["event"] == "restore_point" and e["name"] == "pitr_fixture"]
    assert Lsn(rp["end_lsn"]) == rp_end
    assert any(e["event"] == "checkpoint" for e in events)
    assert [e["event"] for e in pitr.wal_events(real.wal_segment, start=rp_end)] == ["switch"]


def test_damage_is_reported_at_its_record(real, tmp_path):
    records = list(WalReader(real.wal_segment))
    # A record that does not cross a page boundary; flip its last byte.
    page = 8192
    victim = next(
        rec
        for rec in records
        if rec.rmgr == "Heap" and rec.lsn.segment_offset("1MB") % page + rec.total_length <= page
    )
    data = bytearray(open(real.wal_segment, "rb").read())
    data[victim.lsn.segment_offset("1MB") + victim.total_length - 1] ^= 0xFF
    copy = tmp_path / real.wal_segment.rsplit("/", 1)[1]
    copy.write_bytes(bytes(data))
    seen = []
    with pytest.raises(CorruptWalError) as e:
        for rec in WalReader(copy):
            seen.append(rec.lsn)
    assert e.value.lsn == victim.lsn and e.value.file == str(copy)
    assert "checksum" in str(e.value)
    assert seen == [rec.lsn for rec in records if rec.lsn < victim.lsn]


def test_errors(tmp_path):
    bad = tmp_path / "000000010000000000000001"
    bad.write_bytes(b"this is not WAL")
    with pytest.raises(CorruptWalError) as e:
        WalReader(bad)
    assert e.value.file == str(bad)
    with pytest.raises(CorruptWalError):
        pitr.wal_stats(bad)
    with pytest.raises(PitrIOError):
        WalReader(tmp_path / "000000010000000000000002")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CorruptWalError):
        pitr.wal_events(empty)
