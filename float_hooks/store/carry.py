"""Authored content follows its folder. A sync that removes a folder moves its context to the
folder it was renamed to (same hash, or most of its files' blobs, or the parent of a moved
child), or archives it (listable, restorable; never dropped). Context imported for a folder
the DB does not have yet waits in the archive until the folder appears. A folder whose hash
returns to one it had context for gets that context back.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from float_hooks import paths
from float_hooks.store.db import select_in
from float_hooks.store.schema import AUTHORED_FOLDER_FIELDS

if TYPE_CHECKING:
    from float_hooks.map.apply import Applied, Change

# archived_folders.reason of context imported from an export for a folder not in the tree
IMPORTED = "imported"
# changed_since.file_path of the row that says "this context came without a file history":
# what changed before it arrived (an import, a restore, a move, `set --hash`) is not in the
# store, and `why` compares with the context's commit instead (history.py). Not a path:
# stored paths start with "/".
HISTORY_GAP = ""


def restart_history(conn: sqlite3.Connection, path: str) -> None:
    """``path`` now holds context written elsewhere or for another hash: forget its record;
    unless the context is for the folder's present hash, mark the gap."""
    conn.execute("DELETE FROM changed_since WHERE folder_path = ?", (path,))
    conn.execute("INSERT INTO changed_since(folder_path, file_path) SELECT path, ?"
                 " FROM folders WHERE path = ? AND context_hash IS NOT source_hash",
                 (HISTORY_GAP, path))


def authored(row: sqlite3.Row | dict[str, object]) -> dict[str, object]:
    return {f: row[f] for f in AUTHORED_FOLDER_FIELDS}


def has_authored(row: sqlite3.Row | dict[str, object]) -> bool:
    return any(row[f] is not None for f in AUTHORED_FOLDER_FIELDS if f != "uid")


def move_or_archive(
    conn: sqlite3.Connection,
    changes: dict[str, Change],
    removed: dict[str, sqlite3.Row],
    result: Applied,
    stamp: str,
) -> None:
    """A removed folder's authored content moves to the folder it was renamed to (same hash,
    or most of its files' blobs, or the parent of a moved child); otherwise it is archived."""
    import json  # not at module level: only paid for when authored content moves

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
            _move_authored(conn, src, mapping[src], row, stamp)
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


def _move_authored(
    conn: sqlite3.Connection, src: str, dst: str, row: sqlite3.Row, stamp: str
) -> None:
    fields = {**authored(row), "version": row["version"], "parents": row["parents"]}
    conn.execute(
        "UPDATE folders SET " + ", ".join(f"{f} = ?" for f in fields) + ", updated_at = ?"
        " WHERE path = ?",
        (*fields.values(), stamp, dst),
    )
    moved = conn.execute("SELECT id, version FROM conflicts WHERE kind = 'folder' AND key = ?",
                         (src,)).fetchall()
    if moved:  # the versions kept aside go with the context they conflict with
        from float_hooks.store.merge import conflict_uid

        conn.executemany("UPDATE OR IGNORE conflicts SET key = ?, uid = ? WHERE id = ?",
                         [(dst, conflict_uid("folder", dst, v), i) for i, v in moved])
    conn.execute("UPDATE log_entries SET folder_path = ? WHERE folder_path = ?", (dst, src))
    conn.execute("UPDATE open_questions SET folder_path = ? WHERE folder_path = ?", (dst, src))
    conn.execute('UPDATE "references" SET source_id = ? WHERE source_type = \'folder\''
                 " AND source_id = ?", (dst, src))
    conn.execute('UPDATE "references" SET target_id = ? WHERE target_type = \'folder\''
                 " AND target_id = ?", (dst, src))
    # the record names files under the old path: the moved context starts a new one
    conn.execute("DELETE FROM changed_since WHERE folder_path = ?", (src,))
    restart_history(conn, dst)


def restore_imported(conn: sqlite3.Connection, added: list[str]) -> None:
    """Context imported for a folder this DB did not have yet (a merge brings a teammate's new
    folder and the export describing it; the hook imports before it syncs) waited in the
    archive: it moves onto the folder when the folder appears, and leaves the archive."""
    query = ("SELECT a.path, a.id, a.content FROM archived_folders a"
             " JOIN folders f ON f.path = a.path WHERE a.reason = '" + IMPORTED + "'"
             " AND a.restored_at IS NULL AND f.context_hash IS NULL")
    rows = select_in(conn, query + " AND a.path IN ({})", added, scan=query)
    import json
    latest: dict[str, dict[str, object]] = {}
    for r in rows:  # several imports for one path: the newest context wins
        content = json.loads(r["content"])
        held = latest.get(r["path"])
        newer = str(content.get("ai_updated") or "") > str((held or {}).get("ai_updated") or "")
        if held is None or newer:
            latest[r["path"]] = content
    for path, content in latest.items():
        fields = {k: v for k, v in content.items() if k in AUTHORED_FOLDER_FIELDS}
        if fields.get("uid") is not None and conn.execute(
                "SELECT 1 FROM folders WHERE uid = ?", (fields["uid"],)).fetchone():
            fields.pop("uid")  # uids are unique; the folder keeps none rather than steal one
        conn.execute(
            "UPDATE folders SET " + ", ".join(f"{f} = ?" for f in fields) + " WHERE path = ?",
            (*fields.values(), path),
        )
        restart_history(conn, path)
        conn.execute("DELETE FROM archived_folders WHERE path = ? AND reason = ?"
                     " AND restored_at IS NULL", (path, IMPORTED))


def reuse_versions(conn: sqlite3.Connection, folders: list[str]) -> None:
    """A folder whose hash returned to one it already had context for gets that context."""
    query = ("SELECT f.path, v.content FROM folders f JOIN context_versions v"
             " ON v.folder_path = f.path AND v.source_hash = f.source_hash"
             " WHERE f.context_hash IS NOT f.source_hash")
    rows = select_in(conn, query + " AND f.path IN ({})", folders, scan=query)
    import json

    for path, content in rows:
        fields = {k: v for k, v in json.loads(content).items() if k in AUTHORED_FOLDER_FIELDS}
        fields.pop("uid", None)
        conn.execute(
            "UPDATE folders SET " + ", ".join(f"{f} = ?" for f in fields) + " WHERE path = ?",
            (*fields.values(), path),
        )
        restart_history(conn, path)
