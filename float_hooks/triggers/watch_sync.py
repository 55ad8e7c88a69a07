"""`watch`: a file watcher that syncs the work tree when files change.

Which events count is tree_watcher.py's, the same filter `float-hooks mcp` uses: our own writes in
``.float/``, git's internals (but HEAD and refs: a commit or a checkout moves the synced
commit) and git-ignored directories (``node_modules``, build output) never wake it. Events are
debounced: a sync runs once the tree has been quiet for ``debounce`` seconds (an editor's
save or a ``git checkout`` is a burst of events, not one each). Each sync is the same
``build.sync`` -> ``after_sync`` every trigger runs, so jobs are queued (or a background worker
started) exactly as ``[trigger] on_commit`` says. Ctrl-C (or SIGTERM) stops it cleanly: the
observer thread is stopped and joined, and a sync in progress finishes first.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from float_hooks.errors import FloatError
from float_hooks.map import build
from float_hooks.map.sync import SyncResult
from float_hooks.project import Project
from float_hooks.repo.snapshot import Target
from float_hooks.triggers import after_sync
from float_hooks.triggers.tree_watcher import Watcher

TICK_SECONDS = 0.2


def sync_once(project: Project) -> SyncResult:
    # after a post-commit still syncing in the background, not before it (it would then
    # leave the map at the commit rather than the work tree)
    project.wait_for_hooks()
    store = project.open_store()
    try:
        result = build.sync(project, store, Target("worktree"))
        after_sync.after_sync(project, store, result, "watch")
        return result
    finally:
        store.close()


def watch(project: Project, *, debounce: float, report: Callable[[SyncResult], None],
          ready: Callable[[], None] | None = None, stop: threading.Event | None = None,
          tick: Callable[[], None] | None = None, watcher: Watcher | None = None) -> None:
    """Watch until ``stop`` is set (SIGINT and SIGTERM set it when run in the main thread).
    ``tick`` is called every TICK_SECONDS, after each sync and once more at the end
    (``--events`` polls the map with it). ``watcher``: one not started yet, to look at."""
    root = watched_root(project)
    watcher = watcher or Watcher(project)
    stop = stop or threading.Event()
    restore = _on_signals(stop.set)
    watcher.start()
    try:
        if watcher.failed:
            raise FloatError(f"cannot watch {root}: {watcher.failed}")
        synced = watcher.generation
        report(sync_once(project))  # catch up with whatever changed while nobody watched
        if ready is not None:
            ready()
        while not stop.is_set():
            if tick is not None:
                tick()
            with watcher.changed:
                if watcher.generation == synced:
                    watcher.changed.wait(timeout=1.0 if tick is None else TICK_SECONDS)
                    continue
                quiet = time.monotonic() - watcher.last_event
                if quiet < debounce:
                    watcher.changed.wait(timeout=debounce - quiet)
                    continue
                synced = watcher.generation  # what changes during the sync syncs again
            report(sync_once(project))
        if tick is not None:
            tick()
    finally:
        watcher.stop()
        restore()


def _on_signals(handler: Callable[[], Any]) -> Callable[[], None]:
    """Route SIGINT/SIGTERM to ``handler`` (main thread only); returns the undo."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for s in previous:
        signal.signal(s, lambda _sig, _frame: handler())

    def restore() -> None:
        for s, h in previous.items():
            signal.signal(s, h)

    return restore


def watched_root(project: Project) -> Path:
    if project.work_tree is None:
        raise FloatError("watch needs a work tree (this is a bare repository)")
    return project.work_tree
