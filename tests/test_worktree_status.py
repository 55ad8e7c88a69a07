"""The work-tree snapshot is read with one `git status --porcelain=v2`: the cases where its
three sides (HEAD, index, work tree) disagree, and an index whose stat data is stale."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.gitrepo import GitRepo


def db_entries(repo: GitRepo) -> dict[str, tuple[str, str]]:
    """Stored file path -> (mode, content hash), from the repository's DB."""
    rows = repo.float_json("query", "SELECT path, mode, content_hash FROM files")
    return {r["path"]: (r["mode"], r["content_hash"]) for r in rows}


def blob(repo: GitRepo, rel: str) -> str:
    return repo.git("hash-object", rel).strip()


def converges(repo: GitRepo) -> dict[str, tuple[str, str]]:
    """The incremental state equals a full rescan's."""
    repo.float_ok("sync")
    state = db_entries(repo)
    repo.float_ok("sync", "--full")
    assert db_entries(repo) == state
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
    before = db_entries(synced)
    later = time.time() + 5
    for root, dirs, names in os.walk(synced.path):
        dirs[:] = [d for d in dirs if d not in (".git", ".float")]
        for n in names:
            os.utime(os.path.join(root, n), (later, later))  # every file "looks" modified
    index = synced.path / ".git" / "index"
    stamp = index.stat().st_mtime_ns
    # a real process, so that the imports and git commands it needed are its own
    probe = ("import sys; from float_hooks.main import main; rc = main(['sync']);"
             " print('pygit2' in sys.modules); sys.exit(rc)")
    trace = synced.path.parent / "trace.txt"
    proc = subprocess.run([sys.executable, "-c", probe], cwd=synced.path, capture_output=True,
                          text=True, env={**os.environ, "GIT_TRACE": str(trace)})
    assert proc.returncode == 0, proc.stderr
    # no file was hashed by us, by libgit2 or by git: git status compared the contents
    assert proc.stdout.strip().endswith("False")
    assert "hash-object" not in trace.read_text()
    assert db_entries(synced) == before
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
    from float_hooks.map.build import open_built
    from float_hooks.map.sync import sync
    from float_hooks.project import Project
    from float_hooks.repo.snapshot import Target
    from float_hooks.store.db import BASE_KEY

    project = Project.discover(synced.path)
    synced.write("src/app.py", "moved on\n")
    synced.commit("after discovery")
    store = open_built(project)
    try:
        result = sync(project.git, store, Target("worktree"), scope=project.scope())
        assert result.head == synced.head() == store.get_meta(BASE_KEY)
    finally:
        store.close()
    assert db_entries(synced)["/src/app.py"] == ("100644", blob(synced, "src/app.py"))
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


def hashed_by(repo: GitRepo) -> tuple[bool, str]:
    """Run a sync in its own process: (whether it imported pygit2, git's trace of it)."""
    probe = ("import sys; from float_hooks.main import main; rc = main(['sync']);"
             " print('pygit2' in sys.modules); sys.exit(rc)")
    trace = repo.path.parent / "trace.txt"
    trace.unlink(missing_ok=True)
    proc = subprocess.run([sys.executable, "-c", probe], cwd=repo.path, capture_output=True,
                          text=True, env={**os.environ, "GIT_TRACE": str(trace)})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().endswith("True"), trace.read_text()


def test_edited_files_are_hashed_by_git_with_its_filters(synced: GitRepo) -> None:
    # an external clean filter (as Git LFS installs one): git add stores the filtered
    # content, so the work-tree hash must be of that too
    synced.git("config", "filter.upper.clean", "tr a-z A-Z")
    synced.git("config", "filter.upper.smudge", "cat")
    synced.write(".gitattributes", "*.up filter=upper\n")
    synced.commit("filter")
    synced.float_ok("sync")
    synced.write("src/notes.up", "lower case\n")
    synced.write("src/app.py", "edited\n")
    used_pygit2, trace = hashed_by(synced)
    assert not used_pygit2 and trace.count("hash-object --stdin-paths") == 1  # one batch
    synced.git("add", "-A")
    assert synced.git("show", ":src/notes.up") == "LOWER CASE\n"
    state = db_entries(synced)
    for rel in ("src/notes.up", "src/app.py"):
        staged = synced.git("ls-files", "-s", rel).split()
        assert state["/" + rel] == (staged[0], staged[1])


def test_files_with_cr_or_names_git_misreads_go_to_libgit2(synced: GitRepo) -> None:
    synced.float_ok("sync")
    synced.write("src/crlf.txt", b"a\r\nb\r\n")
    used_pygit2, trace = hashed_by(synced)
    assert used_pygit2 and "hash-object --stdin-paths" not in trace
    synced.write("src/crlf.txt", b"a\nb\n")
    synced.write(b'"q".txt', b"q\n")  # --stdin-paths would unquote it
    synced.write(b"src/cr\r", b"cr\n")  # and drop its CR
    used_pygit2, trace = hashed_by(synced)
    assert used_pygit2 and trace.count("--stdin-paths") == 1  # src/crlf.txt only
    synced.git("add", "-A")
    state = db_entries(synced)
    for rel in ('"q".txt', "src/cr\r", "src/crlf.txt"):
        staged = synced.git("ls-files", "-s", "-z", rel).split("\t")[0].split()
        assert state["/" + rel] == (staged[0], staged[1])


def staged_entries(repo: GitRepo, *rels: str) -> dict[str, tuple[str, str]]:
    """What `git add -A` stores for ``rels`` (stages everything)."""
    repo.git("add", "-A")
    out = {}
    for rel in rels:
        mode, oid = repo.git("ls-files", "-s", "-z", "--", rel).split("\t")[0].split()[:2]
        out["/" + rel] = (mode, oid)
    return out


def filter_upper(repo: GitRepo) -> None:
    """A clean filter git add runs and libgit2 does not (as Git LFS installs one)."""
    repo.git("config", "filter.upper.clean", "tr a-z A-Z")
    repo.git("config", "filter.upper.smudge", "cat")


def test_a_file_with_cr_and_a_filter_is_hashed_by_git(synced: GitRepo) -> None:
    filter_upper(synced)
    synced.write(".gitattributes", "*.up filter=upper\n")
    synced.commit("filter")
    synced.float_ok("sync")
    synced.write("src/dos.up", b"dos\r\nline\r\n")  # a CR, and a filter: git's path
    synced.write("src/dos.txt", b"dos\r\nline\r\n")  # a CR, no filter: libgit2's
    used_pygit2, trace = hashed_by(synced)
    assert used_pygit2 and "check-attr" in trace and trace.count("--stdin-paths") == 1
    state = db_entries(synced)
    want = staged_entries(synced, "src/dos.up", "src/dos.txt")
    assert {p: state[p] for p in want} == want


def test_a_sparse_checkout_hashes_with_the_index_attributes(synced: GitRepo) -> None:
    # d/.gitattributes is outside the checkout (only in the index): git add applies it,
    # git hash-object would not see it
    synced.write("d/.gitattributes", "f ident\n")
    synced.write("d/f", "$Id$\n")
    synced.commit("ident")
    synced.git("sparse-checkout", "set", "--no-cone", "/d/f", "/src/", "/docs/", "/README.md")
    assert not (synced.path / "d" / ".gitattributes").exists()
    synced.float_ok("sync")
    synced.write("d/f", "$Id: 0123 $\nmore\n")  # as checked out; git add collapses it
    synced.float_ok("sync")
    synced.git("add", "d/f")
    staged = synced.git("ls-files", "-s", "d/f").split()
    assert db_entries(synced)["/d/f"] == (staged[0], staged[1])


def test_symlinks_are_hashed_in_the_repository_object_format(tmp_path: Path) -> None:
    from tests.gitrepo import GitRepo as Repo

    path = tmp_path / "sha256"
    path.mkdir()
    subprocess.run(["git", "init", "-q", "--object-format=sha256", str(path)], check=True)
    repo = Repo(path)
    repo.write("src/a.py", "a\n")
    repo.commit("one")
    repo.float_ok("init")
    os.symlink("a.py", path / "src" / "link.py")
    repo.write("src/a.py", "a2\n")
    repo.float_ok("sync")
    state = db_entries(repo)
    want = staged_entries(repo, "src/link.py", "src/a.py")
    assert {p: state[p] for p in want} == want
    assert len(want["/src/link.py"][1]) == 64


def test_a_file_gone_before_git_reads_it_is_absent(synced: GitRepo) -> None:
    from float_hooks.repo.git import Git
    from float_hooks.repo.worktree import WorktreeHasher

    filter_upper(synced)
    synced.write(".gitattributes", "*.up filter=upper\n")
    synced.write("src/here.up", "here\n")
    hasher = WorktreeHasher(Git.discover(synced.path))
    # listed with a file that vanished after its lstat: git fails the batch, then each file
    # is hashed on its own, still by git (its filter applied), and the vanished one is absent
    got = hasher._hash_by_git([(b"src/here.up", "100644"), (b"src/gone.py", "100644")])
    assert got == [staged_entries(synced, "src/here.up")["/src/here.up"], None]
