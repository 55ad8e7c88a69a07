"""How `float-hooks mcp` keeps its answers fresh while an agent edits the work tree.

A sync of the work tree costs about one `git status` (0.3-0.45 s at 90k files: see
docs/performance.md), too much to pay before every answer. So the server watches the work tree
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

Which events count is tree_watcher.py's (the same for `float-hooks watch`): ``.float/`` and
``.git/`` are noise but for HEAD and refs, and so are git-ignored directories. Each sync is
the one every trigger runs (watch.sync_once: wait for a background hook, import a changed export,
sync, queue jobs per ``[trigger] on_commit``), in its own connection, so it can run in a
thread while the server keeps answering from its own.
"""

from __future__ import annotations

import threading
from typing import Any

from float_hooks import paths
from float_hooks.agents.outliner import Outliner
from float_hooks.errors import FloatError, NoDatabase
from float_hooks.map.build import open_built
from float_hooks.map.sync import SyncResult
from float_hooks.project import Project
from float_hooks.reads import history, stale
from float_hooks.repo.git import parse_status
from float_hooks.store.db import BASE_KEY, Store
from float_hooks.triggers.tree_watcher import Watcher
from float_hooks.triggers.watch_sync import sync_once

SHOWN_FOLDERS = 10


def work_tree_changes(project: Project) -> dict[str, Any]:
    """What the work tree changes against HEAD (``git status``, one process): how many files
    and the folders holding them (the first SHOWN_FOLDERS), for an answer the map could not
    be synced for."""
    if project.work_tree is None:
        return {"changed_files": 0, "changed_folders": []}
    try:
        out = project.git.run("--no-optional-locks", "status", "--porcelain=v2", "-z",
                              "--untracked-files=all", "--no-renames")
    except FloatError:
        return {"changed_files": None, "changed_folders": []}
    changed = [p for p in (paths.from_git(s.raw) for s in parse_status(out))
               if not p.startswith("/.float/")]  # the map's own files are not in it
    folders = sorted({paths.parent(p) for p in changed})
    return {"changed_files": len(changed), "changed_folders": folders[:SHOWN_FOLDERS]}


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
        # outlines code files in the background (the stdio server sets it: mcp.py); without
        # one, `search` and `where` outline what they need first (read_answers.py)
        self.outliner: Outliner | None = None

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
            self._store = open_built(self.project, create=True)
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
            if self.last_error is not None:
                out.update(work_tree_changes(self.project))
                out["note"] += (f"; {out['changed_files']} files differ from HEAD in the work"
                                " tree" + (f" (in {', '.join(out['changed_folders'])})"
                                           if out["changed_folders"] else ""))
        return out

    def history(self, many: bool) -> stale.History | None:
        return history.of(self.project, many=many)

    def close(self) -> None:
        if self.outliner is not None:
            self.outliner.stop()
        if self.watcher is not None:
            self.watcher.stop()
        for s in (self._store, self._readonly):
            if s is not None:
                s.close()
        self._store = self._readonly = None
