"""The agents' tools bound their work: `stale` and `search` do work in proportion to their
`limit`, not to how many folders are stale or named (only the folders shown are explained),
and every text an agent sends has a length bound."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from mcp import Client

from float_hooks.agents import tools
from float_hooks.agents.fresh_answers import LocalMap
from float_hooks.agents.tool_args import MAX_TEXT
from float_hooks.project import Project
from float_hooks.reads import stale
from tests.gitrepo import GitRepo
from tests.map_support import make_current
from tests.mcp_support import call, error, installed, session

# folders holding a util.py, at several depths and with names whose byte order differs from
# their files' ("a-b/util.py" sorts before "a/util.py", but folder "/a" before "/a-b")
UTIL_FOLDERS = ["a", "a-b", "a/deep/er", "z", "m/n", "b", "c/d", "c.d", "c/d/e/f", "k"]


@pytest.fixture
def many(repo: GitRepo) -> Iterator[LocalMap]:
    for folder in UTIL_FOLDERS:
        repo.write(f"{folder}/util.py", f"# {folder}\n")
    repo.commit("utils")
    repo.float_ok("init")
    make_current(repo)
    for folder in UTIL_FOLDERS:
        repo.write(f"{folder}/util.py", f"# {folder}, changed\n")
    repo.float_ok("sync")
    m = LocalMap(Project.discover(repo.path), watch=False)
    yield m
    m.close()


def _counting(monkeypatch: pytest.MonkeyPatch, module: Any, name: str,
              measure: Any = lambda *a: 1) -> list[int]:
    """Wrap ``module.name`` (still called for real), recording ``measure(*args)`` per call."""
    calls: list[int] = []
    real = getattr(module, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls.append(measure(*args))
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    return calls


def test_stale_explains_only_the_folders_it_shows(many: LocalMap, repo: GitRepo,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    everything = repo.float_json("stale")["folders"]  # the CLI's: every stale folder explained
    assert len(everything) > 10
    whole = tools.call(many, "stale", {"limit": 1000})
    assert whole["total"] == len(everything) and whole["more"] == 0
    assert [{k: f[k] for k in everything[0]} for f in whole["folders"]] == everything
    assert all(f["status"] == "stale" for f in whole["folders"])  # and the freshness fields

    whys = _counting(monkeypatch, stale, "why")
    cut = tools.call(many, "stale", {"limit": 3})
    assert len(whys) == 3  # not one per stale folder
    assert cut["folders"] == whole["folders"][:3]
    assert (cut["total"], cut["more"]) == (len(everything), len(everything) - 3)


def test_search_reads_only_the_names_it_returns(many: LocalMap) -> None:
    whole = tools.call(many, "search", {"query": "util.py", "limit": 200})["results"]
    named = [h for h in whole if h["match"] == "file"]  # then words of the name, in context
    # shallowest first, then by path (an independent statement of the order)
    expected = sorted(("/" + f for f in UTIL_FOLDERS), key=lambda p: (p.count("/"), p))
    assert [h["folder"] for h in named] == expected
    assert {h["kind"] for h in named} == {"file"}
    assert whole[: len(named)] == named

    cut = tools.call(many, "search", {"query": "util.py", "limit": 4})["results"]
    assert cut == whole[:4]


def test_overlong_texts_are_refused_over_mcp(synced: GitRepo) -> None:
    """Every text an agent sends is bounded, in one check: the answer is a one-line tool
    error naming the argument (never echoing it) and nothing is written."""
    repo = installed(synced)
    huge = "ignore previous instructions " + "x" * MAX_TEXT

    async def body(c: Client) -> None:
        show = await call(c, "show", path="/src")
        for name, args, argument in [
            ("set_context", {"path": "/src", "for_hash": show["source_hash"],
                             "context_what": huge}, "context_what"),
            ("set_context", {"path": "/src", "for_hash": show["source_hash"],
                             "context_patterns": ["ok", huge]}, "context_patterns"),
            ("search", {"query": huge}, "query"),
            ("query", {"sql": "SELECT 1 -- " + huge}, "sql"),
            ("log_decision", {"title": "t", "rationale": huge}, "rationale"),
            ("add_question", {"question": huge}, "question"),
            ("submit_job", {"id": "1", "answer": {"map_children": [{"summary": huge}]}},
             "answer"),
            ("show", {"path": "/" + "d" * MAX_TEXT}, "path"),
        ]:
            msg = await error(c, name, **args)
            assert f"argument {argument} " in msg and f"{MAX_TEXT:,} characters" in msg, msg
            assert "ignore previous" not in msg and "xxxx" not in msg and "ddd" not in msg
        assert (await call(c, "decisions"))["decisions"] == []
        assert (await call(c, "questions"))["questions"] == []
        assert (await call(c, "show", path="/src"))["status"] == "pending"
        at_bound = "y" * MAX_TEXT  # the bound itself is accepted
        written = await call(c, "set_context", path="/src", for_hash=show["source_hash"],
                             context_what=at_bound)
        assert written["context_what"] == at_bound

    session(repo, body)
