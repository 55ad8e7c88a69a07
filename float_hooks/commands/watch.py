from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from float_hooks.commands import _common
from float_hooks.map.sync import SyncResult
from float_hooks.output import emit
from float_hooks.project import Project
from float_hooks.triggers import watch_sync
from float_hooks.triggers.live_events import MapEvents

HELP = ("watch the work tree and sync it when files change (debounced), queueing"
        " regeneration per [trigger] on_commit; Ctrl-C stops it")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--debounce", type=float, default=0.5, metavar="SECONDS",
                   help="sync once the tree has been quiet this long (default 0.5)")
    p.add_argument("--events", action="store_true",
                   help="print what happens to the map as JSON lines (sync and context"
                        " events, as the webhook server streams them), from any writer:"
                        " this watcher, the git hooks, regenerate, set, agents")


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
    proj = _common.project(args)
    _common.require_initialised(proj)
    root = watch_sync.watched_root(proj)

    if args.events:
        return _events(proj, root, max(0.0, args.debounce))

    def ready() -> None:
        emit(f"watching {root} (Ctrl-C to stop)")
        sys.stdout.flush()

    watch_sync.watch(proj, debounce=max(0.0, args.debounce), report=_report, ready=ready)
    emit("stopped")
    return 0


def _events(proj: Project, root: Path, debounce: float) -> int:
    """``--events``: one JSON object per line on stdout; the messages go to stderr."""
    events = MapEvents(proj.db_path, str(root))
    events.poll()  # the baseline: what the first sync changes is reported

    def tick() -> None:
        for event in events.poll():
            sys.stdout.write(json.dumps(event) + "\n")
        sys.stdout.flush()

    def ready() -> None:
        print(f"watching {root} (Ctrl-C to stop)", file=sys.stderr)

    watch_sync.watch(proj, debounce=debounce, report=lambda _result: None, ready=ready, tick=tick)
    print("stopped", file=sys.stderr)
    return 0
