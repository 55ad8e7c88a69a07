"""Evidence anchors (DESIGN.md section 10): what an authored record cites, pinned when written,
and its state now.

An anchor is a folder (``/src/auth``), a file (``/src/auth/login.py``) or a symbol in a file
(``/src/auth/login.py::Session.refresh``). Written, it records what it pointed at: a folder's
hash, a file's blob id (and the commit the map was based on), or a symbol's own text hash
(with the blob it was read from and that commit). Those pins are authored content: they
travel with the record.

Its **state** is derived when read, never stored and never on the hooks' path: ``ok``,
``changed`` (the text it pinned is not what is there now), ``moved`` (the same symbol text, or
the same file blob, now lives at another name or path: the anchor follows it and says where)
or ``gone``. The work is proportional to the anchors read and the paths changed since they
were pinned: a file whose blob is the pinned one is ``ok`` without parsing, a changed file is
outlined once per blob (cache.py), and a symbol that left its file is looked for among the
files of its folder and the files changed since the pinned commit.
"""

from __future__ import annotations

import difflib
import sqlite3
from collections.abc import Iterable
from typing import Any

from float_hooks import paths
from float_hooks.code.cache import CODE_MODES, outlined, outlines, read, read_source
from float_hooks.code.parse import Symbol
from float_hooks.errors import FloatError, GitError
from float_hooks.repo.git import Git, parse_raw_diff
from float_hooks.store.db import BASE_KEY

SEP = "::"
# "unknown" besides: a symbol whose file changed, read without git (no blob to outline)
STATES = ("ok", "changed", "moved", "gone")
FLAGGED = ("changed", "gone")
MAX_CANDIDATES = 200  # files searched for a symbol that left its file
MAX_DIFF_LINES = 40
MAX_DIFF_CHARS = 4000


class AnchorError(FloatError):
    """An anchor to something the map does not hold (exit 2, one line)."""


def qualname(s: Symbol) -> str:
    """``Session.refresh`` for a method, ``helper`` for a top-level function."""
    return f"{s.parent}.{s.name}" if s.parent else s.name


def find(symbols: Iterable[Symbol], name: str) -> Symbol | None:
    """The symbol called ``name`` (qualified first; a bare name when it is unique)."""
    syms = list(symbols)
    for s in syms:
        if qualname(s) == name:
            return s
    bare = [s for s in syms if s.name == name]
    return bare[0] if len(bare) == 1 else None


def split(text: str, cwd: str = paths.ROOT) -> tuple[str, str | None]:
    """An anchor as typed: (stored path, symbol name or None). Paths are relative to ``cwd``
    unless they start with ``/`` (the repository's root)."""
    where, sep, name = str(text).partition(SEP)
    if sep and not name.strip():
        raise AnchorError(f"anchor {where}{SEP}: no symbol name after {SEP}")
    try:
        path = paths.normalize(where or ".", cwd)
    except ValueError as e:
        raise AnchorError(f"anchor: {e}") from e
    return path, (name.strip() if sep else None)


def _file(conn: sqlite3.Connection, path: str) -> tuple[str, str] | None:
    if path == paths.ROOT:
        return None
    row = conn.execute("SELECT content_hash, mode FROM files WHERE folder_path = ? AND path = ?",
                       (paths.parent(path), path)).fetchone()
    return (row[0], row[1]) if row else None


def _folder_hash(conn: sqlite3.Connection, path: str) -> str | None:
    row = conn.execute("SELECT source_hash FROM folders WHERE path = ?", (path,)).fetchone()
    return row[0] if row else None


def _base(conn: sqlite3.Connection) -> str:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (BASE_KEY,)).fetchone()
    return (row[0] or "") if row else ""


def resolve(conn: sqlite3.Connection, git: Git, texts: Iterable[str],
            cwd: str = paths.ROOT) -> list[dict[str, str]]:
    """The anchors named in ``texts``, each pinned to what it points at in the map now;
    :class:`AnchorError` (one line) for one that points at nothing."""
    out: dict[str, dict[str, str]] = {}
    commit = _base(conn)
    for text in texts:
        path, name = split(text, cwd)
        row = _file(conn, path)
        if name is None:
            if row is not None:
                out[path] = {"anchor": path, "kind": "file", "blob": row[0],
                             **({"commit": commit} if commit else {})}
                continue
            folder_hash = _folder_hash(conn, path)
            if folder_hash is None:
                raise AnchorError(f"anchor {path}: no such file or folder in the map")
            out[path] = {"anchor": path, "kind": "folder", "hash": folder_hash}
            continue
        if row is None:
            raise AnchorError(f"anchor {path}{SEP}{name}: no such file in the map")
        if row[1] not in CODE_MODES or not outlined(path):
            raise AnchorError(f"anchor {path}{SEP}{name}: symbols are read only from source"
                              " files of the outlined languages")
        outline = outlines(conn, git, [(path, row[0])]).by_path.get(path)
        sym = find(outline.symbols if outline else [], name)
        if sym is None:
            raise AnchorError(f"anchor {path}{SEP}{name}: no such symbol in {path}")
        key = f"{path}{SEP}{qualname(sym)}"
        out[key] = {"anchor": key, "kind": "symbol", "blob": row[0], "hash": sym.hash,
                    **({"commit": commit} if commit else {})}
    return list(out.values())


# -- state ---------------------------------------------------------------------------------------
class Evaluator:
    """States of anchors against the map now; outlines and candidate lists are shared by
    every anchor one answer evaluates."""

    def __init__(self, conn: sqlite3.Connection, git: Git | None):
        self.conn, self.git = conn, git
        self._since: dict[str, list[tuple[str, str]]] = {}

    def _outline(self, path: str, blob: str) -> list[Symbol] | None:
        """The symbols of ``path`` at ``blob``; None when they cannot be known (no git to
        read the blob with and no cached outline)."""
        if self.git is None:
            cached = read(self.conn, {blob}).get(blob)
            return cached.symbols if cached else None
        got = outlines(self.conn, self.git, [(path, blob)]).by_path.get(path)
        return got.symbols if got else []

    def state(self, anchor: dict[str, Any]) -> dict[str, Any]:
        text, kind = str(anchor.get("anchor", "")), anchor.get("kind")
        out: dict[str, Any] = {"anchor": text, "kind": kind}
        path, _, name = text.partition(SEP)
        if kind == "folder":
            now = _folder_hash(self.conn, path)
            out["state"] = "gone" if now is None else (
                "ok" if now == anchor.get("hash") else "changed")
            return out
        row = _file(self.conn, path)
        if kind == "file":
            if row is not None:
                out["state"] = "ok" if row[0] == anchor.get("blob") else "changed"
                return out
            moved = [p for p, b in self._changed_since(anchor, path) if b == anchor.get("blob")]
            return {**out, "state": "moved", "now": moved[0]} if moved else \
                {**out, "state": "gone"}
        if row is not None and row[0] == anchor.get("blob"):
            out["state"] = "ok"  # the file is the one pinned: no parsing
            return out
        if row is not None:
            symbols = self._outline(path, row[0])
            if symbols is None:
                return {**out, "state": "unknown"}
            sym = find(symbols, name)
            if sym is not None:
                out["state"] = "ok" if sym.hash == anchor.get("hash") else "changed"
                return out
            same = [s for s in symbols if s.hash == anchor.get("hash")]
            if same:
                return {**out, "state": "moved", "now": f"{path}{SEP}{qualname(same[0])}"}
        now = self._search(anchor, path)
        return {**out, "state": "moved", "now": now} if now else {**out, "state": "gone"}

    def _changed_since(self, anchor: dict[str, Any], path: str) -> list[tuple[str, str]]:
        """(path, blob) of the files added or changed since the anchor's commit, and the files
        of its folder now: where a moved file or symbol is looked for (bounded)."""
        commit, base = str(anchor.get("commit") or ""), _base(self.conn)
        key = f"{commit}:{paths.parent(path)}"
        if key in self._since:
            return self._since[key]
        found: list[tuple[str, str]] = [
            (r[0], r[1]) for r in self.conn.execute(
                "SELECT path, content_hash FROM files WHERE folder_path = ? ORDER BY path"
                " LIMIT ?", (paths.parent(path), MAX_CANDIDATES))]
        if self.git is not None and commit and base and commit != base:
            try:
                diffs = parse_raw_diff(self.git.diff_trees(commit, base))
            except GitError:
                diffs = []
            found += [(d.path, d.new[1]) for d in diffs if d.new is not None]
        self._since[key] = found[:MAX_CANDIDATES * 2]
        return self._since[key]

    def _search(self, anchor: dict[str, Any], path: str) -> str | None:
        """Where the pinned symbol text lives now, if among the candidate files."""
        if self.git is None:
            return None
        wanted = anchor.get("hash")
        for cand, blob in self._changed_since(anchor, path):
            if cand == path or not outlined(cand):
                continue
            for s in self._outline(cand, blob) or []:
                if s.hash == wanted:
                    return f"{cand}{SEP}{qualname(s)}"
        return None

    def states(self, anchors: Any) -> list[dict[str, Any]]:
        if not isinstance(anchors, list):
            return []
        return [self.state(a) for a in anchors if isinstance(a, dict)]

    def diff(self, anchor: dict[str, Any]) -> str | None:
        """The pinned symbol's text against its text now, as a bounded unified diff; None
        when it cannot be shown (the pinned blob is not in git: written from an uncommitted
        file)."""
        if self.git is None or anchor.get("kind") != "symbol":
            return None
        path, _, name = str(anchor["anchor"]).partition(SEP)
        old_blob, row = str(anchor.get("blob") or ""), _file(self.conn, path)
        if row is None or not old_blob or not self.git.has_object(old_blob):
            return None  # never parse a blob git lacks: the work tree holds other text
        old_sym = find(self._outline(path, old_blob) or [], name)
        new_sym = find(self._outline(path, row[0]) or [], name)
        if old_sym is None or new_sym is None:
            return None
        old = _lines(read_source(self.git, path, old_blob, work_tree=False), old_sym)
        new = _lines(read_source(self.git, path, row[0]), new_sym)
        text = "".join(difflib.unified_diff(old, new, f"{path} (pinned)", f"{path} (now)",
                                            n=1))
        lines = text.splitlines(keepends=True)
        if len(lines) > MAX_DIFF_LINES or len(text) > MAX_DIFF_CHARS:
            text = "".join(lines[:MAX_DIFF_LINES])[:MAX_DIFF_CHARS] + "... (diff cut)\n"
        return text


def _lines(source: bytes, s: Symbol) -> list[str]:
    text = source.decode("utf-8", "replace").splitlines(keepends=True)
    return text[s.line - 1:s.end_line]


def summary(states: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for s in states:
        counts[s["state"]] = counts.get(s["state"], 0) + 1
    return counts


def flagged(states: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for s in states if s["state"] in FLAGGED]
