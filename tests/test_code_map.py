"""The map says what code does: outlines cached by blob id (a second outline parses nothing,
a changed blob only), the builtin regenerator's summaries from definitions and from the
content of folders without code, and the CLI's `outline` and `where`."""

from __future__ import annotations

import sqlite3

from float_hooks.code.cache import outlines
from float_hooks.map.build import open_built
from float_hooks.project import Project
from tests.code_support import flask_like
from tests.gitrepo import GitRepo
from tests.regen_support import folder

FRESHNESS = {"status", "source_hash", "context_hash", "context_commit"}


def _entries(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in conn.execute("SELECT path, content_hash FROM files")]


def test_outlines_are_cached_by_blob_and_only_new_blobs_are_parsed(repo: GitRepo) -> None:
    flask_like(repo)
    project = Project.discover(repo.path)
    store = open_built(project)
    try:
        first = outlines(store.conn, project.git, _entries(store.conn))
        assert len(first.parsed) == 6  # the six Python files; yml, md and rst are not code
        assert [s.name for s in first.by_path["/src/flask/app.py"].symbols] == [
            "Flask", "__init__", "add_url_rule", "wsgi_app", "_find_error_handler"]
        again = outlines(store.conn, project.git, _entries(store.conn))
        assert again.parsed == []  # every blob was seen: nothing parsed
        assert again.by_path == first.by_path
    finally:
        store.close()

    repo.write("src/flask/config.py", "class Config(dict):\n    def from_file(self): ...\n")
    repo.commit("config changed")
    repo.float_ok("sync")
    store = open_built(project)
    try:
        blob = store.conn.execute("SELECT content_hash FROM files WHERE path = ?",
                                  ("/src/flask/config.py",)).fetchone()[0]
        third = outlines(store.conn, project.git, _entries(store.conn))
        assert third.parsed == [blob]  # the changed blob only
        config = third.by_path["/src/flask/config.py"].symbols
        assert [(s.name, s.parent) for s in config] == [("Config", None),
                                                         ("from_file", "Config")]
        # symbols hash their own text: the unchanged class header's method is new, the class
        # changed (its text did), the other files' symbols kept their hashes
        assert config[0].hash != first.by_path["/src/flask/config.py"].symbols[0].hash
        assert third.by_path["/src/flask/app.py"] == first.by_path["/src/flask/app.py"]
        # derived facts: dropped, they are computed again, the same
        store.conn.execute("DELETE FROM outline_symbols")
        store.conn.execute("DELETE FROM outline_blobs")
        rebuilt = outlines(store.conn, project.git, _entries(store.conn))
        assert len(rebuilt.parsed) == 6 and rebuilt.by_path == third.by_path
    finally:
        store.close()


def test_builtin_says_what_code_does(repo: GitRepo) -> None:
    flask_like(repo)
    r = repo.float_json("regenerate")
    assert r["failed"] == [] and r["remaining"] == 0
    pkg = folder(repo, "/src/flask")
    summary = pkg["map_summary"]
    assert summary.startswith("Defines ") and summary.endswith("(Python)")
    for name in ("Flask", "Blueprint", "Config", "Scaffold"):
        assert name in summary
    assert "Contains" not in summary
    children = {c["name"]: c["summary"] for c in pkg["map_children"]}
    assert children["app.py"] == "Defines Flask, Flask.add_url_rule, Flask.wsgi_app."
    assert children["config.py"].startswith("Defines Config")
    what = pkg["context_what"]
    assert "Flask (class, app.py): The flask object implements a WSGI application and acts" \
        " as the central object" in what
    assert "Blueprint (class, blueprints.py): Represents a blueprint" in what

    flows = folder(repo, "/.github/workflows")["map_summary"]
    assert flows == "Workflows: CI (jobs: test, lint); Release (jobs: publish)"
    assert folder(repo, "/docs")["map_summary"] == "Installation; Quickstart"
    assert folder(repo, "/src")["map_summary"].startswith("flask: Defines ")  # its child's


def test_outline_and_where_on_the_command_line(repo: GitRepo) -> None:
    flask_like(repo)
    app = repo.float_json("outline", "src/flask/app.py")
    assert app["kind"] == "file" and app["outlined"] and app["more"] == 0
    assert set(app["folder"]) >= FRESHNESS | {"path"} and app["folder"]["status"] == "pending"
    assert app["commit"] == repo.head()
    first = app["symbols"][0]
    assert (first["kind"], first["name"], first["line"], first["signature"]) == (
        "class", "Flask", 5, "class Flask(Scaffold)")
    assert first["public"] and len(first["hash"]) == 16

    pkg = repo.float_json("outline", "src/flask", "--limit", "3")
    assert pkg["kind"] == "folder" and pkg["more"] > 0
    assert sum(len(f["symbols"]) for f in pkg["files"]) == 3
    ranked = [f["path"] for f in pkg["files"]]
    assert ranked.index("/src/flask/scaffold.py") < ranked.index("/src/flask/sessions.py")
    assert "/src/flask/__init__.py" not in ranked  # it defines nothing

    text = repo.float_ok("outline", "src/flask/app.py").out
    assert "L5 class Flask(Scaffold) -- The flask object implements a WSGI application" in text

    where = repo.float_json("where", "Flask.add_url_rule")
    assert where["total"] == 1
    place = where["places"][0]
    assert (place["path"], place["line"], place["kind"]) == ("/src/flask/app.py", 14, "method")
    assert set(place["folder"]) >= FRESHNESS
    routes = repo.float_json("where", "route")
    assert [p["path"] for p in routes["places"]] == ["/src/flask/scaffold.py"]
    assert repo.float_json("where", "nothing_like_this")["places"] == []
    inside = repo.float_ok("--repo", str(repo.path / "src"), "where", "Config").out
    assert inside.startswith("/src/flask/config.py:1  class class Config(dict)")
    assert repo.float_error("outline", "no/such/file.py").startswith("float-hooks: ")
