"""Shared plumbing for subcommands: locating the project and its store, common flags."""

from __future__ import annotations

import argparse

from float_hooks import paths
from float_hooks.db import Store
from float_hooks.errors import FloatError, NoDatabase
from float_hooks.project import Project


def add_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")


def project(args: argparse.Namespace) -> Project:
    return Project.discover(args.repo)


def store(args: argparse.Namespace) -> Store:
    """The store of an initialised repository (exit 2 with 'run init' otherwise)."""
    return settled(project(args)).open_store()


def settled(proj: Project) -> Project:
    """``proj`` once no post-commit hook is still syncing it in the background: a command
    run right after ``git commit`` sees that commit."""
    proj.wait_for_hooks()
    return proj


def folder_arg(value: str) -> str:
    try:
        return paths.normalize(value)
    except ValueError as e:
        raise FloatError(str(e)) from e


def require_initialised(proj: Project) -> None:
    if not proj.float_dir.is_dir():
        where = proj.work_tree or proj.git.git_dir
        raise NoDatabase(f"{where}: no .float/ here yet; run `float-hooks init` first")
