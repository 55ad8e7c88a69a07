"""Reading and writing folder context: status counts, the stale list, `why`, `show`, `set`,
and the archive of deleted folders' content."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable
from typing import Any

from float_hooks import paths
from float_hooks.errors import FloatError, NotFound
from float_hooks.map.sync import BASE_KEY
from float_hooks.repo.git import Entry
from float_hooks.repo.hashing import MODE_KINDS
from float_hooks.store.carry import HISTORY_GAP, authored, restart_history
from float_hooks.store.db import Store, now
from float_hooks.store.schema import AUTHORED_FOLDER_FIELDS

JSON_FIELDS = ("map_children", "context_patterns")
WRITABLE_FIELDS = ("map_summary", "map_children", "context_what", "context_why",
                   "context_patterns")


def new_uid() -> str:
    return uuid.uuid4().hex


def folder_json(row: sqlite3.Row) -> dict[str, Any]:
    """A folder row with the seed's column names, JSON columns decoded."""
    out = {k: row[k] for k in row.keys()}  # noqa: SIM118 - sqlite3.Row is not a mapping
    for f in JSON_FIELDS:
        if out.get(f) is not None:
            out[f] = json.loads(out[f])
    if "parents" in out:  # the versions this context replaced (record_format.py)
        out["parents"] = json.loads(out["parents"]) if out["parents"] else []
    return out


def get_folder(conn: sqlite3.Connection, path: str) -> sqlite3.Row:
    row: sqlite3.Row | None = conn.execute(
        "SELECT path, parent_path, name, status, map_summary, map_children, context_what,"
        " context_why, context_patterns, source_hash, context_hash, context_commit, ai_model,"
        " ai_updated, uid, version, parents, last_scanned_at, created_at, updated_at"
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
    for status in ("pending", "current", "stale"):
        counts[status] = by_status.get(status, 0)
    counts["head"] = store.get_meta(BASE_KEY) or None
    counts["snapshot"] = store.get_meta("snapshot")
    counts["synced_at"] = store.get_meta("synced_at")
    counts["archived"] = conn.execute(
        "SELECT count(*) FROM archived_folders WHERE restored_at IS NULL").fetchone()[0]
    return counts


# Given a stale folder's row, the files below it when its context was written, or None
# (history.of, bound to a project): asked only when the store's record is missing or has a
# gap (carry.HISTORY_GAP).
History = Callable[[sqlite3.Row], dict[str, Entry] | None]


def why(conn: sqlite3.Connection, path: str, history: History | None = None) -> dict[str, Any]:
    """Why ``path`` is stale: the files whose blobs changed since its context was written,
    and the child folders that carried each change up."""
    row = get_folder(conn, path)
    records = conn.execute(
        "SELECT file_path, old_hash, old_mode FROM changed_since WHERE folder_path = ?"
        " ORDER BY file_path", (path,)).fetchall()
    gap = bool(records) and records[0][0] == HISTORY_GAP  # sorts first: ""
    if gap:
        records = records[1:]
    source = "store" if records else None
    now_files: dict[str, Entry] | None = None  # the folder's files, when read whole
    if (gap or not records) and row["status"] == "stale" and history is not None:
        then = history(row)
        if then is not None:
            now_files = _files_below(conn, path)
            records = [(p, then[p][1] if p in then else None, then[p][0] if p in then else None)
                       for p in sorted(then.keys() | now_files.keys())
                       if then.get(p) != now_files.get(p)]
            source, gap = "commit", False
    changed = []
    via: dict[str, int] = {}
    for file_path, old_hash, old_mode in records:
        if now_files is not None:
            cur = now_files.get(file_path)
        else:
            cur = conn.execute("SELECT mode, content_hash FROM files"
                               " WHERE folder_path = ? AND path = ?",
                               (paths.parent(file_path), file_path)).fetchone()
        new_mode, new_hash = (cur[0], cur[1]) if cur else (None, None)
        if old_hash is None:
            kind = "added"
        elif new_hash is None:
            kind = "deleted"
        elif old_hash == new_hash:
            kind = "mode"
        else:
            kind = "modified"
        rest = file_path[len(path):].lstrip("/") if path != "/" else file_path[1:]
        child = None if "/" not in rest else path.rstrip("/") + "/" + rest.split("/")[0]
        if child is not None:
            via[child] = via.get(child, 0) + 1
        changed.append({"path": file_path, "change": kind, "old_hash": old_hash,
                        "new_hash": new_hash, "old_mode": old_mode, "new_mode": new_mode,
                        "via": child})
    return {
        "path": path,
        "status": row["status"],
        "source_hash": row["source_hash"],
        "context_hash": row["context_hash"],
        "context_commit": row["context_commit"],
        "changed_files": changed,
        "via_children": [{"path": c, "changed_files": n} for c, n in sorted(via.items())],
        # "store": recorded by the syncs since the context was written; "commit": rebuilt
        # from context_commit (context imported, or written for another hash)
        "detail_source": source,
        "detail_complete": row["status"] != "stale" or (bool(changed) and not gap),
    }


def _files_below(conn: sqlite3.Connection, folder: str) -> dict[str, Entry]:
    if folder == paths.ROOT:
        rows = conn.execute("SELECT path, mode, content_hash FROM files")
    else:  # the folder's own files, then its subfolders' ('/' < '0': one key range)
        rows = conn.execute(
            "SELECT path, mode, content_hash FROM files WHERE folder_path = ?"
            " OR (folder_path > ? AND folder_path < ?)", (folder, folder + "/", folder + "0"))
    return {r[0]: (r[1], r[2]) for r in rows}


def stale_count(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM folders WHERE status = 'stale'").fetchone()[0])


def stale_list(conn: sqlite3.Connection, history: History | None = None,
               limit: int | None = None) -> list[dict[str, Any]]:
    """The stale folders by path, each with what changed; the first ``limit`` only (the
    explanations are worked out for those alone: their cost grows with ``limit``)."""
    rows = conn.execute(
        "SELECT path FROM folders WHERE status = 'stale' ORDER BY path LIMIT ?",
        (-1 if limit is None else limit,)).fetchall()
    out = []
    for (path,) in rows:
        w = why(conn, path, history)
        out.append({
            "path": path,
            "source_hash": w["source_hash"],
            "context_hash": w["context_hash"],
            "changed_files": [c["path"] for c in w["changed_files"]],
            "via_children": [c["path"] for c in w["via_children"]],
            "detail_source": w["detail_source"],
            "detail_complete": w["detail_complete"],
        })
    return out


def folder_document(conn: sqlite3.Connection, path: str) -> dict[str, Any]:
    """A folder as ``show --json`` gives it (and the MCP ``show`` tool, the read API, the
    PostgreSQL read model): its row, its children and the records about it."""
    from float_hooks.store import paper_trail  # records imports this module

    data = folder_json(get_folder(conn, path))
    data["children"] = children(conn, path)
    data["decisions"] = paper_trail.list_logs(conn, folder=path)
    data["questions"] = paper_trail.list_questions(conn, folder=path)
    data["references"] = paper_trail.list_refs(conn, about=path)
    return data


def children(conn: sqlite3.Connection, path: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {"name": r[1], "path": r[0], "kind": "folder", "hash": r[2], "status": r[3],
         "map_summary": r[4]}
        for r in conn.execute(
            "SELECT path, name, source_hash, status, map_summary FROM folders"
            " WHERE parent_path = ? ORDER BY name", (path,))
    ]
    out += [
        {"name": paths.name(r[0]), "path": r[0], "kind": MODE_KINDS.get(r[1], "file"), "hash": r[2]}
        for r in conn.execute(
            "SELECT path, mode, content_hash FROM files WHERE folder_path = ? ORDER BY path",
            (path,))
    ]
    return out


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
    unknown = set(fields) - set(WRITABLE_FIELDS)
    if unknown:
        raise FloatError(f"unknown context fields: {', '.join(sorted(unknown))}")
    for f in JSON_FIELDS:
        if f in fields and fields[f] is not None and not isinstance(fields[f], list):
            raise FloatError(f"{f} must be a JSON array")
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
        from float_hooks.store.conflicts import settle_by_write

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
