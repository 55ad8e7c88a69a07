from __future__ import annotations

import argparse

from float_hooks.commands import _common
from float_hooks.context import status_counts
from float_hooks.output import emit, emit_json

HELP = "counts of files and folders, and how many folders are pending, current or stale"


def add_arguments(p: argparse.ArgumentParser) -> None:
    _common.add_json(p)


def run(args: argparse.Namespace) -> int:
    store = _common.store(args)
    counts = status_counts(store)
    if args.json:
        emit_json(counts)
        return 0
    head = (counts["head"] or "no commit")[:12]
    emit(f"{counts['files']} files in {counts['folders']} folders"
         f" (synced {counts['snapshot'] or '-'} at {head})")
    emit(f"  current {counts['current']}  stale {counts['stale']}  pending {counts['pending']}")
    if counts["archived"]:
        emit(f"  {counts['archived']} archived folders with context (`float-hooks archive list`)")
    return 0
