"""`float-hooks agents install/uninstall` merges into the agents' existing config files, is
idempotent, and uninstall removes exactly what install added; `brief` stays within 10,000
characters whatever the map holds."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.gitrepo import GitRepo

EXISTING = {
    ".mcp.json": {"mcpServers": {"github": {"command": "gh-mcp", "args": ["--x"]}},
                  "other": 1},
    ".cursor/mcp.json": {"mcpServers": {"db": {"url": "http://localhost:1/mcp"}}},
    ".claude/settings.json": {
        "permissions": {"allow": ["Bash(ls)"]},
        "hooks": {"SessionStart": [{"matcher": "startup",
                                    "hooks": [{"type": "command", "command": "echo hi"}]}],
                  "PreToolUse": [{"matcher": "Bash", "hooks": []}]}},
    ".cursor/hooks.json": {"version": 1, "hooks": {"afterFileEdit": [{"command": "fmt"}]}},
}


def snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*"))
            if p.is_file() and ".git" not in p.relative_to(root).parts
            and p.relative_to(root).parts[0] != ".float"}


def test_merges_is_idempotent_and_uninstalls_exactly(synced: GitRepo,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEX_HOME", str(synced.path.parent / "codex"))
    for rel, data in EXISTING.items():
        synced.write(rel, json.dumps(data, indent=2) + "\n")
    synced.write("AGENTS.md", "# Agents\n\nBe nice.\n")
    synced.write("CLAUDE.md", "Use uv.")  # no trailing newline
    before = snapshot(synced.path)

    r = synced.float_ok("agents", "install", "--all", "--json").json()
    assert r["agents"] == ["claude", "cursor", "codex"]
    assert "[mcp_servers.float-hooks]" in r["codex_snippet"]  # printed, not written
    assert not (synced.path.parent / "codex").exists()
    mcp = json.loads((synced.path / ".mcp.json").read_text())
    assert mcp["mcpServers"]["github"] == EXISTING[".mcp.json"]["mcpServers"]["github"]
    assert mcp["other"] == 1
    ours = mcp["mcpServers"]["float-hooks"]
    assert ours["type"] == "stdio" and ours["args"][-1] == "mcp"
    cursor = json.loads((synced.path / ".cursor/mcp.json").read_text())["mcpServers"]
    assert set(cursor) == {"db", "float-hooks"}
    assert "${workspaceFolder}" in cursor["float-hooks"]["args"]
    settings = json.loads((synced.path / ".claude/settings.json").read_text())
    starts = settings["hooks"]["SessionStart"]
    assert starts[0]["hooks"][0]["command"] == "echo hi" and len(starts) == 2
    assert "brief" in starts[1]["hooks"][0]["command"]
    assert "$CLAUDE_PROJECT_DIR" in starts[1]["hooks"][0]["command"]
    assert settings["permissions"] == {"allow": ["Bash(ls)"]}
    hooks = json.loads((synced.path / ".cursor/hooks.json").read_text())
    assert hooks["hooks"]["afterFileEdit"] == [{"command": "fmt"}]
    assert "brief --cursor" in hooks["hooks"]["sessionStart"][0]["command"]
    for md in ("AGENTS.md", "CLAUDE.md"):
        text = (synced.path / md).read_text()
        assert text.count("<!-- float-hooks:begin -->") == 1 and "float-hooks" in text
    assert (synced.path / "AGENTS.md").read_text().startswith("# Agents\n\nBe nice.\n")

    installed = snapshot(synced.path)
    again = synced.float_ok("agents", "install", "--all", "--json").json()
    assert {c["action"] for c in again["changes"]} == {"unchanged"}
    assert snapshot(synced.path) == installed

    # the session hook's command really prints the brief from anywhere
    cmd = starts[1]["hooks"][0]["command"]
    out = subprocess.run(cmd, shell=True, capture_output=True, text=True, cwd="/",
                         env={"CLAUDE_PROJECT_DIR": str(synced.path), "PATH": "/usr/bin:/bin",
                              "HOME": str(synced.path.parent)})
    assert out.returncode == 0 and "float-hooks: the map" in out.stdout, out.stderr

    synced.float_ok("agents", "uninstall")
    after = snapshot(synced.path)
    assert after.keys() == before.keys()
    for rel in before:
        if rel.endswith(".json"):
            assert json.loads(after[rel]) == json.loads(before[rel]), rel
        else:
            assert after[rel] == before[rel], rel


def test_fresh_repo_files_are_created_and_removed(synced: GitRepo,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    home = synced.path.parent / "codex"
    monkeypatch.setenv("CODEX_HOME", str(home))
    home.mkdir()
    (home / "config.toml").write_text('model = "o4"\n\n[mcp_servers.other]\ncommand = "x"\n')
    before = snapshot(synced.path)
    synced.float_ok("agents", "install", "--claude", "--cursor", "--codex", "--global")
    for rel in (".mcp.json", ".cursor/mcp.json", ".cursor/hooks.json",
                ".claude/settings.json", "AGENTS.md"):
        assert (synced.path / rel).is_file(), rel
    assert not (synced.path / "CLAUDE.md").exists()  # only when present
    toml = (home / "config.toml").read_text()
    assert toml.startswith('model = "o4"\n') and "[mcp_servers.float-hooks]" in toml
    import tomllib

    parsed = tomllib.loads(toml)
    assert parsed["mcp_servers"]["float-hooks"]["args"][-1] == "mcp"
    assert parsed["mcp_servers"]["other"] == {"command": "x"}
    synced.float_ok("agents", "install", "--codex", "--global")
    assert (home / "config.toml").read_text() == toml  # idempotent
    synced.float_ok("agents", "uninstall", "--global")
    assert snapshot(synced.path) == before
    assert not (synced.path / ".cursor").exists() and not (synced.path / ".claude").exists()
    assert (home / "config.toml").read_text() == \
        'model = "o4"\n\n[mcp_servers.other]\ncommand = "x"\n'


def test_broken_config_is_refused_untouched(synced: GitRepo) -> None:
    synced.write(".mcp.json", "{not json")
    r = synced.float("agents", "install", "--claude", "--cursor")
    assert r.code == 2 and "not valid JSON" in r.err and r.err.count("\n") == 1
    assert (synced.path / ".mcp.json").read_text() == "{not json"
    assert not (synced.path / ".cursor").exists()  # nothing written when one file is bad


def test_brief_stays_under_10000_characters(synced: GitRepo) -> None:
    for i in range(5000):
        synced.write(f"pkg/m{i:04d}/mod.py", f"X = {i}\n")
    synced.write("pkg/m0001/other.py", "Y = 1\n")
    synced.float_ok("sync")
    # context for every folder, as `set` writes it (`regenerate` would take 40 s here)
    with sqlite3.connect(synced.path / ".float" / "index.db") as db:
        db.execute("UPDATE folders SET map_summary = 'a module', context_hash = source_hash")
    assert synced.float_json("status")["current"] == synced.float_json("status")["folders"]
    for i in range(5000):
        synced.write(f"pkg/m{i:04d}/mod.py", f"X = {i + 1}\n")
    synced.write("pkg/m0001/other.py", "Y = 2\n")
    synced.float_ok("sync")
    assert synced.float_json("status")["stale"] == 5002  # 5,000 + /pkg + /
    synced.float_ok("log", "add", "--title", "Split pkg", "--folder", "pkg")
    synced.float_ok("question", "add", "Why 5,000 modules?")
    text = synced.float_ok("brief").out
    assert len(text) <= 10_000
    assert "/pkg/m0001: 2 files changed (mod.py, other.py)" in text  # most changed first
    assert "and 4" in text and "more" in text and "Split pkg" in text
    assert "Why 5,000 modules?" in text
    data = synced.float_ok("brief", "--json").out
    assert len(data) <= 10_000
    parsed = json.loads(data)
    assert parsed["stale_total"] == 5002 and 0 < parsed["stale_shown"] < 5002
    cursor = synced.float_ok("brief", "--cursor").out
    assert len(cursor) <= 10_001 and json.loads(cursor)["additional_context"].startswith("#")


def test_install_needs_an_initialised_repository(repo: GitRepo) -> None:
    repo.write("a.py", "A = 1\n")
    repo.commit("initial")
    r = repo.float("agents", "install")
    assert r.code == 2 and "float-hooks init" in r.err
    assert not (repo.path / ".mcp.json").exists() and not (repo.path / ".float").exists()
