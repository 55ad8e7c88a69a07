"""`float-hooks brief`: what an agent should know at session start, in at most 10,000
characters (Claude Code replaces a SessionStart hook's larger output with a file path, so the
brief always fits): the boot notes, the map's status, the stale folders with what changed
(most important first, then "and N more"), recent decisions and open questions.

"Most important" stale folders: those whose own files changed (not only their children's),
with the most changed files first; a folder stale only through its children comes after, since
its children are on the list. Built from a few queries over the map (no per-folder `why`), so
5,000 stale folders cost what 50 do.
"""

from __future__ import annotations

import json
from typing import Any

from float_hooks import paths
from float_hooks.project import Project
from float_hooks.reads import anchored
from float_hooks.store.carry import HISTORY_GAP
from float_hooks.store.db import Store
from float_hooks.store.folder_context import status_counts

LIMIT = 10_000
BOOT_SHARE = 3_000  # characters of boot.md at most
SHOW_FILES = 4  # changed files named per stale folder


def gather(project: Project, store: Store) -> dict[str, Any]:
    conn = store.conn
    counts = status_counts(store)
    stale = _ranked_stale(conn)
    decisions = [dict(r) for r in conn.execute(
        "SELECT uid, date, status, title, folder_path, anchors FROM log_entries"
        " WHERE status != 'superseded' ORDER BY date DESC, id DESC LIMIT 8")]
    questions = [dict(r) for r in conn.execute(
        "SELECT id, uid, question, folder_path, anchors FROM open_questions"
        " WHERE resolved_at IS NULL ORDER BY id DESC LIMIT 8")]
    ev = anchored.evaluator(conn, project.git)  # the 16 records shown, not the repository
    for record in (*decisions, *questions):
        anchored.annotate(ev, record)
        record.pop("anchors", None)
        record.pop("anchor_states", None)  # the brief names the flagged ones only
        record.pop("anchor_states_derived", None)
    questions_open = conn.execute(
        "SELECT count(*) FROM open_questions WHERE resolved_at IS NULL").fetchone()[0]
    return {"boot": _boot(project), "status": counts, "stale_total": len(stale),
            "stale": stale, "decisions": decisions, "questions": questions,
            "questions_open": questions_open}


def _boot(project: Project) -> str:
    try:
        with open(project.float_dir / "boot.md", "rb") as f:
            text = f.read(4 * BOOT_SHARE).decode("utf-8", "replace")  # what can be shown
    except OSError:
        return ""
    text = text.strip()
    return text if len(text) <= BOOT_SHARE else text[: BOOT_SHARE - 1].rstrip() + "…"


def _ranked_stale(conn: Any) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT f.path, c.file_path FROM folders f LEFT JOIN changed_since c"
        " ON c.folder_path = f.path WHERE f.status = 'stale'").fetchall()
    folders: dict[str, dict[str, Any]] = {}
    for path, file_path in rows:
        item = folders.setdefault(path, {"path": path, "direct": [], "below": 0})
        if file_path is None or file_path == HISTORY_GAP:
            continue
        if paths.parent(file_path) == path:
            item["direct"].append(file_path)
        else:
            item["below"] += 1
    ranked = sorted(folders.values(),
                    key=lambda i: (-len(i["direct"]), -i["below"], paths.depth(i["path"]),
                                   i["path"]))
    return [{"path": i["path"], "changed_here": len(i["direct"]),
             "changed_below": i["below"],
             "files": [paths.name(f) for f in sorted(i["direct"])[:SHOW_FILES]]}
            for i in ranked]


def render(data: dict[str, Any], limit: int = LIMIT) -> str:
    """The brief as text, at most ``limit`` characters whatever the map holds."""
    s = data["status"]
    head = (s["head"] or "no commit")[:12]
    top = ["# float-hooks: the map of this repository", ""]
    if data["boot"]:
        top += [data["boot"], ""]
    top += [f"Map: {s['folders']} folders, {s['current']} current, {s['stale']} stale,"
            f" {s['pending']} without context (synced {s['snapshot'] or '-'} at {head}).",
            "Ask the float-hooks MCP server (show, search, why, decisions) or run"
            " `float-hooks show PATH` before exploring a folder; trust context only when it is"
            " current."]
    tail: list[str] = []
    if data["decisions"]:
        tail += ["", "## Recent decisions"]
        tail += [f"- {d['date']} [{d['status']}] {_clip(d['title'], 120)}"
                 + (f" ({d['folder_path']})" if d["folder_path"] else "") + _flags(d)
                 for d in data["decisions"]]
    if data["questions"]:
        tail += ["", f"## Open questions ({data['questions_open']})"]
        tail += [f"- #{q['id']} {_clip(q['question'], 160)}"
                 + (f" ({q['folder_path']})" if q["folder_path"] else "") + _flags(q)
                 for q in data["questions"]]
    stale_lines = [f"- {_clip(i['path'], 200)}: " + _what_changed(i) for i in data["stale"]]
    text_top, text_tail = "\n".join(top), "\n".join(tail)
    if stale_lines:
        title = f"\n\n## Stale folders ({data['stale_total']}; refresh with next_job or" \
                " `float-hooks regenerate`)\n"
        room = limit - len(text_top) - len(text_tail) - len(title) - 40
        shown: list[str] = []
        used = 0
        for line in stale_lines:
            if used + len(line) + 1 > room:
                break
            shown.append(line)
            used += len(line) + 1
        more = len(stale_lines) - len(shown)
        stale_text = title + "\n".join(shown) + (f"\n- and {more} more" if more else "")
    else:
        stale_text = "\n\nNo stale folders."
    out = text_top + stale_text + text_tail + "\n"
    return out if len(out) <= limit else out[: limit - 2] + "…\n"


def _flags(record: dict[str, Any]) -> str:
    bad = record.get("anchors_flagged") or []
    if not bad:
        return ""
    named = ", ".join(f"{_clip(a['anchor'], 100)} {a['state']}" for a in bad[:3])
    return f" -- anchored code: {named}" + (f", +{len(bad) - 3}" if len(bad) > 3 else "")


def _what_changed(item: dict[str, Any]) -> str:
    parts = []
    if item["changed_here"]:
        names = ", ".join(_clip(n, 60) for n in item["files"])
        extra = item["changed_here"] - len(item["files"])
        parts.append(f"{item['changed_here']} files changed ({names}"
                     + (f", +{extra}" if extra else "") + ")")
    if item["changed_below"]:
        parts.append(f"{item['changed_below']} below")
    return "; ".join(parts) or "changed (no file detail: run `float-hooks why`)"


def as_json(data: dict[str, Any], limit: int = LIMIT) -> str:
    """The brief as JSON, also at most ``limit`` characters: the stale list is cut to the
    longest prefix that fits (``stale_shown`` says how many)."""
    out = dict(data)

    def dumped(n: int) -> str:
        out["stale"], out["stale_shown"] = data["stale"][:n], n
        return json.dumps(out, ensure_ascii=False, indent=1)

    lo, hi = 0, len(data["stale"])
    while lo < hi:  # bisection: the largest n whose JSON fits
        mid = (lo + hi + 1) // 2
        if len(dumped(mid)) <= limit:
            lo = mid
        else:
            hi = mid - 1
    text = dumped(lo)
    if len(text) > limit:  # a huge boot.md alone: cut it too
        out["boot"] = out["boot"][: max(0, len(out["boot"]) - (len(text) - limit) - 10)]
        text = json.dumps(out, ensure_ascii=False, indent=1)
    return text


def _clip(text: str, n: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"
