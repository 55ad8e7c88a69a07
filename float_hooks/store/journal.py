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
clears the outbox. The append happens before the commit: a kill between the two leaves a
journal line for a write the DB rolled back, which a later rebuild applies (the write is
kept, never lost). Records a merge copied verbatim from a durable source (the committed
export, this journal) are taken out of the outbox instead (merge.py).

Format: JSON lines. The first is a header, ``{"float-hooks-journal": 1, "id": ...}``; the DB
keeps the same id (meta ``journal_id``). Each further line is ``{"kind", "key", "record"}``
or ``{"kind", "key", "gone": true}``. A journal that is missing or belongs to another DB is
replaced by a snapshot of every authored record (after merging what it held). When it grows
past twice its size after the last rewrite plus 1 MiB, it is rewritten keeping the last line
of each record (and of each folder context per folder hash, so reverts still find them).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from float_hooks import failpoints
from float_hooks.errors import FloatError
from float_hooks.store import record_format

NAME = "journal.jsonl"
HEADER = "float-hooks-journal"
ID_KEY = "journal_id"  # meta: the id of the journal this DB writes to
SIZE_KEY = "journal_rewritten_size"  # meta: its size after the last rewrite
# meta: the journal's size after this DB's last committed append or rewrite. A journal of
# another size holds what this DB never committed (a writer killed before its COMMIT, the DB
# this one is a backup of): the next write transaction (or open) merges it (catch_up)
COMMITTED_KEY = "journal_committed"
GROWTH_SLACK = 1 << 20


class JournalError(FloatError):
    pass


def path_for(git_dir: Path) -> Path:
    return git_dir / "float" / NAME


class Journal:
    def __init__(self, path: Path):
        self.path = path

    # -- writing -----------------------------------------------------------------------------
    def flush(self, conn: sqlite3.Connection) -> None:
        """Version and append the records the open transaction changed (Store.write)."""
        pending = conn.execute("SELECT kind, key FROM journal_pending").fetchall()
        if not pending:
            return
        entries = [_entry(conn, kind, key) for kind, key in pending]
        conn.execute("DELETE FROM journal_pending")
        if self.ensure(conn):
            return  # rewritten whole: the snapshot holds these records already
        mark, size = self._append(entries)
        _set_meta(conn, COMMITTED_KEY, mark)  # committed with the transaction
        failpoints.reached("journal:appended")
        rewritten = int(_meta(conn, SIZE_KEY) or 0)
        if size > 2 * rewritten + GROWTH_SLACK:
            self._rewrite(conn, list(_latest(self.lines())))

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
        return _mark(st) != committed

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
        result = _merge(_records(_parse(data.splitlines(keepends=True))), conn,
                        str(self.path))
        _set_meta(conn, COMMITTED_KEY, _mark(st))
        failpoints.reached("journal:caught-up")
        return result

    def _append(self, entries: list[dict[str, Any]]) -> tuple[str, int]:
        """Append the entries; returns the journal's mark and size after them."""
        data = "".join(_dump(e) for e in entries).encode("utf-8")
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as e:
            raise self._error(e) from e
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                data = b"\n" + data  # a line torn by a kill or a full disk stays alone
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            st = os.fstat(fd)
            return _mark(st), int(st.st_size)
        except OSError as e:
            raise self._error(e) from e
        finally:
            os.close(fd)

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
        data = (_dump({HEADER: 1, "id": journal_id})
                + "".join(_dump(e) for e in entries)).encode("utf-8")
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
                mark = _mark(os.fstat(f.fileno()))
            failpoints.reached("journal:rewrite:written")
            os.replace(tmp, self.path)
        except OSError as e:
            tmp.unlink(missing_ok=True)
            raise self._error(e) from e
        failpoints.reached("journal:rewrite:replaced")
        _set_meta(conn, ID_KEY, journal_id)
        _set_meta(conn, SIZE_KEY, str(len(data)))
        _set_meta(conn, COMMITTED_KEY, mark)

    def start(self, conn: sqlite3.Connection) -> None:
        """A new DB (build.py): adopt the journal's id, or start a journal."""
        theirs = self.header_id()
        if theirs is not None:
            _set_meta(conn, ID_KEY, theirs)
            with contextlib.suppress(OSError):
                st = self.path.stat()
                _set_meta(conn, SIZE_KEY, str(st.st_size))
                _set_meta(conn, COMMITTED_KEY, _mark(st))  # replayed whole by the build
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
            yield from _parse(f)

    def records(self) -> Any:
        """What the journal holds, as merge.ExportData (the last state of each record), and
        the earlier contexts of each folder (for ``context_versions``)."""
        return _records(self.lines())


def _parse(raw_lines: Iterable[bytes]) -> Iterator[dict[str, Any]]:
    """The entries of raw journal lines (a torn or unreadable line is skipped)."""
    for raw in raw_lines:
        try:
            entry = json.loads(raw)
        except ValueError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("kind"), str) \
                and isinstance(entry.get("key"), str):
            yield entry


def _records(entries: Iterable[dict[str, Any]]) -> Any:
    """merge.ExportData of entries: the last state of each record, in the order of each
    record's last line (a folder's newest is last)."""
    from float_hooks.store.merge import (
        ExportData,  # lazy: off the hooks' path (their start-up cost)
    )

    data = ExportData()
    for entry in _latest(entries):
        if entry.get("gone"):
            continue
        rec = entry.get("record")
        if not isinstance(rec, dict):
            continue
        kind = entry["kind"]
        if kind == "folder":
            data.folders.append({**rec, "path": entry["key"]})
        elif kind in ("decision", "question", "reference") and isinstance(rec.get("uid"),
                                                                           str):
            getattr(data, kind + "s").append(rec)
        elif kind == "archive" and isinstance(rec.get("path"), str) \
                and isinstance(rec.get("content"), dict):
            data.archived.append(rec)
        elif kind == "conflict":
            data.conflicts.append(rec)
    return data


def replay(journal: Journal, conn: sqlite3.Connection) -> Any:
    """Merge the journal into the open transaction (a rebuild)."""
    return _merge(journal.records(), conn, str(journal.path))


def _merge(data: Any, conn: sqlite3.Connection, source: str) -> Any:
    """Merge journal records (``_records``) as durable: they are in the journal already.
    A folder's newest context is merged; its earlier ones go to ``context_versions``."""
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


# -- entries -----------------------------------------------------------------------------------
def _entry(conn: sqlite3.Connection, kind: str, key: str) -> dict[str, Any]:
    if kind == "archive":
        row = conn.execute("SELECT * FROM archived_folders WHERE id = ?", (int(key),)).fetchone()
        if row is None:
            return {"kind": kind, "key": key, "gone": True}
        archived = record_format.archive_record(row)
        return {"kind": kind, "key": _archive_key(archived), "record": archived}
    if kind == "conflict":
        row = conn.execute("SELECT * FROM conflicts WHERE uid = ?", (key,)).fetchone()
        if row is None:
            return {"kind": kind, "key": key, "gone": True}
        return {"kind": kind, "key": key, "record": record_format.conflict_record(row)}
    rec = record_format.load(conn, kind, key)
    if rec is None or not record_format.has_context(rec):
        return {"kind": kind, "key": key, "gone": True}
    new = record_format.version(rec)
    old = rec.get("version")
    if new != old:
        parents = record_format.joined([old] if old else [],
                                       record_format.parents_of(rec.get("parents")))
        conn.execute(f"UPDATE {record_format.TABLE[kind]} SET version = ?, parents = ?"
                     f" WHERE {record_format.KEY_COLUMN[kind]} = ?",
                     (new, json.dumps(parents) if parents else None, key))
        rec["version"] = new
        rec.pop("parents", None)
        if parents:
            rec["parents"] = parents
    return {"kind": kind, "key": key, "record": rec}


def _archive_key(rec: dict[str, Any]) -> str:
    return json.dumps([rec.get("path"), rec.get("uid"), rec.get("archived_at")])


def snapshot(conn: sqlite3.Connection) -> Iterator[dict[str, Any]]:
    """Every authored record of the DB, as journal entries."""
    for row in conn.execute("SELECT * FROM folders ORDER BY path"):
        rec = record_format.folder_record(row)
        if record_format.has_context(rec):  # the rule the journal triggers and merges use
            yield {"kind": "folder", "key": row["path"], "record": rec}
    for rec in record_format.log_records(conn):
        yield {"kind": "decision", "key": rec["uid"], "record": rec}
    for rec in record_format.question_records(conn):
        yield {"kind": "question", "key": rec["uid"], "record": rec}
    for rec in record_format.reference_records(conn):
        yield {"kind": "reference", "key": rec["uid"], "record": rec}
    for rec in record_format.archive_records(conn):
        yield {"kind": "archive", "key": _archive_key(rec), "record": rec}
    for rec in record_format.conflict_records(conn):
        yield {"kind": "conflict", "key": rec["uid"], "record": rec}


def _latest(entries: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The last entry of each record, in the order of those last entries; for a folder, the
    last one per folder hash too (earlier contexts), all dropped once the folder is gone."""
    last: dict[tuple[str, str, str], dict[str, Any]] = {}
    for entry in entries:
        kind, key = entry["kind"], entry["key"]
        if kind == "folder":
            if entry.get("gone"):
                for k in [k for k in last if k[0] == "folder" and k[1] == key]:
                    del last[k]
                continue
            rec = entry.get("record") or {}
            sub = str(rec.get("context_hash") or "")
            last.pop(("folder", key, sub), None)  # re-inserted last: it is the newest
            last[("folder", key, sub)] = entry
        else:
            last.pop((kind, key, ""), None)
            last[(kind, key, "")] = entry
    for (kind, _key, _sub), entry in last.items():
        if not (entry.get("gone") and kind != "folder"):
            yield entry


def _mark(st: os.stat_result) -> str:
    """Which journal file a DB committed through, and how far: its inode and size. The size
    alone is not enough: a compaction killed before its COMMIT can leave a new file exactly
    as long as the old one (a rewrite makes a new file, so a new inode)."""
    return f"{st.st_ino}:{st.st_size}"


def _dump(entry: dict[str, Any]) -> str:
    return json.dumps(entry, ensure_ascii=False, separators=(",", ":"), sort_keys=True) + "\n"


def _meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def _set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE"
                 " SET value = excluded.value", (key, value))


def _new_id() -> str:
    import uuid  # lazy: off the hooks' path (their start-up cost)

    return uuid.uuid4().hex
