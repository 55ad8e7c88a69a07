"""A folder's document: its row, its children and the records about it, as `show --json`,
the MCP ``show`` tool, the read API and the PostgreSQL read model give it."""

from __future__ import annotations

import sqlite3
from typing import Any

from float_hooks import paths
from float_hooks.repo.hashing import MODE_KINDS
from float_hooks.store import paper_trail
from float_hooks.store.folder_context import folder_json, get_folder


def folder_document(conn: sqlite3.Connection, path: str) -> dict[str, Any]:
    """A folder as ``show --json`` gives it (and the MCP ``show`` tool, the read API, the
    PostgreSQL read model): its row, its children and the records about it."""
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
