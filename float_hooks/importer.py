"""Importing an export (``.float/project/``) back into the DB: a merge that deletes nothing.

Records are matched by a key that travels between machines (a folder's path or uid, the uid of
a decision, question or reference; an archived folder's uid, path and time); for each match the
newer one wins (``ai_updated``/``updated_at``, ties broken by content so that importing two
exports in either order gives the same DB). Context for a folder that is not in the tree goes to
the archive (reason ``imported``); the sync restores it when the folder appears, so importing
before syncing a merge that adds the folder loses nothing.

The context's ``context_hash`` travels, so after an import a folder is current iff its hash
still equals the one its context was written for: a shallow CI checkout knows what is stale
without any history.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from float_hooks import export as ex
from float_hooks import frontmatter
from float_hooks.carry import IMPORTED, restart_history
from float_hooks.context import new_uid
from float_hooks.db import Store, now
from float_hooks.errors import FloatError
from float_hooks.git import Git
from float_hooks.project import Project
from float_hooks.schema import AUTHORED_FOLDER_FIELDS

EXPORT_TREE_KEY = "export_tree"  # the git tree id of the export last imported


@dataclass
class ExportData:
    folders: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    questions: list[dict[str, Any]] = field(default_factory=list)
    references: list[dict[str, Any]] = field(default_factory=list)
    archived: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Counts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    archived: int = 0


@dataclass
class ImportResult:
    folders: Counts = field(default_factory=Counts)
    decisions: Counts = field(default_factory=Counts)
    questions: Counts = field(default_factory=Counts)
    references: Counts = field(default_factory=Counts)
    archived: Counts = field(default_factory=Counts)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        parts = []
        for name, c in asdict(self).items():
            n = c["added"] + c["updated"]
            if n or c["archived"]:
                parts.append(f"{name}: {c['added']} added, {c['updated']} updated"
                             + (f", {c['archived']} archived" if c["archived"] else ""))
        return "; ".join(parts) or "nothing new"


# -- reading ---------------------------------------------------------------------------------
def parse_pages(pages: Iterable[tuple[str, str]]) -> ExportData:
    """The records in generated pages (name, text); other files are ignored."""
    data = ExportData()
    for name, text in sorted(pages):
        try:
            parsed = frontmatter.parse(text)
        except Exception as e:  # a YAML error names the page the user must fix
            raise FloatError(f"{name}: unreadable front matter ({e})") from e
        if parsed is None:
            continue
        meta = parsed[0]
        if not isinstance(meta.get("format", 1), int) or meta.get("format", 1) > ex.FORMAT:
            raise FloatError(f"{name}: format {meta.get('format')!r} is not one this"
                             " float-hooks reads; upgrade it")
        kind = meta.get("kind")
        if kind == "folder":
            _require(name, meta, ("path",))
            data.folders.append(meta)
        else:
            key = {"decisions": "decisions", "questions": "questions",
                   "references": "references", "archive": "archived"}.get(str(kind))
            if key is not None:
                items = meta.get(key) or []
                for item in items:
                    _require(name, item, ("uid",) if key != "archived" else ("path", "content"))
                getattr(data, key).extend(items)
    return data


def _require(page: str, item: Any, keys: tuple[str, ...]) -> None:
    if not isinstance(item, dict) or any(not item.get(k) for k in keys):
        raise FloatError(f"{page}: a record without {', '.join(keys)}: {item!r}"[:300])


def read_dir(root: Path) -> ExportData:
    pages = []
    for p in sorted(root.rglob("*.md")):
        try:
            pages.append((p.relative_to(root).as_posix(), p.read_text(encoding="utf-8")))
        except UnicodeDecodeError:
            continue  # not one of ours
    return parse_pages(pages)


def read_tree(git: Git, tree: str) -> ExportData:
    """The pages of an export stored in git (a tree id), for a bare mirror with no files."""
    listing = git.run("ls-tree", "-r", "-z", tree)
    wanted: list[tuple[str, str]] = []
    for rec in listing.split(b"\0"):
        if not rec:
            continue
        meta, _, raw = rec.partition(b"\t")
        _mode, kind, oid = meta.decode().split(" ")
        if kind == "blob" and raw.endswith(b".md"):
            wanted.append((raw.decode("utf-8", "replace"), oid))
    if not wanted:
        return ExportData()
    out = git.run("cat-file", "--batch", input="".join(o + "\n" for _, o in wanted).encode())
    pages, pos = [], 0
    for name, _oid in wanted:
        header_end = out.index(b"\n", pos)
        size = int(out[pos:header_end].split(b" ")[2])
        body = out[header_end + 1 : header_end + 1 + size]
        pos = header_end + 1 + size + 1
        try:
            pages.append((name, body.decode("utf-8")))
        except UnicodeDecodeError:
            continue
    return parse_pages(pages)


# -- merging ---------------------------------------------------------------------------------
def _key(record: dict[str, Any], stamp: str) -> tuple[str, str]:
    return (str(record.get(stamp) or ""), json.dumps(record, sort_keys=True, default=str))


def merge(store: Store, data: ExportData, meta: dict[str, str] | None = None) -> ImportResult:
    """Merge ``data`` into the DB in one transaction (``meta`` keys set in the same one)."""
    result = ImportResult()
    with store.write() as conn:
        for rec in data.folders:
            _merge_folder(conn, rec, result)
        for rec in data.archived:
            _merge_archived(conn, rec, result.archived)
        for rec in data.decisions:
            _merge_log(conn, rec, result.decisions)
        for rec, table, columns, counts in (
            *((q, "open_questions", ex.QUESTION_COLUMNS, result.questions)
              for q in data.questions),
            *((r, '"references"', ex.REFERENCE_COLUMNS, result.references)
              for r in data.references),
        ):
            _merge_simple(conn, rec, table, columns, counts)
        for k, v in (meta or {}).items():
            store.set_meta(k, v)
    return result


def _merge_folder(conn: sqlite3.Connection, rec: dict[str, Any], result: ImportResult) -> None:
    incoming = {f: rec.get(f) for f in AUTHORED_FOLDER_FIELDS if rec.get(f) is not None}
    if not any(f != "uid" for f in incoming):
        return  # a page for a folder without context: nothing authored to bring in
    row = conn.execute("SELECT * FROM folders WHERE path = ?", (rec["path"],)).fetchone()
    if row is None and incoming.get("uid"):
        row = conn.execute("SELECT * FROM folders WHERE uid = ?", (incoming["uid"],)).fetchone()
    if row is None:
        _archive_missing(conn, rec["path"], rec.get("source_hash"), incoming, result.folders)
        return
    local = ex.folder_record(row)
    if local == incoming:
        result.folders.unchanged += 1
        return
    if any(f != "uid" for f in local) and _key(local, "ai_updated") >= _key(incoming,
                                                                             "ai_updated"):
        result.folders.unchanged += 1
        return
    values = {f: ex.encode_json(incoming.get(f)) if f in ex.FOLDER_JSON else incoming.get(f)
              for f in AUTHORED_FOLDER_FIELDS}
    holder = values["uid"] and conn.execute(
        "SELECT path FROM folders WHERE uid = ? AND path != ?", (values["uid"], row["path"])
    ).fetchone()
    if holder or not values["uid"]:
        values["uid"] = row["uid"] or new_uid()  # uids are unique; never steal another's
    conn.execute("UPDATE folders SET " + ", ".join(f"{k} = ?" for k in values)
                 + ", updated_at = ? WHERE path = ?", (*values.values(), now(), row["path"]))
    restart_history(conn, row["path"])
    if values["context_hash"]:
        conn.execute("INSERT OR REPLACE INTO context_versions(folder_path, source_hash, content,"
                     " created_at) VALUES (?, ?, ?, ?)",
                     (row["path"], values["context_hash"], json.dumps(values), now()))
    if any(f != "uid" for f in local):
        result.folders.updated += 1
    else:
        result.folders.added += 1


def _archive_missing(conn: sqlite3.Connection, path: str, source_hash: str | None,
                     incoming: dict[str, Any], counts: Counts) -> None:
    content = {f: ex.encode_json(incoming.get(f)) if f in ex.FOLDER_JSON else incoming.get(f)
               for f in AUTHORED_FOLDER_FIELDS}
    for (held,) in conn.execute("SELECT content FROM archived_folders WHERE path = ?"
                                " AND uid IS ?", (path, content["uid"])):
        have = ex.folder_record(json.loads(held))
        if have == incoming or _key(have, "ai_updated") >= _key(incoming, "ai_updated"):
            counts.unchanged += 1
            return
    conn.execute("INSERT INTO archived_folders(uid, path, reason, source_hash, content,"
                 " archived_at) VALUES (?, ?, ?, ?, ?, ?)",
                 (content["uid"], path, IMPORTED, source_hash, json.dumps(content), now()))
    counts.archived += 1


def _merge_archived(conn: sqlite3.Connection, rec: dict[str, Any], counts: Counts) -> None:
    row = conn.execute("SELECT * FROM archived_folders WHERE path = ? AND uid IS ?"
                       " AND archived_at IS ?",
                       (rec["path"], rec.get("uid"), rec.get("archived_at"))).fetchone()
    if row is None:
        conn.execute(
            "INSERT INTO archived_folders(uid, path, reason, source_hash, content, archived_at,"
            " restored_to, restored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (rec.get("uid"), rec["path"], rec.get("reason") or IMPORTED, rec.get("source_hash"),
             json.dumps(rec["content"]), rec.get("archived_at") or now(), rec.get("restored_to"),
             rec.get("restored_at")))
        counts.added += 1
    elif rec.get("restored_at") and not row["restored_at"]:
        conn.execute("UPDATE archived_folders SET restored_to = ?, restored_at = ? WHERE id = ?",
                     (rec.get("restored_to"), rec["restored_at"], row["id"]))
        counts.updated += 1
    else:
        counts.unchanged += 1


def _merge_log(conn: sqlite3.Connection, rec: dict[str, Any], counts: Counts) -> None:
    _require("decision", rec, ("uid", "title", "date"))
    row = conn.execute("SELECT * FROM log_entries WHERE uid = ?", (rec["uid"],)).fetchone()
    if row is not None:
        local = ex.log_record(conn, row)
        if local == rec or _key(local, "updated_at") >= _key(rec, "updated_at"):
            counts.unchanged += 1
            return
    stamp = now()
    values: dict[str, Any] = {c: rec.get(c) for c in ex.LOG_COLUMNS}
    values["files_changed"] = ex.encode_json(values["files_changed"] or [])
    values["status"] = values["status"] or "accepted"
    values["created_at"] = values["created_at"] or stamp
    values["updated_at"] = values["updated_at"] or stamp
    if row is None:
        entry_id = conn.execute(
            "INSERT INTO log_entries(" + ", ".join(values) + ") VALUES ("
            + ", ".join("?" * len(values)) + ")", tuple(values.values())).lastrowid
        counts.added += 1
    else:
        entry_id = row["id"]
        conn.execute("UPDATE log_entries SET " + ", ".join(f"{k} = ?" for k in values)
                     + " WHERE id = ?", (*values.values(), entry_id))
        conn.execute("DELETE FROM log_entry_tags WHERE log_entry_id = ?", (entry_id,))
        counts.updated += 1
    for tag in rec.get("tags") or []:
        conn.execute("INSERT OR IGNORE INTO tags(name) VALUES (?)", (str(tag),))
        conn.execute("INSERT OR IGNORE INTO log_entry_tags SELECT ?, id FROM tags WHERE name = ?",
                     (entry_id, str(tag)))


def _merge_simple(conn: sqlite3.Connection, rec: dict[str, Any], table: str,
                  columns: tuple[str, ...], counts: Counts) -> None:
    row = conn.execute(f"SELECT * FROM {table} WHERE uid = ?", (rec["uid"],)).fetchone()
    if row is not None:
        local = ex._compact(dict(row), columns)
        if local == rec or _key(local, "updated_at") >= _key(rec, "updated_at"):
            counts.unchanged += 1
            return
    stamp = now()
    values = {c: rec.get(c) for c in columns}
    values["created_at"] = values["created_at"] or stamp
    values["updated_at"] = values["updated_at"] or stamp
    if row is None:
        conn.execute(f"INSERT INTO {table}(" + ", ".join(values) + ") VALUES ("
                     + ", ".join("?" * len(values)) + ")", tuple(values.values()))
        counts.added += 1
    else:
        conn.execute(f"UPDATE {table} SET " + ", ".join(f"{k} = ?" for k in values)
                     + " WHERE id = ?", (*values.values(), row["id"]))
        counts.updated += 1


# -- the committed export ----------------------------------------------------------------------
def export_dir(project: Project) -> str:
    """The configured export dir as a repo-relative git path ('' if it is outside the repo)."""
    raw = str(project.config["export"]["dir"]).replace("\\", "/")
    parts = [p for p in raw.split("/") if p not in ("", ".")]
    if raw.startswith("/") or ".." in parts:
        return ""
    return "/".join(parts)


def committed_tree(project: Project, rev: str | None = None) -> str | None:
    """The tree id of the export in commit ``rev`` (HEAD), or None: one cheap git call."""
    rel = export_dir(project)
    if not rel:
        return None
    out = project.git.run("rev-parse", "--verify", "--quiet", "--end-of-options",
                          f"{rev or 'HEAD'}:{rel}", check=False)
    return out.decode().strip() or None


def import_committed(project: Project, store: Store, rev: str | None = None,
                     tree: str | None = None) -> ImportResult | None:
    """Import the export of the checkout (work tree: from disk; bare mirror: from ``rev``'s
    tree) and remember its tree id, so the hooks do not import the same export again."""
    tree = tree or committed_tree(project, rev)
    if project.work_tree is not None:
        rel = export_dir(project) or str(project.config["export"]["dir"])
        root = project.work_tree / rel
        if not root.is_dir():
            return None
        data = read_dir(root)
    elif tree is not None:
        data = read_tree(project.git, tree)
    else:
        return None
    return merge(store, data, {EXPORT_TREE_KEY: tree} if tree else None)


def import_if_changed(project: Project, store: Store, rev: str | None = None) -> \
        ImportResult | None:
    """Import the committed export if it changed since the last import (cheap otherwise)."""
    tree = committed_tree(project, rev)
    if tree is None or tree == store.get_meta(EXPORT_TREE_KEY):
        return None
    return import_committed(project, store, rev, tree)
