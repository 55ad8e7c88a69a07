"""Reading back the front matter float-hooks writes itself, without a general YAML parse.

``frontmatter.block_yaml`` writes a page's front matter in one exact form (block mappings and
lists, plain, single-quoted and literal scalars, PyYAML's folding). :func:`load` reads that
form line by line and returns the data, or None at the first thing it does not expect. It is
never trusted alone: frontmatter.parse takes its data only if ``block_yaml`` writes it back to
the very same text, so the result is what the safe reader (safe_yaml.py) would give, and a page
that deviates in the slightest (hand-edited, another writer, hostile) goes to the safe reader
with all its rules. tests/test_own_yaml.py checks both readers agree on the writer's output and
on mutations of it.
"""

from __future__ import annotations

import re
from typing import Any

MAX_DEPTH = 8  # pages nest 4 deep (a conflict's record's anchors); deeper: the safe reader
MAX_INT_CHARS = 19  # what block_yaml writes for an int the safe reader takes (|n| < 2**63)
_INT = re.compile(r"-?(0|[1-9][0-9]*)\Z")
_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_]*):( |\Z)")


class _Decline(Exception):
    """Not the writer's form: the safe reader reads it."""


def load(source: str) -> dict[str, Any] | None:
    """The mapping in ``source`` if it looks written by block_yaml, else None (unverified:
    the caller checks that block_yaml writes it back identically)."""
    if not source.endswith("\n"):
        return None
    lines = source[:-1].split("\n")
    try:
        data, pos = _mapping(lines, 0, 0, None, 0)
    except (_Decline, IndexError, ValueError):
        return None
    return data if pos == len(lines) else None


def _mapping(lines: list[str], pos: int, indent: int, first: str | None,
             depth: int) -> tuple[dict[str, Any], int]:
    """A block mapping whose keys are at column ``indent``; ``first``: its first line's text
    after a list item's "- " (an inline mapping), or None."""
    if depth > MAX_DEPTH:
        raise _Decline
    out: dict[str, Any] = {}
    pad = " " * indent
    n = len(lines)
    while pos < n:
        if first is not None:
            m = _KEY.match(first)
            line, start, first = first, 0, None
        else:
            line = lines[pos]
            m = _KEY.match(line, indent) if line.startswith(pad) else None
            if m is None:
                if not out or (line.startswith(pad) and line[indent:indent + 1] != "-"):
                    raise _Decline  # a line this mapping's keys cannot end on
                break
            start = indent
        if m is None:
            raise _Decline
        key = m.group(1)
        if key in out:
            raise _Decline
        pos += 1
        if m.end() - start == len(key) + 1 and m.end() == len(line):  # "key:" at the end
            if pos < n and lines[pos].startswith(pad + "- "):
                out[key], pos = _sequence(lines, pos, indent, depth + 1)
            else:
                out[key], pos = _mapping(lines, pos, indent + 2, None, depth + 1)
        else:
            rest = line[m.end():]
            if rest == "[]":
                out[key] = []
            else:
                out[key], pos = _scalar(lines, pos, rest, indent + 2)
    if not out:
        raise _Decline
    return out, pos


def _sequence(lines: list[str], pos: int, indent: int, depth: int) -> tuple[list[Any], int]:
    items: list[Any] = []
    head = " " * indent + "- "
    while pos < len(lines) and lines[pos].startswith(head):
        rest = lines[pos][len(head):]
        m = _KEY.match(rest)
        if m is not None:
            item, pos = _mapping(lines, pos, indent + 2, rest, depth + 1)
        else:
            item, pos = _scalar(lines, pos + 1, rest, indent + 2)
        items.append(item)
    return items, pos


def _scalar(lines: list[str], pos: int, text: str, indent: int) -> tuple[Any, int]:
    """The scalar starting with ``text`` (its line already consumed); continuation lines at
    column ``indent``."""
    if text[0] == "|":
        return _literal(lines, pos, text, indent)
    pad = " " * indent
    parts = [text]
    while pos < len(lines) and lines[pos].startswith(pad) \
            and lines[pos][indent:indent + 1] not in (" ", ""):
        parts.append(lines[pos][indent:])
        pos += 1
    joined = " ".join(parts)  # block_yaml folds only at a single space
    if joined[0] == "'":
        if len(joined) < 2 or joined[-1] != "'":
            raise _Decline
        return joined[1:-1].replace("''", "'"), pos
    if len(parts) == 1:
        if text == "null":
            return None, pos
        if text == "true":
            return True, pos
        if text == "false":
            return False, pos
        if _INT.match(text):
            if len(text.lstrip("-")) > MAX_INT_CHARS or abs(int(text)) >= 1 << 63:
                raise _Decline  # the safe reader says why it refuses it
            return int(text), pos
    return joined, pos  # plain text (block_yaml wrote it plain only if YAML reads text)


def _literal(lines: list[str], pos: int, header: str, indent: int) -> tuple[str, int]:
    if header not in ("|", "|-", "|2", "|2-"):
        raise _Decline
    pad = " " * indent
    body: list[str] = []
    while pos < len(lines) and (lines[pos] == "" or lines[pos].startswith(pad)):
        body.append(lines[pos][indent:])
        pos += 1
    if not body:
        raise _Decline
    text = "\n".join(body)
    return (text if header.endswith("-") else text + "\n"), pos
