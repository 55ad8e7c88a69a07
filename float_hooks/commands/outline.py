from __future__ import annotations

import argparse

from float_hooks.code.answers import outline_of, symbol_line
from float_hooks.code.parse import Symbol
from float_hooks.commands import _common
from float_hooks.output import emit, emit_json

HELP = "the symbols a file defines (kind, line, signature, first doc sentence), or a folder's"\
       " files ranked with their most important symbols"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", type=_common.folder_arg, help="a file or a folder, e.g. src/app.py")
    p.add_argument("--limit", type=int, default=200, help="at most this many symbols (200)")
    _common.add_json(p)


def run(args: argparse.Namespace) -> int:
    proj = _common.settled(_common.project(args))
    store = _common.ready(proj)
    data = outline_of(store.conn, proj.git, args.path, max(1, args.limit))
    if args.json:
        emit_json(data)
        return 0
    folder = data["folder"]
    emit(f"{data['path']}  (folder {folder['path']} [{folder.get('status')}])")
    if data["kind"] == "file":
        if not data["outlined"]:
            emit("  not a language float-hooks outlines")
        for s in data["symbols"]:
            emit("  " + symbol_line(Symbol(**s)))
    else:
        for f in data["files"]:
            emit(f"{f['path']}")
            for s in f["symbols"]:
                emit("  " + symbol_line(Symbol(**s)))
    if data["more"]:
        emit(f"({data['more']} more symbols; raise --limit)")
    return 0
