"""`why` for context that came without a file history (imported from a committed export):
rebuilt from the commit the context was written at, when that commit holds what it hashed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from float_hooks.repo.hashing import folder_hashes
from tests.gitrepo import GitRepo


def exported(repo: GitRepo) -> None:
    for rel in ("src/auth/login.py", "src/auth/tokens/jwt.py", "src/app.py", "docs/guide.md",
                "src-x/a.py", "src.x/b.py"):  # siblings that sort next to /src/
        repo.write(rel, rel + "\n")
    repo.commit("init")
    repo.float_ok("init")
    for folder in ("/", "/src", "/src/auth", "/src/auth/tokens", "/docs"):
        repo.float_ok("set", folder, "--what", f"ctx {folder}")
    repo.float_ok("export")
    repo.git("add", "-A")
    repo.commit("export")


def clone(repo: GitRepo, tmp_path: Path) -> GitRepo:
    other = GitRepo(tmp_path / "clone")
    subprocess.run(["git", "clone", "-q", str(repo.path), str(other.path)], check=True)
    return other


def test_why_after_an_import_compares_with_the_context_commit(repo: GitRepo,
                                                             tmp_path: Path) -> None:
    exported(repo)
    mate = clone(repo, tmp_path)
    mate.write("src/auth/tokens/jwt.py", "changed\n")
    mate.remove("src/auth/login.py")
    mate.write("src/auth/oauth.py", "new\n")
    mate.float_ok("sync")  # a fresh DB: synced, then the committed export imported
    info = mate.float_json("why", "/src/auth", "--json")
    assert info["status"] == "stale" and info["detail_source"] == "commit"
    assert info["detail_complete"] is True
    assert [(c["path"], c["change"], c["via"]) for c in info["changed_files"]] == [
        ("/src/auth/login.py", "deleted", None),
        ("/src/auth/oauth.py", "added", None),
        ("/src/auth/tokens/jwt.py", "modified", "/src/auth/tokens"),
    ]
    assert info["via_children"] == [{"path": "/src/auth/tokens", "changed_files": 1}]
    items = mate.float_json("stale", "--json")["folders"]
    assert {(s["detail_source"], s["detail_complete"]) for s in items} == {("commit", True)}
    stale = {s["path"]: s["changed_files"] for s in items}
    assert stale["/"] == stale["/src"] == stale["/src/auth"] == [
        "/src/auth/login.py", "/src/auth/oauth.py", "/src/auth/tokens/jwt.py"]
    assert stale["/src/auth/tokens"] == ["/src/auth/tokens/jwt.py"]
    assert "/docs" not in stale
    text = mate.float_ok("why", "src/auth").out
    assert "deleted  /src/auth/login.py" in text and "compared with commit" in text
    # once the store has its own record (a later change), that is what `why` reports
    mate.float_ok("set", "/docs", "--what", "docs again")
    mate.write("docs/guide.md", "v2\n")
    mate.float_ok("sync")
    docs = mate.float_json("why", "/docs", "--json")
    assert docs["detail_source"] == "store"
    assert [c["path"] for c in docs["changed_files"]] == ["/docs/guide.md"]


def test_context_for_uncommitted_work_stays_incomplete(repo: GitRepo, tmp_path: Path) -> None:
    repo.write("src/app.py", "v1\n")
    repo.commit("init")
    repo.float_ok("init")
    repo.write("src/app.py", "uncommitted\n")
    repo.float_ok("sync")  # the context below describes the work tree, not the commit
    repo.float_ok("set", "/src", "--what", "ctx")
    repo.git("checkout", "--", "src/app.py")
    repo.float_ok("export")
    repo.git("add", ".float")
    repo.commit("export")
    mate = clone(repo, tmp_path)
    mate.float_ok("sync")
    info = mate.float_json("why", "/src", "--json")
    assert info["status"] == "stale"
    assert info["changed_files"] == [] and info["detail_complete"] is False
    assert info["detail_source"] is None
    assert "does not hold what it described" in mate.float_ok("why", "/src").out
    mate.write("src/app.py", "edited after the import\n")
    mate.float_ok("sync")  # the store's own record starts here: still not the whole story
    info = mate.float_json("why", "/src", "--json")
    assert [c["path"] for c in info["changed_files"]] == ["/src/app.py"]
    assert info["detail_source"] == "store" and info["detail_complete"] is False


def test_folder_hashes_match_the_sync(repo: GitRepo) -> None:
    for rel in ("a/b/c.py", "a/d.py", "e.txt", "a/b/f/g.md"):
        repo.write(rel, rel)
    repo.commit("tree")
    repo.float_ok("init")
    rows = repo.float_json("query", "SELECT path, mode, content_hash FROM files")
    files = {r["path"]: (r["mode"], r["content_hash"]) for r in rows}
    folders = {r["path"]: r["source_hash"]
               for r in repo.float_json("query", "SELECT path, source_hash FROM folders")}
    assert folder_hashes(files) == folders
    for folder, expected in folders.items():  # a listing of one folder's files is enough
        below = {p: e for p, e in files.items()
                 if folder == "/" or p.startswith(folder + "/")}
        assert folder_hashes(below)[folder] == expected
    assert folder_hashes({}) == {}


def test_changes_after_an_import_add_to_the_comparison_with_the_commit(
        repo: GitRepo, tmp_path: Path) -> None:
    # the store records changes from the import on; what changed before it is only in git
    exported(repo)
    mate = clone(repo, tmp_path)
    mate.write("src/app.py", "changed before the import\n")
    mate.float_ok("sync")
    mate.write("docs/guide.md", "changed after\n")
    mate.write("src/auth/login.py", "changed after\n")
    mate.float_ok("sync")
    info = mate.float_json("why", "/src", "--json")
    assert info["detail_source"] == "commit" and info["detail_complete"] is True
    assert [c["path"] for c in info["changed_files"]] == ["/src/app.py", "/src/auth/login.py"]
    stale = {s["path"]: s["changed_files"] for s in mate.float_json("stale", "--json")["folders"]}
    assert stale["/"] == ["/docs/guide.md", "/src/app.py", "/src/auth/login.py"]
    # a context written here starts a complete record of its own
    mate.float_ok("set", "/src", "--what", "rewritten")
    mate.write("src/app.py", "once more\n")
    mate.float_ok("sync")
    info = mate.float_json("why", "/src", "--json")
    assert info["detail_source"] == "store" and info["detail_complete"] is True
    assert [c["path"] for c in info["changed_files"]] == ["/src/app.py"]


def gap_rows(repo: GitRepo) -> list[str]:
    rows = repo.float_json("query", "SELECT folder_path FROM changed_since WHERE file_path = ''")
    return sorted(r["folder_path"] for r in rows)


def test_an_import_of_context_for_the_present_hash_leaves_no_gap(repo: GitRepo,
                                                                 tmp_path: Path) -> None:
    exported(repo)
    mate = clone(repo, tmp_path)
    mate.float_ok("sync")  # nothing changed: every imported context is current
    assert gap_rows(mate) == []
    mate.write("src/app.py", "changed\n")
    mate.float_ok("sync")
    info = mate.float_json("why", "/src", "--json")
    assert info["detail_source"] == "store" and info["detail_complete"] is True
    mate.write("src/app.py", "src/app.py\n")  # back: current, nothing recorded
    mate.float_ok("sync")
    assert mate.float_json("why", "/src", "--json")["status"] == "current"


def test_restore_and_set_for_another_hash_do_not_claim_a_partial_record(repo: GitRepo) -> None:
    exported(repo)
    old_hash = repo.float_json("show", "/src/auth", "--json")["source_hash"]
    repo.write("src/auth/login.py", "changed before\n")
    repo.float_ok("sync")
    repo.float_ok("set", "/src/auth", "--what", "for the old tree", "--hash", old_hash)
    repo.write("src/auth/new.py", "changed after\n")
    repo.float_ok("sync")
    info = repo.float_json("why", "/src/auth", "--json")
    # the context's commit (HEAD, where the old hash lived) gives the whole answer
    assert [c["path"] for c in info["changed_files"]] == ["/src/auth/login.py",
                                                          "/src/auth/new.py"]
    assert info["detail_source"] == "commit" and info["detail_complete"] is True
    # a folder renamed while stale: its record named the old paths; it starts a new one
    repo.git("mv", "src/auth", "src/authn")
    repo.float_ok("sync")
    moved = repo.float_json("why", "/src/authn", "--json")
    assert all(c["path"].startswith("/src/authn/") for c in moved["changed_files"])
    assert moved["detail_complete"] is False  # the context's commit has no /src/authn


def test_an_archive_restore_does_not_claim_a_partial_record(repo: GitRepo) -> None:
    exported(repo)
    shutil.rmtree(repo.path / "docs")
    repo.commit("drop docs")
    repo.float_ok("sync")
    archived = repo.float_json("archive", "list", "--json")
    assert [a["path"] for a in archived] == ["/docs"]
    repo.write("manual/other.md", "new docs\n")  # the docs came back elsewhere
    repo.commit("manual")
    repo.float_ok("sync")
    repo.float_ok("archive", "restore", str(archived[0]["id"]), "--to", "/manual")
    repo.write("manual/later.md", "written after the restore\n")
    repo.float_ok("sync")
    info = repo.float_json("why", "/manual", "--json")
    # /manual's record began at the restore, not when the context was written, and the
    # context's commit has no /manual to compare with: the later file is all it knows, and
    # the answer says it is incomplete
    assert info["status"] == "stale"
    assert [c["path"] for c in info["changed_files"]] == ["/manual/later.md"]
    assert info["detail_complete"] is False, info
