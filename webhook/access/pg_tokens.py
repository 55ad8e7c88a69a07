"""API tokens in PostgreSQL (``FLOAT_DATABASE_URL``): ``float_tokens``, the same columns as
the embedded ``api_tokens`` (token_store.py), so every web host checks the same tokens and a
revoke takes effect on all of them at once. pg_store.apply_schema creates the table."""

from __future__ import annotations

import time
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from webhook.access.grants import Grant, new_token

SCHEMA = """
CREATE TABLE IF NOT EXISTS float_tokens (
    id text PRIMARY KEY,
    secret_sha256 text NOT NULL,
    scope text NOT NULL,
    role text NOT NULL,
    label text NOT NULL DEFAULT '',
    created_at double precision NOT NULL,
    revoked_at double precision
);
"""


class PgTokens:
    """Over a small pool of this process's own (a lookup is one indexed read)."""

    def __init__(self, url: str):
        self.pool = ConnectionPool(url, min_size=1, max_size=4, open=False,
                                   kwargs={"autocommit": True}, timeout=10.0)
        self.pool.open(wait=False)

    def _run(self, sql: str, args: tuple[Any, ...]) -> list[dict[str, Any]]:
        """One statement; once more on a fresh connection when the pooled one was broken
        (PostgreSQL restarted since)."""
        for attempt in (1, 2):
            try:
                with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
                    cur.execute(sql, args)  # constant SQL
                    return [dict(r) for r in cur.fetchall()] if cur.description else []
            except psycopg.OperationalError:
                if attempt == 2:
                    raise
                self.pool.check()
        return []

    def create(self, scope: str, role: str, label: str) -> tuple[Grant, str]:
        token_id, hashed, token = new_token()
        self._run("INSERT INTO float_tokens(id, secret_sha256, scope, role, label, created_at)"
                  " VALUES (%s, %s, %s, %s, %s, %s)",
                  (token_id, hashed, scope, role, label, time.time()))
        return Grant(token_id, scope, role, label), token

    def rows(self) -> list[dict[str, Any]]:
        return self._run("SELECT id, scope, role, label, created_at, revoked_at"
                         " FROM float_tokens ORDER BY created_at, id", ())

    def revoke(self, token_id: str) -> bool | None:
        row = self._run(
            "WITH r AS (UPDATE float_tokens SET revoked_at = %s WHERE id = %s AND revoked_at"
            " IS NULL RETURNING 1) SELECT (SELECT count(*) FROM r) AS revoked, EXISTS"
            " (SELECT 1 FROM float_tokens WHERE id = %s) AS known",
            (time.time(), token_id, token_id))[0]
        if row["revoked"]:
            return True
        return False if row["known"] else None

    def find(self, token_id: str) -> tuple[str, Grant] | None:
        rows = self._run("SELECT secret_sha256, scope, role, label FROM float_tokens"
                         " WHERE id = %s AND revoked_at IS NULL", (token_id,))
        if not rows:
            return None
        r = rows[0]
        return r["secret_sha256"], Grant(token_id, r["scope"], r["role"], r["label"])

    def close(self) -> None:
        self.pool.close()
