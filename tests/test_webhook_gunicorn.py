"""The production command, for real: gunicorn on a loopback port, two worker processes, signed
deliveries over HTTP, the push applied by the worker threads, read back through the API."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.test_webhook_helpers import SECRET, TOKEN, Origin, signed

ROOT = Path(__file__).resolve().parent.parent
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def origin(tmp_path: Path) -> Origin:
    o = Origin(tmp_path)
    o.commit({"src/app.py": "app\n", "docs/guide.md": "g\n"}, "initial")
    return o


@contextlib.contextmanager
def gunicorn(tmp_path: Path, origin: Origin, **extra: str) -> Iterator[str]:
    """gunicorn on a free loopback port; bounded waits; always terminated."""
    port = free_port()
    env = {**os.environ, "FLOAT_WEBHOOK_SECRET": SECRET, "FLOAT_API_TOKEN": TOKEN,
           "FLOAT_DATA_DIR": str(tmp_path / "data"), "FLOAT_GIT_URL_TEMPLATE": origin.template,
           "FLOAT_ON_PUSH": "queue", "FLOAT_POLL_SECONDS": "0.2", **extra}
    log = open(tmp_path / "gunicorn.log", "ab")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "webhook:create_app()", "-b", f"127.0.0.1:{port}",
         "-w", "2", "--graceful-timeout", "10"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (tmp_path / "gunicorn.log").read_text()
            try:
                if requests.get(url + "/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "gunicorn did not come up"
            time.sleep(0.1)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()


@pytest.fixture
def server(tmp_path: Path, origin: Origin) -> Iterator[str]:
    with gunicorn(tmp_path, origin) as url:
        yield url


def wait_head(url: str, head: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        r = requests.get(url + "/repos/acme/widgets/status", headers=AUTH, timeout=10)
        if r.status_code == 200 and r.json()["head"] == head \
                and r.json()["queued_deliveries"] == 0:
            return dict(r.json())
        assert time.monotonic() < deadline, r.text
        time.sleep(0.1)


def deliver(url: str, event: str, payload: Any, delivery: str | None = None) -> Any:
    body = json.dumps(payload).encode()
    return requests.post(url + "/webhook", data=body, headers=signed(body, event, delivery),
                         timeout=10)


def test_gunicorn_end_to_end(server: str, origin: Origin) -> None:
    r = deliver(server, "ping", {"zen": "Design for failure."})
    assert r.status_code == 200 and r.json()["status"] == "pong"
    body = b'{"ref": "refs/heads/main"}'
    r = requests.post(server + "/webhook", data=body,
                      headers=signed(body, "push", secret="wrong"), timeout=10)
    assert r.status_code == 401 and r.json()["error"] == "Unauthorized"

    before, after = origin.push()
    r = deliver(server, "push", origin.payload(before, after), delivery="gh-1")
    assert r.status_code == 202
    assert deliver(server, "push", origin.payload(before, after), "gh-1").status_code == 200
    origin.commit({"src/app.py": "app v2\n"})
    before, second = origin.push()
    assert deliver(server, "push", origin.payload(before, second)).status_code == 202

    auth = AUTH
    wait_head(server, second)
    r = requests.get(server + "/repos/acme/widgets/status", headers=auth, timeout=10)
    assert r.json()["files"] == 2
    r = requests.get(server + "/repos/acme/widgets/deliveries", headers=auth, timeout=10)
    assert next((d["delivery"], d["state"]) for d in r.json()) == ("gh-1", "done")
    assert [d["state"] for d in r.json()] == ["done", "done"]
    assert requests.get(server + "/repos/acme/widgets/stale", timeout=10).status_code == 401


def test_gunicorn_chunked_and_oversized_bodies(server: str, origin: Origin) -> None:
    # GitHub sends a Content-Length; a proxy in between may re-send the body chunked
    before, after = origin.push()
    body = json.dumps(origin.payload(before, after)).encode()
    chunks = iter([body[:100], body[100:]])
    r = requests.post(server + "/webhook", data=chunks, headers=signed(body, "push"),
                      timeout=10)
    assert r.status_code == 202 and r.json()["status"] == "queued"
    assert r.headers["Content-Type"] == "application/json"
    wait_head(server, after)
    big = b" " * (25 * 1024 * 1024 + 1)
    r = requests.post(server + "/webhook", data=iter([big]), headers=signed(big, "push"),
                      timeout=30)
    assert r.status_code == 413 and r.json()["error"] == "Request Entity Too Large"


def test_gunicorn_restart_resumes_queued_pushes(tmp_path: Path, origin: Origin) -> None:
    # first run: no worker, so the acknowledged pushes are only in the queue when it stops
    with gunicorn(tmp_path, origin, FLOAT_WORKER="off") as url:
        before, first = origin.push()
        assert deliver(url, "push", origin.payload(before, first)).status_code == 202
        origin.commit({"docs/guide.md": "g v2\n"})
        before, second = origin.push()
        assert deliver(url, "push", origin.payload(before, second)).status_code == 202
        r = requests.get(url + "/repos/acme/widgets/status", headers=AUTH, timeout=10)
        assert r.status_code == 404  # nothing applied yet
    # second run, default worker threads: the queued pushes are applied, in order
    with gunicorn(tmp_path, origin) as url:
        status = wait_head(url, second)
        assert status["files"] == 2
        r = requests.get(url + "/repos/acme/widgets/deliveries", headers=AUTH, timeout=10)
        assert [(d["after"], d["state"]) for d in r.json()] == [(first, "done"),
                                                                (second, "done")]
