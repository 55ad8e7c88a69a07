from __future__ import annotations

import argparse
from pathlib import Path

from float_hooks.commands import _common
from float_hooks.errors import FloatError
from float_hooks.output import emit, emit_json

HELP = "merge an export (default .float/project/) or FloatPrompt decision files into the DB"


def add_arguments(p: argparse.ArgumentParser) -> None:
    which = p.add_mutually_exclusive_group()
    which.add_argument("--from", dest="source", metavar="DIR",
                       help="an export directory (default: [export] dir)")
    which.add_argument("--legacy", metavar="DIR", help="a folder of FloatPrompt decision files"
                       " (YYYY-MM-DD-topic.md) to import as decision log entries")
    _common.add_json(p)


def run(args: argparse.Namespace) -> int:
    from float_hooks import importer, legacy

    proj = _common.settled(_common.project(args))
    store = proj.open_store()
    if args.legacy:
        counts = legacy.import_dir(store, _existing(Path(args.legacy)))
        if args.json:
            emit_json(counts)
        else:
            emit(f"imported {counts['files']} decision files: {counts['added']} added,"
                 f" {counts['updated']} updated, {counts['unchanged']} unchanged")
        return 0
    if args.source:
        source = _existing(Path(args.source))
    elif proj.work_tree is not None:
        source = _existing(proj.work_tree / str(proj.config["export"]["dir"]))
    else:
        raise FloatError("a bare repository has no export on disk; pass --from DIR")
    result = importer.merge(store, importer.read_dir(source))
    if args.json:
        emit_json(result.as_json())
    else:
        emit(f"imported {source}: {result.summary()}")
    return 0


def _existing(path: Path) -> Path:
    if not path.is_dir():
        raise FloatError(f"{path}: no such directory")
    return path
