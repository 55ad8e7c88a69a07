"""The full-text indexes (migrations 3, 8 and 10: folders' text, file names, symbols,
decisions, questions): checked when a map is opened, rebuilt from their tables when damaged.

An FTS5 index is derived from its table, so a damaged one loses nothing: it is emptied and
filled again. Damage to its structure record makes every statement that touches the table
fail ("vtable constructor failed"), writes included (the triggers keep it current), or, a
record zeroed, makes the index read as empty and every write to it fail. So it is looked for
on every open of a built map, cheaply: one MATCH per index reads its structure record and the
first page of its term index, and the structure record is read once more, not the index."""

from __future__ import annotations

import sqlite3

from float_hooks.output import error
from float_hooks.store.db import Store

# each index, and how it is filled from its table: a folder is indexed exactly while one of
# its text fields is set (migration 8's folders_fts), every decision, question and symbol
# always, every folder's file names (migration 10's view) always
_TEXT = ("COALESCE(map_summary, context_what, context_why, context_patterns, map_children)"
         " IS NOT NULL")
FILL = {
    "folders_fts": "INSERT INTO folders_fts(rowid, path, map_summary, context_what,"
                   " context_why, context_patterns, map_children) SELECT rowid, path,"
                   " map_summary, context_what, context_why, context_patterns, map_children"
                   f" FROM folders WHERE {_TEXT}",
    "log_entries_fts": "INSERT INTO log_entries_fts(log_entries_fts) VALUES ('rebuild')",
    "open_questions_fts": "INSERT INTO open_questions_fts(open_questions_fts)"
                          " VALUES ('rebuild')",
    "outline_words_fts": "INSERT INTO outline_words_fts(outline_words_fts) VALUES ('rebuild')",
    # in rowid order: FTS5 appends to its index then (in path order: 0.16-0.21 s against
    # 0.07 s for 7,500 folders)
    "folder_files_fts": "INSERT INTO folder_files_fts(rowid, names) SELECT d.rowid,"
                        " (SELECT names FROM folder_file_names WHERE folder_path = d.path)"
                        " FROM folders d ORDER BY d.rowid",
}
# the shadow tables FTS5 keeps for an index (``content`` only for one that holds its text)
_SHADOWS = ("data", "idx", "docsize", "content")
# the mark after the cookie of FTS5's version-2 structure records (SQLite 3.43+)
_STRUCTURE_V2 = b"\xff\x00\x00\x01"


def damaged(conn: sqlite3.Connection) -> list[str]:
    """The indexes that fail a cheap probe."""
    out = []
    for name in FILL:
        try:
            conn.execute(f"SELECT rowid FROM {name} WHERE {name} MATCH 'float' LIMIT 1"
                         ).fetchall()
            if _lost_its_segments(conn, name):
                out.append(name)
        except (sqlite3.DatabaseError, MemoryError):  # sizes read from a damaged record
            out.append(name)
    return out


def _lost_its_segments(conn: sqlite3.Connection, name: str) -> bool:
    """Whether the index's structure record lists no segment while segment pages are there:
    a record zeroed (a page of zeros, with the totals record beside it or not) passes the
    MATCH probe and makes the index look empty, and every write to it then fails
    ("constraint failed"). FTS5's structure record (fts5_index.c, id 10) is a 4-byte cookie,
    a 4-byte mark in version 2 (SQLite 3.43 and later, for some tables), then varints nLevel,
    nSegment, ...; its segment pages have ids from 2**37 up (1 is the totals record)."""
    row = conn.execute(f"SELECT block FROM {name}_data WHERE id = 10").fetchone()
    structure = row[0] if row is not None and isinstance(row[0], bytes) else b""
    values: list[int] = []
    at = 8 if structure[4:8] == _STRUCTURE_V2 else 4
    while at < len(structure) and len(values) < 2:
        value, at = _varint(structure, at)
        values.append(value)
    if len(values) == 2 and values[1] > 0:
        return False
    return bool(conn.execute(f"SELECT EXISTS (SELECT 1 FROM {name}_data WHERE id > 10)"
                             ).fetchone()[0])



def _varint(data: bytes, at: int) -> tuple[int, int]:
    """SQLite's varint (big-endian, 7 bits a byte, a ninth byte of 8) at ``at``."""
    value = 0
    for i in range(9):
        if at >= len(data):
            break
        byte = data[at]
        at += 1
        if i == 8:
            return (value << 8) | byte, at
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            break
    return value, at


def rebuild(conn: sqlite3.Connection, name: str) -> None:
    """Empty ``name`` and fill it again from its table, in the open transaction. The shadow
    tables are emptied directly and given a new index's structure record: FTS5's own
    'delete-all' and 'rebuild' need the damaged record to be readable."""
    fresh = sqlite3.connect(":memory:")
    try:
        fresh.execute("CREATE VIRTUAL TABLE empty USING fts5(a)")
        blocks = fresh.execute("SELECT id, block FROM empty_data").fetchall()
    finally:
        fresh.close()
    for shadow in _SHADOWS:
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?",
                        (f"{name}_{shadow}",)).fetchone():
            conn.execute(f"DELETE FROM {name}_{shadow}")
    conn.executemany(f"INSERT INTO {name}_data(id, block) VALUES (?, ?)", blocks)
    conn.execute(FILL[name])


def check(store: Store) -> None:
    """Rebuild the damaged indexes of a built map, saying so in one line. Probed outside
    the write transaction: an out-of-memory error (a damaged record's sizes) rolls back the
    transaction it happens in, from SQLite 3.4x on. Another process may have rebuilt one
    meanwhile; a second rebuild changes nothing."""
    names = damaged(store.conn)
    if not names:
        return
    with store.write(catch_up=False) as conn:  # before a killed writer's lines: they
        for name in names:  # may write to the damaged index (Store.journal_check next)
            rebuild(conn, name)
    error(f"the full-text index ({', '.join(names)}) was damaged; rebuilt from its tables,"
          " nothing was lost")
