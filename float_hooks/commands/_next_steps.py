"""What `init` prints after it built the map: the commands a newcomer runs next."""

from __future__ import annotations

import argparse
import shlex

from float_hooks.commands import COMMANDS


def next_steps(args: argparse.Namespace) -> list[dict[str, str]]:
    """Each command to run next (for the repository ``args.repo`` names) and what it does.
    A step is offered only for a command this installation has."""
    repo = "" if args.repo in (".", "") else f" --repo {shlex.quote(args.repo)}"
    git = "git" if not repo else f"git -C {shlex.quote(args.repo)}"
    steps = [
        {"command": f"float-hooks{repo} install",
         "what": "git hooks: mark stale folders on every commit"},
        {"command": f"float-hooks{repo} regenerate",
         "what": "write context for every folder ([regenerate] in .float/config.toml)"},
    ]
    if "agents" in COMMANDS:
        steps.append({"command": f"float-hooks{repo} agents install",
                      "what": "register the map with your coding agents"})
    steps.append({"command": f"{git} add .float && {git} commit -m 'float-hooks map'",
                  "what": "commit .float/ (its index.db is git-ignored): clones, worktrees"
                          " and teammates build their map from it"})
    return steps


def render(steps: list[dict[str, str]]) -> str:
    """``next steps:`` and the steps, ready to paste: float-hooks commands aligned with what
    they do beside them; a longer (git) command gets its explanation on the line before."""
    ours = [s for s in steps if s["command"].startswith("float-hooks")]
    width = max(len(s["command"]) for s in ours)
    lines = ["next steps:"]
    for s in steps:
        if s in ours:
            lines.append(f"  {s['command'].ljust(width)}  # {s['what']}")
        else:
            lines += [f"  # {s['what']}", f"  {s['command']}"]
    return "\n".join(lines)
