"""What a regenerator is given and what it must give back.

The request for one folder is read from the DB (its files and child folders at the synced
snapshot, its previous context, ``why`` it is stale, the outlines of its code files, cached by
blob id) and from git (the first bytes of each file, by blob id, through libgit2; files that
exist only in the work tree are read from disk; binary files detected and skipped). A code
file is read whole (up to 1 MiB) only when its blob was never outlined, and a changed file's
two versions for its diff. budget.py assembles it within one budget.
The answer is validated before anything is written, so a bad answer never replaces context.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from float_hooks import paths
from float_hooks.code.anchors import Evaluator
from float_hooks.code.cache import CODE_MODES, outlines, read_source
from float_hooks.code.parse import Outline
from float_hooks.errors import quoted
from float_hooks.reads.stale import why
from float_hooks.regen.budget import assemble
from float_hooks.repo.git import Git
from float_hooks.repo.odb import odb
from float_hooks.store import record_format
from float_hooks.store.folder_context import JSON_FIELDS, WRITABLE_FIELDS, HashMismatch, get_folder

DEFAULT_BUDGET_TOKENS = 8000  # the config's [regenerate] request_tokens
MIN_BUDGET_TOKENS = 1000  # below this a request could not even list a folder's children
MAX_ANCHORS = 50  # anchors a request lists, and an answer may give
MAX_DIFFS = 20  # changed files whose diff a request carries (the budget may cut more)
DIFF_SOURCE_MAX = 256 * 1024  # larger blobs get no diff
HEAD_BYTES = 8192  # read from each file: enough for a heading, a docstring, a manifest
BATCH_MAX = 256 * 1024  # larger blobs are streamed by a process we stop early
KINDS = {"100644": "file", "100755": "executable", "120000": "symlink", "160000": "submodule"}

INSTRUCTIONS = """\
You write the context of one folder of a git repository for an AI-readable map.
The request is JSON: the folder's path; "outlines": each code file's definitions (line,
signature, first doc sentence; the most important files and symbols first); what changed
since the context was written ("changed_since", with the diff of each changed file); its
children (files with a first line, child folders with their summaries); excerpts of the files
the outlines do not describe; its previous context; and "left_out": what did not fit in the
request's budget. Say what the code does, naming its main types and functions.
Answer with ONE JSON object and nothing else, with these keys:
  "map_summary": one line (under 120 characters) saying what the folder is for,
  "map_children": [{"name": ..., "summary": ...}, ...] one entry per child,
  "context_what": a short paragraph: what is in the folder and how it fits together,
  "context_why": a short paragraph: why it exists, decisions a newcomer should know,
  "context_patterns": ["conventions or patterns to follow here", ...],
  "anchors" (optional): ["/path/file.py::Symbol", "/path/file.py", ...] the code your
  claims rest on (the previous context's anchors say which of them changed).
Keep what is still true in the previous context; change what the changes made wrong."""


class RegenError(Exception):
    """A job failed (the regenerator's message is kept as the job's last error)."""


@dataclass
class FileHead:
    path: str
    name: str
    kind: str
    size: int | None
    binary: bool
    head: bytes  # the first HEAD_BYTES of the content ("" for binary files and submodules)

    @property
    def text(self) -> str:
        return self.head.decode("utf-8", "replace")


@dataclass
class Request:
    path: str
    source_hash: str
    snapshot: str | None  # the commit the synced snapshot is based on
    folders: list[dict[str, Any]]  # child folders: name, path, status, map_summary
    files: list[FileHead]
    previous: dict[str, Any] | None  # the context written before, if any
    changed: dict[str, Any] | None  # `why` output when the folder is stale
    input_budget: int = 24000
    extra: dict[str, Any] = field(default_factory=dict)
    outlines: dict[str, Outline] = field(default_factory=dict)  # code files' outlines
    diffs: dict[str, str] = field(default_factory=dict)  # changed file -> unified diff
    budget_tokens: int = DEFAULT_BUDGET_TOKENS

    instructions = INSTRUCTIONS
    priority = staticmethod(lambda name: _priority(name))

    def as_json(self) -> dict[str, Any]:
        """The request as sent to a command, an HTTP endpoint or an agent (``next_job``):
        every part within ``budget_tokens`` (budget.py), saying what it left out."""
        return assemble(self)

    def estimate_tokens(self) -> int:
        return len(json.dumps(self.as_json())) // 4


def _priority(name: str) -> int:
    low = name.lower()
    if low.startswith("readme"):
        return 0
    if low in MANIFESTS or low == "__init__.py":
        return 1
    return 2


MANIFESTS = ("pyproject.toml", "package.json", "cargo.toml", "go.mod", "setup.cfg")


# -- reading the folder ----------------------------------------------------------------------
def build_request(git: Git, conn: Any, path: str, expected_hash: str,
                  input_budget: int, budget_tokens: int = DEFAULT_BUDGET_TOKENS) -> Request:
    """The request for ``path`` as the DB holds it now: with the outlines of its code files
    (cached by blob id, parsed only when new) and the diffs of its changed files. Raises
    ``HashMismatch`` when the folder's hash is no longer ``expected_hash`` (a sync ran since
    the job was taken)."""
    conn.execute("BEGIN")  # one consistent read of the folder, its files and children
    try:
        row = get_folder(conn, path)
        if row["source_hash"] != expected_hash:
            raise HashMismatch(f"{path}: changed since the job was taken")
        folders = [dict(r) for r in conn.execute(
            "SELECT name, path, status, map_summary FROM folders WHERE parent_path = ?"
            " ORDER BY name", (path,))]
        entries = [(r[0], r[1], r[2]) for r in conn.execute(
            "SELECT path, mode, content_hash FROM files WHERE folder_path = ? ORDER BY path",
            (path,))]
        previous = None
        if row["context_hash"] is not None:
            previous = {k: row[k] for k in (*WRITABLE_FIELDS, "ai_model", "ai_updated",
                                            "context_commit")}
            for f in JSON_FIELDS:
                if previous.get(f) is not None:
                    previous[f] = record_format.load_json(previous[f])
        changed = why(conn, path) if row["status"] == "stale" else None
        snapshot = conn.execute("SELECT value FROM meta WHERE key = 'base_commit'").fetchone()
    finally:
        conn.execute("COMMIT")
    if previous is not None and row["anchors"]:
        # which claims' code changed: the previous context's anchors with their states now
        states = Evaluator(conn, git).states(json.loads(row["anchors"])[:MAX_ANCHORS])
        previous["anchors"] = [{k: v for k, v in a.items() if k != "kind"} for a in states]
    files = read_heads(git, entries)
    code = outlines(conn, git, [(p, o) for p, m, o in entries if m in CODE_MODES])
    return Request(path, expected_hash, (snapshot[0] or None) if snapshot else None, folders,
                   files, previous, changed, input_budget, outlines=code.by_path,
                   diffs=diffs(git, changed), budget_tokens=budget_tokens)


def budgets(cfg: dict[str, Any]) -> tuple[int, int]:
    """(input_budget, budget_tokens) from the ``[regenerate]`` settings."""
    return int(cfg["input_budget"]), max(MIN_BUDGET_TOKENS, int(cfg["request_tokens"]))


def diffs(git: Git, changed: dict[str, Any] | None) -> dict[str, str]:
    """The unified diff of each file of the folder itself modified since its context was
    written (at most MAX_DIFFS; text files under DIFF_SOURCE_MAX only)."""
    out: dict[str, str] = {}
    for entry in (changed or {}).get("changed_files", []):
        if len(out) >= MAX_DIFFS:
            break
        if entry.get("via") is not None or entry.get("change") != "modified":
            continue
        old = read_source(git, entry["path"], entry["old_hash"], work_tree=False)
        new = read_source(git, entry["path"], entry["new_hash"])
        if not old or not new or max(len(old), len(new)) > DIFF_SOURCE_MAX \
                or b"\0" in old[:8000] or b"\0" in new[:8000]:
            continue
        lines = difflib.unified_diff(old.decode("utf-8", "replace").splitlines(),
                                     new.decode("utf-8", "replace").splitlines(),
                                     "a" + entry["path"], "b" + entry["path"], n=2,
                                     lineterm="")
        out[entry["path"]] = "\n".join(lines)
    return out


def read_heads(git: Git, entries: list[tuple[str, str, str]]) -> list[FileHead]:
    """The first bytes of each (path, mode, blob id), through libgit2: the object header gives
    the size without inflating the blob; small blobs are read, big ones streamed from a
    ``git cat-file blob`` we stop after HEAD_BYTES; blobs git does not have (untracked or
    unstaged files of a work-tree sync) come from the work tree. Much faster than two
    ``cat-file --batch`` processes per folder (docs/performance.md)."""
    objects = odb(git)
    result = []
    for p, m, o in entries:
        kind = KINDS.get(m, "file")
        if m == "160000":
            result.append(FileHead(p, paths.name(p), kind, None, False, b""))
            continue
        size: int | None
        try:
            size = int(objects.read_header(o)[1])
        except (KeyError, ValueError):  # not in the object DB (NotFoundError is a KeyError)
            size = None
        if size is None:
            size, head = _from_work_tree(git, p)
        elif size <= BATCH_MAX:
            head = bytes(objects.read(o)[1][:HEAD_BYTES])
        else:
            head = git.read_blob_head(o, HEAD_BYTES)
        binary = b"\0" in head[:8000]  # git's own test for binary content
        result.append(FileHead(p, paths.name(p), kind, size, binary, b"" if binary else head))
    return result


def _from_work_tree(git: Git, path: str) -> tuple[int | None, bytes]:
    if git.work_tree is None:
        return None, b""
    target = Path(os.fsdecode(git.work_tree)) / paths.to_git(path)
    try:
        with open(target, "rb") as f:
            return os.fstat(f.fileno()).st_size, f.read(HEAD_BYTES)
    except OSError:
        return None, b""


# -- the answer ------------------------------------------------------------------------------
def parse_answer(text: str) -> dict[str, Any]:
    """Context fields from a regenerator's text answer, or RegenError. Accepts a bare JSON
    object, one inside a ```json fence, or an agent CLI's envelope ``{"result": "..."}``."""
    obj = _json_object(text)
    if isinstance(obj.get("result"), str) and not set(obj) & set(WRITABLE_FIELDS):
        obj = _json_object(obj["result"])
    return validate(obj)


def _json_object(text: str) -> dict[str, Any]:
    s = text.strip()
    fence = re.search(r"```(?:json)?\s*(\{.*\})\s*```", s, re.S)
    if fence:
        s = fence.group(1)
    elif not s.startswith("{") and "{" in s:
        s = s[s.index("{") : s.rindex("}") + 1]
    try:
        obj = json.loads(s)
    except json.JSONDecodeError as e:
        raise RegenError(f"answer is not valid JSON ({e}): {quoted(text, 200)}") from e
    if not isinstance(obj, dict):
        raise RegenError(f"answer is JSON but not an object: {quoted(text, 200)}")
    return obj


def validate(obj: dict[str, Any]) -> dict[str, Any]:
    """Keep the known fields with the right types; a null leaves the old value in place; an
    answer without a non-empty map_summary is refused (it would replace context with less)."""
    fields: dict[str, Any] = {}
    for key in WRITABLE_FIELDS:
        value = obj.get(key)
        if value is None:
            continue
        if key in JSON_FIELDS:
            if not isinstance(value, list):
                raise RegenError(f"answer field {key} must be a JSON array")
        elif not isinstance(value, str):
            raise RegenError(f"answer field {key} must be a string")
        fields[key] = value
    anchors = obj.get("anchors")
    if anchors is not None:  # pinned (and the ones that name nothing dropped) by run.py
        if not isinstance(anchors, list) or not all(isinstance(a, str) for a in anchors):
            raise RegenError("answer field anchors must be a JSON array of strings")
        fields["anchors"] = anchors[:MAX_ANCHORS]
    if not str(fields.get("map_summary", "")).strip():
        raise RegenError("answer has no map_summary; nothing written")
    return fields
