"""The journal's lines (journal.py): their format, their checksums, the entries they carry
and the records those add up to.

A line is ``{"sum":"<crc32 of the rest, 8 hex digits>",`` followed by the rest of the entry's
JSON: still JSON lines, and checked without parsing them again. Lines written before the
checksum have none and are taken as they parse. The header line (the journal's id) has none.
"""

from __future__ import annotations

import json
import os
import sqlite3
import zlib
from collections.abc import Iterable, Iterator
from typing import Any

from float_hooks.store import record_format

HEADER = "float-hooks-journal"


def parse(raw_lines: Iterable[bytes], damaged: list[int] | None = None
           ) -> Iterator[dict[str, Any]]:
    """The entries of raw journal lines. A line that is torn, unreadable or fails its
    checksum is skipped (its number goes to ``damaged``); the header and blank lines are no
    entries."""
    for number, raw in enumerate(raw_lines, 1):
        entry = verified(raw)
        if entry is None:
            header = number == 1 and raw.startswith(b'{"' + HEADER.encode())
            if damaged is not None and raw.strip() and not header:
                damaged.append(number)
            continue
        yield entry


# A line is ``{"sum":"<crc32 of the rest, 8 hex digits>",`` and the rest of its JSON: still
# JSON lines, and checked without parsing it again. Lines written before the checksum have
# none and are taken as they parse.
_SUM_HEAD = b'{"sum":"'
_SUM_END = len(_SUM_HEAD) + 8


def line(entry: dict[str, Any]) -> str:
    body = dump(entry)[1:-1]  # between the '{' and the newline
    return f'{{"sum":"{zlib.crc32(body.encode("utf-8")):08x}",{body}\n'


def verified(raw: bytes) -> dict[str, Any] | None:
    """The entry of one raw line, or None if it is damaged (or no entry)."""
    if raw.startswith(_SUM_HEAD):
        rest = raw[_SUM_END + 2:].rstrip(b"\r\n")
        try:
            if raw[_SUM_END:_SUM_END + 2] != b'",' \
                    or int(raw[len(_SUM_HEAD):_SUM_END], 16) != zlib.crc32(rest):
                return None
        except ValueError:
            return None
    try:
        entry = json.loads(raw)
    except ValueError:
        return None
    if isinstance(entry, dict) and isinstance(entry.get("kind"), str) \
            and isinstance(entry.get("key"), str):
        entry.pop("sum", None)
        return entry
    return None


def records(entries: Iterable[dict[str, Any]]) -> Any:
    """merge.ExportData of entries: the last state of each record, in the order of each
    record's last line (a folder's newest is last)."""
    from float_hooks.store.merge import (
        ExportData,  # lazy: off the hooks' path (their start-up cost)
    )

    data = ExportData()
    for entry in latest(entries):
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


# -- entries -----------------------------------------------------------------------------------
def entry(conn: sqlite3.Connection, kind: str, key: str) -> dict[str, Any]:
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
    return _versioned(conn, kind, key, record_format.load(conn, kind, key))


def entries(conn: sqlite3.Connection, pending: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """:func:`entry` of each (kind, key), the folders' rows read in one query (a first build
    journals every folder it imported: 2x faster than a query each)."""
    folders = {row["path"]: row for row in conn.execute(
        "SELECT f.* FROM journal_pending p JOIN folders f ON f.path = p.key"
        " WHERE p.kind = 'folder'")}
    out = []
    for kind, key in pending:
        if kind == "folder":
            row = folders.get(key)
            out.append(_versioned(conn, kind, key,
                                  record_format.folder_record(row) if row is not None else None))
        else:
            out.append(entry(conn, kind, key))
    return out


def _versioned(conn: sqlite3.Connection, kind: str, key: str, rec: dict[str, Any] | None
               ) -> dict[str, Any]:
    """The entry of a versioned record as it is now (None: gone), its version brought up to
    date with its content first."""
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


def latest(entries: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
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


def mark(st: os.stat_result) -> str:
    """Which journal file a DB committed through, and how far: its inode and size. The size
    alone is not enough: a compaction killed before its COMMIT can leave a new file exactly
    as long as the old one (a rewrite makes a new file, so a new inode)."""
    return f"{st.st_ino}:{st.st_size}"


def stamp(st: os.stat_result) -> str:
    """The journal file as last verified: a mark and the time it was last written."""
    return f"{mark(st)}:{st.st_mtime_ns}"


# json.dumps(entry, ensure_ascii=False, separators=(",", ":"), sort_keys=True), its encoder
# built once (record_format._VERSION_JSON says why)
_LINE_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def dump(entry: dict[str, Any]) -> str:
    return _LINE_JSON.encode(entry) + "\n"
