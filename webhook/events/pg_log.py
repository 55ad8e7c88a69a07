"""The live-event log on PostgreSQL (``FLOAT_DATABASE_URL``): what happened to each
repository (a delivery recorded, a sync done, a folder regenerated), for clients that follow
it from any web host.

The interface and the event are event_log.py's (``EventLog``, ``Event``); events.open_event_log
picks this log when ``FLOAT_DATABASE_URL`` is set. Events live in ``float_events`` (a
``bigserial`` id: monotonic across hosts, gaps allowed), at most ``keep`` per repository: each
append deletes the repository's events older than its last ``keep`` in the same transaction,
and marks the highest id it deleted in ``float_events_trimmed`` (stream.py's ``gap`` event).
``append`` sends a ``NOTIFY float_events`` in that transaction, so ``wait`` on any host wakes
when it commits, and a ``wait`` that missed the notification (it connected late, the
connection dropped) still sees new events by reading the table before and after listening.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import psycopg

from webhook.events.event_log import Event, encoded, iso

CHANNEL = "float_events"
KEEP = 1000
SCHEMA = """
CREATE TABLE IF NOT EXISTS float_events (
    id bigserial PRIMARY KEY,
    repo text NOT NULL,
    kind text NOT NULL,
    data jsonb NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS float_events_repo ON float_events(repo, id);
CREATE TABLE IF NOT EXISTS float_events_trimmed (
    repo text PRIMARY KEY,
    through bigint NOT NULL  -- the highest id of the repository's events trimmed so far
);
"""
SCHEMA_LOCK = 0x466C6F62
# appends take this lock until they commit, so ids become visible in id order: a stream that
# read event n never finds n - 1 committed later (bigserial values are handed out at insert,
# not at commit)
APPEND_LOCK = 0x466C6F63


@dataclass
class _Pending:
    """An append waiting for its transaction (PgEventLog.append)."""
    repo: str
    kind: str
    data: str
    id: int | None = None
    done: bool = False
    error: BaseException | None = None


class _Listener:
    """One ``LISTEN`` connection per process, shared by every waiting thread: ``generation``
    moves on each notification and each (re)connection, and waiters wake on the change. It
    reconnects after PostgreSQL went away (with a pause), so a restart costs no more than
    the waits that time out meanwhile."""

    def __init__(self, url: str):
        self.url = url
        self.cond = threading.Condition()
        self.generation = 0
        self.thread: threading.Thread | None = None

    def current(self) -> int:
        with self.cond:
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="float-events-listen",
                                               daemon=True)
                self.thread.start()
            return self.generation

    def wait(self, seen: int, timeout: float) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: self.generation != seen, timeout)

    def _bump(self) -> None:
        with self.cond:
            self.generation += 1
            self.cond.notify_all()

    def _run(self) -> None:
        while True:
            try:
                with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._bump()  # listening (again): what came before is in the table
                    while True:
                        for _ in conn.notifies(timeout=5.0):
                            self._bump()
            except psycopg.Error:
                self._bump()
                time.sleep(1.0)


class PgEventLog:
    """One connection for writes and reads (serialised by a lock: a log is shared by a
    process's threads); waiting threads share one listening connection (_Listener)."""

    def __init__(self, url: str, keep: int = KEEP):
        if keep < 1:
            raise ValueError("keep must be at least 1")
        self.url = url
        self.keep = keep
        self._lock = threading.Lock()
        self._waiting_lock = threading.Lock()
        self._waiting: list[_Pending] = []  # appends not written yet (append's group commit)
        self._conn: psycopg.Connection[Any] | None = None
        self._listener = _Listener(url)
        with psycopg.connect(url) as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            conn.execute(SCHEMA)

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
        return self._conn

    def append(self, repo: str, kind: str, data: dict[str, Any]) -> int:
        """Append an event; returns its id once committed. Appends made meanwhile by other
        threads of this process are committed together (group commit): the first caller to
        get the connection writes every event waiting by then in one transaction, so a burst
        of deliveries costs a few commits, not one fsync'd commit each, queued behind one
        another (docs/performance.md)."""
        return self.append_many([(repo, kind, data)])[0]

    def append_many(self, events: list[tuple[str, str, dict[str, Any]]]) -> list[int]:
        """Append (repo, kind, data) events, in order, committed together; their ids."""
        items = [_Pending(repo, kind, encoded(kind, data)) for repo, kind, data in events]
        if not items:
            return []
        with self._waiting_lock:
            self._waiting.extend(items)
        with self._lock:
            if not items[-1].done:  # no earlier holder of the lock took them along
                with self._waiting_lock:
                    batch, self._waiting = self._waiting, []
                try:
                    self._write(batch)
                except BaseException as e:
                    for other in batch:
                        other.error = e
                    raise
                finally:
                    for other in batch:
                        other.done = True
        for item in items:
            if item.error is not None:
                raise item.error
        return [int(item.id or 0) for item in items]

    def _write(self, batch: list[_Pending]) -> None:
        """One transaction for ``batch`` (in order: ids are handed out in statement order),
        its statements pipelined: a couple of round trips however many events."""
        conn = self._connection()
        with conn.pipeline(), conn.transaction(), conn.cursor() as cur:
            # a synchronous commit, as every other: an asynchronous one bought nothing
            # measurable once appends were grouped (docs/performance.md), and after a crash
            # it could hand out again ids a stream client had already seen
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (APPEND_LOCK,))
            cur.executemany(
                "INSERT INTO float_events(repo, kind, data) VALUES (%s, %s, %s::jsonb)"
                " RETURNING id", [(p.repo, p.kind, p.data) for p in batch], returning=True)
            # each repository's last `keep` events stay (its index makes this a short range
            # scan); the notification (any payload wakes the listeners) is sent at commit
            for repo in dict.fromkeys(p.repo for p in batch):
                conn.execute(
                    "WITH gone AS (DELETE FROM float_events WHERE repo = %s AND id <= (SELECT"
                    " id FROM float_events WHERE repo = %s ORDER BY id DESC OFFSET %s LIMIT 1)"
                    " RETURNING id) INSERT INTO float_events_trimmed(repo, through) SELECT %s,"
                    " max(id) FROM gone HAVING max(id) IS NOT NULL ON CONFLICT (repo) DO UPDATE"
                    " SET through = greatest(float_events_trimmed.through, excluded.through)",
                    (repo, repo, self.keep, repo))
            conn.execute("SELECT pg_notify(%s, 'append')", (CHANNEL,))
            for p in batch:
                row = cur.fetchone()
                assert row is not None
                p.id = int(row[0])
                cur.nextset()

    def since(self, repo: str | None, after: int, limit: int = 500) -> list[Event]:
        with self._lock:
            rows = self._connection().execute(
                "SELECT id, repo, kind, data, at FROM float_events WHERE id > %s"
                " AND (%s::text IS NULL OR repo = %s) ORDER BY id LIMIT %s",
                (after, repo, repo, max(0, limit))).fetchall()
        return [Event(int(r[0]), r[1], r[2], dict(r[3]), iso(r[4])) for r in rows]

    def latest(self) -> int:
        with self._lock:
            row = self._connection().execute(
                "SELECT coalesce(max(id), 0) FROM float_events").fetchone()
        return int(row[0]) if row else 0

    def trimmed_through(self, repo: str | None) -> int:
        with self._lock:
            row = self._connection().execute(
                "SELECT coalesce(max(through), 0) FROM float_events_trimmed"
                " WHERE %s::text IS NULL OR repo = %s", (repo, repo)).fetchone()
        return int(row[0]) if row else 0

    def wait(self, after: int, timeout: float) -> bool:
        """True as soon as an event with an id above ``after`` may exist (one committed
        on any host), False after ``timeout`` seconds without one."""
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            seen = self._listener.current()  # before the read: a later commit moves it
            if self.latest() > after:
                return True
            left = deadline - time.monotonic()
            if left <= 0 or not self._listener.wait(seen, left):
                return False

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
