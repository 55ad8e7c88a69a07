from __future__ import annotations

import argparse

from float_hooks.commands import _common
from float_hooks.map.build import open_built
from float_hooks.output import emit, emit_json, emit_json_rows

HELP = ("write context for stale and pending folders now, children before parents, with the"
        " configured regenerator ([regenerate] kind)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", metavar="PATH", type=_common.folder_arg,
                   help="only these folders and the folders below them (default: all)")
    p.add_argument("--all", action="store_true",
                   help="also folders whose context is current (rewrite everything selected)")
    p.add_argument("--dry-run", action="store_true",
                   help="list the jobs that would run, with an input-size estimate; write nothing")
    p.add_argument("--limit", type=int, metavar="N", help="run at most N jobs")
    p.add_argument("--concurrency", type=int, default=1, metavar="N",
                   help="jobs to run side by side (for command and HTTP regenerators)")
    _common.add_json(p)


def run(args: argparse.Namespace) -> int:
    from float_hooks.regen.run import plan, run_jobs  # lazy: --help imports every command

    proj = _common.settled(_common.project(args))
    _common.require_initialised(proj)
    store = open_built(proj)
    try:
        if args.dry_run:
            planned = plan(proj, store, args.paths or None, force=args.all)
            if args.json:
                emit_json_rows(planned)
            else:
                for j in planned:
                    emit(f"{j['path']}  {j['reason']}  ~{j['estimated_tokens']} tokens")
                emit(f"{len(planned)} jobs planned")
            return 0
        summary = run_jobs(proj, store, paths=args.paths or None, force=args.all,
                                      limit=args.limit, concurrency=max(1, args.concurrency))
    finally:
        store.close()
    if args.json:
        emit_json(summary.as_json())
    else:
        for path in summary.done:
            emit(f"regenerated {path}")
        for f in summary.failed:
            emit(f"failed {f['path']}: {f['error']}" + (" (gave up)" if f["gave_up"] else ""))
        emit(f"{len(summary.done)} regenerated, {len(summary.failed)} failed,"
             f" {summary.remaining} jobs left in the queue")
    return 1 if summary.failed else 0
