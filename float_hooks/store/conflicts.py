"""Conflicts: versions of a record written concurrently with the one shown (merge.py keeps
them), listed and settled here.

Settling one writes a version that names both sides among its parents, so an import of either
side later changes nothing, on this machine and, once exported, on every other. ``--keep``
names the side to keep as merge.py recorded it: ``local`` was in this DB first, ``incoming``
came with an import. A `set` of the folder settles its conflicts too (the new context is
written knowing them: context.write_context).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from float_hooks import failpoints
from float_hooks.errors import FloatError, NotFound
from float_hooks.store import record_format
from float_hooks.store.db import Store, now
from float_hooks.store.merge import Merger

SIDES = ("local", "incoming")


def listing(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every open conflict, with the version shown now beside the one kept aside."""
    out = []
    for row in conn.execute("SELECT * FROM conflicts ORDER BY id"):
        item = {"id": row["id"], **record_format.conflict_record(row)}
        item["shown"] = record_format.load(conn, row["kind"], row["key"])
        out.append(item)
    return out


def count(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM conflicts").fetchone()[0])


def _find(conn: sqlite3.Connection, ident: str) -> sqlite3.Row:
    rows = conn.execute("SELECT * FROM conflicts WHERE CAST(id AS TEXT) = ? OR uid LIKE ?",
                        (ident, ident.replace("%", "").replace("_", "") + "%")).fetchall()
    if not rows:
        raise NotFound(f"no conflict {ident} (`float-hooks conflicts` lists them)")
    if len(rows) > 1:
        raise FloatError(f"{ident} names {len(rows)} conflicts; give more of the uid")
    row: sqlite3.Row = rows[0]
    return row


def resolve(store: Store, ident: str, keep: str) -> dict[str, Any]:
    """Settle a conflict keeping the ``local`` or ``incoming`` version; returns the record
    now shown."""
    if keep not in SIDES:
        raise FloatError(f"--keep {keep}: use local or incoming")
    with store.write() as conn:
        row = _find(conn, ident)
        kind, key = row["kind"], row["key"]
        aside = json.loads(row["record"])
        aside_version = row["version"]
        shown = record_format.load(conn, kind, key)
        merger = Merger(conn, durable=False)
        if shown is None or not record_format.has_context(shown):
            if keep == row["side"] and kind == "folder":
                _archive(conn, key, aside)  # the folder is gone: its kept version waits there
        else:
            shown_version = shown.get("version") or record_format.version(shown)
            if keep == row["side"]:  # the version kept aside is the one to show
                chosen = {**aside, "version": aside_version,
                          "parents": record_format.joined(
                              [shown_version], record_format.parents_of(aside.get("parents")),
                              record_format.parents_of(shown.get("parents")))}
            else:  # the one shown stays, knowing the other
                chosen = {**shown, "version": shown_version,
                          "parents": record_format.joined(
                              record_format.parents_of(shown.get("parents")), [aside_version],
                              record_format.parents_of(aside.get("parents")))}
            _write(merger, conn, kind, key, chosen)
        conn.execute("DELETE FROM conflicts WHERE id = ?", (row["id"],))
        failpoints.reached("conflicts:resolved")
        return {"kind": kind, "key": key, "kept": keep,
                "record": record_format.load(conn, kind, key)}


def _write(merger: Merger, conn: sqlite3.Connection, kind: str, key: str,
           chosen: dict[str, Any]) -> None:
    if kind == "folder":
        row = conn.execute("SELECT * FROM folders WHERE path = ?", (key,)).fetchone()
        merger.write_folder(row, chosen)
    else:
        merger.write_record(kind, chosen, exists=True)


def _archive(conn: sqlite3.Connection, path: str, record: dict[str, Any]) -> None:
    content = record_format.folder_columns(record)
    conn.execute("INSERT INTO archived_folders(uid, path, reason, source_hash, content,"
                 " archived_at) VALUES (?, ?, 'conflict', NULL, ?, ?)",
                 (content.get("uid"), path, json.dumps(content), now()))


def settle_by_write(conn: sqlite3.Connection, path: str) -> None:
    """A folder's context is being written knowing its conflicts (`set`): the versions kept
    aside become parents of the new one, and leave the conflicts table."""
    rows = conn.execute("SELECT id, version, record FROM conflicts WHERE kind = 'folder'"
                        " AND key = ?", (path,)).fetchall()
    if not rows:
        return
    row = conn.execute("SELECT parents FROM folders WHERE path = ?", (path,)).fetchone()
    parents = record_format.joined(
        record_format.parents_of(row["parents"] if row else None),
        [r["version"] for r in rows],
        *(record_format.parents_of(json.loads(r["record"]).get("parents")) for r in rows))
    conn.execute("UPDATE folders SET parents = ? WHERE path = ?", (json.dumps(parents), path))
    conn.executemany("DELETE FROM conflicts WHERE id = ?", [(r["id"],) for r in rows])
