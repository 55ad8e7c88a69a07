"""What the dashboard shows with ``FLOAT_DATABASE_URL``: read from PostgreSQL (the deliveries
table and the read model each sync publishes, pg_store), so every web host shows the same
page without a map of its own. The same dicts as dashboard_data's embedded reads, with the
same caps."""

from __future__ import annotations

from typing import Any

from psycopg.rows import dict_row

from webhook import dashboard_data as embedded
from webhook.names import repo_key
from webhook.pg_store import PgStore


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
    out: dict[str, Any] = dict(repo)
    out["deliveries"] = embedded.delivery_rows(store.rows(repo["key"], deliveries_limit))
    out["map"] = None
    out["problem"] = ""
    info = store.repo(repo["key"])
    if info is None or info["counts"] is None:
        out["problem"] = "no map yet (being built, or no push to the tracked branch)"
        return out
    counts = {**info["counts"], "branch": info["branch"]}
    published = list(info["stale"] or [])
    stale = [{"path": f["path"], "changed_files": f["changed_files"][:20],
              "changed_count": len(f["changed_files"]),
              "via_children": f["via_children"][:20]}
             for f in published[:embedded.MAX_STALE]]
    with store.connection() as conn:
        requested = conn.execute(
            "SELECT r.path FROM float_regen_requests r WHERE r.repo = %s AND NOT EXISTS"
            " (SELECT 1 FROM float_answers a WHERE a.repo = r.repo AND a.path = r.path AND"
            " a.source_hash = r.source_hash) ORDER BY r.path LIMIT %s",
            (repo["key"], embedded.MAX_JOBS)).fetchall()
    jobs = [{"path": p, "state": "requested", "reason": "with a regeneration worker",
             "attempts": "", "last_error": ""} for (p,) in requested]
    out["map"] = {"counts": counts, "stale": stale, "stale_total": len(published),
                  "jobs": jobs, "job_states": {"requested": len(jobs)} if jobs else {}}
    return out


def overview(store: PgStore) -> list[dict[str, Any]]:
    return [summary(store, r, deliveries_limit=embedded.DELIVERIES_OVERVIEW)
            for r in repositories(store)]


def tree(store: PgStore, full_name: str) -> tuple[list[dict[str, Any]], int]:
    key = repo_key(full_name)
    with store.connection() as conn:
        total = conn.execute("SELECT count(*) FROM float_folders WHERE repo = %s",
                             (key,)).fetchone()
        docs = conn.execute("SELECT doc FROM float_folders WHERE repo = %s ORDER BY path"
                            " LIMIT %s", (key, embedded.MAX_FOLDERS)).fetchall()
    return embedded.tree_rows([dict(d) for (d,) in docs]), int(total[0]) if total else 0
