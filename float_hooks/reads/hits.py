"""What a search hit shows: a snippet cut from a bounded window of the text with the matched
words marked, a clipped title, and the freshness of the folder the hit is about.

Matched words are wrapped in :data:`MARKS`, ``«word»``: square brackets are everywhere in
markdown and code. The CLI passes bold on and off instead when it prints to a terminal.
"""

from __future__ import annotations

import json
import re
import sqlite3
from functools import partial
from typing import Any

from float_hooks import paths, words
from float_hooks.code.answers import FRESHNESS
from float_hooks.store.carry import HISTORY_GAP
from float_hooks.store.db import select_in

MARKS = ("«", "»")
BOLD = ("\033[1m", "\033[22m")  # ANSI bold on, normal intensity
WINDOW = 4000  # characters of a stored text a snippet is cut from, whatever its size
SNIPPET = 160  # characters of a snippet, about
TITLE = 200  # characters of a title
FOLDER_FILES = 200  # names read per matching folder (those holding a word's stem)
CHANGED_SHOWN = 5  # changed files named on a stale hit
_WORD = re.compile(r"[^\W_]+(?:_+[^\W_]+)*", re.UNICODE)


def clip(text: str | None, n: int = TITLE) -> str | None:
    if text is None:
        return None
    text = " ".join(text[: n * 4].split())
    return text if len(text) <= n else text[: n - 1] + "…"


def mark(text: str, terms: list[str], prefixes: frozenset[str],
         marks: tuple[str, str]) -> str:
    """``text`` with each word that answers a term wrapped in ``marks``."""
    def one(m: re.Match[str]) -> str:
        return m.group(0).join(marks) if words.matched(terms, m.group(0), prefixes) else \
            m.group(0)

    return _WORD.sub(one, text)


def labelled(label: str, text: str, terms: list[str], prefixes: frozenset[str],
             marks: tuple[str, str]) -> str:
    return label + mark(text, terms, prefixes, marks)


def window(text: str, terms: list[str], prefixes: frozenset[str],
           marks: tuple[str, str]) -> str:
    """About SNIPPET characters of ``text`` around its first matched word, marked."""
    text = " ".join(text[:WINDOW].split())
    start = 0
    for m in _WORD.finditer(text):
        if words.matched(terms, m.group(0), prefixes):
            start = max(0, m.start() - SNIPPET // 3)
            break
    piece = text[start: start + SNIPPET]
    if start > 0:
        cut = piece.find(" ")
        piece = "…" + (piece[cut + 1:] if 0 <= cut < 20 else piece)
    if start + SNIPPET < len(text):
        piece += "…"
    return mark(piece, terms, prefixes, marks)


def best_field(fields: dict[str, str | None], terms: list[str], prefixes: frozenset[str],
               marks: tuple[str, str]) -> dict[str, Any]:
    """The field (of a bounded window each) that answers most of the query's words: its
    name, the words matched over all fields, and a snippet from it (to cut when shown)."""
    best, best_n, allm = None, -1, set()
    for name, text in fields.items():
        if not text:
            continue
        got = words.matched(terms, text, prefixes)
        allm |= got
        if len(got) > best_n:
            best, best_n = name, len(got)
    if best is None:
        return {"matched": set(terms[:1]), "field": None, "snippet": ""}
    return {"matched": allm or set(terms[:1]), "field": best,
            "snippet": partial(window, fields[best] or "", terms, prefixes, marks)}


_CHILD = re.compile(r"\{[^{}]*\}")


def children(folder: str, window_text: str | None, terms: list[str],
             prefixes: frozenset[str]) -> list[tuple[str, str, set[str]]]:
    """The files of a folder's map (``map_children``, a bounded window of its JSON) whose
    name or one-line summary answers the query: (path, summary, words matched)."""
    out = []
    for m in _CHILD.finditer(window_text or ""):
        try:
            child = json.loads(m.group(0))
        except ValueError:
            continue
        name, summary = child.get("name"), child.get("summary")
        if not isinstance(name, str) or child.get("kind") == "folder" or "/" in name:
            continue
        summary = summary if isinstance(summary, str) else ""
        got = words.matched(terms, name + " " + summary, prefixes)
        if got:
            path = (folder.rstrip("/") + "/" + name)
            out.append((path, summary, got))
    return out


def without_names(text: str, window_text: str | None) -> str:
    """``text`` without the names of the folder's files (from its map's children): what it
    says beyond listing them."""
    for m in _CHILD.finditer(window_text or ""):
        try:
            name = json.loads(m.group(0)).get("name")
        except (ValueError, AttributeError):
            continue
        if isinstance(name, str) and name:
            text = text.replace(name, " ")
    return text


def add_freshness(conn: sqlite3.Connection, hits: list[dict[str, Any]]) -> None:
    """Each hit gets the freshness of the folder it is about (``folder``, ``status``,
    ``source_hash``, ``context_hash``, ``context_commit``); a stale folder's hit says which
    files changed since its context was written (``changed_files``, ``changed_files_total``),
    a file's or a symbol's whether that file is one of them (``changed_since_context``)."""
    folder_of = {}
    for h in hits:
        if h["path"] is None:
            continue
        folder_of[id(h)] = h["path"] if h["kind"] == "folder" else paths.parent(
            h["path"]) if h["kind"] in ("file", "symbol") else h["path"]
    wanted = set(folder_of.values())
    rows = {r[0]: dict(zip(FRESHNESS, r[1:], strict=True)) for r in select_in(
        conn, "SELECT path, status, source_hash, context_hash, context_commit FROM folders"
        " WHERE path IN ({})", wanted)}
    changed: dict[str, list[str]] = {}
    for folder in wanted:
        if rows.get(folder, {}).get("status") == "stale":
            changed[folder] = [r[0] for r in conn.execute(
                "SELECT file_path FROM changed_since WHERE folder_path = ? AND file_path != ?"
                " ORDER BY file_path LIMIT 1000", (folder, HISTORY_GAP))]
    for h in hits:
        folder = folder_of.get(id(h))
        fresh = rows.get(folder or "", {})
        h["folder"] = folder
        for k in FRESHNESS:
            h[k] = fresh.get(k)
        if folder in changed:
            files = changed[folder]
            if h["kind"] in ("file", "symbol"):
                h["changed_since_context"] = h["path"] in files
            else:
                h["changed_files"] = files[:CHANGED_SHOWN]
                h["changed_files_total"] = len(files)
