"""This installation as a command another process can start: the interpreter running now and
the sys.path that finds float_hooks, for the git hook shims (commands/install.py) and the
agents' machine-local launcher (agents/launcher.py). Both start Python with ``-I`` (isolated:
no current directory or PYTHONPATH on sys.path, so a project's own ``token.py`` is never
imported) and ``-S``, then append these paths."""

from __future__ import annotations

import os
import sys
import sysconfig
from pathlib import Path

import float_hooks


def import_paths() -> list[str]:
    """The running interpreter's sys.path beyond the standard library, plus the directory
    holding float_hooks (an editable install finds it through an import hook, not a path)."""
    stdlib = {os.path.realpath(sysconfig.get_paths()[k]) for k in ("stdlib", "platstdlib")}
    here = {"", os.getcwd()}
    out = [str(Path(float_hooks.__file__).resolve().parent.parent)]
    for p in sys.path:
        if p in here or not os.path.isdir(p) or os.path.realpath(p) in stdlib:
            continue
        if "lib-dynload" in p or p in out:
            continue
        out.append(p)
    return out
