"""Where a repository's float files live, and opening them: the one place for those paths."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from float_hooks import background, config
from float_hooks.db import DB_NAME, Store
from float_hooks.git import Git
from float_hooks.paths import FLOAT_DIR
from float_hooks.sync import Scope


class Project:
    """A repository plus its ``.float/`` folder (or, for a bare mirror, an explicit DB path)."""

    def __init__(self, git: Git, db_path: Path | None = None):
        self.git = git
        if db_path is None:
            if git.work_tree is None:
                db_path = git.git_dir / "float" / DB_NAME
            else:
                db_path = git.work_tree / FLOAT_DIR / DB_NAME
        self.db_path = db_path
        self._config: dict[str, dict[str, Any]] | None = None

    @classmethod
    def discover(cls, path: str | os.PathLike[str] = ".") -> Project:
        return cls(Git.discover(path))

    @property
    def work_tree(self) -> Path | None:
        return self.git.work_tree

    @property
    def float_dir(self) -> Path:
        return self.db_path.parent

    @property
    def config(self) -> dict[str, dict[str, Any]]:
        if self._config is None:
            self._config = config.load(self.git.work_tree)
        return self._config

    def scope(self) -> Scope:
        return Scope(self.config["sync"]["exclude"])

    def lock_timeout(self) -> float:
        return float(self.config["sync"]["lock_timeout"])

    def wait_for_hooks(self) -> None:
        """Wait while a post-commit hook syncs this map in the background (background.py)."""
        background.wait_for(self.float_dir, self.lock_timeout())

    def open_store(self, *, create: bool = False) -> Store:
        return Store.open(self.db_path, create=create, timeout=self.lock_timeout())

    def open_readonly(self) -> Store:
        return Store.open_readonly(self.db_path, timeout=self.lock_timeout())
