"""Talking to git: discovery and the few plumbing commands the sync reads, parsed from ``-z``.

Hot paths (hooks) use git subprocesses, not pygit2: git reads its index and skips equal
subtrees faster than libgit2 does, and ``import pygit2`` alone costs ~90 ms.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import suppress
from operator import itemgetter
from pathlib import Path
from typing import NamedTuple

from float_hooks import paths
from float_hooks.errors import GitError, NotARepository
from float_hooks.repo.hashing import normalize_mode

# What a path holds in one snapshot: (mode, object id). None means "absent".
Entry = tuple[str, str]
# The empty blob's id in SHA-1 and SHA-256 repositories (also what `git add -N` stages).
EMPTY_BLOBS = frozenset({
    "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391",
    "473a0f4c3be8a93681a267e3b1e9a7dcda1185436fe141f7749120a303721813",
})

# Variables git sets for hooks that must not leak into commands we run with explicit paths;
# GIT_INDEX_FILE is kept on purpose: it names the index being committed.
_LOCATION_VARS = ("GIT_DIR", "GIT_WORK_TREE", "GIT_PREFIX", "GIT_COMMON_DIR")


class Diff(NamedTuple):  # not a dataclass: see snapshot.Target
    """One path from a raw diff: its state on the new side (None when deleted)."""

    path: str
    raw: bytes  # git's own spelling of the path, to hand back to git or the file system
    new: Entry | None
    old: Entry | None
    unmerged: bool = False


class Git:
    """A repository located once; every command then runs with absolute locations."""

    def __init__(self, git_dir: Path, work_tree: Path | None, index_file: str | None = None):
        self.git_dir = git_dir
        self.work_tree = work_tree
        env = {k: v for k, v in os.environ.items() if k not in _LOCATION_VARS}
        env["GIT_DIR"] = str(git_dir)
        if work_tree is not None:
            env["GIT_WORK_TREE"] = str(work_tree)
        if index_file:
            env["GIT_INDEX_FILE"] = index_file
        else:
            env.pop("GIT_INDEX_FILE", None)
        env["GIT_LITERAL_PATHSPECS"] = "1"  # our pathspecs are file names, never globs
        # A reader never takes git's optional locks (`status` would otherwise refresh and
        # rewrite the index, and could make the user's own `git add` find index.lock taken).
        env["GIT_OPTIONAL_LOCKS"] = "0"
        env["LC_ALL"] = "C"
        self.env = env
        self._cwd = str(work_tree or git_dir)
        self._object_format: str | None = None

    @classmethod
    def discover(cls, path: str | os.PathLike[str] = ".") -> Git:
        """Find the repository containing ``path`` (honouring git's hook environment)."""
        start = Path(path).resolve()
        if not start.exists():
            raise NotARepository(f"{start}: no such directory")
        index_file = os.environ.get("GIT_INDEX_FILE")
        if index_file and not os.path.isabs(index_file):
            # git gives hooks a path relative to the directory the hook runs in
            index_file = str(Path.cwd() / index_file)
        env = dict(os.environ)
        if Path(path).resolve() != Path.cwd().resolve():
            # an explicit --repo elsewhere must not pick up the caller's hook variables
            for var in (*_LOCATION_VARS, "GIT_INDEX_FILE"):
                env.pop(var, None)
            index_file = None
        # one git process in the common case (a work tree): hooks pay for every spawn. (HEAD
        # is not asked for here: a Git object lives on while HEAD moves, so HEAD is read when
        # a sync needs it.)
        proc = subprocess.run(
            ["git", "rev-parse", "--absolute-git-dir", "--is-bare-repository", "--show-toplevel"],
            cwd=start,
            env=env,
            capture_output=True,
        )
        lines = proc.stdout.decode().splitlines()
        if proc.returncode == 0 and len(lines) == 3 and lines[1] == "false":
            return cls(Path(lines[0]), Path(lines[2]), index_file)
        proc = subprocess.run(
            ["git", "rev-parse", "--absolute-git-dir", "--is-bare-repository"],
            cwd=start,
            env=env,
            capture_output=True,
        )
        if proc.returncode != 0:
            raise NotARepository(f"{start}: not a git repository (run this inside a git work tree)")
        git_dir_s, bare = proc.stdout.decode().splitlines()[:2]
        work_tree: Path | None = None
        if bare != "true":
            top = subprocess.run(
                ["git", "rev-parse", "--show-toplevel"], cwd=start, env=env, capture_output=True
            )
            if top.returncode != 0:
                raise NotARepository(f"{start}: inside the .git directory, not a work tree")
            work_tree = Path(top.stdout.decode().rstrip("\n"))
        return cls(Path(git_dir_s), work_tree, index_file)

    # -- running -------------------------------------------------------------------------
    def run(self, *args: str, input: bytes | None = None, check: bool = True) -> bytes:
        proc = subprocess.run(
            ["git", *args], cwd=self._cwd, env=self.env, input=input, capture_output=True
        )
        if check and proc.returncode != 0:
            msg = proc.stderr.decode(errors="replace").strip().splitlines()
            raise GitError(f"git {args[0]} failed: {msg[-1] if msg else proc.returncode}")
        return proc.stdout

    def start(self, *args: str, yielding: bool = False) -> subprocess.Popen[bytes]:
        """Start a git command to read later: lets independent reads run side by side.

        ``yielding``: the caller has CPU-bound work of its own to do meanwhile and will wait
        for this command only after it. The command then runs at a lower priority, so that on
        a small machine the caller's work goes first and git takes the CPU time left over,
        instead of the two taking turns (a faster first sync on two cores:
        docs/performance.md). Linux gives each thread its own priority;
        git's worker threads start later and inherit it.
        """
        proc = subprocess.Popen(
            ["git", *args],
            cwd=self._cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        if yielding:
            lower_priority(proc.pid)
        return proc

    @staticmethod
    def finish(proc: subprocess.Popen[bytes], what: str) -> bytes:
        out, err = proc.communicate()
        if proc.returncode != 0:
            lines = err.decode(errors="replace").strip().splitlines()
            raise GitError(f"git {what} failed: {lines[-1] if lines else proc.returncode}")
        return out

    def diff_trees(self, old: str, new: str) -> bytes:
        """``git diff-tree -r`` raw output between two trees (or commits)."""
        return self.finish(self.start_diff_trees(old, new), "diff-tree")

    def start_diff_trees(self, old: str, new: str) -> subprocess.Popen[bytes]:
        """:meth:`diff_trees`, started: read it with :meth:`finish`."""
        # diff-tree reads the whole index before it starts (far longer than the diff itself
        # in a large repository), only to look up attributes that raw output never uses.
        # A missing index file reads as an empty one, so it is pointed at a path that is
        # never created.
        env = {**self.env, "GIT_INDEX_FILE": str(self.git_dir / "float-no-index")}
        return subprocess.Popen(
            ["git", "diff-tree", "-r", "-z", "--no-renames", "--no-commit-id", old, new],
            cwd=self._cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )

    def index_path(self) -> str:
        """The index file this repository's commands read (``GIT_INDEX_FILE`` in a hook)."""
        return os.path.join(self._cwd, self.env.get("GIT_INDEX_FILE") or self.git_dir / "index")

    # -- small questions -----------------------------------------------------------------
    def git_path(self, name: str) -> Path:
        out = self.run("rev-parse", "--git-path", name).decode().rstrip("\n")
        p = Path(out)
        return p if p.is_absolute() else Path(self._cwd) / p

    def resolve_commit(self, rev: str) -> str | None:
        """The commit id ``rev`` names, or None (unborn HEAD, unknown rev, pruned object)."""
        out = self.run("rev-parse", "--verify", "--quiet", "--end-of-options", rev + "^{commit}",
                       check=False)
        return out.decode().strip() or None

    def has_object(self, oid: str) -> bool:
        return subprocess.run(["git", "cat-file", "-e", oid], cwd=self._cwd, env=self.env,
                              capture_output=True).returncode == 0

    def head(self) -> str | None:
        return self.resolve_commit("HEAD")

    def object_format(self) -> str:
        """The repository's hash, ``sha1`` or ``sha256`` (``extensions.objectFormat``): what
        blob ids are computed with, and known before the first commit (asked once)."""
        if self._object_format is None:
            out = self.run("config", "--get", "extensions.objectformat", check=False)
            self._object_format = "sha256" if out.strip().lower() == b"sha256" else "sha1"
        return self._object_format

    def read_blob_head(self, obj: str, limit: int) -> bytes:
        """The first ``limit`` bytes of a blob (``rev:path`` or an id; b"" if there is none):
        git is stopped once they are read, so a large pushed file costs no more."""
        proc = self.start("cat-file", "blob", obj)
        assert proc.stdout is not None
        try:
            return proc.stdout.read(limit)
        finally:
            proc.kill()
            proc.communicate()

    def empty_tree(self) -> str:
        return self.run("hash-object", "-t", "tree", "/dev/null").decode().strip()

def blob_id(data: bytes, object_format: str) -> str:
    """The id git gives ``data`` as a blob in a repository of ``object_format``."""
    import hashlib  # lazy: its import initialises OpenSSL, a cost every hook would pay

    h = hashlib.new(object_format)
    h.update(b"blob %d\0" % len(data))
    h.update(data)
    return h.hexdigest()


def lower_priority(task: int, nice: int = 10) -> None:
    """Run a process (or, on Linux, a thread: its native id) at nice ``nice``, or at this
    thread's own nice value if that is lower still: never above the caller's priority. A no-op
    where there are no nice values (Windows), or if the task has exited already."""
    if hasattr(os, "setpriority"):
        with suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, task, max(os.getpriority(os.PRIO_PROCESS, 0), nice))


# -- parsers for -z output -------------------------------------------------------------------
def _records(out: bytes) -> Iterator[bytes]:
    for rec in out.split(b"\0"):
        if rec:
            yield rec


def _meta_and_paths(out: bytes) -> Iterator[tuple[str, str]]:
    """``<meta>\\t<path>`` records of ``-z`` output as (meta, stored path)."""
    try:
        text = out.decode()
    except UnicodeDecodeError:  # some path is not UTF-8: convert record by record
        for rec in _records(out):
            meta, _, raw = rec.partition(b"\t")
            yield meta.decode(), paths.from_git(raw)
        return
    # All UTF-8 (the usual case): one decode instead of 90k; a path is then exactly what
    # paths.from_git makes of it (a backslash, rare, is doubled there).
    plain = "\\" not in text
    for line in text.split("\0"):
        if line:
            info, _, name = line.partition("\t")
            yield info, "/" + name if plain else paths.text_from_git(name)


def parse_ls_files(out: bytes) -> dict[str, Entry]:
    """``git ls-files -s -z``: ``<mode> <oid> <stage>\\t<path>``; conflicts keep "ours"."""
    plain = _parse_plain_listing(out)
    return plain if plain is not None else _parse_listing_records(out)


def _parse_listing_records(out: bytes) -> dict[str, Entry]:
    """``parse_ls_files`` for any listing, record by record."""
    entries: dict[str, Entry] = {}
    modes: dict[str, str] = {}
    for meta, path in _meta_and_paths(out):
        mode, oid, stage = meta.split(" ")
        norm = modes.get(mode)
        if norm is None:
            norm = modes[mode] = normalize_mode(mode)
        if stage in ("0", "2") or path not in entries:
            entries[path] = (norm, oid)
    return entries


# The modes an index holds (git normalises every other one when it adds a file).
_INDEX_MODES = {mode: mode for mode in ("100644", "100755", "120000", "160000")}


def _parse_plain_listing(out: bytes) -> dict[str, Entry] | None:
    """The usual index listing (UTF-8 names, no conflicts) parsed without a Python-level loop:
    90k records of a first sync take ~100 ms instead of ~120 ms. None when the listing is
    anything else (the general parser takes it then)."""
    try:
        text = out.decode()
    except UnicodeDecodeError:
        return None
    if "\\" in text:  # a name paths.from_git escapes
        return None
    lines = text.split("\0")
    if lines[-1] == "":
        lines.pop()  # -z ends every record with NUL
    if not lines:
        return {}
    # "<mode> <oid> <stage>\t<path>": the mode is printed as six octal digits and the oid
    # has one length (40 hex for SHA-1, 64 for SHA-256), so every field is at a fixed offset
    # once all records agree on the separators and the stage ("0": no conflict).
    stage = lines[0].find(" ", 7) + 1
    if stage - 8 not in (40, 64):
        return None
    shapes = set(map(itemgetter(slice(0, 7), slice(stage - 1, stage + 2)), lines))
    if shapes - {(mode + " ", " 0\t") for mode in _INDEX_MODES}:
        return None
    return dict(zip(
        map("/".__add__, map(itemgetter(slice(stage + 2, None)), lines)),  # paths.from_git
        zip(map(_INDEX_MODES.__getitem__, map(itemgetter(slice(0, 6)), lines)),
            map(itemgetter(slice(7, stage - 1)), lines), strict=True),
        strict=True,
    ))


def parse_ls_tree(out: bytes) -> dict[str, Entry]:
    """``git ls-tree -r -z``: ``<mode> <type> <oid>\\t<path>``."""
    entries: dict[str, Entry] = {}
    modes: dict[str, str] = {}
    for meta, path in _meta_and_paths(out):
        mode, _type, oid = meta.split(" ")
        norm = modes.get(mode)
        if norm is None:
            norm = modes[mode] = normalize_mode(mode)
        entries[path] = (norm, oid)
    return entries


def parse_raw_diff(out: bytes) -> list[Diff]:
    """``git diff-* -z --no-renames`` raw output: ``:m1 m2 o1 o2 S\\0path\\0``."""
    diffs: list[Diff] = []
    fields = out.split(b"\0")
    i = 0
    while i + 1 < len(fields):
        head = fields[i]
        if not head.startswith(b":"):
            i += 1
            continue
        m1, m2, o1, o2, status = head[1:].decode().split(" ")
        raw = fields[i + 1]
        i += 2
        old = None if set(m1) == {"0"} else (normalize_mode(m1), o1)
        new = None if set(m2) == {"0"} else (normalize_mode(m2), o2)
        diffs.append(Diff(paths.from_git(raw), raw, new, old, unmerged=status.startswith("U")))
    return diffs


class Status(NamedTuple):
    """One path of ``git status --porcelain=v2``: HEAD's and the index's (``staged``)
    entries, and what the work tree holds: ``"."`` the staged entry, ``"D"`` nothing, ``"M"``,
    ``"T"`` or ``"A"`` (a `git add -N` placeholder) content to hash, with git's work-tree mode
    in ``mode``, ``"?"`` an untracked file (to hash)."""

    raw: bytes
    head: Entry | None
    staged: Entry | None
    worktree: str
    mode: str | None


def _entry(mode: str, oid: str) -> Entry | None:
    return None if set(mode) == {"0"} else (normalize_mode(mode), oid)


def parse_status(out: bytes) -> list[Status]:
    """``git status --porcelain=v2 -z --untracked-files=all --no-renames``. Git has already
    compared contents where stat data alone could not tell, so only real changes are listed
    (``diff-files`` lists every file whose stat data is stale: after a copy, all of them)."""
    result: list[Status] = []
    for rec in _records(out):
        kind = rec[:1]
        if kind == b"1":  # 1 XY sub mH mI mW hH hI path
            f = rec.split(b" ", 8)
            xy, m_head, m_index, m_work = f[1].decode(), f[3].decode(), f[4].decode(), f[5].decode()
            y = xy[1]
            result.append(Status(f[8], _entry(m_head, f[6].decode()),
                                 _entry(m_index, f[7].decode()), y,
                                 None if y in ".D" else normalize_mode(m_work)))
        elif kind == b"u":  # u XY sub m1 m2 m3 mW h1 h2 h3 path: a conflict, "ours" is HEAD's
            f = rec.split(b" ", 10)
            ours = _entry(f[4].decode(), f[8].decode())
            m_work = f[6].decode()
            gone = set(m_work) == {"0"}
            result.append(Status(f[10], ours, ours, "D" if gone else "M",
                                 None if gone else normalize_mode(m_work)))
        elif kind == b"?" and not rec.endswith(b"/"):  # "dir/": a nested repository
            result.append(Status(rec[2:], None, None, "?", None))
    return result
