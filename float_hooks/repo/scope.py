"""What a sync scans: git's view of the repository, minus ``.float/`` and the excludes
configured in ``[sync] exclude``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from float_hooks import paths
from float_hooks.repo.git import Entry


class Scope:
    """What is scanned: git's view, minus .float/ and the configured excludes."""

    def __init__(self, excludes: list[str]):
        self.excludes = list(excludes)
        self._spec: Any = None
        if self.excludes:
            import pathspec  # only paid for when excludes are configured

            self._spec = pathspec.GitIgnoreSpec.from_lines(self.excludes)

    def signature(self) -> str:
        if not self.excludes:
            return "[]"  # json.dumps([]), without importing json on every hook's path

        return json.dumps(self.excludes)

    def includes(self, path: str) -> bool:
        if paths.is_float_path(path):
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
        if top in values or None in values.values() or "\0" + below in "\0" + "\0".join(values):
            return {p: e for p, e in values.items()
                    if e is not None and not p.startswith(below) and p != top}
        return dict(values)  # type: ignore[arg-type]  # no None among them
