"""The pre-commit hook reads the tree being committed from the index's cache tree
(repo/index_tree.py) instead of reading every index entry; whenever that tree is not known
for sure it reads the index as before. Both ways report the same folders."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from float_hooks.repo.index_tree import cached_root_tree
from tests.gitrepo import GitRepo, init_repo
from tests.map_support import stale


def _write_tree(repo: GitRepo) -> str:
    """The index's tree; `git write-tree` also records it as the index's cache tree."""
    return repo.git("write-tree").strip()


def _index(repo: GitRepo) -> Path:
    return repo.path / ".git" / "index"


def test_the_root_of_a_valid_cache_tree_is_the_indexs_tree(repo: GitRepo) -> None:
    # a folder named TREE puts the signature's bytes inside the extension itself, and the
    # untracked cache adds an extension after it: the reader must still find the right one
    repo.write("TREE/TREE", "t\n")
    repo.write("src/TREE.py", "x\n")
    repo.write("a/b/c.txt", "c\n")
    repo.commit("one")
    repo.git("config", "core.untrackedCache", "true")
    repo.git("status", "--porcelain")  # writes the UNTR extension
    tree = _write_tree(repo)
    assert cached_root_tree(_index(repo)) == tree == repo.git("rev-parse", "HEAD^{tree}").strip()
    # an added file invalidates the root: unknown until a tree is written again
    repo.write("a/b/c.txt", "changed\n")
    repo.git("add", "a/b/c.txt")
    assert cached_root_tree(_index(repo)) is None
    assert cached_root_tree(_index(repo)) != (tree := _write_tree(repo))
    assert cached_root_tree(_index(repo)) == tree


def test_a_split_a_sha256_and_a_damaged_index(tmp_path: Path) -> None:
    split = init_repo(tmp_path / "split")
    split.write("a/x.txt", "x\n")
    split.commit("one")
    split.git("update-index", "--split-index")
    split.write("b/y.txt", "y\n")
    split.git("add", "b/y.txt")
    tree = _write_tree(split)
    assert cached_root_tree(_index(split)) in (None, tree)  # never a wrong tree

    sha256 = tmp_path / "sha256"
    subprocess.run(["git", "init", "-q", "--object-format=sha256", str(sha256)], check=True)
    long = GitRepo(sha256)
    long.write("a/x.txt", "x\n")
    long.commit("one")
    tree = _write_tree(long)
    assert len(tree) == 64 and cached_root_tree(_index(long)) == tree

    data = _index(long).read_bytes()
    for broken in (data[:-1], data[:40], b"DIRC" + b"\0" * 40, b""):
        _index(long).write_bytes(broken)
        assert cached_root_tree(_index(long)) is None
    assert cached_root_tree(tmp_path / "missing") is None


@pytest.mark.parametrize("how", ["plain", "all", "paths"])
def test_the_pre_commit_hook_reports_the_commit_with_or_without_the_index(
        hooked: GitRepo, tmp_path: Path, how: str) -> None:
    # `git commit` and `commit -a` write the cache tree before the hook runs (no index read);
    # `commit <paths>` hands the hook a temporary index without one (the index is read)
    hooked.write("src/auth/login.py", "def login(): return 1\n")
    hooked.write("docs/guide.md", "# changed, not committed by `commit <paths>`\n")
    args = {"plain": [], "all": ["-a"], "paths": ["src/auth/login.py"]}[how]
    if how == "plain":
        hooked.git("add", "src/auth/login.py")
    trace = tmp_path / "trace"
    out = hooked.git("commit", "-m", how, *args,
                     env={"GIT_TRACE": str(trace), "FLOAT_HOOKS_FOREGROUND": "1"})
    if how == "all":
        assert "float: 4 folders changed, 4 newly stale: /src/auth /docs /src /" in out
        assert stale(hooked) == {"/", "/src", "/src/auth", "/docs"}
    else:
        assert "float: 3 folders changed, 3 newly stale: /src/auth /src /" in out
        assert stale(hooked) == {"/", "/src", "/src/auth"}
    reads_index = "diff-index" in trace.read_text()
    assert reads_index == (how == "paths")
