"""What `agents install` writes works on every machine and leaves the map alone (issue 28):
agents start Python isolated (a project's own `token.py` is never imported), committed
files name no one's installation, a teammate's clone with another installation (or none)
gets a working command (or one clear line), and the agents' files are never mapped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.authored_support import clone
from tests.gitrepo import PROJECT_ROOT, GitRepo
from tests.map_support import make_current
from tests.mcp_support import call, session

AGENT_FILES = [".mcp.json", ".claude/settings.json", ".cursor/mcp.json", ".cursor/hooks.json",
               "AGENTS.md"]


def committed_text(repo: GitRepo) -> str:
    return "".join((repo.path / f).read_text() for f in AGENT_FILES) \
        + (repo.path / ".float" / "float-hooks").read_text()


def test_a_token_py_at_the_project_root_is_never_imported(synced: GitRepo) -> None:
    synced.float_ok("agents", "install", "--claude", "--cursor")
    synced.write("token.py", "raise SystemExit('the project token.py was imported')\n")
    synced.write("tokenize.py", "raise SystemExit('the project tokenize.py was imported')\n")

    async def body(c: object) -> None:
        assert (await call(c, "status"))["folders"] > 0  # type: ignore[arg-type]

    session(synced, body)
    settings = json.loads((synced.path / ".claude/settings.json").read_text())
    cmd = settings["hooks"]["SessionStart"][0]["hooks"][0]["command"]
    out = subprocess.run(cmd, shell=True, capture_output=True, text=True, cwd=synced.path,
                         env={**os.environ, "CLAUDE_PROJECT_DIR": str(synced.path)})
    assert out.returncode == 0 and "float-hooks: the map" in out.stdout, out.stderr


def test_committed_agent_files_are_portable_and_the_machine_part_is_ignored(
        synced: GitRepo, tmp_path: Path) -> None:
    synced.float_ok("agents", "install", "--claude", "--cursor")
    text = committed_text(synced)
    for local in (sys.executable, str(PROJECT_ROOT), str(Path.home())):
        assert local not in text, local
    synced.git("add", ".float", *AGENT_FILES)
    staged = synced.git("diff", "--cached", "--name-only").split()
    assert ".float/float-hooks" in staged
    assert not [f for f in staged if f.startswith(".float/local") or f.endswith("agents.json")]
    synced.commit("agents")

    # a teammate: the same commit, float-hooks installed elsewhere (on PATH)
    mate = clone(synced, tmp_path / "mate")
    bin_dir = tmp_path / "elsewhere" / "bin"
    bin_dir.mkdir(parents=True)
    script = bin_dir / "float-hooks"  # a console script of another installation
    script.write_text(f"#!{sys.executable} -I\nimport sys\n"
                      f"sys.path.insert(0, {str(PROJECT_ROOT)!r})\n"
                      "from float_hooks.main import main\nraise SystemExit(main())\n")
    script.chmod(0o755)
    entry = json.loads((mate.path / ".mcp.json").read_text())["mcpServers"]["float-hooks"]
    base = {"HOME": str(tmp_path), "PATH": f"{bin_dir}:/usr/bin:/bin"}
    r = subprocess.run([entry["command"], *entry["args"][:-1], "status"], cwd=mate.path,
                       capture_output=True, text=True, env=base)
    assert r.returncode == 0 and "folders" in r.stdout, r.stderr

    # no float-hooks on this machine at all: one line that says what to do
    r = subprocess.run([entry["command"], *entry["args"][:-1], "status"], cwd=mate.path,
                       capture_output=True, text=True,
                       env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert r.returncode == 127
    assert r.stderr.count("\n") == 1 and "agents install" in r.stderr, r.stderr

    # the teammate runs agents install: the committed files do not change
    mate.float_ok("agents", "install", "--claude", "--cursor")
    assert mate.git("status", "--porcelain") == ""


def test_agents_install_leaves_the_map_as_it_was_here_and_in_a_clone(
        synced: GitRepo, tmp_path: Path) -> None:
    make_current(synced)
    before = synced.float_json("status")
    synced.float_ok("agents", "install", "--claude", "--cursor")
    synced.write("CLAUDE.md", "Use uv.\n")
    synced.float_ok("agents", "install", "--claude", "--cursor")  # edits CLAUDE.md too
    synced.float_ok("sync")
    after = synced.float_json("status")
    assert (after["folders"], after["current"], after["stale"], after["pending"]) == \
        (before["folders"], before["current"], before["stale"], before["pending"])
    assert synced.float_json("stale")["folders"] == []
    synced.float_ok("export")
    synced.git("add", "-A")  # the agents' files committed with everything else
    synced.commit("agents and export")
    mate = clone(synced, tmp_path / "mate")
    status = mate.float_json("status")
    assert status["archived"] == 0 and status["stale"] == 0
    assert status["current"] == before["current"] and status["pending"] == 0
