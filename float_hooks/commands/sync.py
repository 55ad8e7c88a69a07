from __future__ import annotations

import argparse
import sys
from typing import Any

from float_hooks.commands import _common
from float_hooks.map import build
from float_hooks.map.sync import SyncResult
from float_hooks.output import SHOWN, Progress, bounded, emit, emit_json, inline
from float_hooks.project import Project
from float_hooks.repo.snapshot import Target

HELP = "update the map from the work tree (default), the index (--staged) or a commit (--rev)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    which = p.add_mutually_exclusive_group()
    which.add_argument("--rev", metavar="REV", help="sync to a commit's tree")
    which.add_argument("--staged", action="store_true", help="sync to the index (what a commit"
                       " would record; honours GIT_INDEX_FILE)")
    p.add_argument("--full", action="store_true",
                   help="rescan everything instead of the changed paths (same result)")
    _common.add_json(p)


def target_for(proj: Project, staged: bool, rev: str | None) -> Target:
    if rev is not None:
        return Target("commit", rev)
    if staged:
        return Target("index")
    return Target("commit") if proj.work_tree is None else Target("worktree")


def run_sync(proj: Project, args: argparse.Namespace, *, staged: bool, rev: str | None,
             full: bool) -> tuple[SyncResult, str | None]:
    """Sync (building the DB first if it never was); the result and, after a build, the line
    that says what it brought in."""
    store = proj.open_store()
    progress = Progress("float-hooks: hashing folders")
    try:
        if store.is_built():
            return build.sync(proj, store, target_for(proj, staged, rev), full=full,
                              progress=progress), None
        return build.build(proj, store, target_for(proj, staged, rev), progress)
    finally:
        progress.close()
        store.close()


def print_result(result: SyncResult, as_json: bool, extra: dict[str, Any] | None = None,
                 built: str | None = None) -> None:
    if as_json:
        emit_json({**result.as_json(), **({"built": built} if built else {}), **(extra or {})})
        return
    a = result.applied
    head = (result.head or "no commit")[:12]
    skipped = list(result.skipped_pages)  # refused pages, one a line (the rest imported)
    for line in skipped[:SHOWN]:
        sys.stderr.write(f"float-hooks: export page skipped: {line}\n")
    if len(skipped) > SHOWN:
        sys.stderr.write(f"float-hooks: ... and {len(skipped) - SHOWN} more export pages"
                         " skipped (`float-hooks status --json` lists them)\n")
    if built:
        emit(f"synced {result.target} ({result.mode}) at {head}: {built}")
        return
    emit(f"synced {result.target} ({result.mode}) at {head}: {a.files_changed} files changed,"
         f" {len(a.folders_changed)} folders updated")
    if a.became_stale:
        emit(f"{len(a.became_stale)} folders went stale: {inline(list(a.became_stale))}")
    if a.became_current:
        emit(f"{len(a.became_current)} folders current again:"
             f" {inline(list(a.became_current))}")
    if a.moved:
        emit(bounded([f"moved context {src} -> {dst}" for src, dst in a.moved], indent=""))
    if a.archived:
        emit(f"archived context of deleted folders: {inline(list(a.archived))}"
             " (see `float-hooks archive list`)")


def run(args: argparse.Namespace) -> int:
    proj = _common.settled(_common.project(args))
    result, built = run_sync(proj, args, staged=args.staged, rev=args.rev, full=args.full)
    print_result(result, args.json, built=built)
    return 0
