from __future__ import annotations

import argparse
from typing import Any

from float_hooks.agents import tools
from float_hooks.commands import _common, _reads
from float_hooks.output import emit, emit_json
from float_hooks.reads.show import LIMIT, MAX_LIMIT
from float_hooks.store.record_format import listed

HELP = "a folder's context, children, status, decisions, questions and references"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", nargs="?", default="/", type=_common.folder_arg,
                   help="a folder (default: the root, /)")
    p.add_argument("--limit", type=int, default=LIMIT, metavar="N",
                   help=f"at most N children, decisions, questions and references each"
                        f" (default: {LIMIT}, at most {MAX_LIMIT})")
    p.add_argument("--offset", type=int, default=0, metavar="N",
                   help="skip the first N children (to page through a big folder)")
    _common.add_json(p)


def run(args: argparse.Namespace) -> int:
    m = _reads.fresh_map(args)
    try:
        data = tools.call(m, "show", {"path": args.path, "limit": args.limit,
                                      "offset": args.offset})
    finally:
        m.close()
    if args.json:
        emit_json(data)
        return 0
    _reads.say_freshness(data["freshness"])
    emit(f"{data['path']}  [{data['status']}]  hash {data['source_hash'][:12]}")
    for label, key in (("summary", "map_summary"), ("what", "context_what"),
                       ("why", "context_why")):
        if data[key]:
            emit(f"{label}: {data[key]}")
    for pattern in listed(data["context_patterns"]):
        emit(f"  pattern: {pattern}")
    if data["ai_model"]:
        emit(f"written by {data['ai_model']} at {data['ai_updated']}")
    for a in data.get("anchor_states") or []:
        emit("  " + anchor_line(a))
    if data.get("anchor_signal"):
        emit(f"  ({data['anchor_signal']})")
    emit("children:")
    # the files' one-line summaries, from the map the context was written with
    described = {m.get("name"): m.get("summary") for m in listed(data["map_children"])
                 if isinstance(m, dict) and m.get("kind") != "folder"}
    for c in data["children"]:
        if c["kind"] == "folder":
            extra = f" [{c['status']}] {c['map_summary'] or ''}"
        else:
            summary = described.get(c["name"])
            extra = f"  {summary}" if isinstance(summary, str) else ""
        emit(f"  {c['kind']:<10} {c['name']}{extra}".rstrip())
    if data["more"]["children"]:
        emit(f"  ... {data['more']['children']} more of {data['children_total']}"
             f" (--offset {args.offset + len(data['children'])})")
    for d in data["decisions"]:
        emit(f"decision {d['date']} [{d['status']}] {d['title']}" + flags(d))
    for q in data["questions"]:
        emit(f"question #{q['id']}: {q['question']}" + flags(q))
    for r in data["references"]:
        emit(f"ref {r['source_type']}:{r['source_id']} -> {r['target_type']}:{r['target_id']}")
    return 0


def anchor_line(a: dict[str, Any]) -> str:
    """``anchor /src/a.py::f: moved -> /src/b.py::f``."""
    now = f" -> {a['now']}" if a.get("now") else ""
    return f"anchor {a['anchor']}: {a['state']}{now}"


def flags(record: dict[str, Any]) -> str:
    bad = record.get("anchors_flagged") or []
    return ("  [anchors " + ", ".join(f"{a['state']}: {a['anchor']}" for a in bad) + "]"
            if bad else "")
