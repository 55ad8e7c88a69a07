"""Authored records as plain dicts: the one place for their shape.

The export's front matter, the write journal and the conflicts table all carry the same
records, read from the DB by the functions here. A record's key travels between machines (a
folder's path, a decision's, question's or reference's uid); its **version** is a digest of its
content, and its **parents** are the versions it replaced (newest first, at most
:data:`MAX_PARENTS`). Two versions of one record are ordered when one names the other among its
parents; otherwise they are concurrent, and a merge keeps both (conflicts.py).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from typing import Any

from float_hooks.store.schema import AUTHORED_FOLDER_FIELDS

# Record kinds that have versions (one current version per key, conflicts possible).
VERSIONED = ("folder", "decision", "question", "reference")

# Columns of each record kind, in the order they are written; JSON columns travel decoded.
LOG_COLUMNS = ("uid", "date", "title", "status", "topic", "folder_path", "decision",
               "rationale", "before_state", "after_state", "files_changed", "future_agent",
               "supersedes", "superseded_by", "created_at", "updated_at", "anchors")
QUESTION_COLUMNS = ("uid", "question", "context", "folder_path", "resolved_by", "created_at",
                    "resolved_at", "updated_at", "anchors")
REFERENCE_COLUMNS = ("uid", "source_type", "source_id", "target_type", "target_id", "context",
                     "created_at", "updated_at", "anchors")
ARCHIVE_COLUMNS = ("uid", "path", "reason", "source_hash", "archived_at", "restored_to",
                   "restored_at")
FOLDER_JSON = ("map_children", "context_patterns", "anchors")
# The time that orders two concurrent versions (the later one is shown, the other kept).
STAMP = {"folder": "ai_updated", "decision": "updated_at", "question": "updated_at",
         "reference": "updated_at"}
TABLE = {"folder": "folders", "decision": "log_entries", "question": "open_questions",
         "reference": '"references"'}
KEY_COLUMN = {"folder": "path", "decision": "uid", "question": "uid", "reference": "uid"}

MAX_PARENTS = 32
_NOT_CONTENT = frozenset({"uid", "version", "parents"})
# A version's text: what json.dumps(body, sort_keys=True, ensure_ascii=False,
# separators=(",", ":"), default=str) writes, from one encoder built once (json.dumps builds
# one per call: 16 us -> 11 us a record, 7,500 of them twice in a first build with an export)
_VERSION_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                                 default=str)


# -- JSON columns ----------------------------------------------------------------------------
def load_json(text: str) -> Any:
    """A JSON column's value, or the text itself where it holds no JSON that decodes: text
    an import kept as is (any page's, so also text nested too deep to decode)."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text


def listed(value: Any) -> list[Any]:
    """A JSON list column's value as a reader shows it: the list, text an import kept as is
    as its one item, nothing for None."""
    return value if isinstance(value, list) else [] if value is None else [value]


def decode_json(text: Any) -> Any:
    """A JSON column as YAML will carry it: a decoded list, or the raw text if it is not one
    (so a value is never reinterpreted; import stores a list as JSON and text as is)."""
    if not isinstance(text, str):
        return text  # already decoded (a record read back from front matter)
    value = load_json(text)
    return value if isinstance(value, list) else text


def encode_json(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)


def parents_of(value: Any) -> list[str]:
    """A stored or travelling ``parents`` value as a list of version strings."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, str)][:MAX_PARENTS]


# -- versions --------------------------------------------------------------------------------
def version(record: dict[str, Any]) -> str:
    """The digest of a record's content (its key, version and parents left out): the same
    content gives the same version on every machine."""
    from hashlib import sha256  # lazy: off the hooks' path (their start-up cost)

    body = {k: v for k, v in record.items() if k not in _NOT_CONTENT and v is not None}
    text = _VERSION_JSON.encode(body)
    return sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def incoming_lineage(rec: dict[str, Any]) -> tuple[str, list[str]]:
    """(version, parents) of a record that arrived: its version is its content's digest; if
    the page declared another, the content was edited from that one, which becomes a parent."""
    computed = version(rec)
    parents = parents_of(rec.get("parents"))
    declared = rec.get("version")
    if isinstance(declared, str) and declared and declared != computed:
        parents = joined([declared], parents)
    return computed, parents


def lineage(rec: dict[str, Any]) -> set[str]:
    """The versions ``rec`` is known to have replaced or to be."""
    return {rec.get("version") or version(rec), *parents_of(rec.get("parents"))}


def joined(first: Iterable[str], *rest: Iterable[str]) -> list[str]:
    """Parent lists merged: ``first``'s order, then the others', no repeats, capped."""
    out: list[str] = []
    seen: set[str] = set()
    for group in (first, *rest):
        for v in group:
            if v and v not in seen:
                seen.add(v)
                out.append(v)
    return out[:MAX_PARENTS]


# -- reading records from the DB --------------------------------------------------------------
def _compact(row: dict[str, Any], columns: Iterable[str]) -> dict[str, Any]:
    out = {c: row[c] for c in columns if row.get(c) is not None}
    if "anchors" in out:  # authored anchors (code/anchors.py) travel as a decoded list
        out["anchors"] = decode_json(out["anchors"])
        if out["anchors"] == []:
            del out["anchors"]
    return out


def _with_lineage(out: dict[str, Any], row: dict[str, Any] | sqlite3.Row) -> dict[str, Any]:
    keys = row.keys()
    if "version" in keys and row["version"]:
        out["version"] = row["version"]
    parents = parents_of(row["parents"]) if "parents" in keys else []
    if parents:
        out["parents"] = parents
    return out


def folder_record(row: sqlite3.Row | dict[str, Any]) -> dict[str, Any]:
    """A folder's authored fields (None left out), JSON columns decoded."""
    out = {}
    keys = set(row.keys())
    for f in AUTHORED_FOLDER_FIELDS:
        value = row[f] if f in keys else None
        if value is not None:
            out[f] = decode_json(value) if f in FOLDER_JSON else value
    return _with_lineage(out, row)


def folder_columns(record: dict[str, Any]) -> dict[str, Any]:
    """The inverse of :func:`folder_record`: every authored column of the folders table, JSON
    columns encoded (None where the record has no value)."""
    return {f: encode_json(record.get(f)) if f in FOLDER_JSON else record.get(f)
            for f in AUTHORED_FOLDER_FIELDS}


def has_context(record: dict[str, Any]) -> bool:
    return any(k not in _NOT_CONTENT for k in record)


def log_record(conn: sqlite3.Connection, row: sqlite3.Row) -> dict[str, Any]:
    out = _compact(dict(row), LOG_COLUMNS)
    if "files_changed" in out:
        out["files_changed"] = decode_json(out["files_changed"])
        if out["files_changed"] == []:
            del out["files_changed"]
    tags = [t[0] for t in conn.execute(
        "SELECT t.name FROM tags t JOIN log_entry_tags lt ON lt.tag_id = t.id"
        " WHERE lt.log_entry_id = ? ORDER BY t.name", (row["id"],))]
    if tags:
        out["tags"] = tags
    return _with_lineage(out, row)


def log_records(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT * FROM log_entries ORDER BY date, created_at, uid").fetchall()
    return [log_record(conn, r) for r in rows]


def question_record(row: sqlite3.Row) -> dict[str, Any]:
    return _with_lineage(_compact(dict(row), QUESTION_COLUMNS), row)


def question_records(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    return [question_record(r) for r in conn.execute(
        "SELECT * FROM open_questions ORDER BY created_at, uid")]


def reference_record(row: sqlite3.Row) -> dict[str, Any]:
    return _with_lineage(_compact(dict(row), REFERENCE_COLUMNS), row)


def reference_records(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    return [reference_record(r) for r in conn.execute(
        'SELECT * FROM "references" ORDER BY created_at, uid')]


def archive_record(row: sqlite3.Row) -> dict[str, Any]:
    out = _compact(dict(row), ARCHIVE_COLUMNS)
    out["content"] = json.loads(row["content"])
    return out


def archive_records(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    return [archive_record(r) for r in conn.execute(
        "SELECT * FROM archived_folders ORDER BY path, archived_at, coalesce(uid, ''), content")]


def conflict_record(row: sqlite3.Row, portable: bool = False) -> dict[str, Any]:
    """A conflict; ``portable``: only what is the same on every machine that holds it (the
    export's; which side was here first, and when, is this DB's own story)."""
    out = {"uid": row["uid"], "kind": row["kind"], "key": row["key"],
           "version": row["version"], "record": json.loads(row["record"])}
    if not portable:
        out.update({"side": row["side"], **({"source": row["source"]} if row["source"] else {}),
                    "created_at": row["created_at"]})
    return out


def conflict_records(conn: sqlite3.Connection, portable: bool = False) -> list[dict[str, Any]]:
    return [conflict_record(r, portable) for r in conn.execute(
        "SELECT * FROM conflicts ORDER BY kind, key, version")]


def load(conn: sqlite3.Connection, kind: str, key: str) -> dict[str, Any] | None:
    """The current record of ``kind`` with ``key``, or None."""
    row = conn.execute(f"SELECT * FROM {TABLE[kind]} WHERE {KEY_COLUMN[kind]} = ?",
                       (key,)).fetchone()
    if row is None:
        return None
    if kind == "folder":
        return folder_record(row)
    if kind == "decision":
        return log_record(conn, row)
    if kind == "question":
        return question_record(row)
    return reference_record(row)


def conflict_uid(kind: str, key: str, version: str) -> str:
    """A kept-aside version's uid: the same on every machine that keeps it."""
    from hashlib import sha256  # lazy: initialises OpenSSL; the hooks rarely need it

    return sha256(f"{kind}\0{key}\0{version}".encode("utf-8", "surrogatepass")).hexdigest()[:16]


def new_uid() -> str:
    import uuid  # lazy: uuid and the hashlib it loads would slow every hook

    return uuid.uuid4().hex
