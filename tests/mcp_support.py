"""The MCP server as a real agent meets it: spawned with the SDK's own client from the
command `agents install` wrote into .mcp.json, called as a model calls it."""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from mcp import Client, StdioServerParameters

from tests.gitrepo import GitRepo


def server_params(repo: GitRepo, *extra: str) -> StdioServerParameters:
    """The server as Claude Code would start it: the command and args in .mcp.json, run in
    the project directory."""
    entry = json.loads((repo.path / ".mcp.json").read_text())["mcpServers"]["float-hooks"]
    assert entry["type"] == "stdio"
    return StdioServerParameters(command=entry["command"], args=[*entry["args"], *extra],
                                 cwd=str(repo.path), env=dict(os.environ))


def session(repo: GitRepo, body: Callable[[Client], Awaitable[None]], *extra: str,
            mode: str = "legacy", messages: list[Any] | None = None,
            timeout: float = 300.0) -> None:
    """Spawn the server, run ``body`` with a client, close: all of it (start and shutdown
    included) bounded by ``timeout`` seconds, after which the test fails."""
    async def handler(message: Any) -> None:
        if messages is not None:
            messages.append(message)

    async def main() -> None:
        with anyio.fail_after(timeout):
            async with Client(server_params(repo, *extra), mode=mode,
                              message_handler=handler, read_timeout_seconds=60) as client:
                await body(client)

    anyio.run(main)


async def call(client: Client, name: str, **args: Any) -> dict[str, Any]:
    r = await client.call_tool(name, args)
    assert not r.is_error, r.content
    data = r.structured_content
    assert data is not None and json.loads(r.content[0].text) == data  # type: ignore[union-attr]
    assert {"snapshot", "head", "unsynced_changes"} <= set(data["freshness"])
    return data


async def error(client: Client, name: str, **args: Any) -> str:
    r = await client.call_tool(name, args)
    assert r.is_error
    text = r.content[0].text  # type: ignore[union-attr]
    assert "\n" not in text and "Traceback" not in text
    return text


def installed(synced: GitRepo) -> GitRepo:
    synced.float_ok("agents", "install", "--claude")
    synced.commit("register the map with agents")  # .mcp.json, .claude/, AGENTS.md
    synced.float_ok("sync")
    return synced
