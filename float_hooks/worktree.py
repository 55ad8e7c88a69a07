"""Hashing work-tree files as ``git add`` would store them (filters applied), via libgit2.

Only the files a sync finds changed in the work tree are hashed; tree and index snapshots
never read file contents. pygit2 is imported here and only here, on first use.
"""

from __future__ import annotations

import os
import stat
import subprocess
from typing import Any

from float_hooks.git import Entry, Git


class WorktreeHasher:
    def __init__(self, git: Git):
        assert git.work_tree is not None
        self.git = git
        self.root = os.fsencode(git.work_tree)
        self._repo: Any = None

    def _pygit2_repo(self) -> Any:
        if self._repo is None:
            import pygit2

            self._repo = pygit2.Repository(str(self.git.work_tree))
        return self._repo

    def entry(self, raw: bytes, mode_hint: str | None = None) -> Entry | None:
        """The entry git would record for the work-tree path ``raw``; None if it is gone or
        is something git would not track (a directory that is not a submodule)."""
        full = os.path.join(self.root, raw)
        try:
            st = os.lstat(full)
        except (FileNotFoundError, NotADirectoryError):
            return None
        if stat.S_ISLNK(st.st_mode):
            import pygit2

            return "120000", str(pygit2.hash(os.readlink(full)))
        if stat.S_ISDIR(st.st_mode):
            return self._submodule(full)
        if not stat.S_ISREG(st.st_mode):
            return None
        oid = str(self._pygit2_repo().hashfile(full))
        if mode_hint in ("100644", "100755"):
            mode = mode_hint  # git's diff already applied core.fileMode
        elif st.st_mode & stat.S_IXUSR and self._trusts_executable_bit():
            mode = "100755"
        else:  # a new file under core.fileMode = false: git add records 100644
            mode = "100644"
        return mode, oid

    def _trusts_executable_bit(self) -> bool:
        try:
            return bool(self._pygit2_repo().config.get_bool("core.filemode"))
        except KeyError:
            return True  # git's default

    @staticmethod
    def _submodule(full: bytes) -> Entry | None:
        if not os.path.exists(os.path.join(full, b".git")):
            return None
        proc = subprocess.run(
            ["git", "-C", os.fsdecode(full), "rev-parse", "--verify", "-q", "HEAD"],
            capture_output=True,
            env={k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
        )
        oid = proc.stdout.decode().strip()
        return ("160000", oid) if oid else None
