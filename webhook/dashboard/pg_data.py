"""What the dashboard shows with ``FLOAT_DATABASE_URL``: read from PostgreSQL (the deliveries
table and the read model each sync publishes, pg_store), so every web host shows the same
page without a map of its own. The same dicts as dashboard_data's embedded reads, with the
same caps."""

from __future__ import annotations

from typing import Any

from psycopg.rows import dict_row

from webhook.dashboard import sqlite_data as embedded
from webhook.names import repo_key
from webhook.queues.pg_store import PgStore, once_more_if_broken


def repositories(store: PgStore, key: str | None = None) -> list[dict[str, Any]]:
    with store.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute("SELECT repo, min(full_name) AS full_name, max(received_at) AS last"
                    " FROM float_deliveries WHERE %(key)s::text IS NULL OR repo = %(key)s"
                    " GROUP BY repo ORDER BY last DESC LIMIT %(limit)s",
                    {"key": key, "limit": embedded.MAX_REPOS})
        rows = cur.fetchall()
    return [{"key": r["repo"], "full_name": r["full_name"],
             "last_delivery": embedded.when(r["last"])} for r in rows]


def find(store: PgStore, key: str) -> dict[str, Any] | None:
    """The repository ``key``, however long since its last delivery."""
    return next(iter(repositories(store, key)), None)


def summary(store: PgStore, repo: dict[str, Any], *, deliveries_limit: int
            ) -> dict[str, Any]:
    """As dashboard_data.summary, from the published read model; the regeneration queue is
    the requests handed to regeneration workers that have no answer yet."""
    return _summaries(store, [repo], deliveries_limit)[0]


def overview(store: PgStore) -> list[dict[str, Any]]:
    return _summaries(store, repositories(store), embedded.DELIVERIES_OVERVIEW)


@once_more_if_broken
def _summaries(store: PgStore, repos: list[dict[str, Any]], deliveries_limit: int
               ) -> list[dict[str, Any]]:
    """The repositories' summaries in three queries, however many repositories there are:
    their last deliveries, their published read models, their open regeneration requests."""
    keys = [r["key"] for r in repos]
    recent: dict[str, list[dict[str, Any]]] = {k: [] for k in keys}
    requested: dict[str, list[str]] = {k: [] for k in keys}
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
    return [_summary(r, recent[r["key"]], infos.get(r["key"]), requested[r["key"]])
            for r in repos]


def _summary(repo: dict[str, Any], deliveries: list[dict[str, Any]],
             info: dict[str, Any] | None, requested: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = dict(repo)
    out["deliveries"] = embedded.delivery_rows(deliveries)
    out["map"] = None
    out["problem"] = ""
    if info is None or info["counts"] is None:
        out["problem"] = "no map yet (being built, or no push to the tracked branch)"
        return out
    counts = {**info["counts"], "branch": info["branch"]}
    published = list(info["stale"] or [])
    stale = [embedded.stale_row(f) for f in published[:embedded.MAX_STALE]]
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
