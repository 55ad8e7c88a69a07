"""Outlines cached by blob id (migration 7's ``outline_blobs`` and ``outline_symbols``):
read from the DB when a blob was outlined before, parsed (parse.py) and stored only for blobs
not seen before. Nothing here runs on the hooks' path: outlines are computed when the map's
content is needed (``regenerate``, ``outline``, ``where``, the MCP tools)."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from float_hooks import paths, words
from float_hooks.code.languages import grammar_for
from float_hooks.code.parse import MAX_BYTES, VERSION, Outline, Symbol, outline
from float_hooks.repo.git import Git
from float_hooks.repo.odb import odb
from float_hooks.store.db import select_in

CODE_MODES = ("100644", "100755")
_COLUMNS = ("kind", "name", "parent", "line", "end_line", "signature", "doc", "public", "hash")


@dataclass
class Outlines:
    by_path: dict[str, Outline] = field(default_factory=dict)
    parsed: list[str] = field(default_factory=list)  # blob ids parsed by this call


def outlined(path: str) -> bool:
    """Whether ``path`` is a file in a language we outline."""
    return grammar_for(paths.name(path)) is not None


def outlines(conn: sqlite3.Connection, git: Git, files: Iterable[tuple[str, str]],
             store_new: bool = True) -> Outlines:
    """The outline of each (path, blob id) in a language we outline. Cached blobs are read
    from the DB; the others are read from git (or the work tree, for a blob git does not
    have), parsed, and stored when ``store_new`` and the DB takes a write (a read-only map
    still answers, it only cannot remember)."""
    wanted = [(p, b) for p, b in files if b and outlined(p)]
    result = Outlines()
    cached = read(conn, {b for _, b in wanted})
    new: dict[str, Outline] = {}
    for path, blob in wanted:
        found = cached.get(blob) or new.get(blob)
        if found is None:
            grammar = grammar_for(paths.name(path))
            assert grammar is not None
            found = outline(grammar, read_source(git, path, blob))
            new[blob] = found
            result.parsed.append(blob)
        result.by_path[path] = found
    if new and store_new:
        _store(conn, new)
    return result


def read(conn: sqlite3.Connection, blobs: set[str]) -> dict[str, Outline]:
    """The cached outlines of ``blobs`` (those outlined by this VERSION)."""
    if not blobs:
        return {}
    heads = {r[0]: r for r in select_in(
        conn, "SELECT blob, language, version, refs FROM outline_blobs WHERE blob IN ({})",
        blobs) if r[2] == VERSION}
    out = {b: Outline(r[1], [], json.loads(r[3])) for b, r in heads.items()}
    for row in select_in(conn, "SELECT blob, " + ", ".join(_COLUMNS) + " FROM outline_symbols"
                         " WHERE blob IN ({}) ORDER BY blob, seq", heads):
        out[row[0]].symbols.append(symbol(row[1:]))
    return out


def symbol(row: Sequence[Any]) -> Symbol:
    kind, name, parent, line, end_line, signature, doc, public, hash_ = row
    return Symbol(kind, name, parent, line, end_line, signature, doc, bool(public), hash_)


def _store(conn: sqlite3.Connection, new: dict[str, Outline]) -> None:
    if conn.in_transaction:
        return  # the caller's transaction is not ours to commit
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:
        return  # read-only or busy: answer without remembering
    try:
        conn.executemany("DELETE FROM outline_symbols WHERE blob = ?", [(b,) for b in new])
        conn.executemany("DELETE FROM outline_words WHERE blob = ?", [(b,) for b in new])
        conn.executemany("INSERT OR REPLACE INTO outline_blobs VALUES (?, ?, ?, ?)",
                         [(b, o.language, VERSION, json.dumps(o.refs)) for b, o in new.items()])
        conn.executemany(
            "INSERT INTO outline_symbols VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(b, i, s.kind, s.name, s.parent, s.line, s.end_line, s.signature, s.doc,
              int(s.public), s.hash) for b, o in new.items() for i, s in enumerate(o.symbols)])
        conn.executemany(  # what search finds them by (migration 8)
            "INSERT INTO outline_words(blob, seq, name, doc) VALUES (?, ?, ?, ?)",
            [(b, i, words.index_words(s.name, s.parent), s.doc)
             for b, o in new.items() for i, s in enumerate(o.symbols)])
        conn.execute("COMMIT")
    except sqlite3.Error:
        if conn.in_transaction:
            conn.execute("ROLLBACK")


# -- reading blobs ---------------------------------------------------------------------------
def read_source(git: Git, path: str, blob: str, work_tree: bool = True) -> bytes:
    """A blob's content, up to MAX_BYTES (b"" when larger: it is not outlined); from the
    work tree when git does not have the blob (an untracked or unstaged file) and
    ``work_tree`` says the blob is the work tree's present content."""
    objects = odb(git)
    try:
        size = int(objects.read_header(blob)[1])
    except (KeyError, ValueError):
        size = -1
    if size > MAX_BYTES:
        return b""
    if size >= 0:
        return bytes(objects.read(blob)[1])
    if git.work_tree is None or not work_tree:
        return b""
    try:
        with open(Path(os.fsdecode(git.work_tree)) / paths.to_git(path), "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError:
        return b""
    return data if len(data) <= MAX_BYTES else b""
