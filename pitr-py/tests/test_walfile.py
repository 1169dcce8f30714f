"""pitr.SegmentName, pitr.WalFileName and the file name helpers."""

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

import pitr
from pitr import (
    ArchiveStatus,
    Compression,
    Lsn,
    ParseError,
    SegmentName,
    WalFileKind,
    WalFileName,
    WalSegSize,
)

SHA = "0123456789abcdef0123456789abcdef01234567"


def test_segment_name_forms():
    n = SegmentName.of_lsn(1, "0/2026F98", "16MB")
    assert str(n) == "000000010000000000000002"
    assert SegmentName.of_lsn(1, Lsn("1/A3000000"), WalSegSize("16MB")) == SegmentName.parse("0000000100000001000000A3")
    assert str(SegmentName.of_lsn(1, 0x140000000, "1GB")) == "000000010000000100000001"
    assert str(SegmentName(0x1A, 0xFFF, "1MB")) == "0000001A0000000000000FFF"
    p = SegmentName.parse("0000000100000001000000A3")
    assert (p.timeline, p.log, p.seg) == (1, 1, 0xA3)
    assert p.segno("16MB") == 0x1A3
    assert p.segno("1GB") is None
    assert p.start_lsn("16MB") == Lsn("1/A3000000")
    assert p.start_lsn("1GB") is None
    assert str(p.with_timeline(2)) == "0000000200000001000000A3"
    assert p.log_seg_hex() == "00000001000000A3"
    assert repr(p) == "SegmentName.parse('0000000100000001000000A3')"
    assert eval(repr(p), {"SegmentName": SegmentName}) == p
    assert pickle.loads(pickle.dumps(p)) == p
    assert SegmentName.parse("000000010000000000000002") < p
    assert len({p, SegmentName.parse(str(p))}) == 1


@pytest.mark.parametrize(
    "text", ["", "00000001000000010000000", "0000000100000001000000a3", "0000000100000001000000A3.gz"]
)
def test_segment_name_parse_errors(text):
    with pytest.raises(ParseError):
        SegmentName.parse(text)


def test_segment_name_range():
    with pytest.raises(ValueError):
        SegmentName(1, 2**64 - 1, "16MB")
    with pytest.raises(ParseError):
        SegmentName(1, 1, "3MB")


@given(st.integers(1, 2**32 - 1), st.integers(0, 2**40), st.integers(20, 30))
def test_segment_name_round_trip(tli, segno, shift):
    size = 1 << shift
    segno %= (2**32) * (2**32 // size)
    n = SegmentName(tli, segno, size)
    back = SegmentName.parse(str(n))
    assert back == n
    assert back.segno(size) == segno
    assert back.timeline == tli
    assert back.start_lsn(size) == WalSegSize(size).segment_start(segno)
    f = WalFileName.parse(str(n))
    assert f.kind == WalFileKind.SEGMENT and f.segment == n and f.segno(size) == segno


def test_segment_file():
    f = WalFileName.classify("0000000200000001000000A3.zst")
    assert f.name == "0000000200000001000000A3.zst"
    assert f.kind == WalFileKind.SEGMENT and f.kind.value == "segment"
    assert f.compression == Compression.ZSTD
    assert f.compression.extension == "zst" and f.compression.value == "zstd"
    assert f.timeline == 2
    assert f.segment == SegmentName.parse("0000000200000001000000A3")
    assert f.segno("16MB") == 0x1A3 and f.segno("1GB") is None
    assert (f.offset, f.status, f.of, f.sha1) == (None, None, None, None)
    assert f.wal_name == f.plain_name == "0000000200000001000000A3"
    assert not f.is_unknown
    assert str(f) == "0000000200000001000000A3.zst"
    assert f.to_dict() == {"kind": "segment", "segment": "0000000200000001000000A3", "compression": "zstd"}
    assert WalFileName("0000000200000001000000A3.zst") == f
    assert eval(repr(f), {"WalFileName": WalFileName}) == f
    assert pickle.loads(pickle.dumps(f)) == f
    assert hash(f) == hash(WalFileName.classify(f.name))


def test_every_kind():
    p = WalFileName.parse("000000010000000000000002.partial")
    assert p.kind == WalFileKind.PARTIAL and p.timeline == 1 and p.segno("16MB") == 2
    assert p.wal_name is None and p.plain_name == "000000010000000000000002.partial"

    h = WalFileName.parse("0000001A.history.gz")
    assert h.kind == WalFileKind.HISTORY and h.timeline == 0x1A and h.segment is None
    assert h.compression == Compression.GZIP and h.wal_name == "0000001A.history"
    assert h.to_dict() == {"kind": "history", "timeline": 26, "compression": "gzip"}

    b = WalFileName.parse("000000010000000000000006.00000028.backup")
    assert b.kind == WalFileKind.BACKUP_HISTORY and b.offset == 0x28 and b.segno("16MB") == 6
    assert b.to_dict() == {"kind": "backup_history", "segment": "000000010000000000000006", "offset": 40}

    r = WalFileName.parse("000000010000000000000002.ready")
    assert r.kind == WalFileKind.ARCHIVE_STATUS and r.status == ArchiveStatus.READY
    assert r.of == "000000010000000000000002" and r.timeline is None and r.plain_name is None
    d = WalFileName.parse("00000002.history.done")
    assert d.status == ArchiveStatus.DONE and d.status.value == "done"
    assert d.to_dict() == {"kind": "archive_status", "of": "00000002.history", "status": "done"}

    for c in (Compression.GZIP, Compression.ZSTD, Compression.LZ4, Compression.XZ, Compression.BZIP2, Compression.BROTLI):
        name = f"000000010000000000000002-{SHA}.{c.extension}"
        f = WalFileName.parse(name)
        assert f.compression == c and Compression.from_extension(c.extension) == c
        assert f.sha1 == SHA and str(f) == name and f.wal_name == "000000010000000000000002"
    assert Compression.from_extension("rar") is None


@pytest.mark.parametrize(
    "name", ["", "backup_label", "00000001000000000000000a", "000000010000000000000002.tmp", "x.ready", "éé"]
)
def test_unknown(name):
    f = WalFileName.classify(name)
    assert f.kind == WalFileKind.UNKNOWN and f.is_unknown
    assert str(f) == name and f.name == name
    assert f.to_dict() == {"kind": "unknown"}
    assert (f.timeline, f.segment, f.wal_name, f.plain_name, f.compression) == (None,) * 5
    assert f.segno("16MB") is None
    with pytest.raises(ParseError) as e:
        WalFileName.parse(name)
    assert "not a WAL file name" in str(e.value)
    with pytest.raises(ParseError):
        WalFileName(name)
    assert eval(repr(f), {"WalFileName": WalFileName}) == f
    assert WalFileName.classify("backup_label") != WalFileName.classify("RECOVERYXLOG")


def test_enums_are_distinct_and_hashable():
    kinds = [WalFileKind.SEGMENT, WalFileKind.PARTIAL, WalFileKind.HISTORY, WalFileKind.BACKUP_HISTORY,
             WalFileKind.ARCHIVE_STATUS, WalFileKind.UNKNOWN]
    assert len(set(kinds)) == 6
    assert [k.value for k in kinds] == ["segment", "partial", "history", "backup_history", "archive_status", "unknown"]
    assert repr(WalFileKind.SEGMENT) == "WalFileKind.SEGMENT"
    assert WalFileKind.SEGMENT != "segment"


def test_history_file_names():
    assert pitr.history_file_name(0x1A) == "0000001A.history"
    assert pitr.backup_history_file_name(1, "0/6000028", "16MB") == "000000010000000000000006.00000028.backup"
    assert pitr.backup_history_file_name(1, Lsn(0x6000028), WalSegSize.DEFAULT) == "000000010000000000000006.00000028.backup"
    with pytest.raises(ParseError):
        pitr.backup_history_file_name(1, "nope", "16MB")


@given(st.text(max_size=60))
def test_classify_never_fails_and_round_trips(name):
    f = WalFileName.classify(name)
    if not f.is_unknown:
        assert WalFileName.classify(str(f)) == WalFileName.classify(str(f))
        assert WalFileName.classify(str(f)).to_dict() == f.to_dict()


@given(
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**32 - 1),
    st.sampled_from(["", ".gz", ".zst", ".lz4", ".xz", ".bz2", ".br"]),
    st.sampled_from(["", ".partial"]),
    st.booleans(),
)
def test_format_parse_round_trip(tli, log, seg, ext, partial, hashed):
    base = f"{tli:08X}{log:08X}{seg:08X}"
    name = base + partial + (f"-{SHA}" if hashed else "") + ext
    f = WalFileName.parse(name)
    assert str(f) == name
    assert f.kind == (WalFileKind.PARTIAL if partial else WalFileKind.SEGMENT)
    assert str(f.segment) == base
    assert (f.segment.timeline, f.segment.log, f.segment.seg) == (tli, log, seg)
    assert (f.compression.extension if f.compression else "") == ext.lstrip(".")
    assert f.sha1 == (SHA if hashed else None)
