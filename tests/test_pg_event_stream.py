"""Live events across hosts (PostgreSQL mode): a client following one web host's stream sees
a push delivered to the other host, synced by a sync worker on a third: the delivery received
(web host 1), the sync and the delivery done (the sync worker), with ids it can resume from."""

from __future__ import annotations

from pathlib import Path

from tests.pg_server import PgServer, pg_server, pg_url  # noqa: F401
from tests.pg_support import Proc, deliver, pg_env, web
from tests.sse_support import SSE, delivery_states
from tests.webhook_support import TOKEN, Origin


def test_a_stream_on_one_host_sees_a_push_delivered_to_another(
        tmp_path: Path, pg_server: PgServer, pg_url: str) -> None:  # noqa: F811
    origin = Origin(tmp_path)
    origin.commit({"src/app.py": "print(1)\n", "docs/readme.md": "# r\n"}, "first")
    env = {h: pg_env(tmp_path, h, pg_url, origin, FLOAT_ON_PUSH="queue")
           for h in ("web1", "web2", "sync")}
    webs = [web(tmp_path, "web1", env["web1"]), web(tmp_path, "web2", env["web2"])]
    worker = Proc(tmp_path, "sync", "webhook.worker", env["sync"])
    auth = {"Authorization": f"Bearer {TOKEN}"}
    url = webs[1].url + f"/repos/{origin.full_name}/events"
    stream = SSE(url, auth)
    try:
        assert stream.status == 200
        before, after = origin.push()
        delivery = deliver(webs[0], origin, before, after)
        stream.wait_for(lambda ev: "done" in delivery_states(ev, delivery), "the delivery done")
        assert delivery_states(stream.events, delivery)[0] == "received"
        [sync] = [e for e in stream.events if e["event"] == "sync"]
        assert sync["data"]["data"]["head"] == after
        assert sync["data"]["data"]["counts"]["files"] == 2
        ids = [e["id"] for e in stream.events]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        stream.close()
        # a client that reconnects to the other host with Last-Event-ID gets what followed
        origin.commit({"src/app.py": "print(2)\n"}, "second")
        before, after = origin.push()
        second = deliver(webs[1], origin, before, after)
        resumed = SSE(webs[0].url + f"/repos/{origin.full_name}/events",
                      {**auth, "Last-Event-ID": str(ids[-1])})
        try:
            resumed.wait_for(lambda ev: "done" in delivery_states(ev, second), "the second")
            assert all(e["id"] > ids[-1] for e in resumed.events)
            assert delivery_states(resumed.events, delivery) == []
        finally:
            resumed.close()
    finally:
        stream.close()
        worker.stop()
        for w in webs:
            w.stop()
