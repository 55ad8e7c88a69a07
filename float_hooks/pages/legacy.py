"""Reading one FloatPrompt decision file (``YYYY-MM-DD-topic.md``) as a decision log entry.

A file looks like::

    # Use JWT for sessions
    **Date:** 2026-01-15
    **Status:** Locked -> Implemented (session 4)
    **Folders:** `src/auth/`, /docs

    ## Decision
    ...
    ## Rationale / ## Before / ## After / ## Files Changed / ## Future Agent
    ## Open Questions / ## Refined By / ## Superseded By / ## Supersedes
    ## Superseded Decisions

Known sections fill the entry's fields; nothing else is dropped: unknown sections, unknown
``**Key:** value`` lines and text before the first section are appended to the rationale with
their headings, so the whole file survives. The links (Folders, Refined By, Superseded By,
Supersedes, Superseded Decisions) and open questions are returned beside the record for the
tree import (legacy_tree.py) to resolve; their sections stay in the text as written.

A whole log tree, its summary files and the links between files: legacy_tree.py.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from float_hooks.errors import FloatError, quoted
from float_hooks.store import record_format

FILE_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})-(.+)\.md$")
_META_RE = re.compile(r"^\s*(?:[-*]\s+)?(?:\*\*([^*:]+):?\*\*:?|([A-Za-z][\w ]{0,30}):)\s*(.*)$")
_FENCE_RE = re.compile(r"^\s*(```|~~~)")
_BULLET_RE = re.compile(r"^( ?)(?:[-*+]|\d{1,3}[.)])\s+(.*)$")
# bounded repeats: a line of a million "[" costs a million short tries, not a million long ones
_LINK_RE = re.compile(r"\[([^\[\]\n]{0,500})\]\(\s{0,20}<?([^()\s<>]{1,1000})>?"
                      r"(?:\s{1,20}\"[^\"\n]{0,500}\")?\s{0,20}\)")
_DATED_NAME_RE = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*\d{4}-\d{2}-\d{2}-[\w-]+(?:\.md)?)")
_REPLACES_RE = re.compile(r"\b(?:replace[sd]?|supersede[sd]?|obsolete[sd]?)\b", re.I)
SECTIONS = {
    "decision": "decision",
    "decisions": "decision",
    "rationale": "rationale",
    "before": "before_state",
    "after": "after_state",
    "files changed": "files_changed",
    "future agent": "future_agent",
    "future agents": "future_agent",
    "notes for future agents": "future_agent",
}
# sections whose bullets are links or questions (the section's text is kept as well, except
# the question bullets, which become open questions)
LINK_SECTIONS = {
    "open questions": "questions",
    "open question": "questions",
    "questions": "questions",
    "unresolved questions": "questions",
    "refined by": "refined_by",
    "superseded by": "superseded_by",
    "replaced by": "superseded_by",
    "supersedes": "supersedes",
    "replaces": "supersedes",
    "superseded decisions": "superseded_decisions",
}
META = {"date": "date", "status": "status", "tags": "tags", "tag": "tags", "topic": "topic",
        "folder": "folders", "folders": "folders", "supersedes": "supersedes",
        "replaces": "supersedes", "superseded by": "superseded_by",
        "superseded_by": "superseded_by", "replaced by": "superseded_by",
        "refined by": "refined_by"}

# -- statuses --------------------------------------------------------------------------------
# The seed's vocabulary is locked, open and superseded. A status is read by its first word
# (or the two-word phrases below), case-insensitively: "Locked -> Implemented (session 4)" and
# "Locked (architecture), Open (implementation details)" are locked. A word not listed is
# open (nothing claims a decision settled that its file did not call settled). The status as
# written stays in the entry's text whenever it is not exactly the normalised one.
LOCKED, OPEN, SUPERSEDED = "locked", "open", "superseded"
STATUS_WORDS: dict[str, str] = {
    **dict.fromkeys(("locked", "lock", "accepted", "answered", "implemented", "validated",
                     "decided", "done", "complete", "completed", "final", "approved",
                     "resolved", "shipped", "adopted", "agreed"), LOCKED),
    **dict.fromkeys(("open", "draft", "in progress", "in-progress", "exploring", "pending",
                     "proposed", "proposal", "tabled", "deferred", "wip", "todo", "planned",
                     "under review", "investigating", "blocked", "partial", "needs",
                     "unresolved", "tbd"), OPEN),
    **dict.fromkeys(("superseded", "replaced", "deprecated", "obsolete", "retired",
                     "reverted", "rejected", "abandoned", "withdrawn", "dropped", "cancelled",
                     "canceled"), SUPERSEDED),
}
# meta lines kept in the text as well (the status only when it is not the normalised one)
_KEPT_META = ("status", "supersedes", "superseded_by", "refined_by")
DEFAULT_STATUS = LOCKED  # a dated decision file without a status line records a decision
_STATUS_HEAD_RE = re.compile(r"[a-z]+(?:[ -][a-z]+)?")


def normalise_status(raw: str | None) -> str:
    """The seed's status for a status as written (see :data:`STATUS_WORDS`)."""
    if raw is None or not raw.strip():
        return DEFAULT_STATUS
    text = re.sub(r"^[^A-Za-z]+", "", raw).lower()  # emphasis, emoji, brackets before it
    head = _STATUS_HEAD_RE.match(text)
    if head is None:
        return OPEN
    phrase = head.group(0)
    first = re.split(r"[ -]", phrase)[0]
    return STATUS_WORDS.get(phrase.replace("-", " ")) or STATUS_WORDS.get(phrase) \
        or STATUS_WORDS.get(first, OPEN)


# -- the parsed file -------------------------------------------------------------------------
@dataclass
class Item:
    """A bullet of a link section: its text as written and the link targets found in it."""

    text: str
    targets: list[str] = field(default_factory=list)

    @property
    def replaces(self) -> bool:
        """The item says the later decision replaces this one."""
        return _REPLACES_RE.search(_LINK_RE.sub(r"\1", self.text)) is not None


@dataclass
class Question:
    question: str
    context: str | None
    resolved: bool


@dataclass
class Entry:
    """A decision file: its log record and what the tree import resolves."""

    record: dict[str, Any]
    raw_status: str | None = None
    folders: list[str] = field(default_factory=list)  # as written, in order
    questions: list[Question] = field(default_factory=list)
    refined_by: list[Item] = field(default_factory=list)
    superseded_by: list[Item] = field(default_factory=list)
    supersedes: list[Item] = field(default_factory=list)
    superseded_decisions: list[Item] = field(default_factory=list)


def legacy_uid(key: str) -> str:
    return "legacy-" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:24]


def parse(name: str, text: str) -> dict[str, Any]:
    """One decision file as a log record (the export's format), nothing left out."""
    return parse_entry(name, text).record


def has_date(name: str, text: str) -> bool:
    """Whether a file dates itself (a YYYY-MM-DD- name or a **Date:** line)."""
    try:
        parse_entry(name, text)
    except FloatError:
        return False
    return True


def _split(text: str) -> tuple[str | None, dict[str, tuple[str, int]],
                               list[tuple[str | None, list[str]]]]:
    """(title, meta key -> (value, line index in the preamble), sections)."""
    title = None
    meta: dict[str, tuple[str, int]] = {}
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
                meta[META[key]] = (mm.group(3).strip(), len(sections[0][1]))
                if META[key] in _KEPT_META:  # kept in the text as written
                    sections[0][1].append(line)
                continue
        sections[-1][1].append(line)
    return title, meta, sections


def parse_entry(name: str, text: str) -> Entry:
    """One decision file (``name`` is its file name) as an :class:`Entry`."""
    m = FILE_RE.match(name)
    text = text.replace("\r\n", "\n").lstrip("\ufeff")
    title, meta, sections = _split(text)
    entry = Entry(record={})
    fields: dict[str, Any] = {}
    extra: list[str | None] = []
    files: list[str] = []
    for heading, lines in sections:
        body = "\n".join(lines).strip("\n")
        key = re.sub(r"\s+", " ", (heading or "").strip().rstrip(":").strip().lower())
        target = SECTIONS.get(key)
        linked = LINK_SECTIONS.get(key)
        if target == "files_changed":
            rest = _files_changed(lines, files)
            if rest:  # prose or notes in the section: kept, under its heading
                extra.append(f"## {heading}\n\n" + "\n".join(rest).strip("\n"))
        elif linked == "questions":
            rest = _questions(lines, entry.questions)
            if rest:
                extra.append(f"## {heading}\n\n" + "\n".join(rest).strip("\n"))
        elif target is not None:
            fields[target] = (fields[target] + "\n\n" + body) if fields.get(target) else body
        elif heading is None:
            extra.append(None)  # the preamble, once the status line is settled
        else:
            if linked is not None:
                getattr(entry, linked).extend(_items(lines))
            extra.append(f"## {heading}\n\n{body}".rstrip("\n"))
    date = _date(meta["date"][0] if "date" in meta else None) or (m.group(1) if m else None)
    if date is None or _date(date) is None:
        raise FloatError(f"{quoted(name, 200)}: no date (a **Date:** line or a YYYY-MM-DD-"
                         " file name)")
    for key in ("superseded_by", "refined_by", "supersedes"):
        if key in meta and meta[key][0]:
            getattr(entry, key).insert(0, _item(meta[key][0]))
    raw = meta["status"][0] if "status" in meta else None
    status = normalise_status(raw)
    if raw and (re.search(r"superseded by|replaced by", raw, re.I) or (
            status == SUPERSEDED and _item(raw).targets)):
        entry.superseded_by.insert(0, _item(raw))
    if entry.superseded_by or any(i.replaces for i in entry.refined_by):
        status = SUPERSEDED  # the file says a later decision replaces it
    preamble = sections[0][1]
    if "status" in meta and (raw is None or raw == status):
        del preamble[meta["status"][1]]  # the line adds nothing to the record's status
    body = "\n".join(preamble).strip("\n")
    kept = [body if e is None else e for e in extra]
    kept = [e for e in kept if e.strip()]
    if kept:
        fields["rationale"] = "\n\n".join([fields["rationale"], *kept]) \
            if fields.get("rationale") else "\n\n".join(kept)
    entry.raw_status = raw
    entry.folders = _folder_list(meta["folders"][0]) if "folders" in meta else []
    record: dict[str, Any] = {
        "uid": legacy_uid(name),
        "date": date,
        "title": title or (m.group(2).replace("-", " ") if m else name),
        "status": status,
        "topic": meta["topic"][0] if "topic" in meta else (m.group(2) if m else None),
        **{k: v for k, v in fields.items() if v},
        "files_changed": files,
        "created_at": date + "T00:00:00Z",
        "updated_at": date + "T00:00:00Z",
    }
    tags = [t.strip().lstrip("#") for t in re.split(r"[,\s]+", meta["tags"][0])
            if t.strip()] if "tags" in meta else []
    if tags:
        record["tags"] = sorted(set(tags))
    entry.record = {k: record[k] for k in (*record_format.LOG_COLUMNS, "tags")
                    if record.get(k) not in (None, [], "")}
    return entry


def _files_changed(lines: list[str], files: list[str]) -> list[str]:
    """Paths of a Files Changed section into ``files``; the lines to keep as text (prose, and
    items with a note after the path)."""
    rest = []
    for line in lines:
        ticked = re.match(r"^\s*[-*+]\s+`([^`\n]+)`(.*)$", line)
        bare = re.match(r"^\s*[-*+]\s+(\S+?)\s*$", line)
        noted = re.match(r"^\s*[-*+]\s+(\S*/\S*)\s+[—–-]+\s+\S.*$", line)
        if ticked:
            files.append(ticked.group(1).strip())
            if ticked.group(2).strip():
                rest.append(line)
        elif bare:
            files.append(bare.group(1))
        elif noted:
            files.append(noted.group(1))
            rest.append(line)
        elif line.strip() or (rest and rest[-1].strip()):
            rest.append(line)  # prose, with one blank line between paragraphs
    return rest


def _bullets(lines: list[str]) -> tuple[list[tuple[str, list[str]]], list[str]]:
    """Top-level bullets (text, continuation lines) and the lines outside any bullet."""
    items: list[tuple[str, list[str]]] = []
    rest: list[str] = []
    fenced = False
    for line in lines:
        if _FENCE_RE.match(line):
            fenced = not fenced
        bm = None if fenced else _BULLET_RE.match(line)
        if bm:
            items.append((bm.group(2).strip(), []))
        elif items and line.strip() and (line[:1] in (" ", "\t") or fenced):
            items[-1][1].append(line.strip())
        else:
            if line.strip() or rest:
                rest.append(line)
            if line.strip() and items:
                items.append(("", []))  # prose ends the bullet before it
    return [(t, c) for t, c in items if t], rest


def _questions(lines: list[str], into: list[Question]) -> list[str]:
    items, rest = _bullets(lines)
    for text, more in items:
        box = re.match(r"^\[( |x|X)\]\s+(.*)$", text)
        resolved = bool(box and box.group(1) in "xX") or (
            text.startswith("~~") and text.endswith("~~") and len(text) > 4)
        into.append(Question(box.group(2) if box else text,
                             "\n".join(more) or None, resolved))
    return rest


def _items(lines: list[str]) -> list[Item]:
    items, _ = _bullets(lines)
    return [_item(text if not more else text + "\n" + "\n".join(more)) for text, more in items]


def _item(text: str) -> Item:
    targets = [t for _, t in _LINK_RE.findall(text)]
    if not targets:
        targets = [t for t in _DATED_NAME_RE.findall(text.replace("`", " "))]
    return Item(text, targets)


def _folder_list(value: str) -> list[str]:
    """The paths of a ``**Folders:**`` line as written (backticks and links undone)."""
    out = []
    for piece in re.split(r"[,;]", value):
        ticked = re.findall(r"`([^`]+)`", piece)
        linked = _LINK_RE.findall(piece)
        if ticked:
            out += [t.strip() for t in ticked]
        elif linked:
            out += [t for _, t in linked]
        else:
            piece = re.sub(r"\s+\(.*\)\s*$", "", piece).strip().strip("\"'")
            if piece:
                out.append(piece)
    return [p for p in out if p]


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
