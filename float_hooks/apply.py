"""Applying a set of file changes to the store: files, Merkle folder hashes, the per-folder
record of what changed since its context was written, folder renames and archiving.

Every sync, full or incremental, ends here with the same kind of input (path -> old, new), so
an incremental update and a full rebuild cannot disagree. The work is proportional to the
changed paths and their ancestors' immediate children.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from float_hooks import paths
from float_hooks.db import now
from float_hooks.git import Entry
from float_hooks.hashing import FOLDER_MODE, folder_hash
from float_hooks.schema import AUTHORED_FOLDER_FIELDS

Change = tuple[Entry | None, Entry | None]  # (old, new)
# archived_folders.reason of context imported from an export for a folder not in the tree
IMPORTED = "imported"
Progress = Callable[[int, int], None]


class Applied:
    """What one sync changed. A plain class, not a dataclass: see snapshot.Target."""

    FIELDS = ("files_changed", "folders_changed", "added", "removed", "became_stale",
              "became_current", "moved", "archived")  # in the order --json prints them
    __slots__ = FIELDS

    def __init__(self, files_changed: int = 0) -> None:
        self.files_changed = files_changed
        self.folders_changed: list[str] = []
        self.added: list[str] = []
        self.removed: list[str] = []
        self.became_stale: list[str] = []
        self.became_current: list[str] = []
        self.moved: list[tuple[str, str]] = []
        self.archived: list[str] = []

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.FIELDS}

    def __repr__(self) -> str:
        return f"Applied({self.as_dict()})"


# Above this many keys, one pass over a table beats an indexed lookup per key.
SCAN_ABOVE = 1000


def in_chunks(items: Sequence[str], size: int = 500) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def select_in(
    conn: sqlite3.Connection | sqlite3.Cursor, sql: str, keys: Iterable[str],
    scan: str | None = None,
) -> list[Any]:
    """Run ``sql`` (with one ``{}`` for a placeholder list) over ``keys`` in chunks; or, for
    more than SCAN_ABOVE keys, ``scan`` (the same query without that filter) once, keeping
    the rows whose first column is one of the keys."""
    wanted = set(keys)
    if scan is not None and len(wanted) > SCAN_ABOVE:
        return [r for r in conn.execute(scan) if r[0] in wanted]
    rows: list[Any] = []
    for chunk in in_chunks(sorted(wanted)):
        rows += conn.execute(sql.format(",".join("?" * len(chunk))), chunk).fetchall()
    return rows


def authored(row: sqlite3.Row | dict[str, object]) -> dict[str, object]:
    return {f: row[f] for f in AUTHORED_FOLDER_FIELDS}


def has_authored(row: sqlite3.Row | dict[str, object]) -> bool:
    return any(row[f] is not None for f in AUTHORED_FOLDER_FIELDS if f != "uid")


def apply_changes(
    conn: sqlite3.Connection,
    changes: dict[str, Change],
    progress: Progress | None = None,
    universe: dict[str, Entry] | None = None,
) -> Applied:
    """Write ``changes`` (path -> (old, new)) and everything that follows from them.

    ``universe``, when the caller has it at hand (a full sync), is every file the store holds
    once the changes are written: folder hashes are then computed from it instead of reading
    the files table back.
    """
    result = Applied(files_changed=len(changes))
    if not changes:
        return result
    stamp = now()
    by_folder = group_by_folder(changes)
    chains = ancestor_chains(by_folder)
    written = _write_files(conn, changes, stamp, by_folder)
    _track_changed_since(conn, changes, by_folder, chains)

    dirty: set[str] = set().union(*chains.values())
    before = {r["path"]: r for r in select_in(conn, "SELECT * FROM folders WHERE path IN ({})",
                                               dirty, scan="SELECT * FROM folders")}
    if universe is not None and written == len(universe):
        # every file is new or changed (a first sync): the groups hold the whole tree
        files = {folder: [(p[p.rfind("/") + 1 :], *universe[p]) for p in group if p in universe]
                 for folder, group in by_folder.items()}
        subfolders = _subfolders(conn, dirty)
    else:
        files, subfolders = _children(conn, dirty, universe)
    removed_rows: dict[str, sqlite3.Row] = {}
    inserts: list[tuple[str, str | None, str, str, str, str, str]] = []
    updates: list[tuple[str, str, str, str]] = []
    ordered = sorted(dirty, key=paths.depth, reverse=True)  # children before parents
    for i, folder in enumerate(ordered):
        if progress is not None and i % 500 == 0:
            progress(i, len(ordered))
        children = files.get(folder, [])
        sub = subfolders.get(folder)
        if sub:
            children = children + [(paths.name(p), FOLDER_MODE, h) for p, h in sub.items()]
        # the parent is dirty too (processed later): it sees this folder's new state
        siblings = None if folder == paths.ROOT else subfolders.setdefault(paths.parent(folder),
                                                                           {})
        old = before.get(folder)
        if not children:
            if old is not None:
                removed_rows[folder] = old
                result.removed.append(folder)
                if siblings is not None:
                    siblings.pop(folder, None)
            continue
        new_hash = folder_hash(children)
        if siblings is not None:
            siblings[folder] = new_hash
        if old is None:
            inserts.append((folder, None if folder == paths.ROOT else paths.parent(folder),
                            paths.name(folder), new_hash, stamp, stamp, stamp))
            result.added.append(folder)
        elif old["source_hash"] != new_hash:
            updates.append((new_hash, stamp, stamp, folder))
        else:
            continue
        result.folders_changed.append(folder)
    conn.executemany("DELETE FROM folders WHERE path = ?", [(p,) for p in result.removed])
    conn.executemany(
        "INSERT INTO folders(path, parent_path, name, source_hash, last_scanned_at,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        inserts,
    )
    conn.executemany(
        "UPDATE folders SET source_hash = ?, last_scanned_at = ?, updated_at = ? WHERE path = ?",
        updates,
    )
    if progress is not None:
        progress(len(ordered), len(ordered))

    _move_or_archive(conn, changes, removed_rows, result, stamp)
    _restore_imported(conn, result.added)
    _reuse_versions(conn, result.folders_changed)
    _report_status(conn, before, result)
    return result


def group_by_folder(changed: Iterable[str]) -> dict[str, list[str]]:
    """The paths of each folder, in the order given: the one per-file pass that finds each
    file's folder (a first sync has 90k files and 7.5k folders)."""
    out: dict[str, list[str]] = {}
    for path in changed:
        cut = path.rfind("/")  # paths.parent, inlined
        folder = path[:cut] if cut > 0 else paths.ROOT
        group = out.get(folder)
        if group is None:
            out[folder] = [path]
        else:
            group.append(path)
    return out


def ancestor_chains(folders: Iterable[str]) -> dict[str, list[str]]:
    """Each folder with its ancestors, deepest first (``/`` last). Shared tails are worked
    out once: a parent's chain is reused by all its children."""
    memo: dict[str, list[str]] = {paths.ROOT: [paths.ROOT]}

    def chain(folder: str) -> list[str]:
        missing = []  # no recursion: a tree may nest deeper than Python's stack
        got = memo.get(folder)
        while got is None:
            missing.append(folder)
            cut = folder.rfind("/")
            folder = folder[:cut] if cut > 0 else paths.ROOT
            got = memo.get(folder)
        for f in reversed(missing):
            got = memo[f] = [f, *got]
        return got

    return {f: chain(f) for f in folders}


def _children(
    conn: sqlite3.Connection, dirty: set[str], universe: dict[str, Entry] | None = None
) -> tuple[dict[str, list[tuple[str, str, str]]], dict[str, dict[str, str]]]:
    """The dirty folders' immediate children as stored now: files as (name, mode, hash) and
    child folders as path -> folder hash. Read in a few queries, not two per folder."""
    file_cur, folder_cur = conn.cursor(), conn.cursor()
    file_cur.row_factory = folder_cur.row_factory = None  # plain tuples: cheaper than Rows
    file_rows: Iterable[Any]
    folder_rows: Iterable[Any]
    files: dict[str, list[tuple[str, str, str]]] = {}
    if universe is not None:
        file_rows = ()
        for path, (mode, content_hash) in universe.items():
            cut = path.rfind("/")
            folder = path[:cut] if cut > 0 else paths.ROOT
            if folder in dirty:
                files.setdefault(folder, []).append((path[cut + 1 :], mode, content_hash))
        folder_rows = folder_cur.execute("SELECT parent_path, path, source_hash FROM folders")
    elif len(dirty) > SCAN_ABOVE:
        file_rows = file_cur.execute("SELECT folder_path, path, mode, content_hash FROM files")
        folder_rows = folder_cur.execute("SELECT parent_path, path, source_hash FROM folders")
    else:
        file_rows = select_in(file_cur, "SELECT folder_path, path, mode, content_hash"
                              " FROM files WHERE folder_path IN ({})", dirty)
        folder_rows = select_in(folder_cur, "SELECT parent_path, path, source_hash"
                                " FROM folders WHERE parent_path IN ({})", dirty)
    for folder, path, mode, content_hash in file_rows:
        if folder in dirty:
            files.setdefault(folder, []).append((path[path.rfind("/") + 1 :], mode, content_hash))
    return files, _subfolders(conn, dirty, folder_rows)


def _subfolders(conn: sqlite3.Connection, dirty: set[str],
                rows: Iterable[Any] | None = None) -> dict[str, dict[str, str]]:
    """The dirty folders' child folders as stored now: parent -> {path: folder hash}."""
    if rows is None:
        cur = conn.cursor()
        cur.row_factory = None
        if len(dirty) > SCAN_ABOVE:
            rows = cur.execute("SELECT parent_path, path, source_hash FROM folders")
        else:
            rows = select_in(cur, "SELECT parent_path, path, source_hash FROM folders"
                             " WHERE parent_path IN ({})", dirty)
    subfolders: dict[str, dict[str, str]] = {}
    for parent, path, source_hash in rows:
        if parent in dirty:
            subfolders.setdefault(parent, {})[path] = source_hash
    return subfolders


def _write_files(conn: sqlite3.Connection, changes: dict[str, Change], stamp: str,
                 by_folder: dict[str, list[str]]) -> int:
    """Write the file rows; returns how many were inserted or updated."""
    # In key order, (folder_path, path): B-tree inserts then touch neighbouring pages instead
    # of random ones (a first build of 90k files: 1.6 s -> 0.85 s CPU). A group is usually
    # in path order already (git lists paths sorted), which sorted() checks in one pass.
    gone: list[tuple[str, str]] = []
    rows: list[tuple[str, str, str, str, str]] = []
    for folder in sorted(by_folder):
        for path in sorted(by_folder[folder]):
            new = changes[path][1]
            if new is None:
                gone.append((folder, path))
            else:
                rows.append((path, folder, new[1], new[0], stamp))
    conn.executemany("DELETE FROM files WHERE folder_path = ? AND path = ?", gone)
    conn.executemany(
        "INSERT INTO files(path, folder_path, content_hash, mode, last_scanned_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT(folder_path, path) DO UPDATE SET"
        " content_hash = excluded.content_hash, mode = excluded.mode,"
        " last_scanned_at = excluded.last_scanned_at",
        rows,
    )
    return len(rows)


def _track_changed_since(conn: sqlite3.Connection, changes: dict[str, Change],
                         by_folder: dict[str, list[str]], chains: dict[str, list[str]]) -> None:
    """Remember, per folder with context, each file that changed since that context was
    written (its first old state); forget it when the file returns to that state."""
    wanted: set[str] = set().union(*chains.values())
    query = "SELECT path FROM folders WHERE context_hash IS NOT NULL"
    with_context = {r[0] for r in select_in(conn, query + " AND path IN ({})", wanted,
                                            scan=query)}
    if not with_context:
        return
    rows = []
    reverted = []
    for holder, group in by_folder.items():
        watching = [f for f in chains[holder] if f in with_context]
        for path in group if watching else ():
            old, new = changes[path]
            for folder in watching:
                rows.append((folder, path, old and old[1], old and old[0]))
                reverted.append((folder, path, new and new[1], new and new[0]))
    conn.executemany("INSERT OR IGNORE INTO changed_since VALUES (?, ?, ?, ?)", rows)
    conn.executemany(
        "DELETE FROM changed_since WHERE folder_path = ? AND file_path = ?"
        " AND old_hash IS ? AND old_mode IS ?",
        reverted,
    )


def _move_or_archive(
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
    fields = authored(row)
    conn.execute(
        "UPDATE folders SET " + ", ".join(f"{f} = ?" for f in fields) + ", updated_at = ?"
        " WHERE path = ?",
        (*fields.values(), stamp, dst),
    )
    conn.execute("UPDATE log_entries SET folder_path = ? WHERE folder_path = ?", (dst, src))
    conn.execute("UPDATE open_questions SET folder_path = ? WHERE folder_path = ?", (dst, src))
    conn.execute('UPDATE "references" SET source_id = ? WHERE source_type = \'folder\''
                 " AND source_id = ?", (dst, src))
    conn.execute('UPDATE "references" SET target_id = ? WHERE target_type = \'folder\''
                 " AND target_id = ?", (dst, src))
    conn.execute("UPDATE changed_since SET folder_path = ? WHERE folder_path = ?", (dst, src))


def _restore_imported(conn: sqlite3.Connection, added: list[str]) -> None:
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
        conn.execute("DELETE FROM changed_since WHERE folder_path = ?", (path,))
        conn.execute("DELETE FROM archived_folders WHERE path = ? AND reason = ?"
                     " AND restored_at IS NULL", (path, IMPORTED))


def _reuse_versions(conn: sqlite3.Connection, folders: list[str]) -> None:
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
        conn.execute("DELETE FROM changed_since WHERE folder_path = ?", (path,))


def _report_status(conn: sqlite3.Connection, before: dict[str, sqlite3.Row],
                   result: Applied) -> None:
    # a folder without context is pending whatever its hash: only the others can turn
    query = "SELECT path, status FROM folders WHERE context_hash IS NOT NULL"
    now_rows = select_in(conn, query + " AND path IN ({})", result.folders_changed, scan=query)
    for path, status in now_rows:
        was = before[path]["status"] if path in before else None
        if status == "stale" and was != "stale":
            result.became_stale.append(path)
        elif status == "current" and was != "current":
            result.became_current.append(path)
    for lst in (result.became_stale, result.became_current):
        lst.sort(key=lambda p: (-paths.depth(p), p))
