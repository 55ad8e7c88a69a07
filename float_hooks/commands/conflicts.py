from __future__ import annotations

import argparse

from float_hooks.commands import _common
from float_hooks.output import emit, emit_json
from float_hooks.store import conflicts

HELP = ("versions of context, decisions or questions written concurrently (two people, two"
        " exports): list them, keep one")


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action")
    lst = sub.add_parser("list", help="list open conflicts (the default)")
    _json_too(lst)
    res = sub.add_parser("resolve", help="settle a conflict by keeping one side")
    res.add_argument("id", help="the conflict's id or uid (as `conflicts` lists them)")
    res.add_argument("--keep", required=True, choices=conflicts.SIDES,
                     help="local: the version this map had; incoming: the one an import"
                     " brought (a `set` of the folder settles its conflicts too)")
    _json_too(res)
    _common.add_json(p)


def _json_too(sub: argparse.ArgumentParser) -> None:
    """``--json`` after the subcommand as well as before it: no default of its own, which
    would undo one given before."""
    sub.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                     help="print machine-readable JSON")


def run(args: argparse.Namespace) -> int:
    store = _common.store(args)
    try:
        if args.action == "resolve":
            out = conflicts.resolve(store, args.id, args.keep)
            if args.json:
                emit_json(out)
            else:
                emit(f"{out['kind']} {out['key']}: kept the {out['kept']} version")
            return 0
        items = conflicts.listing(store.conn)
    finally:
        store.close()
    if args.json:
        emit_json(items)
        return 0
    for c in items:
        rec, shown = c["record"], c["shown"] or {}
        emit(f"#{c['id']} ({c['uid'][:8]}) {c['kind']} {c['key']}")
        emit(f"  shown:    {_gist(shown)}  [{shown.get('version', '-')}]")
        emit(f"  {c['side']:<9} {_gist(rec)}  [{c['version']}]"
             + (f"  from {c['source']}" if c.get("source") else ""))
    if not items:
        emit("no conflicts")
    return 0


def _gist(rec: dict[str, object]) -> str:
    for key in ("map_summary", "context_what", "title", "question", "context"):
        value = rec.get(key)
        if isinstance(value, str) and value:
            line = " ".join(value.split())
            return line[:70] + ("…" if len(line) > 70 else "")
    stamp = rec.get("ai_updated") or rec.get("updated_at") or ""
    return f"(written {stamp})"
