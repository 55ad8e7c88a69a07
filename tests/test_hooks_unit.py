"""Small pieces of the hook path: discovery in one git call, the report line, hidden command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from float_hooks.errors import NotARepository
from float_hooks.git import Git
from float_hooks.hooks import stale_line
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
    assert stale_line([]) == ""
    assert stale_line(["/", "/src", "/src/auth"]) == "float: 3 folders go stale: /src/auth /src /"
    assert stale_line(["/docs"]) == "float: 1 folder goes stale: /docs"
    many = stale_line([f"/f{i:02d}" for i in range(20)])
    assert many.endswith("(+14 more)") and "\n" not in many


def test_hook_impl_is_hidden_from_help_but_runs(repo: GitRepo) -> None:
    out = subprocess.run([sys.executable, "-m", "float_hooks", "--help"], capture_output=True,
                         text=True).stdout
    assert "install" in out and "hook-impl" not in out
    r = repo.float_proc("hook-impl", "post-commit")  # no .float/ here: nothing to do, exit 0
    assert r.code == 0 and r.err == ""
