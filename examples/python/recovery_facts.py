"""What pitr can tell before a point-in-time recovery, from a base backup's
backup_label and a WAL archive.

    python recovery_facts.py BACKUP_LABEL ARCHIVE_DIR [--target-time TEXT] [--timezone TZ] [--json]

Reads the backup_label, loads the archive's timeline history files, finds
the newest timeline recovery would follow from the backup's timeline
(recovery_target_timeline = 'latest'), checks that the backup lies on that
timeline's history, reads the target time as the server would in TIMEZONE,
and prints the recovery settings to write. Exit status: 0 usable, 1 the
backup cannot follow that timeline, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Dict, List, Tuple

import pitr


def facts(label_path: str, archive: str, target_time: str | None, timezone: str) -> Tuple[bool, Dict[str, Any]]:
    label = pitr.BackupLabel.read(label_path)
    histories = pitr.HistorySet.load_dir(archive)
    tli = label.timeline
    newest = histories.newest_from(tli)
    history = histories.history_of(newest)
    if history is None:
        raise pitr.InvalidRequestError(f"no valid history file for timeline {newest} in {archive}")
    usable = history.contains(tli)
    switch = history.switch_point(tli) if usable else None
    if usable and history.timeline_of(label.start_lsn) != tli:
        usable = False  # the backup starts after its timeline ended on this history
    settings: List[Tuple[str, str]] = []
    if target_time is not None:
        when = pitr.parse_target_time(target_time, timezone=timezone)
        settings.append(("recovery_target_time", pitr.format_target_time(when)))
    settings.append(("recovery_target_timeline", str(newest)))
    return usable, {
        "backup": {
            "start_lsn": str(label.start_lsn),
            "start_file": str(label.start_file),
            "checkpoint": str(label.checkpoint),
            "timeline": tli,
        },
        "newest_timeline": newest,
        "ancestry": history.ancestry(),
        "timeline_end": None if switch is None else {"lsn": str(switch.lsn), "next": switch.next_timeline},
        "usable": usable,
        "history_problems": [str(e) for e in histories.errors] + [i["message"] for i in histories.issues],
        "auto_conf": pitr.render_auto_conf(settings),
    }


def main(argv: List[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("backup_label")
    ap.add_argument("archive")
    ap.add_argument("--target-time")
    ap.add_argument("--timezone", default="UTC", help="the server's TimeZone, for a time without a zone")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    try:
        usable, f = facts(args.backup_label, args.archive, args.target_time, args.timezone)
    except (pitr.PitrError, ValueError) as e:
        print(f"recovery_facts: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(f, indent=2))
    else:
        b = f["backup"]
        print(f"backup     {b['start_lsn']} on timeline {b['timeline']} (file {b['start_file']}), "
              f"checkpoint {b['checkpoint']}")
        print(f"timeline   newest reachable from {b['timeline']}: {f['newest_timeline']} "
              f"({' -> '.join(str(t) for t in f['ancestry'])})")
        end = f["timeline_end"]
        if end is not None:
            print(f"           timeline {b['timeline']} ends at {end['lsn']} (then {end['next']})")
        print("           " + ("the backup lies on that history: usable" if usable
                                else "recovery from this backup cannot follow that timeline"))
        for p in f["history_problems"]:
            print(f"           history problem: {p}")
        print("postgresql.auto.conf:")
        print(f["auto_conf"], end="")
    return 0 if usable else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
