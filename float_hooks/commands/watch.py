from __future__ import annotations

import argparse
import sys

from float_hooks.commands import _common
from float_hooks.output import emit
from float_hooks.sync import SyncResult

HELP = ("watch the work tree and sync it when files change (debounced), queueing"
        " regeneration per [trigger] on_commit; Ctrl-C stops it")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--debounce", type=float, default=0.5, metavar="SECONDS",
                   help="sync once the tree has been quiet this long (default 0.5)")


def _report(result: SyncResult) -> None:
    a = result.applied
    if a.files_changed:
        line = f"synced: {a.files_changed} files changed"
        if a.became_stale:
            line += f"; stale: {' '.join(a.became_stale)}"
        if a.became_current:
            line += f"; current again: {' '.join(a.became_current)}"
        emit(line)
        sys.stdout.flush()


def run(args: argparse.Namespace) -> int:
    from float_hooks import watch

    proj = _common.project(args)
    _common.require_initialised(proj)
    root = watch.watched_root(proj)

    def ready() -> None:
        emit(f"watching {root} (Ctrl-C to stop)")
        sys.stdout.flush()

    watch.watch(proj, debounce=max(0.0, args.debounce), report=_report, ready=ready)
    emit("stopped")
    return 0
