"""Shared plumbing for subcommands: locating the project and its store, common flags, and
folder arguments resolved as git resolves paths."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from float_hooks import paths
from float_hooks.commands._args import FolderArg, OsPath, folder_arg, os_path
from float_hooks.errors import FloatError
from float_hooks.map.build import open_built
from float_hooks.project import Project
from float_hooks.store.db import Store

__all__ = ["FolderArg", "OsPath", "folder_arg", "os_path"]  # the argument types, for commands


def add_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")


def add_anchor(p: argparse.ArgumentParser) -> None:
    p.add_argument("--anchor", dest="anchors", action="append", default=[], metavar="ANCHOR",
                   help="what this cites (repeat): a file (src/auth/login.py), a symbol in it"
                        " (src/auth/login.py::Session.refresh) or a folder; relative to the"
                        " current directory, or to the root with a leading /")


def anchors(args: argparse.Namespace, store: Store) -> list[dict[str, Any]] | None:
    """``--anchor`` values pinned to what they point at now (code/anchors.py); None when none
    were given. An anchor to nothing is refused with one line (exit 2)."""
    if not getattr(args, "anchors", None):
        return None
    from float_hooks.code import anchors as anchor_code  # lazy: every command imports _common

    proj = Project.discover(args.repo)
    return list(anchor_code.resolve(store.conn, proj.git, args.anchors, where(proj, args.repo)))


def project(args: argparse.Namespace) -> Project:
    proj = Project.discover(args.repo)
    cwd = where(proj, args.repo)
    for name, value in vars(args).items():
        if isinstance(value, FolderArg):
            setattr(args, name, resolve(value, cwd))
    return proj


def where(proj: Project, repo: str) -> str:
    """Where the user stands in the repository, as a stored folder path: paths they type are
    relative to it (``--repo DIR`` stands in DIR, like ``git -C DIR``)."""
    if proj.work_tree is None:
        return paths.ROOT
    try:
        rel = Path(repo).resolve().relative_to(proj.work_tree.resolve())
    except ValueError:
        return paths.ROOT
    parts = rel.as_posix()
    return paths.ROOT if parts in ("", ".") else paths.from_git(os.fsencode(parts))


def resolve(value: str, cwd: str) -> str:
    try:
        path = paths.normalize(str(value), cwd)
    except ValueError as e:
        raise FloatError(str(e)) from e
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:  # a name that is not UTF-8: git's bytes, stored escaped
        return paths.from_git(os.fsencode(path[1:]))
    return path


def store(args: argparse.Namespace) -> Store:
    """The store of the repository, built first if it never was (a fresh clone, a deleted
    or damaged DB: said in one line on stderr; project.open_store)."""
    return ready(settled(project(args)))


def ready(proj: Project) -> Store:
    try:
        return open_built(proj)
    except FloatError:
        if proj.db_path.exists() and not _writable(proj.db_path.parent):
            return proj.open_readonly()  # a map in a directory we may only read
        raise


def _writable(directory: Path) -> bool:
    return os.access(directory, os.W_OK)


def settled(proj: Project) -> Project:
    """``proj`` once no post-commit hook is still syncing it in the background: a command
    run right after ``git commit`` sees that commit."""
    proj.wait_for_hooks()
    return proj


def require_initialised(proj: Project) -> None:
    proj.require_float_dir()
