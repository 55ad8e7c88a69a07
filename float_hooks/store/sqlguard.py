"""Read-only SQL that is read-only for real: what `query` (the CLI command and the MCP tool)
runs, where the SQL may come from a prompt-injected model.

A ``mode=ro`` connection with ``PRAGMA query_only`` refuses writes to the database, but not
everything a statement can do: ``ATTACH DATABASE '/any/path'`` creates an empty file anywhere
the user can write before it fails, ``VACUUM INTO`` writes a whole copy, ``load_extension``
loads code, and some PRAGMAs change the connection (``query_only = OFF``) or the process. So
every read-only connection gets an SQLite authorizer that allows only reading: SELECT, the
tables and columns it reads, functions other than the dangerous ones, and a list of PRAGMAs
that only report. Each statement is also bounded: a deadline checked by a progress handler,
a cap on the rows returned, and a cap on the size of any one value.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from float_hooks.errors import FloatError

MAX_VALUE_BYTES = 4 * 1024 * 1024  # no string or blob larger than this (randomblob(1e9) ...)

# PRAGMAs that only report; those in _WITH_ARGUMENT may name a table or index to report on.
_READ_PRAGMAS = frozenset({
    "application_id", "collation_list", "compile_options", "data_version", "database_list",
    "encoding", "foreign_key_list", "freelist_count", "function_list", "index_info",
    "index_list", "index_xinfo", "journal_mode", "module_list", "page_count", "page_size",
    "pragma_list", "schema_version", "table_info", "table_list", "table_xinfo",
    "user_version",
})
_WITH_ARGUMENT = frozenset({"foreign_key_list", "index_info", "index_list", "index_xinfo",
                            "table_info", "table_list", "table_xinfo"})
_DENIED_FUNCTIONS = frozenset({"load_extension", "fts3_tokenizer", "readfile", "writefile",
                               "edit", "zipfile"})
_NAMES = {
    sqlite3.SQLITE_ATTACH: "ATTACH (and VACUUM INTO)",
    sqlite3.SQLITE_DETACH: "DETACH",
    sqlite3.SQLITE_INSERT: "INSERT",
    sqlite3.SQLITE_UPDATE: "UPDATE",
    sqlite3.SQLITE_DELETE: "DELETE",
    sqlite3.SQLITE_ALTER_TABLE: "ALTER TABLE",
    sqlite3.SQLITE_REINDEX: "REINDEX",
    sqlite3.SQLITE_ANALYZE: "ANALYZE",
    sqlite3.SQLITE_SAVEPOINT: "SAVEPOINT",
    sqlite3.SQLITE_CREATE_VTABLE: "CREATE VIRTUAL TABLE",
    sqlite3.SQLITE_DROP_VTABLE: "DROP VIRTUAL TABLE",
}


class Guard:
    """The authorizer of one connection; remembers what it refused last, for the message."""

    def __init__(self) -> None:
        self.refused: str | None = None

    def __call__(self, action: int, arg1: str | None, arg2: str | None, _db: str | None,
                 _trigger: str | None) -> int:
        if action in (sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE):
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_FUNCTION:
            if (arg2 or "").lower() in _DENIED_FUNCTIONS:
                return self._deny(f"the function {arg2}()")
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_PRAGMA:
            name = (arg1 or "").lower()
            if name in _READ_PRAGMAS and (arg2 is None or name in _WITH_ARGUMENT):
                return sqlite3.SQLITE_OK
            return self._deny(f"PRAGMA {name}" + (" with a value" if arg2 is not None else ""))
        if action == sqlite3.SQLITE_TRANSACTION:
            return sqlite3.SQLITE_OK  # BEGIN/COMMIT: harmless on a read-only connection
        if action == sqlite3.SQLITE_UPDATE and arg1 == "sqlite_master":
            # a virtual table (FTS5) declaring its schema as it connects; the read-only
            # connection refuses any real write to sqlite_master
            return sqlite3.SQLITE_OK
        return self._deny(_NAMES.get(action, "writing (CREATE, DROP, temporary tables)"))

    def _deny(self, what: str) -> int:
        self.refused = what
        return sqlite3.SQLITE_DENY


def install(conn: sqlite3.Connection) -> Guard:
    """Put the read-only authorizer and the value-size limit on ``conn``."""
    guard = Guard()
    conn.set_authorizer(guard)
    limit = getattr(sqlite3, "SQLITE_LIMIT_LENGTH", None)
    if limit is not None:  # Python 3.11+ (3.10 still has the time bound)
        conn.setlimit(limit, MAX_VALUE_BYTES)  # type: ignore[attr-defined,unused-ignore]
    return guard


class QueryResult:
    def __init__(self, columns: list[str], rows: list[tuple[Any, ...]], truncated: bool):
        self.columns = columns
        self.rows = rows
        self.truncated = truncated

    def as_dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, r, strict=True)) for r in self.rows]


def run(conn: sqlite3.Connection, sql: str, *, max_rows: int, timeout: float) -> QueryResult:
    """Run one read-only statement on a connection :func:`install` guarded: at most
    ``max_rows`` rows (``truncated`` says whether there were more), stopped after
    ``timeout`` seconds. Failures are a FloatError with one line."""
    guard = install(conn)  # fresh, so `refused` belongs to this statement
    deadline = time.monotonic() + timeout
    conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 1000)
    try:
        cur = conn.execute(sql)
        rows = cur.fetchmany(max_rows + 1)
    except sqlite3.Error as e:
        raise _error(e, guard, timeout) from None
    except (ValueError, OverflowError) as e:  # e.g. a NUL character in the SQL text
        raise FloatError(f"query failed: {_one_line(str(e))}") from None
    finally:
        conn.set_progress_handler(None, 0)
    columns = [d[0] for d in cur.description or []]
    truncated = len(rows) > max_rows
    return QueryResult(columns, [tuple(r) for r in rows[:max_rows]], truncated)


def _error(e: sqlite3.Error, guard: Guard, timeout: float) -> FloatError:
    msg = str(e)
    if guard.refused is not None or "not authorized" in msg:
        what = guard.refused or "this statement"
        return FloatError(f"query refused: {what} is not allowed; the database is read-only"
                          " here (SELECT, WITH and reporting PRAGMAs only)")
    if "interrupted" in msg:
        return FloatError(f"query stopped after {timeout:g} s (the limit for one query)")
    if "readonly" in msg or "read-only" in msg:
        return FloatError("query is read-only: writes are refused")
    if "too big" in msg:
        return FloatError(f"query refused: a value over {MAX_VALUE_BYTES // (1024 * 1024)} MiB")
    if "one statement at a time" in msg:
        return FloatError("query failed: one statement at a time")
    return FloatError(f"query failed: {_one_line(msg)}")


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
