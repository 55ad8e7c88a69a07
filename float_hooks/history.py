"""A stale folder's file history when the store has none.

`why` answers from the changes the store saw since a folder's context was written. Context
imported from a committed export (a fresh clone, a merge) or written for another hash comes
without that record. It does name the commit it was written at (``context_commit``): when
that commit's files below the folder hash to the context's hash, they are exactly what the
context describes, and comparing them with the folder's files now tells what changed, file
by file. Otherwise (the commit is gone, or the context described uncommitted work) the
answer stays incomplete, and says so.
"""

from __future__ import annotations

import bisect
import sqlite3

from float_hooks import paths
from float_hooks.context import History
from float_hooks.errors import GitError
from float_hooks.git import Entry, parse_ls_tree
from float_hooks.hashing import folder_hashes, subtree_hash
from float_hooks.project import Project


def files_then(project: Project, folder: str, commit: str | None,
               context_hash: str | None) -> dict[str, Entry] | None:
    """The files below ``folder`` at ``commit``, if they are what ``context_hash`` hashed."""
    if not commit or not context_hash:
        return None
    args = ["ls-tree", "-r", "-z", "--full-tree", commit]
    if folder != paths.ROOT:
        args += ["--", paths.to_git(folder)]
    files = _listing(project, args)
    if files is None or subtree_hash(files, folder) != context_hash:
        return None
    return files


def _listing(project: Project, args: list[str]) -> dict[str, Entry] | None:
    try:
        return project.scope().present(dict(parse_ls_tree(project.git.run(*args))))
    except GitError:
        return None  # not in this clone (shallow, garbage-collected, force-pushed away)


class _Tree:
    """One commit's whole tree, for answering many folders: listed and hashed once."""

    def __init__(self, files: dict[str, Entry]):
        self.files = files
        self.paths = sorted(files)
        self.hashes = folder_hashes(files)

    def below(self, folder: str) -> dict[str, Entry]:
        if folder == paths.ROOT:
            return self.files
        lo = bisect.bisect_left(self.paths, folder + "/")
        hi = bisect.bisect_left(self.paths, folder + "0")  # '0' follows '/'
        return {p: self.files[p] for p in self.paths[lo:hi]}


def of(project: Project, *, many: bool = False) -> History:
    """``context.why``'s fallback for ``project``'s folders. ``many``: for a list of folders
    (``stale``), one ``ls-tree`` per commit instead of one per folder."""
    if not many:
        return lambda row: files_then(project, row["path"], row["context_commit"],
                                      row["context_hash"])
    trees: dict[str, _Tree | None] = {}

    def files(row: sqlite3.Row) -> dict[str, Entry] | None:
        commit, context_hash = row["context_commit"], row["context_hash"]
        if not commit or not context_hash:
            return None
        if commit not in trees:
            listing = _listing(project, ["ls-tree", "-r", "-z", "--full-tree", commit])
            trees[commit] = None if listing is None else _Tree(listing)
        tree = trees[commit]
        if tree is None or tree.hashes.get(row["path"]) != context_hash:
            return None
        return tree.below(row["path"])

    return files
