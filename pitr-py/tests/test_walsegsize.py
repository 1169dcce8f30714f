"""pitr.WalSegSize."""

import pickle

import pytest

from pitr import Lsn, ParseError, WalSegSize

MB = 1024 * 1024


@pytest.mark.parametrize(
    "text,mb", [("16MB", 16), ("16 MB", 16), ("1GB", 1024), ("1 gb", 1024), ("1024kB", 1), ("64", 64), ("16777216", 16)]
)
def test_parse(text, mb):
    assert WalSegSize(text).bytes == mb * MB
    assert WalSegSize.parse(text) == WalSegSize(mb * MB)


@pytest.mark.parametrize("text", ["", "MB", "3MB", "2GB", "512kB", "16 parsecs", "99999999999999999999999"])
def test_parse_errors(text):
    with pytest.raises(ParseError) as e:
        WalSegSize(text)
    assert e.value.what == "WAL segment size"


def test_from_bytes_and_constants():
    assert WalSegSize.from_bytes(MB) == WalSegSize(MB)
    assert WalSegSize.MIN == MB and WalSegSize.MAX == 1024 * MB
    assert WalSegSize.DEFAULT == WalSegSize("16MB")
    for bad in (0, MB // 2, 3 * MB, 2048 * MB, 2**40):
        with pytest.raises(ParseError):
            WalSegSize.from_bytes(bad)
    with pytest.raises(TypeError):
        WalSegSize(None)


def test_properties_and_segments():
    s = WalSegSize("16MB")
    assert str(s) == "16MB" and repr(s) == "WalSegSize('16MB')" and int(s) == 16 * MB
    assert str(WalSegSize("1GB")) == "1GB"
    assert s.segments_per_xlogid == 256
    assert WalSegSize("1MB").segments_per_xlogid == 4096
    assert s.segment_start(0x1A3) == Lsn("1/A3000000")
    assert s.segment_end(0x1A3) == Lsn("1/A4000000")
    with pytest.raises(OverflowError):
        s.segment_start(2**64 - 1)
    with pytest.raises(OverflowError):
        s.segment_end((2**64 - 1) // (16 * MB))


def test_ordering_hash_pickle():
    sizes = [WalSegSize(x) for x in ("64MB", "1MB", "16MB")]
    assert [str(s) for s in sorted(sizes)] == ["1MB", "16MB", "64MB"]
    assert len({WalSegSize("16MB"), WalSegSize(16 * MB)}) == 1
    assert pickle.loads(pickle.dumps(WalSegSize("64MB"))) == WalSegSize("64MB")
