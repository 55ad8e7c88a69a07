"""What the dashboard shows with ``FLOAT_DATABASE_URL``: read from PostgreSQL (the deliveries
table and the read model each sync publishes, pg_store), so every web host shows the same
page without a map of its own. The same dicts as dashboard_data's embedded reads, with the
same caps."""

from __future__ import annotations

from typing import Any

from psycopg.rows import dict_row

from webhook.dashboard import sqlite_data as embedded
from webhook.dashboard.shape import (
    STALE_SYNCS,
    Filter,
    add_stale_since,
    delivery_rows,
    stale_row,
    when,
)
from webhook.names import repo_key
from webhook.queues.pg_store import PgStore, once_more_if_broken

SHOWN_STATE = embedded.SHOWN_STATE  # plain SQL both databases read alike
FETCHED = ("EXISTS (SELECT 1 FROM float_deliveries d WHERE d.repo = g.repo AND"
           " d.state = 'done')")
_STATE_SQL = {
    "open": "EXISTS (SELECT 1 FROM float_deliveries d WHERE d.repo = g.repo AND"
            f" {SHOWN_STATE} = %(state)s)",
    "settled": "(SELECT d.state FROM float_deliveries d WHERE d.repo = g.repo AND d.state IN"
               " ('done', 'failed') ORDER BY d.id DESC LIMIT 1) = %(state)s",
    # the published read model's count of stale folders
    "stale": "(SELECT (r.counts->>'stale')::bigint FROM float_repos r WHERE r.repo = g.repo)"
             " > 0",
    "current": "(SELECT (r.counts->>'stale')::bigint FROM float_repos r WHERE r.repo = g.repo)"
               " = 0",
}


def repositories(store: PgStore, key: str | None = None, filt: Filter | None = None,
                 fetched_since: float | None = None) -> list[dict[str, Any]]:
    """As sqlite_data's: most recently active first, those ``filt`` matches, and those that
    never fetched only while their last delivery is newer than ``fetched_since``."""
    filt = filt or Filter()
    sql = ("SELECT repo, full_name, last FROM (SELECT repo, min(full_name) AS full_name,"
           " max(received_at) AS last FROM float_deliveries WHERE %(key)s::text IS NULL OR"
           " repo = %(key)s GROUP BY repo) g WHERE (%(name)s = '' OR strpos(g.repo, %(name)s)"
           " > 0)")
    if filt.state:
        kind = filt.state if filt.map_state else (
            "settled" if filt.state in ("done", "failed") else "open")
        sql += f" AND {_STATE_SQL[kind]}"
    if fetched_since is not None:
        sql += f" AND (g.last >= %(since)s OR {FETCHED})"
    sql += _scope_sql(filt)  # the token's scope, before the limit
    with store.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute(sql + " ORDER BY last DESC LIMIT %(limit)s",
                    {"key": key, "name": filt.name, "state": filt.state,
                     "since": fetched_since, "limit": embedded.MAX_REPOS,
                     "prefix": filt.owner_prefix, "scope": filt.scope})
        rows = cur.fetchall()
    return [{"key": r["repo"], "full_name": r["full_name"],
             "last_delivery": when(r["last"])} for r in rows]


def _scope_sql(filt: Filter) -> str:
    """The condition on a repository (``g.repo``) for the token's scope in ``filt`` (its
    parameters ``prefix`` and ``scope``)."""
    if filt.owner_prefix is not None:
        return " AND left(g.repo, length(%(prefix)s)) = %(prefix)s"
    if filt.scope != "*":
        return " AND g.repo = %(scope)s"
    return ""


@once_more_if_broken
def aged_out(store: PgStore, fetched_since: float, filt: Filter | None = None) -> int:
    """As sqlite_data.aged_out."""
    filt = filt or Filter()
    with store.connection() as conn:
        row = conn.execute(
            "SELECT count(*) FROM (SELECT repo, max(received_at) AS last FROM"
            f" float_deliveries GROUP BY repo) g WHERE g.last < %(since)s AND NOT {FETCHED}"
            f"{_scope_sql(filt)}",
            {"since": fetched_since, "prefix": filt.owner_prefix, "scope": filt.scope}
        ).fetchone()
    return int(row[0]) if row else 0


def find(store: PgStore, key: str) -> dict[str, Any] | None:
    """The repository ``key``, however long since its last delivery."""
    return next(iter(repositories(store, key)), None)


def summary(store: PgStore, repo: dict[str, Any], *, deliveries_limit: int
            ) -> dict[str, Any]:
    """As dashboard_data.summary, from the published read model; the regeneration queue is
    the requests handed to regeneration workers that have no answer yet."""
    return _summaries(store, [repo], deliveries_limit)[0]


def overview(store: PgStore, filt: Filter | None = None,
             fetched_since: float | None = None) -> list[dict[str, Any]]:
    return _summaries(store, repositories(store, None, filt, fetched_since),
                      embedded.DELIVERIES_OVERVIEW)


@once_more_if_broken
def _summaries(store: PgStore, repos: list[dict[str, Any]], deliveries_limit: int
               ) -> list[dict[str, Any]]:
    """The repositories' summaries in five queries, however many repositories there are:
    their last deliveries, their published read models, their open regeneration requests,
    then for their stale folders the syncs that saw them go stale and their contexts."""
    keys = [r["key"] for r in repos]
    recent: dict[str, list[dict[str, Any]]] = {k: [] for k in keys}
    requested: dict[str, list[str]] = {k: [] for k in keys}
    recent_syncs: dict[str, list[dict[str, Any]]] = {k: [] for k in keys}
    with store.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute("SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY repo ORDER BY"
                    " id DESC) AS nth FROM float_deliveries WHERE repo = ANY(%s)) d"
                    " WHERE nth <= %s ORDER BY id", (keys, deliveries_limit))
        for row in cur.fetchall():
            recent[row["repo"]].append(row)
        cur.execute("SELECT repo, branch, counts, stale FROM float_repos"
                    " WHERE repo = ANY(%s)", (keys,))
        infos = {row["repo"]: row for row in cur.fetchall()}
        cur.execute(
            "SELECT repo, path FROM (SELECT r.repo, r.path, row_number() OVER (PARTITION BY"
            " r.repo ORDER BY r.path) AS nth FROM float_regen_requests r WHERE r.repo = ANY(%s)"
            " AND NOT EXISTS (SELECT 1 FROM float_answers a WHERE a.repo = r.repo AND"
            " a.path = r.path AND a.source_hash = r.source_hash)) q WHERE nth <= %s"
            " ORDER BY repo, path", (keys, embedded.MAX_JOBS))
        for row in cur.fetchall():
            requested[row["repo"]].append(row["path"])
        out = [_summary(r, recent[r["key"]], infos.get(r["key"]), requested[r["key"]])
               for r in repos]
        pairs = [(r["key"], f["path"]) for r in out if r["map"] for f in r["map"]["stale"]]
        if not pairs:
            return out
        with_stale = sorted({k for k, _ in pairs})
        cur.execute(
            "SELECT repo, finished_at, head, listed, n FROM (SELECT repo, id, finished_at,"
            " result->'sync'->>'head' AS head, result->'sync'->'became_stale' AS listed,"
            " result->'sync'->'became_stale_count' AS n, row_number() OVER (PARTITION BY"
            " repo ORDER BY id DESC) AS nth FROM float_deliveries WHERE repo = ANY(%s) AND"
            " state = 'done') s"
            " WHERE nth <= %s ORDER BY repo, id DESC", (with_stale, STALE_SYNCS))
        for row in cur.fetchall():
            if row["listed"] is not None:
                recent_syncs[row["repo"]].append({"finished_at": row["finished_at"],
                                                  "head": row["head"],
                                                  "listed": row["listed"], "count": row["n"]})
        cur.execute(
            "SELECT f.repo, f.path, f.doc->>'context_commit' AS context_commit,"
            " f.doc->>'ai_updated' AS ai_updated FROM float_folders f JOIN unnest(%s::text[],"
            " %s::text[]) AS p(repo, path) ON f.repo = p.repo AND f.path = p.path",
            ([k for k, _ in pairs], [p for _, p in pairs]))
        contexts: dict[str, dict[str, dict[str, Any]]] = {}
        for row in cur.fetchall():
            contexts.setdefault(row["repo"], {})[row["path"]] = row
    for r in out:
        if r["map"]:
            add_stale_since(r["map"]["stale"], recent_syncs[r["key"]],
                            contexts.get(r["key"], {}))
    return out


def _summary(repo: dict[str, Any], deliveries: list[dict[str, Any]],
             info: dict[str, Any] | None, requested: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = dict(repo)
    out["deliveries"] = delivery_rows(deliveries)
    out["map"] = None
    out["problem"] = ""
    if info is None or info["counts"] is None:
        out["problem"] = "no map yet (being built, or no push to the tracked branch)"
        return out
    counts = {**info["counts"], "branch": info["branch"]}
    published = list(info["stale"] or [])
    stale = [stale_row(f) for f in published[:embedded.MAX_STALE]]
    jobs = [{"path": p, "state": "requested", "reason": "with a regeneration worker",
             "attempts": "", "last_error": ""} for p in requested]
    out["map"] = {"counts": counts, "stale": stale, "stale_total": len(published),
                  "jobs": jobs, "job_states": {"requested": len(jobs)} if jobs else {}}
    return out


def tree(store: PgStore, full_name: str) -> tuple[list[dict[str, Any]], int]:
    key = repo_key(full_name)
    with store.connection() as conn:
        total = conn.execute("SELECT count(*) FROM float_folders WHERE repo = %s",
                             (key,)).fetchone()
        docs = conn.execute("SELECT doc FROM float_folders WHERE repo = %s ORDER BY path"
                            " LIMIT %s", (key, embedded.MAX_FOLDERS)).fetchall()
    return embedded.tree_rows([dict(d) for (d,) in docs]), int(total[0]) if total else 0
