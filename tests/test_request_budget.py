"""Every AI request shows the code, within one budget: outlines come first (ranked), the
excerpts are spent on what outlines cannot say, a stale folder's request carries the diff of
each changed file, the previous context comes once, and whatever did not fit is named in
``left_out``. The same request is what MCP ``next_job`` hands an agent."""

from __future__ import annotations

import json

from float_hooks.map.build import open_built
from float_hooks.project import Project
from float_hooks.regen.request import build_request
from tests.code_support import flask_like
from tests.gitrepo import GitRepo


def _module(i: int, version: int = 1) -> str:
    funcs = "".join(
        f'\n\ndef handler_{i}_{j}(request, *, retries: int = {version}) -> "Response{j}":\n'
        f'    """Handles request kind {j} of module {i}, retrying as configured."""\n'
        f"    return dispatch_{j}(request)\n" for j in range(25))
    return f'"""Module {i}: request handlers."""\nfrom .core import Base\n{funcs}'


def _request(repo: GitRepo, path: str, tokens: int) -> dict[str, object]:
    project = Project.discover(repo.path)
    store = open_built(project)
    try:
        row = store.conn.execute("SELECT source_hash FROM folders WHERE path = ?",
                                 (path,)).fetchone()
        req = build_request(project.git, store.conn, path, row[0], 24000, tokens)
        return req.as_json()
    finally:
        store.close()


def test_one_budget_for_the_whole_request(repo: GitRepo) -> None:
    for i in range(40):
        repo.write(f"big/handlers_{i:02d}.py", _module(i))
    repo.write("big/README.md", "# Handlers\n\nEvery request kind has a handler.\n")
    repo.write("big/notes.txt", "notes " * 3000)
    for i in range(30):
        repo.write(f"big/sub{i:02d}/x.py", f"X_{i} = {i}\n")
    repo.commit("big folder")
    repo.float_ok("init")
    repo.float_ok("set", "/big", "--what", "Old description. " * 2000, "--why", "Reasons.")
    for i in range(12):
        repo.write(f"big/handlers_{i:02d}.py", _module(i, version=2))
    repo.commit("retry defaults changed")
    repo.float_ok("sync")

    for tokens in (2000, 8000):
        req = _request(repo, "/big", tokens)
        size = len(json.dumps(req))
        assert size <= tokens * 4, (tokens, size)
        keys = list(req)
        assert keys.index("outlines") < keys.index("files")  # the code before any excerpt
        outlines = req["outlines"]
        assert isinstance(outlines, list) and outlines
        first = outlines[0]["symbols"][0]
        assert first.startswith("L5 def handler_") and "-- Handles request kind" in first
        left_out = req["left_out"]
        assert isinstance(left_out, list) and left_out
        assert any("lower-ranked symbols" in x for x in left_out)
        assert any("children" in x for x in left_out)  # 70 children do not fit in 2k
        previous = req["previous"]
        assert isinstance(previous, dict) and previous["context_why"] == "Reasons."
        assert len(previous["context_what"]) < len("Old description. " * 2000)
        assert any("previous context_what" in x for x in left_out)
        changed = req["changed_since"]
        assert isinstance(changed, dict)
        diffs = [c["diff"] for c in changed["changed_files"] if "diff" in c]
        assert diffs and "-def handler_" in diffs[0] and "retries: int = 2" in diffs[0]
        # excerpts are for what outlines do not say: the README, the notes, not the code
        paths = [f["path"] for f in req["files"]]  # type: ignore[union-attr]
        assert not any(p.endswith(".py") for p in paths)
    assert _request(repo, "/big", 8000)["budget_tokens"] == 8000

    small = _request(repo, "/big/sub00", 8000)
    assert small["left_out"] == [] and small["outlines"] == [
        {"path": "/big/sub00/x.py", "language": "python", "symbols": ["L1 X_0 = 0"],
         "more": 0}]


def test_dry_run_estimate_stays_within_the_budget(repo: GitRepo) -> None:
    flask_like(repo)
    for i in range(40):
        repo.write(f"big/handlers_{i:02d}.py", _module(i))
    repo.commit("more")
    repo.float_ok("sync")
    planned = {j["path"]: j for j in repo.float_json("regenerate", "--dry-run")}
    assert planned["/big"]["estimated_tokens"] <= 8000
    real = _request(repo, "/src/flask", 8000)
    est = planned["/src/flask"]["estimated_tokens"]
    assert 0.5 * len(json.dumps(real)) / 4 <= est <= 1.5 * len(json.dumps(real)) / 4


def test_the_budget_holds_whatever_the_previous_context_holds(repo: GitRepo) -> None:
    """Authored context is any size and may be all JSON escapes: the request still fits."""
    for i in range(30):
        repo.write(f"pkg/m{i:02d}.py", _module(i))
    repo.commit("pkg")
    repo.float_ok("init")
    escapes = '"\\\t' * 3000  # each character doubles in JSON
    repo.float_ok("set", "/pkg", "--summary", escapes, "--what", escapes, "--why", escapes)
    for tokens in (1000, 3000):
        req = _request(repo, "/pkg", tokens)
        assert len(json.dumps(req)) <= tokens * 4, tokens
        assert req["outlines"] and req["left_out"]
