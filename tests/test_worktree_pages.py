"""A first build lists the work tree's export through git and reads committed pages from the
object database (pages/worktree_pages.py): it must read exactly what walking the directory
reads (reader.read_dir), uncommitted edits, new, staged, deleted, oversize and odd pages
included, and a teammate's uncommitted edit must reach the rebuilt map."""

from __future__ import annotations

import os
from pathlib import Path

from float_hooks.pages import frontmatter, importer, reader
from float_hooks.project import Project
from tests.export_support import EXPORT, author
from tests.gitrepo import GitRepo
from tests.map_support import drop_db


def test_listing_from_git_reads_what_the_walk_reads(synced: GitRepo) -> None:
    author(synced)
    for i in range(5):
        synced.write(f"src/n{i}/deep/f.py", "x\n")
    synced.write("src/_x/f.py", "x\n")  # its page __x/_folder.md: git lists it before src's
    synced.commit("more folders")
    synced.float_ok("sync")
    for path in ("/src", "/src/_x", "/docs", "/src/n1", "/src/n1/deep", "/src/n2"):
        synced.float_ok("set", path, "--summary", f"about {path}")
    synced.float_ok("export")
    synced.git("add", "-A")
    synced.commit("export")
    root = synced.path / EXPORT
    # the work tree after a teammate's uncommitted work
    edited = root / "src" / "_folder.md"
    edited.write_text(edited.read_text().replace("about /src", "edited, not committed"))
    staged = root / "docs" / "_folder.md"
    staged.write_text(staged.read_text().replace("about /docs", "staged, not committed"))
    synced.git("add", str(staged))
    new = root / "src" / "n7" / "_folder.md"
    new.parent.mkdir()
    new.write_text((root / "src" / "n2" / "_folder.md").read_text()
                   .replace("/src/n2", "/src/n7").replace("about /src/n7", "untracked page"))
    (root / "src" / "n1" / "deep" / "_folder.md").unlink()  # deleted, still in the index
    (root / "notes.txt").write_text("not a page\n")
    os.symlink("_folder.md", root / "src" / "link.md")  # never followed
    (root / "big.md").write_text(frontmatter._OPEN + "x: '" + "y" * frontmatter.MAX_PAGE_BYTES
                                 + "'\n---\n")
    (root / "src" / "n9").mkdir()
    (root / "src" / "n9" / "_folder.md").write_text(frontmatter._OPEN + "kind: [\n---\n")
    # edits git does not look for: pages flagged assume-unchanged and skip-worktree
    flagged = {"/src/n1": "--assume-unchanged", "/src/_x": "--skip-worktree"}
    for path, flag in flagged.items():
        page = next(p for p in root.rglob("_folder.md") if f"about {path}\n" in p.read_text())
        synced.git("update-index", flag, str(page))
        page.write_text(page.read_text().replace(f"about {path}", f"edited, {flag}"))
    # committed content the index no longer holds: a staged edit undone in the work tree
    # only, and a page taken out of the index (untracked now): both are HEAD's blobs
    undone = root / "src" / "n3" / "_folder.md"
    before = undone.read_bytes()
    undone.write_bytes(before.replace(b"/src/n3", b"/src/n3x"))
    synced.git("add", str(undone))
    undone.write_bytes(before)
    synced.git("rm", "-q", "--cached", str(root / "src" / "n4" / "_folder.md"))
    crlf = root / "src" / "n2" / "_folder.md"  # a Windows checkout's line endings
    crlf.write_bytes(crlf.read_bytes().replace(b"\n", b"\r\n"))

    project = Project.discover(synced.path)
    tree = importer.committed_tree(project)
    walked = reader.read_dir(root, project.git.object_format(),
                             importer.committed_blobs(project, tree))
    listed = importer.read_worktree_export(project, root, tree)
    assert listed.data == walked.data
    assert listed.uncommitted == walked.uncommitted
    assert listed.errors == walked.errors and len(walked.errors) == 2
    assert list(listed.blobs.items()) == list(walked.blobs.items())  # the same order
    summaries = {f["path"]: f.get("map_summary") for f in listed.uncommitted.folders}
    assert summaries == {"/src": "edited, not committed", "/docs": "staged, not committed",
                         "/src/n7": "untracked page", "/src/n1": "edited, --assume-unchanged",
                         "/src/_x": "edited, --skip-worktree"}

    # the rebuild takes the uncommitted edit (authored content) from the work tree
    drop_db(synced)
    synced.float_ok("sync")
    shown = synced.float_json("show", "/src", "--json")
    assert "edited, not committed" in str(shown)


def test_a_clone_reads_committed_pages_from_git(synced: GitRepo, tmp_path: Path) -> None:
    author(synced)
    synced.float_ok("export")
    synced.git("add", "-A")
    synced.commit("export")
    clone = tmp_path / "clone"
    synced.git("clone", "-q", str(synced.path), str(clone))
    project = Project.discover(clone)
    tree = importer.committed_tree(project)
    root = clone / EXPORT
    listed = importer.read_worktree_export(project, root, tree)
    walked = reader.read_dir(root, project.git.object_format(),
                             importer.committed_blobs(project, tree))
    assert (listed.data, listed.uncommitted, listed.errors, listed.blobs) == \
        (walked.data, walked.uncommitted, walked.errors, walked.blobs)
    assert listed.data.folders and listed.data.decisions and not listed.uncommitted.folders


def test_a_merge_conflict_in_the_export_reads_as_the_walk_reads(synced: GitRepo) -> None:
    author(synced)
    synced.float_ok("export")
    synced.git("add", "-A")
    synced.commit("export")
    page = synced.path / EXPORT / "src" / "auth" / "_folder.md"
    base = synced.git("rev-parse", "--abbrev-ref", "HEAD").strip()
    synced.git("checkout", "-q", "-b", "theirs")
    page.write_text(page.read_text().replace("Login and tokens", "theirs"))
    synced.commit("theirs")
    synced.git("checkout", "-q", base)
    page.write_text(page.read_text().replace("Login and tokens", "ours"))
    synced.commit("ours")
    assert "CONFLICT" in synced.git("merge", "-q", "theirs", check=False)  # the page
    other = synced.path / EXPORT / "src" / "_folder.md"  # (its children's summaries too)
    synced.git("checkout", "--ours", "--", str(other))  # settled on disk, not added yet

    listed = _as_the_walk_reads(synced)
    assert "conflict markers" in " ".join(listed.errors)
    assert "/src" in {f["path"] for f in listed.data.folders}  # HEAD's, in HEAD's export


def test_a_folder_replaced_by_a_symlink_is_not_followed(synced: GitRepo, tmp_path: Path) -> None:
    author(synced)
    synced.float_ok("export")
    synced.git("add", "-A")
    synced.commit("export")
    folder = synced.path / EXPORT / "src"
    elsewhere = tmp_path / "elsewhere"
    folder.rename(elsewhere)  # git still lists its pages, now behind the link
    page = elsewhere / "_folder.md"
    page.write_text(page.read_text().replace("path: /src\n", "path: /src\nmap_summary: outside\n"))
    os.symlink(elsewhere, folder)

    listed = _as_the_walk_reads(synced)
    assert not any(f["path"].startswith("/src") for f in listed.data.folders
                   + listed.uncommitted.folders)


def test_pages_inside_a_repository_in_the_export_are_read(synced: GitRepo) -> None:
    author(synced)
    synced.float_ok("export")
    synced.git("add", "-A")
    synced.commit("export")
    root = synced.path / EXPORT
    sub = root / "sub" / "deeper"
    sub.mkdir(parents=True)
    GitRepo(root / "sub").git("init", "-q")  # git lists it as one entry, `sub/`
    (sub / "_folder.md").write_text((root / "docs" / "_folder.md").read_text()
                                    .replace("/docs", "/nested"))

    listed = _as_the_walk_reads(synced)
    assert "/nested" in {f["path"] for f in listed.uncommitted.folders}


def _as_the_walk_reads(repo: GitRepo) -> reader.PageSet:
    """The work tree's export as the first build reads it, checked to be what walking the
    directory reads."""
    project = Project.discover(repo.path)
    tree = importer.committed_tree(project)
    root = repo.path / EXPORT
    walked = reader.read_dir(root, project.git.object_format(),
                             importer.committed_blobs(project, tree))
    listed = importer.read_worktree_export(project, root, tree)
    assert (listed.data, listed.uncommitted, listed.errors, listed.blobs) == \
        (walked.data, walked.uncommitted, walked.errors, walked.blobs)
    return listed
