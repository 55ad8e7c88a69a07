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
    """Search's answer: the hits, each with its folder's freshness, after outlining the code
    files not outlined yet (about a quarter of a second per search at most: ensure_fresh)."""
    store = b.store()
    pending = answers.ensure_fresh(store.conn, b.project.git)
    hits = search.search(store.conn, query, limit, marks)
    anchored.search_hits(anchored.evaluator(store.conn, b.project.git), store.conn, hits)
    out: dict[str, Any] = {"freshness": b.freshness(store), "results": hits}
    if pending:
        out["not_outlined_yet"] = pending  # code files whose symbols a later search will see
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
