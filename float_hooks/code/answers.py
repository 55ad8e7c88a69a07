"""What ``outline`` and ``where`` answer (the CLI and the MCP tools alike): a file's symbols,
a folder's files' ranked symbols, where a name is defined; each bounded (a limit, a size
cap) and each carrying the freshness of the folder it is about."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from float_hooks import paths
from float_hooks.code.cache import CODE_MODES, outlined, outlines, symbol
from float_hooks.code.parse import VERSION, Symbol
from float_hooks.code.rank import rank
from float_hooks.errors import NotFound
from float_hooks.repo.git import Git
from float_hooks.store.db import now, select_in

FRESHNESS = ("status", "source_hash", "context_hash", "context_commit")
MAX_CHARS = 64 * 1024  # of one answer's symbols (signatures and docs), whatever the limit


def symbol_line(s: Symbol) -> str:
    """One line for a symbol: ``L12 class Flask(App) -- The flask object ...``."""
    doc = f" -- {s.doc}" if s.doc else ""
    return f"{'  ' if s.parent else ''}L{s.line} {s.signature}{doc}"


def folder_freshness(conn: sqlite3.Connection, folder: str) -> dict[str, Any]:
    row = conn.execute("SELECT status, source_hash, context_hash, context_commit FROM folders"
                       " WHERE path = ?", (folder,)).fetchone()
    return dict(zip(FRESHNESS, row, strict=True)) if row else {}


def _snapshot(conn: sqlite3.Connection) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = 'base_commit'").fetchone()
    return (row[0] or None) if row else None


def outline_of(conn: sqlite3.Connection, git: Git, path: str, limit: int = 200
               ) -> dict[str, Any]:
    """A file's symbols in line order, or a folder's files (ranked) with their ranked
    symbols; at most ``limit`` symbols and MAX_CHARS characters, ``more`` saying how many
    were left out."""
    row = conn.execute("SELECT content_hash, mode FROM files WHERE folder_path = ? AND path = ?",
                       (paths.parent(path), path)).fetchone() if path != paths.ROOT else None
    if row is not None:
        got = outlines(conn, git, [(path, row[0])] if row[1] in CODE_MODES else [])
        syms = got.by_path[path].symbols if path in got.by_path else []
        shown, more = _bounded(syms, limit)
        return {"path": path, "kind": "file", "outlined": outlined(path),
                "folder": {"path": paths.parent(path),
                           **folder_freshness(conn, paths.parent(path))},
                "commit": _snapshot(conn), "symbols": [s.as_dict() for s in shown],
                "more": more}
    fresh = folder_freshness(conn, path)
    if not fresh:
        raise NotFound(f"{path}: no such file or folder in the map")
    entries = [(r[0], r[1]) for r in conn.execute(
        "SELECT path, content_hash FROM files WHERE folder_path = ? AND mode IN (?, ?)"
        " ORDER BY path", (path, *CODE_MODES))]
    ranked = [f for f in rank(outlines(conn, git, entries).by_path) if f.symbols]
    chosen: dict[str, list[Symbol]] = {f.path: [] for f in ranked}
    left, chars, depth = limit, MAX_CHARS, 0
    while left > 0 and any(depth < len(f.symbols) for f in ranked):
        for f in ranked:  # breadth first: each file's best symbol, then its second best...
            if depth < len(f.symbols) and left > 0 and chars >= _size(f.symbols[depth][1]):
                chosen[f.path].append(f.symbols[depth][1])
                chars -= _size(f.symbols[depth][1])
                left -= 1
        depth += 1
    files = [{"path": f.path, "symbols": [s.as_dict() for s in sorted(chosen[f.path],
                                                                       key=lambda s: s.line)],
              "more": len(f.symbols) - len(chosen[f.path])} for f in ranked]
    return {"path": path, "kind": "folder", "folder": {"path": path, **fresh},
            "commit": _snapshot(conn), "files": files,
            "more": sum(f["more"] for f in files)}


def _size(s: Symbol) -> int:
    return len(s.signature) + len(s.doc or "") + len(s.name) + 80


def _bounded(syms: list[Symbol], limit: int, chars: int = MAX_CHARS
             ) -> tuple[list[Symbol], int]:
    shown: list[Symbol] = []
    for s in syms:
        if len(shown) >= limit or chars < _size(s):
            break
        chars -= _size(s)
        shown.append(s)
    return shown, len(syms) - len(shown)


def ensure_all(conn: sqlite3.Connection, git: Git) -> int:
    """Outline every code file of the map whose blob is not cached yet; how many were parsed."""
    todo = missing(conn)
    if todo is None:
        return 0
    parsed = len(outlines(conn, git, todo[1]).parsed) if todo[1] else 0
    outlined_through(conn, todo[0])
    return parsed


# meta: "<outline version>:<max(folders.updated_at)>" when every file was outlined
OUTLINED_KEY = "outlined_through"
_MISSING = ("SELECT f.path, f.content_hash FROM {} f.mode IN (?, ?) AND NOT EXISTS"
            " (SELECT 1 FROM outline_blobs o WHERE o.blob = f.content_hash AND o.version = ?)")


def missing(conn: sqlite3.Connection) -> tuple[str, list[tuple[str, str]]] | None:
    """The newest folder change, and the code files whose outline is not cached; None when
    every file was outlined as of the newest folder change (or there is none). Once every
    file was outlined (meta OUTLINED_KEY), only the files of folders changed since are looked
    at (the folders_updated index): the work follows the change, not the repository."""
    mark, done = _marks(conn)
    if mark is None or done == mark:
        return None
    if done and done < mark:  # the same second counts as changed since
        rows = conn.execute(_MISSING.format("folders d JOIN files f ON f.folder_path = d.path"
                                            " WHERE d.updated_at >= ? AND"),
                            (done, *CODE_MODES, VERSION))
    else:
        rows = conn.execute(_MISSING.format("files f WHERE"), (*CODE_MODES, VERSION))
    return mark, [(r[0], r[1]) for r in rows if outlined(r[0])]


def _marks(conn: sqlite3.Connection) -> tuple[str | None, str]:
    """The newest folder change, and the one every file was outlined as of ("" if never, or
    by another outline version): two indexed reads."""
    mark = conn.execute("SELECT max(updated_at) FROM folders").fetchone()[0]
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (OUTLINED_KEY,)).fetchone()
    version, _, done = str(row[0]).partition(":") if row is not None else ("", "", "")
    return mark, (done if version == str(VERSION) else "")


def all_outlined(conn: sqlite3.Connection) -> bool:
    """Whether every code file was outlined as of the newest folder change (cheap: no scan)."""
    mark, done = _marks(conn)
    return mark is None or done == mark


def outlined_through(conn: sqlite3.Connection, mark: str) -> None:
    """Record that every file was outlined as of ``mark`` (outside a transaction only), once
    ``mark``'s second is over: changes are stamped to the second, so a change later in the
    same second would carry the same stamp and look already outlined."""
    if conn.in_transaction or mark >= now():
        return
    try:
        with conn:
            conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                         (OUTLINED_KEY, f"{VERSION}:{mark}"))
    except sqlite3.Error:
        pass  # a read-only map: it looks again next time


def ensure_fresh(conn: sqlite3.Connection, git: Git, budget: int = 2000,
                 seconds: float = 0.25) -> int:
    """Outline the code files not cached yet, at most ``budget`` of them and about
    ``seconds`` per call (search reads symbols from the cache); how many are left. Free while
    nothing changed since every file was outlined (one indexed read of the newest folder
    change); after a change, the changed folders' files are looked at (:func:`missing`)."""
    todo = missing(conn)
    if todo is None:
        return 0
    mark, files = todo
    done_n, start = 0, time.monotonic()
    while done_n < min(budget, len(files)) and time.monotonic() - start < seconds:
        outlines(conn, git, files[done_n: done_n + 50])
        done_n += 50
    left = max(0, len(files) - done_n)
    if not left:
        outlined_through(conn, mark)
    return left


def where(conn: sqlite3.Connection, git: Git, name: str, limit: int = 50,
          catch_up: bool = True) -> dict[str, Any]:
    """Where ``name`` is defined (``Class.method`` or ``Type::method`` narrows by parent; an
    exact name first, else the same name in any case): file, line, signature, doc and the
    folder's freshness, at most ``limit`` places (``total`` says how many there are). Every
    code file is outlined first unless ``catch_up`` is false (a background outliner does)."""
    if catch_up:
        ensure_all(conn, git)
    parent = None
    for sep in ("::", "."):
        if sep in name.strip(sep):
            parent, name = name.rsplit(sep, 1)
            break
    cols = "blob, kind, name, parent, line, end_line, signature, doc, public, hash"
    rows = conn.execute(f"SELECT {cols} FROM outline_symbols WHERE name = ?",
                        (name,)).fetchall()
    if not rows:
        rows = conn.execute(f"SELECT {cols} FROM outline_symbols WHERE name = ? COLLATE NOCASE",
                            (name,)).fetchall()
    if parent is not None:
        rows = [r for r in rows if r[3] is not None and (
            r[3] == parent or r[3].endswith(("." + parent, "::" + parent)))]
    by_blob: dict[str, list[Any]] = {}
    for r in rows:
        by_blob.setdefault(r[0], []).append(r)
    places = []
    for blob, path in select_in(conn, "SELECT content_hash, path FROM files"
                                " WHERE content_hash IN ({})", by_blob):
        places += [(path, symbol(r[1:])) for r in by_blob[blob]]
    # public definitions and top-level ones first, then by path and line
    places.sort(key=lambda p: (not p[1].public, p[1].parent is not None, p[0], p[1].line))
    fresh: dict[str, dict[str, Any]] = {}
    out = []
    for path, s in places[:limit]:
        folder = paths.parent(path)
        if folder not in fresh:
            fresh[folder] = {"path": folder, **folder_freshness(conn, folder)}
        out.append({"path": path, **s.as_dict(), "folder": fresh[folder]})
    return {"name": name if parent is None else f"{parent}.{name}", "commit": _snapshot(conn),
            "total": len(places), "places": out, "more": max(0, len(places) - limit)}
