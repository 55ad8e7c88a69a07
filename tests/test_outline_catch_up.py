"""Search and `where` outline what is missing first; once every file was outlined, a change
makes them look only at the changed folders' files, not at every file of the map."""

from __future__ import annotations

import time

import pytest

from float_hooks.code import answers
from float_hooks.map import build
from float_hooks.project import Project
from float_hooks.repo.snapshot import Target
from float_hooks.store import db
from float_hooks.store.db import Store
from tests.gitrepo import GitRepo

FULL_SCAN = "FROM files f WHERE"  # answers._MISSING over every file


def _open(repo: GitRepo) -> tuple[Project, Store]:
    project = Project.discover(repo.path)
    return project, build.open_built(project)


def _second_over(store: Store) -> None:
    """Wait until the newest change's second is over: the outlined mark is recorded only then
    (changes are stamped to the second)."""
    mark = store.conn.execute("SELECT max(updated_at) FROM folders").fetchone()[0]
    while db.now() <= mark:
        time.sleep(0.05)


def _statements(store: Store, run: object) -> list[str]:
    seen: list[str] = []
    store.conn.set_trace_callback(seen.append)
    try:
        assert callable(run)
        run()
    finally:
        store.conn.set_trace_callback(None)
    return seen


def test_after_a_change_only_the_changed_folders_are_outlined(repo: GitRepo) -> None:
    for i in range(6):
        repo.write(f"pkg{i}/mod.py", f"def old_{i}():\n    return {i}\n")
    repo.commit("code")
    repo.float_ok("init")
    project, store = _open(repo)
    try:
        git = project.git
        assert answers.ensure_fresh(store.conn, git) == 0  # everything outlined
        assert not answers.all_outlined(store.conn) or db.now() > store.conn.execute(
            "SELECT max(updated_at) FROM folders").fetchone()[0]  # not in the change's second
        _second_over(store)
        assert answers.ensure_fresh(store.conn, git) == 0
        assert answers.all_outlined(store.conn)  # recorded
        quiet = _statements(store, lambda: answers.ensure_fresh(store.conn, git))
        assert not any("outline_blobs" in s for s in quiet)  # nothing changed: no look at all

        repo.write("pkg2/mod.py", "def renamed_two():\n    return 2\n")
        repo.write("fresh/new.py", "class BrandNew:\n    pass\n")
        build.sync(project, store, Target("worktree"))
        seen = _statements(store, lambda: answers.ensure_fresh(store.conn, git))
        assert not any(FULL_SCAN in s for s in seen), seen
        assert any("d.updated_at >=" in s for s in seen), seen
        names = {s["name"] for s in answers.where(store.conn, git, "BrandNew")["places"]}
        assert names == {"BrandNew"}
        assert answers.where(store.conn, git, "renamed_two")["places"]

        # a mark left by another outliner version: every file is looked at again, once
        store.conn.execute("UPDATE meta SET value = '0:' || substr(value, 3)"
                           " WHERE key = ?", (answers.OUTLINED_KEY,))
        store.conn.commit()
        repo.write("pkg4/mod.py", "def four_again():\n    return 4\n")
        build.sync(project, store, Target("worktree"))
        seen = _statements(store, lambda: answers.ensure_fresh(store.conn, git))
        assert any(FULL_SCAN in s for s in seen), seen
        assert answers.where(store.conn, git, "four_again")["places"]
    finally:
        store.close()


def test_a_change_in_the_seconds_of_the_mark_is_outlined(
        repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    """Changes are stamped to the second: a mark recorded while its second runs would hide a
    change made later in that second (it carries the same stamp)."""
    repo.write("pkg1/mod.py", "def one():\n    return 1\n")
    repo.commit("code")
    repo.float_ok("init")
    project, store = _open(repo)
    try:
        git = project.git
        repo.write("pkg1/mod.py", "def one_again():\n    return 1\n")
        build.sync(project, store, Target("worktree"))
        mark = store.conn.execute("SELECT max(updated_at) FROM folders").fetchone()[0]
        # the clock still in the change's second
        monkeypatch.setattr(answers, "now", lambda: mark, raising=False)
        assert answers.ensure_fresh(store.conn, git) == 0
        assert not answers.all_outlined(store.conn)  # not recorded while its second runs
        repo.write("pkg2/mod.py", "def later_same_second():\n    return 2\n")
        build.sync(project, store, Target("worktree"))
        store.conn.execute("UPDATE folders SET updated_at = ? WHERE updated_at > ?",
                           (mark, mark))
        store.conn.commit()
        assert answers.where(store.conn, git, "later_same_second")["places"]
    finally:
        store.close()
