"""The command line is a contract (hooks, the webhook, the Action and agents rely on it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from float_hooks.config import DEFAULTS, tomllib
from tests.gitrepo import PROJECT_ROOT, GitRepo, cli_error


def test_console_script_and_module_are_the_same(synced: GitRepo, tmp_path: Path) -> None:
    # the `float-hooks` that pip makes from this checkout's pyproject.toml, put first on PATH
    # (whatever else is installed, this checkout's code runs)
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    module, _, func = pyproject["project"]["scripts"]["float-hooks"].partition(":")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "float-hooks"
    shim.write_text(f"#!{sys.executable}\nimport sys\nfrom {module} import {func}\n"
                    f"sys.exit({func}())\n")
    shim.chmod(0o755)
    path = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    a = subprocess.run(["float-hooks", "status", "--json"], cwd=synced.path,
                       capture_output=True, text=True, env={**os.environ, "PATH": path})
    b = synced.float_proc("status", "--json")
    assert a.returncode == b.code == 0, a.stderr + b.err
    assert json.loads(a.stdout) == json.loads(b.out)
    assert json.loads(a.stdout)["head"] == synced.head()


def test_init_is_idempotent_and_writes_every_default(repo: GitRepo) -> None:
    repo.write("a/b.txt", "b\n")
    repo.commit("one")
    first = repo.float_json("init")
    assert sorted(first["created"]) == [".float/.gitignore", ".float/boot.md",
                                        ".float/config.toml"]
    cfg = repo.path / ".float" / "config.toml"
    assert tomllib.loads(cfg.read_text()) == DEFAULTS
    assert cfg.read_text().count("#") > len(DEFAULTS)  # commented
    (repo.path / ".float" / "boot.md").write_text("mine\n")
    again = repo.float_json("init")
    assert again["created"] == [] and again["files_changed"] == 0
    assert (repo.path / ".float" / "boot.md").read_text() == "mine\n"
    assert repo.git("status", "--porcelain", "--ignored", ".float").count("index.db") == 1


def test_status_json_contract(synced: GitRepo) -> None:
    s = synced.float_json("status")
    for key in ("files", "folders", "pending", "current", "stale"):
        assert isinstance(s[key], int)
    assert s["head"] == synced.head()
    assert s["pending"] + s["current"] + s["stale"] == s["folders"]


def test_sync_json_and_text(synced: GitRepo) -> None:
    synced.float_ok("set", "/docs", "--summary", "docs")
    synced.write("docs/guide.md", "new\n")
    r = synced.float_ok("sync")
    assert "1 files changed" in r.out and "1 folders went stale: /docs" in r.out
    synced.write("docs/more.md", "more\n")
    data = synced.float_json("sync")
    assert data["mode"] == "incremental" and data["target"] == "worktree"
    assert data["files_changed"] == 1 and data["became_stale"] == []  # already stale
    assert set(data) >= {"head", "folders_changed", "added", "removed", "moved", "archived"}
    assert "not allowed with argument --rev" in synced.float_error("sync", "--rev", "HEAD",
                                                                   "--staged")
    assert "no-such-rev: not a commit" in synced.float_error("sync", "--rev", "no-such-rev")


def test_stale_list_and_check_exit_code(synced: GitRepo) -> None:
    synced.float_ok("set", "/src", "--summary", "src")
    assert synced.float_json("stale")["folders"] == []
    assert synced.float("stale", "--check").code == 0
    synced.write("src/app.py", "changed\n")
    synced.float_ok("sync")
    items = synced.float_json("stale")["folders"]
    assert items == [{"path": "/src", "source_hash": items[0]["source_hash"],
                      "context_hash": items[0]["context_hash"],
                      "changed_files": ["/src/app.py"], "via_children": [],
                      "detail_source": "store", "detail_complete": True,
                      # each folder's freshness, as the MCP tool gives it (issue 24)
                      "status": "stale", "context_commit": items[0]["context_commit"]}]
    assert synced.float("stale", "--check").code == 1


def test_show_uses_the_seed_column_names(synced: GitRepo) -> None:
    synced.float_ok("set", "src/auth/", "--summary", "auth", "--what", "login", "--why",
                    "security", "--patterns", "tokens are JWT", "--patterns", "no sessions",
                    "--children-json", '[{"name": "login.py", "summary": "entry"}]',
                    "--model", "test-model")
    shown = synced.float_json("show", "/src/auth")
    for key in ("path", "parent_path", "name", "map_summary", "map_children", "context_what",
                "context_why", "context_patterns", "source_hash", "last_scanned_at",
                "created_at", "updated_at", "status", "context_hash", "ai_model", "ai_updated",
                "children", "decisions", "questions", "references"):
        assert key in shown, key
    assert shown["context_patterns"] == ["tokens are JWT", "no sessions"]
    assert shown["map_children"] == [{"name": "login.py", "summary": "entry"}]
    assert shown["ai_model"] == "test-model" and shown["status"] == "current"
    kinds = {c["name"]: c["kind"] for c in shown["children"]}
    assert kinds == {"tokens": "folder", "login.py": "file"}
    text = synced.float_ok("show", "/src/auth").out
    assert "[current]" in text and "what: login" in text
    assert "/nope" in synced.float_error("show", "/nope")


def test_set_from_json_file_stdin_and_for_an_old_hash(synced: GitRepo, tmp_path: Path) -> None:
    f = tmp_path / "ctx.json"
    f.write_text(json.dumps({"map_summary": "S", "context_what": "W", "context_why": "Y",
                             "context_patterns": ["p"], "ai_model": "m1"}))
    synced.float_ok("set", "/docs", "--from-json", str(f))
    assert synced.float_json("show", "/docs")["ai_model"] == "m1"
    old_hash = synced.float_json("show", "/docs")["source_hash"]
    synced.write("docs/guide.md", "changed\n")
    synced.float_ok("sync")
    # an agent that read the folder before the change writes back for the hash it read
    r = synced.float_proc("set", "/docs", "--from-json", "-", "--hash", old_hash,
                          input=json.dumps({"map_summary": "S2"}))
    assert r.code == 0, r.err
    assert synced.float_json("show", "/docs")["status"] == "stale"
    synced.float_ok("set", "/docs", "--summary", "S3")
    assert synced.float_json("show", "/docs")["status"] == "current"
    assert "nothing to set" in synced.float_error("set", "/docs")
    assert "invalid JSON" in synced.float_error("set", "/docs", "--from-json", "-", input="")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert "invalid JSON" in synced.float_error("set", "/docs", "--from-json", str(bad))
    bad.write_text('{"context_patterns": "not a list"}')
    assert "context_patterns" in synced.float_error("set", "/docs", "--from-json", str(bad))
    bad.write_text('{"unknown_field": 1}')
    assert "unknown_field" in synced.float_error("set", "/docs", "--from-json", str(bad))


def test_decision_log_filters_and_aggregation(synced: GitRepo) -> None:
    synced.float_ok("log", "add", "--title", "Use JWT", "--decision", "JWT everywhere",
                    "--rationale", "stateless", "--folder", "/src/auth", "--date", "2026-01-05",
                    "--tag", "auth", "--tag", "security", "--topic", "tokens")
    first = synced.float_json("log", "list")[0]
    synced.float_ok("log", "add", "--title", "Drop sessions", "--date", "2026-02-01",
                    "--status", "proposed", "--tag", "auth", "--supersedes", first["uid"])
    synced.float_ok("log", "add", "--title", "Old thing", "--date", "2025-12-31")
    assert [e["title"] for e in synced.float_json("log", "list", "--month", "2026-01")] == [
        "Use JWT"]
    assert len(synced.float_json("log", "list", "--year", "2026")) == 2
    assert [e["title"] for e in synced.float_json("log", "list", "--tag", "security")] == [
        "Use JWT"]
    assert [e["title"] for e in synced.float_json("log", "list", "--status", "proposed")] == [
        "Drop sessions"]
    assert [e["title"] for e in synced.float_json("log", "list", "--folder", "/src/auth")] == [
        "Use JWT"]
    superseded = synced.float_json("log", "list", "--month", "2026-01")[0]
    assert superseded["status"] == "superseded" and superseded["superseded_by"]
    assert synced.float_json("log", "stats", "--by", "year") == [
        {"key": "2025", "count": 1}, {"key": "2026", "count": 2}]
    assert synced.float_json("log", "stats", "--by", "tag") == [
        {"key": "auth", "count": 2}, {"key": "security", "count": 1}]
    assert "05/01/2026" in synced.float_error("log", "add", "--title", "x", "--date",
                                              "05/01/2026")
    assert "nope" in synced.float_error("log", "add", "--title", "x", "--supersedes", "nope")


def test_questions_and_references(synced: GitRepo) -> None:
    q = synced.float_json("question", "add", "Rotate keys?", "--folder", "/src/auth",
                          "--context", "keys are old")
    assert [i["question"] for i in synced.float_json("question", "list")] == ["Rotate keys?"]
    synced.float_ok("question", "resolve", str(q["id"]), "--by", "decided monthly")
    assert synced.float_json("question", "list") == []
    assert synced.float_json("question", "list", "--all")[0]["resolved_by"] == "decided monthly"
    assert "999" in synced.float_error("question", "resolve", "999", "--by", "x")
    synced.float_ok("ref", "add", "folder:/src/auth", "url:https://example.invalid/rfc",
                    "--context", "spec")
    refs = synced.float_json("ref", "list", "--about", "/src/auth")
    assert refs[0]["target_id"] == "https://example.invalid/rfc"
    assert "nonsense" in synced.float_error("ref", "add", "nonsense", "folder:/src")
    assert "planet" in synced.float_error("ref", "add", "planet:x", "folder:/src")
    shown = synced.float_json("show", "/src/auth")
    assert len(shown["references"]) == 1


def test_search_ranks_across_context_decisions_and_questions(synced: GitRepo) -> None:
    synced.float_ok("set", "/src/auth", "--what", "Token refresh and token rotation")
    synced.float_ok("set", "/docs", "--what", "User guide mentions a token once")
    synced.float_ok("log", "add", "--title", "Refresh tokens hourly", "--decision", "hourly")
    synced.float_ok("question", "add", "Should refresh tokens expire?")
    hits = synced.float_json("search", "refresh")["results"]
    kinds = {h["kind"] for h in hits}
    assert kinds == {"folder", "decision", "question"}
    paths = [h["id"] for h in synced.float_json("search", "token")["results"]
             if h["kind"] == "folder"]
    assert paths[0] == "/src/auth"  # more matches rank first
    assert synced.float_json("search", "rotat*")["results"][0]["id"] == "/src/auth"
    assert synced.float_json("search", 'AND OR "')["results"] == []  # user text is never FTS syntax
    synced.float_error("search", "   ")


def test_query_is_read_only(synced: GitRepo) -> None:
    rows = synced.float_json("query", "SELECT count(*) AS n FROM folders")
    assert rows == [{"n": 5}]
    assert "read-only" in synced.float_error("query", "DELETE FROM folders")
    assert synced.float_json("status")["folders"] == 5
    assert "SELEC" in synced.float_error("query", "SELEC nonsense")
    assert "count(*)" in synced.float_ok("query", "SELECT count(*) FROM files").out


def test_error_exits(tmp_path: Path, repo: GitRepo) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    assert "not a git repository" in cli_error(plain, "status")
    assert "not a git repository" in cli_error(tmp_path, "--repo", str(plain), "status")
    assert "init" in repo.float_error("status")
    assert "init" in repo.float_error("sync")
    assert "no-such-command" in repo.float_error("no-such-command")
    bare = repo.float_proc()  # no command: the help and the command list, exit 2
    assert bare.code == 2 and "COMMAND" in bare.out and "Traceback" not in bare.err


def test_invalid_config_is_a_clear_error(synced: GitRepo) -> None:
    cfg = synced.path / ".float" / "config.toml"
    cfg.write_text("[sync]\nlock_timeout = 'soon'\n")
    assert "lock_timeout must be int" in synced.float_error("sync")
    cfg.write_text("[sync\n")
    assert "invalid TOML" in synced.float_error("sync")
    cfg.write_text("[nope]\nx = 1\n")
    assert "unknown section" in synced.float_error("sync")


def test_progress_only_on_a_terminal(synced: GitRepo) -> None:
    for i in range(1200):
        synced.write(f"many/f{i // 100}/x{i}.txt", f"{i}\n")
    r = synced.float_proc("sync")
    assert r.code == 0 and "\r" not in r.err and r.err == ""


def test_bare_repository_syncs_a_commit(synced: GitRepo, tmp_path: Path) -> None:
    bare = tmp_path / "mirror.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(synced.path), str(bare)], check=True)
    assert "init" in cli_error(bare, "sync", "--json")  # not initialised: no float dir
    (bare / "float").mkdir()
    r = subprocess.run([sys.executable, "-m", "float_hooks", "--repo", str(bare), "sync",
                        "--json"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["target"] == "HEAD"


def test_progress_is_drawn_on_a_terminal(synced: GitRepo) -> None:
    import pty

    for i in range(600):
        synced.write(f"wide/f{i}/x.txt", f"{i}\n")
    pid, fd = pty.fork()
    if pid == 0:  # child: the real CLI with a terminal on stdout and stderr
        os.chdir(synced.path)
        os.execv(sys.executable, [sys.executable, "-m", "float_hooks", "sync"])
    chunks = []
    while True:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    _, status = os.waitpid(pid, 0)
    out = b"".join(chunks).decode()
    assert os.waitstatus_to_exitcode(status) == 0
    assert "float-hooks: hashing folders: " in out and "/602" in out
    assert "600 files changed" in out
