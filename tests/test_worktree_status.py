"""The work-tree snapshot is read with one `git status --porcelain=v2`: the cases where its
three sides (HEAD, index, work tree) disagree, and an index whose stat data is stale."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from tests.gitrepo import GitRepo


def files(repo: GitRepo) -> dict[str, tuple[str, str]]:
    rows = repo.float_json("query", "SELECT path, mode, content_hash FROM files")
    return {r["path"]: (r["mode"], r["content_hash"]) for r in rows}


def blob(repo: GitRepo, rel: str) -> str:
    return repo.git("hash-object", rel).strip()


def converges(repo: GitRepo) -> dict[str, tuple[str, str]]:
    """The incremental state equals a full rescan's."""
    repo.float_ok("sync")
    state = files(repo)
    repo.float_ok("sync", "--full")
    assert files(repo) == state
    return state


def test_three_sides_disagree(synced: GitRepo) -> None:
    synced.write("src/app.py", "staged\n")
    synced.git("add", "src/app.py")
    synced.write("src/app.py", "then edited again\n")  # HEAD, index, work tree: all differ
    synced.git("rm", "-q", "--cached", "docs/guide.md")  # untracked now, still on disk
    synced.write("src/new.py", "added\n")
    synced.git("add", "src/new.py")
    os.remove(synced.path / "src/new.py")  # staged, then deleted from the work tree
    synced.remove("README.md")  # deleted in the work tree only
    os.remove(synced.path / "src/auth/tokens/jwt.py")
    os.symlink("login.py", synced.path / "src/auth/tokens/jwt.py")  # a type change
    git_state = synced.git("status", "--porcelain=v2", "--branch")
    state = converges(synced)
    assert state["/src/app.py"] == ("100644", blob(synced, "src/app.py"))
    assert state["/docs/guide.md"] == ("100644", blob(synced, "docs/guide.md"))
    assert "/src/new.py" not in state and "/README.md" not in state
    link = synced.git("hash-object", "--stdin", input=b"login.py").strip()
    assert state["/src/auth/tokens/jwt.py"] == ("120000", link)
    assert synced.git("status", "--porcelain=v2", "--branch") == git_state  # git's untouched


def test_merge_conflict_in_the_work_tree(synced: GitRepo) -> None:
    synced.git("checkout", "-q", "-b", "other")
    synced.write("src/app.py", "theirs\n")
    synced.commit("theirs")
    synced.git("checkout", "-q", "-")
    synced.write("src/app.py", "ours\n")
    synced.commit("ours")
    synced.git("merge", "-q", "other", check=False)  # conflicts
    assert "UU src/app.py" in synced.git("status", "--porcelain")
    state = converges(synced)
    assert state["/src/app.py"] == ("100644", blob(synced, "src/app.py"))  # with markers


def test_stale_index_stat_data_hashes_nothing_and_writes_no_index(synced: GitRepo) -> None:
    synced.float_ok("sync")
    before = files(synced)
    later = time.time() + 5
    for root, dirs, names in os.walk(synced.path):
        dirs[:] = [d for d in dirs if d not in (".git", ".float")]
        for n in names:
            os.utime(os.path.join(root, n), (later, later))  # every file "looks" modified
    index = synced.path / ".git" / "index"
    stamp = index.stat().st_mtime_ns
    # a real process, so that the imports it needed are its own
    probe = ("import sys; from float_hooks.main import main; rc = main(['sync']);"
             " print('pygit2' in sys.modules); sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", probe], cwd=synced.path, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("False")  # no file was hashed by us: git compared
    assert files(synced) == before
    assert index.stat().st_mtime_ns == stamp  # git took no lock and rewrote nothing


def test_intent_to_add_entries(synced: GitRepo) -> None:
    synced.write("docs/empty.md", "")
    synced.commit("an empty file")
    synced.float_ok("sync")
    synced.write("src/kept.py", "new\n")
    synced.git("add", "-N", "src/kept.py")  # intent to add, still on disk
    synced.write("src/gone.py", "brief\n")
    synced.git("add", "-N", "src/gone.py")
    synced.remove("src/gone.py")  # intent to add, then deleted
    synced.remove("docs/empty.md")  # a committed empty file, deleted: the same status line
    state = converges(synced)
    assert state["/src/kept.py"] == ("100644", blob(synced, "src/kept.py"))
    assert "/src/gone.py" not in state and "/docs/empty.md" not in state
    overlay = {r["path"]: r for r in synced.float_json("query", "SELECT * FROM overlay")}
    assert "/src/gone.py" not in overlay  # HEAD never had it: nothing to remember
    assert overlay["/docs/empty.md"]["base_hash"] == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
    synced.git("reset", "-q")  # drop the placeholders: nothing of them may stay behind
    synced.git("checkout", "--", "docs/empty.md")
    assert "/src/gone.py" not in converges(synced)


def test_head_that_moves_after_discovery(synced: GitRepo) -> None:
    # a sync waiting for the write lock while a commit lands: the work tree is compared with
    # the HEAD git sees then, and that HEAD is what the store records
    from float_hooks.project import Project
    from float_hooks.snapshot import Target
    from float_hooks.sync import BASE_KEY, sync

    project = Project.discover(synced.path)
    synced.write("src/app.py", "moved on\n")
    synced.commit("after discovery")
    store = project.open_store()
    try:
        result = sync(project.git, store, Target("worktree"), scope=project.scope())
        assert result.head == synced.head() == store.get_meta(BASE_KEY)
    finally:
        store.close()
    assert files(synced)["/src/app.py"] == ("100644", blob(synced, "src/app.py"))
    assert converges(synced)["/src/app.py"] == ("100644", blob(synced, "src/app.py"))


def test_work_tree_files_are_hashed_as_git_add_would_store_them(synced: GitRepo) -> None:
    # A file committed with CRLF under `* text=auto`: git add keeps its CRLF (the index copy
    # has CR), which `git hash-object` does not know (it never reads the index). And names
    # git's line-based --stdin-paths would misread (a trailing CR, a leading quote, a newline).
    synced.write("win.txt", b"one\r\ntwo\r\n")
    synced.commit("crlf")
    synced.write(".gitattributes", "* text=auto\n")
    synced.write("win.txt", b"one\r\ntwo\r\nthree\r\n")
    for raw in (b"src/cr\r", b'src/"quoted".txt', b"src/line\nbreak.txt", b"src/caf\xe9.txt"):
        synced.write(raw, b"odd " + raw + b"\n")
    synced.float_ok("sync")
    synced.git("add", "-A")
    out = subprocess.run(["git", "ls-files", "-s", "-z"], cwd=synced.path, check=True,
                         capture_output=True).stdout
    staged = {}
    for rec in out.split(b"\0"):
        if rec:
            meta, path = rec.split(b"\t", 1)
            if not path.startswith(b".float/"):
                staged["/" + path.decode("utf-8", "backslashreplace")] = meta.split(b" ")[1]
    rows = synced.float_json("query", "SELECT path, content_hash FROM files")
    assert {r["path"]: r["content_hash"].encode() for r in rows} == staged


def test_new_executable_under_core_filemode_false(synced: GitRepo) -> None:
    synced.git("config", "core.fileMode", "false")
    script = synced.write("src/run.sh", "#!/bin/sh\n")
    script.chmod(0o755)
    synced.float_ok("sync")
    rows = synced.float_json("query", "SELECT mode FROM files WHERE path = '/src/run.sh'")
    synced.git("add", "src/run.sh")
    assert synced.git("ls-files", "-s", "src/run.sh").split()[0] == "100644"
    assert rows == [{"mode": "100644"}]
    synced.git("config", "core.fileMode", "true")
    synced.git("reset", "-q", "src/run.sh")
    synced.float_ok("sync")
    rows = synced.float_json("query", "SELECT mode FROM files WHERE path = '/src/run.sh'")
    assert rows == [{"mode": "100755"}]
