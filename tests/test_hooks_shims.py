"""Plain git hook shims (`float-hooks install`) driven by real git commands."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.gitrepo import GitRepo, init_repo
from tests.map_support import (
    assert_synced_to,
    corrupt_db,
    db_files,
    make_current,
    stale,
    tree_files,
)

FOLDERS = ("/", "/docs", "/src", "/src/auth", "/src/auth/tokens")


def commit_out(repo: GitRepo, *args: str) -> str:
    return repo.git("commit", "-m", "change", *args)


def test_install_writes_executable_shims_idempotently(hooked: GitRepo) -> None:
    hooks = hooked.path / ".git" / "hooks"
    for hook in ("pre-commit", "post-commit", "post-merge", "post-checkout", "post-rewrite"):
        mode = (hooks / hook).stat().st_mode
        assert mode & stat.S_IXUSR
        text = (hooks / hook).read_text()
        assert sys.executable in text
        # a foreground hook ends by exec'ing Python (no shell left waiting: one fork less on
        # every commit); post-commit starts it in the background
        last = text.rstrip().splitlines()[-1]
        assert last.startswith('exec "$INSTALL_PYTHON"') == (hook != "post-commit"), last
    before = (hooks / "pre-commit").read_text()
    again = hooked.float_ok("install")
    assert "pre-commit: already installed" in again.out
    assert (hooks / "pre-commit").read_text() == before
    assert not list(hooks.glob("*.float-legacy"))


def test_plain_commit_marks_changed_folders_and_reports_one_line(hooked: GitRepo) -> None:
    hooked.write("src/auth/login.py", "def login(): return 1\n")
    hooked.git("add", "src/auth/login.py")
    out = commit_out(hooked)
    assert "float: 3 folders changed, 3 newly stale: /src/auth /src /" in out
    assert stale(hooked) == {"/", "/src", "/src/auth"}
    assert_synced_to(hooked)
    assert hooked.git("status", "--porcelain") == ""  # the hook wrote no tracked file


def test_commit_all_reads_the_temporary_index(hooked: GitRepo) -> None:
    hooked.write("docs/guide.md", "# guide v2\n")  # not staged: only `commit -a` records it
    out = commit_out(hooked, "-a")
    assert "float: 2 folders changed, 2 newly stale: /docs /" in out
    assert stale(hooked) == {"/", "/docs"}
    assert_synced_to(hooked)


def test_partial_commit_does_not_mark_staged_but_uncommitted_folder(hooked: GitRepo) -> None:
    hooked.write("docs/guide.md", "# staged only\n")
    hooked.git("add", "docs/guide.md")
    hooked.write("src/app.py", "print('v2')\n")
    out = commit_out(hooked, "--", "src/app.py")
    assert "/src" in out and "/docs" not in out
    assert stale(hooked) == {"/", "/src"}
    assert_synced_to(hooked)
    assert "M  docs/guide.md" in hooked.git("status", "--porcelain")  # still staged, unmarked


def test_amend_that_reverts_a_change_makes_the_folder_current_again(hooked: GitRepo) -> None:
    original = (hooked.path / "docs/guide.md").read_text()
    hooked.write("docs/guide.md", "# changed\n")
    hooked.commit("change docs")
    assert stale(hooked) == {"/", "/docs"}
    hooked.write("docs/guide.md", original)
    hooked.write("src/app.py", "print('amended')\n")
    hooked.git("add", "-A")
    hooked.git("commit", "--amend", "-m", "amended")
    assert stale(hooked) == {"/", "/src"}
    assert_synced_to(hooked)


def test_merge_clean_and_with_conflict_resolution(hooked: GitRepo) -> None:
    hooked.git("switch", "-c", "feature")
    hooked.write("src/app.py", "print('feature')\n")
    hooked.write("docs/new.md", "new\n")
    hooked.commit("feature work")
    hooked.git("switch", "main")
    assert_synced_to(hooked)  # post-checkout followed the branch switch
    hooked.write("src/auth/login.py", "def login(): return 2\n")
    hooked.commit("main work")
    # the background post-commit is done (else, still running, it could sync the merge)
    assert_synced_to(hooked)
    hooked.git("merge", "-q", "--no-edit", "feature", "-m", "merge feature")  # post-merge
    assert_synced_to(hooked)
    assert "/docs/new.md" in db_files(hooked)

    hooked.git("switch", "-c", "other", "HEAD~1")
    hooked.write("src/app.py", "print('other')\n")
    hooked.commit("other work")
    hooked.git("switch", "main")
    out = hooked.git("merge", "other", check=False)
    assert "CONFLICT" in out
    hooked.write("src/app.py", "print('resolved')\n")
    hooked.git("add", "src/app.py")
    hooked.git("commit", "--no-edit")  # pre-commit + post-commit finish the merge
    assert_synced_to(hooked)
    assert "/src" in stale(hooked)


def test_multi_commit_rebase_and_cherry_pick(hooked: GitRepo) -> None:
    hooked.git("switch", "-c", "topic")
    for i in range(3):
        hooked.write(f"src/auth/t{i}.py", f"T = {i}\n")
        hooked.commit(f"topic {i}")
    hooked.git("switch", "main")
    hooked.write("docs/guide.md", "# main moved on\n")
    hooked.commit("main moves")
    hooked.git("switch", "topic")
    hooked.git("rebase", "-q", "main")
    assert_synced_to(hooked)
    assert {"/src/auth/t0.py", "/src/auth/t2.py", "/docs/guide.md"} <= set(db_files(hooked))

    hooked.git("switch", "-c", "pick", "main")
    assert_synced_to(hooked)
    hooked.git("cherry-pick", "topic~1")
    assert_synced_to(hooked)
    assert "/src/auth/t1.py" in db_files(hooked) and "/src/auth/t2.py" not in db_files(hooked)


def test_detached_head_and_file_checkout(hooked: GitRepo) -> None:
    first = hooked.head()
    hooked.write("src/app.py", "print('two')\n")
    hooked.commit("two")
    assert_synced_to(hooked)  # the background post-commit is done: the checkout's hook syncs
    hooked.git("checkout", "-q", "--detach", first)
    assert_synced_to(hooked)
    hooked.write("docs/guide.md", "# detached\n")
    hooked.commit("on a detached head")
    assert_synced_to(hooked)
    hooked.write("docs/guide.md", "# scratch\n")
    hooked.git("checkout", "--", "docs/guide.md")  # file checkout: post-checkout flag 0
    assert_synced_to(hooked)


def test_linked_worktree_has_its_own_database(hooked: GitRepo, tmp_path: Path) -> None:
    main_base = hooked.head()
    wt_path = tmp_path / "wt"
    out = hooked.git("worktree", "add", "-q", "-b", "wt", str(wt_path))
    assert "float: built the map: 5 folders" in out and "stale" not in out
    wt = GitRepo(wt_path)
    assert (wt_path / ".float" / "index.db").exists()  # built by post-checkout
    assert_synced_to(wt)
    wt.write("src/auth/wt.py", "WT = 1\n")
    wt.commit("in the worktree")
    assert_synced_to(wt)
    assert "/src/auth/wt.py" not in db_files(hooked)
    assert_synced_to(hooked, main_base)


def test_initial_commit_in_an_empty_repository(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "empty")
    repo.float_ok("init")
    repo.float_ok("install")
    repo.write("a/b.txt", "b\n")
    repo.write("c.txt", "c\n")
    repo.commit("first")
    assert_synced_to(repo)
    assert set(repo.folders()) == {"/", "/a"}


def test_existing_hook_is_kept_run_and_restored(synced: GitRepo) -> None:
    hooks = synced.path / ".git" / "hooks"
    log = synced.path.parent / "legacy.log"
    own = (f"#!/bin/sh\necho \"$0 $*\" >> '{log}'\n"
           + "if [ -f \"$(git rev-parse --show-toplevel)/BLOCK\" ]; then exit 3; fi\n")
    for name in ("pre-commit", "post-rewrite"):
        (hooks / name).write_text(own + (f"cat >> '{log}'\n" if name == "post-rewrite" else ""))
        (hooks / name).chmod(0o755)
    synced.commit("float init")
    r = synced.float_ok("install")
    assert "kept the existing hook as pre-commit.float-legacy" in r.out
    make_current(synced)
    synced.write("src/app.py", "print('x')\n")
    synced.commit("with both hooks")
    assert "pre-commit.float-legacy" in log.read_text()
    assert "/src" in stale(synced)
    synced.git("commit", "--amend", "-m", "amended")
    assert "post-rewrite.float-legacy amend" in log.read_text()
    assert synced.head() in log.read_text()  # the legacy hook got git's stdin

    synced.write("BLOCK", "")
    synced.write("docs/guide.md", "# blocked\n")
    synced.git("add", "-A")
    out = synced.git("commit", "-m", "blocked", check=False)
    assert "blocked" not in synced.git("log", "-1", "--format=%s")  # legacy's exit 3 counts
    assert "float:" not in out

    r = synced.float_ok("uninstall")
    assert "restored the previous hook" in r.out
    assert (hooks / "pre-commit").read_text().startswith("#!/bin/sh\necho")
    assert not (hooks / "post-commit").exists()
    assert not list(hooks.glob("*.float-legacy"))


def test_framework_hook_is_not_overwritten_without_force(synced: GitRepo) -> None:
    hook = synced.path / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/usr/bin/env bash\n# File generated by pre-commit: https://pre-commit.com\n"
                    "exit 0\n")
    hook.chmod(0o755)
    r = synced.float_proc("install")
    assert r.code == 2 and "Traceback" not in r.err
    [line] = r.err.splitlines()  # the other hooks are installed (stdout), this one refused
    assert "managed by the pre-commit framework" in line and "--force" in line
    assert "File generated by pre-commit" in hook.read_text()
    assert "post-commit: installed" in r.out
    r = synced.float_ok("install", "--force")
    assert "float-hooks shim" in hook.read_text()
    assert (hook.parent / "pre-commit.float-legacy").exists()


def test_core_hooks_path_is_honoured(synced: GitRepo) -> None:
    synced.git("config", "core.hooksPath", "githooks")
    synced.commit("float init")
    synced.float_ok("install", "--hooks", "pre-commit,post-commit")
    assert (synced.path / "githooks" / "post-commit").exists()
    assert not (synced.path / ".git" / "hooks" / "post-commit").exists()
    make_current(synced)
    synced.write("docs/guide.md", "# v3\n")
    synced.commit("via hooksPath")
    assert "/docs" in stale(synced)


def test_not_initialised_repository_is_left_alone(repo: GitRepo) -> None:
    repo.float_ok("install")
    repo.write("x.txt", "x\n")
    repo.git("add", "-A")
    out = repo.git("commit", "-m", "x")
    assert "float" not in out
    assert not (repo.path / ".float").exists()


def test_corrupt_database_is_rebuilt_and_a_locked_one_fails_only_strict(
        hooked: GitRepo) -> None:
    hooked.float_ok("set", "/src", "--summary", "kept through the damage")
    corrupt_db(hooked)
    hooked.write("src/app.py", "print('lands anyway')\n")
    hooked.git("add", "-A")
    out = hooked.git("commit", "-m", "lands")
    assert "lands" in hooked.git("log", "-1", "--format=%s")
    damage = [ln for ln in out.splitlines() if "corrupt" in ln]
    assert damage and "kept it as index.db.corrupt" in damage[0]
    assert (hooked.path / ".float" / "index.db.corrupt").exists()
    assert hooked.float_json("show", "/src")["map_summary"] == "kept through the damage"

    config = hooked.path / ".float" / "config.toml"
    config.write_text(config.read_text().replace("lock_timeout = 30", "lock_timeout = 1"))
    holder = sqlite3.connect(hooked.path / ".float" / "index.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        hooked.write("src/app.py", "print('locked, lands')\n")
        hooked.git("add", "-A")
        out = hooked.git("commit", "-m", "locked lands")
        assert "locked lands" in hooked.git("log", "-1", "--format=%s")
        assert "locked" in out and "hook skipped" in out
        config.write_text(config.read_text().replace("strict = false", "strict = true"))
        hooked.write("src/app.py", "print('blocked')\n")
        hooked.git("add", "-A")
        out = hooked.git("commit", "-m", "refused", check=False)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "refused" not in hooked.git("log", "-1", "--format=%s")
    assert "strict" in out and "locked" in out


def test_float_check_threshold_fails_the_commit(hooked: GitRepo) -> None:
    hooked.float_ok("install", "--check")
    hooked.write("docs/guide.md", "# one\n")
    commit_out(hooked, "-a")  # no threshold configured: passes
    config = hooked.path / ".float" / "config.toml"
    config.write_text(config.read_text().replace('folders = []', 'folders = ["/src/auth"]'))
    hooked.write("src/app.py", "print('allowed')\n")
    commit_out(hooked, "--", "src/app.py")
    hooked.write("src/auth/login.py", "def login(): return 3\n")
    hooked.git("add", "src/auth/login.py")
    out = hooked.git("commit", "-m", "refused", check=False)
    assert "float-check: watched folders are stale: /src/auth" in out
    assert "refused" not in hooked.git("log", "-1", "--format=%s")
    r = hooked.float("check", "--staged")
    assert r.code == 1 and "/src/auth" in r.err


def test_concurrent_hooks_and_sync_are_safe(hooked: GitRepo) -> None:
    hooked.write("src/auth/tokens/jwt.py", "JWT = 2\n")
    hooked.git("add", "-A")
    hooked.git("-c", "core.hooksPath=/dev/null", "commit", "-q", "-m", "hooks off")
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "float_hooks", *args], cwd=hooked.path,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ))
        for args in (["hook-impl", "post-commit"], ["hook-impl", "post-merge", "0"],
                     ["sync", "--rev", "HEAD"], ["hook-impl", "post-commit"],
                     ["hook-impl", "pre-commit"])
    ]
    for p in procs:
        _out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        assert b"float-hooks:" not in err  # no internal error, no lock failure
    assert_synced_to(hooked)
    assert stale(hooked) == {"/", "/src", "/src/auth", "/src/auth/tokens"}


@pytest.mark.parametrize("paths", ["none", "package-only"])
def test_shim_falls_back_to_a_normal_start_when_an_import_fails(
        synced: GitRepo, monkeypatch: pytest.MonkeyPatch, paths: str) -> None:
    """-I -S skips site processing; a module only site can find must not break the hook."""
    from float_hooks.commands import install

    root = str(Path(install.__file__).resolve().parents[2])
    monkeypatch.setattr(install, "import_paths", lambda: [] if paths == "none" else [root])
    config = synced.path / ".float" / "config.toml"
    # excludes make the sync import pathspec, which lives in site-packages
    config.write_text(config.read_text().replace("exclude = []", 'exclude = ["*.log"]'))
    synced.float_ok("install")
    synced.commit("float init")
    make_current(synced)
    synced.write("src/auth/login.py", "def login(): return 'fallback'\n")
    synced.write("src/auth/debug.log", "excluded\n")
    synced.git("add", "-A")
    out = commit_out(synced)
    assert "float: 3 folders changed, 3 newly stale: /src/auth /src /" in out
    assert "float-hooks:" not in out
    expected = {p: h for p, h in tree_files(synced).items() if not p.endswith(".log")}
    assert db_files(synced) == expected
