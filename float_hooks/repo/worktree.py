"""Hashing work-tree files as ``git add`` would store them (filters applied).

Only the files a sync finds changed in the work tree are hashed; tree and index snapshots
never read file contents. They go to git itself, all in one ``git hash-object --stdin-paths``:
it applies every filter git add would (external clean filters such as Git LFS, ``ident``,
working-tree encodings, end-of-line rules) at a few ms per sync. libgit2 (pygit2, imported on
first use: ~90 ms, plus ~110 ms to read a 90k-entry index) hashes what git hash-object would
get wrong, because it never reads the index:

* a file containing a CR, unless it has a ``filter`` or ``working-tree-encoding`` attribute.
  Under ``text=auto`` or ``core.autocrlf``, git add keeps CRLFs when the index copy has CRs
  already; libgit2 checks the index as git add does (but runs no external filter, hence the
  exception, found with one ``git check-attr`` over those files).
* every file of a sparse checkout: a ``.gitattributes`` outside the checkout is only in the
  index, where git add finds it and git hash-object does not.
* a name ``--stdin-paths`` would misread: it reads lines, drops a CR before the newline and
  unquotes a leading double quote.

A symlink's blob (its target path, unfiltered) is hashed here, in the repository's object
format.
"""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Sequence
from typing import Any

from float_hooks.errors import GitError
from float_hooks.repo.git import Entry, Git, blob_id


class WorktreeHasher:
    def __init__(self, git: Git):
        assert git.work_tree is not None
        self.git = git
        self.root = os.fsencode(git.work_tree)
        self._repo: Any = None
        self._config: dict[str, str] | None = None

    def entries(self, wanted: Sequence[tuple[bytes, str | None]]) -> list[Entry | None]:
        """For each ``(raw path, mode git reported or None)``: the entry git would record for
        that work-tree path; None if it is gone or is something git would not track (a
        directory that is not a submodule)."""
        out: list[Entry | None] = [None] * len(wanted)
        by_git: list[tuple[int, bytes, str]] = []
        with_cr: list[tuple[int, bytes, str]] = []
        for i, (raw, mode_hint) in enumerate(wanted):
            full = os.path.join(self.root, raw)
            try:
                st = os.lstat(full)
            except (FileNotFoundError, NotADirectoryError):
                continue
            if stat.S_ISLNK(st.st_mode):
                out[i] = ("120000", blob_id(os.readlink(full), self.git.object_format()))
            elif stat.S_ISDIR(st.st_mode):
                out[i] = self._submodule(full)
            elif stat.S_ISREG(st.st_mode):
                mode = self._mode(st, mode_hint)
                if not _line_safe(raw) or _true(self._setting("core.sparsecheckout")):
                    out[i] = self._libgit2_entry(full, mode)
                elif _has_cr(full):
                    with_cr.append((i, raw, mode))
                else:
                    by_git.append((i, raw, mode))
        filtered = self._filtered([raw for _, raw, _ in with_cr])
        for i, raw, mode in with_cr:
            if raw in filtered:
                by_git.append((i, raw, mode))
            else:
                out[i] = self._libgit2_entry(os.path.join(self.root, raw), mode)
        if by_git:
            hashed = self._hash_by_git([(raw, mode) for _, raw, mode in by_git])
            for (i, _, _), entry in zip(by_git, hashed, strict=True):
                out[i] = entry
        return out

    def _hash_by_git(self, files: list[tuple[bytes, str]]) -> list[Entry | None]:
        try:
            oids = self.git.run("hash-object", "--stdin-paths",
                                input=b"".join(raw + b"\n" for raw, _ in files)).split()
        except GitError:  # one of them vanished, turned unreadable or failed its filter
            return [self._one_by_git(raw, mode) for raw, mode in files]
        return [(mode, oid.decode()) for (_, mode), oid in zip(files, oids, strict=True)]

    def _one_by_git(self, raw: bytes, mode: str) -> Entry | None:
        full = os.path.join(self.root, raw)
        if not os.path.lexists(full):
            return None
        try:
            return mode, self.git.run("hash-object", "--stdin-paths",
                                      input=raw + b"\n").decode().strip()
        except GitError:  # e.g. a required filter that fails: git add would refuse it
            return self._libgit2_entry(full, mode)

    def _filtered(self, raws: list[bytes]) -> set[bytes]:
        """Those of ``raws`` with a ``filter`` or ``working-tree-encoding`` attribute."""
        if not raws:
            return set()
        out = self.git.run("check-attr", "-z", "--stdin", "filter", "working-tree-encoding",
                           input=b"".join(raw + b"\0" for raw in raws)).split(b"\0")
        # records of three fields: path, attribute, value
        return {out[k] for k in range(0, len(out) - 2, 3)
                if out[k + 2] not in (b"unspecified", b"unset")}

    def _libgit2_entry(self, full: bytes, mode: str) -> Entry | None:
        if self._repo is None:
            import pygit2  # lazy: slow to import; never on the hook path

            self._repo = pygit2.Repository(str(self.git.work_tree))
        try:
            return mode, str(self._repo.hashfile(full))
        except (OSError, ValueError, KeyError) as e:  # pygit2.GitError is a ValueError
            if not os.path.lexists(full):
                return None
            raise GitError(f"cannot hash {os.fsdecode(full)}: {e}") from e

    def _setting(self, key: str) -> str | None:
        """A config value (lower-case key; None when unset), all read in one git process."""
        if self._config is None:
            out = self.git.run("config", "-z", "--get-regexp",
                               r"^core\.(filemode|sparsecheckout)$",
                               check=False)
            self._config = {}
            for record in filter(None, out.split(b"\0")):
                name, newline, value = record.decode(errors="replace").partition("\n")
                # a key written without "=" is a boolean true
                self._config[name.lower()] = value if newline else "true"
        return self._config.get(key)

    def _mode(self, st: os.stat_result, mode_hint: str | None) -> str:
        if mode_hint in ("100644", "100755"):
            return mode_hint  # git's diff already applied core.fileMode
        if st.st_mode & stat.S_IXUSR and self._trusts_executable_bit():
            return "100755"
        return "100644"  # also a new executable under core.fileMode = false, as git add does

    def _trusts_executable_bit(self) -> bool:
        value = self._setting("core.filemode")
        return value is None or _true(value)  # unset: git's default, true

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


def _true(value: str | None) -> bool:
    """git's reading of a boolean config value."""
    if value is None:
        return False
    value = value.strip().lower()
    if value in ("true", "yes", "on"):
        return True
    if value in ("false", "no", "off", ""):
        return False
    try:
        return int(value, 0) != 0
    except ValueError:
        return False


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
