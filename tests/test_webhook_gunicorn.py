"""The production command, for real: docs/server.md's gunicorn command on a loopback socket,
signed deliveries over HTTP, the push applied by the worker threads, read back through the
API."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.waiting import wait_until
from tests.webhook_support import (
    Gunicorn,
    Origin,
    gunicorn,
    production_command,
    queue_rows,
    server_env,
    signed,
)


@pytest.fixture
def origin(tmp_path: Path) -> Origin:
    o = Origin(tmp_path)
    o.commit({"src/app.py": "app\n", "docs/guide.md": "g\n"}, "initial")
    return o


@pytest.fixture
def server(tmp_path: Path, origin: Origin) -> Iterator[Gunicorn]:
    with gunicorn(tmp_path, origin) as s:
        yield s


def test_gunicorn_end_to_end(server: Gunicorn, origin: Origin) -> None:
    r = server.deliver("ping", {"zen": "Design for failure."})
    assert r.status_code == 200 and r.json()["status"] == "pong"
    body = b'{"ref": "refs/heads/main"}'
    r = requests.post(server.url + "/webhook", data=body,
                      headers=signed(body, "push", secret="wrong"), timeout=10)
    assert r.status_code == 401 and r.json()["error"] == "Unauthorized"

    before, after = origin.push()
    r = server.deliver("push", origin.payload(before, after), delivery="gh-1")
    assert r.status_code == 202
    assert server.deliver("push", origin.payload(before, after), "gh-1").status_code == 200
    origin.commit({"src/app.py": "app v2\n"})
    before, second = origin.push()
    assert server.deliver("push", origin.payload(before, second)).status_code == 202

    server.wait_head(second)
    assert server.get("/repos/acme/widgets/status").json()["files"] == 2
    r = server.get("/repos/acme/widgets/deliveries")
    assert next((d["delivery"], d["state"]) for d in r.json()) == ("gh-1", "done")
    assert [d["state"] for d in r.json()] == ["done", "done"]
    assert requests.get(server.url + "/repos/acme/widgets/stale", timeout=10).status_code == 401
    # the worker's INFO lines reach gunicorn's error log (here: its stderr)
    assert "delivery gh-1 (acme/widgets refs/heads/main): done" in server.log()


def test_gunicorn_chunked_and_oversized_bodies(server: Gunicorn, origin: Origin) -> None:
    # GitHub sends a Content-Length; a proxy in between may re-send the body chunked
    before, after = origin.push()
    body = json.dumps(origin.payload(before, after)).encode()
    chunks = iter([body[:100], body[100:]])
    r = requests.post(server.url + "/webhook", data=chunks, headers=signed(body, "push"),
                      timeout=10)
    assert r.status_code == 202 and r.json()["status"] == "queued"
    assert r.headers["Content-Type"] == "application/json"
    server.wait_head(after)
    big = b" " * (25 * 1024 * 1024 + 1)
    r = requests.post(server.url + "/webhook", data=iter([big]), headers=signed(big, "push"),
                      timeout=30)
    assert r.status_code == 413 and r.json()["error"] == "Request Entity Too Large"


def test_gunicorn_restart_resumes_queued_pushes(tmp_path: Path, origin: Origin) -> None:
    # first run: no worker, so the acknowledged pushes are only in the queue when it stops
    with gunicorn(tmp_path, origin, FLOAT_WORKER="off") as s:
        before, first = origin.push()
        assert s.deliver("push", origin.payload(before, first)).status_code == 202
        origin.commit({"docs/guide.md": "g v2\n"})
        before, second = origin.push()
        assert s.deliver("push", origin.payload(before, second)).status_code == 202
        assert s.get("/repos/acme/widgets/status").status_code == 404  # nothing applied yet
    # second run, default worker threads: the queued pushes are applied, in order
    with gunicorn(tmp_path, origin) as s:
        assert s.wait_head(second)["files"] == 2
        r = s.get("/repos/acme/widgets/deliveries")
        assert [(d["after"], d["state"]) for d in r.json()] == [(first, "done"),
                                                                (second, "done")]


def test_regenerate_under_gunicorn(tmp_path: Path, origin: Origin) -> None:
    with gunicorn(tmp_path, origin, FLOAT_ON_PUSH="regenerate") as s:
        before, after = origin.push()
        assert s.deliver("push", origin.payload(before, after)).status_code == 202
        status = s.wait_head(after)
        # the builtin regenerator wrote every folder's context in the worker's job process
        assert (status["current"], status["stale"], status["pending"]) == (3, 0, 0)
        (row,) = s.get("/repos/acme/widgets/deliveries").json()
        assert sorted(row["result"]["regenerate"]["done"]) == ["/", "/docs", "/src"]
        assert s.get("/repos/acme/widgets/folders/src").json()["map_children"]


def owner_lock_holders(data: Path) -> set[int]:
    """The processes holding a worker owner's lock (queues/owner_lock.py: taken by each
    process that starts worker threads, held while it lives), from /proc/locks."""
    inodes = {p.stat().st_ino for p in (data / "workers").glob("*.lock")}
    holders = set()
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if fields[1] == "FLOCK" and int(fields[5].split(":")[2]) in inodes:
            holders.add(int(fields[4]))
    return holders


def test_preload_starts_the_worker_in_the_forked_processes(tmp_path: Path,
                                                           origin: Origin) -> None:
    # `gunicorn --preload` builds the app in the master, then forks the workers: the
    # worker threads must run in the workers (the master reaps every child it has, a job
    # process included), and queued work must start without waiting for a request
    with gunicorn(tmp_path, origin, FLOAT_WORKER="off") as s:
        before, after = origin.push()
        assert s.deliver("push", origin.payload(before, after)).status_code == 202
    args = [*production_command(), "--preload"]
    # no request at all until the queued push is done: a request would start the worker
    # threads in the process answering it (github.Endpoint), hiding threads never started
    server = Gunicorn(tmp_path, server_env(tmp_path, origin), args, name="preload",
                      healthy=False)
    data = tmp_path / "data"

    def applied() -> dict[str, Any] | None:
        assert server.proc.poll() is None, server.log()
        (row,) = queue_rows(data)
        return row if row["state"] == "done" else None

    try:
        row = wait_until(applied, "the queued push to be applied with no request made", 60)
        assert row["attempts"] == 1
        _host, pid, _tag = row["owner"].split(":")
        assert int(pid) != server.proc.pid  # applied in a forked worker, not the master
        assert os.getpgid(int(pid)) == server.proc.pid  # (one of this server's processes)
        # the master runs no worker thread (gunicorn's master has threads of its own, its
        # control server: counting them says nothing)
        holders = owner_lock_holders(data)
        assert int(pid) in holders and server.proc.pid not in holders, holders
        server.wait_head(after)
        origin.commit({"src/app.py": "app v3\n"})
        before, later = origin.push()
        assert server.deliver("push", origin.payload(before, later)).status_code == 202
        server.wait_head(later)
    finally:
        server.stop()
