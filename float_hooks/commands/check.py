"""``float-hooks check``: the [check] threshold as a command, for CI and scripts."""

from __future__ import annotations

import argparse
import sys

from float_hooks.commands import _common
from float_hooks.commands.sync import run_sync
from float_hooks.map.build import open_built
from float_hooks.output import emit
from float_hooks.triggers.hooks import check_threshold

HELP = ("sync, then exit 1 when more folders are stale than [check] max_stale allows, or a"
        " [check] folders entry is stale")


def add_arguments(p: argparse.ArgumentParser) -> None:
    which = p.add_mutually_exclusive_group()
    which.add_argument("--rev", metavar="REV", help="check a commit's tree")
    which.add_argument("--staged", action="store_true", help="check the index")


def run(args: argparse.Namespace) -> int:
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
