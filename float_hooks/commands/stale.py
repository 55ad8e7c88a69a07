from __future__ import annotations

import argparse

from float_hooks.commands import _common
from float_hooks.errors import EXIT_FOUND
from float_hooks.map.build import open_built
from float_hooks.output import bounded, emit, emit_json
from float_hooks.reads import history
from float_hooks.reads.stale import stale_list

HELP = "list folders whose context is stale, with the files that changed"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--check", action="store_true", help="exit 1 if any folder is stale")
    _common.add_json(p)


def run(args: argparse.Namespace) -> int:
    proj = _common.settled(_common.project(args))
    store = open_built(proj)
    items = stale_list(store.conn, history.of(proj, many=True))
    if args.json:
        emit_json(items)
    else:
        lines = []
        for item in items:
            files = item["changed_files"]
            shown = ", ".join(files[:5]) + (f" (+{len(files) - 5} more)" if len(files) > 5 else "")
            lines.append(f"{item['path']}: {len(files)} files changed"
                         + (f": {shown}" if files else ""))
        if lines:
            emit(bounded(lines, indent=""))
        else:
            emit("no stale folders")
    return EXIT_FOUND if args.check and items else 0
