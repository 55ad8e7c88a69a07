"""``float-hooks check``: the [check] threshold as a command, for CI and scripts."""

from __future__ import annotations

import argparse
import sys

from float_hooks.commands import _common
from float_hooks.commands.sync import run_sync
from float_hooks.errors import EXIT_FOUND, FloatError
from float_hooks.map.build import open_built
from float_hooks.output import emit, emit_json
from float_hooks.project import Project
from float_hooks.reads import anchor_check
from float_hooks.triggers.hooks import check_threshold

HELP = ("sync, then exit 1 when more folders are stale than [check] max_stale allows, or a"
        " [check] folders entry is stale; with --anchors, exit 1 when a change touches code"
        " that decisions or context cite")


def add_arguments(p: argparse.ArgumentParser) -> None:
    which = p.add_mutually_exclusive_group()
    which.add_argument("--rev", metavar="REV", help="check a commit's tree")
    which.add_argument("--staged", action="store_true", help="check the index")
    p.add_argument("--anchors", action="store_true",
                   help="list the decisions, context, questions and references whose anchored"
                        " code the change touches (default change: the index against HEAD)")
    p.add_argument("--range", dest="range_", metavar="BASE..HEAD",
                   help="with --anchors: the commits to check, e.g. origin/main..HEAD")
    p.add_argument("--summary", metavar="FILE",
                   help="with --anchors: append a markdown table of what was found to FILE"
                        " (e.g. $GITHUB_STEP_SUMMARY)")
    _common.add_json(p)


def run(args: argparse.Namespace) -> int:
    if args.anchors:
        return _anchors(args)
    if args.range_ or args.summary:
        raise FloatError("--range and --summary go with --anchors")
    proj = _common.settled(_common.project(args))
    run_sync(proj, args, staged=args.staged, rev=args.rev, full=False)
    store = open_built(proj)
    try:
        failure = check_threshold(store.conn, proj.config["check"])
    finally:
        store.close()
    if failure:
        sys.stderr.write(failure + "\n")
        return 1
    configured = proj.config["check"]["max_stale"] >= 0 or proj.config["check"]["folders"]
    emit("float-check: passed" if configured else "float-check: passed (no threshold set in"
         " [check] of .float/config.toml)")
    return 0


def _anchors(args: argparse.Namespace) -> int:
    """Exit 1 when the change touches anchored code (each record listed), 0 when not."""
    if args.rev or args.staged:
        raise FloatError("--anchors checks --range BASE..HEAD or the index; not --rev/--staged")
    store = _common.store(args)
    result = anchor_check.check(store.conn, Project.discover(args.repo).git, args.range_)
    if args.summary:
        with open(args.summary, "a", encoding="utf-8") as f:
            f.write(f"### float-hooks: anchored code changed ({result['change']})\n\n"
                    + (anchor_check.table(result) if result["records"]
                       else "No decision or context cites code this change touches.\n"))
    if args.json:
        emit_json(result)
    elif not result["records"]:
        emit(f"float-check: no anchored code changed ({result['change']},"
             f" {result['changed_paths']} paths)")
    else:
        for r in result["records"]:
            status = f" [{r['status']}]" if r.get("status") else ""
            emit(f"{r['kind']} {str(r['key'])[:40]}{status}: {r['text']}")
            for a in r["anchors"]:
                emit(f"  {a['change']:<8} {a['anchor']}")
    return EXIT_FOUND if result["records"] else 0
