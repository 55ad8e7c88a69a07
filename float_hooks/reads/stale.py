"""Why a folder is stale (the files whose blobs changed since its context was written, and
the child folders that carried each change up), and the stale list."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from float_hooks import paths
from float_hooks.repo.git import Entry
from float_hooks.store.carry import HISTORY_GAP
from float_hooks.store.folder_context import get_folder

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
