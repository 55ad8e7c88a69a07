"""The PostgreSQL queue under bursts and failures (issue 27), with the production gunicorn
command and a sync worker process: a burst is claimed by one job, which announces each
delivery ``running`` and settles them in arrival order (``done_seq`` and the ``done`` events);
a fetch that keeps failing shows as ``retrying`` with the next attempt's time (``/deliveries``
and the dashboard's rows), turns ``/health`` degraded, and ``ok`` once a fetch succeeds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.pg_server import PgServer, pg_server, pg_url  # noqa: F401
from tests.pg_support import Proc, deliver, pg_env, web
from tests.waiting import wait_until
from tests.webhook_support import ZERO, Origin
from webhook.dashboard import pg_data
from webhook.queues.pg_store import PgStore, connect_pool


def _sql(url: str, sql: str) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(sql)  # type: ignore[arg-type]
        return list(cur.fetchall()) if cur.description else []


def _delivery_events(url: str) -> list[tuple[str, str]]:
    return [(d["delivery"], d["state"]) for (d,) in _sql(
        url, "SELECT data FROM float_events WHERE kind = 'delivery' ORDER BY id")]


def test_burst_order_running_retrying_and_health(
        tmp_path: Path, pg_server: PgServer, pg_url: str) -> None:  # noqa: F811
    origin = Origin(tmp_path)
    origin.commit({"src/app.py": "0\n"}, "first")
    env = {h: pg_env(tmp_path, h, pg_url, origin, FLOAT_ON_PUSH="queue")
           for h in ("web", "sync")}
    server = web(tmp_path, "web", env["web"])
    worker: Proc | None = None
    store = PgStore(connect_pool(pg_url, max_size=2))
    try:
        # a burst recorded while no sync worker runs: the first job claims all of it
        afters = []
        for i in range(5):
            origin.commit({f"src/m{i}.py": f"{i}\n"}, f"c{i}")
            before, after = origin.push()
            deliver(server, origin, before, after)
            afters.append(after)
        # last in the burst, the tracked branch deleted: it needs no work, so the push before
        # it stands for the batch (it did once, and the whole burst ended ignored)
        gone = origin.payload(afters[-1], ZERO)
        gone["deleted"] = True
        assert server.deliver("push", gone).status_code == 202
        # a row's place in the table is not its id: any earlier update of it (a claim, a
        # failed attempt) moves it; here the oldest one's moves behind the others. On a
        # large table the planner visits rows where they lie (sequential and bitmap scans),
        # not by id: this small one is made to do the same
        _sql(pg_url, "UPDATE float_deliveries SET commits = commits"
                     " WHERE id = (SELECT min(id) FROM float_deliveries)")
        for scan in ("indexscan", "bitmapscan"):
            _sql(pg_url, f"DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET enable_{scan}"
                         " = off', current_database()); END $$")
        worker = Proc(tmp_path, "sync", "webhook.worker", env["sync"])
        server.wait_head(afters[-1])
        rows = _sql(pg_url, "SELECT delivery, done_seq, state FROM float_deliveries"
                            " ORDER BY id")
        assert [r[2] for r in rows] == ["done"] * 5 + ["ignored"]
        assert [r[1] for r in rows] == sorted(r[1] for r in rows), rows
        events = _delivery_events(pg_url)
        order = [r[0] for r in rows]
        assert [d for d, s in events if s in ("done", "ignored")] == order
        assert [d for d, s in events if s == "running"] == order
        for d in order[:-1]:
            assert [s for e, s in events if e == d] == ["received", "running", "done"]
        assert [s for e, s in events if e == order[-1]] == ["received", "running", "ignored"]
        assert server.get("/health").json()["status"] == "ok"

        # "GitHub" unreachable: every fetch fails until it is back
        origin.commit({"src/app.py": "1\n"}, "second")
        before, after = origin.push()
        hidden = origin.bare.with_name("gone.git")
        origin.bare.rename(hidden)
        failing = deliver(server, origin, before, after)

        def retrying() -> dict[str, Any] | None:
            last = server.get("/repos/acme/widgets/deliveries").json()[-1]
            return last if last["state"] == "retrying" else None

        row = wait_until(retrying, "the first attempt to fail", 60, 0.2)
        assert row["delivery"] == failing and row["next_attempt_at"] > row["received_at"]
        repo = pg_data.find(store, "acme/widgets")
        assert repo is not None
        shown = pg_data.summary(store, repo, deliveries_limit=10)["deliveries"][0]
        assert (shown["delivery"], shown["state"]) == (failing, "retrying")
        assert shown["next_attempt_at"] == row["next_attempt_at"]
        wait_until(lambda: server.get("/health").json()["status"] == "degraded",
                   "/health degraded after the second failed attempt", 60, 0.2)
        health = server.get("/health").json()
        assert health["queued"] == 1 and health["repositories"][0]["failed_attempts"] == 2
        assert server.get("/health?strict=1").status_code == 503
        hidden.rename(origin.bare)
        server.wait_head(after)
        r = server.get("/health?strict=1")
        assert (r.status_code, r.json()["status"]) == (200, "ok")
        assert [s for e, s in _delivery_events(pg_url) if e == failing] == [
            "received", "running", "retrying", "running", "retrying", "running", "done"]
    finally:
        store.pool.close()
        if worker is not None:
            worker.stop()
        server.stop()
