"""Where is an LSN, and what is this file? A small ops helper built on pitr.

    python wal_names.py [--timeline N] [--wal-segsize 16MB] ARG...

Each ARG is an LSN (``0/16B3748``: prints the WAL segment holding it and the
offset inside it) or a file name from a WAL archive or pg_wal (prints what it
is). Exit status 2 on the first argument that is neither.
"""

from __future__ import annotations

import argparse
import sys

import pitr


def describe_lsn(lsn: pitr.Lsn, timeline: int, seg_size: pitr.WalSegSize) -> str:
    segment = pitr.SegmentName.of_lsn(timeline, lsn, seg_size)
    return (
        f"{lsn} (pg_waldump {lsn.padded()}): segment {segment} "
        f"offset {lsn.segment_offset(seg_size):#x} ({seg_size} segments, timeline {timeline})"
    )


def describe_file(f: pitr.WalFileName, seg_size: pitr.WalSegSize) -> str:
    parts = [f"{f.name}: {f.kind.value}"]
    if f.segment is not None:
        segno = f.segno(seg_size)
        where = f", starts at {f.segment.start_lsn(seg_size)}" if segno is not None else ", impossible for this size"
        parts.append(f" {f.segment}{where}")
    elif f.timeline is not None:
        parts.append(f" of timeline {f.timeline}")
    elif f.of is not None and f.status is not None:
        parts.append(f" {f.status.value} for {f.of}")
    if f.compression is not None:
        parts.append(f", {f.compression.value}")
    if f.sha1 is not None:
        parts.append(f", sha1 {f.sha1}")
    return "".join(parts)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeline", type=int, default=1)
    parser.add_argument("--wal-segsize", type=pitr.WalSegSize, default=pitr.WalSegSize.DEFAULT)
    parser.add_argument("args", nargs="+", metavar="ARG")
    opts = parser.parse_args(argv)
    seg_size: pitr.WalSegSize = opts.wal_segsize
    for arg in opts.args:
        try:
            if "/" in arg:
                print(describe_lsn(pitr.Lsn(arg), opts.timeline, seg_size))
            else:
                print(describe_file(pitr.WalFileName.parse(arg), seg_size))
        except pitr.PitrError as e:
            print(f"wal_names: error: {e}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
