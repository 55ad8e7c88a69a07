"""One budget for a whole regeneration request (DESIGN.md section 10): the outlines of the
folder's code files (signatures and first doc sentences, the best-ranked files and symbols
first), the previous context once, what changed with the diff of each changed file, the
children's summaries, and excerpts of what the outlines cannot say (READMEs, manifests,
docs, code without definitions) all share ``budget_tokens`` (characters / 4, as
``Request.estimate_tokens`` counts); every part is counted, and ``left_out`` says what did
not fit."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from float_hooks.code.answers import symbol_line
from float_hooks.code.rank import rank
from float_hooks.code.summaries import first_line

if TYPE_CHECKING:
    from float_hooks.regen.request import FileHead, Request

CHARS_PER_TOKEN = 4
# the most of the budget a part takes before the parts after it had their turn: previous
# context, what changed (with its diffs), the children; the outlines then take all that is
# left but EXCERPT_SHARE, kept for the excerpts; the excerpts take what the outlines left;
# the children cut short get what is still left
PREVIOUS_SHARE, CHANGED_SHARE, CHILDREN_SHARE, EXCERPT_SHARE = 0.15, 0.25, 0.15, 0.15
LEFT_OUT_ROOM = 600  # characters kept for the left_out list itself


def excerpt_share(budget: int, texts: int) -> int:
    """The most bytes of each of ``texts`` files a request's excerpts take from ``budget``
    (at least 1 KiB each: the files sorted first can then use up the budget alone)."""
    return max(1024, budget // max(1, texts))


def _size(value: Any) -> int:
    return len(json.dumps(value)) + 2  # the item and its ", " separator


class _Budget:
    def __init__(self, chars: int):
        self.left = chars
        self.left_out: list[str] = []

    def take(self, items: list[Any], cap: int, size: Callable[[Any], int] = _size
             ) -> list[Any]:
        """The first items that fit in ``min(cap, left)``; charged."""
        room = min(cap, self.left)
        kept = []
        for item in items:
            n = size(item)
            if n > room:
                break
            room -= n
            self.left -= n
            kept.append(item)
        return kept


def assemble(req: Request) -> dict[str, Any]:
    total = req.budget_tokens * CHARS_PER_TOKEN
    skeleton: dict[str, Any] = {"instructions": req.instructions, "path": req.path,
                "source_hash": req.source_hash, "commit": req.snapshot,
                "budget_tokens": req.budget_tokens, "outlines": [], "changed_since": None,
                "children": [], "files": [], "previous": None, "left_out": []}
    b = _Budget(total - len(json.dumps(skeleton)) - LEFT_OUT_ROOM)
    previous = _previous(req, b, int(total * PREVIOUS_SHARE))
    changed = _changed(req, b, int(total * CHANGED_SHARE))
    mark, start = len(b.left_out), b.left
    children = _children(req, b, int(total * CHILDREN_SHARE))
    cut, spent = b.left_out[mark:], start - b.left
    texts = _texts(req)
    reserve = min(int(total * EXCERPT_SHARE), req.input_budget, b.left) if texts else 0
    b.left -= reserve  # kept for the excerpts
    before, notes = b.left, len(b.left_out)
    outlines = _outlines(req, b)
    outlines_cost = before - b.left
    b.left += reserve
    files = _excerpts(req, b, texts)  # all that is left, at most input_budget bytes
    if len(b.left_out) > notes and "outlines" in b.left_out[notes] and b.left > 200:
        # what the excerpts did not need goes to the outlines first
        del b.left_out[notes]
        b.left += outlines_cost
        outlines = _outlines(req, b)
    if cut and b.left > 0:  # what the others left goes to the children cut short
        del b.left_out[mark:mark + len(cut)]
        b.left += spent
        children = _children(req, b, b.left)
    out = {**skeleton, "outlines": outlines, "changed_since": changed, "children": children,
           "files": files, "previous": previous, "left_out": b.left_out}
    while len(json.dumps(out)) > total and (files or outlines):
        part = files or outlines  # counted sizes are exact; this is a last guard
        dropped = part.pop()
        b.left_out.append(f"{dropped['path']} ({'excerpt' if part is files else 'outline'})")
    return out


def _previous(req: Request, b: _Budget, cap: int) -> dict[str, Any] | None:
    if req.previous is None:
        return None
    prev = dict(req.previous)
    if _size(prev) > cap and prev.get("map_children"):
        prev["map_children"] = None  # the children are listed with their summaries anyway
        b.left_out.append("previous map_children (the children below are current)")
    for key in ("context_what", "context_why", "map_summary"):
        if _size(prev) > cap and isinstance(prev.get(key), str):
            room = max(200, len(prev[key]) - (_size(prev) - cap))
            if room < len(prev[key]):
                prev[key] = _fit(prev[key], room)
                b.left_out.append(f"the end of previous {key}")
    patterns = prev.get("context_patterns")
    if _size(prev) > cap and isinstance(patterns, list):
        while patterns and _size(prev) > cap:
            patterns = patterns[:-1]
            prev["context_patterns"] = patterns
        b.left_out.append("some previous context_patterns")
    if _size(prev) > cap:  # what is left is still too long (texts full of escapes)
        prev = {k: (_fit(v, cap // 8) if isinstance(v, str) else v) for k, v in prev.items()}
    b.left -= _size(prev)
    return prev


def _slim(entry: dict[str, Any]) -> dict[str, Any]:
    """A changed file as ``why`` gives it, without what goes without saying (modes that did
    not change from a regular file's, a ``via`` of null)."""
    out = {k: v for k, v in entry.items() if v is not None or k in ("old_hash", "new_hash")}
    if out.get("old_mode") == out.get("new_mode") == "100644":
        del out["old_mode"], out["new_mode"]
    return out


def _fit(text: str, room: int) -> str:
    """``text``, cut so that its JSON string takes at most ``room`` characters."""
    if len(json.dumps(text)) <= room:
        return text
    cut = text[:room]
    while cut and len(json.dumps(cut)) > room - 20:
        cut = cut[: int(len(cut) * 0.8)]
    return cut + "\n… (cut)"


def _changed(req: Request, b: _Budget, cap: int) -> dict[str, Any] | None:
    if req.changed is None:
        return None
    out = {k: v for k, v in req.changed.items() if k not in ("changed_files", "via_children")}
    start = b.left
    b.left -= _size(out) + 60
    files = list(req.changed.get("changed_files", []))
    direct = [_slim(f) for f in files if f.get("via") is None]
    below = [_slim(f) for f in files if f.get("via") is not None]
    kept = b.take(direct + below, cap // 2)
    if len(kept) < len(files):
        b.left_out.append(f"{len(files) - len(kept)} of {len(files)} changed files")
    via = list(req.changed.get("via_children", []))
    kept_via = b.take(via, cap // 8)
    if len(kept_via) < len(via):
        b.left_out.append(f"{len(via) - len(kept_via)} of {len(via)} via_children")
    with_diff = [e for e in kept if e["path"] in req.diffs]
    missed = 0
    for i, entry in enumerate(with_diff):
        room = min(cap - (start - b.left), b.left)
        share = room // (len(with_diff) - i) - 10  # the rest shared fairly
        if share < 200:
            missed += 1
            continue
        text = _fit(req.diffs[entry["path"]], share)
        entry["diff"] = text
        b.left -= len(json.dumps(text)) + 10
    if missed:
        b.left_out.append(f"the diffs of {missed} changed files")
    return {**out, "changed_files": kept, "via_children": kept_via}


def _children(req: Request, b: _Budget, cap: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = [
        {"name": c["name"], "kind": "folder", "status": c["status"],
         "summary": c["map_summary"]} for c in req.folders]
    items += [{"name": f.name, "kind": f.kind, "size": f.size, "binary": f.binary,
               "summary": first_line(f.name, f.text) if not f.binary else None}
              for f in req.files]
    kept = b.take(items, cap)
    if len(kept) < len(items):
        b.left_out.append(f"{len(items) - len(kept)} of {len(items)} children")
    return kept


def _outlines(req: Request, b: _Budget) -> list[dict[str, Any]]:
    """The files' outlines in rank order, filled breadth first: each file's best symbol,
    then each file's second best, and so on, while the budget lasts."""
    ranked = [f for f in rank(req.outlines) if f.symbols]
    entries = {f.path: {"path": f.path, "language": req.outlines[f.path].language,
                        "symbols": [], "more": 0} for f in ranked}
    chosen: dict[str, list[Any]] = {f.path: [] for f in ranked}
    room = b.left
    depth, placed = 0, True
    while placed:
        placed = False
        for f in ranked:
            if depth >= len(f.symbols):
                continue
            s = f.symbols[depth][1]
            n = _size(symbol_line(s)) + (_size(entries[f.path]) + 4 if depth == 0 else 0)
            if n > room:
                continue
            room -= n
            chosen[f.path].append(s)
            placed = True
        depth += 1
    out = []
    cut = 0
    for f in ranked:
        syms = sorted(chosen[f.path], key=lambda s: s.line)  # shown in the file's order
        cut += len(f.symbols) - len(syms)
        if syms:
            entry = entries[f.path]
            entry["symbols"] = [symbol_line(s) for s in syms]
            entry["more"] = len(f.symbols) - len(syms)
            out.append(entry)
    b.left = room
    if cut:
        b.left_out.append(f"{cut} lower-ranked symbols (outlines)")
    return out


def _texts(req: Request) -> list[FileHead]:
    """The files the outlines say nothing about, README and manifests first."""
    described = {p for p, o in req.outlines.items() if o.symbols}
    texts = [f for f in req.files if not f.binary and f.kind in ("file", "executable")
             and f.path not in described]
    texts.sort(key=lambda f: (req.priority(f.name), f.name))
    return texts


def _excerpts(req: Request, b: _Budget, texts: list[FileHead]) -> list[dict[str, Any]]:
    """Excerpts of ``texts``, each at most its share of what is left (and of
    ``input_budget`` bytes)."""
    left = min(req.input_budget, b.left)
    share = excerpt_share(left, len(texts))
    out = []
    for f in texts:
        room = min(share, left)
        if room < 64 and len(f.head) > room:
            break  # too little left to say anything
        take = f.head[:room].decode("utf-8", "ignore")
        item = {"path": f.path, "excerpt": take, "truncated": len(take) < (f.size or 0)}
        n = _size(item)
        if n > b.left:
            break
        b.left -= n
        left -= len(take)
        out.append(item)
    if len(out) < len(texts):
        b.left_out.append(f"excerpts of {len(texts) - len(out)} files")
    return out
