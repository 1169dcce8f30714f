"""Can PostgreSQL recover this base backup to this target, and exactly what
will it do? Plans a point-in-time recovery with pitr, touching nothing.

    python plan_recovery.py BACKUP ARCHIVE_DIR [--time TEXT | --lsn LSN | --xid XID | --name NAME | --immediate]
                            [--exclusive] [--timeline current|latest|N] [--timezone TZ] [--json] [--progress]

BACKUP is a base backup (a data directory, pg_basebackup -Ft output, a
backup_label or a .backup file). Prints whether the target is reachable,
where PostgreSQL will stop and the line it will log, the WAL files it will
fetch in order, the recovery settings to write, and every problem with what
PostgreSQL would say. With --progress, a line on standard error as the
planner's WAL scan enters each file. Exit status: 0 reachable, 1 not
reachable, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Dict, List, Union

import pitr


def describe(p: pitr.RecoveryPlan) -> List[str]:
    out = [
        f"reachable  {'yes' if p.reachable else 'NO: PostgreSQL would not get there'}",
        f"target     {p.target} on timeline {p.timeline} (PostgreSQL {p.pg_version})",
        f"backup     redo {p.redo_lsn}, checkpoint {p.checkpoint_lsn}"
        + ("" if p.consistent_lsn is None else f", consistent at {p.consistent_lsn}"),
    ]
    s = p.stop
    if s is None:
        out.append("stop       none: recovery does not get to a stop")
    elif s.kind == pitr.StopKind.END_OF_WAL:
        out.append("stop       at the end of the archived WAL")
    elif s.kind == pitr.StopKind.CONSISTENT:
        out.append("stop       as soon as the backup is consistent")
    else:
        line = f"stop       {s.kind.value} {s.record or 'the record'} at {s.record_lsn}"
        if s.xid is not None:
            line += f", transaction {s.xid}"
        if s.time is not None:
            line += f", {s.time.isoformat()}"
        out.append(line + f" on timeline {s.timeline}")
    if s is not None:
        out.append(f"           pg_last_wal_replay_lsn() = {s.replay_lsn}")
        if s.log_message:
            out.append(f"           LOG:  {s.log_message}")
    out.append(f"WAL files  {len(p.wal_files)}, in the order PostgreSQL fetches them:")
    out += [f"           {name}" for name in p.wal_files]
    out.append(f"settings   {p.signal} and postgresql.auto.conf:")
    out += [f"           {name} = {pitr.quote_value(value)}" for name, value in p.settings.items()]
    out.append(f"promotes   to timeline {p.new_timeline}")
    for problem in p.problems:
        out.append(f"{'ERROR' if problem.severity == pitr.Severity.ERROR else 'warning':<10} [{problem.code}] {problem.message}")
        if problem.postgres_message:
            out.append(f"           PostgreSQL: {problem.postgres_message}")
        if problem.hint:
            out.append(f"           hint: {problem.hint}")
    return out


def show_progress(done: int, total: int) -> None:
    """The progress callback: the scan is entering WAL file `done` of at most `total`."""
    print(f"reading WAL file {done} of {total} ({100 * done // total}%)", file=sys.stderr, flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description="Plan a point-in-time recovery with pitr, touching nothing.")
    ap.add_argument("backup")
    ap.add_argument("archive")
    target = ap.add_mutually_exclusive_group()
    target.add_argument("--time", help="recovery_target_time, read as the server reads it")
    target.add_argument("--lsn", help="recovery_target_lsn")
    target.add_argument("--xid", help="recovery_target_xid")
    target.add_argument("--name", help="recovery_target_name (a restore point)")
    target.add_argument("--immediate", action="store_true", help="recovery_target = 'immediate'")
    ap.add_argument("--exclusive", action="store_true", help="recovery_target_inclusive = off")
    ap.add_argument("--timeline", default="latest", help="current, latest (default) or a number")
    ap.add_argument("--timezone", help="the server's TimeZone for a time without a zone")
    ap.add_argument("--json", action="store_true", help="print the plan as JSON (pitr plan --json)")
    ap.add_argument("--progress", action="store_true", help="report the WAL scan's progress on standard error")
    args = ap.parse_args()
    timeline: Union[str, int] = int(args.timeline) if args.timeline.isdigit() else args.timeline
    try:
        p = pitr.plan(
            args.backup,
            args.archive,
            target_time=args.time,
            target_lsn=args.lsn,
            target_xid=args.xid,
            target_name=args.name,
            target="immediate" if args.immediate else None,
            inclusive=not args.exclusive,
            timeline=timeline,
            timezone=args.timezone,
            progress=show_progress if args.progress else None,
        )
    except (pitr.PitrError, ValueError) as e:
        print(f"plan_recovery.py: {e}", file=sys.stderr)
        return 2
    if args.json:
        doc: Dict[str, Any] = p.to_dict()
        print(json.dumps(doc, indent=2))
    else:
        print("\n".join(describe(p)))
    return 0 if p.reachable else 1


if __name__ == "__main__":
    sys.exit(main())
