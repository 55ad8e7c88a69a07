"""Importing FloatPrompt decision files (``YYYY-MM-DD-topic.md``) as decision log entries.

A file looks like::

    # Use JWT for sessions
    **Date:** 2026-01-15
    **Status:** Accepted

    ## Decision
    ...
    ## Rationale / ## Before / ## After / ## Files Changed / ## Future Agent

Known sections fill the entry's fields; nothing else is dropped: unknown sections, unknown
``**Key:** value`` lines and text before the first section are appended to the rationale with
their headings, so the whole file survives (the original exporter kept little of it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path
from typing import Any

from float_hooks.errors import FloatError
from float_hooks.store import record_format
from float_hooks.store.db import Store
from float_hooks.store.merge import ExportData, Merger

FILE_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})-(.+)\.md$")
_META_RE = re.compile(r"^\s*(?:[-*]\s+)?(?:\*\*([^*:]+):?\*\*:?|([A-Za-z][\w ]{0,30}):)\s*(.*)$")
_FENCE_RE = re.compile(r"^\s*(```|~~~)")
SECTIONS = {
    "decision": "decision",
    "rationale": "rationale",
    "before": "before_state",
    "after": "after_state",
    "files changed": "files_changed",
    "future agent": "future_agent",
    "future agents": "future_agent",
    "notes for future agents": "future_agent",
}
META = {"date": "date", "status": "status", "tags": "tags", "tag": "tags", "topic": "topic",
        "folder": "folder_path", "supersedes": "supersedes"}


def parse(name: str, text: str) -> dict[str, Any]:
    """One decision file as a log record (the export's format), nothing left out."""
    m = FILE_RE.match(name)
    text = text.replace("\r\n", "\n").lstrip("\ufeff")
    title = None
    meta: dict[str, str] = {}
    sections: list[tuple[str | None, list[str]]] = [(None, [])]
    fenced = False
    for line in text.split("\n"):
        if _FENCE_RE.match(line):
            fenced = not fenced
        hm = None if fenced else re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", line)
        if hm and len(hm.group(1)) == 1 and title is None:
            title = hm.group(2)
            continue
        if hm and len(hm.group(1)) == 2:
            sections.append((hm.group(2), []))
            continue
        if sections[-1][0] is None and not fenced:
            mm = _META_RE.match(line)
            key = (mm.group(1) or mm.group(2)).strip().lower() if mm else ""
            if mm and key in META and META[key] not in meta:
                meta[META[key]] = mm.group(3).strip()
                continue
        sections[-1][1].append(line)
    fields: dict[str, Any] = {}
    extra: list[str] = []
    files: list[str] = []
    for heading, lines in sections:
        body = "\n".join(lines).strip("\n")
        target = SECTIONS.get((heading or "").strip().rstrip(":").lower())
        if target == "files_changed":
            rest = []
            for line in lines:
                item = re.match(r"^\s*[-*+]\s+`?([^`]+?)`?\s*$", line)
                if item:
                    files.append(item.group(1))
                elif line.strip():
                    rest.append(line)
            if rest:  # prose in the section: kept, under its heading
                extra.append(f"## {heading}\n\n" + "\n".join(rest).strip("\n"))
        elif target is not None:
            fields[target] = (fields[target] + "\n\n" + body) if fields.get(target) else body
        elif heading is None:
            if body.strip():
                extra.append(body.strip("\n"))
        else:
            extra.append(f"## {heading}\n\n{body}".rstrip("\n"))
    if extra:
        fields["rationale"] = "\n\n".join([fields["rationale"], *extra]) \
            if fields.get("rationale") else "\n\n".join(extra)
    date = _date(meta.get("date")) or (m.group(1) if m else None)
    if date is None or _date(date) is None:
        raise FloatError(f"{name}: no date (a **Date:** line or a YYYY-MM-DD- file name)")
    record: dict[str, Any] = {
        "uid": "legacy-" + hashlib.sha256(name.encode()).hexdigest()[:24],
        "date": date,
        "title": title or (m.group(2).replace("-", " ") if m else name),
        "status": (meta.get("status") or "accepted").strip().lower(),
        "topic": meta.get("topic") or (m.group(2) if m else None),
        "folder_path": meta.get("folder_path"),
        **{k: v for k, v in fields.items() if v},
        "files_changed": files,
        "supersedes": meta.get("supersedes"),
        "created_at": date + "T00:00:00Z",
        "updated_at": date + "T00:00:00Z",
    }
    tags = [t.strip().lstrip("#") for t in re.split(r"[,\s]+", meta.get("tags", "")) if t.strip()]
    if tags:
        record["tags"] = sorted(set(tags))
    return {k: record[k] for k in (*record_format.LOG_COLUMNS, "tags")
            if record.get(k) not in (None, [])}


def _date(value: str | None) -> str | None:
    if not value:
        return None
    found = re.search(r"\d{4}-\d{2}-\d{2}", value)
    if found is None:
        return None
    try:
        return dt.date.fromisoformat(found.group(0)).isoformat()
    except ValueError:
        return None


def import_dir(store: Store, root: Path) -> dict[str, int]:
    """Import every ``*.md`` decision file under ``root``; re-importing changes nothing."""
    records = []
    for p in sorted(root.rglob("*.md")):
        if p.is_file() and not p.is_symlink():  # a folder named x.md is not a decision file
            records.append(parse(p.name, p.read_text(encoding="utf-8", errors="replace")))
    with store.write() as conn:
        result = Merger(conn, durable=False, source=str(root)).merge(
            ExportData(decisions=records))
    c = result.decisions
    return {"files": len(records), "added": c.added, "updated": c.updated,
            "unchanged": c.unchanged}
