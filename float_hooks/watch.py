"""`watch`: a file watcher (watchdog) that syncs the work tree when files change.

Events are debounced: a sync runs once the tree has been quiet for ``debounce`` seconds (an
editor's save or a ``git checkout`` is a burst of events, not one each). Each sync is the same
``build.sync`` -> ``after_sync`` every trigger runs, so jobs are queued (or a
background worker started) exactly as ``[trigger] on_commit`` says. Events inside ``.git/`` and
``.float/`` are ignored: our own DB writes must not wake us. Ctrl-C (or SIGTERM) stops it
cleanly: the observer thread is stopped and joined, and a sync in progress finishes first.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from float_hooks.project import Project
from float_hooks.sync import SyncResult

IGNORED_DIRS = (".git", ".float")
TICK_SECONDS = 0.2


class _Changes:
    """Thread-safe "something changed at time t" flag the observer thread sets."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.last: float | None = None

    def touch(self) -> None:
        with self.cond:
            self.last = time.monotonic()
            self.cond.notify_all()


def _relevant(root: str, path: str) -> bool:
    rel = os.path.relpath(path, root)
    first = rel.split(os.sep, 1)[0]
    return first not in IGNORED_DIRS and not rel.startswith("..")


def sync_once(project: Project) -> SyncResult:
    from float_hooks import build, triggers
    from float_hooks.snapshot import Target

    # after a post-commit still syncing in the background, not before it (it would then
    # leave the map at the commit rather than the work tree)
    project.wait_for_hooks()
    store = project.open_store(build=False)
    try:
        result = build.sync(project, store, Target("worktree"))
        triggers.after_sync(project, store, result, "watch")
        return result
    finally:
        store.close()


def watch(project: Project, *, debounce: float, report: Callable[[SyncResult], None],
          ready: Callable[[], None] | None = None, stop: threading.Event | None = None,
          tick: Callable[[], None] | None = None) -> None:
    """Watch until ``stop`` is set (SIGINT and SIGTERM set it when run in the main thread).
    ``tick`` is called every TICK_SECONDS, after each sync and once more at the end
    (``--events`` polls the map with it)."""
    from watchdog.events import FileSystemEvent, FileSystemEventHandler
    from watchdog.observers import Observer

    assert project.work_tree is not None
    root = str(project.work_tree)
    changes = _Changes()
    stop = stop or threading.Event()

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event: FileSystemEvent) -> None:
            if event.event_type in ("opened", "closed_no_write"):
                return  # reads, not changes
            paths = [event.src_path, getattr(event, "dest_path", "") or ""]
            if any(p and _relevant(root, os.fsdecode(p)) for p in paths):
                changes.touch()

    restore = _on_signals(stop.set)
    observer = Observer()
    observer.schedule(Handler(), root, recursive=True)
    observer.start()
    try:
        report(sync_once(project))  # catch up with whatever changed while nobody watched
        if ready is not None:
            ready()
        while not stop.is_set():
            if tick is not None:
                tick()
            with changes.cond:
                if changes.last is None:
                    changes.cond.wait(timeout=1.0 if tick is None else TICK_SECONDS)
                    continue
                quiet = time.monotonic() - changes.last
                if quiet < debounce:
                    changes.cond.wait(timeout=debounce - quiet)
                    continue
                changes.last = None
            report(sync_once(project))
        if tick is not None:
            tick()
    finally:
        observer.stop()
        observer.join(timeout=10)
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
        from float_hooks.errors import FloatError

        raise FloatError("watch needs a work tree (this is a bare repository)")
    return project.work_tree
