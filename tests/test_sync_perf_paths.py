"""The sync core's fast paths give the same answers as the plain ones (no timings here: the
benchmark in bench/ measures; these tests prove the shortcuts are behaviour-preserving)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from float_hooks.map.build import open_built
from float_hooks.map.sync import sync
from float_hooks.pages import importer
from float_hooks.repo.git import Git
from float_hooks.repo.snapshot import Target
from float_hooks.store import db
from float_hooks.store.db import Store
from tests.gitrepo import GitRepo
from tests.map_support import db_files, derived


def test_staged_new_file_deleted_from_work_tree_is_absent_in_a_full_sync(repo: GitRepo) -> None:
    # the index holds b.py, the work tree does not, head never had it: a full plan starts
    # from the index and must still drop it, as the incremental one does
    repo.write("a.py", "a\n")
    repo.commit("one")
    repo.write("b.py", "b\n")
    repo.git("add", "b.py")
    repo.remove("b.py")
    repo.float_ok("init")
    assert set(db_files(repo)) == {"/a.py"}
    assert repo.float_json("sync", "--full")["files_changed"] == 0
    assert set(db_files(repo)) == {"/a.py"}
    repo.float_ok("sync", "--staged")  # the index snapshot does hold it
    assert set(db_files(repo)) == {"/a.py", "/b.py"}


def test_work_tree_sync_does_not_hash_float_files(repo: GitRepo) -> None:
    # right after `init`, .float/boot.md and config.toml are untracked; they are out of scope,
    # so a no-op sync must not hash them (hashing imports pygit2, ~50-90 ms per sync)
    repo.write("src/a.py", "a\n")
    repo.commit("one")
    repo.float_ok("init")
    probe = (
        "import sys\n"
        "from float_hooks.main import main\n"
        "rc = main(['sync'])\n"
        "print('PYGIT2' if 'pygit2' in sys.modules else 'NO-PYGIT2')\n"
        "sys.exit(rc)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=repo.path, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip().endswith("NO-PYGIT2"), out
    assert "/.float/boot.md" not in db_files(repo)


def test_folder_hashing_scan_path_equals_lookup_path(
    repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # apply.py reads the dirty folders' children with one table scan when many folders are
    # dirty and with indexed lookups otherwise; both must give the same DB and report
    steps: list[dict[str, str | None]] = [
        {"a/b/c/one.py": "1", "a/b/two.py": "2", "a/x/three.py": "3", "top.md": "t",
         "d/e/f/g/deep.txt": "deep"},
        {"a/b/c/one.py": "1'", "d/e/f/g/deep.txt": None, "d/e/new.txt": "n"},
        {"a/x/three.py": None, "a/y/three.py": "3", "top.md": None},  # a/x -> a/y
        {"a/b/c/one.py": "1", "d/e/new.txt": None, "z/only.py": "z"},  # revert, empty d/
    ]
    g = Git.discover(repo.path)
    stores = {n: Store.open(tmp_path / f"{n}.db", create=True) for n in ("scan", "lookup")}
    for step in steps:
        for rel, content in step.items():
            if content is None:
                repo.remove(rel)
            else:
                repo.write(rel, content + "\n")
        repo.commit("step")
        reports = {}
        for name, store in stores.items():
            monkeypatch.setattr(db, "SCAN_ABOVE", 0 if name == "scan" else 10**9)
            a = sync(g, store, Target("commit")).applied
            reports[name] = (sorted(a.added), sorted(a.removed), sorted(a.folders_changed),
                             sorted(a.became_stale), sorted(a.moved), sorted(a.archived))
            with store.write() as conn:  # give every folder context: exercises stale/moves
                conn.execute("UPDATE folders SET context_hash = source_hash,"
                             " map_summary = 'ctx ' || path WHERE context_hash IS NULL")
        assert reports["scan"] == reports["lookup"]
        assert derived(stores["scan"]) == derived(stores["lookup"])
    fresh = Store.open(tmp_path / "fresh.db", create=True)
    sync(g, fresh, Target("commit"))
    assert derived(fresh) == derived(stores["scan"])


def test_commit_diff_reads_no_index_and_creates_none(repo: GitRepo) -> None:
    # diff-tree runs with GIT_INDEX_FILE at a path that never exists (it would otherwise
    # read the whole index): the diff is still right, and nothing is written there
    repo.write("src/a.py", "a\n")
    repo.write("src/b.py", "b\n")
    repo.commit("one")
    repo.float_ok("init")
    repo.write("src/a.py", "a2\n")
    repo.write("docs/new.md", "n\n")
    repo.remove("src/b.py")
    repo.git("add", "-A")
    repo.git("rm", "-q", "--cached", "docs/new.md")  # index != commit: must not matter
    repo.git("commit", "-q", "-m", "two")
    result = repo.float_json("sync", "--rev", "HEAD")
    assert result["mode"] == "incremental"
    assert result["files_changed"] == 2
    assert set(db_files(repo)) == {"/src/a.py"}
    assert not (repo.path / ".git" / "float-no-index").exists()


def test_first_build_in_two_steps_equals_a_one_pass_rebuild(repo: GitRepo, tmp_path: Path) -> None:
    # A first work-tree build writes the index's listing while `git status` runs, then what
    # the work tree changes on top. Here the work tree adds a folder, empties another, and
    # differs from the index both ways; the one-pass rebuild (`full=True` on a store that
    # is not empty) must find the same tables and the report must describe the final tree.
    for rel in ("keep/a.py", "gone/only.py", "gone/deeper/x.py", "mod/m.py", "top.md"):
        repo.write(rel, rel + "\n")
    repo.commit("base")
    repo.remove("gone/only.py")
    repo.remove("gone/deeper/x.py")  # /gone and /gone/deeper exist only in the index
    repo.write("new/deep/u.txt", "untracked\n")  # /new/deep only in the work tree
    repo.write("mod/m.py", "staged\n")
    repo.git("add", "mod/m.py")
    repo.write("mod/m.py", "mod/m.py\n")  # staged, then back to HEAD's content
    repo.write("keep/b.py", "staged new\n")
    repo.git("add", "keep/b.py")
    g = Git.discover(repo.path)
    first = Store.open(tmp_path / "first.db", create=True)
    result = sync(g, first, Target("worktree")).applied
    assert sorted(result.added) == sorted(result.folders_changed) == [
        "/", "/keep", "/mod", "/new", "/new/deep"]
    assert result.removed == []
    assert result.files_changed == 5
    again = Store.open(tmp_path / "first.db")
    assert sync(g, again, Target("worktree"), full=True).applied.files_changed == 0
    assert derived(again)[0] == [
        ("/keep/a.py", "/keep", "100644", g.run("rev-parse", "HEAD:keep/a.py").decode().strip()),
        ("/keep/b.py", "/keep", "100644", g.run("rev-parse", ":keep/b.py").decode().strip()),
        ("/mod/m.py", "/mod", "100644", g.run("rev-parse", "HEAD:mod/m.py").decode().strip()),
        ("/new/deep/u.txt", "/new/deep", "100644",
         g.run("hash-object", "new/deep/u.txt").decode().strip()),
        ("/top.md", "/", "100644", g.run("rev-parse", "HEAD:top.md").decode().strip()),
    ]
    # the same tables as a one-pass build into a store that already has rows
    other = Store.open(tmp_path / "other.db", create=True)
    sync(g, other, Target("commit"))
    sync(g, other, Target("worktree"), full=True)
    assert derived(other) == derived(again)


def test_first_build_after_an_import_leaves_imported_context_where_it_was(
        repo: GitRepo, tmp_path: Path) -> None:
    # What `watch` (and a post-checkout in a fresh clone) does: import the committed export
    # into a new DB, then sync the work tree. The imported context waits in the archive for
    # its folders; the work tree has edited /a, deleted /b and moved c/z.py to d/. The
    # two-step first build must not run here: between its steps /c vanishes and /d appears,
    # which would move /c's context to /d and archive /b's as deleted.
    from float_hooks.project import Project

    for rel in ("a/x.py", "b/y.py", "c/z.py", "README.md"):
        repo.write(rel, rel + "\n")
    repo.commit("init")
    repo.float_ok("init")
    for folder in ("/", "/a", "/b", "/c"):
        repo.float_ok("set", folder, "--what", f"ctx {folder}")
    repo.float_ok("export")
    repo.git("add", "-A")
    repo.commit("export")
    clone = GitRepo(tmp_path / "clone")
    subprocess.run(["git", "clone", "-q", str(repo.path), str(clone.path)], check=True)
    clone.write("a/x.py", "edited\n")
    clone.remove("b/y.py")
    clone.write("d/z.py", "c/z.py\n")
    clone.remove("c/z.py")
    project = Project.discover(clone.path)
    store = open_built(project, create=True)
    importer.import_if_changed(project, store)
    result = sync(project.git, store, Target("worktree"), scope=project.scope()).applied
    assert result.moved == [] and result.archived == []
    q = store.conn.execute
    assert dict(q("SELECT path, status FROM folders").fetchall()) == {
        "/": "stale", "/a": "stale", "/d": "pending"}
    waiting = {r[0] for r in q("SELECT path FROM archived_folders"
                               " WHERE reason = 'imported' AND restored_at IS NULL")}
    assert waiting == {"/b", "/c"}
    store.close()


def test_garbage_collection_is_paused_during_a_sync_and_restored_after(
    repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc

    from float_hooks.map import sync as sync_module

    repo.write("a/one.py", "1\n")
    repo.commit("one")
    seen: list[bool] = []
    real = sync_module.apply_changes
    real_first = sync_module.write_listing  # a first build's writer

    def spy(*args: object, **kwargs: object) -> object:
        seen.append(gc.isenabled())
        return real(*args, **kwargs)  # type: ignore[arg-type]

    def spy_first(*args: object, **kwargs: object) -> object:
        seen.append(gc.isenabled())
        return real_first(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sync_module, "apply_changes", spy)
    monkeypatch.setattr(sync_module, "write_listing", spy_first)
    store = Store.open(tmp_path / "s.db", create=True)
    g = Git.discover(repo.path)
    assert gc.isenabled()
    sync(g, store, Target("commit"))
    assert seen == [False] and gc.isenabled()
    # a failing sync restores it too, and a caller that had it off keeps it off
    monkeypatch.setattr(sync_module, "apply_changes", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        sync(g, store, Target("commit"), full=True)
    assert gc.isenabled()
    gc.disable()
    try:
        monkeypatch.setattr(sync_module, "apply_changes", real)
        sync(g, store, Target("commit"), full=True)
        assert not gc.isenabled()
    finally:
        gc.enable()


@pytest.mark.parametrize("count", [0, 1, 141, 142, 143, 3 * 142 + 7])
def test_insert_rows_writes_what_one_statement_per_row_writes(count: int) -> None:
    import sqlite3

    conn = sqlite3.connect(":memory:", isolation_level=None)
    # 7 columns: 142 rows per statement (999 // 7); counts around that and a remainder
    conn.execute("CREATE TABLE t (a PRIMARY KEY, b, c, d, e, f, g)")
    rows = [(f"k{i}", i, None, "x" * (i % 3), 1.5, b"\0", "\n") for i in range(count)]
    db.insert_rows(conn, "INSERT INTO t(a, b, c, d, e, f, g)", rows)
    assert conn.execute("SELECT * FROM t ORDER BY b").fetchall() == rows
    # an upsert tail applies to every statement; a key twice is updated in order
    again = [(f"k{i}", -i, "new", "", 0.0, b"", "") for i in range(count)] + rows[:1]
    db.insert_rows(conn, "INSERT INTO t(a, b, c, d, e, f, g)", again,
                   "ON CONFLICT(a) DO UPDATE SET b = excluded.b, c = excluded.c")
    got = conn.execute("SELECT a, b, c FROM t ORDER BY a").fetchall()
    want = {f"k{i}": (f"k{i}", -i, "new") for i in range(count)}
    if rows:
        want["k0"] = ("k0", 0, None)
    assert got == sorted(want.values())


def test_plain_listing_parser_agrees_with_the_record_parser(repo: GitRepo) -> None:
    from float_hooks.repo import git as git_module

    sha1 = "a" * 40
    sha256 = "b" * 64

    def listing(*records: tuple[str, str, int, bytes]) -> bytes:
        return b"".join(f"{m} {o} {s}\t".encode() + p + b"\0" for m, o, s, p in records)

    plain = listing(("100644", sha1, 0, b"a b.txt"), ("100755", sha1, 0, b"run\tme"),
                    ("120000", sha1, 0, "caf\u00e9/link".encode()),
                    ("160000", sha1, 0, b"sub"), ("100644", sha1, 0, b"new\nline"))
    cases = {
        "plain": (plain, True),
        "sha256": (listing(("100644", sha256, 0, b"x"), ("100755", sha256, 0, b"d/y")), True),
        "empty": (b"", True),
        "conflict": (plain + listing(("100644", sha1, 1, b"c"), ("100644", "c" * 40, 2, b"c"),
                                     ("100644", "d" * 40, 3, b"c")), False),
        "not utf-8": (plain + listing(("100644", sha1, 0, b"bad\xff")), False),
        "odd mode": (listing(("100664", sha1, 0, b"old")), False),
        "mixed widths": (listing(("100644", sha1, 0, b"x"), ("100644", sha256, 0, b"y")), False),
    }
    for name, (out, fast) in cases.items():
        general = git_module._parse_listing_records(out)
        assert (git_module._parse_plain_listing(out) is not None) == fast, name
        assert git_module.parse_ls_files(out) == general, name
    assert git_module.parse_ls_files(cases["conflict"][0])["/c"] == ("100644", "c" * 40)
    # and a real index, with a symlink and a file name with a tab and a newline
    repo.write("src/a b.py", "a\n")
    repo.write("src/tab\there\nnl.txt", "t\n")
    (repo.path / "link").symlink_to("src")
    repo.commit("one")
    out = Git.discover(repo.path).run("ls-files", "-s", "-z")
    got = git_module._parse_plain_listing(out)
    assert got is not None and got == git_module._parse_listing_records(out)
    assert set(got) == {"/src/a b.py", "/src/tab\there\nnl.txt", "/link"}


def test_scope_present_keeps_exactly_what_is_in_scope() -> None:
    from float_hooks import paths
    from float_hooks.repo.scope import Scope

    e = ("100644", "a" * 40)
    kept = {"/a.py": e, "/.floaty": e, "/src/.float/x": e, "/.float-x/y": e}
    for extra in ({}, {"/.float/index.md": e}, {"/.float": e}, {"/gone.py": None},
                  {"/.float/a/b.yaml": e, "/b.py": None}):
        values = {**kept, **extra}
        got = Scope([]).present(values)
        assert got == {p: v for p, v in values.items()
                       if v is not None and not paths.is_float_path(p)}, extra
        assert got == kept and got is not values


@pytest.mark.skipif(not hasattr(os, "getpriority"), reason="no process priorities here")
def test_a_first_build_runs_git_status_below_its_own_priority(
    repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.write("a/one.py", "1\n")
    repo.commit("one")
    g = Git.discover(repo.path)
    # the priority git runs at (and passes to what it starts), seen from outside
    proc = g.start("-c", "alias.nap=!sleep 30", "nap", yielding=True)
    try:
        own = os.getpriority(os.PRIO_PROCESS, 0)
        assert os.getpriority(os.PRIO_PROCESS, proc.pid) == max(own, 10)  # never raised
    finally:
        proc.kill()
        proc.communicate()
    plain = g.start("-c", "alias.nap=!sleep 30", "nap")
    try:
        assert os.getpriority(os.PRIO_PROCESS, plain.pid) == os.getpriority(os.PRIO_PROCESS, 0)
    finally:
        plain.kill()
        plain.communicate()
    # which reads yield: the status a first work-tree build writes its listing beside, and
    # no read of a later sync (it waits for git with nothing else to do)
    seen: list[tuple[str, bool]] = []
    real = Git.start

    def spy(self: Git, *args: str, yielding: bool = False) -> object:
        seen.append((args[0], yielding))
        return real(self, *args, yielding=yielding)

    monkeypatch.setattr(Git, "start", spy)
    store = Store.open(tmp_path / "s.db", create=True)
    sync(g, store, Target("worktree"))
    assert ("status", True) in seen
    seen.clear()
    repo.write("a/two.py", "2\n")
    sync(g, store, Target("worktree"))
    assert seen and not any(y for _, y in seen)
