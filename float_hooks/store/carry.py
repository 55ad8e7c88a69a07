"""Authored content follows its folder: moved with a renamed folder (map/renames.py decides
where to), context imported for a folder the DB does not have yet waits in the archive until
the folder appears, and a folder whose hash returns to one it had context for gets that
context back. Each keeps the record of what changed since the context was written honest.
"""

from __future__ import annotations

import json
import sqlite3

from float_hooks.store.db import select_in
from float_hooks.store.record_format import conflict_uid
from float_hooks.store.schema import AUTHORED_FOLDER_FIELDS

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


def move_authored(
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

    for path, content in rows:
        fields = {k: v for k, v in json.loads(content).items() if k in AUTHORED_FOLDER_FIELDS}
        fields.pop("uid", None)
        conn.execute(
            "UPDATE folders SET " + ", ".join(f"{f} = ?" for f in fields) + " WHERE path = ?",
            (*fields.values(), path),
        )
        restart_history(conn, path)
