from __future__ import annotations

import argparse

from float_hooks.commands import _common
from float_hooks.output import bounded, emit, emit_json
from float_hooks.pages import importer
from float_hooks.store import conflicts
from float_hooks.store.folder_context import status_counts

HELP = "counts of files and folders, and how many folders are pending, current or stale"


def add_arguments(p: argparse.ArgumentParser) -> None:
    _common.add_json(p)


def run(args: argparse.Namespace) -> int:
    proj = _common.settled(_common.project(args))
    store = _common.ready(proj)
    try:
        store.quick_check()  # status is where a damaged DB must show (docs/durability.md)
        counts = status_counts(store)
        counts["conflicts"] = conflicts.count(store.conn)
        counts["skipped_pages"] = importer.skipped(store)
    finally:
        store.close()
    # the map follows HEAD through the hooks; after `git reset`, a checkout or commits made
    # with hooks off it is behind until the next sync: say so rather than look current
    git_head = proj.git.head()
    counts["git_head"] = git_head
    counts["behind_head"] = counts["head"] != git_head
    if args.json:
        emit_json(counts)
        return 0
    head = (counts["head"] or "no commit")[:12]
    emit(f"{counts['files']} files in {counts['folders']} folders"
         f" (synced {counts['snapshot'] or '-'} at {head})")
    emit(f"  current {counts['current']}  stale {counts['stale']}  pending {counts['pending']}")
    if counts["behind_head"]:
        emit(f"  the map is behind HEAD ({(git_head or 'no commit')[:12]}): run `float-hooks"
             " sync` (the hooks keep it at HEAD after each commit, merge and checkout)")
    if counts["archived"]:
        emit(f"  {counts['archived']} archived folders with context (`float-hooks archive list`)")
    if counts["conflicts"]:
        emit(f"  {counts['conflicts']} conflicting versions kept (`float-hooks conflicts`)")
    skipped = counts["skipped_pages"]
    if skipped:
        emit(f"  {len(skipped)} export pages could not be imported; fix them, then run"
             " `float-hooks sync`:")
        emit(bounded(skipped, indent="    "))
    return 0
