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
from float_hooks.errors import GitError
from float_hooks.project import Project
from float_hooks.reads.stale import History
from float_hooks.repo.git import Entry, parse_ls_tree
from float_hooks.repo.hashing import folder_hashes


class _Tree:
    """A commit's files (all of them, or those below one folder), listed and hashed once."""

    def __init__(self, files: dict[str, Entry]):
        self.files = files
        self.paths = sorted(files)
        self.hashes = folder_hashes(files)  # right for every folder the listing covers

    def below(self, folder: str) -> dict[str, Entry]:
        if folder == paths.ROOT:
            return self.files
        lo = bisect.bisect_left(self.paths, folder + "/")
        hi = bisect.bisect_left(self.paths, folder + "0")  # '0' follows '/'
        return {p: self.files[p] for p in self.paths[lo:hi]}


def of(project: Project, *, many: bool = False) -> History:
    """``context.why``'s fallback for ``project``'s folders: the files below a folder at its
    context commit, if they hash to its context hash. One folder lists just that folder;
    ``many`` (the stale list) lists each commit's whole tree once."""
    trees: dict[tuple[str, str], _Tree | None] = {}

    def files(row: sqlite3.Row) -> dict[str, Entry] | None:
        commit, context_hash, folder = row["context_commit"], row["context_hash"], row["path"]
        if not commit or not context_hash:
            return None
        key = (commit, paths.ROOT if many else folder)
        if key not in trees:
            args = ["ls-tree", "-r", "-z", "--full-tree", commit]
            if key[1] != paths.ROOT:
                args += ["--", paths.to_git(folder)]
            try:
                listing = parse_ls_tree(project.git.run(*args))
            except GitError:  # not in this clone (shallow, garbage-collected, force-pushed)
                trees[key] = None
            else:
                trees[key] = _Tree(project.scope().present(listing))
        tree = trees[key]
        if tree is None or tree.hashes.get(folder) != context_hash:
            return None
        return tree.below(folder)

    return files
