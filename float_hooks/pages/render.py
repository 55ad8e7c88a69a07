"""The markdown export (``.float/project/``): every authored record, as committed pages.

Each page carries its records losslessly in YAML front matter (what import reads) and renders
them as prose below (what people read). The output is a pure function of the DB: stable order,
no export time, no machine paths, so an unchanged DB rewrites nothing and commits no churn.

Layout (collision-free: a real folder or file name never starts with a single ``_`` here,
because one that does is written with an extra ``_``):

* ``_folder.md`` (the root), ``src/auth/_folder.md``: one page per folder;
* ``_index.md``, ``_open-questions.md``, ``_references.md``, ``_archive.md``;
* ``_log/2026.md`` (a year) and ``_log/2026/01-jan.md`` (a month's decisions).
"""

from __future__ import annotations

import json
import posixpath
import re
import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from float_hooks import paths
from float_hooks.pages import frontmatter
from float_hooks.store.record_format import (
    archive_records,
    conflict_records,
    folder_record,
    log_records,
    question_records,
    reference_records,
)
from float_hooks.store.schema import AUTHORED_FOLDER_FIELDS

FORMAT = 1  # bumped if the page format ever changes incompatibly
FOLDER_PAGE = "_folder.md"
INDEX, QUESTIONS, REFERENCES, ARCHIVE, CONFLICTS = (
    "_index.md", "_open-questions.md", "_references.md", "_archive.md", "_conflicts.md")
LOG_DIR = "_log"
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])")

# -- layout ----------------------------------------------------------------------------------
def _escape(name: str) -> str:
    return "_" + name if name.startswith("_") else name


def folder_page(path: str) -> str:
    if path == paths.ROOT:
        return FOLDER_PAGE
    return "/".join(_escape(p) for p in path[1:].split("/")) + "/" + FOLDER_PAGE


def month_page(date: str) -> str:
    m = _MONTH_RE.match(date or "")
    if m is None:
        return f"{LOG_DIR}/undated.md"
    return f"{LOG_DIR}/{m.group(1)}/{m.group(2)}-{MONTHS[int(m.group(2)) - 1]}.md"


def link(from_page: str, to_page: str, anchor: str = "") -> str:
    rel = posixpath.relpath(to_page, posixpath.dirname(from_page) or ".")
    return quote(rel, safe="/._-~") + (f"#{anchor}" if anchor else "")


def _cell(text: Any) -> str:
    return " ".join(str(text or "").split()).replace("|", "\\|")


def _title_link(page: str, path: str, known: set[str]) -> str:
    return f"[`{path}`]({link(page, folder_page(path))})" if path in known else f"`{path}`"


def _item(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


# -- pages -----------------------------------------------------------------------------------
@dataclass
class _Data:
    folders: list[sqlite3.Row]
    files: dict[str, list[tuple[str, str]]]
    logs: list[dict[str, Any]]
    questions: list[dict[str, Any]]
    refs: list[dict[str, Any]]
    archived: list[dict[str, Any]]
    conflicts: list[dict[str, Any]]
    known: set[str] = field(default_factory=set)


def _load(conn: sqlite3.Connection) -> _Data:
    folders = conn.execute(
        "SELECT path, parent_path, name, status, source_hash, version, parents, "
        + ", ".join(AUTHORED_FOLDER_FIELDS) + " FROM folders ORDER BY path").fetchall()
    files: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for path, folder, mode in conn.execute(
            "SELECT path, folder_path, mode FROM files ORDER BY folder_path, path"):
        files[folder].append((paths.name(path), mode))
    return _Data(folders, files, log_records(conn), question_records(conn),
                 reference_records(conn), archive_records(conn),
                 conflict_records(conn, portable=True),
                 {r["path"] for r in folders})


def render_pages(conn: sqlite3.Connection) -> dict[str, str]:
    """Every page of the export: relative path -> text."""
    d = _load(conn)
    pages: dict[str, str] = {}
    by_parent: dict[str, list[sqlite3.Row]] = defaultdict(list)
    for r in d.folders:
        if r["parent_path"] is not None:
            by_parent[r["parent_path"]].append(r)
    logs_by_folder, questions_by_folder = defaultdict(list), defaultdict(list)
    refs_by_folder = defaultdict(list)
    for entry in d.logs:
        logs_by_folder[entry.get("folder_path")].append(entry)
    for q in d.questions:
        questions_by_folder[q.get("folder_path")].append(q)
    for ref in d.refs:
        for kind, key in (("source_type", "source_id"), ("target_type", "target_id")):
            if ref[kind] == "folder":
                refs_by_folder[ref[key]].append(ref)
    for r in d.folders:
        page = folder_page(r["path"])
        pages[page] = _folder(page, r, by_parent[r["path"]], d.files.get(r["path"], []),
                              logs_by_folder[r["path"]], questions_by_folder[r["path"]],
                              refs_by_folder[r["path"]])
    months: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in d.logs:
        months[month_page(entry["date"])].append(entry)
    for page, entries in months.items():
        pages[page] = _month(page, entries, d.known)
    years: dict[str, list[str]] = defaultdict(list)
    for page in months:
        if page.count("/") == 2:
            years[page.split("/")[1]].append(page)
    for year, month_pages in years.items():
        pages[f"{LOG_DIR}/{year}.md"] = _year(year, sorted(month_pages), months)
    pages[QUESTIONS] = _questions(d.questions, d.known)
    pages[REFERENCES] = frontmatter.render(
        {"kind": "references", "format": FORMAT, "references": d.refs},
        "# References\n\n" + _ref_lines(REFERENCES, d.refs, d.known))
    pages[ARCHIVE] = _archive(d.archived)
    if d.conflicts:  # only while there are some: an export without them has no such page
        pages[CONFLICTS] = _conflicts(d.conflicts, d.known)
    pages[INDEX] = _index(d, sorted(years), months)
    return pages


def _folder(page: str, r: sqlite3.Row, subfolders: list[sqlite3.Row],
            files: list[tuple[str, str]], logs: list[dict[str, Any]],
            questions: list[dict[str, Any]], refs: list[dict[str, Any]]) -> str:
    meta: dict[str, Any] = {"kind": "folder", "format": FORMAT, "path": r["path"],
                            "status": r["status"], "source_hash": r["source_hash"]}
    record = folder_record(r)
    meta.update(record)
    out = [f"# `{r['path']}`\n"]
    line = f"Status: **{r['status']}**"
    if r["context_hash"]:
        line += f"; context written for folder hash `{r['context_hash'][:12]}`"
        if r["context_commit"]:
            line += f" at commit `{r['context_commit'][:12]}`"
        if r["ai_model"]:
            line += f" by {r['ai_model']}"
        if r["ai_updated"]:
            line += f" ({r['ai_updated']})"
    up = "" if r["parent_path"] is None else \
        f"[up: `{r['parent_path']}`]({link(page, folder_page(r['parent_path']))}) · "
    out.append(line + ".\n\n" + up + f"[index]({link(page, INDEX)})\n")
    for title, key in (("Summary", "map_summary"), ("What", "context_what"),
                       ("Why", "context_why")):
        if record.get(key):
            out.append(f"## {title}\n\n{record[key]}\n")
    if _anchor_names(record):
        out.append(f"## Anchors\n\n{_anchor_names(record)}\n")
    for title, key in (("Patterns", "context_patterns"), ("Map of children", "map_children")):
        value = record.get(key)
        if isinstance(value, list) and value:
            out.append(f"## {title}\n\n" + "".join(f"- {_cell(_item(v))}\n" for v in value))
        elif value:
            out.append(f"## {title}\n\n{value}\n")
    rows = [f"| [{_cell(s['name'])}/]({link(page, folder_page(s['path']))}) | folder"
            f" | {s['status']} | {_cell(s['map_summary'])} |" for s in subfolders]
    rows += [f"| {_cell(name)} | {_kind(mode)} | | |" for name, mode in files]
    out.append("## Children\n\n| Name | Kind | Status | Summary |\n|---|---|---|---|\n"
               + "\n".join(rows) + "\n")
    if logs:
        out.append("## Decisions\n\n" + "".join(
            f"- {e['date']} [{_cell(e['title'])}]({link(page, month_page(e['date']), e['uid'])})"
            f" ({e['status']})\n" for e in logs))
    if questions:
        out.append("## Open questions\n\n" + "".join(
            f"- {_cell(q['question'])}" + (" (resolved)" if q.get("resolved_at") else "") + "\n"
            for q in questions))
    if refs:
        out.append("## References\n\n" + _ref_lines(page, refs, set()))
    return frontmatter.render(meta, "\n".join(out))


def _anchor_names(record: dict[str, Any]) -> str:
    """The code a record cites (its front matter holds what each was pinned to)."""
    anchors = record.get("anchors")
    if not isinstance(anchors, list):
        return ""
    return ", ".join(f"`{_cell(a['anchor'])}`" for a in anchors
                     if isinstance(a, dict) and isinstance(a.get("anchor"), str))


def _kind(mode: str) -> str:
    return {"100755": "executable", "120000": "symlink", "160000": "submodule"}.get(mode, "file")


def _month(page: str, entries: list[dict[str, Any]], known: set[str]) -> str:
    month = page.rsplit("/", 1)[-1][:-3]
    title = "Decisions without a valid date" if month == "undated" else \
        f"Decisions, {entries[0]['date'][:7]}"
    out = [f"# {title}\n"]
    for e in entries:
        lines = [f'<a id="{e["uid"]}"></a>\n### {e["date"]} · {_cell(e["title"])}\n',
                 f"Status: **{e['status']}**"
                 + (f" · folder {_title_link(page, e['folder_path'], known)}"
                    if e.get("folder_path") else "")
                 + (f" · tags: {', '.join(e['tags'])}" if e.get("tags") else "")
                 + (f" · topic: {e['topic']}" if e.get("topic") else "") + "\n"]
        for label, key in (("Decision", "decision"), ("Rationale", "rationale"),
                           ("Before", "before_state"), ("After", "after_state"),
                           ("Future agent", "future_agent")):
            if e.get(key):
                lines.append(f"**{label}.** {e[key]}\n")
        if e.get("files_changed"):
            lines.append("**Files changed.** " + ", ".join(
                f"`{_item(f)}`" for f in e["files_changed"]) + "\n")
        if _anchor_names(e):
            lines.append("**Anchors.** " + _anchor_names(e) + "\n")
        for label, key in (("Supersedes", "supersedes"), ("Superseded by", "superseded_by")):
            if e.get(key):
                lines.append(f"**{label}** [{e[key][:12]}](#{e[key]})\n")
        out.append("\n".join(lines))
    return frontmatter.render({"kind": "decisions", "format": FORMAT, "decisions": entries},
                              "\n".join(out))


def _year(year: str, month_pages: list[str], months: dict[str, list[dict[str, Any]]]) -> str:
    page = f"{LOG_DIR}/{year}.md"
    out = [f"# Decisions, {year}\n"]
    for mp in month_pages:
        entries = months[mp]
        out.append(f"## [{entries[0]['date'][:7]}]({link(page, mp)}): {len(entries)} decisions\n\n"
                   + "".join(f"- {e['date']} [{_cell(e['title'])}]({link(page, mp, e['uid'])})"
                             f" ({e['status']})\n" for e in entries))
    return frontmatter.render({"kind": "year", "format": FORMAT, "year": year}, "\n".join(out))


def _questions(questions: list[dict[str, Any]], known: set[str]) -> str:
    out = ["# Open questions\n"]
    open_ = [q for q in questions if not q.get("resolved_at")]
    done = [q for q in questions if q.get("resolved_at")]
    for q in open_:
        where = q.get("folder_path")
        out.append(f"- {_cell(q['question'])}"
                   + (f" ({_title_link(QUESTIONS, where, known)})" if where else "")
                   + (f"\n  {_cell(q['context'])}" if q.get("context") else ""))
    if not open_:
        out.append("No open questions.")
    if done:
        out.append("\n## Resolved\n")
        out += [f"- {_cell(q['question'])}: {_cell(q.get('resolved_by'))}" for q in done]
    return frontmatter.render({"kind": "questions", "format": FORMAT, "questions": questions},
                              "\n".join(out) + "\n")


def _ref_lines(page: str, refs: list[dict[str, Any]], known: set[str]) -> str:
    if not refs:
        return "No references.\n"
    lines = []
    for r in refs:
        ends = []
        for kind, key in (("source_type", "source_id"), ("target_type", "target_id")):
            ends.append(_title_link(page, r[key], known) if r[kind] == "folder"
                        else f"{r[kind]}:`{r[key]}`")
        lines.append(f"- {ends[0]} → {ends[1]}"
                     + (f": {_cell(r['context'])}" if r.get("context") else "") + "\n")
    return "".join(lines)


def _archive(archived: list[dict[str, Any]]) -> str:
    out = ["# Archived folder context\n",
           "Context of folders that were deleted (or were not in the tree when an export was"
           " imported); `float-hooks archive restore` puts it back.\n"]
    for a in archived:
        c = a["content"]
        state = f"restored to `{a['restored_to']}`" if a.get("restored_at") else "archived"
        out.append(f"## `{a['path']}` ({a['reason']}, {a['archived_at']}, {state})\n")
        for label, key in (("Summary", "map_summary"), ("What", "context_what"),
                           ("Why", "context_why")):
            if c.get(key):
                out.append(f"**{label}.** {c[key]}\n")
    return frontmatter.render({"kind": "archive", "format": FORMAT, "archived": archived},
                              "\n".join(out))


def _conflicts(conflicts: list[dict[str, Any]], known: set[str]) -> str:
    out = ["# Conflicts\n",
           "Versions of a record written concurrently with the one shown (two people wrote the"
           " same folder's context, say). `float-hooks conflicts` lists them; `float-hooks"
           " conflicts resolve ID --keep local|incoming` settles one.\n"]
    for c in conflicts:
        rec = c["record"]
        where = _title_link(CONFLICTS, c["key"], known) if c["kind"] == "folder" \
            else f"`{c['key']}`"
        gist = rec.get("map_summary") or rec.get("title") or rec.get("question")
        out.append(f"- {c['kind']} {where}: version `{c['version']}`"
                   + (f": {_cell(gist)}" if gist else ""))
    return frontmatter.render({"kind": "conflicts", "format": FORMAT, "conflicts": conflicts},
                              "\n".join(out) + "\n")


def _index(d: _Data, years: list[str], months: dict[str, list[dict[str, Any]]]) -> str:
    counts = {s: sum(1 for r in d.folders if r["status"] == s)
              for s in ("current", "stale", "pending")}
    out = ["# Project map\n",
           f"{len(d.folders)} folders: {counts['current']} current, {counts['stale']} stale,"
           f" {counts['pending']} without context. {len(d.logs)} decisions,"
           f" {sum(1 for q in d.questions if not q.get('resolved_at'))} open questions,"
           f" {len(d.archived)} archived folders"
           + (f", {len(d.conflicts)} [conflicts]({CONFLICTS})" if d.conflicts else "") + ".\n",
           f"[Open questions]({QUESTIONS}) · [References]({REFERENCES}) ·"
           f" [Archive]({ARCHIVE})\n"]
    if years:
        out.append("## Decision log\n\n" + "".join(
            f"- [{y}]({LOG_DIR}/{y}.md)\n" for y in years)
            + ("- [undated](_log/undated.md)\n" if f"{LOG_DIR}/undated.md" in months else ""))
    out.append("## Folders\n\n| Folder | Status | Summary |\n|---|---|---|\n" + "".join(
        f"| [`{_cell(r['path'])}`]({link(INDEX, folder_page(r['path']))}) | {r['status']}"
        f" | {_cell(r['map_summary'])} |\n" for r in d.folders))
    return frontmatter.render({"kind": "index", "format": FORMAT}, "\n".join(out))
