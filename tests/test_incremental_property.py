"""Property: after any sequence of edits, commits and syncs, the incrementally maintained DB
holds exactly what a fresh full sync of the same snapshot holds."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from float_hooks.db import Store
from float_hooks.git import Git
from float_hooks.snapshot import Target
from float_hooks.sync import Scope, sync

NAMES = ["a.py", "b.md", "c d.txt", "sub/x.py", "sub/y.py", "sub/deep/z.py", "other/w.py",
         "other/deep/er/v.py", "ü/é.txt"]

edit = st.tuples(st.just("write"), st.sampled_from(NAMES), st.integers(0, 3))
delete = st.tuples(st.just("delete"), st.sampled_from(NAMES), st.just(0))
chmod = st.tuples(st.just("chmod"), st.sampled_from(NAMES), st.just(0))
commit = st.tuples(st.just("commit"), st.just(""), st.just(0))
stage = st.tuples(st.just("stage"), st.sampled_from(NAMES), st.just(0))
checkout = st.tuples(st.just("checkout"), st.just(""), st.integers(1, 3))
restore = st.tuples(st.just("restore"), st.sampled_from(NAMES), st.just(0))
# the index out of step with HEAD and the work tree in the ways `git status` reports oddly
intend = st.tuples(st.just("intend"), st.sampled_from(NAMES), st.just(0))  # git add -N
untrack = st.tuples(st.just("untrack"), st.sampled_from(NAMES), st.just(0))  # rm --cached
sync_to = st.tuples(st.just("sync"), st.sampled_from(["worktree", "index", "commit"]),
                    st.just(0))
steps = st.lists(st.one_of(edit, delete, chmod, commit, stage, checkout, restore, intend,
                           untrack, sync_to, sync_to),
                 min_size=1, max_size=14)


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def derived(store: Store) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    files = [tuple(r) for r in store.conn.execute(
        "SELECT path, mode, content_hash FROM files ORDER BY path")]
    folders = [tuple(r) for r in store.conn.execute(
        "SELECT path, parent_path, source_hash FROM folders ORDER BY path")]
    return files, folders


def target(kind: str) -> Target:
    return Target("commit") if kind == "commit" else Target(kind)  # type: ignore[arg-type]


@settings(max_examples=int(os.environ.get("FLOAT_PROP_EXAMPLES", "40")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps)
def test_incremental_equals_full(ops: list[tuple[str, str, int]]) -> None:
    root = Path(tempfile.mkdtemp(prefix="float-prop-"))
    try:
        work = root / "w"
        git(root, "init", "-q", str(work))
        (work / "seed.txt").write_text("seed\n")
        git(work, "add", "-A")
        git(work, "commit", "-qm", "seed")
        g = Git.discover(work)
        store = Store.open(root / "inc.db", create=True)
        sync(g, store, Target("worktree"))
        commits = 1
        for op, name, n in ops:
            path = work / name
            if op == "write":
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(f"{name} v{n}\n")
            elif op == "delete" and path.exists():
                path.unlink()
            elif op == "chmod" and path.exists():
                os.chmod(path, path.stat().st_mode ^ 0o100)
            elif op == "restore":  # back to the committed state: what overlays must undo
                subprocess.run(["git", "checkout", "-q", "HEAD", "--", name], cwd=work,
                               capture_output=True)
            elif op == "intend":
                subprocess.run(["git", "add", "-N", "--", name], cwd=work, capture_output=True)
            elif op == "untrack":
                subprocess.run(["git", "rm", "-q", "--cached", "--", name], cwd=work,
                               capture_output=True)
            elif op == "stage":
                git(work, "add", "-A", "--", ".")
            elif op == "commit":
                git(work, "add", "-A")
                git(work, "commit", "-qm", "step", "--allow-empty")
                commits += 1
            elif op == "checkout":
                git(work, "checkout", "-q", "-f", f"HEAD~{min(n, commits - 1)}")
                git(work, "clean", "-qfd")
                commits = max(1, commits - min(n, commits - 1))
            elif op == "sync":
                sync(g, store, target(name))
                fresh = Store.open(root / f"full-{len(list(root.iterdir()))}.db", create=True)
                sync(g, fresh, target(name), full=True)
                assert derived(store) == derived(fresh)
                fresh.close()
        # whatever happened, a final incremental work-tree sync converges
        sync(g, store, Target("worktree"))
        fresh = Store.open(root / "final.db", create=True)
        sync(g, fresh, Target("worktree"), full=True)
        assert derived(store) == derived(fresh)
        assert sync(g, store, Target("worktree"), full=True).applied.files_changed == 0
        store.close()
        fresh.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_scope_excludes_apply_the_same_way_incrementally(tmp_path: Path) -> None:
    work = tmp_path / "w"
    git(tmp_path, "init", "-q", str(work))
    for name in NAMES:
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(name)
    git(work, "add", "-A")
    git(work, "commit", "-qm", "all")
    g = Git.discover(work)
    scope = Scope(["sub/deep/", "*.md"])
    store = Store.open(tmp_path / "a.db", create=True)
    sync(g, store, Target("worktree"), scope=scope)
    (work / "sub/deep/z.py").write_text("changed")
    (work / "b.md").write_text("changed")
    (work / "a.py").write_text("changed")
    assert sync(g, store, Target("worktree"), scope=scope).applied.files_changed == 1
    fresh = Store.open(tmp_path / "b.db", create=True)
    sync(g, fresh, Target("worktree"), scope=scope, full=True)
    assert derived(store) == derived(fresh)
