"""A folder's document: its row, its children and the records about it, as `show --json`,
the MCP ``show`` tool, the read API and the PostgreSQL read model give it. Bounded: at most
``limit`` children (from ``offset``, to page through a huge folder), decisions, questions and
references; ``children_total`` and ``more`` say what was left out."""

from __future__ import annotations

import sqlite3
from typing import Any

from float_hooks import paths
from float_hooks.repo.hashing import MODE_KINDS
from float_hooks.store import paper_trail
from float_hooks.store.folder_context import folder_json, get_folder

LIMIT = 200  # entries of each list by default
MAX_LIMIT = 5000


def folder_document(conn: sqlite3.Connection, path: str, limit: int = LIMIT,
                    offset: int = 0) -> dict[str, Any]:
    """A folder as ``show --json`` gives it (and the MCP ``show`` tool, the read API, the
    PostgreSQL read model): its row, its children and the records about it."""
    data = folder_json(get_folder(conn, path))
    data["children"] = children(conn, path, limit, offset)
    data["children_total"] = total = _count_children(conn, path)
    more = {"children": max(0, total - offset - len(data["children"]))}
    for key, items in (("decisions", paper_trail.list_logs(conn, folder=path)),
                       ("questions", paper_trail.list_questions(conn, folder=path)),
                       ("references", paper_trail.list_refs(conn, about=path))):
        data[key] = items[-limit:]  # the newest
        more[key] = len(items) - len(data[key])
    data["more"] = more
    return data


def _count_children(conn: sqlite3.Connection, path: str) -> int:
    folders = conn.execute("SELECT count(*) FROM folders WHERE parent_path = ?",
                           (path,)).fetchone()[0]
    files = conn.execute("SELECT count(*) FROM files WHERE folder_path = ?", (path,)).fetchone()[0]
    return int(folders) + int(files)


def children(conn: sqlite3.Connection, path: str, limit: int = -1,
             offset: int = 0) -> list[dict[str, Any]]:
    """The folder's child folders (by name), then its files (by path): ``limit`` of them
    from ``offset`` (-1: all)."""
    out: list[dict[str, Any]] = [
        {"name": r[1], "path": r[0], "kind": "folder", "hash": r[2], "status": r[3],
         "map_summary": r[4]}
        for r in conn.execute(
            "SELECT path, name, source_hash, status, map_summary FROM folders"
            " WHERE parent_path = ? ORDER BY name LIMIT ? OFFSET ?", (path, limit, offset))
    ]
    if limit >= 0 and len(out) >= limit:
        return out
    folders = int(conn.execute("SELECT count(*) FROM folders WHERE parent_path = ?",
                               (path,)).fetchone()[0]) if offset else 0
    out += [
        {"name": paths.name(r[0]), "path": r[0], "kind": MODE_KINDS.get(r[1], "file"), "hash": r[2]}
        for r in conn.execute(
            "SELECT path, mode, content_hash FROM files WHERE folder_path = ? ORDER BY path"
            " LIMIT ? OFFSET ?", (path, limit - len(out) if limit >= 0 else -1,
                                  max(0, offset - folders)))
    ]
    return out
