from __future__ import annotations

import argparse
import os
import sys

from float_hooks.agents import read_answers
from float_hooks.commands import _common, _reads
from float_hooks.output import emit, emit_json
from float_hooks.reads import search

HELP = ("ask a question or give words: ranked search over folder context, file summaries and"
        " names, symbols, decisions and open questions")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("query", help="a question or words (a trailing * matches a prefix), or a"
                                 " folder's name, a file's name or a folder path")
    p.add_argument("--limit", type=int, default=20, metavar="N",
                   help="show at most N matches (default: 20, at most 200)")
    _common.add_json(p)


def run(args: argparse.Namespace) -> int:
    m = _reads.fresh_map(args)
    # matched words: «word» in JSON and plain text, bold on a terminal (not with NO_COLOR)
    bold = not args.json and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    try:
        answer = read_answers.search_answer(m, args.query, max(1, min(args.limit, 200)),
                                     marks=search.BOLD if bold else search.MARKS)
    finally:
        m.close()
    if args.json:
        emit_json(answer)
        return 0
    _reads.say_freshness(answer["freshness"])
    for h in answer["results"]:
        where = h["id"] if h["kind"] != "symbol" else f"{h['path']}:{h['line']}"
        status = h["status"] or "-"
        if h.get("changed_files_total"):
            status += f": {h['changed_files_total']} files changed since its context"
        elif h.get("changed_since_context"):
            status += ": this file changed since"
        bad = ", ".join(f"{a['state']}: {a['anchor']}" for a in h.get("anchors_flagged", []))
        emit(f"{h['kind']:<9} {where}  [{status}]  {h['title'] or ''}".rstrip()
             + (f"  [anchors {bad}]" if bad else "") + f"\n          {h['snippet']}")
    if not answer["results"]:
        emit("no matches")
    return 0
