"""Recovery target settings: times (against a real server), xids, names,
timelines and actions."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pitr import (
    ParseError,
    TargetAction,
    TimelineTarget,
    format_target_time,
    parse_target_name,
    parse_target_time,
    parse_target_xid,
)

UTC = datetime.timezone.utc
T = datetime.datetime(2026, 11, 23, 23, 57, 57, tzinfo=UTC)


def test_parse_target_time():
    assert parse_target_time("2026-11-24 00:57:57 Europe/Berlin") == T
    assert parse_target_time("2026-11-24 00:57:57+01", timezone="America/New_York") == T
    assert parse_target_time("2026-11-23 18:57:57", timezone="America/New_York") == T
    assert parse_target_time("23/11/2026 23:57:57", datestyle="ISO, DMY") == T
    assert parse_target_time("11/23/2026 23:57:57") == T
    t = parse_target_time("2026-11-24 00:57:57.5+05:30")
    assert t.tzinfo is not None and t.utcoffset() == datetime.timedelta(0)
    assert format_target_time(t) == "2026-11-23 19:27:57.500000+00"
    assert format_target_time(T) == "2026-11-23 23:57:57+00"
    berlin = datetime.timezone(datetime.timedelta(hours=1))
    assert format_target_time(T.astimezone(berlin)) == "2026-11-23 23:57:57+00"
    for bad in ("now", "today", "epoch", "infinity", "2026-11-24 00:57:57Z", "2026-11-24 00:57:57 PST", "garbage", ""):
        with pytest.raises(ParseError, match="recovery_target_time") as e:
            parse_target_time(bad)
        assert e.value.what == "recovery_target_time"
    with pytest.raises(ValueError, match="Mars/Olympus_Mons"):
        parse_target_time("2026-11-24", timezone="Mars/Olympus_Mons")
    with pytest.raises(TypeError):
        format_target_time(datetime.datetime(2026, 11, 24))  # naive: the zone would be a guess


@given(st.datetimes(min_value=datetime.datetime(1000, 1, 1), max_value=datetime.datetime(9999, 12, 30),
                    timezones=st.just(UTC)))
def test_format_parse_round_trip(t):
    text = format_target_time(t)
    assert parse_target_time(text, timezone="Asia/Kolkata") == t  # the text names its zone
    assert format_target_time(parse_target_time(text)) == text


def test_xid_name():
    assert parse_target_xid("728") == 728 and parse_target_xid("4294967295") == 2**32 - 1
    with pytest.raises(ParseError, match="read it as 0"):
        parse_target_xid("abc")
    with pytest.raises(ParseError, match="528"):
        parse_target_xid("4294967824")
    for bad in ("0728", "2", "", "-5"):
        with pytest.raises(ParseError):
            parse_target_xid(bad)
    assert parse_target_name("before_change") == "before_change"
    assert parse_target_name("x" * 63) == "x" * 63
    for bad in ("", "x" * 64, "a\nb"):
        with pytest.raises(ParseError):
            parse_target_name(bad)


def test_timeline_target_and_action():
    assert TimelineTarget.parse("latest") == TimelineTarget.LATEST
    assert TimelineTarget.parse("current") == TimelineTarget.CURRENT
    three = TimelineTarget.parse("3")
    assert three == TimelineTarget.numbered(3) and (three.kind, three.timeline) == ("numbered", 3)
    assert (TimelineTarget.LATEST.kind, TimelineTarget.LATEST.timeline) == ("latest", None)
    assert str(three) == three.setting_value() == "3" and str(TimelineTarget.CURRENT) == "current"
    assert len({TimelineTarget.parse("3"), three, TimelineTarget.LATEST}) == 2
    assert eval(repr(three), {"TimelineTarget": TimelineTarget}) == three
    for bad in ("Latest", "0", "0x2", "two", ""):
        with pytest.raises(ParseError):
            TimelineTarget.parse(bad)
    with pytest.raises(ValueError):
        TimelineTarget.numbered(0)
    assert TargetAction.parse("PROMOTE") == TargetAction.PROMOTE
    assert [a.value for a in (TargetAction.PAUSE, TargetAction.PROMOTE, TargetAction.SHUTDOWN)] == [
        "pause",
        "promote",
        "shutdown",
    ]
    with pytest.raises(ParseError, match="available values: pause, promote, shutdown"):
        TargetAction.parse("resume")


@pytest.mark.parametrize(
    "text,timezone,datestyle",
    [
        ("2026-11-24 00:57:57", "UTC", "ISO, MDY"),
        ("2026-11-24 00:57:57", "America/New_York", "ISO, MDY"),
        ("2026-07-01 02:30:00", "Europe/Berlin", "ISO, MDY"),
        ("2026-11-24T00:57:57.123456+05:30", "Europe/Berlin", "ISO, MDY"),
        ("11/12/2026 08:00:00", "Asia/Kolkata", "ISO, MDY"),
        ("11/12/2026 08:00:00", "Asia/Kolkata", "ISO, DMY"),
        ("Nov 24 00:57:57 2026", "Australia/Adelaide", "ISO, MDY"),
        ("Tue Nov 24 00:57:57 2026 UTC", "America/Los_Angeles", "ISO, MDY"),
        ("2026-11-24 00:57:57 Europe/Berlin", "UTC", "ISO, MDY"),
        ("2026-11-24 00:57:57-0330", "UTC", "ISO, MDY"),
    ],
)
def test_parse_target_time_matches_the_server(real, text, timezone, datestyle):
    """The instant pitr reads is the one the server's timestamptz_in reads."""
    server = real.primary.value(
        f"SET TimeZone = '{timezone}'; SET DateStyle = '{datestyle}'; "
        f"SELECT extract(epoch FROM '{text}'::timestamptz)::numeric(20,6)"
    )
    ours = parse_target_time(text, timezone=timezone, datestyle=datestyle)
    assert f"{ours.timestamp():.6f}" == server
