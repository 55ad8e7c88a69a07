"""What the dashboard shows, read from the delivery queue and each repository's map: plain
dicts for the templates (views.py renders them; Jinja escapes every value).

Every list is capped (repositories, stale folders, jobs, folders in the tree): a pushed
repository chooses how many folders it has, and a page must stay cheap to render.
"""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from float_hooks.errors import FloatError, NoDatabase
from float_hooks.reads.stale import stale_count, stale_list
from float_hooks.regen import job_queue
from float_hooks.store.folder_context import status_counts
from webhook.names import InvalidName
from webhook.queues.row_view import retry_state
from webhook.queues.sqlite_queue import DB_FILE as QUEUE_FILE
from webhook.queues.sqlite_queue import Queue
from webhook.storage.maps import map_path, open_map
from webhook.work.pipeline import BRANCH_KEY

MAX_REPOS = 200
MAX_STALE = 50
MAX_JOBS = 50
MAX_FOLDERS = 2000
DELIVERIES_OVERVIEW = 5
DELIVERIES_REPO = 30
READ_TIMEOUT = 2.0  # a page does not wait long for a map being written


def when(epoch: float | None) -> str:
    if not epoch:
        return ""
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def repositories(data_dir: Path, key: str | None = None) -> list[dict[str, Any]]:
    """Every repository a delivery was received for, most recently active first (``key``:
    that one only)."""
    if not (data_dir / QUEUE_FILE).exists():
        return []
    q = Queue(data_dir, create=False)
    try:
        return _repositories(q, key)
    finally:
        q.close()


def _repositories(q: Queue, key: str | None) -> list[dict[str, Any]]:
    rows = q.conn.execute(
        "SELECT repo, full_name, max(received_at) AS last FROM deliveries"
        " WHERE ?1 IS NULL OR repo = ?1 GROUP BY repo ORDER BY last DESC LIMIT ?2",
        (key, MAX_REPOS)).fetchall()
    return [{"key": r["repo"], "full_name": r["full_name"], "last_delivery": when(r["last"])}
            for r in rows]


def deliveries(data_dir: Path, key: str, limit: int) -> list[dict[str, Any]]:
    q = Queue(data_dir, create=False)
    try:
        return delivery_rows(q.rows(key, limit=limit))
    finally:
        q.close()


def delivery_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Delivery rows (oldest first, as both queues give them) for the page, newest first."""
    out = []
    for r in reversed(rows):
        result = r["result"] if isinstance(r["result"], dict) else {}
        state, next_attempt_at = retry_state(r)
        out.append({
            "delivery": r["delivery"], "kind": r["kind"], "ref": r["ref"] or "",
            "after": (r["after"] or "")[:12], "state": state, "attempts": r["attempts"],
            "next_attempt_at": next_attempt_at,
            "received": when(r["received_at"]), "finished": when(r["finished_at"]),
            "error": r["error"] or "", "reason": str(result.get("reason") or ""),
        })
    return out


def _store(data_dir: Path, full_name: str) -> Any:
    """The repository's map, read-only; None when there is none (yet)."""
    try:
        return open_map(map_path(data_dir, full_name), READ_TIMEOUT)
    except (InvalidName, NoDatabase):
        return None


def _stale(conn: sqlite3.Connection) -> tuple[list[dict[str, Any]], int]:
    return [stale_row(f) for f in stale_list(conn, limit=MAX_STALE)], stale_count(conn)


def stale_row(folder: dict[str, Any]) -> dict[str, Any]:
    """A stale folder (context.stale_list's, or as published) as the page shows it."""
    return {"path": folder["path"], "changed_files": folder["changed_files"][:20],
            "changed_count": len(folder["changed_files"]),
            "via_children": folder["via_children"][:20]}


def _jobs(conn: sqlite3.Connection) -> tuple[list[dict[str, Any]], dict[str, int]]:
    return job_queue.list_jobs(conn, limit=MAX_JOBS), job_queue.job_states(conn)


def summary(data_dir: Path, repo: dict[str, Any], *, deliveries_limit: int
            ) -> dict[str, Any]:
    """One repository's head, counts, stale folders (why), jobs and last deliveries."""
    return _with_map(data_dir, {**repo, "deliveries": deliveries(data_dir, repo["key"],
                                                                 deliveries_limit)})


def overview(data_dir: Path) -> list[dict[str, Any]]:
    """Every repository's summary: the queue opened once (one query for the repositories,
    one for their last deliveries), then each repository's map (its own file) once."""
    if not (data_dir / QUEUE_FILE).exists():
        return []
    q = Queue(data_dir, create=False)
    try:
        repos = _repositories(q, None)
        recent = q.recent([r["key"] for r in repos], DELIVERIES_OVERVIEW)
    finally:
        q.close()
    return [_with_map(data_dir, {**r, "deliveries": delivery_rows(recent[r["key"]])})
            for r in repos]


def _with_map(data_dir: Path, out: dict[str, Any]) -> dict[str, Any]:
    """``out`` (a repository with its deliveries) with what its map says, in one read."""
    out["map"] = None
    out["problem"] = ""
    try:
        store = _store(data_dir, out["full_name"])
    except (FloatError, sqlite3.Error) as e:
        out["problem"] = f"the map cannot be read now: {e}"
        return out
    if store is None:
        out["problem"] = "no map yet (being built, or no push to the tracked branch)"
        return out
    try:
        conn = store.conn
        conn.execute("BEGIN")  # one consistent read
        try:
            counts = status_counts(store)
            counts["branch"] = store.get_meta(BRANCH_KEY)
            stale, stale_total = _stale(conn)
            jobs, job_states = _jobs(conn)
        finally:
            conn.execute("COMMIT")
        out["map"] = {"counts": counts, "stale": stale, "stale_total": stale_total,
                      "jobs": jobs, "job_states": job_states}
    except (FloatError, sqlite3.Error) as e:
        out["problem"] = f"the map cannot be read now: {e}"
    finally:
        store.close()
    return out


def find(data_dir: Path, key: str) -> dict[str, Any] | None:
    """The repository ``key``, however long since its last delivery."""
    return next(iter(repositories(data_dir, key)), None)


def tree(data_dir: Path, full_name: str) -> tuple[list[dict[str, Any]], int]:
    """The folders, in path order (a depth-first walk), with their context and status."""
    store = _store(data_dir, full_name)
    if store is None:
        return [], 0
    try:
        conn = store.conn
        total = conn.execute("SELECT count(*) FROM folders").fetchone()[0]
        rows = conn.execute(
            "SELECT path, name, status, map_summary, context_what, context_why,"
            " context_patterns, source_hash, context_hash, context_commit, ai_model,"
            " ai_updated FROM folders ORDER BY path LIMIT ?", (MAX_FOLDERS,)).fetchall()
    finally:
        store.close()
    return tree_rows([dict(r) for r in rows]), int(total)


def tree_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Folder rows (a map's columns, or a published document's fields) for the tree."""
    out = []
    for r in sorted(rows, key=lambda r: r["path"].split("/")):  # parents before children
        patterns = r.get("context_patterns") or []
        if isinstance(patterns, str):
            try:
                patterns = json.loads(patterns)
            except ValueError:
                patterns = []
        if not isinstance(patterns, list):
            patterns = [patterns]
        path = r["path"]
        out.append({
            "path": path, "name": r.get("name") or path,
            "depth": 0 if path == "/" else path.count("/"),
            "status": r.get("status"), "summary": r.get("map_summary") or "",
            "what": r.get("context_what") or "", "why": r.get("context_why") or "",
            "patterns": [str(p) for p in patterns][:50],
            "source_hash": (r.get("source_hash") or "")[:12],
            "context_hash": (r.get("context_hash") or "")[:12],
            "context_commit": (r.get("context_commit") or "")[:12],
            "model": r.get("ai_model") or "", "updated": r.get("ai_updated") or "",
        })
    return out


def generated() -> str:
    return when(time.time())
