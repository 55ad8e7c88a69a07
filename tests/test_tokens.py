"""API tokens scoped to a repository or an owner, with a role (webhook/access): each endpoint
that checks a token (the read API, the event streams, the dashboard, /mcp, the resync) against
real maps built by real pushes, tokens made by `python -m webhook.tokens` and by its library.
The SDK's MCP client meets a read token in tests/test_mcp_http.py, PostgreSQL mode in
tests/test_pg_dashboard.py (both on servers those tests start anyway)."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.waiting import wait_until
from tests.webhook_support import (
    TOKEN,
    Origin,
    app_config,
    post,
    tokens_cli,
    wait_idle,
)
from webhook import create_app
from webhook.access.grants import BadGrant, Grant, scope_of
from webhook.access.token_store import SqliteTokens
from webhook.dashboard import sqlite_data
from webhook.queues.sqlite_queue import Queue

REPOS = ("acme/a", "acme/b", "other/c")
# name -> (scope, role); "admin" is FLOAT_API_TOKEN itself
GRANTS = {"a_read": ("acme/a", "read"), "a_write": ("acme/a", "write"),
          "a_admin": ("acme/a", "admin"), "acme_read": ("acme/*", "read"),
          "all_read": ("*", "read")}


class World:
    def __init__(self, root: Path, app: Flask, tokens: dict[str, str]):
        self.root = root
        self.app = app
        self.client: FlaskClient = app.test_client()
        self.tokens = tokens
        self.data_dir: Path = app.extensions["float_settings"].data_dir


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("tokens")
    origins = [Origin(root, name) for name in REPOS]
    app = create_app(app_config(root, origins[0], FLOAT_STREAM_SECONDS="0.5"))
    client = app.test_client()
    for o in origins:
        o.commit({"src/app.py": f"# {o.full_name}\n", "README.md": "# r\n"}, "first")
        before, after = o.push()
        assert post(client, "push", o.payload(before, after)).status_code == 202
    wait_idle(app)
    store = SqliteTokens(app.extensions["float_settings"].data_dir)
    tokens = {name: store.create(scope, role, name)[1] for name, (scope, role) in GRANTS.items()}
    revoked, tokens["revoked"] = store.create("acme/a", "admin", "gone")
    assert store.revoke(revoked.id) is True
    tokens["admin"] = TOKEN
    store.close()
    yield World(root, app, tokens)
    app.extensions["float_worker"].stop(timeout=30)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def basic(token: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"me:{token}".encode()).decode()}


def may_read(name: str, repo: str) -> bool:
    if name == "admin":
        return True
    if name == "revoked":
        return False
    return Grant("x", GRANTS[name][0], "read").covers(repo)


def refused(name: str, repo: str) -> int:
    """The status a token that may not read ``repo`` gets: 401 unknown, 403 known."""
    return 401 if name == "revoked" else 403


NAMES = [*GRANTS, "admin", "revoked"]


@pytest.mark.parametrize("name", NAMES)
def test_the_read_api_answers_a_token_for_its_repositories_only(world: World, name: str
                                                                ) -> None:
    for repo in REPOS:
        for path in ("status", "stale", "folders/src", "deliveries"):
            r = world.client.get(f"/repos/{repo}/{path}", headers=bearer(world.tokens[name]))
            if may_read(name, repo):
                assert r.status_code == 200, (name, repo, path, r.json)
            else:
                assert r.status_code == refused(name, repo), (name, repo, path)
        r = world.client.get(f"/repos/{repo}/status", headers=bearer(world.tokens[name]))
        if may_read(name, repo):
            assert r.json["repository"] == repo and r.json["files"] == 2
        elif name != "revoked":
            assert repo in r.json["message"] and "does not cover" in r.json["message"]


def resyncs(world: World) -> int:
    return sum(d["kind"] == "resync" for d in world.client.get(
        "/repos/acme/a/deliveries", headers=bearer(TOKEN)).json)


@pytest.mark.parametrize("name", NAMES)
def test_the_resync_needs_the_admin_role(world: World, name: str) -> None:
    before = resyncs(world)
    r = world.client.post("/repos/acme/a/sync", headers=bearer(world.tokens[name]))
    allowed = name in ("a_admin", "admin")
    if allowed:
        assert r.status_code == 202 and r.json["status"] == "queued"
    elif name == "revoked":
        assert r.status_code == 401
    else:
        assert r.status_code == 403
        if may_read(name, "acme/a"):
            assert "needs the admin role" in r.json["message"]
    assert resyncs(world) == before + allowed  # a refused one queues nothing
    wait_idle(world.app)


def read_stream(world: World, url: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    """Every event a stream sends from the start of the log (it ends by itself after
    FLOAT_STREAM_SECONDS)."""
    r = world.client.get(url, headers={**headers, "Last-Event-ID": "0"}, buffered=False)
    assert r.status_code == 200
    chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: chunks.extend(r.response), daemon=True)
    reader.start()
    wait_until(lambda: not reader.is_alive(), "the stream to end by itself", 30)
    r.close()
    return [json.loads(line[6:]) for line in b"".join(chunks).decode().splitlines()
            if line.startswith("data: ")]


@pytest.mark.parametrize("name", ["a_read", "acme_read", "admin"])
def test_the_event_streams_tell_a_token_of_its_repositories_only(world: World, name: str
                                                                 ) -> None:
    events = read_stream(world, "/dashboard/events", basic(world.tokens[name]))
    seen = {e["repo"] for e in events}
    assert seen == {repo for repo in REPOS if may_read(name, repo)}
    for repo in REPOS:
        url = f"/repos/{repo}/events"
        if may_read(name, repo):
            if repo == "acme/a":
                assert {e["repo"] for e in read_stream(world, url, bearer(world.tokens[name]))
                        } == {repo}
        else:
            r = world.client.get(url, headers=bearer(world.tokens[name]))
            assert r.status_code == 403
    r = world.client.get("/dashboard/events", headers=basic(world.tokens["revoked"]))
    assert r.status_code == 401


@pytest.mark.parametrize("name", NAMES)
def test_the_dashboard_shows_a_token_its_repositories_only(world: World, name: str) -> None:
    r = world.client.get("/dashboard", headers=basic(world.tokens[name]))
    if name == "revoked":
        assert r.status_code == 401 and "Basic" in r.headers["WWW-Authenticate"]
        return
    page = r.get_data(as_text=True)
    for repo in REPOS:
        assert (f">{repo}</a>" in page) == may_read(name, repo), (name, repo)
        r = world.client.get(f"/dashboard/{repo}", headers=basic(world.tokens[name]))
        assert r.status_code == (200 if may_read(name, repo) else 403), (name, repo)


def test_the_overview_applies_the_scope_before_its_limit(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The overview lists at most MAX_REPOS repositories, most recently active first: a
    token's repositories are chosen before that limit, not filtered out of it."""
    monkeypatch.setattr(sqlite_data, "MAX_REPOS", 1)
    q = Queue(world.data_dir)
    # other/c the most recently active, whatever the other tests here delivered before
    bump = "UPDATE deliveries SET received_at = received_at + ? WHERE repo = 'other/c'"
    q.conn.execute(bump, (10**6,))
    try:
        for name in ("a_read", "acme_read"):
            page = world.client.get("/dashboard", headers=basic(world.tokens[name])
                                    ).get_data(as_text=True)
            shown = [repo for repo in REPOS if f">{repo}</a>" in page]
            assert len(shown) == 1 and shown[0].startswith("acme/"), (name, shown)
    finally:
        q.conn.execute(bump, (-10**6,))
        q.close()


def test_the_overview_counts_aged_out_repositories_in_the_tokens_scope(world: World) -> None:
    """The line under the overview counts the never-fetched repositories it leaves out:
    only those the token covers (a count of the others would tell what it may not see)."""
    q = Queue(world.data_dir)
    aged = ("acme/aged", "other/aged1", "other/aged2")
    try:
        for i, repo in enumerate(aged):
            assert q.record(f"aged-{i}", "push", repo, repo, ignored="test: never fetched")
        q.conn.execute("UPDATE deliveries SET received_at = 1 WHERE delivery LIKE 'aged-%'")
        for name, count in (("all_read", 3), ("acme_read", 1), ("a_read", 0), ("admin", 3)):
            page = world.client.get("/dashboard", headers=basic(world.tokens[name])
                                    ).get_data(as_text=True)
            said = f"{count} that never fetched"
            assert (said in page) if count else ("that never fetched" not in page), name
    finally:
        q.conn.execute("DELETE FROM deliveries WHERE delivery LIKE 'aged-%'")
        q.close()


def rpc(world: World, path: str, token: str, method: str, params: dict[str, Any]) -> Any:
    r = world.client.post(path, json={"jsonrpc": "2.0", "id": 1, "method": method,
                                      "params": params},
                          headers={**bearer(token),
                                   "Accept": "application/json, text/event-stream"})
    return r


@pytest.mark.parametrize("name", NAMES)
def test_mcp_reads_and_writes_by_scope_and_role(world: World, name: str) -> None:
    token = world.tokens[name]
    for repo in REPOS:
        r = rpc(world, f"/mcp/{repo}", token, "tools/list", {})
        assert r.status_code == (200 if may_read(name, repo) else refused(name, repo))
        if r.status_code == 403:
            assert "does not cover" in r.json["message"]
        r = rpc(world, "/mcp", token, "tools/call",
                {"name": "show", "arguments": {"path": "/src", "repository": repo}})
        if name == "revoked":
            assert r.status_code == 401
            continue
        result = r.json["result"]
        if may_read(name, repo):
            assert not result.get("isError"), result
            assert result["structuredContent"]["path"] == "/src"
        else:
            assert result["isError"] and "does not cover" in result["content"][0]["text"]
    if name in ("revoked", "admin"):
        return
    # a write: allowed with the write role on the repository, refused (nothing written) else
    shown = rpc(world, "/mcp/acme/b", TOKEN, "tools/call",
                {"name": "show", "arguments": {"path": "/"}}).json["result"]
    for path, args in (("/mcp/acme/b", {}), ("/mcp", {"repository": "acme/b"})):
        r = rpc(world, path, token, "tools/call", {"name": "add_question", "arguments": {
            **args, "question": f"asked with {name}?", "folder": "/"}})
        if r.status_code == 403:
            assert path != "/mcp" and not may_read(name, "acme/b")
            continue
        result = r.json["result"]
        assert result["isError"] and "refused" in result["content"][0]["text"], result
    after = rpc(world, "/mcp/acme/b", TOKEN, "tools/call",
                {"name": "show", "arguments": {"path": "/"}}).json["result"]
    assert after["structuredContent"]["questions"] == shown["structuredContent"]["questions"]
    r = rpc(world, "/mcp/acme/a", token, "tools/call", {"name": "add_question", "arguments": {
        "question": f"asked with {name}?", "folder": "/"}})
    result = r.json["result"]
    writes = name in ("a_write", "a_admin")
    assert bool(result.get("isError")) != writes, result
    if not writes:
        assert f"may {GRANTS[name][1]} acme/a; this needs the write role" in \
            result["content"][0]["text"]


def test_the_cli_creates_lists_and_revokes(world: World) -> None:
    env = {"FLOAT_DATA_DIR": str(world.data_dir)}
    made = tokens_cli(env, "create", "--repo", "Acme/B", "--role", "read", "--label", "cli")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("flt_") and "shown once" in made.stderr
    assert world.client.get("/repos/acme/b/status", headers=bearer(token)).status_code == 200
    assert world.client.get("/repos/acme/a/status", headers=bearer(token)).status_code == 403
    listed = tokens_cli(env, "list", "--json")
    rows = json.loads(listed.stdout)
    mine = [r for r in rows if r["label"] == "cli"]
    assert mine[0]["scope"] == "acme/b" and mine[0]["role"] == "read"
    assert token not in listed.stdout and token[17:] not in (world.data_dir / "tokens.db"
                                                             ).read_bytes().decode("latin-1")
    assert tokens_cli(env, "revoke", mine[0]["id"]).returncode == 0
    assert world.client.get("/repos/acme/b/status", headers=bearer(token)).status_code == 401
    assert "revoked" in tokens_cli(env, "list").stdout
    for args, code in ((("revoke", "0" * 12), 1), (("revoke", "../x"), 2),
                       (("create", "--repo", "acme/../x", "--role", "read"), 2),
                       (("create", "--repo", "acme/a", "--role", "root"), 2),
                       (("create", "--repo", "acme/a", "--role", "read", "--label", "a\nb"),
                        2), (("frobnicate",), 2)):
        out = tokens_cli(env, *args)
        assert out.returncode == code, (args, out.stderr)
        assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr, out.stderr
        assert "root" not in out.stderr and "../x" not in out.stderr


def test_scoped_tokens_work_without_an_api_token(world: World) -> None:
    """A deployment with no FLOAT_API_TOKEN: only the tokens it made open anything."""
    app = create_app({**app_config(world.root, None, FLOAT_API_TOKEN="", FLOAT_WORKER="off"),
                      "FLOAT_DATA_DIR": str(world.data_dir)})
    client = app.test_client()
    assert client.get("/repos/acme/a/status", headers=bearer(TOKEN)).status_code == 401
    assert client.get("/repos/acme/a/status", headers=bearer("")).status_code == 401
    r = client.get("/repos/acme/a/status", headers=bearer(world.tokens["a_read"]))
    assert r.status_code == 200 and r.json["repository"] == "acme/a"


@pytest.mark.parametrize(("text", "scope"), [("Acme/Widgets", "acme/widgets"),
                                             ("acme/*", "acme/*"), ("*", "*")])
def test_scopes(text: str, scope: str) -> None:
    assert scope_of(text) == scope


@pytest.mark.parametrize("text", ["acme", "acme/", "/x", "a/b/c", "../x", "acme/..", "*/x",
                                  "-a/b", "acme/**", ""])
def test_bad_scopes(text: str) -> None:
    with pytest.raises(BadGrant):
        scope_of(text)


def test_an_owner_scope_is_not_a_prefix() -> None:
    g = Grant("x", "acme/*", "write")
    assert g.covers("acme/a") and not g.covers("acmeco/a") and not g.covers("other/acme")
    assert g.allows("acme/a", "write") and not g.allows("acme/a", "admin")
    assert not Grant("x", "acme/a", "admin").covers("acme/ab")

