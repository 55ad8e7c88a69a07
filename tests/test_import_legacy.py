from __future__ import annotations

from pathlib import Path

import pytest

from float_hooks.errors import FloatError
from float_hooks.pages import legacy
from tests.gitrepo import GitRepo

FULL = """\
# Use SQLite for the index

**Date:** 2025-11-03
**Status:** Accepted
**Tags:** storage, #db

## Decision

Keep everything in one SQLite file, `.float/index.db`.

## Rationale

- one file, no server
- WAL gives concurrent readers

## Before

Markdown files per folder, rewritten on every run.

## After

A DB plus a generated export.

## Files Changed

- `float_hooks/store/db.py`
- float_hooks/store/schema.py

## Future Agent

Do not add a second store.
"""

ODD = """\
Some preamble the author wrote before anything else.

# Drop the v1 token format
Date: 2026-01-20
Status: superseded
Owner: sam

## Decision
Tokens are v2 only.

## Alternatives considered
1. keep both
2. convert on read

```
## not a heading, inside a fence
```

## Files changed
- `src/auth/tokens.py`
Also the migration script (not committed).

## Rationale
Security review.

## Rationale
A second rationale section.
"""

BARE = "Just a note, no headings at all.\n"


@pytest.fixture
def decisions(tmp_path: Path) -> Path:
    d = tmp_path / "decisions"
    d.mkdir()
    (d / "2025-11-03-sqlite-index.md").write_text(FULL)
    (d / "2026-01-20-drop-v1-tokens.md").write_text(ODD.replace("\n", "\r\n"))
    (d / "2024-02-29-leap-note.md").write_text(BARE)
    return d


def test_full_file_maps_every_section() -> None:
    rec = legacy.parse("2025-11-03-sqlite-index.md", FULL)
    assert rec["title"] == "Use SQLite for the index"
    # "Accepted" is the seed's locked; the status as written stays in the text
    assert rec["date"] == "2025-11-03" and rec["status"] == "locked"
    assert rec["topic"] == "sqlite-index"
    assert rec["tags"] == ["db", "storage"]
    assert rec["decision"] == "Keep everything in one SQLite file, `.float/index.db`."
    assert rec["rationale"] == ("- one file, no server\n- WAL gives concurrent readers\n\n"
                                "**Status:** Accepted")
    assert rec["before_state"].startswith("Markdown files per folder")
    assert rec["after_state"] == "A DB plus a generated export."
    assert rec["files_changed"] == ["float_hooks/store/db.py", "float_hooks/store/schema.py"]
    assert rec["future_agent"] == "Do not add a second store."


def test_odd_file_loses_nothing() -> None:
    rec = legacy.parse("2026-01-20-drop-v1-tokens.md", ODD.replace("\n", "\r\n"))
    assert rec["title"] == "Drop the v1 token format"
    assert rec["status"] == "superseded" and rec["date"] == "2026-01-20"
    assert rec["decision"] == "Tokens are v2 only."
    assert rec["files_changed"] == ["src/auth/tokens.py"]
    kept = rec["rationale"]
    assert kept.startswith("Security review.\n\nA second rationale section.")
    for piece in ("Some preamble the author wrote", "Owner: sam", "## Alternatives considered",
                  "2. convert on read", "## not a heading, inside a fence",
                  "## Files changed\n\nAlso the migration script (not committed)."):
        assert piece in kept, piece
    # every line of the file, but the headings of mapped sections, is in the record
    text = " ".join(str(v) for v in rec.values())
    for line in ODD.splitlines():
        if line in ("## Decision", "## Rationale", "## Files changed"):
            continue
        words = line.strip().lstrip("#-*0123456789. ").replace("`", "")
        for meta in ("Date: ", "Status: "):
            words = words.replace(meta, "")
        assert words in text, line


def test_no_date_anywhere_is_an_error() -> None:
    with pytest.raises(FloatError, match="no date"):
        legacy.parse("notes.md", "# Title\n")


def test_import_legacy_command_is_idempotent(synced: GitRepo, decisions: Path) -> None:
    keys = ("files", "added", "updated", "unchanged")
    res = synced.float_json("import", "--legacy", str(decisions))
    assert {k: res[k] for k in keys} == {"files": 3, "added": 3, "updated": 0, "unchanged": 0}
    again = synced.float_json("import", "--legacy", str(decisions))
    assert {k: again[k] for k in keys} == \
        {"files": 3, "added": 0, "updated": 0, "unchanged": 3}
    entries = {e["date"]: e for e in synced.float_json("log", "list")}
    assert entries["2024-02-29"]["title"] == "leap note"
    assert entries["2024-02-29"]["rationale"] == "Just a note, no headings at all."
    assert entries["2025-11-03"]["tags"] == ["db", "storage"]
    assert [e["title"] for e in synced.float_json("log", "list", "--tag", "storage")] == \
        ["Use SQLite for the index"]
    # and they travel through the export like any decision
    synced.float_ok("export")
    assert (synced.path / ".float/project/_log/2024/02-feb.md").is_file()
