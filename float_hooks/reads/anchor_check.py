"""`float-hooks check --anchors`: the authored records whose anchored code a change touches.

A change is a commit range ``A..B`` (a pull request's base and head) or, by default, the index
against ``HEAD`` (what the next commit holds: the pre-commit hook). For each path the change
touches, the records citing it are found: a file anchor on that path, a folder anchor above it,
or a symbol anchor in it whose text differs between the two sides (the symbol's own hash, so an
edit elsewhere in the same file flags nothing). The work is the changed paths and the records
anchored at them (found through migration 9's anchor_index), never the repository nor every
anchored record.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from float_hooks import paths
from float_hooks.code.anchors import SEP, find
from float_hooks.code.cache import outlined, outlines
from float_hooks.errors import FloatError
from float_hooks.repo.git import Diff, Git, parse_raw_diff
from float_hooks.store.db import select_in

# record kind -> its anchored records still in force: key, what names it, anchors[, status]
_SOURCES = {
    "folder": ("path", "SELECT path, COALESCE(map_summary, context_what, path), anchors"
                       " FROM folders WHERE anchors IS NOT NULL"),
    "decision": ("uid", "SELECT uid, title, anchors, status FROM log_entries"
                        " WHERE anchors IS NOT NULL AND status != 'superseded'"),
    "question": ("uid", "SELECT uid, question, anchors FROM open_questions"
                        " WHERE anchors IS NOT NULL AND resolved_at IS NULL"),
    "reference": ("uid", "SELECT uid, COALESCE(context, source_id || ' -> ' || target_id),"
                         ' anchors FROM "references" WHERE anchors IS NOT NULL'),
}


def changes(git: Git, range_: str | None) -> tuple[str, list[Diff]]:
    """What the change is (said in the answer) and its paths, each with both sides."""
    if range_ is None:
        head = git.head()
        base = head or git.empty_tree()
        out = git.run("diff-index", "--cached", "-r", "-z", "--no-renames", base, check=False)
        return f"index against {'HEAD' if head else 'the empty tree'}", parse_raw_diff(out)
    old, sep, new = range_.partition("..")
    if not sep or not old or not new or new.startswith("."):
        raise FloatError(f"--range {range_}: write BASE..HEAD, e.g. origin/main..HEAD")
    a, b = git.resolve_commit(old), git.resolve_commit(new)
    if a is None or b is None:
        raise FloatError(f"--range {range_}: {old if a is None else new} is not a commit here")
    return f"{a[:12]}..{b[:12]}", parse_raw_diff(git.diff_trees(a, b))


def _anchored(conn: sqlite3.Connection, changed: Iterable[str]) -> list[dict[str, Any]]:
    """The records with an anchor on a changed path or a folder above one (migration 9's
    anchor_index: indexed lookups for the changed paths, not a pass over every record)."""
    wanted: set[str] = set()
    for p in changed:
        while p not in wanted:
            wanted.add(p)
            if p == paths.ROOT:
                break
            p = paths.parent(p)
    keys: dict[str, set[str]] = defaultdict(set)
    for kind, key in select_in(conn, "SELECT record_kind, record_key FROM anchor_index"
                                     " WHERE path IN ({})", wanted):
        keys[kind].add(key)
    out = []
    for kind, (column, sql) in _SOURCES.items():
        for row in select_in(conn, sql + f" AND {column} IN ({{}})", keys.get(kind, ())):
            try:
                anchors = json.loads(row[2])
            except ValueError:
                continue
            if isinstance(anchors, list):
                out.append({"kind": kind, "key": row[0], "text": row[1],
                            **({"status": row[3]} if kind == "decision" else {}),
                            "anchors": [a for a in anchors if isinstance(a, dict)]})
    return out


def _symbols(conn: sqlite3.Connection, git: Git, path: str, blob: str | None) -> list[Any]:
    if not blob or not outlined(path):
        return []
    got = outlines(conn, git, [(path, blob)]).by_path.get(path)
    return got.symbols if got else []


def check(conn: sqlite3.Connection, git: Git, range_: str | None) -> dict[str, Any]:
    """The records whose anchors the change touches, each with which anchors and how."""
    what, diffs = changes(git, range_)
    by_path = {d.path: d for d in diffs if not d.unmerged}
    records = _anchored(conn, by_path)
    hits: list[dict[str, Any]] = []
    for rec in records:
        touched = []
        for a in rec["anchors"]:
            found = _touch(conn, git, a, by_path)
            if found is not None:
                touched.append(found)
        if touched:
            hits.append({k: v for k, v in rec.items() if k != "anchors"}
                        | {"anchors": touched})
    return {"change": what, "changed_paths": len(by_path), "records_read": len(records),
            "records": hits}


def _touch(conn: sqlite3.Connection, git: Git, anchor: dict[str, Any],
           by_path: dict[str, Diff]) -> dict[str, Any] | None:
    text = str(anchor.get("anchor", ""))
    path, _, name = text.partition(SEP)
    kind = anchor.get("kind")
    if kind == "folder":
        below = _under(path, by_path)
        if not below:
            return None
        return {"anchor": text, "kind": kind, "change": "changed",
                "paths": sorted(below)[:20], "paths_total": len(below)}
    d = by_path.get(path)
    if d is None:
        return None
    old_blob = d.old[1] if d.old else None
    new_blob = d.new[1] if d.new else None
    if kind == "file":
        change = "deleted" if d.new is None else "added" if d.old is None else "changed"
        return {"anchor": text, "kind": kind, "change": change}
    old = find(_symbols(conn, git, path, old_blob), name)
    new = find(_symbols(conn, git, path, new_blob), name)
    if old is None and new is None:
        return None  # the range neither had nor made it
    if old is not None and new is not None and old.hash == new.hash:
        return None  # the file changed elsewhere: this symbol's text did not
    change = "deleted" if new is None else "added" if old is None else "changed"
    return {"anchor": text, "kind": kind, "change": change,
            "lines": [new.line, new.end_line] if new is not None else None}


def _under(folder: str, by_path: dict[str, Diff]) -> list[str]:
    if folder == paths.ROOT:
        return list(by_path)
    prefix = folder + "/"
    return [p for p in by_path if p.startswith(prefix)]


def table(result: dict[str, Any]) -> str:
    """A markdown table of the flagged records (the Action's job summary)."""
    rows = defaultdict(list)
    for r in result["records"]:
        for a in r["anchors"]:
            rows[(r["kind"], r["key"], r["text"])].append(f"`{a['anchor']}` {a['change']}")
    lines = ["| Record | What | Anchored code |", "|---|---|---|"]
    for (kind, key, text), anchors in rows.items():
        cell = str(text).replace("|", "\\|").replace("\n", " ")[:120]
        lines.append(f"| {kind} `{str(key)[:12]}` | {cell} | {'<br>'.join(anchors)} |")
    return "\n".join(lines) + "\n"
