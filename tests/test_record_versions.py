"""A record's version is a digest of its content that every machine and every release of
float-hooks must compute alike (record_format.py): a different digest for the same content
would read as a concurrent edit, a conflict, on the next merge. The values here were computed
by the code that shipped (json.dumps with sort_keys, ensure_ascii=False, compact separators,
default=str); a change to how the text is produced must keep them. The same for a journal
line, which older releases read back."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from float_hooks.store import journal_format, record_format

CASES: list[tuple[dict[str, Any], str]] = [
    # key, version and parents are not content; None values are left out
    ({"path": "/src/api", "map_summary": "HTTP handlers", "context_what": "what\nin two lines",
      "uid": "u1", "version": "x", "parents": ["a"], "ai_model": None}, "0fd050f78fa48a92"),
    # non-ASCII kept as is, keys sorted, lists, ints and booleans
    ({"map_summary": "naïve café ✓ 日本", "context_patterns": ["repository", "DI"], "z": 3,
      "a": True, "b": None}, "59d30eda8157720e"),
    # a lone surrogate (surrogatepass), a value JSON has no form for (default=str), a float
    ({"map_summary": "lone \udc80 surrogate", "when": datetime.date(2026, 12, 7), "n": -12,
      "f": 1.5}, "39f935fe1ad30396"),
    ({}, "44136fa355b3678a"),
]


@pytest.mark.parametrize(("record", "expected"), CASES)
def test_a_records_version_is_the_shipped_digest(record: dict[str, Any], expected: str) -> None:
    assert record_format.version(record) == expected
    assert record_format.version(dict(reversed(list(record.items())))) == expected


def test_a_journal_line_is_written_as_shipped() -> None:
    entry = {"kind": "folder", "key": "/src",
             "record": {"map_summary": "café", "parents": ["b", "a"], "z": None}}
    line = journal_format.line(entry)
    assert line == ('{"sum":"4038a12b","key":"/src","kind":"folder","record":'
                    '{"map_summary":"café","parents":["b","a"],"z":null}}\n')
    assert journal_format.verified(line.encode("utf-8")) == entry
