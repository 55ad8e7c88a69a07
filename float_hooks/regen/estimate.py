"""How big each regeneration request will be, without building it: what
``regenerate --dry-run`` prints.

Building the real requests (regen_io.build_request) reads the first KiB of every file: 1.8 s
at 90k files and 20.7 s at 300k, 7-15x ``git status``. The estimate needs only each file's
size, which git's index records for every tracked file (``git ls-files --debug``: the size the
file had when git last looked at it), and the DB's counts and text lengths, summed by SQLite.
It follows ``Request.as_json`` piece by piece: the instructions, one entry per child, the
excerpts sharing ``input_budget`` (regen_io.excerpt_share), the previous context, the changed
files. What it cannot know without reading a file is the file's one-line summary and whether
it is binary: it counts :data:`SUMMARY_GUESS` characters per text file, and every file as
text. Files the index does not have (untracked ones in a work-tree map) are measured in the
work tree; where a folder's index entries and the map still disagree ([sync] exclude, a file
changed since), its sizes are scaled to the map's count. On the 90k benchmark repository
the estimates are 0.92-1.16x the real requests' (median 0.97); timings in
docs/performance.md ("Regeneration dry run").
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from itertools import repeat
from pathlib import Path
from typing import Any

from float_hooks import paths
from float_hooks.regen.budget import excerpt_share
from float_hooks.regen.job_queue import within_sql
from float_hooks.regen.request import DEFAULT_BUDGET_TOKENS, HEAD_BYTES, Request
from float_hooks.repo.git import Git

SUMMARY_GUESS = 40  # characters of a file's one-line summary, unknown without reading it

# One entry of `git ls-files -s --debug -z` ("MODE OID STAGE\tPATH\0", stat lines, "size: N"):
# a regular file at stage 0, its folder (None at the top) and size. The regex does the
# splitting in C: no Python step per file.
_ENTRY = re.compile(rb"(?:100644|100755) [0-9a-f]+ 0\t(?:([^\0]*)/)?[^/\0]*\0[^z]*ze: (\d+)")


def _json_len(value: Any) -> int:
    return len(json.dumps(value))


def _item_len(value: dict[str, Any]) -> int:
    """Characters one more list item adds: the item and its ", " separator."""
    return _json_len([value, value]) - _json_len([value])


# The constant parts of Request.as_json, measured on the real thing with empty strings.
_BASE = _json_len(Request("", "", "", [], [], None, None).as_json())
_FOLDER_CHILD = _item_len({"name": "", "kind": "folder", "status": "", "summary": ""})
_FILE_CHILD = _item_len({"name": "", "kind": "", "size": 100, "binary": False, "summary": ""})
_EXCERPT = _item_len({"path": "", "excerpt": "", "truncated": False})
_CHANGED = _item_len({"path": "", "change": "modified", "old_hash": "", "new_hash": "",
                      "old_mode": "100644", "new_mode": "100644", "via": None})
_WHY = _json_len({"path": "", "status": "stale", "source_hash": "", "context_hash": "",
                  "context_commit": None, "changed_files": [], "via_children": [],
                  "detail_source": "store", "detail_complete": True})
_PREVIOUS = _json_len({k: "" for k in ("map_summary", "map_children", "context_what",
                                       "context_why", "context_patterns", "ai_model",
                                       "ai_updated", "context_commit")})
_HASH = 40  # a blob id in hex (SHA-1 repositories)


class IndexSizes:
    """The sizes git's index records, from a ``git ls-files`` started at once and parsed by
    a thread as its output arrives: git, the parsing and the caller's SQLite queries (which
    release the GIL) run side by side."""

    CHUNK = 1 << 20  # bytes of git's output parsed at a time

    def __init__(self, git: Git, within: Sequence[str] | None = None):
        self._root = git.work_tree
        self._groups: defaultdict[bytes, list[bytes]] = defaultdict(list)
        self._failed = False
        self._proc: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None
        if self._root is None:
            return  # a bare mirror has no index
        specs = [] if not within or paths.ROOT in within else [paths.to_git(p) for p in within]
        self._proc = subprocess.Popen(["git", "ls-files", "-s", "--debug", "-z", "--", *specs],
                                      cwd=str(self._root), env=git.env,
                                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self._thread = threading.Thread(target=self._parse, args=(self._proc,), daemon=True)
        self._thread.start()

    def _parse(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        groups = self._groups
        rest = b""
        try:
            while True:
                chunk = os.read(proc.stdout.fileno(), self.CHUNK)
                buf = rest + chunk
                # up to the end of the last whole entry ("...\tflags: X\n"), all at the end
                last = buf.rfind(b"\tflags: ")
                end = len(buf) if not chunk else buf.find(b"\n", last) + 1 if last >= 0 else 0
                for folder, size in _ENTRY.findall(buf, 0, end):
                    groups[folder].append(size)
                rest = buf[end:]
                if not chunk:
                    return
        except OSError:
            self._failed = True  # no sizes: by_folder counts full shares

    def by_folder(self, overlay: Iterable[str]) -> dict[str, list[int]]:
        """Stored folder path -> the sizes of its regular files. ``overlay``: stored paths
        where the map differs from its base commit (untracked and changed files of a
        work-tree map), measured in the work tree; their index entries, if any, stay (the
        caller scales a folder's sizes to its file count)."""
        out: dict[str, list[int]] = {}
        if self._proc is not None and self._thread is not None:
            self._thread.join()
            if self._proc.wait() == 0 and not self._failed:  # else full shares are counted
                out = {_stored(folder): list(map(int, sizes))
                       for folder, sizes in self._groups.items()}
        root = self._root
        if root is None:
            return out
        for path in overlay:
            try:
                size = os.lstat(Path(root, paths.to_git(path))).st_size
            except OSError:
                continue  # gone from the work tree
            out.setdefault(paths.parent(path), []).append(size)
        return out


def _stored(git_folder: bytes) -> str:
    return paths.from_git(git_folder) if git_folder else paths.ROOT


def estimate(conn: sqlite3.Connection, jobs: list[dict[str, str]], sizes: IndexSizes,
             budget: int, within: Sequence[str] | None = None,
             budget_tokens: int = DEFAULT_BUDGET_TOKENS) -> list[dict[str, Any]]:
    """Each job (path, source_hash, reason) with ``files``, ``folders`` and
    ``estimated_tokens`` (the request's characters / 4, as Request.estimate_tokens counts,
    never more than ``budget_tokens``: the request's one budget). Outlines are counted from
    the outline cache (files not outlined yet count as excerpts). The DB is read in the
    caller's transaction; only at or below ``within`` when given."""
    def grouped(sql: str, column: str, tail: str = "") -> dict[str, tuple[Any, ...]]:
        where, params = within_sql(column, within)
        sql += "".join(f" AND ({w})" for w in where) + tail
        return {r[0]: r[1:] for r in conn.execute(sql, params)}

    # modes are 100644, 100755 (executable), 120000 (symlink) or 160000 (submodule)
    files = grouped("SELECT folder_path, count(*), sum(length(path)), sum(mode = '100755'),"
                    " sum(mode = '120000'), sum(mode = '160000') FROM files WHERE 1",
                    "folder_path", " GROUP BY folder_path")
    subfolders = grouped("SELECT parent_path, count(*), sum(length(name) + length(status)"
                         " + coalesce(length(map_summary), 2)) FROM folders"
                         " WHERE parent_path IS NOT NULL", "parent_path", " GROUP BY parent_path")
    own = grouped("SELECT path, context_hash IS NOT NULL, coalesce(length(map_summary), 0)"
                  " + coalesce(length(map_children), 0) + coalesce(length(context_what), 0)"
                  " + coalesce(length(context_why), 0) + coalesce(length(context_patterns), 0)"
                  " + coalesce(length(ai_model), 0) + coalesce(length(ai_updated), 0)"
                  " + coalesce(length(context_commit), 0), status FROM folders WHERE 1", "path")
    changed = grouped("SELECT folder_path, count(*), sum(length(file_path)) FROM changed_since"
                      " WHERE file_path != ''", "folder_path", " GROUP BY folder_path")
    outlined = grouped("SELECT f.folder_path, sum(length(s.signature)"
                       " + coalesce(length(s.doc), 0) + 16) FROM files f"
                       " JOIN outline_symbols s ON s.blob = f.content_hash WHERE 1",
                       "f.folder_path", " GROUP BY f.folder_path")
    commit = conn.execute("SELECT value FROM meta WHERE key = 'base_commit'").fetchone()
    commit_len = len(commit[0]) if commit and commit[0] else -2  # "" is written as null
    by_folder = sizes.by_folder(r[0] for r in conn.execute("SELECT path FROM overlay"))
    out = []
    for job in jobs:
        path = job["path"]
        n, path_chars, executables, symlinks, submodules = files.get(path, (0, 0, 0, 0, 0))
        text = n - symlinks - submodules
        n_folders, folder_chars = subfolders.get(path, (0, 0))
        chars = _BASE + len(path) + len(job["source_hash"]) + commit_len
        chars += n_folders * _FOLDER_CHILD + folder_chars
        if n:
            names = path_chars - n * (len(path) + (path != paths.ROOT))
            kinds = 4 * n + 6 * executables + 3 * symlinks + 5 * submodules  # "file" ...
            chars += n * _FILE_CHILD + names + kinds
        if text:  # a summary and an excerpt (with the file's path) per text file
            chars += text * (SUMMARY_GUESS + _EXCERPT) + path_chars * text // n
            chars += _excerpts(by_folder.get(path), text, budget)
        has_context, context_chars, status = own.get(path, (0, 0, "pending"))
        if has_context:
            chars += _PREVIOUS + context_chars
        if status == "stale":
            n_changed, changed_chars = changed.get(path, (0, 0))
            chars += _WHY + len(path) + 2 * len(job["source_hash"])
            chars += n_changed * (_CHANGED + 2 * _HASH) + changed_chars
        chars += outlined.get(path, (0,))[0]
        out.append({**job, "files": n, "folders": n_folders,
                    "estimated_tokens": min(chars // 4, budget_tokens)})
    return out


def _excerpts(sizes: list[int] | None, text: int, budget: int) -> int:
    """The excerpt characters of a folder's request: each text file's first bytes, at most
    its share of ``budget``, for the map's ``text`` files."""
    share = min(HEAD_BYTES, excerpt_share(budget, text))
    if not sizes:  # the index knows none of them: count full shares
        return min(budget, text * share)
    total = sum(map(min, sizes, repeat(share)))
    if len(sizes) != text:  # excluded or changed files: scale to the map's count
        total = total * text // len(sizes)
    return min(budget, total)
