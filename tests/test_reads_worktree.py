"""Issue 24: every read sees the work tree. `show`, `why`, `stale`, `search` and `brief` sync
it first (about a `git status`), so an edit not yet committed, nor synced, is in every answer,
with the same freshness fields as the MCP tools'; a map that cannot be synced says so and how
many files changed. Lists are bounded: `show` pages, `decisions` takes a limit. The brief
carries the project, each part in its own share, whatever the stale list holds."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator

import pytest

from float_hooks.agents import fresh_answers, tools
from float_hooks.agents.fresh_answers import LocalMap
from float_hooks.commands._reads import CliMap
from float_hooks.errors import FloatError
from float_hooks.project import Project
from tests.gitrepo import GitRepo
from tests.map_support import make_current

FRESHNESS = {"snapshot", "head", "synced_at", "unsynced_changes", "watching"}


def test_an_uncommitted_edit_is_in_every_read(synced: GitRepo) -> None:
    make_current(synced)
    synced.float_ok("set", "/src", "--summary", "The application source")
    assert synced.float_json("show", "/src")["status"] == "current"
    synced.write("src/app.py", "edited, not committed, not synced\n")

    shown = synced.float_json("show", "/src")
    assert shown["status"] == "stale" and set(shown["freshness"]) >= FRESHNESS
    assert "[stale]" in synced.float_ok("show", "/src").out
    why = synced.float_json("why", "/src")
    assert [c["path"] for c in why["changed_files"]] == ["/src/app.py"]
    assert why["freshness"]["unsynced_changes"] is False
    assert "modified /src/app.py" in synced.float_ok("why", "/src").out
    stale = synced.float_json("stale")
    assert "/src" in [f["path"] for f in stale["folders"]] and set(
        stale["freshness"]) >= FRESHNESS
    hits = synced.float_json("search", "application source")
    hit = next(h for h in hits["results"] if h["id"] == "/src")
    assert hit["status"] == "stale" and hit["changed_files"] == ["/src/app.py"]
    brief = synced.float_ok("brief").out
    assert "/src: 1 files changed (app.py)" in brief
    assert json.loads(synced.float_ok("brief", "--json").out)["freshness"][
        "unsynced_changes"] is False


def test_a_map_that_cannot_sync_says_how_far_behind_it_is(
        synced: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    make_current(synced)
    synced.write("src/app.py", "edited\n")
    synced.write("docs/new.md", "new\n")

    def locked(project: Project) -> None:
        raise FloatError("the map is locked by another process")

    monkeypatch.setattr(fresh_answers, "sync_once", locked)
    m = CliMap(Project.discover(synced.path))
    try:
        m.sync()
        shown = tools.call(m, "show", {"path": "/src"})
    finally:
        m.close()
    fresh = shown["freshness"]
    assert fresh["unsynced_changes"] is True and fresh["changed_files"] == 2
    assert fresh["changed_folders"] == ["/docs", "/src"]
    assert "locked" in fresh["note"] and "2 files differ from HEAD" in fresh["note"]
    assert shown["status"] == "current"  # what the map holds, said to be behind


@pytest.fixture
def local(synced: GitRepo) -> Iterator[LocalMap]:
    m = LocalMap(Project.discover(synced.path), watch=False)
    yield m
    m.close()


def test_show_pages_a_big_folder(synced: GitRepo) -> None:
    for i in range(30):
        synced.write(f"big/f{i:02d}.txt", f"{i}\n")
    synced.write("big/sub/x.txt", "x\n")
    first = synced.float_json("show", "/big", "--limit", "10")
    assert first["children_total"] == 31 and len(first["children"]) == 10
    assert first["children"][0]["name"] == "sub" and first["more"]["children"] == 21
    rest = synced.float_json("show", "/big", "--limit", "100", "--offset", "10")
    names = [c["name"] for c in first["children"] + rest["children"]]
    assert names == ["sub"] + [f"f{i:02d}.txt" for i in range(30)]
    assert rest["more"]["children"] == 0
    assert "--offset 10" in synced.float_ok("show", "/big", "--limit", "10").out


def test_decisions_take_a_limit_and_a_size_cap(synced: GitRepo, local: LocalMap) -> None:
    for i in range(6):
        synced.float_ok("log", "add", "--title", f"Decision {i}", "--date", f"2026-01-0{i + 1}",
                        "--rationale", "r" * 30_000)
    got = tools.call(local, "decisions", {"limit": 3})
    assert got["total"] == 6 and got["more"] == 4  # 64 KiB hold two of these
    assert [d["title"] for d in got["decisions"]] == ["Decision 5", "Decision 4"]
    assert len(json.dumps(got)) < 70_000
    small = tools.call(local, "questions", {"limit": 1})
    assert small["total"] == 0 and small["questions"] == []


def test_the_brief_keeps_each_part_with_thousands_stale(repo: GitRepo) -> None:
    repo.write("README.md", "# Shop\n")
    repo.write("cmd/shop/main.go", "package main\n")
    for i in range(2000):
        repo.write(f"pkg/m{i:04d}/mod.py", f"X = {i}\n")
    repo.commit("shop")
    repo.float_ok("init")
    with sqlite3.connect(repo.path / ".float" / "index.db") as db:
        db.execute("UPDATE folders SET map_summary = 'a module', context_hash = source_hash")
        db.execute("UPDATE folders SET map_summary = 'Shop: sells things online'"
                   " WHERE path = '/'")
        db.execute("UPDATE folders SET map_summary = 'Command-line programs'"
                   " WHERE path = '/cmd'")
    for i in range(2000):
        repo.write(f"pkg/m{i:04d}/mod.py", f"X = {i + 1}\n")  # not committed: every read sees it
    for i in range(30):
        repo.float_ok("log", "add", "--title", f"Decision number {i}", "--date", "2026-01-01")
    repo.float_ok("question", "add", "Why so many modules?")
    text = repo.float_ok("brief").out
    assert len(text) <= 10_000
    assert "Shop: sells things online" in text and "- /cmd: Command-line programs" in text
    assert "/README.md" in text and "/cmd/shop/main.go" in text  # the entry points
    assert "## Stale folders (2002;" in text and "/pkg/m0000: 1 files changed" in text
    assert "Decision number 29" in text and "Why so many modules?" in text
    assert text.index("## The project") < text.index("## Stale") < text.index("## Recent")
    data = json.loads(repo.float_ok("brief", "--json").out)
    assert data["root"]["summary"] == "Shop: sells things online"
    assert [f["path"] for f in data["top_folders"]] == ["/cmd", "/pkg"]
    assert data["stale_total"] == 2002 and 0 < data["stale_shown"] < 2002
