"""Reading and writing folder context: status counts, the stale list, `why`, `show`, `set`,
and the archive of deleted folders' content."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from float_hooks.errors import FloatError, NotFound
from float_hooks.store import limits
from float_hooks.store.carry import authored, restart_history
from float_hooks.store.conflicts import settle_by_write
from float_hooks.store.db import BASE_KEY, Store, now
from float_hooks.store.record_format import load_json, new_uid
from float_hooks.store.schema import AUTHORED_FOLDER_FIELDS
from float_hooks.store.staleness import STATUSES

JSON_FIELDS = ("map_children", "context_patterns", "anchors")
WRITABLE_FIELDS = ("map_summary", "map_children", "context_what", "context_why",
                   "context_patterns")


def folder_json(row: sqlite3.Row) -> dict[str, Any]:
    """A folder row with the seed's column names, JSON columns decoded."""
    out = {k: row[k] for k in row.keys()}  # noqa: SIM118 - sqlite3.Row is not a mapping
    for f in JSON_FIELDS:
        if out.get(f) is not None:
            out[f] = load_json(out[f])  # text an import kept as is stays text
    if "parents" in out:  # the versions this context replaced (record_format.py)
        out["parents"] = json.loads(out["parents"]) if out["parents"] else []
    return out


def get_folder(conn: sqlite3.Connection, path: str) -> sqlite3.Row:
    row: sqlite3.Row | None = conn.execute(
        "SELECT path, parent_path, name, status, map_summary, map_children, context_what,"
        " context_why, context_patterns, source_hash, context_hash, context_commit, ai_model,"
        " ai_updated, uid, anchors, version, parents, last_scanned_at, created_at, updated_at"
        " FROM folders WHERE path = ?",
        (path,),
    ).fetchone()
    if row is None:
        raise NotFound(f"{path}: no such folder in the map (is it tracked by git? run `sync`)")
    return row


def status_counts(store: Store) -> dict[str, Any]:
    conn = store.conn
    counts = {"files": conn.execute("SELECT count(*) FROM files").fetchone()[0]}
    counts["folders"] = conn.execute("SELECT count(*) FROM folders").fetchone()[0]
    by_status = dict(conn.execute("SELECT status, count(*) FROM folders GROUP BY status"))
    for status in STATUSES:
        counts[status] = by_status.get(status, 0)
    counts["head"] = store.get_meta(BASE_KEY) or None
    counts["snapshot"] = store.get_meta("snapshot")
    counts["synced_at"] = store.get_meta("synced_at")
    counts["archived"] = conn.execute(
        "SELECT count(*) FROM archived_folders WHERE restored_at IS NULL").fetchone()[0]
    return counts


def set_context(
    store: Store,
    path: str,
    fields: dict[str, Any],
    *,
    model: str | None = None,
    for_hash: str | None = None,
    expected_hash: str | None = None,
    settles_conflicts: bool = False,
) -> dict[str, Any]:
    """Write authored context for ``path``. It is current for ``for_hash`` (default: the
    folder's hash now); written for an older hash, the folder stays stale. With
    ``expected_hash``, nothing is written (:class:`HashMismatch`) unless the folder's hash is
    still that one, checked inside the write transaction. ``settles_conflicts``: the writer
    saw the folder's conflicting versions (`float-hooks set`), so the new context replaces
    them too (conflicts.py)."""
    with store.write() as conn:
        return write_context(conn, store, path, fields, model=model, for_hash=for_hash,
                             expected_hash=expected_hash, settles_conflicts=settles_conflicts)


class HashMismatch(FloatError):
    """The folder changed since the context was prepared for it."""


def write_context(
    conn: sqlite3.Connection,
    store: Store,
    path: str,
    fields: dict[str, Any],
    *,
    model: str | None = None,
    for_hash: str | None = None,
    expected_hash: str | None = None,
    settles_conflicts: bool = False,
) -> dict[str, Any]:
    """:func:`set_context` inside a write transaction the caller holds (so a caller can
    apply a result and record that in the same transaction)."""
    unknown = set(fields) - {*WRITABLE_FIELDS, "anchors"}  # anchors: resolved (anchors.py)
    if unknown:
        raise FloatError(f"unknown context fields: {', '.join(sorted(unknown))}")
    limits.check({**fields, "ai_model": model, "context_hash": for_hash})
    if fields.get("anchors"):  # pinned by code/anchors.py; text never pinned is left out
        pinned = [a for a in fields["anchors"]
                  if isinstance(a, dict) and isinstance(a.get("anchor"), str)]
        fields = {k: v for k, v in fields.items() if k != "anchors"}
        if pinned:
            fields["anchors"] = pinned
    row = get_folder(conn, path)
    if expected_hash is not None and row["source_hash"] != expected_hash:
        raise HashMismatch(f"{path}: changed since the context was prepared"
                           f" ({expected_hash[:12]} -> {row['source_hash'][:12]})")
    values = {f: json.dumps(v) if f in JSON_FIELDS and v is not None else v
              for f, v in fields.items()}
    values["context_hash"] = for_hash or row["source_hash"]
    values["context_commit"] = store.get_meta(BASE_KEY) or None
    values["ai_model"] = model
    values["ai_updated"] = now()
    values["uid"] = row["uid"] or new_uid()
    if settles_conflicts:
        settle_by_write(conn, path)
    conn.execute(
        "UPDATE folders SET " + ", ".join(f"{k} = ?" for k in values) + ", updated_at = ?"
        " WHERE path = ?",
        (*values.values(), values["ai_updated"], path),
    )
    restart_history(conn, path)  # complete from here, unless written for another hash
    saved = get_folder(conn, path)
    conn.execute(
        "INSERT OR REPLACE INTO context_versions(folder_path, source_hash, content,"
        " created_at) VALUES (?, ?, ?, ?)",
        (path, values["context_hash"], json.dumps(authored(saved)), values["ai_updated"]),
    )
    return folder_json(saved)


def archived(conn: sqlite3.Connection, include_restored: bool = False) -> list[dict[str, Any]]:
    sql = ("SELECT id, uid, path, reason, source_hash, content, archived_at, restored_to,"
           " restored_at FROM archived_folders")
    if not include_restored:
        sql += " WHERE restored_at IS NULL"
    out = []
    for r in conn.execute(sql + " ORDER BY id"):
        item = {k: r[k] for k in r.keys()}  # noqa: SIM118
        item["content"] = json.loads(item["content"])
        out.append(item)
    return out


def restore(store: Store, archive_id: int, to: str | None) -> str:
    """Put an archived folder's content back on a folder that exists now (default: its old
    path). Its context_hash travels too, so the folder is current only if nothing changed."""
    with store.write() as conn:
        r = conn.execute("SELECT * FROM archived_folders WHERE id = ?", (archive_id,)).fetchone()
        if r is None:
            raise NotFound(f"no archived folder with id {archive_id}")
        if r["restored_at"] is not None:
            raise FloatError(f"archive {archive_id} was already restored to {r['restored_to']}")
        dest = to or r["path"]
        target = get_folder(conn, dest)
        if target["context_hash"] is not None:
            raise FloatError(f"{dest} already has context; `set` it or restore elsewhere")
        content = json.loads(r["content"])
        fields = {f: content.get(f) for f in AUTHORED_FOLDER_FIELDS}
        conn.execute(
            "UPDATE folders SET " + ", ".join(f"{k} = ?" for k in fields) + " WHERE path = ?",
            (*fields.values(), dest),
        )
        restart_history(conn, dest)
        conn.execute("UPDATE archived_folders SET restored_to = ?, restored_at = ? WHERE id = ?",
                     (dest, now(), archive_id))
        return dest
