"""Python steps of schema migrations (schema.PYTHON_STEPS): data changes SQL cannot express."""

from __future__ import annotations

import re
import sqlite3

from float_hooks import paths, words
from float_hooks.store import record_format

# Before migration 6 an undecodable byte was stored as \xNN (always 80-ff) and a backslash
# as itself; now a backslash is doubled (paths.py). A \xNN above 7f was a byte.
_OLD_BYTE = re.compile(rb"\\x([89a-f][0-9a-f])")

# Every column that holds a stored path.
_PATH_COLUMNS = (
    ("files", ("path", "folder_path")), ("folders", ("path", "parent_path", "name")),
    ("overlay", ("path",)), ("changed_since", ("folder_path", "file_path")),
    ("archived_folders", ("path", "restored_to")), ("context_versions", ("folder_path",)),
    ("jobs", ("folder_path",)), ("log_entries", ("folder_path",)),
    ("open_questions", ("folder_path",)),
)


def _reencode(old: str | None) -> str | None:
    if old is None or "\\" not in old:
        return old
    raw = _OLD_BYTE.sub(lambda m: bytes([int(m.group(1), 16)]), old.encode("utf-8"))
    if old.startswith("/"):
        return paths.from_git(raw[1:])
    return paths.from_git(raw)[1:]  # a bare name


def versions_and_paths(conn: sqlite3.Connection) -> None:
    """Migration 6: stored paths in the injective encoding, and a version for every record
    (so that a record changed after the upgrade names the one it replaced)."""
    conn.create_function("float_reencode", 1, _reencode, deterministic=True)
    touched = False
    for table, columns in _PATH_COLUMNS:
        for column in columns:
            n = conn.execute(f"UPDATE {table} SET {column} = float_reencode({column})"
                             f" WHERE instr({column}, '\\') > 0").rowcount
            touched = touched or n > 0
    for side in ("source", "target"):
        conn.execute(f'UPDATE "references" SET {side}_id = float_reencode({side}_id)'
                     f" WHERE {side}_type IN ('folder', 'file') AND instr({side}_id, '\\') > 0")
    if touched:
        # folder hashes are now taken over git's own bytes of names: the next sync rebuilds
        conn.execute("DELETE FROM meta WHERE key = 'base_commit'")
    for kind in record_format.VERSIONED:
        table, key = record_format.TABLE[kind], record_format.KEY_COLUMN[kind]
        keys = [r[0] for r in conn.execute(f"SELECT {key} FROM {table}")]
        for k in keys:
            record = record_format.load(conn, kind, k)
            if record is None or (kind == "folder" and not record_format.has_context(record)):
                continue
            conn.execute(f"UPDATE {table} SET version = ? WHERE {key} = ?",
                         (record_format.version(record), k))
    conn.execute("DELETE FROM journal_pending")  # nothing new: the journal is seeded whole


def outline_words(conn: sqlite3.Connection) -> None:
    """Migration 8: the search words of the symbols outlined before it (code/cache.py writes
    them with every outline since)."""
    rows = conn.execute("SELECT blob, seq, name, parent, doc FROM outline_symbols").fetchall()
    conn.executemany("INSERT OR IGNORE INTO outline_words(blob, seq, name, doc)"
                     " VALUES (?, ?, ?, ?)",
                     [(b, s, words.index_words(n, p), d) for b, s, n, p, d in rows])
