from __future__ import annotations

import argparse
import threading

from float_hooks.agents.fresh_answers import LocalMap
from float_hooks.agents.outliner import Outliner
from float_hooks.commands import _common

HELP = ("serve the map to coding agents over MCP (stdio): tools, resources, live updates;"
        " `agents install` registers it")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-watch", action="store_true",
                   help="do not watch the work tree: every answer syncs it first (slower)")


def run(args: argparse.Namespace) -> int:
    local = LocalMap(_common.project(args), watch=not args.no_watch)
    local.outliner = Outliner(local.project)  # started once the map is synced (_warm)
    # The SDK is slow to import here; the watcher's start and the first sync (a `git
    # status`) run meanwhile, so the first answer does not wait for both in turn.
    threading.Thread(target=_warm, args=(local,), daemon=True).start()
    from float_hooks.agents.mcp_server import serve_stdio  # lazy: the MCP SDK, see above

    try:
        serve_stdio(local)
    finally:
        local.close()
    return 0


def _warm(local: object) -> None:
    assert isinstance(local, LocalMap)
    if not local.initialised():
        return
    if local.watcher is not None:
        local.watcher.start()
    local.sync()
    if local.outliner is not None:
        local.outliner.start()
