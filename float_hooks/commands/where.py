from __future__ import annotations

import argparse

from float_hooks.code.answers import where
from float_hooks.commands import _common
from float_hooks.output import emit, emit_json

HELP = "where a symbol is defined: file, line, signature and the folder's freshness"\
       " (NAME, Class.method or Type::method)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", help="a function, class, type... e.g. Flask or Flask.route")
    p.add_argument("--limit", type=int, default=50, help="at most this many places (50)")
    _common.add_json(p)


def run(args: argparse.Namespace) -> int:
    proj = _common.settled(_common.project(args))
    store = _common.ready(proj)
    data = where(store.conn, proj.git, args.name, max(1, args.limit))
    if args.json:
        emit_json(data)
        return 0
    if not data["places"]:
        emit(f"{data['name']}: not defined in any outlined file")
        return 0
    for p in data["places"]:
        doc = f"  -- {p['doc']}" if p["doc"] else ""
        emit(f"{p['path']}:{p['line']}  {p['kind']} {p['signature']}{doc}"
             f"  [{p['folder'].get('status')}]")
    if data["more"]:
        emit(f"({data['more']} more; raise --limit)")
    return 0
