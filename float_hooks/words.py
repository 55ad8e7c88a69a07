"""Words as search sees them, in one place: identifiers split at camelCase, digits and
snake_case (``JSONProvider`` -> json, provider), English stop words dropped from questions, and
a light stemmer that decides whether a word in a text answers a word of a query (the index
itself stems with FTS5's porter tokenizer)."""

from __future__ import annotations

import re
from functools import lru_cache

_TOKEN = re.compile(r"[^\W_]+(?:_+[^\W_]+)*", re.UNICODE)  # snake_case stays one token
_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+|[^\W\d_A-Za-z]+",
                    re.UNICODE)

# Words a question carries that say nothing about where an answer is.
_STOP = """
a about above after again all also am an and any are as at be been before being below
between both but by can could did do does doing done during each few for from further get
gets got had has have having here how i if in into is it its itself just let me more most
my no nor not now of off on once only or other our ours out over own same she should so
some such than that the their theirs them then there these they this those through to too
under until up upon us very was we were what when where which while who whom why will with
would you your yours find finds found make made makes tell show shows work works used use
uses using happen happens thing things way ways kind kinds anything something someone
"""
STOP_WORDS = frozenset(_STOP.split())

# Words that ask for a kind of answer ("what decisions did we make about X"): a hint for the
# ranking, not a word the answer must contain.
KIND_HINTS = {
    "decision": "decision", "decisions": "decision", "decided": "decision",
    "decide": "decision", "question": "question", "questions": "question",
    "file": "file", "files": "file", "function": "symbol", "functions": "symbol",
    "class": "symbol", "classes": "symbol", "method": "symbol", "methods": "symbol",
    "symbol": "symbol", "symbols": "symbol", "defined": "symbol", "definition": "symbol",
    "folder": "folder", "folders": "folder", "directory": "folder", "directories": "folder",
}

_SUFFIXES = ("ations", "ation", "ings", "ing", "ies", "ers", "er", "edly", "ed", "es", "ly",
             "s")


def identifier_parts(token: str) -> list[str]:
    """``JSONProvider`` -> [json, provider]; ``load_json2`` -> [load, json, 2]; lower case."""
    return list(_parts(token))


@lru_cache(maxsize=1 << 16)
def _parts(token: str) -> tuple[str, ...]:
    return tuple(p.lower() for part in token.split("_") for p in _PARTS.findall(part) if p)


def tokens(text: str) -> list[str]:
    """The words of ``text`` as typed (snake_case and camelCase kept whole), in order."""
    return _TOKEN.findall(text)


def index_words(*texts: str | None) -> str:
    """What an index holds for identifiers: each token lower-cased and, when it is a
    compound (camelCase, snake_case), its parts too."""
    out: list[str] = []
    for text in texts:
        for tok in tokens(text or ""):
            parts = identifier_parts(tok)
            out.append(tok.lower())
            if len(parts) > 1:
                out += parts
    return " ".join(out)


@lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """A light suffix stripper: routing, routes and route -> rout; providers -> provid.
    Consistent rather than correct: it only decides whether two words are one."""
    w = word.lower()
    for _ in range(2):  # registered -> register -> regist, as register -> regist
        for suffix in _SUFFIXES:
            if w.endswith(suffix) and len(w) - len(suffix) >= 3:
                w = w[: -len(suffix)]
                break
        else:
            break
    return w[:-1] if w.endswith("e") and len(w) > 4 else w


def query_terms(query: str) -> tuple[list[str], set[str]]:
    """The words worth searching for in ``query`` (lower case, stop words dropped, kind hints
    too unless nothing else is left, compounds followed by their parts) and the kinds of
    answer it hints at. A query of stop words only has no terms."""
    typed = tokens(query)
    hints = {KIND_HINTS[t.lower()] for t in typed if t.lower() in KIND_HINTS}
    kept = [t for t in typed if t.lower() not in STOP_WORDS and t.lower() not in KIND_HINTS]
    if not kept:  # "decisions": the hint is the word; only stop words: nothing to look for
        kept = [t for t in typed if t.lower() not in STOP_WORDS]
    terms: list[str] = []
    for tok in kept:
        for w in [tok.lower(), *identifier_parts(tok)]:
            if w not in terms and w not in STOP_WORDS:
                terms.append(w)
    return terms, hints


def matched(terms: list[str], text: str, prefixes: frozenset[str] = frozenset()) -> set[str]:
    """Which of ``terms`` a word of ``text`` answers (same stem, or a prefix term's prefix)."""
    stems = {stem(t): t for t in terms}
    found: set[str] = set()
    for tok in set(tokens(text)):
        for w in {tok.lower(), *_parts(tok)}:
            t = stems.get(stem(w))
            if t is not None:
                found.add(t)
            for p in prefixes:
                if w.startswith(p):
                    found.add(p)
    return found
