"""The argument types the commands share, and the check every text argument passes: light
enough for main.py to import before it knows the command."""

from __future__ import annotations

import argparse
import os


class FolderArg(str):
    """A folder as the user typed it; :func:`project` turns it into a stored path once the
    repository (and where the user stands in it) is known."""

    __slots__ = ()


def folder_arg(value: str) -> str:
    """argparse ``type=`` for folder arguments (resolved later, never raising here: an error
    in an argparse type function would escape as a traceback)."""
    return FolderArg(value)


class OsPath(str):
    """A file or directory argument: the OS's bytes, whatever they are (main.py checks every
    other text argument for UTF-8)."""

    __slots__ = ()


def os_path(value: str) -> str:
    """argparse ``type=`` for a file or directory on disk."""
    return OsPath(value)


def not_utf8(args: argparse.Namespace, names: dict[str, str] | None = None) -> str | None:
    """The one-line error for the first text argument that is not UTF-8 (the OS hands its
    bytes over as surrogate escapes, which nothing can store or print), naming the argument
    (by ``names``: dest to option string) and the bytes in their escaped form; None if every
    one is. Folder and file arguments are the OS's bytes and may be anything."""
    for dest, value in vars(args).items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and not isinstance(item, (FolderArg, OsPath)):
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    name = (names or {}).get(dest, dest)
                    return f"{name}: not UTF-8 text ({escaped(item)}); give it as UTF-8"
    return None


def escaped(text: str, limit: int = 60) -> str:
    """``text`` as the user can read it back: bytes that are not UTF-8 as ``\\xNN``, other
    unprintable characters as escapes too, at most ``limit`` characters."""
    decoded = os.fsencode(text).decode("utf-8", "backslashreplace")
    shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                    for c in decoded)
    return shown if len(shown) <= limit else shown[:limit] + "..."


def option_names(parser: argparse.ArgumentParser) -> dict[str, str]:
    """Each argument's dest and how the user spells it (``--summary``, ``QUESTION``), in
    ``parser`` and its subcommands' parsers."""
    out: dict[str, str] = {}
    todo = [parser]
    while todo:
        for action in todo.pop()._actions:
            if isinstance(action, argparse._SubParsersAction):
                todo += list(action.choices.values())
            elif action.dest not in out:
                out[action.dest] = (action.option_strings[-1] if action.option_strings
                                    else str(action.metavar or action.dest))
    return out
