"""The read commands (`show`, `why`, `stale`, `search`, `brief`) see the work tree: each
syncs it first, as the MCP server does when it has no watcher (a sync costs about a `git
status`), and answers what the MCP tool answers, freshness included. When the sync cannot
run (a map in a directory we may only read, a locked DB) the answer says so, and how many
files the work tree changes against HEAD, in which folders (fresh_answers.py)."""

from __future__ import annotations

import argparse

from float_hooks.agents.fresh_answers import LocalMap
from float_hooks.commands import _common
from float_hooks.output import emit
from float_hooks.project import Project
from float_hooks.store.db import Store


class CliMap(LocalMap):
    """LocalMap without a watcher, opening its store as every command does (built first if
    it never was; read-only when its directory is)."""

    def __init__(self, project: Project):
        super().__init__(project, watch=False)

    def store(self) -> Store:
        if self._store is None:
            self._store = _common.ready(self.project)
        return self._store


def fresh_map(args: argparse.Namespace) -> CliMap:
    m = CliMap(_common.settled(_common.project(args)))
    m.store()  # a first read builds the map, saying so (map/build.py)
    m.sync()  # never raises: a failure is in every answer's freshness
    return m


def say_freshness(fresh: dict[str, object]) -> None:
    """One line when the answer may be behind the work tree (plain-text output)."""
    if fresh.get("unsynced_changes"):
        emit(f"note: {fresh.get('note') or 'the map may be behind the work tree'}")
