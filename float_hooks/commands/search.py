from __future__ import annotations

import argparse

from float_hooks import records
from float_hooks.commands import _common
from float_hooks.output import emit, emit_json

HELP = "full-text search (ranked) over folder context, decisions and open questions"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("query", help="words; a trailing * matches a prefix")
    p.add_argument("--limit", type=int, default=20, metavar="N",
                   help="show at most N matches (default: 20)")
    _common.add_json(p)


def run(args: argparse.Namespace) -> int:
    store = _common.store(args)
    hits = records.search(store.conn, args.query, args.limit)
    if args.json:
        emit_json(hits)
    else:
        for h in hits:
            emit(f"{h['kind']:<9} {h['id']}  {h['title'] or ''}\n          {h['snippet']}")
        if not hits:
            emit("no matches")
    return 0
