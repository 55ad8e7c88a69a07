"""Small pieces of the hook path: discovery in one git call, the report line, hidden command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from float_hooks.errors import NotARepository
from float_hooks.repo.git import Git
from float_hooks.triggers.hooks import stale_line
from tests.gitrepo import GitRepo


def test_discover_work_tree_subdir_bare_and_git_dir(synced: GitRepo, tmp_path: Path) -> None:
    g = Git.discover(synced.path / "src" / "auth")
    assert g.work_tree == synced.path.resolve() and g.git_dir == (synced.path / ".git").resolve()
    bare = tmp_path / "b.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(synced.path), str(bare)], check=True)
    gb = Git.discover(bare)
    assert gb.work_tree is None and gb.git_dir == bare.resolve()
    with pytest.raises(NotARepository, match=r"inside the \.git directory"):
        Git.discover(synced.path / ".git")


def test_stale_line_is_one_short_line_deepest_first() -> None:
    assert stale_line([], []) == ""
    three = ["/", "/src", "/src/auth"]
    assert stale_line(three, three) == "float: 3 folders changed, 3 newly stale: /src/auth /src /"
    assert stale_line(["/docs"], ["/docs"]) == "float: 1 folder changed, 1 newly stale: /docs"
    many = stale_line([f"/f{i:02d}" for i in range(20)], [f"/f{i:02d}" for i in range(20)])
    assert many.endswith("(+14 more)") and "\n" not in many


def test_hook_impl_is_hidden_from_help_but_runs(repo: GitRepo) -> None:
    out = subprocess.run([sys.executable, "-m", "float_hooks", "--help"], capture_output=True,
                         text=True).stdout
    assert "install" in out and "hook-impl" not in out
    r = repo.float_proc("hook-impl", "post-commit")  # no .float/ here: nothing to do, exit 0
    assert r.code == 0 and r.err == ""


def test_hook_path_imports_no_heavy_library(synced: GitRepo) -> None:
    """Every hook runs on every commit: no pygit2 (~90 ms), flask, requests, yaml, GitPython,
    tree-sitter or the outlines (computed when the map's content is read, never by a hook)."""
    synced.commit("float init")
    from float_hooks.commands.install import import_paths

    code = (
        "import sys\n"
        f"sys.path.extend({import_paths()!r})\n"
        "from float_hooks.triggers.hooks import run_hook\n"
        "for hook, args in [('pre-commit', []), ('post-commit', []), ('post-merge', ['0']),\n"
        "                   ('post-checkout', ['a', 'b', '1']), ('post-rewrite', ['amend']),\n"
        "                   ('check', [])]:\n"
        "    assert run_hook(hook, args) == 0, hook\n"
        "heavy = ('pygit2', 'flask', 'requests', 'yaml', 'git', 'werkzeug', 'watchdog')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy\n"
        "             or m.startswith(('tree_sitter', 'float_hooks.code'))))\n"
    )
    proc = subprocess.run([sys.executable, "-I", "-S", "-c", code], cwd=synced.path,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
    assert "float-hooks:" not in proc.stderr
