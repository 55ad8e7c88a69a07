"""``/mcp`` with PostgreSQL (issue 27): a web host (real gunicorn) that holds no maps and a
separate sync worker, the SDK's own client over streamable HTTP. Reads answer from the shared
read model with the head the read API reports; a write on the map-less host travels to the
worker, lands in its map once (a retry is the same write), and a write accepted while the
worker is SIGKILLed lands when a worker comes back; unknown and not-yet-synced repositories
get errors that say which."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from tests.pg_server import PgServer, pg_server  # noqa: F401
from tests.pg_support import Proc, deliver, pg_env, web
from tests.test_mcp_http import call, connect
from tests.waiting import wait_until
from tests.webhook_support import Gunicorn, Origin
from webhook.storage.maps import map_path


class Setup:
    def __init__(self, tmp: Path, url: str):
        self.tmp = tmp
        self.origin = Origin(tmp)
        self.origin.commit({"src/app.py": "print(1)\n", "docs/readme.md": "# r\n",
                            ".float/boot.md": "# boot notes for agents\n"}, "first")
        self.env = {h: pg_env(tmp, h, url, self.origin, FLOAT_ON_PUSH="queue")
                    for h in ("web", "sync")}
        self.web: Gunicorn = web(tmp, "web", self.env["web"])
        self.sync = Proc(tmp, "sync", "webhook.worker", self.env["sync"])
        self.mcp = self.web.url + "/mcp/acme/widgets"

    def worker_map(self) -> Path:
        return map_path(Path(self.env["sync"]["FLOAT_DATA_DIR"]), "acme/widgets")

    def close(self) -> None:
        self.sync.stop()
        self.web.stop()


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory,
          pg_server: PgServer) -> Iterator[Setup]:  # noqa: F811
    s = Setup(tmp_path_factory.mktemp("mcp-pg"), pg_server.new_database())
    try:
        before, after = s.origin.push()
        deliver(s.web, s.origin, before, after)
        s.web.wait_head(after)
        yield s
    finally:
        s.close()


def _run(url: str, body: Any) -> None:
    connect(url, body)


def test_reads_answer_from_the_read_model(setup: Setup) -> None:
    s = setup
    rest = s.web.get("/repos/acme/widgets/status").json()
    rest_src = s.web.get("/repos/acme/widgets/folders/src").json()
    assert not map_path(Path(s.env["web"]["FLOAT_DATA_DIR"]), "acme/widgets").exists()

    async def body(c: Client) -> None:
        status = await call(c, "status")
        fresh = status["freshness"]
        assert fresh["head"] == rest["head"] == s.origin.tip("main")
        assert fresh["repository"] == "acme/widgets" and fresh["served_from"] == "read model"
        assert fresh["unsynced_changes"] is False and fresh["queued_deliveries"] == 0
        assert {k: status[k] for k in ("files", "folders", "pending", "current", "stale")} \
            == {k: rest[k] for k in ("files", "folders", "pending", "current", "stale")}
        shown = await call(c, "show", path="src")
        assert {k: v for k, v in shown.items() if k != "freshness"} == rest_src
        assert shown["status"] == "pending" and shown["children"][0]["name"] == "app.py"
        paged = await call(c, "show", path="/", limit=1, offset=1)
        assert [ch["name"] for ch in paged["children"]] == ["src"]  # docs, src
        stale = await call(c, "stale")
        assert stale["total"] == 0 and stale["freshness"]["head"] == rest["head"]
        text = (await c.read_resource("float://boot")).contents[0].text  # type: ignore[union-attr]
        assert "boot notes for agents" in text
        text = (await c.read_resource("float://folder/src")).contents[0].text  # type: ignore[union-attr]
        assert "status: pending" in text
        r = await c.call_tool("search", {"query": "app"})
        assert r.is_error and "not served in PostgreSQL mode" in r.content[0].text  # type: ignore[union-attr]

    _run(s.mcp, body)

    async def unknown(c: Client) -> None:
        r = await c.call_tool("status", {"repository": "acme/nothing"})
        assert r.is_error and "unknown repository" in r.content[0].text  # type: ignore[union-attr]
        # a push to a branch the server does not track: recorded, never synced into a map
        other = Origin(s.tmp, "acme/later")
        other.commit({"a.py": "a = 1\n"}, "first")
        other.push()
        r2 = s.web.deliver("push", other.payload("0" * 40, other.tip("main"), ref="side"))
        assert r2.status_code in (200, 202), r2.text
        r = await c.call_tool("status", {"repository": "acme/later"})
        assert r.is_error and "not synced yet" in r.content[0].text  # type: ignore[union-attr]

    _run(s.web.url + "/mcp", unknown)


def _worker_rows(s: Setup, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(s.worker_map())
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_writes_go_to_the_worker_once_and_survive_its_kill(setup: Setup) -> None:
    s = setup
    src = s.web.get("/repos/acme/widgets/folders/src").json()

    async def write(c: Client) -> None:
        args = {"path": "/src", "for_hash": src["source_hash"], "map_summary": "the app"}
        first = await call(c, "set_context", **args)
        write_id = first["write"]["id"]
        again = await call(c, "set_context", **args)  # a retry: the same write
        assert again["write"]["id"] == write_id

        async def applied() -> dict[str, Any]:
            with_state = await call(c, "set_context", **args)
            return with_state if with_state["write"]["state"] == "applied" else {}

        done = await _eventually(applied, "the set_context applied by the worker")
        assert done["status"] == "current" and done["map_summary"] == "the app"
        assert done["queued"] is False and done["write"]["id"] == write_id
        shown = await call(c, "show", path="/src")
        assert shown["map_summary"] == "the app" and shown["status"] == "current"
        nul = await c.call_tool("add_question", {"question": "a\x00b"})
        assert nul.is_error and "NUL" in nul.content[0].text  # type: ignore[union-attr]
        stale_hash = await c.call_tool("set_context", {**args, "for_hash": "0" * 64})
        assert stale_hash.is_error and "changed since you read it" in stale_hash.content[0].text  # type: ignore[union-attr]
        for _ in range(2):  # the same decision twice (a retried request): recorded once
            await call(c, "log_decision", title="keep the app small", folder="/src")

        async def listed() -> dict[str, Any]:
            d = await call(c, "decisions")
            return d if d["total"] else {}

        decisions = await _eventually(listed, "the decision published")
        assert [d["title"] for d in decisions["decisions"]] == ["keep the app small"]

        # the same write after another one is a new write: X, Y, then X again ends at X
        changed = await call(c, "set_context", **{**args, "map_summary": "the app, changed"})
        back = await call(c, "set_context", **args)
        assert back["write"]["id"] > changed["write"]["id"] > write_id

        async def settled() -> dict[str, Any]:  # published first, then reported applied
            st = await call(c, "status")
            return st if st["freshness"]["queued_writes"] == 0 else {}

        await _eventually(settled, "every write reported applied")

    _run(s.mcp, write)
    assert s.web.get("/repos/acme/widgets/folders/src").json()["map_summary"] == "the app"
    assert _worker_rows(s, "SELECT title FROM log_entries") == [("keep the app small",)]

    # the sync worker dies (SIGKILL): a write is accepted, queued, and lands once a worker
    # is back
    s.sync.kill()

    async def while_dead(c: Client) -> None:
        out = await call(c, "add_question", question="who owns docs?", folder="/docs")
        assert out["queued"] is True and out["write"]["state"] == "queued"
        assert "queued for the sync worker" in out["note"]
        status = await call(c, "status")
        assert status["freshness"]["queued_writes"] == 1
        assert status["writes"][0]["state"] == "queued"

    _run(s.mcp, while_dead)
    # the worker's kill came right after its map committed the write, before PostgreSQL
    # heard (the worker's own apply step, run here on its map while no worker runs)
    _apply_without_settling(s)
    assert _worker_rows(s, "SELECT question FROM open_questions") == [("who owns docs?",)]
    # the worker comes back and stops where its map holds the write but the read model does
    # not yet: PostgreSQL must not call the write applied there (an agent told "applied"
    # would read a model without it)
    with _worker_stopped_unpublished(s):
        async def held(c: Client) -> None:
            q = await call(c, "add_question", question="who owns docs?", folder="/docs")
            assert q["write"]["state"] == "queued", q

        _run(s.mcp, held)

    async def after(c: Client) -> None:
        async def answered() -> dict[str, Any]:
            q = await call(c, "add_question", question="who owns docs?", folder="/docs")
            return q if q["write"]["state"] == "applied" else {}

        q = await _eventually(answered, "the write reported applied after the restart")
        # the answer the killed worker's map kept: the question's uid in that map
        assert [(q["uid"],)] == _worker_rows(s, "SELECT uid FROM open_questions")
        listed = await call(c, "questions", folder="/docs")
        assert [x["question"] for x in listed["questions"]] == ["who owns docs?"]

    _run(s.mcp, after)
    assert _worker_rows(s, "SELECT question FROM open_questions") == [("who owns docs?",)]

    # a new or rebuilt map applies every write again, but a record it imported with the
    # export (its uid is in the write's answer, the question's too though its worker was
    # killed before telling PostgreSQL) is not recorded a second time
    s.sync.kill()
    _replay_from_the_start(s)
    assert _worker_rows(s, "SELECT title FROM log_entries") == [("keep the app small",)]
    assert _worker_rows(s, "SELECT question FROM open_questions") == [("who owns docs?",)]
    s.sync.start()


def test_a_write_the_map_refused_stays_refused_through_a_kill(setup: Setup) -> None:
    """A write the web host accepted but the map refuses (its folder changed before the
    worker came to it), the worker killed after its map recorded that and before PostgreSQL
    heard: the next worker reports it refused, not applied."""
    s = setup
    s.sync.kill()
    src = s.web.get("/repos/acme/widgets/folders/src").json()

    async def queue_it(c: Client) -> None:
        out = await call(c, "set_context", path="/src", for_hash=src["source_hash"],
                         map_summary="written for the old /src")
        assert out["queued"] is True

    # the push first (its delivery is older than the write: the worker syncs it first),
    # then the write, checked by the web host against the model the push has not reached
    s.origin.commit({"src/app.py": "print(2)\n"}, "src changes")
    before, after = s.origin.push()
    deliver(s.web, s.origin, before, after)
    _run(s.mcp, queue_it)
    with _worker_stopped_unpublished(s):
        pass

    async def refused(c: Client) -> dict[str, Any]:
        st = await call(c, "status")
        latest = st["writes"][0]
        return latest if latest["state"] != "queued" else {}

    async def check(c: Client) -> None:
        latest = await _eventually(lambda: refused(c), "the write settled")
        assert latest["tool"] == "set_context" and latest["state"] == "refused", latest
        assert "changed since" in latest["error"]

    _run(s.mcp, check)
    s.web.wait_head(after)


@contextmanager
def _worker_stopped_unpublished(s: Setup) -> Iterator[None]:
    """A sync worker started and stopped at its first job's point between its map's commit
    and the publish; killed there on leaving (its every later job would stop there too) and
    a fresh one started."""
    s.sync.env["FLOAT_FAILPOINT"] = "pg:writes-applied-unpublished"
    logged = len(s.sync.log())
    s.sync.start()
    try:
        wait_until(lambda: "failpoint pg:" in s.sync.log()[logged:],
                   "the worker at its failpoint", 60, 0.1)
        yield
    finally:
        del s.sync.env["FLOAT_FAILPOINT"]
        s.sync.kill()
    s.sync.start()


def _replay_from_the_start(s: Setup) -> None:
    from float_hooks.store.db import Store
    from webhook.queues.pg_queue import PgContext
    from webhook.settings import load
    from webhook.work import pg_writes

    ctx = PgContext(load(s.env["sync"]))
    store = Store.open(s.worker_map())
    try:
        with store.write():
            store.set_meta(pg_writes.WRITE_SEQ_KEY, "0")
        pg_writes.apply_writes(ctx, "acme/widgets", "acme/widgets", store)
        outcomes = pg_writes.unsettled(store)
        assert outcomes and {o[1] for o in outcomes} == {"applied"}, outcomes
    finally:
        store.close()
        ctx.close()


def _apply_without_settling(s: Setup) -> None:
    from float_hooks.store.db import Store
    from webhook.queues.pg_queue import PgContext
    from webhook.settings import load
    from webhook.work import pg_writes

    ctx = PgContext(load(s.env["sync"]))
    store = Store.open(s.worker_map())
    try:
        pg_writes.apply_writes(ctx, "acme/widgets", "acme/widgets", store)
        assert [o[1] for o in pg_writes.unsettled(store)] == ["applied"]  # never settled
    finally:
        store.close()
        ctx.close()


async def _eventually(probe: Any, what: str, timeout: float = 60.0) -> dict[str, Any]:
    import anyio

    with anyio.fail_after(timeout):
        while True:
            got: dict[str, Any] = await probe()
            if got:
                return got
            await anyio.sleep(0.2)
    raise AssertionError(what)  # pragma: no cover


def test_published_records_are_bounded() -> None:
    from webhook.queues.pg_agent import RECORDS_CHARS, RECORDS_MAX, newest

    items = [{"title": f"d{i}"} for i in range(RECORDS_MAX + 100)]
    assert newest(items) == items[-RECORDS_MAX:]  # the newest, oldest first
    big = [{"text": "x" * (RECORDS_CHARS // 4)} for _ in range(10)]
    assert newest(big) == big[-3:]  # a fourth would pass RECORDS_CHARS
