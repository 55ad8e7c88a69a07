from __future__ import annotations

import argparse

from float_hooks.commands import _common

HELP = ("run regeneration jobs from the queue (one worker per repository); --once: the jobs"
        " ready now, --drain: until the queue is empty, default: keep polling")


def add_arguments(p: argparse.ArgumentParser) -> None:
    how = p.add_mutually_exclusive_group()
    how.add_argument("--once", action="store_true", help="run the jobs ready now, then exit")
    how.add_argument("--drain", action="store_true",
                     help="run until no job is left, waiting out retries, then exit")
    p.add_argument("--concurrency", type=int, default=1, metavar="N",
                   help="jobs to run side by side")
    p.add_argument("--background", action="store_true",
                   help="started by a hook: exit quietly if a worker already runs")


def run(args: argparse.Namespace) -> int:
    from float_hooks.regen import worker  # lazy: --help imports every command

    proj = _common.project(args)
    _common.require_initialised(proj)
    try:
        worker.run(proj, once=args.once, drain=args.drain or args.background,
                   concurrency=max(1, args.concurrency),
                   patience=1.0 if args.background else 0.0)
    except worker.WorkerRunning:
        if args.background:
            return 0
        raise
    return 0
