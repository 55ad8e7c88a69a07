"""The write journal: every authored write, kept outside the git-ignored database.

``<git dir>/float/journal.jsonl`` (each work tree's own git dir, so a linked worktree has its
own, like its own DB). Git never cleans or checks out its git directory, so the journal
survives ``git clean -fdx``, a deleted or corrupt ``index.db`` and a branch switch. A rebuilt
DB is the committed export plus the journal replayed (build.py): nothing written since the
last export is lost. Why a journal and not an export kept current after each write: see
docs/durability.md.

Mechanism: triggers (schema migration 6) note each authored record a transaction changes in
``journal_pending``; :meth:`Journal.flush`, called by ``Store.write`` just before COMMIT,
gives each changed record its version (record_format.py), appends the records to the journal and
clears the outbox. The append (fsynced) happens before the commit: a kill between the two
leaves a journal line for a write the DB rolled back, which a later rebuild applies (the write
is kept, never lost); a COMMIT that fails, which the user is told, takes the lines back
(:meth:`Journal.void`). Records a merge copied verbatim from this journal are taken out of
the outbox instead (merge.py).

Format: JSON lines (journal_format.py: each with a checksum). The first is a header,
``{"float-hooks-journal": 1, "id": ...}``; the DB keeps the same id (meta ``journal_id``).
Each further line is ``{"sum", "kind", "key", "record"}`` or ``{"sum", "kind", "key",
"gone": true}``. A journal someone else changed is read whole on open, and rewritten from a
sound DB if lines fail their checksums (:meth:`Journal.verify`). A journal that is missing
or belongs to another DB is replaced by a snapshot of every authored record (after merging
what it held). When it grows past twice its size after the last rewrite plus 1 MiB, it is
rewritten keeping the last line of each record (and of each folder context per folder hash,
so reverts still find them).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from float_hooks import failpoints
from float_hooks.errors import FloatError
from float_hooks.store import journal_format as fmt
from float_hooks.store import record_format
from float_hooks.store.journal_format import HEADER, snapshot

NAME = "journal.jsonl"
ID_KEY = "journal_id"  # meta: the id of the journal this DB writes to
SIZE_KEY = "journal_rewritten_size"  # meta: its size after the last rewrite
# meta: the journal's size after this DB's last committed append or rewrite. A journal of
# another size holds what this DB never committed (a writer killed before its COMMIT, the DB
# this one is a backup of): the next write transaction (or open) merges it (catch_up)
COMMITTED_KEY = "journal_committed"
GROWTH_SLACK = 1 << 20
# meta: the journal file (inode, size, mtime) as last read whole and found sound, or as this
# DB's own append left a sound file. Another value: someone else changed it, so the next open
# reads it whole (verify)
VERIFIED_KEY = "journal_verified"


class JournalError(FloatError):
    pass


def path_for(git_dir: Path) -> Path:
    return git_dir / "float" / NAME


class Journal:
    def __init__(self, path: Path):
        self.path = path
        # what the open transaction did to the file, to undo if its COMMIT fails (void):
        # (inode, size) before its append, and the file a rewrite replaced (kept as .prev)
        self._before: tuple[int, int] | None = None
        self._prev: Path | None = None
        self._new = False  # the transaction created the file
        self._seen: tuple[str, str] | None = None  # the file's stamp before and after an append

    # -- writing -----------------------------------------------------------------------------
    def flush(self, conn: sqlite3.Connection) -> None:
        """Version and append the records the open transaction changed (Store.write)."""
        pending = conn.execute("SELECT kind, key FROM journal_pending").fetchall()
        if not pending:
            return
        entries = fmt.entries(conn, [(kind, key) for kind, key in pending])
        conn.execute("DELETE FROM journal_pending")
        if self.ensure(conn):
            return  # rewritten whole: the snapshot holds these records already
        if self._new:
            # the file this transaction started (a first build: start) holds its header
            # alone: written whole with the entries, not appended to and then compacted at
            # once (a first build importing an export: docs/performance.md)
            self._rewrite(conn, entries)
            return
        mark, size = self._append(entries)
        _set_meta(conn, COMMITTED_KEY, mark)  # committed with the transaction
        if self._seen is not None and _meta(conn, VERIFIED_KEY) == self._seen[0]:
            _set_meta(conn, VERIFIED_KEY, self._seen[1])  # sound before, and our lines are
        failpoints.reached("journal:appended")
        rewritten = int(_meta(conn, SIZE_KEY) or 0)
        if size > 2 * rewritten + GROWTH_SLACK:
            self._rewrite(conn, list(fmt.latest(self.lines())))

    def behind(self, conn: sqlite3.Connection) -> bool:
        """The journal holds lines this DB never committed (cheap: a stat and a meta read)."""
        committed = _meta(conn, COMMITTED_KEY)
        if committed is None:
            return False  # a DB from before this key: it starts at its next append
        try:
            st = self.path.stat()
        except OSError:
            return False  # missing: journal_check writes it whole
        if ":" not in committed:  # written before marks named the file: its size alone
            return st.st_size != int(committed)
        return fmt.mark(st) != committed

    def catch_up(self, conn: sqlite3.Connection) -> Any:
        """Merge a journal this DB is behind into the open transaction (at the start of a
        write: Store.write), as a rebuild's replay would; None if it is not behind.

        The whole journal, not only the lines past the committed size: a writer killed
        between the journal's rewrite (``flush`` compacts it before the COMMIT) and its
        COMMIT leaves a rewritten file, in which that size is no line boundary and the
        killed writer's lines may lie before it. Merging a line the DB has is a no-op, and
        this runs only after such a kill or with a restored backup of the DB."""
        if not self.behind(conn) or not self.current(_meta(conn, ID_KEY)):
            return None
        try:
            with open(self.path, "rb") as f:
                st = os.fstat(f.fileno())
                data = f.read(st.st_size)
        except OSError:
            return None
        result = _merge(fmt.records(fmt.parse(data.splitlines(keepends=True))), conn,
                        str(self.path))
        _set_meta(conn, COMMITTED_KEY, fmt.mark(st))
        failpoints.reached("journal:caught-up")
        return result

    def _append(self, entries: list[dict[str, Any]]) -> tuple[str, int]:
        """Append the entries, durably (fsync); returns the journal's mark and size after
        them."""
        data = "".join(fmt.line(e) for e in entries).encode("utf-8")
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as e:
            raise self._error(e) from e
        try:
            st = os.fstat(fd)
            first = fmt.stamp(st)
            if self._before is None:
                self._before = (st.st_ino, st.st_size)
            if st.st_size and os.pread(fd, 1, st.st_size - 1) != b"\n":
                data = b"\n" + data  # a line torn by a kill or a full disk stays alone
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)  # the cost: docs/performance.md, "Figures behind the code"
            st = os.fstat(fd)
            self._seen = (first, fmt.stamp(st))
            return fmt.mark(st), int(st.st_size)
        except OSError as e:
            raise self._error(e) from e
        finally:
            os.close(fd)

    # -- the end of the transaction (Store.write) -------------------------------------------
    def committed(self) -> None:
        """The transaction committed: what it wrote here stays."""
        self._before = None
        self._new = False
        prev, self._prev = self._prev, None
        if prev is not None:
            with contextlib.suppress(OSError):
                prev.unlink()

    def void(self) -> str | None:
        """The transaction failed after (or while) it wrote here: take its lines out again
        (the previous file back after a rewrite, the append cut off), so a write reported
        as failed is never applied later. None, or why that was impossible."""
        before, self._before = self._before, None
        prev, self._prev = self._prev, None
        new, self._new = self._new, False
        try:
            if new:
                self.path.unlink(missing_ok=True)
                return None
            if prev is not None:
                os.replace(prev, self.path)
            if before is not None:
                fd = os.open(self.path, os.O_RDWR)
                try:
                    if os.fstat(fd).st_ino == before[0]:
                        os.ftruncate(fd, before[1])
                        os.fsync(fd)
                finally:
                    os.close(fd)
        except OSError as e:
            return f"the write journal {self.path} may still hold it ({e.strerror})"
        return None

    def _error(self, e: OSError) -> JournalError:
        return JournalError(f"cannot write the journal {self.path}: {e.strerror};"
                            " nothing was written")

    def ensure(self, conn: sqlite3.Connection) -> bool:
        """Make sure the file is this DB's journal; True if it had to be rewritten."""
        mine = _meta(conn, ID_KEY)
        theirs = self.header_id()
        if mine is not None and theirs == mine:
            return False
        if theirs is not None:
            # another DB's journal (this one was copied in, or the journal put back): keep
            # what it holds before it is replaced
            from float_hooks.store.merge import (
                Merger,  # lazy: off the hooks' path (their start-up cost)
            )

            Merger(conn, durable=False, source=str(self.path)).merge(self.records())
            conn.execute("DELETE FROM journal_pending")
        self._rewrite(conn, list(snapshot(conn)), new_id=mine or _new_id())
        return True

    def _rewrite(self, conn: sqlite3.Connection, entries: list[dict[str, Any]],
                 new_id: str | None = None) -> None:
        journal_id = new_id or _meta(conn, ID_KEY) or _new_id()
        data = (fmt.dump({HEADER: 1, "id": journal_id})
                + "".join(fmt.line(e) for e in entries)).encode("utf-8")
        tmp = self.path.with_name(self.path.name + ".tmp")
        prev = self.path.with_name(self.path.name + ".prev")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
                st = os.fstat(f.fileno())
                mark = fmt.mark(st)
            failpoints.reached("journal:rewrite:written")
            if self._prev is None and not self._new:  # the file as the transaction found
                prev.unlink(missing_ok=True)  # it, for void(); a killed writer's goes
                try:
                    os.link(self.path, prev)
                    self._prev = prev
                except FileNotFoundError:
                    self._new = True
            os.replace(tmp, self.path)
        except OSError as e:
            tmp.unlink(missing_ok=True)
            raise self._error(e) from e
        failpoints.reached("journal:rewrite:replaced")
        _set_meta(conn, ID_KEY, journal_id)
        _set_meta(conn, SIZE_KEY, str(len(data)))
        _set_meta(conn, COMMITTED_KEY, mark)
        _set_meta(conn, VERIFIED_KEY, fmt.stamp(os.stat(self.path)))

    # -- checking ------------------------------------------------------------------------------
    def unverified(self, conn: sqlite3.Connection) -> bool:
        """Changed by someone else since it was last found sound (cheap: a stat and a meta
        read): :meth:`verify` reads it whole."""
        try:
            st = self.path.stat()
        except OSError:
            return False
        return _meta(conn, VERIFIED_KEY) != fmt.stamp(st)

    def verify(self, conn: sqlite3.Connection, db_sound: Callable[[], None]) -> int:
        """Read the whole journal in the open transaction; if lines fail their checksum (a
        truncated tail, garbage, a scribbled block), merge the sound ones and rewrite it from
        the DB, once ``db_sound`` found the DB sound (it raises otherwise, and the journal
        is kept as it is). The number of damaged lines."""
        try:
            with open(self.path, "rb") as f:
                st = os.fstat(f.fileno())
                data = f.read(st.st_size)
        except OSError:
            return 0
        damaged: list[int] = []
        entries = list(fmt.parse(data.splitlines(keepends=True), damaged))
        if not damaged:
            _set_meta(conn, VERIFIED_KEY, fmt.stamp(st))
            return 0
        db_sound()
        _merge(fmt.records(entries), conn, str(self.path))
        conn.execute("DELETE FROM journal_pending")  # the snapshot below holds them
        self._rewrite(conn, list(snapshot(conn)))
        return len(damaged)

    def start(self, conn: sqlite3.Connection) -> None:
        """A new DB (build.py): adopt the journal's id, or start a journal."""
        theirs = self.header_id()
        if theirs is not None:
            _set_meta(conn, ID_KEY, theirs)
            with contextlib.suppress(OSError):
                st = self.path.stat()
                _set_meta(conn, SIZE_KEY, str(st.st_size))
                _set_meta(conn, COMMITTED_KEY, fmt.mark(st))  # replayed whole by the build
        else:
            self._rewrite(conn, [], new_id=_new_id())

    # -- reading -----------------------------------------------------------------------------
    def header_id(self) -> str | None:
        try:
            with open(self.path, "rb") as f:
                first = f.readline(4096)
        except OSError:
            return None
        try:
            head = json.loads(first)
        except ValueError:
            return None
        if isinstance(head, dict) and head.get(HEADER) == 1 and isinstance(head.get("id"), str):
            return str(head["id"])
        return None

    def current(self, journal_id: str | None) -> bool:
        return journal_id is not None and self.header_id() == journal_id

    def lines(self) -> Iterator[dict[str, Any]]:
        """The entries (a torn or unreadable line is skipped)."""
        try:
            f = open(self.path, "rb")  # noqa: SIM115 - closed by the with below
        except FileNotFoundError:
            return
        with f:
            yield from fmt.parse(f)

    def records(self) -> Any:
        """What the journal holds, as merge.ExportData (the last state of each record), and
        the earlier contexts of each folder (for ``context_versions``)."""
        return fmt.records(self.lines())


def replay(journal: Journal, conn: sqlite3.Connection) -> Any:
    """Merge the journal into the open transaction (a rebuild)."""
    return _merge(journal.records(), conn, str(journal.path))


def _merge(data: Any, conn: sqlite3.Connection, source: str) -> Any:
    """Merge journal records (``journal_format.records``) as durable: they are in the
    journal already. A folder's newest context is merged; its earlier ones go to
    ``context_versions``."""
    from float_hooks.store.merge import Merger  # lazy: off the hooks' path (their start-up cost)

    latest: dict[str, dict[str, Any]] = {}
    older: list[dict[str, Any]] = []
    for rec in data.folders:
        if rec["path"] in latest:
            older.append(latest[rec["path"]])
        latest[rec["path"]] = rec
    data.folders = list(latest.values())
    result = Merger(conn, durable=True, source=source).merge(data)
    for rec in older:  # contexts written for other hashes: a revert finds them
        content = record_format.folder_columns(rec)
        if content.get("context_hash"):
            conn.execute("INSERT OR IGNORE INTO context_versions(folder_path, source_hash,"
                         " content, created_at) VALUES (?, ?, ?, ?)",
                         (rec["path"], content["context_hash"], json.dumps(content),
                          rec.get("ai_updated") or ""))
    return result


def _meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def _set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE"
                 " SET value = excluded.value", (key, value))


def _new_id() -> str:
    import uuid  # lazy: off the hooks' path (their start-up cost)

    return uuid.uuid4().hex
