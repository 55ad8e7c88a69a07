"""What the dashboard shows, read from the delivery queue and each repository's map: plain
dicts for the templates (views.py renders them; Jinja escapes every value).

Every list is capped (repositories, stale folders, jobs, folders in the tree): a pushed
repository chooses how many folders it has, and a page must stay cheap to render.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from float_hooks.errors import FloatError, NoDatabase
from float_hooks.reads.stale import stale_count, stale_list
from float_hooks.regen import job_queue
from float_hooks.store.folder_context import status_counts
from float_hooks.store.record_format import listed, load_json
from webhook.dashboard.shape import (
    STALE_SYNCS,
    Filter,
    add_stale_since,
    delivery_rows,
    stale_row,
    when,
)
from webhook.names import InvalidName
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


# a delivery's state as the dashboard names it: a row put back after a failed attempt is
# retrying (shape.retrying says the same of a row)
SHOWN_STATE = ("CASE WHEN d.state = 'retrying' OR (d.state = 'queued' AND d.attempts > 0 AND"
               " coalesce(d.error, '') != '') THEN 'retrying' ELSE d.state END")
FETCHED = "EXISTS (SELECT 1 FROM deliveries d WHERE d.repo = g.repo AND d.state = 'done')"
_STATE_SQL = {  # a repository in this state: has such a delivery now, or its last outcome
    "open": f"EXISTS (SELECT 1 FROM deliveries d WHERE d.repo = g.repo AND {SHOWN_STATE} = ?)",
    "settled": "(SELECT d.state FROM deliveries d WHERE d.repo = g.repo AND d.state IN"
               " ('done', 'failed') ORDER BY d.id DESC LIMIT 1) = ?",
}


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


def state_sql(state: str | None) -> str:
    """The condition on a repository (``g.repo``) for a delivery state of the filter."""
    if state is None:
        return "1"
    return _STATE_SQL["settled" if state in ("done", "failed") else "open"]


def _repositories(q: Queue, key: str | None, filt: Filter | None = None,
                  fetched_since: float | None = None) -> list[dict[str, Any]]:
    """``filt``: the name and delivery state to match; ``fetched_since``: a repository that
    never fetched (no delivery done) is left out when its last delivery is older."""
    filt = filt or Filter()
    args: list[Any] = [key, filt.name]
    sql = ("SELECT repo, full_name, last FROM (SELECT repo, full_name, max(received_at) AS"
           " last FROM deliveries WHERE ?1 IS NULL OR repo = ?1 GROUP BY repo) g"
           " WHERE (?2 = '' OR instr(g.repo, ?2) > 0)")
    if filt.delivery_state is not None:
        sql += f" AND {state_sql(filt.delivery_state)}"
        args.append(filt.delivery_state)
    if fetched_since is not None:
        sql += f" AND (g.last >= ? OR {FETCHED})"
        args.append(fetched_since)
    scope, scope_args = _scope_sql(filt)  # the token's scope, before the limit
    sql += scope
    args += scope_args
    rows = q.conn.execute(sql + " ORDER BY last DESC LIMIT ?", (*args, MAX_REPOS)).fetchall()
    return [{"key": r["repo"], "full_name": r["full_name"], "last_delivery": when(r["last"])}
            for r in rows]


def _scope_sql(filt: Filter) -> tuple[str, list[Any]]:
    """The condition on a repository (``g.repo``) for the token's scope in ``filt``."""
    if filt.owner_prefix is not None:
        return " AND substr(g.repo, 1, ?) = ?", [len(filt.owner_prefix), filt.owner_prefix]
    if filt.scope != "*":
        return " AND g.repo = ?", [filt.scope]
    return "", []


def aged_out(data_dir: Path, fetched_since: float, filt: Filter | None = None) -> int:
    """How many repositories never fetched and had no delivery since ``fetched_since``: left
    out of the overview (nothing of theirs is deleted; their pages still answer); only those
    in ``filt``'s scope (a token's)."""
    if not (data_dir / QUEUE_FILE).exists():
        return 0
    scope, args = _scope_sql(filt or Filter())
    q = Queue(data_dir, create=False)
    try:
        row = q.conn.execute(
            "SELECT count(*) FROM (SELECT repo, max(received_at) AS last FROM deliveries"
            f" GROUP BY repo) g WHERE g.last < ? AND NOT {FETCHED}{scope}",
            (fetched_since, *args)).fetchone()
    finally:
        q.close()
    return int(row[0])


def syncs(q: Queue, key: str) -> Iterator[dict[str, Any]]:
    """The repository's last STALE_SYNCS done deliveries, newest first, as add_stale_since
    reads them; lazily (it stops once it knows every stale folder: most went stale at one of
    the last few syncs)."""
    cur = q.conn.execute(
        "SELECT finished_at, json_extract(result, '$.sync.head') AS head,"
        " json_extract(result, '$.sync.became_stale') AS listed,"
        " json_extract(result, '$.sync.became_stale_count') AS n FROM deliveries"
        " WHERE repo = ? AND state = 'done' AND json_valid(result) ORDER BY id DESC LIMIT ?",
        (key, STALE_SYNCS))
    try:
        for r in cur:
            if r["listed"] is not None:
                yield {"finished_at": r["finished_at"], "head": r["head"],
                       "listed": r["listed"], "count": r["n"]}
    finally:
        cur.close()


def _store(data_dir: Path, full_name: str) -> Any:
    """The repository's map, read-only; None when there is none (yet)."""
    try:
        return open_map(map_path(data_dir, full_name), READ_TIMEOUT)
    except (InvalidName, NoDatabase):
        return None


def _stale(conn: sqlite3.Connection, recent_syncs: Iterable[dict[str, Any]]
           ) -> tuple[list[dict[str, Any]], int]:
    stale = [stale_row(f) for f in stale_list(conn, limit=MAX_STALE)]
    paths = [f["path"] for f in stale]
    contexts = {r["path"]: dict(r) for r in conn.execute(
        "SELECT path, context_commit, ai_updated FROM folders WHERE path IN"
        f" ({','.join('?' * len(paths))})", paths)} if paths else {}
    add_stale_since(stale, recent_syncs, contexts)
    return stale, stale_count(conn)


def _jobs(conn: sqlite3.Connection) -> tuple[list[dict[str, Any]], dict[str, int]]:
    return job_queue.list_jobs(conn, limit=MAX_JOBS), job_queue.job_states(conn)


def summary(data_dir: Path, repo: dict[str, Any], *, deliveries_limit: int
            ) -> dict[str, Any]:
    """One repository's head, counts, stale folders (why, since when), jobs and last
    deliveries."""
    q = Queue(data_dir, create=False)
    try:
        rows = delivery_rows(q.rows(repo["key"], limit=deliveries_limit))
        return _with_map(data_dir, {**repo, "deliveries": rows}, q)
    finally:
        q.close()


def overview(data_dir: Path, filt: Filter | None = None,
             fetched_since: float | None = None) -> list[dict[str, Any]]:
    """Every repository's summary (those ``filt`` matches; see ``_repositories`` for
    ``fetched_since``): the queue opened once (one query for the repositories, one for their
    last deliveries, one for the syncs of each with stale folders), and each repository's map
    (its own file) once."""
    filt = filt or Filter()
    if not (data_dir / QUEUE_FILE).exists():
        return []
    q = Queue(data_dir, create=False)
    try:
        repos = _repositories(q, None, filt, fetched_since)
        recent = q.recent([r["key"] for r in repos], DELIVERIES_OVERVIEW)
        out = [_with_map(data_dir, {**r, "deliveries": delivery_rows(recent[r["key"]])}, q)
               for r in repos]
    finally:
        q.close()
    return [r for r in out if filt.matches_map(r)]


def _with_map(data_dir: Path, out: dict[str, Any], q: Queue) -> dict[str, Any]:
    """``out`` (a repository with its deliveries) with what its map says, in one read (and
    since when its stale folders are stale, from its syncs in the queue ``q``)."""
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
            stale, stale_total = _stale(conn, syncs(q, out["key"]))
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
            patterns = load_json(patterns)  # text an import kept as is: one pattern
        patterns = listed(patterns)
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
