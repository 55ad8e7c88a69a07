"""FloatPrompt summary files: ``logs.md`` (all years), ``2026.md`` (a year), ``01-jan.md`` (a
month), or any undated file that aggregates decision files. They are not decisions: the tree
import (legacy_tree.py) reports each in one line and takes from it only the themes, headings
under which it names decision files, as tags of the decisions it names.
"""

from __future__ import annotations

import re

from float_hooks.pages.legacy import _DATED_NAME_RE, _FENCE_RE, _LINK_RE

# a summary by its name: logs.md, LOGS.md, index.md, README.md, 2026.md, 01-jan.md
NAME_RE = re.compile(r"^(?:logs?|index|readme|summary|\d{4}|\d{1,2}-[a-z]{3,9})\.md$", re.I)
# a table row of a month summary: | 2026-01-09 | plugin-architecture | locked | ... |
_ROW_RE = re.compile(r"\|\s*(\d{4}-\d{2}-\d{2})\s*\|\s*`?([A-Za-z0-9][\w-]*)`?\s*\|")
_HEADING_RE = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december")
# headings that organise a summary rather than name a theme
GENERIC = frozenset({
    "decisions", "decision", "months", "month", "themes", "theme", "structure", "how-to-use",
    "summary", "overview", "index", "entries", "entry", "log", "logs", "contents",
    "table-of-contents", "open-questions", "questions", "years", "year", "links", "related",
    "see-also", "notes", "status", "key-decisions", "all-decisions", "recent",
    "recent-decisions", "timeline", "history", "other", "misc", "miscellaneous", "sessions",
    "decision-log", "decision-logs", "locked", "open", "superseded", "archive", "archived",
})
MAX_TAG = 48


def tag_name(heading: str) -> str | None:
    """The tag a theme heading gives (``Plugin Architecture`` -> ``plugin-architecture``), or
    None for a heading that only organises the file (Decisions, a month, a year)."""
    text = _LINK_RE.sub(r"\1", heading).lower()
    slug = re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:MAX_TAG].strip("-")
    if not slug or slug in GENERIC or re.fullmatch(r"\d{4}(-\d{2})?|\d{1,2}-[a-z]{3,9}", slug):
        return None
    first = slug.split("-")[0]
    if first in MONTHS or first in {m[:3] for m in MONTHS}:
        return None
    if re.fullmatch(r"(?:week|session|day|part)-?\d+", slug):
        return None
    return slug


def targets(line: str) -> list[str]:
    """What a line of a summary names: link targets, dated file names, table rows."""
    found = [t for _, t in _LINK_RE.findall(line)]
    if not found:
        found = [n for n in _DATED_NAME_RE.findall(line.replace("`", " "))]
    found += [f"{d}-{topic}" for d, topic in _ROW_RE.findall(line)]
    return found


def themes(text: str) -> list[tuple[str | None, list[str]]]:
    """(theme tag or None, targets named under it), in the file's order."""
    stack: list[tuple[int, str | None]] = []
    out: list[tuple[str | None, list[str]]] = []
    fenced = False
    for line in text.replace("\r\n", "\n").split("\n"):
        if _FENCE_RE.match(line):
            fenced = not fenced
            continue
        if fenced:
            continue
        hm = _HEADING_RE.match(line)
        if hm:
            level = len(hm.group(1))
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, tag_name(hm.group(2)) if level > 1 else None))
            continue
        named = targets(line)
        if named:
            theme = next((t for _, t in reversed(stack) if t), None)
            out.append((theme, named))
    return out


def aggregates(text: str) -> bool:
    """Whether an undated file names other files (so it is a summary, not a broken entry)."""
    return any(t.lower().split("#")[0].endswith(".md") or _DATED_NAME_RE.fullmatch(t)
               for _, named in themes(text) for t in named)
