from __future__ import annotations

import argparse
import re

from float_hooks.commands import _common
from float_hooks.output import emit, emit_json, table
from float_hooks.store import paper_trail

HELP = "the decision log: add entries, list them by month, year, status, tag or folder"

GROUPS = {
    "month": "substr(l.date, 1, 7)",
    "year": "substr(l.date, 1, 4)",
    "status": "l.status",
    "folder": "coalesce(l.folder_path, '')",
}


def _month(value: str) -> str:
    """argparse ``type=``: a month as YYYY-MM (an ArgumentTypeError is argparse's one line)."""
    if not re.fullmatch(r"[0-9]{4}-(0[1-9]|1[0-2])", value):
        raise argparse.ArgumentTypeError("must be a month as YYYY-MM, e.g. 2026-03")
    return value


def _year(value: str) -> str:
    if not re.fullmatch(r"[0-9]{4}", value):
        raise argparse.ArgumentTypeError("must be a year as YYYY, e.g. 2026")
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="record a decision")
    add.add_argument("--title", required=True, help="the decision in a few words")
    add.add_argument("--decision", help="what was decided")
    add.add_argument("--rationale", help="why: the reasons and the options rejected")
    add.add_argument("--folder", type=_common.folder_arg,
                     help="the folder the decision is about")
    add.add_argument("--status", help="e.g. accepted (default), proposed, locked")
    add.add_argument("--date", help="YYYY-MM-DD (default: today)")
    add.add_argument("--topic", help="a short topic name (e.g. auth-tokens)")
    add.add_argument("--tag", action="append", default=[], help="a tag (repeat for more)")
    add.add_argument("--before", dest="before_state", help="how things were before")
    add.add_argument("--after", dest="after_state", help="how things are after")
    add.add_argument("--future-agent", dest="future_agent", help="a note for the next agent")
    add.add_argument("--file", dest="files", action="append", default=[],
                     help="a file the decision changed (repeat)")
    add.add_argument("--supersedes", help="uid of the decision this one replaces")
    _common.add_anchor(add)
    _common.add_json(add)
    lst = sub.add_parser("list", help="list decisions")
    lst.add_argument("--month", type=_month, help="YYYY-MM")
    lst.add_argument("--year", type=_year, help="YYYY")
    lst.add_argument("--status", help="only decisions with this status")
    lst.add_argument("--tag", help="only decisions with this tag")
    lst.add_argument("--folder", type=_common.folder_arg,
                     help="only decisions about this folder")
    _common.add_json(lst)
    stats = sub.add_parser("stats", help="count decisions by month, year, status, tag or folder")
    stats.add_argument("--by", choices=[*GROUPS, "tag"], default="month",
                       help="what to group by (default: month)")
    _common.add_json(stats)


def run(args: argparse.Namespace) -> int:
    store = _common.store(args)
    if args.action == "add":
        fields = {k: getattr(args, k) for k in paper_trail.LOG_FIELDS if k not in ("folder_path",)
                  and hasattr(args, k)}
        fields["folder_path"] = args.folder
        entry = paper_trail.add_log(store, fields, args.tag, args.files,
                                    _common.anchors(args, store))
        if args.json:
            emit_json(entry)
        else:
            emit(f"decision {entry['uid']} recorded ({entry['date']}, {entry['status']})")
        return 0
    if args.action == "stats":
        if args.by == "tag":
            sql = ("SELECT t.name, count(*) FROM tags t JOIN log_entry_tags lt ON"
                   " lt.tag_id = t.id GROUP BY t.name ORDER BY t.name")
        else:
            key = GROUPS[args.by]
            sql = f"SELECT {key}, count(*) FROM log_entries l GROUP BY 1 ORDER BY 1"
        rows = [{"key": k, "count": n} for k, n in store.conn.execute(sql)]
        if args.json:
            emit_json(rows)
        else:
            emit(table([[r["key"] or "-", str(r["count"])] for r in rows]) or "no decisions")
        return 0
    entries = paper_trail.list_logs(store.conn, month=args.month, year=args.year,
                                status=args.status, tag=args.tag, folder=args.folder)
    if args.json:
        emit_json(entries)
    else:
        for e in entries:
            tags = f" #{' #'.join(e['tags'])}" if e["tags"] else ""
            emit(f"{e['date']} [{e['status']}] {e['title']}{tags}  ({e['uid'][:8]})")
        if not entries:
            emit("no decisions")
    return 0
