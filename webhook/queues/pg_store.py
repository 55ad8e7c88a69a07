"""What the server keeps in PostgreSQL (``FLOAT_DATABASE_URL``): deliveries, each repository's
read model, and every regeneration answer.

- ``float_deliveries``: the same rows and states as the embedded queue (sqlite_queue.py), so
  ``/deliveries`` answers alike in both modes. The order and the one-at-a-time rule per
  repository come from procrastinate's ``lock`` (pg_queue.py); a sync job claims every open
  row of its repository at once and settles them together (the later ones coalesced).
- ``float_repos`` and ``float_folders``: the read model each sync publishes (the documents
  ``/status``, ``/stale`` and ``/folders/...`` answer), so any web host answers the same.
- ``float_answers``: the latest regeneration answer per folder, kept after it is applied: a
  sync worker that lost its disk rebuilds the map from the mirror, the committed export and
  these (``seq`` tells a map which answers it has applied).
- ``float_regen_requests``: which (folder, hash) was already handed to the regeneration
  workers, so a burst of syncs asks once.
- ``float_tokens``: the API tokens (webhook/access/pg_tokens.py, created here with the rest).

psycopg 3; the connection pool is shared by the process's threads (and by procrastinate's
sync connector in a web process).
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from webhook.access.pg_tokens import SCHEMA as TOKENS_SCHEMA
from webhook.queues import pg_agent

SCHEMA_LOCK = 0x466C6F61  # pg_advisory_xact_lock key: one process applies the schema
SCHEMA = """
CREATE TABLE IF NOT EXISTS float_deliveries (
    id bigserial PRIMARY KEY,
    delivery text NOT NULL UNIQUE,
    kind text NOT NULL,
    repo text NOT NULL,
    full_name text NOT NULL,
    ref text, before text, after text, default_branch text,
    created boolean NOT NULL DEFAULT false,
    deleted boolean NOT NULL DEFAULT false,
    forced boolean NOT NULL DEFAULT false,
    commits integer NOT NULL DEFAULT 0,
    state text NOT NULL DEFAULT 'queued',
    attempts integer NOT NULL DEFAULT 0,
    not_before double precision NOT NULL DEFAULT 0,
    owner text, lease_until double precision,
    received_at double precision NOT NULL, started_at double precision,
    finished_at double precision,
    done_seq bigint,
    result jsonb, error text
);
CREATE INDEX IF NOT EXISTS float_deliveries_open ON float_deliveries(repo, id)
    WHERE state IN ('queued', 'running');
CREATE SEQUENCE IF NOT EXISTS float_done_seq;
CREATE TABLE IF NOT EXISTS float_repos (
    repo text PRIMARY KEY,
    full_name text NOT NULL,
    default_branch text,
    branch text,
    head text,
    counts jsonb,
    stale jsonb,
    published_at double precision
);
CREATE TABLE IF NOT EXISTS float_folders (
    repo text NOT NULL,
    path text NOT NULL,
    doc jsonb NOT NULL,
    PRIMARY KEY (repo, path)
);
CREATE SEQUENCE IF NOT EXISTS float_answer_seq;
CREATE TABLE IF NOT EXISTS float_answers (
    repo text NOT NULL,
    path text NOT NULL,
    source_hash text NOT NULL,
    fields jsonb NOT NULL,
    model text NOT NULL,
    answered_by text,
    seq bigint NOT NULL DEFAULT nextval('float_answer_seq'),
    answered_at double precision NOT NULL,
    PRIMARY KEY (repo, path)
);
CREATE TABLE IF NOT EXISTS float_regen_requests (
    repo text NOT NULL,
    path text NOT NULL,
    source_hash text NOT NULL,
    requested_at double precision NOT NULL,
    PRIMARY KEY (repo, path, source_hash)
);
"""

# Named schema steps applied after SCHEMA, in order, each once (recorded in
# float_schema_steps, under the schema lock). Append new steps; never edit one that shipped.
STEPS: list[tuple[str, str]] = [
    ("delivery head commit, pusher and repository page", """
ALTER TABLE float_deliveries ADD COLUMN IF NOT EXISTS head_subject text,
    ADD COLUMN IF NOT EXISTS pusher text, ADD COLUMN IF NOT EXISTS html_url text;
CREATE INDEX IF NOT EXISTS float_deliveries_repo ON float_deliveries(repo, id);
"""),
    ("agents' writes and the records /mcp reads", pg_agent.SCHEMA),
    ("API tokens (webhook/access)", TOKENS_SCHEMA),
]
STEPS_TABLE = ("CREATE TABLE IF NOT EXISTS float_schema_steps (name text PRIMARY KEY,"
               " applied_at double precision NOT NULL)")


def connect_pool(url: str, *, min_size: int = 1, max_size: int = 8,
                 check: bool = True) -> ConnectionPool:
    """A pool shared by the process's threads. ``check``: connections are checked on
    checkout (a round trip), so after PostgreSQL restarts a dead connection is replaced
    instead of failing a job; the web role skips it (the round trip is a share of the
    time to answer GitHub) and retries a request once on a broken connection instead."""
    pool = ConnectionPool(url, min_size=min_size, max_size=max_size, open=False,
                          kwargs={"autocommit": True},
                          check=ConnectionPool.check_connection if check else None,
                          timeout=10.0)
    pool.open(wait=False)
    return pool


def apply_schema(url: str) -> None:
    """Create float's tables and procrastinate's schema if missing; safe to run from every
    process at start-up (an advisory lock serialises them)."""
    from procrastinate.schema import SchemaManager  # lazy: the [postgres] extra

    with psycopg.connect(url, autocommit=False) as conn:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        conn.execute(SCHEMA)  # constant DDL
        conn.execute(STEPS_TABLE)
        done = {r[0] for r in conn.execute("SELECT name FROM float_schema_steps").fetchall()}
        for name, step in STEPS:
            if name not in done:
                conn.execute(step)  # constant DDL
                conn.execute("INSERT INTO float_schema_steps VALUES (%s, %s)",
                             (name, time.time()))
        has_jobs = conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
        if has_jobs is None or has_jobs[0] is None:
            conn.execute(SchemaManager.get_schema())  # no parameters: sent as is
        conn.commit()


F = TypeVar("F", bound=Callable[..., Any])


def once_more_if_broken(method: F) -> F:
    """What a web host asks (idempotent: reads, the ON CONFLICT insert) runs once more on a
    fresh connection when its pooled one was broken: the web role does not check connections
    on checkout, so after PostgreSQL restarts each dead one would otherwise fail a request."""
    @functools.wraps(method)
    def run(self: PgStore, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except psycopg.OperationalError:
            self.pool.check()  # the pool's other idle connections died with the server too
            return method(self, *args, **kwargs)
    return run  # type: ignore[return-value]


class PgStore:
    """float's tables, over a pool shared by this process's threads."""

    def __init__(self, pool: ConnectionPool):
        self.pool = pool

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        with self.pool.connection() as conn:
            yield conn

    # -- deliveries (the web side) ----------------------------------------------------------
    def record(self, delivery: str, kind: str, repo: str, full_name: str, *,
               ref: str | None = None, before: str | None = None, after: str | None = None,
               default_branch: str | None = None, created: bool = False,
               deleted: bool = False, forced: bool = False, commits: int = 0,
               ignored: str | None = None, head_subject: str | None = None,
               pusher: str | None = None, html_url: str | None = None) -> bool:
        """As deliveries.Queue.record: False for a redelivery."""
        return self.record_and_check(delivery, kind, repo, full_name, ref=ref, before=before,
                                     after=after, default_branch=default_branch,
                                     created=created, deleted=deleted, forced=forced,
                                     commits=commits, ignored=ignored,
                                     head_subject=head_subject, pusher=pusher,
                                     html_url=html_url)[0]

    @once_more_if_broken
    def record_and_check(self, delivery: str, kind: str, repo: str, full_name: str, *,
                         ref: str | None = None, before: str | None = None,
                         after: str | None = None, default_branch: str | None = None,
                         created: bool = False, deleted: bool = False, forced: bool = False,
                         commits: int = 0, ignored: str | None = None,
                         head_subject: str | None = None, pusher: str | None = None,
                         html_url: str | None = None,
                         queueing_lock: str | None = None) -> tuple[bool, bool]:
        """(recorded, a job with ``queueing_lock`` was waiting) in one round trip."""
        now = time.time()
        with self.connection() as conn:
            cur = conn.execute(
                "WITH ins AS (INSERT INTO float_deliveries(delivery, kind, repo, full_name,"
                " ref, before, after, default_branch, created, deleted, forced, commits,"
                " received_at,"
                " state, result, finished_at, head_subject, pusher, html_url, done_seq)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
                " %s, %s, %s, CASE WHEN %s THEN nextval('float_done_seq') END)"
                " ON CONFLICT (delivery) DO NOTHING"
                " RETURNING 1) SELECT (SELECT count(*) FROM ins), EXISTS (SELECT 1 FROM"
                " procrastinate_jobs WHERE queueing_lock = %s AND status = 'todo')",
                (delivery, kind, repo, full_name, ref, before, after, default_branch,
                 created, deleted, forced, commits, now,
                 "queued" if ignored is None else "ignored",
                 None if ignored is None else Jsonb({"reason": ignored}),
                 None if ignored is None else now, head_subject, pusher, html_url,
                 ignored is not None, queueing_lock))
            row = cur.fetchone()
            assert row is not None
            return row[0] == 1, bool(row[1])

    @once_more_if_broken
    def pending(self, repo: str | None = None) -> int:
        with self.connection() as conn:
            row = conn.execute(
                "SELECT count(*) FROM float_deliveries WHERE state IN ('queued', 'running')"
                " AND (%s::text IS NULL OR repo = %s)", (repo, repo)).fetchone()
        return int(row[0]) if row else 0

    @once_more_if_broken
    def rows(self, repo: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        with self.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute("SELECT * FROM (SELECT * FROM float_deliveries WHERE %s::text IS NULL"
                        " OR repo = %s ORDER BY id DESC LIMIT %s) r ORDER BY id",
                        (repo, repo, limit))
            return [dict(r) for r in cur.fetchall()]

    @once_more_if_broken
    def health_rows(self, open_limit: int, recent: int
                    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """As sqlite_queue.Queue.health_rows (what health.assess reads)."""
        cols = "repo, full_name, state, attempts, error, received_at, done_seq"
        with self.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(f"SELECT {cols} FROM float_deliveries WHERE state IN ('queued',"
                        " 'running') ORDER BY id LIMIT %s", (open_limit,))
            open_rows = cur.fetchall()
            cur.execute(f"SELECT {cols} FROM float_deliveries ORDER BY id DESC LIMIT %s",
                        (recent,))
            return open_rows, cur.fetchall()

    def open_repos(self) -> list[tuple[str, str]]:
        """(repo, full_name) of repositories with open deliveries (the sweeper's list)."""
        with self.connection() as conn:
            return [(r[0], r[1]) for r in conn.execute(
                "SELECT DISTINCT ON (repo) repo, full_name FROM float_deliveries"
                " WHERE state IN ('queued', 'running') ORDER BY repo, id").fetchall()]

    # -- deliveries (the sync job's side; the job holds the repository's lock) ---------------
    def claim(self, repo: str, owner: str) -> list[dict[str, Any]]:
        """Every open row of ``repo``, marked running by ``owner`` (a row left running by a
        dead job is claimed again: the lock says no live job holds it)."""
        with self.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(
                "UPDATE float_deliveries SET state = 'running', owner = %s,"
                " attempts = attempts + 1, started_at = %s WHERE repo = %s"
                " AND state IN ('queued', 'running') RETURNING *",
                (owner, time.time(), repo))
            return sorted((dict(r) for r in cur.fetchall()), key=lambda r: int(r["id"]))

    def settle(self, ids: Iterable[int], state: str, result: dict[str, Any] | None,
               error: str | None = None, *, retry_in: float = 0.0) -> None:
        """End rows ``done``/``ignored``/``failed``, or put them back (``queued``, to be tried
        again in ``retry_in`` seconds: ``not_before``, which the dashboard shows). Ended rows
        take their ``done_seq`` in arrival (id) order: the sequence's values are ranked and
        matched to the ids ranked, since an UPDATE visits rows in no promised order."""
        ids = sorted(set(ids))
        if not ids:
            return
        now = time.time()
        with self.connection() as conn:
            if state == "queued":
                conn.execute(
                    "UPDATE float_deliveries SET state = 'queued', result = %s, error = %s,"
                    " finished_at = NULL, owner = NULL, done_seq = NULL, not_before = %s"
                    " WHERE id = ANY(%s)",
                    (None if result is None else Jsonb(result), error, now + retry_in, ids))
                return
            conn.execute(
                "WITH ids AS (SELECT id, row_number() OVER (ORDER BY id) AS n"
                " FROM unnest(%s::bigint[]) AS id),"
                " seqs AS (SELECT nextval('float_done_seq') AS seq"
                " FROM generate_series(1, %s)),"
                " ranked AS (SELECT seq, row_number() OVER (ORDER BY seq) AS n FROM seqs)"
                " UPDATE float_deliveries d SET state = %s, result = %s, error = %s,"
                " finished_at = %s, owner = NULL, done_seq = ranked.seq"
                " FROM ids JOIN ranked USING (n) WHERE d.id = ids.id",
                (ids, len(ids), state, None if result is None else Jsonb(result), error, now))

    # -- read model ------------------------------------------------------------------------
    @once_more_if_broken
    def repo(self, repo: str) -> dict[str, Any] | None:
        with self.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute("SELECT * FROM float_repos WHERE repo = %s", (repo,))
            row = cur.fetchone()
        return dict(row) if row else None

    def remember_repo(self, repo: str, full_name: str, default_branch: str | None) -> None:
        with self.connection() as conn:
            conn.execute(
                "INSERT INTO float_repos(repo, full_name, default_branch) VALUES (%s, %s, %s)"
                " ON CONFLICT (repo) DO UPDATE SET full_name = excluded.full_name,"
                " default_branch = coalesce(excluded.default_branch,"
                " float_repos.default_branch)", (repo, full_name, default_branch))

    def publish(self, repo: str, branch: str | None, head: str | None,
                counts: dict[str, Any], stale: Any, docs: dict[str, dict[str, Any]]) -> None:
        """Replace the repository's read model in one transaction: a reader sees the old
        one or the new one. Unchanged folder documents are not rewritten."""
        with self.connection() as conn, conn.transaction():
            conn.execute(
                "UPDATE float_repos SET branch = %s, head = %s, counts = %s, stale = %s,"
                " published_at = %s WHERE repo = %s",
                (branch, head, Jsonb(counts), Jsonb(stale), time.time(), repo))
            conn.execute("CREATE TEMP TABLE IF NOT EXISTS float_new(path text PRIMARY KEY,"
                         " doc jsonb) ON COMMIT DELETE ROWS")
            with conn.cursor() as cur, cur.copy("COPY float_new(path, doc) FROM STDIN") as cp:
                for path, doc in docs.items():
                    cp.write_row((path, json.dumps(doc)))
            conn.execute("DELETE FROM float_folders f WHERE f.repo = %s AND NOT EXISTS"
                         " (SELECT 1 FROM float_new n WHERE n.path = f.path)", (repo,))
            conn.execute(
                "INSERT INTO float_folders(repo, path, doc) SELECT %s, path, doc FROM float_new"
                " ON CONFLICT (repo, path) DO UPDATE SET doc = excluded.doc"
                " WHERE float_folders.doc IS DISTINCT FROM excluded.doc", (repo,))

    @once_more_if_broken
    def folder(self, repo: str, path: str) -> dict[str, Any] | None:
        with self.connection() as conn:
            row = conn.execute("SELECT doc FROM float_folders WHERE repo = %s AND path = %s",
                               (repo, path)).fetchone()
        return dict(row[0]) if row else None

    # -- regeneration ------------------------------------------------------------------------
    def want_answer(self, repo: str, path: str, source_hash: str) -> bool:
        """True once per (folder, hash): that request is to be handed out now."""
        with self.connection() as conn:
            cur = conn.execute(
                "INSERT INTO float_regen_requests VALUES (%s, %s, %s, %s)"
                " ON CONFLICT DO NOTHING", (repo, path, source_hash, time.time()))
            return cur.rowcount == 1

    def forget_request(self, repo: str, path: str, source_hash: str) -> None:
        """A request that could not be handed out (or failed for good) may be asked again."""
        with self.connection() as conn:
            conn.execute("DELETE FROM float_regen_requests WHERE repo = %s AND path = %s"
                         " AND source_hash = %s", (repo, path, source_hash))

    def store_answer(self, repo: str, path: str, source_hash: str, fields: dict[str, Any],
                     model: str, answered_by: str) -> int:
        """Keep a regenerator's answer (the latest per folder); returns its seq. A
        repository's answers commit in seq order (its advisory lock is held to the commit):
        apply_answers reads past the last seq it applied, so an answer whose seq was taken
        earlier but committed later would otherwise never be read."""
        with self.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('float_answers:' || %s))",
                         (repo,))
            row = conn.execute(
                "INSERT INTO float_answers(repo, path, source_hash, fields, model, answered_by,"
                " answered_at) VALUES (%s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (repo, path) DO UPDATE SET source_hash = excluded.source_hash,"
                " fields = excluded.fields, model = excluded.model,"
                " answered_by = excluded.answered_by, answered_at = excluded.answered_at,"
                " seq = nextval('float_answer_seq') RETURNING seq",
                (repo, path, source_hash, Jsonb(fields), model, answered_by, time.time())
            ).fetchone()
        assert row is not None
        return int(row[0])

    def answers_after(self, repo: str, seq: int) -> list[dict[str, Any]]:
        with self.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute("SELECT * FROM float_answers WHERE repo = %s AND seq > %s ORDER BY seq",
                        (repo, seq))
            return [dict(r) for r in cur.fetchall()]
