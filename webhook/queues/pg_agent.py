"""What ``/mcp`` needs from PostgreSQL beyond the read model pg_store publishes: the agents'
writes on their way to the map, and the records (decisions, questions) a read tool lists.

- ``float_agent_writes``: a write an agent made through ``/mcp`` on a web host (which holds
  no map), kept until and after the sync worker that owns the repository applies it. The same
  write sent again with nothing written since (a client's retry: the repository's latest row
  has its ``write_key``) is that row, applied once. Rows are never deleted: a worker whose
  map is new or rebuilt applies every write its map has not (``id`` > the map's
  ``pg_write_seq``), as it does regeneration answers. A repository's writes commit in
  ``id`` order (its advisory lock is held to the commit), so a reader past the last id it
  applied never misses one.
- ``float_records``: per repository, the newest decisions and questions (at most
  RECORDS_MAX of each and RECORDS_CHARS of JSON) and ``.float/boot.md`` at the synced commit
  (BOOT_CHARS), published with the read model.

A named schema step: pg_store.STEPS runs SCHEMA once, after the base schema.
"""

from __future__ import annotations

import json
import time
from typing import Any

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

SCHEMA = """
CREATE TABLE IF NOT EXISTS float_agent_writes (
    id bigserial PRIMARY KEY,
    repo text NOT NULL,
    write_key text NOT NULL,
    tool text NOT NULL,
    args jsonb NOT NULL,
    state text NOT NULL DEFAULT 'queued',
    result jsonb,
    error text,
    received_at double precision NOT NULL,
    applied_at double precision,
    applied_by text
);
CREATE INDEX IF NOT EXISTS float_agent_writes_repo ON float_agent_writes(repo, id);
CREATE INDEX IF NOT EXISTS float_agent_writes_queued ON float_agent_writes(repo, id)
    WHERE state = 'queued';
CREATE TABLE IF NOT EXISTS float_records (
    repo text PRIMARY KEY,
    decisions jsonb NOT NULL,
    decisions_total integer NOT NULL,
    questions jsonb NOT NULL,
    questions_total integer NOT NULL,
    boot text,
    published_at double precision NOT NULL
);
"""
RECORDS_MAX = 500  # decisions, and questions, published per repository (the newest)
RECORDS_CHARS = 1024 * 1024  # of each list's JSON
BOOT_CHARS = 100_000  # of .float/boot.md (as the stdio server gives it)


def newest(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The newest of ``items`` (oldest first) that fit: at most RECORDS_MAX, RECORDS_CHARS."""
    out: list[dict[str, Any]] = []
    size = 0
    for item in reversed(items[-RECORDS_MAX:]):
        size += len(json.dumps(item, ensure_ascii=False, default=str))
        if size > RECORDS_CHARS:
            break
        out.append(item)
    out.reverse()
    return out


class AgentStore:
    """float_agent_writes and float_records, over the process's pool (pg_queue.PgContext)."""

    def __init__(self, pool: ConnectionPool):
        self.pool = pool

    # -- the web side ----------------------------------------------------------------------
    def queue_write(self, repo: str, write_key: str, tool: str, args: dict[str, Any]
                    ) -> tuple[dict[str, Any], bool]:
        """(the write's row, whether this call recorded it). A client's retry is the same
        write: when the repository's latest write has ``write_key`` (the same tool and
        arguments, nothing written since), it is returned as it stands, not recorded twice.
        The same write after another one is a new write (set X, set Y, set X again must end
        at X)."""
        with self.pool.connection() as conn, conn.transaction(), \
                conn.cursor(row_factory=dict_row) as cur:
            # ids commit in order per repository (see the module's note)
            cur.execute("SELECT pg_advisory_xact_lock(hashtext('float_agent_writes:' || %s))",
                        (repo,))
            cur.execute("SELECT * FROM float_agent_writes WHERE repo = %s"
                        " ORDER BY id DESC LIMIT 1", (repo,))
            latest = cur.fetchone()
            if latest is not None and latest["write_key"] == write_key:
                return dict(latest), False
            cur.execute(
                "INSERT INTO float_agent_writes(repo, write_key, tool, args, received_at)"
                " VALUES (%s, %s, %s, %s, %s) RETURNING *",
                (repo, write_key, tool, Jsonb(args), time.time()))
            row = cur.fetchone()
            assert row is not None
            return dict(row), True

    def write(self, repo: str, write_id: int) -> dict[str, Any] | None:
        with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute("SELECT * FROM float_agent_writes WHERE repo = %s AND id = %s",
                        (repo, write_id))
            row = cur.fetchone()
        return dict(row) if row else None

    def queued_writes(self, repo: str) -> int:
        with self.pool.connection() as conn:
            row = conn.execute("SELECT count(*) FROM float_agent_writes WHERE repo = %s"
                               " AND state = 'queued'", (repo,)).fetchone()
        return int(row[0]) if row else 0

    def recent_writes(self, repo: str, limit: int = 20) -> list[dict[str, Any]]:
        """The newest writes' id, tool, state and times (no arguments, no result)."""
        with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute("SELECT id, tool, state, error, received_at, applied_at"
                        " FROM float_agent_writes WHERE repo = %s ORDER BY id DESC LIMIT %s",
                        (repo, limit))
            return [dict(r) for r in cur.fetchall()]

    def records(self, repo: str) -> dict[str, Any] | None:
        with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute("SELECT * FROM float_records WHERE repo = %s", (repo,))
            row = cur.fetchone()
        return dict(row) if row else None

    def folder_freshness(self, repo: str, folders: list[str]) -> dict[str, dict[str, Any]]:
        """Each folder's status, source_hash, context_hash, context_commit (read model)."""
        with self.pool.connection() as conn:
            rows = conn.execute(
                "SELECT path, doc->>'status', doc->>'source_hash', doc->>'context_hash',"
                " doc->>'context_commit' FROM float_folders WHERE repo = %s"
                " AND path = ANY(%s)", (repo, folders)).fetchall()
        return {r[0]: {"status": r[1], "source_hash": r[2], "context_hash": r[3],
                       "context_commit": r[4]} for r in rows}

    def delivered(self, repo: str) -> int:
        """How many deliveries were ever recorded for ``repo``."""
        with self.pool.connection() as conn:
            row = conn.execute("SELECT count(*) FROM float_deliveries WHERE repo = %s",
                               (repo,)).fetchone()
        return int(row[0]) if row else 0

    # -- the sync worker's side (it holds the repository's lock) ----------------------------
    def writes_after(self, repo: str, seq: int, limit: int = 500) -> list[dict[str, Any]]:
        with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute("SELECT * FROM float_agent_writes WHERE repo = %s AND id > %s"
                        " ORDER BY id LIMIT %s", (repo, seq, limit))
            return [dict(r) for r in cur.fetchall()]

    def settle_write(self, write_id: int, state: str, result: dict[str, Any] | None,
                     error: str | None, by: str) -> None:
        """The outcome of the first map that applied the write (later maps leave it)."""
        with self.pool.connection() as conn:
            conn.execute(
                "UPDATE float_agent_writes SET state = %s, result = %s, error = %s,"
                " applied_at = %s, applied_by = %s WHERE id = %s AND state = 'queued'",
                (state, None if result is None else Jsonb(result), error, time.time(), by,
                 write_id))

    def publish_records(self, repo: str, decisions: list[dict[str, Any]],
                        decisions_total: int, questions: list[dict[str, Any]],
                        questions_total: int, boot: str | None) -> None:
        """The newest decisions and questions (oldest first, as the map lists them; at
        most RECORDS_MAX each, RECORDS_CHARS of JSON), rewritten only when they changed."""
        with self.pool.connection() as conn:
            conn.execute(
                "INSERT INTO float_records(repo, decisions, decisions_total, questions,"
                " questions_total, boot, published_at) VALUES (%s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (repo) DO UPDATE SET decisions = excluded.decisions,"
                " decisions_total = excluded.decisions_total, questions = excluded.questions,"
                " questions_total = excluded.questions_total, boot = excluded.boot,"
                " published_at = excluded.published_at WHERE (float_records.decisions,"
                " float_records.decisions_total, float_records.questions,"
                " float_records.questions_total, float_records.boot) IS DISTINCT FROM"
                " (excluded.decisions, excluded.decisions_total, excluded.questions,"
                " excluded.questions_total, excluded.boot)",
                (repo, Jsonb(newest(decisions)), decisions_total, Jsonb(newest(questions)),
                 questions_total, None if boot is None else boot[:BOOT_CHARS], time.time()))
