"""The newcomer's first hour (issue 16): the README's set-up run as written in a fresh virtual
environment from a fresh clone, the help, the renamed `set` input flag, what `init` says next,
the hook line of a real `git commit`, and the core install's dependencies. CLI promises
(exit codes, one line on stderr) are checked on real processes."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from float_hooks import main as cli
from float_hooks.commands._next_steps import executable
from tests.gitrepo import PROJECT_ROOT, GitRepo, init_repo


def run_cli(*args: str, cwd: Path | None = None, input: str | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "float_hooks", *args], cwd=cwd,
                          capture_output=True, text=True, input=input,
                          env={**os.environ, **(env or {})})


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The CLI's error contract: exit 2, exactly one line on stderr, no traceback."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("float-hooks: ")
    return lines[0]


# -- set-up ----------------------------------------------------------------------------------
def setup_block(readme: str) -> str:
    """The first ```sh block of the README's Set-up section: the install-and-map command."""
    section = readme[readme.index("## Set-up"):readme.index("\n## ", readme.index("## Set-up"))]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None, "no sh block in ## Set-up"
    return block.group(1)


def test_readme_setup_runs_as_written_from_anywhere_in_a_fresh_venv(tmp_path: Path) -> None:
    clone = tmp_path / "float-hooks"
    subprocess.run(["git", "clone", "-q", str(PROJECT_ROOT), str(clone)], check=True)
    target = init_repo(tmp_path / "repo")
    target.write("src/app.py", '"""The app."""\n')
    target.commit("initial")
    block = setup_block((clone / "README.md").read_text(encoding="utf-8"))
    assert "/path/to/float-hooks" in block and "/path/to/repo" in block
    command = (block.replace("/path/to/float-hooks", str(clone))
               .replace("/path/to/repo", str(target.path)))
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()  # neither a checkout of this project nor the repository
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    env["HOME"] = str(home)  # ~ in the block: the test's own home
    proc = subprocess.run(["sh", "-c", command], cwd=elsewhere, env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (target.path / ".float" / "index.db").is_file()
    assert "next steps:" in proc.stdout
    venv_bin = home / ".float-hooks" / "bin"
    status = subprocess.run([str(venv_bin / "float-hooks"), "--repo", str(target.path),
                             "status", "--json"], capture_output=True, text=True, env=env)
    assert status.returncode == 0, status.stderr
    assert '"folders": 2' in status.stdout
    # the core install: what hooks and CLI need, not the server's or the tests' libraries
    listed = subprocess.run([str(venv_bin / "python"), "-m", "pip", "list",
                             "--format=freeze"], capture_output=True, text=True, env=env)
    names = {line.split("==")[0].lower() for line in listed.stdout.splitlines()}
    assert "float-hooks" in names and "pygit2" in names
    assert not names & {"flask", "gitpython", "pre-commit", "virtualenv", "gunicorn"}, names


def test_cli_imports_no_server_or_test_library() -> None:
    """Every command's module and every float_hooks module, imported: no Flask, GitPython,
    pre-commit (they are in the [server] and [test] extras)."""
    code = (
        "import pkgutil, importlib, sys\n"
        "import float_hooks\n"
        "from float_hooks.main import build_parser\n"
        "build_parser()\n"
        "for m in pkgutil.walk_packages(float_hooks.__path__, 'float_hooks.'):\n"
        "    if not m.name.endswith('__main__'):\n"
        "        importlib.import_module(m.name)\n"
        "bad = ('flask', 'git', 'pre_commit', 'werkzeug', 'gunicorn', 'virtualenv')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in bad))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=PROJECT_ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


# -- help ------------------------------------------------------------------------------------
def test_bare_command_prints_the_commands_and_exits_2(tmp_path: Path) -> None:
    for args in ([], ["--repo", str(tmp_path)]):
        proc = run_cli(*args, cwd=tmp_path)
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr
        assert proc.stdout.startswith("usage: float-hooks")
        assert "Keep an AI-readable map of a git repository fresh." in proc.stdout
        for name in ("init", "sync", "status", "show", "set", "search", "regenerate",
                     "install"):
            assert re.search(rf"^    {name}\s", proc.stdout, re.M), name
        assert "hook-impl" not in proc.stdout
    unknown = run_cli("bogus", cwd=tmp_path)
    assert unknown.returncode == 2 and "invalid choice: 'bogus'" in unknown.stderr


def test_top_description_is_plain_words() -> None:
    out = run_cli("--help").stdout
    assert "``" not in out and "The command line:" not in out
    assert "which folders' context went stale" in out


def _actions(parser: argparse.ArgumentParser, prefix: list[str]):  # type: ignore[no-untyped-def]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _actions(sub, [*prefix, name])
        elif not isinstance(action, argparse._HelpAction):
            yield " ".join(prefix), action


def test_every_argument_of_every_command_has_help() -> None:
    missing = [f"{where} {action.option_strings or action.dest}"
               for where, action in _actions(cli.build_parser(), [])
               if not action.help]
    assert missing == []


# -- set --from-json -------------------------------------------------------------------------
def test_set_reads_from_json_and_the_old_flag_still_works_with_a_note(
        synced: GitRepo, tmp_path: Path) -> None:
    f = tmp_path / "ctx.json"
    f.write_text('{"map_summary": "Docs", "context_what": "The guide"}')
    proc = run_cli("set", "/docs", "--from-json", str(f), cwd=synced.path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "/docs: context written, current" in proc.stdout
    proc = run_cli("set", "/src", "--from-json", "-", cwd=synced.path,
                   input='{"context_what": "Sources"}')
    assert proc.returncode == 0, proc.stderr
    old = run_cli("set", "/docs", "--json", str(f), cwd=synced.path)
    assert old.returncode == 0
    assert old.stderr.count("\n") == 1 and "deprecated" in old.stderr
    assert "--from-json" in old.stderr
    assert synced.float_json("show", "/src")["context_what"] == "Sources"
    help_text = run_cli("set", "--help").stdout
    assert "--from-json FILE|-" in help_text and "--json" not in help_text
    # errors: one line, exit 2
    assert "no such file" in one_error_line(
        run_cli("set", "/docs", "--from-json", str(tmp_path / "missing.json"),
                cwd=synced.path)).lower()
    f.write_text("[1, 2]")
    assert "JSON object" in one_error_line(
        run_cli("set", "/docs", "--from-json", str(f), cwd=synced.path))
    f.write_text('{"colour": "red"}')
    assert "unknown fields colour" in one_error_line(
        run_cli("set", "/docs", "--from-json", str(f), cwd=synced.path))


# -- init's next steps -----------------------------------------------------------------------
def test_init_prints_the_next_steps(repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    repo.write("src/app.py", "x = 1\n")
    repo.commit("initial")
    proc = run_cli("init", cwd=repo.path)
    assert proc.returncode == 0, proc.stderr
    steps = proc.stdout[proc.stdout.index("next steps:"):]
    exe = executable()  # this installation as a shell runs it (test_newcomer_path_...)
    assert f"{exe} install" in steps and f"{exe} regenerate" in steps
    assert f"{exe} export" in steps
    assert "git add .float && git commit" in steps and "index.db is git-ignored" in steps
    assert f"{exe} agents install" in steps
    elsewhere = run_cli("--repo", str(repo.path), "init", "--json", cwd=repo.path.parent)
    import json

    data = json.loads(elsewhere.stdout)
    commands = [s["command"] for s in data["next_steps"]]
    assert commands[0] == f"{exe} --repo {repo.path} install"
    # once an `agents` command is registered, init offers it
    monkeypatch.setitem(cli.COMMANDS, "agents", "status")
    r = repo.float_ok("init")
    assert "agents install" in r.out


def test_the_printed_steps_leave_a_teammate_with_the_context(repo: GitRepo,
                                                              tmp_path: Path) -> None:
    """Every step init prints, run as printed by a shell that has no float-hooks on PATH;
    then a teammate clones: the context is there."""
    for d in ("src/auth", "src/api", "docs"):
        repo.write(f"{d}/a.py", f"# {d}\n")
    repo.commit("initial")
    proc = run_cli("init", "--json", cwd=repo.path)
    assert proc.returncode == 0, proc.stderr
    import json

    env = {**os.environ, "PATH": "/usr/bin:/bin", "FLOAT_HOOKS_FOREGROUND": "1"}
    for step in json.loads(proc.stdout)["next_steps"]:
        if "agents install" in step["command"]:
            continue  # (its own test: test_agents_portable.py)
        r = subprocess.run(step["command"], shell=True, cwd=repo.path, env=env,
                           capture_output=True, text=True)
        assert r.returncode == 0, (step["command"], r.stdout, r.stderr)
    mine = repo.float_json("status")
    assert mine["pending"] == 0 and mine["current"] == mine["folders"]
    subprocess.run(["git", "clone", "-q", str(repo.path), str(tmp_path / "mate")], check=True)
    theirs = GitRepo(tmp_path / "mate").float_json("status")
    assert (theirs["current"], theirs["pending"]) == (mine["current"], 0)


# -- the hook line ---------------------------------------------------------------------------
@pytest.fixture
def shimmed(synced: GitRepo) -> GitRepo:
    """`synced` with the plain git hook shims installed and .float/ committed."""
    assert synced.float("install").code == 0
    synced.commit("float init")
    return synced


def commit_lines(repo: GitRepo, path: str, content: str) -> list[str]:
    repo.write(path, content)
    repo.git("add", "-A")
    out = repo.git("commit", "-m", f"edit {path}", env={"FLOAT_HOOKS_FOREGROUND": "1"})
    return [line for line in out.splitlines() if line.startswith("float")]


def test_commit_line_says_what_changed_and_what_went_stale(shimmed: GitRepo) -> None:
    # nothing has context yet: the commit changes folders, none goes stale, and it says why
    lines = commit_lines(shimmed, "src/auth/login.py", "def login(): return 1\n")
    assert lines[0] == ("float: 3 folders changed, none newly stale (3 without context)")
    for folder in shimmed.folders():
        shimmed.float_ok("set", folder, "--what", f"about {folder}")
    lines = commit_lines(shimmed, "src/auth/login.py", "def login(): return 2\n")
    assert lines[0] == "float: 3 folders changed, 3 newly stale: /src/auth /src /"
    # stale already: still a line, saying so (this printed nothing before)
    lines = commit_lines(shimmed, "src/auth/login.py", "def login(): return 3\n")
    assert lines[0] == "float: 3 folders changed, none newly stale (3 already stale)"
    shimmed.float_ok("set", "/docs", "--what", "docs again")
    lines = commit_lines(shimmed, "docs/guide.md", "# guide v2\n")
    assert lines[0] == "float: 2 folders changed, 1 newly stale: /docs"
    assert all(len(line) < 120 for line in lines)


def test_commit_of_nothing_the_map_covers_prints_no_line(shimmed: GitRepo) -> None:
    lines = commit_lines(shimmed, ".float/boot.md", "# Boot\n\nnew notes\n")
    assert lines == []
