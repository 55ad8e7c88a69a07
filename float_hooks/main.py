"""The command line: ``float-hooks [--repo PATH] COMMAND ...`` (same as ``python -m float_hooks``).

Exit codes are a contract: 0 success, 1 "ran, and found what you asked to be told about",
2 usage or environment error (not a git repo, no DB, corrupt or locked DB).
"""

from __future__ import annotations

import argparse
import importlib
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from float_hooks import __version__
from float_hooks.commands import COMMANDS
from float_hooks.commands._args import not_utf8, option_names, os_path
from float_hooks.errors import EXIT_ERROR, CorruptDatabase, FloatError, quoted
from float_hooks.output import error


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"float_hooks.commands.{COMMANDS[name]}")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # one line, like every exit-2 error (scripts read it); the usage is one --help away
        error(f"{message} (see `{self.prog} --help`)")
        raise SystemExit(EXIT_ERROR)


DESCRIPTION = """\
Keep an AI-readable map of a git repository fresh. For every folder, float-hooks
stores what it is, why it exists and its patterns (written by an AI or by you),
plus decisions, open questions and references, in .float/index.db. It knows
from content hashes which folders' context went stale when code changed: git
hooks mark them on every commit, and `regenerate` rewrites them. Coding agents
and people read the map instead of exploring the code again."""

EPILOG = """\
Start in a repository with `float-hooks init`: it builds the map and prints
the next steps. `float-hooks COMMAND --help` shows a command's options.
Exit codes: 0 success, 1 found what you asked about (e.g. `check`), 2 usage or
environment error (one line on stderr)."""


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = _Parser(prog="float-hooks", description=DESCRIPTION, epilog=EPILOG,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", default=".", metavar="PATH", type=os_path,
                        help="the repository to work on (default: the current directory)")
    parser.add_argument("--version", action="version", version=f"float-hooks {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser,
                                title="commands")
    sub.required = True
    for name in COMMANDS:
        if only is not None and name != only:
            # Only the chosen command gets a parser and an import: each parser looks up
            # gettext catalogs, a cost every run would pay (docs/performance.md). Usage errors then
            # name just that command, which is the one the user typed.
            continue
        module = _module(name)
        shown = {"help": module.HELP} if module.HELP else {}  # no help: hidden from the list
        p = sub.add_parser(name, description=module.HELP or None, **shown)
        module.add_arguments(p)
        p.set_defaults(func=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    chosen = _first_command(args_list)
    if chosen is None and not _asks_for(args_list):
        # a bare `float-hooks` (maybe with --repo): the commands, not just "COMMAND required"
        build_parser().print_help()
        return EXIT_ERROR
    parser = build_parser(chosen)
    try:
        args = parser.parse_args(args_list)
    except SystemExit as e:
        return int(e.code or 0)
    from float_hooks.store.db import (  # lazy: the hooks' early exits open no DB
        close_opened_since,
        open_connections,
    )

    mark = open_connections()
    try:
        bad = not_utf8(args, option_names(parser))
        if bad is not None:
            raise FloatError(bad)
        return int(args.func(args))
    except FloatError as e:
        error(_line(e))
        return e.exit_code
    except sqlite3.Error as e:  # an SQLite failure not mapped where it happened
        from float_hooks.store.db import translate  # lazy: only on an SQLite error

        error(_line(translate(e, _db_hint(args))))
        return EXIT_ERROR
    except BrokenPipeError:
        return 0
    except OSError as e:  # a full disk, a directory we may not write: one line, exit 2
        # the path may come from a committed config or page: bounded, escaped, one line
        where = f"{quoted(str(e.filename), 200)}: " if e.filename else ""
        error(f"{where}{e.strerror or e}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        error("interrupted")
        return 130
    finally:
        close_opened_since(mark)  # a process may run several commands (tests, servers)


def _line(e: FloatError) -> str:
    if isinstance(e, CorruptDatabase):
        from float_hooks.project import kept_aside  # lazy: only for a damaged DB

        return kept_aside(e)
    return str(e)


def _first_command(argv: list[str]) -> str | None:
    """The subcommand named in ``argv``; None (build every parser) when there is none, it is
    unknown, or help is asked for before it (the help lists every command)."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--repo":
            skip = True
        elif arg in ("-h", "--help"):
            return None
        elif not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def _asks_for(argv: list[str]) -> bool:
    """Whether ``argv`` names anything beyond ``--repo PATH``: a command (known or not: an
    unknown one gets argparse's "invalid choice" line), ``--help`` or ``--version``."""
    rest = list(argv)
    while rest[:1] == ["--repo"] or (rest and rest[0].startswith("--repo=")):
        rest = rest[2:] if rest[0] == "--repo" else rest[1:]
    return bool(rest)


def _db_hint(args: argparse.Namespace) -> Path:
    return Path(args.repo) / ".float" / "index.db"


if __name__ == "__main__":
    raise SystemExit(main())
