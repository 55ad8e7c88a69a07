"""The durable delivery queue: ``DATA_DIR/deliveries.db`` (SQLite, WAL).

A push is answered only after its row is committed, so an acknowledged delivery survives a
crash or restart. Claiming is one ``BEGIN IMMEDIATE`` transaction, which makes it safe across
threads and across gunicorn worker processes sharing the file. A repository's rows are handed
out strictly in the order they were received: only the oldest unfinished row of a repository
can be claimed, and the worker takes it with every later open row of the repository
(``claim_batch``: a burst becomes one sync) and settles them together; different repositories
run in parallel.
A claimed row carries a lease that its worker renews; a worker that dies lets the lease run out
and the row is claimed again (the sync is idempotent, so doing it twice is harmless). On the
same host no lease needs to run out: a dead owner is seen at once (owner_lock.py). A claim
taken back from a dead owner counts as an attempt: a delivery that kills its worker every time
gives up after ``max_attempts`` like any other failure.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

from webhook.queues.owner_lock import OWNER_DIR, owner_alive

DB_FILE = "deliveries.db"
REQUEST_CHECKPOINT_PAGES = 20000
T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- receipt order
    delivery TEXT NOT NULL UNIQUE,         -- X-GitHub-Delivery: a redelivery is a no-op
    kind TEXT NOT NULL,                    -- push | resync
    repo TEXT NOT NULL,                    -- lower-cased owner/name (the queue's key)
    full_name TEXT NOT NULL,               -- as GitHub spells it (for URLs)
    ref TEXT, before TEXT, after TEXT, default_branch TEXT,
    created INTEGER NOT NULL DEFAULT 0,
    deleted INTEGER NOT NULL DEFAULT 0,
    forced INTEGER NOT NULL DEFAULT 0,
    commits INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'queued',  -- queued | running | done | ignored | failed
    attempts INTEGER NOT NULL DEFAULT 0,
    not_before REAL NOT NULL DEFAULT 0,    -- retry backoff
    owner TEXT, lease_until REAL,
    received_at REAL NOT NULL, started_at REAL, finished_at REAL,
    done_seq INTEGER,                      -- order in which rows finished
    result TEXT, error TEXT
);
CREATE INDEX IF NOT EXISTS deliveries_open ON deliveries(repo, id)
    WHERE state IN ('queued', 'running');
"""

# Named schema steps applied after SCHEMA, in order, each once (recorded in schema_steps, in
# the transaction that applies it). Append new steps; never edit one that has shipped.
STEPS: list[tuple[str, tuple[str, ...]]] = [
    ("delivery head commit, pusher and repository page", (
        # from the push payload at intake, bounded and checked (intake/push_fields.py)
        "ALTER TABLE deliveries ADD COLUMN head_subject TEXT",
        "ALTER TABLE deliveries ADD COLUMN pusher TEXT",
        "ALTER TABLE deliveries ADD COLUMN html_url TEXT",
        # the dashboard reads a repository's deliveries newest first (stale since, filters)
        "CREATE INDEX IF NOT EXISTS deliveries_repo ON deliveries(repo, id)",
    )),
]
STEPS_TABLE = ("CREATE TABLE IF NOT EXISTS schema_steps (name TEXT PRIMARY KEY,"
               " applied_at REAL NOT NULL)")

# a failed attempt waits this long before its retry, doubled each time (both queues)
BACKOFF_SECONDS = 5.0
# the most deliveries of one repository a worker claims at once (one sync covers them all)
BATCH_LIMIT = 500


@dataclass(frozen=True)
class Delivery:
    id: int
    delivery: str
    kind: str
    repo: str
    full_name: str
    ref: str | None
    before: str | None
    after: str | None
    default_branch: str | None
    created: bool
    deleted: bool
    forced: bool
    commits: int
    attempts: int

    @classmethod
    def from_row(cls, row: Any, **changes: Any) -> Delivery:
        """A delivery from its queue row (SQLite's ``deliveries`` or PostgreSQL's
        ``float_deliveries``: the same columns), with ``changes`` applied."""
        values = {f.name: row[f.name] for f in fields(cls)}
        for flag in ("created", "deleted", "forced"):
            values[flag] = bool(values[flag])  # SQLite stores 0 and 1
        return cls(**{**values, **changes})


class Queue:
    """One connection per thread: open one Queue per thread (sqlite3 connections are not
    shared across threads)."""

    def __init__(self, data_dir: Path, *, create: bool = True, timeout: float = 30.0,
                 answers_github: bool = False):
        self.data_dir = data_dir
        self.path = data_dir / DB_FILE
        if create:
            data_dir.mkdir(parents=True, exist_ok=True)
        # no busy handler: SQLite's sleeps 1, 2, 5, 10... ms between tries, and the write
        # lock is held for a fraction of a millisecond per delivery, so under a burst its
        # sleeps, not the work, would set the time to answer. Writers poll instead (_retry).
        self.conn = sqlite3.connect(self.path, timeout=0, isolation_level=None,
                                    check_same_thread=False)
        self.conn.row_factory = sqlite3.Row
        self.timeout = timeout
        if self._retry(lambda: self.conn.execute("PRAGMA journal_mode").fetchone()[0]) != "wal":
            self._retry(lambda: self.conn.execute("PRAGMA journal_mode = wal"))
        # WAL + NORMAL: a committed delivery survives the process dying (crash, restart,
        # deploy); only an OS crash or power loss before the next checkpoint can lose the
        # last few, which the resync endpoint repairs. FULL would fsync every insert,
        # serialised under the write lock: a burst of deliveries could not then be answered
        # within GitHub's patience.
        self.conn.execute("PRAGMA synchronous = NORMAL")
        if answers_github:
            # The connections that answer GitHub: a checkpoint (the log copied into the file,
            # two fsyncs: 5-20 ms here) would stall the request that crossed SQLite's
            # 1000-page mark and every request queued behind it. Workers checkpoint instead
            # (checkpoint(), and their own commits keep the default); the requests still do
            # at 20000 pages (~80 MB of log), should no worker ever run.
            self.conn.execute(f"PRAGMA wal_autocheckpoint = {REQUEST_CHECKPOINT_PAGES}")
        if create:
            self._retry(lambda: self.conn.executescript(SCHEMA))
            self._apply_steps()

    def _apply_steps(self) -> None:
        """Apply the named STEPS this file lacks, each in its own transaction with its
        record (another process may be applying them at the same moment)."""
        self._retry(lambda: self.conn.execute(STEPS_TABLE))
        done = {r[0] for r in self.conn.execute("SELECT name FROM schema_steps")}
        for name, statements in STEPS:
            if name in done:
                continue
            with self._tx() as conn:
                if conn.execute("SELECT 1 FROM schema_steps WHERE name = ?",
                                (name,)).fetchone() is None:
                    for sql in statements:
                        conn.execute(sql)
                    conn.execute("INSERT INTO schema_steps VALUES (?, ?)", (name, time.time()))

    def _retry(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` until it gets past a locked database, polling every 0.1-5 ms."""
        delay = 0.0001
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                return fn()
            except sqlite3.OperationalError as e:
                if ("locked" not in str(e) and "busy" not in str(e)) \
                        or time.monotonic() > deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 1.5, 0.005)

    def close(self) -> None:
        self.conn.close()

    def checkpoint(self) -> tuple[int, int]:
        """Copy what the log holds into the database file, without waiting for readers or
        writers (PASSIVE); (frames in the log, frames copied)."""
        row = self._retry(lambda: self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone())
        return int(row[1]), int(row[2])

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._retry(lambda: self.conn.execute("BEGIN IMMEDIATE"))
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # -- recording ---------------------------------------------------------------------------
    def record(self, delivery: str, kind: str, repo: str, full_name: str, *,
               ref: str | None = None, before: str | None = None, after: str | None = None,
               default_branch: str | None = None, created: bool = False,
               deleted: bool = False, forced: bool = False, commits: int = 0,
               ignored: str | None = None, head_subject: str | None = None,
               pusher: str | None = None, html_url: str | None = None,
               then: Callable[[], Any] | None = None) -> bool:
        """Insert a delivery; False when this delivery id was seen before (a redelivery).
        ``ignored`` records it as already settled, with that reason (no work to do).
        ``head_subject``, ``pusher``, ``html_url``: what the dashboard shows of the push,
        already checked and bounded (intake/push_fields.py). ``then`` runs after a new one is
        inserted (intake.Intake)."""
        now = time.time()
        # one statement in autocommit mode is its own atomic transaction: no BEGIN/COMMIT
        # round trips on the path that answers GitHub
        cur = self._retry(lambda: self.conn.execute(
            "INSERT OR IGNORE INTO deliveries(delivery, kind, repo, full_name, ref, before,"
            " after, default_branch, created, deleted, forced, commits, received_at,"
            " state, result, finished_at, head_subject, pusher, html_url) VALUES (?, ?, ?, ?,"
            " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (delivery, kind, repo, full_name, ref, before, after, default_branch,
             int(created), int(deleted), int(forced), commits, now,
             "queued" if ignored is None else "ignored",
             None if ignored is None else json.dumps({"reason": ignored}),
             None if ignored is None else now, head_subject, pusher, html_url)))
        if cur.rowcount == 1 and then is not None:
            then()
        return cur.rowcount == 1

    # -- claiming ----------------------------------------------------------------------------
    def claim(self, owner: str, lease_seconds: float,
              max_attempts: int | None = None) -> Delivery | None:
        """The oldest claimable row of some repository, leased to ``owner``; None if none.
        A row whose earlier claims used up ``max_attempts`` without an outcome (its workers
        died or their leases ran out) is marked failed instead, and the next one is taken."""
        batch = self.claim_batch(owner, lease_seconds, max_attempts, limit=1)
        return batch[0] if batch else None

    def claim_batch(self, owner: str, lease_seconds: float, max_attempts: int | None = None,
                    limit: int = BATCH_LIMIT) -> list[Delivery]:
        """As ``claim``, with every open row of that repository received after it (up to
        ``limit`` rows in all, oldest first), all leased to ``owner``: a burst is applied
        as one sync of the branch tip and settled together (worker.py). Only the oldest
        open row of a repository can be claimable, so a batch is always a repository's
        oldest open rows, and none of them is held by anyone else."""
        now = time.time()
        # a plain read first: idle workers poll, and must not take the write lock that
        # answering deliveries needs just to find nothing
        if self.conn.execute("SELECT 1 FROM deliveries WHERE state IN ('queued', 'running')"
                             " LIMIT 1").fetchone() is None:
            return []
        with self._tx() as conn:
            while True:
                row = conn.execute(
                    "SELECT d.* FROM deliveries d"
                    " WHERE d.state IN ('queued', 'running')"
                    "   AND d.id = (SELECT min(e.id) FROM deliveries e"
                    "               WHERE e.repo = d.repo AND e.state IN ('queued', 'running'))"
                    "   AND (d.state = 'queued' OR d.lease_until < ?)"
                    "   AND d.not_before <= ?"
                    " ORDER BY d.id LIMIT 1", (now, now)).fetchone()
                if row is None:
                    return []
                if max_attempts is None or row["attempts"] < max_attempts:
                    break
                reason = (f"its worker ({row['owner']}) stopped renewing its lease"
                          if row["state"] == "running" else row["error"] or "unknown")
                conn.execute(
                    "UPDATE deliveries SET state = 'failed', error = ?, finished_at = ?,"
                    " owner = NULL, lease_until = NULL, done_seq = (SELECT coalesce("
                    "max(done_seq), 0) + 1 FROM deliveries) WHERE id = ?",
                    (f"gave up after {row['attempts']} attempts: {reason}", now, row["id"]))
            rows = [row] if limit <= 1 else conn.execute(
                "SELECT * FROM deliveries WHERE repo = ? AND state IN ('queued', 'running')"
                " AND id >= ? ORDER BY id LIMIT ?", (row["repo"], row["id"], limit)).fetchall()
            conn.execute(
                "UPDATE deliveries SET state = 'running', owner = ?, lease_until = ?,"
                " started_at = ?, attempts = attempts + 1 WHERE repo = ? AND id BETWEEN ? AND ?"
                " AND state IN ('queued', 'running')",
                (owner, now + lease_seconds, now, row["repo"], rows[0]["id"], rows[-1]["id"]))
        return [Delivery.from_row(r, attempts=r["attempts"] + 1) for r in rows]

    def renew(self, row_id: int | list[int], owner: str, lease_seconds: float) -> None:
        ids = [row_id] if isinstance(row_id, int) else row_id
        with self._tx() as conn:
            conn.executemany("UPDATE deliveries SET lease_until = ? WHERE id = ? AND owner = ?"
                             " AND state = 'running'",
                             [(time.time() + lease_seconds, i, owner) for i in ids])

    def finish(self, row_id: int, owner: str, state: str, result: dict[str, Any]) -> None:
        self.settle(owner, [(row_id, state, result, None)])

    def fail(self, row_id: int, owner: str, error: str, *, retry_in: float | None) -> None:
        """Record an error; requeue after ``retry_in`` seconds, or give up (None)."""
        if retry_in is None:
            self.settle(owner, [(row_id, "failed", None, error)])
        else:
            self.requeue([row_id], owner, error, retry_in)

    def settle(self, owner: str,
               outcomes: list[tuple[int, str, dict[str, Any] | None, str | None]]) -> None:
        """End rows ``owner`` holds: (id, done | ignored | failed, result, error) each, in
        one transaction; ``done_seq`` follows the ids (the order they were received)."""
        now = time.time()
        with self._tx() as conn:
            seq = int(conn.execute("SELECT coalesce(max(done_seq), 0) FROM deliveries")
                      .fetchone()[0])
            for row_id, state, result, error in sorted(outcomes, key=lambda o: o[0]):
                seq += 1
                conn.execute(
                    "UPDATE deliveries SET state = ?, result = ?, error = ?, finished_at = ?,"
                    " lease_until = NULL, done_seq = ? WHERE id = ? AND owner = ?"
                    " AND state = 'running'",
                    (state, None if result is None else json.dumps(result), error, now, seq,
                     row_id, owner))

    def requeue(self, ids: list[int], owner: str, error: str, retry_in: float) -> None:
        """Put rows ``owner`` holds back, to be tried again in ``retry_in`` seconds."""
        with self._tx() as conn:
            conn.executemany(
                "UPDATE deliveries SET state = 'queued', error = ?, not_before = ?,"
                " owner = NULL, lease_until = NULL WHERE id = ? AND owner = ?",
                [(error, time.time() + retry_in, i, owner) for i in ids])

    def release(self, owner: str) -> int:
        """Hand back every row ``owner`` holds after a clean shutdown mid-job: the stop was
        not the delivery's doing, so that claim is not counted as an attempt."""
        with self._tx() as conn:
            return conn.execute(
                "UPDATE deliveries SET state = 'queued', owner = NULL, lease_until = NULL,"
                " attempts = max(attempts - 1, 0) WHERE state = 'running' AND owner = ?",
                (owner,)).rowcount

    def release_dead(self) -> int:
        """Rows held by owners on this host that no longer hold their lock (OwnerLock) go
        back to the queue at once, their claim counted as an attempt: a restart after a
        crash need not wait for the leases to run out, and a delivery that crashes its
        worker every time still gives up after max_attempts (claim)."""
        host = socket.gethostname()
        released = 0
        for (owner,) in self.conn.execute(
                "SELECT DISTINCT owner FROM deliveries WHERE state = 'running'").fetchall():
            h, _, rest = (owner or "").partition(":")  # "host:pid:tag"
            tag = rest.rpartition(":")[2]
            if h != host or owner_alive(self.data_dir, tag):
                continue
            with self._tx() as conn:
                released += conn.execute(
                    "UPDATE deliveries SET state = 'queued', owner = NULL, lease_until = NULL,"
                    " error = ? WHERE state = 'running' AND owner = ?",
                    (f"its worker ({owner}) died while applying it", owner)).rowcount
        folder = self.data_dir / OWNER_DIR
        if folder.is_dir():  # and the lock files of dead owners that held no row
            for lock in folder.glob("*.lock"):
                owner_alive(self.data_dir, lock.stem)
        return released

    # -- reading -----------------------------------------------------------------------------
    def pending(self, repo: str | None = None) -> int:
        sql = "SELECT count(*) FROM deliveries WHERE state IN ('queued', 'running')"
        args: tuple[str, ...] = ()
        if repo is not None:
            sql += " AND repo = ?"
            args = (repo,)
        return int(self.conn.execute(sql, args).fetchone()[0])

    def health_rows(self, open_limit: int, recent: int
                    ) -> tuple[list[sqlite3.Row], list[sqlite3.Row]]:
        """What health.assess reads: the oldest ``open_limit`` open rows (so the oldest
        waiting delivery is always among them), the last ``recent`` received."""
        cols = "repo, full_name, state, attempts, error, received_at, done_seq"
        return (self.conn.execute(f"SELECT {cols} FROM deliveries WHERE state IN ('queued',"
                                  " 'running') ORDER BY id LIMIT ?",
                                  (open_limit,)).fetchall(),
                self.conn.execute(f"SELECT {cols} FROM deliveries ORDER BY id DESC LIMIT ?",
                                  (recent,)).fetchall())

    def rows(self, repo: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        sql = "SELECT * FROM deliveries"
        args: tuple[Any, ...] = ()
        if repo is not None:
            sql += " WHERE repo = ?"
            args = (repo,)
        out = [_row_dict(r) for r in self.conn.execute(sql + " ORDER BY id DESC LIMIT ?",
                                                        (*args, limit))]
        out.reverse()
        return out

    def recent(self, repos: list[str], limit: int) -> dict[str, list[dict[str, Any]]]:
        """The last ``limit`` deliveries of each of ``repos`` (each oldest first, as
        ``rows``), in one query."""
        out: dict[str, list[dict[str, Any]]] = {r: [] for r in repos}
        if repos:
            for r in self.conn.execute(
                    "SELECT * FROM deliveries WHERE id IN (SELECT id FROM (SELECT id,"
                    " row_number() OVER (PARTITION BY repo ORDER BY id DESC) AS nth"
                    f" FROM deliveries WHERE repo IN ({','.join('?' * len(repos))}))"
                    " WHERE nth <= ?) ORDER BY id", (*repos, limit)):
                out[r["repo"]].append(_row_dict(r))
        return out


def _row_dict(r: sqlite3.Row) -> dict[str, Any]:
    """A deliveries row as the API and the dashboard show it."""
    item = {k: r[k] for k in r.keys()}  # noqa: SIM118 - sqlite3.Row is not a mapping
    item["result"] = json.loads(item["result"]) if item["result"] else None
    for flag in ("created", "deleted", "forced"):
        item[flag] = bool(item[flag])
    return item
