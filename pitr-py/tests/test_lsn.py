"""pitr.Lsn: text forms, integers, ordering, hashing, arithmetic, segments."""

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

import pitr
from pitr import Lsn, ParseError, WalSegSize

U64 = st.integers(min_value=0, max_value=2**64 - 1)


def test_text_forms():
    lsn = Lsn("0/16B3748")
    assert str(lsn) == "0/16B3748"
    assert lsn.padded() == "0/016B3748"
    assert repr(lsn) == "Lsn('0/16B3748')"
    assert int(lsn) == 0x16B3748
    assert Lsn("0/016b3748") == lsn
    assert Lsn.parse("1A/0") == Lsn(0x1A_0000_0000)
    assert (Lsn("1A/0").hi, Lsn("1A/5").lo) == (0x1A, 5)
    assert str(Lsn.MAX) == "FFFFFFFF/FFFFFFFF"
    assert Lsn.INVALID.is_invalid and not lsn.is_invalid
    assert Lsn(lsn) == lsn


@pytest.mark.parametrize("text", ["", "0", "0/", "/0", "G/0", "0/123456789", " 0/1", "0/1 ", "0x0/1"])
def test_bad_text_is_a_parse_error(text):
    with pytest.raises(ParseError) as e:
        Lsn(text)
    assert isinstance(e.value, ValueError)
    assert isinstance(e.value, pitr.PitrError)
    assert e.value.what == "LSN"
    assert "invalid LSN" in str(e.value)
    assert e.value.position is not None
    assert e.value.file is None


def test_parse_error_position():
    with pytest.raises(ParseError) as e:
        Lsn.parse("0/12345678G")
    assert e.value.position == 10


@pytest.mark.parametrize("value", [-1, 2**64, 2**100])
def test_out_of_range_int(value):
    with pytest.raises(ValueError):
        Lsn(value)


@pytest.mark.parametrize("value", [1.5, None, b"0/1", True, [1]])
def test_wrong_type(value):
    with pytest.raises(TypeError):
        Lsn(value)


def test_ordering_and_hashing():
    a, b = Lsn("0/10"), Lsn("0/20")
    assert a < b <= b and b > a >= a and a != b
    assert sorted([b, a]) == [a, b]
    assert max(a, b) == b
    assert {a: 1}[Lsn(16)] == 1
    assert len({a, Lsn("0/10"), b}) == 2
    assert a != "0/10" and a != 16
    with pytest.raises(TypeError):
        _ = a < 16


def test_arithmetic():
    lsn = Lsn("0/16B3748")
    assert lsn + 8 == Lsn("0/16B3750")
    assert 8 + lsn == Lsn("0/16B3750")
    assert lsn - 8 == Lsn("0/16B3740")
    assert lsn + (-8) == Lsn("0/16B3740")
    assert Lsn("0/3000060") - Lsn("0/3000028") == 0x38
    assert Lsn("0/3000028") - Lsn("0/3000060") == -0x38
    assert Lsn.MAX - Lsn.INVALID == 2**64 - 1
    assert isinstance(Lsn("0/2") - Lsn("0/1"), int)
    with pytest.raises(OverflowError):
        Lsn.MAX + 1
    with pytest.raises(OverflowError):
        Lsn.INVALID - 1
    with pytest.raises(TypeError):
        lsn + lsn
    with pytest.raises(TypeError):
        lsn + "8"
    with pytest.raises(TypeError):
        lsn - "0/1"
    with pytest.raises(TypeError):
        8 - lsn


def test_segments_accept_every_size_form():
    lsn = Lsn("0/2026F98")
    for size in (WalSegSize("16MB"), 16 * 1024 * 1024, "16MB", "16"):
        assert lsn.segment(size) == 2
        assert lsn.segment_offset(size) == 0x26F98
        assert lsn.offset(size) == 0x26F98
    assert lsn.segment("1MB") == 0x20
    assert Lsn("0/3000000").prev_segment("16MB") == 2
    assert Lsn("0/3000001").prev_segment("16MB") == 3
    assert Lsn("0/16B3749").maxalign() == Lsn("0/16B3750")
    assert Lsn.MAX.maxalign() == Lsn(2**64 - 8)


@pytest.mark.parametrize("size", ["3MB", "2GB", 12345, 0, "lots"])
def test_bad_segment_size(size):
    with pytest.raises(ParseError) as e:
        Lsn("0/1").segment(size)
    assert "segment size" in str(e.value)


def test_segment_size_wrong_type_and_negative():
    with pytest.raises(TypeError):
        Lsn("0/1").segment(1.5)
    with pytest.raises(ValueError):
        Lsn("0/1").segment(-16)


def test_pickle():
    lsn = Lsn("5/16B3748")
    assert pickle.loads(pickle.dumps(lsn)) == lsn


@given(U64)
def test_int_round_trip(v):
    assert int(Lsn(v)) == v
    assert Lsn(str(Lsn(v))) == Lsn(v)
    assert Lsn(Lsn(v).padded()) == Lsn(v)


@given(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1))
def test_str_round_trip(hi, lo):
    text = f"{hi:X}/{lo:X}"
    lsn = Lsn(text)
    assert str(lsn) == text
    assert (lsn.hi, lsn.lo) == (hi, lo)
    assert lsn.padded() == f"{hi:X}/{lo:08X}"
    assert Lsn(text.lower()) == lsn


@given(U64, U64)
def test_difference_and_addition_agree(a, b):
    la, lb = Lsn(a), Lsn(b)
    d = lb - la
    assert d == b - a
    assert la + d == lb
    assert (la < lb) == (a < b)


@given(st.text(max_size=40))
def test_parse_never_crashes(text):
    try:
        lsn = Lsn(text)
    except ParseError:
        return
    assert Lsn(str(lsn)) == lsn


@given(U64, st.integers(20, 30))
def test_segment_math_matches_integers(v, shift):
    size = 1 << shift
    lsn = Lsn(v)
    assert lsn.segment(size) == v // size
    assert lsn.segment_offset(size) == v % size
    assert lsn.prev_segment(size) == max(v - 1, 0) // size
