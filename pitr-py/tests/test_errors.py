"""The exception hierarchy and how core errors map onto it."""

import pickle

import pytest

import pitr
from pitr import (
    CorruptWalError,
    InvalidRequestError,
    Lsn,
    ParseError,
    PitrError,
    PitrIOError,
    UnreachableTargetError,
)
from pitr._pitr import _core_error_for_test

ALL = [ParseError, CorruptWalError, UnreachableTargetError, InvalidRequestError, PitrIOError]


def test_hierarchy():
    for cls in ALL:
        assert issubclass(cls, PitrError) and issubclass(cls, Exception)
    assert issubclass(ParseError, ValueError)
    assert issubclass(PitrIOError, OSError)
    assert not issubclass(CorruptWalError, ValueError)


def test_parse_error_from_core_carries_file_line_position():
    with pytest.raises(ParseError) as e:
        _core_error_for_test("parse", "bad thing", "/srv/wal/x.history")
    err = e.value
    assert (err.file, err.line, err.position, err.what) == ("/srv/wal/x.history", 3, 7, "test input")
    assert str(err) == err.message == "/srv/wal/x.history:3: invalid test input: bad thing (at position 7)"
    assert err.lsn is None


def test_io_error_from_core_is_an_oserror():
    with pytest.raises(OSError) as e:
        _core_error_for_test("io", "", "/nonexistent/000000010000000000000001")
    err = e.value
    assert isinstance(err, PitrIOError)
    assert err.errno == 2 and err.filename == err.file == "/nonexistent/000000010000000000000001"
    assert "No such file" in err.strerror and err.file in str(err)


def test_wal_and_invalid_errors_from_core():
    with pytest.raises(CorruptWalError, match="checksum in record at 0/2000028") as e:
        _core_error_for_test("wal", "", "/wal/000000010000000000000002")
    assert e.value.file == "/wal/000000010000000000000002" and e.value.lsn == Lsn("0/2000028")
    with pytest.raises(InvalidRequestError, match="refusing"):
        _core_error_for_test("invalid", "refusing to overwrite", "")
    with pytest.raises(ValueError):
        _core_error_for_test("nope", "", "")


def test_errors_pickle_with_their_attributes():
    errors = [
        ParseError("p", what="LSN", position=3, file="f", line=2),
        CorruptWalError("c", file="seg", lsn=Lsn("0/16B3748")),
        UnreachableTargetError("u", lsn=Lsn("1/0")),
        InvalidRequestError("i"),
        PitrIOError("io", errno=13, strerror="Permission denied", file="/x"),
    ]
    for err in errors:
        back = pickle.loads(pickle.dumps(err))
        assert type(back) is type(err) and str(back) == str(err)
        for attr in ("message", "file", "lsn", "line", "position"):
            assert getattr(back, attr) == getattr(err, attr), attr
    io = pickle.loads(pickle.dumps(errors[-1]))
    assert (io.errno, io.strerror, io.filename) == (13, "Permission denied", "/x")
    assert pickle.loads(pickle.dumps(errors[0])).what == "LSN"


def test_raised_errors_can_be_caught_generically():
    for bad in (lambda: Lsn("x"), lambda: pitr.WalSegSize("3MB"), lambda: pitr.WalFileName("x")):
        with pytest.raises(PitrError):
            bad()
