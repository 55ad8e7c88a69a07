from __future__ import annotations

import argparse

from float_hooks.agents import read_answers
from float_hooks.commands import _reads
from float_hooks.commands._common import add_json
from float_hooks.errors import EXIT_FOUND
from float_hooks.output import bounded, emit, emit_json

HELP = "list folders whose context is stale, with the files that changed"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--check", action="store_true", help="exit 1 if any folder is stale")
    p.add_argument("--limit", type=int, default=None, metavar="N",
                   help="explain at most N folders (default: all)")
    add_json(p)


def run(args: argparse.Namespace) -> int:
    m = _reads.fresh_map(args)
    try:
        answer = read_answers.stale_answer(m, None if args.limit is None else max(1, args.limit))
    finally:
        m.close()
    items = answer["folders"]
    if args.json:
        emit_json(answer)
    else:
        _reads.say_freshness(answer["freshness"])
        lines = []
        for item in items:
            files = item["changed_files"]
            shown = ", ".join(files[:5]) + (f" (+{len(files) - 5} more)" if len(files) > 5 else "")
            lines.append(f"{item['path']}: {len(files)} files changed"
                         + (f": {shown}" if files else ""))
        if lines:
            emit(bounded(lines, indent=""))  # --json has every one
        if answer["more"]:
            emit(f"... and {answer['more']} more")
        if not items:
            emit("no stale folders")
    return EXIT_FOUND if args.check and answer["total"] else 0
