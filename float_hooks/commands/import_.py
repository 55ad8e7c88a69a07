from __future__ import annotations

import argparse
import sys
from pathlib import Path

from float_hooks.atomic import through_symlink
from float_hooks.commands import _common
from float_hooks.errors import EXIT_ERROR, FloatError
from float_hooks.map.build import open_built
from float_hooks.output import emit, emit_json, error
from float_hooks.pages import importer, legacy_tree
from float_hooks.store.db import Store

HELP = "merge an export (default .float/project/) or FloatPrompt decision files into the DB"


def add_arguments(p: argparse.ArgumentParser) -> None:
    which = p.add_mutually_exclusive_group()
    which.add_argument("--from", dest="source", metavar="DIR", type=_common.os_path,
                       help="an export directory (default: [export] dir)")
    which.add_argument("--legacy", metavar="DIR", type=_common.os_path,
                       help="a FloatPrompt log tree (YYYY-MM-DD-"
                       "topic.md decision files beside logs.md, YYYY.md, MM-mon.md summaries)"
                       " to import as decision log entries, open questions and references")
    _common.add_json(p)


def run(args: argparse.Namespace) -> int:
    proj = _common.settled(_common.project(args))
    if args.legacy:
        return _legacy(open_built(proj), _existing(Path(args.legacy)), args.json)
    if args.source:
        source = _existing(Path(args.source))
    elif proj.work_tree is not None:
        source = _existing(proj.work_tree / str(proj.config["export"]["dir"]))
        refused = through_symlink(proj.work_tree, source)
        if refused:
            raise FloatError(refused)
    else:
        raise FloatError("a bare repository has no export on disk; pass --from DIR")
    store = open_built(proj)
    result = importer.import_dir(store, source)
    if args.json:
        emit_json(result.as_json())
    else:
        emit(f"imported {source}: {result.summary()}")
        if result.conflicts:
            emit(f"{result.conflicts} conflicts kept: see `float-hooks conflicts`")
    for line in result.errors:  # each bad page alone; the others were imported
        error(line)
    sys.stderr.flush()
    return EXIT_ERROR if result.errors else 0


def _legacy(store: Store, root: Path, as_json: bool) -> int:
    report = legacy_tree.import_tree(store, root)
    if as_json:
        emit_json(report.as_json())
    else:
        d, q, r = report.decisions, report.questions, report.references
        emit(f"imported {report.files} decision files: {d.added} added, {d.updated} updated,"
             f" {d.unchanged} unchanged; open questions: {q.added} added, {q.updated} updated;"
             f" references: {r.added} added, {r.updated} updated")
        conflicts = d.conflicts + q.conflicts + r.conflicts
        if conflicts:
            emit(f"{conflicts} records changed here since their last import were kept beside"
                 " the new ones: see `float-hooks conflicts`")
        for line in report.summaries:
            emit(line)
    for line in report.errors:  # each bad file alone; the others were imported
        error(line)
    sys.stderr.flush()
    return EXIT_ERROR if report.errors else 0


def _existing(path: Path) -> Path:
    if not path.is_dir():
        raise FloatError(f"{path}: no such directory")
    return path
