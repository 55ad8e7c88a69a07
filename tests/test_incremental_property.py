"""Property: after any sequence of edits, commits and syncs, the incrementally maintained DB
holds exactly what a fresh full sync of the same snapshot holds, and both hold what git says
the snapshot is, hashed as the format says (an expectation computed here from git's own
listings, with the hash format written out: not from the code under test)."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from float_hooks.map.sync import sync
from float_hooks.repo.git import Git
from float_hooks.repo.scope import Scope
from float_hooks.repo.snapshot import Target
from float_hooks.store.db import Store
from tests.map_support import derived

NAMES = ["a.py", "b.md", "c d.txt", "sub/x.py", "sub/y.py", "sub/deep/z.py", "other/w.py",
         "other/deep/er/v.py", "ü/é.txt", "sub/build.log"]  # *.log is git-ignored

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


# -- the expectation, from git's listings and the hash format -------------------------------
# This test never writes an empty file: an empty blob in the index is a `git add -N`
# placeholder, which a commit of the index does not record.
EMPTY_BLOB = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
FOLDER_MODE = "40000"


def git_records(cwd: Path, *args: str) -> list[str]:
    """The NUL-terminated records of ``git ARGS -z``."""
    out = subprocess.run(["git", *args, "-z"], cwd=cwd, check=True, capture_output=True).stdout
    return [rec.decode() for rec in out.split(b"\0") if rec]


def blob_id(data: bytes) -> str:
    """Git's object id of a blob: SHA-1 over ``blob <size>NUL`` and the content."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def expected_files(work: Path, kind: str) -> dict[str, tuple[str, str]]:
    """Stored path -> (mode, blob id) of the snapshot ``kind``, as git lists it."""
    files = {}
    if kind == "commit":  # <mode> SP <type> SP <id> TAB <path>
        for rec in git_records(work, "ls-tree", "-r", "--full-tree", "HEAD"):
            meta, path = rec.split("\t", 1)
            mode, _type, oid = meta.split()
            files["/" + path] = (mode, oid)
    elif kind == "index":  # <mode> SP <id> SP <stage> TAB <path>
        for rec in git_records(work, "ls-files", "--stage"):
            meta, path = rec.split("\t", 1)
            mode, oid, _stage = meta.split()
            if oid != EMPTY_BLOB:
                files["/" + path] = (mode, oid)
    else:  # tracked files still on disk and untracked ones git does not ignore, as on disk
        for path in set(git_records(work, "ls-files", "--cached", "--others",
                                    "--exclude-standard")):
            on_disk = work / path
            if on_disk.exists():
                mode = "100755" if on_disk.stat().st_mode & stat.S_IXUSR else "100644"
                files["/" + path] = (mode, blob_id(on_disk.read_bytes()))
    return files


def expected_folders(files: dict[str, tuple[str, str]]) -> dict[str, str]:
    """Folder path -> SHA-256 over its children sorted bytewise by name, each written as
    ``<mode> SP <name> NUL <hash> NUL``; a child folder has mode 40000 and its folder hash."""
    children: dict[str, dict[str, tuple[str, str]]] = {"/": {}}
    for path, entry in files.items():
        parts = path[1:].split("/")
        folder = "/"
        for name in parts[:-1]:
            sub = folder.rstrip("/") + "/" + name
            children[folder][name] = (FOLDER_MODE, sub)
            children.setdefault(sub, {})
            folder = sub
        children[folder][parts[-1]] = entry
    hashes: dict[str, str] = {}

    def hash_of(folder: str) -> str:
        text = b""
        for name in sorted(children[folder], key=str.encode):
            mode, ref = children[folder][name]
            digest = hash_of(ref) if mode == FOLDER_MODE else ref
            text += f"{mode} {name}\0{digest}\0".encode()
        hashes[folder] = hashlib.sha256(text).hexdigest()
        return hashes[folder]

    hash_of("/")
    return hashes


def assert_holds_snapshot(store: Store, work: Path, kind: str) -> None:
    files = expected_files(work, kind)
    stored_files = {r[0]: (r[1], r[2]) for r in store.conn.execute(
        "SELECT path, mode, content_hash FROM files")}
    assert stored_files == files, kind
    stored_folders = dict(store.conn.execute("SELECT path, source_hash FROM folders"))
    assert stored_folders == expected_folders(files), kind


def target(kind: str) -> Target:
    return Target("commit") if kind == "commit" else Target(kind)  # type: ignore[arg-type]


@settings(max_examples=int(os.environ.get("FLOAT_PROP_EXAMPLES", "40")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps)
# a `git add -N` placeholder: in the work tree's snapshot, not in the index's (was in both)
@example([("write", "a.py", 0), ("intend", "a.py", 0), ("sync", "index", 0)])
@example([("write", "a.py", 0), ("sync", "index", 0), ("intend", "a.py", 0),
          ("sync", "index", 0), ("delete", "a.py", 0), ("sync", "worktree", 0),
          ("sync", "index", 0)])
def test_incremental_equals_full(ops: list[tuple[str, str, int]]) -> None:
    root = Path(tempfile.mkdtemp(prefix="float-prop-"))
    try:
        work = root / "w"
        git(root, "init", "-q", str(work))
        (work / "seed.txt").write_text("seed\n")
        (work / ".gitignore").write_text("*.log\n")
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
                assert_holds_snapshot(store, work, name)
                fresh = Store.open(root / f"full-{len(list(root.iterdir()))}.db", create=True)
                sync(g, fresh, target(name), full=True)
                assert derived(store) == derived(fresh)
                fresh.close()
        # whatever happened, a final incremental work-tree sync converges
        sync(g, store, Target("worktree"))
        assert_holds_snapshot(store, work, "worktree")
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
