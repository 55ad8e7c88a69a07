"""Where a removed folder's authored content goes: to the folder it was renamed to (the same
hash, or most of its files' blobs, or the parent of a moved child), or to the archive."""

from __future__ import annotations

import json
import sqlite3

from float_hooks import paths
from float_hooks.map.changes import Applied, Change
from float_hooks.store.carry import authored, has_authored, move_authored
from float_hooks.store.db import select_in


def move_or_archive(
    conn: sqlite3.Connection,
    changes: dict[str, Change],
    removed: dict[str, sqlite3.Row],
    result: Applied,
    stamp: str,
) -> None:
    """A removed folder's authored content moves to the folder it was renamed to (same hash,
    or most of its files' blobs, or the parent of a moved child); otherwise it is archived."""
    keep = {p: r for p, r in removed.items() if has_authored(r)}
    conn.executemany("DELETE FROM changed_since WHERE folder_path = ?",
                     [(p,) for p in removed if p not in keep])
    if not keep:
        return
    created = set(result.added)
    new_rows = {r["path"]: r for r in select_in(
        conn, "SELECT path, source_hash FROM folders WHERE path IN ({})", created)}
    blobs_gone: dict[str, set[str]] = {}
    blobs_new: dict[str, set[str]] = {}
    for path, (old, new) in changes.items():
        if old is not None and new is None:
            blobs_gone.setdefault(paths.parent(path), set()).add(old[1])
        if new is not None and old is None:
            blobs_new.setdefault(paths.parent(path), set()).add(new[1])
    mapping: dict[str, str] = {}
    for src in sorted(keep, key=paths.depth, reverse=True):
        dst = _rename_target(src, keep[src]["source_hash"], created, new_rows,
                             blobs_gone, blobs_new, mapping)
        if dst is not None:
            mapping[src] = dst
            created.discard(dst)
    for src in sorted(keep, key=paths.depth, reverse=True):
        row = keep[src]
        if src in mapping:
            move_authored(conn, src, mapping[src], row, stamp)
            result.moved.append((src, mapping[src]))
        else:
            conn.execute(
                "INSERT INTO archived_folders(uid, path, reason, source_hash, content,"
                " archived_at) VALUES (?, ?, 'deleted', ?, ?, ?)",
                (row["uid"], src, row["source_hash"], json.dumps(authored(row)), stamp),
            )
            conn.execute("DELETE FROM changed_since WHERE folder_path = ?", (src,))
            result.archived.append(src)


def _rename_target(
    src: str,
    src_hash: str,
    created: set[str],
    new_rows: dict[str, sqlite3.Row],
    blobs_gone: dict[str, set[str]],
    blobs_new: dict[str, set[str]],
    mapping: dict[str, str],
) -> str | None:
    same = sorted(c for c in created if new_rows[c]["source_hash"] == src_hash)
    if same:
        named = [c for c in same if paths.name(c) == paths.name(src)]
        return (named or same)[0]
    best, best_score = None, 0.5
    gone = blobs_gone.get(src, set())
    for c in sorted(created):
        new = blobs_new.get(c, set())
        if gone and new:
            score = len(gone & new) / len(gone | new)
            if score >= best_score:
                best, best_score = c, score
    if best is not None:
        return best
    for child_src, child_dst in mapping.items():
        if paths.parent(child_src) == src and paths.parent(child_dst) in created:
            return paths.parent(child_dst)
    return None
