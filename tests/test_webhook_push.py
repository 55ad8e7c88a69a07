"""The real push flow: a local bare repository stands in for GitHub (FLOAT_GIT_URL_TEMPLATE),
real commits are pushed with git, and payloads shaped like GitHub's are posted to the app."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from float_hooks.store.db import Store
from float_hooks.store.folder_context import set_context
from tests.gitrepo import GitRepo
from tests.webhook_support import (
    ZERO,
    Origin,
    app_config,
    auth,
    post,
    rows,
    wait_idle,
)
from webhook import create_app
from webhook.queues.sqlite_queue import Queue

Factory = Callable[..., Flask]


@pytest.fixture
def origin(tmp_path: Path) -> Origin:
    o = Origin(tmp_path)
    o.commit({"src/app.py": "app\n", "src/auth/login.py": "login\n", "docs/guide.md": "g\n",
              "README.md": "# demo\n"}, "initial")
    return o


@pytest.fixture
def make_app(tmp_path: Path, origin: Origin) -> Iterator[Factory]:
    apps: list[Flask] = []

    def make(**extra: Any) -> Flask:
        app = create_app(app_config(tmp_path, origin, **extra))
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["float_worker"].stop(timeout=30)


def store(app: Flask, full_name: str = "acme/widgets") -> Store:
    data = app.extensions["float_settings"].data_dir
    return Store.open(data / full_name.lower() / "index.db")


def push(client: FlaskClient, origin: Origin, ref: str = "main", *, force: bool = False,
         commits: int | None = None, delivery: str | None = None) -> Any:
    before, after = origin.push(ref, force=force)
    r = post(client, "push", origin.payload(before, after, ref, forced=force, commits=commits),
             delivery=delivery)
    assert r.status_code == 202, r.json
    return before, after


def files_at(origin: Origin, rev: str) -> dict[str, str]:
    out = origin.work.git("ls-tree", "-r", "-z", rev)
    entries = {}
    for rec in out.split("\0"):
        if rec:
            meta, path = rec.split("\t", 1)
            entries["/" + path] = meta.split()[2]
    return entries


def db_files(app: Flask) -> dict[str, str]:
    s = store(app)
    try:
        return {r[0]: r[1] for r in s.conn.execute("SELECT path, content_hash FROM files")}
    finally:
        s.close()


def describe(app: Flask) -> dict[str, Any]:
    s = store(app)
    try:
        return {"head": s.get_meta("base_commit"),
                "folders": {r[0]: r[1] for r in s.conn.execute(
                    "SELECT path, status FROM folders")}}
    finally:
        s.close()


def test_push_flow_marks_stale_and_serves_the_map(make_app: Factory, origin: Origin) -> None:
    app = make_app()
    client = app.test_client()
    _, first = push(client, origin)
    wait_idle(app)
    (row,) = rows(app)
    assert row["state"] == "done", row
    assert row["result"]["sync"]["mode"] == "full" and row["result"]["sync"]["head"] == first
    data = app.extensions["float_settings"].data_dir
    assert (data / "acme" / "widgets" / "mirror.git" / "HEAD").exists()
    assert db_files(app) == files_at(origin, first)

    s = store(app)
    for folder in ("/", "/src", "/src/auth", "/docs"):
        set_context(s, folder, {"map_summary": f"about {folder}"}, model="test")
    s.close()

    _, _second = push(client, origin)  # nothing changed yet: same commit, no-op push
    origin.commit({"src/auth/login.py": "login v2\n"})
    _, third = push(client, origin)
    wait_idle(app)
    assert describe(app) == {"head": third, "folders": {
        "/": "stale", "/src": "stale", "/src/auth": "stale", "/docs": "current"}}

    r = client.get("/repos/acme/widgets/stale", headers=auth())
    assert r.status_code == 200
    stale = {f["path"]: f for f in r.json}
    assert set(stale) == {"/", "/src", "/src/auth"}
    assert stale["/src/auth"]["changed_files"] == ["/src/auth/login.py"]
    assert stale["/src"]["via_children"] == ["/src/auth"]

    r = client.get("/repos/acme/widgets/status", headers=auth())
    assert r.status_code == 200
    assert (r.json["stale"], r.json["current"], r.json["head"], r.json["branch"]) == (
        3, 1, third, "main")
    r = client.get("/repos/Acme/Widgets/folders/src", headers=auth())
    assert r.status_code == 200
    assert r.json["path"] == "/src" and r.json["status"] == "stale"
    assert r.json["map_summary"] == "about /src"
    assert [c["name"] for c in r.json["children"]] == ["auth", "app.py"]
    assert client.get("/repos/acme/widgets/folders/", headers=auth()).json["path"] == "/"
    r = client.get("/repos/acme/widgets/deliveries", headers=auth())
    assert [d["state"] for d in r.json] == ["done", "done", "done"]


def test_read_api_needs_the_token_and_valid_names(make_app: Factory, origin: Origin) -> None:
    app = make_app(FLOAT_REPOS="acme/widgets")
    client = app.test_client()
    assert client.get("/health").json["status"] == "ok"
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "api-token"},
                    {"Authorization": "Basic YXBpLXRva2Vu"}):
        r = client.get("/repos/acme/widgets/status", headers=headers)
        assert r.status_code == 401 and r.json["error"] == "Unauthorized"
        assert client.post("/repos/acme/widgets/sync", headers=headers).status_code == 401
    assert client.get("/repos/acme/widgets/status", headers=auth()).status_code == 404
    assert client.get("/repos/acme/%2e%2e/status", headers=auth()).status_code == 400
    assert client.get("/repos/acme/.%2E/status", headers=auth()).status_code == 400
    assert client.get("/repos/acme/../stale", headers=auth()).status_code == 400
    assert client.get("/repos/ac%0Ame/w/stale", headers=auth()).status_code == 400
    assert client.get("/repos/other/widgets/stale", headers=auth()).status_code == 403
    # a path that climbs is refused before the map is even looked for (there is none yet)
    assert client.get("/repos/acme/widgets/folders/a/../b",
                      headers=auth()).status_code == 400
    data = app.extensions["float_settings"].data_dir
    # nothing but the queue, the API tokens and the worker owner locks: no name reached a path
    assert sorted(p.name for p in data.iterdir()
                  if not p.name.startswith(("deliveries", "tokens"))) == ["workers"]


def test_api_without_configured_token_refuses(tmp_path: Path, origin: Origin) -> None:
    app = create_app(app_config(tmp_path, origin, FLOAT_API_TOKEN="", FLOAT_WORKER="off"))
    r = app.test_client().get("/repos/acme/widgets/status", headers={"Authorization": "Bearer "})
    assert r.status_code == 401


def test_forced_push_diffs_against_last_synced_commit(make_app: Factory,
                                                      origin: Origin) -> None:
    app = make_app()
    client = app.test_client()
    _, base = push(client, origin)
    origin.commit({"src/app.py": "app v2\n", "src/new.py": "new\n"})
    push(client, origin)
    wait_idle(app)
    # rewrite history: drop the last commit and push a different one over it
    origin.work.git("reset", "-q", "--hard", base)
    origin.commit({"docs/guide.md": "g v2\n", "docs/more/extra.md": "x\n"})
    _before, after = push(client, origin, force=True)
    wait_idle(app)
    last = rows(app)[-1]
    assert last["forced"] and last["state"] == "done"
    assert last["result"]["sync"]["head"] == after
    # the DB equals the forced commit's tree: src/new.py (only in the dropped commit) is gone
    assert db_files(app) == files_at(origin, after)
    assert "/src/new.py" not in db_files(app)


def test_branches_created_deleted_and_untracked(make_app: Factory, origin: Origin) -> None:
    app = make_app()
    client = app.test_client()
    _, main1 = push(client, origin)
    origin.work.git("checkout", "-q", "-b", "feature")
    origin.commit({"feature.txt": "f\n"})
    push(client, origin, "feature")
    before = origin.delete("feature")
    r = post(client, "push", origin.payload(before, ZERO, "feature"))
    assert r.status_code == 202
    wait_idle(app)
    states = [(r["ref"], r["state"], r["created"], r["deleted"]) for r in rows(app)]
    assert states == [("refs/heads/main", "done", True, False),
                      ("refs/heads/feature", "ignored", True, False),
                      ("refs/heads/feature", "ignored", False, True)]
    assert "not the tracked branch" in rows(app)[1]["result"]["reason"]
    assert describe(app)["head"] == main1

    # deleting the tracked branch leaves the map; re-creating it is a full sync
    before = origin.delete("main")
    post(client, "push", origin.payload(before, ZERO, "main"))
    wait_idle(app)
    assert rows(app)[-1]["state"] == "ignored" and "deleted" in rows(app)[-1]["result"]["reason"]
    assert describe(app)["head"] == main1
    origin.work.git("checkout", "-q", "main")
    origin.commit({"src/app.py": "app v3\n"})
    _, recreated = push(client, origin)
    wait_idle(app)
    last = rows(app)[-1]
    assert last["created"] and last["result"]["sync"]["mode"] == "full"
    assert db_files(app) == files_at(origin, recreated)


def test_configured_branch_is_tracked(make_app: Factory, origin: Origin) -> None:
    app = make_app(FLOAT_BRANCH="release")
    client = app.test_client()
    push(client, origin)  # main: not tracked now
    _, rel = push(client, origin, "release")
    wait_idle(app)
    assert [r["state"] for r in rows(app)] == ["ignored", "done"]
    assert describe(app)["head"] == rel


def test_push_of_30_commits(make_app: Factory, origin: Origin) -> None:
    app = make_app()
    client = app.test_client()
    _, first = push(client, origin)
    wait_idle(app)  # else the first sync may fetch the 30 commits below (it syncs the tip)
    for i in range(30):
        origin.commit({f"pkg{i % 5}/mod{i}.py": f"v{i}\n"}, f"commit {i}")
    _before, after = push(client, origin, commits=30)
    wait_idle(app)
    last = rows(app)[-1]
    assert (last["commits"], last["state"], last["before"]) == (30, "done", first)
    assert last["result"]["sync"]["mode"] == "incremental"
    assert last["result"]["sync"]["files_changed"] == 30
    assert db_files(app) == files_at(origin, after)


def test_concurrent_deliveries_apply_in_order(make_app: Factory, origin: Origin,
                                              tmp_path: Path) -> None:
    other = Origin(tmp_path, "acme/gadgets")  # same origin root, so the same template
    other.commit({"lib/a.py": "a\n"})
    app = make_app(FLOAT_WORKER_THREADS="3")
    client = app.test_client()
    afters: dict[str, list[str]] = {"acme/widgets": [], "acme/gadgets": []}
    for i in range(6):
        for o in (origin, other):
            o.commit({f"src/step{i}.py": f"{i}\n"}, f"step {i}")
            before, after = o.push()
            assert post(client, "push", o.payload(before, after)).status_code == 202
            afters[o.full_name].append(after)
    wait_idle(app)
    for name, expected in afters.items():
        mine = [r for r in rows(app) if r["repo"] == name]
        assert [r["state"] for r in mine] == ["done"] * 6
        # applied in the order received: finishing order = receipt order, each at its commit
        assert [r["done_seq"] for r in mine] == sorted(r["done_seq"] for r in mine)
        # each synced the branch tip as fetched: its own commit or a later one, never back
        # (a delivery coalesced into a later one's sync names the head that sync reached)
        heads = [expected.index(r["result"]["sync"]["head"] if "sync" in r["result"]
                                else r["result"]["head"]) for r in mine]
        assert heads == sorted(heads) and all(h >= i for i, h in enumerate(heads)), heads
    assert describe(app)["head"] == afters["acme/widgets"][-1]


def test_claims_hold_one_repository_at_a_time(tmp_path: Path) -> None:
    q = Queue(tmp_path)
    for i, repo in enumerate(["a/x", "a/x", "b/y", "a/x"]):
        assert q.record(f"d{i}", "push", repo, repo)
    first = q.claim("w1", 60)
    second = q.claim("w2", 60)
    assert (first and first.delivery, second and second.delivery) == ("d0", "d2")
    assert q.claim("w3", 60) is None  # a/x's next waits for d0; b/y has nothing more
    q.finish(first.id, "w1", "done", {}) if first else None
    nxt = q.claim("w3", 60)
    assert nxt is not None and nxt.delivery == "d1"
    # an expired lease makes the row claimable again (its worker died)
    q.conn.execute("UPDATE deliveries SET lease_until = 0 WHERE delivery = 'd1'")
    again = q.claim("w4", 60)
    assert again is not None and (again.delivery, again.attempts) == ("d1", 2)
    q.finish(nxt.id, "w3", "done", {"late": True})  # the old owner's late finish is ignored
    assert q.rows()[1]["state"] == "running"
    q.close()


def test_restart_resumes_queued_work(tmp_path: Path, origin: Origin,
                                     make_app: Factory) -> None:
    # first server: records, but dies before its worker gets to anything
    app1 = make_app(FLOAT_WORKER="off")
    client = app1.test_client()
    push(client, origin)
    origin.commit({"src/app.py": "v2\n"})
    _, last = push(client, origin)
    # ... and one delivery was in the hands of a worker process that crashed: its owner
    # name is on this host, but no process holds its lock (queues/owner_lock.py)
    q = Queue(tmp_path / "data")
    claimed = q.claim(f"{os.uname().nodename}:{os.getpid()}:{'d' * 16}", 3600)
    assert claimed is not None and claimed.id == 1
    q.close()
    assert [r["state"] for r in rows(app1)] == ["running", "queued"]
    del app1, client

    app2 = make_app()
    wait_idle(app2)
    assert [(r["state"], r["attempts"]) for r in rows(app2)] == [("done", 2), ("done", 1)]
    assert describe(app2)["head"] == last


def test_worker_as_its_own_process(tmp_path: Path, origin: Origin, make_app: Factory) -> None:
    app = make_app(FLOAT_WORKER="off")
    _, after = push(app.test_client(), origin)
    env = {**os.environ, "FLOAT_WEBHOOK_SECRET": "s", "FLOAT_DATA_DIR": str(tmp_path / "data"),
           "FLOAT_GIT_URL_TEMPLATE": origin.template, "FLOAT_ON_PUSH": "queue"}
    proc = subprocess.run([sys.executable, "-m", "webhook.worker", "--until-idle"], env=env,
                          capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parent.parent)
    assert proc.returncode == 0, proc.stderr
    assert "applied 1 deliveries" in proc.stdout
    assert "RuntimeWarning" not in proc.stderr  # the package must not import its __main__
    assert rows(app)[0]["state"] == "done" and describe(app)["head"] == after
    env.pop("FLOAT_WEBHOOK_SECRET")
    proc = subprocess.run([sys.executable, "-m", "webhook.worker", "--until-idle"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "FLOAT_WEBHOOK_SECRET" in proc.stderr


def test_manual_resync(make_app: Factory, origin: Origin) -> None:
    app = make_app()
    client = app.test_client()
    push(client, origin)
    wait_idle(app)
    # a change reaches the origin without a webhook (GitHub outage): resync picks it up
    origin.commit({"docs/late.md": "late\n"})
    _, after = origin.push()
    r = client.post("/repos/acme/widgets/sync", headers=auth())
    assert r.status_code == 202 and r.json["delivery"].startswith("resync-")
    wait_idle(app)
    last = rows(app)[-1]
    assert (last["kind"], last["state"]) == ("resync", "done"), last
    assert last["result"]["sync"]["mode"] == "full"
    assert describe(app)["head"] == after
    assert client.get("/repos/acme/widgets/status", headers=auth()).json["branch"] == "main"


def test_resync_of_a_repository_never_pushed(make_app: Factory, origin: Origin) -> None:
    # the origin's default branch comes from the remote's HEAD
    origin.work.git("checkout", "-q", "-b", "trunk")
    origin.commit({"trunk.txt": "t\n"})
    _, tip = origin.push("trunk")
    origin.work.git("push", "-q", "origin", "HEAD:refs/heads/main")
    GitRepo(origin.bare).git("symbolic-ref", "HEAD", "refs/heads/trunk")
    app = make_app()
    client = app.test_client()
    assert client.post("/repos/acme/widgets/sync", headers=auth()).status_code == 202
    wait_idle(app)
    assert rows(app)[-1]["state"] == "done", rows(app)[-1]
    status = client.get("/repos/acme/widgets/status", headers=auth()).json
    assert (status["head"], status["branch"]) == (tip, "trunk")


def test_unreachable_origin_fails_without_blocking_others(tmp_path: Path, origin: Origin,
                                                          make_app: Factory) -> None:
    app = make_app(FLOAT_MAX_ATTEMPTS="1")
    client = app.test_client()
    missing = Origin(tmp_path / "elsewhere", "acme/missing")  # not under the template's root
    missing.commit({"a.txt": "a\n"})
    before, after = missing.push()
    post(client, "push", missing.payload(before, after))
    _, good = push(client, origin)
    wait_idle(app)
    states = {r["repo"]: (r["state"], r["error"]) for r in rows(app)}
    assert states["acme/missing"][0] == "failed" and "acme/missing" in states["acme/missing"][1]
    # git's own reason, not the advice git prints after it
    assert "does not appear to be a git repository" in states["acme/missing"][1]
    assert "and the repository exists" not in states["acme/missing"][1]
    assert states["acme/widgets"] == ("done", None)
    assert describe(app)["head"] == good


def test_push_whose_branch_is_gone_before_the_worker_runs(make_app: Factory,
                                                          origin: Origin) -> None:
    app = make_app(FLOAT_WORKER="off")
    client = app.test_client()
    before, after = origin.push()
    origin.delete("main")
    post(client, "push", origin.payload(before, after))
    post(client, "push", origin.payload(after, ZERO))
    assert app.extensions["float_worker"].run_until_idle() == 2
    first, second = rows(app)
    assert first["state"] == "ignored" and "does not exist" in first["result"]["reason"]
    assert second["state"] == "ignored" and "deleted" in second["result"]["reason"]


def test_leases_renew_and_shutdown_hands_back(tmp_path: Path) -> None:
    q = Queue(tmp_path)
    q.record("d0", "push", "a/x", "a/x")
    d = q.claim("w1", 0.01)
    assert d is not None
    q.conn.execute("UPDATE deliveries SET lease_until = 0")  # the first lease ran out...
    q.renew(d.id, "w1", 3600)  # ...but the heartbeat renews it: no one else may take it now
    q.renew(d.id, "intruder", 0)  # only the owner can renew
    assert q.claim("w2", 60) is None
    assert q.release("w1") == 1  # a clean shutdown mid-job hands the row back
    again = q.claim("w2", 60)
    assert again is not None and again.delivery == "d0" and again.attempts == 1
    q.fail(again.id, "w2", "network down", retry_in=3600)
    assert q.claim("w3", 60) is None  # waiting for its retry time
    row = q.rows()[0]
    assert (row["state"], row["error"]) == ("queued", "network down")
    q.close()


def test_read_api_answers_503_while_a_map_is_being_built(
        make_app: Factory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from float_hooks.store.db import Store
    from webhook.api import rest
    from webhook.storage.maps import map_path

    app = make_app(FLOAT_WORKER="off")
    path = map_path(tmp_path / "data", "acme/widgets")
    path.parent.mkdir(parents=True)
    Store.open(path, create=True).conn.close()  # a new map, still under its rollback journal
    builder = sqlite3.connect(path, isolation_level=None)
    builder.execute("BEGIN EXCLUSIVE")  # what a first sync holds while it writes
    monkeypatch.setattr(rest, "READ_TIMEOUT", 0.2)
    try:
        r = app.test_client().get("/repos/acme/widgets/status", headers=auth())
        assert r.status_code == 503 and r.headers["Retry-After"] == "5"
        assert r.json["error"] == "Service Unavailable"
    finally:
        builder.execute("ROLLBACK")
        builder.close()
    assert app.test_client().get("/repos/acme/widgets/status", headers=auth()).status_code == 200



def test_every_request_makes_sure_this_process_runs_the_worker(
        make_app: Factory, monkeypatch: pytest.MonkeyPatch) -> None:
    # gunicorn --preload forks after create_app: a child has the worker object but none of
    # its threads, and Worker.start() starts them when the pid is not the one they ran in.
    # Any request, the webhook's (answered below Flask) or the API's, must call it.
    app = make_app()
    calls: list[str] = []
    monkeypatch.setattr(app.extensions["float_worker"], "start", lambda: calls.append("x"))
    client = app.test_client()
    client.get("/health")
    client.post("/webhook", data=b"{}")  # refused (no signature), yet the worker is checked
    client.get("/webhook")
    assert len(calls) == 3
