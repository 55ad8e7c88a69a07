"""What the read tools answer beyond a plain read (tools.py holds the tools): the stale list
and search with their freshness, lists bounded by a limit and a size, a folder's freshness.
The CLI's read commands give the same answers (commands/_reads.py)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from float_hooks.code import answers
from float_hooks.code.answers import folder_freshness as fresh_folder
from float_hooks.reads import anchored, search, stale

if TYPE_CHECKING:
    from float_hooks.agents.tools import Backend

LIST_CHARS = 64 * 1024  # of one list answer's items (decisions, questions), whatever the limit


def stale_answer(b: Backend, limit: int | None) -> dict[str, Any]:
    """The stale folders, the first ``limit`` (None: all) explained, with freshness."""
    store = b.store()
    total = stale.stale_count(store.conn)
    shown = stale.stale_list(store.conn, b.history(True), limit)
    for item in shown:
        item.update(fresh_folder(store.conn, item["path"]))
    return {"freshness": b.freshness(store), "total": total, "folders": shown,
            "more": max(0, total - len(shown))}


def bounded(a: dict[str, Any], key: str, default: int, most: int) -> int:
    return max(1, min(int(a.get(key, default)), most))


def search_answer(b: Backend, query: str, limit: int,
                  marks: tuple[str, str] = search.MARKS) -> dict[str, Any]:
    """Search's answer: the hits, each with its folder's freshness. With a background
    outliner (the stdio server) it answers from the outlines there are, saying how far
    outlining is while incomplete (``outlines``); without one (the CLI) it first outlines the
    code files not outlined yet, about a quarter of a second per search at most
    (ensure_fresh), saying how many are left (``not_outlined_yet``)."""
    store = b.store()
    outliner = getattr(b, "outliner", None)  # LocalMap's; other backends have none
    pending = 0 if outliner is not None else answers.ensure_fresh(store.conn, b.project.git)
    hits = search.search(store.conn, query, limit, marks)
    anchored.search_hits(anchored.evaluator(store.conn, b.project.git), store.conn, hits)
    out: dict[str, Any] = {"freshness": b.freshness(store), "results": hits}
    if pending:
        out["not_outlined_yet"] = pending  # code files whose symbols a later search will see
    progress = outliner.progress(store.conn) if outliner is not None else None
    if progress is not None:
        out["outlines"] = progress
    return out


def where_answer(b: Backend, name: str, limit: int) -> dict[str, Any]:
    """Where's answer: with a background outliner, after a bounded catch-up (an edited
    file's symbols; ensure_fresh) and saying how far outlining is while incomplete; without
    one, after outlining every code file not outlined yet."""
    store = b.store()
    outliner = getattr(b, "outliner", None)  # LocalMap's; other backends have none
    if outliner is not None:
        answers.ensure_fresh(store.conn, b.project.git)
    out = {"freshness": b.freshness(store), **answers.where(
        store.conn, b.project.git, name, limit, catch_up=outliner is None)}
    progress = outliner.progress(store.conn) if outliner is not None else None
    if progress is not None:
        out["outlines"] = progress
    return out


def capped(items: list[dict[str, Any]], limit: int) -> tuple[list[dict[str, Any]], int]:
    """The first ``limit`` items that fit in LIST_CHARS characters of JSON; how many left."""
    shown: list[dict[str, Any]] = []
    size = 0
    for item in items[:limit]:
        size += len(json.dumps(item, ensure_ascii=False))
        if size > LIST_CHARS and shown:
            break
        shown.append(item)
    return shown, len(items) - len(shown)
