"""Search: folders by name or path first, then full text (FTS5) over folder context, decisions
and open questions, ranked by bm25.

A query that is exactly a folder's name (``flask``), a file's name (``app.py``) or a folder
path (``src/flask``) puts that folder first: someone who types a name wants that place, not
the folder whose context mentions the word most often. Matched words in snippets are wrapped
in :data:`MARKS`, ``«word»``: square brackets, the old marks, are everywhere in markdown and
code. The CLI passes bold on and off instead when it prints to a terminal.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from float_hooks import paths
from float_hooks.errors import FloatError
from float_hooks.store.db import select_in

MARKS = ("«", "»")
BOLD = ("\033[1m", "\033[22m")  # ANSI bold on, normal intensity
NAME_RANK = -1e9  # name matches sort before every bm25 score (those are > -1e9 in practice)

# bm25 column weights: a word in a summary or a title says more than one in a long paragraph
_SOURCES = (
    ("folder", "SELECT f.path, f.map_summary, snippet(folders_fts, -1, ?, ?, '…', 12),"
               " bm25(folders_fts, 0, 4, 2, 1, 1) FROM folders_fts JOIN folders f"
               " ON f.rowid = folders_fts.rowid WHERE folders_fts MATCH ? ORDER BY 4 LIMIT ?"),
    ("decision", "SELECT l.uid, l.title, snippet(log_entries_fts, -1, ?, ?, '…', 12),"
                 " bm25(log_entries_fts, 4, 2, 1, 2) FROM log_entries_fts JOIN log_entries l"
                 " ON l.id = log_entries_fts.rowid WHERE log_entries_fts MATCH ?"
                 " ORDER BY 4 LIMIT ?"),
    ("question", "SELECT q.uid, q.question, snippet(open_questions_fts, -1, ?, ?, '…', 12),"
                 " bm25(open_questions_fts, 2, 1) FROM open_questions_fts JOIN open_questions"
                 " q ON q.id = open_questions_fts.rowid WHERE open_questions_fts MATCH ?"
                 " ORDER BY 4 LIMIT ?"),
)


def search(conn: sqlite3.Connection, query: str, limit: int = 20,
           marks: tuple[str, str] = MARKS) -> list[dict[str, Any]]:
    """Hits ``{kind, id, title, snippet, rank, match}``, best first: ``match`` is ``path``,
    ``name`` (a folder's), ``file`` (a file's name: its folder) or ``text`` (FTS5)."""
    fts = fts_query(query)
    hits = _by_name(conn, query.strip().rstrip("*"), marks, limit)
    named = {h["id"] for h in hits}
    for kind, sql in _SOURCES:
        for key, title, snip, rank in conn.execute(sql, (*marks, fts, limit)):
            if kind == "folder" and key in named:
                continue  # already first, as a name match
            hits.append({"kind": kind, "id": key, "title": title, "snippet": snip,
                         "rank": rank, "match": "text"})
    hits.sort(key=lambda h: h["rank"])
    return hits[:limit]


def _depth(column: str) -> str:
    """paths.depth in SQL: '/' is 0, '/src' 1, '/src/auth' 2."""
    return (f"(CASE {column} WHEN '/' THEN 0"
            f" ELSE length({column}) - length(replace({column}, '/', '')) END)")


def _by_name(conn: sqlite3.Connection, text: str, marks: tuple[str, str],
             limit: int) -> list[dict[str, Any]]:
    """The first ``limit`` folders the query names: by path, by folder name, by a file's name
    (case-insensitive; a scan of the names), shallowest first. SQLite
    sorts the matches; only ``limit`` of them are read (a name in thousands of folders)."""
    if not text or "\n" in text:
        return []
    found: dict[str, tuple[float, str, str]] = {}  # path -> (rank, match, snippet)
    if "/" in text.strip("/"):
        try:
            path = paths.normalize(text)
        except ValueError:
            path = ""
        if conn.execute("SELECT 1 FROM folders WHERE path = ?", (path,)).fetchone():
            found[path] = (NAME_RANK - 2, "path", f"path {path.join(marks)}")
    name = text.strip("/")
    if "/" not in name:
        for (path,) in conn.execute(
                "SELECT path FROM folders WHERE name = ? COLLATE NOCASE"
                f" ORDER BY {_depth('path')}, path", (name,)):
            if len(found) >= limit:
                break
            found.setdefault(path, (NAME_RANK - 1, "name", f"name {paths.name(path).join(marks)}"))
        pattern = "%/" + name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        for folder, file in conn.execute(
                "SELECT folder_path, path FROM files WHERE path LIKE ? ESCAPE '\\'"
                f" ORDER BY {_depth('folder_path')}, folder_path, path", (pattern,)):
            if len(found) >= limit:
                break
            if paths.name(file).lower() == name.lower():  # LIKE folds ASCII only
                found.setdefault(folder, (NAME_RANK, "file", f"file {file.join(marks)}"))
    if not found:
        return []
    titles = dict(select_in(conn, "SELECT path, map_summary FROM folders WHERE path IN ({})",
                            found))
    # by kind of match, then shallowest first; ranks keep that order in the caller's sort
    order = sorted(found, key=lambda p: (found[p][0], paths.depth(p), p))
    return [{"kind": "folder", "id": path, "title": titles.get(path), "snippet": found[path][2],
             "rank": NAME_RANK + i, "match": found[path][1]} for i, path in enumerate(order)]


def fts_query(query: str) -> str:
    """Words as FTS5 terms (each quoted, so user text is never FTS syntax); a trailing * on a
    word asks for a prefix match."""
    terms = []
    for word in query.split():
        prefix = word.endswith("*")
        word = word.rstrip("*").replace('"', '""')
        if word:
            terms.append(f'"{word}"' + ("*" if prefix else ""))
    if not terms:
        raise FloatError("search needs at least one word")
    return " ".join(terms)
