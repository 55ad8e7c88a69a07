"""``float-hooks uninstall``: remove the shims ``install`` wrote and put back the hooks they
moved aside. Hooks that are not ours are left alone."""

from __future__ import annotations

import argparse
import os

from float_hooks.commands import _common
from float_hooks.commands.install import LEGACY_SUFFIX, _hook_list, hooks_dir, is_shim
from float_hooks.output import emit
from float_hooks.triggers.hooks import HOOKS

HELP = "remove the git hooks `install` wrote (and restore the hooks they replaced)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--hooks", type=_hook_list, default=list(HOOKS), metavar="LIST",
                   help=f"comma-separated hooks to remove (default: {','.join(HOOKS)})")


def run(args: argparse.Namespace) -> int:
    directory = hooks_dir(_common.project(args).git)
    for hook in args.hooks:
        path = directory / hook
        legacy = directory / (hook + LEGACY_SUFFIX)
        if path.exists() and not is_shim(path):
            emit(f"{hook}: not a float-hooks shim; left alone")
            continue
        if path.exists():
            path.unlink()
            what = "removed"
        else:
            what = "not installed"
        if legacy.exists():
            os.replace(legacy, path)
            what += f", restored the previous hook from {legacy.name}"
        emit(f"{hook}: {what}")
    return 0
