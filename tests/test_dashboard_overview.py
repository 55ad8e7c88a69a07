"""The dashboard overview asks each store once per page, not once per repository: the
embedded delivery queue is opened once (one query for the repositories, one for all their
last deliveries; each map, a file of its own, once), and with PostgreSQL three queries answer
for every repository. Each says the same as the repository's own summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from float_hooks.store.db import Store
from float_hooks.store.folder_context import set_context
from tests.pg_server import PgServer, pg_server, pg_url  # noqa: F401
from tests.webhook_support import Origin, app_config, post, wait_idle
from webhook import create_app
from webhook.dashboard import sqlite_data
from webhook.dashboard.shape import when
from webhook.queues.sqlite_queue import Queue
from webhook.storage.maps import map_path


def test_overview_reads_the_queue_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir = tmp_path / "data"
    origin = Origin(tmp_path)
    origin.commit({"src/app.py": "print(1)\n", "docs/guide.md": "# guide\n"}, "first")
    app = create_app(app_config(tmp_path, origin))
    try:
        before, after = origin.push()
        assert post(app.test_client(), "push", origin.payload(before, after)).status_code == 202
        wait_idle(app)
        store = Store.open(map_path(data_dir, origin.full_name))  # a map with stale context
        try:
            src = store.conn.execute("SELECT source_hash FROM folders WHERE path = '/src'")
            set_context(store, "/src", {"map_summary": "the app"}, model="test",
                        for_hash=src.fetchone()[0])
        finally:
            store.close()
        origin.commit({"src/app.py": "print(2)\n"})
        before, after = origin.push()
        assert post(app.test_client(), "push", origin.payload(before, after)).status_code == 202
        wait_idle(app)
    finally:
        app.extensions["float_worker"].stop(timeout=30)
    q = Queue(data_dir)
    try:  # more deliveries than the overview shows, and repositories with no map
        for i in range(8):
            for name in ("acme/widgets", "acme/gadgets", "other/tools"):
                q.record(f"extra-{name}-{i}", "push", name.lower(), name, ref="refs/heads/x",
                         ignored="not the tracked branch")
    finally:
        q.close()

    repos = sqlite_data.repositories(data_dir)
    assert len(repos) == 3
    apart = [sqlite_data.summary(data_dir, r,
                                    deliveries_limit=sqlite_data.DELIVERIES_OVERVIEW)
             for r in repos]  # each repository on its own, as its page reads it
    opened: list[Path] = []

    class Counted(Queue):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            opened.append(args[0])
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(sqlite_data, "Queue", Counted)
    together = sqlite_data.overview(data_dir)
    assert len(opened) == 1  # not 1 + one per repository
    assert together == apart
    widgets = next(r for r in together if r["key"] == "acme/widgets")
    assert widgets["map"]["stale"][0]["path"] == "/src"  # its map was read
    assert [len(r["deliveries"]) for r in together] == [sqlite_data.DELIVERIES_OVERVIEW] * 3
    assert {r["problem"] for r in together if r["key"] != "acme/widgets"} \
        == {"no map yet (being built, or no push to the tracked branch)"}


def test_pg_overview_asks_postgresql_three_times(pg_url: str,  # noqa: F811
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from webhook.dashboard import pg_data
    from webhook.queues.pg_store import PgStore, apply_schema, connect_pool

    apply_schema(pg_url)
    store = PgStore(connect_pool(pg_url))
    try:
        names = ["acme/widgets", "acme/gadgets", "other/tools"]
        for i in range(8):
            for name in names:
                store.record(f"{name}-{i}", "push", name, name, ref="refs/heads/main")
        store.remember_repo("acme/widgets", "acme/widgets", "main")
        stale = [{"path": "/src", "changed_files": [f"/src/f{i}.py" for i in range(30)],
                  "via_children": []}]
        store.publish("acme/widgets", "main", "a" * 40, {"folders": 2, "stale": 1}, stale, {})
        first = store.rows("acme/widgets")[0]  # the sync that saw /src go stale
        store.settle([first["id"]], "done", {"sync": {
            "head": "a" * 40, "became_stale": ["/src"], "became_stale_count": 1}})
        finished = store.rows("acme/widgets")[0]["finished_at"]
        assert store.want_answer("acme/widgets", "/docs", "b" * 64)
        asked: list[str] = []
        real = PgStore.connection

        def counted(self: PgStore) -> Any:
            asked.append("connection")
            return real(self)

        monkeypatch.setattr(PgStore, "connection", counted)
        together = pg_data.overview(store)
        assert len(asked) == 2  # the repositories, then their summaries: not per repository
        assert [r["key"] for r in together] == list(reversed(names))  # latest delivery first
        for r in together:
            assert [d["delivery"] for d in r["deliveries"]] \
                == [f"{r['key']}-{i}" for i in (7, 6, 5, 4, 3)]  # the last five, newest first
        widgets = together[-1]
        assert widgets["map"]["counts"] == {"folders": 2, "stale": 1, "branch": "main"}
        assert widgets["map"]["stale"] == [{"path": "/src", "changed_count": 30,
                                            "changed_files": stale[0]["changed_files"][:20],
                                            "via_children": [], "since": when(finished),
                                            "since_commit": "a" * 12, "since_note": ""}]
        assert [j["path"] for j in widgets["map"]["jobs"]] == ["/docs"]
        assert together[0]["map"] is None and together[0]["problem"].startswith("no map yet")
        assert pg_data.summary(store, widgets, deliveries_limit=30)["deliveries"][-1][
            "delivery"] == "acme/widgets-0"
    finally:
        store.pool.close()
