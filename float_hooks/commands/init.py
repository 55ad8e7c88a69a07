from __future__ import annotations

import argparse

from float_hooks.atomic import write_atomic
from float_hooks.commands import _common
from float_hooks.commands._next_steps import next_steps, render
from float_hooks.commands.sync import print_result, run_sync
from float_hooks.config import CONFIG_TEMPLATE
from float_hooks.errors import FloatError
from float_hooks.output import emit

HELP = "create .float/ (boot.md, config.toml, .gitignore) and build the database"

GITIGNORE = """\
# float-hooks: the database is rebuilt from git and the committed export; never commit it.
index.db
index.db-wal
index.db-shm
index.db-journal
# this machine's float-hooks for the agents' launcher (agents install)
local/
*.lock
"""

BOOT_TEMPLATE = """\
# Boot: read this first

This repository keeps an AI-readable map of itself in `.float/` (maintained by float-hooks).
Before exploring the code, ask the map:

- `float-hooks status --json`: how many folders have current, stale or no context.
- `float-hooks show /path/to/folder --json`: what a folder is, why it exists, its patterns,
  its children, decisions and open questions.
- `float-hooks stale --json` and `float-hooks why /path --json`: what changed since the context
  was written, file by file.
- `float-hooks search "a question or words"`: ranked search over context, files, symbols,
  decisions and questions.

When you change a folder, write its context back:
`float-hooks set /path --summary "..." --what "..." --why "..." --model <your model>`,
and record decisions with `float-hooks log add --title ... --decision ... --rationale ...`.

## Project notes

(Write here what every AI session on this project should know: goals, conventions, no-gos.)
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    _common.add_json(p)


def run(args: argparse.Namespace) -> int:
    proj = _common.project(args)
    written = []
    proj.refuse_linked_float_dir()
    try:
        proj.float_dir.mkdir(exist_ok=True)  # a bare repository keeps its map in <git dir>/float
        if proj.work_tree is not None:
            for name, text in ((".gitignore", GITIGNORE), ("boot.md", BOOT_TEMPLATE),
                               ("config.toml", CONFIG_TEMPLATE)):
                target = proj.float_dir / name
                if not target.exists():  # idempotent: the user's files are never rewritten
                    write_atomic(target, text)
                    written.append(str(target.relative_to(proj.work_tree)))
    except OSError as e:
        raise FloatError(f"{e.filename or proj.float_dir}: cannot create it ({e.strerror})"
                         ) from e
    result, built = run_sync(proj, args, staged=False, rev=None, full=False)
    if args.json:
        print_result(result, True, extra={"created": written, "next_steps": next_steps(args)},
                     built=built)
        return 0
    for path in written:
        emit(f"created {path}")
    print_result(result, False, built=built)
    emit(render(next_steps(args)))
    return 0

