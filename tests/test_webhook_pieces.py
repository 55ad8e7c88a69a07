"""The webhook server's small pieces: signatures, names, settings, the queue's checkpoints and
the worker's deferral to answers. (Shared helpers live in tests/webhook_support.py.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.waiting import wait_until
from tests.webhook_support import ZERO, app_config, post
from webhook import create_app
from webhook.intake.github import signature, verify
from webhook.names import InvalidName, repo_dir, split
from webhook.queues.sqlite_queue import Queue
from webhook.settings import SettingsError, load


# -- tests of the pieces -------------------------------------------------------------------------
def test_github_documented_signature_vector() -> None:
    # docs.github.com, "Validating webhook deliveries" -> "Testing the webhook payload validation"
    secret, payload = b"It's a Secret to Everybody", b"Hello, World!"
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert signature(secret, payload) == expected
    assert verify(secret, payload, expected)
    assert not verify(secret, payload + b" ", expected)
    assert not verify(secret, payload, expected.replace("sha256=7", "sha256=8"))
    assert not verify(secret, payload, None)
    assert not verify(secret, payload, "sha1=" + expected[7:])
    assert not verify(secret, payload, "sha256=\u00e9")


@pytest.mark.parametrize("name", [
    "acme/widgets", "a/b", "Acme-Corp/my.repo_name-2", "x" * 39 + "/" + "y" * 100, "o/.github",
])
def test_valid_names(name: str) -> None:
    assert split(name) == tuple(name.split("/"))


@pytest.mark.parametrize("name", [
    "acme", "acme/widgets/extra", "../widgets", "acme/..", "acme/.", "acme/%2e%2e",
    "acme/%2E%2E", "ac me/widgets", "acme/wid\ngets", "acme/widgets\n", "acme/wid\x00gets",
    "x" * 40 + "/widgets", "acme/" + "y" * 101, "/widgets", "acme/", "-acme/widgets",
    "acme\\..\\x/widgets", "acme/wíd", 42, None,
])
def test_invalid_names(name: Any) -> None:
    with pytest.raises(InvalidName):
        split(name)


def test_repo_dir_is_lower_case_and_inside(tmp_path: Path) -> None:
    assert repo_dir(tmp_path, "Acme/Widgets") == tmp_path / "acme" / "widgets"


def test_settings_refuse_to_start_without_secret(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="FLOAT_WEBHOOK_SECRET"):
        load({"FLOAT_DATA_DIR": str(tmp_path)}, environ={})
    with pytest.raises(SettingsError):
        create_app({"FLOAT_DATA_DIR": str(tmp_path / "d")})
    assert not (tmp_path / "d").exists()
    insecure = load({"FLOAT_DATA_DIR": str(tmp_path), "FLOAT_WEBHOOK_INSECURE": "1"},
                    environ={})
    assert insecure.secret is None


@pytest.mark.parametrize("bad", [
    {"FLOAT_ON_PUSH": "sometimes"}, {"FLOAT_WORKER": "fork"}, {"FLOAT_REPOS": "acme/../x"},
    {"FLOAT_GIT_URL_TEMPLATE": "https://github.com/x.git"}, {"FLOAT_WORKER_THREADS": "0"},
    {"FLOAT_BRANCH": "main:refs/heads/evil"},
])
def test_settings_reject_bad_values(tmp_path: Path, bad: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        load({"FLOAT_WEBHOOK_SECRET": "s", "FLOAT_DATA_DIR": str(tmp_path), **bad}, environ={})


def test_settings_from_environment(tmp_path: Path) -> None:
    s = load(None, environ={"FLOAT_WEBHOOK_SECRET": "s", "FLOAT_DATA_DIR": str(tmp_path),
                            "FLOAT_REPOS": "Acme/Widgets, acme/gadgets",
                            "FLOAT_GITHUB_API_URL": "https://ghe.example/api/v3/"})
    assert s.allowed("acme/widgets") and s.allowed("ACME/gadgets")
    assert not s.allowed("acme/other")
    assert s.github_api_url == "https://ghe.example/api/v3"
    assert s.on_push == "regenerate" and s.git_url_template.startswith("https://github.com/")


def wal_frames(data_dir: Path) -> int:
    """Frames in the queue's log (from the -wal file's size: 32-byte header, then 24-byte
    frame headers each followed by a page)."""
    wal = data_dir / "deliveries.db-wal"
    if not wal.exists():
        return 0
    q = Queue(data_dir, create=False)
    try:
        page = int(q.conn.execute("PRAGMA page_size").fetchone()[0])
    finally:
        q.close()
    return max(0, (wal.stat().st_size - 32) // (24 + page))


def post_ignored_pushes(app: Flask, count: int) -> None:
    client = app.test_client()
    repository = {"full_name": "acme/widgets", "default_branch": "main"}
    for i in range(count):
        payload = {"ref": f"refs/heads/feature-{i}", "before": ZERO, "after": "a" * 40,
                   "repository": repository}
        assert post(client, "push", payload).status_code == 202


def test_requests_never_checkpoint_and_idle_workers_do(tmp_path: Path) -> None:
    # 400 deliveries through the request path write ~1500 log frames, past SQLite's
    # 1000-page autocheckpoint; a request that crossed it would have stalled for the copy
    app = create_app(app_config(tmp_path, FLOAT_WORKER="off"))
    post_ignored_pushes(app, 400)
    data = tmp_path / "data"
    from webhook.queues.intake import sqlite_queue as queue

    request_queue = queue(app.extensions["float_settings"])
    from webhook.queues.sqlite_queue import REQUEST_CHECKPOINT_PAGES

    assert request_queue.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] \
        == REQUEST_CHECKPOINT_PAGES
    other = Queue(data)  # any other connection keeps SQLite's default
    assert other.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
    assert wal_frames(data) > 1000  # nothing copied back by the requests
    before = (data / "deliveries.db").stat().st_size
    app.extensions["float_worker"].idle(other)  # the worker loop, with nothing to claim
    assert (data / "deliveries.db").stat().st_size > before + 100_000  # the rows moved in
    frames, copied = other.checkpoint()
    assert frames == copied > 1000
    assert len(other.rows()) == 400
    other.close()


def test_worker_thread_checkpoints_when_idle(tmp_path: Path) -> None:
    app = create_app(app_config(tmp_path))  # worker threads in the app, polling every 0.2 s
    try:
        post_ignored_pushes(app, 300)  # settled in the request: the worker stays idle
        db = tmp_path / "data" / "deliveries.db"
        # only a checkpoint moves rows into the file
        wait_until(lambda: db.stat().st_size >= 100_000, "the idle worker to checkpoint", 30)
    finally:
        app.extensions["float_worker"].stop(10)


def test_app_outside_tests_leaves_its_startup_objects_out_of_gc(tmp_path: Path) -> None:
    import gc

    gc.unfreeze()
    testing = create_app(app_config(tmp_path, FLOAT_WORKER="off"))  # TESTING: nothing frozen
    assert gc.get_freeze_count() == 0
    assert any(o is testing for o in gc.get_objects())
    try:
        app = create_app(app_config(tmp_path, FLOAT_WORKER="off", TESTING=False))
        # the app (and what it holds: Flask, werkzeug) is in the permanent generation, which
        # the collector's passes (and gc.get_objects()) leave out
        assert gc.get_freeze_count() > 0
        assert not any(o is app or o is app.url_map for o in gc.get_objects())
    finally:
        gc.unfreeze()


def test_a_worker_run_until_idle_checkpoints(tmp_path: Path) -> None:
    # the cron deployment: FLOAT_WORKER=off and `python -m webhook.worker --until-idle`
    app = create_app(app_config(tmp_path, FLOAT_WORKER="off"))
    post_ignored_pushes(app, 300)
    db = tmp_path / "data" / "deliveries.db"
    q = Queue(tmp_path / "data")
    pages = q.conn.execute("PRAGMA page_count").fetchone()[0]  # as seen through the log
    size = pages * q.conn.execute("PRAGMA page_size").fetchone()[0]
    assert db.stat().st_size < size  # the rows are still only in the log
    assert app.extensions["float_worker"].run_until_idle() == 0  # nothing to apply...
    assert db.stat().st_size == size  # ...but the log was copied in
    q.close()


def test_worker_starts_a_job_only_after_a_quiet_moment(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from webhook import worker as worker_module

    app = create_app(app_config(tmp_path, FLOAT_WORKER="off"))
    w = app.extensions["float_worker"]
    assert w.last_request == 0.0
    with app.test_client() as client:  # answering a delivery is what counts, even a ping
        post(client, "ping", {"zen": "z"})
    assert w.last_request > 0 and w.answers == 0
    # a fake clock: settle() waits until QUIET_SECONDS after the last answer...
    quiet, most = worker_module.QUIET_SECONDS, worker_module.MAX_DEFER_SECONDS
    clock = [100.0]
    waits: list[float] = []

    def wait(seconds: float) -> bool:
        waits.append(round(seconds, 6))
        clock[0] += seconds
        return False

    monkeypatch.setattr(worker_module.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(w.stopping, "wait", wait)
    w.last_request = 99.995
    assert w.settle(most) == pytest.approx(most - (quiet - 0.005))
    assert waits == [round(quiet - 0.005, 6)]
    waits.clear()
    w.last_request = 50.0  # long ago: no wait at all
    assert w.settle(most) == most and waits == []
    # ...for as long as an answer is under way, within the budget
    w.answers = 1
    assert w.settle(0.05) == pytest.approx(0) and sum(waits) == pytest.approx(0.05)
    w.answers = 0
    waits.clear()

    # ...and, under a steady stream of answers, no more than the budget in all
    def busy_wait(seconds: float) -> bool:
        clock[0] += seconds
        w.last_request = clock[0]  # another delivery answered meanwhile
        waits.append(seconds)
        return False

    monkeypatch.setattr(w.stopping, "wait", busy_wait)
    w.last_request = clock[0]
    assert w.settle(most) == pytest.approx(0) and sum(waits) == pytest.approx(most)
    waits.clear()
    assert w.settle(0.0) == 0.0 and waits == []  # budget spent: the next job starts at once
    w.stopping.set()
    assert w.settle(most) == most and waits == []


def test_worker_loop_claims_nothing_once_stopped_while_settling(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app(app_config(tmp_path, FLOAT_WORKER="off"))
    w = app.extensions["float_worker"]
    claimed: list[object] = []

    def settle(budget: float) -> float:
        w.stopping.set()  # stop() arrives while waiting for a quiet moment
        return budget

    monkeypatch.setattr(w, "settle", settle)
    monkeypatch.setattr(w, "run_one", lambda q: claimed.append(q) or True)
    w._loop()  # returns once stopping is set
    assert claimed == []
