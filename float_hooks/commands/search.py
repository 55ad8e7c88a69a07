from __future__ import annotations

import argparse
import os
import sys

from float_hooks.commands import _common
from float_hooks.output import emit, emit_json
from float_hooks.project import Project
from float_hooks.reads import anchored, search

HELP = ("find folders by name or path, then search (ranked) the context of folders, decisions"
        " and open questions")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("query", help="words (a trailing * matches a prefix), or a folder's name,"
                                 " a file's name or a folder path")
    p.add_argument("--limit", type=int, default=20, metavar="N",
                   help="show at most N matches (default: 20)")
    _common.add_json(p)


def run(args: argparse.Namespace) -> int:
    store = _common.store(args)
    # matched words: «word» in JSON and plain text, bold on a terminal (not with NO_COLOR)
    bold = not args.json and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    hits = search.search(store.conn, args.query, args.limit,
                         marks=search.BOLD if bold else search.MARKS)
    anchored.search_hits(anchored.evaluator(store.conn, Project.discover(args.repo).git),
                         store.conn, hits)
    if args.json:
        emit_json(hits)
    else:
        for h in hits:
            bad = ", ".join(f"{a['state']}: {a['anchor']}" for a in h.get("anchors_flagged", []))
            emit(f"{h['kind']:<9} {h['id']}  {h['title'] or ''}".rstrip()
                 + (f"  [anchors {bad}]" if bad else "") + f"\n          {h['snippet']}")
        if not hits:
            emit("no matches")
    return 0
