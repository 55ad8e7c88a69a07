"""`float-hooks brief`: what an agent should know at session start, in at most 10,000
characters (Claude Code replaces a SessionStart hook's larger output with a file path, so the
brief always fits): the boot notes, the map's status, the project itself (the root's summary,
the top-level folders one line each, the main entry points), then the stale folders with what
changed (most important first, then "and N more"), recent decisions and open questions.

Each part has its own share of the budget (:data:`SHARES`), so thousands of stale folders
cannot crowd out the map; room a part does not use goes to the parts that were cut, in order.

"Most important" stale folders: those whose own files changed (not only their children's),
with the most changed files first; a folder stale only through its children comes after, since
its children are on the list. Built from a few queries over the map (no per-folder `why`), so
5,000 stale folders cost what 50 do.
"""

from __future__ import annotations

import json
from typing import Any

from float_hooks import paths
from float_hooks.project import BOOT_NAME, Project, read_float_file
from float_hooks.reads import anchored
from float_hooks.store.carry import HISTORY_GAP
from float_hooks.store.db import Store
from float_hooks.store.folder_context import status_counts

LIMIT = 10_000
BOOT_SHARE = 3_000  # characters of boot.md at most
SHOW_FILES = 4  # changed files named per stale folder
# characters of each part at most, before the room others leave is shared out
SHARES = {"map": 2_000, "entry": 600, "stale": 1_800, "decisions": 900, "questions": 700}
TOP_FOLDERS = 60
ENTRY_POINTS = 12
# file names that start a program or describe one, by how much they say (lower first)
_ENTRY_NAMES = {"readme.md": 0, "readme.rst": 0, "readme": 0, "__main__.py": 1, "main.go": 1,
                "main.py": 1, "main.rs": 1, "cli.py": 2, "app.py": 2, "manage.py": 2,
                "server.py": 2, "index.js": 2, "index.ts": 2, "main.js": 2, "main.ts": 2,
                "main.c": 2, "main.cpp": 2, "lib.rs": 2, "setup.py": 3, "pyproject.toml": 3,
                "package.json": 3, "cargo.toml": 3, "go.mod": 3, "makefile": 4,
                "dockerfile": 4}


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
    root = conn.execute("SELECT substr(map_summary, 1, 1000), substr(context_what, 1, 1000),"
                        " status FROM folders WHERE path = '/'").fetchone()
    top = [{"path": r[0], "status": r[1], "summary": r[2] and _clip(r[2], 160)}
           for r in conn.execute(
               "SELECT path, status, substr(map_summary, 1, 1000) FROM folders"
               " WHERE parent_path = '/' ORDER BY name LIMIT ?", (TOP_FOLDERS,))]
    return {"boot": _boot(project), "status": counts,
            "root": {"summary": root[0] and _clip(root[0], 300),
                     "what": root[1] and _clip(root[1], 600), "status": root[2]}
            if root else None,
            "top_folders": top, "entry_points": _entry_points(conn),
            "stale_total": len(stale), "stale": stale, "decisions": decisions,
            "questions": questions, "questions_open": questions_open}


def _entry_points(conn: Any) -> list[str]:
    """Files that start or describe the program, shallowest and most telling first: one
    pass over the file names (a LIKE per name would cost as much each)."""
    found = []
    for (path,) in conn.execute("SELECT path FROM files WHERE lower(substr(path,"
                                " length(folder_path) + 2)) IN ({}) OR folder_path = '/'"
                                .format(",".join("?" * len(_ENTRY_NAMES))), list(_ENTRY_NAMES)):
        rank = _ENTRY_NAMES.get(paths.name(path).lower())
        if rank is not None and paths.depth(path) <= 4:
            found.append((paths.depth(path), rank, path))
    return [p for _, _, p in sorted(found)[:ENTRY_POINTS]]


def _boot(project: Project) -> str:
    raw = read_float_file(project.float_dir / BOOT_NAME, 4 * BOOT_SHARE)  # what can be shown
    text = (raw or b"").decode("utf-8", "replace").strip()
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
    fresh = data.get("freshness") or {}
    if fresh.get("unsynced_changes"):
        top.append(f"Note: {fresh.get('note') or 'the map may be behind the work tree'}.")
    parts = {"map": _map_lines(data), "entry": _entry_lines(data),
             "stale": _stale_lines(data), "decisions": _decision_lines(data),
             "questions": _question_lines(data)}
    head_text = "\n".join(top)
    room = limit - len(head_text) - 2 - 60 * len(parts)  # 60: an "and N more" line each
    texts = _share(parts, max(0, room))
    out = head_text + "".join("\n\n" + t for t in texts.values() if t) + "\n"
    return out if len(out) <= limit else out[: limit - 2] + "…\n"


def _share(parts: dict[str, tuple[str, list[str], str]], room: int) -> dict[str, str]:
    """Each part (title, lines, what its cut-off line says) within its share of ``room``,
    then the room parts left unused given to the parts that were cut, in SHARES' order."""
    scale = room / sum(SHARES.values())
    budget = {k: int(SHARES[k] * scale) for k in parts}
    need = {k: len(t) + 1 + sum(len(x) + 1 for x in lines) for k, (t, lines, _) in parts.items()}
    spare = sum(max(0, budget[k] - need[k]) for k in parts)
    for k in parts:
        if need[k] > budget[k] and spare > 0:
            extra = min(spare, need[k] - budget[k])
            budget[k] += extra
            spare -= extra
    out = {}
    for k, (title, lines, more_text) in parts.items():
        if not title:
            out[k] = ""
            continue
        shown: list[str] = []
        used = len(title) + 1
        for line in lines:
            if used + len(line) + 1 > budget[k]:
                break
            shown.append(line)
            used += len(line) + 1
        left = len(lines) - len(shown)
        tail = [f"- and {left} more{more_text}"] if left else []
        out[k] = "\n".join([title, *shown, *tail])
    return out


def _map_lines(data: dict[str, Any]) -> tuple[str, list[str], str]:
    root, top = data["root"], data["top_folders"]
    lines: list[str] = []
    if root and (root["summary"] or root["what"]):
        lines.append(_clip(root["summary"] or root["what"], 300)
                     + ("" if root["status"] == "current" else f" [{root['status']}]"))
    lines += [f"- {_clip(f['path'], 80)}"
              + (f": {_clip(f['summary'], 140)}" if f["summary"] else "")
              + ("" if f["status"] == "current" else f" [{f['status']}]")
              for f in top[:TOP_FOLDERS]]
    if not lines:
        return "", [], ""
    return "## The project", lines, " (`float-hooks show /`)"


def _entry_lines(data: dict[str, Any]) -> tuple[str, list[str], str]:
    if not data["entry_points"]:
        return "", [], ""
    return "## Entry points", [f"- {_clip(p, 200)}" for p in data["entry_points"]], ""


def _stale_lines(data: dict[str, Any]) -> tuple[str, list[str], str]:
    if not data["stale"]:
        return "No stale folders.", [], ""
    title = (f"## Stale folders ({data['stale_total']}; refresh with next_job or"
             " `float-hooks regenerate`)")
    return title, [f"- {_clip(i['path'], 200)}: " + _what_changed(i) for i in data["stale"]], \
        " (`float-hooks stale`)"


def _decision_lines(data: dict[str, Any]) -> tuple[str, list[str], str]:
    if not data["decisions"]:
        return "", [], ""
    return "## Recent decisions", [
        f"- {d['date']} [{d['status']}] {_clip(d['title'], 120)}"
        + (f" ({d['folder_path']})" if d["folder_path"] else "") + _flags(d)
        for d in data["decisions"]], \
        " (`float-hooks log list`)"


def _question_lines(data: dict[str, Any]) -> tuple[str, list[str], str]:
    if not data["questions"]:
        return "", [], ""
    return f"## Open questions ({data['questions_open']})", [
        f"- #{q['id']} {_clip(q['question'], 160)}"
        + (f" ({q['folder_path']})" if q["folder_path"] else "") + _flags(q)
        for q in data["questions"]], \
        " (`float-hooks question list`)"


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
    while len(text) > limit and out["top_folders"]:  # a root with very many folders
        out["top_folders"] = out["top_folders"][: len(out["top_folders"]) // 2]
        text = dumped(lo)
    if len(text) > limit:  # a huge boot.md alone: cut it too
        out["boot"] = out["boot"][: max(0, len(out["boot"]) - (len(text) - limit) - 10)]
        text = json.dumps(out, ensure_ascii=False, indent=1)
    return text


def _clip(text: str, n: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"
