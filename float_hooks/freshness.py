"""How `float-hooks mcp` keeps its answers fresh while an agent edits the work tree.

A sync of the work tree costs about one `git status` (0.3-0.45 s at 90k files: see
bench/README.md), too much to pay before every answer. So the server watches the work tree
(watchdog: inotify, FSEvents, ReadDirectoryChangesW) and syncs only when something changed
since its last sync:

- every change event bumps a generation counter; a sync records the generation it started
  at, so an edit made while a sync runs is never mistaken for synced;
- an answer first lets the watcher take in every event queued so far (a barrier: it writes a
  file of its own and waits for that event, which comes after every earlier one), then syncs
  if the generation moved (an edit of 5 files, then a call: the call syncs once, then answers
  with the edit in the map);
- a background loop in the server syncs once the tree has been quiet for a moment, so a
  subscribed agent hears about changes without asking, and the next call finds nothing to do;
- until the watcher is running (its start walks the tree), or if it cannot run (inotify's
  watch limit, no work tree), every answer syncs first: slower, never stale.

Events under ``.float/`` (our own writes) and ``.git/`` are ignored, except HEAD and refs
(a commit or a checkout moves the synced commit), and so are git-ignored directories
(``node_modules``, virtualenvs), read once when the watcher starts. Each sync is the one
every trigger runs (watch.sync_once: wait for a background hook, import a changed export,
sync, queue jobs per ``[trigger] on_commit``), in its own connection, so it can run in a
thread while the server keeps answering from its own.
"""

from __future__ import annotations

import bisect
import contextlib
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from float_hooks import context
from float_hooks.db import Store
from float_hooks.errors import FloatError, NoDatabase
from float_hooks.project import Project
from float_hooks.sync import BASE_KEY, SyncResult

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
        self._lock = threading.Lock()
        self._passed = threading.Condition()
        self._seen: set[str] = set()  # barrier files whose event has been handled
        self._barriers = 0
        self.barrier_prefix = os.path.join(os.fspath(project.float_dir),
                                           f"mcp-barrier-{os.getpid()}-")
        self._ignored: list[str] = []
        self._observer: Any = None

    def start(self) -> None:
        """Start watching (blocking: the observer walks the tree); never raises."""
        # the ignored directories only spare syncs; until they are known, every event counts
        threading.Thread(target=self._read_ignored, daemon=True).start()
        try:
            from watchdog.events import FileSystemEvent, FileSystemEventHandler
            from watchdog.observers import Observer

            watcher = self

            class Handler(FileSystemEventHandler):
                def on_any_event(self, event: FileSystemEvent) -> None:
                    if event.event_type in ("opened", "closed_no_write"):
                        return  # reads, not changes
                    for p in (event.src_path, getattr(event, "dest_path", "") or ""):
                        p = os.fsdecode(p)
                        if p.startswith(watcher.barrier_prefix):
                            if event.event_type == "created":
                                watcher.passed(p)
                        elif p and watcher.relevant(p):
                            watcher.bump()
                            return

            from watchdog.events import (
                DirCreatedEvent,
                DirDeletedEvent,
                DirMovedEvent,
                FileCreatedEvent,
                FileDeletedEvent,
                FileModifiedEvent,
                FileMovedEvent,
            )

            observer = Observer()
            observer.daemon = True
            # Changes only. By default inotify also reports every open and close: a `git
            # status` or a re-walk of 7.5k folders then overflows the kernel's queue (found
            # at 90k files: an endless overflow-and-rewalk loop).
            observer.schedule(Handler(), self.root, recursive=True, event_filter=[
                FileCreatedEvent, FileDeletedEvent, FileModifiedEvent, FileMovedEvent,
                DirCreatedEvent, DirDeletedEvent, DirMovedEvent])
            _on_overflow(self.bump)
            observer.start()
            self._observer = observer
        except Exception as e:  # inotify limits, a vanished directory: answers sync instead
            self.failed = f"{type(e).__name__}: {e}"
            return
        with self._lock:
            self.running = True
            self.generation += 1  # what changed before the watches were in place is unknown
        self.last_event = time.monotonic()

    def stop(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)

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
        with self._lock:
            self.generation += 1
            self.last_event = time.monotonic()

    def relevant(self, path: str) -> bool:
        rel = os.path.relpath(path, self.root)
        if rel.startswith(".."):
            return False
        parts = rel.split(os.sep)
        if parts[0] == ".float":
            return False
        if parts[0] == ".git":
            return len(parts) > 1 and parts[1] in _GIT_RELEVANT
        i = bisect.bisect_right(self._ignored, rel)
        return not (i and (rel == self._ignored[i - 1]
                           or rel.startswith(self._ignored[i - 1] + os.sep)))

    def _read_ignored(self) -> None:
        """Git-ignored directories (one `git ls-files --directory` line each)."""
        try:
            out = self.project.git.run("ls-files", "-z", "--others", "--ignored",
                                       "--exclude-standard", "--directory", check=False)
        except FloatError:
            return
        self._ignored = sorted(os.fsdecode(p).rstrip("/") for p in out.split(b"\0")
                               if p.endswith(b"/"))


def _on_overflow(bump: Callable[[], None]) -> None:
    """When the kernel's event queue overflows, events were lost without a trace: watchdog
    only logs it (and re-adds its watches). Count that as a change, so the next answer
    syncs rather than trusting a map that may have missed an edit."""
    import logging

    class Overflow(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "overflow" in record.getMessage():
                bump()

    logger = logging.getLogger("watchdog.observers.inotify_c")
    logger.addHandler(Overflow(logging.WARNING))
    logger.setLevel(min(logger.getEffectiveLevel(), logging.WARNING))


class LocalMap:
    """A work tree's map for the agent tools (agent_tools.Backend), kept fresh as above."""

    def __init__(self, project: Project, *, watch: bool = True):
        self.project = project
        self.watcher = Watcher(project) if watch and project.work_tree is not None else None
        self.synced = 0  # the watcher generation the last complete sync started at
        self.last_error: str | None = None
        self._sync_lock = threading.Lock()
        self._store: Store | None = None
        self._readonly: Store | None = None

    # -- freshness ---------------------------------------------------------------------
    def initialised(self) -> bool:
        return self.project.float_dir.is_dir()

    def needs_sync(self) -> bool:
        if self.project.work_tree is None:
            return False  # a bare repository: the hooks keep the map at the commits
        if self.watcher is None or not self.watcher.running:
            return True
        return self.watcher.generation > self.synced

    def catch_up(self) -> SyncResult | None:
        """Before an answer: take in every change made so far, then sync if there was one
        (blocking: call it from a worker thread)."""
        if self.watcher is not None and self.watcher.running and self.initialised():
            self.watcher.barrier()
        return self.sync()

    def sync(self) -> SyncResult | None:
        """Sync the work tree if anything may have changed since the last sync (blocking;
        callable from any thread). Never raises: a failure (a locked DB) is remembered and
        the answer says its snapshot may be behind."""
        if not self.initialised():
            return None
        with self._sync_lock:
            if not self.needs_sync():
                return None
            started = self.watcher.generation if self.watcher is not None else 0
            from float_hooks.watch import sync_once

            try:
                result = sync_once(self.project)
            except FloatError as e:
                self.last_error = str(e)
                return None
            self.last_error = None
            self.synced = started
            return result

    # -- agent_tools.Backend -------------------------------------------------------------
    def store(self) -> Store:
        if not self.initialised():
            where = self.project.work_tree or self.project.git.git_dir
            raise NoDatabase(f"{where}: no .float/ here yet; run `float-hooks init` first")
        if self._store is None:
            self._store = self.project.open_store(create=True)
        return self._store

    def readonly(self) -> Store:
        if self._readonly is None:
            self.store()  # the schema exists before a read-only connection looks at it
            self._readonly = self.project.open_readonly()
        return self._readonly

    def freshness(self, store: Store) -> dict[str, Any]:
        # without a running watcher every answer syncs first, so only a failed sync leaves
        # it behind; with one, an edit since the last sync does
        watching = self.watcher is not None and self.watcher.running
        unsynced = self.last_error is not None or (watching and self.needs_sync())
        out: dict[str, Any] = {
            "snapshot": store.get_meta("snapshot"),  # worktree, index, or the commit synced
            "head": store.get_meta(BASE_KEY) or None,
            "synced_at": store.get_meta("synced_at"),
            "unsynced_changes": unsynced,
            "watching": watching,
        }
        if unsynced:
            out["note"] = ("the work tree may have changes the map does not show yet"
                           + (f" ({self.last_error})" if self.last_error else ""))
        return out

    def history(self, many: bool) -> context.History | None:
        from float_hooks import history

        return history.of(self.project, many=many)

    def close(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
        for s in (self._store, self._readonly):
            if s is not None:
                s.close()
        self._store = self._readonly = None
