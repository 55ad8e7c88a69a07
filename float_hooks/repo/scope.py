"""What a sync scans: git's view of the repository, minus ``.float/``, the coding agents'
config files ``agents install`` writes, and the excludes configured in ``[sync] exclude``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from float_hooks import paths
from float_hooks.repo.git import Entry

# The files `float-hooks agents install` writes or edits (agents/install.py): tool config, not
# the project's code. Never mapped, committed or not, so installing agents leaves the map as
# it was and every clone maps the same files (docs/agents.md).
AGENT_FILES = (".mcp.json", ".claude/settings.json", ".cursor/mcp.json", ".cursor/hooks.json",
               "AGENTS.md", "CLAUDE.md")
_AGENT_PATHS = frozenset("/" + f for f in AGENT_FILES)
# names the built-in rules in the scope's signature: a DB synced under other rules is synced
# again in full (map/sync.py)
_BUILT_IN = "built-in:agents-1"


class Scope:
    """What is scanned: git's view, minus .float/, the agents' config files and the
    configured excludes."""

    def __init__(self, excludes: list[str]):
        self.excludes = list(excludes)
        self._spec: Any = None
        if self.excludes:
            import pathspec  # only paid for when excludes are configured

            self._spec = pathspec.GitIgnoreSpec.from_lines(self.excludes)

    def signature(self) -> str:
        if not self.excludes:
            return f'["{_BUILT_IN}"]'  # json.dumps, without importing json on the hooks' path
        return json.dumps([_BUILT_IN, *self.excludes])

    def includes(self, path: str) -> bool:
        if paths.is_float_path(path) or path in _AGENT_PATHS:
            return False
        return self._spec is None or not self._spec.match_file(paths.to_git(path))

    def present(self, values: Mapping[str, Entry | None]) -> dict[str, Entry]:
        """The entries of ``values`` that exist and are in scope (order kept)."""
        if self._spec is not None:
            return {p: e for p, e in values.items() if e is not None and self.includes(p)}
        # no excludes: only .float/ is out (paths.is_float_path, inlined: it runs once per
        # file of a full sync). Usually nothing is out: C-level checks (paths hold no NUL), then
        # a C-level copy, a few times faster than filtering one by one.
        top = "/" + paths.FLOAT_DIR
        below = top + "/"
        if top in values or None in values.values() or "\0" + below in "\0" + "\0".join(values) \
                or not _AGENT_PATHS.isdisjoint(values):
            return {p: e for p, e in values.items() if e is not None and not p.startswith(below)
                    and p != top and p not in _AGENT_PATHS}
        return dict(values)  # type: ignore[arg-type]  # no None among them
