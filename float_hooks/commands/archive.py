from __future__ import annotations

import argparse

from float_hooks.commands import _common
from float_hooks.output import emit, emit_json
from float_hooks.store import folder_context

HELP = "context of deleted folders: list it, restore it onto a folder"


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True)
    lst = sub.add_parser("list", help="list archived folder context")
    lst.add_argument("--all", action="store_true", help="include restored entries")
    _common.add_json(lst)
    res = sub.add_parser("restore", help="restore an archived entry by id")
    res.add_argument("id", type=int, help="the entry's id (`archive list` shows them)")
    res.add_argument("--to", type=_common.folder_arg, help="folder to restore onto"
                     " (default: its old path)")


def run(args: argparse.Namespace) -> int:
    store = _common.store(args)
    if args.action == "restore":
        dest = folder_context.restore(store, args.id, args.to)
        emit(f"restored archive {args.id} onto {dest}")
        return 0
    items = folder_context.archived(store.conn, include_restored=args.all)
    if args.json:
        emit_json(items)
    else:
        for i in items:
            summary = i["content"].get("map_summary") or i["content"].get("context_what") or ""
            emit(f"#{i['id']} {i['path']} ({i['reason']} {i['archived_at']}) {summary}")
        if not items:
            emit("no archived folders")
    return 0
