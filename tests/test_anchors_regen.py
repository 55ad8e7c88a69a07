"""Regenerators and anchors: the builtin anchors the main definitions it names; a command
regenerator's answer may anchor its claims (one that names nothing is left out), and the next
request lists the previous context's anchors with their states (which claims' code changed)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.gitrepo import GitRepo
from tests.regen_support import configure, script

CODE = '''\
class Store:
    """Keeps rows."""

    def put(self, row):
        return row


def connect(url):
    """Opens a store."""
    return Store()
'''

# Saves the request it is given to argv[1] + ".request", answers argv[1]'s text.
AGENT = """\
import json, sys
request = json.load(sys.stdin)
with open(sys.argv[1] + ".request", "w") as saved:
    json.dump(request, saved)
sys.stdout.write(open(sys.argv[1]).read())
"""


def _repo(repo: GitRepo) -> GitRepo:
    repo.write("pkg/store.py", CODE)
    repo.write("pkg/README.md", "# pkg\n")
    repo.commit("initial")
    repo.float_ok("init")
    return repo


def test_builtin_anchors_what_it_names(repo: GitRepo) -> None:
    _repo(repo)
    repo.float_ok("regenerate", "/pkg")
    shown = repo.float_json("show", "pkg")
    named = {a["anchor"] for a in shown["anchors"]}
    assert {"/pkg/store.py::Store", "/pkg/store.py::connect"} <= named
    assert all(a["kind"] == "symbol" and a["hash"] for a in shown["anchors"])
    assert {s["state"] for s in shown["anchor_states"]} == {"ok"}


def test_a_regenerators_anchors_are_pinned_and_reported_back(repo: GitRepo,
                                                              tmp_path: Path) -> None:
    _repo(repo)
    answer = tmp_path / "answer.json"
    answer.write_text(json.dumps({"map_summary": "a store", "anchors": [
        "/pkg/store.py::Store.put", "/pkg/store.py::nope", "/pkg/missing.py"]}))
    configure(repo, kind="command", command=f"{script(tmp_path, 'agent.py', AGENT)} {answer}")
    repo.float_ok("regenerate", "/pkg")
    shown = repo.float_json("show", "pkg")
    assert [a["anchor"] for a in shown["anchors"]] == ["/pkg/store.py::Store.put"]
    repo.write("pkg/store.py", CODE.replace("return row", "return dict(row)"))
    repo.commit("put copies")
    repo.float_ok("sync")
    repo.float_ok("regenerate", "/pkg")
    request = json.loads(Path(str(answer) + ".request").read_text())
    assert request["previous"]["anchors"] == [
        {"anchor": "/pkg/store.py::Store.put", "state": "changed"}]
