"""Where tokens live: ``DATA_DIR/tokens.db`` (SQLite, WAL) by default, ``float_tokens`` in
PostgreSQL with ``FLOAT_DATABASE_URL`` (pg_tokens.py); and :func:`grant_for`, the one check
every endpoint makes.

A row holds the token's id, the SHA-256 of its secret (never the secret), its scope, role and
label, when it was created and when revoked. A revoked row is kept (``list`` shows it) and
grants nothing from the next request on: nothing is cached.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Protocol

from webhook.access.grants import ADMIN, ID, Grant, is_admin_token, matches, new_token, parse

DB_FILE = "tokens.db"
SCHEMA = """
CREATE TABLE IF NOT EXISTS api_tokens (
    id TEXT PRIMARY KEY,           -- 12 hex digits: the token's public part
    secret_sha256 TEXT NOT NULL,   -- of the secret part, which is never stored
    scope TEXT NOT NULL,           -- owner/name, owner/* or *
    role TEXT NOT NULL,            -- read | write | admin
    label TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    revoked_at REAL
);
"""
COLUMNS = "id, scope, role, label, created_at, revoked_at"


class Tokens(Protocol):
    def create(self, scope: str, role: str, label: str) -> tuple[Grant, str]:
        """Store a new token; (its grant, the token itself: shown once, never stored)."""

    def rows(self) -> list[dict[str, Any]]:
        """Every token (revoked ones too), oldest first, without hashes."""

    def revoke(self, token_id: str) -> bool | None:
        """True: revoked now; False: it already was; None: no such token."""

    def find(self, token_id: str) -> tuple[str, Grant] | None:
        """(the secret's hash, the grant) of a token that is not revoked."""

    def close(self) -> None: ...


class SqliteTokens:
    """``DATA_DIR/tokens.db``; one connection per thread (sqlite3's rule)."""

    def __init__(self, data_dir: Path):
        self.path = data_dir / DB_FILE
        data_dir.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        conn = self._conn()
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            conn.execute("PRAGMA journal_mode = wal")  # a revoke never waits for readers
        conn.executescript(SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None,
                                   check_same_thread=False)
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
        return conn

    def create(self, scope: str, role: str, label: str) -> tuple[Grant, str]:
        token_id, hashed, token = new_token()
        self._conn().execute(
            "INSERT INTO api_tokens(id, secret_sha256, scope, role, label, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)", (token_id, hashed, scope, role, label, time.time()))
        return Grant(token_id, scope, role, label), token

    def rows(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self._conn().execute(
            f"SELECT {COLUMNS} FROM api_tokens ORDER BY created_at, id")]

    def revoke(self, token_id: str) -> bool | None:
        conn = self._conn()
        if conn.execute("UPDATE api_tokens SET revoked_at = ? WHERE id = ?"
                        " AND revoked_at IS NULL", (time.time(), token_id)).rowcount:
            return True
        found = conn.execute("SELECT 1 FROM api_tokens WHERE id = ?", (token_id,)).fetchone()
        return False if found else None

    def find(self, token_id: str) -> tuple[str, Grant] | None:
        row = self._conn().execute(
            "SELECT secret_sha256, scope, role, label FROM api_tokens WHERE id = ?"
            " AND revoked_at IS NULL", (token_id,)).fetchone()
        if row is None:
            return None
        return row[0], Grant(token_id, row[1], row[2], row[3])

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def open_tokens(data_dir: Path, database_url: str | None) -> Tokens:
    if database_url is not None:
        from webhook.access.pg_tokens import PgTokens  # lazy: the [postgres] extra

        return PgTokens(database_url)
    return SqliteTokens(data_dir)


_shared: dict[tuple[int, str], Tokens] = {}
_shared_lock = threading.Lock()


def shared(data_dir: Path, database_url: str | None) -> Tokens:
    """This process's token store (opened once, after gunicorn's fork; shared by threads)."""
    key = (os.getpid(), database_url or str(data_dir))
    with _shared_lock:
        found = _shared.get(key)
        if found is None:
            found = _shared[key] = open_tokens(data_dir, database_url)
        return found


def grant_for(given: str, admin_token: str | None, data_dir: Path,
              database_url: str | None) -> Grant | None:
    """The grant of a presented token: ADMIN for ``FLOAT_API_TOKEN``, a stored token's
    grant when its secret matches and it is not revoked, else None (a 401). Only a
    well-formed ``flt_`` token is looked up."""
    if is_admin_token(given, admin_token):
        return ADMIN
    parsed = parse(given)
    if parsed is None or not ID.fullmatch(parsed[0]):
        return None
    found = shared(data_dir, database_url).find(parsed[0])
    if found is None:
        return None
    hashed, grant = found
    return grant if matches(parsed[1], hashed) else None
