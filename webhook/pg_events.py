"""The live-event log on PostgreSQL (``FLOAT_DATABASE_URL``): what happened to each
repository (a delivery recorded, a sync done, a folder regenerated), for clients that follow
it from any web host.

The interface and the event are events.py's (``EventLog``, ``Event``); events.open_event_log
picks this log when ``FLOAT_DATABASE_URL`` is set. Events live in ``float_events`` (a
``bigserial`` id: monotonic across hosts, gaps allowed), at most ``keep`` per repository: each
append deletes the repository's events older than its last ``keep`` in the same transaction.
``append`` sends a ``NOTIFY float_events`` in that transaction, so ``wait`` on any host wakes
when it commits, and a ``wait`` that missed the notification (it connected late, the
connection dropped) still sees new events by reading the table before and after listening.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from webhook.events import Event

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
"""
SCHEMA_LOCK = 0x466C6F62


class PgEventLog:
    """One connection for writes and reads (serialised by a lock: a log is shared by a
    process's threads); ``wait`` opens its own listening connection per call, so any
    number of threads can wait at once."""

    def __init__(self, url: str, keep: int = KEEP):
        if keep < 1:
            raise ValueError("keep must be at least 1")
        self.url = url
        self.keep = keep
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[Any] | None = None
        with psycopg.connect(url) as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            conn.execute(SCHEMA)

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = psycopg.connect(self.url, autocommit=True)
        return self._conn

    def append(self, repo: str, kind: str, data: dict[str, Any]) -> int:
        with self._lock:
            conn = self._connection()
            with conn.transaction():
                row = conn.execute(
                    "INSERT INTO float_events(repo, kind, data) VALUES (%s, %s, %s)"
                    " RETURNING id", (repo, kind, Jsonb(data))).fetchone()
                assert row is not None
                event_id = int(row[0])
                # the repository's last `keep` events stay (its index makes this a short
                # range scan); the notification is delivered at commit
                conn.execute(
                    "DELETE FROM float_events WHERE repo = %s AND id <= (SELECT id FROM"
                    " float_events WHERE repo = %s ORDER BY id DESC OFFSET %s LIMIT 1)",
                    (repo, repo, self.keep))
                conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(event_id)))
        return event_id

    def since(self, repo: str | None, after: int, limit: int = 500) -> list[Event]:
        with self._lock:
            rows = self._connection().execute(
                "SELECT id, repo, kind, data, at FROM float_events WHERE id > %s"
                " AND (%s::text IS NULL OR repo = %s) ORDER BY id LIMIT %s",
                (after, repo, repo, max(0, limit))).fetchall()
        return [Event(int(r[0]), r[1], r[2], dict(r[3]), r[4].isoformat()) for r in rows]

    def latest(self) -> int:
        with self._lock:
            row = self._connection().execute(
                "SELECT coalesce(max(id), 0) FROM float_events").fetchone()
        return int(row[0]) if row else 0

    def wait(self, after: int, timeout: float) -> bool:
        """True as soon as an event with an id above ``after`` may exist (one committed
        on any host), False after ``timeout`` seconds without one."""
        deadline = time.monotonic() + max(0.0, timeout)
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"LISTEN {CHANNEL}")
            # listening from here on: an event committed before is in the table
            row = conn.execute("SELECT coalesce(max(id), 0) FROM float_events").fetchone()
            if row is not None and int(row[0]) > after:
                return True
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                for note in conn.notifies(timeout=left):
                    if not note.payload.isdigit() or int(note.payload) > after:
                        return True

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
