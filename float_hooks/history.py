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

import sqlite3

from float_hooks import paths
from float_hooks.context import History
from float_hooks.errors import GitError
from float_hooks.git import Entry, parse_ls_tree
from float_hooks.hashing import subtree_hash
from float_hooks.project import Project


def files_then(project: Project, folder: str, commit: str | None,
               context_hash: str | None) -> dict[str, Entry] | None:
    """The files below ``folder`` at ``commit``, if they are what ``context_hash`` hashed."""
    if not commit or not context_hash:
        return None
    args = ["ls-tree", "-r", "-z", "--full-tree", commit]
    if folder != paths.ROOT:
        args += ["--", paths.to_git(folder)]
    try:
        listing = parse_ls_tree(project.git.run(*args))
    except GitError:
        return None  # not in this clone (shallow, garbage-collected, force-pushed away)
    files = project.scope().present(dict(listing))
    return files if subtree_hash(files, folder) == context_hash else None


def of(project: Project) -> History:
    """``context.why``'s fallback for ``project``'s folders."""
    def files(row: sqlite3.Row) -> dict[str, Entry] | None:
        return files_then(project, row["path"], row["context_commit"], row["context_hash"])

    return files
