"""Building a DB, and the one sync every trigger runs.

A DB is usable once its first build has committed: a full sync, the import of the export on
disk (or of the committed one, for a bare mirror) and the replay of the write journal, all in
the sync's one transaction, which also records that the build is done (meta ``built``) and
which export tree it imported. A kill at any instant leaves either no build (the next command
builds again, from the start) or a finished one. A DB that is missing, empty, half-built or
damaged is treated alike: damaged files are kept aside as ``index.db.corrupt`` (project.py),
and the map is built again. Every entry point (hooks, `sync`, `init`, the read commands, the
webhook worker, the MCP server) goes through :func:`sync` or :func:`ready`.

After a build, :func:`sync` first imports what a commit changed in the committed export (one
``git rev-parse`` when nothing did), then syncs.
"""

from __future__ import annotations

import sqlite3
import sys
from typing import TYPE_CHECKING, Any

from float_hooks import failpoints, output
from float_hooks.map.changes import Progress
from float_hooks.map.sync import SyncResult
from float_hooks.map.sync import sync as sync_core
from float_hooks.pages import forked_read, importer
from float_hooks.project import Project
from float_hooks.repo.snapshot import Target
from float_hooks.store.db import BUILT_KEY, Store, now
from float_hooks.store.journal import replay

if TYPE_CHECKING:
    from float_hooks.store.merge import ImportResult


class Built:
    """What a build brought in (besides the map): for the one line a build prints."""

    def __init__(self) -> None:
        self.imported: ImportResult | None = None

    def describe(self, conn: sqlite3.Connection) -> str:
        counts = dict(conn.execute("SELECT status, count(*) FROM folders GROUP BY status"))
        folders = sum(counts.values())
        with_context = counts.get("current", 0) + counts.get("stale", 0)
        line = f"built the map: {folders} folders"
        if with_context:
            line += f", {with_context} with context ({counts.get('stale', 0)} stale)"
        errors = (self.imported.errors if self.imported else [])
        if errors:
            line += f"; {len(errors)} export pages skipped (`float-hooks import` names them)"
        return line


def sync(project: Project, store: Store, target: Target, *, full: bool = False,
         progress: Progress | None = None, imports: bool = True) -> SyncResult:
    """Sync ``store`` to ``target``, building it first if it never was. ``imports``: bring in
    a changed committed export first (every trigger but the pre-commit hook, which only reads
    what is being committed)."""
    if not store.is_built():
        return build(project, store, target, progress)[0]
    skipped: tuple[str, ...] = ()
    if imports:
        imported = importer.import_if_changed(project, store, target.rev)
        skipped = tuple(imported.errors) if imported is not None else ()
        if target.kind == "worktree":
            retried = importer.retry_skipped(project, store)
            if retried is not None:
                skipped = tuple(retried.errors)
    result = sync_core(project.git, store, target, scope=project.scope(), full=full,
                       progress=progress)
    return result._replace(skipped_pages=skipped) if skipped else result


def ready(project: Project, store: Store, progress: Progress | None = None) -> str | None:
    """Build ``store`` if it never was (a fresh clone, a deleted or damaged DB): from the work
    tree, or a bare repository's HEAD. The line describing the build, or None."""
    if store.is_built():
        return None
    target = Target("worktree") if project.work_tree is not None else Target("commit")
    return build(project, store, target, progress)[1]


def build(project: Project, store: Store, target: Target,
          progress: Progress | None = None) -> tuple[SyncResult, str]:
    built = Built()
    line: list[str] = []

    def finish(conn: sqlite3.Connection, result: SyncResult) -> None:
        if store.is_built():
            return  # another process built it while we waited for the lock
        _populate(project, store, conn, target, built, early)
        store.set_meta(BUILT_KEY, now())
        line.append(built.describe(conn))

    early = forked_read.start(project)  # the export read while the sync runs
    try:
        result = sync_core(project.git, store, target, scope=project.scope(), full=True,
                           progress=progress, then=finish)
    finally:
        if early is not None:
            early.abandon()
    if built.imported is not None and built.imported.errors:
        result = result._replace(skipped_pages=tuple(built.imported.errors))
    return result, line[0] if line else ""


def _populate(project: Project, store: Store, conn: sqlite3.Connection, target: Target,
              built: Built, early: forked_read.Pending | None = None) -> None:
    """The authored content of a new DB: the export (as ``early`` read it, if it did), then
    the journal (what was written since the export), inside the build's transaction."""
    from float_hooks.pages import reader  # lazy: the YAML reader, slow for every hook

    root = importer.export_root(project)
    found: Any = reader.PageSet()
    if project.work_tree is not None:  # its export on disk, uncommitted pages included
        tree = importer.committed_tree(project)
        readable, refused = importer.worktree_root(project)
        if readable is not None:
            found = early.take(tree) if early is not None else None
            if found is None:
                found = importer.read_worktree_export(project, readable, tree)
        elif refused is not None:
            found.errors.append(refused)
    else:  # a bare repository: the export of the commit the map is built for
        tree = importer.committed_tree(project, target.rev)
        if tree is not None:
            found = reader.read_tree(project.git, tree)
    built.imported = importer.merge_pages(conn, found, source=str(root or tree))
    importer.note_skipped(store, built.imported.errors)
    failpoints.reached("build:imported")
    if store.journal is not None:
        replay(store.journal, conn)
        store.journal.start(conn)
    if tree is not None:
        store.set_meta(importer.EXPORT_TREE_KEY, tree)


def open_built(project: Project, *, create: bool = True) -> Store:
    """The project's map, opened (:meth:`Project.open_store`) and, if it never was, built from
    the work tree (a bare repository's HEAD), saying so in one line on stderr."""
    store = project.open_store(create=create)
    if store.is_built():
        return store
    sys.stderr.write("float-hooks: building the map (first run here; authored content"
                     " comes from the committed export and the write journal)\n")
    progress = output.Progress("float-hooks: hashing folders")
    try:
        line = ready(project, store, progress)
    except BaseException:
        store.close()
        raise
    finally:
        progress.close()
    if line:
        sys.stderr.write(f"float-hooks: {line}\n")
    return store
