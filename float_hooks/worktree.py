"""Hashing work-tree files as ``git add`` would store them (filters applied).

Only the files a sync finds changed in the work tree are hashed; tree and index snapshots
never read file contents. They go to git itself, all in one ``git hash-object --stdin-paths``:
it applies every filter git add would (external clean filters such as Git LFS, ``ident``,
working-tree encodings, end-of-line rules) at a few ms per sync. Two kinds of file go to
libgit2 instead (pygit2, imported on first use: ~90 ms, plus ~110 ms to read a 90k-entry
index):

* a file containing a CR. For such a file under ``text=auto`` or ``core.autocrlf``, git add
  keeps CRLFs when the index copy has CRs already; ``git hash-object`` never reads the index
  and would convert them. libgit2 checks the index as git add does (but runs no external
  clean filter).
* a name ``--stdin-paths`` would misread: it reads lines, drops a CR before the newline and
  unquotes a leading double quote.
"""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Sequence
from typing import Any

from float_hooks.errors import GitError
from float_hooks.git import Entry, Git


class WorktreeHasher:
    def __init__(self, git: Git):
        assert git.work_tree is not None
        self.git = git
        self.root = os.fsencode(git.work_tree)
        self._repo: Any = None
        self._filemode: bool | None = None

    def entries(self, wanted: Sequence[tuple[bytes, str | None]]) -> list[Entry | None]:
        """For each ``(raw path, mode git reported or None)``: the entry git would record for
        that work-tree path; None if it is gone or is something git would not track (a
        directory that is not a submodule)."""
        out: list[Entry | None] = [None] * len(wanted)
        by_git: list[tuple[int, bytes, str]] = []
        for i, (raw, mode_hint) in enumerate(wanted):
            full = os.path.join(self.root, raw)
            try:
                st = os.lstat(full)
            except (FileNotFoundError, NotADirectoryError):
                continue
            if stat.S_ISLNK(st.st_mode):
                # a link's blob is its target path, unfiltered
                oid = self.git.run("hash-object", "--stdin", input=os.readlink(full))
                out[i] = ("120000", oid.decode().strip())
            elif stat.S_ISDIR(st.st_mode):
                out[i] = self._submodule(full)
            elif stat.S_ISREG(st.st_mode):
                mode = self._mode(st, mode_hint)
                if _line_safe(raw) and not _has_cr(full):
                    by_git.append((i, raw, mode))
                else:
                    out[i] = self._libgit2_entry(full, mode)
        if by_git:
            for i, entry in zip([i for i, _, _ in by_git], self._hash_by_git(by_git),
                                strict=True):
                out[i] = entry
        return out

    def _hash_by_git(self, files: list[tuple[int, bytes, str]]) -> list[Entry | None]:
        try:
            oids = self.git.run("hash-object", "--stdin-paths",
                                input=b"".join(raw + b"\n" for _, raw, _ in files)).split()
        except GitError:  # one of them vanished or turned unreadable meanwhile: one by one
            return [self._libgit2_entry(os.path.join(self.root, raw), mode)
                    for _, raw, mode in files]
        return [(mode, oid.decode()) for (_, _, mode), oid in zip(files, oids, strict=True)]

    def _libgit2_entry(self, full: bytes, mode: str) -> Entry | None:
        if self._repo is None:
            import pygit2

            self._repo = pygit2.Repository(str(self.git.work_tree))
        try:
            return mode, str(self._repo.hashfile(full))
        except (OSError, ValueError, KeyError) as e:  # pygit2.GitError is a ValueError
            if not os.path.lexists(full):
                return None
            raise GitError(f"cannot hash {os.fsdecode(full)}: {e}") from e

    def _mode(self, st: os.stat_result, mode_hint: str | None) -> str:
        if mode_hint in ("100644", "100755"):
            return mode_hint  # git's diff already applied core.fileMode
        if st.st_mode & stat.S_IXUSR and self._trusts_executable_bit():
            return "100755"
        return "100644"  # also a new executable under core.fileMode = false, as git add does

    def _trusts_executable_bit(self) -> bool:
        if self._filemode is None:
            out = self.git.run("config", "--type=bool", "--get", "core.fileMode", check=False)
            self._filemode = out.strip() != b"false"  # unset: git's default, true
        return self._filemode

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


def _line_safe(raw: bytes) -> bool:
    """True when ``git hash-object --stdin-paths`` reads this name back as it is."""
    return not raw.startswith(b'"') and b"\n" not in raw and not raw.endswith(b"\r")


def _has_cr(full: bytes) -> bool:
    try:
        with open(full, "rb") as f:
            while chunk := f.read(1 << 20):
                if b"\r" in chunk:
                    return True
    except OSError:
        return True  # unreadable now: libgit2 gives the error, or None if it is gone
    return False
