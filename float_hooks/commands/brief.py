from __future__ import annotations

import argparse
import json

from float_hooks.commands import _common, _reads
from float_hooks.output import emit
from float_hooks.reads import brief

HELP = "what an agent should know at session start (at most 10,000 characters)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    _common.add_json(p)
    p.add_argument("--cursor", action="store_true",
                   help='print {"additional_context": BRIEF}, what a Cursor sessionStart hook'
                        " reads")


def run(args: argparse.Namespace) -> int:
    _common.require_initialised(_common.project(args))  # a brief never builds a map
    m = _reads.fresh_map(args)
    try:
        store = m.store()
        data = brief.gather(m.project, store)
        data["freshness"] = m.freshness(store)
    finally:
        m.close()
    if args.json:
        emit(brief.as_json(data))
    elif args.cursor:
        text = brief.render(data)
        while len(json.dumps({"additional_context": text})) > brief.LIMIT:
            text = brief.render(data, limit=len(text) - 500)  # escapes made it longer
        emit(json.dumps({"additional_context": text}))
    else:
        emit(brief.render(data).rstrip("\n"))
    return 0
