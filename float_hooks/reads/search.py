"""Search that answers questions: ranked retrieval over folder context, decisions, open
questions, file names and symbols (names and first doc sentences from the outlines).

- A query is a question or a few words: stop words are dropped, identifiers split at
  camelCase and snake_case, and not every word must match (FTS5 with OR, porter stemming,
  bm25). Hits are ranked first by how many of the query's words they answer, then by kind
  (authored context, decisions and questions before symbols, symbols before file names: the
  words someone wrote about a place say more than a name), then by bm25. A word like
  "decision" or "function" hints at the kind of answer instead of being searched for.
- A query that is exactly a folder's name, a file's name or a folder path puts that place
  first: someone who types a name wants that place.
- Each hit says what it is (``kind``: folder, file, symbol, decision, question), where
  (``path``), why it matched (``matched``: the query's words it answers, ``field``, and a
  ``snippet`` with them wrapped in :data:`MARKS`) and its freshness (hits.py).
- The cost is bounded whatever a stored text's size: bm25 reads FTS5's index, and snippets
  are cut from the first :data:`hits.WINDOW` characters of a field, never the whole text.
"""

from __future__ import annotations

import re
import sqlite3
from functools import partial
from typing import Any

from float_hooks import paths, words
from float_hooks.errors import FloatError
from float_hooks.reads import hits as hit_text
from float_hooks.reads.hits import BOLD, MARKS
from float_hooks.store.db import select_in

__all__ = ["BOLD", "MARKS", "fts_query", "search"]

NAME_BONUS = 10.0  # a query that is a place's name: that place first
# authored words about a place say more than a name that happens to hold the word
KIND_WEIGHT = {"folder": 1.0, "decision": 1.0, "question": 0.95, "symbol": 0.8, "file": 0.7}
HINT_BONUS = 0.5  # "what decisions ..." asks for decisions
STEM_BONUS = 0.2  # a file whose name is a word of the query (before its extension)
# a folder whose text answers only by naming its files: the files answer, not the folder
NAMES_ONLY = -0.3
_FOLDER_FIELDS = ("map_summary", "context_what", "context_why", "context_patterns")
_FOLDER_COLUMNS = (*_FOLDER_FIELDS, "map_children")
NOCASE_FOLDERS = 300  # folders whose names are scanned for a name typed in another case
_FTS_WORD = re.compile(r"[^\W_]+", re.UNICODE)  # a token as FTS5's unicode61 cuts it


def search(conn: sqlite3.Connection, query: str, limit: int = 20,
           marks: tuple[str, str] = MARKS) -> list[dict[str, Any]]:
    """Hits, best first (at most ``limit``): ``{kind, id, path, title, snippet, matched,
    field, match, score, rank}`` plus each hit's freshness (hits.freshness)."""
    terms, prefixes, hints = _terms(query)
    want = max(limit * 3, 30)
    found: list[dict[str, Any]] = []
    named = _by_name(conn, query.strip().rstrip("*"), marks, limit)
    found += named
    taken = {(h["kind"], h["id"]) for h in named}
    fts = fts_query(query) if terms else ""
    for source in (_folders, _decisions, _questions, _files, _symbols) if terms else ():
        for h in source(conn, fts, terms, prefixes, want, marks):
            if (h["kind"], h["id"]) not in taken:
                taken.add((h["kind"], h["id"]))
                found.append(h)
    for h in found:
        if h["kind"] == "file" and paths.name(h["id"]).split(".", 1)[0].lower() in terms:
            h["bonus"] = h.get("bonus", 0.0) + STEM_BONUS  # provider.py for "provider"
        h["score"] = (h.get("bonus", 0.0) + len(h["matched"]) / max(1, len(terms))
                      * KIND_WEIGHT[h["kind"]] + (HINT_BONUS if h["kind"] in hints else 0.0)
                      + 0.1 * h.pop("relevance", 0.0))
        h.pop("bonus", None)
    found.sort(key=lambda h: (-h["score"], paths.depth(h["path"] or "/"), h["id"]))
    shown = found[:limit]
    for i, h in enumerate(shown):
        if callable(h["snippet"]):  # cut only for the hits shown
            h["snippet"] = h["snippet"]()
        h["rank"] = i + 1
        h["score"] = round(h["score"], 4)
        h["matched"] = sorted(h["matched"])
    hit_text.add_freshness(conn, shown)
    return shown


def _terms(query: str) -> tuple[list[str], frozenset[str], set[str]]:
    terms, hints = words.query_terms(query)
    prefixes = frozenset(w.rstrip("*").lower() for w in query.split()
                         if w.endswith("*") and w.rstrip("*"))
    if not query.strip().strip("*"):
        raise FloatError("search needs at least one word")
    return terms + [p for p in prefixes if p not in terms], prefixes, hints


def fts_query(query: str) -> str:
    """The query as FTS5 terms joined by OR (each quoted, so user text is never FTS syntax;
    a trailing * on a word asks for a prefix match)."""
    terms, prefixes, _ = _terms(query)
    out = []
    for t in terms:
        quoted = '"' + t.replace('"', '""') + '"'
        out.append(quoted + "*" if t in prefixes else quoted)
    return " OR ".join(out)


def _relevance(bm25: float) -> float:
    """bm25 (negative; lower is better) as 0..1."""
    s = max(0.0, -bm25)
    return s / (1.0 + s)


# -- sources ---------------------------------------------------------------------------------
def _folders(conn: sqlite3.Connection, fts: str, terms: list[str], prefixes: frozenset[str],
             want: int, marks: tuple[str, str]) -> list[dict[str, Any]]:
    """Folders whose context answers the query; a match in the map's children (each file's
    one-line summary) is a hit for that file."""
    rows = conn.execute("SELECT rowid, bm25(folders_fts, 0, 4, 2, 1, 1, 1) FROM folders_fts"
                        " WHERE folders_fts MATCH ? ORDER BY 2 LIMIT ?", (fts, want)).fetchall()
    if not rows:
        return []
    score = dict(rows)
    cols = ", ".join(f"substr({c}, 1, {hit_text.WINDOW})" for c in _FOLDER_COLUMNS)
    out = []
    for rowid, path, *texts in select_in(
            conn, f"SELECT rowid, path, {cols} FROM folders WHERE rowid IN ({{}})", score):
        fields = dict(zip(_FOLDER_COLUMNS, texts, strict=True))
        kids = fields.pop("map_children")
        relevance = _relevance(score[rowid])
        for file, summary, got in hit_text.children(path, kids, terms, prefixes):
            out.append({"kind": "file", "id": file, "path": file, "title": hit_text.clip(summary),
                        "match": "text", "matched": got, "field": "file summary",
                        "snippet": partial(hit_text.window, f"{paths.name(file)}: {summary}"
                                           if summary else f"file {file}", terms, prefixes,
                                           marks),
                        "relevance": relevance, "bonus": 0.05})
        h = hit_text.best_field(fields, terms, prefixes, marks)
        text = " ".join(t for t in fields.values() if t)
        own = words.matched(terms, text, prefixes)
        if own and not words.matched(terms, hit_text.without_names(text, kids), prefixes):
            h["bonus"] = NAMES_ONLY
        last = str(out[-1]["path"]) if out else None
        if h["field"] is not None and (own or last is None or paths.parent(last) != path):
            out.append({"kind": "folder", "id": path, "path": path,
                        "title": hit_text.clip(fields["map_summary"]), "match": "text",
                        "relevance": relevance, **h})
    return out


def _decisions(conn: sqlite3.Connection, fts: str, terms: list[str], prefixes: frozenset[str],
               want: int, marks: tuple[str, str]) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT rowid, bm25(log_entries_fts, 4, 2, 1, 2) FROM log_entries_fts"
                        " WHERE log_entries_fts MATCH ? ORDER BY 2 LIMIT ?",
                        (fts, want)).fetchall()
    score = dict(rows)
    fields = ("title", "decision", "rationale", "topic")
    cols = ", ".join(f"substr({c}, 1, {hit_text.WINDOW})" for c in fields)
    out = []
    for rowid, uid, folder, status, date, *texts in select_in(
            conn, f"SELECT id, uid, folder_path, status, date, {cols} FROM log_entries"
            " WHERE id IN ({})", score):
        got = dict(zip(fields, texts, strict=True))
        out.append({"kind": "decision", "id": uid, "path": folder,
                    "title": hit_text.clip(got["title"]), "match": "text",
                    "status_of_decision": status, "date": date,
                    "relevance": _relevance(score[rowid])
                    - (0.5 if status == "superseded" else 0.0),
                    **hit_text.best_field(got, terms, prefixes, marks)})
    return out


def _questions(conn: sqlite3.Connection, fts: str, terms: list[str], prefixes: frozenset[str],
               want: int, marks: tuple[str, str]) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT rowid, bm25(open_questions_fts, 2, 1) FROM open_questions_fts"
                        " WHERE open_questions_fts MATCH ? ORDER BY 2 LIMIT ?",
                        (fts, want)).fetchall()
    score = dict(rows)
    fields = ("question", "context")
    cols = ", ".join(f"substr({c}, 1, {hit_text.WINDOW})" for c in fields)
    out = []
    for rowid, uid, folder, resolved, *texts in select_in(
            conn, f"SELECT id, uid, folder_path, resolved_at, {cols} FROM open_questions"
            " WHERE id IN ({})", score):
        got = dict(zip(fields, texts, strict=True))
        out.append({"kind": "question", "id": uid, "path": folder,
                    "title": hit_text.clip(got["question"]), "match": "text",
                    "resolved": resolved is not None,
                    "relevance": _relevance(score[rowid]) - (0.3 if resolved else 0.0),
                    **hit_text.best_field(got, terms, prefixes, marks)})
    return out


def _files(conn: sqlite3.Connection, fts: str, terms: list[str], prefixes: frozenset[str],
           want: int, marks: tuple[str, str]) -> list[dict[str, Any]]:
    """Files whose name answers words of the query: folders whose files' names match (one
    FTS row per folder), then the names in them that do (at most FOLDER_FILES per folder;
    SQLite's lower() folds ASCII only, so a name in other scripts is matched in its case)."""
    rows = conn.execute("SELECT rowid, bm25(folder_files_fts) FROM folder_files_fts"
                        " WHERE folder_files_fts MATCH ? ORDER BY 2 LIMIT ?",
                        (fts, want)).fetchall()
    score = dict(rows)
    # a word's stem is a prefix of it (words.stem strips suffixes): SQLite keeps the names
    # holding one, Python then checks them as words
    stems = sorted({words.stem(t) for t in terms} | set(prefixes))
    holds = " OR ".join(["instr(lower(substr(path, length(folder_path) + 1)), ?) > 0"]
                        * len(stems))
    out = []
    for rowid, folder in select_in(conn, "SELECT rowid, path FROM folders WHERE rowid IN ({})",
                                   score):
        for (path,) in conn.execute(f"SELECT path FROM files WHERE folder_path = ? AND ({holds})"
                                    " ORDER BY path LIMIT ?",
                                    (folder, *stems, hit_text.FOLDER_FILES)):
            name = paths.name(path)
            got = words.matched(terms, name, prefixes)
            if got:
                out.append({"kind": "file", "id": path, "path": path, "title": None,
                            "match": "text", "matched": got, "field": "file name",
                            "snippet": partial(hit_text.labelled, "file ", path, terms,
                                               prefixes, marks),
                            "relevance": _relevance(score[rowid])})
    return out


def _symbols(conn: sqlite3.Connection, fts: str, terms: list[str], prefixes: frozenset[str],
             want: int, marks: tuple[str, str]) -> list[dict[str, Any]]:
    """Symbols (from the outlines cached so far) whose name or doc answers the query, in the
    files of the map that hold their blob now."""
    rows = conn.execute(
        "SELECT w.blob, w.seq, bm25(outline_words_fts, 3, 1) FROM outline_words_fts"
        " JOIN outline_words w ON w.id = outline_words_fts.rowid"
        " WHERE outline_words_fts MATCH ? ORDER BY 3 LIMIT ?", (fts, want)).fetchall()
    if not rows:
        return []
    score = {(b, s): r for b, s, r in rows}
    where: dict[str, list[str]] = {}
    for blob, path in select_in(conn, "SELECT content_hash, path FROM files"
                                " WHERE content_hash IN ({})", {b for b, _ in score}):
        where.setdefault(blob, []).append(path)
    out = []
    for (blob, seq), bm in score.items():
        if blob not in where:
            continue  # an outline of content no file of the map holds now
        row = conn.execute("SELECT kind, name, parent, line, signature, doc FROM outline_symbols"
                           " WHERE blob = ? AND seq = ?", (blob, seq)).fetchone()
        if row is None:
            continue
        kind, name, parent, line, signature, doc = row
        qualified = f"{parent}.{name}" if parent else name
        got = words.matched(terms, words.index_words(name, parent) + " " + (doc or ""),
                            prefixes)
        text = f"{signature[:hit_text.WINDOW]}" + (f" -- {doc[:hit_text.WINDOW]}" if doc
                                                   else "")
        own = words.matched(terms, words.index_words(name), prefixes)
        for path in sorted(where[blob])[:3]:
            out.append({"kind": "symbol", "id": f"{path}::{qualified}", "path": path,
                        "title": hit_text.clip(f"{kind} {qualified}"), "match": "text",
                        "line": line, "matched": got or {terms[0]},
                        "field": "symbol name" if own else "symbol doc or parent",
                        "bonus": 0.0 if own else -0.2,
                        "snippet": partial(hit_text.window, text, terms, prefixes, marks),
                        "relevance": _relevance(bm)})
    return out


# -- names -----------------------------------------------------------------------------------
def _depth(column: str) -> str:
    """paths.depth in SQL: '/' is 0, '/src' 1, '/src/auth' 2."""
    return (f"(CASE {column} WHEN '/' THEN 0"
            f" ELSE length({column}) - length(replace({column}, '/', '')) END)")


def _files_named(conn: sqlite3.Connection, name: str, limit: int) -> list[str]:
    """The first ``limit`` files called ``name`` (any case), shallowest first: the folders
    whose file names hold its words (folder_files_fts), then the name in each, so the cost
    follows the folders that could hold it, not the repository's size."""
    parts = _FTS_WORD.findall(name)
    if not parts:
        return []
    phrase = '"' + " ".join(parts) + '"'
    rowids = [r[0] for r in conn.execute(
        "SELECT rowid FROM folder_files_fts WHERE folder_files_fts MATCH ?", (phrase,))]
    folders = sorted((p for (p,) in select_in(
        conn, "SELECT path FROM folders WHERE rowid IN ({})", rowids)),
        key=lambda p: (paths.depth(p), p))
    out: list[str] = []
    for folder in folders:  # the name as typed: one index lookup per folder
        if len(out) >= limit:
            break
        row = conn.execute("SELECT path FROM files WHERE folder_path = ? AND path = ?",
                           (folder, folder.rstrip("/") + "/" + name)).fetchone()
        if row is not None:
            out.append(row[0])
    if out:
        return out
    for folder in folders[:NOCASE_FOLDERS]:  # in another case: a scan of each folder's names
        if len(out) >= limit:
            break
        want = (folder.rstrip("/") + "/" + name).lower()
        out += [f for (f,) in conn.execute("SELECT path FROM files WHERE folder_path = ?"
                                           " ORDER BY path", (folder,)) if f.lower() == want]
    return out[:limit]


def _by_name(conn: sqlite3.Connection, text: str, marks: tuple[str, str],
             limit: int) -> list[dict[str, Any]]:
    """The places the whole query names, at most ``limit``: a folder path, folders by name,
    files by name (case-insensitive), shallowest first; only ``limit`` rows are read."""
    if not text or "\n" in text:
        return []
    found: list[dict[str, Any]] = []

    def add(kind: str, ident: str, match: str, bonus: float, snippet: str) -> None:
        found.append({"kind": kind, "id": ident, "path": ident, "title": None,
                      "match": match, "matched": {text.strip("/").lower()},
                      "field": "path" if match == "path" else "name",
                      "snippet": snippet, "bonus": bonus - 0.001 * len(found)})

    if "/" in text.strip("/"):
        try:
            path = paths.normalize(text)
        except ValueError:
            path = ""
        if conn.execute("SELECT 1 FROM folders WHERE path = ?", (path,)).fetchone():
            add("folder", path, "path", NAME_BONUS + 2, f"path {path.join(marks)}")
    name = text.strip("/")
    if "/" not in name:
        for (path,) in conn.execute(
                "SELECT path FROM folders WHERE name = ? COLLATE NOCASE"
                f" ORDER BY {_depth('path')}, path LIMIT ?", (name, limit)):
            add("folder", path, "name", NAME_BONUS + 1,
                f"name {paths.name(path).join(marks)}")
        # a name with an extension (or a dash...); a bare word is a file's name through the
        # words of file names (_files), ranked up when it is the whole name (STEM_BONUS)
        for file in _files_named(conn, name, limit) if not name.isalnum() else ():
            add("file", file, "file", NAME_BONUS, f"file {file.join(marks)}")
    titles = dict(select_in(conn, "SELECT path, map_summary FROM folders WHERE path IN ({})",
                            {h["id"] for h in found if h["kind"] == "folder"}))
    for h in found:
        h["title"] = hit_text.clip(titles.get(h["id"])) if h["kind"] == "folder" else None
    return found
