"""TimelineHistory, its queries, HistorySet; a real promotion's history file."""

from __future__ import annotations

import gzip
import os
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pitr import (
    HistoryEntry,
    HistorySet,
    InvalidRequestError,
    Lsn,
    ParseError,
    PitrError,
    PitrIOError,
    SwitchPoint,
    TimelineHistory,
    TimelineRange,
)

TL3 = "1\t0/5000220\tafter transaction 728\n\n2\t0/6000000\tno recovery target specified\n"


def test_parse_entries_and_properties():
    h = TimelineHistory.parse(3, TL3)
    assert h.timeline == 3 and len(h) == 2
    first, second = h.entries
    assert (first.parent, first.switch_lsn, first.reason, first.line) == (1, Lsn("0/5000220"), "after transaction 728", 1)
    assert (second.parent, second.switch_lsn, second.line) == (2, Lsn("0/6000000"), 3)
    assert h.parent == 2 and h.begin == Lsn("0/6000000")
    assert h.ancestry() == [1, 2, 3]
    assert h.contains(1) and h.contains(3) and not h.contains(4)
    assert h.descends_from(1) and not h.descends_from(3)
    assert str(h) == h.to_text() == TL3
    assert h.to_dict() == {
        "timeline": 3,
        "entries": [
            {"parent": 1, "switch_lsn": "0/5000220", "reason": "after transaction 728", "line": 1},
            {"parent": 2, "switch_lsn": "0/6000000", "reason": "no recovery target specified", "line": 3},
        ],
    }
    assert eval(repr(h), {"TimelineHistory": TimelineHistory}) == h
    assert pickle.loads(pickle.dumps(h)) == h
    assert pickle.loads(pickle.dumps(first)) == first
    h.validate()
    assert h.issues() == []


def test_queries_mirror_the_server():
    h = TimelineHistory.parse(3, TL3)
    # tliOfPointInHistory
    assert h.timeline_of(0) == 1
    assert h.timeline_of("0/500021F") == 1
    assert h.timeline_of(Lsn("0/5000220")) == 2
    assert h.timeline_of("0/6000000") == 3
    assert h.timeline_of(Lsn.MAX) == 3
    # tliSwitchPoint
    sp = h.switch_point(1)
    assert isinstance(sp, SwitchPoint) and (sp.lsn, sp.next_timeline) == (Lsn("0/5000220"), 2)
    assert h.switch_point(3) is None
    with pytest.raises(InvalidRequestError, match="requested timeline 4 is not in this server's history"):
        h.switch_point(4)
    # the list readTimeLineHistory returns, newest first
    ranges = h.ranges()
    assert [(r.timeline, r.begin, r.end) for r in ranges] == [
        (3, Lsn("0/6000000"), None),
        (2, Lsn("0/5000220"), Lsn("0/6000000")),
        (1, None, Lsn("0/5000220")),
    ]
    assert h.ranges_oldest_first() == list(reversed(ranges))
    r2 = h.range_of(2)
    assert isinstance(r2, TimelineRange) and r2.contains("0/5000220") and not r2.contains("0/6000000")
    assert h.range_of(9) is None


def test_built_in_memory():
    root = TimelineHistory.root(1)
    assert root.entries == [] and root.parent is None and root.begin is None and root.ancestry() == [1]
    child = root.child(2, "0/3000000")
    assert child.entries == [HistoryEntry(1, "0/3000000", "no recovery target specified")]
    assert child.to_text() == "1\t0/3000000\tno recovery target specified\n"
    h = TimelineHistory(3, [HistoryEntry(1, Lsn("0/5000220"), "after transaction 728"), HistoryEntry(2, "0/6000000")])
    assert h.timeline_of("0/5FFFFFF") == 2
    assert HistoryEntry(1, 0, "before 2026-11-24 00:57:58.019639+00").reason_has_newline()
    assert not HistoryEntry(1, 0, "before transaction 728").reason_has_newline()


def test_parse_errors_name_the_line():
    with pytest.raises(ParseError) as e:
        TimelineHistory.parse(3, "1\t0/5000220\tx\n\nfoo\n")
    assert e.value.line == 3 and e.value.what == "timeline history"
    assert "syntax error in history file" in str(e.value)
    with pytest.raises(ParseError, match="increasing sequence"):
        TimelineHistory.parse(3, "2\t0/1\tx\n1\t0/2\ty\n")
    with pytest.raises(ParseError, match="less than child timeline's ID"):
        TimelineHistory.parse(2, "2\t0/1\tx\n")
    with pytest.raises(ValueError):  # ParseError is a ValueError
        TimelineHistory.parse(3, "1\tnot-an-lsn\n")
    # Accepted by the server, refused by validate().
    back = TimelineHistory.parse(3, "1\t0/6000000\ta\n2\t0/5000000\tb\n")
    assert [i["severity"] for i in back.issues()] == ["error"]
    with pytest.raises(ParseError, match="must not decrease") as e:
        back.validate()
    assert e.value.line == 2


def test_timeline_error_mapping():
    from pitr._pitr import _core_error_for_test

    with pytest.raises(InvalidRequestError) as e:
        _core_error_for_test("not_contiguous", "", "")
    assert e.value.lsn == Lsn("0/16B3748")


def test_files_and_sets(tmp_path):
    (tmp_path / "00000003.history").write_text(TL3)
    (tmp_path / "00000002.history.gz").write_bytes(gzip.compress(b"1\t0/5000220\tafter transaction 728\n"))
    (tmp_path / "00000004.history").write_text("1\t0/1\tok\nbroken\n")
    (tmp_path / "unrelated.txt").write_text("# not a history file\n")
    h = TimelineHistory.read(tmp_path / "00000003.history")
    assert h == TimelineHistory.parse(3, TL3)
    assert TimelineHistory.read(str(tmp_path / "00000002.history.gz")).ancestry() == [1, 2]
    assert TimelineHistory.read_for(tmp_path / "unrelated.txt", 5).entries == []
    with pytest.raises(ParseError) as e:
        TimelineHistory.read(tmp_path / "unrelated.txt")
    assert e.value.file == str(tmp_path / "unrelated.txt")
    with pytest.raises(ParseError) as e:
        TimelineHistory.read(tmp_path / "00000004.history")
    assert (e.value.file, e.value.line) == (str(tmp_path / "00000004.history"), 2)
    with pytest.raises(PitrIOError) as io:
        TimelineHistory.read(tmp_path / "00000009.history")
    assert io.value.errno == 2 and isinstance(io.value, OSError)

    s = HistorySet.load_dir(tmp_path)
    assert not s.is_valid
    assert sorted(s.histories) == [2, 3] and sorted(s.files) == [2, 3, 4]
    assert s.histories[3] == h
    (err,) = s.errors
    assert isinstance(err, ParseError) and isinstance(err, PitrError)
    assert (err.file, err.line) == (str(tmp_path / "00000004.history"), 2)
    assert s.newest_from(1) == 4 and s.newest_from(5) == 5
    assert s.history_of(1) == TimelineHistory.root(1)
    assert s.history_of(4) is None
    assert s.children_of(2) == [3] and s.children_of(1) == [2]
    assert s.roots() == [1]
    d = s.to_dict()
    assert set(d) == {"histories", "files", "errors", "issues"} and len(d["errors"]) == 1
    with pytest.raises(PitrIOError):
        HistorySet.load_dir(tmp_path / "missing")

    good = HistorySet.from_histories([h, TimelineHistory.parse(2, "1\t0/5000220\tafter transaction 728\n")])
    assert good.is_valid and good.issues == [] and good.errors == []
    # A child that does not start with its parent's history.
    bad = HistorySet.from_histories([h, TimelineHistory.parse(2, "1\t0/4000000\tx\n")])
    assert not bad.is_valid
    assert any(i["severity"] == "error" and i["timeline"] == 3 for i in bad.issues)


# -- hypothesis: the text PostgreSQL writes parses back to the same history

reasons = st.text(
    alphabet=st.characters(blacklist_characters="\n\r\x00", blacklist_categories=("Cs",)), max_size=60
).filter(lambda r: not r.startswith((" ", "\t")))


@st.composite
def histories(draw):
    n = draw(st.integers(0, 6))
    parents = sorted(draw(st.sets(st.integers(1, 2**31), min_size=n, max_size=n)))
    timeline = draw(st.integers((parents[-1] + 1) if parents else 1, 2**32 - 1))
    lsns = sorted(draw(st.lists(st.integers(1, 2**64 - 1), min_size=n, max_size=n)))
    kinds = [draw(st.sampled_from(["free", "time", "lsn", "xid"])) for _ in range(n)]
    entries = []
    for parent, lsn, kind in zip(parents, lsns, kinds):
        reason = {
            "free": draw(reasons),
            "time": "before 2026-11-24 00:57:58.019639+00",
            "lsn": f"after LSN {Lsn(lsn)}",
            "xid": "before transaction 728",
        }[kind]
        entries.append(HistoryEntry(parent, lsn, reason))
    return TimelineHistory(timeline, entries)


@given(histories())
def test_text_round_trip(h):
    text = h.to_text()
    back = TimelineHistory.parse(h.timeline, text)
    assert [(e.parent, e.switch_lsn, e.reason) for e in back.entries] == [
        (e.parent, e.switch_lsn, e.reason) for e in h.entries
    ]
    assert back.to_text() == text
    assert back.ancestry() == h.ancestry()
    for e in h.entries:
        assert back.timeline_of(e.switch_lsn) != e.parent


# -- a real promotion


def test_real_promotion_history(real):
    h = TimelineHistory.read(real.history)
    assert h.timeline == 2 and h.ancestry() == [1, 2]
    (e,) = h.entries
    assert e.parent == 1 and e.reason == "reached consistency" and e.line == 1
    # Promoted at the end of the backup (recovery_target = 'immediate').
    assert e.switch_lsn >= Lsn(real.backup_stop)
    assert h.timeline_of(e.switch_lsn - 1) == 1 and h.timeline_of(e.switch_lsn) == 2
    with open(real.history) as f:
        assert h.to_text() == f.read()
    s = HistorySet.load_dir(real.primary.archive_dir)
    assert s.is_valid and s.newest_from(1) == 2
    assert s.files[2] == os.path.join(real.primary.archive_dir, "00000002.history")
    assert s.history_of(2) == TimelineHistory.read(s.files[2])
