from __future__ import annotations

import argparse
from typing import Any

from float_hooks.agents import tools
from float_hooks.commands import _common, _reads
from float_hooks.commands.show import anchor_line
from float_hooks.output import bounded, emit, emit_json

HELP = "why a folder is stale: the files changed since its context was written, and the child"\
       " folders that carried each change up"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", type=_common.folder_arg, help="a folder, e.g. /src/auth")
    _common.add_json(p)


def run(args: argparse.Namespace) -> int:
    m = _reads.fresh_map(args)
    try:
        info = tools.call(m, "why", {"path": args.path, "limit": 5000})
    finally:
        m.close()
    if args.json:
        emit_json(info)
        return 0
    _reads.say_freshness(info["freshness"])
    _anchors(info)
    if info["status"] == "pending":
        emit(f"{args.path} is pending: no context has been written for it yet")
        return 0
    if info["status"] == "current":
        emit(f"{args.path} is current: nothing changed since its context was written")
        return 0
    emit(f"{args.path} is stale: context written for {info['context_hash'][:12]},"
         f" folder is now {info['source_hash'][:12]}")
    changes = [f"{c['change']:<8} {c['path']}" + (f"  (via {c['via']})" if c["via"] else "")
               for c in info["changed_files"]]
    if changes:
        emit(bounded(changes))  # --json has every one
    if info["changed_files_total"] > len(info["changed_files"]):
        emit(f"  ... and {info['changed_files_total'] - len(info['changed_files'])} more")
    if info["detail_source"] == "commit":
        emit(f"  (compared with commit {info['context_commit'][:12]}, where the context was"
             " written: it came without a file history, e.g. from an import)")
    if not info["detail_complete"]:
        emit("  (incomplete: this context came without a file history, e.g. from an import,"
             " and the commit it names does not hold what it described)")
    return 0


def _anchors(info: dict[str, Any]) -> None:
    """What the anchors say, before the hash rule's answer (a second, finer signal)."""
    for a in info["anchor_states"]:
        emit(anchor_line(a))
        if a.get("diff"):
            emit(a["diff"].rstrip("\n"))
    if info["anchor_signal"]:
        emit(f"({info['anchor_signal']})")
    for r in info["anchored_records"]:
        emit(f"{r['kind']} {r['uid'][:8]} {r['text']}: anchors changed or gone")
        for a in r["anchors_flagged"]:
            emit("  " + anchor_line(a))
            if a.get("diff"):
                emit(a["diff"].rstrip("\n"))
