"""The stdio MCP server's background outliner: it outlines the map's code files while the
server is idle, so that a tool call never waits for outlining (issue 29: a search that caught
up outlines itself took 0.6-0.8 s at 90,000 files).

- It runs in a thread of its own on a connection of its own (WAL: the server's readers are
  never blocked), in small batches, each its own short write transaction (code/cache.py:
  ``BEGIN IMMEDIATE`` under the project's busy timeout, commit per batch): a hook or a CLI
  writer waits at most one batch, and a kill loses at most the batch it was writing.
- Between batches it steps aside while a tool call runs (``calling``), and it looks for work
  every POLL seconds: after a sync changed folders, their files are outlined next
  (code/answers.py: ``missing`` follows the change, not the repository).
- ``progress`` is what `search` and `where` say while outlines are incomplete.
- ``FLOAT_HOOKS_OUTLINE_HOLD=<file>``: while that file exists the outliner waits (tests look at
  answers before and after it ran; the file is the switch because its deletion needs no word
  with the server).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from typing import Any

from float_hooks.code import answers
from float_hooks.code.cache import outlines
from float_hooks.errors import FloatError
from float_hooks.project import Project
from float_hooks.store.db import Store

BATCH = 4  # files per write transaction
POLL = 0.25  # seconds between looks for work when there is none
BACKOFF = 30.0  # seconds before trying again after a round that stored nothing
HOLD_ENV = "FLOAT_HOOKS_OUTLINE_HOLD"


class Outliner:
    def __init__(self, project: Project):
        self.project = project
        self.calling = 0  # tool calls running now (the server's event loop counts them)
        self.done = 0  # files outlined by the current round
        self.pending: int | None = None  # files left in it; None: not counted yet
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="float-hooks outliner",
                                            daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the batch in hand (committed or rolled back: never half-written)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def progress(self, conn: sqlite3.Connection) -> dict[str, Any] | None:
        """None when every code file is outlined (two indexed reads); else how far the
        background outlining is, for an answer that may miss symbols."""
        try:
            if answers.all_outlined(conn):
                return None
        except sqlite3.Error:
            pass
        return {"complete": False, "done": self.done, "pending": self.pending or None,
                "note": "code files are being outlined in the background: symbols of those"
                        " not outlined yet are missing from this answer"}

    # -- the thread ----------------------------------------------------------------------
    def _run(self) -> None:
        store: Store | None = None
        last: int | None = None  # files missing at the start of the previous round
        try:
            while not self._stop.is_set():
                wait = POLL
                try:
                    if not self._held():
                        if store is None:
                            store = self.project.open_store(create=False)
                        left = self._round(store.conn)
                        if left and last is not None and left >= last:
                            wait = BACKOFF  # nothing stored (a read-only or locked map)
                        last = left or None
                        if left and wait == POLL:
                            continue  # look again at once: verify, then mark complete
                except (FloatError, sqlite3.Error, OSError):
                    wait = BACKOFF if store is not None else POLL
                self._stop.wait(wait)
        finally:
            if store is not None:
                store.close()

    def _held(self) -> bool:
        hold = os.environ.get(HOLD_ENV)
        return hold is not None and hold != "" and os.path.exists(hold)

    def _round(self, conn: sqlite3.Connection) -> int:
        """Outline what is missing, a batch at a time; how many files were missing (0: every
        file is outlined, and recorded so)."""
        todo = answers.missing(conn)
        if todo is None:
            self.pending = 0
            return 0
        mark, files = todo
        if not files:
            answers.outlined_through(conn, mark)
            self.pending = 0
            return 0
        self.done, self.pending = 0, len(files)
        git = self.project.git
        for i in range(0, len(files), BATCH):
            while self.calling and not self._stop.is_set():
                time.sleep(0.002)  # a tool call runs: it has the interpreter to itself
            if self._stop.is_set() or self._held():
                break
            batch = files[i:i + BATCH]
            outlines(conn, git, batch)  # one write transaction (cache._store)
            self.done += len(batch)
            self.pending = len(files) - self.done
            time.sleep(0)  # let the server's threads have the interpreter
        return len(files)
