"""BackupLabel on text, and on a real pg_basebackup's files."""

from __future__ import annotations

import datetime
import os

import pytest

from pitr import BackupLabel, LabelKind, Lsn, ParseError, PitrIOError, SegmentName, WalSegSize, backup_history_file_name

UTC = datetime.timezone.utc

LABEL = (
    "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\n"
    "CHECKPOINT LOCATION: 0/2000060\n"
    "BACKUP METHOD: streamed\n"
    "BACKUP FROM: primary\n"
    "START TIME: 2026-11-24 00:57:28 UTC\n"
    "LABEL: nightly\n"
    "START TIMELINE: 1\n"
)

HISTORY = (
    "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\n"
    "STOP WAL LOCATION: 0/2000138 (file 000000010000000000000002)\n"
    "CHECKPOINT LOCATION: 0/2000060\n"
    "BACKUP METHOD: streamed\n"
    "BACKUP FROM: primary\n"
    "START TIME: 2026-11-24 00:57:28 +0530\n"
    "LABEL: nightly\n"
    "START TIMELINE: 1\n"
    "STOP TIME: 2026-11-24 00:57:30 CET\n"
    "STOP TIMELINE: 1\n"
)


def test_backup_label_attributes():
    l = BackupLabel.parse(LABEL)
    assert l.kind == LabelKind.BACKUP_LABEL and l.kind.value == "backup_label"
    assert l.start_lsn == Lsn("0/2000028") and l.start_file == SegmentName.parse("000000010000000000000002")
    assert l.checkpoint == Lsn("0/2000060")
    assert (l.method, l.backup_from, l.label) == ("streamed", "primary", "nightly")
    assert l.start_time == datetime.datetime(2026, 11, 24, 0, 57, 28, tzinfo=UTC)
    assert l.start_time.tzinfo is not None and l.start_time_text == "2026-11-24 00:57:28 UTC"
    assert l.stop_time is None and l.stop_time_text is None and l.stop_lsn is None and l.stop_file is None
    assert (l.start_timeline, l.stop_timeline, l.timeline, l.end_timeline) == (1, None, 1, 1)
    assert l.incremental_from_lsn is None and l.incremental_from_tli is None and not l.is_incremental
    assert l.requires_backup_end and not l.from_standby
    assert l.unknown_lines == [] and l.issues == []
    assert str(l) == l.to_text() == LABEL
    assert l == BackupLabel.parse(LABEL)
    d = l.to_dict()
    assert d["kind"] == "backup_label" and d["start"] == {"lsn": "0/2000028", "file": "000000010000000000000002"}
    assert d["start_time"]["timestamp"] == "2026-11-24T00:57:28Z"
    # Segment-size dependent facts.
    assert l.check("16MB") == [] and l.is_valid(16 << 20)
    (warning,) = l.check(WalSegSize("1MB"))
    assert warning["severity"] == "warning" and "does not hold 0/2000028" in warning["message"]
    assert l.is_valid("1MB")
    assert WalSegSize("16MB") in l.consistent_segment_sizes()
    assert WalSegSize("1MB") not in l.consistent_segment_sizes()
    assert str(l.start_segment("16MB")) == "000000010000000000000002"
    assert l.stop_segment("16MB") is None
    assert l.history_file_name("16MB") == "000000010000000000000002.00000028.backup"
    with pytest.raises(ValueError):
        l.check("3MB")


def test_backup_history_attributes_and_times():
    h = BackupLabel.parse(HISTORY)
    assert h.kind == LabelKind.BACKUP_HISTORY
    assert h.stop_lsn == Lsn("0/2000138") and str(h.stop_file) == "000000010000000000000002"
    assert h.stop_timeline == 1 and h.end_timeline == 1
    # A numeric offset fixes the instant.
    assert h.start_time == datetime.datetime(2026, 11, 23, 19, 27, 28, tzinfo=UTC)
    # A zone abbreviation does not: the text, as written.
    assert h.stop_time == "2026-11-24 00:57:30 CET" == h.stop_time_text
    assert str(h.stop_segment("16MB")) == "000000010000000000000002"
    assert h.to_text() == HISTORY


def test_warnings_and_refusals():
    l = BackupLabel.parse(
        "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\nCHECKPOINT LOCATION: 0/2000060\n"
        "BACKUP METHOD: streamed\nSTART TIMELINE: 2\nSOMETHING: else\n"
    )
    assert l.unknown_lines == [(5, "SOMETHING: else")]
    severities = sorted(i["severity"] for i in l.issues)
    assert severities == ["error", "warning"]
    assert not l.is_valid("16MB")
    assert any("Timeline ID parsed is 2, but expected 1" in i["message"] for i in l.check("16MB"))
    with pytest.raises(ParseError, match="CRLF") as e:
        BackupLabel.parse(LABEL.replace("\n", "\r\n"))
    assert e.value.line == 1 and e.value.what == "backup_label"
    with pytest.raises(ParseError, match="missing line 2") as e:
        BackupLabel.parse(LABEL.splitlines(keepends=True)[0])
    assert e.value.line == 2


def test_read_files(tmp_path):
    p = tmp_path / "backup_label"
    p.write_text(LABEL)
    assert BackupLabel.read(p) == BackupLabel.parse(LABEL)
    q = tmp_path / "000000010000000000000002.00000028.backup"
    q.write_text(HISTORY)
    assert BackupLabel.read(str(q)).kind == LabelKind.BACKUP_HISTORY
    # A backup history file given as backup_label is refused, as by the server.
    p.write_text(HISTORY)
    with pytest.raises(ParseError) as e:
        BackupLabel.read(p)
    assert e.value.file == str(p)
    with pytest.raises(PitrIOError) as io:
        BackupLabel.read(tmp_path / "missing" / "backup_label")
    assert io.value.errno == 2


def test_real_pg_basebackup_label(real):
    l = BackupLabel.read(real.backup_label)
    assert l.kind == LabelKind.BACKUP_LABEL
    assert l.start_lsn == Lsn(real.backup_start)
    assert l.checkpoint >= l.start_lsn
    assert (l.method, l.backup_from, l.label, l.start_timeline, l.timeline) == (
        "streamed",
        "primary",
        "pitr Python tests",
        1,
        1,
    )
    assert l.start_file == SegmentName.of_lsn(1, l.start_lsn, "1MB")
    assert WalSegSize("1MB") in l.consistent_segment_sizes()
    # log_timezone is UTC, so START TIME is an instant: a moment ago.
    assert isinstance(l.start_time, datetime.datetime)
    now = datetime.datetime.now(UTC)
    assert now - datetime.timedelta(hours=1) < l.start_time <= now
    assert l.check("1MB") == [] and l.is_valid("1MB")
    with open(real.backup_label) as f:
        assert l.to_text() == f.read()


def test_real_backup_history_file(real):
    h = BackupLabel.read(real.backup_history)
    label = BackupLabel.read(real.backup_label)
    assert h.kind == LabelKind.BACKUP_HISTORY
    assert h.start_lsn == Lsn(real.backup_start) and h.stop_lsn == Lsn(real.backup_stop)
    assert h.checkpoint == label.checkpoint and h.label == label.label
    assert h.stop_timeline == 1
    assert isinstance(h.stop_time, datetime.datetime) and isinstance(h.start_time, datetime.datetime)
    assert h.stop_time >= h.start_time == label.start_time
    name = os.path.basename(real.backup_history)
    assert name == h.history_file_name("1MB") == backup_history_file_name(1, h.start_lsn, "1MB")
    with open(real.backup_history) as f:
        assert h.to_text() == f.read()
