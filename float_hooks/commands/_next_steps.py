"""What `init` prints after it built the map: the commands a newcomer runs next, each runnable
as printed (this installation's executable, by its full path unless `float-hooks` on PATH is
that one), ending with the context committed: the export, then the commit (docs/durability.md,
"The first day").
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
from pathlib import Path

import float_hooks
from float_hooks.commands import COMMANDS


def executable() -> str:
    """How to run this installation from a shell, as printed: ``float-hooks`` when that is
    what PATH finds; the console script by its full path when this installation has one (a
    virtual environment not activated); else this interpreter with ``-m float_hooks`` (a
    checkout on PYTHONPATH)."""
    script = Path(sys.executable).parent / "float-hooks"
    installed = Path(float_hooks.__file__).resolve().is_relative_to(Path(sys.prefix).resolve())
    if installed and script.exists():
        found = shutil.which("float-hooks")
        if found and os.path.realpath(found) == os.path.realpath(script):
            return "float-hooks"
        return shlex.quote(str(script))
    return f"{shlex.quote(sys.executable)} -m float_hooks"


def next_steps(args: argparse.Namespace) -> list[dict[str, str]]:
    """Each command to run next (for the repository ``args.repo`` names) and what it does.
    A step is offered only for a command this installation has."""
    repo = "" if args.repo in (".", "") else f" --repo {shlex.quote(args.repo)}"
    git = "git" if not repo else f"git -C {shlex.quote(args.repo)}"
    fh = executable() + repo
    steps = [
        {"command": f"{fh} install", "what": "git hooks: mark stale folders on every commit"},
        {"command": f"{fh} regenerate",
         "what": "write context for every folder ([regenerate] in .float/config.toml)"},
    ]
    if "agents" in COMMANDS:
        steps.append({"command": f"{fh} agents install",
                      "what": "register the map with your coding agents"})
    steps.append({"command": f"{fh} export",
                  "what": "write the context to .float/project/, what teammates import"})
    steps.append({"command": f"{git} add .float && {git} commit -m 'float-hooks map'",
                  "what": "commit .float/ (its index.db is git-ignored): clones, worktrees"
                          " and teammates build their map from it"})
    return steps


def render(steps: list[dict[str, str]]) -> str:
    """``next steps:`` and the steps, ready to paste: float-hooks commands aligned with what
    they do beside them; a longer (git) command gets its explanation on the line before."""
    exe = executable()
    ours = [s for s in steps if s["command"].startswith(exe)]
    width = max(len(s["command"]) for s in ours)
    lines = ["next steps:"]
    for s in steps:
        if s in ours:
            lines.append(f"  {s['command'].ljust(width)}  # {s['what']}")
        else:
            lines += [f"  # {s['what']}", f"  {s['command']}"]
    return "\n".join(lines)
