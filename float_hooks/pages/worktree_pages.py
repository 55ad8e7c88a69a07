"""A work tree's export read for a first build: listed by git, not by walking the directory.

Git already knows the export's files: one ``git ls-files -s`` lists them with their blob ids,
one ``git ls-files -m -o`` names those that differ from the index or that git does not track
(a teammate's uncommitted edit or new page is authored content). Every page is read from disk
(what the walk reads, with reader.markdown_files' rules: regular files only); a page git
found unchanged keeps the index's blob id, not hashed again. A page written between git's listing
and its reading keeps that id too: the build then counts its edit as committed (the records
are imported either way). The pages, their order, the errors and the blob ids are those
reader.read_dir gives (tests/test_worktree_pages.py)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from float_hooks.errors import quoted
from float_hooks.pages import frontmatter, reader
from float_hooks.repo.git import Git, parse_raw_diff
from float_hooks.repo.snapshot import abandon

_REGULAR = ("100644", "100755")


def read_worktree(git: Git, root: Path, rel: str, tree: str | None) -> reader.PageSet:
    """Every page under ``root``, the export at repo path ``rel`` (as reader.read_dir with
    the blobs of ``tree``, HEAD's export, as the committed ones)."""
    prefix = rel.rstrip("/") + "/"
    # the one slow listing (it compares the work tree and walks it for untracked files),
    # started first: the two index reads below run beside it
    changed = git.start("ls-files", "-z", "-m", "-o", "--", rel)
    try:
        listed = git.run("ls-files", "-s", "-v", "-z", "--", rel)
        # where the index differs from HEAD: HEAD's blobs (elsewhere the index holds HEAD's)
        staged = git.run("diff-index", "--cached", "-z", "--no-renames", "HEAD", "--", rel) \
            if tree is not None else b""
        differ = {os.fsdecode(p)[len(prefix):] for p in
                  Git.finish(changed, "ls-files").split(b"\0") if p}
    except BaseException:
        abandon([changed])
        raise
    indexed: dict[str, str | None] = {}  # page: blob id (None: read it from disk)
    diffs = parse_raw_diff(staged)
    # HEAD's export without `git ls-tree -r` (5x the time in a fresh clone): the index's blobs
    # where the index holds HEAD's, the diff's old side elsewhere
    committed = {d.old[1] for d in diffs if d.old is not None}
    moved = {d.raw for d in diffs}  # (a conflicted path too: HEAD's blob on its old side)
    # -v tags each entry: lower case (assume-unchanged) and "S" (skip-worktree) are entries
    # git does not compare with the work tree, so -m never names their edits: read from disk
    for rec in listed.split(b"\0"):
        if not rec:
            continue
        meta, _, raw = rec.partition(b"\t")
        tag, mode, blob, stage = meta.decode().split(" ")
        name = os.fsdecode(raw)[len(prefix):]
        if tree is not None and raw not in moved:
            committed.add(blob)
        if stage != "0" or name in differ or tag == "S" or tag.islower():
            indexed[name] = None
        elif mode in _REGULAR:
            indexed[name] = blob
        # (a symlink or a submodule unchanged in the work tree: never followed or read)
    for name in differ:
        if name.endswith("/"):  # a repository inside the export: git names it, not its files
            indexed.update((n, None) for n in _files_under(root, name))
        else:
            indexed[name] = None
    wanted = sorted((n for n in indexed if n.endswith(".md")), key=_walk_order)
    errors: list[str] = []
    pages: list[tuple[str, bytes]] = []
    blobs: dict[str, str] = {}
    total = 0
    walkable: dict[str, bool] = {}
    base = os.fspath(root)  # joined as text: a Path per page cost as much as its lstat
    for name in wanted:
        shown = f"{base}/{name}"
        if not _in_real_dirs(base, name, walkable):
            continue  # behind a symlink to a directory: the walk never goes there
        try:
            data = _read_regular(shown)
        except OSError as e:
            if not isinstance(e, FileNotFoundError):  # (gone: deleted in the work tree)
                errors.append(f"{quoted(shown, 200)}: skipped: {e.strerror}")
            continue
        if data is None:
            continue  # a symlink, FIFO or device: never followed or opened
        if len(data) > frontmatter.MAX_PAGE_BYTES:
            errors.append(f"{quoted(shown, 200)}: skipped: larger than"
                          f" {frontmatter.MAX_PAGE_BYTES // (1024 * 1024)} MiB")
            continue
        total += len(data)
        if total > reader.MAX_EXPORT_BYTES:
            errors.append(f"{root}: larger than {reader.MAX_EXPORT_BYTES // (1024 * 1024)} MiB"
                          " in all; the rest skipped")
            break
        pages.append((name, data))
        oid = indexed[name]
        if oid is not None:  # git found the file as the index has it: its blob id is known
            blobs[name] = oid
    out = reader.parse_pages(pages, str(root), git.object_format(), committed, known=blobs)
    out.errors[:0] = errors
    return out


def _files_under(root: Path, folder: str) -> Iterator[str]:
    """The files below ``root/folder`` as the walk meets them (symlinks not followed)."""
    for dirpath, _dirs, files in os.walk(root / folder):
        rel = Path(dirpath).relative_to(root).as_posix()
        yield from (f"{rel}/{f}" for f in files)


def _in_real_dirs(root: str, name: str, walkable: dict[str, bool]) -> bool:
    """Whether each folder between ``root`` and page ``name`` is a directory, not a symlink
    to one (git lists a tracked page at its old path when its folder was replaced by such a
    link); ``walkable`` remembers each folder's answer."""
    parent = name.rpartition("/")[0]
    if not parent:
        return True
    known = walkable.get(parent)
    if known is None:
        try:
            known = stat.S_ISDIR(os.lstat(f"{root}/{parent}").st_mode)
        except OSError:
            known = False
        known = known and _in_real_dirs(root, parent, walkable)
        walkable[parent] = known
    return known


def _read_regular(path: str) -> bytes | None:
    """A regular file's bytes (at most MAX_PAGE_BYTES + 1), None for anything else (never
    followed or opened). Read in one call sized by its lstat, not by the limit: a buffer of
    the limit allocated per page cost 3.5x the reading (docs/performance.md, "Figures behind
    the code")."""
    st = os.lstat(path)
    if not stat.S_ISREG(st.st_mode):
        return None
    limit = frontmatter.MAX_PAGE_BYTES + 1
    # O_NOFOLLOW, O_NONBLOCK: replaced by a symlink or a FIFO since the lstat, it fails or
    # does not wait
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        chunks = [os.read(fd, min(st.st_size + 1, limit))]
        got = len(chunks[0])
        while got > st.st_size and chunks[-1] and got < limit:  # it grew since the lstat
            chunks.append(os.read(fd, min(limit - got, 1 << 16)))
            got += len(chunks[-1])
        return b"".join(chunks)
    finally:
        os.close(fd)


def _walk_order(name: str) -> tuple[list[str], str]:
    """os.walk's order (reader.markdown_files): a folder's files before its subfolders'."""
    *folders, file = name.split("/")
    return folders, file
