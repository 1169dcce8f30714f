"""pitr.PgMajor."""

import pytest

from pitr import OLD_WAL_MAGICS, PgMajor


def test_all_majors():
    assert [m.number for m in PgMajor.ALL] == [13, 14, 15, 16, 17, 18]
    for m in PgMajor.ALL:
        assert PgMajor(m.number) == m == PgMajor.from_number(int(m))
        assert PgMajor.from_wal_magic(m.wal_magic) == m
        assert PgMajor.from_catalog_version(m.catalog_version) == m
        assert str(m) == str(m.number)
        assert m.control_version == (1300 if m.number < 17 else m.number * 100)
    assert PgMajor.V15.wal_magic == 0xD110
    assert PgMajor.V16.catalog_version == 202307071
    assert repr(PgMajor.V15) == "PgMajor.V15"


def test_ordering_and_hash():
    assert PgMajor.V13 < PgMajor.V18 and max(PgMajor.ALL) == PgMajor.V18
    assert len(set(PgMajor.ALL) | {PgMajor(15)}) == 6


def test_unsupported():
    for n in (0, 12, 19):
        with pytest.raises(ValueError):
            PgMajor(n)
        assert PgMajor.from_number(n) is None
    assert PgMajor.from_wal_magic(0xD101) is None
    assert PgMajor.from_catalog_version(1) is None
    assert (0xD101, "12") in OLD_WAL_MAGICS
