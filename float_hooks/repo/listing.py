"""A snapshot's whole listing read while git prints it, for a first build: the index's (or a
commit's) entries in blocks of a few thousand, so that memory holds one block, not the
repository (a listing of 1,000,000 files is ~110 MB as git prints it and ~600 MB parsed into
one dict). Git prints both listings in path order, byte by byte: every folder's files and
subfolders come together, which is what lets the map be written folder by folder
(map/stream.py). The target's differences from the listing (``git status``, or the staged
diff) are read after it, as snapshot.finish_full does.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

from float_hooks.repo.git import EMPTY_BLOBS, Diff, Entry, Git, parse_ls_files, parse_ls_tree
from float_hooks.repo.scope import Scope
from float_hooks.repo.snapshot import (
    Plan,
    Target,
    _finish_diff,
    _overlay,
    _start_diff,
    abandon,
    real_empty_files,
    resolve_head,
)

BLOCK = 1 << 20  # bytes of git's output parsed at a time (~9,000 entries)


def whole_records(stream: Iterator[bytes], listing: str) -> Iterator[bytes]:
    """The ``-z`` records of ``stream``'s chunks regrouped in blocks that end at a record's
    end, and (``ls-files``: a conflicted path has up to three records, one per stage) never
    between two records of one path."""
    tail = b""
    for data in stream:
        buf = tail + data if tail else data
        cut = buf.rfind(b"\0") + 1
        if listing == "ls-files" and cut:
            cut = _group_start(buf, cut)
        if cut:
            yield buf[:cut]
        tail = buf[cut:]
    if tail:
        yield tail if tail.endswith(b"\0") else tail + b"\0"


def _group_start(buf: bytes, end: int) -> int:
    """Where the records ending at ``end`` that name the same path as the last one start."""
    start = buf.rfind(b"\0", 0, end - 1) + 1
    name = buf[buf.find(b"\t", start, end) : end]  # b"\t<path>\0": a path may hold a tab
    while start:
        prev = buf.rfind(b"\0", 0, start - 1) + 1
        if not (buf.startswith(name, start - len(name))
                and buf.find(b"\t", prev, start) == start - len(name)):
            break
        start = prev
    return start


def _chunks(proc: subprocess.Popen[bytes]) -> Iterator[bytes]:
    assert proc.stdout is not None
    while True:
        data = proc.stdout.read(BLOCK)
        if not data:
            return
        yield data


class Listing:
    """A first build under way: the listing being read, the target's diff started beside it
    (at a lower priority: the caller's writing goes first)."""

    def __init__(self, git: Git, target: Target):
        self.git = git
        self.target = target
        self.head = resolve_head(git, target)
        self.suspects: list[str] = []  # empty files in the index: maybe `git add -N` ones
        self.count = 0  # entries listed in scope
        if target.kind == "commit":
            self._what = "ls-tree"
            self._proc = git.start("ls-tree", "-r", "-z", "--full-tree", self.head) \
                if self.head else None
            self.pending: list[subprocess.Popen[bytes]] = []
        else:
            self._what = "ls-files"
            self._proc = git.start("ls-files", "-s", "-z")
            try:
                self.pending = _start_diff(git, self.head, target, yielding=True)
            except BaseException:
                abandon([self._proc])
                raise

    def expected(self) -> int:
        """How many entries the index holds (its header says), for progress; 0 for a tree."""
        if self._what != "ls-files":
            return 0
        index = self.git.env.get("GIT_INDEX_FILE") or str(self.git.git_dir / "index")
        try:
            with open(index, "rb") as f:
                head = f.read(12)
        except OSError:
            return 0
        return int.from_bytes(head[8:12], "big") if head[:4] == b"DIRC" else 0

    def abandon(self) -> None:
        abandon([p for p in (self._proc, *self.pending) if p is not None])

    def blocks(self, scope: Scope) -> Iterator[dict[str, Entry]]:
        """The listing's entries in scope, a block at a time, in git's order."""
        if self._proc is None:
            return
        parse = parse_ls_tree if self._what == "ls-tree" else parse_ls_files
        for block in whole_records(_chunks(self._proc), self._what):
            entries = scope.present(parse(block))
            if self.target.kind == "index":
                self.suspects += [p for p, e in entries.items() if e[1] in EMPTY_BLOBS]
            self.count += len(entries)
            yield entries
        Git.finish(self._proc, self._what)

    def finish(self, scope: Scope) -> tuple[Plan, dict[str, Entry | None]]:
        """The plan (its values: only the paths where the target differs from the listing)
        and those paths' entries in the target, in scope (None: absent)."""
        diffs: list[Diff] = _finish_diff(self.git, self.head, self.target, self.pending)
        values: dict[str, Entry | None] = {}
        if self.suspects:  # `git add -N` placeholders: in the listing, not in the index's commit
            real = real_empty_files(self.git, self.head, self.suspects)
            values.update((p, None) for p in self.suspects if p not in real)
        for d in diffs:
            values[d.path] = d.new
        wanted = {p: e if e is not None and scope.includes(p) else None
                  for p, e in values.items()}
        return Plan(True, self.head, values, _overlay(diffs)), wanted

