"""Importing a FloatPrompt log tree (``logs/2026/01-jan/YYYY-MM-DD-topic.md`` beside the
summaries ``logs.md``, ``2026.md``, ``01-jan.md``) into the decision log.

* dated files are decisions (legacy.py reads one); summaries are reported in one line each
  and give their theme headings as tags of the decisions they link (legacy_summary.py); an
  undated file that aggregates nothing is an error line, the other files still import;
* ``**Folders:**`` and Files Changed paths tie a decision to folders: the first folder of the
  repository is its ``folder_path``, the others are references (``folder``/``file``), and a
  path not in the repository is a reference to ``text``;
* Open Questions bullets are open questions in the decision's folder, each with a reference
  to the decision; Superseded By (or a Refined By item that says it replaces) links the two
  decisions (``superseded_by``/``supersedes``); a plain Refined By, Supersedes items and
  linked Superseded Decisions items are references between the two (or to text);
* every record's uid comes from its file (a decision's from the file name, a question's from
  its file and place), so importing again changes nothing and an edited file updates its own
  records. A record imported before and not changed here since is replaced by its new
  version; one changed here since is kept beside it as a conflict (merge.py), never lost.
"""

from __future__ import annotations

import posixpath
import re
import sqlite3
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from float_hooks import paths
from float_hooks.errors import FloatError, quoted
from float_hooks.pages import legacy, legacy_summary, reader
from float_hooks.store import record_format
from float_hooks.store.db import Store
from float_hooks.store.merge import Counts, ExportData, Merger

MAX_FILE_BYTES = 1024 * 1024  # a decision file is a page or two
MAX_FILES = 20_000
MAX_TEXT = 300  # a reference to text keeps at most this much of it


@dataclass
class Report:
    files: int = 0  # decision files imported
    decisions: Counts = field(default_factory=Counts)
    questions: Counts = field(default_factory=Counts)
    references: Counts = field(default_factory=Counts)
    summaries: list[str] = field(default_factory=list)  # one line per summary file
    errors: list[str] = field(default_factory=list)  # one line per file skipped

    def as_json(self) -> dict[str, Any]:
        d = self.decisions
        return {"files": self.files, "added": d.added, "updated": d.updated,
                "unchanged": d.unchanged, "conflicts": d.conflicts,
                "questions": asdict(self.questions), "references": asdict(self.references),
                "summaries": self.summaries, "errors": self.errors}


def _read(root: Path, report: Report) -> list[tuple[str, str]]:
    """(relative path, text) of every regular ``*.md`` file under ``root``, bounded."""
    files = reader.markdown_files(root, report.errors, max_file=MAX_FILE_BYTES,
                                  max_files=MAX_FILES, where=lambda rel: rel)
    return [(rel, raw.decode("utf-8", errors="replace")) for rel, raw in files]


class _Tree:
    def __init__(self, conn: sqlite3.Connection, report: Report):
        self.conn = conn
        self.report = report
        self.entries: dict[str, legacy.Entry] = {}  # relative path -> entry
        self.keys: dict[str, str] = {}  # relative path -> the key its uids derive from
        self.by_name: dict[str, list[str]] = {}
        self.summaries: list[tuple[str, str]] = []
        self.refs: dict[str, dict[str, Any]] = {}
        self.questions: list[dict[str, Any]] = []

    # -- reading ----------------------------------------------------------------------------
    def add(self, rel: str, text: str) -> None:
        name = posixpath.basename(rel)
        if not legacy.FILE_RE.match(name) and legacy_summary.NAME_RE.match(name):
            self.summaries.append((rel, text))
            return
        try:
            self.entries[rel] = legacy.parse_entry(name, text)
        except FloatError:
            if legacy_summary.aggregates(text):
                self.summaries.append((rel, text))
            else:
                self.report.errors.append(f"{quoted(rel, 200)}: skipped: no date (a **Date:**"
                                          " line or a YYYY-MM-DD- file name) and not a summary")
                return
            return
        self.by_name.setdefault(name, []).append(rel)

    def settle_uids(self) -> None:
        """A decision's uid comes from its file name (as the first importer's did), or from
        its path when two files share a name."""
        for rel, entry in self.entries.items():
            name = posixpath.basename(rel)
            self.keys[rel] = name if len(self.by_name[name]) == 1 else rel
            entry.record["uid"] = legacy.legacy_uid(self.keys[rel])

    def resolve(self, from_rel: str, target: str) -> str | None:
        """The decision file a link names, if exactly one."""
        if re.match(r"^[A-Za-z][\w+.-]*:", target):
            return None  # a URL
        t = unquote(target.split("#", 1)[0].split("?", 1)[0]).strip()
        if not t:
            return None
        if not t.lower().endswith(".md"):
            t += ".md"
        joined = t.lstrip("/") if t.startswith("/") else \
            posixpath.join(posixpath.dirname(from_rel), t)
        rel = posixpath.normpath(joined)
        if rel in self.entries:
            return rel
        named = self.by_name.get(posixpath.basename(t), [])
        return named[0] if len(named) == 1 else None

    # -- records ----------------------------------------------------------------------------
    def ref(self, source: tuple[str, str], target: tuple[str, str], context: str,
            key: str, stamp: str) -> None:
        uid = legacy.legacy_uid(f"{source[0]}\0{source[1]}\0ref\0{key}")
        self.refs.setdefault(uid, {
            "uid": uid, "source_type": source[0], "source_id": source[1],
            "target_type": target[0], "target_id": target[1][:MAX_TEXT], "context": context,
            "created_at": stamp, "updated_at": stamp})

    def tags(self) -> None:
        for rel, text in self.summaries:
            linked: set[str] = set()
            themed: Counter[str] = Counter()
            for theme, named in legacy_summary.themes(text):
                for target in named:
                    found = self.resolve(rel, target)
                    if found is None:
                        continue
                    linked.add(found)
                    if theme:
                        rec = self.entries[found].record
                        rec["tags"] = sorted({*rec.get("tags", []), theme})
                        themed[theme] += 1
            self.report.summaries.append(
                f"{quoted(rel, 200)}: a summary, not a decision: links {len(linked)}"
                f" decision{'' if len(linked) == 1 else 's'}"
                + (f", {len(themed)} theme{'' if len(themed) == 1 else 's'} as tags"
                   if themed else ""))

    def links(self) -> None:
        for rel, entry in self.entries.items():
            rec = entry.record
            me = ("log", rec["uid"])
            stamp = rec["created_at"]
            for item in entry.superseded_by + [i for i in entry.refined_by if i.replaces]:
                self.supersession(rel, item, stamp)
            for role, items in (("refined by", [i for i in entry.refined_by
                                                if not i.replaces]),
                                ("supersedes", entry.supersedes),
                                ("superseded decision", entry.superseded_decisions)):
                for item in items:
                    found = [f for f in (self.resolve(rel, t) for t in item.targets) if f]
                    for f in found:
                        self.ref(me, ("log", self.entries[f].record["uid"]),
                                 f"{role}: {_line(item.text)}", f"{role}\0{self.keys[f]}", stamp)
                    if not found and role != "superseded decision":  # kept in the text too
                        self.ref(me, ("text", _line(item.text)), role,
                                 f"{role}\0{item.text}", stamp)

    def supersession(self, rel: str, item: legacy.Item, stamp: str) -> None:
        older = self.entries[rel].record
        found = [f for f in (self.resolve(rel, t) for t in item.targets) if f and f != rel]
        for f in found:
            newer = self.entries[f].record
            if not older.get("superseded_by") and not newer.get("supersedes"):
                older["superseded_by"], newer["supersedes"] = newer["uid"], older["uid"]
            elif older.get("superseded_by") != newer["uid"]:
                self.ref(("log", older["uid"]), ("log", newer["uid"]),
                         f"superseded by: {_line(item.text)}", f"superseded by\0{self.keys[f]}",
                         stamp)
        if not found:
            self.ref(("log", older["uid"]), ("text", _line(item.text)), "superseded by",
                     f"superseded by\0{item.text}", stamp)

    def place(self) -> None:
        """Folders, and the questions that live in them."""
        for rel, entry in self.entries.items():
            rec = entry.record
            me = ("log", rec["uid"])
            stamp = rec["created_at"]
            folder: str | None = None
            for written in entry.folders:
                path = _normalise(written)
                kind = self.kind(path) if path else None
                if kind == "folder" and folder is None:
                    folder = path
                elif path and kind:
                    self.ref(me, (kind, path), "folder listed", f"path\0{path}", stamp)
                else:
                    self.ref(me, ("text", path or _line(written)),
                             "folder listed, not in the repository",
                             f"path\0{path or written}", stamp)
            for written in rec.get("files_changed", []):
                path = _normalise(written)
                kind = self.kind(path) if path else None
                where = path if kind == "folder" else posixpath.dirname(path or "/") \
                    if kind == "file" else None
                if where is None:
                    continue  # not in the repository: kept in files_changed
                if folder is None:
                    folder = where
                elif where != folder:
                    self.ref(me, ("folder", where), "files changed", f"path\0{where}", stamp)
            if folder is not None:
                rec["folder_path"] = folder
            for i, q in enumerate(entry.questions):
                uid = legacy.legacy_uid(f"{self.keys[rel]}\0question\0{i}")
                question = {"uid": uid, "question": q.question, "context": q.context,
                            "folder_path": folder, "created_at": stamp, "updated_at": stamp}
                if q.resolved:
                    question.update(resolved_at=stamp, resolved_by=rec["uid"])
                self.questions.append({k: v for k, v in question.items() if v is not None})
                self.ref(("question", uid), me, "raised in", "raised in", stamp)

    def kind(self, path: str) -> str | None:
        if self.conn.execute("SELECT 1 FROM folders WHERE path = ?", (path,)).fetchone():
            return "folder"
        if self.conn.execute("SELECT 1 FROM files WHERE folder_path = ? AND path = ?",
                             (posixpath.dirname(path), path)).fetchone():
            return "file"
        return None


def _line(text: str) -> str:
    return " ".join(text.split())[:MAX_TEXT]


def _normalise(written: str) -> str | None:
    """A path as a FloatPrompt file writes it (``src/auth/``, ``/src``, `` `docs` ``) as a
    stored path, or None if it is none (climbs out, empty)."""
    p = written.strip().strip("`").strip()
    if not p or "\0" in p or len(p) > 1000 or re.match(r"^[A-Za-z][\w+.-]*://", p):
        return None
    try:
        return paths.normalize("/" + p.lstrip("/"))
    except ValueError:
        return None


def _successors(conn: sqlite3.Connection, data: ExportData) -> None:
    """A record imported before and not changed here since (its times are still the file's)
    is replaced by the new version of its file: the new one names the old as its parent.
    A record changed here since stays concurrent, so the merge keeps both."""
    for kind, recs in (("decision", data.decisions), ("question", data.questions),
                       ("reference", data.references)):
        for rec in recs:
            local = record_format.load(conn, kind, rec["uid"])
            if local is None or local.get("updated_at") != local.get("created_at"):
                continue
            lv = local.get("version") or record_format.version(local)
            if lv != record_format.version(rec):
                rec["parents"] = record_format.joined(
                    [lv], record_format.parents_of(local.get("parents")))


def import_tree(store: Store, root: Path) -> Report:
    """Import every decision file under ``root``; re-importing changes nothing."""
    report = Report()
    files = _read(root, report)
    with store.write() as conn:
        tree = _Tree(conn, report)
        for rel, text in files:
            tree.add(rel, text)
        tree.settle_uids()
        tree.tags()
        tree.links()
        tree.place()
        data = ExportData(decisions=[e.record for e in tree.entries.values()],
                          questions=tree.questions, references=list(tree.refs.values()))
        _successors(conn, data)
        result = Merger(conn, durable=False, source=str(root)).merge(data)
    report.files = len(tree.entries)
    report.decisions, report.questions = result.decisions, result.questions
    report.references = result.references
    return report
