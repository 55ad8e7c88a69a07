"""The paper trail: decision log entries (with tags), open questions and references.
Aggregations by month, year, status, tag or folder are queries, not files."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from typing import Any

from float_hooks.errors import FloatError, NotFound, quoted
from float_hooks.store import limits
from float_hooks.store.db import Store, now
from float_hooks.store.record_format import new_uid

LOG_FIELDS = ("title", "decision", "rationale", "before_state", "after_state", "future_agent",
              "topic", "status", "date", "folder_path", "supersedes")
REF_TYPES = ("folder", "file", "log", "question", "url", "commit")


def _row(r: sqlite3.Row) -> dict[str, Any]:
    out = {k: r[k] for k in r.keys()}  # noqa: SIM118 - sqlite3.Row is not a mapping
    if "anchors" in out:
        out["anchors"] = json.loads(out["anchors"] or "[]")
    return out


def _anchors(anchors: list[dict[str, str]] | None) -> str | None:
    """Resolved anchors (code/anchors.py) as the column holds them; None for none."""
    return json.dumps(anchors) if anchors else None


def add_log(store: Store, fields: dict[str, Any], tags: list[str],
            files_changed: list[str],
            anchors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    limits.check({**fields, "tags": tags, "files_changed": files_changed})
    if not fields.get("title"):
        raise FloatError("a decision needs a --title")
    date = fields.get("date") or dt.date.today().isoformat()
    try:
        dt.date.fromisoformat(date)
    except ValueError as e:
        raise FloatError(f"--date must be YYYY-MM-DD, not {quoted(date)}") from e
    stamp = now()
    values = {k: fields.get(k) for k in LOG_FIELDS}
    values["date"] = date
    values["status"] = values["status"] or "accepted"
    with store.write() as conn:
        uid = fields.get("uid") or new_uid()
        cur = conn.execute(
            "INSERT INTO log_entries(uid, " + ", ".join(values) + ", files_changed, anchors,"
            " created_at, updated_at) VALUES (?, " + ", ".join("?" * len(values))
            + ", ?, ?, ?, ?)",
            (uid, *values.values(), json.dumps(files_changed), _anchors(anchors), stamp, stamp),
        )
        entry_id = cur.lastrowid
        for tag in tags:
            conn.execute("INSERT OR IGNORE INTO tags(name) VALUES (?)", (tag,))
            conn.execute(
                "INSERT OR IGNORE INTO log_entry_tags SELECT ?, id FROM tags WHERE name = ?",
                (entry_id, tag),
            )
        if values["supersedes"]:
            n = conn.execute(
                "UPDATE log_entries SET superseded_by = ?, status = 'superseded', updated_at = ?"
                " WHERE uid = ?", (uid, stamp, values["supersedes"])).rowcount
            if n == 0:
                raise NotFound(f"--supersedes {values['supersedes']}: no such decision uid")
        return get_log(conn, uid)


def get_log(conn: sqlite3.Connection, uid: str) -> dict[str, Any]:
    r = conn.execute("SELECT * FROM log_entries WHERE uid = ?", (uid,)).fetchone()
    if r is None:
        raise NotFound(f"no decision with uid {uid}")
    return _log_json(conn, r)


def _log_json(conn: sqlite3.Connection, r: sqlite3.Row) -> dict[str, Any]:
    out = _row(r)
    out["files_changed"] = json.loads(out["files_changed"] or "[]")
    out["tags"] = [t[0] for t in conn.execute(
        "SELECT t.name FROM tags t JOIN log_entry_tags lt ON lt.tag_id = t.id"
        " WHERE lt.log_entry_id = ? ORDER BY t.name", (r["id"],))]
    return out


def list_logs(conn: sqlite3.Connection, *, month: str | None = None, year: str | None = None,
              status: str | None = None, tag: str | None = None,
              folder: str | None = None, newest: int = -1) -> list[dict[str, Any]]:
    """Decisions oldest first; ``newest``: only the last that many (-1: all)."""
    where, args = [], []
    if month:
        where.append("substr(date, 1, 7) = ?")
        args.append(month)
    if year:
        where.append("substr(date, 1, 4) = ?")
        args.append(year)
    if status:
        where.append("status = ?")
        args.append(status)
    if folder:
        where.append("folder_path = ?")
        args.append(folder)
    if tag:
        where.append("id IN (SELECT lt.log_entry_id FROM log_entry_tags lt JOIN tags t"
                     " ON t.id = lt.tag_id WHERE t.name = ?)")
        args.append(tag)
    sql = "SELECT * FROM log_entries"
    if where:
        sql += " WHERE " + " AND ".join(where)
    if newest >= 0:
        sql = f"SELECT * FROM ({sql} ORDER BY date DESC, id DESC LIMIT {int(newest)})"
    rows = conn.execute(sql + " ORDER BY date, id", args).fetchall()
    return [_log_json(conn, r) for r in rows]


def add_question(store: Store, question: str, context: str | None,
                 folder: str | None,
                 anchors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    limits.check({"question": question, "context": context})
    stamp = now()
    with store.write() as conn:
        uid = new_uid()
        conn.execute(
            "INSERT INTO open_questions(uid, question, context, folder_path, anchors,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (uid, question, context, folder, _anchors(anchors), stamp, stamp))
        return _row(conn.execute("SELECT * FROM open_questions WHERE uid = ?",
                                 (uid,)).fetchone())


def resolve_question(store: Store, key: str, resolved_by: str) -> dict[str, Any]:
    """Resolve by id or uid; ``resolved_by`` says how (a decision uid, a commit, a sentence)."""
    limits.check({"resolved_by": resolved_by})
    stamp = now()
    with store.write() as conn:
        r = conn.execute("SELECT * FROM open_questions WHERE uid = ? OR CAST(id AS TEXT) = ?",
                         (key, key)).fetchone()
        if r is None:
            raise NotFound(f"no open question {key}")
        conn.execute("UPDATE open_questions SET resolved_by = ?, resolved_at = ?, updated_at = ?"
                     " WHERE id = ?", (resolved_by, stamp, stamp, r["id"]))
        return _row(conn.execute("SELECT * FROM open_questions WHERE id = ?",
                                 (r["id"],)).fetchone())


def list_questions(conn: sqlite3.Connection, *, folder: str | None = None,
                   include_resolved: bool = False, newest: int = -1) -> list[dict[str, Any]]:
    """Questions oldest first; ``newest``: only the last that many (-1: all)."""
    where, args = [], []
    if not include_resolved:
        where.append("resolved_at IS NULL")
    if folder:
        where.append("folder_path = ?")
        args.append(folder)
    sql = "SELECT * FROM open_questions" + (" WHERE " + " AND ".join(where) if where else "")
    if newest >= 0:
        sql = f"SELECT * FROM ({sql} ORDER BY id DESC LIMIT {int(newest)})"
    return [_row(r) for r in conn.execute(sql + " ORDER BY id", args)]


def add_ref(store: Store, source_type: str, source_id: str, target_type: str, target_id: str,
            context: str | None,
            anchors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    for t in (source_type, target_type):
        if t not in REF_TYPES:
            raise FloatError(f"reference type {quoted(t)}: use one of {', '.join(REF_TYPES)}")
    limits.check({"source_id": source_id, "target_id": target_id, "context": context})
    stamp = now()
    with store.write() as conn:
        uid = new_uid()
        conn.execute(
            'INSERT INTO "references"(uid, source_type, source_id, target_type, target_id,'
            " context, anchors, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (uid, source_type, source_id, target_type, target_id, context, _anchors(anchors),
             stamp, stamp))
        return _row(conn.execute('SELECT * FROM "references" WHERE uid = ?', (uid,)).fetchone())


def list_refs(conn: sqlite3.Connection, *, about: str | None = None) -> list[dict[str, Any]]:
    sql = 'SELECT * FROM "references"'
    args: list[str] = []
    if about:
        sql += " WHERE source_id = ? OR target_id = ?"
        args = [about, about]
    return [_row(r) for r in conn.execute(sql + " ORDER BY id", args)]
