"""A first build's map written while git lists the snapshot: memory bounded by the folders
open at a time, not by the repository.

Git lists a snapshot in path order, byte by byte, so a folder's files and subfolders arrive
together, the subfolders' before the folder's later files. The folders from the root down to
the one being listed stay open; a folder whose last entry went by is closed: its hash
(hashing.folder_hash of its files and its subfolders' hashes, as apply.py computes it) goes
to its parent, its file rows and its own row to the store, in batches. The tables end up
exactly as apply_changes writes them for the same listing into an empty store.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from float_hooks import paths
from float_hooks.map.apply import settle
from float_hooks.map.changes import Applied, Progress
from float_hooks.repo.git import Entry
from float_hooks.repo.hashing import FOLDER_MODE, folder_hash
from float_hooks.store.db import insert_rows, now

FILE_BATCH = 20_000  # file rows written at a time (about 4 MB of tuples)
FOLDER_BATCH = 2_000


class _Writer:
    def __init__(self, conn: sqlite3.Connection, stamp: str, result: Applied):
        self.conn = conn
        self.stamp = stamp
        self.result = result
        self.opened: list[str] = []  # the open folders, the root first
        self.kids: list[list[tuple[str, str, str]]] = []  # each one's (name, mode, hash)
        self.rows: list[list[tuple[str, str, str, str, str]]] = []  # each one's file rows
        self.file_rows: list[tuple[str, str, str, str, str]] = []
        self.folder_rows: list[tuple[str, str | None, str, str, str, str, str]] = []

    def enter(self, folder: str) -> None:
        """Make ``folder`` the innermost open folder: close those it is not inside, open
        it and the folders between."""
        opened = self.opened
        while opened and not (opened[-1] == paths.ROOT or opened[-1] == folder
                              or folder.startswith(opened[-1] + "/")):
            self.close()
        base = opened[-1] if opened else None
        missing = []
        while folder != base:
            missing.append(folder)
            if folder == paths.ROOT:
                break
            folder = folder[: folder.rfind("/")] or paths.ROOT
        for f in reversed(missing):
            opened.append(f)
            self.kids.append([])
            self.rows.append([])

    def close(self) -> None:
        folder = self.opened.pop()
        children = self.kids.pop()
        self.file_rows += self.rows.pop()
        digest = folder_hash(children)
        name = paths.name(folder)
        parent = None
        if self.kids:
            self.kids[-1].append((name, FOLDER_MODE, digest))
            parent = paths.parent(folder)
        stamp = self.stamp
        self.folder_rows.append((folder, parent, name, digest, stamp, stamp, stamp))
        self.result.added.append(folder)
        if len(self.file_rows) >= FILE_BATCH:
            self.flush_files()
        if len(self.folder_rows) >= FOLDER_BATCH:
            self.flush_folders()

    def flush_files(self) -> None:
        # in key order within a batch, (folder_path, path): B-tree inserts then touch
        # neighbouring pages (apply._write_files)
        self.file_rows.sort(key=_file_key)
        insert_rows(
            self.conn, "INSERT INTO files(path, folder_path, content_hash, mode, last_scanned_at)",
            self.file_rows,
            "ON CONFLICT(folder_path, path) DO UPDATE SET content_hash = excluded.content_hash,"
            " mode = excluded.mode, last_scanned_at = excluded.last_scanned_at",
        )
        self.file_rows = []

    def flush_folders(self) -> None:
        # a folder's row indexes its files' names from the files table (schema.py's
        # folder_files_fts_ai): their rows go first
        self.flush_files()
        insert_rows(self.conn, "INSERT INTO folders(path, parent_path, name, source_hash,"
                    " last_scanned_at, created_at, updated_at)", self.folder_rows)
        self.folder_rows = []


def _file_key(row: tuple[str, str, str, str, str]) -> tuple[str, str]:
    return row[1], row[0]


def write_listing(conn: sqlite3.Connection, blocks: Iterable[dict[str, Entry]],
                  progress: Progress | None = None, total: int = 0) -> Applied:
    """Write a snapshot's listing (path -> entry, in git's order, a block at a time) into a
    store whose files and folders tables are empty; what it changed, as apply_changes says."""
    result = Applied()
    w = _Writer(conn, now(), result)
    current = None
    kids: list[tuple[str, str, str]] = []
    rows: list[tuple[str, str, str, str, str]] = []
    stamp = w.stamp
    done = 0
    for entries in blocks:
        for path, (mode, oid) in entries.items():
            cut = path.rfind("/")  # paths.parent and paths.name, inlined: once per file
            folder = path[:cut] or paths.ROOT
            if folder != current:
                w.enter(folder)
                current, kids, rows = folder, w.kids[-1], w.rows[-1]
            kids.append((path[cut + 1 :], mode, oid))
            rows.append((path, folder, oid, mode, stamp))
        done += len(entries)
        if progress is not None:
            progress(done, max(total, done))
    while w.opened:
        w.close()
    w.flush_folders()
    result.files_changed = done
    result.added.sort(key=paths.depth, reverse=True)  # children before parents, as apply.py
    result.folders_changed = list(result.added)
    settle(conn, {}, {}, {}, result, stamp)
    return result
