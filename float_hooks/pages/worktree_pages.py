"""A work tree's export read for a first build: listed by git, committed pages read from the
object database, edited and new pages from disk.

Git already knows the export's files: one ``git ls-files -s`` lists them with their blob ids
(no walk of the directory), one ``git ls-files -m -o`` names those that differ from the index
or that git does not track (a teammate's uncommitted edit or new page is authored content:
those are read from disk, with reader.markdown_files' rules). The others are read through
libgit2 (repo/odb.py), their blob id known without hashing them. The pages, their order, the
errors and the blob ids are those reader.read_dir gives (tests/test_worktree_pages.py).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from float_hooks.errors import quoted
from float_hooks.pages import frontmatter, reader
from float_hooks.repo.git import Git
from float_hooks.repo.odb import odb

_REGULAR = ("100644", "100755")


def read_worktree(git: Git, root: Path, rel: str, committed: set[str] | None) -> reader.PageSet:
    """Every page under ``root``, the export at repo path ``rel`` (as reader.read_dir)."""
    prefix = rel.rstrip("/") + "/"
    differ = {os.fsdecode(p)[len(prefix):] for p in
              git.run("ls-files", "-z", "-m", "-o", "--", rel).split(b"\0") if p}
    indexed: dict[str, str | None] = {}  # page: blob id (None: read it from disk)
    # -v tags each entry: lower case (assume-unchanged) and "S" (skip-worktree) are entries
    # git does not compare with the work tree, so -m never names their edits: read from disk
    for rec in git.run("ls-files", "-s", "-v", "-z", "--", rel).split(b"\0"):
        if not rec:
            continue
        meta, _, raw = rec.partition(b"\t")
        tag, mode, blob, stage = meta.decode().split(" ")
        name = os.fsdecode(raw)[len(prefix):]
        if stage != "0" or name in differ or tag == "S" or tag.islower():
            indexed[name] = None
        elif mode in _REGULAR:
            indexed[name] = blob
        # (a symlink or a submodule unchanged in the work tree: never followed or read)
    for name in differ:
        indexed[name] = None
    wanted = sorted((n for n in indexed if n.endswith(".md")), key=_walk_order)
    errors: list[str] = []
    pages: list[tuple[str, bytes]] = []
    blobs: dict[str, str] = {}
    objects = odb(git)
    total = 0
    for name in wanted:
        oid: str | None = indexed[name]
        shown = f"{root}/{name}"
        # the work tree's file says what the walk would: a regular file, and its size (a
        # blob's header costs a delta chain's reading in a fresh clone's pack)
        try:
            st = os.lstat(root / name)
        except OSError as e:
            if not isinstance(e, FileNotFoundError):  # (gone: deleted in the work tree)
                errors.append(f"{quoted(shown, 200)}: skipped: {e.strerror}")
            continue
        if not stat.S_ISREG(st.st_mode):
            continue  # a symlink, FIFO or device: never followed or opened
        size = st.st_size
        if size > frontmatter.MAX_PAGE_BYTES:
            errors.append(f"{quoted(shown, 200)}: skipped: larger than"
                          f" {frontmatter.MAX_PAGE_BYTES // (1024 * 1024)} MiB")
            continue
        total += size
        if total > reader.MAX_EXPORT_BYTES:
            errors.append(f"{root}: larger than {reader.MAX_EXPORT_BYTES // (1024 * 1024)} MiB"
                          " in all; the rest skipped")
            break
        if oid is not None:
            data: bytes | None
            try:
                data = bytes(objects.read(oid)[1])
            except (KeyError, ValueError):  # not in the object DB (a partial clone): the disk
                data = None
            if data is not None and len(data) <= frontmatter.MAX_PAGE_BYTES:
                pages.append((name, data))
                blobs[name] = oid
                continue
        try:
            with open(root / name, "rb") as f:
                pages.append((name, f.read(frontmatter.MAX_PAGE_BYTES + 1)))
        except OSError as e:
            errors.append(f"{quoted(shown, 200)}: skipped: {e.strerror}")
    out = reader.parse_pages(pages, str(root), git.object_format(), committed, known=blobs)
    out.errors[:0] = errors
    return out


def _walk_order(name: str) -> tuple[list[str], str]:
    """os.walk's order (reader.markdown_files): a folder's files before its subfolders'."""
    *folders, file = name.split("/")
    return folders, file
