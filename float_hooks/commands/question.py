from __future__ import annotations

import argparse

from float_hooks.commands import _common
from float_hooks.output import emit, emit_json
from float_hooks.store import paper_trail

HELP = "open questions: add, resolve, list"


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="ask an open question")
    add.add_argument("question", help="the question, in quotes")
    add.add_argument("--context", help="what prompted it")
    add.add_argument("--folder", type=_common.folder_arg,
                     help="the folder the question is about")
    _common.add_anchor(add)
    _common.add_json(add)
    res = sub.add_parser("resolve", help="resolve a question by id or uid")
    res.add_argument("id", help="the question's id or uid (`question list` shows them)")
    res.add_argument("--by", required=True, help="what resolved it (decision uid, commit, text)")
    _common.add_json(res)
    lst = sub.add_parser("list", help="list open questions")
    lst.add_argument("--all", action="store_true", help="include resolved questions")
    lst.add_argument("--folder", type=_common.folder_arg,
                     help="only questions about this folder")
    _common.add_json(lst)


def run(args: argparse.Namespace) -> int:
    store = _common.store(args)
    if args.action == "add":
        q = paper_trail.add_question(store, args.question, args.context, args.folder,
                                     _common.anchors(args, store))
    elif args.action == "resolve":
        q = paper_trail.resolve_question(store, args.id, args.by)
    else:
        items = paper_trail.list_questions(store.conn, folder=args.folder,
                                       include_resolved=args.all)
        if args.json:
            emit_json(items)
        else:
            for i in items:
                done = f"  (resolved by {i['resolved_by']})" if i["resolved_at"] else ""
                where = f" [{i['folder_path']}]" if i["folder_path"] else ""
                emit(f"#{i['id']}{where} {i['question']}{done}")
            if not items:
                emit("no open questions")
        return 0
    if args.json:
        emit_json(q)
    else:
        state = "resolved" if q["resolved_at"] else "open"
        emit(f"question #{q['id']} ({q['uid'][:8]}) {state}")
    return 0
