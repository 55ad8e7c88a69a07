"""Anchor states on the answers about the map (`show`, `why`, `brief`, `search`, the MCP
tools): each anchored record carries ``anchor_states`` (every anchor, with its state) and
``anchors_flagged`` (those ``changed`` or ``gone``). States are derived when read
(code/anchors.py), for the records an answer shows: never on the hooks' path."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from float_hooks.code.anchors import Evaluator, flagged, summary
from float_hooks.repo.git import Git

DERIVED = "on read"  # when anchor states are worked out (said in every answer that has them)


def annotate(ev: Evaluator, record: dict[str, Any]) -> dict[str, Any]:
    """``record`` (with its ``anchors`` decoded) plus its anchors' states, in place."""
    anchors = record.get("anchors")
    if isinstance(anchors, str):
        try:
            anchors = json.loads(anchors)
        except ValueError:
            anchors = None
    states = ev.states(anchors) if anchors else []
    if states:
        record["anchor_states"] = states
        record["anchors_flagged"] = flagged(states)
        record["anchor_states_derived"] = DERIVED
    return record


def annotate_all(ev: Evaluator, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for r in records:
        annotate(ev, r)
    return records


def signal(status: str | None, states: list[dict[str, Any]]) -> str | None:
    """One sentence beside a folder's status, from its context's anchors."""
    if not states:
        return None
    counts = summary(states)
    if counts.get("ok", 0) == len(states):
        if status == "stale":
            return (f"all {len(states)} anchors of this context are ok: files changed, but not"
                    " the code it cites; the context may still hold")
        return f"all {len(states)} anchors of this context are ok"
    parts = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    return f"anchors of this context: {parts}"


def folder_document(ev: Evaluator, doc: dict[str, Any]) -> dict[str, Any]:
    """A folder document (reads/show.py) with the states of its context's anchors and of
    its decisions', questions' and references' anchors."""
    annotate(ev, doc)
    doc["anchor_signal"] = signal(doc.get("status"), doc.get("anchor_states") or [])
    for key in ("decisions", "questions", "references"):
        annotate_all(ev, doc.get(key) or [])
    return doc


def why(ev: Evaluator, conn: sqlite3.Connection, info: dict[str, Any]) -> dict[str, Any]:
    """`why` of a folder (reads/stale.py) plus its context's anchors (a changed symbol with
    its bounded diff) and the folder's decisions and questions whose anchors changed."""
    row = conn.execute("SELECT anchors FROM folders WHERE path = ?", (info["path"],)).fetchone()
    anchors = json.loads(row[0]) if row and row[0] else []
    states = ev.states(anchors)
    for state, anchor in zip(states, [a for a in anchors if isinstance(a, dict)], strict=True):
        if state["state"] == "changed" and anchor.get("kind") == "symbol":
            state["diff"] = ev.diff(anchor)
    info["anchor_states"] = states
    info["anchor_signal"] = signal(info.get("status"), states)
    info["anchored_records"] = flagged_records(ev, conn, info["path"])
    info["anchor_states_derived"] = DERIVED
    return info


def flagged_records(ev: Evaluator, conn: sqlite3.Connection,
                    folder: str) -> list[dict[str, Any]]:
    """The decisions and open questions about the folder or anchored in it whose anchors
    are changed or gone (those anchored in it found through migration 9's anchor_index)."""
    out = []
    inside = ("{key} IN (SELECT record_key FROM anchor_index WHERE record_kind = '{kind}'"
              " AND (:p = '/' OR path = :p OR (path > :p || '/' AND path < :p || '0')))")
    for kind, sql in (
            ("decision", "SELECT uid, title AS text, status, anchors FROM log_entries"
                         " WHERE anchors IS NOT NULL AND (folder_path = :p OR "
                         + inside.format(key="uid", kind="decision") + ")"
                         " ORDER BY date, id"),
            ("question", "SELECT uid, question AS text, NULL AS status, anchors"
                         " FROM open_questions WHERE anchors IS NOT NULL"
                         " AND resolved_at IS NULL AND (folder_path = :p OR "
                         + inside.format(key="uid", kind="question") + ")"
                         " ORDER BY id")):
        for r in conn.execute(sql, {"p": folder}):
            anchors = [a for a in json.loads(r[3]) if isinstance(a, dict)]
            states = ev.states(anchors)
            bad = []
            for state, anchor in zip(states, anchors, strict=True):
                if state["state"] in ("changed", "gone"):
                    if state["state"] == "changed" and anchor.get("kind") == "symbol":
                        state["diff"] = ev.diff(anchor)
                    bad.append(state)
            if bad:
                out.append({"kind": kind, "uid": r[0], "text": r[1], "status": r[2],
                            "anchors_flagged": bad})
    return out


_HIT_TABLES = {"folder": ("folders", "path"), "decision": ("log_entries", "uid"),
               "question": ("open_questions", "uid")}


def search_hits(ev: Evaluator, conn: sqlite3.Connection,
                hits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Search hits (reads/search.py) with the states of the anchors of what each names."""
    for h in hits:
        table, key = _HIT_TABLES.get(h.get("kind", ""), (None, None))
        if table is None:
            continue
        row = conn.execute(f"SELECT anchors FROM {table} WHERE {key} = ?",
                           (h["id"],)).fetchone()
        if row and row[0]:
            found = annotate(ev, {"anchors": row[0]})
            h.update({k: v for k, v in found.items() if k != "anchors"})
    return hits


def evaluator(conn: sqlite3.Connection, git: Git | None) -> Evaluator:
    return Evaluator(conn, git)
