"""The durable regeneration queue: the ``jobs`` table in ``index.db``.

One row per folder (deduplicated), for the folder hash it was made for. Workers take jobs under
a lease, deepest first, and never a parent while a descendant still has an open job (a parent's
context reads its children's summaries). A worker that dies leaves its lease to expire, after
which another worker takes the job again. Failures retry with exponential backoff until
``max_attempts``; the last error is kept. Every change happens inside a ``BEGIN IMMEDIATE``
transaction, so concurrent workers and hooks never take the same job twice.

Kept light: the post-commit hook imports this module (sqlite3 and the store only).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Sequence
from typing import Any

from float_hooks import paths
from float_hooks.store.db import Store, now, select_in

# reasons that run even when the folder is current: a child's summary changed, or the user
# asked for every folder (`regenerate --all`)
RUN_WHEN_CURRENT = ("child", "forced")


class Taken:
    """A job a worker holds: the folder, the hash its input is read for, and the lease."""

    __slots__ = ("attempts", "owner", "path", "reason", "source_hash")

    def __init__(self, path: str, source_hash: str, reason: str, attempts: int, owner: str):
        self.path = path
        self.source_hash = source_hash
        self.reason = reason
        self.attempts = attempts
        self.owner = owner


class TakeResult:
    """What :func:`take` found (plain classes here: dataclasses cost the hooks ~1 ms each)."""

    def __init__(self, job: Taken | None):
        self.job = job
        self.skipped: list[str] = []  # dropped: folder current or gone
        self.gave_up: list[str] = []  # lease expired on the last attempt


def _upsert(conn: sqlite3.Connection, rows: Iterable[tuple[str, str, str]],
            retry_failed: bool) -> int:
    """Insert or refresh jobs for (path, hash, reason). An existing job is left alone when it
    is already for that hash (deduplication), unless it failed and ``retry_failed``."""
    before = conn.total_changes
    stamp = now()
    conn.executemany(
        "INSERT INTO jobs(folder_path, source_hash, depth, reason, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(folder_path) DO UPDATE SET"
        " source_hash = excluded.source_hash, reason = excluded.reason,"
        " state = CASE WHEN jobs.state = 'running' THEN 'running' ELSE 'queued' END,"
        " attempts = CASE WHEN jobs.state = 'running' THEN jobs.attempts ELSE 0 END,"
        " not_before = 0, updated_at = excluded.updated_at"
        " WHERE jobs.source_hash IS NOT excluded.source_hash"
        "    OR (jobs.state = 'failed' AND ?)"
        "    OR (excluded.reason = 'forced' AND jobs.state = 'failed')",
        [(p, h, paths.depth(p), r, stamp, stamp, int(retry_failed)) for p, h, r in rows],
    )
    return conn.total_changes - before


def enqueue(conn: sqlite3.Connection, folders: Iterable[str]) -> int:
    """Jobs for those of ``folders`` that are stale or pending: what a hook calls with the
    folders a sync changed, so the cost follows the change, not the repository. Jobs of
    folders that no longer exist are dropped."""
    wanted = set(folders)
    if not wanted:
        return 0
    rows = select_in(conn, "SELECT path, source_hash, status FROM folders WHERE path IN ({})",
                     wanted)
    # jobs whose folder went away or became current again (a revert reused an earlier
    # context version) have nothing left to do
    done_with = (wanted - {r[0] for r in rows}) | {r[0] for r in rows if r[2] == "current"}
    if done_with:
        conn.executemany("DELETE FROM jobs WHERE folder_path = ?"
                         " AND reason NOT IN ('child', 'forced')", [(p,) for p in done_with])
    return _upsert(conn, [(r[0], r[1], r[2]) for r in rows if r[2] != "current"], False)


MARK_KEY = "jobs_mark"  # meta: folders updated at or after this time may need a job


def enqueue_changed(store: Store, removed: Iterable[str] = ()) -> int:
    """What a trigger calls after a sync: jobs for the stale or pending folders updated since
    the last call (all of them the first time), found through the ``updated_at`` index."""
    conn = store.conn
    mark = store.get_meta(MARK_KEY)
    stamp = now()
    forget(conn, removed)
    if mark is None:
        n = enqueue_all(conn)
    else:
        n = enqueue(conn, [r[0] for r in conn.execute(
            "SELECT path FROM folders WHERE updated_at >= ?", (mark,))])
    store.set_meta(MARK_KEY, stamp)
    return n


def enqueue_all(conn: sqlite3.Connection, within: Sequence[str] | None = None, *,
                force: bool = False, retry_failed: bool = False) -> int:
    """Jobs for every stale or pending folder (every folder with ``force``), optionally only
    at or below the folders in ``within``."""
    sql = "SELECT path, source_hash, status FROM folders"
    where, params = within_sql("path", within)
    if not force:
        where.append("status != 'current'")
    if where:
        sql += " WHERE " + " AND ".join(f"({w})" for w in where)
    rows = conn.execute(sql, params).fetchall()
    return _upsert(conn, [(r[0], r[1], "forced" if force and r[2] == "current" else r[2])
                          for r in rows], retry_failed)


def enqueue_parent(conn: sqlite3.Connection, child: str) -> bool:
    """A child's summary changed: its parent's map is out of date even if the parent's hash is
    not (the parent is current when only its child's context moved). Queue the parent unless it
    has a job already or never had context (a pending parent is queued as pending anyway)."""
    if child == paths.ROOT:
        return False
    parent = paths.parent(child)
    row = conn.execute("SELECT source_hash, context_hash, status FROM folders WHERE path = ?",
                       (parent,)).fetchone()
    if row is None or row[1] is None:
        return False
    if conn.execute("SELECT 1 FROM jobs WHERE folder_path = ? AND state != 'failed'",
                    (parent,)).fetchone():
        return False
    reason = "child" if row[2] == "current" else row[2]
    return _upsert(conn, [(parent, row[0], reason)], True) > 0


def forget(conn: sqlite3.Connection, folders: Iterable[str]) -> None:
    conn.executemany("DELETE FROM jobs WHERE folder_path = ?", [(p,) for p in folders])


def within_sql(column: str, within: Sequence[str] | None) -> tuple[list[str], list[Any]]:
    """A WHERE clause for "at or below one of these folders", by index range: the paths below
    ``/a`` are exactly those between ``/a/`` and ``/a0`` (``0`` follows ``/`` bytewise)."""
    if not within:
        return [], []
    if paths.ROOT in within:
        return [], []
    ors, params = [], []
    for p in within:
        ors.append(f"{column} = ? OR ({column} > ? AND {column} < ?)")
        params += [p, p + "/", p + "0"]
    return [" OR ".join(f"({o})" for o in ors)], params


_CANDIDATE = """
SELECT j.folder_path, j.source_hash, j.reason, j.state, j.attempts FROM jobs j
WHERE ((j.state = 'queued' AND j.not_before <= :now)
       OR (j.state = 'running' AND j.lease_until < :now))
  AND NOT EXISTS (
      SELECT 1 FROM jobs c
      WHERE c.folder_path > (CASE WHEN j.folder_path = '/' THEN '/' ELSE j.folder_path || '/' END)
        AND c.folder_path < (CASE WHEN j.folder_path = '/' THEN '0' ELSE j.folder_path || '0' END)
        AND c.state != 'failed')
  {within}
ORDER BY j.depth DESC, j.folder_path
LIMIT 1
"""


def take(store: Store, owner: str, *, lease_seconds: float, max_attempts: int,
         within: Sequence[str] | None = None) -> TakeResult:
    """Lease the next job whose descendants have no open job, or report that none is ready."""
    out = TakeResult(None)
    where, params = within_sql("j.folder_path", within)
    sql = _CANDIDATE.format(within="".join(f" AND ({w})" for w in where))
    with store.write() as conn:
        while True:
            t = time.time()
            named = {"now": t, **{f"w{i}": v for i, v in enumerate(params)}}
            row = conn.execute(_numbered(sql), named).fetchone()
            if row is None:
                return out
            path, _job_hash, reason, state, attempts = row
            folder = conn.execute("SELECT source_hash, status FROM folders WHERE path = ?",
                                  (path,)).fetchone()
            if folder is None or (folder[1] == "current" and reason not in RUN_WHEN_CURRENT):
                # nothing left to do: the folder went away, or its context came back
                # (a revert reused an earlier version) or was written by someone else
                conn.execute("DELETE FROM jobs WHERE folder_path = ?", (path,))
                out.skipped.append(path)
                continue
            if state == "running" and attempts >= max_attempts:
                conn.execute(
                    "UPDATE jobs SET state = 'failed', lease_owner = NULL, lease_until = NULL,"
                    " last_error = ?, updated_at = ? WHERE folder_path = ?",
                    (f"lease expired on attempt {attempts} (the worker died or hung)",
                     now(), path))
                out.gave_up.append(path)
                continue
            conn.execute(
                "UPDATE jobs SET state = 'running', lease_owner = ?, lease_until = ?,"
                " attempts = attempts + 1, source_hash = ?, updated_at = ?"
                " WHERE folder_path = ?",
                (owner, t + lease_seconds, folder[0], now(), path))
            out.job = Taken(path, folder[0], reason, attempts + 1, owner)
            return out


def expire_leases(conn: sqlite3.Connection) -> int:
    """End every running job's lease now, for a caller that knows their holders are gone
    (the webhook server: a repository's map is worked on by one delivery at a time, so a job
    still running when the next delivery starts belonged to a job process that died).
    take() then treats them as any expired lease (the attempt counts)."""
    return conn.execute("UPDATE jobs SET lease_until = 0 WHERE state = 'running'").rowcount


def _numbered(sql: str) -> str:
    """Turn the positional ``?`` of :func:`within_sql` into named ``:wN`` parameters."""
    i = 0
    out = []
    for ch in sql:
        if ch == "?":
            out.append(f":w{i}")
            i += 1
        else:
            out.append(ch)
    return "".join(out)


def holds(conn: sqlite3.Connection, job: Taken) -> bool:
    row = conn.execute("SELECT lease_owner FROM jobs WHERE folder_path = ?",
                       (job.path,)).fetchone()
    return row is not None and row[0] == job.owner


def renew(store: Store, job: Taken, lease_seconds: float) -> bool:
    """Extend the lease of a job this worker still runs; False once it is no longer ours."""
    with store.write() as conn:
        cur = conn.execute(
            "UPDATE jobs SET lease_until = ? WHERE folder_path = ? AND lease_owner = ?"
            " AND state = 'running'", (time.time() + lease_seconds, job.path, job.owner))
    return cur.rowcount == 1


def done(conn: sqlite3.Connection, job: Taken) -> None:
    conn.execute("DELETE FROM jobs WHERE folder_path = ? AND lease_owner = ?",
                 (job.path, job.owner))


def requeue(conn: sqlite3.Connection, job: Taken) -> None:
    """The folder changed while the job ran: make the job again for its present hash (not a
    failure, so attempts start over)."""
    row = conn.execute("SELECT source_hash FROM folders WHERE path = ?", (job.path,)).fetchone()
    if row is None:
        conn.execute("DELETE FROM jobs WHERE folder_path = ?", (job.path,))
        return
    conn.execute(
        "UPDATE jobs SET state = 'queued', source_hash = ?, attempts = 0, not_before = 0,"
        " lease_owner = NULL, lease_until = NULL, updated_at = ?"
        " WHERE folder_path = ? AND lease_owner = ?",
        (row[0], now(), job.path, job.owner))


def fail(store: Store, job: Taken, error: str, *, backoff_seconds: float,
         max_attempts: int) -> bool:
    """Record a failed attempt; True when the job gave up (state ``failed``)."""
    gave_up = job.attempts >= max_attempts
    delay = backoff_seconds * 2 ** (job.attempts - 1)
    with store.write() as conn:
        conn.execute(
            "UPDATE jobs SET state = ?, not_before = ?, lease_owner = NULL, lease_until = NULL,"
            " last_error = ?, updated_at = ? WHERE folder_path = ? AND lease_owner = ?",
            ("failed" if gave_up else "queued", time.time() + delay, error[-4000:], now(),
             job.path, job.owner))
    return gave_up


def release(store: Store, job: Taken) -> None:
    """Give a job back untouched (the worker was interrupted): the attempt does not count."""
    with store.write() as conn:
        conn.execute(
            "UPDATE jobs SET state = 'queued', attempts = max(attempts - 1, 0),"
            " lease_owner = NULL, lease_until = NULL, updated_at = ?"
            " WHERE folder_path = ? AND lease_owner = ?", (now(), job.path, job.owner))


def open_count(conn: sqlite3.Connection, within: Sequence[str] | None = None) -> int:
    where, params = within_sql("folder_path", within)
    sql = "SELECT count(*) FROM jobs WHERE state != 'failed'"
    sql += "".join(f" AND ({w})" for w in where)
    return int(conn.execute(sql, params).fetchone()[0])


def has_open(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM jobs WHERE state != 'failed' LIMIT 1").fetchone() is not None


def next_ready_in(conn: sqlite3.Connection) -> float | None:
    """Seconds until some open job may be taken (0: now), or None when no job is open."""
    row = conn.execute(
        "SELECT min(CASE WHEN state = 'queued' THEN not_before ELSE lease_until END)"
        " FROM jobs WHERE state != 'failed'").fetchone()
    if row is None or row[0] is None:
        return None
    return max(0.0, float(row[0]) - time.time())


def planned(conn: sqlite3.Connection, within: Sequence[str] | None = None, *,
            force: bool = False) -> list[dict[str, str]]:
    """Read-only: the open jobs (path, source_hash, reason) at or below ``within``, in the
    order workers take them, that ``enqueue_all(conn, within, force=force,
    retry_failed=True)`` would leave. What ``regenerate --dry-run`` lists; writing the jobs
    and rolling back would cost time and take the write lock. A folder enqueue_all
    selects gets its own hash and reason unless an open job has that hash already (_upsert
    leaves it); other open jobs stay as they are."""
    where, params = within_sql("f.path", within)
    if not force:
        where.append("f.status != 'current'")
    job_where, job_params = within_sql("j.folder_path", within)
    reason = "CASE WHEN f.status = 'current' THEN 'forced' ELSE f.status END" if force \
        else "f.status"
    selected = (
        f"SELECT f.path, f.source_hash, CASE WHEN j.state != 'failed' AND j.source_hash ="
        f" f.source_hash THEN j.reason ELSE {reason} END AS reason FROM folders f"
        " LEFT JOIN jobs j ON j.folder_path = f.path"
        + (" WHERE " + " AND ".join(f"({w})" for w in where) if where else ""))
    others = (
        "SELECT j.folder_path, j.source_hash, j.reason FROM jobs j WHERE j.state != 'failed'"
        + "".join(f" AND ({w})" for w in job_where)
        + " AND j.folder_path NOT IN (SELECT path FROM selected)")
    rows = conn.execute(
        f"WITH selected(path, source_hash, reason) AS ({selected})"
        " SELECT * FROM (SELECT * FROM selected UNION ALL " + others + ")"
        # deepest first (paths.depth in SQL: "/" is 0, "/a" 1), then by path
        + " ORDER BY CASE WHEN path = '/' THEN 0 ELSE length(path)"
          " - length(replace(path, '/', '')) END DESC, path", [*params, *job_params]).fetchall()
    return [{"path": r[0], "source_hash": r[1], "reason": r[2]} for r in rows]


def list_jobs(conn: sqlite3.Connection, limit: int | None = None) -> list[dict[str, Any]]:
    """The jobs, failed last, children before parents (the first ``limit``)."""
    t = time.time()
    out = []
    for r in conn.execute(
        "SELECT folder_path, source_hash, reason, state, attempts, not_before, lease_owner,"
        " lease_until, last_error, created_at, updated_at FROM jobs"
        " ORDER BY state = 'failed', depth DESC, folder_path LIMIT ?",
        (-1 if limit is None else limit,)
    ):
        out.append({
            "path": r[0], "source_hash": r[1], "reason": r[2], "state": r[3],
            "attempts": r[4],
            "retry_in": round(max(0.0, r[5] - t), 1) if r[3] == "queued" else None,
            "lease_owner": r[6],
            "lease_left": round(r[7] - t, 1) if r[7] is not None else None,
            "last_error": r[8], "created_at": r[9], "updated_at": r[10],
        })
    return out


def job_states(conn: sqlite3.Connection) -> dict[str, int]:
    """How many jobs are in each state."""
    return dict(conn.execute("SELECT state, count(*) FROM jobs GROUP BY state").fetchall())


def retry_failed(conn: sqlite3.Connection) -> int:
    cur = conn.execute("UPDATE jobs SET state = 'queued', attempts = 0, not_before = 0,"
                       " updated_at = ? WHERE state = 'failed'", (now(),))
    return cur.rowcount
