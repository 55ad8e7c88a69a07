"""The staleness matrix on real repositories: exactly the right folders change status."""

from __future__ import annotations

import os
import subprocess

import pytest

from float_hooks import paths
from tests.gitrepo import GitRepo

ALL = ["/", "/docs", "/src", "/src/auth", "/src/auth/tokens"]


def give_context(repo: GitRepo, *folders: str) -> None:
    for f in folders:
        repo.float_ok("set", f, "--summary", f"about {f}", "--what", "w")


def stale(repo: GitRepo) -> set[str]:
    return {p for p, s in repo.folders().items() if s == "stale"}


def test_deep_edit_marks_exactly_the_ancestor_chain(synced: GitRepo) -> None:
    give_context(synced, *ALL)
    synced.write("src/auth/tokens/jwt.py", "JWT = 2\n")
    out = synced.float_json("sync")
    assert set(out["became_stale"]) == {"/", "/src", "/src/auth", "/src/auth/tokens"}
    assert out["became_stale"][0] == "/src/auth/tokens"  # deepest first
    assert stale(synced) == {"/", "/src", "/src/auth", "/src/auth/tokens"}
    assert synced.folders()["/docs"] == "current"


def test_revert_makes_folders_current_again(synced: GitRepo) -> None:
    give_context(synced, *ALL)
    synced.write("src/auth/login.py", "changed\n")
    synced.float_ok("sync")
    assert stale(synced) == {"/", "/src", "/src/auth"}
    synced.git("checkout", "--", "src/auth/login.py")
    out = synced.float_json("sync")
    assert stale(synced) == set()
    assert set(out["became_current"]) == {"/", "/src", "/src/auth"}


def test_why_names_files_and_the_children_that_carried_them(synced: GitRepo) -> None:
    give_context(synced, "/", "/src")
    synced.write("src/auth/tokens/jwt.py", "JWT = 3\n")
    synced.write("src/new.py", "new\n")
    synced.float_ok("sync")
    why = synced.float_json("why", "/src")
    changes = {c["path"]: c for c in why["changed_files"]}
    assert changes["/src/auth/tokens/jwt.py"]["change"] == "modified"
    assert changes["/src/auth/tokens/jwt.py"]["via"] == "/src/auth"
    assert changes["/src/new.py"]["change"] == "added"
    assert changes["/src/new.py"]["via"] is None
    assert why["via_children"] == [{"path": "/src/auth", "changed_files": 1}]
    listed = {i["path"]: i for i in synced.float_json("stale")["folders"]}
    assert set(listed) == {"/", "/src"}
    assert sorted(listed["/src"]["changed_files"]) == ["/src/auth/tokens/jwt.py", "/src/new.py"]


def test_add_and_delete_files_and_folders(synced: GitRepo) -> None:
    give_context(synced, "/", "/docs")
    synced.write("lib/util.py", "u\n")
    out = synced.float_json("sync")
    assert "/lib" in out["added"]
    assert synced.folders()["/lib"] == "pending"
    assert stale(synced) == {"/"}
    synced.remove("lib/util.py")
    synced.float_ok("sync")
    assert "/lib" not in synced.folders()
    assert stale(synced) == set()  # the root is back to the hash its context was written for


def test_deleted_folder_context_is_archived_and_restorable(synced: GitRepo) -> None:
    give_context(synced, "/docs")
    synced.git("rm", "-rq", "docs")
    synced.commit("drop docs", "-q")
    out = synced.float_json("sync")
    assert out["archived"] == ["/docs"]
    archived = synced.float_json("archive", "list")
    assert archived[0]["path"] == "/docs"
    assert archived[0]["content"]["map_summary"] == "about /docs"
    synced.write("docs/other.md", "# other\n")
    synced.float_ok("sync")
    assert synced.folders()["/docs"] == "pending"
    synced.float_ok("archive", "restore", str(archived[0]["id"]))
    shown = synced.float_json("show", "/docs")
    assert shown["map_summary"] == "about /docs"
    assert shown["status"] == "stale"  # written for other content
    assert synced.float_json("archive", "list") == []
    assert "restored" in synced.float_error("archive", "restore", str(archived[0]["id"]))


def test_folder_coming_back_with_known_content_reuses_its_context(synced: GitRepo) -> None:
    give_context(synced, "/docs")
    synced.git("rm", "-rq", "docs")
    synced.float_ok("sync")
    synced.git("checkout", "HEAD", "--", "docs")
    out = synced.float_json("sync")
    assert synced.folders()["/docs"] == "current"
    assert "/docs" in out["became_current"]


def test_renamed_folder_keeps_its_context(synced: GitRepo) -> None:
    give_context(synced, "/src/auth", "/src/auth/tokens")
    synced.float_ok("log", "add", "--title", "Use JWT", "--folder", "/src/auth")
    synced.float_ok("question", "add", "Rotate keys?", "--folder", "/src/auth")
    synced.git("mv", "src/auth", "src/identity")
    synced.commit("rename", "-q")
    out = synced.float_json("sync")
    assert {"from": "/src/auth", "to": "/src/identity"} in out["moved"]
    assert {"from": "/src/auth/tokens", "to": "/src/identity/tokens"} in out["moved"]
    shown = synced.float_json("show", "/src/identity")
    assert shown["map_summary"] == "about /src/auth"
    assert shown["status"] == "current"  # a pure rename leaves the folder hash unchanged
    assert [d["title"] for d in shown["decisions"]] == ["Use JWT"]
    assert [q["question"] for q in shown["questions"]] == ["Rotate keys?"]
    assert synced.float_json("archive", "list") == []


def test_renamed_folder_with_edits_keeps_context_and_goes_stale(synced: GitRepo) -> None:
    for i in range(4):
        synced.write(f"pkg/m{i}.py", f"module {i}\n")
    synced.commit("pkg")
    synced.float_ok("sync")
    give_context(synced, "/pkg")
    synced.git("mv", "pkg", "core")
    synced.write("core/m0.py", "edited\n")
    synced.commit("move and edit")
    out = synced.float_json("sync")
    assert out["moved"] == [{"from": "/pkg", "to": "/core"}]
    assert synced.folders()["/core"] == "stale"


def test_renamed_file_marks_its_folder(synced: GitRepo) -> None:
    give_context(synced, "/src/auth", "/docs")
    synced.git("mv", "src/auth/login.py", "src/auth/signin.py")
    synced.commit("rename file", "-q")
    synced.float_ok("sync")
    assert stale(synced) == {"/src/auth"}
    kinds = {c["path"]: c["change"] for c in synced.float_json("why", "/src/auth")[
        "changed_files"]}
    assert kinds == {"/src/auth/login.py": "deleted", "/src/auth/signin.py": "added"}


def test_ignored_and_untracked_files(synced: GitRepo) -> None:
    give_context(synced, "/", "/src")
    synced.write(".gitignore", "*.log\nbuild/\n")
    synced.commit("ignore")
    synced.float_ok("sync")
    give_context(synced, "/")
    synced.write("src/debug.log", "noise\n")
    synced.write("build/out.bin", "noise\n")
    out = synced.float_json("sync")
    assert out["files_changed"] == 0
    synced.write("src/untracked.py", "new\n")  # untracked but not ignored: part of the map
    out = synced.float_json("sync")
    assert out["files_changed"] == 1
    assert stale(synced) == {"/", "/src"}
    # a commit snapshot does not see untracked files
    out = synced.float_json("sync", "--rev", "HEAD")
    assert stale(synced) == set()


def test_float_dir_and_config_excludes_are_left_out(synced: GitRepo) -> None:
    files = {r["path"] for r in synced.float_json("query", "SELECT path FROM files")}
    assert not any(p.startswith("/.float") for p in files)
    cfg = synced.path / ".float" / "config.toml"
    cfg.write_text(cfg.read_text().replace("exclude = []", 'exclude = ["docs/", "*.md"]'))
    out = synced.float_json("sync")
    assert out["mode"] == "full"  # new rules: rebuilt, not patched
    files = {r["path"] for r in synced.float_json("query", "SELECT path FROM files")}
    assert files == {"/src/app.py", "/src/auth/login.py", "/src/auth/tokens/jwt.py"}
    assert "/docs" not in synced.folders()


def test_odd_file_names(synced: GitRepo) -> None:
    names = ["with space/a b.txt", "new\nline/x.txt", "tab\there.txt", "ünïcode/ß.md",
             "quote\"d.txt", "back\\slash.txt"]
    for n in names:
        synced.write(n, n + "\n")
    synced.write(b"latin1-\xe9/\xff.bin", b"\x00\x01")
    synced.commit("odd names")
    synced.float_ok("sync")
    files = {r["path"] for r in synced.float_json("query", "SELECT path FROM files")}
    for n in names:
        assert paths.from_git(n.encode()) in files
    assert "/latin1-\\xe9/\\xff.bin" in files and "/back\\\\slash.txt" in files
    give_context(synced, "/new\nline", "/latin1-\\xe9")
    synced.write(b"latin1-\xe9/\xff.bin", b"\x00\x02")
    synced.write("new\nline/x.txt", "changed\n")
    synced.float_ok("sync")  # work tree: hashes the raw byte paths
    assert {"/new\nline", "/latin1-\\xe9"} <= stale(synced)
    # incremental equals full for these names too
    before = synced.float_json("query", "SELECT path, source_hash FROM folders ORDER BY path")
    synced.float_ok("sync", "--full")
    assert synced.float_json("query", "SELECT path, source_hash FROM folders ORDER BY path") \
        == before


def test_symlinks_executable_bit_and_binary(synced: GitRepo) -> None:
    os.symlink("app.py", synced.path / "src" / "link.py")
    synced.write("assets/blob.bin", bytes(range(256)) * 4000)
    synced.commit("link and binary")
    synced.float_ok("sync")
    rows = {r["path"]: r for r in synced.float_json("query", "SELECT * FROM files")}
    assert rows["/src/link.py"]["mode"] == "120000"
    # a symlink's hash is the blob of its target path, as git stores it
    assert rows["/src/link.py"]["content_hash"] == synced.git(
        "rev-parse", "HEAD:src/link.py").strip()
    assert rows["/assets/blob.bin"]["content_hash"] == synced.git(
        "rev-parse", "HEAD:assets/blob.bin").strip()
    give_context(synced, "/src")
    os.chmod(synced.path / "src" / "app.py", 0o755)
    synced.float_ok("sync")
    assert stale(synced) == {"/src"}
    kinds = [c["change"] for c in synced.float_json("why", "/src")["changed_files"]]
    assert kinds == ["mode"]
    os.remove(synced.path / "src" / "link.py")
    os.symlink("auth", synced.path / "src" / "link.py")  # retarget the link
    synced.float_ok("sync")
    assert synced.float_json("query", "SELECT content_hash FROM files WHERE path = "
                             "'/src/link.py'")[0]["content_hash"] != rows["/src/link.py"][
                                 "content_hash"]


def test_submodule_is_its_commit_id(synced: GitRepo, tmp_path: pytest.TempPathFactory) -> None:
    sub = GitRepo(synced.path.parent / "subrepo")
    subprocess.run(["git", "init", "-q", str(sub.path)], check=True)
    sub.write("lib.py", "x\n")
    first = sub.commit("one")
    synced.git("submodule", "add", "-q", str(sub.path), "vendor/lib")
    synced.commit("add submodule", "-q")
    synced.float_ok("sync")
    row = synced.float_json("query", "SELECT * FROM files WHERE path = '/vendor/lib'")[0]
    assert row["mode"] == "160000" and row["content_hash"] == first
    give_context(synced, "/vendor")
    inner = GitRepo(synced.path / "vendor" / "lib")
    inner.write("lib.py", "y\n")
    second = inner.commit("two")
    synced.float_ok("sync")  # the work tree's submodule moved: its folder is stale
    row = synced.float_json("query", "SELECT * FROM files WHERE path = '/vendor/lib'")[0]
    assert row["content_hash"] == second
    assert stale(synced) == {"/vendor"}
    files = {r["path"] for r in synced.float_json("query", "SELECT path FROM files")}
    assert "/vendor/lib/lib.py" not in files  # a submodule's contents are not ours


def test_staged_snapshot_and_commit_snapshot(synced: GitRepo) -> None:
    give_context(synced, *ALL)
    synced.write("docs/guide.md", "staged\n")
    synced.git("add", "docs/guide.md")
    synced.write("src/app.py", "unstaged\n")
    synced.float_ok("sync", "--staged")
    assert stale(synced) == {"/", "/docs"}
    synced.float_ok("sync")
    assert stale(synced) == {"/", "/docs", "/src"}
    synced.float_ok("sync", "--rev", "HEAD")
    assert stale(synced) == set()


def test_empty_repo_and_unborn_head(repo: GitRepo) -> None:
    repo.float_ok("init")
    assert repo.float_json("status")["files"] == 0
    assert repo.float_json("status")["head"] is None
    repo.write("a.txt", "a\n")
    repo.float_ok("sync")  # untracked file in a repo with no commit
    assert repo.float_json("status")["files"] == 1
    repo.git("add", "a.txt")
    assert repo.float_json("sync", "--staged")["files_changed"] == 0
    repo.commit("first")
    out = repo.float_json("sync", "--rev", "HEAD")
    assert out["head"] == repo.head()
    assert repo.float_json("status")["folders"] == 1


def test_force_push_style_history_rewrite_falls_back_to_full(synced: GitRepo) -> None:
    synced.write("src/a.py", "1\n")
    synced.commit("a")
    synced.float_ok("sync", "--rev", "HEAD")
    gone = synced.head()
    synced.git("reset", "-q", "--hard", "HEAD~1")
    synced.git("reflog", "expire", "--expire=now", "--all")
    synced.git("gc", "-q", "--prune=now")
    assert synced.git("cat-file", "-t", gone, check=False).startswith("fatal")
    out = synced.float_json("sync", "--rev", "HEAD")
    assert out["mode"] == "full"
    files = {r["path"] for r in synced.float_json("query", "SELECT path FROM files")}
    assert "/src/a.py" not in files


def test_shallow_clone(synced: GitRepo, tmp_path: pytest.TempPathFactory) -> None:
    synced.write("src/b.py", "b\n")
    synced.commit("b")
    clone = synced.path.parent / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{synced.path}", str(clone)],
                   check=True)
    c = GitRepo(clone)
    c.float_ok("init")
    assert c.float_json("status")["files"] == 6


def test_the_rule_is_one_fact_the_schema_and_the_code_share(synced: GitRepo) -> None:
    """store/staleness.py holds the rule: the DB's generated status column is its SQL, and
    folder_status gives the same answer for every case, on a real map."""
    from float_hooks.map.build import open_built
    from float_hooks.project import Project
    from float_hooks.store.schema import MIGRATIONS
    from float_hooks.store.staleness import STATUS_SQL, STATUSES, folder_status

    assert STATUS_SQL in MIGRATIONS[0][2]
    store = open_built(Project.discover(synced.path))
    try:
        conn = store.conn
        source = conn.execute("SELECT source_hash FROM folders WHERE path = '/'").fetchone()[0]
        seen = set()
        for context in (None, source, "0" * len(source)):
            conn.execute("UPDATE folders SET context_hash = ? WHERE path = '/'", (context,))
            status = conn.execute("SELECT status FROM folders WHERE path = '/'").fetchone()[0]
            assert status == folder_status(context, source)
            seen.add(status)
        assert seen == set(STATUSES)
    finally:
        store.close()
