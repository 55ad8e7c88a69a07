"""``float-hooks hook-impl HOOK [ARGS...]``: what the git hook shims and the pre-commit framework
run. Hidden from help: people run ``install`` or reference ``.pre-commit-hooks.yaml``."""

from __future__ import annotations

import argparse

from float_hooks.triggers.hooks import NAMES, run_hook

HELP = ""  # empty: main leaves it out of the command list


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("hook", choices=NAMES, help="the git hook being run")
    p.add_argument("hook_args", nargs=argparse.REMAINDER,
                   help="the arguments git passed to the hook")


def run(args: argparse.Namespace) -> int:
    return run_hook(args.hook, args.hook_args, args.repo)
