"""The event stream (``GET /repos/<owner>/<repo>/events``) with a real streaming client against
docs/server.md's gunicorn command: events after a push, resuming with Last-Event-ID, 401, and
GitHub's deliveries answered while 20 streams are open."""

from __future__ import annotations

import concurrent.futures
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.sse_support import SSE, delivery_states
from tests.waiting import wait_until
from tests.webhook_support import TOKEN, Gunicorn, Origin, auth, gunicorn, production_command

URL = "/repos/acme/widgets/events"


@pytest.fixture
def origin(tmp_path: Path) -> Origin:
    o = Origin(tmp_path)
    o.commit({"src/app.py": "print('hi')\n", "docs/guide.md": "# guide\n"}, "first")
    o.push()
    return o


@pytest.fixture
def server(tmp_path: Path, origin: Origin) -> Iterator[Gunicorn]:
    with gunicorn(tmp_path, origin, FLOAT_ON_PUSH="regenerate") as s:
        yield s


def push(server: Gunicorn, origin: Origin, files: dict[str, str]) -> tuple[str, str]:
    """Commit, push and deliver; returns (delivery id, new head)."""
    origin.commit(files)
    before, after = origin.push()
    delivery = str(uuid.uuid4())
    r = server.deliver("push", origin.payload(before, after), delivery)
    assert r.status_code == 202, r.text
    return delivery, after


def test_events_follow_a_push_and_resume_after_a_reconnect(server: Gunicorn, origin: Origin
                                                           ) -> None:
    first, head = push(server, origin, {"src/util.py": "x = 1\n"})
    server.wait_head(head)
    stream = SSE(server.url + URL, auth())
    try:
        assert stream.status == 200
        assert stream.response.headers["Content-Type"].startswith("text/event-stream")
        # a new stream starts now: the first push's events are not replayed
        delivery, head = push(server, origin, {"src/app.py": "print('changed')\n"})
        stream.wait_for(lambda ev: "done" in delivery_states(ev, delivery), "delivery done")
        events = list(stream.events)
    finally:
        stream.close()
    assert not delivery_states(events, first)
    assert delivery_states(events, delivery)[0] == "received"
    assert delivery_states(events, delivery)[-1] == "done"
    ids = [e["id"] for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(e["data"]["repo"] == "acme/widgets" and e["data"]["id"] == e["id"]
               for e in events)
    syncs = [e["data"]["data"] for e in events if e["event"] == "sync"]
    assert len(syncs) == 1 and syncs[0]["head"] == head and syncs[0]["delivery"] == delivery
    assert syncs[0]["counts"]["folders"] >= 2
    assert "/src" in syncs[0]["stale"]["paths"] and "/" in syncs[0]["stale"]["paths"]
    written = [e["data"]["data"]["path"] for e in events if e["event"] == "context"]
    assert "/src" in written  # regenerated after the sync (FLOAT_ON_PUSH=regenerate)
    order = [e["event"] for e in events]
    assert order.index("sync") < order.index("context")
    last = ids[-1]

    # missed while disconnected: a reconnect with Last-Event-ID gets exactly those
    missed, head = push(server, origin, {"docs/guide.md": "# guide, v2\n"})
    server.wait_head(head)
    resumed = SSE(server.url + URL, {**auth(), "Last-Event-ID": str(last)})
    try:
        got = resumed.wait_for(lambda ev: "done" in delivery_states(ev, missed) and ev,
                               "the missed delivery's events")
    finally:
        resumed.close()
    assert all(e["id"] > last for e in got)
    assert delivery_states(got, missed)[0] == "received"
    assert not delivery_states(got, delivery)
    assert [e["data"]["data"]["head"] for e in got if e["event"] == "sync"] == [head]


def test_the_stream_needs_the_token_and_checks_its_input(server: Gunicorn) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"},
                    {"Authorization": "Basic " + "eDp3cm9uZw=="}):  # x:wrong
        r = requests.get(server.url + URL, headers=headers, timeout=30)
        assert r.status_code == 401, r.text
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
        assert r.json()["error"] == "Unauthorized"
    r = requests.get(server.url + URL, headers={**auth(), "Last-Event-ID": "12; drop"},
                     timeout=30)
    assert r.status_code == 400
    r = requests.get(server.url + "/repos/acme/..%2f/events", headers=auth(), timeout=30)
    assert r.status_code in (400, 404)
    # Basic with the token as the password is what a browser sends
    stream = SSE(server.url + URL, {"Authorization": "Basic "
                                    + __import__("base64").b64encode(
                                        f"ops:{TOKEN}".encode()).decode()})
    try:
        assert stream.status == 200
    finally:
        stream.close()


def test_deliveries_are_answered_while_twenty_streams_are_open(tmp_path: Path, origin: Origin
                                                               ) -> None:
    argv = production_command()
    assert argv[argv.index("--threads") + 1] == "32"  # what the stream bound is set for
    with gunicorn(tmp_path, origin) as server:
        streams = [SSE(server.url + URL, auth()) for _ in range(20)]
        try:
            assert [s.status for s in streams] == [200] * 20
            # every stream is being served by now: each received its preamble (retry/id)
            wait_until(lambda: all(s.fields for s in streams), "every stream to be served", 60)

            def deliver(i: int) -> tuple[int, float]:
                t0 = time.monotonic()
                payload = origin.payload(origin.tip("main"), origin.tip("main"))
                r = server.deliver("push", payload, f"burst-{i}")
                return r.status_code, time.monotonic() - t0

            with concurrent.futures.ThreadPoolExecutor(10) as pool:
                answers = list(pool.map(deliver, range(10)))
            assert [code for code, _ in answers] == [202] * 10
            # and the open streams hear about them, live
            for s in streams:
                s.wait_for(lambda ev: all(delivery_states(ev, f"burst-{i}")
                                          for i in range(10)), "the burst's events", 60)
            assert server.get("/health").status_code == 200
        finally:
            for s in streams:
                s.close()
    print("ack seconds with 20 streams open:", sorted(round(t, 3) for _, t in answers))


def test_streams_are_bounded_in_number_and_lifetime(tmp_path: Path, origin: Origin) -> None:
    args = ["webhook:create_app()", "-w", "1", "-k", "gthread", "--threads", "8"]
    with gunicorn(tmp_path, origin, args, FLOAT_MAX_STREAMS="2",
                  FLOAT_STREAM_SECONDS="3") as server:
        held = [SSE(server.url + URL, auth()) for _ in range(2)]
        try:
            extra = requests.get(server.url + URL, headers=auth(), timeout=30)
            assert extra.status_code == 503 and extra.headers["Retry-After"] == "5"
            # a delivery is still answered at once beside the two held streams
            assert server.deliver("ping", {"zen": "ok"}).status_code == 200
            # each stream ends by itself after FLOAT_STREAM_SECONDS: slots come back
            for s in held:
                assert s.ended.wait(60), "a stream outlived FLOAT_STREAM_SECONDS"
            again = SSE(server.url + URL, auth())
            try:
                assert again.status == 200
            finally:
                again.close()
        finally:
            for s in held:
                s.close()

