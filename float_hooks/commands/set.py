from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from float_hooks.commands import _common
from float_hooks.errors import FloatError, quoted
from float_hooks.output import emit, emit_json, error
from float_hooks.store import limits
from float_hooks.store.folder_context import WRITABLE_FIELDS, set_context

HELP = "write a folder's context (how agents write back); it becomes current for its hash"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", metavar="PATH", type=_common.folder_arg,
                   help="the folder whose context to write, e.g. /src/auth")
    p.add_argument("--summary", help="one-line map summary")
    p.add_argument("--what", help="what the folder is")
    p.add_argument("--why", help="why it exists")
    p.add_argument("--patterns", action="append", metavar="TEXT",
                   help="a pattern (repeat), or one JSON array")
    p.add_argument("--children-json", metavar="JSON", help="map_children as a JSON array")
    p.add_argument("--from-json", dest="json_input", metavar="FILE|-", type=_common.os_path,
                   help="read the fields from a JSON object in FILE (- for stdin), keyed by"
                        " column name: map_summary, context_what, context_why,"
                        " context_patterns, map_children, ai_model, context_hash")
    # the old spelling: every other command's --json prints JSON, this one read it
    p.add_argument("--json", dest="old_json_input", metavar="FILE|-", type=_common.os_path,
                   help=argparse.SUPPRESS)
    p.add_argument("--model", help="the AI model that wrote it")
    p.add_argument("--hash", dest="for_hash",
                   help="the folder hash the context was written against (default: now)")
    _common.add_anchor(p)
    p.add_argument("--print", dest="print_json", action="store_true",
                   help="print the folder as JSON afterwards")


# each field by the flag that sets it (the --from-json keys are the fields' own names)
FLAGS = {"map_summary": "--summary", "context_what": "--what", "context_why": "--why",
         "context_patterns": "--patterns", "map_children": "--children-json",
         "ai_model": "--model", "context_hash": "--hash"}


def _load_json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise FloatError(f"{quoted(what)}: invalid JSON ({e})") from None


def _read_input(source: str) -> str:
    """The text of ``--from-json FILE`` (``-``: stdin), UTF-8, bounded: a JSON object of
    every field at its limit, with room for escapes."""
    cap = 8 * len(WRITABLE_FIELDS) * limits.MAX_TEXT
    try:
        if source == "-":
            raw = sys.stdin.buffer.read(cap + 1)
        else:
            with open(source, "rb") as f:
                raw = f.read(cap + 1)
    except OSError as e:
        raise FloatError(f"{quoted(source)}: {e.strerror}") from e
    if len(raw) > cap:
        raise FloatError(f"{quoted(source)}: larger than {cap:,} bytes; give less")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        bad = raw[e.start:e.end].decode("utf-8", "backslashreplace")
        raise FloatError(f"{quoted(source)}: not UTF-8 text (byte {e.start}: {bad})") from None


def run(args: argparse.Namespace) -> int:
    fields: dict[str, Any] = {}
    model = args.model
    for_hash = args.for_hash
    if args.old_json_input is not None:
        error("`set --json FILE` is deprecated and will be removed: use `set --from-json FILE`")
        if args.json_input is None:
            args.json_input = args.old_json_input
    if args.json_input:
        data = _load_json(_read_input(args.json_input), args.json_input)
        if not isinstance(data, dict):
            raise FloatError(f"{args.json_input}: --from-json needs a JSON object")
        limits.check(data)  # named as the file names them
        model = data.pop("ai_model", model)
        for_hash = data.pop("context_hash", for_hash)
        data.pop("path", None)
        given = data.pop("anchors", None)
        if given is not None:
            if not isinstance(given, list) or not all(isinstance(a, str) for a in given):
                raise FloatError(f"{args.json_input}: anchors must be a list of text")
            args.anchors = [*given, *args.anchors]
        fields.update({k: v for k, v in data.items() if k in WRITABLE_FIELDS})
        unknown = set(data) - set(WRITABLE_FIELDS)
        if unknown:
            raise FloatError(f"{args.json_input}: unknown fields {', '.join(sorted(unknown))}")
    for key, value in (("map_summary", args.summary), ("context_what", args.what),
                       ("context_why", args.why)):
        if value is not None:
            fields[key] = value
    if args.patterns:
        if len(args.patterns) == 1 and args.patterns[0].lstrip().startswith("["):
            fields["context_patterns"] = _load_json(args.patterns[0], "--patterns")
        else:
            fields["context_patterns"] = list(args.patterns)
    if args.children_json is not None:
        fields["map_children"] = _load_json(args.children_json, "--children-json")
    if not fields and not args.anchors:
        raise FloatError("nothing to set: give --summary, --what, --why, --patterns,"
                         " --children-json, --anchor or --from-json")
    given = {"map_summary": args.summary, "context_what": args.what, "context_why": args.why,
             "ai_model": args.model, "context_hash": args.for_hash}
    given.update({k: fields[k] for k in ("context_patterns", "map_children")
                  if k in fields and (args.patterns or args.children_json is not None)})
    limits.check(given, FLAGS)
    store = _common.store(args)
    pinned = _common.anchors(args, store)
    if pinned is not None:
        fields["anchors"] = pinned
    saved = set_context(store, args.path, fields, model=model, for_hash=for_hash,
                        settles_conflicts=True)
    if args.print_json:
        emit_json(saved)
    else:
        emit(f"{saved['path']}: context written, {saved['status']}")
    return 0
