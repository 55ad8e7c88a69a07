"""What a sync works with: a path's change (old entry, new entry), the progress callback, and
what one sync changed (:class:`Applied`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from float_hooks import paths
from float_hooks.repo.git import Entry

Change = tuple[Entry | None, Entry | None]  # (old, new)


Progress = Callable[[int, int], None]


class Applied:
    """What one sync changed. A plain class, not a dataclass: see snapshot.Target."""

    FIELDS = ("files_changed", "folders_changed", "added", "removed", "became_stale",
              "became_current", "moved", "archived")  # in the order --json prints them
    __slots__ = FIELDS

    def __init__(self, files_changed: int = 0) -> None:
        self.files_changed = files_changed
        self.folders_changed: list[str] = []
        self.added: list[str] = []
        self.removed: list[str] = []
        self.became_stale: list[str] = []
        self.became_current: list[str] = []
        self.moved: list[tuple[str, str]] = []
        self.archived: list[str] = []

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.FIELDS}

    def then(self, later: Applied, files_changed: int) -> Applied:
        """This result followed by ``later``'s, as one sync's (for a first build written in
        two steps: what ``later`` removed had been added by this one)."""
        out = Applied(files_changed)
        gone = set(later.removed)
        out.removed = [f for f in self.removed if f not in gone]
        for name in ("added", "folders_changed"):
            mine = [f for f in getattr(self, name) if f not in gone]
            seen = set(mine)
            both = mine + [f for f in getattr(later, name) if f not in seen]
            setattr(out, name, sorted(both, key=paths.depth, reverse=True))  # deepest first
        for name in ("became_stale", "became_current", "moved", "archived"):
            setattr(out, name, getattr(self, name) + getattr(later, name))
        return out

    def __repr__(self) -> str:
        return f"Applied({self.as_dict()})"
