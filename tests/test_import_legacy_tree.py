"""A whole FloatPrompt log tree through `float-hooks import --legacy`: summaries, statuses,
folders, open questions, supersession links, tags; idempotence, an edited file, and the
export of the result read back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from float_hooks.pages import legacy
from tests.gitrepo import GitRepo, init_repo, small_tree

# -- the tree ---------------------------------------------------------------------------------
SESSIONS = """\
# Sessions live in the DB

**Date:** 2026-01-05
**Session:** 4
**Status:** Locked -> Implemented (session 4)
**Folders:** `src/auth/`, /docs, missing/dir/

## Decision

Server-side sessions, stored in SQLite.

## Open Questions

- How long does an idle session live?
  - thirty minutes was suggested
- [x] Do we need refresh tokens at all?

## Refined By

- [Token rotation](2026-01-20-token-rotation.md)
"""

SQLITE = """\
# SQLite for storage

**Date:** 2026-01-10
**Status:** LOCKED
**Superseded by:** [JSON storage](../02-feb/2026-02-02-storage-json.md)

## Decision

One SQLite file.

## Files Changed

- `src/app.py` — Created
- float_hooks/gone.py
"""

ROTATION = """\
# Token rotation

**Date:** 2026-01-20
**Status:** Locked (architecture), Open (implementation details)
**Folders:** src/auth/tokens

## Decision

Rotate refresh tokens on every use.

## Supersedes

- The old fixed-lifetime tokens

## Open Questions

- Which clock skew do we tolerate?
"""

CLI = """\
# A CLI layer for agents

**Date:** 2026-01-25
**Status:** Answered (2026-01-03)

## Decision

Agents call a float-db CLI.

## Refined By

- [No CLI](../02-feb/2026-02-10-no-cli.md) replaces this: agents write SQL

## Superseded Decisions

- ~~Ship a float-db CLI~~ (see [No CLI](../02-feb/2026-02-10-no-cli.md))
"""

JSON_STORAGE = """\
# JSON storage

**Date:** 2026-02-02
**Status:** Draft (needs lock before build)
**Folders:** /src

## Decision

Plain JSON files instead of SQLite.
"""

NO_CLI = """\
# No CLI: agents write SQL

**Date:** 2026-02-10
**Status:** In Progress
**Folders:** `docs`

## Decision

Agents use sqlite3 directly; humans run one command.

## Open Questions

1. Do agents need a read-only connection?
2. Who writes the schema docs?
"""

HOOKS = """\
# Exploring git hooks

**Date:** 2025-12-30
**Status:** Exploring
**Folders:** `src/auth/login.py`, ../outside

## Decision

Try a post-commit hook.
"""

REVIEW = """\
# Review before merge

**Date:** 2025-12-31
**Status:** Pending
**Tags:** review

## Files Changed

- `src/auth/tokens/jwt.py`
"""

SUMMARIES = {
    "logs.md": """\
# Logs

Decision logs for the project.

## Hooks

- [Exploring hooks](2025/12-dec/2025-12-30-exploring-hooks.md)

## Years

- [2025](2025/2025.md)
- [2026](2026/2026.md)
""",
    "2025/2025.md": "# 2025\n\n## Months\n\n- [12-dec](12-dec/12-dec.md)\n",
    "2025/12-dec/12-dec.md": """\
# December 2025

## Decisions

| Date | Topic | Status | Summary |
|------|-------|--------|---------|
| 2025-12-30 | exploring-hooks | exploring | hooks |
| 2025-12-31 | pending-review | pending | review |
""",
    "2026/2026.md": """\
# 2026

## Themes

### Storage

- [JSON storage](02-feb/2026-02-02-storage-json.md)

### Tooling

- [No CLI](02-feb/2026-02-10-no-cli.md)
- [CLI layer](01-jan/2026-01-25-cli-layer.md)
- [A file that is not there](01-jan/2026-01-31-nothing.md)

## Months

- [01-jan](01-jan/01-jan.md)
- [02-feb](02-feb/02-feb.md)
""",
    "2026/01-jan/01-jan.md": """\
# January 2026

## Auth

- [Sessions](2026-01-05-auth-sessions.md): sessions in the DB
- [Token rotation](2026-01-20-token-rotation.md)

## Storage

- [SQLite](2026-01-10-storage-sqlite.md)

## Decisions

| Date | Topic | Status | Summary |
|------|-------|--------|---------|
| 2026-01-25 | cli-layer | answered | a CLI |
""",
    "2026/02-feb/02-feb.md": "# February 2026\n\n- 2026-02-02-storage-json\n"
                             "- 2026-02-10-no-cli\n",
}

ENTRIES = {
    "2026/01-jan/2026-01-05-auth-sessions.md": SESSIONS,
    "2026/01-jan/2026-01-10-storage-sqlite.md": SQLITE,
    "2026/01-jan/2026-01-20-token-rotation.md": ROTATION,
    "2026/01-jan/2026-01-25-cli-layer.md": CLI,
    "2026/02-feb/2026-02-02-storage-json.md": JSON_STORAGE,
    "2026/02-feb/2026-02-10-no-cli.md": NO_CLI,
    "2025/12-dec/2025-12-30-exploring-hooks.md": HOOKS,
    "2025/12-dec/2025-12-31-pending-review.md": REVIEW,
}


def write_tree(root: Path) -> Path:
    for rel, text in {**SUMMARIES, **ENTRIES}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "logs")


def q(repo: GitRepo, sql: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = repo.float_json("query", sql)
    return rows


def by_title(repo: GitRepo) -> dict[str, dict[str, Any]]:
    return {e["title"]: e for e in repo.float_json("log", "list")}


def dump(repo: GitRepo) -> dict[str, Any]:
    """Every authored record of the decision log, by uid, without local row ids."""
    logs = {r["uid"]: r for r in q(repo, "SELECT * FROM log_entries")}
    for r in logs.values():
        del r["id"]
    tags = q(repo, "SELECT l.uid, t.name FROM log_entry_tags lt JOIN log_entries l"
                   " ON l.id = lt.log_entry_id JOIN tags t ON t.id = lt.tag_id"
                   " ORDER BY 1, 2")
    questions = {r["uid"]: r for r in q(repo, "SELECT * FROM open_questions")}
    refs = {r["uid"]: r for r in q(repo, 'SELECT * FROM "references"')}
    for table in (questions, refs):
        for r in table.values():
            del r["id"]
    return {"logs": logs, "tags": tags, "questions": questions, "refs": refs}


# -- statuses ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("raw", "status"), [
    ("Locked", "locked"), ("locked", "locked"), ("LOCKED", "locked"),
    ("Locked -> Implemented (session 4)", "locked"),
    ("Locked (architecture), Open (implementation details)", "locked"),
    ("Open (tests pending)", "open"), ("Answered (2026-01-03)", "locked"),
    ("Implemented", "locked"), ("Validated", "locked"), ("Accepted", "locked"),
    ("Draft (needs lock before build)", "open"), ("In Progress", "open"),
    ("in-progress", "open"), ("Exploring", "open"), ("Pending", "open"),
    ("Superseded", "superseded"), ("**Superseded** by 2026-02-01-x", "superseded"),
    ("Something new", "open"), ("", "locked"), (None, "locked"),
])
def test_status_mapping(raw: str | None, status: str) -> None:
    assert legacy.normalise_status(raw) == status


def test_entry_sections_are_read() -> None:
    e = legacy.parse_entry("2026-01-05-auth-sessions.md", SESSIONS)
    assert e.record["status"] == "locked"
    assert "**Status:** Locked -> Implemented (session 4)" in e.record["rationale"]
    assert "**Session:** 4" in e.record["rationale"]
    assert e.folders == ["src/auth/", "/docs", "missing/dir/"]
    assert [(x.question, x.context, x.resolved) for x in e.questions] == [
        ("How long does an idle session live?", "- thirty minutes was suggested", False),
        ("Do we need refresh tokens at all?", None, True)]
    assert [i.targets for i in e.refined_by] == [["2026-01-20-token-rotation.md"]]
    assert not e.refined_by[0].replaces
    sqlite = legacy.parse_entry("2026-01-10-storage-sqlite.md", SQLITE)
    assert sqlite.record["status"] == "superseded"  # the file says so
    assert "**Status:** LOCKED" in sqlite.record["rationale"]
    assert sqlite.record["files_changed"] == ["src/app.py", "float_hooks/gone.py"]
    assert "`src/app.py` — Created" in sqlite.record["rationale"]
    cli = legacy.parse_entry("2026-01-25-cli-layer.md", CLI)
    assert cli.record["status"] == "superseded" and cli.refined_by[0].replaces
    plain = legacy.parse_entry("2026-01-05-x.md", "# X\n**Status:** locked\n")
    assert plain.record["status"] == "locked" and "rationale" not in plain.record


# -- the import ---------------------------------------------------------------------------------
def test_log_tree_imports_whole(synced: GitRepo, logs: Path) -> None:
    res = synced.float_json("import", "--legacy", str(logs))
    assert (res["files"], res["added"], res["errors"]) == (8, 8, [])
    assert len(res["summaries"]) == 6
    assert all("a summary, not a decision" in line for line in res["summaries"])
    assert res["questions"]["added"] == 5 and res["references"]["added"] == 12
    e = by_title(synced)
    # statuses: normalised, the raw one kept in the text
    assert {t: x["status"] for t, x in e.items()} == {
        "Sessions live in the DB": "locked", "SQLite for storage": "superseded",
        "Token rotation": "locked", "A CLI layer for agents": "superseded",
        "JSON storage": "open", "No CLI: agents write SQL": "open",
        "Exploring git hooks": "open", "Review before merge": "open"}
    assert "Answered (2026-01-03)" in e["A CLI layer for agents"]["rationale"]
    # folders: the first folder of the repository, normalised
    assert {t: x["folder_path"] for t, x in e.items()} == {
        "Sessions live in the DB": "/src/auth", "SQLite for storage": "/src",
        "Token rotation": "/src/auth/tokens", "A CLI layer for agents": None,
        "JSON storage": "/src", "No CLI: agents write SQL": "/docs",
        "Exploring git hooks": None, "Review before merge": "/src/auth/tokens"}
    # supersession: a "Superseded by" line, a Refined By item that says it replaces
    sqlite, json_ = e["SQLite for storage"], e["JSON storage"]
    assert (sqlite["superseded_by"], json_["supersedes"]) == (json_["uid"], sqlite["uid"])
    cli, no_cli = e["A CLI layer for agents"], e["No CLI: agents write SQL"]
    assert (cli["superseded_by"], no_cli["supersedes"]) == (no_cli["uid"], cli["uid"])
    # a plain Refined By is a reference; the refined decision stays locked
    sessions, rotation = e["Sessions live in the DB"], e["Token rotation"]
    assert sessions["superseded_by"] is None
    refs = q(synced, 'SELECT source_type, source_id, target_type, target_id, context'
                     ' FROM "references"')
    pairs = {(r["source_type"], r["source_id"], r["target_type"], r["target_id"])
             for r in refs}
    assert ("log", sessions["uid"], "log", rotation["uid"]) in pairs
    assert ("log", cli["uid"], "log", no_cli["uid"]) in pairs  # the struck-through item
    assert ("log", rotation["uid"], "text", "The old fixed-lifetime tokens") in pairs
    assert ("log", sessions["uid"], "folder", "/docs") in pairs
    assert ("log", sessions["uid"], "text", "/missing/dir") in pairs
    hooks = e["Exploring git hooks"]["uid"]
    assert ("log", hooks, "file", "/src/auth/login.py") in pairs
    assert ("log", hooks, "text", "../outside") in pairs
    assert sum(r["source_type"] == "question" for r in refs) == 5
    # tags: the summaries' themes, and a file's own
    assert {t: x["tags"] for t, x in e.items()} == {
        "Sessions live in the DB": ["auth"], "SQLite for storage": ["storage"],
        "Token rotation": ["auth"], "A CLI layer for agents": ["tooling"],
        "JSON storage": ["storage"], "No CLI: agents write SQL": ["tooling"],
        "Exploring git hooks": ["hooks"], "Review before merge": ["review"]}
    assert len(q(synced, "SELECT name FROM tags")) == 5
    # open questions, in the decision's folder
    questions = synced.float_json("question", "list", "--all")
    assert len(questions) == 5
    assert {x["question"]: (x["folder_path"], bool(x.get("resolved_at"))) for x in questions} \
        == {"How long does an idle session live?": ("/src/auth", False),
            "Do we need refresh tokens at all?": ("/src/auth", True),
            "Which clock skew do we tolerate?": ("/src/auth/tokens", False),
            "Do agents need a read-only connection?": ("/docs", False),
            "Who writes the schema docs?": ("/docs", False)}


def test_seed_questions_answered(synced: GitRepo, logs: Path) -> None:
    synced.float_ok("import", "--legacy", str(logs))
    # January's decisions
    assert [x["title"] for x in synced.float_json("log", "list", "--month", "2026-01")] == [
        "Sessions live in the DB", "SQLite for storage", "Token rotation",
        "A CLI layer for agents"]
    # locked decisions (the raw "Locked -> Implemented" and "Locked (architecture), ..." too)
    assert [x["title"] for x in synced.float_json("log", "list", "--status", "locked")] == [
        "Sessions live in the DB", "Token rotation"]
    # decisions per month, with their themes
    rows = q(synced, "SELECT substr(l.date, 1, 7) AS month, t.name AS theme, count(*) AS n"
                     " FROM log_entries l JOIN log_entry_tags lt ON lt.log_entry_id = l.id"
                     " JOIN tags t ON t.id = lt.tag_id GROUP BY 1, 2 ORDER BY 1, 2")
    assert [(r["month"], r["theme"], r["n"]) for r in rows] == [
        ("2025-12", "hooks", 1), ("2025-12", "review", 1), ("2026-01", "auth", 2),
        ("2026-01", "storage", 1), ("2026-01", "tooling", 1), ("2026-02", "storage", 1),
        ("2026-02", "tooling", 1)]
    months = {r["key"]: r["count"] for r in synced.float_json("log", "stats", "--by", "month")}
    assert months == {"2025-12": 2, "2026-01": 4, "2026-02": 2}
    # open questions
    assert len(synced.float_json("question", "list")) == 4
    assert [x["question"] for x in synced.float_json("question", "list", "--folder", "docs")] \
        == ["Do agents need a read-only connection?", "Who writes the schema docs?"]
    # what references a folder
    about = synced.float_json("ref", "list", "--about", "/docs")
    assert [r["source_id"] for r in about] == [by_title(synced)["Sessions live in the DB"]["uid"]]
    assert [x["title"] for x in synced.float_json("log", "list", "--folder", "src/auth")] == [
        "Sessions live in the DB"]
    # what was decided about a topic
    hits = synced.float_json("search", "refresh tokens")["results"]
    # ranked, not every word required (issue 24): the best answers first
    assert next(h["title"] for h in hits if h["kind"] == "decision") == "Token rotation"
    assert next(h["title"] for h in hits if h["kind"] == "question") == \
        "Do we need refresh tokens at all?"
    assert [x["title"] for x in synced.float_json("log", "list", "--tag", "storage")] == [
        "SQLite for storage", "JSON storage"]


def test_reimport_changes_nothing_and_an_edit_updates_its_entry(
        synced: GitRepo, logs: Path) -> None:
    synced.float_ok("import", "--legacy", str(logs))
    before = dump(synced)
    again = synced.float_json("import", "--legacy", str(logs))
    assert (again["added"], again["updated"], again["unchanged"]) == (0, 0, 8)
    assert again["questions"] == {"added": 0, "updated": 0, "unchanged": 5, "archived": 0,
                                  "conflicts": 0}
    assert again["references"]["added"] + again["references"]["updated"] == 0
    assert dump(synced) == before
    # edit one file, title and all: that entry (matched by its file) is updated, nothing else
    path = logs / "2026/02-feb/2026-02-10-no-cli.md"
    path.write_text(NO_CLI.replace("# No CLI: agents write SQL", "# Agents write SQL")
                    .replace("humans run one command", "humans run /float"))
    edited = synced.float_json("import", "--legacy", str(logs))
    assert (edited["added"], edited["updated"], edited["unchanged"], edited["conflicts"]) == \
        (0, 1, 7, 0)
    assert edited["questions"]["added"] + edited["questions"]["updated"] == 0
    after = dump(synced)
    changed = [u for u in after["logs"] if after["logs"][u] != before["logs"][u]]
    assert len(after["logs"]) == 8 and len(changed) == 1
    entry = after["logs"][changed[0]]
    assert entry["title"] == "Agents write SQL" and "/float" in entry["decision"]
    assert entry["supersedes"] == before["logs"][changed[0]]["supersedes"]
    assert {k: v for k, v in after.items() if k != "logs"} == \
        {k: v for k, v in before.items() if k != "logs"}
    assert q(synced, "SELECT count(*) AS n FROM conflicts") == [{"n": 0}]


def test_export_of_the_import_reads_back_losslessly(synced: GitRepo, logs: Path,
                                                    tmp_path: Path) -> None:
    synced.float_ok("import", "--legacy", str(logs))
    synced.float_ok("export")
    original = dump(synced)
    other = small_tree(init_repo(tmp_path / "other"))
    res = other.float_json("import", "--from", str(synced.path / ".float/project"))
    assert res["errors"] == []
    assert dump(other) == original
    # and the export read back into the DB it came from changes nothing
    back = synced.float_json("import")
    for kind in ("decisions", "questions", "references"):
        assert back[kind]["added"] + back[kind]["updated"] == 0, kind
    assert dump(synced) == original
    # importing the log tree again over the read-back export changes nothing either
    again = other.float_json("import", "--legacy", str(logs))
    assert (again["added"], again["updated"]) == (0, 0)
    assert dump(other) == original


def test_a_bad_file_is_one_line_and_the_rest_imports(synced: GitRepo, logs: Path) -> None:
    (logs / "2026/notes.md").write_text("Just a note.\nNo date, no links.\n")
    line = synced.float_error("import", "--legacy", str(logs))
    assert line == ('float-hooks: "2026/notes.md": skipped: no date (a **Date:** line or a'
                    ' YYYY-MM-DD- file name) and not a summary')
    assert len(synced.float_json("log", "list")) == 8
    (logs / "2026/notes.md").unlink()
    (logs / "2026/01-jan/2026-01-30-huge.md").write_text("# Huge\n\n" + "x" * (1 << 20))
    line = synced.float_error("import", "--legacy", str(logs))
    assert line.endswith('"2026/01-jan/2026-01-30-huge.md": skipped: larger than 1 MiB')
    # an undated file that aggregates others is a summary, not an error
    (logs / "2026/01-jan/2026-01-30-huge.md").unlink()
    (logs / "2026/highlights.md").write_text("# Highlights\n\n## Security\n\n"
                                             "- [Rotation](01-jan/2026-01-20-token-rotation.md)\n")
    res = synced.float_json("import", "--legacy", str(logs))
    assert res["errors"] == [] and len(res["summaries"]) == 7
    assert by_title(synced)["Token rotation"]["tags"] == ["auth", "security"]
