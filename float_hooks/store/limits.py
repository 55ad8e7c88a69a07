"""What an authored field may hold: its JSON type and a bound on every text in it. The one
check every writer shares (the CLI, the agents' tools, the webhook's API): what passes it
fits on an export page that ``import`` takes back (frontmatter.MAX_PAGE_BYTES)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from float_hooks.errors import FloatError

# characters of any one text (a field, an array item, a value inside an object): ample for a
# paragraph of context or a query, and a folder's page of several such fields stays under
# the 2 MiB a committed export page may hold
MAX_TEXT = 64 * 1024

TEXT, TEXTS, OBJECTS = "a string", "an array of strings", "an array of objects"
KINDS: dict[str, str] = {
    # folder context
    "map_summary": TEXT, "context_what": TEXT, "context_why": TEXT,
    "context_patterns": TEXTS, "map_children": OBJECTS, "ai_model": TEXT,
    "context_hash": TEXT,
    # decisions
    "title": TEXT, "decision": TEXT, "rationale": TEXT, "before_state": TEXT,
    "after_state": TEXT, "future_agent": TEXT, "topic": TEXT, "status": TEXT, "date": TEXT,
    "folder_path": TEXT, "supersedes": TEXT, "files_changed": TEXTS, "tags": TEXTS,
    # questions and references
    "question": TEXT, "context": TEXT, "resolved_by": TEXT, "source_id": TEXT,
    "target_id": TEXT,
    # anchors, on every kind of record
    "anchors": OBJECTS,
}
_ITEM = {TEXTS: str, OBJECTS: dict}


def check(fields: Mapping[str, Any], names: Mapping[str, str] | None = None) -> None:
    """Refuse (one line naming the field, by ``names`` if given, never its value) a field of
    the wrong JSON type or with a text longer than :data:`MAX_TEXT`. None is no value."""
    for field, value in fields.items():
        kind = KINDS.get(field)
        if kind is None or value is None:
            continue
        name = (names or {}).get(field, field)
        if kind == TEXT:
            ok = isinstance(value, str)
        else:
            ok = isinstance(value, list) and all(isinstance(v, _ITEM[kind]) for v in value)
        if not ok:
            raise FloatError(f"{name} must be {kind}")
        if longest_text(value) > MAX_TEXT:
            raise FloatError(f"{name} " + ("is" if isinstance(value, str) else "holds a text")
                             + f" longer than {MAX_TEXT:,} characters; write less")


def longest_text(value: Any) -> int:
    """The length of the longest string in ``value`` (JSON: nested arrays and objects, keys
    too), without recursion: a deeply nested value cannot exhaust the stack."""
    longest, todo = 0, [value]
    while todo:
        v = todo.pop()
        if isinstance(v, str):
            longest = max(longest, len(v))
        elif isinstance(v, list):
            todo += v
        elif isinstance(v, dict):
            todo += v.keys()
            todo += v.values()
    return longest
