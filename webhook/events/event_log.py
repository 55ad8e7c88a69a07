"""The server's event log: what happened to each repository (``delivery``, ``sync``,
``context``), numbered, for the event stream (stream.py) and the dashboard.

The embedded log is ``DATA_DIR/events.db`` (SQLite, WAL): every gunicorn worker process, its
job processes and ``python -m webhook.worker`` on one host append to it and read from it. Ids
come from one AUTOINCREMENT counter, so they only grow (a client resumes after the last one it
saw, ``Last-Event-ID``). The backlog is bounded: once ``KEEP`` events are stored, the oldest go.

An event is a notification, not a record: the maps and the delivery queue hold the truth, so
an append that fails (a full disk, a lock held too long) is logged and dropped, never allowed
to fail the delivery or the job that emitted it (``emit``).

Waiting (``wait``) costs one ``PRAGMA data_version`` every ``POLL_SECONDS`` per process while
at least one stream waits, however many streams do (one watcher thread per process, parked
when nobody waits); an append in the same process wakes its waiters at once.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from float_hooks.triggers.live_events import event_time

if TYPE_CHECKING:
    pass

log = logging.getLogger("webhook")

DB_FILE = "events.db"
KEEP = 10_000  # events kept, all repositories together; older ones are trimmed
TRIM_EVERY = 100  # trim once per this many appends
POLL_SECONDS = 0.1  # how often a waiting process looks for other processes' appends
WRITE_DEADLINE = 2.0  # seconds an append tries to get past a locked file, then gives up
KINDS = ("delivery", "sync", "context")
MAX_DATA = 64 * 1024  # bytes of JSON one event may carry (paths lists are capped before)

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    repo TEXT NOT NULL,   -- lower-cased owner/name
    kind TEXT NOT NULL,   -- delivery | sync | context
    data TEXT NOT NULL,   -- JSON object
    at TEXT NOT NULL      -- ISO 8601, UTC
);
CREATE INDEX IF NOT EXISTS events_repo ON events(repo, id);
-- the highest id trimmed so far (one row, key 'trimmed_through')
CREATE TABLE IF NOT EXISTS events_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class Event(NamedTuple):
    id: int
    repo: str
    kind: str
    data: dict[str, Any]
    at: str

    def as_json(self) -> dict[str, Any]:
        return self._asdict()


class EventLog(Protocol):
    def append(self, repo: str, kind: str, data: dict[str, Any]) -> int:
        """Store an event; returns its id (greater than every id before it)."""

    def append_many(self, events: list[tuple[str, str, dict[str, Any]]]) -> list[int]:
        """Store (repo, kind, data) events in order; their ids."""

    def since(self, repo: str | None, after: int, limit: int = 500) -> list[Event]:
        """Events with an id above ``after``, oldest first (``repo`` None: every repo)."""

    def latest(self) -> int:
        """The newest event's id (0 when there is none): where a new stream starts."""

    def trimmed_through(self, repo: str | None) -> int:
        """The highest id the bounded backlog has dropped (of ``repo``'s events, or of any
        when the log cannot tell them apart; 0: none): a client resuming below it missed
        events (stream.py tells it with a ``gap`` event)."""

    def wait(self, after: int, timeout: float) -> bool:
        """Block until an event with an id above ``after`` may exist (True) or ``timeout``
        seconds passed (False)."""

    def close(self) -> None: ...


def iso(moment: datetime) -> str:
    """An event's time as both logs give it (live_events.event_time)."""
    return event_time(moment)


def now() -> str:
    return event_time()


def encoded(kind: str, data: dict[str, Any]) -> str:
    """An event's data as the JSON text both logs store, checked: a known kind, at most
    MAX_DATA bytes."""
    if kind not in KINDS:
        raise ValueError(f"unknown event kind {kind}")
    text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    if len(text) > MAX_DATA:
        raise ValueError(f"event data over {MAX_DATA} bytes")
    return text


def _connect(path: Path) -> sqlite3.Connection:
    # no busy handler (its sleeps grow to 10s of ms under a burst): writers poll (_retry)
    conn = sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False)
    return conn


def _retry(fn: Any, deadline: float) -> Any:
    delay = 0.0001
    end = time.monotonic() + deadline
    while True:
        try:
            return fn()
        except sqlite3.OperationalError as e:
            if ("locked" not in str(e) and "busy" not in str(e)) or time.monotonic() > end:
                raise
        time.sleep(delay)
        delay = min(delay * 1.5, 0.005)


class _Watcher:
    """One per process and file: a thread that polls ``PRAGMA data_version`` (it changes when
    another connection commits) while someone waits, and wakes the waiters."""

    def __init__(self, path: Path):
        self.path = path
        self.cond = threading.Condition()
        self.latest = 0
        self.waiters = 0
        self.thread: threading.Thread | None = None

    def bump(self, event_id: int) -> None:
        with self.cond:
            if event_id > self.latest:
                self.latest = event_id
                self.cond.notify_all()

    def wait(self, after: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self.cond:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="float-events",
                                               daemon=True)
                self.thread.start()
            self.waiters += 1
            try:
                while self.latest <= after:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    self.cond.wait(left)
                return True
            finally:
                self.waiters -= 1

    def _run(self) -> None:
        conn = _connect(self.path)
        try:
            version = None
            while True:
                with self.cond:
                    while self.waiters == 0:
                        self.cond.wait()  # parked: nobody waits in this process
                try:
                    v = conn.execute("PRAGMA data_version").fetchone()[0]
                    if v != version:
                        version = v
                        row = conn.execute("SELECT max(id) FROM events").fetchone()
                        self.bump(int(row[0] or 0))
                except sqlite3.Error:
                    log.exception("watching the event log failed")
                time.sleep(POLL_SECONDS)
        finally:
            conn.close()


_watchers: dict[tuple[int, Path], _Watcher] = {}
_watchers_lock = threading.Lock()


def _watcher(path: Path) -> _Watcher:
    key = (os.getpid(), path)  # a forked process has none of its parent's threads
    with _watchers_lock:
        w = _watchers.get(key)
        if w is None:
            w = _watchers[key] = _Watcher(path)
        return w


class SqliteEventLog:
    """The embedded log (see the module docstring). Safe to share between threads."""

    def __init__(self, data_dir: Path, *, keep: int = KEEP):
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / DB_FILE
        self.keep = keep
        self.lock = threading.Lock()
        self.conn = _connect(self.path)
        with self.lock:
            if _retry(lambda: self.conn.execute("PRAGMA journal_mode").fetchone()[0],
                      30) != "wal":
                _retry(lambda: self.conn.execute("PRAGMA journal_mode = wal"), 30)
            # a lost event costs a client one refresh: no fsync per append
            self.conn.execute("PRAGMA synchronous = NORMAL")
            _retry(lambda: self.conn.executescript(SCHEMA), 30)
        self.watcher = _watcher(self.path)

    def append_many(self, events: list[tuple[str, str, dict[str, Any]]]) -> list[int]:
        return [self.append(repo, kind, data) for repo, kind, data in events]

    def append(self, repo: str, kind: str, data: dict[str, Any]) -> int:
        text = encoded(kind, data)
        with self.lock:
            cur = _retry(lambda: self.conn.execute(
                "INSERT INTO events(repo, kind, data, at) VALUES (?, ?, ?, ?)",
                (repo, kind, text, now())), WRITE_DEADLINE)
            event_id = int(cur.lastrowid or 0)
            if event_id % TRIM_EVERY == 0 and event_id > self.keep:
                _retry(lambda: self._trim(event_id - self.keep), WRITE_DEADLINE)
        self.watcher.bump(event_id)
        return event_id

    def _trim(self, through: int) -> None:
        self.conn.execute("BEGIN IMMEDIATE")  # the events and the mark of their going
        try:
            self.conn.execute("DELETE FROM events WHERE id <= ?", (through,))
            self.conn.execute(
                "INSERT INTO events_meta(key, value) VALUES ('trimmed_through', ?) ON CONFLICT"
                " (key) DO UPDATE SET value = max(value, excluded.value)", (through,))
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    def trimmed_through(self, repo: str | None) -> int:
        """Ids are shared by every repository here: the mark is global, so a repository's
        stream may be told of a gap that held only others' events (it costs a refresh)."""
        with self.lock:
            row = self.conn.execute(
                "SELECT value FROM events_meta WHERE key = 'trimmed_through'").fetchone()
        return int(row[0]) if row else 0

    def since(self, repo: str | None, after: int, limit: int = 500) -> list[Event]:
        sql = "SELECT id, repo, kind, data, at FROM events WHERE id > ?"
        args: list[Any] = [after]
        if repo is not None:
            sql += " AND repo = ?"
            args.append(repo)
        with self.lock:
            rows = self.conn.execute(sql + " ORDER BY id LIMIT ?", (*args, limit)).fetchall()
        return [Event(r[0], r[1], r[2], json.loads(r[3]), r[4]) for r in rows]

    def latest(self) -> int:
        with self.lock:
            row = self.conn.execute("SELECT max(id) FROM events").fetchone()
        return int(row[0] or 0)

    def wait(self, after: int, timeout: float) -> bool:
        return self.watcher.wait(after, max(0.0, timeout))

    def close(self) -> None:
        with self.lock:
            self.conn.close()


