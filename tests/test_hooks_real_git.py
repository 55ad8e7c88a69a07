"""docs/hooks.md's promises, each driven through real git commands and the installed
shims: a locked DB never costs a commit (unless strict), a teammate's export arrives with
`git pull` and `git checkout`, post-rewrite follows a rebase that makes no post-commit, and a
`git add -N` placeholder is not part of the commit."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.export_support import EXPORT
from tests.gitrepo import GitRepo, init_repo
from tests.map_support import assert_synced_to, db_files, make_current, stale, write_lock
from tests.regen_support import configure


def lock_timeout(repo: GitRepo, seconds: int) -> None:
    config = repo.path / ".float" / "config.toml"
    text = config.read_text()
    assert "lock_timeout = 30" in text
    config.write_text(text.replace("lock_timeout = 30", f"lock_timeout = {seconds}"))


def test_a_locked_database_lets_the_commit_through_and_fails_it_when_strict(
        hooked: GitRepo) -> None:
    lock_timeout(hooked, 1)
    hooked.write("src/app.py", "print('while locked')\n")
    hooked.git("add", "-A")
    with write_lock(hooked):  # another float-hooks process writing, for longer than 1 s
        out = hooked.git("commit", "-m", "lands", env={"FLOAT_HOOKS_FOREGROUND": "1"})
    assert hooked.git("log", "-1", "--format=%s").strip() == "lands"
    lines = [ln for ln in out.splitlines() if ln.startswith("float-hooks:")]
    assert lines and all("database is locked" in ln and "hook skipped" in ln for ln in lines)
    assert "Traceback" not in out

    configure(hooked, strict=True, lock_timeout=1)
    hooked.write("src/app.py", "print('refused while locked')\n")
    hooked.git("add", "-A")
    with write_lock(hooked):
        proc = subprocess.run(["git", "commit", "-m", "refused"], cwd=hooked.path,
                              capture_output=True, text=True)
    assert proc.returncode != 0
    assert hooked.git("log", "-1", "--format=%s").strip() == "lands"
    [line] = [ln for ln in proc.stderr.splitlines() if ln.startswith("float-hooks:")]
    assert "database is locked" in line and "[hooks] strict = true: failing" in line
    # the lock gone, the same commit goes through and the map follows
    hooked.git("commit", "-q", "-m", "after the lock")
    assert_synced_to(hooked)


def teammates(tmp_path: Path, hooked: GitRepo) -> tuple[GitRepo, GitRepo]:
    """A bare origin holding ``hooked``'s commits, and two clones of it, each with its own
    map and the hook shims installed (what `float-hooks install` does after a clone)."""
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(hooked.path), str(origin)], check=True)
    clones = []
    for name in ("alice", "bob"):
        clone = GitRepo(tmp_path / name)
        subprocess.run(["git", "clone", "-q", str(origin), str(clone.path)], check=True)
        clone.float_ok("install")
        clone.float_ok("sync")
        clones.append(clone)
    return clones[0], clones[1]


def publish(repo: GitRepo, message: str, *push: str) -> None:
    """Export the map, commit the export and push it."""
    repo.float_ok("export")
    repo.git("add", "-A")
    repo.commit(message)
    repo.git("push", "-q", "origin", *push)


def test_pull_and_checkout_bring_in_a_teammates_export(hooked: GitRepo,
                                                       tmp_path: Path) -> None:
    alice, bob = teammates(tmp_path, hooked)
    alice.write("lib/util.py", "X = 1\n")
    alice.commit("lib")
    alice.float_ok("set", "/lib", "--summary", "helpers", "--what", "small helpers")
    alice.float_ok("log", "add", "--title", "Keep helpers tiny", "--folder", "/lib")
    publish(alice, "lib and its context", "HEAD")
    assert (alice.path / EXPORT / "lib" / "_folder.md").exists()

    # `git pull`: post-merge imports the changed export before it syncs
    bob.git("pull", "-q", "--ff-only")
    shown = bob.float_json("show", "/lib")
    assert (shown["map_summary"], shown["context_what"]) == ("helpers", "small helpers")
    assert shown["status"] == "current"
    assert [d["title"] for d in bob.float_json("log", "list")] == ["Keep helpers tiny"]
    assert_synced_to(bob)

    # `git checkout` of a branch whose export differs: post-checkout imports it
    alice.git("switch", "-q", "-c", "docs-context")
    alice.float_ok("set", "/docs", "--summary", "user guide")
    publish(alice, "docs context", "docs-context")
    bob.git("fetch", "-q")
    bob.git("checkout", "-q", "docs-context")
    assert bob.float_json("show", "/docs")["map_summary"] == "user guide"
    assert bob.float_json("show", "/lib")["map_summary"] == "helpers"
    assert_synced_to(bob)


def test_an_intent_to_add_placeholder_is_not_part_of_the_commit(hooked: GitRepo) -> None:
    # `git add -N` puts an empty placeholder in the index; `git commit` records without it
    hooked.write("src/app.py", "print('committed')\n")
    hooked.git("add", "src/app.py")
    hooked.write("docs/draft.md", "# not yet\n")
    hooked.git("add", "-N", "docs/draft.md")
    out = hooked.git("commit", "-m", "app only")
    assert "float: 2 folders changed, 2 newly stale: /src /" in out
    assert stale(hooked) == {"/", "/src"}
    assert_synced_to(hooked)
    for args in (["--staged"], ["--staged", "--full"]):
        hooked.float_ok("sync", *args)
        assert "/docs/draft.md" not in db_files(hooked)
        assert stale(hooked) == {"/", "/src"}


def test_a_fresh_clone_with_hooks_builds_its_map_from_the_export(tmp_path: Path) -> None:
    # the first hook in a clone builds .float/index.db and imports the committed export
    repo = init_repo(tmp_path / "first")
    repo.write("src/a.py", "A = 1\n")
    repo.commit("one")
    repo.float_ok("init")
    make_current(repo)
    repo.float_ok("export")
    repo.git("add", "-A")
    repo.commit("float")
    clone = GitRepo(tmp_path / "clone")
    subprocess.run(["git", "clone", "-q", str(repo.path), str(clone.path)], check=True)
    clone.float_ok("install")
    assert not (clone.path / ".float" / "index.db").exists()
    clone.git("checkout", "-q", "-b", "work")  # post-checkout: the first hook here
    assert (clone.path / ".float" / "index.db").exists()
    assert set(clone.folders().values()) == {"current"}
    assert clone.float_json("show", "/src")["context_what"] == "what /src"


def test_post_rewrite_follows_a_rebase_that_runs_no_post_commit(hooked: GitRepo) -> None:
    hooked.git("switch", "-q", "-c", "topic")
    for i in range(2):
        hooked.write(f"src/auth/t{i}.py", f"T = {i}\n")
        hooked.commit(f"topic {i}")
    hooked.git("switch", "-q", "main")
    hooked.write("docs/guide.md", "# main moved on\n")
    hooked.commit("main moves")
    hooked.git("switch", "-q", "topic")
    assert_synced_to(hooked)  # and no background post-commit is still running
    # the apply backend (git am) makes its commits without post-commit; post-rewrite follows
    hooked.git("rebase", "-q", "--apply", "main")
    assert_synced_to(hooked)
    assert {"/docs/guide.md", "/src/auth/t1.py"} <= set(db_files(hooked))
