"""The agents' tools over streamable HTTP on the webhook server (real gunicorn), with the SDK's
own client: the bearer token is required, the repository comes from the URL or an argument,
a token that may only read is refused a write."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import httpx2
import requests
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.test_webhook_gunicorn import origin
from tests.webhook_support import TOKEN, Origin, gunicorn
from webhook.access.token_store import SqliteTokens

__all__ = ["origin"]  # the fixture, used by name


def connect(url: str, body: Any, token: str | None = TOKEN) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def main() -> None:
        async with httpx2.AsyncClient(headers=headers, timeout=60) as http, \
                Client(streamable_http_client(url, http_client=http), mode="legacy") as c:
            await body(c)

    anyio.run(main)


async def call(c: Client, name: str, **args: Any) -> dict[str, Any]:
    r = await c.call_tool(name, args)
    assert not r.is_error, r.content
    assert r.structured_content is not None
    return r.structured_content


def test_tools_over_http(tmp_path: Path, origin: Origin) -> None:
    with gunicorn(tmp_path, origin) as server:
        url = server.url
        before, after = origin.push()
        assert server.deliver("push", origin.payload(before, after)).status_code == 202
        server.wait_head(after)

        async def in_path(c: Client) -> None:
            names = {t.name for t in (await c.list_tools()).tools}
            assert {"show", "stale", "set_context", "next_job", "submit_job"} <= names
            status = await call(c, "status")
            fresh = status["freshness"]
            assert fresh["head"] == after and fresh["repository"] == "acme/widgets"
            assert fresh["unsynced_changes"] is False and status["files"] == 2
            show = await call(c, "show", path="/src")
            assert show["status"] == "pending" and show["children"][0]["name"] == "app.py"
            written = await call(c, "set_context", path="/src", for_hash=show["source_hash"],
                                 map_summary="the app")
            assert written["status"] == "current"
            bad = await c.call_tool("set_context", {"path": "/src", "for_hash": "0" * 64,
                                                    "map_summary": "x"})
            assert bad.is_error and "changed since you read it" in bad.content[0].text  # type: ignore[union-attr]
            refused = await c.call_tool("query", {"sql": "PRAGMA query_only = OFF"})
            assert refused.is_error and "refused" in refused.content[0].text  # type: ignore[union-attr]
            job = await call(c, "next_job")
            assert job["path"] == "/docs" and "instructions" in job["request"]
            done = await call(c, "submit_job", id=job["id"], answer={"map_summary": "docs"})
            assert done["written"]
            text = (await c.read_resource("float://folder/src")).contents[0].text  # type: ignore[union-attr]
            assert "the app" in text and "status: current" in text

        connect(url + "/mcp/acme/widgets", in_path)

        async def by_argument(c: Client) -> None:
            shown = await call(c, "show", path="/src", repository="acme/widgets")
            assert shown["map_summary"] == "the app"
            r = await c.call_tool("show", {"path": "/src"})
            assert r.is_error and "which repository" in r.content[0].text  # type: ignore[union-attr]
            r = await c.call_tool("show", {"path": "/", "repository": "../etc"})
            assert r.is_error and "\n" not in r.content[0].text  # type: ignore[union-attr]

        connect(url + "/mcp", by_argument)

        init = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        hdrs = {"Content-Type": "application/json",
                "Accept": "application/json, text/event-stream"}
        r = requests.post(url + "/mcp/acme/widgets", json=init, headers=hdrs, timeout=10)
        assert r.status_code == 401 and r.json()["error"] == "Unauthorized"
        r = requests.post(url + "/mcp", data=json.dumps(init), timeout=10,
                          headers={**hdrs, "Authorization": "Bearer wrong"})
        assert r.status_code == 401
        auth = {**hdrs, "Authorization": f"Bearer {TOKEN}"}
        r = requests.post(url + "/mcp/acme/%2e%2e", json=init, headers=auth, timeout=10)
        assert r.status_code == 400 and r.json()["error"] == "Bad Request"
        r = requests.post(url + "/mcp/other/repo", json=init, headers=auth, timeout=10)
        assert r.status_code == 200 and "tools" in r.json()["result"]  # a list needs no map
        r = requests.post(url + "/mcp/ac%20me/widgets", json=init, headers=auth, timeout=10)
        assert r.status_code == 400
        # the webhook and the read API are untouched by the /mcp endpoint
        r = requests.get(url + "/repos/acme/widgets/folders/src", timeout=10,
                         headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.json()["map_summary"] == "the app"

        # a token that may only read this repository (webhook/access): reads, and its write
        # is an error that writes nothing; one that may write does
        tokens = SqliteTokens(tmp_path / "data")
        reader = tokens.create("acme/widgets", "read", "reader")[1]
        writer = tokens.create("acme/*", "write", "writer")[1]
        tokens.close()
        seen: dict[str, Any] = {}

        async def read_only(c: Client) -> None:
            shown = await call(c, "show", path="/src")
            seen["hash"] = shown["source_hash"]
            r = await c.call_tool("set_context", {"path": "/src", "for_hash": seen["hash"],
                                                  "map_summary": "by a reader"})
            assert r.is_error
            assert "may read acme/widgets; this needs the write role" in r.content[0].text  # type: ignore[union-attr]
            assert (await call(c, "show", path="/src"))["map_summary"] == "the app"

        connect(url + "/mcp/acme/widgets", read_only, token=reader)

        async def writes(c: Client) -> None:
            written = await call(c, "set_context", path="/src", for_hash=seen["hash"],
                                 map_summary="by a writer", repository="acme/widgets")
            assert written["status"] == "current"

        connect(url + "/mcp", writes, token=writer)
        r = requests.get(url + "/repos/acme/widgets/folders/src", timeout=10,
                         headers={"Authorization": f"Bearer {reader}"})
        assert r.json()["map_summary"] == "by a writer"


def test_a_bad_or_oversize_body_is_a_4xx(tmp_path: Path, origin: Origin) -> None:
    from tests.webhook_support import app_config
    from webhook import create_app

    client = create_app(app_config(tmp_path, origin, FLOAT_WORKER="off")).test_client()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    for length, status in (("abc", 400), ("-5", 400), (str(5 * 2**20), 413)):
        r = client.post("/mcp/acme/widgets", data=b"{}", headers=auth,
                        environ_overrides={"CONTENT_LENGTH": length})
        assert r.status_code == status, (length, r.status_code)
