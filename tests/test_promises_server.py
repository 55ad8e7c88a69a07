"""Documented promises of the webhook server that no other test drove (issue 22): the event
stream resuming with `?after=N` and sent with `X-Accel-Buffering: no` (the README's gunicorn
command, a real streaming client), and a worker's job process closed once idle (the app's own
worker thread, real `python -m webhook.work.job` processes, a local bare repository for GitHub)."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import webhook.work.job
from tests.sse_support import SSE, delivery_states
from tests.waiting import ProcessId, wait_until
from tests.webhook_support import (
    Gunicorn,
    Origin,
    app_config,
    auth,
    gunicorn,
    post,
    rows,
)
from webhook import create_app

URL = "/repos/acme/widgets/events"


@pytest.fixture
def origin(tmp_path: Path) -> Origin:
    o = Origin(tmp_path)
    o.commit({"src/app.py": "print('hi')\n", "docs/guide.md": "# guide\n"}, "first")
    o.push()
    return o


def _push(server: Gunicorn, origin: Origin, files: dict[str, str]) -> str:
    """Commit, push, deliver and wait until the map is at the new head; the delivery id."""
    origin.commit(files)
    before, after = origin.push()
    delivery = str(uuid.uuid4())
    r = server.deliver("push", origin.payload(before, after), delivery)
    assert r.status_code == 202, r.text
    server.wait_head(after)
    return delivery


def _preamble_id(stream: SSE) -> int:
    """The ``id:`` of the block the stream starts with (``retry:`` and where it starts)."""
    first = json.loads(wait_until(lambda: stream.fields, "the stream's first block", 60)[0])
    return int(first["id"])


def test_event_streams_resume_after_n_and_pass_nginx_unbuffered(tmp_path: Path,
                                                                origin: Origin) -> None:
    # docs: a client that reconnects with `Last-Event-ID` (...; `?after=N` works too) gets
    # what it missed ... Behind nginx, streams pass unbuffered (`X-Accel-Buffering: no`).
    with gunicorn(tmp_path, origin) as server:
        first = _push(server, origin, {"src/util.py": "x = 1\n"})
        second = _push(server, origin, {"docs/guide.md": "# guide v2\n"})
        # everything so far, from the start of the backlog
        everything = SSE(server.url + URL + "?after=0", auth())
        try:
            assert everything.status == 200
            assert everything.response.headers["X-Accel-Buffering"] == "no"
            seen = everything.wait_for(
                lambda ev: "done" in delivery_states(ev, second) and ev, "both deliveries", 60)
        finally:
            everything.close()
        assert delivery_states(seen, first)[-1] == "done"
        n = max(e["id"] for e in seen if e["event"] == "delivery"
                and e["data"]["data"]["delivery"] == first)
        later = [e for e in seen if e["id"] > n]
        assert later and all(e["id"] > n for e in later)

        for path in (URL, "/dashboard/events"):  # a repository's stream and the dashboard's
            resumed = SSE(server.url + f"{path}?after={n}", auth())
            try:
                assert resumed.status == 200, path
                assert resumed.response.headers["X-Accel-Buffering"] == "no", path
                assert resumed.response.headers["Content-Type"].startswith("text/event-stream")
                assert _preamble_id(resumed) == n
                got = resumed.wait_for(
                    lambda ev: "done" in delivery_states(ev, second) and ev,
                    f"the events after {n} on {path}", 60)
            finally:
                resumed.close()
            # exactly what came after N: nothing of the first delivery, all of the second
            assert got[0]["id"] == later[0]["id"], path
            assert all(e["id"] > n for e in got) and not delivery_states(got, first), path
            assert delivery_states(got, second) == delivery_states(later, second), path

        # without ?after (or Last-Event-ID) a stream starts at the newest event instead
        fresh = SSE(server.url + URL, auth())
        try:
            assert fresh.response.headers["X-Accel-Buffering"] == "no"
            assert _preamble_id(fresh) >= max(e["id"] for e in seen) > n
            assert fresh.events == []
        finally:
            fresh.close()


# -- the job process ---------------------------------------------------------------------------
def _job_processes() -> set[ProcessId]:
    """This process's children running ``python -m webhook.work.job`` (started by its worker
    threads), alive."""
    me = str(os.getpid())
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = f.read().rpartition(")")[2].split()[1]
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if ppid == me and b"webhook.work.job" in argv:
            try:
                process = ProcessId.of(int(entry))
            except AssertionError:  # gone meanwhile
                continue
            if process.alive():
                found.add(process)
    return found


def _deliver(app: object, origin: Origin, files: dict[str, str]) -> str:
    origin.commit(files)
    before, after = origin.push()
    r = post(app.test_client(), "push", origin.payload(before, after))  # type: ignore[attr-defined]
    assert r.status_code == 202, r.get_data(as_text=True)
    return after


def _done(app: object, head: str) -> bool:
    return any(r["state"] == "done" and r["after"] == head for r in rows(app))  # type: ignore[arg-type]


@pytest.fixture
def app_with_worker(tmp_path: Path, origin: Origin) -> Iterator[object]:
    app = create_app(app_config(tmp_path, origin, FLOAT_WORKER_THREADS="1"))
    try:
        yield app
    finally:
        app.extensions["float_worker"].stop(10)


def test_a_job_process_is_kept_between_deliveries_and_closed_when_idle(
        app_with_worker: object, origin: Origin, monkeypatch: pytest.MonkeyPatch) -> None:
    # docs: Each delivery runs in a job process (`python -m webhook.work.job`, one per worker
    # thread, kept between deliveries and closed after 5 idle minutes)
    app = app_with_worker
    assert webhook.work.job.IDLE_SECONDS == 300  # the README's 5 minutes
    assert _job_processes() == set()  # started on first use
    head = _deliver(app, origin, {"src/one.py": "one = 1\n"})
    wait_until(lambda: _done(app, head), "the first delivery done")
    jobs = _job_processes()
    assert len(jobs) == 1, jobs  # one worker thread, one job process
    (job,) = jobs
    head = _deliver(app, origin, {"src/two.py": "two = 2\n"})
    wait_until(lambda: _done(app, head), "the second delivery done")
    assert _job_processes() == {job}  # the same process took the second delivery
    assert job.alive()

    # five idle minutes, made a second: the worker thread closes its idle job process
    monkeypatch.setattr(webhook.work.job, "IDLE_SECONDS", 1.0)
    wait_until(lambda: not job.alive(), "the idle job process to be closed", 60)
    assert _job_processes() == set()
    # and the next delivery starts a fresh one
    monkeypatch.setattr(webhook.work.job, "IDLE_SECONDS", 300.0)
    head = _deliver(app, origin, {"src/three.py": "three = 3\n"})
    wait_until(lambda: _done(app, head), "a delivery after the close")
    assert len(_job_processes() - {job}) == 1
