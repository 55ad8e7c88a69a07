"""The sync core's fast paths give the same answers as the plain ones (no timings here: the
benchmark in bench/ measures; these tests prove the shortcuts are behaviour-preserving)."""

from __future__ import annotations

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
