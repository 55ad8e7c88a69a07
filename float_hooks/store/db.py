"""The SQLite store: opening (WAL, busy timeout, migrations), write transactions that take the
write lock up front (a failed one takes its journal lines back), read-only connections. SQLite
failures become clear errors in damage.py (re-exported here)."""

from __future__ import annotations

import importlib
import os
import sqlite3
import time
import weakref
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any

from float_hooks import failpoints
from float_hooks.errors import CorruptDatabase, FloatError, NoDatabase
from float_hooks.output import error
from float_hooks.store import schema
from float_hooks.store.damage import RESTORE_HINT as RESTORE_HINT
from float_hooks.store.damage import damage as damage
from float_hooks.store.damage import translate as translate

if TYPE_CHECKING:
    from float_hooks.store.journal import Journal

DB_NAME = "index.db"

BASE_KEY = "base_commit"  # meta: the commit the synced snapshot is based on ('' = none yet)
BUILT_KEY = "built"  # meta: set by the transaction that finished the DB's first build


def now() -> str:
    # time, not datetime: every hook would pay for importing datetime
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _voided(e: FloatError, problem: str | None) -> FloatError:
    """``e``, saying so if the journal could not take the failed write back."""
    if problem is not None:
        e.args = (f"{e.args[0]}; {problem}", *e.args[1:])
    return e


class Store:
    """One connection to ``index.db``. Writes go through :meth:`write` only."""

    def __init__(self, conn: sqlite3.Connection, path: Path, journal: Journal | None = None):
        with suppress(OSError):
            st = os.stat(path)
            conn.file_id = (st.st_dev, st.st_ino)  # type: ignore[attr-defined]
        self.conn = conn
        self.path = path
        self.journal = journal  # where authored writes go before they commit (journal.py)
        self._building = False  # a new file, still under its rollback journal
        self._known_built = False  # is_built once seen true: a build is never undone

    @classmethod
    def open(cls, path: Path, *, create: bool = False, timeout: float = 30.0,
             journal: Journal | None = None) -> Store:
        if not path.exists() and not create:
            raise NoDatabase(f"{path}: no database yet; run `float-hooks init` first")
        why = _damage(path)
        if why is not None:
            raise CorruptDatabase(f"{path}: database is corrupt ({why}); {RESTORE_HINT}", path)
        new = create and (not path.exists() or path.stat().st_size == 0)
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(path, timeout=timeout, isolation_level=None,
                                   factory=_Connection)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if new:
                # A new file is filled by its first sync (90k rows). Under a rollback journal
                # that holds next to nothing and every page is written once; in WAL each page
                # goes to the log and again to the file at the checkpoint (an eighth of a
                # first sync). Just as atomic; WAL from the end of that sync
                # (built_first). Readers wait for the build meanwhile instead of reading an
                # empty map.
                conn.execute("PRAGMA synchronous = FULL")
            else:
                _use_wal(conn)
            conn.execute("PRAGMA foreign_keys = ON")
            store = cls(conn, path, journal)
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
        """A connection that cannot write: for `query` and other untrusted SQL, and for
        reading a map in a directory this user may not write to."""
        if not path.exists():
            raise NoDatabase(f"{path}: no database yet; run `float-hooks init` first")
        why = _damage(path)
        if why is not None:
            raise CorruptDatabase(f"{path}: database is corrupt ({why}); {RESTORE_HINT}", path)
        conn = None
        # mode=ro reads a WAL database while its -shm can be written; in a directory that
        # cannot be written, only immutable=1 opens it (no other writer can be there then)
        for query in ("mode=ro", "mode=ro&immutable=1"):
            try:
                conn = sqlite3.connect(f"{path.resolve().as_uri()}?{query}", uri=True,
                                       timeout=timeout, isolation_level=None,
                                       factory=_Connection)
                conn.row_factory = sqlite3.Row
                conn.execute("PRAGMA query_only = ON")
                conn.execute("PRAGMA user_version").fetchone()
                from float_hooks.store import sqlguard  # ATTACH, PRAGMA writes, load_extension

                sqlguard.install(conn)
                break
            except sqlite3.Error as e:
                if conn is not None:
                    conn.close()
                    conn = None
                if "unable to open" not in str(e) and "readonly" not in str(e):
                    raise translate(e, path) from e
                last = e
        if conn is None:
            raise translate(last, path) from last
        return cls(conn, path)

    def close(self) -> None:
        if self.conn not in _OPEN:
            return
        _OPEN.discard(self.conn)  # type: ignore[arg-type]
        self.built_first()  # opened new, never synced: leave it in WAL like every DB
        self.conn.close()


    @contextmanager
    def write(self, catch_up: bool = True) -> Iterator[sqlite3.Connection]:
        """One write transaction; BEGIN IMMEDIATE takes the write lock before any read, so two
        processes never interleave a read-modify-write and never fail on a lock upgrade.
        ``catch_up=False``: a write of derived rows only (the repair of a search index, whose
        triggers the catch-up's writes would fire) leaves a killed writer's journal lines to
        the next write."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:
            raise translate(e, self.path) from e
        try:
            if catch_up and self.journal is not None and self.is_built():
                # writes a killed writer journaled but never committed come first (journal.py)
                self.journal.catch_up(self.conn)
            yield self.conn
            if self.journal is not None:
                self.journal.flush(self.conn)  # authored writes reach the journal first
            self.conn.execute("COMMIT")
        except sqlite3.Error as e:
            self._rollback()
            raise _voided(translate(e, self.path), self._void()) from e
        except FloatError as e:
            self._rollback()
            raise _voided(e, self._void()) from None
        except BaseException:
            self._rollback()
            self._void()
            raise
        if self.journal is not None:
            self.journal.committed()

    def _void(self) -> str | None:
        """A transaction that failed (its COMMIT included: a full disk) takes back what it
        appended to the journal: a write reported failed is never applied later. A kill
        gets no say, and leaves the write to be kept (journal.py)."""
        return self.journal.void() if self.journal is not None else None

    def _rollback(self) -> None:
        """Undo the open transaction, if SQLite has not already (it does so itself on a
        full disk, for one): the error the caller sees is the one that happened."""
        if self.conn.in_transaction:
            with suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")

    def journal_check(self) -> None:
        """A built DB whose journal is missing (deleted with ``.git/float``) or another DB's
        gets its journal written whole: from then on nothing it holds lives only in it."""
        journal = self.journal
        if journal is None:
            return
        if journal.current(self.get_meta("journal_id")):
            if journal.behind(self.conn):  # lines a killed writer never committed
                with suppress(FloatError), self.write():
                    pass  # Store.write merges them first
            if journal.unverified(self.conn):  # changed by someone else: read it whole
                try:
                    with self.write() as conn:
                        damaged = journal.verify(conn, self.quick_check)
                except CorruptDatabase:
                    raise
                except FloatError:
                    return  # a read-only place: the next write says what is wrong
                if damaged:
                    error(f"the write journal {journal.path} had {damaged} damaged"
                          f" line{'s' if damaged > 1 else ''}; rewritten from the database,"
                          " which holds every record")
            return
        with suppress(FloatError), self.write() as conn:
            journal.ensure(conn)  # a read-only place: the next write says what is wrong

    def is_built(self) -> bool:
        """The DB's first build committed (build.py): anything else is treated as missing.
        Remembered once true (every hook asks it several times)."""
        if not self._known_built:
            try:
                self._known_built = self.get_meta(BUILT_KEY) is not None
            except sqlite3.OperationalError:
                return False  # a new file being created: no meta table yet
        return self._known_built

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
                failpoints.reached(f"migrate:{number}:schema")
                step = schema.PYTHON_STEPS.get(number)
                if step is not None:
                    module, _, function = step.partition(":")
                    getattr(importlib.import_module(module), function)(conn)
                conn.execute(
                    "INSERT INTO migrations(id, name, applied_at) VALUES (?, ?, ?)",
                    (number, name, now()),
                )
                conn.execute(f"PRAGMA user_version = {number}")
                failpoints.reached(f"migrate:{number}")

    def quick_check(self) -> None:
        try:
            rows = self.conn.execute("PRAGMA quick_check").fetchall()
        except sqlite3.Error as e:
            raise translate(e, self.path) from e
        problems = [line for r in rows if r[0] != "ok" for line in str(r[0]).splitlines()
                    if not line.startswith("***")]  # "*** in database main ***" heads them
        if problems:
            raise CorruptDatabase(
                f"{self.path}: database fails its integrity check ({problems[0]}); {RESTORE_HINT}",
                self.path)

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


class _Connection(sqlite3.Connection):
    """A connection that can be tracked: its statement cache refers back to it, so a
    connection whose Store was dropped lives on until the garbage collector runs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _OPEN.add(self)


# Connections not closed yet: a command's are closed when it ends (close_all), so that a
# process running several commands (tests, the MCP server) never keeps one that outlives a
# DB replaced under it (its next read would see the old file's pages).
_OPEN: weakref.WeakSet[_Connection] = weakref.WeakSet()


def _damage(path: Path) -> str | None:
    """damage(path), unless this process has the file open in SQLite already. POSIX drops
    every lock a process holds on a file when it closes ANY descriptor of it: reading the
    header with open() and close() would take our connections' locks away, and another
    process closing its connection would then think itself the last, checkpoint and delete
    the WAL under our connections (a later read: "disk I/O error", IOERR_SHORT_READ). A file
    SQLite holds open here is judged by SQLite."""
    try:
        st = os.stat(path)
        ident = (st.st_dev, st.st_ino)
        if any(getattr(c, "file_id", None) == ident for c in list(_OPEN)):
            return None
    except (OSError, RuntimeError):  # RuntimeError: the set changed in another thread
        pass
    return damage(path)


def open_connections() -> set[int]:
    """A mark: the connections open now (see close_opened_since)."""
    return {id(c) for c in _OPEN}


def close_opened_since(mark: set[int]) -> None:
    """Close the connections opened after ``mark`` was taken (a command's, when it ends)."""
    for conn in list(_OPEN):
        if id(conn) not in mark:
            _OPEN.discard(conn)
            with suppress(sqlite3.Error):
                conn.close()


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
    row costs more than binding the row."""
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
