"""Bringing an export (``.float/project/``) into the DB: when a DB is built, when a commit
brings a changed export, and on request. The merge itself (nothing deleted, concurrent
versions both kept) is merge.py's; reading and checking pages is reader.py's.

The DB remembers the export tree it imported last (meta ``export_tree``) and the blob of each
page it wrote or read (``export_pages``). After a pull, only the pages that differ between
the two trees and are not the ones this DB wrote itself are read: the hooks' cost follows the
change. Because ``context_hash`` travels, a fresh checkout knows which folders are stale from
hashes alone, without history.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from float_hooks import atomic, failpoints
from float_hooks.config import export_dir_parts
from float_hooks.project import Project
from float_hooks.repo.git import parse_ls_tree, parse_raw_diff
from float_hooks.store.db import Store, select_in

if TYPE_CHECKING:
    from float_hooks.pages.reader import PageSet
    from float_hooks.store.merge import ImportResult

# reader.py and merge.py (the YAML reader, the merge rules: slow imports) are imported
# where pages are read: a post-commit hook whose commit left the export alone pays one
# `git ls-tree` here, not them

EXPORT_TREE_KEY = "export_tree"  # the git tree id of the export last imported
# meta: the one-line errors of export pages an import skipped (JSON), until a sync reads
# the export again and takes them (retry_skipped); `status` shows them
SKIPPED_KEY = "skipped_pages"


def export_dir(project: Project) -> str:
    """The configured export dir as a repo-relative git path ('' if it is not one: config.py
    refuses such a setting)."""
    return "/".join(export_dir_parts(str(project.config["export"]["dir"])) or [])


def export_root(project: Project) -> Path | None:
    """Where the work tree's export lives on disk (None for a bare repository)."""
    rel = export_dir(project)
    if project.work_tree is None or not rel:
        return None
    return project.work_tree / rel


def worktree_root(project: Project) -> tuple[Path | None, str | None]:
    """The work tree's export folder if it is there to read (a real folder, reached through
    no symlink), and why it is not read when it exists but is reached through one."""
    root = export_root(project)
    if root is None or project.work_tree is None or not root.is_dir():
        return None, None
    refused = atomic.through_symlink(project.work_tree, root)
    return (None, refused) if refused else (root, None)


def committed_tree(project: Project, rev: str | None = None) -> str | None:
    """The tree id of the export in commit ``rev`` (HEAD), or None: one cheap git call."""
    rel = export_dir(project)
    if not rel:
        return None
    # a tree only: a file committed where the export directory goes holds no export
    out = project.git.run("ls-tree", "-z", "--end-of-options", rev or "HEAD", "--", rel,
                          check=False)
    meta, _, name = out.partition(b"\t")
    fields = meta.split()
    if len(fields) == 3 and fields[1] == b"tree" and name.rstrip(b"\0") == rel.encode():
        return fields[2].decode()
    return None


def committed_blobs(project: Project, tree: str | None) -> set[str]:
    """The blob ids of the pages in an export tree."""
    if tree is None:
        return set()
    out = project.git.run("ls-tree", "-r", "-z", "--end-of-options", tree, check=False)
    return {oid for _mode, oid in parse_ls_tree(out).values()}


def read_worktree_export(project: Project, root: Path, tree: str | None) -> PageSet:
    """The work tree's export at ``root`` (``tree``: HEAD's export, committed_tree(project);
    its blobs are the ones not uncommitted): listed by git where git knows it
    (worktree_pages.py), else walked."""
    from float_hooks.pages import reader  # lazy: off the hooks' path (their start-up cost)

    rel = export_dir(project)
    if rel and project.git.work_tree is not None:
        from float_hooks.pages import worktree_pages  # lazy: the YAML reader, slow to import

        return worktree_pages.read_worktree(project.git, root, rel, tree)
    return reader.read_dir(root, project.git.object_format(), committed_blobs(project, tree))


def merge_pages(conn: sqlite3.Connection, found: PageSet, *, source: str) -> ImportResult:
    """Merge ``found`` into the open transaction, journaling what it changes: committed pages
    too, since a ``git reset --hard`` to a commit before the export (or a checkout of a
    branch without it) takes them away again, and the journal must still hold what the DB
    took from them. Remembers the blob of each page read."""
    from float_hooks.store.merge import Merger  # lazy: off the hooks' path (their start-up cost)

    merger = Merger(conn, durable=False, source=source)
    merger.merge(found.data)
    result = merger.merge(found.uncommitted)
    remember_blobs(conn, found.blobs.items())
    result.errors = list(found.errors)
    return result


def remember_blobs(conn: sqlite3.Connection, blobs: Iterable[tuple[str, str]]) -> None:
    conn.executemany("INSERT INTO export_pages(page, blob) VALUES (?, ?) ON CONFLICT(page)"
                     " DO UPDATE SET blob = excluded.blob", list(blobs))


def import_dir(store: Store, root: Path, *, source: str | None = None) -> ImportResult:
    """``float-hooks import [--from DIR]``: every page under ``root``, journaled (a directory
    on disk may be gone tomorrow)."""
    from float_hooks.pages import reader  # lazy: off the hooks' path (their start-up cost)

    found = reader.read_dir(root)
    with store.write() as conn:
        result = merge_pages(conn, found, source=source or str(root))
        failpoints.reached("import:merged")
        return result


def import_if_changed(project: Project, store: Store, rev: str | None = None
                      ) -> ImportResult | None:
    """After a commit, merge, checkout or push: import what changed in the committed export
    since the export tree imported last (None when nothing did: one git call)."""
    tree = committed_tree(project, rev)
    old = store.get_meta(EXPORT_TREE_KEY)
    if tree is None or tree == old:
        return None
    from float_hooks.pages import reader  # lazy: off the hooks' path (their start-up cost)

    only = _changed_pages(project, store, old, tree)
    found = reader.read_tree(project.git, tree, only) if only != set() else reader.PageSet()
    with store.write() as conn:
        result = merge_pages(conn, found, source=f"{rev or 'HEAD'}:{export_dir(project)}")
        store.set_meta(EXPORT_TREE_KEY, tree)
        if result.errors:
            note_skipped(store, skipped(store) + result.errors)
    return result


def skipped(store: Store) -> list[str]:
    """The errors of the pages imports skipped and no sync has taken since."""
    import json  # lazy: off the hooks' path (they read this only when pages were skipped)

    raw = store.get_meta(SKIPPED_KEY)
    loaded = json.loads(raw) if raw else []
    return [str(e) for e in loaded] if isinstance(loaded, list) else []


def note_skipped(store: Store, errors: list[str]) -> None:
    """Remember the pages skipped (in the open transaction); none: forget them."""
    import json  # lazy: off the hooks' path (they write this only when pages were skipped)

    unique = list(dict.fromkeys(errors))
    if unique:
        store.set_meta(SKIPPED_KEY, json.dumps(unique))
    else:
        store.conn.execute("DELETE FROM meta WHERE key = ?", (SKIPPED_KEY,))


def retry_skipped(project: Project, store: Store) -> ImportResult | None:
    """Pages were skipped: read the work tree's export again (the fixed ones come in, merged
    like any import) and remember what is still skipped. None when nothing was skipped (a
    meta read), or for a bare repository (its next pushed export is imported anyway)."""
    if project.work_tree is None or store.get_meta(SKIPPED_KEY) is None:
        return None
    root, _refused = worktree_root(project)  # (refused: the build said so already)
    if root is None:
        return None
    from float_hooks.pages import reader  # lazy: off the hooks' path (their start-up cost)

    found = reader.read_dir(root, project.git.object_format(),
                            committed_blobs(project, committed_tree(project)))
    with store.write() as conn:
        result = merge_pages(conn, found, source=str(root))
        note_skipped(store, result.errors)
    return result


def _changed_pages(project: Project, store: Store, old: str | None,
                   new: str) -> set[str] | None:
    """The pages of ``new`` to read: those that differ from ``old`` and from what this DB
    wrote or read itself (None: all of them)."""
    if old is None or not project.git.has_object(old):
        return None
    out = project.git.run("diff-tree", "-r", "-z", "--no-renames", old, new)
    changed = {d.raw.decode("utf-8", "surrogateescape"): d.new[1]
               for d in parse_raw_diff(out) if d.new is not None and d.raw.endswith(b".md")}
    known = dict(select_in(store.conn, "SELECT page, blob FROM export_pages WHERE page IN ({})",
                           changed))
    return {name for name, blob in changed.items() if known.get(name) != blob}
