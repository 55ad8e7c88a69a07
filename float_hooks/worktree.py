"""Hashing work-tree files as ``git add`` would store them (filters applied).

Only the files a sync finds changed in the work tree are hashed; tree and index snapshots
never read file contents. Files go through one ``git hash-object --stdin-paths``: git's own
filters (autocrlf, ident, and the clean filters of external drivers such as Git LFS, which
libgit2's ``hashfile`` does not run), and 3-5 ms against ~220 ms for importing pygit2 and its
first ``hashfile`` at 90k files (it loads the repository's attribute state). pygit2 is
imported only for a changed symlink (its link blob).
"""

from __future__ import annotations

import os
import stat
import subprocess

from float_hooks.errors import GitError
from float_hooks.git import Entry, Git


class WorktreeHasher:
    def __init__(self, git: Git):
        assert git.work_tree is not None
        self.git = git
        self.root = os.fsencode(git.work_tree)

    def entries(self, items: list[tuple[bytes, str | None]]) -> list[Entry | None]:
        """The entries git would record for the work-tree paths ``(raw, mode hint)``: None
        where a path is gone or holds nothing git would track (a directory that is not a
        submodule)."""
        out: list[Entry | None] = [None] * len(items)
        files: list[tuple[int, bytes, str]] = []
        for i, (raw, mode_hint) in enumerate(items):
            full = os.path.join(self.root, raw)
            try:
                st = os.lstat(full)
            except (FileNotFoundError, NotADirectoryError):
                continue
            if stat.S_ISLNK(st.st_mode):
                import pygit2

                out[i] = ("120000", str(pygit2.hash(os.readlink(full))))
            elif stat.S_ISDIR(st.st_mode):
                out[i] = self._submodule(full)
            elif stat.S_ISREG(st.st_mode):
                if mode_hint in ("100644", "100755"):
                    mode = mode_hint  # git's diff already applied core.fileMode
                else:
                    mode = "100755" if st.st_mode & stat.S_IXUSR else "100644"
                files.append((i, raw, mode))
        oids = self._hash([raw for _, raw, _ in files])
        for (i, _, mode), oid in zip(files, oids, strict=True):
            out[i] = None if oid is None else (mode, oid)
        return out

    def _hash(self, raws: list[bytes]) -> list[str | None]:
        # --stdin-paths reads a line per path and unquotes a line that starts with '"':
        # such names, and names with a newline, go one by one as arguments
        batch = [r for r in raws if b"\n" not in r and not r.startswith(b'"')]
        got: dict[bytes, str | None] = {}
        if batch:
            try:
                out = self.git.run("hash-object", "--stdin-paths",
                                   input=b"".join(r + b"\n" for r in batch))
                got.update(zip(batch, out.decode().split(), strict=True))
            except (GitError, ValueError):
                pass  # a file went away meanwhile: one by one, below
        for raw in raws:
            if raw not in got:
                try:
                    got[raw] = self.git.run("hash-object", "--", os.fsdecode(raw)).decode().strip()
                except GitError:
                    got[raw] = None  # gone, or unreadable: git could not add it either
        return [got[r] for r in raws]

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
