"""One watcher of a work tree (watchdog: inotify, FSEvents, ReadDirectoryChangesW), shared by
`float-hooks watch` and `float-hooks mcp`: which events are changes a sync would see, counted
as generations.

- Only changes are watched (created, deleted, modified, moved). By default inotify also
  reports every open and close: a `git status` or a re-walk of 7.5k folders then overflows
  the kernel's queue (found at 90k files: an endless overflow-and-rewalk loop). An overflow
  that does happen counts as a change: events were lost, so the next look syncs.
- Events under ``.float/`` (our own writes: the DB, its journal, barrier files) and ``.git/``
  are noise, except HEAD and refs (a commit or a checkout moves the synced commit), and so are
  git-ignored directories (``node_modules``, virtualenvs, build output), read once when the
  watcher starts (:attr:`Watcher.ignored_read` is set once they are known; until then every
  event counts).
- Every change bumps :attr:`Watcher.generation`; a sync records the generation it started
  at, so an edit made while a sync runs is never mistaken for synced. :meth:`Watcher.barrier`
  returns once every event queued before it has been handled.
"""

from __future__ import annotations

import bisect
import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from float_hooks.errors import FloatError
from float_hooks.project import Project

_GIT_RELEVANT = ("HEAD", "packed-refs", "refs")


class Watcher:
    """Change generations for a work tree, from a watchdog observer."""

    def __init__(self, project: Project):
        assert project.work_tree is not None
        self.project = project
        self.root = os.fspath(project.work_tree)
        self.generation = 1  # > synced: unknown changes until the first sync
        self.running = False
        self.failed: str | None = None
        self.last_event = 0.0  # time.monotonic() of the last relevant event
        self.changed = threading.Condition()  # notified on each bump
        self.ignored_read = threading.Event()
        self._passed = threading.Condition()
        self._seen: set[str] = set()  # barrier files whose event has been handled
        self._barriers = 0
        self.barrier_prefix = os.path.join(os.fspath(project.float_dir),
                                           f"watch-barrier-{os.getpid()}-")
        self._ignored: list[str] = []
        self._observer: Any = None
        self._overflow: Any = None  # its handler on watchdog's logger, removed by stop()

    def start(self) -> None:
        """Start watching (blocking: the observer walks the tree); never raises: on failure
        (inotify's watch limit, a vanished directory) ``failed`` says why."""
        # the ignored directories only spare syncs; until they are known, every event counts
        threading.Thread(target=self._read_ignored, daemon=True).start()
        try:
            from watchdog.events import (  # lazy: only the watchers need it
                DirCreatedEvent,
                DirDeletedEvent,
                DirMovedEvent,
                FileCreatedEvent,
                FileDeletedEvent,
                FileModifiedEvent,
                FileMovedEvent,
                FileSystemEvent,
                FileSystemEventHandler,
            )
            from watchdog.observers import Observer  # lazy: only the watchers need it

            watcher = self

            class Handler(FileSystemEventHandler):
                def on_any_event(self, event: FileSystemEvent) -> None:
                    if event.event_type in ("opened", "closed_no_write"):
                        return  # reads, not changes (where the filter is not applied)
                    for p in (event.src_path, getattr(event, "dest_path", "") or ""):
                        p = os.fsdecode(p)
                        if p.startswith(watcher.barrier_prefix):
                            if event.event_type == "created":
                                watcher.passed(p)
                        elif p and watcher.relevant(p):
                            watcher.bump()
                            return

            observer = Observer()
            observer.daemon = True
            observer.schedule(Handler(), self.root, recursive=True, event_filter=[
                FileCreatedEvent, FileDeletedEvent, FileModifiedEvent, FileMovedEvent,
                DirCreatedEvent, DirDeletedEvent, DirMovedEvent])
            self._overflow = _on_overflow(self.bump)
            observer.start()
            self._observer = observer
        except Exception as e:
            self.failed = f"{type(e).__name__}: {e}"
            return
        with self.changed:
            self.running = True
            self.generation += 1  # what changed before the watches were in place is unknown
            self.last_event = time.monotonic()

    def stop(self) -> None:
        if self._overflow is not None:
            logging.getLogger(_INOTIFY_LOGGER).removeHandler(self._overflow)
            self._overflow = None
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=10)

    def barrier(self, timeout: float = 2.0) -> None:
        """Return once every event the kernel queued before this call has been handled.

        Events reach the handler through the observer's threads some time after the write
        that caused them: an edit made just before a call could still be on its way when the
        call asks whether anything changed. So the call creates a file of its own (in .float/,
        git-ignored as ``*.lock``) and waits for its event: inotify delivers one queue in
        order, so everything before it has been handled by then. If it does not come in time,
        the call counts as a change (a sync, never a stale answer)."""
        with self._passed:
            self._barriers += 1
            path = f"{self.barrier_prefix}{self._barriers}.lock"
        try:
            with open(path, "w"):
                pass
        except OSError:
            self.bump()
            return
        try:
            with self._passed:
                if not self._passed.wait_for(lambda: path in self._seen, timeout):
                    self.bump()
                self._seen.discard(path)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(path)

    def passed(self, path: str) -> None:
        with self._passed:
            self._seen.add(path)
            self._passed.notify_all()

    def bump(self) -> None:
        with self.changed:
            self.generation += 1
            self.last_event = time.monotonic()
            self.changed.notify_all()

    def relevant(self, path: str) -> bool:
        """Whether an event on ``path`` may change what a work-tree sync sees."""
        rel = os.path.relpath(path, self.root)
        if rel.startswith(".."):
            return False
        parts = rel.split(os.sep)
        if parts[0] == ".float":
            return False
        if parts[0] == ".git":
            return len(parts) > 1 and parts[1] in _GIT_RELEVANT
        # entries end with a separator, so "build/" never counts "build-tmp/x" in (nor the
        # reverse); no entry is inside another, so the one just below is the only candidate
        key = rel + os.sep
        i = bisect.bisect_right(self._ignored, key)
        return not (i and key.startswith(self._ignored[i - 1]))

    def _read_ignored(self) -> None:
        """Git-ignored directories (one `git ls-files --directory` line each)."""
        try:
            out = self.project.git.run("ls-files", "-z", "--others", "--ignored",
                                       "--exclude-standard", "--directory", check=False)
            self._ignored = sorted(os.fsdecode(p).rstrip("/") + os.sep
                                   for p in out.split(b"\0") if p.endswith(b"/"))
        except FloatError:
            pass
        finally:
            self.ignored_read.set()


_INOTIFY_LOGGER = "watchdog.observers.inotify_c"


def _on_overflow(bump: Callable[[], None]) -> Any:
    """When the kernel's event queue overflows, events were lost without a trace: watchdog
    only logs it (and re-adds its watches). Count that as a change, so the next look syncs
    rather than trusting a map that may have missed an edit."""
    class Overflow(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "overflow" in record.getMessage():
                bump()

    logger = logging.getLogger(_INOTIFY_LOGGER)
    handler = Overflow(logging.WARNING)
    logger.addHandler(handler)
    logger.setLevel(min(logger.getEffectiveLevel(), logging.WARNING))
    return handler
