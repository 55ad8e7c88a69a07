"""Evidence anchors (issue 26) on real repositories: each kind written and refused, their states
after real commits (ok, changed, moved, gone), the export and the journal keep them, and
`check --anchors` over a commit range and the index with the exit codes scripts rely on."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.gitrepo import GitRepo

LOGIN = """\
class Session:
    def refresh(self):
        return 1

    def close(self):
        return 2


def helper():
    return 3
"""
SYMBOL = "/src/auth/login.py::Session.refresh"


def _repo(repo: GitRepo) -> GitRepo:
    repo.write("README.md", "# demo\n")
    repo.write("src/auth/login.py", LOGIN)
    repo.write("src/auth/notes.md", "notes\n")
    repo.write("src/util/__init__.py", "")
    repo.commit("initial")
    repo.float_ok("init")
    return repo


def _commit(repo: GitRepo, message: str) -> str:
    head = repo.commit(message)
    repo.float_ok("sync")  # what the post-commit hook does
    return head


def _decision(repo: GitRepo, *anchors: str) -> dict[str, Any]:
    args = [a for anchor in anchors for a in ("--anchor", anchor)]
    entry: dict[str, Any] = repo.float_json("log", "add", "--title", "refresh returns 1",
                                            "--status", "locked", *args)
    return entry


def _states(repo: GitRepo, uid: str) -> dict[str, dict[str, Any]]:
    """The anchor states of decision ``uid``, as `why /` lists flagged ones and search gives
    all of them."""
    hits = repo.float_json("search", "refresh")
    hit = next(h for h in hits["results"] if h["id"] == uid)
    return {s["anchor"]: s for s in hit.get("anchor_states", [])}


def test_each_kind_is_written_pinned_and_refused(repo: GitRepo) -> None:
    _repo(repo)
    blob = repo.git("rev-parse", "HEAD:src/auth/login.py").strip()
    entry = _decision(repo, "src/auth/login.py::Session.refresh", "src/auth/login.py",
                      "/src/auth")
    kinds = {a["anchor"]: a for a in entry["anchors"]}
    assert kinds[SYMBOL]["kind"] == "symbol" and kinds[SYMBOL]["blob"] == blob
    assert len(kinds[SYMBOL]["hash"]) >= 8 and kinds[SYMBOL]["commit"] == repo.head()
    assert kinds["/src/auth/login.py"] == {"anchor": "/src/auth/login.py", "kind": "file",
                                           "blob": blob, "commit": repo.head()}
    assert kinds["/src/auth"]["kind"] == "folder" and kinds["/src/auth"]["hash"]
    # relative to where the user stands, like every path on the command line
    shown = repo.float_ok("--repo", str(repo.path / "src/auth"), "set", ".", "--what", "auth",
                          "--anchor", "login.py::helper", "--print").json()
    assert [a["anchor"] for a in shown["anchors"]] == ["/src/auth/login.py::helper"]
    q = repo.float_json("question", "add", "keep close?", "--anchor",
                        "/src/auth/login.py::close")  # a bare name, when it is unique
    assert q["anchors"][0]["anchor"] == "/src/auth/login.py::Session.close"
    ref = repo.float_json("ref", "add", "folder:/src/auth", "url:https://example.invalid",
                          "--anchor", "src/auth/notes.md")
    assert ref["anchors"][0]["kind"] == "file"
    for bad, said in (("src/auth/nope.py", "no such file or folder"),
                      ("src/auth/login.py::Nope", "no such symbol"),
                      ("src/auth/notes.md::Title", "source files"),
                      ("src/nowhere", "no such file or folder"),
                      ("src/auth/login.py::", "no symbol name"),
                      ("../outside.py", "outside")):
        line = repo.float_error("log", "add", "--title", "x", "--anchor", bad)
        assert said in line, line
    assert len(repo.float_json("log", "list")) == 1  # nothing written by a refused anchor
    assert "no such symbol" in repo.float_error("question", "add", "q", "--anchor",
                                                "src/auth/login.py::Nope")
    assert "no such symbol" in repo.float_error("set", "src/auth", "--what", "w", "--anchor",
                                                "src/auth/login.py::Nope")


def test_states_follow_real_commits(repo: GitRepo) -> None:
    _repo(repo)
    repo.float_ok("set", "src/auth", "--what", "sessions", "--anchor",
                  "src/auth/login.py::helper")
    uid = _decision(repo, "src/auth/login.py::Session.refresh")["uid"]
    # another function of the same file changes: nothing flagged; the folder is stale by the
    # hash rule and says its context's anchors still hold
    repo.write("src/auth/login.py", LOGIN.replace("return 2", "return 22"))
    _commit(repo, "edit close")
    assert _states(repo, uid)[SYMBOL]["state"] == "ok"
    why = repo.float_json("why", "src/auth")
    assert why["status"] == "stale" and why["anchored_records"] == []
    assert [s["state"] for s in why["anchor_states"]] == ["ok"]
    assert "may still hold" in why["anchor_signal"]
    # the anchored function changes: flagged, with its diff
    repo.write("src/auth/login.py", LOGIN.replace("return 2", "return 22")
               .replace("return 1", "return 11"))
    _commit(repo, "edit refresh")
    assert _states(repo, uid)[SYMBOL]["state"] == "changed"
    why = repo.float_json("why", "src/auth")
    flagged = why["anchored_records"][0]
    assert flagged["uid"] == uid and flagged["anchors_flagged"][0]["state"] == "changed"
    diff = flagged["anchors_flagged"][0]["diff"]
    assert "-        return 1\n" in diff and "+        return 11\n" in diff
    assert "return 22" not in diff  # the symbol's diff, not the file's
    text = repo.float_ok("why", "src/auth").out
    assert "Session.refresh: changed" in text and "+        return 11" in text
    shown = repo.float_json("show", "/")
    assert shown["decisions"] == []  # about no folder; found through its anchors instead
    # the context's anchored function moves to another file: followed
    repo.write("src/auth/login.py", LOGIN.replace("return 2", "return 22")
               .replace("return 1", "return 11").split("\n\ndef helper")[0] + "\n")
    repo.write("src/util/helpers.py", "import os\n\n\ndef helper():\n    return 3\n")
    _commit(repo, "move helper")
    doc = repo.float_json("show", "src/auth")
    moved = doc["anchor_states"][0]
    assert moved["state"] == "moved" and moved["now"] == "/src/util/helpers.py::helper"
    assert doc["anchors_flagged"] == []  # moved is followed, not flagged
    # a file anchor follows a rename
    q = repo.float_json("question", "add", "notes?", "--anchor", "src/auth/notes.md")
    repo.git("mv", "src/auth/notes.md", "src/util/notes.md")
    _commit(repo, "move notes")
    shown = repo.float_json("show", "src/auth")  # the question is about no folder: search it
    hits = repo.float_json("search", "notes")
    state = next(h for h in hits["results"] if h["id"] == q["uid"])["anchor_states"][0]
    assert state == {"anchor": "/src/auth/notes.md", "kind": "file", "state": "moved",
                     "now": "/src/util/notes.md"}
    assert shown["anchor_states"][0]["state"] == "moved"
    # deleted: gone
    repo.write("src/auth/login.py", "X = 1\n")
    _commit(repo, "drop Session")
    assert _states(repo, uid)[SYMBOL]["state"] == "gone"
    brief = repo.float_ok("brief").out
    assert f"anchored code: {SYMBOL} gone" in brief


def test_export_import_and_journal_keep_anchors(repo: GitRepo, tmp_path: Path) -> None:
    _repo(repo)
    repo.float_ok("set", "src/auth", "--what", "sessions", "--anchor",
                  "src/auth/login.py::helper")
    uid = _decision(repo, "src/auth/login.py::Session.refresh", "src/auth")["uid"]
    repo.float_json("question", "add", "why 2?", "--anchor", "src/auth/login.py::Session.close")
    before = {k: _authored(repo, k) for k in ("folder", "decision", "question")}
    assert all(before.values())
    # a lost DB: rebuilt from the journal alone (nothing exported yet)
    for side in repo.path.glob(".float/index.db*"):
        side.unlink()
    assert {k: _authored(repo, k) for k in before} == before
    # the export carries them; a second clone imports them
    repo.float_ok("export")
    page = (repo.path / ".float/project/src/auth/_folder.md").read_text()
    assert "anchor: /src/auth/login.py::helper" in page  # front matter: what import reads
    assert "## Anchors\n\n`/src/auth/login.py::helper`" in page  # the body, for people
    repo.git("add", "-A")
    repo.commit("export")
    other = tmp_path / "other"
    subprocess.run(["git", "clone", "-q", str(repo.path), str(other)], check=True)
    clone = GitRepo(other)
    clone.float_ok("init")
    assert {k: _authored(clone, k) for k in before} == before
    # the imported records are found by the check (its index is kept by every write path)
    clone.write("src/auth/login.py", LOGIN.replace("return 1", "return 11"))
    clone.commit("edit refresh")
    r = clone.float("check", "--anchors", "--range", "HEAD~1..HEAD", "--json")
    assert r.code == 1 and [x["key"] for x in r.json()["records"]] == [uid]  # helper: ok
    clone.git("reset", "-q", "--hard", "HEAD~1")
    # the clone anchors a decision of its own; it comes back with the next export
    clone.float_json("log", "add", "--title", "helper stays", "--anchor",
                     "src/auth/login.py::helper")
    clone.float_ok("export")
    clone.git("add", "-A")
    clone.commit("clone's decision")
    repo.git("pull", "-q", "--no-rebase", str(other), "HEAD")
    repo.float_ok("import")
    titles = {e["title"]: e["anchors"] for e in repo.float_json("log", "list")}
    assert titles["helper stays"][0]["anchor"] == "/src/auth/login.py::helper"
    assert [a["anchor"] for a in titles["refresh returns 1"]] == [SYMBOL, "/src/auth"]
    assert any(e["uid"] == uid for e in repo.float_json("log", "list"))


def _authored(repo: GitRepo, kind: str) -> Any:
    sql = {"folder": "SELECT path, anchors FROM folders WHERE anchors IS NOT NULL",
           "decision": "SELECT uid, anchors, version FROM log_entries",
           "question": "SELECT uid, anchors, version FROM open_questions"}[kind]
    return [{k: json.loads(v) if k == "anchors" else v for k, v in row.items()}
            for row in repo.float_json("query", sql)]


def test_check_anchors_over_a_range_and_the_index(repo: GitRepo) -> None:
    _repo(repo)
    base = repo.head()
    uid = _decision(repo, "src/auth/login.py::Session.refresh")["uid"]
    repo.float_ok("set", "src/util", "--what", "utilities", "--anchor", "src/util")
    repo.write("src/auth/login.py", LOGIN.replace("return 2", "return 22"))
    other = repo.commit("edit close")
    r = repo.float("check", "--anchors", "--range", f"{base}..{other}")
    assert r.code == 0 and "no anchored code changed" in r.out  # another function only
    repo.write("src/auth/login.py", LOGIN.replace("return 1", "return 11"))
    head = repo.commit("edit refresh")
    r = repo.float("check", "--anchors", "--range", f"{base}..{head}", "--json")
    assert r.code == 1
    found = r.json()["records"]
    assert [(x["kind"], x["key"], x["status"]) for x in found] == [("decision", uid, "locked")]
    assert found[0]["anchors"] == [{"anchor": SYMBOL, "kind": "symbol", "change": "changed",
                                    "lines": [2, 3]}]
    summary = repo.path.parent / "summary.md"
    r = repo.float("check", "--anchors", "--range", f"{other}..{head}", "--summary",
                   str(summary))
    assert r.code == 1 and f"decision {uid}" in r.out and "changed  " + SYMBOL in r.out
    assert f"| decision `{uid[:12]}` | refresh returns 1 | `{SYMBOL}` changed |" \
        in summary.read_text()
    # the default change is the index against HEAD (the pre-commit hook's)
    assert repo.float("check", "--anchors").code == 0
    repo.write("src/util/new.py", "N = 1\n")
    repo.git("add", "src/util/new.py")
    r = repo.float("check", "--anchors", "--json")
    assert r.code == 1 and r.json()["records"][0]["key"] == "/src/util"
    assert r.json()["records"][0]["anchors"][0]["paths"] == ["/src/util/new.py"]
    for bad in ("nope..HEAD", "HEAD", "HEAD...HEAD~1"):
        assert "--range" in repo.float_error("check", "--anchors", "--range", bad)
    assert "--anchors" in repo.float_error("check", "--range", "HEAD~1..HEAD")


def test_a_page_with_malformed_anchors_is_skipped_with_one_line(repo: GitRepo) -> None:
    _repo(repo)
    repo.float_ok("set", "src/auth", "--what", "sessions", "--anchor", "src/auth/login.py")
    repo.float_ok("export")
    page = repo.path / ".float/project/src/auth/_folder.md"
    text = page.read_text()
    start, end = text.index("anchors:\n"), text.index("version:")
    page.write_text(text[:start] + "anchors:\n- /src/auth/login.py\n" + text[end:])
    line = repo.float_error("import")
    assert "_folder.md" in line and "anchors is not a list of anchors" in line
    assert _authored(repo, "folder")[0]["anchors"][0]["kind"] == "file"  # kept as it was
