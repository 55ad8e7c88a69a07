from __future__ import annotations

import argparse
from pathlib import Path

from float_hooks.commands import _common
from float_hooks.errors import FloatError
from float_hooks.map.build import open_built
from float_hooks.output import emit, emit_json
from float_hooks.pages import writer

HELP = "write the markdown export (default .float/project/): one page per folder, the log"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", metavar="DIR", type=_common.os_path,
                   help="where to write (default: [export] dir, relative"
                   " to the repository)")
    _common.add_json(p)


def run(args: argparse.Namespace) -> int:
    proj = _common.settled(_common.project(args))
    out = _out_dir(proj.work_tree, args.out, str(proj.config["export"]["dir"]))
    # the configured folder is the repository's: no symlink on the way from its top
    base = proj.work_tree if args.out is None else out
    store = open_built(proj)
    try:
        store.quick_check()  # never an export from a DB that fails its check
        result = writer.export(store, out, proj.git.object_format(), base)
    finally:
        store.close()
    where = str(args.out) if args.out else str(proj.config["export"]["dir"])
    if args.json:
        emit_json(result.as_json(where))
        return 0
    merged = result.merged
    if merged.summary() != "nothing new":
        emit(f"merged pages this map had not seen first: {merged.summary()}")
    emit(f"exported {result.pages} pages to {where}: {len(result.written)} written,"
         f" {len(result.removed)} removed")
    if merged.conflicts:
        emit(f"{merged.conflicts} conflicts kept: see `float-hooks conflicts`")
    return 0


def _out_dir(work_tree: Path | None, given: str | None, configured: str) -> Path:
    if given is not None:
        return Path(given).resolve()
    if work_tree is None:
        raise FloatError("a bare repository has no work tree to export into; pass --out DIR")
    return work_tree / configured
