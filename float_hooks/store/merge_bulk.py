"""Folder records merged in bulk: a few set-based statements over a staging table instead of
five statements per folder (docs/performance.md, "Figures behind the code").

Only the records whose outcome merge.py's rule fixes without looking at any other record are
taken here: context for a folder that exists and holds none (the rule: the incoming record is
added, with its version), the only record for its path, whose uid no other folder holds and
no other record carries, on a folder whose own uid no other record carries (a record for a
missing folder looks folders up by uid). Written one by one, such records would give the same
rows in any order; everything else (a conflict, a folder to archive, two records for one
folder, a uid that moves) goes through ``Merger.folder`` one by one, afterwards, exactly as
before. tests/test_merge_bulk.py compares the two paths on the same records.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from typing import TYPE_CHECKING, Any

from float_hooks.store import record_format
from float_hooks.store.carry import HISTORY_GAP
from float_hooks.store.db import now
from float_hooks.store.schema import AUTHORED_FOLDER_FIELDS

if TYPE_CHECKING:
    from float_hooks.store.merge import Counts

# below this many records the staging table is not worth it (a commit's few pages)
BULK_MIN = 16
_COLUMNS = (*AUTHORED_FOLDER_FIELDS, "version", "parents")
_CONTENT = tuple(f for f in AUTHORED_FOLDER_FIELDS if f != "uid")


def folders_in_bulk(conn: sqlite3.Connection, recs: list[dict[str, Any]], *, durable: bool,
                    counts: Counts) -> list[dict[str, Any]]:
    """Merge the records of ``recs`` that can be merged in bulk; the others, in their order,
    for ``Merger.folder``."""
    if len(recs) < BULK_MIN:
        return recs
    incoming = []
    for rec in recs:
        fields = {f: rec[f] for f in _COLUMNS if rec.get(f) is not None}
        if record_format.has_context(fields):  # (others: Merger.folder does nothing)
            incoming.append((rec, fields))
    paths = Counter(rec["path"] for rec, _ in incoming)
    uids = Counter(fields["uid"] for _, fields in incoming if fields.get("uid"))
    local: dict[str, tuple[Any, bool]] = {}  # path: (uid, holds context)
    holder: dict[Any, str] = {}
    empty = " AND ".join(f"{f} IS NULL" for f in _CONTENT)
    for path, uid, is_empty in conn.execute(f"SELECT path, uid, {empty} FROM folders"):
        local[path] = (uid, not is_empty)
        if uid:
            holder[uid] = path
    rows: list[tuple[Any, ...]] = []
    rest: list[dict[str, Any]] = []
    for rec, fields in incoming:
        path, uid = rec["path"], fields.get("uid")
        mine, has_context = local.get(path, (None, True))
        if path not in local or has_context or paths[path] > 1 \
                or (uid and (uids[uid] > 1 or holder.get(uid, path) != path)) \
                or (mine and mine != uid and mine in uids):
            rest.append(rec)
            continue
        rows.append(_staged(path, fields, mine))
    if rows:
        _write(conn, rows, durable)
        counts.added += len(rows)
    return rest


def _staged(path: str, fields: dict[str, Any], mine: Any) -> tuple[Any, ...]:
    """What Merger.folder writes for ``fields`` on a folder without context (merge.py's
    _settle and write_folder), as a staging row."""
    version, parents = record_format.incoming_lineage(fields)
    chosen = {k: v for k, v in fields.items() if k not in ("version", "parents")}
    values = record_format.folder_columns(chosen)
    if not values["uid"]:
        values["uid"] = mine or record_format.new_uid()
    values["version"] = version
    values["parents"] = json.dumps(parents) if parents else None
    content = json.dumps({f: values[f] for f in AUTHORED_FOLDER_FIELDS}) \
        if values["context_hash"] else None
    return (path, *(values[c] for c in _COLUMNS), content)


def _write(conn: sqlite3.Connection, rows: list[tuple[Any, ...]], durable: bool) -> None:
    stamp = now()
    cols = ", ".join(_COLUMNS)
    conn.execute(f"CREATE TEMP TABLE merge_stage(path TEXT PRIMARY KEY, {cols}, content)")
    try:
        conn.executemany(f"INSERT INTO merge_stage VALUES ({', '.join('?' * (len(_COLUMNS) + 2))})",
                         rows)
        staged = "SELECT path FROM merge_stage"
        conn.execute(f"UPDATE folders SET ({cols}, updated_at) = (SELECT {cols}, ? FROM"
                     f" merge_stage s WHERE s.path = folders.path) WHERE path IN ({staged})",
                     (stamp,))
        # carry.restart_history, for each
        conn.execute(f"DELETE FROM changed_since WHERE folder_path IN ({staged})")
        conn.execute("INSERT INTO changed_since(folder_path, file_path) SELECT f.path, ? FROM"
                     " merge_stage s JOIN folders f ON f.path = s.path"
                     " WHERE f.context_hash IS NOT f.source_hash", (HISTORY_GAP,))
        conn.execute("INSERT OR REPLACE INTO context_versions(folder_path, source_hash, content,"
                     " created_at) SELECT path, context_hash, content, ? FROM merge_stage"
                     " WHERE content IS NOT NULL", (stamp,))
        if durable:  # Merger._written
            conn.execute(f"DELETE FROM journal_pending WHERE kind = 'folder' AND key IN"
                         f" ({staged})")
    finally:
        conn.execute("DROP TABLE temp.merge_stage")
