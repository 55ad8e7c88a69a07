from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gitrepo import PROJECT_ROOT, GitRepo, init_repo, small_tree
from tests.map_support import assert_synced_to, make_current

PINNED = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.invalid",
    "GIT_COMMITTER_NAME": "Test Committer",
    "GIT_COMMITTER_EMAIL": "committer@example.invalid",
    "GIT_AUTHOR_DATE": "2026-01-15T12:00:00+00:00",
    "GIT_COMMITTER_DATE": "2026-01-15T12:00:00+00:00",
    "GIT_CONFIG_NOSYSTEM": "1",
}


@pytest.fixture(scope="session")
def _git_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("home")
    (home / ".gitconfig").write_text(
        "[init]\n\tdefaultBranch = main\n"
        "[protocol \"file\"]\n\tallow = always\n"
        "[advice]\n\tdetachedHead = false\n"
    )
    return home


@pytest.fixture(autouse=True)
def _no_frozen_objects() -> Iterator[None]:
    """create_app outside TESTING freezes the process's objects out of the GC (webhook): a
    test that builds such an app must not leave the rest of the run frozen."""
    yield
    gc.unfreeze()


@pytest.fixture(autouse=True)
def git_env(monkeypatch: pytest.MonkeyPatch, _git_home: Path,
            tmp_path_factory: pytest.TempPathFactory) -> None:
    """Every test sees the same git identity and config, and none of the caller's git state."""
    for var in list(os.environ):
        if var.startswith("GIT_") or var.startswith("FLOAT_"):
            monkeypatch.delenv(var)
    for k, v in PINNED.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("HOME", str(_git_home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(_git_home / ".config"))
    monkeypatch.setenv("PRE_COMMIT_HOME", str(_git_home / "pre-commit-cache"))
    # every `python -m float_hooks` a test starts runs this checkout, whatever is installed
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(PROJECT_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[GitRepo]:
    yield init_repo(tmp_path / "repo")


@pytest.fixture
def synced(repo: GitRepo) -> GitRepo:
    """A repository with a small tree, committed, initialised and synced."""
    return small_tree(repo)


@pytest.fixture
def hooked(synced: GitRepo) -> GitRepo:
    """The `synced` tree with .float/ committed, shims installed and every folder current."""
    r = synced.float("install")
    assert r.code == 0, r.err
    synced.commit("float init")
    assert_synced_to(synced)
    make_current(synced)
    assert set(synced.folders().values()) == {"current"}
    return synced
