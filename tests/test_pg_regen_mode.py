"""With PostgreSQL, whether a repository's folders go to the regeneration workers is decided by
each delivery's sync (its commit's config), not once for good: a job that only applies answers
follows the last delivery, and a repository switched back to `builtin` stops asking."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.gitrepo import GitRepo
from tests.pg_server import pg_server, pg_url  # noqa: F401
from webhook.queues.pg_store import apply_schema
from webhook.settings import load
from webhook.work import pg_sync


def test_each_delivery_decides_remote_regeneration(synced: GitRepo, tmp_path: Path,
                                                   pg_url: str,  # noqa: F811
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from float_hooks.store.db import Store
    from webhook.queues.pg_queue import PgContext

    apply_schema(pg_url)
    ctx = PgContext(load({"FLOAT_WEBHOOK_SECRET": "s", "FLOAT_DATABASE_URL": pg_url,
                          "FLOAT_DATA_DIR": str(tmp_path / "data")}, {}))
    asked: list[int] = []
    monkeypatch.setattr(pg_sync, "request_regeneration",
                        lambda *a: asked.append(1) or 0)
    db = synced.path / ".float" / "index.db"
    info = {"full_name": "acme/widgets", "default_branch": "main"}
    head = synced.head()

    def job(result: dict[str, Any]) -> tuple[bool, bool]:
        asked.clear()
        pg_sync._after_sync(ctx, "acme/widgets", info, db, result)
        store = Store.open(db)
        try:
            return bool(asked), pg_sync._remote_wanted(store)
        finally:
            store.close()

    try:
        remote = {"sync": {"head": head}, "regenerate": {"remote": True}}
        assert job(remote) == (True, True)
        assert job({}) == (True, True)  # answers only: follows the last delivery
        assert job({"sync": {"head": head}, "regenerate": {"done": []}}) == (False, False)
        assert job({}) == (False, False)  # switched to builtin: never asks again
    finally:
        ctx.pool.close()
