"""Merging records that arrive from elsewhere (export pages, the write journal) into the DB.

Nothing is deleted and nothing is lost. Records match by a key that travels (a folder's path or
uid, a decision's, question's or reference's uid; an archived folder's uid, path and time).
For each match the two versions are compared by lineage (record_format.py):

* the same version: nothing to do (the parent lists are joined, the smaller uid kept);
* one names the other among its parents: the later one is kept, the earlier was replaced on
  purpose somewhere;
* neither names the other (two people wrote the same folder's context), or each names the
  other (one conflict settled two ways in two places): both are kept. The one with the later
  time (ties: the greater version) is shown; the other goes to ``conflicts``, marked
  ``local`` or ``incoming``, until `float-hooks conflicts resolve` or a `set` settles it.
  So merging two diverged exports keeps every version of both, in either order, with the
  same records shown and the same versions kept aside.

A merge of records whose source is durable (the committed export, the journal itself) does not
journal them again; every other change it makes (a conflict, a local side kept) is journaled.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass, field
from typing import Any

from float_hooks.store import record_format
from float_hooks.store.carry import IMPORTED, restart_history
from float_hooks.store.db import now
from float_hooks.store.merge_bulk import folders_in_bulk
from float_hooks.store.record_format import incoming_lineage as incoming_lineage
from float_hooks.store.record_format import new_uid
from float_hooks.store.schema import AUTHORED_FOLDER_FIELDS


@dataclass
class ExportData:
    """The records of an export (or of a journal), by kind."""

    folders: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    questions: list[dict[str, Any]] = field(default_factory=list)
    references: list[dict[str, Any]] = field(default_factory=list)
    archived: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return sum(len(v) for v in asdict(self).values())


@dataclass
class Counts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    archived: int = 0
    conflicts: int = 0


@dataclass
class ImportResult:
    folders: Counts = field(default_factory=Counts)
    decisions: Counts = field(default_factory=Counts)
    questions: Counts = field(default_factory=Counts)
    references: Counts = field(default_factory=Counts)
    archived: Counts = field(default_factory=Counts)
    errors: list[str] = field(default_factory=list)  # one line per page that was skipped

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def conflicts(self) -> int:
        return sum(c.conflicts for c in (self.folders, self.decisions, self.questions,
                                         self.references))

    def summary(self) -> str:
        parts = []
        for name, c in asdict(self).items():
            if name == "errors":
                continue
            n = c["added"] + c["updated"]
            if n or c["archived"] or c["conflicts"]:
                parts.append(f"{name}: {c['added']} added, {c['updated']} updated"
                             + (f", {c['archived']} archived" if c["archived"] else "")
                             + (f", {c['conflicts']} in conflict" if c["conflicts"] else ""))
        return "; ".join(parts) or "nothing new"


class Merger:
    """Merges records into the open write transaction ``conn``."""

    def __init__(self, conn: sqlite3.Connection, *, durable: bool, source: str | None = None):
        self.conn = conn
        self.durable = durable
        self.source = source
        self.result = ImportResult()

    def merge(self, data: ExportData) -> ImportResult:
        # most folders of a first build are new context for a folder without any: in bulk,
        # where the order of the records cannot matter (merge_bulk.py); the rest one by one
        for rec in folders_in_bulk(self.conn, data.folders, durable=self.durable,
                                   counts=self.result.folders):
            self.folder(rec)
        for rec in data.archived:
            self.archived(rec)
        for rec in data.decisions:
            self.versioned("decision", rec, self.result.decisions)
        for rec in data.questions:
            self.versioned("question", rec, self.result.questions)
        for rec in data.references:
            self.versioned("reference", rec, self.result.references)
        for rec in data.conflicts:
            self.conflict(rec)
        return self.result

    # -- the shared rule --------------------------------------------------------------------
    def _settle(self, kind: str, key: str, local: dict[str, Any] | None,
                incoming: dict[str, Any], counts: Counts) -> dict[str, Any] | None:
        """The record to write for ``key`` (None: keep what is there), recording a conflict
        when the two are concurrent."""
        iv, iparents = incoming_lineage(incoming)
        incoming = {k: v for k, v in incoming.items() if k not in ("version", "parents")}
        incoming["version"] = iv
        if iparents:
            incoming["parents"] = iparents
        if local is None or not record_format.has_context(local):
            counts.added += 1
            return incoming
        lv = local.get("version") or record_format.version(local)
        lparents = record_format.parents_of(local.get("parents"))
        if lv == iv:
            both = record_format.joined(lparents, iparents)
            # the same content written twice (two uids for one folder): the smaller uid is
            # kept, so the outcome does not depend on which side arrived first
            uid = min(filter(None, (local.get("uid"), incoming.get("uid"))), default=None)
            if both != lparents or uid != local.get("uid"):
                self._drop_settled(kind, key, {lv, *both})
                counts.updated += 1
                return {**local, "uid": uid, "version": lv, "parents": both}
            counts.unchanged += 1
            return None
        replaces_local, replaced_by_local = lv in iparents, iv in lparents
        if replaces_local and not replaced_by_local:  # written knowing the local one
            self._drop_settled(kind, key, {iv, *iparents})
            counts.updated += 1
            return incoming
        if (replaced_by_local and not replaces_local) or self._known_conflict(kind, key, iv):
            counts.unchanged += 1
            return None
        # concurrent (or each names the other: one conflict settled two ways on two
        # machines): the later one is shown, the other kept aside
        stamp = record_format.STAMP[kind]
        incoming_wins = (str(incoming.get(stamp) or ""), iv) > (str(local.get(stamp) or ""), lv)
        loser, side, vers = (({**local, "version": lv}, "local", lv) if incoming_wins
                             else (incoming, "incoming", iv))
        self._add_conflict(kind, key, side, vers, loser)
        counts.conflicts += 1
        if incoming_wins:
            counts.updated += 1
            return incoming
        counts.unchanged += 1
        return None

    def _known_conflict(self, kind: str, key: str, version: str) -> bool:
        uid = record_format.conflict_uid(kind, key, version)
        return self.conn.execute("SELECT 1 FROM conflicts WHERE uid = ?",
                                 (uid,)).fetchone() is not None

    def _add_conflict(self, kind: str, key: str, side: str, version: str,
                      record: dict[str, Any]) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO conflicts(uid, kind, key, side, version, record, source,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (record_format.conflict_uid(kind, key, version), kind, key, side, version,
             json.dumps(record, sort_keys=True, ensure_ascii=False), self.source, now()))

    def _drop_settled(self, kind: str, key: str, lineage: set[str]) -> None:
        """Conflicts of ``key`` whose version the record now shown has replaced (``lineage``
        is versions and their parents: a few dozen at most)."""
        self.conn.execute(
            "DELETE FROM conflicts WHERE kind = ? AND key = ? AND version IN"
            f" ({','.join('?' * len(lineage))})", (kind, key, *lineage))

    def _written(self, kind: str, key: str) -> None:
        """A record now holds exactly what a durable source has: not journaled again."""
        if self.durable:
            self.conn.execute("DELETE FROM journal_pending WHERE kind = ? AND key = ?",
                              (kind, key))

    # -- folders ---------------------------------------------------------------------------
    def folder(self, rec: dict[str, Any]) -> None:
        counts = self.result.folders
        incoming = {f: rec[f] for f in (*AUTHORED_FOLDER_FIELDS, "version", "parents")
                    if rec.get(f) is not None}
        if not record_format.has_context(incoming):
            return  # a page for a folder without context: nothing authored to bring in
        row = self.conn.execute("SELECT * FROM folders WHERE path = ?",
                                (rec["path"],)).fetchone()
        if row is None and incoming.get("uid"):
            row = self.conn.execute("SELECT * FROM folders WHERE uid = ?",
                                    (incoming["uid"],)).fetchone()
        if row is None:
            self._archive_missing(rec["path"], rec.get("source_hash"), incoming, counts)
            return
        path = row["path"]
        chosen = self._settle("folder", path, record_format.folder_record(row), incoming, counts)
        if chosen is None:
            return
        self.write_folder(row, chosen)
        self._written("folder", path)

    def write_folder(self, row: sqlite3.Row, chosen: dict[str, Any]) -> None:
        """Put ``chosen`` (a folder record with its version) on the folder of ``row``."""
        path = row["path"]
        values = record_format.folder_columns(chosen)
        holder = values["uid"] and self.conn.execute(
            "SELECT path FROM folders WHERE uid = ? AND path != ?", (values["uid"], path)
        ).fetchone()
        if holder or not values["uid"]:
            values["uid"] = row["uid"] or new_uid()  # uids are unique; never steal another's
        values["version"] = chosen["version"]
        values["parents"] = json.dumps(chosen["parents"]) if chosen.get("parents") else None
        self.conn.execute("UPDATE folders SET " + ", ".join(f"{k} = ?" for k in values)
                          + ", updated_at = ? WHERE path = ?", (*values.values(), now(), path))
        restart_history(self.conn, path)
        if values["context_hash"]:
            content = {f: values[f] for f in AUTHORED_FOLDER_FIELDS}
            self.conn.execute(
                "INSERT OR REPLACE INTO context_versions(folder_path, source_hash, content,"
                " created_at) VALUES (?, ?, ?, ?)",
                (path, values["context_hash"], json.dumps(content), now()))

    def _archive_missing(self, path: str, source_hash: str | None, incoming: dict[str, Any],
                         counts: Counts) -> None:
        """Context for a folder not in the tree waits in the archive (carry.py restores it
        when the folder appears)."""
        content = record_format.folder_columns(incoming)
        mine = record_format.folder_record(content)
        for (held,) in self.conn.execute("SELECT content FROM archived_folders WHERE path = ?"
                                         " AND uid IS ?", (path, content["uid"])):
            have = record_format.folder_record(json.loads(held))
            if have == mine or (str(have.get("ai_updated") or ""), record_format.version(have)) >= (
                    str(mine.get("ai_updated") or ""), record_format.version(mine)):
                counts.unchanged += 1
                return
        cur = self.conn.execute(
            "INSERT INTO archived_folders(uid, path, reason, source_hash, content, archived_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (content["uid"], path, IMPORTED, source_hash, json.dumps(content), now()))
        counts.archived += 1
        self._written("archive", str(cur.lastrowid))

    def archived(self, rec: dict[str, Any]) -> None:
        counts = self.result.archived
        row = self.conn.execute(
            "SELECT * FROM archived_folders WHERE path = ? AND uid IS ? AND archived_at IS ?",
            (rec["path"], rec.get("uid"), rec.get("archived_at"))).fetchone()
        if row is None:
            row_id = self.conn.execute(
                "INSERT INTO archived_folders(uid, path, reason, source_hash, content,"
                " archived_at, restored_to, restored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (rec.get("uid"), rec["path"], rec.get("reason") or IMPORTED,
                 rec.get("source_hash"), json.dumps(rec["content"]),
                 rec.get("archived_at") or now(), rec.get("restored_to"),
                 rec.get("restored_at"))).lastrowid
            counts.added += 1
        elif rec.get("restored_at") and not row["restored_at"]:
            row_id = row["id"]
            self.conn.execute(
                "UPDATE archived_folders SET restored_to = ?, restored_at = ? WHERE id = ?",
                (rec.get("restored_to"), rec["restored_at"], row_id))
            counts.updated += 1
        else:
            counts.unchanged += 1
            return
        self._written("archive", str(row_id))

    # -- decisions, questions, references ---------------------------------------------------
    def versioned(self, kind: str, rec: dict[str, Any], counts: Counts) -> None:
        key = str(rec["uid"])
        local = record_format.load(self.conn, kind, key)
        chosen = self._settle(kind, key, local, rec, counts)
        if chosen is None:
            return
        self.write_record(kind, chosen, exists=local is not None)
        self._written(kind, key)

    def write_record(self, kind: str, chosen: dict[str, Any], exists: bool) -> None:
        """Write a decision, question or reference record (with its version)."""
        if kind == "decision":
            self._write_decision(chosen, exists)
            return
        columns = (record_format.QUESTION_COLUMNS if kind == "question"
                   else record_format.REFERENCE_COLUMNS)
        self._upsert(record_format.TABLE[kind], self._values(chosen, columns), exists)

    @staticmethod
    def _values(rec: dict[str, Any], columns: tuple[str, ...]) -> dict[str, Any]:
        stamp = now()
        values = {c: rec.get(c) for c in columns}
        values["anchors"] = record_format.encode_json(values.get("anchors") or None)
        values["created_at"] = values["created_at"] or stamp
        values["updated_at"] = values["updated_at"] or stamp
        values["version"] = rec["version"]
        values["parents"] = json.dumps(rec["parents"]) if rec.get("parents") else None
        return values

    def _upsert(self, table: str, values: dict[str, Any], exists: bool) -> int:
        if not exists:
            cur = self.conn.execute(f"INSERT INTO {table}(" + ", ".join(values) + ") VALUES ("
                                    + ", ".join("?" * len(values)) + ")",
                                    tuple(values.values()))
            return int(cur.lastrowid or 0)
        self.conn.execute(f"UPDATE {table} SET " + ", ".join(f"{k} = ?" for k in values)
                          + " WHERE uid = ?", (*values.values(), values["uid"]))
        row = self.conn.execute(f"SELECT id FROM {table} WHERE uid = ?",
                                (values["uid"],)).fetchone()
        return int(row[0])

    def _write_decision(self, rec: dict[str, Any], exists: bool) -> None:
        values = self._values(rec, record_format.LOG_COLUMNS)
        values["files_changed"] = record_format.encode_json(values["files_changed"] or [])
        values["status"] = values["status"] or "accepted"
        entry_id = self._upsert("log_entries", values, exists)
        self.conn.execute("DELETE FROM log_entry_tags WHERE log_entry_id = ?", (entry_id,))
        for tag in rec.get("tags") or []:
            self.conn.execute("INSERT OR IGNORE INTO tags(name) VALUES (?)", (str(tag),))
            self.conn.execute("INSERT OR IGNORE INTO log_entry_tags SELECT ?, id FROM tags"
                              " WHERE name = ?", (entry_id, str(tag)))

    # -- conflicts kept elsewhere --------------------------------------------------------------
    def conflict(self, rec: dict[str, Any]) -> None:
        kind, key, record = rec.get("kind"), rec.get("key"), rec.get("record")
        if kind not in record_format.VERSIONED or not isinstance(key, str) \
                or not isinstance(record, dict):
            return
        version = record_format.version(record)
        current = record_format.load(self.conn, kind, key)
        if current is not None and version in record_format.lineage(current):
            return  # settled here already
        side = "local" if rec.get("side") == "local" else "incoming"
        if not self._known_conflict(kind, key, version):
            self._add_conflict(kind, key, side, version, {**record, "version": version})
            counts = getattr(self.result, {"folder": "folders", "decision": "decisions",
                                           "question": "questions",
                                           "reference": "references"}[kind])
            counts.conflicts += 1
