"""Applying a set of file changes to the store: files, Merkle folder hashes and the per-folder
record of what changed since its context was written (what then happens to authored content
of folders that moved, vanished or came back is renames.py's and carry.py's).

Every sync, full or incremental, ends here with the same kind of input (path -> old, new), so
an incremental update and a full rebuild cannot disagree. The work is proportional to the
changed paths and their ancestors' immediate children.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from float_hooks import paths
from float_hooks.map import renames
from float_hooks.map.changes import Applied, Change, Progress
from float_hooks.repo.git import Entry
from float_hooks.repo.hashing import FOLDER_MODE, folder_hash
from float_hooks.store import carry
from float_hooks.store.db import insert_rows, now, select_in


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
    written = _write_files(conn, stamp, by_folder)
    dirty: set[str] = set().union(*chains.values())
    _track_changed_since(conn, changes, by_folder, chains, dirty)

    before = {r["path"]: r for r in select_in(conn, "SELECT * FROM folders WHERE path IN ({})",
                                               dirty, scan="SELECT * FROM folders")}
    if universe is not None and written == len(universe):
        # every file is new or changed (a first sync): the groups hold the whole tree
        files = {folder: [(name, *new) for _, name, new in group if new is not None]
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
    insert_rows(conn, "INSERT INTO folders(path, parent_path, name, source_hash,"
                " last_scanned_at, created_at, updated_at)", inserts)
    conn.executemany(
        "UPDATE folders SET source_hash = ?, last_scanned_at = ?, updated_at = ? WHERE path = ?",
        updates,
    )
    if progress is not None:
        progress(len(ordered), len(ordered))

    settle(conn, changes, removed_rows, before, result, stamp)
    return result


def settle(conn: sqlite3.Connection, changes: dict[str, Change],
           removed_rows: dict[str, sqlite3.Row], before: dict[str, sqlite3.Row],
           result: Applied, stamp: str) -> None:
    """What follows from the folders written: authored content moved, archived, restored or
    reused, and which folders turned stale or current."""
    renames.move_or_archive(conn, changes, removed_rows, result, stamp)
    carry.restore_imported(conn, result.added)
    carry.reuse_versions(conn, result.folders_changed)
    _report_status(conn, before, result)
    # back at the context's own hash: nothing is missing from the record any more
    conn.executemany("DELETE FROM changed_since WHERE folder_path = ? AND file_path = ?",
                     [(p, carry.HISTORY_GAP) for p in result.became_current])


# A changed file within its folder's group: (path, name, new entry or None).
Member = tuple[str, str, Entry | None]


def group_by_folder(changes: dict[str, Change]) -> dict[str, list[Member]]:
    """The changed files of each folder, in the order given: the one per-file pass that
    splits paths (a first sync has 90k files in 7.5k folders; every later step reads this)."""
    out: dict[str, list[Member]] = {}
    for path, (_, new) in changes.items():
        cut = path.rfind("/")  # paths.parent and paths.name, inlined
        folder = path[:cut] if cut > 0 else paths.ROOT
        group = out.get(folder)
        if group is None:
            out[folder] = [(path, path[cut + 1 :], new)]
        else:
            group.append((path, path[cut + 1 :], new))
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
    files: dict[str, list[tuple[str, str, str]]] = {}
    if universe is not None:
        for path, (mode, content_hash) in universe.items():
            cut = path.rfind("/")
            folder = path[:cut] if cut > 0 else paths.ROOT
            if folder in dirty:
                files.setdefault(folder, []).append((path[cut + 1 :], mode, content_hash))
    else:
        cur = conn.cursor()
        cur.row_factory = None  # plain tuples: cheaper than Rows
        query = "SELECT folder_path, path, mode, content_hash FROM files"
        for folder, path, mode, content_hash in select_in(
                cur, query + " WHERE folder_path IN ({})", dirty, scan=query):
            files.setdefault(folder, []).append((path[path.rfind("/") + 1 :], mode, content_hash))
    return files, _subfolders(conn, dirty)


def _subfolders(conn: sqlite3.Connection, dirty: set[str]) -> dict[str, dict[str, str]]:
    """The dirty folders' child folders as stored now: parent -> {path: folder hash}."""
    cur = conn.cursor()
    cur.row_factory = None
    query = "SELECT parent_path, path, source_hash FROM folders"
    subfolders: dict[str, dict[str, str]] = {}
    for parent, path, source_hash in select_in(cur, query + " WHERE parent_path IN ({})",
                                               dirty, scan=query):
        subfolders.setdefault(parent, {})[path] = source_hash
    return subfolders


def _write_files(conn: sqlite3.Connection, stamp: str,
                 by_folder: dict[str, list[Member]]) -> int:
    """Write the file rows; returns how many were inserted or updated."""
    # In key order, (folder_path, path): B-tree inserts then touch neighbouring pages instead
    # of random ones (about half the CPU of a first build: docs/performance.md). A group is usually
    # in path order already (git lists paths sorted), which sorted() checks in one pass.
    gone: list[tuple[str, str]] = []
    rows: list[tuple[str, str, str, str, str]] = []
    for folder in sorted(by_folder):
        for path, _, new in sorted(by_folder[folder]):
            if new is None:
                gone.append((folder, path))
            else:
                rows.append((path, folder, new[1], new[0], stamp))
    conn.executemany("DELETE FROM files WHERE folder_path = ? AND path = ?", gone)
    insert_rows(
        conn, "INSERT INTO files(path, folder_path, content_hash, mode, last_scanned_at)", rows,
        "ON CONFLICT(folder_path, path) DO UPDATE SET content_hash = excluded.content_hash,"
        " mode = excluded.mode, last_scanned_at = excluded.last_scanned_at",
    )
    return len(rows)


def _track_changed_since(conn: sqlite3.Connection, changes: dict[str, Change],
                         by_folder: dict[str, list[Member]], chains: dict[str, list[str]],
                         dirty: set[str]) -> None:
    """Remember, per folder with context, each file that changed since that context was
    written (its first old state); forget it when the file returns to that state."""
    query = "SELECT path FROM folders WHERE context_hash IS NOT NULL"
    with_context = {r[0] for r in select_in(conn, query + " AND path IN ({})", dirty,
                                            scan=query)}
    if not with_context:
        return
    rows = []
    reverted = []
    for holder, group in by_folder.items():
        watching = [f for f in chains[holder] if f in with_context]
        for path, _, new in group if watching else ():
            old = changes[path][0]
            for folder in watching:
                rows.append((folder, path, old and old[1], old and old[0]))
                reverted.append((folder, path, new and new[1], new and new[0]))
    conn.executemany("INSERT OR IGNORE INTO changed_since VALUES (?, ?, ?, ?)", rows)
    conn.executemany(
        "DELETE FROM changed_since WHERE folder_path = ? AND file_path = ?"
        " AND old_hash IS ? AND old_mode IS ?",
        reverted,
    )


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
