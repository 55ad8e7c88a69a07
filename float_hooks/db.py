"""The SQLite store: opening (WAL, busy timeout, migrations), write transactions that take the
write lock up front, read-only connections, and turning SQLite failures into clear errors."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from itertools import chain
from pathlib import Path
from typing import Any

from float_hooks import schema
from float_hooks.errors import CorruptDatabase, FloatError, LockedDatabase, NoDatabase

DB_NAME = "index.db"

RESTORE_HINT = (
    "move it aside and run `float-hooks sync` to rebuild it "
    "(authored content comes back from the committed export in .float/project/)"
)


def now() -> str:
    # time, not datetime: importing datetime costs every hook ~2 ms
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def translate(e: sqlite3.Error, path: Path) -> FloatError:
    """Map an SQLite failure to the one-line error a user can act on."""
    msg = str(e)
    if isinstance(e, sqlite3.OperationalError) and ("locked" in msg or "busy" in msg):
        return LockedDatabase(
            f"{path}: database is locked by another float-hooks process; try again "
            "(or raise [sync] lock_timeout)"
        )
    if isinstance(e, sqlite3.DatabaseError) and (
        "not a database" in msg or "malformed" in msg or "corrupt" in msg
    ):
        return CorruptDatabase(f"{path}: database is corrupt ({msg}); {RESTORE_HINT}")
    return FloatError(f"{path}: database error: {msg}")


class Store:
    """One connection to ``index.db``. Writes go through :meth:`write` only."""

    def __init__(self, conn: sqlite3.Connection, path: Path):
        self.conn = conn
        self.path = path
        self._building = False  # a new file, still under its rollback journal

    @classmethod
    def open(cls, path: Path, *, create: bool = False, timeout: float = 30.0) -> Store:
        if not path.exists() and not create:
            raise NoDatabase(f"{path}: no database yet; run `float-hooks init` first")
        new = create and not path.exists()
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(path, timeout=timeout, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if new:
                # A new file is filled by its first sync (90k rows). Under a rollback journal
                # that holds next to nothing and every page is written once; in WAL each page
                # goes to the log and again to the file at the checkpoint (0.2 s of a 1.5 s
                # first sync at 90k files). Just as atomic; WAL from the end of that sync
                # (built_first). Readers wait for the build meanwhile instead of reading an
                # empty map.
                conn.execute("PRAGMA synchronous = FULL")
            else:
                _use_wal(conn)
            conn.execute("PRAGMA foreign_keys = ON")
            store = cls(conn, path)
            if version < schema.LATEST:
                store.migrate()
            elif version > schema.LATEST:
                raise FloatError(
                    f"{path}: written by a newer float-hooks (schema {version}); upgrade it"
                )
            store._building = new
            return store
        except sqlite3.Error as e:
            raise translate(e, path) from e

    @classmethod
    def open_readonly(cls, path: Path, timeout: float = 30.0) -> Store:
        """A connection that cannot write: for `query` and other untrusted SQL."""
        if not path.exists():
            raise NoDatabase(f"{path}: no database yet; run `float-hooks init` first")
        try:
            conn = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=timeout,
                isolation_level=None,
            )
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA query_only = ON")
            conn.execute("PRAGMA user_version").fetchone()
            from float_hooks import sqlguard  # ATTACH, PRAGMA writes, load_extension: refused

            sqlguard.install(conn)
        except sqlite3.Error as e:
            raise translate(e, path) from e
        return cls(conn, path)

    def close(self) -> None:
        self.built_first()  # opened new, never synced: leave it in WAL like every DB
        self.conn.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; BEGIN IMMEDIATE takes the write lock before any read, so two
        processes never interleave a read-modify-write and never fail on a lock upgrade."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:
            raise translate(e, self.path) from e
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        try:
            self.conn.execute("COMMIT")
        except sqlite3.Error as e:
            self.conn.execute("ROLLBACK")
            raise translate(e, self.path) from e

    def built_first(self) -> None:
        """The first sync of a new file is written: from now on WAL (concurrent readers while
        a hook writes). Another process holding the file open can make the switch wait or
        fail; the next open switches it then."""
        if not self._building:
            return
        self._building = False
        with suppress(sqlite3.OperationalError):
            _use_wal(self.conn)

    def migrate(self) -> None:
        with self.write() as conn:
            done = conn.execute("PRAGMA user_version").fetchone()[0]
            if done == 0:
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS migrations ("
                    "id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
                )
            for number, name, sql in schema.MIGRATIONS:
                if number <= done:
                    continue
                for statement in _statements(sql):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO migrations(id, name, applied_at) VALUES (?, ?, ?)",
                    (number, name, now()),
                )
                conn.execute(f"PRAGMA user_version = {number}")

    def quick_check(self) -> None:
        try:
            rows = self.conn.execute("PRAGMA quick_check").fetchall()
        except sqlite3.Error as e:
            raise translate(e, self.path) from e
        problems = [r[0] for r in rows if r[0] != "ok"]
        if problems:
            raise CorruptDatabase(
                f"{self.path}: database fails its integrity check ({problems[0]}); {RESTORE_HINT}"
            )

    # -- meta ------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str | None) -> None:
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )


def _use_wal(conn: sqlite3.Connection) -> None:
    if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        conn.execute("PRAGMA journal_mode = wal")
    conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: durable, atomic


def _statements(sql: str) -> list[str]:
    """Split a migration into statements (sqlite3.complete_statement knows about triggers)."""
    out: list[str] = []
    buf = ""
    for line in sql.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out


# Above this many keys, one pass over a table beats an indexed lookup per key.
SCAN_ABOVE = 1000


def insert_rows(conn: sqlite3.Connection, head: str, rows: Sequence[Sequence[Any]],
                tail: str = "") -> None:
    """``{head} VALUES (?, ...), (?, ...), ... {tail}`` for ``rows``, as many rows per
    statement as 999 variables allow (the limit of SQLite before 3.32). One statement step per
    row costs more than binding the row: 90k file rows take ~190 ms one by one, ~110 ms so."""
    if not rows:
        return
    width = len(rows[0])
    per = max(1, 999 // width)
    values = "(" + ", ".join("?" * width) + ")"
    full = len(rows) - len(rows) % per
    if full:
        batch = f"{head} VALUES {', '.join([values] * per)} {tail}"
        conn.executemany(batch, (tuple(chain.from_iterable(rows[i : i + per]))
                                 for i in range(0, full, per)))
    if full < len(rows):
        conn.executemany(f"{head} VALUES {values} {tail}", rows[full:])


def in_chunks(items: Sequence[str], size: int = 500) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def select_in(
    conn: sqlite3.Connection | sqlite3.Cursor, sql: str, keys: Iterable[str],
    scan: str | None = None,
) -> list[Any]:
    """Run ``sql`` (with one ``{}`` for a placeholder list) over ``keys`` in chunks; or, for
    more than SCAN_ABOVE keys, ``scan`` (the same query without that filter) once, keeping
    the rows whose first column is one of the keys."""
    wanted = set(keys)
    if scan is not None and len(wanted) > SCAN_ABOVE:
        return [r for r in conn.execute(scan) if r[0] in wanted]
    rows: list[Any] = []
    for chunk in in_chunks(sorted(wanted)):
        rows += conn.execute(sql.format(",".join("?" * len(chunk))), chunk).fetchall()
    return rows
