"""What is wrong with a database file, in words a user can act on: SQLite's failures as
one-line errors, and the cheap check every open runs on the file itself."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from float_hooks.errors import CorruptDatabase, FloatError, LockedDatabase

RESTORE_HINT = (
    "move it aside (or delete it) and run any float-hooks command to rebuild it: authored"
    " content comes back from the committed export and the write journal"
)
_MAGIC = b"SQLite format 3\0"


def translate(e: sqlite3.Error, path: Path) -> FloatError:
    """Map an SQLite failure to the one-line error a user can act on."""
    msg = str(e)
    if isinstance(e, sqlite3.OperationalError) and ("locked" in msg or "busy" in msg):
        return LockedDatabase(
            f"{path}: database is locked by another float-hooks process; try again "
            "(or raise [sync] lock_timeout)"
        )
    if "vtable constructor failed" in msg:  # a full-text index (fts.py checks them on open)
        return FloatError(f"{path}: a full-text index is damaged ({msg}); run the command"
                          " again: opening the map rebuilds it from its tables")
    if isinstance(e, sqlite3.DatabaseError) and (
        "not a database" in msg or "malformed" in msg or "corrupt" in msg
    ):
        return CorruptDatabase(f"{path}: database is corrupt ({msg}); {RESTORE_HINT}", path)
    return FloatError(f"{path}: database error: {msg}")


def damage(path: Path) -> str | None:
    """Why the file at ``path`` is not a usable SQLite database, or None. Cheap (its first
    100 bytes and its size), so every open runs it: a file that is not SQLite, or one cut
    short (a copy or a disk that filled up), is refused before any query reads it."""
    try:
        with open(path, "rb") as f:
            head = f.read(100)
            size = os.fstat(f.fileno()).st_size
    except FileNotFoundError:
        return None
    except OSError as e:
        return f"cannot read it ({e.strerror})"
    if not head:
        return None  # empty: a database nothing was written to yet
    if len(head) < 100 or not head.startswith(_MAGIC):
        return "not an SQLite database"
    page = int.from_bytes(head[16:18], "big")
    page = 65536 if page == 1 else page
    pages = int.from_bytes(head[28:32], "big")
    # the page count in the header is valid while its "valid for" counter is current; a file
    # with a WAL or rollback journal beside it may be mid-checkpoint (page 1 is written
    # first) or mid-recovery: SQLite completes it from that file, so it is not judged here
    if page >= 512 and head[24:28] == head[92:96] and size < page * pages \
            and not _has_side_file(path):
        return f"truncated ({size} of {page * pages} bytes)"
    return None


def _has_side_file(path: Path) -> bool:
    for suffix in ("-wal", "-journal"):
        try:
            if os.stat(f"{path}{suffix}").st_size > 0:
                return True
        except OSError:
            pass
    return False
