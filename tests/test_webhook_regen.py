"""After the sync: regeneration per FLOAT_ON_PUSH (the builtin offline regenerator), the
repository's own regenerator only when trusted, and commit statuses on a mocked GitHub API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import responses

from float_hooks.regen import job_queue as regen_queue
from float_hooks.store.db import Store
from tests.webhook_support import Origin, app_config, post, rows
from webhook import create_app

API = "https://ghe.example/api/v3"


@pytest.fixture
def origin(tmp_path: Path) -> Origin:
    o = Origin(tmp_path)
    o.commit({"README.md": "# Widgets\n\nMakes widgets.\n", "src/app.py": '"""The app."""\n',
              "src/auth/login.py": '"""Log in."""\n'}, "initial")
    return o


def statuses(app_data: Path) -> dict[str, str]:
    s = Store.open(app_data / "acme" / "widgets" / "index.db")
    try:
        return {r[0]: r[1] for r in s.conn.execute("SELECT path, status FROM folders")}
    finally:
        s.close()


def test_regenerate_mode_writes_context_with_the_builtin(tmp_path: Path,
                                                         origin: Origin) -> None:
    app = create_app(app_config(tmp_path, origin, FLOAT_ON_PUSH="regenerate",
                                FLOAT_WORKER="off"))
    client = app.test_client()
    before, after = origin.push()
    assert post(client, "push", origin.payload(before, after)).status_code == 202
    assert app.extensions["float_worker"].run_until_idle() == 1
    (row,) = rows(app)
    assert row["state"] == "done", row
    regen = row["result"]["regenerate"]
    assert sorted(regen["done"]) == ["/", "/src", "/src/auth"] and regen["remaining"] == 0
    data = tmp_path / "data"
    assert statuses(data) == {"/": "current", "/src": "current", "/src/auth": "current"}

    origin.commit({"src/auth/login.py": '"""Log in, v2."""\n'})
    before, after = origin.push()
    post(client, "push", origin.payload(before, after))
    app.extensions["float_worker"].run_until_idle()
    last = rows(app)[-1]
    assert sorted(last["result"]["regenerate"]["done"]) == ["/", "/src", "/src/auth"]
    assert last["result"]["status"]["stale"] == 0
    assert statuses(data) == {"/": "current", "/src": "current", "/src/auth": "current"}


def test_queue_and_off_modes(tmp_path: Path, origin: Origin) -> None:
    for mode, expect_jobs in (("queue", True), ("off", False)):
        data = tmp_path / mode
        app = create_app(app_config(tmp_path, origin, FLOAT_ON_PUSH=mode, FLOAT_WORKER="off",
                                    FLOAT_DATA_DIR=str(data)))
        after = origin.push()[1]
        post(app.test_client(), "push", origin.payload("0" * 40, after))
        app.extensions["float_worker"].run_until_idle()
        assert rows(app)[0]["state"] == "done" and "regenerate" not in rows(app)[0]["result"]
        s = Store.open(data / "acme" / "widgets" / "index.db")
        jobs = regen_queue.open_count(s.conn)
        s.close()
        assert (jobs > 0) == expect_jobs, mode
        assert set(statuses(data).values()) == {"pending"}


def test_repository_regenerator_needs_trust(tmp_path: Path, origin: Origin) -> None:
    marker = tmp_path / "ran"
    origin.commit({".float/config.toml":
                   f'[regenerate]\nkind = "command"\ncommand = "touch {marker}"\n'})
    app = create_app(app_config(tmp_path, origin, FLOAT_ON_PUSH="regenerate",
                                FLOAT_WORKER="off"))
    before, after = origin.push()
    post(app.test_client(), "push", origin.payload(before, after))
    app.extensions["float_worker"].run_until_idle()
    (row,) = rows(app)
    assert row["state"] == "done"
    assert "FLOAT_TRUST_REPO_CONFIG" in row["result"]["notes"][0]
    assert "regenerate" not in row["result"]
    assert not marker.exists()  # a pusher cannot run commands on the server


def test_repository_config_excludes_are_honoured(tmp_path: Path, origin: Origin) -> None:
    origin.commit({".float/config.toml": '[sync]\nexclude = ["src/auth/"]\n'})
    app = create_app(app_config(tmp_path, origin, FLOAT_WORKER="off"))
    before, after = origin.push()
    post(app.test_client(), "push", origin.payload(before, after))
    app.extensions["float_worker"].run_until_idle()
    assert set(statuses(tmp_path / "data")) == {"/", "/src"}


def test_bad_repository_config_fails_the_delivery(tmp_path: Path, origin: Origin) -> None:
    origin.commit({".float/config.toml": "[sync\n"})
    app = create_app(app_config(tmp_path, origin, FLOAT_WORKER="off"))
    before, after = origin.push()
    post(app.test_client(), "push", origin.payload(before, after))
    app.extensions["float_worker"].run_until_idle()
    (row,) = rows(app)
    assert row["state"] == "failed" and "invalid TOML" in row["error"]


def test_pushed_config_too_large_or_pointing_outside_fails_the_delivery(
        tmp_path: Path, origin: Origin) -> None:
    for text, says in (("# " + "x" * 300_000 + "\n", "larger than 256 KiB"),
                       ('[export]\ndir = "../../elsewhere"\n',
                        "export.dir must name a folder inside the repository")):
        origin.commit({".float/config.toml": text})
        app = create_app(app_config(tmp_path, origin, FLOAT_WORKER="off",
                                    FLOAT_DATA_DIR=str(tmp_path / says[:6])))
        before, after = origin.push()
        post(app.test_client(), "push", origin.payload(before, after))
        app.extensions["float_worker"].run_until_idle()
        (row,) = rows(app)
        assert row["state"] == "failed" and says in row["error"], row["error"]


@responses.activate
def test_commit_status_reported(tmp_path: Path, origin: Origin) -> None:
    app = create_app(app_config(tmp_path, origin, FLOAT_WORKER="off", FLOAT_GITHUB_TOKEN="ght",
                                FLOAT_GITHUB_API_URL=API + "/"))
    client = app.test_client()
    before, first = origin.push()
    responses.post(f"{API}/repos/acme/widgets/statuses/{first}", status=201, json={"id": 1})
    post(client, "push", origin.payload(before, first))
    app.extensions["float_worker"].run_until_idle()
    call = responses.calls[0]
    assert call.request.headers["Authorization"] == "Bearer ght"
    assert json.loads(call.request.body) == {
        "state": "success", "description": "0 folders stale, 3 without context",
        "context": "float/context"}
    assert rows(app)[0]["result"]["commit_status"]["sent"] is True

    # give every folder context, then change a file: two ancestors and the folder go stale
    s = Store.open(tmp_path / "data" / "acme" / "widgets" / "index.db")
    with s.write() as conn:
        conn.execute("UPDATE folders SET context_hash = source_hash")
    s.close()
    origin.commit({"src/auth/login.py": "changed\n"})
    before, second = origin.push()
    responses.post(f"{API}/repos/acme/widgets/statuses/{second}", status=500,
                   json={"message": "boom"})
    post(client, "push", origin.payload(before, second))
    app.extensions["float_worker"].run_until_idle()
    body = json.loads(responses.calls[1].request.body)
    assert (body["state"], body["description"]) == ("failure", "3 folders stale")
    last = rows(app)[-1]
    # GitHub failing to take the status does not fail the delivery
    assert last["state"] == "done" and last["result"]["commit_status"]["sent"] is False
    assert last["result"]["commit_status"]["http_status"] == 500
