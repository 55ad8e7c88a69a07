"""What a snapshot (a commit's tree, the index, the work tree) holds, read from git.

A sync compares a snapshot with what the DB holds. The DB remembers the *base* commit it was
synced against and the *overlay*: the paths where its snapshot differed from that commit (with
the commit's entries). So the paths that can differ between the DB and a new snapshot are
overlay ∪ diff(base, HEAD) ∪ diff(HEAD, snapshot), all of which git computes skipping equal
subtrees and clean index entries: the work is proportional to the change, not the repository.
"""

from __future__ import annotations

import os
import subprocess
from typing import Literal, NamedTuple

from float_hooks import paths
from float_hooks.errors import FloatError
from float_hooks.repo.git import (
    EMPTY_BLOBS,
    Diff,
    Entry,
    Git,
    Status,
    parse_ls_files,
    parse_ls_tree,
    parse_raw_diff,
    parse_status,
)
from float_hooks.repo.index_tree import cached_root_tree

Kind = Literal["commit", "index", "worktree"]


# NamedTuples, not dataclasses, on the hooks' path: `dataclasses` (and the `inspect` it pulls
# in) plus generating each class's methods are a visible part of a hook's start.
class Target(NamedTuple):
    """A snapshot to sync to. For ``commit``, ``rev`` names it (HEAD when None)."""

    kind: Kind
    rev: str | None = None

    def describe(self) -> str:
        return self.rev or "HEAD" if self.kind == "commit" else self.kind


class Plan(NamedTuple):
    """What a sync will write: new entries for candidate paths (every path when ``full``)."""

    full: bool
    head: str | None  # the commit the snapshot is based on (None: no commit yet)
    values: dict[str, Entry | None]
    overlay: dict[str, Entry | None]  # path -> head's entry


def resolve_head(git: Git, target: Target) -> str | None:
    if target.kind == "commit" and target.rev is not None:
        oid = git.resolve_commit(target.rev)
        if oid is None:
            raise FloatError(f"{target.rev}: not a commit in this repository")
        return oid
    # read here, under the write lock: `git status` compares with HEAD as it is then
    return git.head()


def diff_head_to_target(git: Git, head: str | None, target: Target) -> list[Diff]:
    """Paths where ``target`` differs from ``head``, with their entries on both sides."""
    return _finish_diff(git, head, target, _start_diff(git, head, target))


def _start_diff(git: Git, head: str | None, target: Target, yielding: bool = False,
                ) -> list[subprocess.Popen[bytes]]:
    """Start the git reads a target diff needs; they run while the caller does other work
    (``yielding``: CPU-bound work, see Git.start)."""
    if target.kind == "commit":
        return []
    if target.kind == "worktree" and git.work_tree is None:
        raise FloatError("a bare repository has no work tree; use --rev")
    if target.kind == "index":
        tree = cached_root_tree(git.index_path())
        if tree is not None:  # the tree `git commit` is about to record (index_tree.py)
            return [git.start_diff_trees(head or git.empty_tree(), tree)]
        return [_start_diff_index(git, head)]
    # One `git status` gives HEAD vs index vs work tree and the untracked files: git's most
    # tuned path (parallel lstat, fsmonitor and the untracked cache when configured), and it
    # looks at the contents of files whose stat data changed, so a stale index (after a copy
    # or a `touch`) does not make every file look modified.
    return [git.start("status", "--porcelain=v2", "-z", "--untracked-files=all",
                      "--no-renames", "--ignore-submodules=dirty", yielding=yielding)]


def _finish_diff(git: Git, head: str | None, target: Target,
                 procs: list[subprocess.Popen[bytes]]) -> list[Diff]:
    if not procs:
        return []
    if target.kind == "index":
        return [_resolve_unmerged(git, d) for d in parse_raw_diff(_index_diff(git, head,
                                                                              procs[0]))]
    from float_hooks.repo.worktree import (
        WorktreeHasher,  # lazy: off the hooks' path (their start-up cost)
    )

    listed = _intent_to_add_fixed(git, head, parse_status(Git.finish(procs[0], "status")))
    # .float/ is never in scope: don't pay for hashing it
    named = [(path, s) for s in listed
             if not paths.is_float_path(path := paths.from_git(s.raw))]
    changed = [s for _, s in named if s.worktree not in (".", "D")]
    hashed = dict(zip([s.raw for s in changed],
                      WorktreeHasher(git).entries([(s.raw, s.mode) for s in changed]),
                      strict=True))
    out: dict[str, Diff] = {}
    # tracked paths first: `git rm --cached f` lists f as deleted from the index and as
    # untracked, and the untracked file is what the work tree holds
    for path, s in sorted(named, key=lambda pair: pair[1].worktree == "?"):
        if s.worktree == ".":
            new = s.staged
        elif s.worktree == "D":
            new = None
        else:
            new = hashed[s.raw]
        held = out.get(path)
        old = held.old if held is not None else s.head
        out[path] = Diff(path, s.raw, new, old)
    # Paths where the target equals head are kept: a full plan starts from the index and
    # must still override it (staged, then deleted from the work tree); overlays skip them.
    return list(out.values())


def _index_diff(git: Git, head: str | None, proc: subprocess.Popen[bytes]) -> bytes:
    if list(proc.args)[1] == "diff-tree":  # type: ignore[arg-type]
        out, _ = proc.communicate()
        if proc.returncode == 0:
            return out
        proc = _start_diff_index(git, head)  # the cache tree named a tree that is not there
    return Git.finish(proc, "diff-index")


def _start_diff_index(git: Git, head: str | None) -> subprocess.Popen[bytes]:
    # a `git add -N` placeholder is not in the commit the index makes: not a change (nor is
    # it in the cache tree's trees)
    return git.start("diff-index", "--cached", "-z", "--no-renames", "--ita-invisible-in-index",
                     head or git.empty_tree())


def _intent_to_add_fixed(git: Git, head: str | None, listed: list[Status]) -> list[Status]:
    """`git status` fills HEAD's side of an unstaged change from the index. For an entry
    added with `git add -N` and then deleted that is the empty blob of the placeholder, which
    HEAD does not have: such entries are looked up in HEAD (one `ls-tree`, rarely run)."""
    suspects = [s.raw for s in listed
                if s.worktree == "D" and s.head is not None and s.head == s.staged
                and s.head[1] in EMPTY_BLOBS]
    if not suspects:
        return listed
    in_head = {} if head is None else parse_ls_tree(
        git.run("ls-tree", "-z", "--full-tree", head, "--", *map(os.fsdecode, suspects)))
    gone = {raw for raw in suspects if paths.from_git(raw) not in in_head}
    return [s._replace(head=None, staged=None) if s.raw in gone else s for s in listed]


def _resolve_unmerged(git: Git, d: Diff) -> Diff:
    if not d.unmerged:
        return d
    entries = parse_ls_files(git.run("ls-files", "-s", "-z", "--", os.fsdecode(d.raw)))
    return Diff(d.path, d.raw, entries.get(d.path), d.old)


class Started(NamedTuple):
    """A full plan under way: the index's (or the commit's) listing is read, while git may
    still be scanning the work tree for what differs from it."""

    head: str | None
    values: dict[str, Entry | None]
    pending: list[subprocess.Popen[bytes]]


def start_full(git: Git, target: Target) -> Started:
    """Read the listing and start the work-tree scan (a store that already holds a map: a
    first build streams the listing instead, listing.py)."""
    head = resolve_head(git, target)
    if target.kind == "commit":
        values: dict[str, Entry | None] = dict(
            parse_ls_tree(git.run("ls-tree", "-r", "-z", "--full-tree", head)) if head else {}
        )
        return Started(head, values, [])
    listing = Git.finish(git.start("ls-files", "-s", "-z"), "ls-files")
    pending = _start_diff(git, head, target)
    try:
        # parse the listing while git is still scanning the work tree
        values = dict(parse_ls_files(listing))
        if target.kind == "index":
            _drop_intent_to_add(git, head, values)
    except BaseException:
        abandon(pending)
        raise
    return Started(head, values, pending)


def _drop_intent_to_add(git: Git, head: str | None, values: dict[str, Entry | None]) -> None:
    """The index lists a `git add -N` placeholder as an empty file, which a commit leaves
    out: such entries are not part of the index snapshot. Only empty-blob entries are
    suspects (:func:`real_empty_files` tells them from real empty files)."""
    suspects = [p for p, e in values.items() if e is not None and e[1] in EMPTY_BLOBS]
    if not suspects:
        return
    real = real_empty_files(git, head, suspects)
    for p in suspects:
        if p not in real:
            del values[p]


def real_empty_files(git: Git, head: str | None, suspects: list[str]) -> set[str]:
    """Which of the index's empty-blob entries ``suspects`` are real files (the others are
    `git add -N` placeholders): one diff-index that hides placeholders, and head's entries."""
    names = [paths.to_git(p) for p in suspects]
    shown = git.run("diff-index", "--cached", "--ita-invisible-in-index", "--name-only", "-z",
                    head or git.empty_tree(), "--", *names)
    real = {paths.from_git(r) for r in shown.split(b"\0") if r}
    if head is not None:
        real |= set(parse_ls_tree(git.run("ls-tree", "-z", "--full-tree", head, "--", *names)))
    return real


def abandon(pending: list[subprocess.Popen[bytes]]) -> None:
    for proc in pending:
        proc.kill()
        proc.wait()


def finish_full(git: Git, target: Target, started: Started) -> tuple[Plan, list[str]]:
    """The plan, and the paths where the target differs from the listing ``started`` read
    (their new entries are in the plan's values). ``started.values`` becomes the plan's."""
    head, values, pending = started
    diffs = _finish_diff(git, head, target, pending)
    for d in diffs:
        values[d.path] = d.new
    return Plan(True, head, values, _overlay(diffs)), [d.path for d in diffs]


def incremental_plan(
    git: Git, target: Target, base: str | None, overlay: dict[str, Entry | None]
) -> Plan:
    """Candidates = overlay ∪ diff(base, head) ∪ diff(head, target); ``base`` must exist."""
    head = resolve_head(git, target)
    values: dict[str, Entry | None] = dict(overlay)  # unchanged since base: base's entry
    if head != base:
        old_tree = base or git.empty_tree()
        new_tree = head or git.empty_tree()
        out = git.diff_trees(old_tree, new_tree)
        for d in parse_raw_diff(out):
            values[d.path] = d.new
    diffs = diff_head_to_target(git, head, target)
    for d in diffs:
        values[d.path] = d.new
    return Plan(False, head, values, _overlay(diffs))


def _overlay(diffs: list[Diff]) -> dict[str, Entry | None]:
    """Where the snapshot differs from head: those paths, with head's entries."""
    return {d.path: d.old for d in diffs if d.new != d.old}
