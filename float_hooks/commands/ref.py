from __future__ import annotations

import argparse

from float_hooks.commands import _common
from float_hooks.errors import FloatError, quoted
from float_hooks.output import emit, emit_json
from float_hooks.store import paper_trail

HELP = "cross-references between folders, files, decisions, questions, URLs and commits"


def _typed(value: str) -> tuple[str, str]:
    kind, sep, ident = value.partition(":")
    if not sep or not ident:
        raise FloatError(f"{quoted(value)}: write TYPE:ID, e.g. folder:/src/auth or url:https://...")
    if kind == "folder":
        ident = _common.folder_arg(ident)
    return kind, ident


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="add a reference SOURCE -> TARGET (each TYPE:ID)")
    add.add_argument("source", metavar="SOURCE",
                     help="TYPE:ID, e.g. folder:/src/auth or log:UID")
    add.add_argument("target", metavar="TARGET",
                     help="TYPE:ID, e.g. url:https://example.org/spec or commit:SHA")
    add.add_argument("--context", help="why the two are related")
    _common.add_anchor(add)
    _common.add_json(add)
    lst = sub.add_parser("list", help="list references")
    lst.add_argument("--about", help="only references from or to this id (e.g. /src/auth)")
    _common.add_json(lst)


def run(args: argparse.Namespace) -> int:
    store = _common.store(args)
    if args.action == "add":
        (st, si), (tt, ti) = _typed(args.source), _typed(args.target)
        r = paper_trail.add_ref(store, st, si, tt, ti, args.context,
                                _common.anchors(args, store))
        if args.json:
            emit_json(r)
        else:
            emit(f"reference {r['uid'][:8]}: {st}:{si} -> {tt}:{ti}")
        return 0
    about = args.about
    if about and about.startswith("/"):
        about = _common.folder_arg(about) if not about.count(".") else about
    items = paper_trail.list_refs(store.conn, about=about)
    if args.json:
        emit_json(items)
    else:
        for r in items:
            ctx = f"  ({r['context']})" if r["context"] else ""
            emit(f"{r['source_type']}:{r['source_id']} -> {r['target_type']}:{r['target_id']}"
                 f"{ctx}")
        if not items:
            emit("no references")
    return 0
