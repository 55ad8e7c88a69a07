"""The sync core's fast paths give the same answers as the plain ones (no timings here: the
benchmark in bench/ measures; these tests prove the shortcuts are behaviour-preserving)."""

from __future__ import annotations

import subprocess
import sys

from tests.gitrepo import GitRepo


def files(repo: GitRepo) -> dict[str, str]:
    rows = repo.float_json("query", "SELECT path, content_hash FROM files")
    return {r["path"]: r["content_hash"] for r in rows}


def test_staged_new_file_deleted_from_work_tree_is_absent_in_a_full_sync(repo: GitRepo) -> None:
    # the index holds b.py, the work tree does not, head never had it: a full plan starts
    # from the index and must still drop it, as the incremental one does
    repo.write("a.py", "a\n")
    repo.commit("one")
    repo.write("b.py", "b\n")
    repo.git("add", "b.py")
    repo.remove("b.py")
    repo.float_ok("init")
    assert set(files(repo)) == {"/a.py"}
    assert repo.float_json("sync", "--full")["files_changed"] == 0
    assert set(files(repo)) == {"/a.py"}
    repo.float_ok("sync", "--staged")  # the index snapshot does hold it
    assert set(files(repo)) == {"/a.py", "/b.py"}


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
    assert "/.float/boot.md" not in files(repo)
