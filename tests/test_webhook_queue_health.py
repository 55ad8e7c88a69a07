"""The embedded queue under bursts and failures (issue 27): a burst of one repository's
deliveries is applied as one sync and settled in arrival order; a fetch that keeps failing
shows as ``retrying`` (with the next attempt's time) in the rows the dashboard reads, turns
``/health`` degraded, and ``ok`` again once a fetch succeeds. A local bare repository stands
in for GitHub; the worker runs in the test's thread (``FLOAT_WORKER=off``, run_until_idle)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from float_hooks.store.db import Store
from tests.webhook_support import Origin, app_config, auth, post
from webhook import create_app
from webhook.dashboard import sqlite_data
from webhook.events.event_log import SqliteEventLog
from webhook.queues import health
from webhook.queues.sqlite_queue import Queue
from webhook.settings import SettingsError


def _rows(data: Path) -> list[dict[str, object]]:
    q = Queue(data)
    try:
        return q.rows()
    finally:
        q.close()


def _events(data: Path) -> list[tuple[str, str]]:
    """(delivery, state) of every ``delivery`` event, in the log's order."""
    log = SqliteEventLog(data)
    try:
        return [(e.data["delivery"], e.data["state"]) for e in log.since(None, 0, 10_000)
                if e.kind == "delivery"]
    finally:
        log.close()


def test_a_burst_is_one_sync_settled_in_arrival_order(tmp_path: Path) -> None:
    origin = Origin(tmp_path)
    origin.commit({"src/app.py": "0\n", "docs/readme.md": "# r\n"}, "first")
    app = create_app(app_config(tmp_path, origin, FLOAT_WORKER="off"))
    client = app.test_client()
    data = app.extensions["float_settings"].data_dir
    afters = []
    for i in range(6):  # each push its own commit, all delivered before any work
        origin.commit({f"src/m{i}.py": f"{i}\n"}, f"c{i}")
        before, after = origin.push()
        assert post(client, "push", origin.payload(before, after)).status_code == 202
        afters.append(after)
    assert app.extensions["float_worker"].run_until_idle() == 6
    rows = _rows(data)
    assert [r["state"] for r in rows] == ["done"] * 6
    # one sync, to the newest head, stood for all six
    synced = [r for r in rows if "sync" in r["result"]]
    assert [r["delivery"] for r in synced] == [rows[-1]["delivery"]]
    assert synced[0]["result"]["sync"]["head"] == afters[-1]
    for r in rows[:-1]:
        assert r["result"] == {"coalesced_into": rows[-1]["delivery"], "head": afters[-1]}
    # settled in the order received, and announced so
    assert [r["done_seq"] for r in rows] == sorted(r["done_seq"] for r in rows)
    done = [d for d, state in _events(data) if state == "done"]
    assert done == [r["delivery"] for r in rows]
    running = [d for d, state in _events(data) if state == "running"]
    assert running == [r["delivery"] for r in rows]
    store = Store.open(data / "acme" / "widgets" / "index.db")
    try:
        assert store.get_meta("base_commit") == afters[-1]
    finally:
        store.close()


def test_a_fetch_that_keeps_failing_is_retrying_and_degrades_health(tmp_path: Path) -> None:
    origin = Origin(tmp_path)
    origin.commit({"src/app.py": "0\n"}, "first")
    app = create_app(app_config(tmp_path, origin, FLOAT_WORKER="off", FLOAT_MAX_ATTEMPTS="5"))
    client = app.test_client()
    data = app.extensions["float_settings"].data_dir
    worker = app.extensions["float_worker"]
    assert client.get("/health").json["status"] == "ok"
    before, after = origin.push()
    hidden = origin.bare.with_name("gone.git")
    origin.bare.rename(hidden)  # "GitHub" unreachable: every fetch fails
    assert post(client, "push", origin.payload(before, after)).status_code == 202

    def attempt() -> None:
        """The next attempt now (the backoff's clock is not what is tested)."""
        q = Queue(data)
        try:
            q.conn.execute("UPDATE deliveries SET not_before = 0")
        finally:
            q.close()
        worker.run_until_idle()

    worker.run_until_idle()  # the first attempt fails: retrying, not yet degraded
    repo = sqlite_data.find(data, "acme/widgets")
    assert repo is not None
    (row,) = sqlite_data.summary(data, repo, deliveries_limit=10)["deliveries"]
    q = Queue(data)
    not_before = q.conn.execute("SELECT not_before FROM deliveries").fetchone()[0]
    q.close()
    assert row["state"] == "retrying" and row["next_attempt_at"] == not_before > 0
    assert row["attempts"] == 1 and row["error"]
    api_row = client.get("/repos/acme/widgets/deliveries", headers=auth()).json[0]
    assert (api_row["state"], api_row["next_attempt_at"]) == ("retrying", not_before)
    assert client.get("/health").json["status"] == "ok"
    attempt()  # the second fails too
    r = client.get("/health")
    assert r.status_code == 200 and r.json["status"] == "degraded", r.json
    assert r.json["queued"] == 1 and "repositories" not in r.json  # no names without the token
    assert f"the last {health.FAILED_ATTEMPTS}" in r.json["reasons"][0]
    assert client.get("/health?strict=1").status_code == 503
    (listed,) = client.get("/health", headers=auth()).json["repositories"]
    assert listed["repository"] == "acme/widgets" and listed["failed_attempts"] == 2
    hidden.rename(origin.bare)  # reachable again: the next attempt succeeds
    attempt()
    assert [r["state"] for r in _rows(data)] == ["done"]
    r = client.get("/health?strict=1")
    assert (r.status_code, r.json["status"], r.json["reasons"]) == (200, "ok", [])
    states = [s for _, s in _events(data)]
    assert states == ["received", "running", "retrying", "running", "retrying", "running",
                      "done"]


def test_a_delivery_that_gave_up_keeps_health_degraded_until_one_succeeds() -> None:
    def row(repo: str, state: str, seq: int | None, **more: object) -> dict[str, object]:
        return {"repo": repo, "full_name": repo, "state": state, "done_seq": seq,
                "attempts": 1, "error": more.get("error"), "received_at": 0.0}

    failed = [row("a/x", "failed", 7, error="fetch failed"), row("a/x", "done", 3),
              row("b/y", "done", 5)]
    report = health.assess([], failed, 900.0, now=1.0)
    assert report["status"] == "degraded"
    assert [r["repository"] for r in report["repositories"]] == ["a/x"]
    later = [row("a/x", "done", 9), *failed]
    assert health.assess([], later, 900.0, now=1.0)["status"] == "ok"
    waiting = [row("b/y", "queued", None)]
    assert health.assess(waiting, [], 900.0, now=899.0)["status"] == "ok"
    assert health.assess(waiting, [], 900.0, now=901.0)["status"] == "degraded"
    assert json.dumps(report)  # JSON as /health answers it


def test_the_oldest_waiting_delivery_is_always_looked_at(tmp_path: Path) -> None:
    """More open deliveries than health reads: the oldest is among those it reads, whatever
    its repository's name (it read them by repository, then id)."""
    q = Queue(tmp_path)
    try:
        q.record("first", "push", "zz/late", "zz/late", ref="refs/heads/main")
        for i in range(3):
            q.record(f"d{i}", "push", "aa/early", "aa/early", ref="refs/heads/main")
        q.conn.execute("UPDATE deliveries SET received_at = received_at - 3600"
                       " WHERE delivery = 'first'")
        open_rows, recent = q.health_rows(2, health.RECENT)
    finally:
        q.close()
    report = health.assess(open_rows, recent, 900.0)
    assert report["status"] == "degraded" and report["oldest_open_seconds"] >= 3600


@pytest.mark.parametrize(("settings", "degraded"), [
    ({}, True),  # 20 minutes against the default 900 s
    ({"FLOAT_DELIVERY_TIMEOUT": "3600"}, False),  # a delivery may run that long
    ({"FLOAT_DELIVERY_TIMEOUT": "3600", "FLOAT_HEALTH_MAX_WAIT_SECONDS": "600"}, True),
])
def test_how_long_an_open_delivery_may_wait(tmp_path: Path, settings: dict[str, str],
                                            degraded: bool) -> None:
    """The wait /health allows follows the delivery time budget (a big repository's sync
    may run an hour), and FLOAT_HEALTH_MAX_WAIT_SECONDS sets it outright."""
    origin = Origin(tmp_path)
    origin.commit({"src/app.py": "0\n"}, "first")
    app = create_app(app_config(tmp_path, origin, FLOAT_WORKER="off", **settings))
    client = app.test_client()
    before, after = origin.push()
    assert post(client, "push", origin.payload(before, after)).status_code == 202
    q = Queue(app.extensions["float_settings"].data_dir)
    try:
        q.conn.execute("UPDATE deliveries SET received_at = received_at - 1200")
    finally:
        q.close()
    report = client.get("/health").json
    assert report["status"] == ("degraded" if degraded else "ok"), report
    if degraded:
        limit = settings.get("FLOAT_HEALTH_MAX_WAIT_SECONDS", "900")
        assert report["reasons"] == [f"the oldest open delivery has waited 1200 s (more than"
                                     f" {limit} s)"], report


@pytest.mark.parametrize("value", ["0", "-5", "inf", "soon"])
def test_a_bad_health_wait_is_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(SettingsError, match=r"FLOAT_HEALTH_MAX_WAIT_SECONDS|invalid number"):
        create_app(app_config(tmp_path, FLOAT_HEALTH_MAX_WAIT_SECONDS=value))
