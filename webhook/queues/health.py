"""Whether the queue is getting its work done (``GET /health``), from the rows both queues keep
alike (sqlite_queue's ``deliveries``, pg_store's ``float_deliveries``).

``degraded`` when, for some repository:

- an open delivery's last FAILED_ATTEMPTS attempts or more failed (a fetch or sync that keeps
  failing: a row is put back ``queued`` with its error after each failed attempt, and settled
  by the first one that succeeds);
- its latest settled delivery (``done`` or ``failed``, among the last RECENT received) failed:
  it gave up, and no later delivery has succeeded since;
- or the oldest open delivery has waited more than ``max_wait`` seconds (no worker takes
  work; ``FLOAT_HEALTH_MAX_WAIT_SECONDS``, by default the delivery time budget, at least
  900 s: a delivery may run that long).

``ok`` again as soon as none holds: the next successful attempt settles the failing rows.
The public answer names no repository and quotes no error (``/health`` is open); the
``repositories`` list with both is for callers holding the API token.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

FAILED_ATTEMPTS = 2  # an open delivery this many failed attempts in: degraded
RECENT = 200  # deliveries (by receipt) looked at for a repository's latest outcome
OPEN_LIMIT = 5000  # open deliveries looked at (a burst can leave thousands)
LISTED = 20  # repositories listed in the detailed answer
ERROR_CHARS = 300


def assess(open_rows: Iterable[Mapping[str, Any]], recent_rows: Iterable[Mapping[str, Any]],
           max_wait: float, now: float | None = None) -> dict[str, Any]:
    """``{"status", "reasons", "repositories"}`` from the open rows (``repo, full_name,
    state, attempts, error, received_at``) and the last RECENT received
    (``repo, full_name, state, done_seq, error``)."""
    now = time.time() if now is None else now
    failing: dict[str, dict[str, Any]] = {}
    oldest: float | None = None
    for r in open_rows:
        received = float(r["received_at"])
        oldest = received if oldest is None else min(oldest, received)
        # a running row's count includes the attempt under way; its error is the last one's
        failed = int(r["attempts"]) - (r["state"] == "running")
        if r["error"] and failed >= FAILED_ATTEMPTS:
            failing.setdefault(str(r["repo"]), {
                "repository": r["full_name"], "problem": "retrying",
                "failed_attempts": failed, "error": str(r["error"])[:ERROR_CHARS]})
    latest: dict[str, Mapping[str, Any]] = {}
    for r in recent_rows:
        if r["state"] in ("done", "failed") and r["done_seq"] is not None:
            seen = latest.get(str(r["repo"]))
            if seen is None or int(r["done_seq"]) > int(seen["done_seq"]):
                latest[str(r["repo"])] = r
    gave_up = {repo: {"repository": r["full_name"], "problem": "failed",
                      "error": str(r["error"] or "")[:ERROR_CHARS]}
               for repo, r in latest.items() if r["state"] == "failed" and repo not in failing}
    reasons = []
    if failing:
        reasons.append(f"{len(failing)} repositories: the last {FAILED_ATTEMPTS} or more"
                       " attempts of a delivery failed (retrying)")
    if gave_up:
        reasons.append(f"{len(gave_up)} repositories: the latest delivery failed for good"
                       " and none has succeeded since")
    waited = 0.0 if oldest is None else now - oldest
    if waited > max_wait:
        reasons.append(f"the oldest open delivery has waited {waited:.0f} s"
                       f" (more than {max_wait:.0f} s)")
    listed = [*failing.values(), *gave_up.values()][:LISTED]
    return {"status": "degraded" if reasons else "ok", "reasons": reasons,
            "oldest_open_seconds": round(waited, 1), "repositories": listed}
