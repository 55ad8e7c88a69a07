"""The dashboard's reads of the embedded delivery queue, on a generated queue: ``--repos``
(500) repositories with ``--deliveries`` (100) each, two in three done, each done sync listing
one folder gone stale (the worst case: real syncs rarely list any).

1. The overview's repository query (name and state filter, never-fetched age-out) and a state
   filter, with the ``deliveries_repo`` index on ``(repo, id)`` and without it (dropped).
2. Stale since for one stale folder in each of the 200 repositories the overview shows: when
   the last sync lists it (the read stops at once) against when no sync ever does (it reads
   the repository's last 100).

    python bench/bench_dashboard.py [--repos N] [--deliveries N]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from webhook.dashboard import sqlite_data  # noqa: E402
from webhook.dashboard.shape import Filter, add_stale_since  # noqa: E402
from webhook.queues.sqlite_queue import Queue  # noqa: E402


def timed(fn: Callable[[], object], rounds: int = 5) -> float:
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repos", type=int, default=500)
    ap.add_argument("--deliveries", type=int, default=100)
    args = ap.parse_args()
    q = Queue(Path(tempfile.mkdtemp(prefix="float-dash-")))
    now = time.time()
    with q.conn:
        q.conn.execute("BEGIN")
        q.conn.executemany(
            "INSERT INTO deliveries(delivery, kind, repo, full_name, received_at, state, result)"
            " VALUES (?, 'push', ?, ?, ?, ?, ?)",
            ((f"{r}-{i}", f"o/r{r}", f"o/r{r}", now - (args.deliveries - i) * 60,
              "done" if i % 3 else "failed",
              json.dumps({"sync": {"head": "a" * 40, "became_stale": [f"/d{i}"],
                                   "became_stale_count": 1}}))
             for i in range(args.deliveries) for r in range(args.repos)))
        q.conn.execute("COMMIT")
    last_done = max(i for i in range(args.deliveries) if i % 3)
    since = now - 7 * 86400

    def overview_query(f: Filter) -> Callable[[], object]:
        return lambda: sqlite_data._repositories(q, None, f, since)

    keys = [r["key"] for r in sqlite_data._repositories(q, None, Filter(), since)]

    def stale_since(path: str) -> Callable[[], object]:
        return lambda: [add_stale_since([{"path": path}], sqlite_data.syncs(q, k), {})
                        for k in keys]

    print(f"{args.repos} repositories x {args.deliveries} deliveries; load "
          f"{os.getloadavg()[0]:.1f}")
    indexed = {name: timed(overview_query(f)) for name, f in
               (("all", Filter()), ("state=failed", Filter(state="failed")),
                ("repo=r1", Filter(name="r1")))}
    recorded = timed(stale_since(f"/d{last_done}"))
    missing = timed(stale_since("/nowhere"))
    q.conn.execute("DROP INDEX deliveries_repo")
    bare = {name: timed(overview_query(f)) for name, f in
            (("all", Filter()), ("state=failed", Filter(state="failed")),
             ("repo=r1", Filter(name="r1")))}
    for name in indexed:
        print(f"overview query {name}: {indexed[name]:.0f} ms with the index, "
              f"{bare[name]:.0f} ms without ({bare[name] / indexed[name]:.1f}x)")
    print(f"stale since, {len(keys)} repositories: {recorded:.0f} ms when the last sync lists"
          f" the folder, {missing:.0f} ms when none does ({missing / recorded:.0f}x)")
    q.close()


if __name__ == "__main__":
    main()
