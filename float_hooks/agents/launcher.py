"""How the coding agents start float-hooks: commands that are the same on every machine.

``.float/float-hooks`` is a small sh launcher, committed with ``.float/``: every agent
config ``agents install`` writes runs ``sh .float/float-hooks ARGS`` (with the project's
directory where the agent gives one), so the committed files name no one's home directory or
virtual environment. The launcher finds this machine's installation:

1. ``.float/local/float-hooks`` (git-ignored, written by ``agents install`` on each machine):
   the interpreter that ran it, started isolated (``-I -S``) with the sys.path it had, like
   the git hook shims (interpreter.py);
2. else ``float-hooks`` on ``PATH`` (a console script: its own directory is on sys.path,
   never the current one);
3. else ``python3 -I -m float_hooks`` when that Python has it;
4. else one line on stderr saying what to install, and exit 127.

``-I`` keeps the project's own modules off sys.path: ``python -m`` would put the current
directory first, and a ``token.py`` at the project's root would be imported by the MCP server.
Codex keeps its servers in the user's own ``~/.codex/config.toml``: that snippet names this
interpreter directly, started like the local launcher.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any

from float_hooks.interpreter import import_paths

LAUNCHER = "float-hooks"  # in .float/, committed
LOCAL_DIR = "local"  # in .float/, git-ignored: this machine's installation, the manifest

LAUNCHER_TEXT = """\
#!/bin/sh
# float-hooks for coding agents: written by `float-hooks agents install`, committed with
# .float/, the same on every machine. It runs this machine's float-hooks isolated from the
# project's own modules (agents/launcher.py says how it finds it).
here=$(dirname -- "$0")
if [ -f "$here/local/float-hooks" ]; then . "$here/local/float-hooks"; fi
if command -v float-hooks >/dev/null 2>&1; then exec float-hooks "$@"; fi
for py in python3 python; do
    if command -v "$py" >/dev/null 2>&1 && "$py" -I -c "import float_hooks" 2>/dev/null; then
        exec "$py" -I -m float_hooks "$@"
    fi
done
echo "float-hooks: not installed on this machine; install it (pip install float-hooks) and" \\
     "run 'float-hooks agents install' here; the map's tools stay off until then" >&2
exit 127
"""

# sourced by the launcher: returns (to the next way) when the interpreter is gone
_LOCAL = """\
# written by `float-hooks agents install` for this machine (git-ignored): its installation
INSTALL_PYTHON={python}
if [ -x "$INSTALL_PYTHON" ]; then exec "$INSTALL_PYTHON" -I -S -c {boot} "$@"; fi
"""

# runs under -I -S: stdlib only on sys.path until the captured entries are appended
_BOOT = """\
import sys
sys.path.extend(p for p in {paths!r} if p not in sys.path)
from float_hooks.main import main
raise SystemExit(main(sys.argv[1:]))
"""


def local_text() -> str:
    """``.float/local/float-hooks`` for this machine."""
    return _LOCAL.format(python=shlex.quote(sys.executable),
                         boot=shlex.quote(_BOOT.format(paths=import_paths())))


def launch(where: str | None = None) -> list[str]:
    """The command that runs float-hooks from an agent config: the launcher, found in
    ``where`` (a directory the agent expands, e.g. ``${workspaceFolder}``) or, without it,
    relative to the project directory the agent starts it in."""
    path = f"{where}/.float/{LAUNCHER}" if where else f".float/{LAUNCHER}"
    return ["sh", path]


def server_entry(cursor: bool) -> dict[str, Any]:
    where = "${workspaceFolder}" if cursor else None
    cmd = launch(where) + (["--repo", where] if where else []) + ["mcp"]
    entry: dict[str, Any] = {"command": cmd[0], "args": cmd[1:]}
    return entry if cursor else {"type": "stdio", **entry}


def brief_command(where: str | None, cursor: bool) -> str:
    cmd = launch(where) + (["--repo", where] if where else [])
    return " ".join([*cmd, "brief", *(["--cursor"] if cursor else [])])


def codex_command() -> list[str]:
    """Codex's config is the user's own: this interpreter, isolated, with its sys.path."""
    return [sys.executable, "-I", "-S", "-c", _BOOT.format(paths=import_paths())]


def codex_snippet(name: str) -> str:
    cmd = codex_command()
    return (f"[mcp_servers.{name}]\ncommand = {json.dumps(cmd[0])}\n"
            f"args = {json.dumps([*cmd[1:], 'mcp'])}\n")


def is_ours(command: object) -> bool:
    """A session hook command install wrote (this release's or an earlier one's)."""
    return isinstance(command, str) and " brief" in command \
        and ("float_hooks" in command or f".float/{LAUNCHER}" in command)


def local_dir(float_dir: Path) -> Path:
    return float_dir / LOCAL_DIR
