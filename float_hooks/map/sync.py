"""The sync core every trigger calls: read a snapshot from git, diff it against the store, and
apply the changes in one transaction (a killed process leaves the previous state intact)."""

from __future__ import annotations

import gc
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from float_hooks import failpoints, paths
from float_hooks.errors import GitError
from float_hooks.map.apply import apply_changes
from float_hooks.map.changes import Applied, Change, Progress
from float_hooks.map.stream import write_listing
from float_hooks.repo.git import Entry, Git
from float_hooks.repo.listing import Listing
from float_hooks.repo.scope import Scope
from float_hooks.repo.snapshot import (
    Plan,
    Target,
    finish_full,
    incremental_plan,
    start_full,
)
from float_hooks.store.db import BASE_KEY, Store, now

SCOPE_KEY = "scope"  # the exclude rules the files table was built with


class SyncResult(NamedTuple):  # not a dataclass: see snapshot.Target
    target: str
    mode: str  # "full" | "incremental"
    head: str | None
    applied: Applied
    # export pages the import before this sync refused, one line each (reader.py)
    skipped_pages: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        a = self.applied.as_dict()
        a["moved"] = [{"from": s, "to": d} for s, d in self.applied.moved]
        out = {"target": self.target, "mode": self.mode, "head": self.head, **a}
        if self.skipped_pages:
            out["skipped_pages"] = list(self.skipped_pages)
        return out


def sync(
    git: Git,
    store: Store,
    target: Target,
    *,
    scope: Scope | None = None,
    full: bool = False,
    progress: Progress | None = None,
    then: Callable[[sqlite3.Connection, SyncResult], None] | None = None,
) -> SyncResult:
    """Sync ``store`` to ``target`` in one transaction; ``then`` runs inside it, after the
    map is written (a first build imports the export there: build.py)."""
    scope = scope or Scope([])
    with _gc_paused(), store.write() as conn:
        base = store.get_meta(BASE_KEY)
        rebuild = full or base is None or store.get_meta(SCOPE_KEY) != scope.signature()
        plan: Plan | None = None
        if not rebuild:
            overlay = {
                r[0]: (r[1], r[2]) if r[2] is not None else None
                for r in conn.execute("SELECT path, base_mode, base_hash FROM overlay")
            }
            try:
                plan = incremental_plan(git, target, base or None, overlay)
            except GitError:
                plan = None  # base commit gone (force push, gc, shallow clone): rebuild
        if plan is not None:
            wanted = scope.present(plan.values)
            applied = apply_changes(conn, _changes(conn, plan, wanted), progress)
        else:
            plan, applied = _full(conn, git, target, scope, progress)
        conn.execute("DELETE FROM overlay")
        conn.executemany(
            "INSERT INTO overlay(path, base_mode, base_hash) VALUES (?, ?, ?)",
            [(p, e and e[0], e and e[1]) for p, e in plan.overlay.items() if scope.includes(p)],
        )
        store.set_meta(BASE_KEY, plan.head or "")
        store.set_meta(SCOPE_KEY, scope.signature())
        store.set_meta("snapshot", target.describe())
        store.set_meta("synced_at", now())
        result = SyncResult(target.describe(), "full" if plan.full else "incremental",
                            plan.head, applied)
        failpoints.reached("sync:applied")
        failpoints.reached(f"sync:applied:{target.kind}")
        if then is not None:
            then(conn, result)
    store.built_first()
    return result


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a sync runs. A first build allocates a few hundred
    thousand tuples that live until it ends; each 700 allocations start a collection, and
    the full ones walk all of them again, a tenth of a first build's time. A
    sync makes no reference cycles worth collecting before it returns."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _full(conn: Any, git: Git, target: Target, scope: Scope, progress: Progress | None,
          ) -> tuple[Plan, Applied]:
    if _nothing_authored(conn):
        return _first(conn, git, target, scope, progress)
    started = start_full(git, target)
    plan = finish_full(git, target, started)[0]
    wanted = scope.present(plan.values)
    # after a full plan the files table holds exactly `wanted`: no need to read it back
    return plan, apply_changes(conn, _changes(conn, plan, wanted), progress, wanted)


def _first(conn: Any, git: Git, target: Target, scope: Scope, progress: Progress | None,
           ) -> tuple[Plan, Applied]:
    """A first build: the index's (or the commit's) listing written folder by folder while
    git prints it (stream.py: memory bounded by the open folders, not the repository), and
    while git compares it with the work tree (`git status`); then what that found applied on
    top, as an incremental sync would. Only on a store with nothing authored in it: between
    the two steps a folder can vanish and come back, and carry.py would move, archive or
    restore its content (imported content waiting for its folder, or old versions,
    included)."""
    listing = Listing(git, target)
    try:
        first = write_listing(conn, listing.blocks(scope), progress, listing.expected())
    except BaseException:
        listing.abandon()
        raise
    plan, wanted = listing.finish(scope)
    # what the first step wrote for those paths: the listing's entries, in scope
    listed = {p: _stored(conn, p) for p in wanted}
    rest = {p: (listed[p], e) for p, e in wanted.items() if listed[p] != e}
    if not rest:
        return plan, first
    count = listing.count + sum((new is not None) - (old is not None) for old, new in rest.values())
    return plan, first.then(apply_changes(conn, rest), files_changed=count)


def _stored(conn: Any, path: str) -> Entry | None:
    row = conn.execute("SELECT mode, content_hash FROM files WHERE folder_path = ? AND path = ?",
                       (paths.parent(path), path)).fetchone()
    return None if row is None else (row[0], row[1])


def _nothing_authored(conn: Any) -> bool:
    return bool(conn.execute(
        "SELECT NOT EXISTS (SELECT 1 FROM folders) AND NOT EXISTS (SELECT 1 FROM files)"
        " AND NOT EXISTS (SELECT 1 FROM archived_folders WHERE restored_at IS NULL)"
        " AND NOT EXISTS (SELECT 1 FROM context_versions)").fetchone()[0])


def _changes(conn: Any, plan: Plan, wanted: dict[str, Entry]) -> dict[str, Change]:
    if plan.full:
        stored: dict[str, Entry] = {
            r[0]: (r[1], r[2]) for r in conn.execute("SELECT path, mode, content_hash FROM files")
        }
        # git's listing order is path order: keeping it makes the writes' sort nearly free
        if not stored:  # a first sync: everything is new
            return {path: (None, entry) for path, entry in wanted.items()}
        full: dict[str, Change] = {}
        for path, entry in wanted.items():
            was = stored.get(path)
            if was != entry:
                full[path] = (was, entry)
        for path, was in stored.items():
            if path not in wanted:
                full[path] = (was, None)
        return full
    else:
        candidates = set(plan.values)
        stored = {}
        for path in candidates:  # point lookups on the (folder_path, path) key
            row = conn.execute("SELECT mode, content_hash FROM files"
                               " WHERE folder_path = ? AND path = ?",
                               (paths.parent(path), path)).fetchone()
            if row is not None:
                stored[path] = (row[0], row[1])
    changes: dict[str, Change] = {}
    for path in candidates:
        old, new = stored.get(path), wanted.get(path)
        if old != new:
            changes[path] = (old, new)
    return changes
